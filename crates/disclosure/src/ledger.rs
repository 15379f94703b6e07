//! The release ledger of a project: every cell released so far, as the group of records it
//! covers, so a new table cannot be combined with earlier ones to reveal a small group or a
//! suppressed cell (differencing).
//!
//! A cell covers a *region*: per variable, the set of categories it includes (the row and
//! column labels, all labels present for a margin, intersected with the table's `filters`);
//! a variable a region does not name is unrestricted. Regions are only compared within one
//! `scope` (the population, e.g. the dataset versions and any filter not expressed as a
//! variable) and one additive measure (`count`, or `sum:<value column>`).
//!
//! For every published cell of the new table and every published cell released before whose
//! regions are nested (one contains the other), the difference is itself a group whose count
//! or sum is now known. The new cell is flagged (`DifferencingCheck`) when that group has
//! 1 to `threshold - 1` records, or when the group is exactly the region of a cell that was
//! suppressed (in an earlier release or in the new table). A new published cell whose region
//! equals a suppressed earlier cell is flagged too. Differencing through longer chains of
//! tables (linear combinations of three or more releases) is not searched; the lead's release
//! review should keep ledgers per project small enough that this stays the common case.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::{DisclosureError, Result};
use crate::mitigate::{CleanedTable, Mitigation};
use crate::table::{Statistic, Table};

/// Per variable, the sorted set of categories covered; absent = any.
pub type Region = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerCell {
    pub region: Region,
    pub published: bool,
    /// Contributing records (internal: never released itself).
    pub records: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerRelease {
    pub release_id: String,
    pub table: String,
    pub scope: String,
    pub measure: String,
    pub cells: Vec<LedgerCell>,
}

/// Serializable state; the caller persists it per project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReleaseLedger {
    pub project: String,
    pub releases: Vec<LedgerRelease>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The difference is a group of 1 to threshold-1 records.
    SmallGroup,
    /// The difference (or the cell itself) is a cell that was suppressed.
    RevealsSuppressed,
}

/// One way the new table, with an earlier release, discloses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DifferencingFinding {
    pub row: usize,
    pub col: usize,
    pub release_id: String,
    pub earlier_table: String,
    pub kind: FindingKind,
    /// Records in the differenced group.
    pub group_records: u64,
}

/// The additive measure of a table, if the ledger can track it.
fn measure_of(table: &Table) -> Option<String> {
    match table.spec.statistics.iter().find(|s| s.is_additive())? {
        Statistic::Count => Some("count".into()),
        _ => Some(format!("sum:{}", table.spec.value.as_deref().unwrap_or(""))),
    }
}

/// The region of cell (i, j).
pub fn cell_region(table: &Table, i: usize, j: usize) -> Region {
    let mut region: Region = table
        .spec
        .filters
        .iter()
        .map(|(k, v)| {
            let mut v = v.clone();
            v.sort();
            v.dedup();
            (k.clone(), v)
        })
        .collect();
    let mut restrict = |var: &str, set: Vec<String>| {
        let set = match region.get(var) {
            Some(f) => set
                .into_iter()
                .filter(|l| f.binary_search(l).is_ok())
                .collect(),
            None => set,
        };
        region.insert(var.to_string(), set);
    };
    for (v, var) in table.spec.rows.iter().enumerate() {
        let set: Vec<String> = if i < table.n_rows {
            vec![table.row_keys[i][v].clone()]
        } else {
            table.row_keys.iter().map(|k| k[v].clone()).collect()
        };
        restrict(var, sorted(set));
    }
    for (v, var) in table.spec.cols.iter().enumerate() {
        let set: Vec<String> = if j < table.n_cols {
            vec![table.col_keys[j][v].clone()]
        } else {
            table.col_keys.iter().map(|k| k[v].clone()).collect()
        };
        restrict(var, sorted(set));
    }
    region
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// `inner` is contained in `outer`.
fn contains(outer: &Region, inner: &Region) -> bool {
    outer.iter().all(|(var, set)| {
        inner
            .get(var)
            .is_some_and(|s| s.iter().all(|l| set.binary_search(l).is_ok()))
    })
}

/// `outer \ inner` as a region, when they differ in exactly one variable.
fn difference(outer: &Region, inner: &Region) -> Option<Region> {
    if outer.len() != inner.len() {
        return None;
    }
    let mut differing = None;
    for (var, set) in outer {
        let other = inner.get(var)?;
        if other != set {
            if differing.is_some() {
                return None;
            }
            differing = Some(var);
        }
    }
    let var = differing?;
    let mut d = outer.clone();
    let other = &inner[var];
    d.insert(
        var.clone(),
        outer[var]
            .iter()
            .filter(|l| other.binary_search(l).is_err())
            .cloned()
            .collect(),
    );
    Some(d)
}

impl ReleaseLedger {
    pub fn new(project: &str) -> Self {
        Self {
            project: project.to_string(),
            releases: Vec::new(),
        }
    }

    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| DisclosureError::Output(e.to_string()))
    }

    pub fn from_json(text: &str, origin: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| DisclosureError::Config {
            file: origin.to_string(),
            reason: format!("line {} column {}: {}", e.line(), e.column(), e),
        })
    }

    /// Finds every published cell of `cleaned` that, with an earlier release, discloses a
    /// group smaller than `threshold` records or a suppressed cell.
    pub fn check(
        &self,
        table: &Table,
        cleaned: &CleanedTable,
        threshold: u64,
    ) -> Result<Vec<DifferencingFinding>> {
        if cleaned.mitigation == Mitigation::AcroSuppress {
            return Err(DisclosureError::Ledger(
                "ACRO-style suppression recomputes margins without the suppressed cells; use `suppress` for released tables".into(),
            ));
        }
        let Some(measure) = measure_of(table) else {
            return Ok(Vec::new());
        };
        let scope = &table.spec.scope;
        let earlier: Vec<&LedgerRelease> = self
            .releases
            .iter()
            .filter(|r| &r.scope == scope && r.measure == measure)
            .collect();
        if earlier.is_empty() {
            return Ok(Vec::new());
        }
        let (h, w) = (table.height(), table.width());
        let new_cells: Vec<(usize, usize, Region, bool, u64)> = (0..h)
            .flat_map(|i| (0..w).map(move |j| (i, j)))
            .map(|(i, j)| {
                (
                    i,
                    j,
                    cell_region(table, i, j),
                    cleaned.is_published(i, j),
                    table.cell(i, j).subjects(),
                )
            })
            .collect();
        let mut suppressed: HashSet<&Region> = HashSet::new();
        for r in &earlier {
            for c in r.cells.iter().filter(|c| !c.published) {
                suppressed.insert(&c.region);
            }
        }
        for c in new_cells.iter().filter(|c| !c.3) {
            suppressed.insert(&c.2);
        }
        let mut out = Vec::new();
        for (i, j, region, published, records) in &new_cells {
            if !*published {
                continue;
            }
            'releases: for rel in &earlier {
                for old in &rel.cells {
                    let finding = |kind, group_records| DifferencingFinding {
                        row: *i,
                        col: *j,
                        release_id: rel.release_id.clone(),
                        earlier_table: rel.table.clone(),
                        kind,
                        group_records,
                    };
                    if &old.region == region {
                        if !old.published {
                            out.push(finding(FindingKind::RevealsSuppressed, *records));
                            break 'releases;
                        }
                        // The same cell of the same scope with another count: the two
                        // queries filtered their populations differently (a WHERE the scope
                        // does not name), and the difference is a group of its own.
                        let diff = old.records.abs_diff(*records);
                        if diff > 0 && diff < threshold {
                            out.push(finding(FindingKind::SmallGroup, diff));
                            break 'releases;
                        }
                        continue;
                    }
                    if !old.published {
                        continue;
                    }
                    let (outer, inner, diff) = if contains(&old.region, region) {
                        (&old.region, region, old.records.saturating_sub(*records))
                    } else if contains(region, &old.region) {
                        (region, &old.region, records.saturating_sub(old.records))
                    } else {
                        continue;
                    };
                    if diff > 0 && diff < threshold {
                        out.push(finding(FindingKind::SmallGroup, diff));
                        break 'releases;
                    }
                    if let Some(d) = difference(outer, inner)
                        && suppressed.contains(&d)
                    {
                        out.push(finding(FindingKind::RevealsSuppressed, diff));
                        break 'releases;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Records an approved release.
    pub fn record(
        &mut self,
        release_id: &str,
        table: &Table,
        cleaned: &CleanedTable,
    ) -> Result<()> {
        if cleaned.mitigation == Mitigation::AcroSuppress {
            return Err(DisclosureError::Ledger(
                "ACRO-style suppressed tables cannot be tracked; release with `suppress`".into(),
            ));
        }
        if self.releases.iter().any(|r| r.release_id == release_id) {
            return Err(DisclosureError::Ledger(
                "release id already recorded".into(),
            ));
        }
        let Some(measure) = measure_of(table) else {
            return Ok(());
        };
        let (h, w) = (table.height(), table.width());
        let cells = (0..h)
            .flat_map(|i| (0..w).map(move |j| (i, j)))
            .map(|(i, j)| LedgerCell {
                region: cell_region(table, i, j),
                published: cleaned.is_published(i, j),
                records: table.cell(i, j).subjects(),
            })
            .collect();
        self.releases.push(LedgerRelease {
            release_id: release_id.to_string(),
            table: table.spec.name.clone(),
            scope: table.spec.scope.clone(),
            measure,
            cells,
        });
        Ok(())
    }
}
