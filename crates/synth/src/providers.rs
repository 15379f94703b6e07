//! The synthetic providers: clinics, DPC hospitals and pharmacies in every prefecture, in
//! numbers proportional to the population. Facility codes use the 9xxxxxx range that
//! `formats/japan.md` §10 reserves for synthetic files.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::reference::Reference;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    Clinic,
    Hospital,
    Pharmacy,
}

/// How a provider writes patients' names on claims (the main cause of ID2 splits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameStyle {
    /// 山田　太郎 (kanji, full-width space) — the spec's form.
    KanjiSpaced,
    /// 山田太郎
    KanjiJoined,
    /// ヤマダ　タロウ
    KatakanaFull,
    /// ﾔﾏﾀﾞ ﾀﾛｳ
    KatakanaHalf,
}

impl NameStyle {
    pub const ALL: [NameStyle; 4] = [
        NameStyle::KanjiSpaced,
        NameStyle::KanjiJoined,
        NameStyle::KatakanaFull,
        NameStyle::KatakanaHalf,
    ];
}

#[derive(Debug, Clone)]
pub struct Provider {
    /// 10 characters: prefecture (2) + 点数表 (1: 1 医科, 4 調剤) + facility code (7).
    pub id: String,
    pub kind: ProviderKind,
    pub name_style: NameStyle,
    /// Writes card symbols/numbers with full-width digits.
    pub fullwidth_card_digits: bool,
    /// Writes birth dates in the Japanese era form (GYYMMDD) on receipts, as older systems do
    /// (one of the reasons claims and checkups disagree, `formats/japan.md` §1.2).
    pub era_birth_dates: bool,
    /// Writes kanji in their traditional/variant forms (髙, 﨑, 邊, 齋, ...) where registered so.
    pub old_kanji_forms: bool,
    /// Dispenses in house instead of issuing prescriptions to a pharmacy.
    pub in_house_dispensing: bool,
    /// Chart-number permutation: chart = (a × person + b) mod CHART_PRIME.
    chart_a: u64,
    chart_b: u64,
}

/// A 10-digit prime: chart numbers are a bijection of person indexes modulo it, so they are
/// unique per provider but unrelated between providers.
const CHART_PRIME: u64 = 9_999_999_967;

impl Provider {
    pub fn chart_number(&self, person: u64) -> String {
        let v = ((self.chart_a as u128 * person as u128 + self.chart_b as u128)
            % CHART_PRIME as u128) as u64;
        format!("{v:010}")
    }
}

/// Providers grouped by prefecture.
#[derive(Debug, Clone)]
pub struct Providers {
    pub all: Vec<Provider>,
    pub clinics: Vec<Vec<usize>>,
    pub hospitals: Vec<Vec<usize>>,
    pub pharmacies: Vec<Vec<usize>>,
}

impl Providers {
    pub fn build(reference: &Reference, persons: u64, seed: u64) -> Providers {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5052_4f56_4944_4552);
        let total_pop: u64 = reference
            .prefectures
            .iter()
            .map(|p| p.population_2020)
            .sum();
        let n_pref = reference.prefectures.len();
        let mut out = Providers {
            all: Vec::new(),
            clinics: vec![Vec::new(); n_pref],
            hospitals: vec![Vec::new(); n_pref],
            pharmacies: vec![Vec::new(); n_pref],
        };
        let mut serial = 0u32;
        for (pi, pref) in reference.prefectures.iter().enumerate() {
            let share = pref.population_2020 as f64 / total_pop as f64;
            let people = share * persons as f64;
            let counts = [
                (
                    ProviderKind::Clinic,
                    (people / 800.0).round().max(1.0) as usize,
                ),
                (
                    ProviderKind::Hospital,
                    (people / 8_000.0).round().max(1.0) as usize,
                ),
                (
                    ProviderKind::Pharmacy,
                    (people / 1_500.0).round().max(1.0) as usize,
                ),
            ];
            for (kind, n) in counts {
                for _ in 0..n {
                    serial += 1;
                    let table = if kind == ProviderKind::Pharmacy { 4 } else { 1 };
                    let facility = 9_000_000 + serial % 1_000_000;
                    let style_roll: f64 = rng.random();
                    let name_style = if style_roll < 0.55 {
                        NameStyle::KanjiSpaced
                    } else if style_roll < 0.75 {
                        NameStyle::KanjiJoined
                    } else if style_roll < 0.9 {
                        NameStyle::KatakanaFull
                    } else {
                        NameStyle::KatakanaHalf
                    };
                    let idx = out.all.len();
                    out.all.push(Provider {
                        id: format!("{}{table}{facility:07}", pref.code),
                        kind,
                        name_style,
                        fullwidth_card_digits: rng.random_bool(0.6),
                        era_birth_dates: rng.random_bool(0.1),
                        old_kanji_forms: rng.random_bool(0.15),
                        in_house_dispensing: kind != ProviderKind::Pharmacy
                            && rng.random_bool(0.25),
                        chart_a: rng.random_range(1..CHART_PRIME),
                        chart_b: rng.random_range(0..CHART_PRIME),
                    });
                    match kind {
                        ProviderKind::Clinic => out.clinics[pi].push(idx),
                        ProviderKind::Hospital => out.hospitals[pi].push(idx),
                        ProviderKind::Pharmacy => out.pharmacies[pi].push(idx),
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_and_chart_numbers_are_unique() {
        let r = Reference::load().unwrap();
        let p = Providers::build(&r, 100_000, 1);
        let ids: HashSet<_> = p.all.iter().map(|x| x.id.clone()).collect();
        assert_eq!(ids.len(), p.all.len());
        assert!(p.clinics.iter().all(|c| !c.is_empty()));
        let charts: HashSet<_> = (0..10_000).map(|i| p.all[0].chart_number(i)).collect();
        assert_eq!(charts.len(), 10_000);
        // Different providers give different chart numbers to the same person.
        assert_ne!(p.all[0].chart_number(5), p.all[1].chart_number(5));
    }
}
