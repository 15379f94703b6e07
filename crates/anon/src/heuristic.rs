//! Best-effort search for lattices too large to search exhaustively (many quasi-identifiers).
//! Its result is **not** proven optimal and the report says so (`optimal: false`).
//!
//! 1. *Climb*: from the bottom node, repeatedly move to the direct generalization (one
//!    attribute one level up) that is anonymous with the smallest metric, or, while none
//!    is, the one that leaves the fewest records in violating classes (then the smallest
//!    metric lower bound). This reaches an anonymous node in at most `sum h_a` steps.
//! 2. *Best-first local search*: keep the anonymous nodes found in a priority queue by
//!    metric; repeatedly expand the best unexpanded one by evaluating its neighbours (one
//!    attribute one level down or up, or one down and another up) and queue the anonymous
//!    ones. Up-moves matter with suppression, where generalizing can lower the metric.
//!    Stops when `4 d` expansions in a row did not improve the best node, when the queue
//!    is empty, or when `max_evaluations` nodes have been evaluated.
//!
//! Neighbours of a step are evaluated in parallel. Memory: the set of visited level
//! vectors, bounded by `max_evaluations`; nothing depends on the lattice size, so lattices
//! beyond the optimal search's 2^32 nodes are fine. Deterministic: ties are broken as in
//! the optimal search (metric, then level sum, then lexicographic level vector).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use rayon::prelude::*;

use crate::error::AnonError;
use crate::eval::{Evaluator, NodeResult, Scratch};
use crate::search::Found;

type Key = (f64, usize, Vec<usize>);

fn key(r: &NodeResult, levels: &[usize]) -> Key {
    (r.value, levels.iter().sum(), levels.to_vec())
}

/// Direct specializations and generalizations, and shifts (one attribute down, another up).
fn neighbours(at: &[usize], heights: &[usize]) -> Vec<Vec<usize>> {
    let d = at.len();
    let mut out = Vec::new();
    for a in 0..d {
        if at[a] < heights[a] {
            let mut up = at.to_vec();
            up[a] += 1;
            out.push(up);
        }
        if at[a] == 0 {
            continue;
        }
        let mut down = at.to_vec();
        down[a] -= 1;
        out.push(down.clone());
        for b in 0..d {
            if b != a && at[b] < heights[b] {
                let mut shift = down.clone();
                shift[b] += 1;
                out.push(shift);
            }
        }
    }
    out
}

/// `Key` ordered by `less` (for the priority queue).
#[derive(Debug, Clone, PartialEq)]
struct Ordered(Key);

impl Eq for Ordered {}

impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0
            .0
            .total_cmp(&other.0.0)
            .then_with(|| (self.0.1, &self.0.2).cmp(&(other.0.1, &other.0.2)))
    }
}

fn less(a: &Key, b: &Key) -> bool {
    a.0.total_cmp(&b.0)
        .then_with(|| (a.1, &a.2).cmp(&(b.1, &b.2)))
        .is_lt()
}

struct Walk<'e, 'a> {
    ev: &'e Evaluator<'a>,
    seen: HashSet<Vec<usize>>,
    evaluated: usize,
    budget: usize,
    best: Option<(Key, NodeResult)>,
}

impl Walk<'_, '_> {
    /// Evaluates the unseen nodes among `nodes` in parallel; returns all with results.
    fn evaluate(&mut self, nodes: Vec<Vec<usize>>) -> Vec<(Vec<usize>, NodeResult)> {
        let mut fresh: Vec<Vec<usize>> = nodes
            .into_iter()
            .filter(|n| !self.seen.contains(n))
            .collect();
        fresh.truncate(self.budget.saturating_sub(self.evaluated));
        let ev = self.ev;
        let out: Vec<(Vec<usize>, NodeResult)> = fresh
            .into_par_iter()
            .map_init(Scratch::default, |s, l| {
                let r = ev.evaluate(&l, s);
                (l, r)
            })
            .collect();
        for (l, r) in &out {
            self.seen.insert(l.clone());
            self.evaluated += 1;
            if r.anonymous {
                let k = key(r, l);
                if self.best.as_ref().is_none_or(|(b, _)| less(&k, b)) {
                    self.best = Some((k, *r));
                }
            }
        }
        out
    }
}

/// Heuristic search (see module docs).
pub(crate) fn heuristic(ev: &Evaluator<'_>, max_evaluations: usize) -> Result<Found, AnonError> {
    let heights = ev.enc.heights();
    let d = heights.len();
    let mut w = Walk {
        ev,
        seen: HashSet::new(),
        evaluated: 0,
        budget: max_evaluations.max(2),
        best: None,
    };
    if !w
        .evaluate(vec![heights.clone()])
        .first()
        .is_some_and(|(_, r)| r.anonymous)
    {
        return Err(AnonError::NoSolution);
    }

    // 1. Climb.
    let mut cur = vec![0; d];
    let mut cur_r = w.evaluate(vec![cur.clone()]).pop().map(|x| x.1);
    while !cur_r.is_some_and(|r| r.anonymous) && w.evaluated < w.budget {
        let ups: Vec<Vec<usize>> = (0..d)
            .filter(|&a| cur[a] < heights[a])
            .map(|a| {
                let mut n = cur.clone();
                n[a] += 1;
                n
            })
            .collect();
        if ups.is_empty() {
            break;
        }
        let evaluated = w.evaluate(ups);
        // Prefer anonymous (smallest metric), else fewest violating records.
        let next = evaluated.into_iter().min_by(|(la, ra), (lb, rb)| {
            let rank = |l: &[usize], r: &NodeResult| {
                (
                    !r.anonymous,
                    if r.anonymous { 0 } else { r.suppressed },
                    if r.anonymous {
                        r.value
                    } else {
                        ev.metric.lower_bound(l)
                    },
                )
            };
            let (a, b) = (rank(la, ra), rank(lb, rb));
            (a.0, a.1)
                .cmp(&(b.0, b.1))
                .then(a.2.total_cmp(&b.2))
                .then_with(|| la.cmp(lb))
        });
        match next {
            Some((l, r)) => {
                cur = l;
                cur_r = Some(r);
            }
            None => break, // budget exhausted
        }
    }

    // 2. Best-first local search over anonymous nodes.
    let mut queue: BinaryHeap<Reverse<Ordered>> = BinaryHeap::new();
    if let Some((k, _)) = &w.best {
        queue.push(Reverse(Ordered(k.clone())));
    }
    let mut expanded: HashSet<Vec<usize>> = HashSet::new();
    let patience = 4 * d;
    let mut since_improvement = 0;
    while w.evaluated < w.budget && since_improvement < patience {
        let Some(Reverse(Ordered(node))) = queue.pop() else {
            break;
        };
        if !expanded.insert(node.2.clone()) {
            continue;
        }
        let before = w.best.as_ref().map(|(k, _)| k.clone());
        let results = w.evaluate(neighbours(&node.2, &heights));
        for (l, r) in results {
            if r.anonymous {
                queue.push(Reverse(Ordered(key(&r, &l))));
            }
        }
        let improved = match (&before, &w.best) {
            (Some(b), Some((a, _))) => less(a, b),
            _ => true,
        };
        since_improvement = if improved { 0 } else { since_improvement + 1 };
    }

    let (k, result) = w.best.ok_or(AnonError::NoSolution)?;
    Ok(Found {
        levels: k.2,
        result,
        evaluated: w.evaluated,
    })
}
