//! The invariants of ARCHITECTURE.md that a machine can check: which crate may depend on
//! which (from `cargo metadata`), and what the sources of some crates never do. A new edge or
//! a file opened where it must not be fails here, not in a review.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// crate -> the medinfra crates it depends on (normal dependencies).
fn edges() -> BTreeMap<String, Vec<String>> {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let short = |n: &str| n.trim_start_matches("medinfra-").to_string();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .filter_map(|d| d["name"].as_str())
                .filter(|n| n.starts_with("medinfra-"))
                .map(short)
                .collect();
            (short(p["name"].as_str().unwrap()), deps)
        })
        .collect()
}

/// "X never depends on Y": each crate with the only medinfra crates it may use.
const ALLOWED: &[(&str, &[&str])] = &[
    // The foundations know nothing of the rest.
    ("model", &[]),
    ("formats", &[]),
    ("pseudo", &[]),
    ("anon", &[]),
    ("disclosure", &[]),
    ("store", &["model"]),
    // Exports read through extract's TableSource and write files: no store, no access
    // decisions of their own (the binary checks and audits), never ingest or pipeline steps.
    ("export", &["extract", "formats", "model"]),
    // Governance decides from the registry and the store, and nothing above it.
    ("govern", &["model", "store"]),
    // The workspace reads the store under govern; it never ingests, links or serves.
    ("analysis", &["govern", "model", "pseudo", "store"]),
    // The server never depends on the web pages (the pages are built on it).
    (
        "server",
        &[
            "analysis",
            "disclosure",
            "govern",
            "model",
            "research",
            "store",
        ],
    ),
    // The web UI never runs pipeline steps (ingest, linkage, pseudonymization, the run).
    (
        "web",
        &[
            "analysis",
            "disclosure",
            "govern",
            "model",
            "pseudo",
            "research",
            "server",
            "store",
        ],
    ),
];

#[test]
fn no_crate_depends_on_what_it_must_not() {
    let edges = edges();
    let mut bad = Vec::new();
    for (krate, allowed) in ALLOWED {
        let deps = edges
            .get(*krate)
            .unwrap_or_else(|| panic!("no crate {krate} in the workspace"));
        for d in deps {
            if !allowed.contains(&d.as_str()) {
                bad.push(format!("{krate} -> {d}"));
            }
        }
    }
    assert!(bad.is_empty(), "forbidden edges: {bad:?}");
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Lines of a crate's sources (tests modules included) containing `needle`.
fn occurrences(krate: &str, needle: &str) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(
        &workspace().join("crates").join(krate).join("src"),
        &mut files,
    );
    let mut hits = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains(needle) {
                hits.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
            }
        }
    }
    hits
}

/// The web pages go through the server's state and the store for everything on disk: they
/// never open a file themselves.
#[test]
fn the_web_pages_open_no_files() {
    let mut hits = Vec::new();
    for needle in ["std::fs", "tokio::fs", "File::open", "File::create"] {
        hits.extend(occurrences("web", needle));
    }
    assert!(hits.is_empty(), "{hits:#?}");
}

/// Only `govern` makes access decisions: no other crate builds a `Decision` (a hand-made
/// `Decision { allowed: true, .. }` is access decided outside the rules).
#[test]
fn only_govern_builds_access_decisions() {
    let edges = edges();
    let mut hits = Vec::new();
    for krate in edges.keys().filter(|k| *k != "govern") {
        let dir = workspace().join("crates").join(krate).join("src");
        if !dir.is_dir() {
            continue;
        }
        hits.extend(
            occurrences(krate, "allowed: true")
                .into_iter()
                .chain(occurrences(krate, "allowed: false"))
                .filter(|l| !l.contains("pub allowed")),
        );
    }
    assert!(hits.is_empty(), "{hits:#?}");
}
