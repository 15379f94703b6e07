//! Where a data directory's catalog lives, and opening it.
//!
//! Two backends behind one connection type ([`sqlx::AnyPool`]), so every query in the store
//! and in governance is written once:
//!
//! - **SQLite** (the embedded default): `DATA_DIR/catalog.sqlite`, WAL, `synchronous=FULL`.
//! - **PostgreSQL** (`--catalog postgres://…`, or `MEDINFRA_CATALOG`): for several nodes that
//!   share one data directory. The data directory's catalog is one schema in that database,
//!   named in `DATA_DIR/catalog.json` when the directory is first opened; the binding keeps a
//!   data directory from ever being paired with another directory's catalog (the versions it
//!   lists would not be there), and lets one database hold several environments.
//!
//! Queries are written in the subset both dialects accept: `$N` placeholders (SQLite reads
//! `$N` as the N-th parameter), `RETURNING`, `ON CONFLICT … DO NOTHING`, integers for flags.
//! The two things that differ are here: the migrations (one numbered set per dialect, the
//! same versions and names, checked by a test) and taking a table's write lock
//! ([`Store::begin_locked`](crate::Store::begin_locked)).

use std::path::Path;
use std::sync::Once;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::Digest;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

use crate::{StoreError, fsutil};

/// The environment variable that selects the catalog when no `--catalog` is given.
pub const CATALOG_ENV: &str = "MEDINFRA_CATALOG";

/// Where the catalog is.
#[derive(Clone, PartialEq, Eq)]
pub enum CatalogLocation {
    /// `DATA_DIR/catalog.sqlite`.
    Embedded,
    /// A PostgreSQL connection URL (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl CatalogLocation {
    /// `sqlite` (or empty) for the embedded catalog, or a `postgres://` URL.
    pub fn parse(s: &str) -> Result<CatalogLocation, StoreError> {
        let s = s.trim();
        if s.is_empty() || s == "sqlite" || s == "embedded" {
            Ok(CatalogLocation::Embedded)
        } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(CatalogLocation::Postgres(s.to_string()))
        } else {
            Err(StoreError::CatalogConfig(
                "the catalog is `sqlite` (DATA_DIR/catalog.sqlite) or a postgres:// URL".into(),
            ))
        }
    }

    /// From [`CATALOG_ENV`]; the embedded catalog when it is unset.
    pub fn from_env() -> Result<CatalogLocation, StoreError> {
        match std::env::var(CATALOG_ENV) {
            Ok(v) => CatalogLocation::parse(&v),
            Err(std::env::VarError::NotPresent) => Ok(CatalogLocation::Embedded),
            Err(std::env::VarError::NotUnicode(_)) => Err(StoreError::CatalogConfig(format!(
                "{CATALOG_ENV} is not valid UTF-8"
            ))),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            CatalogLocation::Embedded => Backend::Sqlite,
            CatalogLocation::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Never prints the URL: it may carry a password.
impl std::fmt::Debug for CatalogLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CatalogLocation::Embedded => f.write_str("Embedded"),
            CatalogLocation::Postgres(_) => f.write_str("Postgres(…)"),
        }
    }
}

/// The database behind a catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// `DATA_DIR/catalog.json`: which catalog a data directory belongs to.
#[derive(Debug, Serialize, Deserialize)]
struct Binding {
    backend: Backend,
    /// The PostgreSQL schema holding this directory's catalog.
    schema: String,
}

const BINDING_FILE: &str = "catalog.json";
const SQLITE_FILE: &str = "catalog.sqlite";

/// Open the catalog of the data directory `root` (already created), run the migrations, and
/// return the pool.
pub(crate) async fn open(root: &Path, location: &CatalogLocation) -> Result<AnyPool, StoreError> {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    let pool = match location {
        CatalogLocation::Embedded => open_sqlite(root).await?,
        CatalogLocation::Postgres(url) => open_postgres(root, url).await?,
    };
    Migrator::new(EmbeddedMigrations(location.backend()))
        .await?
        .run(&pool)
        .await?;
    Ok(pool)
}

async fn open_sqlite(root: &Path) -> Result<AnyPool, StoreError> {
    if let Some(binding) = read_binding(root)? {
        return Err(StoreError::CatalogConfig(format!(
            "{}: this data directory's catalog is in {} (schema {}); pass the same --catalog (or {CATALOG_ENV}) it was created with",
            root.join(BINDING_FILE).display(),
            binding.backend.as_str(),
            binding.schema
        )));
    }
    crate::fsutil::make_private_file(&root.join(SQLITE_FILE))?;
    // The URL form of the file name (percent-encoded), which is how `Any` takes options.
    let url = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(root.join(SQLITE_FILE))
        .create_if_missing(true)
        .to_url_lossy();
    let options = AnyConnectOptions::from_url(&url)?;
    Ok(AnyPoolOptions::new()
        // Readers run in parallel under WAL; the server serves many requests at once.
        .max_connections(8)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;",
                )
                .await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await?)
}

async fn open_postgres(root: &Path, url: &str) -> Result<AnyPool, StoreError> {
    if root.join(SQLITE_FILE).exists() {
        return Err(StoreError::CatalogConfig(format!(
            "{}: this data directory's catalog is the embedded SQLite file; open it without --catalog (or {CATALOG_ENV})",
            root.join(SQLITE_FILE).display()
        )));
    }
    let schema = match read_binding(root)? {
        Some(b) => b.schema,
        None => bind_new_schema(root)?,
    };
    let options = AnyConnectOptions::from_url(&url.parse().map_err(|_| {
        StoreError::CatalogConfig("the postgres:// catalog URL does not parse".into())
    })?)?;
    // Several nodes may open the same directory at once: IF NOT EXISTS, and a lost race is
    // fine as long as the schema is there afterwards.
    let mut conn = sqlx::AnyConnection::connect_with(&options).await?;
    let created = conn
        .execute(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}"
        )))
        .await;
    if let Err(e) = created {
        let exists = sqlx::query("SELECT 1 FROM pg_namespace WHERE nspname = $1")
            .bind(&schema)
            .fetch_optional(&mut conn)
            .await?
            .is_some();
        if !exists {
            return Err(e.into());
        }
    }
    conn.close().await?;
    let search_path = format!("SET search_path TO {schema}");
    Ok(AnyPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _| {
            let sql = search_path.clone();
            Box::pin(async move {
                conn.execute(sqlx::AssertSqlSafe(sql)).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await?)
}

fn read_binding(root: &Path) -> Result<Option<Binding>, StoreError> {
    let path = root.join(BINDING_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(&path, e)),
    };
    let binding: Binding =
        serde_json::from_slice(&bytes).map_err(|source| StoreError::Manifest {
            path: path.clone(),
            source,
        })?;
    // The schema name goes into SQL text: only the form this module writes is accepted.
    let valid = binding
        .schema
        .strip_prefix("medinfra_")
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if !valid {
        return Err(StoreError::CatalogConfig(format!(
            "{}: schema must be medinfra_ followed by 16 hex digits",
            path.display()
        )));
    }
    Ok(Some(binding))
}

/// Name a new schema for this directory and record it (create-new: when two nodes race, the
/// loser reads the winner's).
fn bind_new_schema(root: &Path) -> Result<String, StoreError> {
    let path = root.join(BINDING_FILE);
    // Unique, not secret: the directory, the time and the process, hashed.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let seed = format!("{}\0{nanos}\0{}", root.display(), std::process::id());
    let digest = hex::encode(sha2::Sha256::digest(seed.as_bytes()));
    let binding = Binding {
        backend: Backend::Postgres,
        schema: format!("medinfra_{}", &digest[..16]),
    };
    let bytes = serde_json::to_vec_pretty(&binding).map_err(|source| StoreError::Manifest {
        path: path.clone(),
        source,
    })?;
    match fsutil::create_file_whole(&path, &bytes, 0o644) {
        Ok(true) => {
            fsutil::sync_dir(root)?;
            Ok(binding.schema)
        }
        // Another node bound the directory first: use its schema.
        Ok(false) => read_binding(root)?
            .map(|b| b.schema)
            .ok_or_else(|| StoreError::CatalogConfig(format!("{}: unreadable", path.display()))),
        Err(e) => Err(StoreError::io(&path, e)),
    }
}

/// The catalog migrations, embedded in the binary. Listed by hand rather than with
/// `sqlx::migrate!` so the build needs no proc-macro copy of the database drivers.
/// One list per dialect: the same versions and names, in each dialect's DDL.
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "catalog",
        include_str!("../migrations/sqlite/0001_catalog.sql"),
        include_str!("../migrations/postgres/0001_catalog.sql"),
    ),
    (
        2,
        "submissions",
        include_str!("../migrations/sqlite/0002_submissions.sql"),
        include_str!("../migrations/postgres/0002_submissions.sql"),
    ),
    (
        3,
        "audit",
        include_str!("../migrations/sqlite/0003_audit.sql"),
        include_str!("../migrations/postgres/0003_audit.sql"),
    ),
    (
        4,
        "registry",
        include_str!("../migrations/sqlite/0004_registry.sql"),
        include_str!("../migrations/postgres/0004_registry.sql"),
    ),
    (
        5,
        "audit_checkpoints",
        include_str!("../migrations/sqlite/0005_audit_checkpoints.sql"),
        include_str!("../migrations/postgres/0005_audit_checkpoints.sql"),
    ),
    (
        6,
        "optouts",
        include_str!("../migrations/sqlite/0006_optouts.sql"),
        include_str!("../migrations/postgres/0006_optouts.sql"),
    ),
    (
        7,
        "registry_generation",
        include_str!("../migrations/sqlite/0007_registry_generation.sql"),
        include_str!("../migrations/postgres/0007_registry_generation.sql"),
    ),
    (
        8,
        "recipient_keys",
        include_str!("../migrations/sqlite/0008_recipient_keys.sql"),
        include_str!("../migrations/postgres/0008_recipient_keys.sql"),
    ),
    (
        9,
        "optouts_per_provider",
        include_str!("../migrations/sqlite/0009_optouts_per_provider.sql"),
        include_str!("../migrations/postgres/0009_optouts_per_provider.sql"),
    ),
    (
        10,
        "token_expiry",
        include_str!("../migrations/sqlite/0010_token_expiry.sql"),
        include_str!("../migrations/postgres/0010_token_expiry.sql"),
    ),
    (
        11,
        "providers",
        include_str!("../migrations/sqlite/0011_providers.sql"),
        include_str!("../migrations/postgres/0011_providers.sql"),
    ),
    (
        12,
        "ndb_linkage",
        include_str!("../migrations/sqlite/0012_ndb_linkage.sql"),
        include_str!("../migrations/postgres/0012_ndb_linkage.sql"),
    ),
    (
        13,
        "dp_budgets",
        include_str!("../migrations/sqlite/0013_dp_budgets.sql"),
        include_str!("../migrations/postgres/0013_dp_budgets.sql"),
    ),
    (
        14,
        "row_views",
        include_str!("../migrations/sqlite/0014_row_views.sql"),
        include_str!("../migrations/postgres/0014_row_views.sql"),
    ),
];

#[derive(Debug)]
struct EmbeddedMigrations(Backend);

type BoxDynError = Box<dyn std::error::Error + Send + Sync>;

impl MigrationSource<'static> for EmbeddedMigrations {
    fn resolve(
        self,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>>
    {
        Box::pin(async move {
            Ok(MIGRATIONS
                .iter()
                .map(|(v, d, sqlite, postgres)| {
                    let sql = match self.0 {
                        Backend::Sqlite => *sqlite,
                        Backend::Postgres => *postgres,
                    };
                    Migration::new(
                        *v,
                        (*d).into(),
                        MigrationType::Simple,
                        sqlx::SqlStr::from_static(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table and column of one dialect's migrations exists in the other's, with the
    /// same NOT NULL, so queries written once mean the same on both.
    #[test]
    fn both_dialects_declare_the_same_tables_and_columns() {
        let columns =
            |pick: fn(&(i64, &'static str, &'static str, &'static str)) -> &'static str| {
                let mut out = std::collections::BTreeSet::new();
                for m in MIGRATIONS {
                    let sql = pick(m);
                    let mut table = String::new();
                    for line in sql.lines() {
                        let line = line.trim();
                        if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                            table = rest.trim_end_matches(" (").trim().to_string();
                        } else if let Some(rest) = line.strip_prefix("ALTER TABLE ") {
                            let mut parts = rest.split_whitespace();
                            let t = parts.next().unwrap_or_default();
                            let col = parts.nth(2).unwrap_or_default();
                            out.insert(format!("{t}.{col}"));
                        } else if line.starts_with(')') {
                            table.clear();
                        } else if !table.is_empty()
                            && !line.starts_with("--")
                            && !line.starts_with("PRIMARY KEY")
                            && !line.starts_with("UNIQUE")
                            && let Some(col) = line.split_whitespace().next()
                        {
                            out.insert(format!(
                                "{table}.{col} not_null={}",
                                line.contains("NOT NULL") || line.contains("PRIMARY KEY")
                            ));
                        }
                    }
                }
                out
            };
        let sqlite = columns(|m| m.2);
        let postgres = columns(|m| m.3);
        assert!(sqlite.len() > 80, "parsed too few columns: {sqlite:?}");
        assert_eq!(sqlite, postgres);
    }

    #[test]
    fn catalog_locations_parse_and_never_print_the_url() {
        assert_eq!(
            CatalogLocation::parse("sqlite").ok(),
            Some(CatalogLocation::Embedded)
        );
        let pg = CatalogLocation::parse("postgres://u:secret@db/medinfra").ok();
        assert_eq!(pg.as_ref().map(|l| l.backend()), Some(Backend::Postgres));
        assert!(!format!("{pg:?}").contains("secret"));
        assert!(CatalogLocation::parse("mysql://db").is_err());
    }
}
