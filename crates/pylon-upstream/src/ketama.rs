//! Consistent hashing: pingora's ketama ring (160 points per weight unit, nginx-compatible
//! point hashes, crc32 of the key), mapped back to our peer indexes.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use pingora_core::protocols::l4::socket::SocketAddr as PingoraAddr;
use pingora_load_balancing::Backend;
use pingora_load_balancing::selection::{BackendIter, BackendSelection, Consistent};

/// Stored in [`Backend::ext`] so a backend found on the ring maps straight to its peer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerIndex(pub(crate) usize);

/// A ketama ring over a pool's peers.
pub(crate) struct KetamaRing {
    ring: Arc<Consistent>,
    /// Points on the ring: a walk of this many steps has seen every peer.
    points: usize,
    peers: usize,
}

impl std::fmt::Debug for KetamaRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KetamaRing")
            .field("peers", &self.peers)
            .field("points", &self.points)
            .finish()
    }
}

/// A pingora [`Backend`] for peer `index`.
pub(crate) fn backend(addr: SocketAddr, weight: u32, index: usize) -> Backend {
    let mut backend =
        Backend { addr: PingoraAddr::Inet(addr), weight: weight as usize, ext: Default::default() };
    backend.ext.insert(PeerIndex(index));
    backend
}

impl KetamaRing {
    /// A ring over `(addr, weight)`; peer `i` is `peers[i]`.
    pub(crate) fn new(peers: &[(SocketAddr, u32)]) -> Self {
        // Weights are not scaled down (by their gcd, say): a peer's points would then depend
        // on the other peers' weights, and adding a peer could reshuffle the whole ring.
        let backends: BTreeSet<Backend> =
            peers.iter().enumerate().map(|(i, &(addr, w))| backend(addr, w, i)).collect();
        let points = peers.iter().map(|&(_, w)| w as usize * 160).sum();
        Self { ring: Arc::new(Consistent::build(&backends)), points, peers: peers.len() }
    }

    /// The first eligible peer clockwise from `hash_key`'s point on the ring.
    pub(crate) fn pick(&self, hash_key: &[u8], eligible: impl Fn(usize) -> bool) -> Option<usize> {
        // Without an eligible peer the walk would go round the ring for nothing.
        if !(0..self.peers).any(&eligible) {
            return None;
        }
        let mut walk = self.ring.iter(hash_key);
        for _ in 0..=self.points {
            let backend = walk.next()?;
            if let Some(&PeerIndex(i)) = backend.ext.get::<PeerIndex>() {
                if eligible(i) {
                    return Some(i);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn peers(n: u8) -> Vec<(SocketAddr, u32)> {
        (1..=n).map(|i| (SocketAddr::from(([127, 0, 0, i], 8080)), 1)).collect()
    }

    fn owners(ring: &KetamaRing, keys: u32) -> Vec<usize> {
        (0..keys).map(|k| ring.pick(format!("/key/{k}").as_bytes(), |_| true).unwrap()).collect()
    }

    #[test]
    fn same_key_same_peer() {
        let ring = KetamaRing::new(&peers(5));
        assert_eq!(owners(&ring, 200), owners(&KetamaRing::new(&peers(5)), 200));
    }

    #[test]
    fn walk_skips_ineligible_peers() {
        let ring = KetamaRing::new(&peers(4));
        for k in 0..100 {
            let key = format!("k{k}");
            let first = ring.pick(key.as_bytes(), |_| true).unwrap();
            let second = ring.pick(key.as_bytes(), |i| i != first).unwrap();
            assert_ne!(first, second);
            assert_eq!(ring.pick(key.as_bytes(), |i| i == 3), Some(3));
        }
        assert_eq!(ring.pick(b"k", |_| false), None);
    }

    #[test]
    fn weights_take_shares() {
        let ring = KetamaRing::new(&[
            (SocketAddr::from(([127, 0, 0, 1], 80)), 1),
            (SocketAddr::from(([127, 0, 0, 2], 80)), 3),
        ]);
        let heavy = owners(&ring, 4000).iter().filter(|&&i| i == 1).count();
        assert!((2600..3400).contains(&heavy), "{heavy}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Adding an (n+1)th peer moves about 1/(n+1) of the keys, and only onto the new peer.
        #[test]
        fn adding_a_peer_moves_about_one_nth(n in 2u8..12) {
            let keys = 3000;
            let before = owners(&KetamaRing::new(&peers(n)), keys);
            let after = owners(&KetamaRing::new(&peers(n + 1)), keys);
            let new = usize::from(n);
            let mut moved = 0;
            for (b, a) in before.iter().zip(&after) {
                if b != a {
                    prop_assert_eq!(*a, new, "a key moved between old peers");
                    moved += 1;
                }
            }
            let share = f64::from(moved) / f64::from(keys);
            let expected = 1.0 / f64::from(n + 1);
            prop_assert!(share > expected * 0.5 && share < expected * 1.6, "moved {} vs {}", share, expected);
        }
    }
}
