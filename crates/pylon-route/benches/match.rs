//! Match cost of the location index against table size, the linear scan and a plain
//! `regex::RegexSet` (matchit's "compare routers" idea).
//!
//! Every iteration matches the same 64 requests (drawn from the table by kind, in the same
//! proportions at every size, plus one miss in eight), so
//! the time per request is the reported time / 64 (criterion also prints it as throughput).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pylon_route::{HostRule, PathRule, Route, Router, RouterBuilder};
use regex::RegexSet;

const REQUESTS: usize = 64;

/// Route class of table slot `i >= 4` (the first four are fixed). The first six slots after
/// the fixed ones cover every kind once, so even the 10-location table holds one route of each
/// kind, and the requests can be drawn by kind in the same proportions at every size.
const CLASSES: [usize; 10] = [0, 2, 4, 6, 7, 9, 1, 3, 5, 8];

fn class(i: usize) -> usize {
    CLASSES[(i - 4) % CLASSES.len()]
}

/// The kind of a class: exact, exact + host, prefix, wildcard host, regex, host regex.
fn kind(class: usize) -> usize {
    match class {
        0 | 1 => 0,
        2 | 3 => 1,
        4 | 5 => 2,
        6 => 3,
        7 | 8 => 4,
        _ => 5,
    }
}

/// A mixed table: exact paths, prefixes, anchored regexes, hosts (exact, wildcard, regex), a
/// few unanchored regexes and an any-path fallback.
fn table(n: usize) -> Vec<Route> {
    let mut routes = Vec::with_capacity(n);
    let route = |name: String, hosts: &str, path: &str| Route {
        name,
        hosts: HostRule::parse_list(hosts).expect("valid hosts"),
        path: PathRule::parse(path).expect("valid path"),
        weight: None,
    };
    for (i, fixed) in ["", "~\\.php$", "~\\.(png|jpe?g|gif)$", "~(?i)^/static/"].iter().enumerate()
    {
        routes.push(route(format!("fixed{i}"), "", fixed));
    }
    for i in routes.len()..n {
        let r = match class(i) {
            0 | 1 => route(format!("e{i}"), "", &format!("=/svc{i}/items/list")),
            2 | 3 => route(
                format!("eh{i}"),
                &format!("h{}.example.com", i % 97),
                &format!("=/svc{i}/items"),
            ),
            4 | 5 => route(format!("p{i}"), "", &format!("/p{i}/api")),
            6 => {
                route(format!("pw{i}"), &format!("*.t{}.example.net", i % 53), &format!("/pw{i}/"))
            }
            7 | 8 => route(format!("r{i}"), "", &format!("~^/r{i}/v\\d+/items")),
            _ => route(format!("hr{i}"), &format!("~^api{}\\.", i % 19), &format!("/hr{i}")),
        };
        routes.push(r);
    }
    routes.truncate(n);
    routes
}

/// Requests that hit routes spread over the table, plus misses. The kind of each request is
/// drawn with the same weights at every size (the class mix of the table: 2:2:2:1:2:1), then
/// a route of that kind uniformly; so a larger table changes which routes are hit, not the
/// workload's shape (how many regexes, host lookups, ... a request costs).
fn requests(n: usize) -> Vec<(String, String)> {
    assert!(n >= 10, "the table needs one route of each kind");
    let mut by_kind: Vec<Vec<usize>> = vec![Vec::new(); 6];
    for i in 4..n {
        by_kind[kind(class(i))].push(i);
    }
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    let mut out = Vec::with_capacity(REQUESTS);
    for k in 0..REQUESTS {
        let list = &by_kind[kind(next() % CLASSES.len())];
        let i = list[next() % list.len()];
        let (host, path) = match (k % 8 == 7, class(i)) {
            (true, _) => ("nowhere.org".to_owned(), format!("/nothing/{i}/here")),
            (_, 0 | 1) => ("www.example.com".to_owned(), format!("/svc{i}/items/list")),
            (_, 2 | 3) => (format!("H{}.example.com:8080", i % 97), format!("/svc{i}/items")),
            (_, 4 | 5) => ("www.example.com".to_owned(), format!("/p{i}/api/users/7")),
            (_, 6) => (format!("a.t{}.example.net", i % 53), format!("/pw{i}/x")),
            (_, 7 | 8) => ("www.example.com".to_owned(), format!("/r{i}/v2/items")),
            _ => (format!("api{}.example.org", i % 19), format!("/hr{i}/q")),
        };
        out.push((host, path));
    }
    out
}

fn build(routes: &[Route]) -> Router {
    let mut b = RouterBuilder::new();
    for r in routes {
        b.add(r.clone());
    }
    b.build().expect("valid table")
}

/// The path rules as one `RegexSet`, winner = first matching pattern in weight order (hosts
/// ignored, so this baseline does less work than the router).
fn regex_set(router: &Router) -> (RegexSet, Vec<usize>) {
    let order: Vec<usize> = router.ordered().collect();
    let patterns = order.iter().map(|&i| match &router.route(i).path {
        PathRule::Exact(p) => format!("^{}$", regex::escape(p)),
        PathRule::Prefix(p) => format!("^{}", regex::escape(p)),
        PathRule::Regex(r) => r.clone(),
        _ => String::new(),
    });
    (RegexSet::new(patterns).expect("valid set"), order)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("match");
    g.throughput(Throughput::Elements(REQUESTS as u64));
    for n in [10, 100, 300, 1_000, 10_000] {
        let router = build(&table(n));
        let reqs = requests(n);
        for (h, p) in &reqs {
            assert_eq!(router.find(h, p), router.find_linear(h, p));
        }
        g.bench_with_input(BenchmarkId::new("indexed", n), &reqs, |b, reqs| {
            b.iter(|| {
                for (h, p) in reqs {
                    black_box(router.find(black_box(h), black_box(p)));
                }
            })
        });
        if n == 10 || n == 300 {
            g.bench_with_input(BenchmarkId::new("linear", n), &reqs, |b, reqs| {
                b.iter(|| {
                    for (h, p) in reqs {
                        black_box(router.find_linear(black_box(h), black_box(p)));
                    }
                })
            });
        }
        if n == 300 {
            let (set, order) = regex_set(&router);
            g.bench_with_input(BenchmarkId::new("regexset", n), &reqs, |b, reqs| {
                b.iter(|| {
                    for (_, p) in reqs {
                        black_box(set.matches(black_box(p)).iter().next().map(|k| order[k]));
                    }
                })
            });
        }
    }
    g.finish();
}

/// The normaliser every request passes through first: a path already in normal form (the
/// common case, borrowed) and one that needs every step.
fn normalize(c: &mut Criterion) {
    let mut g = c.benchmark_group("normalize_path");
    for (name, path) in [
        ("normal", &b"/api/v2/users/1234/orders;v=1"[..]),
        ("dirty", &b"/api/./v2//users/x/../%31234/%6frders%2f"[..]),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| pylon_route::normalize_path(std::hint::black_box(path)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench, normalize);
criterion_main!(benches);
