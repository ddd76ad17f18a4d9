//! `Pool::select` per algorithm over 10 healthy peers.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, criterion_group, criterion_main};
use pingora_http::RequestHeader;
use pylon_upstream::{AddrSpec, Algorithm, HashKey, Pool, PoolSpec};

fn pool(algorithm: Algorithm) -> Pool {
    let spec = PoolSpec {
        name: "bench".into(),
        addrs: (1..=10)
            .map(|i| AddrSpec { host: format!("127.0.0.{i}"), port: 8000, weight: 1 + i % 3 })
            .collect(),
        algorithm,
        health: Default::default(),
        peer: Default::default(),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(Pool::build(spec, None)).expect("pool builds")
}

fn select(c: &mut Criterion) {
    let mut req = RequestHeader::build("GET", b"/api/users/42?page=3", None).expect("request");
    req.insert_header("Cookie", "theme=dark; session=abc123").expect("cookie");
    let ip = Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)));
    let mut group = c.benchmark_group("select");
    let algorithms = [
        ("round_robin", Algorithm::RoundRobin),
        ("random", Algorithm::Random),
        ("least_conn", Algorithm::LeastConn),
        ("hash_path", Algorithm::Hash(HashKey::Path)),
        ("hash_ip", Algorithm::Hash(HashKey::ClientIp)),
        ("hash_cookie", Algorithm::Hash(HashKey::Cookie("session".into()))),
    ];
    for (name, algorithm) in algorithms {
        let pool = pool(algorithm);
        group.bench_function(name, |b| b.iter(|| black_box(pool.select(&req, ip, &[]))));
    }
    group.finish();
}

criterion_group!(benches, select);
criterion_main!(benches);
