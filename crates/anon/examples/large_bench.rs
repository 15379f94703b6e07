//! 10-million-row synthetic benchmark: person-level quasi-identifiers (sex, age, prefecture,
//! admission month, insurance kind, ward type, main diagnosis category), k = 5, 5 %
//! suppression, Loss. Run: `cargo run --release --example large_bench [ROWS]`.
//! Prints generation time, search time, nodes evaluated and peak RSS (VmHWM).

use std::time::Instant;

use medinfra_anon::{
    AnonymizationConfig, Column, Hierarchy, Metric, PrivacyModel, Table, anonymize,
};

/// splitmix64: a tiny deterministic generator, enough for synthetic skewed draws.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Skewed draw in 0..n (minimum of two uniforms: low codes are common).
    fn skewed(&mut self, n: u64) -> u32 {
        (self.next() % n).min(self.next() % n) as u32
    }
}

fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let t0 = Instant::now();
    let months: Vec<String> = (2023..=2024)
        .flat_map(|y| (1..=12).map(move |m| format!("{y}-{m:02}")))
        .collect();
    let icd = [
        "E11", "I10", "J18", "K35", "C34", "C16", "I63", "I21", "N18", "S72", "J44", "F32", "M17",
        "K80", "O80", "A09", "G30", "I50", "C18", "E78",
    ];
    let dicts: Vec<Vec<String>> = vec![
        vec!["1".into(), "2".into()],
        (0..=104).map(|a: u32| a.to_string()).collect(),
        (1..=47).map(|p: u32| format!("{p:02}")).collect(),
        months.clone(),
        [
            "national",
            "employee",
            "mutual",
            "seamen",
            "late-elderly",
            "public",
        ]
        .map(String::from)
        .to_vec(),
        ["general", "psychiatric", "long-term", "icu"]
            .map(String::from)
            .to_vec(),
        icd.map(String::from).to_vec(),
    ];
    let names = [
        "sex",
        "age",
        "prefecture",
        "admission_month",
        "insurance",
        "ward",
        "diagnosis",
    ];
    let mut rng = Rng(42);
    let columns = dicts
        .iter()
        .map(|d| {
            let codes = (0..rows).map(|_| rng.skewed(d.len() as u64)).collect();
            Column::from_dictionary(d.clone(), codes)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let table = Table::from_encoded_columns(
        names.iter().map(|s| s.to_string()).collect(),
        columns,
        "synthetic",
    )?;
    let month_rows: Vec<Vec<String>> = months
        .iter()
        .map(|m| {
            let q = (m[5..7].parse::<u32>().unwrap_or(1) - 1) / 3 + 1;
            vec![
                m.clone(),
                format!("{}-Q{q}", &m[..4]),
                m[..4].to_string(),
                "*".into(),
            ]
        })
        .collect();
    let qis = vec![
        (
            "sex".to_string(),
            Hierarchy::from_rows(
                &[vec!["1".into(), "*".into()], vec!["2".into(), "*".into()]],
                "sex",
            )?,
        ),
        (
            "age".to_string(),
            Hierarchy::intervals(0, 104, &[5, 10, 20])?,
        ),
        ("prefecture".to_string(), Hierarchy::prefectures()?),
        (
            "admission_month".to_string(),
            Hierarchy::from_rows(&month_rows, "months")?,
        ),
        (
            "insurance".to_string(),
            Hierarchy::ordered(&dicts[4], &[2])?,
        ),
        ("ward".to_string(), Hierarchy::ordered(&dicts[5], &[2])?),
        ("diagnosis".to_string(), Hierarchy::icd10(&icd)?),
    ];
    println!(
        "generated {rows} rows in {:.1} s; {} rayon threads",
        t0.elapsed().as_secs_f64(),
        rayon::current_num_threads()
    );
    let config = AnonymizationConfig {
        qis,
        sensitive: None,
        models: vec![PrivacyModel::KAnonymity { k: 5 }],
        suppression_limit: 0.05,
        metric: Metric::loss(),
        risk_threshold: 0.2,
    };
    let o = anonymize(&table, &config)?;
    let r = &o.report;
    let levels: Vec<String> = r
        .attributes
        .iter()
        .map(|a| format!("{} {}", a.attribute, a.level))
        .collect();
    println!("optimum   {}", levels.join(", "));
    println!(
        "loss {:.4}, classes {}, suppressed {}, nodes evaluated {} of {}",
        r.loss, r.classes, r.suppressed, r.nodes_evaluated, r.lattice_size
    );
    println!(
        "search {:.1} s, whole anonymize {:.1} s, peak RSS {:.0} MiB",
        r.search_ms / 1e3,
        r.elapsed_ms / 1e3,
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    Ok(())
}
