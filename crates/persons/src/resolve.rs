//! One run of the registry: new observations in, person IDs that stay put out.
//!
//! The unit of clustering is the record (a chart number at a provider, or a checkup). At the
//! start of a run every record already in the registry sits in its person's cluster; then
//! (1) operator must-links join, (2) each *new* variant's keyed ID1 and ID2 join the first
//! record that carried the same ID (an ID2 that in one month goes with more than two ID1
//! values belongs to several people and is not used), (3) the records of clusters that still
//! hold no registered person — the residue — are compared with the Fellegi–Sunter model
//! against every variant in the registry, best links first. Every join is refused when an
//! operator's cannot-link would end up inside one cluster. Finally each cluster keeps the
//! smallest person ID among its registered records (older IDs survive), the others become
//! aliases, and clusters without one mint a new ID.

use std::collections::{HashMap, HashSet};

use medinfra_link::blocking::{BlockIndex, Sides};
use medinfra_link::cluster::UnionFind;
use medinfra_link::deterministic::{Identity as IdInput, ndb_ids};
use medinfra_link::fs::probability;
use medinfra_link::input::TableBuilder;
use medinfra_link::model::{TrainOptions, TrainedModel};
use medinfra_link::spec::ModelSpec;
use medinfra_link::table::Table;
use medinfra_link::tf::fill_term_frequencies;
use medinfra_pseudo::keys::Key;
use medinfra_pseudo::ndb::NdbHashConfig;

use crate::record::{Identity, Observation};
use crate::registry::{
    Alias, Event, EventKind, OverrideKind, Registry, RunSummary, SavedModel, Variant,
};

/// Whether saved parameters have the shape of `spec`'s comparisons (a model whose
/// comparisons changed since is trained again).
fn params_fit(spec: &ModelSpec, params: &medinfra_link::fs::Params) -> bool {
    params.m.len() == spec.comparisons.len()
        && params.u.len() == spec.comparisons.len()
        && spec
            .comparisons
            .iter()
            .enumerate()
            .all(|(c, s)| params.m[c].len() == s.n_levels() && params.u[c].len() == s.n_levels())
}

/// How records are linked: the key of the keyed ID1/ID2, the model for the residue and its
/// threshold.
pub struct Linker {
    pub key: Key,
    pub ndb: NdbHashConfig,
    pub spec: ModelSpec,
    /// Match probability at or above which the model links a residue record.
    pub threshold: f64,
    pub train: TrainOptions,
    /// An ID2 seen in one month with more than this many ID1 values (or on cards of insurers
    /// in two prefectures) is not used to link.
    pub id2_max_id1_per_month: usize,
    /// Two chart numbers of one provider are two people (a provider keeps one chart per
    /// patient; same-sex twins on one family card, alike in card, birth date, sex, surname and
    /// address, are told apart by their two charts). Only an operator's must-link joins them.
    pub one_chart_per_provider: bool,
}

impl Linker {
    /// The built-in configuration: `japan-person`, threshold 0.95 (the model's links below it
    /// are mostly family members sharing a card).
    pub fn new(key: Key) -> Self {
        Linker {
            key,
            ndb: NdbHashConfig::default(),
            spec: medinfra_link::models::japan_person(),
            threshold: 0.95,
            train: TrainOptions::default(),
            id2_max_id1_per_month: 2,
            one_chart_per_provider: true,
        }
    }

    /// Keyed ID1 and ID2 of an identity (ID2 from the kanji name, else the kana name, as a
    /// receipt writes whichever the provider holds).
    ///
    /// Unlike the NDB's ID1, the registry's takes the card's branch number (枝番) when the
    /// record has one: since 2021 the branch is personal, and without it same-sex twins on one
    /// family card share insurer, symbol, number, birth date and sex — one ID1 for two people
    /// (on the sample population, every false merge of the plain ID1 was such a pair). A record
    /// without a branch gets the plain ID1 and links to branch-carrying records through ID2 or
    /// the model.
    pub fn ids(&self, id: &Identity) -> (Option<String>, Option<String>) {
        let name = if id.name_kanji.is_empty() {
            &id.name_kana
        } else {
            &id.name_kanji
        };
        let card_number = if id.card_branch.is_empty() || id.card_number.is_empty() {
            id.card_number.clone()
        } else {
            format!("{}{}", id.card_number, id.card_branch)
        };
        ndb_ids(
            &IdInput {
                name,
                sex: &id.sex,
                birth_date: &id.birth_date,
                insurer_number: &id.insurer_number,
                card_symbol: &id.card_symbol,
                card_number: &card_number,
            },
            &self.ndb,
            Some(&self.key),
        )
    }
}

/// Why two clusters were joined.
#[derive(Debug, Clone)]
enum Why {
    MustLink(String),
    Id1,
    Id2,
    Model { p: f64 },
}

impl Why {
    fn text(&self) -> String {
        match self {
            Why::MustLink(r) => format!("must-link: {r}"),
            Why::Id1 => "keyed ID1 (insurer, card, birth date, sex)".into(),
            Why::Id2 => "keyed ID2 (name, birth date, sex)".into(),
            Why::Model { p } => format!("japan-person model, match probability {p:.6}"),
        }
    }
}

/// Union–find over records that remembers, per cluster, the smallest registered person in it
/// and the providers whose charts it holds, and refuses joins an operator's cannot-link
/// forbids or that would put two chart numbers of one provider into one person.
struct Clusters<'a> {
    uf: UnionFind,
    oldest: Vec<Option<i64>>,
    /// Per cluster root: the providers (interned) of its patient records, sorted.
    charts: Vec<Vec<u32>>,
    /// Whether two charts of one provider may be joined (only operators' must-links may).
    one_chart_per_provider: bool,
    refused_same_provider: u64,
    cannot: &'a [(usize, usize)],
    /// Per new record, the first reason it was attached to another record.
    attached: HashMap<usize, Why>,
    merges: Vec<(i64, i64, Why)>,
    refused: u64,
}

impl Clusters<'_> {
    fn join(&mut self, a: usize, b: usize, why: Why) -> bool {
        let (ra, rb) = (self.uf.find(a), self.uf.find(b));
        if ra == rb {
            return false;
        }
        let forced = matches!(why, Why::MustLink(_));
        if self.one_chart_per_provider
            && !forced
            && sorted_intersect(&self.charts[ra], &self.charts[rb])
        {
            self.refused_same_provider += 1;
            return false;
        }
        for &(x, y) in self.cannot {
            let (fx, fy) = (self.uf.find(x), self.uf.find(y));
            if (fx == ra && fy == rb) || (fx == rb && fy == ra) {
                self.refused += 1;
                return false;
            }
        }
        let (pa, pb) = (self.oldest[ra], self.oldest[rb]);
        self.uf.union(ra, rb);
        let r = self.uf.find(ra);
        let other = if r == ra { rb } else { ra };
        let moved = std::mem::take(&mut self.charts[other]);
        merge_sorted(&mut self.charts[r], moved);
        self.oldest[r] = match (pa, pb) {
            (Some(x), Some(y)) => {
                self.merges.push((x.min(y), x.max(y), why.clone()));
                Some(x.min(y))
            }
            (x, y) => x.or(y),
        };
        for rec in [a, b] {
            self.attached.entry(rec).or_insert_with(|| why.clone());
        }
        true
    }
}

/// What one ID2 went with in one month: its ID1 values and its cards' insurer prefectures.
type Partners<'a> = (HashSet<&'a str>, HashSet<String>);

/// The prefecture an insurer number belongs to (法別番号 + 都道府県番号 + …: digits 3–4 of an
/// 8-digit number; digits 1–2 of a 6-digit 国民健康保険 number), after the card normalization
/// (full-width digits).
fn insurer_prefecture(insurer: &str) -> Option<String> {
    let digits = medinfra_pseudo::normalize::normalize_card(insurer).ok()?;
    match digits.len() {
        8 => digits.get(2..4).map(str::to_string),
        6 => digits.get(..2).map(str::to_string),
        _ => None,
    }
}

fn sorted_intersect(a: &[u32], b: &[u32]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
        }
    }
    false
}

fn merge_sorted(into: &mut Vec<u32>, from: Vec<u32>) {
    into.extend(from);
    into.sort_unstable();
    into.dedup();
}

impl Registry {
    /// Recomputes every variant's ID1/ID2 under `linker`'s key (after a key rotation: IDs under
    /// two keys never match). Returns how many variants were rekeyed.
    pub fn rekey(&mut self, linker: &Linker, key_id: &str) -> usize {
        if self.key_id == key_id {
            return 0;
        }
        for v in &mut self.variants {
            let (id1, id2) = linker.ids(&v.identity);
            v.id1 = id1;
            v.id2 = id2;
        }
        self.key_id = key_id.to_string();
        self.rewrite_variants = true;
        self.variants.len()
    }

    /// Adds a run's observations and resolves the new records and variants. `at` is the run's
    /// timestamp. Observations already known (same record, same identity) change nothing, so
    /// running the same month twice is idempotent.
    pub fn update(
        &mut self,
        observations: impl IntoIterator<Item = Observation>,
        linker: &Linker,
        at: &str,
    ) -> RunSummary {
        let run = self.runs.len() as i64 + 1;
        let old_records = self.records.len();
        let mut summary = RunSummary {
            run,
            at: at.into(),
            ..RunSummary::default()
        };
        let first_new_variant = self.variants.len();
        for o in observations {
            summary.observations += 1;
            let (rec, fresh) = self.insert_record(o.key, run);
            summary.records_new += u64::from(fresh);
            if o.identity.is_empty() {
                continue;
            }
            let (id1, id2) = linker.ids(&o.identity);
            let added = self.insert_variant(Variant {
                record: rec,
                month: o.month,
                identity: o.identity,
                id1,
                id2,
                run,
            });
            summary.variants_new += u64::from(added);
        }
        if summary.records_new == 0 && summary.variants_new == 0 {
            summary.records_total = self.records.len() as u64;
            summary.persons_total = self.persons() as u64;
            // Observations that were all known still make a run (the parts they came from are
            // recorded as read under it); no observation at all is no run.
            if summary.observations > 0 {
                self.runs.push(summary.clone());
            }
            return summary;
        }
        let cannot: Vec<(usize, usize)> = self
            .overrides
            .iter()
            .filter(|o| o.kind == OverrideKind::CannotLink)
            .map(|o| (o.a, o.b))
            .collect();
        let mut provider_codes: HashMap<&str, u32> = HashMap::new();
        let charts: Vec<Vec<u32>> = self
            .records
            .iter()
            .map(|r| {
                if r.key.kind == crate::record::RecordKind::Patient {
                    let next = provider_codes.len() as u32;
                    vec![
                        *provider_codes
                            .entry(r.key.provider_id.as_str())
                            .or_insert(next),
                    ]
                } else {
                    Vec::new()
                }
            })
            .collect();
        let mut c = Clusters {
            uf: UnionFind::new(self.records.len()),
            oldest: vec![None; self.records.len()],
            charts,
            one_chart_per_provider: linker.one_chart_per_provider,
            refused_same_provider: 0,
            cannot: &cannot,
            attached: HashMap::new(),
            merges: Vec::new(),
            refused: 0,
        };
        // Registered records start in their person's cluster.
        let mut first_of: HashMap<i64, usize> = HashMap::new();
        for (i, r) in self.records[..old_records].iter().enumerate() {
            c.oldest[i] = Some(r.person_id);
            let f = *first_of.entry(r.person_id).or_insert(i);
            if f != i {
                let (ri, rf) = (c.uf.find(i), c.uf.find(f));
                c.uf.union(ri, rf);
                let root = c.uf.find(ri);
                let other = if root == ri { rf } else { ri };
                let moved = std::mem::take(&mut c.charts[other]);
                merge_sorted(&mut c.charts[root], moved);
            }
        }
        for o in self
            .overrides
            .iter()
            .filter(|o| o.kind == OverrideKind::MustLink)
        {
            c.join(o.a, o.b, Why::MustLink(o.reason.clone()));
        }
        self.link_ids(&mut c, first_new_variant, linker, &mut summary);
        if let Some(trained) = self.link_residue(&mut c, old_records, linker, &mut summary) {
            self.model = Some(trained);
        }
        self.assign(c, old_records, run, &mut summary);
        summary.records_total = self.records.len() as u64;
        summary.persons_total = self.persons() as u64;
        self.runs.push(summary.clone());
        summary
    }

    /// Step 2: keyed ID1/ID2 of the new variants.
    fn link_ids(
        &self,
        c: &mut Clusters<'_>,
        first_new: usize,
        linker: &Linker,
        summary: &mut RunSummary,
    ) {
        // ID2 values that go with more than N ID1 values in one month (rule 1 of
        // `medinfra_link::deterministic`), over everything the registry has seen.
        // Also an ID2 seen in one month on cards of insurers in two prefectures: one person
        // changing cards within a month does so where they live (a job change); two people
        // with one name and birthday in two prefectures are seen at the same time.
        let mut partners: HashMap<(&str, &str), Partners<'_>> = HashMap::new();
        for v in &self.variants {
            if let (Some(m), Some(i1), Some(i2)) = (&v.month, &v.id1, &v.id2) {
                let e = partners.entry((i2.as_str(), m.as_str())).or_default();
                e.0.insert(i1.as_str());
                if let Some(pref) = insurer_prefecture(&v.identity.insurer_number) {
                    e.1.insert(pref);
                }
            }
        }
        let ambiguous: HashSet<&str> = partners
            .into_iter()
            .filter(|(_, (ids, prefs))| ids.len() > linker.id2_max_id1_per_month || prefs.len() > 1)
            .map(|((id2, _), _)| id2)
            .collect();
        summary.ambiguous_id2 = ambiguous.len() as u64;
        // A branch-less ID1 seen in one month with two names written the same way (two kanji
        // names, or two kana names) is a family card shared by same-sex twins born the same
        // day (cards had no personal branch before 2021): not used to link. Names written
        // once in kanji and once in kana are one person's, and do not count.
        let mut names: HashMap<(&str, &str, bool), HashSet<&str>> = HashMap::new();
        for v in &self.variants {
            if let (Some(m), Some(i1), Some(i2)) = (&v.month, &v.id1, &v.id2)
                && v.identity.card_branch.is_empty()
            {
                names
                    .entry((i1.as_str(), m.as_str(), v.identity.name_kanji.is_empty()))
                    .or_default()
                    .insert(i2.as_str());
            }
        }
        let shared_id1: HashSet<&str> = names
            .into_iter()
            .filter(|(_, s)| s.len() > 1)
            .map(|((id1, _, _), _)| id1)
            .collect();
        summary.ambiguous_id1 = shared_id1.len() as u64;
        // First variant seen with each usable ID value; later ones join its record unless the
        // two variants contradict the key (`contradict`).
        let mut first: HashMap<(u8, &str), usize> = HashMap::new();
        for (n, v) in self.variants.iter().enumerate() {
            let ids = [
                (1u8, v.id1.as_deref().filter(|x| !shared_id1.contains(x))),
                (2u8, v.id2.as_deref().filter(|x| !ambiguous.contains(x))),
            ];
            for (kind, id) in ids {
                let Some(id) = id else { continue };
                let f = *first.entry((kind, id)).or_insert(n);
                if n < first_new || f == n {
                    continue;
                }
                let other = &self.variants[f];
                let contradicted = if kind == 1 {
                    crate::contradict::twins_like(&v.identity, &other.identity)
                } else {
                    crate::contradict::strangers_like(&v.identity, &other.identity)
                };
                if contradicted {
                    summary.refused_contradicted += 1;
                    continue;
                }
                if c.join(
                    v.record,
                    other.record,
                    if kind == 1 { Why::Id1 } else { Why::Id2 },
                ) {
                    summary.id_links += 1;
                }
            }
        }
    }

    /// Step 3: the model on the records whose cluster holds no registered person. Returns the
    /// parameters when it trained the model (see [`SavedModel`]).
    fn link_residue(
        &self,
        c: &mut Clusters<'_>,
        old_records: usize,
        linker: &Linker,
        summary: &mut RunSummary,
    ) -> Option<SavedModel> {
        let residue: HashSet<usize> = (old_records..self.records.len())
            .filter(|&r| {
                let root = c.uf.find(r);
                c.oldest[root].is_none()
            })
            .collect();
        let left_variants: Vec<usize> = (0..self.variants.len())
            .filter(|&v| residue.contains(&self.variants[v].record))
            .collect();
        if left_variants.is_empty() || self.variants.len() < 2 {
            return None;
        }
        let build = |which: &mut dyn Iterator<Item = usize>| -> Table {
            let mut b = TableBuilder::new(&linker.spec);
            for v in which {
                let id = &self.variants[v].identity;
                b.push(&v.to_string(), |col| id.get(col));
            }
            b.finish().table
        };
        let mut all = build(&mut (0..self.variants.len()));
        let whole = left_variants.len() == self.variants.len();
        let mut left = if whole {
            Table::default()
        } else {
            build(&mut left_variants.iter().copied())
        };
        let tf_fields: Vec<usize> = linker
            .spec
            .comparisons
            .iter()
            .filter(|x| x.term_frequency)
            .map(|x| x.field)
            .collect();
        if whole {
            fill_term_frequencies(&mut [&mut all], &tf_fields);
        } else {
            fill_term_frequencies(&mut [&mut all, &mut left], &tf_fields);
        }
        // Trained on the whole registry (dedupe): the residue alone is too small and too
        // biased (it is what the keys could not link) to estimate m and u from. Reused until
        // the registry has grown by a quarter since (see `SavedModel`).
        let reusable = self.model.as_ref().filter(|m| {
            m.variants > 0
                && self.variants.len() * 4 <= m.variants * 5
                && params_fit(&linker.spec, &m.params)
        });
        let (model, trained) = match reusable {
            Some(m) => (
                TrainedModel::from_params(linker.spec.clone(), m.params.clone()),
                None,
            ),
            None => {
                let model = TrainedModel::train(
                    linker.spec.clone(),
                    Sides {
                        left: &all,
                        right: None,
                    },
                    linker.train,
                );
                let saved = SavedModel {
                    params: model.params.clone(),
                    variants: self.variants.len(),
                };
                (model, Some(saved))
            }
        };
        summary.model_trained = trained.is_some();
        let sides = if whole {
            Sides {
                left: &all,
                right: None,
            }
        } else {
            Sides {
                left: &left,
                right: Some(&all),
            }
        };
        let index = BlockIndex::build(&linker.spec.blocking, sides);
        let specs = &model.spec.comparisons;
        let rt = sides.right_table();
        let variant_of = |t: &Table, i: usize| t.id(i).parse::<usize>().unwrap_or(usize::MAX);
        let mut links: Vec<(usize, usize, f64)> = index.fold_pairs(
            Vec::new,
            |mut acc, i, j| {
                let g = medinfra_link::compare::gamma(specs, sides.left, i, rt, j);
                let p = probability(model.weight_of(g, sides.left, i, rt, j));
                if p >= linker.threshold {
                    acc.push((variant_of(sides.left, i), variant_of(rt, j), p));
                }
                acc
            },
            |mut a, b| {
                a.extend(b);
                a
            },
        );
        // Best links first, so a record joins the cluster it matches best when a later,
        // weaker link would be refused by a cannot-link.
        links.sort_unstable_by(|a, b| b.2.total_cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
        for (vi, vj, p) in links {
            let (Some(a), Some(b)) = (self.variants.get(vi), self.variants.get(vj)) else {
                continue;
            };
            if a.record == b.record {
                continue;
            }
            if crate::contradict::twins_like(&a.identity, &b.identity) {
                summary.refused_contradicted += 1;
                continue;
            }
            if c.join(a.record, b.record, Why::Model { p }) {
                summary.fs_links += 1;
            }
        }
        trained
    }

    /// Step 4: IDs per cluster, aliases, events.
    fn assign(
        &mut self,
        mut c: Clusters<'_>,
        old_records: usize,
        run: i64,
        summary: &mut RunSummary,
    ) {
        summary.refused_by_override = c.refused;
        summary.refused_same_provider = c.refused_same_provider;
        let n = self.records.len();
        let roots: Vec<usize> = (0..n).map(|i| c.uf.find(i)).collect();
        // Registered persons per cluster: the smallest survives.
        let mut persons_in: HashMap<usize, Vec<i64>> = HashMap::new();
        for (i, r) in self.records[..old_records].iter().enumerate() {
            persons_in.entry(roots[i]).or_default().push(r.person_id);
        }
        let mut id_of: HashMap<usize, i64> = HashMap::new();
        let mut minted: HashSet<i64> = HashSet::new();
        for (&root, ps) in persons_in.iter_mut() {
            ps.sort_unstable();
            ps.dedup();
            id_of.insert(root, ps[0]);
        }
        let merge_why: HashMap<i64, String> = c
            .merges
            .iter()
            .map(|(_, retired, why)| (*retired, why.text()))
            .collect();
        let mut retired: Vec<(i64, i64)> = persons_in
            .values()
            .flat_map(|ps| ps[1..].iter().map(|&r| (r, ps[0])))
            .collect();
        retired.sort_unstable();
        for (old, survivor) in retired {
            let evidence = merge_why
                .get(&old)
                .cloned()
                .unwrap_or_else(|| "joined through a new record".into());
            self.aliases.push(Alias {
                retired: old,
                survivor,
                run,
                evidence: evidence.clone(),
            });
            self.events.push(Event {
                run,
                kind: EventKind::Merged,
                record: None,
                person_id: survivor,
                other_person: Some(old),
                evidence,
            });
            summary.merged += 1;
        }
        for (i, root) in roots.iter().enumerate() {
            let id = match id_of.get(root) {
                Some(&id) => id,
                None => {
                    let id = self.mint();
                    id_of.insert(*root, id);
                    minted.insert(id);
                    summary.persons_new += 1;
                    id
                }
            };
            if i < old_records {
                if self.records[i].person_id != id {
                    summary.records_moved += 1;
                    self.records[i].person_id = id;
                }
                continue;
            }
            self.records[i].person_id = id;
            let (kind, evidence) = if minted.remove(&id) {
                (EventKind::New, "no registered record matched".to_string())
            } else {
                summary.joined += u64::from(persons_in.contains_key(root));
                let why = c
                    .attached
                    .get(&i)
                    .map(Why::text)
                    .unwrap_or_else(|| "record key".into());
                (EventKind::Joined, why)
            };
            self.events.push(Event {
                run,
                kind,
                record: Some(i),
                person_id: id,
                other_person: None,
                evidence,
            });
        }
    }
}
