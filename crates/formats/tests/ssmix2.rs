//! SS-MIX2: the third-party samples in shared/data/samples/ssmix2 (real values asserted),
//! byte-exact round trips, path rules, and generated typed messages → write → read → same.

use std::path::{Path, PathBuf};

use medinfra_formats::FindingKind;
use medinfra_formats::ssmix2::{
    Header, Message, Observation, ParsedMessage, Patient, PersonName, Prescription, Ssmix2File,
    Ssmix2Reader, StoragePath, Visit, build_message, read_message, write_message,
};
use proptest::prelude::*;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/samples/ssmix2")
}

fn read_tree(root: &Path) -> Vec<Ssmix2File> {
    Ssmix2Reader::new(root).map(|f| f.unwrap()).collect()
}

fn by_type<'a>(files: &'a [Ssmix2File], data_type: &str) -> &'a Ssmix2File {
    files
        .iter()
        .find(|f| f.path.as_ref().is_some_and(|p| p.data_type == data_type))
        .unwrap()
}

#[test]
fn sample_tree_reads_with_real_values() {
    let files = read_tree(&samples());
    // Four messages plus the licence file at the root, which is not a storage path.
    assert_eq!(files.len(), 5);
    let licence = files.iter().find(|f| f.path.is_none()).unwrap();
    assert_eq!(licence.findings[0].kind, FindingKind::BadPath);

    let adt = by_type(&files, "ADT-00");
    let path = adt.path.as_ref().unwrap();
    assert_eq!(path.patient_id, "9999013");
    assert_eq!(path.care_date, None);
    assert_eq!(path.order_no, "999999999999999");
    assert_eq!(path.stored_at, "20111220224447339");
    assert_eq!(path.department, None);
    assert_eq!(path.condition_flag, '1');
    assert!(adt.findings.is_empty(), "{:#?}", adt.findings);
    let m = adt.parsed.as_ref().unwrap();
    assert_eq!(m.header.message_code, "ADT");
    assert_eq!(m.header.trigger_event, "A08");
    assert_eq!(m.header.structure, "ADT_A01");
    assert_eq!(m.patient.id, "9999013");
    let kanji = m.patient.kanji_name().unwrap();
    assert_eq!(
        (kanji.family.as_str(), kanji.given.as_str()),
        ("患者", "太郎")
    );
    let kana = m.patient.kana_name().unwrap();
    assert_eq!(
        (kana.family.as_str(), kana.given.as_str()),
        ("カンジャ", "タロウ")
    );
    assert_eq!(m.patient.birth_date, "19480405");
    assert_eq!(m.patient.sex, "M");
    assert_eq!(m.patient.postal_code, "422-8033");
    // JIS 0x215D decodes (WHATWG) to U+FF0D FULLWIDTH HYPHEN-MINUS.
    assert_eq!(m.patient.address, "静岡県静岡市登呂１\u{ff0d}３\u{ff0d}５");
    let visit = m.visit.as_ref().unwrap();
    assert_eq!(
        (visit.patient_class.as_str(), visit.point_of_care.as_str()),
        ("I", "32")
    );
    // Height, weight, ABO blood type: JLAC10 codes.
    assert_eq!(m.observations.len(), 3);
    assert_eq!(m.observations[0].code, "9N001000000000001");
    assert_eq!(m.observations[0].name, "身長");
    assert_eq!(m.observations[0].coding_system, "JC10");
    assert_eq!(m.observations[0].value, "167.8");
    assert_eq!(m.observations[0].unit, "cm");
    assert_eq!(m.observations[2].value_type, "CWE");
    assert_eq!(m.observations[2].value, "A");

    let lab = by_type(&files, "OML-11");
    let m = lab.parsed.as_ref().unwrap();
    assert_eq!(m.header.message_code, "OUL");
    assert_eq!(m.observations.len(), 3);
    let tp = &m.observations[1];
    assert_eq!(tp.code, "3A010000002327101");
    assert_eq!(tp.name, "総蛋白");
    assert_eq!(tp.value, "7.2");
    assert_eq!(tp.unit, "g/dl");
    assert_eq!(tp.reference_range, "6.70-8.3");
    assert_eq!(tp.order_no, "000000011000354");
    assert_eq!(tp.specimen, "023");
    assert_eq!(tp.observed_at, "201112191500");
    // This sample's PID-3 is not the folder's patient ID: reported, masked, not fatal.
    assert_eq!(lab.findings.len(), 1, "{:#?}", lab.findings);
    let f = &lab.findings[0];
    assert_eq!(f.kind, FindingKind::PathMismatch);
    assert_eq!(
        (f.line, f.record_type.as_deref(), f.field.as_deref()),
        (Some(2), Some("PID"), Some("PID-3"))
    );
    assert_eq!(f.value_masked.as_deref(), Some("<masked:10 chars>"));

    let rx = by_type(&files, "OMP-01");
    let m = rx.parsed.as_ref().unwrap();
    assert!(rx.findings.is_empty(), "{:#?}", rx.findings);
    assert_eq!(m.prescriptions.len(), 3);
    let p = &m.prescriptions[2];
    assert_eq!(p.order_no, "000000011000185");
    assert_eq!(p.group_no, "2");
    assert_eq!(p.drug_code, "100607002");
    assert_eq!(p.drug_name, "アレピアチン１０倍散");
    assert_eq!(p.coding_system, "HOT9");
    assert_eq!((p.amount.as_str(), p.unit.as_str()), ("50", "MG"));
    assert_eq!(
        (p.dispense_amount.as_str(), p.dispense_unit.as_str()),
        ("1400", "MG")
    );
    assert_eq!(p.usage_code, "1012040400000000");
    assert_eq!(p.usage_text, "内服・経口・１日２回朝夕食後");
    assert_eq!(p.days, "14");
    assert_eq!(p.route, "PO");
    assert_eq!(m.prescriptions[0].drug_name, "ダーゼン錠（５mg)");

    // OMP-11 (RAS^O17) reads: patient only, administrations stay in the raw message.
    let ras = by_type(&files, "OMP-11");
    assert_eq!(ras.parsed.as_ref().unwrap().patient.birth_date, "19650415");
}

#[test]
fn sample_messages_round_trip_byte_for_byte() {
    for f in read_tree(&samples()).iter().filter(|f| f.path.is_some()) {
        let original = std::fs::read(samples().join(&f.relative)).unwrap();
        let written = f.message.as_ref().unwrap().to_bytes().unwrap();
        assert_eq!(written, original, "{}", f.relative.display());
        let path = f.path.as_ref().unwrap();
        assert_eq!(path.relative_path(), f.relative);
    }
}

#[test]
fn storage_paths_parse_and_build() {
    let p = StoragePath::parse_file_name(
        "1234567890_20240402_OML-11_000000000000123_20240402110000000_01_1",
    )
    .unwrap();
    assert_eq!(
        p.relative_path(),
        PathBuf::from(
            "123/456/1234567890/20240402/OML-11/1234567890_20240402_OML-11_000000000000123_20240402110000000_01_1"
        )
    );
    let wrong_folder = Path::new(
        "123/999/1234567890/20240402/OML-11/1234567890_20240402_OML-11_000000000000123_20240402110000000_01_1",
    );
    let e = StoragePath::parse_relative(wrong_folder).unwrap_err();
    assert_eq!(e.part, "level 2 folder");
    let e =
        StoragePath::parse_file_name("1234567890_-_ADT-00_12_20240402110000000_-_1").unwrap_err();
    assert_eq!(e.part, "order number");
    let e = StoragePath::parse_file_name("12345_-_ADT-00_000000000000000_20240402110000000_-_1")
        .unwrap_err();
    assert_eq!(e.part, "patient ID");
}

#[test]
fn half_width_katakana_is_refused_by_the_writer() {
    let mut m = ParsedMessage::default();
    m.patient.id = "1234567".into();
    m.patient.names.push(PersonName {
        family: "ｶﾝｼﾞｬ".into(),
        given: String::new(),
        representation: "P".into(),
    });
    assert!(build_message(&m).unwrap().to_bytes().is_err());
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::char::range('0', '9'),
            prop::char::range('A', 'Z'),
            prop::char::range('ぁ', 'ん'),
            prop::char::range('ァ', 'ヶ'),
            prop::sample::select(vec![
                '患', '者', '太', '郎', '錠', '内', '服', '^', '&', '~', '\\', '|', ' ', '.', '-'
            ]),
        ],
        0..8,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn digits(n: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::char::range('0', '9'), n).prop_map(|v| v.into_iter().collect())
}

prop_compose! {
    fn observation()(
        order in prop::sample::select(vec!["", "000000000000001", "000000000000002"]),
        specimen in prop::sample::select(vec!["", "023", "001"]),
        set_id in digits(1), code in digits(17), name in text(), value in 0u32..100000,
        nm in any::<bool>(), st in text(), unit in text(), range in text(), flag in text(),
        status in text(), at in digits(12),
    ) -> Observation {
        Observation {
            order_no: order.into(), specimen: specimen.into(), set_id,
            value_type: if nm { "NM".into() } else { "ST".into() },
            code, name, coding_system: "JC10".into(),
            value: if nm { format!("{}.{}", value / 10, value % 10) } else { st },
            value_text: String::new(), unit, reference_range: range, abnormal_flags: flag,
            status, observed_at: at,
        }
    }
}

prop_compose! {
    fn prescription()(
        order in digits(15), group in digits(1), code in digits(9), name in text(),
        amount in digits(2), unit in text(), dispense in digits(3), usage in digits(16),
        usage_text in text(), days in digits(2), route in text(),
    ) -> Prescription {
        Prescription {
            order_no: order, group_no: group, drug_code: code, drug_name: name,
            coding_system: "HOT9".into(), amount, unit: unit.clone(), dispense_amount: dispense,
            dispense_unit: unit, usage_code: usage, usage_text, days, route,
            given_at: String::new(),
        }
    }
}

prop_compose! {
    fn message()(
        pid in digits(10), family in text(), given in text(), kana in text(),
        y in 1920u32..2020, m in 1u32..=12, d in 1u32..=28,
        sex in prop::sample::select(vec!["M", "F", "U"]),
        postal in digits(7), address in text(), visit in any::<bool>(), class in text(),
        obs in prop::collection::vec(observation(), 0..6),
        rx in prop::collection::vec(prescription(), 0..4),
        app in text(), ctrl in digits(14), ts in digits(14),
    ) -> ParsedMessage {
        ParsedMessage {
            header: Header {
                sending_application: app, sending_facility: "SEND".into(),
                receiving_application: "GW".into(), receiving_facility: "RCV".into(),
                created_at: ts.clone(), message_code: "OUL".into(), trigger_event: "R22".into(),
                structure: "OUL_R22".into(), control_id: ctrl.clone(),
            },
            patient: Patient {
                id: pid,
                names: vec![
                    PersonName { family, given: given.clone(), representation: "I".into() },
                    PersonName { family: kana, given, representation: "P".into() },
                ],
                birth_date: format!("{y}{m:02}{d:02}"), sex: sex.into(), postal_code: postal,
                address,
            },
            visit: visit.then(|| Visit {
                patient_class: class,
                admitted_at: ts.clone(),
                discharged_at: ctrl.clone(),
                ..Visit::default()
            }),
            observations: obs,
            prescriptions: rx,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Generated typed messages → build → ISO-2022-JP bytes → read → same typed message, and
    /// writing again gives the same bytes.
    #[test]
    fn typed_messages_round_trip(m in message()) {
        let bytes = build_message(&m).unwrap().to_bytes().unwrap();
        let (raw, parsed, findings) = read_message(&bytes, "gen", None);
        prop_assert!(findings.is_empty(), "{:#?}", findings);
        prop_assert_eq!(parsed.as_ref(), Some(&m));
        prop_assert_eq!(raw.unwrap().to_bytes().unwrap(), bytes);
    }

    /// Generated paths → name → parse → same path.
    #[test]
    fn storage_paths_round_trip(
        pid in digits(10), dated in any::<bool>(), dt in prop::sample::select(vec!["ADT-00", "OML-11", "OMP-01"]),
        order in digits(15), time in digits(9), dept in prop::option::of("[0-9A-Z]{1,3}"),
        flag in prop::sample::select(vec!['0', '1', '2']),
    ) {
        let p = StoragePath {
            patient_id: pid, care_date: dated.then(|| "20240402".to_owned()), data_type: dt.into(),
            order_no: order, stored_at: format!("20240402{time}"), department: dept, condition_flag: flag,
        };
        prop_assert_eq!(StoragePath::parse_file_name(&p.file_name()).unwrap(), p.clone());
        prop_assert_eq!(StoragePath::parse_relative(&p.relative_path()).unwrap(), p);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let mut data = b"MSH|^~\\&|".to_vec();
        data.extend(bytes);
        let _ = read_message(&data, "x", None);
        let _ = Message::parse(&data);
    }
}

#[test]
fn written_tree_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = StoragePath::parse_file_name(
        "1234567890_20240402_OML-11_000000000000123_20240402110000000_01_1",
    )
    .unwrap();
    let mut m = ParsedMessage::default();
    m.header.message_code = "OUL".into();
    m.header.trigger_event = "R22".into();
    m.patient.id = "1234567890".into();
    m.observations.push(Observation {
        order_no: "000000000000123".into(),
        code: "3A010000002327101".into(),
        coding_system: "JC10".into(),
        value_type: "NM".into(),
        value: "7.2".into(),
        ..Observation::default()
    });
    let full = write_message(dir.path(), &path, &m).unwrap();
    assert!(full.ends_with(path.relative_path()));
    let files = read_tree(dir.path());
    assert_eq!(files.len(), 1);
    assert!(files[0].findings.is_empty(), "{:#?}", files[0].findings);
    assert_eq!(files[0].parsed.as_ref(), Some(&m));
}
