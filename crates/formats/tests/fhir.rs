//! FHIR R4 JP Core: generated resources → Bundle / NDJSON → read → same resources (and the
//! same bytes on a second write).

use medinfra_formats::fhir::*;
use proptest::prelude::*;

fn example() -> Vec<Resource> {
    let jlac = Coding {
        system: Some(JLAC10_SYSTEM.into()),
        code: Some("3C020000002327101".into()),
        display: Some("尿酸".into()),
    };
    vec![
        Resource::Patient(Patient {
            id: Some("p1".into()),
            meta: Some(Meta {
                profile: vec!["http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient".into()],
            }),
            identifier: vec![Identifier {
                system: Some(format!("{PATIENT_ID_SYSTEM_PREFIX}1399999991")),
                value: "000123".into(),
            }],
            name: vec![
                HumanName {
                    extension: vec![Extension {
                        url: NAME_REPRESENTATION_URL.into(),
                        value_code: Some("IDE".into()),
                        ..Extension::default()
                    }],
                    family: Some("試験".into()),
                    given: vec!["太郎".into()],
                    ..HumanName::default()
                },
                HumanName {
                    extension: vec![Extension {
                        url: NAME_REPRESENTATION_URL.into(),
                        value_code: Some("SYL".into()),
                        ..Extension::default()
                    }],
                    family: Some("シケン".into()),
                    given: vec!["タロウ".into()],
                    ..HumanName::default()
                },
            ],
            gender: Some("male".into()),
            birth_date: Some("1980-01-15".into()),
        }),
        Resource::Coverage(Coverage {
            identifier: vec![Identifier {
                system: Some(INSURANCE_MEMBER_SYSTEM.into()),
                value: "00012345:あいう:１８７:05".into(),
            }],
            status: "active".into(),
            beneficiary: Reference {
                reference: Some("Patient/p1".into()),
                ..Reference::default()
            },
            payor: vec![Reference {
                display: Some("保険者".into()),
                ..Reference::default()
            }],
            ..Coverage::default()
        }),
        Resource::Condition(Condition {
            code: CodeableConcept {
                coding: vec![Coding {
                    system: Some(
                        "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full".into(),
                    ),
                    code: Some("I219".into()),
                    display: None,
                }],
                text: Some("急性心筋梗塞".into()),
            },
            subject: Reference {
                reference: Some("Patient/p1".into()),
                ..Reference::default()
            },
            ..Condition::default()
        }),
        Resource::Observation(Observation {
            status: "final".into(),
            code: CodeableConcept {
                coding: vec![jlac],
                text: None,
            },
            subject: Reference {
                reference: Some("Patient/p1".into()),
                ..Reference::default()
            },
            value_quantity: Some(Quantity {
                value: Some(5.1),
                unit: Some("mg/dL".into()),
                system: Some("http://unitsofmeasure.org".into()),
                code: Some("mg/dL".into()),
            }),
            ..Observation::default()
        }),
        Resource::MedicationRequest(MedicationRequest {
            status: "active".into(),
            intent: "order".into(),
            medication_codeable_concept: CodeableConcept {
                coding: vec![Coding {
                    system: Some(HOT9_SYSTEM.into()),
                    code: Some("100607002".into()),
                    display: Some("アレピアチン１０倍散".into()),
                }],
                text: None,
            },
            subject: Reference {
                reference: Some("Patient/p1".into()),
                ..Reference::default()
            },
            dosage_instruction: vec![Dosage {
                text: Some("１日２回朝夕食後".into()),
                timing: Some(Timing {
                    code: Some(CodeableConcept {
                        coding: vec![Coding {
                            system: Some("http://jami.jp/CodeSystem/MedicationUsage".into()),
                            code: Some("1012040400000000".into()),
                            display: None,
                        }],
                        text: None,
                    }),
                }),
                route: None,
            }],
            dispense_request: Some(DispenseRequest {
                quantity: None,
                expected_supply_duration: Some(Duration {
                    value: Some(14.0),
                    unit: Some("日".into()),
                }),
            }),
            ..MedicationRequest::default()
        }),
    ]
}

#[test]
fn example_bundle_and_ndjson_round_trip() {
    let resources = example();
    let bundle = write_bundle(&resources).unwrap();
    let (back, findings) = read_bundle(&bundle[..], "b.json");
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(back, resources);
    assert_eq!(write_bundle(&back).unwrap(), bundle);
    let Resource::Patient(p) = &back[0] else {
        panic!("patient first")
    };
    assert_eq!(p.name[1].representation(), Some("SYL"));
    let Resource::Observation(o) = &back[3] else {
        panic!()
    };
    assert_eq!(o.code.code_in(JLAC10_SYSTEM), Some("3C020000002327101"));

    let nd = write_ndjson(&resources).unwrap();
    assert_eq!(nd.iter().filter(|b| **b == b'\n').count(), 5);
    assert!(nd.starts_with(br#"{"resourceType":"Patient""#));
    let mut r = NdjsonReader::new(&nd[..], "x.ndjson");
    let back: Vec<Resource> = r.by_ref().collect();
    assert!(r.finish().is_empty());
    assert_eq!(back, resources);
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::char::range('a', 'z'),
            prop::char::range('ァ', 'ヶ'),
            prop::sample::select(vec!['"', '\\', '\n', ' ', '試'])
        ],
        0..8,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(text())
}

fn reference() -> impl Strategy<Value = Reference> {
    (opt_text(), opt_text()).prop_map(|(reference, display)| Reference {
        reference,
        identifier: None,
        display,
    })
}

fn concept() -> impl Strategy<Value = CodeableConcept> {
    (
        prop::collection::vec((opt_text(), "[0-9A-Z]{17}", opt_text()), 0..3),
        opt_text(),
    )
        .prop_map(|(c, text)| CodeableConcept {
            coding: c
                .into_iter()
                .map(|(system, code, display)| Coding {
                    system,
                    code: Some(code),
                    display,
                })
                .collect(),
            text,
        })
}

fn resource() -> impl Strategy<Value = Resource> {
    prop_oneof![
        (
            text(),
            "[0-9]{10}",
            prop::collection::vec((opt_text(), prop::collection::vec(text(), 0..2)), 0..3),
            prop::sample::select(vec!["male", "female", "unknown"]),
            1900u32..2020
        )
            .prop_map(|(value, fac, names, g, y)| Resource::Patient(Patient {
                id: None,
                meta: None,
                identifier: vec![Identifier {
                    system: Some(format!("{PATIENT_ID_SYSTEM_PREFIX}{fac}")),
                    value
                }],
                name: names
                    .into_iter()
                    .map(|(family, given)| HumanName {
                        family,
                        given,
                        ..HumanName::default()
                    })
                    .collect(),
                gender: Some(g.into()),
                birth_date: Some(format!("{y}-03-31")),
            })),
        (
            text(),
            reference(),
            prop::collection::vec(reference(), 1..3)
        )
            .prop_map(|(status, beneficiary, payor)| Resource::Coverage(Coverage {
                status,
                beneficiary,
                payor,
                ..Coverage::default()
            })),
        (concept(), reference(), opt_text()).prop_map(|(code, subject, onset_date_time)| {
            Resource::Condition(Condition {
                code,
                subject,
                onset_date_time,
                ..Condition::default()
            })
        }),
        (
            text(),
            concept(),
            reference(),
            prop::option::of(-1e9f64..1e9),
            opt_text()
        )
            .prop_map(
                |(status, code, subject, v, value_string)| Resource::Observation(Observation {
                    status,
                    code,
                    subject,
                    value_string,
                    value_quantity: v.map(|v| Quantity {
                        value: Some(v),
                        unit: Some("mg/dL".into()),
                        ..Quantity::default()
                    }),
                    ..Observation::default()
                })
            ),
        (text(), text(), concept(), reference(), any::<bool>()).prop_map(
            |(status, intent, medication_codeable_concept, subject, do_not_perform)| {
                Resource::MedicationRequest(MedicationRequest {
                    status,
                    intent,
                    medication_codeable_concept,
                    subject,
                    do_not_perform,
                    ..MedicationRequest::default()
                })
            }
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn generated_resources_round_trip(resources in prop::collection::vec(resource(), 0..8)) {
        let bundle = write_bundle(&resources).unwrap();
        let (back, findings) = read_bundle(&bundle[..], "b");
        prop_assert!(findings.is_empty(), "{:#?}", findings);
        prop_assert_eq!(&back, &resources);
        prop_assert_eq!(write_bundle(&back).unwrap(), bundle);
        let nd = write_ndjson(&resources).unwrap();
        let mut r = NdjsonReader::new(&nd[..], "n");
        let back: Vec<Resource> = r.by_ref().collect();
        prop_assert!(r.finish().is_empty());
        prop_assert_eq!(back, resources);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_bundle(&bytes[..], "x");
        let mut r = NdjsonReader::new(&bytes[..], "x");
        r.by_ref().for_each(drop);
        let _ = r.finish();
    }
}
