//! Time to optimum on ARX's adult benchmark (k=5, Loss, 0 % and 5 % suppression, and
//! k=5 + distinct-5-diversity on occupation). Run: `cargo run --release --example adult_bench`.
//! Prints the median over several runs of the search time and of the whole `anonymize` call
//! (encoding + search + output rows + risk), with the table already loaded.

use std::time::Instant;

use medinfra_anon::{AnonymizationConfig, Hierarchy, Metric, PrivacyModel, Table, anonymize};

const QIS: [&str; 8] = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "salary-class",
];
const RUNS: usize = 15;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = format!("{}/../../../shared/data/arx", env!("CARGO_MANIFEST_DIR"));
    let t0 = Instant::now();
    let table = Table::from_csv_path(format!("{dir}/adult.csv"), b';')?;
    let qis = QIS
        .iter()
        .map(|q| {
            Hierarchy::from_csv_path(format!("{dir}/adult_hierarchy_{q}.csv"))
                .map(|h| (q.to_string(), h))
        })
        .collect::<Result<Vec<_>, _>>()?;
    println!(
        "loaded adult ({} rows) in {:.1} ms; {} rayon threads",
        table.len(),
        t0.elapsed().as_secs_f64() * 1e3,
        rayon::current_num_threads()
    );
    let cases: [(&str, f64, Vec<PrivacyModel>); 3] = [
        (
            "k=5, 0% suppression",
            0.0,
            vec![PrivacyModel::KAnonymity { k: 5 }],
        ),
        (
            "k=5, 5% suppression",
            0.05,
            vec![PrivacyModel::KAnonymity { k: 5 }],
        ),
        (
            "k=5 + distinct-5-diversity, 5% suppression",
            0.05,
            vec![
                PrivacyModel::KAnonymity { k: 5 },
                PrivacyModel::DistinctLDiversity { l: 5 },
            ],
        ),
    ];
    for (name, sup, models) in cases {
        let config = AnonymizationConfig {
            qis: qis.clone(),
            sensitive: Some("occupation".into()),
            models,
            suppression_limit: sup,
            metric: Metric::loss(),
            risk_threshold: 0.2,
        };
        let (mut search, mut total) = (Vec::new(), Vec::new());
        let mut last = None;
        for _ in 0..RUNS {
            let o = anonymize(&table, &config)?;
            search.push(o.report.search_ms);
            total.push(o.report.elapsed_ms);
            last = Some(o);
        }
        if let Some(o) = last {
            let r = &o.report;
            let levels: Vec<String> = r
                .attributes
                .iter()
                .map(|a| format!("{} {}", a.attribute, a.level))
                .collect();
            println!("{name}:");
            println!("  optimum   {}", levels.join(", "));
            println!(
                "  loss {:.4}, classes {}, suppressed {}, nodes evaluated {} of {}",
                r.loss, r.classes, r.suppressed, r.nodes_evaluated, r.lattice_size
            );
            println!(
                "  median of {RUNS}: search {:.2} ms, whole anonymize {:.2} ms",
                median(search),
                median(total)
            );
        }
    }
    Ok(())
}
