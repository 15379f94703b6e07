//! Arbitrary bytes → FHIR mapping (ingest's `fhir_map`): the first byte picks Bundle or
//! NDJSON, the rest is the file. Never panics; the outcome's invariants hold.
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
    let kind = if pick & 1 == 0 {
        UnitKind::FhirBundle
    } else {
        UnitKind::FhirNdjson
    };
    harness::run(
        kind,
        "unit.json",
        body,
        &IngestOptions::new(harness::PROVIDER),
    );
});
