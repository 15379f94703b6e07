//! Provider files: the generator's lab results as an SS-MIX2 standardized storage per provider
//! (`PROVIDER/ssmix2/<PID[0:3]>/<PID[3:6]>/<PID>/<YYYYMMDD>/OML-11/…`), one OUL^R22 message
//! (data type OML-11) per lab visit with one JLAC10-coded OBX per result, written through the
//! format crate's SS-MIX2 writer (ISO-2022-JP, CR segments).
//!
//! Memory: each message is written as soon as it is built; nothing accumulates. File names
//! cannot collide across chunks: they carry the patient's chart number (one person belongs to
//! one chunk) and an order number made of the chunk and a per-chunk counter.

use std::path::{Path, PathBuf};

use medinfra_formats::ssmix2::hl7::encode_iso2022jp;
use medinfra_formats::ssmix2::{
    Header, Observation, ParsedMessage, Patient, PersonName, StoragePath, Visit, write_message,
};

use crate::SynthError;

/// Folder under the provider's directory that holds its storage root.
pub const SSMIX2_DIR: &str = "ssmix2";

/// One lab result of a message.
pub struct LabLine<'a> {
    pub jlac10: &'a str,
    pub analyte: &'a str,
    pub value: f64,
    pub unit: &'a str,
}

/// Who the message is about (as the provider registered the patient).
pub struct LabPatient<'a> {
    pub chart: &'a str,
    pub kanji: &'a str,
    pub kana: &'a str,
    pub sex: u8,
    pub birth: &'a str,
    pub postcode: &'a str,
}

/// The SS-MIX2 messages of one chunk.
pub struct Ssmix2Out {
    root: PathBuf,
    chunk: u64,
    counter: u64,
    pub messages: u64,
    pub results: u64,
}

impl Ssmix2Out {
    pub fn new(root: &Path, chunk: usize) -> Self {
        Ssmix2Out {
            root: root.to_path_buf(),
            chunk: chunk as u64,
            counter: 0,
            messages: 0,
            results: 0,
        }
    }

    /// Write one OUL^R22 message for `provider_id` with `lines`, taken on `date` (`YYYYMMDD`).
    pub fn add(
        &mut self,
        provider_id: &str,
        patient: &LabPatient<'_>,
        date: &str,
        lines: &[LabLine<'_>],
    ) -> Result<(), SynthError> {
        if lines.is_empty() {
            return Ok(());
        }
        self.counter += 1;
        // 15 digits: chunk (≤ 98, see SynthConfig::validate) then a 12-digit counter.
        let order_no = format!("{:03}{:012}", self.chunk + 1, self.counter);
        let at = format!("{date}0900");
        // A name the message cannot carry in ISO-2022-JP (half-width kana, characters outside
        // JIS X 0208) is left out rather than altered: lab results do not depend on it.
        let mut names = Vec::new();
        for (text, rep) in [(patient.kanji, "I"), (patient.kana, "P")] {
            if text.is_empty() || encode_iso2022jp(text).is_none() {
                continue;
            }
            let (family, given) = text.split_once(['　', ' ']).unwrap_or((text, ""));
            names.push(PersonName {
                family: family.to_string(),
                given: given.to_string(),
                representation: rep.into(),
            });
        }
        let observations = lines
            .iter()
            .enumerate()
            .map(|(i, l)| Observation {
                order_no: order_no.clone(),
                specimen: "023".into(),
                set_id: (i + 1).to_string(),
                value_type: "NM".into(),
                code: l.jlac10.to_string(),
                name: l.analyte.to_string(),
                coding_system: "JC10".into(),
                // Rust's shortest round-trip formatting: the reader parses the same f64 back.
                value: format!("{}", l.value),
                unit: l.unit.to_string(),
                status: "F".into(),
                observed_at: at.clone(),
                ..Observation::default()
            })
            .collect();
        let content = ParsedMessage {
            header: Header {
                sending_application: "MEDINFRA-SYNTH".into(),
                sending_facility: provider_id.to_string(),
                created_at: at.clone(),
                message_code: "OUL".into(),
                trigger_event: "R22".into(),
                structure: "OUL_R22".into(),
                control_id: order_no.clone(),
                ..Header::default()
            },
            patient: Patient {
                id: patient.chart.to_string(),
                names,
                birth_date: patient.birth.to_string(),
                sex: if patient.sex == 1 { "M" } else { "F" }.into(),
                postal_code: patient.postcode.to_string(),
                address: String::new(),
            },
            visit: Some(Visit {
                patient_class: "O".into(),
                ..Visit::default()
            }),
            observations,
            prescriptions: Vec::new(),
        };
        let path = StoragePath {
            patient_id: patient.chart.to_string(),
            care_date: Some(date.to_string()),
            data_type: "OML-11".into(),
            order_no,
            stored_at: format!("{date}090000000"),
            department: Some("01".into()),
            condition_flag: '1',
        };
        let root = self.root.join(provider_id).join(SSMIX2_DIR);
        write_message(&root, &path, &content).map_err(|e| SynthError::Sink {
            table: "SS-MIX2 files",
            reason: e.to_string(),
        })?;
        self.messages += 1;
        self.results += lines.len() as u64;
        Ok(())
    }
}
