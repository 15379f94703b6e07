//! SVG drawn on the server: result charts (bar, line, histogram) and the lineage graph.
//! Hand-written because what is needed is a few dozen lines of `<rect>`/`<polyline>`, and a
//! plotting crate would bring fonts and rasterizers the pages never use. Every label is
//! XML-escaped; the SVG has a title and a description for screen readers.

use std::fmt::Write;

/// One box of the lineage graph.
pub struct LineageBox {
    pub label: String,
    pub step: String,
    /// 0 = the version shown, 1 = its inputs, 2 = theirs.
    pub generation: usize,
    pub parent: Option<usize>,
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const BOX_W: f64 = 230.0;
const BOX_H: f64 = 44.0;
const COL_GAP: f64 = 60.0;
const ROW_GAP: f64 = 14.0;

/// Inputs on the left, the version on the right, arrows in the direction data flowed.
pub fn lineage_svg(boxes: &[LineageBox]) -> String {
    let generations = boxes.iter().map(|b| b.generation).max().unwrap_or(0) + 1;
    let mut rows = vec![0usize; generations];
    let mut pos = Vec::with_capacity(boxes.len());
    for b in boxes {
        let col = generations - 1 - b.generation;
        let x = 10.0 + col as f64 * (BOX_W + COL_GAP);
        let y = 10.0 + rows[b.generation] as f64 * (BOX_H + ROW_GAP);
        rows[b.generation] += 1;
        pos.push((x, y));
    }
    let height = 20.0 + *rows.iter().max().unwrap_or(&1) as f64 * (BOX_H + ROW_GAP);
    let width = 20.0 + generations as f64 * (BOX_W + COL_GAP);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg role="img" aria-labelledby="lin-t" viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title id="lin-t">lineage</title><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#4a5360"/></marker></defs>"##
    );
    for (i, b) in boxes.iter().enumerate() {
        if let Some(p) = b.parent {
            let (x1, y1) = pos[i];
            let (x2, y2) = pos[p];
            let _ = write!(
                s,
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#4a5360" stroke-width="1.5" marker-end="url(#arrow)"/>"##,
                x1 + BOX_W,
                y1 + BOX_H / 2.0,
                x2,
                y2 + BOX_H / 2.0
            );
        }
    }
    for (i, b) in boxes.iter().enumerate() {
        let (x, y) = pos[i];
        let fill = if b.generation == 0 {
            "#e3effc"
        } else {
            "#f3f6f9"
        };
        let _ = write!(
            s,
            r##"<g><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="4" fill="{fill}" stroke="#4a5360"/><text x="{}" y="{}">{}</text><text x="{}" y="{}" fill="#4a5360">{}</text></g>"##,
            x + 8.0,
            y + 18.0,
            escape(&truncate(&b.label, 34)),
            x + 8.0,
            y + 35.0,
            escape(&truncate(&b.step, 34)),
        );
    }
    s.push_str("</svg>");
    s
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    Bar,
    Line,
    Histogram,
}

impl ChartKind {
    pub fn parse(s: &str) -> Option<ChartKind> {
        match s {
            "bar" => Some(ChartKind::Bar),
            "line" => Some(ChartKind::Line),
            "histogram" => Some(ChartKind::Histogram),
            _ => None,
        }
    }
}

const W: f64 = 720.0;
const H: f64 = 320.0;
const LEFT: f64 = 70.0;
const BOTTOM: f64 = 60.0;
const TOP: f64 = 20.0;

/// A chart of `values` (by `labels` for bar and line; the values alone for a histogram).
pub fn chart_svg(kind: ChartKind, title: &str, labels: &[String], values: &[f64]) -> String {
    let (labels, values): (Vec<String>, Vec<f64>) = match kind {
        ChartKind::Histogram => histogram(values),
        _ => (labels.to_vec(), values.to_vec()),
    };
    let n = values.len().max(1);
    let max = values.iter().cloned().fold(0.0_f64, f64::max);
    let min = values.iter().cloned().fold(0.0_f64, f64::min);
    let span = if max - min > 0.0 { max - min } else { 1.0 };
    let plot_w = W - LEFT - 10.0;
    let plot_h = H - TOP - BOTTOM;
    let y_of = |v: f64| TOP + plot_h - (v - min) / span * plot_h;
    let step = plot_w / n as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg role="img" aria-labelledby="chart-t chart-d" viewBox="0 0 {W} {H}" width="{W}" height="{H}" xmlns="http://www.w3.org/2000/svg"><title id="chart-t">{}</title><desc id="chart-d">{} values</desc>"##,
        escape(title),
        values.len()
    );
    // Axes and three gridlines with their values.
    for k in 0..=3 {
        let v = min + span * k as f64 / 3.0;
        let y = y_of(v);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{y}" x2="{}" y2="{y}" stroke="#c9d1d9"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
            W - 10.0,
            LEFT - 6.0,
            y + 4.0,
            fmt_num(v)
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{}" stroke="#1b1f24"/>"##,
        TOP + plot_h
    );
    match kind {
        ChartKind::Bar | ChartKind::Histogram => {
            for (i, v) in values.iter().enumerate() {
                let x = LEFT + i as f64 * step + step * 0.1;
                let (y0, y1) = (y_of(v.max(0.0)), y_of(v.min(0.0)));
                let _ = write!(
                    s,
                    r##"<rect class="bar" x="{x:.1}" y="{y0:.1}" width="{:.1}" height="{:.1}"><title>{}: {}</title></rect>"##,
                    step * 0.8,
                    (y1 - y0).max(0.5),
                    escape(labels.get(i).map(String::as_str).unwrap_or("")),
                    fmt_num(*v)
                );
            }
        }
        ChartKind::Line => {
            let points: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{:.1},{:.1}", LEFT + (i as f64 + 0.5) * step, y_of(*v)))
                .collect();
            let _ = write!(
                s,
                r##"<polyline fill="none" stroke="#2f6db3" stroke-width="2" points="{}"/>"##,
                points.join(" ")
            );
        }
    }
    // At most 12 category labels, evenly spaced.
    let every = n.div_ceil(12);
    for (i, l) in labels.iter().enumerate().step_by(every.max(1)) {
        let x = LEFT + (i as f64 + 0.5) * step;
        let _ = write!(
            s,
            r##"<text x="{x:.1}" y="{}" text-anchor="end" transform="rotate(-35 {x:.1} {})">{}</text>"##,
            TOP + plot_h + 16.0,
            TOP + plot_h + 16.0,
            escape(&truncate(l, 14))
        );
    }
    s.push_str("</svg>");
    s
}

/// Sturges' rule for the number of bins; labels are the bins' lower edges.
fn histogram(values: &[f64]) -> (Vec<String>, Vec<f64>) {
    let finite: Vec<f64> = values.iter().cloned().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return (vec![], vec![]);
    }
    let lo = finite.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let bins = ((finite.len() as f64).log2().ceil() as usize + 1).clamp(1, 50);
    let width = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let mut counts = vec![0.0; bins];
    for v in finite {
        let b = (((v - lo) / width) as usize).min(bins - 1);
        counts[b] += 1.0;
    }
    let labels = (0..bins).map(|b| fmt_num(lo + width * b as f64)).collect();
    (labels, counts)
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_every_value_once() {
        let values: Vec<f64> = (0..100).map(f64::from).collect();
        let (labels, counts) = histogram(&values);
        assert_eq!(labels.len(), counts.len());
        assert_eq!(counts.iter().sum::<f64>(), 100.0);
        assert_eq!(labels[0], "0");
    }

    #[test]
    fn labels_are_escaped() {
        let svg = chart_svg(
            ChartKind::Bar,
            "<script>",
            &["a<b".into(), "c&d".into()],
            &[1.0, 2.0],
        );
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("a&lt;b") && svg.contains("c&amp;d"));
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 2);
    }

    #[test]
    fn line_chart_has_one_point_per_value() {
        let svg = chart_svg(
            ChartKind::Line,
            "t",
            &["1".into(), "2".into(), "3".into()],
            &[1.0, 4.0, 2.0],
        );
        let points = svg
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(points.split(' ').count(), 3);
    }

    #[test]
    fn lineage_draws_a_box_per_version_and_an_arrow_per_input() {
        let boxes = vec![
            LineageBox {
                label: "a v2".into(),
                step: "anonymize".into(),
                generation: 0,
                parent: None,
            },
            LineageBox {
                label: "b v1".into(),
                step: "ingest".into(),
                generation: 1,
                parent: Some(0),
            },
            LineageBox {
                label: "c v1".into(),
                step: "ingest".into(),
                generation: 1,
                parent: Some(0),
            },
        ];
        let svg = lineage_svg(&boxes);
        assert_eq!(svg.matches("<rect").count(), 3);
        assert_eq!(svg.matches("<line").count(), 2);
    }
}
