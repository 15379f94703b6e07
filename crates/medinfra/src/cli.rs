//! Command-line interface definition.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "medinfra",
    version,
    about = "Medical data infrastructure for Japan: ingest, pseudonymize, anonymize, link and analyse under the Next Generation Medical Infrastructure Act"
)]
pub struct Cli {
    /// The data directory (SQLite catalog + Parquet dataset versions).
    #[arg(
        long,
        global = true,
        env = "MEDINFRA_DATA_DIR",
        default_value = "./medinfra-data"
    )]
    pub data_dir: PathBuf,

    /// The key directory (0700; key files 0600; reverse maps). Defaults to DATA_DIR/keys.
    /// Keep it on another volume than the data in production.
    #[arg(long, global = true, env = "MEDINFRA_KEY_DIR")]
    pub key_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every pipeline step on a synthetic population and show where the outputs are.
    Demo(DemoArgs),
    /// Generate a synthetic Japanese sample population.
    Synth(SynthArgs),
    /// Ingest a provider's files (electronic receipts .UKE; files, directories) into a new
    /// identified-zone version of the provider's dataset, with a quarantine report.
    Ingest(IngestArgs),
    /// List, show and verify dataset versions.
    Datasets {
        #[command(subcommand)]
        command: DatasetsCommand,
    },
    /// Pseudonymize an identified-zone dataset (仮名加工医療情報) by a per-column policy (drop,
    /// keep, keyed token, per-project token, date shift, date truncation, generalization,
    /// free-text scrubbing, keyed NDB ID1/ID2) into a new pseudonymized-tier dataset.
    Pseudonymize(PseudonymizeArgs),
    /// Secret keys for tokens: create, list (metadata only), rotate, retire; look up a
    /// pseudonym in a reverse map (operator only, audited).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Record linkage and person resolution: Fellegi–Sunter with a built-in model for Japanese
    /// person records (`--model japan-person`, trained by EM on the data given), or
    /// privacy-preserving linkage of keyed Bloom-filter encodings (`encode`, `match-clk`).
    Link(LinkArgs),
    /// Anonymize a table: optimal generalization under k-anonymity, l-diversity or
    /// t-closeness, with an auditor's report (JSON + HTML).
    Anonymize(AnonymizeArgs),
    /// Re-identification risk of a dataset table on chosen quasi-identifiers, without changing
    /// it: prosecutor (max, average, records at risk), marketer, sample uniques and
    /// population-uniqueness estimates (Pitman, Zayatz, SNB, Dankar's rule).
    Risk(RiskArgs),
    /// NDB-style released datasets from a claims dataset: `sampling` (one month per quarter,
    /// high-cost claims dropped, rare codes replaced, stratified sample, identity fields
    /// blanked) or `trial` (the same, plus records with codes occurring fewer than 10 times
    /// removed), with a report of every rule applied.
    Extract(ExtractArgs),
    /// The tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Check an SSK code master file (Shift_JIS CSV) and print what it holds.
    Masters {
        /// Master files (e.g. b_*.csv, y_*.csv, s_*.csv, t_*.csv, z_*.csv, c_*.csv).
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Persons in the synthetic population.
    #[arg(long, default_value_t = 10_000)]
    pub persons: u64,
    /// Stop after the pipeline instead of serving the web UI.
    #[arg(long)]
    pub no_serve: bool,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Args, Clone)]
pub struct SynthArgs {
    /// Persons to generate.
    #[arg(long, default_value_t = 10_000)]
    pub persons: u64,
    /// Years of follow-up.
    #[arg(long, default_value_t = 5)]
    pub years: u32,
    /// First calendar year simulated.
    #[arg(long, default_value_t = 2020)]
    pub start_year: i32,
    /// Random seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Dataset name for the canonical tables; the ground truth goes to NAME-truth.
    #[arg(long, default_value = "synth")]
    pub output: String,
    /// Tier of the output: `identified` (as if received from providers, the pipeline's input)
    /// or `sample` (public sample data).
    #[arg(long, default_value = "identified")]
    pub tier: String,
    /// Output format: `parquet` (canonical tables) or `provider` (also the providers' files:
    /// electronic receipt files per provider and month under DATA_DIR/provider-files/NAME/).
    #[arg(long, default_value = "parquet")]
    pub format: String,
    /// With `--format provider`: only the electronic receipt files (no SS-MIX2, no checkups).
    #[arg(long)]
    pub receipts_only: bool,
    /// TOML with identity-noise rates overriding the defaults (job_change_per_year,
    /// retirement_per_year, move_per_year, surname_change_per_year, name_variant, kana_typo,
    /// same_name_birthday, twins).
    #[arg(long)]
    pub noise: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum DatasetsCommand {
    /// All datasets with their latest version.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One dataset: versions, tables, row counts, lineage.
    Show {
        name: String,
        #[arg(long)]
        version: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Re-hash files against the manifest; exits 1 on any mismatch.
    Verify {
        /// Dataset to verify (all datasets, every version, when omitted).
        name: Option<String>,
        #[arg(long)]
        version: Option<i64>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct PseudonymizeArgs {
    /// Input dataset (identified zone).
    #[arg(long, required_unless_present = "print_default_policy")]
    pub input: Option<String>,
    /// Input version (default: the latest).
    #[arg(long)]
    pub version: Option<i64>,
    /// Output dataset name (pseudonymized tier); a new version if it exists.
    #[arg(long, required_unless_present = "print_default_policy")]
    pub output: Option<String>,
    /// Policy TOML (default: the built-in policy, see --print-default-policy).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Recipient project, for `project_token` columns.
    #[arg(long)]
    pub project: Option<String>,
    /// Only these tables (comma-separated); the others are left out of the output.
    #[arg(long, value_delimiter = ',')]
    pub tables: Option<Vec<String>>,
    /// Do not keep the reverse map even where the policy asks for it.
    #[arg(long)]
    pub no_map: bool,
    /// Print the built-in policy (TOML, with its reasons) and exit.
    #[arg(long)]
    pub print_default_policy: bool,
    /// Print the run's report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new active key for a purpose (`pseudonym` is what policies use by default).
    New {
        #[arg(long, default_value = "pseudonym")]
        purpose: String,
    },
    /// Keys' metadata (id, purpose, created, status); never key material.
    List {
        #[arg(long)]
        json: bool,
    },
    /// New active key for the purpose; the previous one is retired (kept for verification).
    /// Re-run `pseudonymize` to re-tokenize into a new version under the new key.
    Rotate {
        #[arg(long, default_value = "pseudonym")]
        purpose: String,
    },
    /// Retire a key by id.
    Retire { id: String },
    /// Look pseudonyms up in the reverse map of a pseudonymized version (operator only).
    Reveal {
        /// Pseudonymized dataset.
        #[arg(long)]
        dataset: String,
        /// Its version (default: latest).
        #[arg(long)]
        version: Option<i64>,
        /// Tokens to look up.
        tokens: Vec<String>,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LinkArgs {
    #[command(subcommand)]
    pub command: Option<LinkCommand>,
    #[command(flatten)]
    pub run: LinkRunArgs,
}

#[derive(Debug, Args)]
pub struct LinkRunArgs {
    /// Left CSV (identity columns: rec_id, name_kanji, name_kana, sex, birth_date, insurer_number,
    /// card_symbol, card_number, card_branch, postcode, prefecture; FEBRL's columns with
    /// `--model febrl`).
    #[arg(long, conflicts_with = "dedupe", requires = "right")]
    pub left: Option<PathBuf>,
    /// Right CSV (same columns).
    #[arg(long)]
    pub right: Option<PathBuf>,
    /// Find the duplicates within one CSV instead of linking two.
    #[arg(long)]
    pub dedupe: Option<PathBuf>,
    /// Built-in model: japan-person or febrl.
    #[arg(long, default_value = "japan-person")]
    pub model: String,
    /// Output directory: pairs.csv, clusters.csv, model.json, report.json.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Match probability at or above which a pair is a link.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
    /// CSV of true pairs `rec_id_a,rec_id_b`: adds precision, recall and F1 to the report.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Also store the pairs and clusters as a new version of this dataset (identified zone).
    #[arg(long)]
    pub dataset: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// Encode identity records as keyed Bloom filters (CLK) on this party's side; the output
    /// holds no identifier and can be sent to the linkage unit.
    Encode {
        #[arg(long, default_value = "japan-person")]
        model: String,
        /// Identity CSV to encode.
        #[arg(long)]
        input: PathBuf,
        /// Output encoding file (JSON lines).
        #[arg(long)]
        out: PathBuf,
        /// Purpose of the shared linkage key in the key directory.
        #[arg(long, default_value = "linkage")]
        key_purpose: String,
    },
    /// Match two encoding files (or dedupe one) by Dice coefficient with blocking.
    MatchClk {
        #[arg(long)]
        left: PathBuf,
        #[arg(long)]
        right: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 0.6)]
        threshold: f64,
        #[arg(long)]
        truth: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct AnonymizeArgs {
    /// Input CSV with a header row (ARX-style: `--csv adult.csv --delimiter ';'`).
    #[arg(long, conflicts_with = "input")]
    pub csv: Option<PathBuf>,
    /// Input dataset (identified or pseudonymized tier, canonical tables): anonymized with the
    /// built-in claims configuration into a new anonymized-tier dataset `--output`.
    #[arg(long, requires = "output")]
    pub input: Option<String>,
    /// Output dataset name (dataset mode).
    #[arg(long)]
    pub output: Option<String>,
    /// TOML overriding the built-in claims configuration (k, suppression, km_k, km_m,
    /// reference_date, age_top).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Field delimiter of the CSV and of the output (one character).
    #[arg(long, default_value = ";")]
    pub delimiter: String,
    /// Quasi-identifier with its hierarchy in ARX's CSV format, `ATTRIBUTE=FILE`; repeat per
    /// quasi-identifier (the order is the lattice's order).
    #[arg(long = "hierarchy", value_name = "ATTR=FILE")]
    pub hierarchies: Vec<String>,
    /// Sensitive attribute (for l-diversity and t-closeness).
    #[arg(long)]
    pub sensitive: Option<String>,
    /// k of k-anonymity.
    #[arg(long)]
    pub k: Option<usize>,
    /// l-diversity of the sensitive attribute: `distinct:L`, `entropy:L` or `recursive:C:L`.
    #[arg(long = "l-diversity")]
    pub l_diversity: Option<String>,
    /// t-closeness (equal ground distance) of the sensitive attribute.
    #[arg(long = "t-closeness")]
    pub t_closeness: Option<f64>,
    /// Fraction of records that may be suppressed (0.05 = 5 %).
    #[arg(long, default_value_t = 0.0)]
    pub suppression: f64,
    /// Utility metric: loss (ARX's default), entropy, discernibility, aecs, height, precision.
    #[arg(long, default_value = "loss")]
    pub metric: String,
    /// Use the heuristic search with at most N node evaluations (not proven optimal).
    #[arg(long)]
    pub heuristic: Option<usize>,
    /// Population size: adds population-uniqueness estimates (Pitman, Zayatz, SNB, Dankar's
    /// rule) before and after to the report (CSV mode).
    #[arg(long)]
    pub population: Option<u64>,
    /// Output directory (CSV mode): anonymized.csv, report.json, report.html.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct IngestArgs {
    /// Provider id: prefecture (2) + fee schedule (1) + facility code (7), e.g. 1319999999;
    /// `auto` groups a bulk delivery by the provider each file's header names.
    #[arg(long)]
    pub provider: String,
    /// Files or directories to ingest.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Reject files whose GO totals disagree with their receipts.
    #[arg(long)]
    pub strict: bool,
    /// Reject a file when more than this share of its receipts is quarantined.
    #[arg(long, default_value_t = 0.5)]
    pub max_quarantined_share: f64,
    /// SSK code masters to resolve disease codes to ICD-10 (b_*.csv).
    #[arg(long = "masters")]
    pub masters: Vec<PathBuf>,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RiskArgs {
    /// Dataset to analyse (latest version unless --version).
    #[arg(long)]
    pub input: String,
    #[arg(long)]
    pub version: Option<i64>,
    /// Table of the dataset.
    #[arg(long, default_value = "persons")]
    pub table: String,
    /// Quasi-identifier columns, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub qi: Vec<String>,
    /// Population size for the uniqueness estimates (default: Japan, 2020 census).
    #[arg(long, default_value_t = 126_146_099)]
    pub population: u64,
    /// A record is "at risk" when its prosecutor risk exceeds this.
    #[arg(long, default_value_t = 0.2)]
    pub threshold: f64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// `sampling` or `trial`.
    #[arg(long)]
    pub kind: String,
    /// Input claims dataset (identified, pseudonymized or sample tier).
    #[arg(long)]
    pub from: String,
    /// Output dataset name (anonymized tier).
    #[arg(long)]
    pub output: String,
    /// Seed of the stratified sample.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain; exits 1 and names the first bad entry on any edit, deletion or
    /// reordering.
    Verify,
    /// The latest entries.
    List {
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}
