//! Outputs: the per-cell outcome as JSON, a text summary for people, and the cleaned table
//! as CSV.

use crate::checks::{Assessment, Status};
use crate::error::{DisclosureError, Result};
use crate::mitigate::{CellState, CleanedTable};
use crate::table::Statistic;

/// The assessment (every cell's flags, every check's status, the parameters) as JSON.
pub fn assessment_json(a: &Assessment) -> Result<String> {
    serde_json::to_string_pretty(a).map_err(|e| DisclosureError::Output(e.to_string()))
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Review => "REVIEW",
        Status::Fail => "FAIL",
    }
}

/// A short report for the user and the reviewer.
pub fn assessment_text(a: &Assessment) -> String {
    let mut s = format!(
        "table {}: {} ({} of {} cells flagged, compat {:?})\n",
        a.table,
        status_word(a.status),
        a.flagged_cells(),
        a.cells.len(),
        a.config.compat
    );
    for c in &a.checks {
        s.push_str(&format!(
            "  {:<22} {:<6} {:>6} cells  {}\n",
            c.check.as_str(),
            status_word(c.status),
            c.cells_flagged,
            c.note.trim()
        ));
    }
    let flagged: Vec<_> = a.cells.iter().filter(|c| c.is_flagged()).collect();
    for c in flagged.iter().take(20) {
        let names: Vec<&str> = c.flags.iter().map(|f| f.check.as_str()).collect();
        s.push_str(&format!(
            "  cell [{} | {}]: {}\n",
            c.row_labels.join("/"),
            c.col_labels.join("/"),
            names.join(", ")
        ));
    }
    if flagged.len() > 20 {
        s.push_str(&format!(
            "  ... {} more flagged cells\n",
            flagged.len() - 20
        ));
    }
    s
}

/// Formats a number the way it is released: integers without a fraction, others in the
/// shortest form that reads back to the same f64.
pub fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The cleaned table as CSV: first column the row labels (`/`-joined for several row
/// variables), then one column per column label (prefixed `stat:` when several statistics
/// are shown); blanks are empty fields.
pub fn cleaned_csv(t: &CleanedTable) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let multi = t.statistics.len() > 1;
    let mut header = vec![t.row_vars.join("/")];
    for (s, stat) in t.statistics.iter().enumerate() {
        for j in 0..t.width {
            let label = t.col_labels[j].join("/");
            let label = if t.col_vars.is_empty() {
                stat_name(*stat).to_string()
            } else {
                label
            };
            header.push(if multi && !t.col_vars.is_empty() {
                format!("{}:{label}", stat_name(t.statistics[s]))
            } else {
                label
            });
        }
    }
    let err = |e: csv::Error| DisclosureError::Output(e.to_string());
    w.write_record(&header).map_err(err)?;
    for i in 0..t.height {
        let mut rec = vec![t.row_labels[i].join("/")];
        for s in 0..t.statistics.len() {
            for j in 0..t.width {
                rec.push(t.value(i, j, s).map(format_value).unwrap_or_default());
            }
        }
        w.write_record(&rec).map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| DisclosureError::Output(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| DisclosureError::Output(e.to_string()))
}

fn stat_name(s: Statistic) -> &'static str {
    s.name()
}

/// One line per blank cell saying why it is blank (for the reviewer).
pub fn suppression_text(t: &CleanedTable) -> String {
    let mut s = format!(
        "table {}: mitigation {:?}, status {}\n",
        t.table,
        t.mitigation,
        status_word(t.status)
    );
    let count = |st: CellState| t.state.iter().filter(|x| **x == st).count();
    s.push_str(&format!(
        "  primary {}  secondary {}  blank {}\n",
        count(CellState::Primary),
        count(CellState::Secondary),
        count(CellState::Blank)
    ));
    for n in &t.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    s
}
