//! The researcher's services, shared by the CLI (`medinfra query`, `medinfra release`) and the
//! web UI: opening a project's remote analysis workspace from the registry (its tier, granted
//! versions, the key its tokens were made with), and the release flow — a request runs the
//! output checks of `medinfra-disclosure` on a saved result, a reviewer decides, an approved
//! table becomes a `statistics` dataset version with its provenance and enters the project's
//! release ledger.
//!
//! Every action asks `medinfra_govern::can` and writes an audit record first; the only extra
//! rule here (a reviewer may not decide on their own request) can only deny. This crate must
//! never decide access by itself, never write outside `DATA_DIR/workspaces/PROJECT` and the
//! store, and never put a key or a row of data in an error message.

mod error;
pub mod release;
pub mod session;

pub use error::ResearchError;
pub use release::{
    ReleaseRequest, ReleaseSpec, ReleaseStatus, cell_counts, list_releases, load_release,
    parse_mitigation, parse_statistic, pending_releases, privacy_budget, released_version,
    request_path, request_release, review_release, set_privacy_budget,
};
pub use session::{Opening, master_key, open_workspace};
