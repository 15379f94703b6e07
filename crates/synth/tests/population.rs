//! The generated population behaves as the shipped tables say: age structure, prevalence,
//! lab values by disease state, identity-noise rates, and determinism.

use std::collections::HashMap;
use std::sync::Mutex;

use arrow::array::{
    Array, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, StringArray,
};
use arrow::record_batch::RecordBatch;
use medinfra_model::CanonicalTable;
use medinfra_synth::{
    NoiseRates, PartSink, SynthConfig, TableSink, generate, is_valid_insurer_number,
};

#[derive(Default)]
struct MemorySink {
    tables: Mutex<HashMap<(CanonicalTable, usize), Vec<RecordBatch>>>,
}

struct MemoryPart {
    table: CanonicalTable,
    part: usize,
    batches: Vec<RecordBatch>,
}

impl PartSink for MemoryPart {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), String> {
        self.batches.push(batch.clone());
        Ok(())
    }
}

impl TableSink for MemorySink {
    type Part = MemoryPart;
    fn open(&self, table: CanonicalTable, part: usize) -> Result<MemoryPart, String> {
        Ok(MemoryPart {
            table,
            part,
            batches: vec![],
        })
    }
    fn close(&self, _: CanonicalTable, part: MemoryPart) -> Result<(), String> {
        self.tables
            .lock()
            .unwrap()
            .insert((part.table, part.part), part.batches);
        Ok(())
    }
}

impl MemorySink {
    /// All batches of a table, in part order.
    fn table(&self, t: CanonicalTable) -> Vec<RecordBatch> {
        let tables = self.tables.lock().unwrap();
        let mut keys: Vec<_> = tables.keys().filter(|(tt, _)| *tt == t).copied().collect();
        keys.sort();
        keys.iter().flat_map(|k| tables[k].clone()).collect()
    }
}

/// Census share of each 5-year band (both sexes), from the shipped table.
fn census_shares() -> Vec<f64> {
    let text = include_str!("../data/census_2020_age_sex.csv");
    let rows: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            f[1].parse::<f64>().unwrap() + f[2].parse::<f64>().unwrap()
        })
        .collect();
    let total: f64 = rows.iter().sum();
    rows.iter().map(|r| r / total).collect()
}

fn run(config: &SynthConfig) -> MemorySink {
    let sink = MemorySink::default();
    generate(config, &sink, &|_| {}).unwrap();
    sink
}

fn col<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> &'a T {
    b.column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref::<T>()
        .unwrap()
}

fn config(persons: u64, years: u32, seed: u64) -> SynthConfig {
    SynthConfig {
        persons,
        years,
        seed,
        ..SynthConfig::default()
    }
}

#[test]
fn same_seed_same_rows_other_seed_other_rows() {
    let a = run(&config(3_000, 1, 7));
    let b = run(&config(3_000, 1, 7));
    let c = run(&config(3_000, 1, 8));
    for t in CanonicalTable::ALL {
        assert_eq!(a.table(t), b.table(t), "{}", t.name());
    }
    assert_ne!(
        a.table(CanonicalTable::Claims),
        c.table(CanonicalTable::Claims)
    );
}

#[test]
fn population_matches_census_prevalence_and_lab_tables() {
    let sink = run(&config(20_000, 2, 11));
    let pop = sink.table(CanonicalTable::Population);
    let (mut n, mut old, mut male, mut htn_old, mut htn_young, mut n_young) =
        (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let start = 18262; // 2020-01-01
    for b in &pop {
        let sex = col::<Int32Array>(b, "sex");
        let birth = col::<Date32Array>(b, "birth_date");
        let conds = col::<StringArray>(b, "conditions_at_start");
        for i in 0..b.num_rows() {
            n += 1.0;
            let age = (start - birth.value(i)) as f64 / 365.25;
            if sex.value(i) == 1 {
                male += 1.0;
            }
            let htn = conds.value(i).split(' ').any(|c| c == "hypertension");
            if age >= 65.0 {
                old += 1.0;
                htn_old += htn as u8 as f64;
            } else if age < 40.0 {
                n_young += 1.0;
                htn_young += htn as u8 as f64;
            }
        }
    }
    assert_eq!(n, 20_000.0);
    // Every 5-year band within 1 percentage point of the census share.
    let census = census_shares();
    let mut bands = vec![0.0f64; census.len()];
    for b in &pop {
        let birth = col::<Date32Array>(b, "birth_date");
        for i in 0..b.num_rows() {
            let age = ((start - birth.value(i)) as f64 / 365.25) as usize;
            bands[(age / 5).min(census.len() - 1)] += 1.0;
        }
    }
    for (i, (got, want)) in bands.iter().zip(&census).enumerate() {
        assert!(
            (got / n - want).abs() < 0.01,
            "band {i}: {} vs census {want}",
            got / n
        );
    }
    // 2020 census: 28.6 % aged 65+, 48.6 % male.
    assert!((old / n - 0.286).abs() < 0.02, "65+ share {}", old / n);
    assert!((male / n - 0.486).abs() < 0.015, "male share {}", male / n);
    // Hypertension: ~50 % at 65+ in conditions.csv, ~1 % under 40.
    assert!(
        htn_old / old > 0.40 && htn_old / old < 0.60,
        "{}",
        htn_old / old
    );
    assert!(htn_young / n_young < 0.03, "{}", htn_young / n_young);

    // HbA1c higher in persons treated for diabetes (checkup med_glucose flag).
    let (mut dm, mut ndm) = ((0.0, 0.0), (0.0, 0.0));
    for b in sink.table(CanonicalTable::Checkups) {
        let h = col::<Float64Array>(&b, "hba1c");
        let flag = col::<BooleanArray>(&b, "med_glucose");
        for i in 0..b.num_rows() {
            if h.is_null(i) {
                continue;
            }
            let acc = if flag.value(i) { &mut dm } else { &mut ndm };
            acc.0 += h.value(i);
            acc.1 += 1.0;
        }
    }
    assert!(dm.1 > 50.0 && ndm.1 > 500.0, "{dm:?} {ndm:?}");
    assert!(
        dm.0 / dm.1 > ndm.0 / ndm.1 + 1.0,
        "HbA1c diabetic {} vs {}",
        dm.0 / dm.1,
        ndm.0 / ndm.1
    );

    // Every insurer number on claims carries a valid check digit.
    for b in sink.table(CanonicalTable::Claims) {
        let ins = col::<StringArray>(&b, "insurer_number");
        for i in 0..b.num_rows() {
            assert!(is_valid_insurer_number(ins.value(i)), "row {i}");
        }
    }
}

#[test]
fn identity_noise_rates_follow_the_configuration() {
    let noise = NoiseRates {
        twins: 0.02,
        same_name_birthday: 0.01,
        ..NoiseRates::default()
    };
    let persons = 20_000u64;
    let sink = run(&SynthConfig {
        persons,
        years: 2,
        seed: 5,
        noise,
        ..SynthConfig::default()
    });
    let (mut twins, mut same, mut surname, mut cards) = (0.0, 0.0, 0.0, 0.0);
    let mut birth: HashMap<i64, i32> = HashMap::new();
    let mut twin_pairs = vec![];
    for b in sink.table(CanonicalTable::Population) {
        let t = col::<Int64Array>(&b, "twin_of");
        let s = col::<Int64Array>(&b, "same_name_as");
        let sc = col::<Int32Array>(&b, "surname_changes");
        let cc = col::<Int32Array>(&b, "card_changes");
        let id = col::<Int64Array>(&b, "person_id");
        let bd = col::<Date32Array>(&b, "birth_date");
        for i in 0..b.num_rows() {
            birth.insert(id.value(i), bd.value(i));
            twins += t.is_valid(i) as u8 as f64;
            same += s.is_valid(i) as u8 as f64;
            surname += sc.value(i) as f64;
            cards += cc.value(i) as f64;
            if t.is_valid(i) {
                twin_pairs.push((id.value(i), t.value(i)));
            }
        }
    }
    let n = persons as f64;
    assert!((twins / n - 0.02).abs() < 0.006, "twins {}", twins / n);
    // Same-name pairs are drawn only where no twin was drawn.
    assert!((same / n - 0.0098).abs() < 0.004, "same name {}", same / n);
    for (a, b) in twin_pairs {
        assert_eq!(birth[&a], birth[&b], "twins share a birth date");
    }
    // ID1-breaking card changes: job changes, retirement, moves, turning 75, marriage.
    // formats/japan.md §1.2: about 11 % of patients change an ID within a year.
    let per_year = cards / n / 2.0;
    assert!(
        (0.03..0.15).contains(&per_year),
        "card changes per person-year {per_year}"
    );
    assert!(surname > 0.0);
}
