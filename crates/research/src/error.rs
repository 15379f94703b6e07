use thiserror::Error;

#[derive(Debug, Error)]
pub enum ResearchError {
    /// `can` (or separation of duties) refused; the rule is named, never the data.
    #[error("access denied: {what} (rule {rule})")]
    Denied { what: String, rule: &'static str },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Store(#[from] medinfra_store::StoreError),
    #[error(transparent)]
    Registry(#[from] medinfra_govern::RegistryError),
    #[error(transparent)]
    Audit(#[from] medinfra_govern::AuditError),
    #[error(transparent)]
    Keys(#[from] medinfra_pseudo::keys::KeyError),
    #[error(transparent)]
    Analysis(#[from] medinfra_analysis::AnalysisError),
    #[error(transparent)]
    Disclosure(#[from] medinfra_disclosure::DisclosureError),
    #[error("result table: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("result table: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ResearchError + '_ {
    move |source| ResearchError::Io {
        path: path.display().to_string(),
        source,
    }
}
