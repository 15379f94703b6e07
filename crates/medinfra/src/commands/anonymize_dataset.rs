//! `medinfra anonymize --input DATASET --output NAME [--config ANON.toml]`: the built-in
//! configuration for the canonical claims tables, producing 匿名加工医療情報 per
//! `formats/japan.md` §10.7:
//!
//! * person level: one row per patient; direct identifiers, chart numbers and card data are
//!   dropped and the patient key replaced by a random release number (no mapping is kept);
//! * quasi-identifiers sex, age (at `reference_date`; ages ≥ `age_top` collapsed first), area
//!   (prefecture → 8 regions → `*`) and first admission month (month → year → `*`), made
//!   k-anonymous by optimal generalization with a record suppression limit;
//! * set-valued: each released person's set of main diagnoses (ICD-10) made k^m-anonymous by
//!   generalizing along the WHO ICD-10 tree and suppressing items.
//!
//! Output: an anonymized-tier dataset with tables `persons` (release_id, sex, age, area,
//! admission_month) and `diagnoses` (release_id, icd10), lineage to the input version and the
//! configuration, and the auditor's report (JSON + HTML) under DATA_DIR/reports/.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Date32Type, Field, Int32Type, Schema};
use medinfra_anon::{
    AnonymizationConfig, Hierarchy, KmConfig, Metric, PrivacyModel, SetValuedData, Table,
    anonymize, km_anonymize, render_html,
};
use medinfra_model::Tier;
use medinfra_store::{Lineage, Store};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::cli::AnonymizeArgs;

/// The configuration, with the built-in defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimsConfig {
    pub k: usize,
    pub suppression: f64,
    /// Ages are computed on this date (YYYY-MM-DD).
    pub reference_date: String,
    /// Ages of this and above are collapsed into one value before anything else.
    pub age_top: u32,
    /// k^m-anonymity of the main-diagnosis sets.
    pub km_k: usize,
    pub km_m: usize,
    /// Seed of the random release numbers.
    pub seed: u64,
}

impl Default for ClaimsConfig {
    fn default() -> Self {
        ClaimsConfig {
            k: 5,
            suppression: 0.05,
            reference_date: "2020-01-01".into(),
            age_top: 90,
            km_k: 5,
            km_m: 2,
            seed: 1,
        }
    }
}

fn col<'a>(b: &'a RecordBatch, name: &str) -> anyhow::Result<&'a Arc<dyn Array>> {
    b.column_by_name(name)
        .with_context(|| format!("input has no column {name}"))
}

/// The person each row of a batch belongs to: `person_id` when the table has one (the linked
/// research database), else the (provider, chart number) pair.
fn person_keys(b: &RecordBatch) -> anyhow::Result<Vec<String>> {
    if let Some(p) = b.column_by_name("person_id") {
        let p = p
            .as_any()
            .downcast_ref::<Int64Array>()
            .context("person_id is not Int64")?;
        return Ok((0..b.num_rows())
            .map(|i| format!("person:{}", p.value(i)))
            .collect());
    }
    let prov = col(b, "provider_id")?.as_string::<i32>();
    let pid = col(b, "patient_id")?.as_string::<i32>();
    Ok((0..b.num_rows())
        .map(|i| format!("{}\u{1f}{}", prov.value(i), pid.value(i)))
        .collect())
}

fn age_on(birth: i32, reference: time::Date) -> u32 {
    let Some(b) = medinfra_model::days::date_of(birth) else {
        return 0;
    };
    let mut age = reference.year() - b.year();
    if (reference.month() as u8, reference.day()) < (b.month() as u8, b.day()) {
        age -= 1;
    }
    age.max(0) as u32
}

/// age → 5-year band → 10-year band → 20-year band → `*`, with the collapsed top value.
fn age_hierarchy(top: u32) -> anyhow::Result<Hierarchy> {
    let mut rows = Vec::new();
    for a in 0..top {
        let band = |w: u32| format!("{}-{}", a / w * w, (a / w * w + w - 1).min(top - 1));
        rows.push(vec![a.to_string(), band(5), band(10), band(20), "*".into()]);
    }
    let t = format!("{top}+");
    rows.push(vec![t.clone(), t.clone(), t.clone(), t, "*".into()]);
    Ok(Hierarchy::from_rows(&rows, "built-in age bands")?)
}

fn month_hierarchy(months: &[String]) -> anyhow::Result<Hierarchy> {
    let mut rows: Vec<Vec<String>> = months
        .iter()
        .map(|m| {
            if m == "none" {
                vec!["none".into(), "none".into(), "*".into()]
            } else {
                vec![m.clone(), m[..4].to_string(), "*".into()]
            }
        })
        .collect();
    rows.sort();
    rows.dedup();
    Ok(Hierarchy::from_rows(&rows, "built-in admission months")?)
}

pub async fn run(store: &Store, args: &AnonymizeArgs) -> anyhow::Result<ExitCode> {
    println!("{}", build(store, args).await?);
    Ok(ExitCode::SUCCESS)
}

/// Builds the anonymized version and returns the two lines that describe it.
pub async fn build(store: &Store, args: &AnonymizeArgs) -> anyhow::Result<String> {
    let started = std::time::Instant::now();
    let (Some(input), Some(output)) = (&args.input, &args.output) else {
        bail!("dataset mode needs --input DATASET and --output NAME");
    };
    let config: ClaimsConfig = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str(&text)
                .with_context(|| format!("{}: invalid configuration", path.display()))?
        }
        None => ClaimsConfig::default(),
    };
    let reference = time::Date::parse(
        &config.reference_date,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .with_context(|| {
        format!(
            "reference_date {:?}: expected YYYY-MM-DD",
            config.reference_date
        )
    })?;
    let info = store.version(input, None).await?;
    if !matches!(info.tier, Tier::Identified | Tier::Pseudonymized) {
        bail!(
            "{input} is {}: anonymization starts from identified or pseudonymized data",
            info.tier
        );
    }

    super::audit::check(
        store,
        medinfra_govern::Action::Read,
        info.tier,
        &format!("dataset {} v{}", info.dataset, info.version),
    )
    .await?;
    super::audit::check(
        store,
        medinfra_govern::Action::Write,
        Tier::Anonymized,
        &format!("dataset {output}"),
    )
    .await?;
    // Person level: one row per person — the registry's `person_id` where the input is the
    // linked research database (one person across providers counts once toward k), else one
    // per (provider, patient).
    let mut key_index: HashMap<String, usize> = HashMap::new();
    let (mut sex, mut age, mut area) = (Vec::new(), Vec::new(), Vec::new());
    // Only the columns used (the research database's tables are wide and grow every month).
    let manifest = store.read_manifest(&info)?;
    let columns = |table: &str, wanted: &[&'static str]| -> Vec<&'static str> {
        let has_person_id = manifest
            .table(table)
            .is_some_and(|t| t.schema.iter().any(|c| c.name == "person_id"));
        let mut cols: Vec<&'static str> = if has_person_id {
            vec!["person_id"]
        } else {
            vec!["provider_id", "patient_id"]
        };
        cols.extend_from_slice(wanted);
        cols
    };
    let persons_cols = columns("persons", &["sex", "birth_date", "prefecture_code"]);
    for b in super::read_columns(store, &info, "persons", &persons_cols)? {
        let keys = person_keys(&b)?;
        let s = col(&b, "sex")?.as_primitive::<Int32Type>();
        let bd = col(&b, "birth_date")?.as_primitive::<Date32Type>();
        let pref = col(&b, "prefecture_code")?.as_string::<i32>();
        for (i, key) in keys.into_iter().enumerate() {
            if key_index.contains_key(&key) {
                continue;
            }
            key_index.insert(key, sex.len());
            sex.push(if s.value(i) == 1 { "M" } else { "F" }.to_string());
            age.push(age_on(bd.value(i), reference).to_string());
            area.push(if pref.is_null(i) {
                "00".to_string()
            } else {
                pref.value(i).to_string()
            });
        }
    }
    if sex.is_empty() {
        bail!("{input} has no persons");
    }
    let n = sex.len();
    let mut admission = vec!["none".to_string(); n];
    let admission_cols = columns("admissions", &["admission_date"]);
    for b in super::read_columns(store, &info, "admissions", &admission_cols)? {
        let keys = person_keys(&b)?;
        let adm = col(&b, "admission_date")?.as_primitive::<Date32Type>();
        for (i, key) in keys.iter().enumerate() {
            if let (Some(&p), Some(d)) = (
                key_index.get(key),
                medinfra_model::days::date_of(adm.value(i)),
            ) {
                let ym = format!("{:04}{:02}", d.year(), d.month() as u8);
                if admission[p] == "none" || ym < admission[p] {
                    admission[p] = ym;
                }
            }
        }
    }
    let mut diag_sets: Vec<Vec<String>> = vec![Vec::new(); n];
    let diagnosis_cols = columns("diagnoses", &["icd10", "is_main"]);
    for b in super::read_columns(store, &info, "diagnoses", &diagnosis_cols)? {
        let keys = person_keys(&b)?;
        let icd = col(&b, "icd10")?.as_string::<i32>();
        let main = col(&b, "is_main")?.as_boolean();
        for (i, key) in keys.iter().enumerate() {
            if icd.is_null(i) || !main.value(i) {
                continue;
            }
            if let Some(&p) = key_index.get(key) {
                let code = icd.value(i).to_string();
                if !diag_sets[p].contains(&code) {
                    diag_sets[p].push(code);
                }
            }
        }
    }

    // k-anonymity of the person-level quasi-identifiers.
    let mut table = Table::from_columns(
        &["sex", "age", "area", "admission_month"],
        &[sex, age, area.clone(), admission.clone()],
        input,
    )?;
    let age_rule = table.collapse_ages("age", config.age_top)?;
    let mut area_rows: Vec<Vec<String>> = Hierarchy::prefectures()?.to_rows();
    if area.iter().any(|a| a == "00") {
        area_rows.push(vec!["00".into(), "unknown".into(), "*".into()]);
    }
    let qis = vec![
        (
            "sex".to_string(),
            Hierarchy::from_rows(
                &[vec!["M".into(), "*".into()], vec!["F".into(), "*".into()]],
                "sex",
            )?,
        ),
        ("age".to_string(), age_hierarchy(config.age_top)?),
        (
            "area".to_string(),
            Hierarchy::from_rows(&area_rows, "prefecture → region")?,
        ),
        ("admission_month".to_string(), month_hierarchy(&admission)?),
    ];
    let anon_config = AnonymizationConfig {
        qis,
        sensitive: None,
        models: vec![PrivacyModel::KAnonymity { k: config.k }],
        suppression_limit: config.suppression,
        metric: Metric::loss(),
        risk_threshold: 1.0 / config.k as f64,
    };
    let outcome = anonymize(&table, &anon_config)?;

    // k^m-anonymity of the released persons' main-diagnosis sets.
    let released: Vec<usize> = (0..n).filter(|&r| !outcome.suppressed_rows[r]).collect();
    let sets: Vec<Vec<String>> = released.iter().map(|&r| diag_sets[r].clone()).collect();
    let all_codes: Vec<String> = {
        let mut v: Vec<String> = sets.iter().flatten().cloned().collect();
        v.sort();
        v.dedup();
        v
    };
    let km = km_anonymize(
        &SetValuedData::from_sets(&sets),
        &KmConfig {
            k: config.km_k,
            m: config.km_m,
            // No coded main diagnosis at all (e.g. receipts whose disease codes have no
            // ICD-10 without the masters): nothing to generalize.
            hierarchy: if all_codes.is_empty() {
                None
            } else {
                Some(Hierarchy::icd10(&all_codes)?)
            },
            max_level: None,
        },
    )?;

    // Random release numbers: no mapping back to the patient is kept.
    let mut release_ids: Vec<i64> = (1..=released.len() as i64).collect();
    release_ids.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(
        config.seed ^ started.elapsed().as_nanos() as u64,
    ));

    let persons_schema = Arc::new(Schema::new(vec![
        Field::new("release_id", DataType::Int64, false),
        Field::new("sex", DataType::Utf8, false),
        Field::new("age", DataType::Utf8, false),
        Field::new("area", DataType::Utf8, false),
        Field::new("admission_month", DataType::Utf8, false),
    ]));
    let cols: Vec<Vec<String>> = ["sex", "age", "area", "admission_month"]
        .iter()
        .map(|c| {
            let column = outcome
                .table
                .column(c)
                .map(|col| released.iter().map(|&r| col.value(r).to_string()).collect());
            column.unwrap_or_default()
        })
        .collect();
    let persons = RecordBatch::try_new(
        persons_schema.clone(),
        vec![
            Arc::new(Int64Array::from(release_ids.clone())),
            Arc::new(StringArray::from(cols[0].clone())),
            Arc::new(StringArray::from(cols[1].clone())),
            Arc::new(StringArray::from(cols[2].clone())),
            Arc::new(StringArray::from(cols[3].clone())),
        ],
    )?;
    let (mut d_ids, mut d_codes) = (Vec::new(), Vec::new());
    for (i, set) in km.sets.iter().enumerate() {
        for code in set {
            d_ids.push(release_ids[i]);
            d_codes.push(code.clone());
        }
    }
    let diag_schema = Arc::new(Schema::new(vec![
        Field::new("release_id", DataType::Int64, false),
        Field::new("icd10", DataType::Utf8, false),
    ]));
    let diagnoses = RecordBatch::try_new(
        diag_schema.clone(),
        vec![
            Arc::new(Int64Array::from(d_ids)),
            Arc::new(StringArray::from(d_codes)),
        ],
    )?;

    let config_sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(serde_json::to_vec(&config)?))
    };
    let lineage = Lineage {
        step: "anonymize".into(),
        parameters: serde_json::json!({
            "configuration": "builtin:claims",
            "settings": config,
            // SHA-256 of the settings as JSON: two versions made with the same configuration
            // carry the same hash.
            "config_sha256": config_sha256,
        }),
        inputs: vec![Store::input_ref(&info)],
    };
    let writer = store.begin(output, Tier::Anonymized, lineage)?;
    writer.write_table("persons", persons_schema, [&persons])?;
    writer.write_table("diagnoses", diag_schema, [&diagnoses])?;
    let version = writer.commit().await?;

    let report = serde_json::json!({
        "input": { "dataset": info.dataset, "version": info.version, "tier": info.tier },
        "output": { "dataset": version.dataset, "version": version.version, "tier": version.tier },
        "configuration": config,
        "rules": [age_rule],
        "person_level": outcome.report,
        "diagnosis_sets": {
            "k": config.km_k, "m": config.km_m,
            "recoding": km.recoding,
            "suppressed_items": km.suppressed_items,
            "occurrences_generalized": km.occurrences_generalized,
            "occurrences_suppressed": km.occurrences_suppressed,
            "loss": km.loss,
        },
        "released_persons": released.len(),
        "elapsed_ms": started.elapsed().as_secs_f64() * 1000.0,
    });
    let dir = store
        .root()
        .join("reports")
        .join(format!("anonymize-{output}-v{}", version.version));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("report.json"), serde_json::to_vec_pretty(&report)?)?;
    let html = render_html(
        &outcome.report,
        &table,
        &outcome.table,
        &outcome.suppressed_rows,
        &format!("Anonymization report: {output} v{}", version.version),
    );
    std::fs::write(dir.join("report.html"), html)?;

    let r = &outcome.report;
    let levels: Vec<String> = r
        .attributes
        .iter()
        .map(|a| format!("{}={}", a.attribute, a.level))
        .collect();
    Ok(format!(
        "anonymize {input} v{} -> {} v{} (anonymized): {} of {} persons released, {}; {} classes; ages >= {} collapsed ({} values); diagnosis sets {}^{}-anonymous ({} items generalized, {} suppressed)\n  -> report {}",
        info.version,
        version.dataset,
        version.version,
        released.len(),
        n,
        levels.join(" "),
        r.classes,
        config.age_top,
        age_rule.values_changed,
        config.km_k,
        config.km_m,
        km.occurrences_generalized,
        km.occurrences_suppressed,
        dir.join("report.html").display()
    ))
}
