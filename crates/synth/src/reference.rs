//! The reference tables the generator draws from, embedded in the binary (see
//! `crates/synth/data/SOURCES.md` for where each number comes from).

use std::collections::HashMap;

use medinfra_model::masters::{CodeMaster, MasterKind};
use serde::Deserialize;

use crate::SynthError;

macro_rules! data_file {
    ($name:literal) => {
        ($name, include_bytes!(concat!("../data/", $name)).as_slice())
    };
}

const CENSUS: (&str, &[u8]) = data_file!("census_2020_age_sex.csv");
const PREFECTURES: (&str, &[u8]) = data_file!("prefectures.csv");
const FAMILY: (&str, &[u8]) = data_file!("names_family.csv");
const GIVEN_M: (&str, &[u8]) = data_file!("names_given_male.csv");
const GIVEN_F: (&str, &[u8]) = data_file!("names_given_female.csv");
const ADDRESSES: (&str, &[u8]) = data_file!("addresses.csv");
const CONDITIONS: (&str, &[u8]) = data_file!("conditions.csv");
const DEATHS: (&str, &[u8]) = data_file!("deaths.csv");
const DRUGS: (&str, &[u8]) = data_file!("drugs.csv");
const PROCEDURES: (&str, &[u8]) = data_file!("procedures.csv");
const LABS: (&str, &[u8]) = data_file!("labs.csv");
const PARTICIPATION: (&str, &[u8]) = data_file!("checkup_participation.csv");
/// The sample disease master in the official SSK layout (Shift_JIS).
pub const SAMPLE_DISEASE_MASTER: (&str, &[u8]) = data_file!("sample_b_diseases.csv");
pub const SAMPLE_DRUG_MASTER: (&str, &[u8]) = data_file!("sample_y_drugs.csv");
pub const SAMPLE_PROCEDURE_MASTER: (&str, &[u8]) = data_file!("sample_s_procedures.csv");

fn read_csv<T: for<'de> Deserialize<'de>>(file: (&str, &[u8])) -> Result<Vec<T>, SynthError> {
    let (name, bytes) = file;
    let mut rdr = csv::Reader::from_reader(bytes);
    let mut out = Vec::new();
    for (i, rec) in rdr.deserialize().enumerate() {
        out.push(rec.map_err(|e| SynthError::Reference {
            file: name.to_string(),
            line: i + 2,
            reason: e.to_string(),
        })?);
    }
    Ok(out)
}

#[derive(Debug, Clone, Deserialize)]
pub struct CensusBand {
    pub age_band: String,
    pub male: u64,
    pub female: u64,
}

impl CensusBand {
    /// (lowest, highest) age of the band; "100+" is taken as 100–104.
    pub fn range(&self) -> (u32, u32) {
        let s = self.age_band.trim_end_matches('+');
        let mut it = s.split('-');
        let lo = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        let hi = it.next().and_then(|x| x.parse().ok()).unwrap_or(lo + 4);
        (lo, hi)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Prefecture {
    pub code: String,
    pub name_kanji: String,
    pub name_kana: String,
    pub name_en: String,
    pub population_2020: u64,
    pub region: String,
    pub postcode_prefixes: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NameEntry {
    pub kanji: String,
    pub hiragana: String,
    pub katakana: String,
    pub weight: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Address {
    pub prefecture: String,
    pub city: String,
    pub town: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Condition {
    pub condition_id: String,
    pub name_ja: String,
    pub icd10: String,
    pub chronic: u8,
    pub prevalence_male_40_64: f64,
    pub prevalence_male_65_74: f64,
    pub prevalence_male_75plus: f64,
    pub prevalence_female_40_64: f64,
    pub prevalence_female_65_74: f64,
    pub prevalence_female_75plus: f64,
    pub prevalence_under40: f64,
    pub annual_incidence: f64,
}

impl Condition {
    /// Share of persons of this sex (1 male, 2 female) and age with the diagnosis recorded.
    pub fn prevalence(&self, sex: u8, age: u32) -> f64 {
        let male = sex == 1;
        match age {
            0..=39 => self.prevalence_under40,
            40..=64 if male => self.prevalence_male_40_64,
            40..=64 => self.prevalence_female_40_64,
            65..=74 if male => self.prevalence_male_65_74,
            65..=74 => self.prevalence_female_65_74,
            _ if male => self.prevalence_male_75plus,
            _ => self.prevalence_female_75plus,
        }
    }

    pub fn is_chronic(&self) -> bool {
        self.chronic == 1
    }
}

#[derive(Debug, Clone, Deserialize)]
struct DeathRow {
    sex: String,
    age_band: String,
    deaths_per_1000: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Drug {
    pub drug_code: String,
    pub condition_id: String,
    pub name_en: String,
    pub route: String,
    pub daily_units: f64,
    pub unit: String,
    pub points_per_unit: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Procedure {
    pub procedure_code: String,
    pub name_en: String,
    pub points: i64,
    pub setting: String,
    pub trigger: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Lab {
    pub analyte: String,
    pub jlac10: String,
    pub unit: String,
    pub mean_healthy: f64,
    pub sd_healthy: f64,
    pub mean_condition: Option<f64>,
    pub sd_condition: Option<f64>,
    pub condition_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct ParticipationRow {
    insurer_type: String,
    participation_rate: f64,
}

/// A disease as it appears on claims: the sample master's 7-digit code, name and ICD-10.
#[derive(Debug, Clone)]
pub struct DiseaseCode {
    pub code: String,
    pub name: String,
    pub icd10: String,
}

/// Everything the generator draws from.
#[derive(Debug, Clone)]
pub struct Reference {
    pub census: Vec<CensusBand>,
    pub prefectures: Vec<Prefecture>,
    pub family: Vec<NameEntry>,
    pub given_male: Vec<NameEntry>,
    pub given_female: Vec<NameEntry>,
    pub addresses_by_prefecture: HashMap<String, Vec<Address>>,
    pub conditions: Vec<Condition>,
    /// Disease code per condition (same index as `conditions`).
    pub disease_codes: Vec<DiseaseCode>,
    /// Annual deaths per person by (sex 1/2, 5-year band index, 20 = 100+).
    mortality: HashMap<(u8, u32), f64>,
    pub drugs: Vec<Drug>,
    pub procedures: Vec<Procedure>,
    pub labs: Vec<Lab>,
    participation: HashMap<String, f64>,
}

impl Reference {
    /// Parse the embedded tables.
    pub fn load() -> Result<Self, SynthError> {
        let census = read_csv::<CensusBand>(CENSUS)?;
        let prefectures = read_csv::<Prefecture>(PREFECTURES)?;
        let mut addresses_by_prefecture: HashMap<String, Vec<Address>> = HashMap::new();
        for a in read_csv::<Address>(ADDRESSES)? {
            addresses_by_prefecture
                .entry(a.prefecture.clone())
                .or_default()
                .push(a);
        }
        let conditions = read_csv::<Condition>(CONDITIONS)?;
        let mut master = CodeMaster::default();
        master
            .load_bytes(SAMPLE_DISEASE_MASTER.0, SAMPLE_DISEASE_MASTER.1)
            .map_err(|e| SynthError::Reference {
                file: SAMPLE_DISEASE_MASTER.0.into(),
                line: 0,
                reason: e.to_string(),
            })?;
        let mut by_icd: HashMap<String, (String, String)> = HashMap::new();
        for e in master.iter().filter(|e| e.kind == MasterKind::Disease) {
            if let Some(icd) = &e.icd10 {
                // Keep the lowest code per ICD-10 so the choice does not depend on hash order.
                let entry = by_icd
                    .entry(icd.clone())
                    .or_insert((e.code.clone(), e.name.clone()));
                if e.code < entry.0 {
                    *entry = (e.code.clone(), e.name.clone());
                }
            }
        }
        let mut disease_codes = Vec::with_capacity(conditions.len());
        for c in &conditions {
            let icd = c.icd10.replace('.', "");
            let (code, name) = by_icd
                .get(&icd)
                .cloned()
                .ok_or_else(|| SynthError::Reference {
                    file: SAMPLE_DISEASE_MASTER.0.into(),
                    line: 0,
                    reason: format!(
                        "no sample disease code for ICD-10 {icd} (condition {})",
                        c.condition_id
                    ),
                })?;
            disease_codes.push(DiseaseCode {
                code,
                name,
                icd10: icd,
            });
        }
        let mut mortality = HashMap::new();
        for d in read_csv::<DeathRow>(DEATHS)? {
            let sex = if d.sex == "M" { 1 } else { 2 };
            let lo: u32 = d
                .age_band
                .trim_end_matches('+')
                .split('-')
                .next()
                .and_then(|x| x.parse().ok())
                .unwrap_or(0);
            mortality.insert((sex, (lo / 5).min(20)), d.deaths_per_1000 / 1000.0);
        }
        let participation = read_csv::<ParticipationRow>(PARTICIPATION)?
            .into_iter()
            .map(|r| (r.insurer_type, r.participation_rate))
            .collect();
        let reference = Reference {
            census,
            prefectures,
            family: read_csv(FAMILY)?,
            given_male: read_csv(GIVEN_M)?,
            given_female: read_csv(GIVEN_F)?,
            addresses_by_prefecture,
            conditions,
            disease_codes,
            mortality,
            drugs: read_csv(DRUGS)?,
            procedures: read_csv(PROCEDURES)?,
            labs: read_csv(LABS)?,
            participation,
        };
        reference.check()?;
        Ok(reference)
    }

    fn check(&self) -> Result<(), SynthError> {
        let fail = |file: &str, reason: &str| {
            Err(SynthError::Reference {
                file: file.into(),
                line: 0,
                reason: reason.into(),
            })
        };
        if self.census.is_empty() || self.prefectures.len() != 47 {
            return fail(PREFECTURES.0, "expected 47 prefectures and a census table");
        }
        if self.family.is_empty() || self.given_male.is_empty() || self.given_female.is_empty() {
            return fail(FAMILY.0, "name lists are empty");
        }
        for t in ["visit_initial", "visit_re", "prescription", "inpatient_day"] {
            if self.procedure(t).is_none() {
                return fail(PROCEDURES.0, &format!("no procedure for trigger {t}"));
            }
        }
        Ok(())
    }

    /// Annual probability of death.
    pub fn mortality(&self, sex: u8, age: u32) -> f64 {
        self.mortality
            .get(&(sex, (age / 5).min(20)))
            .copied()
            .unwrap_or(0.0)
    }

    /// Specific health checkup participation by insurer type (latest fiscal year listed).
    pub fn participation(&self, insurer_type: &str) -> f64 {
        self.participation
            .get(insurer_type)
            .or_else(|| self.participation.get("all"))
            .copied()
            .unwrap_or(0.5)
    }

    pub fn procedure(&self, trigger: &str) -> Option<&Procedure> {
        self.procedures.iter().find(|p| p.trigger == trigger)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_tables_load() {
        let r = Reference::load().unwrap();
        assert_eq!(r.prefectures.len(), 47);
        assert_eq!(r.disease_codes.len(), r.conditions.len());
        let total: u64 = r.census.iter().map(|b| b.male + b.female).sum();
        assert!((120_000_000..130_000_000).contains(&total), "{total}");
        assert!(r.mortality(1, 85) > r.mortality(1, 40));
        assert!(r.participation("kumiai") > r.participation("kokuho"));
    }
}
