//! Evidence that two identity variants are two people even though a key or the model says
//! otherwise. Both patterns are where NDB-style keys are known to fail (`formats/japan.md`
//! §1.2), and on the sample population they were every false merge of the registry:
//!
//! - **twins on one card**: same birth date and sex, the same surname, and given names that
//!   differ by more than a typo. Before the personal card branch (2021) same-sex twins on a
//!   family card share ID1, and the model sees the same card, birth date, surname and address.
//!   A person's own name written two ways differs by one character (a variant kanji, a kana
//!   typo); a married name changes the surname, which this rule does not touch.
//! - **strangers with one name and birthday**: ID2 is name + birth date + sex; two people
//!   alike in those but on different insurers with different cards and living in different
//!   postcode areas are not joined by ID2 (the model may still join them on other evidence).

use medinfra_pseudo::normalize::{normalize_kana, normalize_name};

use crate::record::Identity;

fn name_of(id: &Identity) -> (String, bool) {
    if !id.name_kanji.is_empty() {
        (normalize_name(&id.name_kanji), true)
    } else {
        (normalize_kana(&id.name_kana).unwrap_or_default(), false)
    }
}

/// Same birth date and sex, same surname (first two characters), names further apart than one
/// edit. Names are compared in the script both records have (kanji, else kana).
pub fn twins_like(a: &Identity, b: &Identity) -> bool {
    if a.birth_date.is_empty() || a.birth_date != b.birth_date || a.sex != b.sex {
        return false;
    }
    let ((na, ka), (nb, kb)) = (name_of(a), name_of(b));
    let (na, nb) = if ka == kb {
        (na, nb)
    } else {
        // One in kanji, one in kana only: compare the kana both may have.
        (
            normalize_kana(&a.name_kana).unwrap_or_default(),
            normalize_kana(&b.name_kana).unwrap_or_default(),
        )
    };
    if na.is_empty() || nb.is_empty() || na == nb {
        return false;
    }
    let prefix = |s: &str| s.chars().take(2).collect::<String>();
    prefix(&na) == prefix(&nb) && strsim::levenshtein(&na, &nb) >= 2
}

/// Both on a card, with different insurers and different card numbers, and both with a
/// postcode, in different 3-digit areas.
pub fn strangers_like(a: &Identity, b: &Identity) -> bool {
    let differ = |x: &str, y: &str| !x.is_empty() && !y.is_empty() && x != y;
    let area = |p: &str| {
        p.chars()
            .filter(char::is_ascii_digit)
            .take(3)
            .collect::<String>()
    };
    differ(&a.insurer_number, &b.insurer_number)
        && differ(&a.card_number, &b.card_number)
        && differ(&area(&a.postcode), &area(&b.postcode))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(kanji: &str, kana: &str) -> Identity {
        Identity {
            name_kanji: kanji.into(),
            name_kana: kana.into(),
            sex: "2".into(),
            birth_date: "19670628".into(),
            insurer_number: "01010016".into(),
            card_number: "7109".into(),
            postcode: "0981220".into(),
            ..Identity::default()
        }
    }

    #[test]
    fn twins_are_told_from_typos_and_marriages() {
        assert!(twins_like(&id("田村知空", ""), &id("田村菜波", "")));
        assert!(twins_like(&id("", "タムラ チアキ"), &id("", "タムラ ナナ")));
        // One variant kanji or one kana typo: the same person.
        assert!(!twins_like(&id("田村知空", ""), &id("田村知宙", "")));
        assert!(!twins_like(
            &id("", "タムラ チアキ"),
            &id("", "タムラ チアギ")
        ));
        // A new surname (marriage) is not this rule's business.
        assert!(!twins_like(&id("田村知空", ""), &id("鈴木知空", "")));
        let mut other_day = id("田村菜波", "");
        other_day.birth_date = "19670629".into();
        assert!(!twins_like(&id("田村知空", ""), &other_day));
    }

    #[test]
    fn strangers_need_every_difference() {
        let a = id("鈴木一郎", "");
        let mut b = id("鈴木一郎", "");
        assert!(!strangers_like(&a, &b));
        b.insurer_number = "06130012".into();
        b.card_number = "88".into();
        assert!(!strangers_like(&a, &b), "same area: maybe a job change");
        b.postcode = "1000001".into();
        assert!(strangers_like(&a, &b));
        b.postcode = String::new();
        assert!(!strangers_like(&a, &b), "no postcode: no evidence");
    }
}
