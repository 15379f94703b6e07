//! End to end: the sample generator's provider files (medical, DPC and pharmacy receipts, DPC
//! survey files, SS-MIX2 lab results, checkup archives) ingested provider by provider
//! reconcile exactly with the generator's own counts.

use std::collections::BTreeMap;

use arrow::record_batch::RecordBatch;
use medinfra_ingest::{FileStatus, IngestOptions, ingest};
use medinfra_model::CanonicalTable;
use medinfra_store::Store;
use medinfra_synth::{PartSink, SynthConfig, TableSink, generate};

/// Counts are taken from the summary; the canonical rows themselves are not needed here.
struct Discard;
impl PartSink for Discard {
    fn write(&mut self, _: &RecordBatch) -> Result<(), String> {
        Ok(())
    }
}
struct DiscardSink;
impl TableSink for DiscardSink {
    type Part = Discard;
    fn open(&self, _: CanonicalTable, _: usize) -> Result<Discard, String> {
        Ok(Discard)
    }
    fn close(&self, _: CanonicalTable, _: Discard) -> Result<(), String> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn synth_provider_files_reconcile_with_the_generator() {
    let files = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let config = SynthConfig {
        persons: 2_000,
        years: 1,
        provider_files: Some(files.path().to_path_buf()),
        ..SynthConfig::default()
    };
    let summary = generate(&config, &DiscardSink, &|_| {}).unwrap();
    assert!(summary.provider_lab_results > 0 && summary.provider_checkups > 0);
    assert!(summary.provider_pharmacy_receipts > 0 && summary.provider_dpc_stays > 0);
    assert_eq!(summary.provider_lab_results, summary.rows["lab_results"]);
    assert_eq!(summary.provider_checkups, summary.rows["checkups"]);
    let store = Store::open(data.path()).await.unwrap();
    let mut dirs: Vec<_> = std::fs::read_dir(files.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    let mut totals = BTreeMap::<String, i64>::new();
    // Rows and units per (file kind, table) over every accepted file.
    let mut by_kind = BTreeMap::<(String, String), u64>::new();
    for dir in dirs {
        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
        // Everything the generator wrote for the provider: receipts (medical, DPC, pharmacy),
        // dpc/ (EF, 様式1), ssmix2/, checkup/.
        let out = ingest(&store, &IngestOptions::new(&id), &[dir], &|_, _| {})
            .await
            .unwrap();
        for f in &out.files {
            assert_eq!(f.status, FileStatus::Accepted, "{}", out.to_text());
            assert_eq!(f.receipts_quarantined, 0, "{}", out.to_text());
            // Every payer's totals (HO, each KO by 負担区分) and the GO totals reconcile.
            let unreconciled = f.findings.iter().find(|x| {
                matches!(
                    x.kind,
                    medinfra_formats::FindingKind::ReceiptPointsMismatch
                        | medinfra_formats::FindingKind::TrailerPointsMismatch
                        | medinfra_formats::FindingKind::UnknownPayerShare
                )
            });
            assert!(unreconciled.is_none(), "{unreconciled:?}");
            *by_kind.entry((f.kind.clone(), "units".into())).or_default() += f.receipts_accepted;
            for (t, n) in &f.rows {
                *by_kind.entry((f.kind.clone(), t.clone())).or_default() += n;
            }
        }
        for (t, n) in out.version_rows {
            *totals.entry(t).or_default() += n;
        }
    }
    let k = |kind: &str, t: &str| {
        by_kind
            .get(&(kind.to_owned(), t.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    // Receipts: one claims row per RE, pharmacies included.
    assert_eq!(
        totals["claims"],
        (summary.provider_receipts + summary.provider_pharmacy_receipts) as i64
    );
    assert_eq!(
        k("uke-pharmacy", "units"),
        summary.provider_pharmacy_receipts
    );
    assert_eq!(
        k("uke-pharmacy", "claims"),
        summary.provider_pharmacy_receipts
    );
    assert!(k("uke-pharmacy", "drugs") > 0);
    // DPC survey files: one item row per EF row; one admission per 様式1 stay.
    assert_eq!(k("dpc-ef", "units"), summary.provider_dpc_ef_rows);
    assert_eq!(
        k("dpc-ef", "procedures") + k("dpc-ef", "drugs") + k("dpc-ef", "devices"),
        summary.provider_dpc_ef_rows
    );
    assert_eq!(k("dpc-ff1", "units"), summary.provider_dpc_ff1_rows);
    assert_eq!(k("dpc-ff1", "admissions"), summary.provider_dpc_stays);
    // Receipts alone reproduce the generator's claim tables exactly (plus the DPC coding
    // data's procedures); 様式1 its admissions.
    for t in ["claims", "diagnoses", "procedures", "drugs", "devices"] {
        let from_receipts: u64 = ["uke-medical", "uke-dpc", "uke-pharmacy"]
            .iter()
            .map(|kind| k(kind, t))
            .sum();
        let coding = if t == "procedures" {
            summary.provider_dpc_coding_rows
        } else {
            0
        };
        assert_eq!(from_receipts, summary.rows[t] + coding, "{t} from receipts");
    }
    // Every structure the generator writes was written, and nothing of it was lost: 公費単独
    // and 公費併用 receipts, grouped lines (accepted above: no receipt quarantined), CO/SJ.
    assert!(summary.provider_public_only_receipts > 0);
    assert!(summary.provider_public_combined_receipts > 0);
    assert!(summary.provider_grouped_lines > 0);
    assert!(summary.provider_dpc_coding_rows > 0);
    assert_eq!(
        k("uke-medical", "claim_notes") + k("uke-dpc", "claim_notes"),
        summary.provider_note_records
    );
    assert_eq!(k("dpc-ff1", "admissions"), summary.rows["admissions"]);
    // Lab results and checkups: exactly the generator's canonical tables.
    assert_eq!(totals["lab_results"], summary.rows["lab_results"] as i64);
    assert_eq!(totals["checkups"], summary.rows["checkups"] as i64);
}
