//! Observations from the canonical tables ingest writes (Arrow batches): who each row is about.
//!
//! - `persons` (one row per patient per file): names, sex, birth date, postcode, prefecture;
//! - `claims` (one row per receipt): the card (insurer, symbol, number, branch) and the name as
//!   the receipt wrote it, in its service month;
//! - `checkups`: one record per checkup, with its card, kana name, sex, birth date, postcode;
//! - every other table with `provider_id` + `patient_id` (lab results, stays, deaths,
//!   insurance periods, …): the record key only, so that every row of the research database
//!   has a record in the registry even when its provider sent no identity with it.
//!
//! A patient's `persons` row and their receipts in the same delivery are combined: each
//! receipt's card variant gets the postcode and prefecture the provider holds.

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::{Array, Date32Array, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::DataType;

use crate::error::{PersonsError, Result};
use crate::record::{Identity, Observation, RecordKey};

/// Observations gathered from many batches, combined per record by [`Observations::finish`].
#[derive(Debug, Default)]
pub struct Observations {
    persons: BTreeMap<RecordKey, Identity>,
    cards: BTreeMap<(RecordKey, Identity), Option<String>>,
    checkups: Vec<Observation>,
    keys: BTreeSet<RecordKey>,
}

fn str_col<'a>(table: &str, batch: &'a RecordBatch, name: &str) -> Result<&'a StringArray> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| PersonsError::column(table, name, "missing"))?;
    col.as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| PersonsError::column(table, name, "expected Utf8"))
}

fn opt_str_col<'a>(batch: &'a RecordBatch, name: &str) -> Option<&'a StringArray> {
    batch
        .column_by_name(name)
        .filter(|c| c.data_type() == &DataType::Utf8)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
}

fn sex_col<'a>(table: &str, batch: &'a RecordBatch) -> Result<&'a Int32Array> {
    batch
        .column_by_name("sex")
        .and_then(|c| c.as_any().downcast_ref::<Int32Array>())
        .ok_or_else(|| PersonsError::column(table, "sex", "missing or not Int32"))
}

fn date_col<'a>(table: &str, batch: &'a RecordBatch, name: &str) -> Result<&'a Date32Array> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<Date32Array>())
        .ok_or_else(|| PersonsError::column(table, name, "missing or not Date32"))
}

fn s(a: Option<&StringArray>, i: usize) -> String {
    match a {
        Some(a) if a.is_valid(i) => a.value(i).to_string(),
        _ => String::new(),
    }
}

fn sex(a: &Int32Array, i: usize) -> String {
    if a.is_valid(i) {
        a.value(i).to_string()
    } else {
        String::new()
    }
}

fn ymd(a: &Date32Array, i: usize) -> String {
    if !a.is_valid(i) {
        return String::new();
    }
    match medinfra_model::days::date_of(a.value(i)) {
        Some(d) => format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day()),
        None => String::new(),
    }
}

impl Observations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the rows of one batch of canonical table `table`.
    pub fn add_batch(&mut self, table: &str, batch: &RecordBatch) -> Result<()> {
        match table {
            "persons" => {
                let (prov, pat) = (
                    str_col(table, batch, "provider_id")?,
                    str_col(table, batch, "patient_id")?,
                );
                let sx = sex_col(table, batch)?;
                let birth = date_col(table, batch, "birth_date")?;
                let (kanji, kana) = (
                    opt_str_col(batch, "name_kanji"),
                    opt_str_col(batch, "name_kana"),
                );
                let (post, pref) = (
                    opt_str_col(batch, "postcode"),
                    opt_str_col(batch, "prefecture_code"),
                );
                for i in 0..batch.num_rows() {
                    let key = RecordKey::patient(prov.value(i), pat.value(i));
                    let id = Identity {
                        name_kanji: s(kanji, i),
                        name_kana: s(kana, i),
                        sex: sex(sx, i),
                        birth_date: ymd(birth, i),
                        postcode: s(post, i),
                        prefecture: s(pref, i),
                        ..Identity::default()
                    };
                    self.persons.insert(key, id);
                }
            }
            "claims" => {
                let (prov, pat) = (
                    str_col(table, batch, "provider_id")?,
                    str_col(table, batch, "patient_id")?,
                );
                let month = opt_str_col(batch, "service_month");
                let sx = sex_col(table, batch)?;
                let birth = date_col(table, batch, "birth_date")?;
                let cols: Vec<Option<&StringArray>> = [
                    "name_kanji",
                    "name_kana",
                    "insurer_number",
                    "card_symbol",
                    "card_number",
                    "card_branch",
                ]
                .iter()
                .map(|c| opt_str_col(batch, c))
                .collect();
                for i in 0..batch.num_rows() {
                    let key = RecordKey::patient(prov.value(i), pat.value(i));
                    let id = Identity {
                        name_kanji: s(cols[0], i),
                        name_kana: s(cols[1], i),
                        sex: sex(sx, i),
                        birth_date: ymd(birth, i),
                        insurer_number: s(cols[2], i),
                        card_symbol: s(cols[3], i),
                        card_number: s(cols[4], i),
                        card_branch: s(cols[5], i),
                        ..Identity::default()
                    };
                    let m = Some(s(month, i)).filter(|m| !m.is_empty());
                    // The earliest month a card variant was seen in.
                    let slot = self.cards.entry((key, id)).or_insert(m.clone());
                    if let (Some(a), Some(b)) = (slot.as_ref(), m.as_ref())
                        && b < a
                    {
                        *slot = m;
                    }
                }
            }
            "checkups" => {
                let (fac, cid) = (
                    str_col(table, batch, "facility_id")?,
                    str_col(table, batch, "checkup_id")?,
                );
                let sx = sex_col(table, batch)?;
                let birth = date_col(table, batch, "birth_date")?;
                let when = date_col(table, batch, "checkup_date")?;
                let cols: Vec<Option<&StringArray>> = [
                    "name_kana",
                    "insurer_number",
                    "card_symbol",
                    "card_number",
                    "card_branch",
                    "postcode",
                ]
                .iter()
                .map(|c| opt_str_col(batch, c))
                .collect();
                for i in 0..batch.num_rows() {
                    let date = ymd(when, i);
                    self.checkups.push(Observation {
                        key: RecordKey::checkup(fac.value(i), cid.value(i)),
                        month: (date.len() == 8).then(|| date[..6].to_string()),
                        identity: Identity {
                            name_kana: s(cols[0], i),
                            sex: sex(sx, i),
                            birth_date: ymd(birth, i),
                            insurer_number: s(cols[1], i),
                            card_symbol: s(cols[2], i),
                            card_number: s(cols[3], i),
                            card_branch: s(cols[4], i),
                            postcode: s(cols[5], i),
                            ..Identity::default()
                        },
                    });
                }
            }
            _ => {
                let (Some(prov), Some(pat)) = (
                    opt_str_col(batch, "provider_id"),
                    opt_str_col(batch, "patient_id"),
                ) else {
                    return Ok(());
                };
                for i in 0..batch.num_rows() {
                    if prov.is_valid(i) && pat.is_valid(i) {
                        self.keys
                            .insert(RecordKey::patient(prov.value(i), pat.value(i)));
                    }
                }
            }
        }
        Ok(())
    }

    /// The observations, combined per record and in a deterministic order (records by key,
    /// then their variants by month).
    pub fn finish(self) -> Vec<Observation> {
        let Observations {
            persons,
            cards,
            checkups,
            mut keys,
        } = self;
        let mut out: Vec<Observation> = Vec::with_capacity(cards.len() + persons.len());
        let mut carded: BTreeSet<RecordKey> = BTreeSet::new();
        for ((key, mut id), month) in cards {
            if let Some(p) = persons.get(&key) {
                id.postcode = p.postcode.clone();
                id.prefecture = p.prefecture.clone();
                if id.name_kanji.is_empty() {
                    id.name_kanji = p.name_kanji.clone();
                }
                if id.name_kana.is_empty() {
                    id.name_kana = p.name_kana.clone();
                }
            }
            carded.insert(key.clone());
            out.push(Observation {
                key,
                month,
                identity: id,
            });
        }
        for (key, id) in persons {
            if !carded.contains(&key) {
                out.push(Observation {
                    key: key.clone(),
                    month: None,
                    identity: id,
                });
            }
            keys.remove(&key);
        }
        for key in carded {
            keys.remove(&key);
        }
        out.extend(keys.into_iter().map(|key| Observation {
            key,
            month: None,
            identity: Identity::default(),
        }));
        out.extend(checkups);
        out.sort_by(|a, b| (&a.key, &a.month).cmp(&(&b.key, &b.month)));
        out
    }
}

/// The observations of one batch on its own (tests, small inputs).
pub fn observations_from_batch(table: &str, batch: &RecordBatch) -> Result<Vec<Observation>> {
    let mut o = Observations::new();
    o.add_batch(table, batch)?;
    Ok(o.finish())
}
