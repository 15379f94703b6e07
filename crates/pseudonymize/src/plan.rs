//! A table's policy checked against its input schema and turned into one step per output
//! column. All validation happens here, before any row is read, so a bad policy commits
//! nothing and names the table and column at fault.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::error::PseudonymizeError;
use crate::policy::{
    ColumnRule, DatePart, DerivedKind, NamedHierarchy, Normalization, TablePolicy,
};

/// One output column.
#[derive(Debug, Clone)]
pub enum Step {
    Keep {
        input: usize,
    },
    Token {
        input: usize,
        with: Vec<usize>,
        domain: Vec<u8>,
        normalize: Normalization,
        project: bool,
        keep_map: bool,
    },
    DateShift {
        input: usize,
        days: u32,
    },
    TruncateDate {
        input: usize,
        to: DatePart,
    },
    Generalize {
        input: usize,
        hierarchy: NamedHierarchy,
        level: usize,
    },
    Scrub {
        input: usize,
    },
    Derived {
        kind: DerivedKind,
        /// insurer_number, card_symbol, card_number (ID1; ID5 adds card_branch) or the name
        /// column (ID2).
        fields: Vec<usize>,
        birth_date: usize,
        sex: usize,
    },
}

/// What the pipeline does to one table.
#[derive(Debug, Clone)]
pub struct TablePlan {
    pub table: String,
    pub steps: Vec<Step>,
    /// Names of the output columns, parallel to `steps`.
    pub output_schema: SchemaRef,
    /// Input columns identifying the person (for date shifts and scrubbing).
    pub person: Vec<usize>,
    pub needs_project_key: bool,
    pub needs_person_index: bool,
    /// What each input column became, for the report and the lineage.
    pub summary: Vec<(String, String)>,
}

fn find(schema: &Schema, table: &str, column: &str, why: &str) -> Result<usize, PseudonymizeError> {
    schema.index_of(column).map_err(|_| {
        PseudonymizeError::column(
            table,
            column,
            format!("{why}, but the input has no such column"),
        )
    })
}

fn require_type(
    schema: &Schema,
    table: &str,
    idx: usize,
    ok: &[DataType],
    action: &str,
) -> Result<(), PseudonymizeError> {
    let field = schema.field(idx);
    if ok.contains(field.data_type()) {
        Ok(())
    } else {
        Err(PseudonymizeError::column(
            table,
            field.name(),
            format!(
                "{action} needs a column of type {ok:?}, found {}",
                field.data_type()
            ),
        ))
    }
}

const TEXT: &[DataType] = &[DataType::Utf8];
const DATE: &[DataType] = &[DataType::Date32];
/// Token inputs: anything with a stable text form.
const TOKENIZABLE: &[DataType] = &[
    DataType::Utf8,
    DataType::Int32,
    DataType::Int64,
    DataType::Date32,
];

#[allow(clippy::too_many_arguments)]
fn token_step(
    schema: &Schema,
    table: &str,
    idx: usize,
    with: &[String],
    domain: &Option<String>,
    normalize: Normalization,
    project: bool,
    keep_map: bool,
) -> Result<(Step, DataType, String), PseudonymizeError> {
    let name = schema.field(idx).name();
    require_type(schema, table, idx, TOKENIZABLE, "token")?;
    let with_idx: Vec<usize> = with
        .iter()
        .map(|c| find(schema, table, c, "a token's `with` names this column"))
        .collect::<Result<_, _>>()?;
    for &w in &with_idx {
        require_type(schema, table, w, TOKENIZABLE, "token `with`")?;
    }
    let domain = domain.clone().unwrap_or_else(|| name.to_string());
    let label = format!(
        "{}(domain {domain}{})",
        if project { "project_token" } else { "token" },
        if with.is_empty() {
            String::new()
        } else {
            format!(", with {}", with.join("+"))
        }
    );
    Ok((
        Step::Token {
            input: idx,
            with: with_idx,
            domain: domain.into_bytes(),
            normalize,
            project,
            keep_map,
        },
        DataType::Utf8,
        label,
    ))
}

/// Checks `policy` against `schema` and builds the plan.
pub fn compile(
    table: &str,
    policy: &TablePolicy,
    schema: &Schema,
) -> Result<TablePlan, PseudonymizeError> {
    // Deny by default, both ways: every input column named, every named column present.
    for field in schema.fields() {
        if !policy.columns.contains_key(field.name()) {
            return Err(PseudonymizeError::column(
                table,
                field.name(),
                "the policy does not say what to do with this column (deny by default: add a rule, e.g. \"drop\")",
            ));
        }
    }
    for name in policy.columns.keys() {
        find(schema, table, name, "the policy names this column")?;
    }
    let person: Vec<usize> = policy
        .person
        .iter()
        .map(|c| find(schema, table, c, "`person` names this column"))
        .collect::<Result<_, _>>()?;

    let mut steps = Vec::new();
    let mut fields: Vec<Field> = Vec::new();
    let mut summary = Vec::new();
    let mut names = BTreeSet::new();
    let mut needs_project_key = false;
    let mut needs_person_index = false;
    for (idx, field) in schema.fields().iter().enumerate() {
        let name = field.name().as_str();
        let rule = policy.columns[name].rule();
        let (step, out_type, label) = match &rule {
            ColumnRule::Drop => {
                summary.push((name.to_string(), "drop".to_string()));
                continue;
            }
            ColumnRule::Keep => (
                Step::Keep { input: idx },
                field.data_type().clone(),
                "keep".to_string(),
            ),
            ColumnRule::Token {
                with,
                domain,
                normalize,
                keep_map,
            } => token_step(
                schema, table, idx, with, domain, *normalize, false, *keep_map,
            )?,
            ColumnRule::ProjectToken {
                with,
                domain,
                normalize,
            } => {
                needs_project_key = true;
                token_step(schema, table, idx, with, domain, *normalize, true, false)?
            }
            ColumnRule::DateShift { days } => {
                require_type(schema, table, idx, DATE, "date_shift")?;
                if person.is_empty() {
                    return Err(PseudonymizeError::column(
                        table,
                        name,
                        "date_shift needs the table's `person` columns (whose dates shift together)",
                    ));
                }
                if *days == 0 || *days > 3650 {
                    return Err(PseudonymizeError::column(
                        table,
                        name,
                        "date_shift days must be 1..=3650",
                    ));
                }
                (
                    Step::DateShift {
                        input: idx,
                        days: *days,
                    },
                    DataType::Date32,
                    format!("date_shift(±{days} days per person)"),
                )
            }
            ColumnRule::TruncateDate { to } => {
                require_type(schema, table, idx, DATE, "truncate_date")?;
                (
                    Step::TruncateDate {
                        input: idx,
                        to: *to,
                    },
                    DataType::Date32,
                    format!("truncate_date({to:?})").to_lowercase(),
                )
            }
            ColumnRule::Generalize { hierarchy, level } => {
                require_type(schema, table, idx, TEXT, "generalize")?;
                let max = match hierarchy {
                    NamedHierarchy::Postcode3 | NamedHierarchy::PrefectureRegion => 1,
                    NamedHierarchy::Icd10 => 3,
                };
                if *level == 0 || *level > max {
                    return Err(PseudonymizeError::column(
                        table,
                        name,
                        format!("generalize level must be 1..={max} for {hierarchy:?}"),
                    ));
                }
                (
                    Step::Generalize {
                        input: idx,
                        hierarchy: *hierarchy,
                        level: *level,
                    },
                    DataType::Utf8,
                    format!("generalize({hierarchy:?}, level {level})").to_lowercase(),
                )
            }
            ColumnRule::Scrub => {
                require_type(schema, table, idx, TEXT, "scrub")?;
                needs_person_index |= !person.is_empty();
                (
                    Step::Scrub { input: idx },
                    DataType::Utf8,
                    "scrub".to_string(),
                )
            }
        };
        summary.push((name.to_string(), label));
        names.insert(name.to_string());
        fields.push(Field::new(name, out_type, true));
        steps.push(step);
    }
    for (name, derived) in &policy.add {
        if !names.insert(name.clone()) {
            return Err(PseudonymizeError::column(
                table,
                name,
                "an added column has the name of a kept column",
            ));
        }
        let unkeyed = matches!(derived.kind, DerivedKind::Id1 | DerivedKind::Id2);
        if unkeyed && !derived.allow_identifiers {
            return Err(PseudonymizeError::column(
                table,
                name,
                "an unkeyed NDB ID1/ID2 is an identifier (reversible by dictionary); use id1_keyed/id2_keyed, or set allow_identifiers = true",
            ));
        }
        let why = format!("added column {name} is computed from this column");
        let field_cols: Vec<&str> = match derived.kind {
            DerivedKind::Id1 | DerivedKind::Id1Keyed => {
                vec!["insurer_number", "card_symbol", "card_number"]
            }
            DerivedKind::Id2 | DerivedKind::Id2Keyed => {
                vec![derived.name.as_deref().unwrap_or("name_kana")]
            }
            DerivedKind::Id5Keyed => {
                vec![
                    "insurer_number",
                    "card_symbol",
                    "card_number",
                    "card_branch",
                ]
            }
        };
        let fields_idx: Vec<usize> = field_cols
            .iter()
            .map(|c| find(schema, table, c, &why))
            .collect::<Result<_, _>>()?;
        for &f in &fields_idx {
            require_type(schema, table, f, TEXT, "ID1/ID2")?;
        }
        let birth_date = find(schema, table, "birth_date", &why)?;
        require_type(schema, table, birth_date, DATE, "ID1/ID2")?;
        let sex = find(schema, table, "sex", &why)?;
        require_type(schema, table, sex, &[DataType::Int32], "ID1/ID2")?;
        let kind_name = serde_json::to_value(derived.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        summary.push((name.clone(), format!("add {kind_name}")));
        fields.push(Field::new(name, DataType::Utf8, true));
        steps.push(Step::Derived {
            kind: derived.kind,
            fields: fields_idx,
            birth_date,
            sex,
        });
    }
    if steps.is_empty() {
        return Err(PseudonymizeError::Table {
            table: table.to_string(),
            reason: "the policy keeps no column (use omit = true to leave the table out)".into(),
        });
    }
    Ok(TablePlan {
        table: table.to_string(),
        steps,
        output_schema: Arc::new(Schema::new(fields)),
        person,
        needs_project_key,
        needs_person_index,
        summary,
    })
}
