//! Second pass over the coded tables: counting code occurrences, then deciding §8.3 rule 2
//! (rare codes replaced by a dummy) and the trial dataset's rule (codes of frequency < 10
//! removed). Only per-code counts are held in memory.

use std::collections::{BTreeMap, HashMap, HashSet};

use arrow::array::Array;

use crate::decide::{Decisions, share};
use crate::error::ExtractError;
use crate::io::{Cols, TableSource, for_each_batch};
use crate::report::{CodeCount, RareCodeRule, TrialRule};
use crate::rules::{ClaimKind, CodedColumn, TRIAL_MIN_FREQUENCY};

/// Counts of one code: among eligible claims (month and high-cost rules passed) and among
/// sampled claims.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    eligible: u64,
    sampled: u64,
}

type CountKey = (CodedColumn, ClaimKind);

/// The fate and counting kind of row `row` of a coded table, `None` when it has no claim.
pub fn row_link(
    decisions: &Decisions,
    col: CodedColumn,
    c: &Cols<'_>,
    row: usize,
) -> Result<Option<(crate::decide::Fate, ClaimKind)>, ExtractError> {
    if col == CodedColumn::DpcGroup {
        let fate = decisions.stay_fate(c, row)?;
        return Ok(fate.map(|f| (f, ClaimKind::Dpc)));
    }
    let ids = c.utf8("claim_id")?;
    let id = c.str_at(ids, row, "claim_id")?;
    Ok(decisions
        .claims
        .get(id)
        .map(|cf| (cf.fate, col.kind_of_row(cf.kind))))
}

/// Rule 2 on one column and kind: with codes sorted rarest first (ties by code, so the choice
/// is deterministic), replace while the replaced occurrences stay within `share` of all
/// occurrences, and stop at the first code that would pass it ("until the replaced share
/// reaches 0.1 % / 0.01 %", read as never overshooting). Returns how many codes are replaced.
pub fn choose_rare(sorted: &[(String, u64)], share: crate::rules::Ratio) -> usize {
    let total: u64 = sorted.iter().map(|(_, n)| n).sum();
    let mut replaced = 0u64;
    let mut k = 0;
    for (_, n) in sorted {
        if !share.admits(replaced + n, total) {
            break;
        }
        replaced += n;
        k += 1;
    }
    k
}

/// The decisions of rule 2 and the trial rule.
pub struct CodeRules {
    replaced: HashMap<CountKey, HashSet<String>>,
    trial_removed: Option<HashMap<CountKey, HashSet<String>>>,
    pub rare_report: Vec<RareCodeRule>,
    pub trial_report: Option<Vec<TrialRule>>,
}

impl CodeRules {
    /// The released code of `code` and whether it was replaced.
    pub fn released<'a>(
        &self,
        col: CodedColumn,
        kind: ClaimKind,
        code: &'a str,
    ) -> (&'a str, bool) {
        match self.replaced.get(&(col, kind)) {
            Some(set) if set.contains(code) => (col.dummy_code(), true),
            _ => (code, false),
        }
    }

    /// Whether the trial rule removes a row holding `released_code`.
    pub fn trial_removes(&self, col: CodedColumn, kind: ClaimKind, released_code: &str) -> bool {
        self.trial_removed
            .as_ref()
            .and_then(|m| m.get(&(col, kind)))
            .is_some_and(|set| set.contains(released_code))
    }

    /// Counts one trial-removed row in the report.
    pub fn count_trial_row(&mut self, col: CodedColumn, kind: ClaimKind) {
        if let Some(rules) = self.trial_report.as_mut()
            && let Some(r) = rules.iter_mut().find(|r| {
                r.column == col.column() && r.table == col.table().name() && r.claim_kind == kind
            })
        {
            r.rows_removed += 1;
        }
    }
}

/// Reads every coded table once, counts codes, and decides rule 2 (and the trial rule).
pub fn decide_codes(
    source: &dyn TableSource,
    decisions: &Decisions,
    trial: bool,
) -> Result<CodeRules, ExtractError> {
    let mut counts: BTreeMap<CountKey, HashMap<String, Counts>> = BTreeMap::new();
    for col in CodedColumn::ALL {
        let table = col.table();
        for_each_batch(source, table, |batch_no, batch| {
            let c = Cols::new(table, batch_no, batch);
            let codes = c.utf8(col.column())?;
            for row in 0..batch.num_rows() {
                let Some((fate, kind)) = row_link(decisions, col, &c, row)? else {
                    continue;
                };
                if !fate.eligible() {
                    continue;
                }
                if codes.is_null(row) {
                    if col == CodedColumn::DpcGroup {
                        continue; // a stay without a DPC group has nothing to count
                    }
                    return Err(c.bad(row, col.column(), "null in a required field"));
                }
                let per_code = counts.entry((col, kind)).or_default();
                let code = codes.value(row);
                let e = match per_code.get_mut(code) {
                    Some(e) => e,
                    None => per_code.entry(code.to_string()).or_default(),
                };
                e.eligible += 1;
                if fate == crate::decide::Fate::Kept {
                    e.sampled += 1;
                }
            }
            Ok(())
        })?;
    }

    let mut replaced = HashMap::new();
    let mut trial_removed = HashMap::new();
    let mut rare_report = Vec::new();
    let mut trial_report = Vec::new();
    for ((col, kind), per_code) in counts {
        let mut sorted: Vec<(String, u64)> = per_code
            .iter()
            .map(|(code, n)| (code.clone(), n.eligible))
            .collect();
        sorted.sort_unstable_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        let target = kind.rare_share();
        let k = if col.replaced_when_rare() {
            choose_rare(&sorted, target)
        } else {
            0
        };
        let set: HashSet<String> = sorted[..k].iter().map(|(c, _)| c.clone()).collect();
        let occurrences: u64 = sorted.iter().map(|(_, n)| n).sum();
        let replaced_occurrences: u64 = sorted[..k].iter().map(|(_, n)| n).sum();
        let sampled_occurrences: u64 = per_code.values().map(|n| n.sampled).sum();
        let sampled_replaced: u64 = set.iter().map(|c| per_code[c].sampled).sum();
        if col.replaced_when_rare() {
            rare_report.push(RareCodeRule {
                table: col.table().name().to_string(),
                column: col.column().to_string(),
                coded_column: col,
                claim_kind: kind,
                dummy_code: col.dummy_code().to_string(),
                target_share: target,
                occurrences,
                replaced_occurrences,
                replaced_share: share(replaced_occurrences, occurrences),
                next_rarest_occurrences: sorted.get(k).map(|(_, n)| *n),
                codes: sorted[..k]
                    .iter()
                    .map(|(code, n)| CodeCount {
                        code: code.clone(),
                        occurrences: *n,
                    })
                    .collect(),
                sampled_occurrences,
                sampled_replaced,
            });
        }
        if trial {
            // Frequencies in the release: sampled rows, after replacement.
            let mut released: BTreeMap<&str, u64> = BTreeMap::new();
            for (code, n) in &per_code {
                if n.sampled > 0 {
                    let out = if set.contains(code) {
                        col.dummy_code()
                    } else {
                        code
                    };
                    *released.entry(out).or_default() += n.sampled;
                }
            }
            let mut removed: Vec<CodeCount> = released
                .into_iter()
                .filter(|(_, n)| *n < TRIAL_MIN_FREQUENCY)
                .map(|(code, n)| CodeCount {
                    code: code.to_string(),
                    occurrences: n,
                })
                .collect();
            removed.sort_by(|a, b| a.occurrences.cmp(&b.occurrences).then(a.code.cmp(&b.code)));
            trial_removed.insert(
                (col, kind),
                removed
                    .iter()
                    .map(|c| c.code.clone())
                    .collect::<HashSet<_>>(),
            );
            trial_report.push(TrialRule {
                table: col.table().name().to_string(),
                column: col.column().to_string(),
                claim_kind: kind,
                min_frequency: TRIAL_MIN_FREQUENCY,
                codes_removed: removed,
                rows_removed: 0,
            });
        }
        replaced.insert((col, kind), set);
    }
    Ok(CodeRules {
        replaced,
        trial_removed: trial.then_some(trial_removed),
        rare_report,
        trial_report: trial.then_some(trial_report),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Ratio;

    fn codes(ns: &[u64]) -> Vec<(String, u64)> {
        ns.iter()
            .enumerate()
            .map(|(i, n)| (format!("{i:07}"), *n))
            .collect()
    }

    #[test]
    fn replacement_reaches_but_never_passes_the_share() {
        // 10,000 occurrences at 0.1 %: budget 10. 1+2+3 = 6 fits, +5 = 11 would not.
        let mut v = codes(&[1, 2, 3, 5]);
        v.push(("big".into(), 10_000 - 11));
        assert_eq!(choose_rare(&v, Ratio::new(1, 1_000)), 3);
        // Exactly reaching the budget is allowed: 1+2+3+4 = 10.
        let mut v = codes(&[1, 2, 3, 4]);
        v.push(("big".into(), 10_000 - 10));
        assert_eq!(choose_rare(&v, Ratio::new(1, 1_000)), 4);
        // Too few occurrences for even one: nothing replaced.
        assert_eq!(choose_rare(&codes(&[1, 998]), Ratio::new(1, 1_000)), 0);
    }
}
