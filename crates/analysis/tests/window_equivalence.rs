//! The workspace's window operator (`medinfra_analysis::window`) against DataFusion's own on
//! the same inputs: every query is run by a session with the replacement rule and one
//! without, and the answers must be identical. Inputs are random (many small partitions, NULL
//! keys and values, partitions spanning input batches of 1, 3 and 8192 rows, several input
//! partitions); the plans are checked to use the replacement where it applies, so a rule that
//! silently stopped applying fails here too.

use std::sync::Arc;

use datafusion::arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use medinfra_analysis::window::SortedWindowRule;

mod common;
use common::{Rng, on_big_stack};

/// `rows` rows in `parts` input partitions: keys `a` (few values, some NULL) and `b` (many),
/// order keys `c` (ties) and `id` (unique, so every ordering is total), values `v` (NULL
/// sometimes) and `s` (strings).
fn table(seed: u64, rows: usize, parts: usize) -> MemTable {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("a", DataType::Utf8, true),
        Field::new("b", DataType::Int64, true),
        Field::new("c", DataType::Int64, false),
        Field::new("v", DataType::Float64, true),
        Field::new("s", DataType::Utf8, true),
    ]));
    let mut rng = Rng::new(seed);
    let mut partitions = vec![Vec::new(); parts];
    let per = rows.div_ceil(parts).max(1);
    for (p, start) in (0..rows).step_by(per).enumerate() {
        let n = per.min(rows - start);
        let mut id = Vec::new();
        let mut a = Vec::new();
        let mut b = Vec::new();
        let mut c = Vec::new();
        let mut v = Vec::new();
        let mut s = Vec::new();
        for i in 0..n {
            id.push((start + i) as i64);
            a.push((rng.below(10) != 0).then(|| format!("provider{}", rng.below(4))));
            b.push((rng.below(20) != 0).then(|| rng.below((rows as u64 / 2).max(1)) as i64));
            c.push(rng.below(5) as i64);
            // NaN as well: partitions on a float key must group NaN with NaN as DataFusion does.
            v.push(match rng.below(12) {
                0 | 1 => None,
                2 => Some(f64::NAN),
                _ => Some(rng.below(100) as f64 / 10.0),
            });
            s.push((rng.below(6) != 0).then(|| format!("s{}", rng.below(50))));
        }
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(id)),
                Arc::new(StringArray::from(a)),
                Arc::new(Int64Array::from(b)),
                Arc::new(Int64Array::from(c)),
                Arc::new(Float64Array::from(v)),
                Arc::new(StringArray::from(s)),
            ],
        )
        .unwrap();
        partitions[p % parts].push(batch);
    }
    MemTable::try_new(schema, partitions).unwrap()
}

fn session(with_rule: bool, batch_size: usize, seed: u64, rows: usize) -> SessionContext {
    let config = SessionConfig::new()
        .with_batch_size(batch_size)
        .with_target_partitions(3);
    let mut builder = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features();
    if with_rule {
        builder = builder.with_physical_optimizer_rule(Arc::new(SortedWindowRule));
    }
    let ctx = SessionContext::new_with_state(builder.build());
    ctx.register_table("t", Arc::new(table(seed, rows, 3)))
        .unwrap();
    ctx
}

/// Queries the replacement computes (`true`) or must leave to DataFusion (`false`).
const QUERIES: &[(&str, bool)] = &[
    (
        "SELECT id, row_number() OVER (PARTITION BY a, b ORDER BY c, id) AS rn FROM t",
        true,
    ),
    (
        "SELECT id, row_number() OVER (PARTITION BY b ORDER BY c DESC NULLS FIRST, id DESC) AS rn FROM t",
        true,
    ),
    (
        "SELECT id, lead(v) OVER (PARTITION BY a, b ORDER BY c, id) AS x, \
                lag(v, 2, 0) OVER (PARTITION BY a, b ORDER BY c, id) AS y FROM t",
        true,
    ),
    (
        "SELECT id, lead(s, 1, 'none') OVER (PARTITION BY b ORDER BY id) AS x, \
                lag(c, 3) OVER (PARTITION BY b ORDER BY id) AS y FROM t",
        true,
    ),
    (
        "SELECT id, lead(v, 0) OVER (PARTITION BY a ORDER BY id) AS x FROM t",
        true,
    ),
    (
        "SELECT id, row_number() OVER (PARTITION BY v ORDER BY id) AS rn, \
                lag(id) OVER (PARTITION BY v ORDER BY id) AS prev FROM t",
        true,
    ),
    (
        "SELECT id, count(*) OVER (PARTITION BY a, b) AS n, count(v) OVER (PARTITION BY a, b) AS nv FROM t",
        true,
    ),
    (
        "SELECT id, count(s) OVER (PARTITION BY b ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n FROM t",
        true,
    ),
    (
        // The benchmark's HbA1c query shape: two windows, then a filter on both.
        "SELECT a, b, max(CASE WHEN rn = 1 THEN v END) AS first, max(CASE WHEN rn = n THEN v END) AS last FROM \
           (SELECT a, b, v, row_number() OVER (PARTITION BY a, b ORDER BY c, id) AS rn, \
                   count(*) OVER (PARTITION BY a, b) AS n FROM t WHERE v IS NOT NULL) r \
         GROUP BY a, b HAVING max(n) >= 2",
        true,
    ),
    // Running and distinct counts, other aggregates, ranks and whole-input windows stay
    // DataFusion's.
    (
        "SELECT id, count(v) OVER (PARTITION BY a ORDER BY c, id) AS n FROM t",
        false,
    ),
    (
        "SELECT id, sum(v) OVER (PARTITION BY a, b) AS total FROM t",
        false,
    ),
    (
        "SELECT id, rank() OVER (PARTITION BY a ORDER BY c) AS r FROM t",
        false,
    ),
    (
        "SELECT id, row_number() OVER (ORDER BY id) AS rn FROM t",
        false,
    ),
    (
        "SELECT id, lead(v, 1) IGNORE NULLS OVER (PARTITION BY a ORDER BY id) AS x FROM t",
        false,
    ),
];

async fn answer(ctx: &SessionContext, sql: &str) -> String {
    // A total order on every output column, so the two engines' answers compare as text.
    let sorted = format!("SELECT * FROM ({sql}) q ORDER BY 1, 2, 3, 4");
    let sorted = if sql.starts_with("SELECT a, b,") {
        sorted
    } else {
        format!("SELECT * FROM ({sql}) q ORDER BY 1")
    };
    let batches = ctx.sql(&sorted).await.unwrap().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

async fn plan(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx
        .sql(&format!("EXPLAIN {sql}"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

#[test]
fn same_answers_as_datafusion_on_random_inputs() {
    on_big_stack(compare_all);
}

async fn compare_all() {
    // (seed, rows, batch size): tiny batches split partitions across batches everywhere.
    let cases = [
        (1, 0, 1),
        (2, 1, 1),
        (3, 17, 1),
        (4, 300, 1),
        (4, 300, 3),
        (5, 2_000, 3),
        (5, 2_000, 8192),
        (6, 5_000, 64),
        (7, 5_000, 8192),
    ];
    for (seed, rows, batch_size) in cases {
        let ours = session(true, batch_size, seed, rows);
        let theirs = session(false, batch_size, seed, rows);
        for (sql, replaced) in QUERIES {
            let used = plan(&ours, sql).await.contains("SortedWindowExec");
            assert_eq!(
                used,
                *replaced,
                "replacement {} for {sql}",
                if used { "used" } else { "not used" }
            );
            assert_eq!(
                answer(&ours, sql).await,
                answer(&theirs, sql).await,
                "seed {seed}, {rows} rows, batches of {batch_size}: {sql}"
            );
        }
    }
}
