//! The `medinfra link` entry point: CSV in, `pairs.csv`, `clusters.csv`, `model.json` and
//! `report.json` out.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::blocking::{BlockIndex, RuleCount, Sides};
use crate::cluster::{UnionFind, person_key};
use crate::compare::gamma;
use crate::error::{LinkError, Result};
use crate::eval::{Confusion, Counter, PairIndex, Truth, confusion};
use crate::fs::probability;
use crate::input::read_csv;
use crate::model::{ModelTables, PairExplanation, TrainOptions, TrainedModel};
use crate::models::by_name;
use crate::table::Table;
use crate::tf::fill_term_frequencies;

/// Default `--threshold`.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// Borderline links explained in the report.
const EXPLAINED_LINKS: usize = 20;

/// What `medinfra link` asks for. `right: None` is dedupe mode (`--dedupe FILE` → `left`).
#[derive(Debug, Clone)]
pub struct LinkRequest {
    /// Built-in model name: `japan-person` or `febrl`.
    pub model: String,
    pub left: PathBuf,
    pub right: Option<PathBuf>,
    pub out_dir: PathBuf,
    pub threshold: f64,
    /// CSV of true pairs (`rec_id_a,rec_id_b`) for evaluation.
    pub truth: Option<PathBuf>,
    pub train: TrainOptions,
}

impl LinkRequest {
    pub fn new(model: &str, left: impl Into<PathBuf>, out_dir: impl Into<PathBuf>) -> Self {
        LinkRequest {
            model: model.to_owned(),
            left: left.into(),
            right: None,
            out_dir: out_dir.into(),
            threshold: DEFAULT_THRESHOLD,
            truth: None,
            train: TrainOptions::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub true_pairs: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
    /// Confusion counts at each of [`crate::eval::THRESHOLDS`].
    pub at_thresholds: Vec<Confusion>,
    /// Share of true pairs that blocking made candidates (the ceiling of recall).
    pub blocking_recall: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct InputLineage {
    pub role: &'static str,
    pub path: String,
    pub sha256: String,
    pub records: usize,
    pub invalid_values: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub model: String,
    pub mode: &'static str,
    pub elapsed_ms: u128,
    /// Wall time of each phase: `read` (CSV, normalization, term frequencies), `block`
    /// (keys and counts), `train` (u sample and EM sessions), `score` (the pass over the
    /// candidates) and `write`.
    pub phase_ms: BTreeMap<&'static str, u128>,
    pub threshold: f64,
    pub blocking: Vec<RuleCount>,
    pub candidate_pairs: u64,
    pub links: u64,
    pub persons: usize,
    pub evaluation: Option<Evaluation>,
    pub inputs: Vec<InputLineage>,
    pub model_tables: ModelTables,
    /// The links closest to the threshold, each broken down by comparison.
    pub borderline_links: Vec<PairExplanation>,
    pub engine: String,
}

struct Scored {
    links: Vec<(u32, u32, f64)>,
    counter: Counter,
    candidates: u64,
    true_candidates: u64,
}

impl Scored {
    fn empty() -> Self {
        Scored {
            links: Vec::new(),
            counter: Counter::new(),
            candidates: 0,
            true_candidates: 0,
        }
    }

    fn merge(mut self, other: Scored) -> Scored {
        self.links.extend(other.links);
        self.counter = self.counter.merge(other.counter);
        self.candidates += other.candidates;
        self.true_candidates += other.true_candidates;
        self
    }
}

/// Runs a whole linkage from CSV files and writes its outputs to `out_dir`.
pub fn run_csv(req: &LinkRequest) -> Result<Report> {
    let start = Instant::now();
    if !(0.0..=1.0).contains(&req.threshold) {
        return Err(LinkError::Request("threshold must be within 0..1".into()));
    }
    let spec = by_name(&req.model)?;
    if spec.comparisons.len() > 16 {
        return Err(LinkError::TooManyComparisons(spec.comparisons.len()));
    }
    // The truth file is read while the left input loads (both are mostly single-threaded
    // parsing).
    let (truth, left) = rayon::join(
        || req.truth.as_deref().map(Truth::read).transpose(),
        || load("left", &req.left, &spec),
    );
    let truth = truth?;
    let mut inputs = Vec::new();
    let (mut left, lineage) = left?;
    inputs.push(lineage);
    let mut right = match &req.right {
        Some(p) => {
            let (r, lineage) = load("right", p, &spec)?;
            inputs.push(lineage);
            Some(r)
        }
        None => None,
    };
    let tf_fields: Vec<usize> = spec
        .comparisons
        .iter()
        .filter(|c| c.term_frequency)
        .map(|c| c.field)
        .collect();
    match right.as_mut() {
        Some(r) => fill_term_frequencies(&mut [&mut left.table, &mut r.table], &tf_fields),
        None => fill_term_frequencies(&mut [&mut left.table], &tf_fields),
    }
    let sides = Sides {
        left: &left.table,
        right: right.as_ref().map(|r| &r.table),
    };
    let mut phase_ms = BTreeMap::new();
    let mut lap = start;
    let mut phase = |name: &'static str| {
        phase_ms.insert(name, lap.elapsed().as_millis());
        lap = Instant::now();
    };
    phase("read");
    let index = BlockIndex::build(&spec.blocking, sides);
    let blocking = index.count_comparisons();
    phase("block");
    let model = TrainedModel::train(spec, sides, req.train);
    phase("train");
    let truth_index = truth.as_ref().map(|t| t.index(sides.left, sides.right));
    let scored = score_all(&model, &index, sides, req.threshold, truth_index.as_ref());
    phase("score");

    std::fs::create_dir_all(&req.out_dir).map_err(|e| LinkError::io(&req.out_dir, e))?;
    let mut links = scored.links;
    links.sort_unstable_by_key(|a| (a.0, a.1));
    let rt = sides.right_table();
    write_pairs(&req.out_dir.join("pairs.csv"), &links, sides.left, rt)?;
    let persons = write_clusters(&req.out_dir.join("clusters.csv"), &links, sides)?;
    let tables = model.tables();
    write_json(&req.out_dir.join("model.json"), &tables, "model tables")?;

    let mut borderline = links.clone();
    borderline.sort_unstable_by(|a, b| a.2.total_cmp(&b.2).then((a.0, a.1).cmp(&(b.0, b.1))));
    let borderline_links = borderline
        .iter()
        .take(EXPLAINED_LINKS)
        .map(|&(i, j, _)| model.explain(sides.left, i as usize, rt, j as usize))
        .collect();

    let evaluation = truth.as_ref().zip(truth_index.as_ref()).map(|(t, ti)| {
        let at_thresholds = scored.counter.confusion(t.len());
        let tp = links
            .iter()
            .filter(|&&(i, j, _)| ti.contains(i as usize, j as usize))
            .count() as u64;
        let at = confusion(req.threshold, tp, links.len() as u64, t.len() as u64);
        Evaluation {
            true_pairs: t.len(),
            precision: at.precision,
            recall: at.recall,
            f1: at.f1,
            tp: at.tp,
            fp: at.fp,
            fn_: at.fn_,
            at_thresholds,
            blocking_recall: if t.is_empty() {
                0.0
            } else {
                scored.true_candidates as f64 / t.len() as f64
            },
        }
    });
    phase("write");
    let report = Report {
        model: req.model.clone(),
        mode: if sides.is_dedupe() { "dedupe" } else { "link" },
        elapsed_ms: 0,
        phase_ms,
        threshold: req.threshold,
        blocking,
        candidate_pairs: scored.candidates,
        links: links.len() as u64,
        persons,
        evaluation,
        inputs,
        model_tables: tables,
        borderline_links,
        engine: format!("medinfra-link {}", env!("CARGO_PKG_VERSION")),
    };
    let report = Report {
        elapsed_ms: start.elapsed().as_millis(),
        ..report
    };
    write_json(&req.out_dir.join("report.json"), &report, "report")?;
    let html_path = req.out_dir.join("report.html");
    std::fs::write(&html_path, crate::html::render(&report)).map_err(|e| LinkError::Io {
        path: html_path.clone(),
        source: e,
    })?;
    Ok(report)
}

/// The one pass over the candidates (training only samples pairs): weight, probability, evaluation counters, links kept.
fn score_all(
    model: &TrainedModel,
    index: &BlockIndex,
    sides: Sides<'_>,
    threshold: f64,
    truth: Option<&PairIndex>,
) -> Scored {
    let rt = sides.right_table();
    let specs = &model.spec.comparisons;
    index.fold_pairs(
        Scored::empty,
        |mut acc, i, j| {
            let g = gamma(specs, sides.left, i, rt, j);
            let p = probability(model.weight_of(g, sides.left, i, rt, j));
            acc.candidates += 1;
            if let Some(t) = truth {
                let is_true = t.contains(i, j);
                acc.true_candidates += u64::from(is_true);
                acc.counter.add(p, is_true);
            }
            if p >= threshold {
                acc.links.push((i as u32, j as u32, p));
            }
            acc
        },
        Scored::merge,
    )
}

/// Reads one input and hashes its bytes for the lineage, the two at once (hashing a large file
/// is I/O and SHA-256 that can overlap the parsing).
fn load(
    role: &'static str,
    path: &Path,
    spec: &crate::spec::ModelSpec,
) -> Result<(crate::input::Loaded, InputLineage)> {
    let (loaded, sha256) = rayon::join(|| read_csv(path, spec), || file_sha256(path));
    let loaded = loaded?;
    let lineage = InputLineage {
        role,
        path: path.display().to_string(),
        sha256: sha256?,
        records: loaded.table.len(),
        invalid_values: loaded.invalid_values.clone(),
    };
    Ok((loaded, lineage))
}

fn file_sha256(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(|e| LinkError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| LinkError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

fn write_pairs(path: &Path, links: &[(u32, u32, f64)], l: &Table, r: &Table) -> Result<()> {
    let file = File::create(path).map_err(|e| LinkError::io(path, e))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(file));
    let io = |e: csv::Error| LinkError::io(path, std::io::Error::other(e.to_string()));
    w.write_record(["rec_id_l", "rec_id_r", "match_probability"])
        .map_err(io)?;
    for &(i, j, p) in links {
        w.write_record([l.id(i as usize), r.id(j as usize), &format!("{p:.6}")])
            .map_err(io)?;
    }
    w.flush().map_err(|e| LinkError::io(path, e))
}

/// Clusters the links into persons (union–find) and writes `rec_id,side,person_key`; returns
/// the number of persons.
fn write_clusters(path: &Path, links: &[(u32, u32, f64)], sides: Sides<'_>) -> Result<usize> {
    let nl = sides.left.len();
    let rt = sides.right_table();
    let n = if sides.is_dedupe() { nl } else { nl + rt.len() };
    let node_id = |x: usize| -> (&'static str, &str) {
        if sides.is_dedupe() {
            ("", sides.left.id(x))
        } else if x < nl {
            ("l", sides.left.id(x))
        } else {
            ("r", rt.id(x - nl))
        }
    };
    let mut uf = UnionFind::new(n);
    for &(i, j, _) in links {
        let j = if sides.is_dedupe() {
            j as usize
        } else {
            nl + j as usize
        };
        uf.union(i as usize, j);
    }
    // The key's member is the smallest "side:rec_id" of the cluster, so it does not depend on
    // file order.
    let mut smallest: Vec<Option<(&str, &str)>> = vec![None; n];
    for x in 0..n {
        let root = uf.find(x);
        let id = node_id(x);
        if smallest[root].is_none_or(|s| id < s) {
            smallest[root] = Some(id);
        }
    }
    let file = File::create(path).map_err(|e| LinkError::io(path, e))?;
    let mut w = BufWriter::new(file);
    let io = |e| LinkError::io(path, e);
    writeln!(w, "rec_id,side,person_key").map_err(io)?;
    let mut persons = 0;
    let mut keys: Vec<Option<String>> = vec![None; n];
    for x in 0..n {
        let root = uf.find(x);
        if keys[root].is_none() {
            persons += 1;
            let (side, id) = smallest[root].unwrap_or(("", ""));
            keys[root] = Some(person_key(&format!("{side}:{id}")));
        }
        let (side, id) = node_id(x);
        let key = keys[root].as_deref().unwrap_or("");
        writeln!(w, "{},{side},{key}", csv_field(id)).map_err(io)?;
    }
    w.flush().map_err(io)?;
    Ok(persons)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T, what: &'static str) -> Result<()> {
    let file = File::create(path).map_err(|e| LinkError::io(path, e))?;
    let mut w = BufWriter::new(file);
    serde_json::to_writer_pretty(&mut w, value).map_err(|e| LinkError::Serialize {
        what,
        reason: e.to_string(),
    })?;
    w.flush().map_err(|e| LinkError::io(path, e))
}
