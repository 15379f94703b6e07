//! `report.html`: the linkage report for people — the model's m/u tables and, for the links
//! nearest the threshold, the match weight of each pair as a waterfall chart (inline SVG: one
//! bar per comparison, starting from the prior, ending at the pair's weight). Hand-written
//! HTML and SVG (a few dozen lines) rather than a template or chart crate; every text is
//! escaped. Record ids are shown; compared values never are.

use std::fmt::Write;

use crate::model::{PairExplanation, WaterfallStep};
use crate::run::Report;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One pair's waterfall as SVG.
pub fn waterfall_svg(pair: &PairExplanation) -> String {
    let steps: &[WaterfallStep] = &pair.steps;
    let (bar_w, gap, h, pad, label_h) = (46.0, 10.0, 180.0, 30.0, 70.0);
    let mut lo: f64 = 0.0;
    let mut hi: f64 = 0.0;
    let mut prev = 0.0;
    for s in steps {
        lo = lo.min(prev).min(s.cumulative);
        hi = hi.max(prev).max(s.cumulative);
        prev = s.cumulative;
    }
    let span = (hi - lo).max(1.0);
    let y = |v: f64| pad + (hi - v) / span * h;
    let width = pad * 2.0 + (steps.len() as f64) * (bar_w + gap);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{:.0}" role="img" aria-label="match weight of {} and {}: {:.2}">"#,
        pad * 2.0 + h + label_h,
        esc(&pair.rec_id_l),
        esc(&pair.rec_id_r),
        pair.match_weight
    );
    let _ = write!(
        svg,
        r##"<line x1="{pad}" x2="{:.0}" y1="{:.1}" y2="{:.1}" stroke="#555" stroke-dasharray="3,3"/>"##,
        width - pad,
        y(0.0),
        y(0.0)
    );
    let mut prev = 0.0;
    for (i, s) in steps.iter().enumerate() {
        let x = pad + i as f64 * (bar_w + gap);
        let (top, bottom) = if s.cumulative >= prev {
            (s.cumulative, prev)
        } else {
            (prev, s.cumulative)
        };
        let color = if s.cumulative >= prev {
            "#2e7d32"
        } else {
            "#c62828"
        };
        let delta = s.cumulative - prev;
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{:.1}" width="{bar_w}" height="{:.1}" fill="{color}"><title>{}: {} ({:+.2})</title></rect>"#,
            y(top),
            (y(bottom) - y(top)).max(1.0),
            esc(&s.comparison),
            esc(&s.level),
            delta
        );
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end" transform="rotate(-40 {:.1} {:.1})">{}</text>"#,
            x + bar_w / 2.0,
            pad + h + 14.0,
            x + bar_w / 2.0,
            pad + h + 14.0,
            esc(&s.comparison)
        );
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{:+.1}</text>"#,
            x + bar_w / 2.0,
            y(top) - 3.0,
            delta
        );
        prev = s.cumulative;
    }
    svg.push_str("</svg>");
    svg
}

/// The whole report page.
pub fn render(report: &Report) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Linkage report: {}</title>
<style>body{{font-family:sans-serif;margin:2em;color:#111}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:2px 6px;text-align:right}}th{{background:#eee}}td:first-child,th:first-child{{text-align:left}}</style></head><body>
<h1>Linkage report: model {} ({})</h1>
<p>{} candidate pairs, {} links at match probability ≥ {}, {} persons; λ = {:.3e}; {} ms.</p>"#,
        esc(&report.model),
        esc(&report.model),
        report.mode,
        report.candidate_pairs,
        report.links,
        report.threshold,
        report.persons,
        report.model_tables.lambda,
        report.elapsed_ms
    );
    if let Some(e) = &report.evaluation {
        let _ = write!(
            h,
            "<p>Against truth ({} true pairs): precision {:.4}, recall {:.4}, F1 {:.4}.</p>",
            e.true_pairs, e.precision, e.recall, e.f1
        );
    }
    h.push_str("<h2>Blocking rules</h2><table><tr><th>rule</th><th>comparisons</th></tr>");
    for b in &report.blocking {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(&b.rule),
            b.comparisons
        );
    }
    h.push_str("</table><h2>Model: m and u per comparison level</h2>");
    for c in &report.model_tables.comparisons {
        let _ = write!(
            h,
            "<h3>{}{}</h3><table><tr><th>level</th><th>m</th><th>u</th><th>weight (log2 m/u)</th></tr>",
            esc(&c.comparison),
            if c.term_frequency {
                " (term-frequency adjusted)"
            } else {
                ""
            }
        );
        for l in &c.levels {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{:.4}</td><td>{:.6}</td><td>{:+.2}</td></tr>",
                esc(&l.level),
                l.m,
                l.u,
                l.weight
            );
        }
        h.push_str("</table>");
    }
    h.push_str("<h2>Links nearest the threshold, weight by comparison</h2>");
    for p in &report.borderline_links {
        let _ = write!(
            h,
            "<h3>{} ↔ {}: weight {:.2}, probability {:.4}</h3>{}",
            esc(&p.rec_id_l),
            esc(&p.rec_id_r),
            p.match_weight,
            p.match_probability,
            waterfall_svg(p)
        );
    }
    h.push_str("</body></html>\n");
    h
}
