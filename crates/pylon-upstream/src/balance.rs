//! Deterministic selection cores. Each takes the peers' weights, an `eligible(i)` filter
//! (healthy and not yet tried) and, where needed, the caller's randomness, and returns a peer
//! index. [`Pool`](crate::Pool) supplies the state, the filter and the randomness.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// nginx's smooth weighted round robin.
///
/// Each pick adds every eligible peer's weight to its running score, takes the highest score
/// (the first one on a tie) and subtracts the total eligible weight from it. Weights 5,1,1
/// give `a a b a c a a`: the heavy peer is spread out instead of picked five times in a row.
#[derive(Debug, Clone)]
pub(crate) struct SmoothWrr {
    current: Vec<i64>,
}

impl SmoothWrr {
    pub(crate) fn new(peers: usize) -> Self {
        Self { current: vec![0; peers] }
    }

    /// The next eligible peer, or `None` if no peer is eligible. Ineligible peers keep their
    /// score, as in nginx.
    pub(crate) fn pick(
        &mut self,
        weights: &[u32],
        eligible: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let mut total: i64 = 0;
        let mut best: Option<usize> = None;
        for (i, &weight) in weights.iter().enumerate().take(self.current.len()) {
            if !eligible(i) {
                continue;
            }
            self.current[i] += i64::from(weight);
            total += i64::from(weight);
            if best.is_none_or(|b| self.current[i] > self.current[b]) {
                best = Some(i);
            }
        }
        let best = best?;
        self.current[best] -= total;
        Some(best)
    }
}

/// Weighted random choice among eligible peers: `roll` is uniform over `u64`.
pub(crate) fn pick_random(
    weights: &[u32],
    eligible: impl Fn(usize) -> bool,
    roll: u64,
) -> Option<usize> {
    let total: u64 =
        weights.iter().enumerate().filter(|(i, _)| eligible(*i)).map(|(_, &w)| u64::from(w)).sum();
    if total == 0 {
        return None;
    }
    let mut point = roll % total;
    for (i, &weight) in weights.iter().enumerate() {
        if !eligible(i) {
            continue;
        }
        let weight = u64::from(weight);
        if point < weight {
            return Some(i);
        }
        point -= weight;
    }
    None
}

/// Least connections, weighted: the eligible peer with the lowest `in_flight / weight`; ties
/// are broken by the smooth round robin `wrr`, so equally loaded peers share the traffic by
/// weight (nginx's `least_conn`).
pub(crate) fn pick_least_conn(
    wrr: &mut SmoothWrr,
    weights: &[u32],
    in_flight: impl Fn(usize) -> u64,
    eligible: impl Fn(usize) -> bool,
) -> Option<usize> {
    // `a` has fewer connections per weight than `b`: a.conns * b.weight < b.conns * a.weight.
    let load = |i: usize| u128::from(in_flight(i));
    let weight = |i: usize| u128::from(weights[i]);
    let mut best: Option<(usize, u128)> = None;
    for i in (0..weights.len()).filter(|&i| eligible(i)) {
        let conns = load(i);
        if best.is_none_or(|(b, b_conns)| conns * weight(b) < b_conns * weight(i)) {
            best = Some((i, conns));
        }
    }
    let (best, best_conns) = best?;
    // The counters are live: a peer whose count moved between the two passes simply drops
    // out of the tie, and if all did, the first pass's answer stands.
    let tied =
        wrr.pick(weights, |i| eligible(i) && load(i) * weight(best) == best_conns * weight(i));
    Some(tied.unwrap_or(best))
}

/// A lock-free SplitMix64 generator: a counter advanced atomically, then mixed.
#[derive(Debug)]
pub(crate) struct SplitMix(AtomicU64);

impl SplitMix {
    pub(crate) fn new(seed: u64) -> Self {
        Self(AtomicU64::new(seed))
    }

    pub(crate) fn next_u64(&self) -> u64 {
        const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut z = self.0.fetch_add(GAMMA, Relaxed).wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(_: usize) -> bool {
        true
    }

    fn sequence(weights: &[u32], picks: usize) -> String {
        let mut wrr = SmoothWrr::new(weights.len());
        (0..picks).map(|_| (b'a' + wrr.pick(weights, all).unwrap() as u8) as char).collect()
    }

    #[test]
    fn smooth_wrr_matches_nginx_example() {
        assert_eq!(sequence(&[5, 1, 1], 7), "aabacaa");
        // The cycle repeats exactly.
        assert_eq!(sequence(&[5, 1, 1], 14), "aabacaaaabacaa");
    }

    #[test]
    fn smooth_wrr_equal_weights_alternate() {
        assert_eq!(sequence(&[1, 1, 1], 6), "abcabc");
        assert_eq!(sequence(&[2, 2], 4), "abab");
    }

    #[test]
    fn smooth_wrr_skips_ineligible() {
        let mut wrr = SmoothWrr::new(3);
        let picks: Vec<usize> = (0..6).map(|_| wrr.pick(&[5, 1, 1], |i| i != 0).unwrap()).collect();
        assert_eq!(picks, [1, 2, 1, 2, 1, 2]);
        assert_eq!(wrr.pick(&[5, 1, 1], |_| false), None);
    }

    #[test]
    fn smooth_wrr_counts_are_exact_per_cycle() {
        let weights = [3, 7, 1, 9];
        let mut wrr = SmoothWrr::new(4);
        let mut counts = [0u32; 4];
        for _ in 0..20 * 5 {
            counts[wrr.pick(&weights, all).unwrap()] += 1;
        }
        assert_eq!(counts, [15, 35, 5, 45]);
    }

    #[test]
    fn random_maps_rolls_onto_weights() {
        let weights = [1, 2, 3];
        let picks: Vec<usize> =
            (0..6).map(|roll| pick_random(&weights, all, roll).unwrap()).collect();
        assert_eq!(picks, [0, 1, 1, 2, 2, 2]);
        // Ineligible peers take no share: only peer 2 is left.
        assert_eq!(pick_random(&weights, |i| i == 2, 0), Some(2));
        assert_eq!(pick_random(&weights, |_| false, 7), None);
    }

    #[test]
    fn random_weights_hold_with_seeded_rolls() {
        let weights = [1, 2, 3, 4];
        let rng = SplitMix::new(42);
        let mut counts = [0u64; 4];
        let n = 100_000;
        for _ in 0..n {
            counts[pick_random(&weights, all, rng.next_u64()).unwrap()] += 1;
        }
        for (count, weight) in counts.iter().zip(weights) {
            let expected = n * u64::from(weight) / 10;
            assert!(count.abs_diff(expected) < expected / 20, "{counts:?}");
        }
    }

    #[test]
    fn least_conn_prefers_lowest_load_per_weight() {
        let mut wrr = SmoothWrr::new(3);
        let weights = [1, 1, 1];
        let load = [3, 1, 2];
        assert_eq!(pick_least_conn(&mut wrr, &weights, |i| load[i], all), Some(1));
        // Peer 1 tried: next least loaded.
        assert_eq!(pick_least_conn(&mut wrr, &weights, |i| load[i], |i| i != 1), Some(2));
        // 4 conns on weight 4 (1 per unit) beats 2 conns on weight 1.
        let weights = [1, 4];
        let load = [2, 4];
        assert_eq!(pick_least_conn(&mut wrr, &weights, |i| load[i], all), Some(1));
        assert_eq!(pick_least_conn(&mut wrr, &weights, |i| load[i], |_| false), None);
    }

    #[test]
    fn least_conn_ties_go_weighted_round_robin() {
        let mut wrr = SmoothWrr::new(3);
        let picks: String = (0..7)
            .map(|_| {
                (b'a' + pick_least_conn(&mut wrr, &[5, 1, 1], |_| 0, all).unwrap() as u8) as char
            })
            .collect();
        assert_eq!(picks, "aabacaa");
    }

    #[test]
    fn splitmix_is_deterministic_per_seed() {
        let a = SplitMix::new(7);
        let b = SplitMix::new(7);
        let xs: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs[0], xs[1]);
    }
}
