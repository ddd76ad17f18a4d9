//! The front door's HTTP/1 request scanner (pylon-proxy's `framing`, through
//! `pylon_proxy::scan_requests`) on arbitrary bytes, read whole, one byte per read (the first KiB) and in
//! pieces cut where the input says. Input: `[size][count][uri][n][n × u16 LE cut][bytes]`:
//! the limits are `max_header_size = 16 + 16 × size`, `max_header_count = 1 + count`,
//! `max_uri_size = 1 + 8 × uri` (0xff 0xff 0xff: 4096, 256, 2041), then `n % 17` cut
//! offsets, then the connection's bytes.
//!
//! Checked: never panics; the verdicts (heads passed, bytes passed, the refusal or body
//! fault with its status and reason) are the same however the bytes arrive, only a
//! stretch of body may pass in differently cut pieces; passed bytes never go beyond the
//! input; every head that passes is within the limits (size, field lines, target) and
//! ends in an empty line; a refusal's status is one the front door answers with.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pylon_proxy::{RequestLimits, ScanVerdict, scan_requests};

/// The verdicts with each run of consecutive passes summed: what must not depend on where
/// the reads end.
fn merged(verdicts: &[ScanVerdict]) -> Vec<ScanVerdict> {
    let mut out: Vec<ScanVerdict> = Vec::new();
    for v in verdicts {
        match (out.last_mut(), v) {
            (Some(ScanVerdict::Pass(sum)), ScanVerdict::Pass(n)) => *sum += n,
            _ => out.push(v.clone()),
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let [size, count, uri, n, rest @ ..] = data else { return };
    let limits = RequestLimits {
        max_header_size: 16 + 16 * usize::from(*size),
        max_header_count: 1 + usize::from(*count),
        max_uri_size: 1 + 8 * usize::from(*uri),
    };
    let n = usize::from(*n % 17).min(rest.len() / 2);
    let (cuts, input) = rest.split_at(2 * n);
    let cuts: Vec<usize> =
        cuts.chunks_exact(2).map(|c| usize::from(u16::from_le_bytes([c[0], c[1]]))).collect();

    let whole = scan_requests(input, &[], limits);
    let want = merged(&whole);
    // Every prefix judged: quadratic in the input, so for the first KiB (heads get judged
    // again from their start on each read).
    let by_byte: Vec<usize> = (1..input.len().min(1024)).collect();
    for (how, splits) in [("one byte per read", &by_byte[..]), ("cut at the chosen offsets", &cuts)]
    {
        let got = scan_requests(input, splits, limits);
        assert_eq!(merged(&got), want, "{how} ({splits:?}) differs from the whole input");
    }

    let mut at = 0usize;
    for v in &whole {
        match v {
            ScanVerdict::Pass(n) => at += n,
            ScanVerdict::Head(len) => {
                let head = input.get(at..at + len).unwrap_or_else(|| {
                    panic!("a head of {len} bytes at {at} beyond the input ({})", input.len())
                });
                assert!(*len <= limits.max_header_size, "a {len}-byte head passed: {limits:?}");
                assert!(head.ends_with(b"\r\n\r\n"), "a head that does not end in CRLF CRLF");
                // Request line, field lines, empty line.
                let lines = head.iter().filter(|b| **b == b'\n').count();
                assert!(lines - 2 <= limits.max_header_count, "{} field lines passed", lines - 2);
                let target = head.split(|b| *b == b' ').nth(1).unwrap_or_default();
                assert!(target.len() <= limits.max_uri_size, "a {}-byte target", target.len());
                at += len;
            }
            ScanVerdict::Refuse { status, .. } => {
                assert!([400, 405, 414, 431, 501, 505].contains(status), "refused with {status}");
            }
            ScanVerdict::Fault { status, .. } => assert_eq!(*status, 400),
        }
        assert!(at <= input.len(), "{at} bytes passed of {}", input.len());
    }
});
