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
    /// The data directory (Parquet dataset versions, manifests, the embedded SQLite catalog).
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

    /// Where the catalog is: `sqlite` (DATA_DIR/catalog.sqlite, the default) or a
    /// `postgres://` URL for several nodes sharing one data directory. A data directory stays
    /// with the catalog it was created with.
    #[arg(long, global = true, env = "MEDINFRA_CATALOG", hide_env_values = true)]
    pub catalog: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The catalog location `--catalog` names (the embedded one when absent).
    pub fn catalog(&self) -> anyhow::Result<medinfra_store::CatalogLocation> {
        Ok(match &self.catalog {
            Some(s) => medinfra_store::CatalogLocation::parse(s)?,
            None => medinfra_store::CatalogLocation::Embedded,
        })
    }
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
    /// Export a pseudonymized or anonymized dataset in another tool's format: `fhir` writes FHIR
    /// R4 Bulk Data (NDJSON per resource type and the `$export` manifest).
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// The tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Applications for data (dataset, tier, purpose, protocol, members, period) and reviewers'
    /// decisions; approval creates the project.
    Application {
        #[command(subcommand)]
        command: ApplicationCommand,
    },
    /// SQL in a project's remote analysis workspace (DataFusion): only the project's granted
    /// dataset versions, as views named after the canonical tables, with per-project pseudonyms,
    /// limits and an audit record per query; `--sample` runs the same SQL on sample data.
    Query(QueryArgs),
    /// Release of a result table from a workspace: checks (ACRO rules, NDB rules, secondary
    /// suppression, differencing against earlier releases), the reviewer's decision, and the
    /// released statistics dataset.
    Release {
        #[command(subcommand)]
        command: ReleaseCommand,
    },
    /// Open or verify an encrypted package (the type I recipient's side), or make its keys.
    Package {
        #[command(subcommand)]
        command: PackageCommand,
    },
    /// Serve the HTTP API (catalog, registry, applications and projects, access checks, audit;
    /// OpenAPI at /api/openapi.json) on the data directory.
    Serve(ServeArgs),
    /// Bootstrap accounts without the UI: organizations, users, government authorizations.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Patients' opt-outs: record (from a provider, by chart number) and apply (new versions of
    /// every derived dataset without those persons; older versions superseded).
    Optout {
        #[command(subcommand)]
        command: OptoutCommand,
    },
    /// The providers whose files this producer receives (医療情報取扱事業者): the monthly run
    /// reads only registered providers' files, from the day their notice took effect.
    Providers {
        #[command(subcommand)]
        command: ProvidersCommand,
    },
    /// The monthly run: ingest a delivery (every provider's files), update the person
    /// registry, rebuild the linked research database, and print the reconciliation (rows in =
    /// rows out + withheld, per table, or nothing is committed).
    Run(RunArgs),
    /// The person registry (identified zone, operators only): statistics, why a record has its
    /// person, quality against a truth, export, and operator overrides.
    Persons {
        #[command(subcommand)]
        command: PersonsCommand,
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
    /// Stop after the pipeline instead of serving the API.
    #[arg(long)]
    pub no_serve: bool,
    /// Where to serve the API after the pipeline.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
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
    /// With `--format provider`: also cut the files into monthly deliveries, one directory per
    /// month given (`YYYYMM`, comma-separated) under DATA_DIR/provider-files/NAME-deliveries/,
    /// each holding the months after the previous one (for `medinfra run`).
    #[arg(long, value_delimiter = ',')]
    pub deliveries: Vec<String>,
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

#[derive(Debug, Args, Clone)]
pub struct QueryArgs {
    /// The project (its granted versions, tier and members come from the registry).
    #[arg(long, required_unless_present = "sample")]
    pub project: Option<String>,
    /// The user running the query (a project member; the CLI is the operator's console).
    #[arg(long = "as", value_name = "USER", required_unless_present = "sample")]
    pub user: Option<String>,
    /// Run on sample-tier datasets instead (open to everyone): `--sample DATASET[,DATASET]`.
    #[arg(long, value_delimiter = ',', conflicts_with = "project")]
    pub sample: Option<Vec<String>>,
    /// The SQL (one SELECT).
    #[arg(long)]
    pub sql: String,
    /// Keep the result in the workspace as a named table later SQL can use.
    #[arg(long)]
    pub save: Option<String>,
    /// Rows shown.
    #[arg(long, default_value_t = 50)]
    pub max_rows: usize,
    /// SSK master CSVs for master_name() (default: none).
    #[arg(long, env = "MEDINFRA_MASTERS")]
    pub masters: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ApplicationCommand {
    /// Submit an application (the applicant becomes a member).
    Submit {
        #[arg(long = "as", value_name = "USER")]
        user: String,
        #[arg(long)]
        title: String,
        /// Datasets asked for (comma-separated).
        #[arg(long, value_delimiter = ',')]
        datasets: Vec<String>,
        /// pseudonymized, anonymized or sample.
        #[arg(long)]
        tier: String,
        #[arg(long)]
        purpose: String,
        /// Protocol text (or @FILE).
        #[arg(long, default_value = "")]
        protocol: String,
        /// Other members (comma-separated usernames).
        #[arg(long, value_delimiter = ',')]
        members: Vec<String>,
        /// Requested period in days from today.
        #[arg(long, default_value_t = 365)]
        days: i32,
        /// Ask to link the data with the NDB (連結利用; pseudonymized tier): the approved
        /// project sees the keyed linkage columns id1_keyed, id2_keyed, id5_keyed.
        #[arg(long)]
        ndb_linkage: bool,
    },
    /// A reviewer's decision: approve, reject or request_changes.
    Review {
        id: i64,
        #[arg(long = "as", value_name = "USER")]
        user: String,
        #[arg(long)]
        decision: String,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Applications with their status and history.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Request release of a saved result table: build the table, run the checks, show the
    /// outcome per cell. Nothing leaves until a reviewer approves.
    Request(ReleaseRequestArgs),
    /// A reviewer approves or rejects a request; approval writes a statistics dataset.
    Review {
        /// Request id (`PROJECT-N`).
        id: String,
        #[arg(long = "as", value_name = "USER")]
        user: String,
        #[arg(long, conflicts_with = "reject")]
        approve: bool,
        #[arg(long)]
        reject: bool,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Requests of a project and their status.
    List { project: String },
    /// A project's differential-privacy budget: shown, or set with --epsilon (operators).
    /// `release request --mitigation dp:EPSILON` spends it; with none set, DP is refused.
    Budget {
        project: String,
        /// The project's total epsilon (basic sequential composition over its DP releases).
        #[arg(long)]
        epsilon: Option<f64>,
        #[arg(long)]
        json: bool,
    },
    /// Write a released table as CSV or Parquet (anyone: it is public statistics).
    Download {
        id: String,
        #[arg(long, default_value = "csv")]
        format: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Deliver a pseudonymized project's data to a type I authorized user: the granted
    /// versions with the project's own pseudonyms, encrypted (age) to the user's
    /// organization's registered key, with a manifest and the no-onward-provision notice.
    Package {
        #[arg(long)]
        project: String,
        /// The receiving project member (an authorized user of a type I organization).
        #[arg(long = "for", value_name = "USER")]
        user: String,
        #[arg(long)]
        out: PathBuf,
    },
}

/// What a type I recipient runs on its side (no data directory needed).
#[derive(Debug, Subcommand)]
pub enum PackageCommand {
    /// Make a key pair: the secret identity file, and the public key (`age1...`) to register
    /// with `medinfra admin set-recipient-key`.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Decrypt, verify every file against the manifest, and unpack into a new directory.
    Open {
        file: PathBuf,
        #[arg(long)]
        identity: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Decrypt and verify without unpacking.
    Verify {
        file: PathBuf,
        #[arg(long)]
        identity: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ReleaseRequestArgs {
    #[arg(long)]
    pub project: String,
    #[arg(long = "as", value_name = "USER")]
    pub user: String,
    /// The saved result table the statistics are computed from.
    #[arg(long)]
    pub result: String,
    /// Row variables (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub rows: Vec<String>,
    /// Column variables (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub cols: Vec<String>,
    /// Statistic: count, sum, mean, median, min, max, std, mode.
    #[arg(long, default_value = "count")]
    pub statistic: String,
    /// Value column (for every statistic but count).
    #[arg(long)]
    pub value: Option<String>,
    /// The column saying whom each row is about (default: the first of person_id,
    /// person_token, patient_id, release_id in the result). Cells count distinct persons;
    /// release a row-level result, not a pre-aggregated one.
    #[arg(long)]
    pub person_column: Option<String>,
    /// Add totals.
    #[arg(long)]
    pub margins: bool,
    /// Mitigation: suppress (with secondary suppression), round:BASE, dp:EPSILON (person
    /// counts with discrete Laplace noise, spending the project's budget), or none.
    #[arg(long, default_value = "suppress")]
    pub mitigation: String,
    /// Checks' parameters (TOML); default: ACRO's defaults + the NDB rules.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// Mark session cookies Secure (when TLS terminates in front of the server; implied by
    /// --tls-cert).
    #[arg(long)]
    pub secure_cookies: bool,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// SSK master CSVs for `master_name()` in the workspace's SQL.
    #[arg(long, env = "MEDINFRA_MASTERS")]
    pub masters: Option<PathBuf>,
    /// Workspace queries per minute for each signed-in user (0: no limit); over it, 429
    /// with Retry-After.
    #[arg(long, default_value_t = 120)]
    pub queries_per_minute: usize,
    /// Queries per minute on the public sample for each client address (0: no limit).
    #[arg(long, default_value_t = 20)]
    pub public_queries_per_minute: usize,
    /// Rows of a pseudonymized (type II) project the web workspace shows each user per
    /// project and day; past it rows are withheld and the audit log gets an alert.
    #[arg(long, default_value_t = 5_000)]
    pub pseudonymized_rows_per_day: u64,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an organization.
    CreateOrg { name: String },
    /// Register an organization's public key (`age1...`) for encrypted packages.
    SetRecipientKey {
        org: String,
        #[arg(long)]
        public_key: String,
    },
    /// Create a user; the password is read from MEDINFRA_PASSWORD or the first line of stdin.
    CreateUser {
        username: String,
        /// provider, operator, reviewer, authorized_user, researcher or auditor.
        #[arg(long)]
        role: String,
        #[arg(long)]
        org: Option<String>,
    },
    /// Attach a government authorization (認定) to an organization.
    GrantAuthorization {
        org: String,
        number: String,
        /// I (extracts into the user's own environment) or II (remote workspace only).
        #[arg(long = "type")]
        kind: String,
        /// First valid day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last valid day, YYYY-MM-DD.
        #[arg(long)]
        to: String,
    },
    /// Revoke an authorization: access stops at once.
    RevokeAuthorization { number: String },
    /// Disable a user: their sessions and API tokens stop at the next request.
    DisableUser { username: String },
    /// Enable a disabled user again.
    EnableUser { username: String },
    /// Set a user's password (read from MEDINFRA_PASSWORD or the first line of stdin).
    ResetPassword { username: String },
    /// API tokens (never their secrets): everyone's, or one user's.
    Tokens {
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke an API token by its id (see `admin tokens`).
    RevokeToken { id: i64 },
    /// Close a project: its members lose access at once.
    CloseProject { project: String },
    /// Users, organizations and authorizations.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The delivery: a directory of provider directories (named by the 10-digit provider id)
    /// and/or receipt files placed by their IR/YK header.
    pub delivery: PathBuf,
    /// The research database's dataset name.
    #[arg(long, default_value = medinfra_pipeline::DEFAULT_RESEARCH)]
    pub research: String,
    /// Print the report as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// Reject a file when more than this share of its receipts is quarantined.
    #[arg(long, default_value_t = 0.5)]
    pub max_quarantined_share: f64,
    /// NDB-style extracts to build from the new pseudonymized research database
    /// (comma-separated: sampling, trial), each a new version of RESEARCH-ndb-KIND whose
    /// lineage names the version it came from. None by default: they re-read every claim.
    #[arg(long, value_delimiter = ',')]
    pub extracts: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum PersonsCommand {
    /// Persons, records, aliases, and what every run changed.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Why a record has its person: its events with their evidence, and the person's merges.
    /// RECORD is `PROVIDER:CHART`, `patient:PROVIDER:CHART` or `checkup:FACILITY:ID`.
    Explain {
        record: String,
        #[arg(long)]
        json: bool,
    },
    /// Pairwise precision, recall and F1 of the registry against a sample's truth dataset
    /// (`NAME-truth`, written by `medinfra synth`).
    Evaluate {
        #[arg(long)]
        truth: String,
        #[arg(long)]
        json: bool,
    },
    /// Every record with its person as CSV (record key, kind, provider, person_id): identified.
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Split a record off its person into a new one; a cannot-link keeps them apart later.
    Split {
        record: String,
        #[arg(long)]
        reason: String,
    },
    /// Link two records as one person now and in every later run (must-link).
    Merge {
        a: String,
        b: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProvidersCommand {
    /// Register one provider.
    Add {
        /// Provider id (10 digits: 医療機関コード with its prefecture, or a checkup
        /// institution's number).
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// The day (YYYY-MM-DD) its patients were notified: files are read from it on.
        #[arg(long)]
        notified_on: String,
    },
    /// Register every provider of a CSV file with the header `provider_id,name,notified_on`
    /// (as `medinfra synth --format provider` writes beside the files); providers already
    /// registered are left as they are. Nothing is registered if a line is bad.
    Import { file: PathBuf },
    /// The registered providers.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Withdraw a provider: its later files are refused; what it sent stays.
    Withdraw {
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OptoutCommand {
    /// Record a patient's opt-out as the provider reported it.
    Record {
        /// Provider id (10 digits).
        #[arg(long)]
        provider: String,
        /// The patient's chart number at that provider.
        #[arg(long)]
        patient: String,
    },
    /// Recorded opt-outs (chart numbers are identifiers: operators only).
    List {
        /// Only those not applied yet.
        #[arg(long)]
        pending: bool,
    },
    /// Write new versions of every dataset holding the pending persons without them.
    Apply,
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
    /// TOML mapping for CSV/Parquet exports: `table = "lab_results"` and column → canonical
    /// field (files in other formats are detected by content as usual).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
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
pub enum ExportCommand {
    /// FHIR R4 Bulk Data: Patient, Coverage, Encounter, Condition, Procedure, MedicationRequest
    /// and Observation as NDJSON files in OUTPUT, with `manifest.json` as a `$export` would
    /// return it. Only pseudonymized or anonymized datasets; audited.
    Fhir {
        /// The dataset (e.g. the pseudonymized research database).
        #[arg(long)]
        input: String,
        /// Its version (default: the latest).
        #[arg(long)]
        version: Option<i64>,
        /// The output directory (created; files in it are replaced).
        #[arg(long)]
        output: PathBuf,
        /// Print the manifest as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain; exits 1 and names the first bad entry on any edit, deletion or
    /// reordering — and, with `--anchors`, on entries cut off after an anchor.
    Verify {
        /// A file of anchors (`audit anchor --out`), kept outside the data directory.
        #[arg(long)]
        anchors: Option<PathBuf>,
    },
    /// Append the chain's head to FILE (JSON lines), to keep where whoever writes the data
    /// directory cannot: `verify --anchors FILE` then catches truncation and re-signing.
    Anchor {
        #[arg(long)]
        out: PathBuf,
    },
    /// The latest entries.
    List {
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}
