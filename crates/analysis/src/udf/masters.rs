//! `master_name(code)`: receipt code → name in the SSK code masters.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Signature, SimpleScalarUDF, Volatility};
use medinfra_model::masters::{CodeMaster, MasterKind};

use super::{STRING_TYPES, finish, strings};
use crate::error::AnalysisError;

/// Code → name over every loaded master. Receipt codes of different kinds do not collide in
/// practice (their lengths and leading digits differ); if they ever do, the kind earlier in
/// [`KIND_ORDER`] wins, so the lookup is deterministic.
#[derive(Debug, Default)]
pub struct MasterNames {
    names: HashMap<String, Arc<str>>,
}

const KIND_ORDER: [MasterKind; 6] = [
    MasterKind::Drug,
    MasterKind::Procedure,
    MasterKind::Device,
    MasterKind::Disease,
    MasterKind::Modifier,
    MasterKind::Comment,
];

impl MasterNames {
    pub fn from_master(master: &CodeMaster) -> Self {
        let mut names: HashMap<String, Arc<str>> = HashMap::new();
        for kind in KIND_ORDER {
            for e in master.iter().filter(|e| e.kind == kind) {
                names
                    .entry(e.code.clone())
                    .or_insert_with(|| Arc::from(e.name.as_str()));
            }
        }
        MasterNames { names }
    }

    /// Every `*.csv` master in `dir` (file names sorted, so loading is deterministic).
    pub fn load_dir(dir: &Path) -> Result<Self, AnalysisError> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| AnalysisError::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
            .collect();
        files.sort();
        let mut master = CodeMaster::default();
        for f in &files {
            master.load_file(f)?;
        }
        Ok(Self::from_master(&master))
    }

    pub fn get(&self, code: &str) -> Option<&str> {
        self.names.get(code.trim()).map(|s| &**s)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

pub fn master_name_udf(masters: Arc<MasterNames>) -> ScalarUDF {
    ScalarUDF::from(SimpleScalarUDF::new_with_signature(
        "master_name",
        Signature::uniform(1, STRING_TYPES.to_vec(), Volatility::Immutable),
        DataType::Utf8,
        Arc::new(move |args: &[ColumnarValue]| -> DfResult<ColumnarValue> {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let out: StringArray = strings(&arrays[0])?
                .into_iter()
                .map(|c| c.and_then(|c| masters.get(c)))
                .collect();
            finish(args, Arc::new(out))
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_masters_resolve_device_and_modifier_codes() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/masters");
        let m = MasterNames::load_dir(&dir).unwrap();
        assert!(m.len() > 100);
        assert_eq!(m.get("700010000"), Some("半切"));
        assert_eq!(m.get("999999999"), None);
    }
}
