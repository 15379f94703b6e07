//! Outcome of an anonymization: the released rows and the report.
//!
//! Suppressed records are kept in the output with `*` in every quasi-identifier, as ARX does
//! (row count and non-QI columns unchanged); `Outcome::suppressed_rows` flags them so a caller
//! can drop them instead.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use crate::error::AnonError;
use crate::eval::{Evaluator, Scratch};
use crate::risk::{ProsecutorRisk, RiskReport};
use crate::search::Found;
use crate::table::{Column, Table};
use crate::{AnonymizationConfig, PrivacyModel};

/// Level chosen for one quasi-identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttributeLevel {
    /// Attribute name.
    pub attribute: String,
    /// Chosen generalization level.
    pub level: usize,
    /// Hierarchy height.
    pub height: usize,
}

/// Serializable report (`report.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Attribute -> chosen level.
    pub transformation: BTreeMap<String, usize>,
    /// Levels in quasi-identifier order, with heights.
    pub attributes: Vec<AttributeLevel>,
    /// Number of records.
    pub records: u64,
    /// Suppressed records.
    pub suppressed: u64,
    /// Released equivalence classes (suppressed records not counted).
    pub classes: u64,
    /// Value of the chosen metric for the chosen transformation.
    pub loss: f64,
    /// Name of the chosen metric.
    pub metric: String,
    /// Privacy models, human-readable.
    pub models: Vec<String>,
    /// Suppression limit (fraction of records).
    pub suppression_limit: f64,
    /// Risk before and after.
    pub risk: RiskReport,
    /// Whether the transformation is proven optimal (`false` for the heuristic search).
    pub optimal: bool,
    /// Lattice nodes (saturating at `usize::MAX`).
    pub lattice_size: usize,
    /// Nodes evaluated by the search.
    pub nodes_evaluated: usize,
    /// Search time.
    pub search_ms: f64,
    /// Total time of the call.
    pub elapsed_ms: f64,
}

/// Result of [`crate::anonymize`].
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The report.
    pub report: Report,
    /// Anonymized table (same columns and rows as the input).
    pub table: Table,
    /// `true` for each suppressed row.
    pub suppressed_rows: Vec<bool>,
}

impl Outcome {
    /// The anonymized table without the suppressed rows (for releases that drop them
    /// instead of keeping them with `*`).
    pub fn released_table(&self) -> Table {
        let keep: Vec<usize> = (0..self.table.len())
            .filter(|&r| !self.suppressed_rows[r])
            .collect();
        let columns = (0..self.table.names().len())
            .map(|i| {
                let c = self.table.column_at(i);
                let codes = keep.iter().map(|&r| c.codes()[r]).collect();
                Column::from_parts(c.dictionary().to_vec(), codes)
            })
            .collect();
        Table::from_parts(
            self.table.names().to_vec(),
            columns,
            self.table.source_name(),
        )
    }
}

fn describe(m: &PrivacyModel) -> String {
    match m {
        PrivacyModel::KAnonymity { k } => format!("{k}-anonymity"),
        PrivacyModel::DistinctLDiversity { l } => format!("distinct-{l}-diversity"),
        PrivacyModel::EntropyLDiversity { l } => format!("entropy-{l}-diversity"),
        PrivacyModel::RecursiveCLDiversity { c, l } => format!("recursive-({c},{l})-diversity"),
        PrivacyModel::TClosenessEqual { t } => format!("{t}-closeness (equal distance)"),
        PrivacyModel::TClosenessHierarchical { t, .. } => {
            format!("{t}-closeness (hierarchical distance)")
        }
    }
}

pub(crate) fn build(
    table: &Table,
    config: &AnonymizationConfig,
    ev: &Evaluator<'_>,
    found: &Found,
    optimal: bool,
    search_ms: f64,
    start: Instant,
) -> Result<Outcome, AnonError> {
    let enc = ev.enc;
    let mut s = Scratch::default();

    // Risk before: classes of the original data.
    let bottom = vec![0; enc.qi.len()];
    ev.groupify(&bottom, &mut s);
    let before = ProsecutorRisk::from_class_sizes(
        s.classes.iter().map(|c| u64::from(c.count)),
        config.risk_threshold,
    );

    ev.groupify(&found.levels, &mut s);
    let suppressed_total: u64 = s
        .classes
        .iter()
        .filter(|c| !c.ok)
        .map(|c| u64::from(c.count))
        .sum();
    let after = ProsecutorRisk::from_class_sizes(
        s.classes
            .iter()
            .filter(|c| c.ok)
            .map(|c| u64::from(c.count))
            .chain(std::iter::once(suppressed_total)),
        config.risk_threshold,
    );

    let suppressed_rows: Vec<bool> = enc
        .row_entry
        .iter()
        .map(|&e| !s.classes[s.class_of[e as usize] as usize].ok)
        .collect();

    // Output columns.
    let mut columns = Vec::with_capacity(table.names().len());
    for (i, name) in table.names().iter().enumerate() {
        let col = table.column_at(i);
        match config.qis.iter().position(|(n, _)| n == name) {
            None => columns.push(col.clone()),
            Some(a) => {
                let (_, h) = &config.qis[a];
                let level = found.levels[a];
                let q = &enc.qi[a];
                let mut dict: Vec<String> = q.dense_to_hier[level]
                    .iter()
                    .map(|&hc| h.label(level, hc).to_string())
                    .collect();
                let star = dict.len() as u32;
                dict.push("*".into());
                let codes = enc
                    .row_entry
                    .iter()
                    .zip(&suppressed_rows)
                    .map(|(&e, &sup)| {
                        if sup {
                            star
                        } else {
                            q.dense[level][enc.codes[a][e as usize] as usize]
                        }
                    })
                    .collect();
                columns.push(Column::from_parts(dict, codes));
            }
        }
    }
    let out = Table::from_parts(
        table.names().to_vec(),
        columns,
        &format!("{} (anonymized)", table.source_name()),
    );

    let attributes: Vec<AttributeLevel> = config
        .qis
        .iter()
        .zip(&found.levels)
        .map(|((n, h), &l)| AttributeLevel {
            attribute: n.clone(),
            level: l,
            height: h.height(),
        })
        .collect();
    let lattice_size = enc
        .qi
        .iter()
        .fold(1usize, |acc, q| acc.saturating_mul(q.height + 1));
    let report = Report {
        transformation: attributes
            .iter()
            .map(|a| (a.attribute.clone(), a.level))
            .collect(),
        attributes,
        records: enc.n,
        suppressed: found.result.suppressed,
        classes: found.result.released_classes,
        loss: found.result.value,
        metric: config.metric.name().into(),
        models: config.models.iter().map(describe).collect(),
        suppression_limit: config.suppression_limit,
        risk: RiskReport { before, after },
        optimal,
        lattice_size,
        nodes_evaluated: found.evaluated,
        search_ms,
        elapsed_ms: start.elapsed().as_secs_f64() * 1e3,
    };
    debug_assert_eq!(suppressed_total, found.result.suppressed);
    Ok(Outcome {
        report,
        table: out,
        suppressed_rows,
    })
}
