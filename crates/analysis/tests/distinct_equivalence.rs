//! The workspace's `COUNT` + `COUNT(DISTINCT)` rewrite (`medinfra_analysis::distinct`)
//! against DataFusion's plain plan: identical answers, types and column names on random
//! inputs with NULLs (in the grouped, the distinct and the counted columns) and on an empty
//! table; and the rewrite must actually happen where it applies (DataFusion's two-phase plan:
//! an aggregate grouping by the distinct column under the final one).

use std::sync::Arc;

use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use medinfra_analysis::distinct::logical_rules;

mod common;
use common::{Rng, on_big_stack};

fn table(seed: u64, rows: usize) -> MemTable {
    let schema = Arc::new(Schema::new(vec![
        Field::new("g", DataType::Utf8, true),
        Field::new("p", DataType::Utf8, true),
        Field::new("x", DataType::Int64, true),
    ]));
    let mut rng = Rng::new(seed);
    let mut next = |n: u64| rng.below(n);
    let (mut g, mut p, mut x) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rows {
        g.push((next(12) != 0).then(|| format!("g{}", next(7))));
        p.push((next(9) != 0).then(|| format!("patient{}", next(200))));
        x.push((next(5) != 0).then(|| next(100) as i64 - 20));
    }
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(g)),
            Arc::new(StringArray::from(p)),
            Arc::new(Int64Array::from(x)),
        ],
    )
    .unwrap();
    let half = rows / 2;
    MemTable::try_new(
        schema,
        vec![
            vec![batch.slice(0, half)],
            vec![batch.slice(half, rows - half)],
        ],
    )
    .unwrap()
}

fn session(with_rule: bool, seed: u64, rows: usize) -> SessionContext {
    let mut builder = SessionStateBuilder::new()
        .with_config(SessionConfig::new().with_target_partitions(2))
        .with_default_features();
    if with_rule {
        builder = builder.with_optimizer_rules(logical_rules());
    }
    let ctx = SessionContext::new_with_state(builder.build());
    ctx.register_table("t", Arc::new(table(seed, rows)))
        .unwrap();
    ctx
}

/// Queries and whether the rewrite applies to them.
const QUERIES: &[(&str, bool)] = &[
    (
        "SELECT g, COUNT(*) AS n, COUNT(DISTINCT p) AS patients, SUM(x) AS total FROM t GROUP BY g",
        true,
    ),
    (
        "SELECT g, COUNT(x), COUNT(DISTINCT p), MIN(x), MAX(x) FROM t GROUP BY g",
        true,
    ),
    ("SELECT COUNT(*), COUNT(x), COUNT(DISTINCT p) FROM t", true),
    (
        "SELECT g, COUNT(*) + 1 AS n1, COUNT(DISTINCT p) FROM t WHERE x > 0 GROUP BY g HAVING COUNT(*) > 1",
        true,
    ),
    (
        "SELECT g, COUNT(DISTINCT p), COUNT(DISTINCT x) FROM t GROUP BY g",
        false,
    ),
    (
        "SELECT g, COUNT(*), AVG(x), COUNT(DISTINCT p) FROM t GROUP BY g",
        false,
    ),
    ("SELECT g, COUNT(*), COUNT(x) FROM t GROUP BY g", false),
];

async fn run(ctx: &SessionContext, sql: &str) -> (String, String) {
    let df = ctx
        .sql(&format!("SELECT * FROM ({sql}) q ORDER BY 1, 2, 3"))
        .await
        .unwrap();
    let schema = format!("{:?}", df.schema().fields());
    let batches = df.collect().await.unwrap();
    (schema, pretty_format_batches(&batches).unwrap().to_string())
}

/// Aggregates in the physical plan that group by the distinct column (the two-phase plan).
async fn two_phase(ctx: &SessionContext, sql: &str) -> bool {
    let plan = ctx.sql(&format!("EXPLAIN {sql}")).await.unwrap();
    let text = pretty_format_batches(&plan.collect().await.unwrap())
        .unwrap()
        .to_string();
    text.contains("alias1")
}

#[test]
fn same_answers_as_datafusion() {
    on_big_stack(compare_all);
}

async fn compare_all() {
    for (seed, rows) in [(1, 0), (2, 1), (3, 50), (4, 3_000)] {
        let ours = session(true, seed, rows);
        let theirs = session(false, seed, rows);
        for (sql, rewritten) in QUERIES {
            assert_eq!(
                two_phase(&ours, sql).await,
                *rewritten,
                "two-phase plan expected {rewritten}: {sql}"
            );
            assert_eq!(
                run(&ours, sql).await,
                run(&theirs, sql).await,
                "seed {seed}, {rows} rows: {sql}"
            );
        }
    }
}
