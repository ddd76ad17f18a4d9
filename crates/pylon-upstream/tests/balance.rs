//! Round robin, random and least_conn through `Pool::select`.

use std::net::SocketAddr;

use pylon_upstream::{AddrSpec, Algorithm, HashKey, Selection};

use crate::util::{get, loopbacks, pool, spec, within};

fn weighted(weights: &[u32]) -> Vec<AddrSpec> {
    weights
        .iter()
        .enumerate()
        .map(|(i, &weight)| AddrSpec { host: format!("127.0.0.{}", i + 1), port: 9, weight })
        .collect()
}

fn counts(pool: &pylon_upstream::Pool, picks: usize) -> Vec<usize> {
    let mut counts = vec![0; pool.peers().len()];
    for _ in 0..picks {
        counts[pool.select(&get("/"), None, &[]).expect("a peer").index()] += 1;
    }
    counts
}

#[tokio::test]
async fn round_robin_is_nginx_smooth_sequence() {
    within(async {
        let pool = pool(spec(weighted(&[5, 1, 1]), Algorithm::RoundRobin)).await;
        let picks: String = (0..14)
            .map(|_| (b'a' + pool.select(&get("/"), None, &[]).unwrap().index() as u8) as char)
            .collect();
        assert_eq!(picks, "aabacaaaabacaa");
    })
    .await;
}

#[tokio::test]
async fn round_robin_weights_hold_exactly_per_cycle() {
    within(async {
        let pool = pool(spec(weighted(&[1, 2, 3, 4]), Algorithm::RoundRobin)).await;
        assert_eq!(counts(&pool, 10 * 500), [500, 1000, 1500, 2000]);
    })
    .await;
}

#[tokio::test]
async fn random_weights_hold_within_tolerance() {
    within(async {
        let pool = pool(spec(weighted(&[1, 2, 3, 4]), Algorithm::Random)).await;
        let n = 40_000;
        let counts = counts(&pool, n);
        for (count, weight) in counts.iter().zip([1, 2, 3, 4]) {
            let expected = n * weight / 10;
            // 4000 expected for weight 1 has a standard deviation of 60; 15% is 600.
            assert!(count.abs_diff(expected) < expected * 15 / 100, "{counts:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn least_conn_prefers_the_idle_peer() {
    within(async {
        let pool = pool(spec(loopbacks(3, 1), Algorithm::LeastConn)).await;
        let held: Vec<Selection> =
            (0..3).map(|_| pool.select(&get("/"), None, &[]).unwrap()).collect();
        let mut used: Vec<usize> = held.iter().map(Selection::index).collect();
        used.sort_unstable();
        assert_eq!(used, [0, 1, 2], "one request each while all are equally loaded");
        assert!(pool.peers().iter().all(|p| p.in_flight == 1));

        // Finish the request on one peer: it is now the idle one, whatever round robin says.
        let mut held = held;
        let done = held.remove(1);
        let idle = done.index();
        drop(done);
        assert_eq!(pool.peers()[idle].in_flight, 0);
        for _ in 0..5 {
            let sel = pool.select(&get("/"), None, &[]).unwrap();
            assert_eq!(sel.index(), idle);
        }
        // A second in-flight request on `idle` ties it with the others again.
        let extra = pool.select(&get("/"), None, &[]).unwrap();
        assert_eq!(extra.index(), idle);
        assert!(pool.peers().iter().all(|p| p.in_flight == 1));
        drop((held, extra));
        assert!(pool.peers().iter().all(|p| p.in_flight == 0));
    })
    .await;
}

#[tokio::test]
async fn least_conn_counts_load_per_weight() {
    within(async {
        let pool = pool(spec(weighted(&[1, 3]), Algorithm::LeastConn)).await;
        // Hold requests and watch the in-flight counts stay near 1:3.
        let held: Vec<Selection> =
            (0..8).map(|_| pool.select(&get("/"), None, &[]).unwrap()).collect();
        let light = held.iter().filter(|s| s.index() == 0).count();
        assert_eq!((light, held.len() - light), (2, 6));
    })
    .await;
}

macro_rules! skips_tried {
    ($($name:ident: $algorithm:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            within(async {
                let pool = pool(spec(loopbacks(3, 1), $algorithm)).await;
                let all: Vec<SocketAddr> = pool.peers().iter().map(|p| p.addr).collect();
                for _ in 0..30 {
                    let sel = pool.select(&get("/x"), None, &all[..2]).unwrap();
                    assert_eq!(sel.addr(), all[2]);
                }
                // A retry never gets the peer that just failed.
                for _ in 0..30 {
                    let first = pool.select(&get("/x"), None, &[]).unwrap();
                    let retry = pool.select(&get("/x"), None, &[first.addr()]).unwrap();
                    assert_ne!(retry.addr(), first.addr());
                }
                assert!(pool.select(&get("/x"), None, &all).is_none(), "all tried");
            })
            .await;
        }
    )*};
}

skips_tried! {
    round_robin_skips_tried: Algorithm::RoundRobin;
    random_skips_tried: Algorithm::Random;
    least_conn_skips_tried: Algorithm::LeastConn;
    hash_skips_tried: Algorithm::Hash(HashKey::Path);
}

macro_rules! none_when_all_unhealthy {
    ($($name:ident: $algorithm:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            within(async {
                // Nothing listens on port 9 of these loopback IPs: the first check fails them all.
                let pool = pool(spec(loopbacks(3, 1), $algorithm)).await;
                assert!(pool.select(&get("/"), None, &[]).is_some());
                pool.health_check_now().await;
                assert_eq!(pool.healthy_count(), 0);
                assert!(pool.select(&get("/"), None, &[]).is_none());
                assert!(pool.peers().iter().all(|p| !p.healthy && p.in_flight == 0));
            })
            .await;
        }
    )*};
}

none_when_all_unhealthy! {
    round_robin_none_when_all_unhealthy: Algorithm::RoundRobin;
    random_none_when_all_unhealthy: Algorithm::Random;
    least_conn_none_when_all_unhealthy: Algorithm::LeastConn;
    hash_none_when_all_unhealthy: Algorithm::Hash(HashKey::ClientIp);
}
