//! The simulation: persons month by month, and the rows their care leaves behind.
//!
//! Each chunk of persons has its own RNG stream (seeded from the run seed and the chunk
//! index) and writes its own part of every table, so output does not depend on how many
//! threads run or in which order chunks finish.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::record_batch::RecordBatch;
use medinfra_model::CanonicalTable;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::insurance::InsurerKind;
use crate::people::{Person, Samplers, date32, days_in_month, employee_kind, mix, new_card};
use crate::providers::{ProviderKind, Providers};
use crate::reference::Reference;
use crate::{SynthConfig, SynthError};
use medinfra_model::buffers::*;

/// Where the generator writes one part (one chunk) of one table.
pub trait PartSink: Send {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), String>;
}

/// Where the generator writes: opens and closes parts of tables.
pub trait TableSink: Sync {
    type Part: PartSink;
    fn open(&self, table: CanonicalTable, part: usize) -> Result<Self::Part, String>;
    fn close(&self, table: CanonicalTable, part: Self::Part) -> Result<(), String>;
}

/// What a run produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SynthSummary {
    pub persons: u64,
    /// Electronic receipt files written (0 without `provider_files`).
    pub provider_files: u64,
    /// Records (lines other than IR/GO) written to those files.
    pub provider_records: u64,
    /// Receipts (RE records) written to those files: the medical and DPC claims.
    pub provider_receipts: u64,
    /// Pharmacy (調剤) receipts written, in pharmacies' files (field order assumed, see
    /// `uke_out.rs`; ingest does not take them yet).
    pub provider_pharmacy_receipts: u64,
    /// SS-MIX2 OUL^R22 messages written (one per lab visit; 0 without `provider_files`).
    pub provider_lab_messages: u64,
    /// OBX lab results in those messages: every `lab_results` row.
    pub provider_lab_results: u64,
    /// 特定健診 zip archives written.
    pub provider_checkup_archives: u64,
    /// Checkup documents in those archives: every `checkups` row.
    pub provider_checkups: u64,
    /// DPC survey files written (EF and 様式1, one each per DPC hospital and month with data).
    pub provider_dpc_files: u64,
    /// EF rows written: one per action detail and day of every DPC stay.
    pub provider_dpc_ef_rows: u64,
    /// 様式1 rows written.
    pub provider_dpc_ff1_rows: u64,
    /// DPC stays written to 様式1: every `admissions` row.
    pub provider_dpc_stays: u64,
    /// Receipt structures written beyond one priced line per item (see `uke_receipt`):
    /// 公費単独 receipts (KO, no HO), 公費併用 receipts (HO + KO), lines of a 算定単位 before
    /// its last (no 点数), comment records (CO and SJ: `claim_notes` rows), DPC coding data
    /// records (CD: `procedures` rows beside the SI lines).
    pub provider_public_only_receipts: u64,
    pub provider_public_combined_receipts: u64,
    pub provider_grouped_lines: u64,
    pub provider_note_records: u64,
    pub provider_dpc_coding_rows: u64,
    pub chunks: usize,
    pub providers: usize,
    /// Rows per table.
    pub rows: BTreeMap<String, u64>,
}

/// What one chunk wrote as providers' files.
#[derive(Default)]
struct ProviderCounts {
    records: u64,
    receipts: u64,
    pharmacy_receipts: u64,
    lab_messages: u64,
    lab_results: u64,
    checkup_archives: u64,
    checkups: u64,
    dpc_ef_rows: u64,
    dpc_ff1_rows: u64,
    dpc_stays: u64,
    structures: ReceiptStructures,
}

/// Counts of the receipt structures a chunk wrote (see [`SynthSummary`]).
#[derive(Default, Clone, Copy)]
struct ReceiptStructures {
    public_only: u64,
    public_combined: u64,
    grouped_lines: u64,
    notes: u64,
    coding: u64,
}

struct Month {
    y: i32,
    m: u8,
    start: i32,
    days: u8,
    ym: String,
}

struct Ctx<'a> {
    config: &'a SynthConfig,
    reference: &'a Reference,
    samplers: Samplers,
    providers: Providers,
    months: Vec<Month>,
    /// Condition indexes by kind.
    chronic: Vec<usize>,
    acute: Vec<usize>,
    /// Drugs per condition index.
    drugs_by_condition: Vec<Vec<usize>>,
    /// Lab reference rows per condition index (analytes that follow the condition).
    labs_by_condition: Vec<Vec<usize>>,
    cond_index: BTreeMap<String, usize>,
}

/// Generate the population into `sink`. `progress` is called with the number of persons
/// finished so far.
pub fn generate<S: TableSink>(
    config: &SynthConfig,
    sink: &S,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SynthSummary, SynthError> {
    config.validate()?;
    let reference = Reference::load()?;
    let ctx = Ctx::new(config, &reference)?;
    let chunk = config.chunk_persons();
    let n_chunks = config.persons.div_ceil(chunk) as usize;
    let done = AtomicU64::new(0);
    let results: Vec<(BTreeMap<String, u64>, ProviderCounts)> = (0..n_chunks)
        .into_par_iter()
        .map(|c| {
            let start = c as u64 * chunk;
            let end = (start + chunk).min(config.persons);
            let rows = run_chunk(&ctx, sink, c, start, end)?;
            let d = done.fetch_add(end - start, Ordering::Relaxed) + (end - start);
            progress(d);
            Ok(rows)
        })
        .collect::<Result<_, SynthError>>()?;
    // One file per provider and month, as providers submit them.
    let provider_files = match &config.provider_files {
        Some(root) if root.exists() => crate::uke_out::merge_volumes(root)?,
        _ => 0,
    };
    let provider_dpc_files = match &config.provider_files {
        Some(root) if root.exists() && !config.receipts_only => {
            crate::dpc_out::merge_volumes(root)?
        }
        _ => 0,
    };
    let sum = |f: fn(&ProviderCounts) -> u64| results.iter().map(|r| f(&r.1)).sum();
    let mut summary = SynthSummary {
        persons: config.persons,
        provider_files,
        provider_records: sum(|c| c.records),
        provider_receipts: sum(|c| c.receipts),
        provider_pharmacy_receipts: sum(|c| c.pharmacy_receipts),
        provider_lab_messages: sum(|c| c.lab_messages),
        provider_lab_results: sum(|c| c.lab_results),
        provider_checkup_archives: sum(|c| c.checkup_archives),
        provider_checkups: sum(|c| c.checkups),
        provider_dpc_files,
        provider_dpc_ef_rows: sum(|c| c.dpc_ef_rows),
        provider_dpc_ff1_rows: sum(|c| c.dpc_ff1_rows),
        provider_dpc_stays: sum(|c| c.dpc_stays),
        provider_public_only_receipts: sum(|c| c.structures.public_only),
        provider_public_combined_receipts: sum(|c| c.structures.public_combined),
        provider_grouped_lines: sum(|c| c.structures.grouped_lines),
        provider_note_records: sum(|c| c.structures.notes),
        provider_dpc_coding_rows: sum(|c| c.structures.coding),
        chunks: n_chunks,
        providers: ctx.providers.all.len(),
        rows: BTreeMap::new(),
    };
    for (r, _) in results {
        for (k, v) in r {
            *summary.rows.entry(k).or_default() += v;
        }
    }
    Ok(summary)
}

impl<'a> Ctx<'a> {
    fn new(config: &'a SynthConfig, reference: &'a Reference) -> Result<Self, SynthError> {
        let months = (0..config.months())
            .map(|i| {
                let y = config.start_year + (i / 12) as i32;
                let m = (i % 12 + 1) as u8;
                Month {
                    y,
                    m,
                    start: date32(y, m, 1),
                    days: days_in_month(y, m),
                    ym: format!("{y}{m:02}"),
                }
            })
            .collect();
        let cond_index: BTreeMap<String, usize> = reference
            .conditions
            .iter()
            .enumerate()
            .map(|(i, c)| (c.condition_id.clone(), i))
            .collect();
        let mut drugs_by_condition = vec![Vec::new(); reference.conditions.len()];
        for (i, d) in reference.drugs.iter().enumerate() {
            if let Some(&c) = cond_index.get(&d.condition_id) {
                drugs_by_condition[c].push(i);
            }
        }
        let mut labs_by_condition = vec![Vec::new(); reference.conditions.len()];
        for (i, l) in reference.labs.iter().enumerate() {
            if let Some(c) = l.condition_id.as_ref().and_then(|c| cond_index.get(c)) {
                labs_by_condition[*c].push(i);
            }
        }
        Ok(Ctx {
            config,
            reference,
            samplers: Samplers::new(reference)?,
            providers: Providers::build(reference, config.persons, config.seed),
            months,
            chronic: (0..reference.conditions.len())
                .filter(|&i| reference.conditions[i].is_chronic())
                .collect(),
            acute: (0..reference.conditions.len())
                .filter(|&i| !reference.conditions[i].is_chronic())
                .collect(),
            drugs_by_condition,
            labs_by_condition,
            cond_index,
        })
    }

    fn is_cancer(&self, c: usize) -> bool {
        self.reference.conditions[c]
            .condition_id
            .ends_with("_cancer")
    }

    /// Acute conditions that mean a hospital stay.
    fn needs_admission(&self, c: usize) -> bool {
        matches!(
            self.reference.conditions[c].condition_id.as_str(),
            "hip_fracture" | "cerebral_infarction" | "ami"
        )
    }

    fn lab(&self, analyte: &str) -> Option<usize> {
        self.reference
            .labs
            .iter()
            .position(|l| l.analyte == analyte)
    }
}

/// A buffer and the sink part it flushes into.
struct Out<B: TableBuf, P: PartSink> {
    buf: B,
    part: Option<P>,
    total: u64,
}

impl<B: TableBuf, P: PartSink> Out<B, P> {
    fn open<S: TableSink<Part = P>>(
        sink: &S,
        table: CanonicalTable,
        part: usize,
    ) -> Result<Self, SynthError> {
        let p = sink.open(table, part).map_err(|reason| SynthError::Sink {
            table: table.name(),
            reason,
        })?;
        Ok(Out {
            buf: B::default(),
            part: Some(p),
            total: 0,
        })
    }

    fn flush(&mut self, force: bool) -> Result<(), SynthError> {
        if self.buf.rows() == 0 || (!force && self.buf.rows() < BATCH_ROWS) {
            return Ok(());
        }
        let table = self.buf.table().name();
        self.total += self.buf.rows() as u64;
        let batch = self
            .buf
            .take()
            .map_err(|source| SynthError::Arrow { table, source })?;
        if let Some(p) = self.part.as_mut() {
            p.write(&batch)
                .map_err(|reason| SynthError::Sink { table, reason })?;
        }
        Ok(())
    }

    fn close<S: TableSink<Part = P>>(
        mut self,
        sink: &S,
    ) -> Result<(&'static str, u64), SynthError> {
        self.flush(true)?;
        let table = self.buf.table();
        if let Some(p) = self.part.take() {
            sink.close(table, p).map_err(|reason| SynthError::Sink {
                table: table.name(),
                reason,
            })?;
        }
        Ok((table.name(), self.total))
    }
}

struct Outs<P: PartSink> {
    persons: Out<PersonsBuf, P>,
    insurance: Out<InsuranceBuf, P>,
    claims: Out<ClaimsBuf, P>,
    diagnoses: Out<DiagnosesBuf, P>,
    procedures: Out<ItemsBuf, P>,
    drugs: Out<ItemsBuf, P>,
    devices: Out<ItemsBuf, P>,
    admissions: Out<AdmissionsBuf, P>,
    labs: Out<LabsBuf, P>,
    checkups: Out<CheckupsBuf, P>,
    deaths: Out<DeathsBuf, P>,
    truth: Out<TruthBuf, P>,
    population: Out<PopulationBuf, P>,
}

impl<P: PartSink> Outs<P> {
    fn flush(&mut self) -> Result<(), SynthError> {
        self.persons.flush(false)?;
        self.insurance.flush(false)?;
        self.claims.flush(false)?;
        self.diagnoses.flush(false)?;
        self.procedures.flush(false)?;
        self.drugs.flush(false)?;
        self.devices.flush(false)?;
        self.admissions.flush(false)?;
        self.labs.flush(false)?;
        self.checkups.flush(false)?;
        self.deaths.flush(false)?;
        self.truth.flush(false)?;
        self.population.flush(false)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ItemTable {
    Procedure,
    Drug,
    Device,
}

struct Item {
    table: ItemTable,
    category: &'static str,
    code: String,
    quantity: Option<f64>,
    points: i64,
    count: i32,
    /// Day of month (1-based) for single-day items; 0 = spread over `days`.
    day: u8,
    /// Consecutive days (from `day`) for daily inpatient items.
    span: u8,
}

/// What a DPC claim's BU record says about the stay.
struct DpcStay {
    code: String,
    admission: i32,
    discharge: Option<i32>,
    outcome: &'static str,
    main_icd10: String,
}

/// `YYYYMMDD` of a Date32.
fn ymd(d: i32) -> String {
    match time::Date::from_julian_day(d + 2_440_588) {
        Ok(date) => format!(
            "{:04}{:02}{:02}",
            date.year(),
            date.month() as u8,
            date.day()
        ),
        Err(_) => String::new(),
    }
}

/// The name if CP932 can encode it; otherwise the katakana form, as providers substitute for
/// characters outside the character set.
fn cp932_or(name: &str, fallback: &str) -> String {
    let (_, _, unmappable) = encoding_rs::SHIFT_JIS.encode(name);
    if unmappable {
        fallback.to_string()
    } else {
        name.to_string()
    }
}

fn empty(n: usize) -> impl Iterator<Item = String> {
    std::iter::repeat_n(String::new(), n)
}

struct Diag {
    cond: usize,
    start: i32,
    outcome: &'static str,
    main: bool,
    suspected: bool,
}

/// One card segment seen by a provider.
struct Segment {
    card: crate::people::Card,
    from: i32,
    to: i32,
}

/// What a provider knows about a patient.
struct Registry {
    provider: usize,
    patient_id: String,
    names: (String, String),
    segments: Vec<Segment>,
    postcode: String,
}

struct PersonState {
    p: Person,
    /// (condition, onset date) of active chronic conditions.
    chronic: Vec<(usize, i32)>,
    clinic: usize,
    hospital: usize,
    pharmacy: usize,
    checkup_month: u8,
    smoker: bool,
    /// Month index until which the person is in hospital.
    inpatient_until: i32,
    registry: Vec<Registry>,
    /// Set when the surname changed this month, so registries refresh the written name.
    names_dirty: bool,
    dead: bool,
    death_date: Option<i32>,
    card_changes: i32,
    surname_changes: i32,
    twin_of: Option<i64>,
    same_name_as: Option<i64>,
    conditions_at_start: String,
}

struct ChunkGen<'c, 'a, P: PartSink> {
    ctx: &'c Ctx<'a>,
    rng: ChaCha8Rng,
    out: Outs<P>,
    chunk: u64,
    counter: u64,
    id_key: u64,
    s: String,
    uke: Option<crate::uke_out::UkeOut>,
    /// Pharmacy receipts written by this chunk (counted apart from medical/DPC receipts).
    pharmacy_receipts: u64,
    structures: ReceiptStructures,
    ssmix2: Option<crate::ssmix2_out::Ssmix2Out>,
    checkup_files: Option<crate::checkup_out::CheckupOut>,
    dpc: Option<crate::dpc_out::DpcOut>,
}

fn run_chunk<S: TableSink>(
    ctx: &Ctx<'_>,
    sink: &S,
    chunk: usize,
    start: u64,
    end: u64,
) -> Result<(BTreeMap<String, u64>, ProviderCounts), SynthError> {
    use CanonicalTable as T;
    let out = Outs {
        persons: Out::open(sink, T::Persons, chunk)?,
        insurance: Out::open(sink, T::InsurancePeriods, chunk)?,
        claims: Out::open(sink, T::Claims, chunk)?,
        diagnoses: Out::open(sink, T::Diagnoses, chunk)?,
        procedures: Out::open(sink, T::Procedures, chunk)?,
        drugs: Out::open(sink, T::Drugs, chunk)?,
        devices: Out::open(sink, T::Devices, chunk)?,
        admissions: Out::open(sink, T::Admissions, chunk)?,
        labs: Out::open(sink, T::LabResults, chunk)?,
        checkups: Out::open(sink, T::Checkups, chunk)?,
        deaths: Out::open(sink, T::Deaths, chunk)?,
        truth: Out::open(sink, T::Truth, chunk)?,
        population: Out::open(sink, T::Population, chunk)?,
    };
    let seed = ctx.config.seed;
    // Receipt files whenever provider files are asked for; the other formats unless
    // `receipts_only`.
    let files = ctx.config.provider_files.as_deref();
    let other_files = files.filter(|_| !ctx.config.receipts_only);
    let mut g = ChunkGen {
        ctx,
        rng: ChaCha8Rng::seed_from_u64(mix(seed ^ mix(chunk as u64 + 1))),
        out,
        chunk: chunk as u64,
        counter: 0,
        id_key: mix(seed ^ 0x1D5),
        s: String::new(),
        pharmacy_receipts: 0,
        structures: ReceiptStructures::default(),
        uke: files.map(|root| crate::uke_out::UkeOut::new(root, chunk)),
        ssmix2: other_files.map(|root| crate::ssmix2_out::Ssmix2Out::new(root, chunk)),
        checkup_files: other_files.map(|root| crate::checkup_out::CheckupOut::new(root, chunk)),
        dpc: other_files.map(|root| crate::dpc_out::DpcOut::new(root, chunk)),
    };
    let mut prev: Option<Person> = None;
    for i in start..end {
        let mut twin_of = None;
        let mut same_name_as = None;
        let mut p = Person::draw(
            &mut g.rng,
            ctx.reference,
            &ctx.samplers,
            i,
            ctx.config.start_year,
        );
        if let Some(q) = prev.as_ref() {
            let noise = &ctx.config.noise;
            if g.rng.random_bool(noise.twins) {
                // Same-sex twin of the previous person: same birth, family, home and card.
                p.sex = q.sex;
                p.birth = q.birth;
                p.birth_ymd = q.birth_ymd;
                p.family = q.family;
                p.prefecture = q.prefecture;
                p.postcode = q.postcode.clone();
                p.address = q.address.clone();
                p.phone = q.phone.clone();
                p.card = q.card.clone();
                p.card.branch = q.card.branch + 1;
                p.card.dependent = true;
                p.married = q.married;
                twin_of = Some(q.index as i64);
            } else if g.rng.random_bool(noise.same_name_birthday) {
                // A different person with the same name, birth date and sex.
                p.sex = q.sex;
                p.birth = q.birth;
                p.birth_ymd = q.birth_ymd;
                p.family = q.family;
                p.given = q.given;
                same_name_as = Some(q.index as i64);
            }
        }
        g.simulate(p.clone(), twin_of, same_name_as)?;
        prev = Some(p);
        g.out.flush()?;
    }
    let mut counts = ProviderCounts::default();
    if let Some(u) = g.uke.take() {
        counts.records = u.rows_written;
        counts.receipts = u.finish()?.1 - g.pharmacy_receipts;
        counts.pharmacy_receipts = g.pharmacy_receipts;
        counts.structures = g.structures;
    }
    if let Some(s) = g.ssmix2.take() {
        counts.lab_messages = s.messages;
        counts.lab_results = s.results;
    }
    if let Some(c) = g.checkup_files.take() {
        (counts.checkup_archives, counts.checkups) = c.finish()?;
    }
    if let Some(d) = g.dpc.take() {
        (counts.dpc_ef_rows, counts.dpc_ff1_rows, counts.dpc_stays) = d.finish()?;
    }
    let Outs {
        persons,
        insurance,
        claims,
        diagnoses,
        procedures,
        drugs,
        devices,
        admissions,
        labs,
        checkups,
        deaths,
        truth,
        population,
    } = g.out;
    let mut rows = BTreeMap::new();
    let mut put = |r: (&'static str, u64)| {
        rows.insert(r.0.to_string(), r.1);
    };
    put(persons.close(sink)?);
    put(insurance.close(sink)?);
    put(claims.close(sink)?);
    put(diagnoses.close(sink)?);
    put(close_items(procedures, sink, "procedures")?);
    put(close_items(drugs, sink, "drugs")?);
    put(close_items(devices, sink, "devices")?);
    put(admissions.close(sink)?);
    put(labs.close(sink)?);
    put(checkups.close(sink)?);
    put(deaths.close(sink)?);
    put(truth.close(sink)?);
    put(population.close(sink)?);
    Ok((rows, counts))
}

/// The three item tables share one buffer type; name them by the table they were opened for.
fn close_items<S: TableSink>(
    out: Out<ItemsBuf, S::Part>,
    sink: &S,
    name: &'static str,
) -> Result<(&'static str, u64), SynthError> {
    let (_, n) = out.close(sink)?;
    Ok((name, n))
}

fn normal<R: Rng>(rng: &mut R, mean: f64, sd: f64) -> f64 {
    // Box–Muller; one value per call keeps the stream simple and deterministic.
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random();
    mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

impl<'c, 'a, P: PartSink> ChunkGen<'c, 'a, P> {
    fn next_id(&mut self, prefix: char) -> String {
        self.counter += 1;
        let v = mix(self.id_key ^ (self.chunk << 40 | self.counter));
        format!("{prefix}{v:016x}")
    }

    fn pick(&mut self, list: &[usize]) -> usize {
        list[self.rng.random_range(0..list.len())]
    }

    fn simulate(
        &mut self,
        p: Person,
        twin_of: Option<i64>,
        same_name_as: Option<i64>,
    ) -> Result<(), SynthError> {
        let ctx = self.ctx;
        let r = ctx.reference;
        let first = &ctx.months[0];
        let age0 = p.age_on(first.y, first.m, 1);
        let mut chronic = Vec::new();
        for &c in &ctx.chronic {
            if self
                .rng
                .random_bool(r.conditions[c].prevalence(p.sex, age0).clamp(0.0, 1.0))
            {
                // Diagnosed some time before the window.
                let back = self.rng.random_range(30..3650);
                chronic.push((c, first.start - back));
            }
        }
        let pref = p.prefecture;
        let clinic = self.pick(&ctx.providers.clinics[pref]);
        let hospital = self.pick(&ctx.providers.hospitals[pref]);
        let pharmacy = self.pick(&ctx.providers.pharmacies[pref]);
        let smoker = self.rng.random_bool(if p.sex == 1 { 0.27 } else { 0.07 });
        let conditions_at_start = chronic
            .iter()
            .map(|(c, _)| r.conditions[*c].condition_id.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let mut st = PersonState {
            p,
            chronic,
            clinic,
            hospital,
            pharmacy,
            checkup_month: self.rng.random_range(4..=12),
            smoker,
            inpatient_until: -1,
            registry: Vec::new(),
            names_dirty: false,
            dead: false,
            death_date: None,
            card_changes: 0,
            surname_changes: 0,
            twin_of,
            same_name_as,
            conditions_at_start,
        };
        for mi in 0..ctx.months.len() {
            self.month(&mut st, mi)?;
            if st.dead {
                break;
            }
        }
        self.emit_registry(&st);
        self.emit_population(&st);
        Ok(())
    }

    fn emit_population(&mut self, st: &PersonState) {
        let b = &mut self.out.population.buf;
        b.person_id.append_value(st.p.index as i64);
        b.sex.append_value(st.p.sex as i32);
        b.birth_date.append_value(st.p.birth);
        b.prefecture_code
            .append_value(&self.ctx.reference.prefectures[st.p.prefecture].code);
        b.conditions_at_start.append_value(&st.conditions_at_start);
        b.card_changes.append_value(st.card_changes);
        b.surname_changes.append_value(st.surname_changes);
        b.twin_of.append_option(st.twin_of);
        b.same_name_as.append_option(st.same_name_as);
        b.death_date.append_option(st.death_date);
        b.rows += 1;
    }

    fn life_events(&mut self, st: &mut PersonState, age: u32) {
        let ctx = self.ctx;
        let noise = &ctx.config.noise;
        let r = ctx.reference;
        let pref = st.p.prefecture;
        let before = st.p.card.clone();
        let card = &st.p.card;
        if age >= 75 && card.kind != InsurerKind::Kouki {
            st.p.card = new_card(&mut self.rng, r, InsurerKind::Kouki, pref, false);
        } else if card.kind.is_employee() && !card.dependent {
            if age < 60 && self.rng.random_bool(noise.job_change_per_year / 12.0) {
                let kind = employee_kind(&mut self.rng);
                st.p.card = new_card(&mut self.rng, r, kind, pref, false);
            } else if (60..65).contains(&age)
                && self.rng.random_bool(noise.retirement_per_year / 12.0)
            {
                st.p.card = new_card(&mut self.rng, r, InsurerKind::Kokuho, pref, false);
            }
        } else if card.kind == InsurerKind::Kokuho
            && self.rng.random_bool(noise.move_per_year / 12.0)
        {
            st.p.card = new_card(&mut self.rng, r, InsurerKind::Kokuho, pref, false);
        }
        if st.p.sex == 2
            && (20..40).contains(&age)
            && !st.p.married
            && self.rng.random_bool(noise.surname_change_per_year / 12.0)
        {
            st.p.married = true;
            st.p.new_family_name(&mut self.rng, &ctx.samplers);
            st.surname_changes += 1;
            st.names_dirty = true;
            // Marriage often moves the card to the spouse's insurer as a dependent.
            if self.rng.random_bool(0.5) {
                let kind = employee_kind(&mut self.rng);
                st.p.card = new_card(&mut self.rng, r, kind, pref, true);
            }
        }
        if st.p.card != before {
            st.card_changes += 1;
        }
    }

    fn month(&mut self, st: &mut PersonState, mi: usize) -> Result<(), SynthError> {
        let ctx = self.ctx;
        let r = ctx.reference;
        let month = &ctx.months[mi];
        let age = st.p.age_on(month.y, month.m, 15);
        st.names_dirty = false;
        self.life_events(st, age);

        // New chronic diagnoses.
        for &c in &ctx.chronic {
            if age >= 20 && !st.chronic.iter().any(|(x, _)| *x == c) {
                let cond = &r.conditions[c];
                let mut rate = cond.annual_incidence;
                if cond.condition_id == "breast_cancer" && st.p.sex == 1
                    || cond.condition_id == "prostate_cancer" && st.p.sex == 2
                {
                    rate = 0.0;
                }
                if self.rng.random_bool((rate / 12.0).clamp(0.0, 1.0)) {
                    let day = self.rng.random_range(1..=month.days);
                    st.chronic.push((c, month.start + day as i32 - 1));
                }
            }
        }
        // Acute episodes this month, age-weighted for the severe ones.
        let severity_factor = match age {
            0..=39 => 0.1,
            40..=64 => 0.7,
            65..=74 => 2.0,
            _ => 4.0,
        };
        let mut acute = Vec::new();
        for &c in &ctx.acute {
            let cond = &r.conditions[c];
            let mut rate = cond.annual_incidence;
            if ctx.needs_admission(c) || cond.condition_id == "pneumonia" {
                rate *= severity_factor;
            }
            if self.rng.random_bool((rate / 12.0).clamp(0.0, 1.0)) {
                acute.push(c);
            }
        }
        // Death.
        let died = self
            .rng
            .random_bool((r.mortality(st.p.sex, age) / 12.0).clamp(0.0, 1.0));
        let death_day = if died {
            self.rng.random_range(1..=month.days)
        } else {
            month.days
        };

        let in_hospital = (mi as i32) <= st.inpatient_until;
        // Admission: severe acute events, pneumonia in the old, new cancers.
        let new_cancer = st
            .chronic
            .iter()
            .find(|(c, onset)| {
                ctx.is_cancer(*c)
                    && *onset >= month.start
                    && *onset < month.start + month.days as i32
            })
            .map(|(c, _)| *c);
        let admit_for = acute
            .iter()
            .copied()
            .find(|&c| {
                ctx.needs_admission(c) || (r.conditions[c].condition_id == "pneumonia" && age >= 65)
            })
            .or(new_cancer);
        let mut last_provider = st.clinic;
        if let (Some(c), false) = (admit_for, in_hospital) {
            let los = match r.conditions[c].condition_id.as_str() {
                "hip_fracture" => self.rng.random_range(14..40),
                "cerebral_infarction" => self.rng.random_range(10..45),
                "ami" => self.rng.random_range(7..20),
                "pneumonia" => self.rng.random_range(7..21),
                _ => self.rng.random_range(5..25),
            };
            let day = self.rng.random_range(1..=month.days.min(death_day));
            let adm = month.start + day as i32 - 1;
            let mut dis = adm + los;
            let dies_in_stay = died;
            if dies_in_stay {
                dis = month.start + death_day as i32 - 1;
            }
            self.admission(st, mi, c, adm, dis.max(adm), dies_in_stay)?;
            last_provider = st.hospital;
        } else if !in_hospital {
            let chronic_visit = !st.chronic.is_empty() && self.rng.random_bool(0.85);
            let minor: Vec<usize> = acute
                .iter()
                .copied()
                .filter(|&c| !ctx.needs_admission(c))
                .collect();
            if chronic_visit || !minor.is_empty() {
                let day = self.rng.random_range(1..=death_day);
                self.outpatient(st, mi, day, &minor)?;
            }
        }
        // Specific health checkup.
        if (40..=74).contains(&age) && month.m == st.checkup_month && !died && !in_hospital {
            let rate = r.participation(st.p.card.kind.as_str());
            if self.rng.random_bool(rate.clamp(0.0, 1.0)) {
                self.checkup(st, mi)?;
            }
        }
        if died {
            st.dead = true;
            st.death_date = Some(month.start + death_day as i32 - 1);
            let prov = &ctx.providers.all[last_provider];
            let b = &mut self.out.deaths.buf;
            b.provider_id.append_value(&prov.id);
            b.patient_id.append_value(prov.chart_number(st.p.index));
            b.death_date
                .append_value(month.start + death_day as i32 - 1);
            b.source.append_value("claims");
            b.rows += 1;
        }
        Ok(())
    }

    /// Record a contact with `provider`; returns the registry index (patient id and names
    /// as this provider writes them).
    fn register(&mut self, st: &mut PersonState, provider: usize, date: i32) -> usize {
        let ctx = self.ctx;
        let prov = &ctx.providers.all[provider];
        let idx = match st.registry.iter().position(|r| r.provider == provider) {
            Some(i) => {
                // Names change only with a surname change; recompute cheaply on card/name events.
                if st.registry[i]
                    .segments
                    .last()
                    .is_none_or(|seg| seg.card != st.p.card)
                    || st.names_dirty
                {
                    st.registry[i].names = st.p.names_at(
                        ctx.reference,
                        prov,
                        ctx.config.noise.name_variant,
                        ctx.config.noise.kana_typo,
                        ctx.config.seed,
                    );
                }
                i
            }
            None => {
                st.registry.push(Registry {
                    provider,
                    patient_id: prov.chart_number(st.p.index),
                    names: st.p.names_at(
                        ctx.reference,
                        prov,
                        ctx.config.noise.name_variant,
                        ctx.config.noise.kana_typo,
                        ctx.config.seed,
                    ),
                    segments: Vec::new(),
                    postcode: st.p.postcode.clone(),
                });
                st.registry.len() - 1
            }
        };
        let reg = &mut st.registry[idx];
        match reg.segments.last_mut() {
            Some(seg) if seg.card == st.p.card => seg.to = seg.to.max(date),
            _ => reg.segments.push(Segment {
                card: st.p.card.clone(),
                from: date,
                to: date,
            }),
        }
        idx
    }

    fn receipt_type(&self, st: &PersonState, age: u32, inpatient: bool, pharmacy: bool) -> String {
        let card = &st.p.card;
        let d1 = if pharmacy { '4' } else { '1' };
        let d2 = if card.kind == InsurerKind::Kouki {
            '3'
        } else {
            '1'
        };
        let d4 = if age < 6 {
            if inpatient { '3' } else { '4' }
        } else if age >= 70 {
            if inpatient { '7' } else { '8' }
        } else if card.dependent {
            if inpatient { '5' } else { '6' }
        } else if inpatient {
            '1'
        } else {
            '2'
        };
        format!("{d1}{d2}1{d4}")
    }

    #[allow(clippy::too_many_arguments)]
    fn emit_claim(
        &mut self,
        st: &mut PersonState,
        provider: usize,
        mi: usize,
        kind: &str,
        admission: Option<i32>,
        days: i32,
        items: &[Item],
        diags: &[Diag],
        dpc: Option<&DpcStay>,
    ) -> Result<String, SynthError> {
        let ctx = self.ctx;
        let month = &ctx.months[mi];
        let ri = self.register(st, provider, month.start);
        let prov = &ctx.providers.all[provider];
        let patient_id = st.registry[ri].patient_id.clone();
        let claim_id = self.next_id('C');
        let age = st.p.age_on(month.y, month.m, 1);
        let rt = self.receipt_type(
            st,
            age,
            kind == "dpc" || kind == "inpatient",
            kind == "pharmacy",
        );
        let (name, kana) = &st.registry[ri].names;
        let (symbol, number) = st.p.card_at(prov);
        let total: i64 = items.iter().map(|i| i.points * i.count as i64).sum();
        let b = &mut self.out.claims.buf;
        b.claim_id.append_value(&claim_id);
        b.provider_id.append_value(&prov.id);
        b.patient_id.append_value(&patient_id);
        b.service_month.append_value(&month.ym);
        b.claim_kind.append_value(kind);
        b.receipt_type.append_value(&rt);
        b.name_kanji.append_value(name);
        b.name_kana.append_value(kana);
        b.sex.append_value(st.p.sex as i32);
        b.birth_date.append_value(st.p.birth);
        b.insurer_number.append_value(&st.p.card.insurer_number);
        if symbol.is_empty() {
            b.card_symbol.append_null();
        } else {
            b.card_symbol.append_value(&symbol);
        }
        b.card_number.append_value(&number);
        if month.y >= 2021 {
            self.s.clear();
            let _ = write!(self.s, "{:02}", st.p.card.branch);
            b.card_branch.append_value(&self.s);
        } else {
            b.card_branch.append_null();
        }
        b.admission_date.append_option(admission);
        b.days.append_value(days);
        b.total_points.append_value(total);
        b.rows += 1;

        let r = ctx.reference;
        let d = &mut self.out.diagnoses.buf;
        for dg in diags {
            let code = &r.disease_codes[dg.cond];
            d.claim_id.append_value(&claim_id);
            d.provider_id.append_value(&prov.id);
            d.patient_id.append_value(&patient_id);
            d.disease_code.append_value(&code.code);
            d.icd10.append_value(&code.icd10);
            if dg.suspected {
                // 8002 = 「の疑い」 in the SSK modifier master.
                d.modifiers.append_value("8002");
            } else {
                d.modifiers.append_null();
            }
            d.disease_name.append_null();
            d.start_date.append_value(dg.start);
            d.outcome.append_value(dg.outcome);
            d.is_main.append_value(dg.main);
            d.is_suspected.append_value(dg.suspected);
            d.rows += 1;
        }
        for it in items {
            let b = match it.table {
                ItemTable::Procedure => &mut self.out.procedures.buf,
                ItemTable::Drug => &mut self.out.drugs.buf,
                ItemTable::Device => &mut self.out.devices.buf,
            };
            b.claim_id.append_value(&claim_id);
            b.provider_id.append_value(&prov.id);
            b.patient_id.append_value(&patient_id);
            b.service_month.append_value(&month.ym);
            b.category.append_value(it.category);
            b.code.append_value(&it.code);
            b.quantity.append_option(it.quantity);
            b.points.append_value(it.points);
            b.count.append_value(it.count);
            if it.span > 1 {
                let mut per_day = [0i32; 31];
                let from = it.day.max(1) as usize;
                for slot in per_day
                    .iter_mut()
                    .take((from + it.span as usize - 1).min(month.days as usize))
                    .skip(from - 1)
                {
                    *slot = 1;
                }
                b.day_counts.0.append_days(&per_day[..month.days as usize]);
            } else {
                b.day_counts
                    .0
                    .append_single(month.days as u32, it.day as u32, it.count);
            }
            // Ground truth: one row per item, not per receipt line, so no payer share, unit
            // or source record (the provider files carry those).
            b.payer_share.append_null();
            b.unit_no.append_null();
            b.source_record.append_null();
            b.rows += 1;
        }
        if self.uke.is_some() && matches!(kind, "outpatient" | "dpc" | "pharmacy") {
            self.uke_receipt(
                st, provider, mi, &rt, admission, days, total, items, diags, dpc,
            )?;
        }
        Ok(claim_id)
    }

    /// The claim as UKE records (RE, HO, [SN], [BU, SB], SY…, SI/IY/TO…) into the chunk's file.
    #[allow(clippy::too_many_arguments)]
    fn uke_receipt(
        &mut self,
        st: &PersonState,
        provider: usize,
        mi: usize,
        receipt_type: &str,
        admission: Option<i32>,
        days: i32,
        total: i64,
        items: &[Item],
        diags: &[Diag],
        dpc: Option<&DpcStay>,
    ) -> Result<(), SynthError> {
        let ctx = self.ctx;
        let r = ctx.reference;
        let month = &ctx.months[mi];
        let prov = &ctx.providers.all[provider];
        let Some(reg) = st.registry.iter().find(|x| x.provider == provider) else {
            return Ok(());
        };
        let (name, kana) = &reg.names;
        let (symbol, number) = st.p.card_at(prov);
        let (by, bm, bd) = st.p.birth_ymd;
        let pharmacy = prov.kind == crate::providers::ProviderKind::Pharmacy;
        // Public expense (公費, japan.md §2.2 KO): 0.5 % of persons are on public assistance
        // (生活保護, 法別 12) and their receipts are 公費単独 — KO, no HO; 3 % have a designated
        // intractable disease (法別 54), so their receipts are 公費併用 — HO plus a KO that bears
        // the drugs (負担区分 2) while the rest is insurance only (負担区分 1). Pharmacies'
        // files keep one payer (their field order is assumed, see `uke_out.rs`).
        let draw = if pharmacy {
            999
        } else {
            mix(st.p.index ^ 0x6B6F_6869) % 1000
        };
        let public_only = draw < 5;
        let public_combined = !public_only && draw < 35;
        let mut receipt_type = receipt_type.to_string();
        if public_only {
            receipt_type.replace_range(1..2, "2");
        } else if public_combined {
            receipt_type.replace_range(2..3, "2");
        }
        let receipt_type = receipt_type.as_str();
        let share_of = |table: ItemTable| -> &'static str {
            if public_only {
                "5"
            } else if public_combined && table == ItemTable::Drug {
                "2"
            } else {
                "1"
            }
        };
        let mut lines: Vec<Vec<String>> = Vec::new();
        let mut re: Vec<String> = vec![
            "RE".into(),
            String::new(),
            receipt_type.into(),
            month.ym.clone(),
        ];
        re.push(cp932_or(name, kana));
        re.push(st.p.sex.to_string());
        re.push(if prov.era_birth_dates {
            crate::people::era_date(by, bm, bd)
        } else {
            format!("{by:04}{bm:02}{bd:02}")
        });
        re.push(String::new());
        re.push(admission.map(ymd).unwrap_or_default());
        re.extend(empty(4));
        re.push(reg.patient_id.clone());
        re.extend(empty(22));
        re.push(cp932_or(kana, ""));
        re.push(String::new());
        lines.push(re);
        if !public_only {
            let mut ho = vec![
                "HO".into(),
                st.p.card.insurer_number.clone(),
                symbol.clone(),
                number.clone(),
            ];
            ho.push(days.to_string());
            ho.push(total.to_string());
            ho.extend(empty(9));
            lines.push(ho);
        }
        if public_only || public_combined {
            let (law, ko_total) = if public_only {
                ("12", total)
            } else {
                let drugs = items
                    .iter()
                    .filter(|it| it.table == ItemTable::Drug)
                    .map(|it| it.points * i64::from(it.count))
                    .sum::<i64>();
                ("54", drugs)
            };
            let pref = &prov.id[..2];
            let serial = mix(st.p.index ^ 0x7E) % 10_000_000;
            lines.push(vec![
                "KO".into(),
                format!("{law}{pref}{:03}{}", provider % 1000, serial % 10),
                format!("{serial:07}"),
                String::new(),
                days.to_string(),
                ko_total.to_string(),
                "0".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
            if public_only {
                self.structures.public_only += 1;
            } else {
                self.structures.public_combined += 1;
            }
        }
        if month.y >= 2021 && !public_only {
            let mut sn = vec![
                "SN".into(),
                "1".into(),
                "01".into(),
                st.p.card.insurer_number.clone(),
                symbol,
                number,
            ];
            sn.push(format!("{:02}", st.p.card.branch));
            sn.extend(empty(2));
            lines.push(sn);
        }
        if let Some(stay) = dpc {
            lines.push(vec![
                "BU".into(),
                stay.code.clone(),
                ymd(stay.admission),
                stay.discharge.map(ymd).unwrap_or_default(),
                stay.outcome.into(),
                String::new(),
            ]);
            if let Some(main) = diags.iter().find(|d| d.main) {
                let code = &r.disease_codes[main.cond];
                lines.push(vec![
                    "SB".into(),
                    code.code.clone(),
                    String::new(),
                    String::new(),
                    stay.main_icd10.clone(),
                    "01".into(),
                    String::new(),
                    String::new(),
                ]);
            }
        }
        for d in diags {
            lines.push(vec![
                "SY".into(),
                r.disease_codes[d.cond].code.clone(),
                ymd(d.start),
                d.outcome.into(),
                if d.suspected {
                    "8002".into()
                } else {
                    String::new()
                },
                String::new(),
                if d.main { "01".into() } else { String::new() },
                String::new(),
            ]);
        }
        let mut last_category = "";
        // A prescription (剤) of several oral drugs taken together is one 算定単位: its lines
        // share 診療識別, day and 回数 (days supplied), and only the last carries the 剤's 点数
        // (japan.md §2.2 SI/IY; receiptisan's sample file writes them so).
        let same_dose = |a: &Item, b: &Item| {
            !pharmacy
                && a.table == ItemTable::Drug
                && b.table == ItemTable::Drug
                && a.category == "21"
                && b.category == "21"
                && a.count == b.count
                && a.day == b.day
                && a.span == b.span
        };
        let mut unit_points = 0i64;
        for (i, it) in items.iter().enumerate() {
            let continues = items.get(i + 1).is_some_and(|next| same_dose(it, next));
            unit_points += it.points;
            if pharmacy && it.table == ItemTable::Drug {
                // 調剤: each drug is dispensed under a prescription (SH 処方基本: 剤形, 用法,
                // 特別指示) and a dispensing (CZ 調剤: 調剤月日, 処方月日, 調剤数量). japan.md §2.5
                // names these fields but not their order: the order here is an assumption,
                // kept in this one place.
                let day = format!("{:02}", it.day.max(1));
                lines.push(vec![
                    "SH".into(),
                    if it.category == "21" {
                        "1".into()
                    } else {
                        "9".into()
                    },
                    String::new(),
                    String::new(),
                ]);
                lines.push(vec!["CZ".into(), day.clone(), day, it.count.to_string()]);
            }
            let mut per_day = vec![String::new(); 31];
            if it.span > 1 {
                let from = it.day.max(1) as usize;
                for slot in per_day
                    .iter_mut()
                    .take((from + it.span as usize - 1).min(month.days as usize))
                    .skip(from - 1)
                {
                    *slot = "1".into();
                }
            } else if it.day >= 1 && it.day <= month.days {
                per_day[it.day as usize - 1] = it.count.to_string();
            }
            // 診療識別 is written on the first record of a group only (japan.md §2.2).
            let category = if it.category == last_category {
                String::new()
            } else {
                it.category.to_string()
            };
            last_category = it.category;
            let quantity = it.quantity.map(|q| format!("{q}")).unwrap_or_default();
            let points = if continues {
                self.structures.grouped_lines += 1;
                String::new()
            } else {
                std::mem::take(&mut unit_points).to_string()
            };
            let share = share_of(it.table).to_string();
            let mut rec = match it.table {
                ItemTable::Device => {
                    let mut v = vec!["TO".into(), category, share, it.code.clone(), quantity];
                    v.push(points);
                    v.push(it.count.to_string());
                    v.extend(empty(10));
                    v
                }
                table => {
                    let id = if table == ItemTable::Drug { "IY" } else { "SI" };
                    // SI carries 数量データ only for "きざみ" items; the generator has none.
                    let q = if table == ItemTable::Drug {
                        quantity
                    } else {
                        String::new()
                    };
                    let mut v = vec![id.into(), category, share, it.code.clone(), q];
                    v.push(points);
                    v.push(it.count.to_string());
                    v.extend(empty(6));
                    v
                }
            };
            rec.extend(per_day);
            lines.push(rec);
            // The 用法 of an oral prescription as a free-text comment (CO, コメントコード
            // 810000001) after its last line.
            if !pharmacy && !continues && it.table == ItemTable::Drug && it.category == "21" {
                const DIRECTIONS: [&str; 4] = [
                    "１日３回毎食後",
                    "１日２回朝夕食後",
                    "１日１回朝食後",
                    "１日１回就寝前",
                ];
                let text = DIRECTIONS[(mix(st.p.index ^ i as u64) % 4) as usize];
                lines.push(vec![
                    "CO".into(),
                    "21".into(),
                    share_of(ItemTable::Drug).into(),
                    "810000001".into(),
                    text.into(),
                ]);
                self.structures.notes += 1;
            }
        }
        if dpc.is_some() {
            // DPC coding data (CD): the procedures of the stay this month with the day they
            // were done, numbered in order.
            let mut sequence = 0;
            for it in items
                .iter()
                .filter(|it| it.table == ItemTable::Procedure && it.day >= 1)
            {
                sequence += 1;
                lines.push(vec![
                    "CD".into(),
                    format!("{:04}{:02}{:02}", month.y, month.m, it.day),
                    it.category.into(),
                    sequence.to_string(),
                    "1".into(),
                    it.code.clone(),
                    String::new(),
                    String::new(),
                    String::new(),
                    "1".into(),
                    String::new(),
                ]);
                self.structures.coding += 1;
            }
            // 症状詳記 (SJ): the clinical course, free text.
            lines.push(vec![
                "SJ".into(),
                "01".into(),
                "入院後、経過は良好で予定どおり退院となった。".into(),
            ]);
            self.structures.notes += 1;
        }
        let facility = prov.id[3..].to_string();
        let pref = prov.id[..2].to_string();
        let billing = {
            let (y, m) = if month.m == 12 {
                (month.y + 1, 1)
            } else {
                (month.y, month.m + 1)
            };
            format!("{y:04}{m:02}")
        };
        let volume = format!("{:02}", self.chunk + 1);
        if pharmacy {
            self.pharmacy_receipts += 1;
        }
        let fee_schedule = prov.id[2..3].to_string();
        let header = || {
            vec![
                // 調剤 files open with YK (薬局情報), the others with IR (japan.md §2.5).
                if pharmacy { "YK".into() } else { "IR".into() },
                "1".into(),
                pref,
                fee_schedule,
                facility,
                String::new(),
                "サンプル医療機関".into(),
                billing,
                volume,
                String::new(),
            ]
        };
        if let Some(u) = self.uke.as_mut() {
            u.add(
                provider,
                mi,
                &prov.id,
                &month.ym,
                header,
                lines,
                total.max(0) as u64,
            )?;
        }
        Ok(())
    }

    fn proc_item(&self, trigger: &str, day: u8) -> Option<Item> {
        self.ctx.reference.procedure(trigger).map(|p| Item {
            table: ItemTable::Procedure,
            category: match trigger {
                "visit_initial" => "11",
                "visit_re" | "visit_re_addon" => "12",
                "mgmt_chronic" => "13",
                "prescription" => "80",
                "inpatient_day" => "90",
                "ecg" | "xray_chest" | "ct" | "ct_diagnosis" => "70",
                _ => "60",
            },
            code: p.procedure_code.clone(),
            quantity: None,
            points: p.points,
            count: 1,
            day,
            span: 1,
        })
    }

    fn drug_item(
        &mut self,
        st: &PersonState,
        cond: usize,
        day: u8,
        supply_days: i32,
    ) -> Option<Item> {
        let list = &self.ctx.drugs_by_condition[cond];
        if list.is_empty() {
            return None;
        }
        // A person keeps the same drug for a condition: choose by (person, condition).
        let d = &self.ctx.reference.drugs
            [list[(mix(st.p.index ^ (cond as u64) << 32) % list.len() as u64) as usize]];
        let per_day_yen = d.daily_units * d.points_per_unit * 10.0;
        // Drug points per dose-day: 15 yen or less is 1 point, otherwise yen/10 rounded (五捨五超入).
        let points = if per_day_yen <= 15.0 {
            1
        } else {
            ((per_day_yen / 10.0) - 0.5).ceil().max(1.0) as i64
        };
        let (category, count) = match d.route.as_str() {
            "injection" => ("33", 1),
            "external" => ("23", 1),
            _ => ("21", supply_days),
        };
        Some(Item {
            table: ItemTable::Drug,
            category,
            code: d.drug_code.clone(),
            quantity: Some(d.daily_units),
            points,
            count,
            day,
            span: 1,
        })
    }

    fn outpatient(
        &mut self,
        st: &mut PersonState,
        mi: usize,
        day: u8,
        minor: &[usize],
    ) -> Result<(), SynthError> {
        let ctx = self.ctx;
        let month = &ctx.months[mi];
        let date = month.start + day as i32 - 1;
        // Minor illness without chronic care: sometimes another clinic than the usual one.
        let provider = if st.chronic.is_empty() && self.rng.random_bool(0.3) {
            self.pick(&ctx.providers.clinics[st.p.prefecture])
        } else {
            st.clinic
        };
        let first_visit = !st.registry.iter().any(|r| r.provider == provider);
        let mut items = Vec::new();
        items.extend(self.proc_item(
            if first_visit {
                "visit_initial"
            } else {
                "visit_re"
            },
            day,
        ));
        let mut diags: Vec<Diag> = Vec::new();
        for &(c, onset) in &st.chronic {
            diags.push(Diag {
                cond: c,
                start: onset.min(date),
                outcome: "1",
                main: diags.is_empty(),
                suspected: false,
            });
        }
        for &c in minor {
            diags.push(Diag {
                cond: c,
                start: date,
                outcome: "2",
                main: diags.is_empty(),
                suspected: self.rng.random_bool(0.03),
            });
        }
        if !st.chronic.is_empty() {
            items.extend(self.proc_item("visit_re_addon", day));
            items.extend(self.proc_item("mgmt_chronic", day));
        }
        // Quarterly labs for chronic patients; results go to the EMR lab table.
        let lab_month = !st.chronic.is_empty() && (mi % 3 == (st.p.index % 3) as usize);
        if lab_month {
            let conds: Vec<usize> = st.chronic.iter().map(|(c, _)| *c).collect();
            let has = |id: &str| ctx.cond_index.get(id).is_some_and(|i| conds.contains(i));
            let mut triggers = vec!["lab_blood_draw", "lab_judgement"];
            if has("t2dm") {
                triggers.push("lab_hba1c");
            }
            if has("dyslipidemia") {
                triggers.extend(["lab_ldl", "lab_hdl", "lab_tg"]);
            }
            if has("ckd") || has("hypertension") {
                triggers.push("lab_creatinine");
            }
            for t in triggers {
                items.extend(self.proc_item(t, day));
            }
            self.lab_results(st, provider, date, &conds)?;
        }
        // Prescriptions: 28 days for chronic drugs, 5 for acute ones.
        let mut rx = Vec::new();
        for (c, _) in st.chronic.clone() {
            rx.extend(self.drug_item(st, c, day, 28));
        }
        for &c in minor {
            rx.extend(self.drug_item(st, c, day, 5));
        }
        let in_house = ctx.providers.all[provider].in_house_dispensing;
        if !rx.is_empty() && !in_house {
            items.extend(self.proc_item("prescription", day));
        }
        if in_house {
            items.append(&mut rx);
        }
        self.emit_claim(
            st,
            provider,
            mi,
            "outpatient",
            None,
            1,
            &items,
            &diags,
            None,
        )?;
        if !rx.is_empty() {
            // The pharmacy fills the prescription the same day and bills it separately.
            let pharmacy_diags: Vec<Diag> = Vec::new();
            let pharmacy = st.pharmacy;
            self.emit_claim(
                st,
                pharmacy,
                mi,
                "pharmacy",
                None,
                1,
                &rx,
                &pharmacy_diags,
                None,
            )?;
        }
        Ok(())
    }

    fn lab_results(
        &mut self,
        st: &PersonState,
        provider: usize,
        date: i32,
        conds: &[usize],
    ) -> Result<(), SynthError> {
        let ctx = self.ctx;
        let prov = &ctx.providers.all[provider];
        let mut wanted: Vec<usize> = Vec::new();
        for &c in conds {
            for &l in &ctx.labs_by_condition[c] {
                if !wanted.contains(&l) && !ctx.reference.labs[l].jlac10.starts_with('9') {
                    wanted.push(l);
                }
            }
        }
        for name in ["AST", "ALT"] {
            if let Some(l) = ctx.lab(name).filter(|l| !wanted.contains(l)) {
                wanted.push(l);
            }
        }
        wanted.sort_unstable();
        let patient_id = prov.chart_number(st.p.index);
        let mut lines = Vec::new();
        for l in wanted {
            let v = self.lab_value(l, conds);
            lines.push((l, v));
            let lab = &ctx.reference.labs[l];
            let b = &mut self.out.labs.buf;
            b.provider_id.append_value(&prov.id);
            b.patient_id.append_value(&patient_id);
            b.jlac10.append_value(&lab.jlac10);
            b.analyte.append_value(&lab.analyte);
            b.value.append_value(v);
            b.unit.append_value(&lab.unit);
            b.result_date.append_value(date);
            b.rows += 1;
        }
        if let Some(out) = self.ssmix2.as_mut() {
            let (kanji, kana) = st.p.canonical_names(ctx.reference);
            let (by, bm, bd) = st.p.birth_ymd;
            let birth = format!("{by:04}{bm:02}{bd:02}");
            let patient = crate::ssmix2_out::LabPatient {
                chart: &patient_id,
                kanji: &kanji,
                kana: &kana,
                sex: st.p.sex,
                birth: &birth,
                postcode: &st.p.postcode,
            };
            let lines: Vec<crate::ssmix2_out::LabLine<'_>> = lines
                .iter()
                .map(|&(l, value)| {
                    let lab = &ctx.reference.labs[l];
                    crate::ssmix2_out::LabLine {
                        jlac10: &lab.jlac10,
                        analyte: &lab.analyte,
                        value,
                        unit: &lab.unit,
                    }
                })
                .collect();
            out.add(&prov.id, &patient, &ymd(date), &lines)?;
        }
        Ok(())
    }

    /// A lab value from the condition's distribution if the person has it, else the healthy one.
    fn lab_value(&mut self, l: usize, conds: &[usize]) -> f64 {
        let ctx = self.ctx;
        let lab = &ctx.reference.labs[l];
        let diseased = lab
            .condition_id
            .as_ref()
            .and_then(|c| ctx.cond_index.get(c))
            .is_some_and(|c| conds.contains(c));
        let (mean, sd) = match (diseased, lab.mean_condition, lab.sd_condition) {
            (true, Some(m), Some(s)) => (m, s),
            _ => (lab.mean_healthy, lab.sd_healthy),
        };
        let v = if matches!(lab.analyte.as_str(), "TG" | "AST" | "ALT" | "γ-GT") {
            // Right-skewed analytes: log-normal with the same mean and SD.
            let s2 = (1.0 + (sd / mean).powi(2)).ln();
            let mu = mean.ln() - s2 / 2.0;
            normal(&mut self.rng, mu, s2.sqrt()).exp()
        } else {
            normal(&mut self.rng, mean, sd)
        };
        let decimals = if mean < 10.0 { 100.0 } else { 10.0 };
        ((v.max(mean * 0.2)) * decimals).round() / decimals
    }

    fn admission(
        &mut self,
        st: &mut PersonState,
        mi: usize,
        cond: usize,
        adm: i32,
        dis: i32,
        died: bool,
    ) -> Result<(), SynthError> {
        let ctx = self.ctx;
        let r = ctx.reference;
        let hospital = st.hospital;
        let prov = &ctx.providers.all[hospital];
        let admission_id = self.next_id('A');
        let icd = &r.disease_codes[cond].icd10;
        // Sample DPC codes (14 characters, MDC + disease + 'xx' + treatment flags).
        let mdc6 = match &icd[..1] {
            "I" if icd.starts_with("I63") => "010060",
            "I" => "050030",
            "J" => "040080",
            "S" => "160800",
            "C" if icd.starts_with("C16") => "060020",
            "C" if icd.starts_with("C18") => "060035",
            "C" if icd.starts_with("C34") => "040040",
            "C" if icd.starts_with("C50") => "090010",
            "C" => "110080",
            _ => "180030",
        };
        let b = &mut self.out.admissions.buf;
        b.admission_id.append_value(&admission_id);
        b.provider_id.append_value(&prov.id);
        b.patient_id.append_value(prov.chart_number(st.p.index));
        b.admission_date.append_value(adm);
        b.discharge_date.append_value(dis);
        b.dpc_code.append_value(format!("{mdc6}xx99x0xx"));
        b.main_icd10.append_value(icd);
        b.resource_icd10.append_value(icd);
        b.discharge_outcome
            .append_value(if died { "6" } else { "1" });
        b.rows += 1;
        // One DPC claim per month of the stay.
        let mut m = mi;
        while m < ctx.months.len() {
            let month = &ctx.months[m];
            let from = adm.max(month.start);
            let to = dis.min(month.start + month.days as i32 - 1);
            if from > to {
                break;
            }
            let days = to - from + 1;
            let day = (from - month.start + 1) as u8;
            let mut items = Vec::new();
            if let Some(mut it) = self.proc_item("inpatient_day", day) {
                it.count = days;
                it.span = days as u8;
                items.push(it);
            }
            if m == mi {
                for t in ["ct", "ct_diagnosis", "ecg", "xray_chest"] {
                    items.extend(self.proc_item(t, day));
                }
                // Film for the chest X-ray: a real device code (SSK device master 700010000, 半切).
                items.push(Item {
                    table: ItemTable::Device,
                    category: "70",
                    code: "700010000".into(),
                    quantity: Some(1.0),
                    points: 12,
                    count: 1,
                    day,
                    span: 1,
                });
            }
            if let Some(mut d) = self.drug_item(st, cond, day, days) {
                d.count = days;
                d.span = days as u8;
                items.push(d);
            }
            let mut diags = vec![Diag {
                cond,
                start: adm,
                outcome: if died && to == dis {
                    "3"
                } else if to == dis {
                    "2"
                } else {
                    "1"
                },
                main: true,
                suspected: false,
            }];
            for &(c, onset) in &st.chronic {
                if c != cond {
                    diags.push(Diag {
                        cond: c,
                        start: onset,
                        outcome: "1",
                        main: false,
                        suspected: false,
                    });
                }
            }
            let stay = DpcStay {
                code: format!("{mdc6}xx99x0xx"),
                admission: adm,
                discharge: (to == dis).then_some(dis),
                outcome: if to == dis {
                    if died { "6" } else { "1" }
                } else {
                    ""
                },
                main_icd10: icd.clone(),
            };
            self.emit_claim(
                st,
                hospital,
                m,
                "dpc",
                Some(adm),
                days,
                &items,
                &diags,
                Some(&stay),
            )?;
            if self.dpc.is_some() {
                let rows = self.dpc_ef_rows(st, hospital, m, adm, stay.discharge, &items);
                if let Some(d) = self.dpc.as_mut() {
                    d.add_ef(&prov.id, &month.ym, rows)?;
                }
            }
            st.inpatient_until = m as i32;
            m += 1;
        }
        if self.dpc.is_some() && m > mi {
            let last = &ctx.months[m - 1];
            let discharged = dis < last.start + last.days as i32;
            let rows = self.dpc_ff1_rows(st, hospital, cond, adm, discharged.then_some(dis), died);
            if let Some(d) = self.dpc.as_mut() {
                d.add_stay(&prov.id, &last.ym, rows)?;
            }
        }
        Ok(())
    }

    /// The EF rows of one DPC stay-month (japan.md §3.1, 32-column layout): one row per
    /// item and day it was given, so daily items (bed days, drugs) expand to one row per day.
    /// Code values the generator has no model for (円・点区分, 病棟, 医師) are placeholders,
    /// as §10.2 allows.
    #[allow(clippy::too_many_arguments)]
    fn dpc_ef_rows(
        &self,
        st: &PersonState,
        hospital: usize,
        mi: usize,
        adm: i32,
        discharge: Option<i32>,
        items: &[Item],
    ) -> Vec<medinfra_formats::ef::EfRow> {
        let ctx = self.ctx;
        let r = ctx.reference;
        let month = &ctx.months[mi];
        let prov = &ctx.providers.all[hospital];
        let facility = crate::dpc_out::facility_code(&prov.id);
        let patient = prov.chart_number(st.p.index);
        let age = st.p.age_on(month.y, month.m, 1);
        let rt = self.receipt_type(st, age, true, false);
        let discharge = discharge.map(ymd).unwrap_or_else(|| "00000000".into());
        let admission = ymd(adm);
        let first_day = (adm.max(month.start) - month.start + 1) as u8;
        let mut order: BTreeMap<&str, u32> = BTreeMap::new();
        let mut rows = Vec::new();
        for it in items {
            let name = match it.table {
                ItemTable::Procedure => r
                    .procedures
                    .iter()
                    .find(|p| p.procedure_code == it.code)
                    .map(|p| p.name_en.as_str()),
                ItemTable::Drug => r
                    .drugs
                    .iter()
                    .find(|d| d.drug_code == it.code)
                    .map(|d| d.name_en.as_str()),
                ItemTable::Device => Some("film"),
            };
            let name = cp932_or(name.unwrap_or_default(), "");
            let start = if it.day == 0 { first_day } else { it.day };
            let (days, per_day_count) = if it.span > 1 {
                (it.span, 1)
            } else {
                (1, it.count)
            };
            let (proc_pts, drug_pts, dev_pts) = match it.table {
                ItemTable::Procedure => (it.points, 0, 0),
                ItemTable::Drug => (0, it.points, 0),
                ItemTable::Device => (0, 0, it.points),
            };
            let quantity = format!("{:011.3}", it.quantity.unwrap_or(0.0));
            for day in start..start.saturating_add(days).min(month.days + 1) {
                let seq = order.entry(it.category).or_default();
                *seq += 1;
                let columns = vec![
                    facility.clone(),
                    patient.clone(),
                    discharge.clone(),
                    admission.clone(),
                    it.category.to_string(),
                    format!("{seq:04}"),
                    "001".into(),
                    it.code.clone(),
                    it.code.clone(),
                    String::new(),
                    name.clone(),
                    quantity.clone(),
                    "000".into(),
                    it.points.to_string(),
                    "0".into(),
                    (it.points * per_day_count as i64).to_string(),
                    "0".into(),
                    proc_pts.to_string(),
                    drug_pts.to_string(),
                    dev_pts.to_string(),
                    "0".into(),
                    per_day_count.to_string(),
                    st.p.card.insurer_number.clone(),
                    rt.clone(),
                    ymd(month.start + day as i32 - 1),
                    "1".into(),
                    "01".into(),
                    String::new(),
                    "W01".into(),
                    "1".into(),
                    "1".into(),
                    "1".into(),
                ];
                rows.push(medinfra_formats::ef::EfRow { line: 0, columns });
            }
        }
        rows
    }

    /// The 様式1 rows of one DPC stay (japan.md §3.3): 患者属性, 入院情報, 退院情報 (when
    /// discharged within the simulated period) and 主傷病, as whole-stay parent records.
    fn dpc_ff1_rows(
        &self,
        st: &PersonState,
        hospital: usize,
        cond: usize,
        adm: i32,
        discharge: Option<i32>,
        died: bool,
    ) -> Vec<medinfra_formats::ff1::Ff1Row> {
        let ctx = self.ctx;
        let prov = &ctx.providers.all[hospital];
        let code = &ctx.reference.disease_codes[cond];
        let (by, bm, bd) = st.p.birth_ymd;
        let discharge_ymd = discharge.map(ymd);
        let row = |item: &str, payloads: Vec<String>| {
            let mut p: [String; medinfra_formats::ff1::PAYLOADS] = Default::default();
            for (slot, v) in p.iter_mut().zip(payloads) {
                *slot = v;
            }
            medinfra_formats::ff1::Ff1Row {
                line: 0,
                facility_code: crate::dpc_out::facility_code(&prov.id),
                patient_id: prov.chart_number(st.p.index),
                discharge_date: Some(discharge_ymd.clone().unwrap_or_else(|| "00000000".into())),
                admission_date: ymd(adm),
                count_no: "1".into(),
                unified_no: "0".into(),
                code: item.into(),
                version: "1".into(),
                seq: "1".into(),
                payloads: p,
            }
        };
        let mut rows = vec![
            row(
                "A000010",
                vec![
                    format!("{by:04}{bm:02}{bd:02}"),
                    st.p.sex.to_string(),
                    st.p.postcode.clone(),
                ],
            ),
            row("A000020", vec![ymd(adm)]),
        ];
        if let Some(d) = &discharge_ymd {
            let outcome = if died { "6" } else { "1" };
            rows.push(row("A000030", vec![d.clone(), "1".into(), outcome.into()]));
        }
        let mut main = vec![String::new(); 9];
        main[1] = code.icd10.clone();
        main[8] = cp932_or(&code.name, "");
        rows.push(row("A006010", main));
        rows
    }

    fn checkup(&mut self, st: &mut PersonState, mi: usize) -> Result<(), SynthError> {
        let ctx = self.ctx;
        let month = &ctx.months[mi];
        let facility = st.clinic;
        let prov = &ctx.providers.all[facility];
        let date = month.start + self.rng.random_range(0..month.days as i32);
        let conds: Vec<usize> = st.chronic.iter().map(|(c, _)| *c).collect();
        let has = |id: &str| ctx.cond_index.get(id).is_some_and(|i| conds.contains(i));
        let checkup_id = self.next_id('K');
        let age = st.p.age_on(month.y, month.m, 15) as f64;
        let height = if st.p.sex == 1 {
            normal(&mut self.rng, 171.0 - (age - 40.0) * 0.15, 6.0)
        } else {
            normal(&mut self.rng, 158.0 - (age - 40.0) * 0.12, 5.0)
        };
        let v = |name: &str, this: &mut Self| -> Option<f64> {
            ctx.lab(name).map(|l| this.lab_value(l, &conds))
        };
        let bmi = v("BMI", self).unwrap_or(22.0).clamp(14.0, 45.0);
        let weight = bmi * (height / 100.0).powi(2);
        let waist = v("waist (measured)", self);
        let sbp = v("systolic BP", self);
        let dbp = v("diastolic BP", self);
        let tg = v("TG", self);
        let hdl = v("HDL-C", self);
        let ldl = v("LDL-C", self);
        let ast = v("AST", self);
        let alt = v("ALT", self);
        let ggt = v("γ-GT", self);
        let fpg = v("FPG", self);
        let hba1c = v("HbA1c (NGSP)", self);
        let glucose_positive = has("t2dm") && self.rng.random_bool(0.2);
        let protein_positive = has("ckd") && self.rng.random_bool(0.4);
        let (symbol, number) = (st.p.card.symbol.clone(), st.p.card.number.clone());
        let (_, kana) = st.p.canonical_names(ctx.reference);
        let b = &mut self.out.checkups.buf;
        b.checkup_id.append_value(&checkup_id);
        b.facility_id.append_value(&prov.id);
        b.insurer_number.append_value(&st.p.card.insurer_number);
        if symbol.is_empty() {
            b.card_symbol.append_null();
        } else {
            b.card_symbol.append_value(&symbol);
        }
        b.card_number.append_value(&number);
        if month.y >= 2021 {
            b.card_branch
                .append_value(format!("{:02}", st.p.card.branch));
        } else {
            b.card_branch.append_null();
        }
        b.name_kana.append_value(&kana);
        b.sex.append_value(st.p.sex as i32);
        b.birth_date.append_value(st.p.birth);
        b.postcode.append_value(&st.p.postcode);
        b.checkup_date.append_value(date);
        let numbers = [
            ("height_cm", Some(round1(height))),
            ("weight_kg", Some(round1(weight))),
            ("bmi", Some(round1(bmi))),
            ("waist_cm", waist),
            ("sbp", sbp.map(f64::round)),
            ("dbp", dbp.map(f64::round)),
            ("tg", tg.map(f64::round)),
            ("hdl", hdl.map(f64::round)),
            ("ldl", ldl.map(f64::round)),
            ("ast", ast.map(f64::round)),
            ("alt", alt.map(f64::round)),
            ("ggt", ggt.map(f64::round)),
            ("fpg", fpg.map(f64::round)),
            ("hba1c", hba1c.map(round1)),
        ];
        let [h, w, bm, wa, sb, db, t, hd, ld, a, al, gg, fp, hb] = numbers.map(|(_, v)| v);
        for (builder, value) in [
            (&mut b.height_cm, h),
            (&mut b.weight_kg, w),
            (&mut b.bmi, bm),
            (&mut b.waist_cm, wa),
            (&mut b.sbp, sb),
            (&mut b.dbp, db),
            (&mut b.tg, t),
            (&mut b.hdl, hd),
            (&mut b.ldl, ld),
            (&mut b.ast, a),
            (&mut b.alt, al),
            (&mut b.ggt, gg),
            (&mut b.fpg, fp),
            (&mut b.hba1c, hb),
        ] {
            builder.append_option(value);
        }
        let urine_glucose = if glucose_positive { "+" } else { "-" };
        let urine_protein = if protein_positive { "+" } else { "-" };
        let flags = [
            ("med_bp", has("hypertension")),
            ("med_glucose", has("t2dm")),
            ("med_lipid", has("dyslipidemia")),
            ("smoking", st.smoker),
        ];
        b.urine_glucose.append_value(urine_glucose);
        b.urine_protein.append_value(urine_protein);
        b.med_bp.append_value(flags[0].1);
        b.med_glucose.append_value(flags[1].1);
        b.med_lipid.append_value(flags[2].1);
        b.smoking.append_value(flags[3].1);
        b.rows += 1;
        if let Some(out) = self.checkup_files.as_mut() {
            use crate::checkup_out::ItemValue;
            let mut values: Vec<(&str, ItemValue<'_>)> = numbers
                .iter()
                .filter_map(|(c, v)| v.map(|v| (*c, ItemValue::Number(v))))
                .collect();
            values.push(("urine_glucose", ItemValue::Symbol(urine_glucose)));
            values.push(("urine_protein", ItemValue::Symbol(urine_protein)));
            values.extend(flags.iter().map(|(c, f)| (*c, ItemValue::Flag(*f))));
            let (by, bm, bd) = st.p.birth_ymd;
            let doc = medinfra_formats::checkup::CheckupDocument {
                report_kind: "10".into(),
                created: ymd(date),
                insurer_number: st.p.card.insurer_number.clone(),
                card_symbol: symbol.clone(),
                card_number: number.clone(),
                card_branch: if month.y >= 2021 {
                    format!("{:02}", st.p.card.branch)
                } else {
                    String::new()
                },
                postal_code: st.p.postcode.clone(),
                name: kana.clone(),
                sex: st.p.sex.to_string(),
                birth_date: format!("{by:04}{bm:02}{bd:02}"),
                facility_number: prov.id.clone(),
                checkup_date: ymd(date),
                observations: crate::checkup_out::observations(&values),
            };
            out.add(doc)?;
        }
        let t = &mut self.out.truth.buf;
        t.record_kind.append_value("checkup");
        t.provider_id.append_value(&prov.id);
        t.record_id.append_value(&checkup_id);
        t.person_id.append_value(st.p.index as i64);
        t.rows += 1;
        Ok(())
    }

    /// Each provider's patient registry entry, card history and the ground truth.
    fn emit_registry(&mut self, st: &PersonState) {
        let ctx = self.ctx;
        let pref = &ctx.reference.prefectures[st.p.prefecture];
        for reg in &st.registry {
            let prov = &ctx.providers.all[reg.provider];
            let patient_id = &reg.patient_id;
            let b = &mut self.out.persons.buf;
            b.provider_id.append_value(&prov.id);
            b.patient_id.append_value(patient_id);
            b.name_kanji.append_value(&reg.names.0);
            b.name_kana.append_value(&reg.names.1);
            b.sex.append_value(st.p.sex as i32);
            b.birth_date.append_value(st.p.birth);
            b.postcode.append_value(&reg.postcode);
            b.prefecture_code.append_value(&pref.code);
            if prov.kind == ProviderKind::Pharmacy {
                b.address.append_null();
                b.phone.append_null();
            } else {
                b.address.append_value(&st.p.address);
                b.phone.append_value(&st.p.phone);
            }
            b.rows += 1;
            for seg in &reg.segments {
                let (symbol, number) = if prov.fullwidth_card_digits {
                    (
                        crate::insurance::fullwidth_digits(&seg.card.symbol),
                        crate::insurance::fullwidth_digits(&seg.card.number),
                    )
                } else {
                    (seg.card.symbol.clone(), seg.card.number.clone())
                };
                let i = &mut self.out.insurance.buf;
                i.provider_id.append_value(&prov.id);
                i.patient_id.append_value(patient_id);
                i.insurer_number.append_value(&seg.card.insurer_number);
                i.insurer_type.append_value(seg.card.kind.as_str());
                if symbol.is_empty() {
                    i.card_symbol.append_null();
                } else {
                    i.card_symbol.append_value(&symbol);
                }
                i.card_number.append_value(&number);
                i.card_branch
                    .append_value(format!("{:02}", seg.card.branch));
                i.valid_from.append_value(seg.from);
                i.valid_to.append_value(seg.to);
                i.rows += 1;
            }
            let t = &mut self.out.truth.buf;
            t.record_kind.append_value("patient");
            t.provider_id.append_value(&prov.id);
            t.record_id.append_value(patient_id);
            t.person_id.append_value(st.p.index as i64);
            t.rows += 1;
        }
    }
}
