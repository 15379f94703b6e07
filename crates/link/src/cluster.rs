//! Union–find (disjoint sets with path halving and union by size) to turn pairwise links into
//! persons, and stable person keys.

use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    pub fn len(&self) -> usize {
        self.parent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] as usize != x {
            let grand = self.parent[self.parent[x] as usize];
            self.parent[x] = grand;
            x = grand as usize;
        }
        x
    }

    /// Joins the sets of `a` and `b`; true when they were separate.
    pub fn union(&mut self, a: usize, b: usize) -> bool {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        if self.size[ra] < self.size[rb] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb] = ra as u32;
        self.size[ra] += self.size[rb];
        true
    }

    /// Cluster label of every element: the smallest element of its set (independent of the
    /// order unions were made in).
    pub fn labels(&mut self) -> Vec<usize> {
        let n = self.len();
        let mut smallest = vec![usize::MAX; n];
        for x in 0..n {
            let r = self.find(x);
            smallest[r] = smallest[r].min(x);
        }
        (0..n)
            .map(|x| {
                let r = self.find(x);
                smallest[r]
            })
            .collect()
    }
}

/// A person key that stays the same while a cluster keeps its smallest member key: the first
/// 16 hex digits of SHA-256 over a domain label and that member key. Members are record keys
/// (or linkage IDs), so the key is no more identifying than they are, and it is fixed-length.
pub fn person_key(smallest_member: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"medinfra/person/v1\0");
    h.update(smallest_member.as_bytes());
    let d = h.finalize();
    format!("P{}", hex::encode(&d[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unions_form_components() {
        let mut uf = UnionFind::new(6);
        assert!(uf.union(0, 1));
        assert!(uf.union(4, 1));
        assert!(!uf.union(0, 4));
        assert!(uf.union(2, 3));
        assert_eq!(uf.labels(), vec![0, 0, 2, 2, 0, 5]);
    }

    #[test]
    fn person_keys_are_stable_and_distinct() {
        assert_eq!(person_key("a"), person_key("a"));
        assert_ne!(person_key("a"), person_key("b"));
        assert_eq!(person_key("a").len(), 17);
    }

    proptest! {
        /// Labels equal iff connected (checked against a naive flood fill).
        #[test]
        fn labels_match_connectivity(n in 1usize..30, edges in proptest::collection::vec((0usize..30, 0usize..30), 0..40)) {
            let edges: Vec<(usize, usize)> = edges.into_iter().map(|(a, b)| (a % n, b % n)).collect();
            let mut uf = UnionFind::new(n);
            for &(a, b) in &edges { uf.union(a, b); }
            let labels = uf.labels();
            let mut comp: Vec<usize> = (0..n).collect();
            loop {
                let mut changed = false;
                for &(a, b) in &edges {
                    let m = comp[a].min(comp[b]);
                    if comp[a] != m || comp[b] != m { comp[a] = m; comp[b] = m; changed = true; }
                }
                if !changed { break; }
            }
            prop_assert_eq!(labels, comp);
        }
    }
}
