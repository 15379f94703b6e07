//! The registry's state in memory: records with their person, the identity variants seen of
//! each, aliases of retired IDs, overrides, the event history and the runs.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::{PersonsError, Result};
use crate::record::{Identity, RecordKey};

/// One identity record and the person it belongs to now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key: RecordKey,
    pub person_id: i64,
    /// The run that first saw it.
    pub first_run: i64,
}

/// One distinct identity of a record (a record gains a variant when its card or name changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Index of the record in [`Registry::records`].
    pub record: usize,
    /// First month it was seen in (`YYYYMM`), when known.
    pub month: Option<String>,
    pub identity: Identity,
    /// Keyed NDB ID1 / ID2 (HMAC under the registry's linkage key; `None` when an input is
    /// missing or invalid).
    pub id1: Option<String>,
    pub id2: Option<String>,
    pub run: i64,
}

/// A retired person ID and the one that took its records (a redirect, never reused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alias {
    pub retired: i64,
    pub survivor: i64,
    pub run: i64,
    pub evidence: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A new person ID was minted for this record.
    New,
    /// A new record joined an existing person.
    Joined,
    /// Two persons became one: `other_person` retired into `person_id`.
    Merged,
    /// A record was split off into a new person (`other_person`: the one it left).
    Split,
    /// An operator override was recorded.
    Override,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::New => "new",
            EventKind::Joined => "joined",
            EventKind::Merged => "merged",
            EventKind::Split => "split",
            EventKind::Override => "override",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            EventKind::New,
            EventKind::Joined,
            EventKind::Merged,
            EventKind::Split,
            EventKind::Override,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One change in the registry's history, with the evidence that made it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub run: i64,
    pub kind: EventKind,
    /// The record concerned (index in [`Registry::records`]), for new/joined/split/override.
    #[serde(skip)]
    pub record: Option<usize>,
    pub person_id: i64,
    pub other_person: Option<i64>,
    /// What decided it: `record key`, `id1`, `id2`, `fs p=… w=…`, `must-link: reason`, ….
    pub evidence: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideKind {
    MustLink,
    CannotLink,
}

impl OverrideKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideKind::MustLink => "must_link",
            OverrideKind::CannotLink => "cannot_link",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "must_link" => Some(OverrideKind::MustLink),
            "cannot_link" => Some(OverrideKind::CannotLink),
            _ => None,
        }
    }
}

/// An operator's decision about two records; it wins over the model in every later run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Override {
    pub kind: OverrideKind,
    #[serde(skip)]
    pub a: usize,
    #[serde(skip)]
    pub b: usize,
    pub reason: String,
    pub run: i64,
}

/// What one run (or one operator action) changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run: i64,
    pub at: String,
    pub observations: u64,
    pub records_new: u64,
    pub variants_new: u64,
    pub persons_new: u64,
    /// New records that joined an existing person.
    pub joined: u64,
    /// Persons retired into another (aliases written).
    pub merged: u64,
    pub split: u64,
    /// Records already in the registry whose person ID changed (merges and splits).
    pub records_moved: u64,
    /// Links made by keyed ID1 / ID2 and by the Fellegi–Sunter model.
    pub id_links: u64,
    pub fs_links: u64,
    /// Links an operator's cannot-link refused.
    pub refused_by_override: u64,
    /// Links refused because both sides held a chart of the same provider.
    #[serde(default)]
    pub refused_same_provider: u64,
    /// Key or model links refused because the two variants contradict them (twins on one
    /// card, strangers with one name and birthday: `contradict`).
    #[serde(default)]
    pub refused_contradicted: u64,
    /// ID2 values not used to link because several people share them.
    pub ambiguous_id2: u64,
    /// Branch-less ID1 values not used to link (a family card of same-sex twins).
    #[serde(default)]
    pub ambiguous_id1: u64,
    /// The run trained the model's parameters (else it reused the saved ones).
    #[serde(default)]
    pub model_trained: bool,
    pub records_total: u64,
    pub persons_total: u64,
}

/// A provider part the registry has read (so a later run skips it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Source {
    pub dataset: String,
    pub version: i64,
    pub table: String,
    pub sha256: String,
    pub run: i64,
}

/// The Fellegi–Sunter parameters the registry last trained, and on how many identity
/// variants. Training estimates u from random pairs and m by EM over blocks of the whole
/// registry — the one linking step whose cost grew with the history — and its parameters
/// barely move from one month to the next, so a run reuses them until the registry has grown
/// by a quarter since, then trains again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedModel {
    pub params: medinfra_link::fs::Params,
    pub variants: usize,
}

/// The registry.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub records: Vec<Record>,
    pub variants: Vec<Variant>,
    pub aliases: Vec<Alias>,
    pub overrides: Vec<Override>,
    pub events: Vec<Event>,
    pub runs: Vec<RunSummary>,
    pub sources: Vec<Source>,
    /// The next person ID to mint (IDs only grow, so none is ever reused).
    pub next_person: i64,
    /// Id of the key the stored ID1/ID2 were made with.
    pub key_id: String,
    /// The model's parameters as last trained (`None`: the next run trains).
    pub model: Option<SavedModel>,
    /// The last run already in the stored dataset (rows of later runs are written by the
    /// next save).
    pub persisted_run: i64,
    /// Every variant changed (rekeyed): the next save writes them all instead of carrying.
    pub(crate) rewrite_variants: bool,
    by_key: HashMap<RecordKey, usize>,
    seen: HashSet<(usize, [u8; 16])>,
    consumed: HashSet<String>,
}

impl Registry {
    pub fn new(key_id: &str) -> Self {
        Registry {
            next_person: 1,
            key_id: key_id.into(),
            ..Registry::default()
        }
    }

    /// Rebuilds the lookup indexes after the vectors were filled (loading).
    pub(crate) fn reindex(&mut self) -> Result<()> {
        self.by_key = HashMap::with_capacity(self.records.len());
        for (i, r) in self.records.iter().enumerate() {
            if self.by_key.insert(r.key.clone(), i).is_some() {
                return Err(PersonsError::Corrupt(format!(
                    "record {i} appears twice in the records table"
                )));
            }
        }
        self.seen = HashSet::with_capacity(self.variants.len());
        for v in &self.variants {
            if v.record >= self.records.len() {
                return Err(PersonsError::Corrupt(format!(
                    "a variant names record {} of {}",
                    v.record,
                    self.records.len()
                )));
            }
            self.seen.insert((v.record, v.identity.digest()));
        }
        self.consumed = self.sources.iter().map(|s| s.sha256.clone()).collect();
        Ok(())
    }

    pub fn record_index(&self, key: &RecordKey) -> Option<usize> {
        self.by_key.get(key).copied()
    }

    /// The person of a record, by key.
    pub fn person_of(&self, key: &RecordKey) -> Option<i64> {
        self.record_index(key).map(|i| self.records[i].person_id)
    }

    /// Whether a provider part (by its SHA-256) was read by an earlier run.
    pub fn has_consumed(&self, sha256: &str) -> bool {
        self.consumed.contains(sha256)
    }

    /// Records that a provider part was read (its rows are in this run's observations).
    pub fn add_source(&mut self, source: Source) {
        self.consumed.insert(source.sha256.clone());
        self.sources.push(source);
    }

    pub(crate) fn insert_record(&mut self, key: RecordKey, run: i64) -> (usize, bool) {
        if let Some(&i) = self.by_key.get(&key) {
            return (i, false);
        }
        let i = self.records.len();
        self.by_key.insert(key.clone(), i);
        self.records.push(Record {
            key,
            person_id: 0,
            first_run: run,
        });
        (i, true)
    }

    /// Adds a variant unless the record already has it; returns whether it was new.
    pub(crate) fn insert_variant(&mut self, variant: Variant) -> bool {
        if !self
            .seen
            .insert((variant.record, variant.identity.digest()))
        {
            return false;
        }
        self.variants.push(variant);
        true
    }

    /// Where a retired ID's records went (following chains of aliases).
    pub fn resolve_alias(&self, person_id: i64) -> i64 {
        let map: HashMap<i64, i64> = self
            .aliases
            .iter()
            .map(|a| (a.retired, a.survivor))
            .collect();
        let mut p = person_id;
        let mut hops = 0;
        while let Some(&next) = map.get(&p) {
            p = next;
            hops += 1;
            if hops > map.len() {
                break;
            }
        }
        p
    }

    /// Number of distinct persons now.
    pub fn persons(&self) -> usize {
        self.records
            .iter()
            .map(|r| r.person_id)
            .collect::<HashSet<_>>()
            .len()
    }

    /// Record → person for every record (the research database's lookup).
    pub fn assignments(&self) -> HashMap<&RecordKey, i64> {
        self.records.iter().map(|r| (&r.key, r.person_id)).collect()
    }

    /// Records per person, by person ID.
    pub fn members(&self) -> BTreeMap<i64, Vec<usize>> {
        let mut m: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (i, r) in self.records.iter().enumerate() {
            m.entry(r.person_id).or_default().push(i);
        }
        m
    }

    /// Operator split: `key` leaves its person for a new ID, and a cannot-link override
    /// between it and the rest of that person holds in every later run.
    pub fn split(&mut self, key: &RecordKey, reason: &str, at: &str) -> Result<RunSummary> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(PersonsError::Request("a split needs a reason".into()));
        }
        let r = self
            .record_index(key)
            .ok_or_else(|| PersonsError::Request("no such record in the registry".into()))?;
        let old = self.records[r].person_id;
        let rest: Vec<usize> = (0..self.records.len())
            .filter(|&i| i != r && self.records[i].person_id == old)
            .collect();
        let Some(&anchor) = rest.first() else {
            return Err(PersonsError::Request(
                "the record is its person's only record: nothing to split".into(),
            ));
        };
        let run = self.runs.len() as i64 + 1;
        let new = self.mint();
        self.records[r].person_id = new;
        self.overrides.push(Override {
            kind: OverrideKind::CannotLink,
            a: r,
            b: anchor,
            reason: reason.into(),
            run,
        });
        self.events.push(Event {
            run,
            kind: EventKind::Split,
            record: Some(r),
            person_id: new,
            other_person: Some(old),
            evidence: format!("operator: {reason}"),
        });
        let summary = RunSummary {
            run,
            at: at.into(),
            split: 1,
            persons_new: 1,
            records_moved: 1,
            records_total: self.records.len() as u64,
            persons_total: self.persons() as u64,
            ..RunSummary::default()
        };
        self.runs.push(summary.clone());
        Ok(summary)
    }

    /// Operator must-link: the two records are one person from now on (merged at once, the
    /// older ID surviving, and kept together in every later run).
    pub fn must_link(
        &mut self,
        a: &RecordKey,
        b: &RecordKey,
        reason: &str,
        at: &str,
    ) -> Result<RunSummary> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(PersonsError::Request("a must-link needs a reason".into()));
        }
        let find = |k: &RecordKey| {
            self.record_index(k)
                .ok_or_else(|| PersonsError::Request("no such record in the registry".into()))
        };
        let (ia, ib) = (find(a)?, find(b)?);
        if self.overrides.iter().any(|o| {
            o.kind == OverrideKind::CannotLink
                && ((o.a == ia && o.b == ib) || (o.a == ib && o.b == ia))
        }) {
            return Err(PersonsError::Request(
                "a cannot-link override holds for these two records".into(),
            ));
        }
        let run = self.runs.len() as i64 + 1;
        let (pa, pb) = (self.records[ia].person_id, self.records[ib].person_id);
        let (survivor, retired) = (pa.min(pb), pa.max(pb));
        let mut moved = 0;
        if survivor != retired {
            for rec in &mut self.records {
                if rec.person_id == retired {
                    rec.person_id = survivor;
                    moved += 1;
                }
            }
            self.aliases.push(Alias {
                retired,
                survivor,
                run,
                evidence: format!("must-link: {reason}"),
            });
            self.events.push(Event {
                run,
                kind: EventKind::Merged,
                record: None,
                person_id: survivor,
                other_person: Some(retired),
                evidence: format!("must-link: {reason}"),
            });
        }
        self.overrides.push(Override {
            kind: OverrideKind::MustLink,
            a: ia,
            b: ib,
            reason: reason.into(),
            run,
        });
        self.events.push(Event {
            run,
            kind: EventKind::Override,
            record: Some(ia),
            person_id: survivor,
            other_person: None,
            evidence: format!("must-link: {reason}"),
        });
        let summary = RunSummary {
            run,
            at: at.into(),
            merged: u64::from(survivor != retired),
            records_moved: moved,
            records_total: self.records.len() as u64,
            persons_total: self.persons() as u64,
            ..RunSummary::default()
        };
        self.runs.push(summary.clone());
        Ok(summary)
    }

    pub(crate) fn mint(&mut self) -> i64 {
        let id = self.next_person;
        self.next_person += 1;
        id
    }
}
