//! Render the presets into a reused buffer: the per-request cost of access logging.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use pylon_accesslog::{Facts, HeaderLookup, Template};

/// A small header list with case-insensitive lookup, like a proxy's header map.
struct Headers(&'static [(&'static str, &'static [u8])]);

impl HeaderLookup for Headers {
    fn request_header(&self, name: &str) -> Option<&[u8]> {
        self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
    }
    fn response_header(&self, _name: &str) -> Option<&[u8]> {
        None
    }
}

static HEADERS: Headers = Headers(&[
    ("Host", b"www.example.com"),
    ("Accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("Accept-Encoding", b"gzip, deflate, br"),
    ("Referer", b"https://www.example.com/products/index.html"),
    ("User-Agent", b"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
]);

fn facts() -> Facts<'static> {
    Facts {
        when: SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_686_641_123),
        method: "GET",
        host: Some("www.example.com"),
        path: "/products/42/reviews",
        query: Some("page=2&sort=newest"),
        proto: "HTTP/1.1",
        request_line: Some(b"GET /products/42/reviews?page=2&sort=newest HTTP/1.1"),
        scheme: "https",
        remote: Some(SocketAddr::from(([203, 0, 113, 195], 51234))),
        status: 200,
        size: 18_734,
        payload_size: 0,
        latency: Duration::from_micros(15_250),
        request_id: Some("0f5c2a9e"),
        location: Some("products"),
        upstream_addr: Some("10.0.3.17:8080"),
        upstream_status: Some(200),
        upstream_connect_time: Some(Duration::from_micros(800)),
        upstream_response_time: Some(Duration::from_millis(14)),
        connection_reused: Some(true),
        headers: &HEADERS,
    }
}

fn render(c: &mut Criterion) {
    let facts = facts();
    let mut group = c.benchmark_group("render");
    for name in ["combined", "tiny"] {
        let template = Template::preset(name).expect("preset");
        let mut out = Vec::with_capacity(512);
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                black_box(&template).render(black_box(&facts), &mut out);
                black_box(out.len())
            })
        });
    }
    let everything = Template::parse(
        "{when} {when_utc_iso} {client_ip} {host} {latency_human} {upstream_response_time} \
         {connection_reused} {request_id}",
    )
    .expect("template");
    let mut out = Vec::with_capacity(512);
    group.bench_function("times_and_upstream", |b| {
        b.iter(|| {
            out.clear();
            black_box(&everything).render(black_box(&facts), &mut out);
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
