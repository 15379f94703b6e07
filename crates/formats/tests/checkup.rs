//! 特定健診 CDA: generated documents → write → read → same document (and same bytes), the
//! archive as a directory tree and as a zip.

use medinfra_formats::checkup::{
    CheckupArchiveReader, CheckupDocument, CheckupObservation, CheckupValue, DataFileName,
    read_document, write_archive_dir, write_archive_zip, write_document,
};
use proptest::prelude::*;

fn obs(section: &str, code: &str, value: CheckupValue) -> CheckupObservation {
    CheckupObservation {
        section: section.into(),
        code: code.into(),
        code_system: String::new(),
        display_name: String::new(),
        not_performed: false,
        value,
        interpretation: String::new(),
    }
}

/// The §10.5 shapes: PQ with units, CD codes, one negationInd, one nullFlavor NI, one H.
fn example() -> CheckupDocument {
    let pq = |v: &str, u: &str| CheckupValue::Quantity {
        value: v.into(),
        unit: u.into(),
    };
    let mut not_done = obs("01010", "9N016160100000001", CheckupValue::Absent);
    not_done.not_performed = true;
    CheckupDocument {
        report_kind: "10".into(),
        created: "20240410".into(),
        insurer_number: "06139999".into(),
        card_symbol: "１２３".into(),
        card_number: "４５６７".into(),
        card_branch: "01".into(),
        postal_code: "100-0001".into(),
        name: "シケン タロウ".into(),
        sex: "1".into(),
        birth_date: "19800115".into(),
        facility_number: "1399999991".into(),
        checkup_date: "20240401".into(),
        observations: vec![
            obs("01010", "9N001000000000001", pq("167.8", "cm")),
            obs("01010", "9N006000000000001", pq("63.5", "kg")),
            not_done,
            obs("01020", "3F015000002327101", CheckupValue::NoInformation),
            obs(
                "01020",
                "3D046000001906202",
                CheckupValue::OutOfRange { high: true },
            ),
            obs(
                "01030",
                "9N056000000000011",
                CheckupValue::Coded {
                    code: "2".into(),
                    code_system: "1.2.392.200119.6.2101".into(),
                    display_name: "無".into(),
                },
            ),
            obs(
                "01030",
                "9N511000000000049",
                CheckupValue::Text("異常なし <A&B>".into()),
            ),
        ],
    }
}

#[test]
fn example_document_round_trips_byte_for_byte() {
    let doc = example();
    let bytes = write_document(&doc);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains(r#"negationInd="true""#));
    assert!(text.contains(r#"nullFlavor="NI""#));
    assert!(text.contains(r#"code="H" codeSystem="2.16.840.1.113883.5.83""#));
    assert!(text.contains(r#"<id root="1.2.392.200119.6.205" extension="４５６７"/>"#));
    let (back, findings) = read_document(&bytes[..], "h.xml");
    assert!(findings.is_empty(), "{findings:#?}");
    let back = back.unwrap();
    assert_eq!(back, doc);
    assert_eq!(write_document(&back), bytes);
}

fn data_name(serial: u32) -> DataFileName {
    DataFileName::parse(&format!("h1399999991202404101{serial:07}.xml")).unwrap()
}

#[test]
fn data_file_names_parse() {
    let n = DataFileName::parse("h13999999912024041011000001.xml").unwrap();
    assert_eq!(
        (n.prefix, n.facility.as_str(), n.date.as_str()),
        ('h', "1399999991", "20240410")
    );
    assert_eq!((n.seq, n.kind, n.serial.as_str()), ('1', '1', "000001"));
    assert_eq!(n.file_name(), "h13999999912024041011000001.xml");
    assert!(DataFileName::parse("x13999999912024041011000001.xml").is_err());
    assert!(DataFileName::parse("h13999999912024023011000001.xml").is_err());
}

#[test]
fn archive_round_trips_as_tree_and_zip() {
    let docs: Vec<(DataFileName, CheckupDocument)> = (1..=3)
        .map(|i| {
            let mut d = example();
            d.card_number = format!("{i}");
            (data_name(1_000_000 + i), d)
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("1399999991_06139999_202404101_1");
    write_archive_dir(&root, &docs).unwrap();
    let mut r = CheckupArchiveReader::open_dir(&root);
    let members: Vec<_> = r.by_ref().collect();
    assert!(r.finish().is_empty());
    assert_eq!(members.len(), 3);
    for (m, (name, doc)) in members.iter().zip(&docs) {
        assert_eq!(m.name, format!("DATA/{}", name.file_name()));
        assert!(m.findings.is_empty(), "{:#?}", m.findings);
        assert_eq!(m.document.as_ref(), Some(doc));
    }

    let zip_path = dir.path().join("1399999991_06139999_202404101_1.zip");
    let file = std::fs::File::create(&zip_path).unwrap();
    write_archive_zip(file, "1399999991_06139999_202404101_1", &docs).unwrap();
    let mut r = CheckupArchiveReader::open_zip(&zip_path);
    let from_zip: Vec<_> = r.by_ref().map(|m| m.document.unwrap()).collect();
    assert!(r.finish().is_empty());
    let want: Vec<_> = docs.into_iter().map(|(_, d)| d).collect();
    assert_eq!(from_zip, want);
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::char::range('0', '9'),
            prop::char::range('a', 'z'),
            prop::char::range('ァ', 'ヶ'),
            prop::sample::select(vec!['<', '>', '&', '"', '\'', ' ', '\t', '\n', '異', '常']),
        ],
        0..10,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn code17() -> impl Strategy<Value = String> {
    "[0-9A-Z]{17}"
}

fn value() -> impl Strategy<Value = CheckupValue> {
    prop_oneof![
        ((0u32..100000), text()).prop_map(|(v, unit)| CheckupValue::Quantity {
            value: format!("{}.{}", v / 10, v % 10),
            unit
        }),
        ("[0-9]{1,2}", "[0-9.]{1,20}", text()).prop_map(|(code, code_system, display_name)| {
            CheckupValue::Coded {
                code,
                code_system,
                display_name,
            }
        }),
        text().prop_map(CheckupValue::Text),
        Just(CheckupValue::NoInformation),
        any::<bool>().prop_map(|high| CheckupValue::OutOfRange { high }),
        Just(CheckupValue::Absent),
    ]
}

prop_compose! {
    fn observation()(
        section in prop::sample::select(vec!["01010", "01020", "01030"]),
        code in code17(), code_system in prop::sample::select(vec!["", "1.2.392.200119.6.1005"]),
        display_name in text(), not_performed in any::<bool>(),
        value in value(), interpretation in prop::sample::select(vec!["", "L", "N", "H"]),
    ) -> CheckupObservation {
        CheckupObservation { section: section.into(), code, code_system: code_system.into(), display_name, not_performed, value, interpretation: interpretation.into() }
    }
}

prop_compose! {
    fn document()(
        insurer in "[0-9]{8}", symbol in text(), number in "[0-9]{1,8}", branch in "([0-9]{2})?",
        postal in "[0-9]{3}-[0-9]{4}", name in text(), sex in prop::sample::select(vec!["1", "2"]),
        y in 1930u32..2010, m in 1u32..=12, d in 1u32..=28, facility in "[0-9]{10}",
        observations in prop::collection::vec(observation(), 0..10),
    ) -> CheckupDocument {
        // The writer groups observations by section (first appearance order); generate them
        // already grouped so the read-back order is the generated order.
        let mut observations = observations;
        let order: Vec<String> = observations.iter().fold(Vec::new(), |mut acc, o| {
            if !acc.contains(&o.section) { acc.push(o.section.clone()) }
            acc
        });
        observations.sort_by_key(|o| order.iter().position(|s| *s == o.section));
        CheckupDocument {
            report_kind: "10".into(), created: "20240410".into(), insurer_number: insurer,
            card_symbol: symbol, card_number: number, card_branch: branch, postal_code: postal,
            name, sex: sex.into(), birth_date: format!("{y}{m:02}{d:02}"),
            facility_number: facility, checkup_date: "20240401".into(), observations,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn generated_documents_round_trip(doc in document()) {
        let bytes = write_document(&doc);
        let (back, findings) = read_document(&bytes[..], "gen.xml");
        prop_assert!(findings.is_empty(), "{:#?}", findings);
        prop_assert_eq!(back.as_ref(), Some(&doc));
        prop_assert_eq!(write_document(&doc), bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_document(&bytes[..], "x");
    }
}
