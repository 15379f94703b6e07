//! Bad input gets precise errors that never echo data values.

use medinfra_anon::{AnonError, AnonymizationConfig, Hierarchy, Table, anonymize};

#[test]
fn value_missing_from_hierarchy_names_attribute_and_line_but_not_value() {
    let t = Table::from_csv_reader(
        "zip;age\n81667;34\nSECRET-99;45\n".as_bytes(),
        b';',
        "data.csv",
    )
    .unwrap();
    let zip = Hierarchy::from_csv_str("81667;8166*;*\n81675;8167*;*\n", "zip.csv").unwrap();
    let config = AnonymizationConfig::k_anonymity(vec![("zip".into(), zip)], 2);
    let e = anonymize(&t, &config).unwrap_err();
    assert!(matches!(
        e,
        AnonError::ValueNotInHierarchy {
            ref attribute,
            line: 3,
            value_len: 9
        } if attribute == "zip"
    ));
    assert!(!e.to_string().contains("SECRET"), "{e}");
}

#[test]
fn config_errors() {
    let t = Table::from_csv_reader("a;s\n1;x\n2;y\n".as_bytes(), b';', "d.csv").unwrap();
    let h = Hierarchy::from_csv_str("1;*\n2;*\n", "h.csv").unwrap();
    let mut c = AnonymizationConfig::k_anonymity(vec![("nope".into(), h.clone())], 2);
    assert!(anonymize(&t, &c).unwrap_err().to_string().contains("nope"));
    c.qis = vec![("a".into(), h)];
    c.suppression_limit = 1.5;
    assert!(matches!(anonymize(&t, &c), Err(AnonError::Config(_))));
    c.suppression_limit = 0.0;
    c.models = vec![medinfra_anon::PrivacyModel::DistinctLDiversity { l: 2 }];
    // l-diversity without a sensitive attribute
    assert!(matches!(anonymize(&t, &c), Err(AnonError::Config(_))));
    c.sensitive = Some("s".into());
    let o = anonymize(&t, &c).unwrap();
    assert_eq!(o.report.transformation["a"], 1);
    // k larger than the table: no transformation can be anonymous
    let mut c3 = c.clone();
    c3.models = vec![medinfra_anon::PrivacyModel::KAnonymity { k: 3 }];
    assert!(matches!(anonymize(&t, &c3), Err(AnonError::NoSolution)));
}

#[test]
fn ragged_data_row_is_reported_with_line() {
    let e = Table::from_csv_reader("a;b\n1;2\n3\n".as_bytes(), b';', "d.csv").unwrap_err();
    assert!(e.to_string().contains("d.csv") && e.to_string().contains("line 3"));
}
