//! Joins that yield: a physical rule that puts DataFusion's `CooperativeExec` above every join.
//!
//! DataFusion makes its sources yield to the runtime (the `EnsureCooperative` rule), but a join
//! whose build side is in memory produces its output without touching a source again: a
//! four-way cross join of one small table ran for minutes without once returning `Pending`, so
//! neither the workspace's time limit nor an abort could stop it, and it held its runtime's
//! threads. Above a join, `CooperativeExec` spends one unit of the task's budget per batch, so
//! the task yields every few batches; the timer and cancellation then get their turn.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::coop::CooperativeExec;

#[derive(Debug, Default)]
pub struct YieldAboveJoins;

fn is_join(plan: &dyn ExecutionPlan) -> bool {
    plan.name().contains("Join")
}

impl PhysicalOptimizerRule for YieldAboveJoins {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            Ok(if is_join(node.as_ref()) {
                Transformed::yes(Arc::new(CooperativeExec::new(node)) as Arc<dyn ExecutionPlan>)
            } else {
                Transformed::no(node)
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "medinfra_yield_above_joins"
    }

    fn schema_check(&self) -> bool {
        true
    }
}
