//! The extract report: for every rule, what it dropped, replaced or sampled, with the numbers an
//! operator needs to show that the rule was met. Serializable (JSON) and free of identifiers:
//! it holds counts and codes, never a claim, patient or provider key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rules::{ClaimKind, CodedColumn, ColumnTreatment, Ratio};

/// Which NDB dataset was built (§8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExtractKind {
    /// サンプリングデータセット.
    Sampling,
    /// トライアルデータセット: sampling processing plus removal of codes with frequency < 10.
    Trial,
}

/// Why a row is not in the release, or that it is. Every input row of a released table lands
/// in exactly one of these.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCounts {
    pub input: u64,
    /// Its claim's service month is not one of the selected quarter months.
    pub outside_months: u64,
    /// Its claim was dropped as high-cost.
    pub high_cost: u64,
    /// Its claim was not drawn by the stratified sample.
    pub not_sampled: u64,
    /// It holds a code of frequency below 10 in the release (trial dataset only).
    pub trial_rare_code: u64,
    /// It refers to no claim in the input (no claim with its `claim_id`; for persons and
    /// admissions, no claim of that patient / stay).
    pub orphan: u64,
    /// Released.
    pub output: u64,
}

/// Rule "one month per quarter".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthRule {
    pub months: [u32; 4],
    /// Service months (`YYYYMM`) present in the claims and selected.
    pub selected_service_months: Vec<String>,
    pub claims_dropped: u64,
}

/// Rule 1, high-cost claims, per claim kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HighCostRule {
    pub claim_kind: ClaimKind,
    /// Claims with `total_points` at or above this were dropped.
    pub threshold_points: i64,
    /// Claims of the selected months examined.
    pub claims_examined: u64,
    pub claims_dropped: u64,
    /// Largest `total_points` among the claims kept (shows that all are below the threshold).
    pub max_points_kept: Option<i64>,
}

/// A code and how often it occurred.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeCount {
    pub code: String,
    pub occurrences: u64,
}

/// Rule 2, rare-code replacement, for one coded column and claim kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RareCodeRule {
    pub table: String,
    pub column: String,
    pub coded_column: CodedColumn,
    pub claim_kind: ClaimKind,
    pub dummy_code: String,
    /// The share of occurrences the replacement may reach (0.1 % or 0.01 %).
    pub target_share: Ratio,
    /// Occurrences (rows) among claims that passed the month and high-cost rules.
    pub occurrences: u64,
    pub replaced_occurrences: u64,
    pub replaced_share: f64,
    /// Occurrences of the rarest code left in place: replacing it too would have passed the
    /// target share (`None` when every code was replaced or there were none).
    pub next_rarest_occurrences: Option<u64>,
    /// The replaced codes, rarest first.
    pub codes: Vec<CodeCount>,
    /// Rows of this column and kind in the sampled claims, and how many of them carry the
    /// dummy code (before the trial rule).
    pub sampled_occurrences: u64,
    pub sampled_replaced: u64,
}

/// Rule 3, the stratified sample, for one stratum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stratum {
    pub claim_kind: ClaimKind,
    pub sex: i32,
    pub age_band: String,
    pub eligible: u64,
    pub sampled: u64,
    pub fraction: f64,
}

/// Rule 3, per claim kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingRule {
    pub claim_kind: ClaimKind,
    pub target_fraction: Ratio,
    pub eligible: u64,
    pub sampled: u64,
    pub fraction: f64,
}

/// Rule 4, column treatment of one released table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlankingRule {
    pub table: String,
    pub columns: BTreeMap<String, ColumnTreatment>,
    pub added: Vec<String>,
}

/// The trial rule, for one coded column and claim kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialRule {
    pub table: String,
    pub column: String,
    pub claim_kind: ClaimKind,
    pub min_frequency: u64,
    /// Codes (after replacement) of frequency below `min_frequency` in the sampled rows.
    pub codes_removed: Vec<CodeCount>,
    pub rows_removed: u64,
}

/// Everything an extract did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtractReport {
    pub kind: ExtractKind,
    pub seed: u64,
    /// Whether `patient_id` was kept (input already pseudonymized) or dropped.
    pub patient_id_kept: bool,
    /// Per released table: where every input row went.
    pub rows: BTreeMap<String, RowCounts>,
    pub months: MonthRule,
    pub high_cost: Vec<HighCostRule>,
    pub rare_codes: Vec<RareCodeRule>,
    pub sampling: Vec<SamplingRule>,
    pub strata: Vec<Stratum>,
    pub blanking: Vec<BlankingRule>,
    /// Present for the trial dataset only.
    pub trial: Option<Vec<TrialRule>>,
    /// Input tables present in the source but never released.
    pub tables_not_released: Vec<String>,
    /// Key columns whose values are release-local (a key drawn for this release and never
    /// stored): they join inside the release and link to nothing outside it.
    pub release_local_keys: Vec<String>,
}

impl ExtractReport {
    /// The report as pretty JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}
