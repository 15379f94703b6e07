//! §8.3 rule 3: a stratified sample that keeps the sex-age ratios.
//!
//! **Choice** (japan.md gives the fractions, not the method): per claim kind, the number of
//! claims drawn is `round(N × fraction)` (half up), shared among the strata in proportion to
//! their sizes by largest-remainder (Hamilton) apportionment, so every stratum gets
//! `floor(n × fraction)` or one more, and the kind's total is exact. Ties among remainders and
//! the claims drawn inside a stratum come from a ChaCha8 stream seeded by the extract's seed
//! (one stream per claim kind); claims are sorted by `claim_id` before drawing, so the result
//! depends on the seed and the data, not on the order the batches arrive in.

use std::cmp::Reverse;

use rand::Rng;
use rand::seq::SliceRandom;

use crate::rules::Ratio;

/// How many of each stratum to draw: sizes in, quotas out (same order).
pub fn apportion<R: Rng>(sizes: &[u64], fraction: Ratio, rng: &mut R) -> Vec<u64> {
    let total: u64 = sizes.iter().sum();
    let num = u128::from(fraction.num);
    let den = u128::from(fraction.den);
    let target = ((u128::from(total) * num * 2 + den) / (2 * den)) as u64;
    let mut quotas: Vec<u64> = sizes
        .iter()
        .map(|&n| (u128::from(n) * num / den) as u64)
        .collect();
    let assigned: u64 = quotas.iter().sum();
    let leftover = target.saturating_sub(assigned) as usize;
    // Random tie-break keys are drawn for every stratum (not only tied ones) so the stream
    // consumed does not depend on which remainders happen to tie.
    let mut order: Vec<(Reverse<u128>, u64, usize)> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| (Reverse(u128::from(n) * num % den), rng.random::<u64>(), i))
        .collect();
    order.sort_unstable();
    for &(Reverse(rem), _, i) in order.iter().take(leftover) {
        if rem > 0 {
            quotas[i] += 1;
        }
    }
    quotas
}

/// Draws `k` items of `items` (sorted first, so input order does not matter); returns the
/// drawn ones' positions in the sorted vector, which is left sorted.
pub fn draw<T: Ord, R: Rng>(items: &mut [T], k: usize, rng: &mut R) -> Vec<usize> {
    items.sort_unstable();
    let mut idx: Vec<usize> = (0..items.len()).collect();
    let (chosen, _) = idx.partial_shuffle(rng, k.min(items.len()));
    let mut chosen = chosen.to_vec();
    chosen.sort_unstable();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn apportionment_is_exact_overall_and_within_one_per_stratum() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let sizes = [13, 7, 250, 0, 1, 99];
        let f = Ratio::new(10, 100);
        let q = apportion(&sizes, f, &mut rng);
        let n: u64 = sizes.iter().sum();
        assert_eq!(q.iter().sum::<u64>(), (n * 10 + 50) / 100);
        for (s, q) in sizes.iter().zip(&q) {
            let floor = s * 10 / 100;
            assert!(*q == floor || *q == floor + 1, "size {s} quota {q}");
        }
        assert_eq!(q[3], 0);
    }

    #[test]
    fn draw_ignores_input_order() {
        let mut a: Vec<u32> = (0..100).collect();
        let mut b: Vec<u32> = (0..100).rev().collect();
        let da = draw(&mut a, 10, &mut ChaCha8Rng::seed_from_u64(1));
        let db = draw(&mut b, 10, &mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(da, db);
        assert_eq!(da.len(), 10);
        let dc = draw(&mut a, 10, &mut ChaCha8Rng::seed_from_u64(2));
        assert_ne!(da, dc);
    }
}
