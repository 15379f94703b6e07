//! Parameters of every check, serde- and TOML-loadable. Defaults are ACRO 1.0.2's packaged
//! `default.yaml` and the NDB publication rules of `formats/japan.md` §8.1.

use serde::{Deserialize, Serialize};

use crate::error::{DisclosureError, Result};

/// Whether to reproduce ACRO 1.0.2 exactly, defects included, or to apply its rules as
/// documented. Every difference is listed on [`Compat::Strict`]; the ACRO reference test runs
/// in [`Compat::Acro`] and a second test shows where `Strict` decides differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Compat {
    /// Identical decisions to ACRO 1.0.2 on every cell:
    /// - `MinimumDoFCheck` flags a cell when its degrees of freedom (count - 1) are *non-zero*
    ///   (ACRO uses the dof table itself as the mask), so std tables flag nearly every cell;
    /// - one negative value anywhere turns NK/p-ratio into "review" for the cells holding
    ///   negatives and switches dominance off for every other cell of the table;
    /// - `MissingCheck` also flags empty cells (their NaN becomes `true`);
    /// - mode tables get no threshold check.
    Acro,
    /// ACRO's rules as documented (the default for medinfra releases):
    /// - `MinimumDoFCheck` flags cells with count - 1 < `dof_threshold`;
    /// - negative values make dominance "review" only in the cells that hold them; the other
    ///   cells are still checked;
    /// - `MissingCheck` flags only cells with a missing value;
    /// - mode tables also get `MinimumThresholdCheck` (a mode of 1–9 records discloses them).
    #[default]
    Strict,
}

/// ACRO's risk appetite (`default.yaml` of ACRO 1.0.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcroParams {
    /// A cell is flagged if fewer records contribute (`MinimumThresholdCheck`).
    pub safe_threshold: u64,
    /// Residual degrees of freedom below this fail (`MinimumDoFCheck`; tables: count - 1).
    pub safe_dof_threshold: u64,
    /// NK dominance: the top `n` values ...
    pub safe_nk_n: usize,
    /// ... may not reach this share of the cell total.
    pub safe_nk_k: f64,
    /// p-ratio: (total - top1 - top2) / top1 must reach this.
    pub safe_pratio_p: f64,
    /// Flag cells with missing values in the value column for review.
    pub check_missing_values: bool,
    /// Zero counts are disclosive (class disclosure, `PresenceOfZeroCheck`).
    pub zeros_are_disclosive: bool,
    /// Base of the rounding mitigation.
    pub safe_round_base: u32,
}

impl Default for AcroParams {
    fn default() -> Self {
        Self {
            safe_threshold: 10,
            safe_dof_threshold: 10,
            safe_nk_n: 2,
            safe_nk_k: 0.9,
            safe_pratio_p: 0.1,
            check_missing_values: false,
            zeros_are_disclosive: true,
            safe_round_base: 5,
        }
    }
}

/// NDB publication rules (`formats/japan.md` §8.1, 公表物の基準).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NdbParams {
    /// Apply the NDB rules to tables whose spec declares an [`crate::NdbMeasure`].
    pub enabled: bool,
    /// Person/patient counts from 1 to `min_persons - 1` may not be published (0 may).
    pub min_persons: u64,
    /// Drug quantity (oral and external drugs) below this may not be published when the
    /// patient count is unknown (0 may).
    pub min_quantity_oral_external: f64,
    /// Same for injections.
    pub min_quantity_injection: f64,
}

impl Default for NdbParams {
    fn default() -> Self {
        Self {
            enabled: true,
            min_persons: 10,
            min_quantity_oral_external: 1000.0,
            min_quantity_injection: 400.0,
        }
    }
}

/// Everything the checker needs; one per project or per release policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DisclosureConfig {
    pub compat: Compat,
    pub acro: AcroParams,
    pub ndb: NdbParams,
}

impl DisclosureConfig {
    /// ACRO 1.0.2's defaults, reproduced defect for defect (for the reference comparison).
    pub fn acro_compatible() -> Self {
        Self {
            compat: Compat::Acro,
            ..Self::default()
        }
    }

    /// Parses TOML text; `origin` names the file in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        let cfg: Self = toml::from_str(text).map_err(|e| DisclosureError::Config {
            file: origin.to_string(),
            reason: e.to_string().trim_end().replace('\n', " | "),
        })?;
        cfg.validate(origin)?;
        Ok(cfg)
    }

    /// Reads and parses a TOML file.
    pub fn from_toml_file(path: &std::path::Path) -> Result<Self> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| DisclosureError::Config {
            file: origin.clone(),
            reason: format!("cannot read: {e}"),
        })?;
        Self::from_toml_str(&text, &origin)
    }

    /// Renders the configuration as TOML (stored with every release as its provenance).
    pub fn to_toml_string(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| DisclosureError::Output(e.to_string()))
    }

    fn validate(&self, origin: &str) -> Result<()> {
        let bad = |field: &str, reason: &str| DisclosureError::Config {
            file: origin.to_string(),
            reason: format!("field `{field}`: {reason}"),
        };
        let a = &self.acro;
        if a.safe_nk_n == 0 {
            return Err(bad("acro.safe_nk_n", "must be at least 1"));
        }
        if !(a.safe_nk_k > 0.0 && a.safe_nk_k <= 1.0) {
            return Err(bad("acro.safe_nk_k", "must be in (0, 1]"));
        }
        if !(a.safe_pratio_p >= 0.0 && a.safe_pratio_p.is_finite()) {
            return Err(bad("acro.safe_pratio_p", "must be a finite number >= 0"));
        }
        if a.safe_round_base == 0 {
            return Err(bad("acro.safe_round_base", "must be at least 1"));
        }
        let n = &self.ndb;
        if !(n.min_quantity_injection.is_finite() && n.min_quantity_oral_external.is_finite()) {
            return Err(bad("ndb.min_quantity_*", "must be finite"));
        }
        Ok(())
    }
}
