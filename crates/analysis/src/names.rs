//! Names a user or the registry hands us: result table names and project ids. Both end up in
//! file names under the workspace directory and in SQL, so they are held to a small alphabet.

use medinfra_model::CanonicalTable;

use crate::error::AnalysisError;

/// A result name is a plain lower-case SQL identifier: `[a-z][a-z0-9_]{0,62}`. That keeps it
/// usable unquoted in SQL, safe as a file name, and unable to look like a path.
pub fn validate_result_name(name: &str) -> Result<(), AnalysisError> {
    let bad = |reason: &str| {
        Err(AnalysisError::BadResultName {
            reason: reason.to_string(),
        })
    };
    let mut chars = name.chars();
    match chars.next() {
        None => return bad("empty"),
        Some(c) if !c.is_ascii_lowercase() => return bad("must start with a-z"),
        Some(_) => {}
    }
    if name.len() > 63 {
        return bad("longer than 63 characters");
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return bad("only a-z, 0-9 and _ are allowed");
    }
    if CanonicalTable::from_name(name).is_some() {
        return bad("is the name of a data table");
    }
    Ok(())
}

/// Project ids follow medinfra-pseudo's rule (1..=128 of `a-z A-Z 0-9 _ - .`), and may not be
/// `.` or `..` because they name a directory.
pub(crate) fn validate_project(project: &str) -> Result<(), AnalysisError> {
    let ok = !project.is_empty()
        && project.len() <= 128
        && project != "."
        && project != ".."
        && project
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(AnalysisError::BadProject(format!(
            "must be 1..=128 characters of a-z A-Z 0-9 _ - . (got {} characters)",
            project.chars().count()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_names_are_plain_identifiers() {
        for good in ["a", "cohort_2024", "x1"] {
            assert!(validate_result_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1a",
            "A",
            "a-b",
            "a.b",
            "../x",
            "a/b",
            "claims",
            "diagnoses",
            "é",
            &"a".repeat(64),
        ] {
            assert!(validate_result_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn project_ids_cannot_walk_directories() {
        assert!(validate_project("proj-1.a_b").is_ok());
        for bad in ["", ".", "..", "a/b", "a b", &"p".repeat(129)] {
            assert!(validate_project(bad).is_err(), "{bad}");
        }
    }
}
