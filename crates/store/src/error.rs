use std::path::PathBuf;

/// Everything that can go wrong in the store. Messages name the path and the reason; they
/// never contain data values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("catalog: {0}")]
    Catalog(#[from] sqlx::Error),
    #[error("catalog migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{path}: parquet: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("{path}: manifest: {source}")]
    Manifest {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "invalid dataset name {0:?}: use 1-64 characters a-z, 0-9, '_' or '-', starting with a letter or digit"
    )]
    InvalidName(String),
    #[error(
        "dataset {name:?} is {existing} but the new version is {requested}: a dataset never changes tier"
    )]
    TierChange {
        name: String,
        existing: medinfra_model::Tier,
        requested: medinfra_model::Tier,
    },
    #[error("no dataset named {0:?}")]
    NoSuchDataset(String),
    #[error("dataset {name:?} has no version {version}")]
    NoSuchVersion { name: String, version: i64 },
    #[error("table {table:?}: part schema differs from the table's first part")]
    SchemaMismatch { table: String },
    #[error("dataset {0:?} appears twice in one commit: a batch commits one version per dataset")]
    DuplicateInBatch(String),
    #[error("catalog configuration: {0}")]
    CatalogConfig(String),
    #[error("catalog holds invalid value: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}
