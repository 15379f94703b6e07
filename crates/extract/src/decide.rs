//! First pass over `claims`: the month rule, rule 1 (high cost) and rule 3 (stratified sample)
//! decide the fate of every claim. What is kept in memory is one small entry per claim
//! (`claim_id` → kind and fate) and per patient and stay; the claims themselves are not.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use arrow::array::Array;
use medinfra_model::CanonicalTable;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::dates::{age_at_end_of_month, parse_service_month};
use crate::error::ExtractError;
use crate::io::{Cols, TableSource, for_each_batch};
use crate::report::{HighCostRule, MonthRule, SamplingRule, Stratum};
use crate::rules::{ClaimKind, age_band, age_band_label};
use crate::sampling::{apportion, draw};

/// How far a claim (or a patient, or a stay, through its claims) got through the rules;
/// ordered so that the best of several claims is their maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fate {
    OutsideMonths,
    HighCost,
    NotSampled,
    Kept,
}

impl Fate {
    /// Passed the month and high-cost rules (the population of rule 2).
    pub fn eligible(self) -> bool {
        self >= Fate::NotSampled
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ClaimFate {
    pub kind: ClaimKind,
    pub fate: Fate,
}

/// A patient at a provider: `(provider_id, patient_id)`.
pub type PersonKey = (String, String);
/// A stay: patient plus admission date.
pub type StayKey = (String, String, i32);

/// A claim that passed the month and high-cost rules, waiting for the sample.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    claim_id: String,
    person: PersonKey,
    admission: Option<i32>,
}

type StratumKey = (ClaimKind, i32, u32);

/// The fate of every claim, patient and stay, and the report of the rules that decided them.
pub struct Decisions {
    pub claims: HashMap<String, ClaimFate>,
    pub persons: HashMap<PersonKey, Fate>,
    pub stays: HashMap<StayKey, Fate>,
    pub months: MonthRule,
    pub high_cost: Vec<HighCostRule>,
    pub sampling: Vec<SamplingRule>,
    pub strata: Vec<Stratum>,
}

fn raise<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Fate>, key: K, fate: Fate) {
    let e = map.entry(key).or_insert(fate);
    *e = (*e).max(fate);
}

/// Reads `claims` once and decides every claim's fate.
pub fn decide(
    source: &dyn TableSource,
    months: [u32; 4],
    seed: u64,
) -> Result<Decisions, ExtractError> {
    let table = CanonicalTable::Claims;
    let mut claims: HashMap<String, ClaimFate> = HashMap::new();
    let mut persons: HashMap<PersonKey, Fate> = HashMap::new();
    let mut stays: HashMap<StayKey, Fate> = HashMap::new();
    let mut strata: BTreeMap<StratumKey, Vec<Candidate>> = BTreeMap::new();
    let mut selected_months = BTreeSet::new();
    let mut months_dropped = 0u64;
    let mut examined: BTreeMap<ClaimKind, (u64, u64, Option<i64>)> = BTreeMap::new();

    let present = for_each_batch(source, table, |batch_no, batch| {
        let c = Cols::new(table, batch_no, batch);
        let ids = c.utf8("claim_id")?;
        let providers = c.utf8("provider_id")?;
        let patients = c.utf8("patient_id")?;
        let service_months = c.utf8("service_month")?;
        let kinds = c.utf8("claim_kind")?;
        let sexes = c.int32("sex")?;
        let births = c.date32("birth_date")?;
        let admissions = c.date32("admission_date")?;
        let points = c.int64("total_points")?;
        for row in 0..batch.num_rows() {
            let id = c.str_at(ids, row, "claim_id")?;
            let kind = ClaimKind::parse(c.str_at(kinds, row, "claim_kind")?)
                .ok_or_else(|| c.bad(row, "claim_kind", "not inpatient/outpatient/dpc/pharmacy"))?;
            let ym_text = c.str_at(service_months, row, "service_month")?;
            let (y, m) = parse_service_month(ym_text)
                .ok_or_else(|| c.bad(row, "service_month", "not a YYYYMM month"))?;
            let person = (
                c.str_at(providers, row, "provider_id")?.to_string(),
                c.str_at(patients, row, "patient_id")?.to_string(),
            );
            let admission = (matches!(kind, ClaimKind::Inpatient | ClaimKind::Dpc)
                && admissions.is_valid(row))
            .then(|| admissions.value(row));

            let fate = if !months.contains(&m) {
                months_dropped += 1;
                Fate::OutsideMonths
            } else {
                selected_months.insert(ym_text.to_string());
                if points.is_null(row) {
                    return Err(c.bad(row, "total_points", "null in a required field"));
                }
                let total = points.value(row);
                let e = examined.entry(kind).or_default();
                e.0 += 1;
                if total >= kind.high_cost_threshold() {
                    e.1 += 1;
                    Fate::HighCost
                } else {
                    e.2 = Some(e.2.map_or(total, |m: i64| m.max(total)));
                    if sexes.is_null(row) {
                        return Err(c.bad(row, "sex", "null in a required field"));
                    }
                    if births.is_null(row) {
                        return Err(c.bad(row, "birth_date", "null in a required field"));
                    }
                    let age = age_at_end_of_month(births.value(row), y, m)
                        .ok_or_else(|| c.bad(row, "birth_date", "after the service month"))?;
                    strata
                        .entry((kind, sexes.value(row), age_band(age)))
                        .or_default()
                        .push(Candidate {
                            claim_id: id.to_string(),
                            person: person.clone(),
                            admission,
                        });
                    Fate::NotSampled
                }
            };
            if claims
                .insert(id.to_string(), ClaimFate { kind, fate })
                .is_some()
            {
                return Err(c.bad(row, "claim_id", "the same claim_id occurs twice"));
            }
            if let Some(adm) = admission {
                raise(&mut stays, (person.0.clone(), person.1.clone(), adm), fate);
            }
            raise(&mut persons, person, fate);
        }
        Ok(())
    })?;
    if !present {
        return Err(ExtractError::MissingTable {
            table: table.name(),
        });
    }

    // Rule 3: draw the sample, kind by kind.
    let mut sampling = Vec::new();
    let mut strata_report = Vec::new();
    for (k_index, kind) in ClaimKind::ALL.into_iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(k_index as u64);
        let keys: Vec<StratumKey> = strata.keys().filter(|k| k.0 == kind).copied().collect();
        let sizes: Vec<u64> = keys.iter().map(|k| strata[k].len() as u64).collect();
        let fraction = kind.sample_fraction();
        let quotas = apportion(&sizes, fraction, &mut rng);
        let (mut eligible, mut sampled) = (0u64, 0u64);
        for (key, quota) in keys.iter().zip(quotas) {
            let Some(cands) = strata.get_mut(key) else {
                continue;
            };
            let chosen = draw(cands, quota as usize, &mut rng);
            for &i in &chosen {
                let cand = &cands[i];
                if let Some(cf) = claims.get_mut(&cand.claim_id) {
                    cf.fate = Fate::Kept;
                }
                raise(&mut persons, cand.person.clone(), Fate::Kept);
                if let Some(adm) = cand.admission {
                    let stay = (cand.person.0.clone(), cand.person.1.clone(), adm);
                    raise(&mut stays, stay, Fate::Kept);
                }
            }
            let n = cands.len() as u64;
            eligible += n;
            sampled += chosen.len() as u64;
            strata_report.push(Stratum {
                claim_kind: kind,
                sex: key.1,
                age_band: age_band_label(key.2),
                eligible: n,
                sampled: chosen.len() as u64,
                fraction: share(chosen.len() as u64, n),
            });
            // The candidates of a drawn stratum are no longer needed.
            cands.clear();
            cands.shrink_to_fit();
        }
        sampling.push(SamplingRule {
            claim_kind: kind,
            target_fraction: fraction,
            eligible,
            sampled,
            fraction: share(sampled, eligible),
        });
    }

    let high_cost = ClaimKind::ALL
        .into_iter()
        .map(|kind| {
            let (n, dropped, max) = examined.get(&kind).copied().unwrap_or_default();
            HighCostRule {
                claim_kind: kind,
                threshold_points: kind.high_cost_threshold(),
                claims_examined: n,
                claims_dropped: dropped,
                max_points_kept: max,
            }
        })
        .collect();

    Ok(Decisions {
        claims,
        persons,
        stays,
        months: MonthRule {
            months,
            selected_service_months: selected_months.into_iter().collect(),
            claims_dropped: months_dropped,
        },
        high_cost,
        sampling,
        strata: strata_report,
    })
}

impl Decisions {
    /// The best fate among the claims of the stay on row `row` of `admissions`.
    pub fn stay_fate(&self, c: &Cols<'_>, row: usize) -> Result<Option<Fate>, ExtractError> {
        let (provider, patient) = person_at(c, row)?;
        let dates = c.date32("admission_date")?;
        if dates.is_null(row) {
            return Err(c.bad(row, "admission_date", "null in a required field"));
        }
        let key = (provider.to_string(), patient.to_string(), dates.value(row));
        Ok(self.stays.get(&key).copied())
    }

    /// The best fate among the claims of the patient on row `row` of `persons`.
    pub fn person_fate(&self, c: &Cols<'_>, row: usize) -> Result<Option<Fate>, ExtractError> {
        let (provider, patient) = person_at(c, row)?;
        let key = (provider.to_string(), patient.to_string());
        Ok(self.persons.get(&key).copied())
    }
}

fn person_at<'a>(c: &Cols<'a>, row: usize) -> Result<(&'a str, &'a str), ExtractError> {
    let provider = c.str_at(c.utf8("provider_id")?, row, "provider_id")?;
    let patient = c.str_at(c.utf8("patient_id")?, row, "patient_id")?;
    Ok((provider, patient))
}

/// `part / whole`, 0 for an empty whole (reports only).
pub fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
