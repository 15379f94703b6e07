//! `link_csv --model febrl|japan-person (--left A.csv --right B.csv | --dedupe F.csv) --out DIR
//!  [--threshold 0.5] [--truth PAIRS.csv]`: the library's CSV entry point as a small binary for
//! benchmarks, until `medinfra link` wires the same call. Prints a one-line JSON summary.
//! Arguments are parsed by hand to keep clap out of this crate's dependency tree.

use std::process::ExitCode;

use medinfra_link::{LinkRequest, run_csv};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("link_csv: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut req = LinkRequest::new("japan-person", "", "");
    let mut have_left = false;
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--model" => req.model = value()?,
            "--left" | "--dedupe" => {
                req.left = value()?.into();
                have_left = true;
            }
            "--right" => req.right = Some(value()?.into()),
            "--out" => req.out_dir = value()?.into(),
            "--threshold" => {
                req.threshold = value()?.parse().map_err(|_| "--threshold: not a number")?;
            }
            "--truth" => req.truth = Some(value()?.into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if !have_left || req.out_dir.as_os_str().is_empty() {
        return Err("need --left (or --dedupe) and --out".into());
    }
    let report = run_csv(&req).map_err(|e| e.to_string())?;
    let eval = report.evaluation.as_ref();
    println!(
        "{}",
        serde_json::json!({
            "model": report.model, "mode": report.mode, "elapsed_ms": report.elapsed_ms,
            "candidate_pairs": report.candidate_pairs, "links": report.links,
            "persons": report.persons,
            "precision": eval.map(|e| e.precision), "recall": eval.map(|e| e.recall),
            "f1": eval.map(|e| e.f1), "blocking_recall": eval.map(|e| e.blocking_recall),
        })
    );
    Ok(())
}
