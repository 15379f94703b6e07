//! Mitigations a user applies before resubmitting: suppression (ACRO's way, or primary plus
//! secondary with true margins kept) and rounding.

use serde::{Deserialize, Serialize};

use crate::checks::{Assessment, Status};
use crate::config::DisclosureConfig;
use crate::secondary::{self, Grid};
use crate::table::{Statistic, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Mitigation {
    /// Release the table as it is (only sensible when the assessment passes).
    None,
    /// ACRO's `suppress=True`: the records of flagged inner cells are removed and the table
    /// recomputed, so margins exclude them; every 0 is then blanked when zeros are
    /// disclosive. Kept for comparison with ACRO: its margins no longer match other tables of
    /// the same population, which the release ledger then treats as differencing.
    AcroSuppress,
    /// Flagged cells (margins too) are blanked, true margins are kept, and for count and sum
    /// tables complementary cells are suppressed so no blank can be recomputed.
    Suppress,
    /// Every value rounded half-to-even to a multiple of `base`; count/sum margins are sums of
    /// the rounded cells, rounded again (ACRO's `round`).
    Round { base: u32 },
    /// Person counts with discrete Laplace noise at `epsilon`, charged to the project's
    /// budget ([`crate::dp::release`], then [`crate::dp::cleaned`]); `mitigate` cannot make
    /// one (it has neither the budget nor the random source) and fails the table.
    Dp { epsilon: crate::dp::Epsilon },
}

/// Why a cell is blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellState {
    Published,
    /// Flagged by a check.
    Primary,
    /// Complementary suppression protecting a primary cell.
    Secondary,
    /// Blanked because it is 0 (ACRO suppression with zeros disclosive) or empty.
    Blank,
}

/// The table as it would leave the system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CleanedTable {
    pub table: String,
    pub row_vars: Vec<String>,
    pub col_vars: Vec<String>,
    pub statistics: Vec<Statistic>,
    pub row_labels: Vec<Vec<String>>,
    pub col_labels: Vec<Vec<String>>,
    pub height: usize,
    pub width: usize,
    /// `values[cell][statistic]`, `None` = not shown.
    pub values: Vec<Vec<Option<f64>>>,
    pub state: Vec<CellState>,
    pub mitigation: Mitigation,
    /// Pass: nothing flagged. Review: mitigated, a reviewer decides. Fail: something is still
    /// disclosive (no mitigation, or a blank that could not be protected).
    pub status: Status,
    pub notes: Vec<String>,
}

impl CleanedTable {
    pub fn value(&self, i: usize, j: usize, stat_index: usize) -> Option<f64> {
        self.values[i * self.width + j][stat_index]
    }

    pub fn state(&self, i: usize, j: usize) -> CellState {
        self.state[i * self.width + j]
    }

    pub fn is_published(&self, i: usize, j: usize) -> bool {
        self.state(i, j) == CellState::Published
    }
}

fn round_half_even(v: f64, base: u32) -> f64 {
    let b = f64::from(base);
    (v / b).round_ties_even() * b
}

/// Applies a mitigation to a table given its assessment.
pub fn mitigate(
    table: &Table,
    assessment: &Assessment,
    mitigation: Mitigation,
    cfg: &DisclosureConfig,
) -> CleanedTable {
    let (h, w) = (table.height(), table.width());
    let stats = &table.spec.statistics;
    let hv = table.has_value_column();
    let raw = |t: &Table, i: usize, j: usize| -> Vec<Option<f64>> {
        stats.iter().map(|s| t.cell(i, j).value(*s, hv)).collect()
    };
    let flagged = |i: usize, j: usize| assessment.cell(i, j).is_flagged();
    let mut values: Vec<Vec<Option<f64>>> = Vec::with_capacity(h * w);
    let mut state = vec![CellState::Published; h * w];
    let mut notes = Vec::new();
    let any_flag = assessment.cells.iter().any(|c| c.is_flagged());
    let mut status = if any_flag {
        Status::Review
    } else {
        Status::Pass
    };

    match mitigation {
        Mitigation::None => {
            for i in 0..h {
                for j in 0..w {
                    values.push(raw(table, i, j));
                }
            }
            status = assessment.status;
        }
        Mitigation::AcroSuppress => {
            let mut t = table.clone();
            t.compute_margins(|i, j| !flagged(i, j));
            for i in 0..h {
                for j in 0..w {
                    let inner_flag = !t.is_margin(i, j) && flagged(i, j);
                    let mut v = if inner_flag {
                        vec![None; stats.len()]
                    } else {
                        raw(&t, i, j)
                    };
                    if cfg.acro.zeros_are_disclosive {
                        for x in v.iter_mut() {
                            if *x == Some(0.0) {
                                *x = None;
                            }
                        }
                    }
                    state[i * w + j] = if inner_flag {
                        CellState::Primary
                    } else if v.iter().all(|x| x.is_none()) {
                        CellState::Blank
                    } else {
                        CellState::Published
                    };
                    values.push(v);
                }
            }
            status = Status::Review;
            notes.push("ACRO-style suppression: margins exclude the suppressed cells".into());
        }
        Mitigation::Suppress => {
            let mut suppressed: Vec<bool> =
                assessment.cells.iter().map(|c| c.is_flagged()).collect();
            let additive = stats.iter().all(|s| s.is_additive());
            let n_primary = suppressed.iter().filter(|s| **s).count();
            if additive && n_primary > 0 {
                let out = protect_table(table, &mut suppressed);
                if !out.unprotected.is_empty() {
                    status = Status::Fail;
                    notes.push(format!(
                        "{} suppressed cells could not be protected from recomputation",
                        out.unprotected.len()
                    ));
                }
                for k in out.added {
                    state[k] = CellState::Secondary;
                }
            } else if n_primary > 0 {
                notes.push(format!(
                    "secondary suppression not applied: {} margins are not sums of cells",
                    stats
                        .iter()
                        .filter(|s| !s.is_additive())
                        .map(|s| s.name())
                        .collect::<Vec<_>>()
                        .join("/")
                ));
            }
            for i in 0..h {
                for j in 0..w {
                    let k = i * w + j;
                    if flagged(i, j) {
                        state[k] = CellState::Primary;
                    }
                    values.push(if suppressed[k] {
                        vec![None; stats.len()]
                    } else {
                        raw(table, i, j)
                    });
                }
            }
        }
        Mitigation::Dp { .. } => {
            values.resize(h * w, vec![None; stats.len()]);
            state = vec![CellState::Blank; h * w];
            status = Status::Fail;
            notes.push(
                "a DP table is drawn by dp::release against the project's budget, not by mitigate"
                    .into(),
            );
        }
        Mitigation::Round { base } => {
            let base = base.max(1);
            for i in 0..h {
                for j in 0..w {
                    values.push(
                        raw(table, i, j)
                            .into_iter()
                            .map(|v| v.map(|x| round_half_even(x, base)))
                            .collect(),
                    );
                }
            }
            // Additive margins are sums of the rounded cells, rounded again.
            for (s, stat) in stats.iter().enumerate() {
                if !stat.is_additive() {
                    continue;
                }
                let sum_of = |cells: &mut dyn Iterator<Item = usize>,
                              values: &Vec<Vec<Option<f64>>>| {
                    cells.filter_map(|k| values[k][s]).sum::<f64>()
                };
                if table.margin_col {
                    for i in 0..table.n_rows {
                        let t = sum_of(&mut (0..table.n_cols).map(|j| i * w + j), &values);
                        values[i * w + table.n_cols][s] = Some(round_half_even(t, base));
                    }
                }
                if table.margin_row {
                    let nr = table.n_rows;
                    for j in 0..w {
                        if table.margin_col && j == table.n_cols {
                            let t = sum_of(&mut (0..table.n_cols).map(|j| nr * w + j), &values);
                            values[nr * w + j][s] = Some(round_half_even(t, base));
                        } else {
                            let t = sum_of(&mut (0..nr).map(|i| i * w + j), &values);
                            values[nr * w + j][s] = Some(round_half_even(t, base));
                        }
                    }
                }
            }
            status = Status::Review;
            notes.push(format!("all values rounded to base {base}"));
            // Rounding below the threshold's base changes nothing an attacker cares about
            // (`round:1` published counts of 3–8), and the NDB rule forbids publishing a cell
            // of 1–9 persons in any form: either way the table cannot leave rounded.
            if base < cfg.acro.safe_round_base {
                status = Status::Fail;
                notes.push(format!(
                    "rounding base {base} is below the minimum {}",
                    cfg.acro.safe_round_base
                ));
            }
            let ndb_small = assessment
                .cells
                .iter()
                .filter(|c| c.has(crate::checks::CheckName::NdbMinimumCellCheck))
                .count();
            if ndb_small > 0 {
                status = Status::Fail;
                notes.push(format!(
                    "{ndb_small} cells of 1 to {} persons may not be published, rounded or not (NDB rule): suppress them",
                    cfg.ndb.min_persons - 1
                ));
            }
        }
    }

    CleanedTable {
        table: table.spec.name.clone(),
        row_vars: table.spec.rows.clone(),
        col_vars: table.spec.cols.clone(),
        statistics: stats.clone(),
        row_labels: (0..h).map(|i| table.row_labels(i)).collect(),
        col_labels: (0..w).map(|j| table.col_labels(j)).collect(),
        height: h,
        width: w,
        values,
        state,
        mitigation,
        status,
        notes,
    }
}

/// Secondary suppression on the table's layout: margins shown are suppressible, hidden ones
/// (no margins in the spec) are treated as known elsewhere and never blanked.
fn protect_table(table: &Table, suppressed: &mut [bool]) -> secondary::SecondaryOutcome {
    let (h, w) = (table.height(), table.width());
    let stat = table.spec.statistics[0];
    let hv = table.has_value_column();
    let cost_of = |i: usize, j: usize| -> f64 {
        let c = table.cell(i, j);
        match stat {
            Statistic::Sum => c.value(Statistic::Sum, hv).unwrap_or(0.0),
            _ => c.value(Statistic::Count, hv).unwrap_or(0.0),
        }
    };
    if table.spec.cols.is_empty() {
        // 1-D: one line (cells + total, when shown; otherwise assume the total is known).
        let cost: Vec<f64> = (0..h).map(|i| cost_of(i, 0)).collect();
        return secondary::protect_line(&cost, suppressed);
    }
    // Augmented (R+1) x (C+1) grid even when margins are not shown: totals are published
    // elsewhere more often than not, so the conservative assumption is that they are known.
    let (gr, gc) = (table.n_rows + 1, table.n_cols + 1);
    let grid = Grid { rows: gr, cols: gc };
    let mut cost = vec![f64::INFINITY; gr * gc];
    let mut s = vec![false; gr * gc];
    for i in 0..gr {
        for j in 0..gc {
            if i < h
                && j < w
                && (i < table.n_rows || table.margin_row)
                && (j < table.n_cols || table.margin_col)
            {
                cost[i * gc + j] = cost_of(i, j);
                s[i * gc + j] = suppressed[i * w + j];
            }
        }
    }
    let out = secondary::protect(grid, &cost, &mut s);
    let map = |k: usize| (k / gc) * w + (k % gc);
    for (k, v) in s.iter().enumerate() {
        if *v {
            suppressed[map(k)] = true;
        }
    }
    secondary::SecondaryOutcome {
        added: out.added.into_iter().map(map).collect(),
        unprotected: out.unprotected.into_iter().map(map).collect(),
    }
}
