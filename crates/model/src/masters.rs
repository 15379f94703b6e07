//! Loader for the official SSK code masters (基本マスター): quoted CSV in Shift_JIS (CP932),
//! column positions per `formats/japan.md` §2.3.
//!
//! The reader streams one line at a time (masters run to tens of MB), decodes each line with
//! `encoding_rs`, and reports bad input with file, line, field and reason. The master kind is
//! read from column 1 (マスター種別), not from the file name.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The master kinds medinfra understands (column 1 of every row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MasterKind {
    /// 傷病名マスター (7-digit disease codes).
    Disease,
    /// 修飾語マスター (4-character modifiers).
    Modifier,
    /// 医薬品マスター (9-digit drug codes, start with 6).
    Drug,
    /// 診療行為マスター (9-digit procedure codes, start with 1).
    Procedure,
    /// 特定器材マスター (9-digit device codes, start with 7).
    Device,
    /// コメントマスター (9-digit comment codes).
    Comment,
}

impl MasterKind {
    fn from_tag(tag: &str) -> Option<Self> {
        Some(match tag {
            "B" => MasterKind::Disease,
            "Z" => MasterKind::Modifier,
            "Y" => MasterKind::Drug,
            "S" => MasterKind::Procedure,
            "T" => MasterKind::Device,
            "C" => MasterKind::Comment,
            _ => return None,
        })
    }

    /// (code, name, kana) column indexes; the comment master's code is built from 2+3+4.
    fn columns(self) -> (usize, usize, usize) {
        match self {
            MasterKind::Disease => (2, 5, 9),
            MasterKind::Modifier => (2, 6, 9),
            MasterKind::Drug | MasterKind::Procedure | MasterKind::Device => (2, 4, 6),
            MasterKind::Comment => (2, 6, 8),
        }
    }
}

/// One master row: the fields every kind has, plus the kind-specific ones medinfra uses.
#[derive(Debug, Clone, PartialEq)]
pub struct MasterEntry {
    pub kind: MasterKind,
    pub code: String,
    pub name: String,
    pub kana: String,
    /// Disease master only: ICD-10 (2013 edition if present, else 2003 edition).
    pub icd10: Option<String>,
    /// Drug/device: price (yen); procedure: points.
    pub amount: Option<f64>,
}

/// Why a master file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: {field}: {reason}")]
    Invalid {
        file: PathBuf,
        line: usize,
        field: &'static str,
        reason: String,
    },
}

/// Streams the entries of one master file.
pub struct MasterReader<R> {
    file: PathBuf,
    input: R,
    line_no: usize,
    buf: Vec<u8>,
}

impl MasterReader<BufReader<File>> {
    /// Open a master file on disk.
    pub fn open(path: &Path) -> Result<Self, MasterError> {
        let f = File::open(path).map_err(|source| MasterError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        Ok(Self::new(path, BufReader::new(f)))
    }
}

impl<R: BufRead> MasterReader<R> {
    /// Read from any buffered reader; `file` names the source in errors.
    pub fn new(file: &Path, input: R) -> Self {
        Self {
            file: file.to_path_buf(),
            input,
            line_no: 0,
            buf: Vec::new(),
        }
    }

    fn invalid(&self, field: &'static str, reason: impl Into<String>) -> MasterError {
        MasterError::Invalid {
            file: self.file.clone(),
            line: self.line_no,
            field,
            reason: reason.into(),
        }
    }

    fn parse_line(&self, bytes: &[u8]) -> Result<MasterEntry, MasterError> {
        let (text, _, had_errors) = encoding_rs::SHIFT_JIS.decode(bytes);
        if had_errors {
            return Err(self.invalid("(line)", "bytes are not valid Shift_JIS/CP932"));
        }
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let record = match rdr.records().next() {
            Some(Ok(r)) => r,
            Some(Err(e)) => return Err(self.invalid("(line)", format!("not valid CSV: {e}"))),
            None => return Err(self.invalid("(line)", "empty line")),
        };
        let field = |i: usize| record.get(i).unwrap_or("").trim().to_string();
        let tag = field(1);
        let kind = MasterKind::from_tag(&tag).ok_or_else(|| {
            self.invalid(
                "マスター種別 (column 1)",
                format!("unknown master kind {tag:?}"),
            )
        })?;
        let (code_i, name_i, kana_i) = kind.columns();
        let code = if kind == MasterKind::Comment {
            // The serial is not zero-padded in the files ("6" means 000006).
            format!("{}{:0>2}{:0>6}", field(2), field(3), field(4))
        } else {
            field(code_i)
        };
        let expected_len = match kind {
            MasterKind::Disease => 7,
            MasterKind::Modifier => 4,
            _ => 9,
        };
        if code.chars().count() != expected_len {
            return Err(self.invalid(
                "code",
                format!(
                    "expected {expected_len} characters, found {}",
                    code.chars().count()
                ),
            ));
        }
        let icd10 = if kind == MasterKind::Disease {
            [15, 13].into_iter().map(field).find(|s| !s.is_empty())
        } else {
            None
        };
        let amount = match kind {
            MasterKind::Drug | MasterKind::Device | MasterKind::Procedure => {
                let raw = field(11);
                if raw.is_empty() {
                    None
                } else {
                    Some(raw.parse::<f64>().map_err(|_| {
                        self.invalid("金額/点数 (column 11)", format!("not a number: {raw:?}"))
                    })?)
                }
            }
            _ => None,
        };
        Ok(MasterEntry {
            kind,
            code,
            name: field(name_i),
            kana: field(kana_i),
            icd10,
            amount,
        })
    }
}

impl<R: BufRead> Iterator for MasterReader<R> {
    type Item = Result<MasterEntry, MasterError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            match self.input.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(source) => {
                    return Some(Err(MasterError::Io {
                        file: self.file.clone(),
                        source,
                    }));
                }
            }
            self.line_no += 1;
            let line = trim_line_end(&self.buf);
            if line.is_empty() {
                continue;
            }
            let line = line.to_vec();
            return Some(self.parse_line(&line));
        }
    }
}

fn trim_line_end(b: &[u8]) -> &[u8] {
    let mut end = b.len();
    while end > 0 && (b[end - 1] == b'\n' || b[end - 1] == b'\r') {
        end -= 1;
    }
    &b[..end]
}

/// Code → entry lookups over any number of loaded masters.
#[derive(Debug, Default, Clone)]
pub struct CodeMaster {
    entries: HashMap<(MasterKind, String), MasterEntry>,
}

impl CodeMaster {
    /// Load every entry of a master file; fails at the first bad line.
    pub fn load_file(&mut self, path: &Path) -> Result<usize, MasterError> {
        self.load(MasterReader::open(path)?)
    }

    /// Load from any master reader.
    pub fn load<R: BufRead>(&mut self, reader: MasterReader<R>) -> Result<usize, MasterError> {
        let mut n = 0;
        for entry in reader {
            let entry = entry?;
            self.entries.insert((entry.kind, entry.code.clone()), entry);
            n += 1;
        }
        Ok(n)
    }

    /// Load from bytes (e.g. a master embedded in the binary).
    pub fn load_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<usize, MasterError> {
        self.load(MasterReader::new(Path::new(name), BufReader::new(bytes)))
    }

    pub fn get(&self, kind: MasterKind, code: &str) -> Option<&MasterEntry> {
        self.entries.get(&(kind, code.to_string()))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &MasterEntry> {
        self.entries.values()
    }
}

/// Read all bytes of a reader (helper for tests and embedded masters).
pub fn read_all(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    r.read_to_end(&mut v)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/masters")
            .join(name)
    }

    #[test]
    fn loads_the_real_ssk_masters() {
        let mut m = CodeMaster::default();
        let n_mod = m.load_file(&shared("z_modifiers_20230101.csv")).unwrap();
        let n_dev = m.load_file(&shared("t_devices_20231130.csv")).unwrap();
        let n_com = m.load_file(&shared("c_comments_20230801.csv")).unwrap();
        assert!(
            n_mod > 1000 && n_dev > 100 && n_com > 100,
            "{n_mod} {n_dev} {n_com}"
        );
        let z = m.get(MasterKind::Modifier, "8070").unwrap();
        assert_eq!(z.name, "０期");
        let t = m.get(MasterKind::Device, "700010000").unwrap();
        assert_eq!(t.name, "半切");
        assert_eq!(t.amount, Some(120.0));
        let c = m.get(MasterKind::Comment, "820100001").unwrap();
        assert!(c.name.starts_with("ア　初診又は再診時"));
    }

    #[test]
    fn bad_lines_name_file_line_and_field() {
        let mut bytes = encoding_rs::SHIFT_JIS.encode("\"0\",\"T\",\"700010000\",\"2\",\"半切\",\"4\",\"ﾊﾝｾﾂ\",\"6\",\"1\",\"枚\",\"1\",\"120.00\"\r\n").0.into_owned();
        bytes.extend_from_slice(b"\"0\",\"Q\",\"1\"\r\n");
        let mut m = CodeMaster::default();
        let err = m.load_bytes("t.csv", &bytes).unwrap_err().to_string();
        assert_eq!(
            err,
            "t.csv:2: マスター種別 (column 1): unknown master kind \"Q\""
        );

        let bad_price =
            "\"0\",\"T\",\"700010000\",\"2\",\"x\",\"4\",\"x\",\"6\",\"1\",\"x\",\"1\",\"abc\"\r\n";
        let err = CodeMaster::default()
            .load_bytes("p.csv", bad_price.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.csv:1: 金額/点数 (column 11)"), "{err}");

        let undecodable = b"\"0\",\"T\",\"\x82\"\r\n";
        let err = CodeMaster::default()
            .load_bytes("u.csv", undecodable)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("u.csv:1") && err.contains("Shift_JIS"),
            "{err}"
        );
    }
}
