//! Per-query limits of a workspace: wall time, memory, rows shown.

use std::sync::Arc;
use std::time::Duration;

use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};

use crate::error::AnalysisError;

/// Default partitions per CPU. DataFusion assigns each partition's share of the input up
/// front; with one partition per core, a core the machine slows for a moment holds the whole
/// query back, and each hash table is half of the data. Two per core let the runtime's idle
/// thread take the next partition and halve every table: in alternating runs of the ten
/// benchmark queries on 2 cores, 8 were 10–33 % faster and one (q01, ~0.2 s) 18 % slower.
pub const PARTITIONS_PER_CPU: usize = 2;

/// Limits applied to every query of a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock limit of one query (planning, execution and collecting the rows).
    pub timeout: Duration,
    /// Size of the DataFusion memory pool shared by the operators of one workspace. Operators
    /// that can spill (sorts, hash aggregates) spill to disk when they reach their fair share;
    /// the rest fail the query with [`AnalysisError::MemoryLimit`].
    pub memory_bytes: usize,
    /// At most this many rows are returned for display; the total is still counted.
    pub max_rows_shown: usize,
    /// Most rows a saved result may hold (results live in memory while being written).
    pub max_result_rows: usize,
    /// Most saved results a workspace keeps (drop one to save another).
    pub max_results: usize,
    /// Parallelism; 0 means [`PARTITIONS_PER_CPU`] partitions per CPU.
    pub target_partitions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(300),
            memory_bytes: 2 << 30,
            max_rows_shown: 1000,
            max_result_rows: 50_000_000,
            max_results: 1000,
            target_partitions: 0,
        }
    }
}

impl Limits {
    /// For callers who are not signed in (the public sample page): a short time limit, a
    /// small memory pool, small saved results.
    pub fn public() -> Limits {
        Limits {
            timeout: Duration::from_secs(15),
            memory_bytes: 256 << 20,
            max_rows_shown: 1000,
            max_result_rows: 100_000,
            max_results: 20,
            target_partitions: 0,
        }
    }

    /// The runtime with the memory pool. FairSpillPool rather than GreedyMemoryPool so that one
    /// big hash table cannot starve the other operators of the same query.
    pub(crate) fn runtime(&self) -> Result<Arc<RuntimeEnv>, AnalysisError> {
        RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(FairSpillPool::new(self.memory_bytes)))
            .build_arc()
            .map_err(AnalysisError::Query)
    }

    pub(crate) fn partitions(&self) -> usize {
        if self.target_partitions > 0 {
            self.target_partitions
        } else {
            cpus() * PARTITIONS_PER_CPU
        }
    }

    /// Threads for building a re-keyed copy: one per CPU, or the partitions when set lower
    /// (files are whole jobs; more threads than cores would only contend).
    pub(crate) fn copy_threads(&self) -> usize {
        self.partitions().min(cpus())
    }
}

/// CPUs available to this process (1 when it cannot tell).
pub(crate) fn cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
