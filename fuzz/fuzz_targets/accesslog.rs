//! The access-log template parser on arbitrary text: never panics; a template that parses
//! renders without panicking, and its `Display` parses back to a template that renders the
//! same line.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use pylon_accesslog::{Facts, HeaderLookup, Template};

struct Headers;

impl HeaderLookup for Headers {
    fn request_header(&self, name: &str) -> Option<&[u8]> {
        (name.len() % 2 == 0).then_some(b"v\x01\"\xff".as_slice())
    }
    fn response_header(&self, name: &str) -> Option<&[u8]> {
        (name.len() % 3 == 0).then_some(b"r".as_slice())
    }
}

fn render(t: &Template, facts: &Facts<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    t.render(facts, &mut out);
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = Template::from_spec(text);
    let Ok(t) = Template::parse(text) else { return };
    let empty = Facts::new(&());
    let full = Facts {
        when: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        method: "GET",
        host: Some("example.com"),
        path: "/a\"b",
        query: Some("x=1"),
        proto: "HTTP/1.1",
        request_line: Some(b"GET /a\"b?x=1 \xff HTTP/1.1"),
        scheme: "https",
        remote: Some("10.0.0.1:5555".parse().expect("addr")),
        status: 200,
        size: u64::MAX,
        payload_size: 1 << 40,
        latency: Duration::from_nanos(u64::MAX),
        request_id: Some("abc"),
        location: Some("loc"),
        upstream_addr: Some("127.0.0.1:8001"),
        upstream_status: Some(502),
        upstream_connect_time: Some(Duration::MAX),
        upstream_response_time: Some(Duration::ZERO),
        connection_reused: Some(true),
        headers: &Headers,
    };
    let again = Template::parse(&t.to_string())
        .unwrap_or_else(|e| panic!("Display {:?} does not parse back: {e}", t.to_string()));
    for facts in [&empty, &full] {
        assert_eq!(render(&t, facts), render(&again, facts), "Display {:?}", t.to_string());
    }
});
