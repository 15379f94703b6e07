//! `resolve_csv --input RECORDS.csv [--truth PAIRS.csv] [--name kanji|kana]`: deterministic
//! ID0-style person resolution ([`medinfra_link::deterministic`]) over the `japan-person`
//! identity CSV, for `bench/linkage-population.sh`. Each record gets NDB-style ID1 (insurer,
//! card symbol and number, birth date, sex) and ID2 (name, birth date, sex); records sharing
//! either are clustered with union–find under the default conflict rules (an optional `month`
//! column, `YYYYMM`, feeds the ID2-collision rule). With `--truth`, prints pairwise
//! precision/recall/F1 of the clusters (every pair of records in one predicted person) as one
//! JSON line. Arguments are parsed by hand to keep clap out of this crate's dependency tree.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Instant;

use medinfra_link::cluster::UnionFind;
use medinfra_link::deterministic::{ConflictRules, IdRecord, Identity, ndb_ids, resolve};
use medinfra_pseudo::ndb::NdbHashConfig;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("resolve_csv: {e}");
            ExitCode::FAILURE
        }
    }
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut input, mut truth, mut name_col) = (None, None, "kanji".to_owned());
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--input" | "--dedupe" => input = Some(value()?),
            "--truth" => truth = Some(value()?),
            "--name" => name_col = value()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let input = input.ok_or("need --input")?;
    let start = Instant::now();

    let mut reader = csv::Reader::from_path(&input).map_err(|e| format!("{input}: {e}"))?;
    let headers = reader
        .headers()
        .map_err(|e| format!("{input}: {e}"))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let id_col = col("rec_id").ok_or(format!("{input}: no rec_id column"))?;
    let cols: Vec<Option<usize>> = [
        "name_kanji",
        "name_kana",
        "sex",
        "birth_date",
        "insurer_number",
        "card_symbol",
        "card_number",
        "month",
    ]
    .iter()
    .map(|c| col(c))
    .collect();
    let config = NdbHashConfig::default();
    let mut records = Vec::new();
    let mut row = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(format!("{input}: {e}")),
        }
        let get = |i: usize| cols[i].and_then(|c| row.get(c)).unwrap_or("");
        let (kanji, kana) = (get(0), get(1));
        // ID2 is built from 氏名 as the provider wrote it: kanji unless asked otherwise, the
        // other form when that one is missing.
        let name = match (name_col.as_str(), kanji.is_empty(), kana.is_empty()) {
            ("kana", _, false) | (_, true, _) => kana,
            _ => kanji,
        };
        let identity = Identity {
            name,
            sex: get(2),
            birth_date: get(3),
            insurer_number: get(4),
            card_symbol: get(5),
            card_number: get(6),
        };
        let (id1, id2) = ndb_ids(&identity, &config, None);
        let month = get(7);
        records.push(IdRecord {
            rec_id: row.get(id_col).unwrap_or("").to_owned(),
            month: (!month.is_empty()).then(|| month.to_owned()),
            id1,
            id2,
        });
    }
    let read_ms = start.elapsed().as_millis();
    let resolution = resolve(&records, ConflictRules::default());
    let resolve_ms = start.elapsed().as_millis() - read_ms;
    let mut out = serde_json::json!({
        "method": "deterministic ID1/ID2 (ID0-style)",
        "records": records.len(),
        "persons": resolution.persons,
        "conflicts": resolution.conflicts,
        "without_id1": records.iter().filter(|r| r.id1.is_none()).count(),
        "without_id2": records.iter().filter(|r| r.id2.is_none()).count(),
        "read_and_hash_ms": read_ms,
        "resolve_ms": resolve_ms,
    });

    if let Some(truth) = truth {
        // The truth file lists every pair of one true person; union–find over it gives the
        // true clusters, and pair counts come from the contingency of true × predicted.
        let index: HashMap<&str, usize> = records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.rec_id.as_str(), i))
            .collect();
        let mut uf = UnionFind::new(records.len());
        let mut reader = csv::Reader::from_path(&truth).map_err(|e| format!("{truth}: {e}"))?;
        let mut lines = 0u64;
        for row in reader.records() {
            let row = row.map_err(|e| format!("{truth}: {e}"))?;
            let (a, b) = (row.get(0).unwrap_or(""), row.get(1).unwrap_or(""));
            let (Some(&a), Some(&b)) = (index.get(a), index.get(b)) else {
                return Err(format!("{truth}: line {lines}: record id not in the input"));
            };
            uf.union(a, b);
            lines += 1;
        }
        let truth_label = uf.labels();
        let mut key_index: HashMap<&str, usize> = HashMap::new();
        let mut pred_size: HashMap<usize, u64> = HashMap::new();
        let mut true_size: HashMap<usize, u64> = HashMap::new();
        let mut cell: HashMap<(usize, usize), u64> = HashMap::new();
        for (i, key) in resolution.person_keys.iter().enumerate() {
            let next = key_index.len();
            let p = *key_index.entry(key.as_str()).or_insert(next);
            *pred_size.entry(p).or_default() += 1;
            *true_size.entry(truth_label[i]).or_default() += 1;
            *cell.entry((p, truth_label[i])).or_default() += 1;
        }
        let predicted: u64 = pred_size.values().map(|&n| pairs(n)).sum();
        let true_pairs: u64 = true_size.values().map(|&n| pairs(n)).sum();
        let tp: u64 = cell.values().map(|&n| pairs(n)).sum();
        let precision = if predicted == 0 {
            0.0
        } else {
            tp as f64 / predicted as f64
        };
        let recall = if true_pairs == 0 {
            0.0
        } else {
            tp as f64 / true_pairs as f64
        };
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        out["truth_lines"] = lines.into();
        out["true_pairs"] = true_pairs.into();
        out["true_persons"] = true_size.len().into();
        out["links"] = predicted.into();
        out["tp"] = tp.into();
        out["precision"] = precision.into();
        out["recall"] = recall.into();
        out["f1"] = f1.into();
    }
    out["elapsed_ms"] = serde_json::json!(start.elapsed().as_millis());
    println!("{out}");
    Ok(())
}
