//! Arbitrary bytes → DPC survey mapping (ingest's `dpc_map`: EF, 様式1, D): the first byte
//! picks the kind, the rest is the file. Never panics; the outcome's invariants hold.
#![no_main]

#[path = "common/ingest_harness.rs"]
mod harness;

use libfuzzer_sys::fuzz_target;
use medinfra_ingest::IngestOptions;
use medinfra_ingest::fuzzing::UnitKind;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let kind = match pick % 3 {
        0 => UnitKind::DpcEf,
        1 => UnitKind::DpcFf1,
        _ => UnitKind::DpcD,
    };
    harness::run(
        kind,
        "unit.txt",
        body,
        &IngestOptions::new(harness::PROVIDER),
    );
});
