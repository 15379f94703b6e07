//! SS-MIX2 storage paths (japan.md §4.1): parse and build
//! `<root>/<PID[0:3]>/<PID[3:6]>/<PID>/<YYYYMMDD|->/<data-type>/<file>` with
//! `file = <PID>_<YYYYMMDD|->_<data-type>_<order 15>_<YYYYMMDDHHMMSSfff>_<dept|->_<flag>`.
//!
//! Unverified rules kept here: patient IDs shorter than 6 characters are rejected (the spec's
//! padding rule is not known); condition flags `0`, `1`, `2` are accepted (1 = valid).

use std::path::{Path, PathBuf};

use crate::tsv::check_gregorian;

/// Data types of japan.md §4.2 and the HL7 message types each may carry (MSH-9 first two
/// components).
pub const DATA_TYPES: &[(&str, &[&str])] = &[
    ("ADT-00", &["ADT^A08", "ADT^A23"]),
    ("ADT-01", &["ADT^A54", "ADT^A55"]),
    ("ADT-12", &["ADT^A04"]),
    ("ADT-21", &["ADT^A14", "ADT^A27"]),
    ("ADT-22", &["ADT^A01", "ADT^A11"]),
    ("ADT-31", &["ADT^A21", "ADT^A52"]),
    ("ADT-32", &["ADT^A22", "ADT^A53"]),
    ("ADT-41", &["ADT^A15", "ADT^A26"]),
    ("ADT-42", &["ADT^A02", "ADT^A12"]),
    ("ADT-51", &["ADT^A16", "ADT^A25"]),
    ("ADT-52", &["ADT^A03", "ADT^A13"]),
    ("ADT-61", &["ADT^A60"]),
    ("PPR-01", &["PPR^ZD1"]),
    ("OMD", &["OMD^O03"]),
    ("OMP-01", &["RDE^O11"]),
    ("OMP-02", &["RDE^O11"]),
    ("OMP-11", &["RAS^O17"]),
    ("OMP-12", &["RAS^O17"]),
    ("OML-01", &["OML^O33"]),
    ("OML-11", &["OUL^R22"]),
    ("OMG-01", &["OMG^O19"]),
    ("OMG-02", &["OMG^O19"]),
    ("OMG-03", &["OMG^O19"]),
    ("OMG-11", &["OMI^Z23"]),
    ("OMG-12", &["OMI^Z23"]),
    ("OMG-13", &["ORU^R01"]),
];

/// Message types a data type may carry; `None` for a data type not in [`DATA_TYPES`].
pub fn message_types_of(data_type: &str) -> Option<&'static [&'static str]> {
    DATA_TYPES
        .iter()
        .find(|(d, _)| *d == data_type)
        .map(|(_, m)| *m)
}

/// One stored message's coordinates, from its path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoragePath {
    /// An identifier: never shown in findings.
    pub patient_id: String,
    /// 診療日 `YYYYMMDD`, `None` for `-`.
    pub care_date: Option<String>,
    pub data_type: String,
    /// Order number (ORC-2), 15 digits.
    pub order_no: String,
    /// Storage timestamp `YYYYMMDDHHMMSSfff`.
    pub stored_at: String,
    /// Department code, `None` for `-`.
    pub department: Option<String>,
    pub condition_flag: char,
}

/// Why a path breaks the naming rules (no identifier values in it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{part}: {reason}")]
pub struct PathError {
    /// Which part of the name is wrong (e.g. `order number`).
    pub part: &'static str,
    pub reason: String,
}

fn err(part: &'static str, reason: impl Into<String>) -> PathError {
    PathError {
        part,
        reason: reason.into(),
    }
}

fn all_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

impl StoragePath {
    /// The file name.
    pub fn file_name(&self) -> String {
        format!(
            "{}_{}_{}_{}_{}_{}_{}",
            self.patient_id,
            self.care_date.as_deref().unwrap_or("-"),
            self.data_type,
            self.order_no,
            self.stored_at,
            self.department.as_deref().unwrap_or("-"),
            self.condition_flag
        )
    }

    /// The path under the storage root. Call [`StoragePath::validate`] first: a patient ID
    /// shorter than 6 characters has no hash folders and yields the ID alone for them.
    pub fn relative_path(&self) -> PathBuf {
        let pid = &self.patient_id;
        let (l1, l2) = hash_folders(pid).unwrap_or((pid, pid));
        [
            l1,
            l2,
            pid,
            self.care_date.as_deref().unwrap_or("-"),
            &self.data_type,
            &self.file_name(),
        ]
        .iter()
        .collect()
    }

    /// Checks every part against the naming rules.
    pub fn validate(&self) -> Result<(), PathError> {
        let pid = &self.patient_id;
        if hash_folders(pid).is_none() {
            return Err(err("patient ID", "shorter than 6 characters"));
        }
        if pid.contains(['_', '/', '\\']) || pid.chars().any(char::is_control) {
            return Err(err("patient ID", "contains a separator"));
        }
        if let Some(d) = &self.care_date {
            check_gregorian(d).map_err(|r| err("care date", r))?;
        }
        let dt = &self.data_type;
        if dt.is_empty()
            || !dt
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(err("data type", "expected e.g. ADT-00"));
        }
        if !all_digits(&self.order_no, 15) {
            return Err(err("order number", "expected 15 digits"));
        }
        if !all_digits(&self.stored_at, 17) || check_gregorian(&self.stored_at[..8]).is_err() {
            return Err(err("timestamp", "expected YYYYMMDDHHMMSSfff"));
        }
        if let Some(d) = &self.department
            && (d.is_empty() || d == "-" || d.contains(['_', '/', '\\']))
        {
            return Err(err("department", "empty or contains a separator"));
        }
        if !matches!(self.condition_flag, '0' | '1' | '2') {
            return Err(err("condition flag", "expected 0, 1 or 2"));
        }
        Ok(())
    }

    /// Parses a file name.
    pub fn parse_file_name(name: &str) -> Result<StoragePath, PathError> {
        let parts: Vec<&str> = name.split('_').collect();
        let [pid, date, dt, order, ts, dept, flag] = parts[..] else {
            return Err(err(
                "file name",
                format!("expected 7 parts separated by _, found {}", parts.len()),
            ));
        };
        let mut flag_chars = flag.chars();
        let (Some(condition_flag), None) = (flag_chars.next(), flag_chars.next()) else {
            return Err(err("condition flag", "expected one character"));
        };
        let dash = |s: &str| (s != "-").then(|| s.to_owned());
        let path = StoragePath {
            patient_id: pid.to_owned(),
            care_date: dash(date),
            data_type: dt.to_owned(),
            order_no: order.to_owned(),
            stored_at: ts.to_owned(),
            department: dash(dept),
            condition_flag,
        };
        path.validate()?;
        Ok(path)
    }

    /// Parses a path relative to the storage root and checks that the folders agree with the
    /// file name.
    pub fn parse_relative(path: &Path) -> Result<StoragePath, PathError> {
        let parts: Vec<&str> = path
            .components()
            .map(|c| c.as_os_str().to_str())
            .collect::<Option<_>>()
            .ok_or_else(|| err("path", "not valid UTF-8"))?;
        let [l1, l2, pid, date, dt, file] = parts[..] else {
            return Err(err(
                "path",
                format!("expected 6 levels under the root, found {}", parts.len()),
            ));
        };
        let parsed = StoragePath::parse_file_name(file)?;
        let expected = parsed.relative_path();
        let expected: Vec<&str> = expected
            .components()
            .filter_map(|c| c.as_os_str().to_str())
            .collect();
        let names = [
            "level 1 folder",
            "level 2 folder",
            "patient folder",
            "date folder",
            "data type folder",
        ];
        for (i, (got, want)) in [l1, l2, pid, date, dt].iter().zip(&expected).enumerate() {
            if got != want {
                return Err(err(names[i], "does not match the file name"));
            }
        }
        Ok(parsed)
    }
}

/// Levels 1 and 2: the first three and the next three characters of the patient ID.
fn hash_folders(pid: &str) -> Option<(&str, &str)> {
    let i3 = pid.char_indices().nth(3)?.0;
    let i6 = pid.char_indices().nth(6).map_or(pid.len(), |(i, _)| i);
    if pid.chars().count() < 6 {
        return None;
    }
    Some((&pid[..i3], &pid[i3..i6]))
}
