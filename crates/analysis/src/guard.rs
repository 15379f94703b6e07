//! What SQL may do in a workspace. Two independent fences:
//!
//! 1. [`sql_options`]: DataFusion's own switch-off of DDL (`CREATE [EXTERNAL] TABLE/VIEW`,
//!    `DROP`), DML (`INSERT`, `COPY`) and statements (`SET`, transactions).
//! 2. [`check_plan`]: every table scan in the logical plan — including those inside
//!    subqueries — must name a table this workspace registered, in its one catalog and
//!    schema. That refuses table functions, path-like names, `information_schema`, other
//!    projects' results, and anything a future DataFusion version might add to the catalog.
//!
//! The SQL planner inlines a view as `SubqueryAlias(name, view plan)`, so the plan also holds
//! the scans of the views' stored tables. Those are recognized by the identity of their
//! source object (the `Arc` the workspace built), not by name: the stored tables are in no
//! catalog, so SQL cannot produce a scan of them except through the view.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::{LogicalPlan, TableSource};

use crate::error::AnalysisError;

/// The workspace session's only catalog.
pub const CATALOG: &str = "medinfra";
/// The workspace session's only schema: data views and saved results.
pub const SCHEMA: &str = "project";

/// Identity of a table source (its address; the workspace keeps the `Arc` alive).
pub(crate) fn source_id(source: &Arc<dyn TableSource>) -> usize {
    Arc::as_ptr(source) as *const () as usize
}

pub(crate) fn sql_options() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// Refuses plans that define, modify or reach outside the workspace; returns the names of the
/// tables the plan reads.
pub(crate) fn check_plan(
    plan: &LogicalPlan,
    allowed: &BTreeSet<String>,
    internal: &HashMap<usize, String>,
) -> Result<BTreeSet<String>, AnalysisError> {
    sql_options()
        .verify_plan(plan)
        .map_err(|e| AnalysisError::Refused(e.strip_backtrace()))?;
    let mut scanned = BTreeSet::new();
    let mut refusal: Option<String> = None;
    plan.apply_with_subqueries(|node| {
        let verdict = match node {
            LogicalPlan::TableScan(scan) => {
                let r = scan.table_name.clone().resolve(CATALOG, SCHEMA);
                if let Some(view) = internal.get(&source_id(&scan.source)) {
                    scanned.insert(view.clone());
                    None
                } else if r.catalog.as_ref() == CATALOG
                    && r.schema.as_ref() == SCHEMA
                    && allowed.contains(r.table.as_ref())
                {
                    scanned.insert(r.table.to_string());
                    None
                } else {
                    Some(format!(
                        "table {} is not part of this workspace",
                        scan.table_name
                    ))
                }
            }
            // EXPLAIN prints storage paths of the data files.
            LogicalPlan::Explain(_) | LogicalPlan::Analyze(_) => {
                Some("EXPLAIN is not available in the workspace".to_string())
            }
            LogicalPlan::Ddl(_)
            | LogicalPlan::Dml(_)
            | LogicalPlan::Copy(_)
            | LogicalPlan::Statement(_) => Some("only queries (SELECT) are allowed".to_string()),
            // Extension nodes could read anything; the workspace registers none.
            LogicalPlan::Extension(_) => Some("extension plans are not allowed".to_string()),
            // Recursive CTEs scan a work table that is not a workspace table; refusing them
            // also keeps unbounded iteration out of a shared service.
            LogicalPlan::RecursiveQuery(_) => Some("recursive queries are not allowed".to_string()),
            _ => None,
        };
        Ok(match verdict {
            Some(reason) => {
                refusal = Some(reason);
                TreeNodeRecursion::Stop
            }
            None => TreeNodeRecursion::Continue,
        })
    })
    .map_err(AnalysisError::Query)?;
    match refusal {
        Some(reason) => Err(AnalysisError::Refused(reason)),
        None => Ok(scanned),
    }
}
