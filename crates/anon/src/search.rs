//! Globally optimal full-domain generalization over the lattice of level vectors.
//!
//! The lattice has one node per vector `(l_1..l_d)` with `0 <= l_a <= h_a`; node indices are
//! mixed-radix numbers with the first quasi-identifier most significant, so index order is
//! lexicographic order of level vectors.
//!
//! **Optimum and tie-break.** The result minimizes the metric over all anonymous nodes;
//! ties are broken by the smaller sum of levels, then the lexicographically smaller level
//! vector (in quasi-identifier order). This is a total order, so the result is deterministic
//! and independent of thread scheduling.
//!
//! **Pruning (both provably safe).**
//! 1. *Anonymity monotonicity*, used only where it holds (no suppression possible, or only
//!    k-anonymity / distinct l-diversity; see `model`): if a node is not anonymous none of
//!    its specializations is. The search sweeps the lattice top-down by level sum and marks
//!    a node non-anonymous without evaluating it when one of its direct generalizations is
//!    marked. Where it does not hold (entropy / recursive l-diversity, t-closeness with a
//!    suppression limit) no anonymity is inferred: every node the bound cannot prune is
//!    evaluated. The same rule decides `NoSolution`: a non-anonymous top node ends the
//!    search only under monotonicity; otherwise `NoSolution` means every node was
//!    evaluated and none was anonymous.
//! 2. *Lower bound*: each metric has a bound computed from the levels alone that is
//!    monotone and never exceeds the metric of an anonymous node (see `metric`). Nodes whose
//!    bound cannot beat the incumbent (in the total order above) are skipped. With a
//!    suppression limit the metric itself is not monotone, which is why only the bound,
//!    never the metric of a neighbour, is used to prune.
//!
//! A first incumbent comes from one bottom-to-top path that greedily follows the smallest
//! bound: binary search for its lowest anonymous node when anonymity is monotone, otherwise
//! every node on the path is evaluated. Unpruned nodes of one level are evaluated in
//! parallel in chunks. Memory: two bitsets over the lattice (evaluated, non-anonymous)
//! plus one chunk of nodes; no per-node results are kept.

use rayon::prelude::*;

use crate::error::AnonError;
use crate::eval::{Evaluator, NodeResult, Scratch};

const CHUNK: usize = 64;

/// Lattice geometry.
#[derive(Debug, Clone)]
pub(crate) struct Lattice {
    pub heights: Vec<usize>,
    strides: Vec<usize>,
    pub size: usize,
}

impl Lattice {
    pub fn new(heights: &[usize]) -> Result<Self, AnonError> {
        let mut strides = vec![0; heights.len()];
        let mut size = 1usize;
        for a in (0..heights.len()).rev() {
            strides[a] = size;
            size = size
                .checked_mul(heights[a] + 1)
                .filter(|&s| s <= 1 << 32)
                .ok_or_else(|| {
                    AnonError::Config("lattice too large for optimal search (> 2^32 nodes)".into())
                })?;
        }
        Ok(Self {
            heights: heights.to_vec(),
            strides,
            size,
        })
    }

    pub fn index(&self, levels: &[usize]) -> usize {
        levels.iter().zip(&self.strides).map(|(l, s)| l * s).sum()
    }

    pub fn levels(&self, mut idx: usize) -> Vec<usize> {
        self.strides
            .iter()
            .map(|&s| {
                let l = idx / s;
                idx %= s;
                l
            })
            .collect()
    }

    pub fn max_sum(&self) -> usize {
        self.heights.iter().sum()
    }

    /// Calls `f` for every node with the given level sum, in lexicographic order.
    fn for_each_at_sum(&self, sum: usize, f: &mut impl FnMut(&[usize])) {
        let d = self.heights.len();
        // suffix capacity: max sum achievable by attributes a..d
        let mut cap = vec![0; d + 1];
        for a in (0..d).rev() {
            cap[a] = cap[a + 1] + self.heights[a];
        }
        let mut cur = vec![0; d];
        fn rec(
            a: usize,
            left: usize,
            h: &[usize],
            cap: &[usize],
            cur: &mut Vec<usize>,
            f: &mut impl FnMut(&[usize]),
        ) {
            if a == h.len() {
                if left == 0 {
                    f(cur);
                }
                return;
            }
            let lo = left.saturating_sub(cap[a + 1]);
            let hi = h[a].min(left);
            for l in lo..=hi {
                cur[a] = l;
                rec(a + 1, left - l, h, cap, cur, f);
            }
        }
        rec(0, sum, &self.heights, &cap, &mut cur, f);
    }
}

/// Fixed-size bitset over node indices.
struct BitSet(Vec<u64>);

impl BitSet {
    fn new(n: usize) -> Self {
        Self(vec![0; n.div_ceil(64)])
    }
    fn get(&self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 == 1
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
}

/// The optimum found.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub levels: Vec<usize>,
    pub result: NodeResult,
    pub evaluated: usize,
}

fn key(value: f64, levels: &[usize], idx: usize) -> (f64, usize, usize) {
    (value, levels.iter().sum(), idx)
}

fn better(a: (f64, usize, usize), b: (f64, usize, usize)) -> bool {
    match a.0.total_cmp(&b.0) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Greater => false,
        std::cmp::Ordering::Equal => (a.1, a.2) < (b.1, b.2),
    }
}

struct State<'e, 'a> {
    ev: &'e Evaluator<'a>,
    lat: Lattice,
    evaluated: BitSet,
    not_anon: BitSet,
    best: Option<(f64, usize, usize, NodeResult)>,
    count: usize,
}

impl State<'_, '_> {
    fn record(&mut self, levels: &[usize], r: NodeResult) {
        let idx = self.lat.index(levels);
        self.evaluated.set(idx);
        self.count += 1;
        if !r.anonymous {
            self.not_anon.set(idx);
            return;
        }
        let k = key(r.value, levels, idx);
        if self
            .best
            .as_ref()
            .is_none_or(|b| better(k, (b.0, b.1, b.2)))
        {
            self.best = Some((k.0, k.1, k.2, r));
        }
    }

    fn eval_one(&mut self, levels: &[usize], s: &mut Scratch) -> NodeResult {
        let r = self.ev.evaluate(levels, s);
        self.record(levels, r);
        r
    }

    fn can_beat(&self, bound: f64, levels: &[usize], idx: usize) -> bool {
        match &self.best {
            None => true,
            Some(b) => better(key(bound, levels, idx), (b.0, b.1, b.2)),
        }
    }

    fn flush(&mut self, batch: &mut Vec<Vec<usize>>) {
        let ev = self.ev;
        let results: Vec<NodeResult> = batch
            .par_iter()
            .map_init(Scratch::default, |s, l| ev.evaluate(l, s))
            .collect();
        for (l, r) in batch.iter().zip(results) {
            self.record(l, r);
        }
        batch.clear();
    }
}

/// Optimal search with pruning.
pub(crate) fn optimal(ev: &Evaluator<'_>) -> Result<Found, AnonError> {
    let lat = Lattice::new(&ev.enc.heights())?;
    let mut st = State {
        ev,
        evaluated: BitSet::new(lat.size),
        not_anon: BitSet::new(lat.size),
        lat,
        best: None,
        count: 0,
    };
    let mut scratch = Scratch::default();
    let top = st.lat.heights.clone();
    let monotone = ev.anonymity_monotone();
    // A non-anonymous top proves there is no solution only where anonymity is monotone.
    // Without monotonicity (entropy / recursive l-diversity or t-closeness with a
    // suppression limit) a specialization can be anonymous although the top is not:
    // splitting the single top class can isolate the records that break the model into
    // classes small enough to suppress. Returning `NoSolution` here unconditionally was the
    // bug behind the proptest seed `cc becbcb14…` (see tests/search_regressions.rs); in that
    // case the search goes on, and `NoSolution` is decided below only after every node has
    // been evaluated (nothing is bound-pruned while there is no incumbent).
    let top_anonymous = st.eval_one(&top, &mut scratch).anonymous;
    if monotone && !top_anonymous {
        return Err(AnonError::NoSolution);
    }

    // Incumbent: greedy path bottom -> top by smallest bound, binary search for anonymity.
    let d = top.len();
    let mut path = vec![vec![0; d]];
    loop {
        let cur = path[path.len() - 1].clone();
        let mut next: Option<(f64, usize, Vec<usize>)> = None;
        for a in 0..d {
            if cur[a] < top[a] {
                let mut n = cur.clone();
                n[a] += 1;
                let b = ev.metric.lower_bound(&n);
                let idx = st.lat.index(&n);
                if next
                    .as_ref()
                    .is_none_or(|(nb, ni, _)| b.total_cmp(nb).then(idx.cmp(ni)).is_lt())
                {
                    next = Some((b, idx, n));
                }
            }
        }
        match next {
            Some((_, _, n)) => path.push(n),
            None => break,
        }
    }
    if !monotone {
        for levels in &path[..path.len() - 1] {
            st.eval_one(levels, &mut scratch);
        }
    }
    // Binary search is valid here: monotone, and the top (last on the path) is anonymous.
    let (mut lo, mut hi) = (0, path.len() - 1);
    while monotone && lo < hi {
        let mid = (lo + hi) / 2;
        if st.eval_one(&path[mid], &mut scratch).anonymous {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }

    // Top-down sweep.
    let mut batch: Vec<Vec<usize>> = Vec::with_capacity(CHUNK);
    for sum in (0..=st.lat.max_sum()).rev() {
        let lat = st.lat.clone();
        lat.for_each_at_sum(sum, &mut |levels| {
            let idx = lat.index(levels);
            if st.evaluated.get(idx) || (monotone && st.not_anon.get(idx)) {
                return;
            }
            let inferred = monotone
                && levels
                    .iter()
                    .enumerate()
                    .any(|(a, &l)| l < lat.heights[a] && st.not_anon.get(idx + lat.strides[a]));
            if inferred {
                st.not_anon.set(idx);
                return;
            }
            if !st.can_beat(ev.metric.lower_bound(levels), levels, idx) {
                return;
            }
            // Nodes of one level never prune each other, so evaluating them in chunks is
            // exact; chunks keep memory bounded and let later chunks use a better incumbent.
            batch.push(levels.to_vec());
            if batch.len() == CHUNK {
                st.flush(&mut batch);
            }
        });
        st.flush(&mut batch);
    }

    let count = st.count;
    let (_, _, idx, result) = st.best.ok_or(AnonError::NoSolution)?;
    Ok(Found {
        levels: st.lat.levels(idx),
        result,
        evaluated: count,
    })
}

/// Exhaustive search (every node evaluated, in parallel); the reference the optimal search
/// is tested against.
pub(crate) fn exhaustive(ev: &Evaluator<'_>) -> Result<Found, AnonError> {
    let lat = Lattice::new(&ev.enc.heights())?;
    let best = (0..lat.size)
        .into_par_iter()
        .map_init(Scratch::default, |s, idx| {
            let levels = lat.levels(idx);
            let r = ev.evaluate(&levels, s);
            (idx, r)
        })
        .filter(|(_, r)| r.anonymous)
        .reduce_with(|a, b| {
            let la = lat.levels(a.0);
            let lb = lat.levels(b.0);
            if better(key(b.1.value, &lb, b.0), key(a.1.value, &la, a.0)) {
                b
            } else {
                a
            }
        });
    let (idx, result) = best.ok_or(AnonError::NoSolution)?;
    Ok(Found {
        levels: lat.levels(idx),
        result,
        evaluated: lat.size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lattice_indexing_and_levels() {
        let lat = Lattice::new(&[1, 2, 3]).unwrap();
        assert_eq!(lat.size, 24);
        for i in 0..lat.size {
            assert_eq!(lat.index(&lat.levels(i)), i);
        }
        let mut seen = 0;
        for s in 0..=lat.max_sum() {
            lat.for_each_at_sum(s, &mut |l| {
                assert_eq!(l.iter().sum::<usize>(), s);
                seen += 1;
            });
        }
        assert_eq!(seen, 24);
    }
}
