//! Per-project pseudonyms. Key columns of a stored dataset (person and record keys) hold
//! tokens under the operator's master key, which would let two projects join their results.
//! Each workspace's views replace them by `project_token(master, project, stored)` from
//! medinfra-pseudo, so the same person carries a different pseudonym in every project.
//!
//! The UDF is embedded in the view plans and never registered by name, so SQL cannot call it
//! on values of its own choosing.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayAccessor, ArrayIter, AsArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use medinfra_pseudo::keys::Key;
use medinfra_pseudo::token::Tokenizer;

use crate::error::AnalysisError;

/// Columns re-keyed per project wherever they appear: the person key and the record keys
/// that two projects' row-level results could otherwise be joined on.
pub const PROJECT_TOKEN_COLUMNS: &[&str] = &[
    "person_id",
    "patient_id",
    "person_token",
    "claim_id",
    "admission_id",
    "checkup_id",
];

/// Characters of a project token: 32 hex digits, the first 128 bits of the HMAC-SHA-256.
///
/// Why not all 256 bits: every join, `DISTINCT` and `GROUP BY` on a key column hashes,
/// compares and copies the token, and at 64 characters that cost the workspace up to 1.8×
/// plain DataFusion's time on the benchmark queries (BENCHMARKS.md). 128 bits is the
/// truncation NIST SP 800-107 allows for HMAC, keeps the pseudonym as unguessable without the
/// key as before (a forgery still needs the key), and keeps collisions out of reach at any
/// real size: 2×10¹⁰ distinct keys (every claim the NDB holds) collide with probability
/// about 6×10⁻¹⁹.
pub const PROJECT_TOKEN_CHARS: usize = 32;

/// The scalar function that re-keys one column for `project` (hex, [`PROJECT_TOKEN_CHARS`]
/// characters: the first ones of
/// `medinfra_pseudo::token::project_token(master, project, stored, Encoding::Hex).value`).
pub fn project_token_udf(master: &Key, project: &str) -> Result<ScalarUDF, AnalysisError> {
    // The key schedule of the project key is computed once; each value costs two SHA-256
    // compressions instead of four, and no allocation.
    let key = Tokenizer::for_project(master, project)
        .map_err(|e| AnalysisError::BadProject(e.to_string()))?;
    Ok(ScalarUDF::from(ProjectToken {
        project: project.to_string(),
        key: Arc::new(key),
        signature: Signature::uniform(
            1,
            vec![DataType::Utf8, DataType::Utf8View, DataType::LargeUtf8],
            Volatility::Immutable,
        ),
    }))
}

#[derive(Debug)]
struct ProjectToken {
    project: String,
    key: Arc<Tokenizer>,
    signature: Signature,
}

// DataFusion compares UDFs when it deduplicates expressions: two instances are the same
// function only if they hold the same derived key.
impl PartialEq for ProjectToken {
    fn eq(&self, other: &Self) -> bool {
        self.project == other.project && Arc::ptr_eq(&self.key, &other.key)
    }
}
impl Eq for ProjectToken {}
impl Hash for ProjectToken {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.project.hash(state);
    }
}

impl ScalarUDFImpl for ProjectToken {
    fn name(&self) -> &str {
        "project_token"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let [arg] = args.args.as_slice() else {
            return exec_err!("project_token takes one argument");
        };
        let array = arg.to_array(args.number_rows)?;
        match rekey_array(&array, &self.key) {
            Some(out) => Ok(ColumnarValue::Array(Arc::new(out))),
            None => exec_err!("project_token: unsupported type {}", array.data_type()),
        }
    }
}

/// `array` (any string type) re-keyed under `key`, as project tokens; `None` for a
/// non-string array.
pub(crate) fn rekey_array(
    array: &dyn Array,
    key: &Tokenizer,
) -> Option<datafusion::arrow::array::StringArray> {
    Some(match array.data_type() {
        DataType::Utf8 => rekey(array.as_string::<i32>(), key),
        DataType::LargeUtf8 => rekey(array.as_string::<i64>(), key),
        DataType::Utf8View => rekey(array.as_string_view(), key),
        _ => return None,
    })
}

fn rekey<'a, A>(values: A, key: &Tokenizer) -> datafusion::arrow::array::StringArray
where
    A: ArrayAccessor<Item = &'a str> + Array,
{
    let mut out = StringBuilder::with_capacity(values.len(), values.len() * PROJECT_TOKEN_CHARS);
    // Rows of one person or claim are stored next to each other, so remembering the last
    // input saves most HMACs without a cache that would grow with the data.
    let mut last: Option<&str> = None;
    let mut buf = [0u8; 64];
    for v in ArrayIter::new(values) {
        match v {
            None => out.append_null(),
            Some(v) => {
                // Rows of one patient often come together: reuse the previous token.
                if last != Some(v) {
                    key.raw_hex_into(v.as_bytes(), &mut buf);
                    last = Some(v);
                }
                let token = &buf[..PROJECT_TOKEN_CHARS];
                out.append_value(std::str::from_utf8(token).unwrap_or_default());
            }
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::Field;
    use datafusion::config::ConfigOptions;
    use medinfra_pseudo::keys::KeyMaterial;
    use medinfra_pseudo::token::{Encoding, project_token};

    fn master() -> Key {
        Key::in_memory("test-key", "token", KeyMaterial::from_bytes([7u8; 32]))
    }

    fn run(udf: &ScalarUDF, values: Vec<Option<&str>>) -> Vec<Option<String>> {
        let n = values.len();
        let array = Arc::new(StringArray::from(values));
        let out = udf
            .invoke_with_args(ScalarFunctionArgs {
                args: vec![ColumnarValue::Array(array)],
                arg_fields: vec![Arc::new(Field::new("x", DataType::Utf8, true))],
                number_rows: n,
                return_field: Arc::new(Field::new("t", DataType::Utf8, true)),
                config_options: Arc::new(ConfigOptions::default()),
            })
            .unwrap()
            .to_array(n)
            .unwrap();
        out.as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    #[test]
    fn equals_pseudo_project_token_and_differs_between_projects() {
        let key = master();
        let a = project_token_udf(&key, "proj-a").unwrap();
        let b = project_token_udf(&key, "proj-b").unwrap();
        let input = vec![Some("P001"), Some("P001"), None, Some("P002")];
        let ta = run(&a, input.clone());
        let tb = run(&b, input);
        let expect = |p: &str, v: &str| {
            project_token(&key, p, v, Encoding::Hex).unwrap().value[..PROJECT_TOKEN_CHARS]
                .to_string()
        };
        assert_eq!(ta[0].as_deref(), Some(expect("proj-a", "P001").as_str()));
        assert_eq!(ta[1], ta[0]);
        assert_eq!(ta[2], None);
        assert_eq!(ta[3].as_deref(), Some(expect("proj-a", "P002").as_str()));
        assert_eq!(tb[0].as_deref(), Some(expect("proj-b", "P001").as_str()));
        assert_ne!(ta[0], tb[0]);
        assert_ne!(ta[3], tb[3]);
    }

    #[test]
    fn bad_project_ids_are_refused() {
        assert!(project_token_udf(&master(), "a/b").is_err());
    }
}
