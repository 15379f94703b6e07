//! The views a workspace exposes over one table of a stored dataset version: a projection of
//! the Parquet files that re-keys key columns per project and leaves direct identifiers out.
//! The stored table itself is never put in a catalog, so SQL cannot name it.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Column;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::{MemTable, ViewTable, provider_as_source};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, ScalarUDF, TableSource};
use medinfra_model::tables::ColumnRole;
use medinfra_model::{CanonicalTable, Tier};

use crate::error::AnalysisError;
use crate::pseudonym::PROJECT_TOKEN_COLUMNS;

/// Columns of this role never appear in a view (names, card numbers, addresses, phones).
pub const DROPPED_ROLE: ColumnRole = ColumnRole::DirectIdentifier;

/// True for tables a workspace may show: the canonical tables except the synthetic ground
/// truth, which is never released.
pub(crate) fn is_workspace_table(table: CanonicalTable) -> bool {
    !matches!(table, CanonicalTable::Truth | CanonicalTable::Population)
}

/// The keyed NDB linkage columns the pseudonymization policy adds (ID1, ID2 and the
/// ID5-style key of the person's oldest insured number, each an HMAC under the producer's
/// key). They link a person to the NDB and to other databases, so a workspace shows them only
/// to a project approved for NDB linkage — re-keyed for the project, like every key column,
/// which makes them the per-release keys the NDB's ID5 is — and says to every other project
/// that they were withheld, rather than dropping them silently.
pub const LINKAGE_COLUMNS: &[&str] = &["id1_keyed", "id2_keyed", "id5_keyed"];

/// Why a project's workspace does not show [`LINKAGE_COLUMNS`].
pub const LINKAGE_WITHHELD: &str =
    "a keyed NDB linkage ID: shown only to projects approved for NDB linkage (pseudonymized tier)";

/// The columns of `table`'s view, in stored order, with `true` where the column is re-keyed.
/// Key columns are re-keyed; direct identifiers and columns the canonical model does not know
/// are left out (deny by default).
pub fn view_columns(table: CanonicalTable, stored: &Schema) -> Vec<(String, bool)> {
    view_columns_at(table, stored, Tier::Pseudonymized, false)
}

/// [`view_columns`] for a version of `tier`, in a project approved for NDB linkage or not.
/// Anonymized versions also show the columns the anonymizer made (generalized
/// quasi-identifiers such as `age` bands or `area`, and its `release_id`): the whole table
/// passed the privacy model to be released at that tier. A column the canonical model marks
/// as a direct identifier is left out at every tier; [`LINKAGE_COLUMNS`] are shown re-keyed
/// to a linkage project at the pseudonymized tier and to no one else.
pub fn view_columns_at(
    table: CanonicalTable,
    stored: &Schema,
    tier: Tier,
    ndb_linkage: bool,
) -> Vec<(String, bool)> {
    stored
        .fields()
        .iter()
        .filter_map(|f| {
            let name = f.name();
            if PROJECT_TOKEN_COLUMNS.contains(&name.as_str()) {
                return Some((name.clone(), true));
            }
            if LINKAGE_COLUMNS.contains(&name.as_str()) {
                return (ndb_linkage && tier == Tier::Pseudonymized).then(|| (name.clone(), true));
            }
            match table.columns().iter().find(|c| c.name == name) {
                Some(def) => (def.role != DROPPED_ROLE).then(|| (name.clone(), false)),
                None => (tier == Tier::Anonymized).then(|| (name.clone(), false)),
            }
        })
        .collect()
}

/// The columns of `table`'s view as a schema: key columns as strings, direct identifiers left
/// out.
pub(crate) fn view_schema(table: CanonicalTable, stored: &Schema) -> Schema {
    let fields: Vec<Field> = view_columns(table, stored)
        .into_iter()
        .filter_map(|(name, rekeyed)| {
            let f = stored.field_with_name(&name).ok()?;
            Some(if rekeyed {
                Field::new(&name, DataType::Utf8, f.is_nullable())
            } else {
                f.clone()
            })
        })
        .collect();
    Schema::new(fields)
}

/// An empty table with `table`'s view columns (a version may lack a table; an empty one keeps
/// the same SQL valid).
pub(crate) fn empty_view(table: CanonicalTable) -> Result<Arc<dyn TableProvider>, AnalysisError> {
    let schema = Arc::new(view_schema(table, &table.schema()));
    Ok(Arc::new(
        MemTable::try_new(schema, vec![vec![]]).map_err(AnalysisError::Query)?,
    ))
}

/// A view over the Parquet `files` of one stored table, and the stored table's source (the
/// plan check recognizes the view's own scan by this exact source, see `guard`).
pub(crate) async fn build_view(
    state: &dyn Session,
    table: CanonicalTable,
    tier: Tier,
    ndb_linkage: bool,
    files: &[PathBuf],
    rekey: &Arc<ScalarUDF>,
) -> Result<(Arc<dyn TableProvider>, Arc<dyn TableSource>), AnalysisError> {
    let stored: Arc<dyn TableProvider> = if files.is_empty() {
        // A version may lack a table; an empty one keeps the same SQL valid.
        Arc::new(MemTable::try_new(table.schema(), vec![vec![]]).map_err(AnalysisError::Query)?)
    } else {
        Arc::new(parquet_table(state, files).await?)
    };
    let schema = stored.schema();
    let exprs: Vec<Expr> = view_columns_at(table, &schema, tier, ndb_linkage)
        .into_iter()
        .map(|(name, rekeyed)| {
            let column = Expr::Column(Column::new_unqualified(&name));
            if rekeyed {
                Expr::ScalarFunction(ScalarFunction::new_udf(rekey.clone(), vec![column]))
                    .alias(name)
            } else {
                column
            }
        })
        .collect();
    let source = provider_as_source(stored);
    let plan = LogicalPlanBuilder::scan(format!("stored_{}", table.name()), source.clone(), None)
        .and_then(|b| b.project(exprs))
        .and_then(|b| b.build())
        .map_err(AnalysisError::Query)?;
    Ok((Arc::new(ViewTable::new(plan, None)), source))
}

/// A table over a fixed list of Parquet files (the manifest's, not a directory listing, so a
/// stray file next to them is never read).
pub(crate) async fn parquet_table(
    state: &dyn Session,
    files: &[PathBuf],
) -> Result<ListingTable, AnalysisError> {
    let urls = files
        .iter()
        .map(|p| {
            let s = p.to_str().ok_or_else(|| AnalysisError::ResultFile {
                path: p.clone(),
                reason: "path is not UTF-8".into(),
            })?;
            ListingTableUrl::parse(s).map_err(AnalysisError::Query)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .infer_schema(state)
        .await
        .map_err(AnalysisError::Query)?;
    ListingTable::try_new(config).map_err(AnalysisError::Query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_view_rekeys_keys_and_drops_direct_identifiers() {
        let cols = view_columns(CanonicalTable::Claims, &CanonicalTable::Claims.schema());
        let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
        for gone in [
            "name_kanji",
            "name_kana",
            "card_symbol",
            "card_number",
            "card_branch",
        ] {
            assert!(!names.contains(&gone), "{gone} must not be visible");
        }
        assert!(cols.contains(&("patient_id".to_string(), true)));
        assert!(cols.contains(&("claim_id".to_string(), true)));
        assert!(cols.contains(&("birth_date".to_string(), false)));
        assert!(cols.contains(&("total_points".to_string(), false)));
    }

    #[test]
    fn unknown_stored_columns_are_left_out() {
        let schema = Schema::new(vec![
            Field::new("patient_id", DataType::Utf8, false),
            Field::new("secret_extra", DataType::Utf8, false),
        ]);
        let cols = view_columns(CanonicalTable::Deaths, &schema);
        assert_eq!(cols, vec![("patient_id".to_string(), true)]);
    }

    #[test]
    fn anonymized_versions_show_the_anonymizers_columns_but_never_direct_identifiers() {
        let schema = Schema::new(vec![
            Field::new("release_id", DataType::Utf8, false),
            Field::new("sex", DataType::Int32, true),
            Field::new("age", DataType::Utf8, true),
            Field::new("area", DataType::Utf8, true),
            Field::new("name_kanji", DataType::Utf8, true),
        ]);
        let names = |tier| -> Vec<String> {
            view_columns_at(CanonicalTable::Persons, &schema, tier, false)
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        };
        assert_eq!(
            names(Tier::Anonymized),
            ["release_id", "sex", "age", "area"]
        );
        // Deny by default elsewhere: only what the canonical model knows.
        assert_eq!(names(Tier::Pseudonymized), ["sex"]);
        assert_eq!(names(Tier::Sample), ["sex"]);
    }

    #[test]
    fn linkage_ids_only_for_ndb_linkage_projects_at_the_pseudonymized_tier() {
        let schema = Schema::new(vec![
            Field::new("claim_id", DataType::Utf8, false),
            Field::new("id1_keyed", DataType::Utf8, true),
            Field::new("id2_keyed", DataType::Utf8, true),
            Field::new("total_points", DataType::Int64, true),
        ]);
        let cols = |tier, linkage| view_columns_at(CanonicalTable::Claims, &schema, tier, linkage);
        assert_eq!(
            cols(Tier::Pseudonymized, true),
            [
                ("claim_id".to_string(), true),
                ("id1_keyed".to_string(), true),
                ("id2_keyed".to_string(), true),
                ("total_points".to_string(), false),
            ],
            "shown, and re-keyed for the project"
        );
        let without = [
            ("claim_id".to_string(), true),
            ("total_points".to_string(), false),
        ];
        assert_eq!(cols(Tier::Pseudonymized, false), without);
        // Anonymized data links to nothing, even in a linkage project.
        assert_eq!(cols(Tier::Anonymized, true), without);
        assert_eq!(cols(Tier::Sample, true), without);
    }
}
