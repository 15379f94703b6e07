//! The table model: 1-D and 2-D cross-tabulations built by streaming records into cells.
//!
//! A cell keeps what the checks need and nothing more: the number of contributing records,
//! missing and negative counts, the sum, a Welford mean/M2 (for std), min and max, and the
//! top-n values (for NK and p-ratio dominance). Only a median keeps its cell's values and only
//! a mode keeps a value histogram, because neither can be computed from a summary. Margins
//! are merges of inner cells, so they can be recomputed without the records (ACRO's
//! suppression recomputes margins from the records left after removing flagged cells).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::{DisclosureError, Result};

/// Label of a margin row or column (pandas' `margins_name` default).
pub const MARGIN_LABEL: &str = "All";

/// Statistic shown in the cells (pandas/ACRO `aggfunc` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    Count,
    Sum,
    Mean,
    Median,
    Min,
    Max,
    Std,
    Mode,
}

impl Statistic {
    pub fn name(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Sum => "sum",
            Self::Mean => "mean",
            Self::Median => "median",
            Self::Min => "min",
            Self::Max => "max",
            Self::Std => "std",
            Self::Mode => "mode",
        }
    }

    /// Margins are sums of cells, so suppressed cells can be recomputed from them.
    pub fn is_additive(self) -> bool {
        matches!(self, Self::Count | Self::Sum)
    }
}

/// Administration route of a drug, for the NDB quantity rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrugRoute {
    Oral,
    External,
    Injection,
}

/// What the cells measure, for the NDB publication rules (`formats/japan.md` §8.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum NdbMeasure {
    /// Each record is one person/patient: counts 1–9 may not be published.
    PersonCount,
    /// The value column is a drug quantity and the statistic a sum. With `patients_known`
    /// the records are patients and the person rule applies; otherwise quantities below
    /// 1,000 (oral/external) or 400 (injection) may not be published.
    DrugQuantity {
        route: DrugRoute,
        /// Route per drug label (a row or column label), overriding `route`.
        #[serde(default)]
        routes_by_label: BTreeMap<String, DrugRoute>,
        #[serde(default)]
        patients_known: bool,
    },
}

/// What to tabulate. Also the provenance of the release (stored with it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// Name of the result table (shown in outcomes; not an identifier).
    pub name: String,
    /// Row variables (at least one).
    pub rows: Vec<String>,
    /// Column variables (empty for a 1-D table).
    #[serde(default)]
    pub cols: Vec<String>,
    /// Value column aggregated by every statistic but a plain count.
    #[serde(default)]
    pub value: Option<String>,
    /// Statistics shown per cell; several give ACRO's multi-`aggfunc` table.
    pub statistics: Vec<Statistic>,
    /// Add an `All` row (and column) of totals.
    #[serde(default)]
    pub margins: bool,
    /// NDB rule that applies to the cells, if any.
    #[serde(default)]
    pub ndb: Option<NdbMeasure>,
    /// Release ledger: identifies the population the records come from (dataset versions and
    /// any filter not expressed in `filters`). Tables with different scopes are never compared.
    #[serde(default)]
    pub scope: String,
    /// Release ledger: filters on variables, as the set of categories kept.
    #[serde(default)]
    pub filters: BTreeMap<String, Vec<String>>,
    /// Values are clamped into [lo, hi] while streaming (needed for a DP sum).
    #[serde(default)]
    pub clamp: Option<(f64, f64)>,
}

impl TableSpec {
    /// A count table of `rows` x `cols`.
    pub fn count(name: &str, rows: &[&str], cols: &[&str]) -> Self {
        Self {
            name: name.to_string(),
            rows: rows.iter().map(|s| s.to_string()).collect(),
            cols: cols.iter().map(|s| s.to_string()).collect(),
            value: None,
            statistics: vec![Statistic::Count],
            margins: false,
            ndb: None,
            scope: String::new(),
            filters: BTreeMap::new(),
            clamp: None,
        }
    }

    /// A table of `stats` of `value` by `rows` x `cols`.
    pub fn aggregate(
        name: &str,
        rows: &[&str],
        cols: &[&str],
        value: &str,
        stats: &[Statistic],
    ) -> Self {
        Self {
            value: Some(value.to_string()),
            statistics: stats.to_vec(),
            ..Self::count(name, rows, cols)
        }
    }

    pub fn with_margins(mut self, margins: bool) -> Self {
        self.margins = margins;
        self
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, reason: &str| DisclosureError::Spec {
            table: self.name.clone(),
            field,
            reason: reason.to_string(),
        };
        if self.rows.is_empty() {
            return Err(bad("rows", "at least one row variable is needed"));
        }
        if self.statistics.is_empty() {
            return Err(bad("statistics", "at least one statistic is needed"));
        }
        let needs_value = self.statistics.iter().any(|s| *s != Statistic::Count);
        if needs_value && self.value.is_none() {
            return Err(bad(
                "value",
                "statistics other than count need a value column",
            ));
        }
        if let Some((lo, hi)) = self.clamp
            && !(lo.is_finite() && hi.is_finite() && lo <= hi)
        {
            return Err(bad("clamp", "bounds must be finite with lo <= hi"));
        }
        if let Some(NdbMeasure::DrugQuantity { .. }) = &self.ndb
            && !self.statistics.contains(&Statistic::Sum)
        {
            return Err(bad("ndb", "a drug-quantity table must show a sum"));
        }
        Ok(())
    }
}

/// What the checks know about one cell (or margin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CellStats {
    /// Contributing records, including those whose value is missing.
    pub records: u64,
    /// Records with a value (not missing).
    pub n_valid: u64,
    pub n_missing: u64,
    pub n_negative: u64,
    pub sum: f64,
    /// Welford running mean and sum of squared deviations (for std and merging).
    pub mean: f64,
    pub m2: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Largest values, descending, ties kept (NK and p-ratio).
    pub top: Vec<f64>,
    /// All values, only when a median is shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<f64>>,
    /// Value histogram (bit pattern -> count), only when a mode is shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modes: Option<BTreeMap<u64, u64>>,
    /// Distinct persons behind the cell, when the records say whom they are about (the
    /// thresholds then count persons, not records: one person's ten claims are one person).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persons: Option<u64>,
    /// Who they are (64-bit digests of the person column), for the margins' unions.
    #[serde(skip)]
    person_set: Option<HashSet<u64>>,
}

impl CellStats {
    fn new(keep_values: bool, keep_modes: bool) -> Self {
        Self {
            values: keep_values.then(Vec::new),
            modes: keep_modes.then(BTreeMap::new),
            ..Self::default()
        }
    }

    fn add(&mut self, value: Option<f64>, k: usize) {
        self.records += 1;
        let Some(v) = value else {
            self.n_missing += 1;
            return;
        };
        self.n_valid += 1;
        if v < 0.0 {
            self.n_negative += 1;
        }
        self.sum += v;
        let delta = v - self.mean;
        self.mean += delta / self.n_valid as f64;
        self.m2 += delta * (v - self.mean);
        self.min = Some(self.min.map_or(v, |m| m.min(v)));
        self.max = Some(self.max.map_or(v, |m| m.max(v)));
        insert_top(&mut self.top, v, k);
        if let Some(vals) = &mut self.values {
            vals.push(v);
        }
        if let Some(modes) = &mut self.modes {
            *modes.entry(canonical_bits(v)).or_insert(0) += 1;
        }
    }

    /// What the thresholds count: distinct persons when known, else records.
    pub fn subjects(&self) -> u64 {
        self.persons.unwrap_or(self.records)
    }

    fn add_person(&mut self, person: u64) {
        let set = self.person_set.get_or_insert_with(HashSet::new);
        set.insert(person);
        self.persons = Some(set.len() as u64);
    }

    fn merge_persons(&mut self, other: &CellStats) {
        match (&other.person_set, other.persons) {
            (Some(theirs), _) => {
                let set = self.person_set.get_or_insert_with(HashSet::new);
                set.extend(theirs);
                let n = set.len() as u64;
                self.persons = Some(self.persons.map_or(n, |p| p.max(n)));
            }
            // Read back without the sets: the union is at least the larger count, which
            // errs towards flagging.
            (None, Some(theirs)) => {
                self.persons = Some(self.persons.map_or(theirs, |p| p.max(theirs)))
            }
            (None, None) => {}
        }
    }

    /// Merges another cell into this one (margins).
    pub fn merge(&mut self, other: &CellStats, k: usize) {
        self.merge_persons(other);
        if other.n_valid > 0 {
            let n = (self.n_valid + other.n_valid) as f64;
            let delta = other.mean - self.mean;
            self.m2 += other.m2 + delta * delta * self.n_valid as f64 * other.n_valid as f64 / n;
            self.mean += delta * other.n_valid as f64 / n;
        }
        self.records += other.records;
        self.n_valid += other.n_valid;
        self.n_missing += other.n_missing;
        self.n_negative += other.n_negative;
        self.sum += other.sum;
        self.min = match (self.min, other.min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max = match (self.max, other.max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        for &v in &other.top {
            insert_top(&mut self.top, v, k);
        }
        if let (Some(a), Some(b)) = (&mut self.values, &other.values) {
            a.extend_from_slice(b);
        }
        if let (Some(a), Some(b)) = (&mut self.modes, &other.modes) {
            for (bits, n) in b {
                *a.entry(*bits).or_insert(0) += n;
            }
        }
    }

    /// The statistic's value, `None` where pandas shows NaN.
    pub fn value(&self, stat: Statistic, has_value_column: bool) -> Option<f64> {
        match stat {
            Statistic::Count if has_value_column => Some(self.n_valid as f64),
            Statistic::Count => Some(self.subjects() as f64),
            // pandas: an empty cell is NaN, a cell whose values are all missing sums to 0.
            Statistic::Sum => (self.records > 0).then_some(self.sum),
            Statistic::Mean => (self.n_valid > 0).then(|| self.sum / self.n_valid as f64),
            Statistic::Min => self.min,
            Statistic::Max => self.max,
            Statistic::Std => {
                (self.n_valid > 1).then(|| (self.m2.max(0.0) / (self.n_valid - 1) as f64).sqrt())
            }
            Statistic::Median => self.values.as_ref().and_then(|v| median(v)),
            // ACRO picks one of several modes at random; we take the smallest (deterministic).
            Statistic::Mode => self.modes.as_ref().and_then(|m| {
                m.iter()
                    .map(|(bits, n)| (f64::from_bits(*bits), *n))
                    .max_by(|a, b| a.1.cmp(&b.1).then(b.0.total_cmp(&a.0)))
                    .map(|(v, _)| v)
            }),
        }
    }

    /// Sum of the `n` largest values (NK rule), 0 if there is no value.
    pub fn top_sum(&self, n: usize) -> f64 {
        self.top.iter().take(n).sum()
    }
}

fn canonical_bits(v: f64) -> u64 {
    // -0.0 and 0.0 are one mode.
    if v == 0.0 {
        0.0f64.to_bits()
    } else {
        v.to_bits()
    }
}

fn insert_top(top: &mut Vec<f64>, v: f64, k: usize) {
    if top.len() == k && top.last().is_some_and(|last| *last >= v) {
        return;
    }
    let pos = top.iter().position(|x| *x < v).unwrap_or(top.len());
    top.insert(pos, v);
    top.truncate(k);
}

fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Streams records into cells; [`TableBuilder::finish`] gives the [`Table`].
pub struct TableBuilder {
    spec: TableSpec,
    top_n: usize,
    keep_values: bool,
    keep_modes: bool,
    row_index: HashMap<String, u32>,
    col_index: HashMap<String, u32>,
    row_keys: Vec<Vec<String>>,
    col_keys: Vec<Vec<String>>,
    cells: HashMap<(u32, u32), CellStats>,
    records: u64,
    key_buf: String,
}

/// Separator of labels inside an interned key (a control character no label holds).
const KEY_SEP: char = '\u{1f}';

impl TableBuilder {
    /// `top_n` is how many largest values each cell keeps: at least the NK rule's n and 2.
    pub fn new(spec: TableSpec, top_n: usize) -> Result<Self> {
        spec.validate()?;
        let keep_values = spec.statistics.contains(&Statistic::Median);
        let keep_modes = spec.statistics.contains(&Statistic::Mode);
        Ok(Self {
            spec,
            top_n: top_n.max(2),
            keep_values,
            keep_modes,
            row_index: HashMap::new(),
            col_index: HashMap::new(),
            row_keys: Vec::new(),
            col_keys: Vec::new(),
            cells: HashMap::new(),
            records: 0,
            key_buf: String::new(),
        })
    }

    /// Builder whose cells keep the top values the configuration's NK rule needs.
    pub fn for_config(spec: TableSpec, config: &crate::DisclosureConfig) -> Result<Self> {
        Self::new(spec, config.acro.safe_nk_n)
    }

    fn intern(
        index: &mut HashMap<String, u32>,
        keys: &mut Vec<Vec<String>>,
        buf: &mut String,
        labels: &[&str],
    ) -> u32 {
        buf.clear();
        for (i, l) in labels.iter().enumerate() {
            if i > 0 {
                buf.push(KEY_SEP);
            }
            buf.push_str(l);
        }
        if let Some(&i) = index.get(buf.as_str()) {
            return i;
        }
        let i = keys.len() as u32;
        keys.push(labels.iter().map(|s| s.to_string()).collect());
        index.insert(buf.clone(), i);
        i
    }

    fn locate(&mut self, row: &[&str], col: &[&str]) -> Result<(u32, u32)> {
        let bad = |field: &'static str, reason: String| DisclosureError::Record {
            table: self.spec.name.clone(),
            record: self.records + 1,
            field,
            reason,
        };
        if row.len() != self.spec.rows.len() {
            return Err(bad(
                "rows",
                format!(
                    "{} labels for {} row variables",
                    row.len(),
                    self.spec.rows.len()
                ),
            ));
        }
        if col.len() != self.spec.cols.len() {
            return Err(bad(
                "cols",
                format!(
                    "{} labels for {} column variables",
                    col.len(),
                    self.spec.cols.len()
                ),
            ));
        }
        if row.iter().chain(col).any(|l| l.contains(KEY_SEP)) {
            return Err(bad(
                "label",
                "a label holds the unit-separator control character".into(),
            ));
        }
        let r = Self::intern(
            &mut self.row_index,
            &mut self.row_keys,
            &mut self.key_buf,
            row,
        );
        let c = Self::intern(
            &mut self.col_index,
            &mut self.col_keys,
            &mut self.key_buf,
            col,
        );
        Ok((r, c))
    }

    /// Adds one record. `value` is the value column (`None` or NaN = missing); ignored by a
    /// plain count table.
    pub fn push(&mut self, row: &[&str], col: &[&str], value: Option<f64>) -> Result<()> {
        let (r, c) = self.locate(row, col)?;
        let value = value.filter(|v| !v.is_nan());
        if let Some(v) = value
            && v.is_infinite()
        {
            return Err(DisclosureError::Record {
                table: self.spec.name.clone(),
                record: self.records + 1,
                field: "value",
                reason: "infinite value".into(),
            });
        }
        let value = match (value, self.spec.clamp) {
            (Some(v), Some((lo, hi))) => Some(v.clamp(lo, hi)),
            (v, _) => v,
        };
        let (keep_values, keep_modes, k) = (self.keep_values, self.keep_modes, self.top_n);
        self.cells
            .entry((r, c))
            .or_insert_with(|| CellStats::new(keep_values, keep_modes))
            .add(value, k);
        self.records += 1;
        Ok(())
    }

    /// Adds one record about `person` (a digest of the person column): cells then count
    /// distinct persons for the thresholds and a plain count.
    pub fn push_person(
        &mut self,
        row: &[&str],
        col: &[&str],
        person: u64,
        value: Option<f64>,
    ) -> Result<()> {
        self.push(row, col, value)?;
        let (r, c) = self.locate(row, col)?;
        if let Some(cell) = self.cells.get_mut(&(r, c)) {
            cell.add_person(person);
        }
        Ok(())
    }

    /// Adds `n` records without values: a frequency table already aggregated elsewhere
    /// (e.g. `COUNT(DISTINCT person)` per cell from SQL). Only for plain count tables.
    pub fn push_count(&mut self, row: &[&str], col: &[&str], n: u64) -> Result<()> {
        if self.spec.value.is_some() {
            return Err(DisclosureError::Record {
                table: self.spec.name.clone(),
                record: self.records + 1,
                field: "value",
                reason: "pre-aggregated counts only fit a plain count table".into(),
            });
        }
        let (r, c) = self.locate(row, col)?;
        let (keep_values, keep_modes) = (self.keep_values, self.keep_modes);
        let cell = self
            .cells
            .entry((r, c))
            .or_insert_with(|| CellStats::new(keep_values, keep_modes));
        cell.records += n;
        cell.n_missing += n;
        self.records += n;
        Ok(())
    }

    /// Number of records pushed so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Sorts the labels (as pandas does), lays the cells out densely (every row label x
    /// every column label, pandas' `dropna=False`) and adds the margins.
    pub fn finish(self) -> Table {
        let mut rows: Vec<usize> = (0..self.row_keys.len()).collect();
        rows.sort_by(|a, b| self.row_keys[*a].cmp(&self.row_keys[*b]));
        let one_d = self.spec.cols.is_empty();
        let mut cols: Vec<usize> = (0..self.col_keys.len()).collect();
        cols.sort_by(|a, b| self.col_keys[*a].cmp(&self.col_keys[*b]));
        if one_d && cols.is_empty() {
            cols.push(0);
        }
        let (nr, nc) = (rows.len(), cols.len());
        let mr = usize::from(self.spec.margins);
        let mc = usize::from(self.spec.margins && !one_d);
        let width = nc + mc;
        let blank = CellStats::new(self.keep_values, self.keep_modes);
        let mut grid = vec![blank.clone(); (nr + mr) * width];
        let mut row_pos = vec![0usize; self.row_keys.len()];
        for (i, r) in rows.iter().enumerate() {
            row_pos[*r] = i;
        }
        let mut col_pos = vec![0usize; self.col_keys.len().max(1)];
        for (j, c) in cols.iter().enumerate() {
            col_pos[*c] = j;
        }
        for ((r, c), cell) in self.cells {
            grid[row_pos[r as usize] * width + col_pos[c as usize]] = cell;
        }
        let row_keys: Vec<Vec<String>> = rows.iter().map(|r| self.row_keys[*r].clone()).collect();
        let col_keys: Vec<Vec<String>> = if one_d {
            vec![Vec::new()]
        } else {
            cols.iter().map(|c| self.col_keys[*c].clone()).collect()
        };
        let mut table = Table {
            spec: self.spec,
            top_n: self.top_n,
            row_keys,
            col_keys,
            n_rows: nr,
            n_cols: nc,
            margin_row: mr == 1,
            margin_col: mc == 1,
            cells: grid,
        };
        table.compute_margins(|_, _| true);
        table
    }
}

/// A built table: inner cells `n_rows` x `n_cols`, plus an `All` row/column when the spec asks
/// for margins. Cells are row-major over `height()` x `width()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub spec: TableSpec,
    pub top_n: usize,
    pub row_keys: Vec<Vec<String>>,
    pub col_keys: Vec<Vec<String>>,
    pub n_rows: usize,
    pub n_cols: usize,
    pub margin_row: bool,
    pub margin_col: bool,
    pub cells: Vec<CellStats>,
}

impl Table {
    pub fn height(&self) -> usize {
        self.n_rows + usize::from(self.margin_row)
    }

    pub fn width(&self) -> usize {
        self.n_cols + usize::from(self.margin_col)
    }

    pub fn index(&self, i: usize, j: usize) -> usize {
        i * self.width() + j
    }

    pub fn cell(&self, i: usize, j: usize) -> &CellStats {
        &self.cells[self.index(i, j)]
    }

    pub fn is_margin(&self, i: usize, j: usize) -> bool {
        i >= self.n_rows || j >= self.n_cols
    }

    pub fn has_value_column(&self) -> bool {
        self.spec.value.is_some()
    }

    /// Labels of row `i` (`["All"]`-like for the margin row).
    pub fn row_labels(&self, i: usize) -> Vec<String> {
        match self.row_keys.get(i) {
            Some(k) => k.clone(),
            None => vec![MARGIN_LABEL.to_string(); self.spec.rows.len()],
        }
    }

    pub fn col_labels(&self, j: usize) -> Vec<String> {
        match self.col_keys.get(j) {
            Some(k) => k.clone(),
            None => vec![MARGIN_LABEL.to_string(); self.spec.cols.len().max(1)],
        }
    }

    pub fn value(&self, i: usize, j: usize, stat: Statistic) -> Option<f64> {
        self.cell(i, j).value(stat, self.has_value_column())
    }

    /// Recomputes margins from the inner cells for which `keep(i, j)` holds (all of them when
    /// the table is built; the kept ones for ACRO-style suppression).
    pub fn compute_margins(&mut self, keep: impl Fn(usize, usize) -> bool) {
        let (nr, nc, w, k) = (self.n_rows, self.n_cols, self.width(), self.top_n);
        let keep_values = self.spec.statistics.contains(&Statistic::Median);
        let keep_modes = self.spec.statistics.contains(&Statistic::Mode);
        let blank = CellStats::new(keep_values, keep_modes);
        let mut grand = blank.clone();
        if self.margin_col {
            for i in 0..nr {
                let mut m = blank.clone();
                for j in 0..nc {
                    if keep(i, j) {
                        m.merge(&self.cells[i * w + j], k);
                    }
                }
                self.cells[i * w + nc] = m;
            }
        }
        if self.margin_row {
            for j in 0..nc {
                let mut m = blank.clone();
                for i in 0..nr {
                    if keep(i, j) {
                        m.merge(&self.cells[i * w + j], k);
                    }
                }
                grand.merge(&m, k);
                self.cells[nr * w + j] = m;
            }
            if self.margin_col {
                self.cells[nr * w + nc] = grand;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_records_into_sorted_cells_with_margins() {
        let spec =
            TableSpec::aggregate("t", &["r"], &["c"], "v", &[Statistic::Sum, Statistic::Mean])
                .with_margins(true);
        let mut b = TableBuilder::new(spec, 2).unwrap();
        b.push(&["b"], &["y"], Some(4.0)).unwrap();
        b.push(&["a"], &["x"], Some(1.0)).unwrap();
        b.push(&["a"], &["x"], Some(3.0)).unwrap();
        b.push(&["a"], &["y"], None).unwrap();
        let t = b.finish();
        assert_eq!(
            t.row_keys,
            vec![vec!["a".to_string()], vec!["b".to_string()]]
        );
        assert_eq!((t.height(), t.width()), (3, 3));
        assert_eq!(t.value(0, 0, Statistic::Sum), Some(4.0));
        assert_eq!(t.value(0, 1, Statistic::Sum), Some(0.0)); // all missing -> 0 (pandas)
        assert_eq!(t.value(1, 0, Statistic::Sum), None); // empty -> NaN
        assert_eq!(t.value(0, 1, Statistic::Mean), None);
        assert_eq!(t.value(0, 2, Statistic::Sum), Some(4.0));
        assert_eq!(t.value(2, 2, Statistic::Sum), Some(8.0));
        assert_eq!(t.cell(2, 2).records, 4);
        assert_eq!(t.cell(2, 2).top, vec![4.0, 3.0]);
    }

    #[test]
    fn welford_merge_matches_two_pass_std() {
        let vals = [3.0, 7.0, 7.0, 19.0, 24.0, 1.5];
        let spec =
            TableSpec::aggregate("t", &["r"], &["c"], "v", &[Statistic::Std]).with_margins(true);
        let mut b = TableBuilder::new(spec, 2).unwrap();
        for (i, v) in vals.iter().enumerate() {
            b.push(&["a"], &[if i % 2 == 0 { "x" } else { "y" }], Some(*v))
                .unwrap();
        }
        let t = b.finish();
        let mean = vals.iter().sum::<f64>() / 6.0;
        let sd = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 5.0).sqrt();
        let got = t.value(0, 2, Statistic::Std).unwrap();
        assert!((got - sd).abs() < 1e-12, "{got} vs {sd}");
    }

    #[test]
    fn median_and_mode() {
        let spec =
            TableSpec::aggregate("t", &["r"], &[], "v", &[Statistic::Median, Statistic::Mode]);
        let mut b = TableBuilder::new(spec, 2).unwrap();
        for v in [5.0, 1.0, 2.0, 2.0, 5.0, 9.0] {
            b.push(&["a"], &[], Some(v)).unwrap();
        }
        let t = b.finish();
        assert_eq!(t.value(0, 0, Statistic::Median), Some(3.5));
        assert_eq!(t.value(0, 0, Statistic::Mode), Some(2.0)); // tie 2/5 -> smallest
    }

    #[test]
    fn bad_records_are_errors_not_panics() {
        let spec = TableSpec::count("t", &["r"], &["c"]);
        let mut b = TableBuilder::new(spec, 2).unwrap();
        let e = b.push(&["a", "b"], &["x"], None).unwrap_err().to_string();
        assert!(e.contains("record 1") && e.contains("rows"), "{e}");
        assert!(
            TableSpec::aggregate("t", &["r"], &[], "v", &[])
                .validate()
                .is_err()
        );
        let mut s = TableSpec::count("t", &["r"], &[]);
        s.statistics = vec![Statistic::Mean];
        assert!(s.validate().unwrap_err().to_string().contains("value"));
    }
}
