//! Secondary (complementary) suppression for additive tables with margins.
//!
//! A table of R x C cells with row totals, column totals and a grand total is, after negating
//! the totals, an (R+1) x (C+1) table whose every row and column sums to zero. Its suppressed
//! cells are the edges of a bipartite graph between row nodes and column nodes. The value of a
//! suppressed cell can be recomputed from the published cells exactly when its edge is a
//! *bridge* of that graph (lies on no cycle): the cycle space is the null space of the line
//! constraints. "No line with exactly one suppressed cell" is the special case of a leaf edge;
//! it is not enough (two protected blocks joined by one cell leak that cell), so we remove
//! every bridge.
//!
//! Heuristic (documented, not optimal; optimal cell suppression is NP-hard): repeatedly take
//! the first bridge (in cell order) and close a cycle through it along the cheapest path
//! between its row and column nodes, where already-suppressed cells cost 0 and a published
//! cell costs `|value| + 1` (the +1 prefers fewer cells). Cells with value 0 cost as much as
//! the whole table plus one, because a suppressed zero next to non-negative cells gives only
//! one-sided protection; they are used only when nothing else closes the cycle. Cells that may
//! not be suppressed (totals not shown in the table) have infinite cost. Adding edges never
//! creates a bridge and every added edge lies on the new cycle, so each step removes at least
//! one bridge and the loop ends. Protection is against exact recomputation from the linear
//! constraints, not against interval narrowing from non-negativity (an LP audit would be
//! needed for that).

/// Result of secondary suppression on a grid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecondaryOutcome {
    /// Cells (grid indices) suppressed by this step.
    pub added: Vec<usize>,
    /// Suppressed cells that are still recomputable (no published cell could protect them).
    pub unprotected: Vec<usize>,
}

/// An augmented grid: `rows` x `cols` including the total row and column (last ones).
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    pub rows: usize,
    pub cols: usize,
}

impl Grid {
    fn nodes(&self) -> usize {
        self.rows + self.cols
    }
}

/// Suppressed cells whose value follows from the published ones (bridges), in cell order.
pub fn recomputable_cells(grid: Grid, suppressed: &[bool]) -> Vec<usize> {
    let mut out = bridges(grid, suppressed);
    out.sort_unstable();
    out
}

/// Lines (row `i` is `i`, column `j` is `rows + j`) holding exactly one suppressed cell.
pub fn lines_with_one_suppressed(grid: Grid, suppressed: &[bool]) -> Vec<usize> {
    let mut deg = vec![0usize; grid.nodes()];
    for (k, s) in suppressed.iter().enumerate() {
        if *s {
            deg[k / grid.cols] += 1;
            deg[grid.rows + k % grid.cols] += 1;
        }
    }
    (0..grid.nodes()).filter(|n| deg[*n] == 1).collect()
}

/// Adds complementary suppressions until no suppressed cell is recomputable.
/// `cost[k]` is the cell's weight (`f64::INFINITY` = may not be suppressed).
pub fn protect(grid: Grid, cost: &[f64], suppressed: &mut [bool]) -> SecondaryOutcome {
    let mut out = SecondaryOutcome::default();
    let mut hopeless: Vec<usize> = Vec::new();
    let big = 1.0
        + cost
            .iter()
            .filter(|c| c.is_finite())
            .map(|c| c.abs())
            .sum::<f64>();
    let weight: Vec<f64> = cost
        .iter()
        .map(|c| {
            if !c.is_finite() {
                f64::INFINITY
            } else if *c == 0.0 {
                big
            } else {
                c.abs() + 1.0
            }
        })
        .collect();
    loop {
        let bridges = recomputable_cells(grid, suppressed);
        let Some(&bridge) = bridges.iter().find(|b| !hopeless.contains(b)) else {
            break;
        };
        match cheapest_cycle_path(grid, &weight, suppressed, bridge) {
            Some(path) => {
                for k in path {
                    if !suppressed[k] {
                        suppressed[k] = true;
                        out.added.push(k);
                    }
                }
            }
            None => hopeless.push(bridge),
        }
    }
    out.unprotected = recomputable_cells(grid, suppressed);
    out
}

/// Cheapest path of cells from the bridge's row node to its column node avoiding the bridge
/// (dense Dijkstra: the graph is complete bipartite, at most a few hundred nodes).
fn cheapest_cycle_path(
    grid: Grid,
    weight: &[f64],
    suppressed: &[bool],
    bridge: usize,
) -> Option<Vec<usize>> {
    let n = grid.nodes();
    let (src, dst) = (bridge / grid.cols, grid.rows + bridge % grid.cols);
    let mut dist = vec![f64::INFINITY; n];
    let mut prev: Vec<Option<(usize, usize)>> = vec![None; n]; // (node, cell)
    let mut done = vec![false; n];
    dist[src] = 0.0;
    loop {
        let mut u = None;
        let mut best = f64::INFINITY;
        for v in 0..n {
            if !done[v] && dist[v] < best {
                best = dist[v];
                u = Some(v);
            }
        }
        let u = u?;
        if u == dst {
            break;
        }
        done[u] = true;
        let edges: Box<dyn Iterator<Item = (usize, usize)>> = if u < grid.rows {
            Box::new((0..grid.cols).map(move |j| (grid.rows + j, u * grid.cols + j)))
        } else {
            let j = u - grid.rows;
            Box::new((0..grid.rows).map(move |i| (i, i * grid.cols + j)))
        };
        for (v, cell) in edges {
            if done[v] || cell == bridge {
                continue;
            }
            let w = if suppressed[cell] { 0.0 } else { weight[cell] };
            if !w.is_finite() {
                continue;
            }
            if dist[u] + w < dist[v] {
                dist[v] = dist[u] + w;
                prev[v] = Some((u, cell));
            }
        }
    }
    let mut path = Vec::new();
    let mut v = dst;
    while v != src {
        let (u, cell) = prev[v]?;
        path.push(cell);
        v = u;
    }
    Some(path)
}

/// Bridges of the suppression graph (Tarjan, recursive: depth <= rows + cols).
fn bridges(grid: Grid, suppressed: &[bool]) -> Vec<usize> {
    let n = grid.nodes();
    let mut adj: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (k, s) in suppressed.iter().enumerate() {
        if *s {
            let (r, c) = (k / grid.cols, grid.rows + k % grid.cols);
            adj[r].push((c, k));
            adj[c].push((r, k));
        }
    }
    struct Dfs<'a> {
        adj: &'a [Vec<(usize, usize)>],
        disc: Vec<usize>,
        low: Vec<usize>,
        time: usize,
        out: Vec<usize>,
    }
    impl Dfs<'_> {
        fn visit(&mut self, u: usize, via: Option<usize>) {
            self.time += 1;
            self.disc[u] = self.time;
            self.low[u] = self.time;
            for &(v, e) in &self.adj[u] {
                if Some(e) == via {
                    continue;
                }
                if self.disc[v] == 0 {
                    self.visit(v, Some(e));
                    self.low[u] = self.low[u].min(self.low[v]);
                    if self.low[v] > self.disc[u] {
                        self.out.push(e);
                    }
                } else {
                    self.low[u] = self.low[u].min(self.disc[v]);
                }
            }
        }
    }
    let mut dfs = Dfs {
        adj: &adj,
        disc: vec![0; n],
        low: vec![0; n],
        time: 0,
        out: Vec::new(),
    };
    for (u, edges) in adj.iter().enumerate() {
        if dfs.disc[u] == 0 && !edges.is_empty() {
            dfs.visit(u, None);
        }
    }
    dfs.out
}

/// A 1-D table with a total is one line: it needs 0 or at least 2 suppressed entries.
pub fn protect_line(cost: &[f64], suppressed: &mut [bool]) -> SecondaryOutcome {
    let mut out = SecondaryOutcome::default();
    if suppressed.iter().filter(|s| **s).count() == 1 {
        let pick = (0..cost.len())
            .filter(|k| !suppressed[*k] && cost[*k].is_finite())
            .min_by(|a, b| {
                let w = |k: usize| {
                    if cost[k] == 0.0 {
                        f64::MAX
                    } else {
                        cost[k].abs()
                    }
                };
                w(*a).total_cmp(&w(*b))
            });
        match pick {
            Some(k) => {
                suppressed[k] = true;
                out.added.push(k);
            }
            None => out.unprotected = (0..cost.len()).filter(|k| suppressed[*k]).collect(),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Independent audit by linear algebra: a suppressed cell is recomputable iff its column
    /// of the constraint matrix is not in the span of the other suppressed cells' columns.
    pub(crate) fn rank_audit(grid: Grid, suppressed: &[bool]) -> Vec<usize> {
        let unknowns: Vec<usize> = (0..suppressed.len()).filter(|k| suppressed[*k]).collect();
        let build = |skip: Option<usize>| -> Vec<Vec<f64>> {
            // rows: one per line; columns: unknowns
            let mut m = vec![vec![0.0; unknowns.len()]; grid.rows + grid.cols];
            for (u, &k) in unknowns.iter().enumerate() {
                if Some(u) == skip {
                    continue;
                }
                m[k / grid.cols][u] = 1.0;
                m[grid.rows + k % grid.cols][u] = 1.0;
            }
            m
        };
        let full = rank(build(None));
        unknowns
            .iter()
            .enumerate()
            .filter(|(u, _)| rank(build(Some(*u))) < full)
            .map(|(_, k)| *k)
            .collect()
    }

    fn rank(mut m: Vec<Vec<f64>>) -> usize {
        let (rows, cols) = (m.len(), m.first().map_or(0, |r| r.len()));
        let mut r = 0;
        for c in 0..cols {
            let Some(p) = (r..rows).find(|i| m[*i][c].abs() > 1e-9) else {
                continue;
            };
            m.swap(r, p);
            for i in 0..rows {
                if i != r && m[i][c].abs() > 1e-9 {
                    let f = m[i][c] / m[r][c];
                    let pivot = m[r].clone();
                    for (x, p) in m[i].iter_mut().zip(pivot).skip(c) {
                        *x -= f * p;
                    }
                }
            }
            r += 1;
        }
        r
    }

    /// 3x3 inner table + totals (4x4 grid), values row-major.
    fn grid4() -> (Grid, Vec<f64>) {
        let inner = [[20.0, 3.0, 40.0], [25.0, 30.0, 35.0], [50.0, 45.0, 60.0]];
        let mut v = vec![0.0; 16];
        for i in 0..3 {
            for j in 0..3 {
                v[i * 4 + j] = inner[i][j];
                v[i * 4 + 3] += inner[i][j];
                v[12 + j] += inner[i][j];
                v[15] += inner[i][j];
            }
        }
        (Grid { rows: 4, cols: 4 }, v)
    }

    #[test]
    fn naive_row_only_complement_leaks_ours_does_not() {
        let (g, v) = grid4();
        let mut naive = vec![false; 16];
        naive[1] = true; // the 3
        // naive: fix the row by suppressing the smallest other inner cell of the row
        naive[0] = true;
        assert!(
            !rank_audit(g, &naive).is_empty(),
            "columns 0 and 1 each hold one suppression"
        );
        assert!(!lines_with_one_suppressed(g, &naive).is_empty());
        let mut ours = vec![false; 16];
        ours[1] = true;
        let out = protect(g, &v, &mut ours);
        assert!(rank_audit(g, &ours).is_empty(), "{ours:?}");
        assert!(lines_with_one_suppressed(g, &ours).is_empty());
        assert!(out.unprotected.is_empty());
        // cheapest cycle through the 3: (0,0)=20, (1,0)=25, (1,1)=30 -> a 2x2 rectangle
        let mut added = out.added.clone();
        added.sort_unstable();
        assert_eq!(added, vec![0, 4, 5]);
    }

    #[test]
    fn no_singleton_lines_is_not_enough_a_bridge_leaks() {
        // 4x4 inner + totals: two suppressed 2x2 blocks joined by one cell.
        let g = Grid { rows: 5, cols: 5 };
        let mut s = vec![false; 25];
        for (i, j) in [
            (0, 0),
            (0, 1),
            (1, 0),
            (1, 1),
            (2, 2),
            (2, 3),
            (3, 2),
            (3, 3),
            (1, 2),
        ] {
            s[i * 5 + j] = true;
        }
        assert!(lines_with_one_suppressed(g, &s).is_empty());
        assert_eq!(
            rank_audit(g, &s),
            vec![7],
            "the joining cell (1,2) is recomputable"
        );
        assert_eq!(recomputable_cells(g, &s), vec![7]);
        let cost = vec![10.0; 25];
        let out = protect(g, &cost, &mut s);
        assert!(out.unprotected.is_empty());
        assert!(rank_audit(g, &s).is_empty());
    }

    #[test]
    fn hidden_totals_are_never_chosen() {
        let (g, mut v) = grid4();
        for k in [3, 7, 11, 12, 13, 14, 15] {
            v[k] = f64::INFINITY;
        }
        let mut s = vec![false; 16];
        s[1] = true;
        protect(g, &v, &mut s);
        assert!([3, 7, 11, 12, 13, 14, 15].iter().all(|k| !s[*k]));
        assert!(rank_audit(g, &s).is_empty());
    }

    proptest! {
        #[test]
        fn protection_leaves_nothing_recomputable(
            rows in 2usize..6, cols in 2usize..6,
            seed in proptest::collection::vec((1u32..100, 0u32..100), 36),
        ) {
            let g = Grid { rows: rows + 1, cols: cols + 1 };
            let mut v = vec![0.0; g.rows * g.cols];
            let mut s = vec![false; g.rows * g.cols];
            for i in 0..rows {
                for j in 0..cols {
                    let (val, p) = seed[i * 6 + j];
                    let val = val as f64;
                    v[i * g.cols + j] = val;
                    v[i * g.cols + cols] += val;
                    v[rows * g.cols + j] += val;
                    v[rows * g.cols + cols] += val;
                    s[i * g.cols + j] = p < 15;
                }
            }
            let out = protect(g, &v, &mut s);
            prop_assert!(out.unprotected.is_empty());
            prop_assert!(rank_audit(g, &s).is_empty());
            prop_assert!(lines_with_one_suppressed(g, &s).is_empty());
            prop_assert_eq!(recomputable_cells(g, &s), rank_audit(g, &s));
        }
    }
}
