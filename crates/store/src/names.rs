use crate::StoreError;

/// Dataset names become directory names, so they are restricted to a safe alphabet
/// (no path separators, no `..`, no leading dot).
pub fn validate_dataset_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_paths_and_odd_names() {
        for bad in [
            "",
            "../x",
            "a/b",
            ".hidden",
            "UPPER",
            "x y",
            &"a".repeat(65),
            "-x",
        ] {
            assert!(validate_dataset_name(bad).is_err(), "{bad:?}");
        }
        for good in ["sample", "claims_2024", "a-1", "9lives"] {
            assert!(validate_dataset_name(good).is_ok(), "{good:?}");
        }
    }
}
