//! The registry's run logic on hand-made observations: stable IDs, joins by keyed IDs,
//! merges with aliases, operator splits that hold, idempotent re-runs.

use medinfra_persons::{EventKind, Identity, Linker, Observation, RecordKey, Registry};
use medinfra_pseudo::keys::{Key, KeyMaterial};

fn linker() -> Linker {
    Linker::new(Key::in_memory(
        "k1",
        "persons",
        KeyMaterial::from_bytes([7; 32]),
    ))
}

fn obs(provider: &str, chart: &str, month: &str, name: &str, card: &str) -> Observation {
    Observation {
        key: RecordKey::patient(provider, chart),
        month: Some(month.into()),
        identity: Identity {
            name_kanji: name.into(),
            sex: "1".into(),
            birth_date: "19800115".into(),
            insurer_number: "06130012".into(),
            card_symbol: "12".into(),
            card_number: card.into(),
            ..Identity::default()
        },
    }
}

#[test]
fn ids_stay_put_and_merges_keep_the_older_id() {
    let l = linker();
    let mut reg = Registry::new("k1");
    // Month 1: one person at clinic A; a second person (other name, other card) at B.
    let s1 = reg.update(
        vec![
            obs("A", "1", "202401", "山田太郎", "100"),
            obs("B", "9", "202401", "佐藤花子", "900"),
        ],
        &l,
        "t1",
    );
    assert_eq!(s1.persons_new, 2);
    let p_a = reg.person_of(&RecordKey::patient("A", "1")).unwrap();
    let p_b = reg.person_of(&RecordKey::patient("B", "9")).unwrap();
    assert_ne!(p_a, p_b);

    // Month 2: the first person at a pharmacy with a new card, same name → joins by ID2.
    let s2 = reg.update(vec![obs("C", "5", "202402", "山田 太郎", "200")], &l, "t2");
    assert_eq!((s2.joined, s2.persons_new, s2.merged), (1, 0, 0));
    assert_eq!(reg.person_of(&RecordKey::patient("C", "5")), Some(p_a));
    let ev = reg.events.last().unwrap();
    assert_eq!(ev.kind, EventKind::Joined);
    assert!(ev.evidence.contains("ID2"), "{}", ev.evidence);

    // The same month again changes nothing (it is recorded as a run that found nothing new);
    // no observations at all is no run.
    let persons_before = reg.persons();
    let again = reg.update(vec![obs("C", "5", "202402", "山田 太郎", "200")], &l, "t3");
    assert_eq!((again.records_new, again.variants_new), (0, 0));
    assert_eq!(reg.persons(), persons_before);
    assert_eq!(reg.runs.len(), 3);
    reg.update(Vec::new(), &l, "t3b");
    assert_eq!(reg.runs.len(), 3, "an empty run is not a run");

    // Month 3: a record carrying person B's card under person A's name bridges them: they
    // merge, the older (smaller) ID survives and the other becomes an alias.
    let s3 = reg.update(vec![obs("D", "7", "202403", "山田太郎", "900")], &l, "t4");
    assert_eq!(s3.merged, 1);
    let survivor = p_a.min(p_b);
    for key in [("A", "1"), ("B", "9"), ("C", "5"), ("D", "7")] {
        assert_eq!(
            reg.person_of(&RecordKey::patient(key.0, key.1)),
            Some(survivor)
        );
    }
    assert_eq!(reg.aliases.len(), 1);
    assert_eq!(reg.aliases[0].retired, p_a.max(p_b));
    assert_eq!(reg.resolve_alias(p_a.max(p_b)), survivor);
    assert_eq!(s3.records_moved, 1);

    // The operator splits B off again; the cannot-link holds in the next run, even when new
    // evidence would bridge them once more, and the new ID is fresh (never a reused one).
    let split = reg
        .split(
            &RecordKey::patient("B", "9"),
            "different person (checked with the hospital)",
            "t5",
        )
        .unwrap();
    assert_eq!(split.split, 1);
    let p_b2 = reg.person_of(&RecordKey::patient("B", "9")).unwrap();
    assert!(p_b2 > p_a.max(p_b), "a split mints a new ID");
    let s4 = reg.update(vec![obs("E", "3", "202404", "山田太郎", "900")], &l, "t6");
    assert!(s4.refused_by_override >= 1, "{s4:?}");
    assert_ne!(
        reg.person_of(&RecordKey::patient("A", "1")),
        reg.person_of(&RecordKey::patient("B", "9"))
    );
    // Splitting a person's only record is refused with a reason, not done.
    assert!(reg.split(&RecordKey::patient("Z", "0"), "x", "t7").is_err());
}

#[test]
fn an_ambiguous_id2_does_not_link_strangers() {
    let l = linker();
    let mut reg = Registry::new("k1");
    // Three different cards with one name and birth date in one month: three people.
    reg.update(
        vec![
            obs("A", "1", "202401", "鈴木一郎", "1"),
            obs("B", "1", "202401", "鈴木一郎", "2"),
            obs("C", "1", "202401", "鈴木一郎", "3"),
        ],
        &l,
        "t1",
    );
    assert_eq!(reg.persons(), 3);
}

#[test]
fn must_link_merges_now_and_in_later_runs() {
    let l = linker();
    let mut reg = Registry::new("k1");
    reg.update(
        vec![
            obs("A", "1", "202401", "田中一", "1"),
            obs("B", "2", "202401", "高橋二", "2"),
        ],
        &l,
        "t1",
    );
    let (a, b) = (RecordKey::patient("A", "1"), RecordKey::patient("B", "2"));
    let s = reg
        .must_link(&a, &b, "same person per the clinic", "t2")
        .unwrap();
    assert_eq!(s.merged, 1);
    assert_eq!(reg.person_of(&a), reg.person_of(&b));
    assert!(
        reg.must_link(&a, &b, "  ", "t3").is_err(),
        "a reason is required"
    );
}

/// The model's parameters are trained on the whole registry once and reused while the
/// registry grows by less than a quarter (training is the step whose cost grew with the
/// history); past that, the next run trains again.
#[test]
fn the_model_is_retrained_only_when_the_registry_has_grown_by_a_quarter() {
    let l = linker();
    let mut reg = Registry::new("k1");
    let people = |from: usize, to: usize, month: &str| -> Vec<Observation> {
        // Strangers: other names, birthdays, insurers and cards.
        (from..to)
            .map(|i| Observation {
                key: RecordKey::patient(&format!("P{}", i % 7), &i.to_string()),
                month: Some(month.into()),
                identity: Identity {
                    name_kanji: format!(
                        "試験{}",
                        ["一郎", "花子", "次郎", "桜", "健", "舞"][i % 6]
                    ) + &"山".repeat(1 + i / 6),
                    sex: ["1", "2"][i % 2].into(),
                    birth_date: format!("19{:02}{:02}{:02}", 30 + i % 60, 1 + i % 12, 1 + i % 28),
                    insurer_number: format!("0613{:04}", i),
                    card_symbol: format!("{}", i % 97),
                    card_number: format!("{}", 1000 + i),
                    ..Identity::default()
                },
            })
            .collect()
    };
    let s1 = reg.update(people(0, 40, "202401"), &l, "t1");
    assert!(s1.model_trained);
    let saved = reg.model.clone().unwrap();
    assert_eq!(saved.variants, 40);
    // 45 variants: within a quarter of 40, the saved parameters link the newcomers.
    let s2 = reg.update(people(40, 45, "202402"), &l, "t2");
    assert_eq!(s2.persons_new, 5);
    assert!(!s2.model_trained, "{s2:?}");
    assert_eq!(reg.model.as_ref(), Some(&saved));
    // 65 variants: more than a quarter since training — trained again, on all of them.
    let s3 = reg.update(people(45, 65, "202403"), &l, "t3");
    assert!(s3.model_trained);
    assert_eq!(reg.model.as_ref().unwrap().variants, 65);
}
