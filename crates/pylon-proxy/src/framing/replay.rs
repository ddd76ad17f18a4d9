//! The front door's request scanner driven from outside the crate, the way a connection
//! drives it ([`Checked`](super::Checked)): for the `framing` fuzz target (`fuzz/`) and
//! anyone who wants to know what the front door makes of a byte sequence.

use super::scan::{Limits, Scanner, Step};

/// One verdict of the front door's request scanner, in the order [`scan_requests`] met it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanVerdict {
    /// This many bytes pass as they are: body bytes, chunk framing and trailers, bytes after
    /// an upgrade request's head, empty lines before a request line. One stretch of body
    /// may pass in several verdicts, depending on how the bytes arrived.
    Pass(usize),
    /// A request head of this many bytes passes: request line, field lines, empty line.
    Head(usize),
    /// The request head is refused: `status` 400, 405, 414, 431, 501 or 505. Nothing of it
    /// and nothing after it passes; the client gets the status.
    Refuse {
        /// The HTTP status of the answer.
        status: u16,
        /// What was wrong (the error page's and the debug log's text).
        reason: String,
    },
    /// The body is malformed (`status` 400): nothing from there on passes and the
    /// connection ends, so no upstream receives a complete message.
    Fault {
        /// The HTTP status logged for the request.
        status: u16,
        /// What was wrong.
        reason: String,
    },
}

/// Runs `input`, the bytes a client sends on one HTTP/1 connection, through a fresh front
/// door scanner with `limits`, as the connection would. The bytes arrive in pieces cut at
/// `splits` (offsets into `input`; any order, repeats and offsets outside `1..input.len()`
/// ignored): each piece joins the bytes not yet judged, the scanner judges them until it
/// needs more, and after the last piece it learns that the stream ended.
///
/// Returns the verdicts in order. The list ends with the first `Refuse` or `Fault`, or
/// when the scanner waits for bytes that never come (an unfinished message); a verdict
/// that would pass bytes beyond `input` (a scanner bug) is reported and ends the list.
/// Where the reads end must not change the verdicts, apart from how a stretch of body
/// is cut into `Pass` verdicts: the fuzz target `framing` checks exactly that.
pub fn scan_requests(input: &[u8], splits: &[usize], limits: Limits) -> Vec<ScanVerdict> {
    let mut cuts: Vec<usize> =
        splits.iter().copied().filter(|c| *c > 0 && *c < input.len()).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts.push(input.len());
    let mut pieces = cuts.into_iter();
    let mut scan = Scanner::new(limits);
    // input[judged..received]: read and not yet passed.
    let (mut judged, mut received, mut eof) = (0, 0, false);
    let mut verdicts = Vec::new();
    loop {
        let (verdict, n) = match scan.step(&input[judged..received], eof) {
            Step::Pass(n) => (ScanVerdict::Pass(n), n),
            Step::Head { len, .. } => (ScanVerdict::Head(len), len),
            Step::Refuse(r) => {
                verdicts.push(ScanVerdict::Refuse { status: r.status, reason: r.reason });
                return verdicts;
            }
            Step::Fault(r) => {
                verdicts.push(ScanVerdict::Fault { status: r.status, reason: r.reason });
                return verdicts;
            }
            Step::More if eof || scan.closed() => return verdicts,
            Step::More => {
                match pieces.next() {
                    Some(end) => received = end,
                    None => eof = true,
                }
                continue;
            }
        };
        verdicts.push(verdict);
        if n > received - judged {
            return verdicts;
        }
        judged += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { max_header_size: 256, max_header_count: 4, max_uri_size: 32 };

    #[test]
    fn a_pipelined_pair_in_any_pieces() {
        let input = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n";
        let whole = scan_requests(input, &[], LIMITS);
        assert_eq!(
            whole,
            [ScanVerdict::Head(39), ScanVerdict::Pass(3), ScanVerdict::Head(19)],
            "{whole:?}"
        );
        // Cut inside the body: the body passes in two verdicts, the heads are the same.
        let cut = scan_requests(input, &[40, 999, 0, 40], LIMITS);
        assert_eq!(
            cut,
            [
                ScanVerdict::Head(39),
                ScanVerdict::Pass(1),
                ScanVerdict::Pass(2),
                ScanVerdict::Head(19)
            ]
        );
    }

    #[test]
    fn refusals_and_unfinished_messages_end_the_list() {
        let refused =
            scan_requests(b"GET /a b HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n", &[], LIMITS);
        assert!(matches!(refused[..], [ScanVerdict::Refuse { status: 400, .. }]), "{refused:?}");
        let unfinished = scan_requests(b"GET / HTTP/1.1\r\nHost: a\r\n", &[3, 9], LIMITS);
        assert!(
            matches!(unfinished[..], [ScanVerdict::Refuse { status: 400, .. }]),
            "the stream ends inside the head: {unfinished:?}"
        );
        let body = scan_requests(b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nab", &[], LIMITS);
        assert_eq!(body, [ScanVerdict::Head(38), ScanVerdict::Pass(2)]);
    }

    /// A line that crosses a limit is refused for its size, whether it arrived whole or
    /// an unfinished part of it did (then its content cannot be judged yet): before, the
    /// whole line was judged by its content first, so the verdict depended on the reads
    /// (found by the `framing` fuzz target).
    #[test]
    fn read_boundaries_do_not_change_the_verdict_on_an_oversized_line() {
        let te = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        let cases: Vec<(&str, Vec<u8>, ScanVerdict)> = vec![
            (
                "a request line over the target limit, with a space in its target",
                format!("GET /{} x HTTP/1.1\r\n\r\n", "a".repeat(120)).into_bytes(),
                ScanVerdict::Refuse { status: 414, reason: "request target too long".into() },
            ),
            (
                "a field line ending past max_header_size, with a NUL in its value",
                format!("GET / HTTP/1.1\r\nX: {}\x00\r\n\r\n", "y".repeat(300)).into_bytes(),
                ScanVerdict::Refuse { status: 431, reason: "request head too large".into() },
            ),
            (
                "a chunk-size line over 4 KiB, ended by a bare LF",
                format!("{te}5;a={}\nhello\r\n0\r\n\r\n", "b".repeat(5000)).into_bytes(),
                ScanVerdict::Fault { status: 400, reason: "chunk-size line too long".into() },
            ),
            (
                "a trailer section past max_header_size, ended by a bare LF",
                format!("{te}0\r\nX: {}\n\r\n", "t".repeat(300)).into_bytes(),
                ScanVerdict::Fault { status: 400, reason: "trailer section too large".into() },
            ),
        ];
        // A request line over both limits: the smaller one decides (max_header_size here).
        let small_head = Limits { max_header_size: 64, ..LIMITS };
        let line = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(120)).into_bytes();
        let too_large =
            ScanVerdict::Refuse { status: 431, reason: "request head too large".into() };
        for splits in [vec![], (1..line.len()).collect(), vec![70]] {
            assert_eq!(scan_requests(&line, &splits, small_head), std::slice::from_ref(&too_large));
        }
        for (what, input, want) in cases {
            let whole = scan_requests(&input, &[], LIMITS);
            assert_eq!(whole.last(), Some(&want), "{what}, whole: {whole:?}");
            let by_byte: Vec<usize> = (1..input.len()).collect();
            let got = scan_requests(&input, &by_byte, LIMITS);
            assert_eq!(got.last(), Some(&want), "{what}, one byte per read: {got:?}");
            for cut in [100, 250, 300, 4097, 4200] {
                let got = scan_requests(&input, &[cut], LIMITS);
                assert_eq!(got.last(), Some(&want), "{what}, cut at {cut}: {got:?}");
            }
        }
    }
}
