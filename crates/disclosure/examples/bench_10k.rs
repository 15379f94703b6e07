//! Times output checking on a 10,000-cell table (100 x 100, sum with margins: threshold, NK,
//! p-ratio, zeros, then primary + secondary suppression and CSV rendering), and on ACRO's
//! 224-cell T1 table for comparison with ACRO itself.
//!
//!   cargo run --release --example bench_10k [RECORDS_CSV_OUT]
//!
//! With an argument, also writes the synthetic records as CSV (row,col,value) so that
//! `bench/py/disclosure_acro.py` can time ACRO on the same table.

use std::io::Write;
use std::time::Instant;

use medinfra_disclosure::render::cleaned_csv;
use medinfra_disclosure::{
    DisclosureConfig, Mitigation, Statistic, TableBuilder, TableSpec, assess, mitigate,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1);
    let cfg = DisclosureConfig::default();
    // Deterministic synthetic records: cell sizes 0..~120 with some small and dominated cells.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut records: Vec<(u16, u16, f64)> = Vec::new();
    for r in 0..100u16 {
        for c in 0..100u16 {
            let n = match next() % 20 {
                0 => 0,
                1 | 2 => next() % 10,
                _ => 10 + next() % 110,
            };
            for k in 0..n {
                let v = if k == 0 && next() % 15 == 0 {
                    1_000_000.0
                } else {
                    (next() % 5000) as f64
                };
                records.push((r, c, v));
            }
        }
    }
    if let Some(path) = &out {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(f, "row,col,value")?;
        for (r, c, v) in &records {
            writeln!(f, "r{r:03},c{c:03},{v}")?;
        }
    }
    let labels: Vec<String> = (0..100).map(|i| format!("{i:03}")).collect();

    let t0 = Instant::now();
    let spec = TableSpec::aggregate("bench", &["row"], &["col"], "value", &[Statistic::Sum])
        .with_margins(true);
    let mut b = TableBuilder::for_config(spec, &cfg)?;
    for (r, c, v) in &records {
        b.push(&[&labels[*r as usize]], &[&labels[*c as usize]], Some(*v))?;
    }
    let table = b.finish();
    let build = t0.elapsed();

    let t1 = Instant::now();
    let a = assess(&table, &cfg);
    let t_assess = t1.elapsed();
    let t2 = Instant::now();
    let cleaned = mitigate(&table, &a, Mitigation::Suppress, &cfg);
    let t_mitigate = t2.elapsed();
    let t3 = Instant::now();
    let csv = cleaned_csv(&cleaned)?;
    let t_csv = t3.elapsed();
    let primary = a.flagged_cells();
    let secondary = cleaned
        .state
        .iter()
        .filter(|s| **s == medinfra_disclosure::CellState::Secondary)
        .count();
    println!(
        "10k-cell table ({} x {} incl. margins, {} records): build {:.1} ms; check {:.2} ms; suppress+secondary {:.2} ms; csv {:.2} ms; total check path {:.2} ms; primary {primary}, secondary {secondary}, status {:?}, csv {} bytes",
        table.height(),
        table.width(),
        records.len(),
        build.as_secs_f64() * 1e3,
        t_assess.as_secs_f64() * 1e3,
        t_mitigate.as_secs_f64() * 1e3,
        t_csv.as_secs_f64() * 1e3,
        (t_assess + t_mitigate + t_csv).as_secs_f64() * 1e3,
        cleaned.status,
        csv.len()
    );

    // ACRO's T1 (224 cells) from adult.csv, for the side-by-side with ACRO's 0.28 s.
    let adult = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/arx/adult.csv"
    );
    if let Ok(mut rdr) = csv::ReaderBuilder::new().delimiter(b';').from_path(adult) {
        let t0 = Instant::now();
        let acro = DisclosureConfig::acro_compatible();
        let spec = TableSpec::count("T1", &["education"], &["occupation"]);
        let mut b = TableBuilder::for_config(spec, &acro)?;
        for rec in rdr.records() {
            let rec = rec?;
            b.push(&[&rec[4]], &[&rec[7]], None)?;
        }
        let t = b.finish();
        let a = assess(&t, &acro);
        let c = mitigate(&t, &a, Mitigation::AcroSuppress, &acro);
        println!(
            "ACRO T1 (224 cells, 30,162 records incl. CSV read): {:.2} ms, status {:?}, {} flagged",
            t0.elapsed().as_secs_f64() * 1e3,
            c.status,
            a.flagged_cells()
        );
    }
    Ok(())
}
