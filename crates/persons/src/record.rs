//! Identity records and what is observed of them.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// What an identity record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    /// A patient registration at a provider: provider id + the provider's chart number.
    Patient,
    /// One specific health checkup: facility id + checkup id (checkups carry no chart number,
    /// only the insured card, name, sex and birth date).
    Checkup,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Patient => "patient",
            RecordKind::Checkup => "checkup",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "patient" => Some(RecordKind::Patient),
            "checkup" => Some(RecordKind::Checkup),
            _ => None,
        }
    }
}

/// The identified-zone key of one identity record. Shown only to operators.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey {
    pub kind: RecordKind,
    pub provider_id: String,
    pub record_id: String,
}

impl RecordKey {
    pub fn patient(provider_id: &str, patient_id: &str) -> Self {
        RecordKey {
            kind: RecordKind::Patient,
            provider_id: provider_id.into(),
            record_id: patient_id.into(),
        }
    }

    pub fn checkup(facility_id: &str, checkup_id: &str) -> Self {
        RecordKey {
            kind: RecordKind::Checkup,
            provider_id: facility_id.into(),
            record_id: checkup_id.into(),
        }
    }

    /// Parses `PROVIDER:ID`, `patient:PROVIDER:ID` or `checkup:FACILITY:ID` (the form
    /// `persons explain` takes and `persons export` writes).
    pub fn parse(s: &str) -> Option<Self> {
        let parts: Vec<&str> = s.splitn(3, ':').collect();
        let (kind, provider, id) = match parts.as_slice() {
            [p, id] => (RecordKind::Patient, *p, *id),
            [k, p, id] => (RecordKind::parse(k)?, *p, *id),
            _ => return None,
        };
        if provider.is_empty() || id.is_empty() {
            return None;
        }
        Some(RecordKey {
            kind,
            provider_id: provider.into(),
            record_id: id.into(),
        })
    }

    /// `kind:provider:id`, the inverse of [`RecordKey::parse`]. An identifier: operators only.
    pub fn display(&self) -> String {
        format!(
            "{}:{}:{}",
            self.kind.as_str(),
            self.provider_id,
            self.record_id
        )
    }
}

/// Identity fields of one record as the provider wrote them (raw: normalization is
/// `medinfra-pseudo`'s, applied when IDs are computed and records compared). Empty = absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    pub name_kanji: String,
    pub name_kana: String,
    /// `1` male, `2` female (the receipt's codes).
    pub sex: String,
    /// `YYYYMMDD`.
    pub birth_date: String,
    pub insurer_number: String,
    pub card_symbol: String,
    pub card_number: String,
    pub card_branch: String,
    pub postcode: String,
    pub prefecture: String,
}

impl Identity {
    /// The fields by the names the `japan-person` model's sources use.
    pub const FIELDS: [&'static str; 10] = [
        "name_kanji",
        "name_kana",
        "sex",
        "birth_date",
        "insurer_number",
        "card_symbol",
        "card_number",
        "card_branch",
        "postcode",
        "prefecture",
    ];

    pub fn get(&self, field: &str) -> &str {
        match field {
            "name_kanji" => &self.name_kanji,
            "name_kana" => &self.name_kana,
            "sex" => &self.sex,
            "birth_date" => &self.birth_date,
            "insurer_number" => &self.insurer_number,
            "card_symbol" => &self.card_symbol,
            "card_number" => &self.card_number,
            "card_branch" => &self.card_branch,
            "postcode" => &self.postcode,
            "prefecture" => &self.prefecture,
            _ => "",
        }
    }

    pub fn get_mut(&mut self, field: &str) -> Option<&mut String> {
        Some(match field {
            "name_kanji" => &mut self.name_kanji,
            "name_kana" => &mut self.name_kana,
            "sex" => &mut self.sex,
            "birth_date" => &mut self.birth_date,
            "insurer_number" => &mut self.insurer_number,
            "card_symbol" => &mut self.card_symbol,
            "card_number" => &mut self.card_number,
            "card_branch" => &mut self.card_branch,
            "postcode" => &mut self.postcode,
            "prefecture" => &mut self.prefecture,
            _ => return None,
        })
    }

    pub fn is_empty(&self) -> bool {
        Self::FIELDS.iter().all(|f| self.get(f).is_empty())
    }

    /// A digest of the fields (length-prefixed), so a variant seen again is recognised
    /// without keeping a second copy of it.
    pub fn digest(&self) -> [u8; 16] {
        let mut h = Sha256::new();
        for f in Self::FIELDS {
            let v = self.get(f);
            h.update((v.len() as u32).to_le_bytes());
            h.update(v.as_bytes());
        }
        let d = h.finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&d[..16]);
        out
    }
}

/// One observation of a record in a provider's data: its key, the month it was seen in
/// (`YYYYMM`, when known) and its identity fields (possibly all empty: a lab result or a stay
/// names only the chart number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub key: RecordKey,
    pub month: Option<String>,
    pub identity: Identity,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_refuse_garbage() {
        let k = RecordKey::patient("1311234567", "000123");
        assert_eq!(RecordKey::parse(&k.display()), Some(k.clone()));
        assert_eq!(RecordKey::parse("1311234567:000123"), Some(k));
        let c = RecordKey::checkup("1312345678", "C1:2");
        assert_eq!(RecordKey::parse(&c.display()), Some(c));
        assert_eq!(RecordKey::parse("nothing"), None);
        assert_eq!(RecordKey::parse("visit:a:b"), None);
        assert_eq!(RecordKey::parse(":x"), None);
    }

    #[test]
    fn digest_tells_fields_apart() {
        let a = Identity {
            name_kana: "ab".into(),
            ..Identity::default()
        };
        let b = Identity {
            name_kana: "a".into(),
            sex: "b".into(),
            ..Identity::default()
        };
        assert_ne!(a.digest(), b.digest());
        assert!(Identity::default().is_empty());
        assert!(!a.is_empty());
    }
}
