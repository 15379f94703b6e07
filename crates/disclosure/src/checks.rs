//! The per-cell checks: ACRO's rules for frequency and magnitude tables (same names, same
//! order, same reason strings) and the NDB publication rules.
//!
//! ACRO runs, per statistic ("analysis"), the checks its ontology lists for it, and collates
//! one mask per check into a reason string per cell. Which checks run:
//! count -> zeros, threshold; mean/sum -> NK, p-ratio, threshold; median/min/max -> zeros,
//! threshold; std -> degrees of freedom; mode -> zeros; plus `MissingCheck` when asked.
//! The collation quirks are reproduced for the reason string ([`CellOutcome::acro`]): a
//! check already present anywhere in the table is not applied again by a later statistic,
//! and after each statistic an empty reason becomes `ok` (so a second statistic's reasons
//! read `okNKCheck; `). The decisions themselves are the `flags`.

use serde::{Deserialize, Serialize};

use crate::config::{Compat, DisclosureConfig};
use crate::table::{DrugRoute, NdbMeasure, Statistic, Table};

/// Name of a check, spelled as ACRO spells it (plus medinfra's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CheckName {
    MinimumThresholdCheck,
    PresenceOfZeroCheck,
    NKCheck,
    PPercentCheck,
    MinimumDoFCheck,
    MissingCheck,
    /// NDB: a person count from 1 to 9.
    NdbMinimumCellCheck,
    /// NDB: a drug quantity under 1,000 (oral/external) or 400 (injection).
    NdbDrugQuantityCheck,
    /// Release ledger: the cell, combined with an earlier release, reveals a small or
    /// suppressed group.
    DifferencingCheck,
}

impl CheckName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MinimumThresholdCheck => "MinimumThresholdCheck",
            Self::PresenceOfZeroCheck => "PresenceOfZeroCheck",
            Self::NKCheck => "NKCheck",
            Self::PPercentCheck => "PPercentCheck",
            Self::MinimumDoFCheck => "MinimumDoFCheck",
            Self::MissingCheck => "MissingCheck",
            Self::NdbMinimumCellCheck => "NdbMinimumCellCheck",
            Self::NdbDrugQuantityCheck => "NdbDrugQuantityCheck",
            Self::DifferencingCheck => "DifferencingCheck",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::MinimumThresholdCheck,
            Self::PresenceOfZeroCheck,
            Self::NKCheck,
            Self::PPercentCheck,
            Self::MinimumDoFCheck,
            Self::MissingCheck,
            Self::NdbMinimumCellCheck,
            Self::NdbDrugQuantityCheck,
            Self::DifferencingCheck,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// Outcome of a table or of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Review,
    Fail,
}

/// Severity of one flag on one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Disclosive: must be suppressed (or otherwise mitigated) before release.
    Fail,
    /// Needs a reviewer's judgement (negative values, missing values); suppressed by
    /// automatic suppression as ACRO does.
    Review,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub check: CheckName,
    pub verdict: Verdict,
}

/// The checks' outcome for one cell (inner or margin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellOutcome {
    pub row: usize,
    pub col: usize,
    pub row_labels: Vec<String>,
    pub col_labels: Vec<String>,
    pub margin: bool,
    /// Contributing records.
    pub records: u64,
    pub flags: Vec<Flag>,
    /// ACRO's reason string (`ok` or `Name; Name; `), quirks included.
    pub acro: String,
}

impl CellOutcome {
    pub fn is_flagged(&self) -> bool {
        !self.flags.is_empty()
    }

    pub fn has(&self, check: CheckName) -> bool {
        self.flags.iter().any(|f| f.check == check)
    }
}

/// One check over the whole table (ACRO's `sdc.summary` entry and status).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub check: CheckName,
    pub status: Status,
    pub cells_flagged: usize,
    pub note: String,
}

/// Everything the checks found on one table: the object shown to the user and reviewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub table: String,
    pub status: Status,
    pub checks: Vec<CheckResult>,
    /// Row-major over the table's `height` x `width`, margins included.
    pub cells: Vec<CellOutcome>,
    pub height: usize,
    pub width: usize,
    /// The parameters in force (provenance of the decision).
    pub config: DisclosureConfig,
}

impl Assessment {
    pub fn cell(&self, i: usize, j: usize) -> &CellOutcome {
        &self.cells[i * self.width + j]
    }

    pub fn flagged_cells(&self) -> usize {
        self.cells.iter().filter(|c| c.is_flagged()).count()
    }

    /// Adds a flag found outside the table's own checks (the release ledger).
    pub fn add_flag(&mut self, i: usize, j: usize, flag: Flag) {
        let w = self.width;
        let cell = &mut self.cells[i * w + j];
        if cell.has(flag.check) {
            return;
        }
        cell.flags.push(flag);
        if cell.acro == "ok" {
            cell.acro.clear();
        }
        cell.acro.push_str(flag.check.as_str());
        cell.acro.push_str("; ");
        let n = self.cells.iter().filter(|c| c.has(flag.check)).count();
        let status = match flag.verdict {
            Verdict::Fail => Status::Fail,
            Verdict::Review => Status::Review,
        };
        match self.checks.iter_mut().find(|c| c.check == flag.check) {
            Some(c) => {
                c.cells_flagged = n;
                c.status = c.status.max(status);
            }
            None => self.checks.push(CheckResult {
                check: flag.check,
                status,
                cells_flagged: n,
                note: String::new(),
            }),
        }
        self.status = self.status.max(status);
    }
}

/// `ok`, or the flagged checks as ACRO writes them (`Name; Name; `).
pub fn reason_string(flags: &[Flag]) -> String {
    if flags.is_empty() {
        return "ok".into();
    }
    flags
        .iter()
        .map(|f| format!("{}; ", f.check.as_str()))
        .collect()
}

/// ACRO's checks for one statistic, in its ontology's order (statbarn risks -> checks).
fn acro_checks(stat: Statistic, compat: Compat) -> &'static [CheckName] {
    use CheckName::*;
    match (stat, compat) {
        (Statistic::Count, _) => &[PresenceOfZeroCheck, MinimumThresholdCheck],
        (Statistic::Mean | Statistic::Sum, _) => &[NKCheck, PPercentCheck, MinimumThresholdCheck],
        (Statistic::Median | Statistic::Min | Statistic::Max, _) => {
            &[PresenceOfZeroCheck, MinimumThresholdCheck]
        }
        (Statistic::Std, _) => &[MinimumDoFCheck],
        (Statistic::Mode, Compat::Acro) => &[PresenceOfZeroCheck],
        (Statistic::Mode, Compat::Strict) => &[PresenceOfZeroCheck, MinimumThresholdCheck],
    }
}

/// One check's mask over all cells and its status.
struct Mask {
    cells: Vec<Option<Verdict>>,
    status: Status,
    note: String,
}

impl Mask {
    fn from_fn(table: &Table, verdict: Verdict, f: impl Fn(usize, usize) -> bool) -> Self {
        let (h, w) = (table.height(), table.width());
        let mut cells = Vec::with_capacity(h * w);
        for i in 0..h {
            for j in 0..w {
                cells.push(f(i, j).then_some(verdict));
            }
        }
        let n = cells.iter().filter(|c| c.is_some()).count();
        let status = match (n, verdict) {
            (0, _) => Status::Pass,
            (_, Verdict::Fail) => Status::Fail,
            (_, Verdict::Review) => Status::Review,
        };
        let note = format!("{} - {n} cells may need suppressing.", status_word(status));
        Self {
            cells,
            status,
            note,
        }
    }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Review => "review",
        Status::Fail => "fail",
    }
}

fn dominance_mask(table: &Table, cfg: &DisclosureConfig, check: CheckName) -> Mask {
    let a = &cfg.acro;
    let table_has_negative = table.cells.iter().any(|c| c.n_negative > 0);
    if cfg.compat == Compat::Acro && table_has_negative {
        // ACRO: dominance is undefined for the whole table; only cells with negatives flagged.
        let mut m = Mask::from_fn(table, Verdict::Review, |i, j| {
            table.cell(i, j).n_negative > 0
        });
        m.note = "Dominance not defined when negative value are present".into();
        return m;
    }
    let dominated = |i: usize, j: usize| -> bool {
        let c = table.cell(i, j);
        if c.records == 0 {
            return false; // NaN total: not flagged
        }
        match check {
            CheckName::NKCheck => {
                // top-n / total, NaN (0/0) is not flagged.
                let ratio = c.top_sum(a.safe_nk_n) / c.sum;
                ratio >= a.safe_nk_k
            }
            _ => {
                let Some(top1) = c.max else { return false };
                let rest = c.sum - c.top_sum(2);
                // As ACRO 1.0.2's code (not its comment): with top1 = 0 the ratio is the
                // remainder itself, so a cell of zeros is flagged.
                let p = if top1 == 0.0 { rest } else { rest / top1 };
                p < a.safe_pratio_p
            }
        }
    };
    let (h, w) = (table.height(), table.width());
    let mut cells = Vec::with_capacity(h * w);
    for i in 0..h {
        for j in 0..w {
            let c = table.cell(i, j);
            cells.push(if c.n_negative > 0 {
                Some(Verdict::Review)
            } else if dominated(i, j) {
                Some(Verdict::Fail)
            } else {
                None
            });
        }
    }
    let fails = cells.iter().filter(|c| **c == Some(Verdict::Fail)).count();
    let reviews = cells
        .iter()
        .filter(|c| **c == Some(Verdict::Review))
        .count();
    let status = if fails > 0 {
        Status::Fail
    } else if reviews > 0 {
        Status::Review
    } else {
        Status::Pass
    };
    let mut note = format!(
        "{} - {} cells may need suppressing.",
        status_word(status),
        fails + reviews
    );
    if reviews > 0 {
        note.push_str(" Dominance not defined in cells with negative values.");
    }
    Mask {
        cells,
        status,
        note,
    }
}

fn mask_for(table: &Table, cfg: &DisclosureConfig, check: CheckName) -> Mask {
    let a = &cfg.acro;
    match check {
        CheckName::MinimumThresholdCheck => Mask::from_fn(table, Verdict::Fail, |i, j| {
            table.cell(i, j).subjects() < a.safe_threshold
        }),
        CheckName::PresenceOfZeroCheck => Mask::from_fn(table, Verdict::Fail, |i, j| {
            a.zeros_are_disclosive && table.cell(i, j).records == 0
        }),
        CheckName::NKCheck | CheckName::PPercentCheck => dominance_mask(table, cfg, check),
        CheckName::MinimumDoFCheck => {
            let dof = |i: usize, j: usize| table.cell(i, j).records as i64 - 1;
            let mut m = match cfg.compat {
                // ACRO uses the dof table as the mask: every non-zero dof is "true".
                Compat::Acro => Mask::from_fn(table, Verdict::Fail, |i, j| dof(i, j) != 0),
                Compat::Strict => Mask::from_fn(table, Verdict::Fail, |i, j| {
                    dof(i, j) < a.safe_dof_threshold as i64
                }),
            };
            // The status is ACRO's in both modes: fail if any dof is below the threshold.
            let min_dof = (0..table.height())
                .flat_map(|i| (0..table.width()).map(move |j| (i, j)))
                .map(|(i, j)| dof(i, j))
                .min()
                .unwrap_or(0);
            let fail = min_dof < a.safe_dof_threshold as i64;
            m.status = if fail { Status::Fail } else { Status::Pass };
            m.note = format!(
                "{} dof={min_dof} {} {}",
                status_word(m.status),
                if fail { "<" } else { ">=" },
                a.safe_dof_threshold
            );
            m
        }
        CheckName::MissingCheck => {
            let mut m = Mask::from_fn(table, Verdict::Review, |i, j| {
                let c = table.cell(i, j);
                c.n_missing > 0 || (cfg.compat == Compat::Acro && c.records == 0)
            });
            if m.status != Status::Pass {
                m.note.push_str(
                    " Review Notes: missing values have been ignored when calculating mean/std etc.",
                );
            }
            m
        }
        CheckName::NdbMinimumCellCheck => Mask::from_fn(table, Verdict::Fail, |i, j| {
            let n = table.cell(i, j).subjects();
            n > 0 && n < cfg.ndb.min_persons
        }),
        CheckName::NdbDrugQuantityCheck => {
            let Some(NdbMeasure::DrugQuantity {
                route,
                routes_by_label,
                ..
            }) = &table.spec.ndb
            else {
                return Mask::from_fn(table, Verdict::Fail, |_, _| false);
            };
            Mask::from_fn(table, Verdict::Fail, |i, j| {
                let cell_route = table
                    .row_labels(i)
                    .iter()
                    .chain(table.col_labels(j).iter())
                    .find_map(|l| routes_by_label.get(l).copied())
                    .unwrap_or(*route);
                let limit = match cell_route {
                    DrugRoute::Oral | DrugRoute::External => cfg.ndb.min_quantity_oral_external,
                    DrugRoute::Injection => cfg.ndb.min_quantity_injection,
                };
                let q = table.cell(i, j).sum;
                table.cell(i, j).records > 0 && q > 0.0 && q < limit
            })
        }
        CheckName::DifferencingCheck => Mask::from_fn(table, Verdict::Fail, |_, _| false),
    }
}

/// Runs every check the table's statistics, the configuration and the NDB measure call for.
pub fn assess(table: &Table, cfg: &DisclosureConfig) -> Assessment {
    let (h, w) = (table.height(), table.width());
    let mut flags: Vec<Vec<Flag>> = vec![Vec::new(); h * w];
    let mut acro: Vec<String> = vec![String::new(); h * w];
    let mut checks: Vec<CheckResult> = Vec::new();
    let mut in_frame: Vec<CheckName> = Vec::new();
    let mut masks: Vec<(CheckName, Mask)> = Vec::new();

    let mut run = |check: CheckName,
                   flags: &mut Vec<Vec<Flag>>,
                   acro: &mut Vec<String>,
                   checks: &mut Vec<CheckResult>| {
        if !masks.iter().any(|(c, _)| *c == check) {
            masks.push((check, mask_for(table, cfg, check)));
        }
        let Some((_, mask)) = masks.iter().find(|(c, _)| *c == check) else {
            return;
        };
        match checks.iter_mut().find(|c| c.check == check) {
            Some(c) => c.status = c.status.max(mask.status),
            None => checks.push(CheckResult {
                check,
                status: mask.status,
                cells_flagged: mask.cells.iter().filter(|c| c.is_some()).count(),
                note: mask.note.clone(),
            }),
        }
        // ACRO's collation skips a check whose name is already in the outcome table.
        if in_frame.contains(&check) {
            return;
        }
        let mut any = false;
        for (k, v) in mask.cells.iter().enumerate() {
            if let Some(verdict) = v {
                flags[k].push(Flag {
                    check,
                    verdict: *verdict,
                });
                acro[k].push_str(check.as_str());
                acro[k].push_str("; ");
                any = true;
            }
        }
        if any {
            in_frame.push(check);
        }
    };

    let missing = cfg.acro.check_missing_values && table.has_value_column();
    for stat in &table.spec.statistics {
        for check in acro_checks(*stat, cfg.compat) {
            run(*check, &mut flags, &mut acro, &mut checks);
        }
        if missing {
            run(CheckName::MissingCheck, &mut flags, &mut acro, &mut checks);
        }
        for s in acro.iter_mut() {
            if s.is_empty() {
                s.push_str("ok");
            }
        }
    }
    if cfg.ndb.enabled {
        let ndb_checks: &[CheckName] = match &table.spec.ndb {
            None => &[],
            Some(NdbMeasure::PersonCount) => &[CheckName::NdbMinimumCellCheck],
            Some(NdbMeasure::DrugQuantity {
                patients_known: true,
                ..
            }) => &[CheckName::NdbMinimumCellCheck],
            Some(NdbMeasure::DrugQuantity { .. }) => &[CheckName::NdbDrugQuantityCheck],
        };
        for check in ndb_checks {
            run(*check, &mut flags, &mut acro, &mut checks);
        }
    }
    if cfg.compat == Compat::Strict {
        // The `ok` prefix is an ACRO collation artefact; strict mode writes plain reasons.
        for (s, f) in acro.iter_mut().zip(&flags) {
            *s = reason_string(f);
        }
    }

    let status = checks
        .iter()
        .map(|c| c.status)
        .max()
        .unwrap_or(Status::Pass);
    let mut cells = Vec::with_capacity(h * w);
    for (k, (f, s)) in flags.into_iter().zip(acro).enumerate() {
        let (i, j) = (k / w, k % w);
        cells.push(CellOutcome {
            row: i,
            col: j,
            row_labels: table.row_labels(i),
            col_labels: table.col_labels(j),
            margin: table.is_margin(i, j),
            records: table.cell(i, j).records,
            flags: f,
            acro: s,
        });
    }
    Assessment {
        table: table.spec.name.clone(),
        status,
        checks,
        cells,
        height: h,
        width: w,
        config: cfg.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{TableBuilder, TableSpec};

    fn count_table(cells: &[(&str, &str, u64)], margins: bool) -> Table {
        let spec = TableSpec::count("t", &["r"], &["c"]).with_margins(margins);
        let mut b = TableBuilder::new(spec, 2).unwrap();
        for (r, c, n) in cells {
            b.push_count(&[r], &[c], *n).unwrap();
        }
        b.finish()
    }

    #[test]
    fn ndb_person_rule_allows_zero_and_ten_but_not_one_to_nine() {
        let mut t = count_table(
            &[("a", "x", 1), ("a", "y", 9), ("b", "x", 10), ("b", "y", 0)],
            false,
        );
        t.spec.ndb = Some(NdbMeasure::PersonCount);
        let mut cfg = DisclosureConfig::default();
        cfg.acro.zeros_are_disclosive = false;
        cfg.acro.safe_threshold = 0; // isolate the NDB rule
        let a = assess(&t, &cfg);
        let ndb = |i, j| a.cell(i, j).has(CheckName::NdbMinimumCellCheck);
        assert!(ndb(0, 0) && ndb(0, 1));
        assert!(!ndb(1, 0) && !ndb(1, 1));
        assert_eq!(a.status, Status::Fail);
    }

    #[test]
    fn ndb_drug_quantity_limits_by_route() {
        let spec = TableSpec {
            ndb: Some(NdbMeasure::DrugQuantity {
                route: DrugRoute::Oral,
                routes_by_label: [("inj".to_string(), DrugRoute::Injection)].into(),
                patients_known: false,
            }),
            ..TableSpec::aggregate("q", &["drug"], &[], "qty", &[Statistic::Sum])
        };
        let mut b = TableBuilder::new(spec, 2).unwrap();
        for (drug, q) in [
            ("oral_a", 999.0),
            ("oral_b", 1000.0),
            ("inj", 399.0),
            ("inj2", 500.0),
        ] {
            for _ in 0..20 {
                b.push(&[drug], &[], Some(q / 20.0)).unwrap();
            }
        }
        let t = b.finish();
        let a = assess(&t, &DisclosureConfig::default());
        let q = |i| a.cell(i, 0).has(CheckName::NdbDrugQuantityCheck);
        // rows sorted: inj, inj2, oral_a, oral_b
        assert!(q(0), "399 of an injection < 400");
        assert!(q(1), "inj2 has no route entry: oral default, 500 < 1000");
        assert!(q(2), "999 oral < 1000");
        assert!(!q(3), "1000 oral is publishable");
    }

    #[test]
    fn strict_dof_uses_threshold_acro_uses_nonzero() {
        let spec = TableSpec::aggregate("s", &["r"], &["c"], "v", &[Statistic::Std]);
        let mut b = TableBuilder::new(spec, 2).unwrap();
        b.push(&["a"], &["x"], Some(1.0)).unwrap(); // dof 0
        for k in 0..11 {
            b.push(&["a"], &["y"], Some(k as f64)).unwrap(); // dof 10
        }
        for k in 0..5 {
            b.push(&["b"], &["x"], Some(k as f64)).unwrap(); // dof 4
        }
        let t = b.finish();
        let acro = assess(&t, &DisclosureConfig::acro_compatible());
        let strict = assess(&t, &DisclosureConfig::default());
        let dof = |a: &Assessment, i, j| a.cell(i, j).has(CheckName::MinimumDoFCheck);
        assert!(!dof(&acro, 0, 0) && dof(&acro, 0, 1) && dof(&acro, 1, 0) && dof(&acro, 1, 1));
        assert!(
            dof(&strict, 0, 0) && !dof(&strict, 0, 1) && dof(&strict, 1, 0) && dof(&strict, 1, 1)
        );
        assert_eq!(acro.status, Status::Fail);
    }
}
