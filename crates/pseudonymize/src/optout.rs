//! Opted-out persons in a pseudonymized version's key space: the pseudonyms their chart numbers
//! became under the policy and key recorded in the version's lineage, so the opt-out step can
//! remove their rows without the pseudonymized data ever holding a chart number.

use std::collections::HashSet;

use medinfra_pseudo::keys::{KeyId, KeyStore};
use medinfra_pseudo::token::Tokenizer;
use medinfra_store::Lineage;

use crate::error::PseudonymizeError;
use crate::policy::{ColumnRule, Normalization, Policy};

/// The column holding person pseudonyms and the pseudonyms of `persons` (provider id, chart
/// number), for a version made by `pseudonymize`; `None` when the version was not made from
/// chart numbers by a `token`/`project_token` rule over `provider_id` + `patient_id`.
pub fn person_pseudonyms(
    lineage: &Lineage,
    keys: &KeyStore,
    persons: &[(String, String)],
) -> Result<Option<(String, HashSet<String>)>, PseudonymizeError> {
    if lineage.step != "pseudonymize" {
        return Ok(None);
    }
    let bad = |reason: &str| PseudonymizeError::Policy {
        source_name: "lineage".into(),
        reason: reason.into(),
    };
    let policy: Policy = serde_json::from_value(lineage.parameters["policy"].clone())
        .map_err(|_| bad("the version's lineage holds no readable policy"))?;
    let key_id = lineage.parameters["key_id"]
        .as_str()
        .ok_or_else(|| bad("the version's lineage names no key"))?;
    let key = keys.load(&KeyId::parse(key_id)?)?;
    let project = lineage.parameters["project"].as_str();
    for table in policy.tables.values() {
        let Some(spec) = table.columns.get("patient_id") else {
            continue;
        };
        let (with, domain, normalize, per_project) = match spec.rule() {
            ColumnRule::Token {
                with,
                domain,
                normalize,
                ..
            } => (with, domain, normalize, false),
            ColumnRule::ProjectToken {
                with,
                domain,
                normalize,
            } => (with, domain, normalize, true),
            _ => continue,
        };
        if with != ["provider_id"] || normalize != Normalization::None {
            continue;
        }
        let tokenizer = match (per_project, project) {
            (false, _) => Tokenizer::new(&key)?,
            (true, Some(p)) => Tokenizer::for_project(&key, p)?,
            (true, None) => continue,
        };
        let domain = domain.unwrap_or_else(|| "patient_id".into());
        let mut out = HashSet::new();
        let mut buf = [0u8; 64];
        for (provider, patient) in persons {
            tokenizer.hex_into(
                domain.as_bytes(),
                &[provider.as_bytes(), patient.as_bytes()],
                &mut buf,
            );
            out.insert(String::from_utf8_lossy(&buf).into_owned());
        }
        return Ok(Some(("patient_id".into(), out)));
    }
    Ok(None)
}
