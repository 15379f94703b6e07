//! Electronic receipt files (UKE: medical, DPC, pharmacy) as a submission unit: the file is
//! streamed receipt by receipt through `formats::uke::ReceiptReader`, each receipt checked and
//! mapped (`uke_map.rs`) or quarantined, and the file rejected whole by the rules of the format
//! (another provider's IR, structural damage, no header, GO totals under `--strict`) before the
//! common policy of `unit.rs`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use medinfra_formats::uke::{FileKind, ReceiptReader, Record};
use medinfra_formats::{FindingKind, Severity};

use crate::IngestError;
use crate::inputs::io_err;
use crate::report::FileOutcome;
use crate::uke_map::{ClaimKind, FileRows, map_receipt};
use crate::unit::{FileParts, Unit, UnitCx, UnitMapper, UnitRead};

/// The key a corrected re-submission replaces: the billing month (IR 請求年月), plus the volume
/// (IR マルチボリューム識別情報) when the month was sent in several volumes.
fn billing_key(ir: &medinfra_formats::uke::Ir) -> Option<String> {
    let month = ir
        .billing_month
        .map(|m| format!("{:04}{:02}", m.year, m.month))?;
    Some(match ir.multi_volume.as_str() {
        "" | "00" => month,
        v => format!("{month}/{v}"),
    })
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Medical => "uke-medical",
        FileKind::Dpc => "uke-dpc",
        FileKind::Pharmacy => "uke-pharmacy",
        FileKind::Unknown => "unknown",
    }
}

/// One receipt file (medical, DPC or pharmacy), streamed receipt by receipt.
pub(crate) struct UkeFile<'a>(pub Unit<'a>);

impl UnitMapper for UkeFile<'_> {
    const UNIT: &'static str = "receipt";
    type Pending = FileRows;

    fn read(
        self,
        cx: &UnitCx<'_>,
        parts: &mut FileParts,
    ) -> Result<UnitRead<FileRows>, IngestError> {
        let Unit {
            input,
            sha256,
            bytes,
            progress,
        } = self.0;
        let path: &Path = &input.path;
        let (writer, opts, key) = (cx.writer, cx.opts, cx.key);
        let label = path.display().to_string();
        let file = File::open(path).map_err(|e| io_err(path, e))?;
        let counted = CountingReader {
            inner: file,
            read: 0,
            progress,
            reported: 0,
        };
        let mut reader =
            ReceiptReader::from_reader(BufReader::with_capacity(1 << 20, counted), label.clone());
        let mut rows = FileRows::default();
        let mut outcome = FileOutcome::new(&label, sha256, bytes, "unknown");
        let mut provider_checked = false;
        let mut rejection: Option<String> = None;
        while let Some(receipt) = reader.next() {
            if !provider_checked {
                provider_checked = true;
                // IR, or a pharmacy's YK read in the IR order (formats::uke::pharmacy).
                let header = reader
                    .header()
                    .and_then(|h| medinfra_formats::uke::pharmacy::header(&h.record));
                if let Some(ir) = &header {
                    let from_file =
                        format!("{}{}{}", ir.prefecture, ir.fee_schedule, ir.facility_code);
                    if from_file != opts.provider_id {
                        rejection = Some("the IR header names another provider (prefecture + fee schedule + facility code)".into());
                    }
                    outcome.billing_month = billing_key(ir);
                }
            }
            let mut receipt = receipt;
            let pharmacy = reader.kind() == FileKind::Pharmacy;
            if pharmacy {
                // The assumed pharmacy field order lives in formats (uke::pharmacy).
                medinfra_formats::uke::pharmacy::type_pharmacy_receipt(&mut receipt, &label);
            }
            outcome.receipts += 1;
            if rejection.is_some() {
                continue;
            }
            let points = receipt.claimed_points();
            let records = receipt.records.len() as u64;
            if receipt.is_quarantined() {
                outcome.receipts_quarantined += 1;
                outcome.points_quarantined += points;
                outcome.cost_quarantined(
                    receipt
                        .findings
                        .iter()
                        .filter(|f| f.severity >= Severity::ReceiptQuarantine)
                        .map(|f| format!("{:?}", f.kind)),
                    records,
                );
                outcome.findings.extend(receipt.findings.iter().cloned());
                continue;
            }
            let claim_kind = match reader.kind() {
                FileKind::Dpc => ClaimKind::Dpc,
                FileKind::Pharmacy => ClaimKind::Pharmacy,
                _ => ClaimKind::Medical,
            };
            match map_receipt(
                &mut rows,
                &receipt,
                &label,
                &opts.provider_id,
                key,
                claim_kind,
                &opts.masters,
            ) {
                Ok(()) => {
                    outcome.receipts_accepted += 1;
                    outcome.points_accepted += points;
                    outcome.cost_warnings(&receipt.findings);
                    outcome.findings.extend(receipt.findings.iter().cloned());
                }
                Err(problem) => {
                    outcome.receipts_quarantined += 1;
                    outcome.points_quarantined += points;
                    outcome.cost_quarantined([format!("mapping: {}", problem.reason)], records);
                    outcome.problems.push(problem);
                }
            }
            parts.flush_all(writer, key, &mut rows, false)?;
        }
        let kind = reader.kind();
        outcome.kind = kind_name(kind).into();
        let summary = reader.finish();
        if outcome.billing_month.is_none()
            && let Some(ir) = summary
                .header
                .as_ref()
                .and_then(|h| medinfra_formats::uke::pharmacy::header(&h.record))
        {
            outcome.billing_month = billing_key(&ir);
        }
        outcome.cost_warnings(&summary.findings);
        outcome.findings.extend(summary.findings.iter().cloned());
        if let Some(Record::Go(go)) = summary.trailer.as_ref().map(|t| &t.record) {
            outcome.declared = Some(crate::report::Declared {
                receipts: go.receipt_count.map(|n| n.value()),
                points: go.total_points.map(|n| n.value()),
            });
        }
        if rejection.is_none() && summary.is_rejected() {
            rejection = Some("structural damage (see the file-level findings)".into());
        }
        if rejection.is_none() && kind == FileKind::Unknown {
            rejection = Some("not an electronic receipt file (no IR or YK header)".into());
        }
        if rejection.is_none()
            && opts.strict
            && summary.findings.iter().any(|f| {
                matches!(
                    f.kind,
                    FindingKind::TrailerCountMismatch | FindingKind::TrailerPointsMismatch
                )
            })
        {
            rejection = Some("GO totals disagree with the receipts (--strict)".into());
        }
        Ok(UnitRead {
            outcome,
            pending: rows,
            rejection,
        })
    }

    fn write_pending(
        cx: &UnitCx<'_>,
        parts: &mut FileParts,
        mut rows: FileRows,
    ) -> Result<(), IngestError> {
        rows.finish_cards(&cx.opts.provider_id);
        parts.flush_all(cx.writer, cx.key, &mut rows, true)
    }
}

/// Reports the bytes read to the progress bar, every MiB and at the end.
struct CountingReader<'a, R> {
    inner: R,
    read: u64,
    reported: u64,
    progress: &'a dyn Fn(u64),
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read - self.reported >= 1 << 20 || n == 0 {
            (self.progress)(self.read - self.reported);
            self.reported = self.read;
        }
        Ok(n)
    }
}
