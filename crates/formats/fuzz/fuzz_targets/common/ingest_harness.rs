//! Shared by the mapper targets (`fhir_map`, `dpc_map`, `table_map`): one store in a scratch
//! directory for the whole fuzzing process; each input is written to a file, mapped into a
//! fresh version writer of that store, checked, and dropped uncommitted (its staging
//! directory goes with it).

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use medinfra_ingest::fuzzing::{UnitKind, map_unit};
use medinfra_ingest::{FileStatus, IngestError, IngestOptions};
use medinfra_model::Tier;
use medinfra_store::{Lineage, Store};

/// The provider the seeds are written for (DPC 施設コード 139999999, FHIR facility system).
pub const PROVIDER: &str = "1319999999";

struct Harness {
    // Keeps the runtime the store's pool was opened on alive.
    _rt: tokio::runtime::Runtime,
    store: Store,
    input: PathBuf,
}

fn harness() -> &'static Mutex<Harness> {
    static H: OnceLock<Mutex<Harness>> = OnceLock::new();
    H.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("medinfra-fuzz-{}", std::process::id()));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let store = rt
            .block_on(Store::open(&root.join("data")))
            .expect("scratch store");
        let input = root.join("input");
        std::fs::create_dir_all(&input).expect("input dir");
        Mutex::new(Harness {
            _rt: rt,
            store,
            input,
        })
    })
}

/// Map `data` as a unit of `kind` with `opts`; panics (the fuzzer's finding) only if the
/// mapper panics or breaks the outcome's invariants.
pub fn run(kind: UnitKind, file_name: &str, data: &[u8], opts: &IngestOptions) {
    let h = harness().lock().unwrap_or_else(|e| e.into_inner());
    let path = h.input.join(file_name);
    std::fs::write(&path, data).expect("write input");
    let writer = h
        .store
        .begin("fuzz", Tier::Identified, Lineage::default())
        .expect("begin");
    match map_unit(&writer, opts, kind, &path) {
        Ok(o) => {
            // Every problem names the file and a reason; a rejected file gives a reason and
            // keeps nothing; counts add up.
            for p in &o.problems {
                assert!(!p.file.is_empty() && !p.reason.is_empty(), "{p:?}");
            }
            match o.status {
                FileStatus::Rejected => {
                    assert!(o.rejection.is_some());
                    assert_eq!(o.receipts_accepted, 0);
                    assert!(o.rows.is_empty());
                }
                _ => assert!(o.receipts_accepted > 0),
            }
            assert!(
                o.receipts_accepted + o.receipts_quarantined <= o.receipts.max(1) * 2,
                "accepted {} + quarantined {} of {}",
                o.receipts_accepted,
                o.receipts_quarantined,
                o.receipts
            );
            let _ = serde_json::to_string(&o).expect("outcome serializes");
        }
        // Errors are for the store and I/O, and for an unusable mapping; the message must
        // still be printable.
        Err(e @ (IngestError::Io { .. } | IngestError::Store(_) | IngestError::Mapping(_))) => {
            let _ = e.to_string();
        }
        Err(e) => panic!("unexpected error kind for bad input: {e}"),
    }
    drop(writer);
}
