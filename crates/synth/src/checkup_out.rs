//! Provider files: the generator's specific health checkups as 特定健診 CDA documents in zip
//! archives (`FACILITY/checkup/<facility>_00000000_<FY end><seq>_1.zip`, `ix08_V08.xml` index
//! plus `DATA/h….xml`), written through the format crate's archive writer. Item codes come from
//! `medinfra_model::checkup_items`, the table ingest reads them back with.
//!
//! One archive per facility and fiscal year (April–March) per flush of a chunk. The receiver
//! part of the archive name is `00000000` because an archive here gathers every insurer's
//! examinees of a facility. Memory: documents are buffered per chunk and written whenever
//! [`FLUSH_DOCUMENTS`] are pending; the sequence part of the name (chunk, flush) keeps names
//! unique across chunks and flushes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use medinfra_formats::checkup::{
    CheckupDocument, CheckupObservation, CheckupValue, DataFileName, write_archive_zip,
};
use medinfra_model::checkup_items::{
    ANSWER_CODE_SYSTEM, CHECKUP_ITEMS, ItemKind, URINE_CODE_SYSTEM, urine_code,
};

use crate::SynthError;

/// Folder under the facility's directory that holds its checkup archives.
pub const CHECKUP_DIR: &str = "checkup";

/// Documents buffered per chunk before archives are written.
pub const FLUSH_DOCUMENTS: usize = 4096;

/// An item value of one checkup, by canonical column name.
pub enum ItemValue<'a> {
    Number(f64),
    Symbol(&'a str),
    Flag(bool),
}

/// The checkup archives of one chunk.
pub struct CheckupOut {
    root: PathBuf,
    chunk: usize,
    flushes: usize,
    pending: BTreeMap<(String, i32), Vec<(DataFileName, CheckupDocument)>>,
    buffered: usize,
    pub archives: u64,
    pub documents: u64,
}

fn sink_err(reason: String) -> SynthError {
    SynthError::Sink {
        table: "checkup archives",
        reason,
    }
}

/// The observations of the given item values, in the order of the shared item table.
pub fn observations(values: &[(&str, ItemValue<'_>)]) -> Vec<CheckupObservation> {
    let mut out = Vec::new();
    for item in CHECKUP_ITEMS {
        let Some((_, v)) = values.iter().find(|(c, _)| *c == item.column) else {
            continue;
        };
        let value = match (item.kind, v) {
            (ItemKind::Quantity(unit), ItemValue::Number(x)) => CheckupValue::Quantity {
                // Shortest round-trip formatting: ingest parses the same f64 back.
                value: format!("{x}"),
                unit: unit.to_string(),
            },
            (ItemKind::Qualitative, ItemValue::Symbol(s)) => match urine_code(s) {
                Some(code) => CheckupValue::Coded {
                    code: code.to_string(),
                    code_system: URINE_CODE_SYSTEM.to_string(),
                    display_name: String::new(),
                },
                None => continue,
            },
            (ItemKind::YesNo, ItemValue::Flag(b)) => CheckupValue::Coded {
                code: if *b { "1" } else { "2" }.to_string(),
                code_system: ANSWER_CODE_SYSTEM.to_string(),
                display_name: String::new(),
            },
            _ => continue,
        };
        out.push(CheckupObservation {
            section: "01010".into(),
            code: item.codes[0].to_string(),
            code_system: String::new(),
            display_name: item.display_name.to_string(),
            not_performed: false,
            value,
            interpretation: String::new(),
        });
    }
    out
}

impl CheckupOut {
    pub fn new(root: &Path, chunk: usize) -> Self {
        CheckupOut {
            root: root.to_path_buf(),
            chunk,
            flushes: 0,
            pending: BTreeMap::new(),
            buffered: 0,
            archives: 0,
            documents: 0,
        }
    }

    /// Queue one examinee's document (its `facility_number` and `checkup_date` set).
    pub fn add(&mut self, doc: CheckupDocument) -> Result<(), SynthError> {
        let date = &doc.checkup_date;
        let (y, m) = (
            date.get(..4).and_then(|s| s.parse::<i32>().ok()),
            date.get(4..6).and_then(|s| s.parse::<u8>().ok()),
        );
        let (Some(y), Some(m)) = (y, m) else {
            return Err(sink_err("checkup date is not YYYYMMDD".into()));
        };
        let fiscal_year = if m >= 4 { y } else { y - 1 };
        let list = self
            .pending
            .entry((doc.facility_number.clone(), fiscal_year))
            .or_default();
        let name = DataFileName {
            prefix: 'h',
            facility: doc.facility_number.clone(),
            date: doc.checkup_date.clone(),
            seq: '1',
            kind: '1',
            serial: format!("{:06}", list.len() + 1),
        };
        list.push((name, doc));
        self.buffered += 1;
        if self.buffered >= FLUSH_DOCUMENTS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SynthError> {
        if self.buffered == 0 {
            return Ok(());
        }
        self.flushes += 1;
        for ((facility, fy), docs) in std::mem::take(&mut self.pending) {
            let folder = format!(
                "{facility}_00000000_{}0331{:02}{:03}_1",
                fy + 1,
                self.chunk + 1,
                self.flushes
            );
            let dir = self.root.join(&facility).join(CHECKUP_DIR);
            std::fs::create_dir_all(&dir)
                .map_err(|e| sink_err(format!("{}: {e}", dir.display())))?;
            let path = dir.join(format!("{folder}.zip"));
            let file = std::fs::File::create(&path)
                .map_err(|e| sink_err(format!("{}: {e}", path.display())))?;
            let out = std::io::BufWriter::new(file);
            let mut out = write_archive_zip(out, &folder, &docs)
                .map_err(|e| sink_err(format!("{}: {e}", path.display())))?;
            std::io::Write::flush(&mut out)
                .map_err(|e| sink_err(format!("{}: {e}", path.display())))?;
            self.archives += 1;
            self.documents += docs.len() as u64;
        }
        self.buffered = 0;
        Ok(())
    }

    /// Write what is pending. Returns (archives, documents) written by this chunk.
    pub fn finish(mut self) -> Result<(u64, u64), SynthError> {
        self.flush()?;
        Ok((self.archives, self.documents))
    }
}
