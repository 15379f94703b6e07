//! The anonymization report as one self-contained HTML page (no scripts, no external assets):
//! what a certified producer shows an auditor. Settings, the chosen transformation and why it
//! was chosen, suppression, risk before/after, utility, and per-attribute distributions before
//! and after as SVG bar charts.
//!
//! Deterministic (no timestamps beyond what the report holds), so it can be golden-tested.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::{Report, Table};

/// Bars shown per chart; rarer values are summed into "(other)".
const MAX_BARS: usize = 12;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Value counts of one column, largest first (ties by value), folded to `MAX_BARS`.
fn distribution(table: &Table, column: &str, skip_rows: Option<&[bool]>) -> Vec<(String, u64)> {
    let Some(col) = table.column(column) else {
        return Vec::new();
    };
    let mut counts = vec![0u64; col.dictionary().len()];
    for (row, &code) in col.codes().iter().enumerate() {
        if skip_rows.is_some_and(|s| s.get(row).copied().unwrap_or(false)) {
            continue;
        }
        if let Some(c) = counts.get_mut(code as usize) {
            *c += 1;
        }
    }
    let mut pairs: Vec<(String, u64)> = col
        .dictionary()
        .iter()
        .cloned()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if pairs.len() > MAX_BARS {
        let other: u64 = pairs[MAX_BARS - 1..].iter().map(|p| p.1).sum();
        pairs.truncate(MAX_BARS - 1);
        pairs.push(("(other)".into(), other));
    }
    pairs
}

fn bar_chart(title: &str, data: &[(String, u64)]) -> String {
    let width = 420.0;
    let label_w = 150.0;
    let row_h = 18.0;
    let height = row_h * data.len() as f64 + 24.0;
    let max = data.iter().map(|d| d.1).max().unwrap_or(1).max(1) as f64;
    let mut svg = format!(
        r#"<svg role="img" aria-label="{t}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><text x="0" y="12" font-size="12" font-weight="bold">{t}</text>"#,
        t = esc(title)
    );
    for (i, (label, n)) in data.iter().enumerate() {
        let y = 20.0 + i as f64 * row_h;
        let w = (width - label_w - 60.0) * (*n as f64) / max;
        let _ = write!(
            svg,
            r##"<text x="{lx}" y="{ty}" font-size="11" text-anchor="end">{l}</text><rect x="{label_w}" y="{y}" width="{w:.1}" height="{bh}" fill="#3b6ea5"/><text x="{nx:.1}" y="{ty}" font-size="11">{n}</text>"##,
            lx = label_w - 4.0,
            ty = y + 12.0,
            l = esc(label),
            bh = row_h - 4.0,
            nx = label_w + w + 4.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Render the report. `input` is the table before anonymization, `output` the anonymized
/// table, `suppressed` marks suppressed output rows (excluded from the "after" charts).
pub fn render_html(
    report: &Report,
    input: &Table,
    output: &Table,
    suppressed: &[bool],
    title: &str,
) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{t}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#111}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:.25em .6em;text-align:left}}th{{background:#eef}}.num{{text-align:right}}.charts{{display:flex;flex-wrap:wrap;gap:1em}}</style>
</head><body>
<h1>{t}</h1>
"#,
        t = esc(title)
    );
    let _ = writeln!(
        h,
        "<h2>Settings</h2><table><tr><th>privacy models</th><td>{}</td></tr><tr><th>suppression limit</th><td>{:.2} %</td></tr><tr><th>utility metric</th><td>{}</td></tr><tr><th>records</th><td class=num>{}</td></tr></table>",
        esc(&report.models.join(", ")),
        report.suppression_limit * 100.0,
        esc(&report.metric),
        report.records
    );
    let _ = write!(
        h,
        "<h2>Chosen transformation</h2><p>{} Among {} transformations, {} were evaluated; this one satisfies every privacy model within the suppression limit with the lowest {} ({:.4}); ties go to the lower sum of levels, then the lexicographically smaller level vector.</p><table><tr><th>attribute</th><th>level</th><th>hierarchy height</th></tr>",
        if report.optimal {
            "This transformation is proven optimal."
        } else {
            "<strong>Heuristic search: this transformation is NOT proven optimal.</strong>"
        },
        report.lattice_size,
        report.nodes_evaluated,
        esc(&report.metric),
        report.loss
    );
    for a in &report.attributes {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=num>{}</td><td class=num>{}</td></tr>",
            esc(&a.attribute),
            a.level,
            a.height
        );
    }
    h.push_str("</table>\n");
    let pct = |n: u64| {
        if report.records == 0 {
            0.0
        } else {
            100.0 * n as f64 / report.records as f64
        }
    };
    let _ = writeln!(
        h,
        "<h2>Suppression and classes</h2><table><tr><th>suppressed records</th><td class=num>{} ({:.2} %)</td></tr><tr><th>equivalence classes released</th><td class=num>{}</td></tr></table>",
        report.suppressed,
        pct(report.suppressed),
        report.classes
    );
    let r = &report.risk;
    let _ = writeln!(
        h,
        "<h2>Re-identification risk</h2><table><tr><th></th><th>before</th><th>after</th></tr>\
<tr><th>prosecutor, highest</th><td class=num>{:.4}</td><td class=num>{:.4}</td></tr>\
<tr><th>prosecutor, average</th><td class=num>{:.4}</td><td class=num>{:.4}</td></tr>\
<tr><th>records above risk {:.2}</th><td class=num>{:.2} %</td><td class=num>{:.2} %</td></tr>\
<tr><th>marketer</th><td class=num>{:.4}</td><td class=num>{:.4}</td></tr></table>",
        r.before.max,
        r.after.max,
        r.before.average,
        r.after.average,
        r.after.threshold,
        r.before.records_at_risk * 100.0,
        r.after.records_at_risk * 100.0,
        r.before.marketer,
        r.after.marketer
    );
    h.push_str("<h2>Distributions before and after</h2>\n");
    for a in &report.attributes {
        let before = distribution(input, &a.attribute, None);
        let after = distribution(output, &a.attribute, Some(suppressed));
        let _ = writeln!(
            h,
            "<h3>{}</h3><div class=charts>{}{}</div>",
            esc(&a.attribute),
            bar_chart(&format!("{} before", a.attribute), &before),
            bar_chart(
                &format!("{} after (level {})", a.attribute, a.level),
                &after
            )
        );
    }
    let transformation: BTreeMap<_, _> = report.transformation.iter().collect();
    let _ = writeln!(
        h,
        "<h2>Machine-readable summary</h2><pre>{}</pre>\n</body></html>",
        esc(&serde_json::to_string_pretty(&transformation).unwrap_or_default())
    );
    h
}
