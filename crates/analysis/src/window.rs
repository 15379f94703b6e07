//! A window operator for the shape claims queries use most: many small partitions (one per
//! patient) over input already sorted by the partition keys and the window's `ORDER BY`.
//!
//! Why by hand: DataFusion 55's window operators pay a fixed cost per window partition —
//! `BoundedWindowAggExec` builds a partition key of `ScalarValue`s, a buffered batch and a
//! state per window expression for each one, `WindowAggExec` slices the input and creates an
//! evaluator per partition and concatenates one tiny result array per partition (upstream:
//! apache/datafusion#23982, #23197). With ~1 row per partition that is 3–6 µs a row: on the
//! benchmark's readmission query (16.6 k admissions, as many patients) the window took 98 ms
//! of compute while DuckDB answers the whole query in 17 ms. No crate offers a vectorized
//! replacement, so this module computes the common window functions for all partitions of a
//! batch at once: partition boundaries from arrow's `partition` kernel, then one pass per
//! function.
//!
//! [`SortedWindowRule`] runs after DataFusion's own physical rules, so the window node's
//! input already satisfies its ordering and distribution requirements (which the replacement
//! keeps declaring). It replaces a window node only when every function in it is one this
//! module computes exactly like DataFusion:
//!
//! - `row_number()`;
//! - `lead` / `lag` with a literal offset and optional literal default, without `IGNORE NULLS`;
//! - `count(x)` / `count(*)` whose frame is the whole partition, without `DISTINCT` or `FILTER`;
//!
//! and the window has a `PARTITION BY` (without one the whole input is one partition, which
//! DataFusion's bounded operator streams and this one would buffer). Anything else keeps
//! DataFusion's operator. `tests/window_equivalence.rs` runs both on the same inputs.
//!
//! Memory: rows are emitted as soon as their partition is complete; only the current
//! (unfinished) partition is held between input batches.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, UInt64Array,
};
use datafusion::arrow::compute::kernels::zip::zip;
use datafusion::arrow::compute::{concat, concat_batches, partition, take};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{WindowFrame, WindowFrameBound, WindowFrameUnits};
use datafusion::physical_expr::OrderingRequirements;
use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_expr::{PhysicalExpr, PhysicalSortExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::windows::{
    BoundedWindowAggExec, PlainAggregateWindowExpr, StandardWindowExpr, WindowAggExec, WindowExpr,
    WindowUDFExpr,
};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, InputDistributionRequirements, InputOrderMode,
    PlanProperties,
};
use futures::{Stream, StreamExt};

/// Replaces DataFusion's window operators by [`SortedWindowExec`] where it applies (see the
/// module docs).
#[derive(Debug, Default)]
pub struct SortedWindowRule;

impl PhysicalOptimizerRule for SortedWindowRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            Ok(match SortedWindowExec::try_replace(&node)? {
                Some(new) => Transformed::yes(new),
                None => Transformed::no(node),
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "medinfra_sorted_window"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// One window function this module computes.
#[derive(Debug, Clone)]
enum Function {
    RowNumber,
    /// `lag` (positive offset: the value `offset` rows earlier) or `lead` (negative).
    Shift {
        value: Arc<dyn PhysicalExpr>,
        offset: i64,
        default: ScalarValue,
    },
    /// `count` over the whole partition; `None` counts rows.
    PartitionCount {
        value: Option<Arc<dyn PhysicalExpr>>,
    },
}

/// A window node whose functions are all [`Function`]s, computed for every partition of a
/// batch at once. Declares exactly what the node it replaced declared (ordering, distribution,
/// output schema and properties).
#[derive(Debug)]
pub struct SortedWindowExec {
    /// The DataFusion node this replaces: the source of every declared property.
    original: Arc<dyn ExecutionPlan>,
    partition_by: Vec<Arc<dyn PhysicalExpr>>,
    functions: Vec<Function>,
    names: Vec<String>,
    metrics: ExecutionPlanMetricsSet,
}

impl SortedWindowExec {
    /// `Some` when `node` is a DataFusion window node this operator can stand in for.
    fn try_replace(node: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let exprs = if let Some(w) = node.downcast_ref::<BoundedWindowAggExec>() {
            if w.input_order_mode != InputOrderMode::Sorted {
                return Ok(None);
            }
            w.window_expr()
        } else if let Some(w) = node.downcast_ref::<WindowAggExec>() {
            w.window_expr()
        } else {
            return Ok(None);
        };
        Ok(Self::build(node.clone(), exprs).map(|e| Arc::new(e) as Arc<dyn ExecutionPlan>))
    }

    fn build(original: Arc<dyn ExecutionPlan>, exprs: &[Arc<dyn WindowExpr>]) -> Option<Self> {
        let first = exprs.first()?;
        let partition_by = first.partition_by().to_vec();
        if partition_by.is_empty() {
            return None;
        }
        let schema = original.schema();
        let input = original.children().first()?.schema();
        let base = input.fields().len();
        let mut functions = Vec::with_capacity(exprs.len());
        let mut names = Vec::with_capacity(exprs.len());
        for (i, e) in exprs.iter().enumerate() {
            // Every expression of one node shares PARTITION BY and ORDER BY (DataFusion groups
            // them so); checked rather than assumed.
            if !same_exprs(e.partition_by(), &partition_by)
                || !same_sort(e.order_by(), first.order_by())
            {
                return None;
            }
            let function = supported(e.as_ref(), &input)?;
            let out_type = schema.fields().get(base + i)?.data_type().clone();
            if out_type != function.output_type(&input)? {
                return None;
            }
            functions.push(function);
            names.push(e.name().to_string());
        }
        Some(SortedWindowExec {
            original,
            partition_by,
            functions,
            names,
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }
}

fn same_exprs(a: &[Arc<dyn PhysicalExpr>], b: &[Arc<dyn PhysicalExpr>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq(y))
}

fn same_sort(a: &[PhysicalSortExpr], b: &[PhysicalSortExpr]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// The frame covers the whole partition (PostgreSQL's convention, as DataFusion's
/// `is_window_constant_in_partition`: `CURRENT ROW` in a `RANGE` frame without `ORDER BY`
/// means every row, all being peers).
fn whole_partition(frame: &WindowFrame, order_by: &[PhysicalSortExpr]) -> bool {
    let constant = |b: &WindowFrameBound| match b {
        WindowFrameBound::CurrentRow => {
            frame.units == WindowFrameUnits::Range && order_by.is_empty()
        }
        _ => b.is_unbounded(),
    };
    matches!(
        frame.start_bound,
        WindowFrameBound::Preceding(_) | WindowFrameBound::CurrentRow
    ) && matches!(
        frame.end_bound,
        WindowFrameBound::Following(_) | WindowFrameBound::CurrentRow
    ) && constant(&frame.start_bound)
        && constant(&frame.end_bound)
}

fn literal(e: &Arc<dyn PhysicalExpr>) -> Option<&ScalarValue> {
    e.downcast_ref::<Literal>().map(Literal::value)
}

/// The [`Function`] `e` is, if this module computes it exactly as DataFusion does.
fn supported(e: &dyn WindowExpr, input: &SchemaRef) -> Option<Function> {
    if let Some(standard) = e.as_any().downcast_ref::<StandardWindowExpr>() {
        let udf = standard
            .get_standard_func_expr()
            .as_any()
            .downcast_ref::<WindowUDFExpr>()?;
        let fun = udf.fun().name();
        // A reversed expression (DataFusion may evaluate `lead` as `lag` over reversed input)
        // carries the original name; only an unreversed one is taken. `IGNORE NULLS` is not
        // computed here.
        let debug = format!("{udf:?}");
        if !e.name().starts_with(&format!("{fun}("))
            || !debug.contains("is_reversed: false")
            || !debug.contains("ignore_nulls: false")
        {
            return None;
        }
        let args = udf.args();
        return match fun {
            "row_number" if args.is_empty() => Some(Function::RowNumber),
            "lead" | "lag" if !args.is_empty() && args.len() <= 3 => {
                let n = match args.get(1) {
                    None => 1,
                    Some(a) => match literal(a)? {
                        ScalarValue::Int64(Some(n)) => *n,
                        ScalarValue::Int32(Some(n)) => i64::from(*n),
                        _ => return None,
                    },
                };
                let out_type = args[0].data_type(input).ok()?;
                let default = match args.get(2) {
                    None => ScalarValue::try_from(&out_type).ok()?,
                    Some(a) => {
                        let d = literal(a)?;
                        if d.is_null() {
                            ScalarValue::try_from(&out_type).ok()?
                        } else {
                            d.cast_to(&out_type).ok()?
                        }
                    }
                };
                let offset = if fun == "lag" { n } else { n.checked_neg()? };
                Some(Function::Shift {
                    value: args[0].clone(),
                    offset,
                    default,
                })
            }
            _ => None,
        };
    }
    let agg = e.as_any().downcast_ref::<PlainAggregateWindowExpr>()?;
    let a = agg.get_aggregate_expr();
    let debug = format!("{agg:?}");
    if a.fun().name() != "count"
        || a.is_distinct()
        || a.ignore_nulls()
        || !debug.contains("filter: None")
        || !whole_partition(e.get_window_frame(), e.order_by())
    {
        return None;
    }
    match a.expressions().as_slice() {
        [arg] => Some(Function::PartitionCount {
            value: match literal(arg) {
                Some(v) if !v.is_null() => None,
                _ => Some(arg.clone()),
            },
        }),
        _ => None,
    }
}

impl Function {
    fn output_type(&self, input: &SchemaRef) -> Option<DataType> {
        match self {
            Function::RowNumber => Some(DataType::UInt64),
            Function::Shift { value, .. } => value.data_type(input).ok(),
            Function::PartitionCount { .. } => Some(DataType::Int64),
        }
    }

    /// The function's column for `batch`, whose rows form the partitions `ranges` (in order,
    /// covering every row).
    fn evaluate(&self, batch: &RecordBatch, ranges: &[std::ops::Range<usize>]) -> Result<ArrayRef> {
        let n = batch.num_rows();
        match self {
            Function::RowNumber => {
                let mut out = Vec::with_capacity(n);
                for r in ranges {
                    out.extend(1..=(r.len() as u64));
                }
                Ok(Arc::new(UInt64Array::from(out)))
            }
            Function::PartitionCount { value } => {
                let values = match value {
                    Some(v) => Some(v.evaluate(batch)?.into_array(n)?),
                    None => None,
                };
                let mut out = Vec::with_capacity(n);
                for r in ranges {
                    let count = match &values {
                        Some(v) => r.len() - v.slice(r.start, r.len()).null_count(),
                        None => r.len(),
                    };
                    out.extend(std::iter::repeat_n(count as i64, r.len()));
                }
                Ok(Arc::new(Int64Array::from(out)))
            }
            Function::Shift {
                value,
                offset,
                default,
            } => {
                let values = value.evaluate(batch)?.into_array(n)?;
                // The row each output row takes its value from, or none (outside the
                // partition: the default).
                let mut indices: Vec<Option<u64>> = Vec::with_capacity(n);
                for r in ranges {
                    for i in r.clone() {
                        let j = i as i64 - offset;
                        indices.push((j >= r.start as i64 && j < r.end as i64).then_some(j as u64));
                    }
                }
                let outside = BooleanArray::from_iter(indices.iter().map(|i| Some(i.is_none())));
                let taken = take(values.as_ref(), &UInt64Array::from(indices), None)?;
                if default.is_null() {
                    return Ok(taken);
                }
                let default = default.to_scalar()?;
                Ok(zip(&outside, &default, &taken)?)
            }
        }
    }
}

impl DisplayAs for SortedWindowExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "SortedWindowExec: wdw=[{}]", self.names.join(", "))
    }
}

impl ExecutionPlan for SortedWindowExec {
    fn name(&self) -> &'static str {
        "SortedWindowExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.original.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        self.original.children()
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.original.apply_expressions(f)
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        self.original.maintains_input_order()
    }

    fn required_input_ordering(&self) -> Vec<Option<OrderingRequirements>> {
        self.original.required_input_ordering()
    }

    fn input_distribution_requirements(&self) -> InputDistributionRequirements {
        self.original.input_distribution_requirements()
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        self.original.benefits_from_input_partitioning()
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let original = self.original.clone().replace_children(children, options)?;
        Ok(Arc::new(SortedWindowExec {
            original,
            partition_by: self.partition_by.clone(),
            functions: self.functions.clone(),
            names: self.names.clone(),
            metrics: ExecutionPlanMetricsSet::new(),
        }))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn with_new_children_and_same_properties(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Keep),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self
            .original
            .children()
            .first()
            .ok_or_else(|| DataFusionError::Internal("window node without input".into()))?
            .execute(partition, context)?;
        Ok(Box::pin(SortedWindowStream {
            schema: self.schema(),
            input,
            partition_by: self.partition_by.clone(),
            functions: self.functions.clone(),
            pending: Vec::new(),
            ready: VecDeque::new(),
            finished: false,
            metrics: BaselineMetrics::new(&self.metrics, partition),
        }))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

struct SortedWindowStream {
    schema: SchemaRef,
    input: SendableRecordBatchStream,
    partition_by: Vec<Arc<dyn PhysicalExpr>>,
    functions: Vec<Function>,
    /// Rows of the partition still open at the end of the last input batch.
    pending: Vec<RecordBatch>,
    ready: VecDeque<RecordBatch>,
    finished: bool,
    metrics: BaselineMetrics,
}

impl SortedWindowStream {
    fn keys(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        self.partition_by
            .iter()
            .map(|e| e.evaluate(batch)?.into_array(batch.num_rows()))
            .collect()
    }

    /// True when row `a` of `left` and row `b` of `right` are in one partition, by the same
    /// equality that splits partitions (arrow's `partition`: NULLs equal, NaN equal to NaN),
    /// not `ScalarValue`'s.
    fn same_partition(left: &[ArrayRef], a: usize, right: &[ArrayRef], b: usize) -> Result<bool> {
        let pairs = left
            .iter()
            .zip(right)
            .map(|(l, r)| concat(&[l.slice(a, 1).as_ref(), r.slice(b, 1).as_ref()]))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(partition(&pairs)?.len() == 1)
    }

    /// Window columns for complete partitions `batches` (one batch out).
    fn emit(&mut self, batches: &[RecordBatch]) -> Result<()> {
        let Some(first) = batches.first() else {
            return Ok(());
        };
        let batch = if batches.len() == 1 {
            first.clone()
        } else {
            concat_batches(&first.schema(), batches)?
        };
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let keys = self.keys(&batch)?;
        let ranges = partition(&keys)?.ranges();
        let mut columns = batch.columns().to_vec();
        for f in &self.functions {
            columns.push(f.evaluate(&batch, &ranges)?);
        }
        self.ready
            .push_back(RecordBatch::try_new(self.schema.clone(), columns)?);
        Ok(())
    }

    fn accept(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let keys = self.keys(&batch)?;
        // A new partition starts this batch: what is pending is complete. (This only keeps
        // memory to the open partition; `emit` finds the boundaries again, so it never
        // changes an answer.)
        if let Some(last) = self.pending.last() {
            let last_keys = self.keys(last)?;
            if !Self::same_partition(&last_keys, last.num_rows() - 1, &keys, 0)? {
                let done = std::mem::take(&mut self.pending);
                self.emit(&done)?;
            }
        }
        let last_start = partition(&keys)?.ranges().last().map_or(0, |r| r.start);
        if last_start == 0 {
            self.pending.push(batch);
            return Ok(());
        }
        let mut done = std::mem::take(&mut self.pending);
        done.push(batch.slice(0, last_start));
        self.emit(&done)?;
        self.pending
            .push(batch.slice(last_start, batch.num_rows() - last_start));
        Ok(())
    }
}

impl Stream for SortedWindowStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(b) = self.ready.pop_front() {
                return self.metrics.record_poll(Poll::Ready(Some(Ok(b))));
            }
            if self.finished {
                return Poll::Ready(None);
            }
            match self.input.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(batch))) => {
                    let elapsed = self.metrics.elapsed_compute().clone();
                    let timer = elapsed.timer();
                    let r = self.accept(batch);
                    timer.done();
                    if let Err(e) = r {
                        self.finished = true;
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    self.finished = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    self.finished = true;
                    let elapsed = self.metrics.elapsed_compute().clone();
                    let timer = elapsed.timer();
                    let done = std::mem::take(&mut self.pending);
                    let r = self.emit(&done);
                    timer.done();
                    if let Err(e) = r {
                        return Poll::Ready(Some(Err(e)));
                    }
                }
            }
        }
    }
}

impl RecordBatchStream for SortedWindowStream {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}
