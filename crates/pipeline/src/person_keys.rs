//! `person_keys`: one row per person of the research database with the oldest insurance card
//! the registry has seen of them — what the ID5-style linkage key is computed from when the
//! pseudonymized copy is made (the NDB's ID5 hashes the oldest individual-unit insured number,
//! `formats/japan.md` §1.1, so it survives changes of insurer and card as ID1 does not).
//!
//! Rewritten whole every run (a person's oldest card changes when a merge brings an older
//! one); it is one small row per person, so this costs far less than carrying and patching.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Builder, Int32Builder, Int64Builder, RecordBatch, StringBuilder,
};
use medinfra_model::CanonicalTable;
use medinfra_persons::Registry;
use medinfra_persons::record::Identity;
use medinfra_store::VersionWriter;

use crate::error::{PipelineError, Result};
use crate::research::PartBooks;

/// Rows per written batch.
const BATCH_ROWS: usize = 65_536;

/// The card a person's key is made of, and when it was first seen.
struct Oldest<'a> {
    identity: &'a Identity,
    month: Option<&'a str>,
}

fn has_card(i: &Identity) -> bool {
    !i.insurer_number.trim().is_empty() && !i.card_number.trim().is_empty()
}

/// Orders cards oldest first: a known month before an unknown one, then the card's fields, so
/// the choice does not depend on the order records arrived in.
fn older(a: &Oldest<'_>, b: &Oldest<'_>) -> bool {
    sort_key(a) < sort_key(b)
}

fn sort_key<'a>(o: &Oldest<'a>) -> (bool, &'a str, &'a str, &'a str, &'a str, &'a str) {
    (
        o.month.is_none(),
        o.month.unwrap_or(""),
        o.identity.insurer_number.as_str(),
        o.identity.card_symbol.as_str(),
        o.identity.card_number.as_str(),
        o.identity.card_branch.as_str(),
    )
}

/// Writes `person_keys` into `writer`: every person of the registry but the withheld, in
/// person order. Returns the books (source = persons in the registry).
pub fn write(reg: &Registry, withheld: &HashSet<i64>, writer: &VersionWriter) -> Result<PartBooks> {
    let table = CanonicalTable::PersonKeys;
    // Per person: the oldest card, else any identity (for sex and birth date).
    let mut by_person: BTreeMap<i64, (Option<Oldest<'_>>, Option<&Identity>)> = BTreeMap::new();
    for r in &reg.records {
        by_person.entry(r.person_id).or_default();
    }
    for v in &reg.variants {
        let Some(record) = reg.records.get(v.record) else {
            continue;
        };
        let entry = by_person.entry(record.person_id).or_default();
        if entry.1.is_none() {
            entry.1 = Some(&v.identity);
        }
        if has_card(&v.identity) {
            let candidate = Oldest {
                identity: &v.identity,
                month: v.month.as_deref(),
            };
            if entry.0.as_ref().is_none_or(|o| older(&candidate, o)) {
                entry.0 = Some(candidate);
            }
        }
    }
    let schema = table.schema();
    let mut out = writer.named_part_writer(table.name(), "registry", schema.clone())?;
    let mut books = PartBooks {
        source_rows: by_person.len() as u64,
        parts_built: 1,
        ..PartBooks::default()
    };
    let persons: Vec<_> = by_person
        .iter()
        .filter(|(p, _)| {
            let keep = !withheld.contains(p);
            if !keep {
                books.withheld += 1;
            }
            keep
        })
        .collect();
    for chunk in persons.chunks(BATCH_ROWS) {
        let n = chunk.len();
        let mut person = Int64Builder::with_capacity(n);
        let mut sex = Int32Builder::with_capacity(n);
        let mut birth = Date32Builder::with_capacity(n);
        let mut text: Vec<StringBuilder> = (0..5).map(|_| StringBuilder::new()).collect();
        for (p, (card, any)) in chunk {
            person.append_value(**p);
            let who = card.as_ref().map(|c| c.identity).or(*any);
            sex.append_option(who.and_then(|i| i.sex.trim().parse::<i32>().ok()));
            birth.append_option(
                who.and_then(|i| medinfra_model::days::from_yyyymmdd(i.birth_date.trim())),
            );
            let fields = card.as_ref().map(|c| {
                [
                    c.identity.insurer_number.as_str(),
                    c.identity.card_symbol.as_str(),
                    c.identity.card_number.as_str(),
                    c.identity.card_branch.as_str(),
                ]
            });
            for (i, b) in text.iter_mut().take(4).enumerate() {
                b.append_option(fields.map(|f| f[i]).filter(|v| !v.is_empty()));
            }
            text[4].append_option(card.as_ref().and_then(|c| c.month));
        }
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(person.finish()),
            Arc::new(sex.finish()),
            Arc::new(birth.finish()),
        ];
        columns.extend(text.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| {
            PipelineError::Task(format!("person_keys does not have its schema: {e}"))
        })?;
        out.write(&batch)?;
        books.rows += n as u64;
    }
    writer.finish_part(out)?;
    books.rows_read = books.source_rows;
    books.rows_written = books.rows;
    books.withheld_now = books.withheld;
    Ok(books)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(insurer: &str, number: &str, branch: &str) -> Identity {
        Identity {
            insurer_number: insurer.into(),
            card_number: number.into(),
            card_branch: branch.into(),
            ..Identity::default()
        }
    }

    #[test]
    fn the_oldest_known_month_wins_then_the_card() {
        let (a, b) = (
            identity("06130001", "1", "01"),
            identity("06130002", "2", "01"),
        );
        let o = |i, m| Oldest {
            identity: i,
            month: m,
        };
        assert!(older(&o(&b, Some("202001")), &o(&a, Some("202101"))));
        assert!(older(&o(&a, Some("202101")), &o(&b, None)));
        assert!(older(&o(&a, Some("202001")), &o(&b, Some("202001"))));
        assert!(!older(&o(&a, None), &o(&a, None)));
        assert!(has_card(&a) && !has_card(&identity("", "1", "")));
    }
}
