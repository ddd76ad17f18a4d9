//! The request-stream scanner: follows an HTTP/1 connection's bytes message by message
//! (heads, Content-Length bodies, chunked bodies) and decides, before pingora sees them,
//! which bytes may pass. Pure logic: no I/O, no pingora.
//!
//! Heads are judged whole (RFC 9112 §2–§7, strictly): one SP between the three parts of
//! the request line, a token method, a target of visible characters that pingora's parser
//! and URI type take (UTF-8; no `<>`` ` `` in the path, no `"<>` in the query), `HTTP/1.0` or
//! `HTTP/1.1`, CRLF line ends only, token field names with no whitespace before the colon,
//! no obs-fold, no control characters in values, one framing (`Transfer-Encoding` ending
//! in one `chunked`, empty list elements ignored and dropped from the head pingora reads,
//! or one Content-Length value, possibly repeated), and the limits.
//! Bodies are followed chunk by chunk: hex sizes without overflow, extensions
//! `;name[=value]` with no bare CR or LF, CRLF after each chunk's data, well-formed trailers.

use std::fmt;

/// The request limits of one server (`servers.NAME.max_*`), as the front door applies them
/// to HTTP/1 request heads: a head over `max_header_size` or with more than
/// `max_header_count` field lines is a 431, a target over `max_uri_size` a 414. Public as
/// `pylon_proxy::RequestLimits` for [`scan_requests`](crate::scan_requests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of a whole request head (request line, fields, line ends). Config default
    /// 64 KiB.
    pub max_header_size: usize,
    /// Field lines in a head. Config default 100 (1 to 256).
    pub max_header_count: usize,
    /// Bytes of the request target. Config default 8 KiB.
    pub max_uri_size: usize,
}

impl Limits {
    /// The config defaults (before the first runtime exists).
    pub const DEFAULT: Limits = Limits {
        max_header_size: pylon_config::DEFAULT_MAX_HEADER_SIZE as usize,
        max_header_count: pylon_config::DEFAULT_MAX_HEADER_COUNT,
        max_uri_size: pylon_config::DEFAULT_MAX_URI_SIZE as usize,
    };
}

/// Why a request is refused, and with which status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// 400, 405, 414, 431, 501 or 505.
    pub(crate) status: u16,
    /// What was wrong, for the error page and the debug log.
    pub(crate) reason: String,
    /// The request line's method, as far as it could be read (lossy, for the access log).
    pub(crate) method: String,
    /// The request line's target, as far as it could be read (lossy, at most 1 KiB).
    pub(crate) target: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.reason)
    }
}

/// What a head that passed says about the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeadInfo {
    /// The body's framing.
    pub(crate) framing: Framing,
    /// The request asks for a protocol upgrade: the bytes after its head are not checked.
    pub(crate) upgrade: bool,
    /// Offset of the minor version digit to rewrite to `1` (`HTTP/1.2` … `HTTP/1.9` are
    /// HTTP/1.1 to a server that implements 1.1, RFC 9110 §2.5).
    pub(crate) minor_version_at: Option<usize>,
    /// An absolute-form target whose authority differs from the Host field: the byte range
    /// of the Host value and of the target's authority in the head. The Host value is
    /// replaced by the authority (RFC 9112 §3.2.2: the target's authority wins).
    pub(crate) host_from_target: Option<HostRewrite>,
    /// Edits that leave one `Transfer-Encoding: chunked` line in a chunked head whose
    /// Transfer-Encoding lines carry empty list elements (`chunked,`, `, chunked`, an empty
    /// line): each byte range of the head is replaced by its bytes (`chunked` for the value
    /// that names it, nothing for a line with no coding). RFC 9110 §5.6.1 has a recipient
    /// ignore empty elements; pingora reads only the last element of the last line, so it
    /// gets the list without them. Empty (no allocation) for every other head.
    pub(crate) te_edits: Vec<(std::ops::Range<usize>, &'static [u8])>,
}

/// Byte ranges in a head: the Host value, and the authority that replaces it.
pub(crate) type HostRewrite = (std::ops::Range<usize>, std::ops::Range<usize>);

/// How a request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    None,
    /// `Content-Length: n` (one value, possibly repeated).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// The scanner's verdict on the bytes at the front of its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// The first `n` bytes pass as they are.
    Pass(usize),
    /// A request head of `len` bytes passes.
    Head { len: usize, info: HeadInfo },
    /// The request is refused: nothing of the input passes, and nothing after it.
    Refuse(Refusal),
    /// The body is malformed at the front of the input: nothing more passes.
    Fault(Refusal),
    /// More bytes are needed to decide.
    More,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between messages: the next bytes are a request head.
    Head,
    /// A Content-Length body with this many bytes to come.
    Fixed(u64),
    /// A chunk-size line is next.
    ChunkSize,
    /// Chunk data, this many bytes to come.
    ChunkData(u64),
    /// The CRLF after a chunk's data.
    ChunkEnd,
    /// The trailer section; bytes of it so far.
    Trailers(usize),
    /// After an upgrade request: bytes pass unchecked.
    Opaque,
    /// After a refusal or a fault: nothing passes.
    Closed,
}

/// Longest chunk-size line (size, extensions, CRLF) accepted.
const MAX_CHUNK_LINE: usize = 4096;

/// Follows one connection's request bytes (see the module docs).
#[derive(Debug)]
pub(crate) struct Scanner {
    limits: Limits,
    state: State,
    /// Body bytes (chunk data or Content-Length bytes) of the current message so far.
    body_bytes: u64,
    /// Whether the current message's body is complete.
    body_done: bool,
    /// Method and target of the current message (for body faults).
    current: (String, String),
}

impl Scanner {
    pub(crate) fn new(limits: Limits) -> Scanner {
        Scanner {
            limits,
            state: State::Head,
            body_bytes: 0,
            body_done: true,
            current: (String::new(), String::new()),
        }
    }

    /// Body bytes of the current message so far (chunk framing not counted).
    pub(crate) fn body_bytes(&self) -> u64 {
        self.body_bytes
    }

    /// Whether the current message's body has ended (or it has none).
    pub(crate) fn body_done(&self) -> bool {
        self.body_done
    }

    /// Whether the scanner has stopped (refusal, fault).
    pub(crate) fn closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Judge the bytes at the front of `input` (what was read and not yet passed). `eof`:
    /// no more bytes will come.
    pub(crate) fn step(&mut self, input: &[u8], eof: bool) -> Step {
        match self.state {
            State::Closed => Step::More,
            State::Opaque => {
                if input.is_empty() {
                    Step::More
                } else {
                    Step::Pass(input.len())
                }
            }
            State::Head => self.head(input, eof),
            State::Fixed(remaining) => {
                if input.is_empty() {
                    return Step::More;
                }
                let n = usize::try_from(remaining).unwrap_or(usize::MAX).min(input.len());
                self.body_bytes += n as u64;
                self.state = State::Fixed(remaining - n as u64);
                if remaining == n as u64 {
                    self.end_message();
                }
                Step::Pass(n)
            }
            State::ChunkSize => self.chunk_size(input),
            State::ChunkData(remaining) => {
                if input.is_empty() {
                    return Step::More;
                }
                let n = usize::try_from(remaining).unwrap_or(usize::MAX).min(input.len());
                self.body_bytes += n as u64;
                self.state = if remaining == n as u64 {
                    State::ChunkEnd
                } else {
                    State::ChunkData(remaining - n as u64)
                };
                Step::Pass(n)
            }
            State::ChunkEnd => match input {
                [] | [b'\r'] => Step::More,
                [b'\r', b'\n', ..] => {
                    self.state = State::ChunkSize;
                    Step::Pass(2)
                }
                _ => self.fault("chunk data is not followed by CRLF"),
            },
            State::Trailers(seen) => self.trailers(input, seen),
        }
    }

    fn end_message(&mut self) {
        self.state = State::Head;
        self.body_done = true;
    }

    fn fault(&mut self, reason: &str) -> Step {
        self.state = State::Closed;
        let (method, target) = self.current.clone();
        Step::Fault(Refusal { status: 400, reason: reason.to_owned(), method, target })
    }

    fn refuse(&mut self, status: u16, reason: impl Into<String>, line: &[u8]) -> Step {
        self.state = State::Closed;
        let (method, target) = loose_request_line(line);
        Step::Refuse(Refusal { status, reason: reason.into(), method, target })
    }

    fn chunk_size(&mut self, input: &[u8]) -> Step {
        let Some(nl) = input.iter().position(|b| *b == b'\n') else {
            if input.len() > MAX_CHUNK_LINE {
                return self.fault("chunk-size line too long");
            }
            return Step::More;
        };
        // Size before content (see `head`).
        if nl + 1 > MAX_CHUNK_LINE {
            return self.fault("chunk-size line too long");
        }
        let Some(line) = input[..nl].strip_suffix(b"\r") else {
            return self.fault("bare LF in a chunk-size line");
        };
        match parse_chunk_line(line) {
            Ok(0) => {
                self.state = State::Trailers(0);
                Step::Pass(nl + 1)
            }
            Ok(size) => {
                self.state = State::ChunkData(size);
                Step::Pass(nl + 1)
            }
            Err(reason) => self.fault(reason),
        }
    }

    fn trailers(&mut self, input: &[u8], seen: usize) -> Step {
        let Some(nl) = input.iter().position(|b| *b == b'\n') else {
            if seen + input.len() > self.limits.max_header_size {
                return self.fault("trailer section too large");
            }
            return Step::More;
        };
        // Size before content (see `head`).
        if seen + nl + 1 > self.limits.max_header_size {
            return self.fault("trailer section too large");
        }
        let Some(line) = input[..nl].strip_suffix(b"\r") else {
            return self.fault("bare LF in the trailer section");
        };
        if line.is_empty() {
            self.end_message();
            return Step::Pass(nl + 1);
        }
        if let Err(reason) = check_field(line) {
            return self.fault(&format!("trailer: {reason}"));
        }
        self.state = State::Trailers(seen + nl + 1);
        Step::Pass(nl + 1)
    }

    fn head(&mut self, input: &[u8], eof: bool) -> Step {
        // RFC 9112 §2.2: empty lines before the request line are ignored.
        if input.starts_with(b"\r\n") {
            return Step::Pass(2);
        }
        if input.is_empty() || input == b"\r" {
            return Step::More;
        }
        let limits = self.limits;
        let first_nl = input.iter().position(|b| *b == b'\n');
        let line_end = first_nl.unwrap_or(input.len());
        let line = &input[..line_end];
        // The request line alone: judged as soon as it is complete (or too long to be).
        // Method and version take at most a few dozen bytes beyond the target. Its size is
        // judged first, complete or not: an unfinished line can only be judged by its size,
        // so where the reads end must not decide whether a long line is a 414 or a 400 for
        // what follows in it. The same holds for every line below (fields, chunk sizes,
        // trailers): size before content. Of the two size limits the smaller one is the
        // one a growing line crosses first, so it decides, whole line or not.
        let uri_cap = limits.max_uri_size.saturating_add(64);
        if line.len() > uri_cap.min(limits.max_header_size) {
            return if uri_cap <= limits.max_header_size {
                self.refuse(414, "request target too long", line)
            } else {
                self.refuse(431, "request head too large", line)
            };
        }
        let Some(first_nl) = first_nl else {
            if eof {
                return self.refuse(400, "connection closed inside the request line", line);
            }
            return Step::More;
        };
        let Some(request_line) = line.strip_suffix(b"\r") else {
            return self.refuse(400, "bare LF ending the request line", line);
        };
        let parsed = match parse_request_line(request_line, limits.max_uri_size) {
            Ok(p) => p,
            Err((status, reason)) => return self.refuse(status, reason, request_line),
        };
        // The fields, line by line.
        let mut at = first_nl + 1;
        let mut count = 0usize;
        let mut upgrade = false;
        // The Host field line: (value offset in the head, value).
        let mut host: Option<(usize, &[u8])> = None;
        let end = loop {
            if at > limits.max_header_size {
                return self.refuse(431, "request head too large", request_line);
            }
            let Some(nl) = input[at..].iter().position(|b| *b == b'\n') else {
                if input.len() > limits.max_header_size {
                    return self.refuse(431, "request head too large", request_line);
                }
                if eof {
                    return self.refuse(
                        400,
                        "connection closed inside the request head",
                        request_line,
                    );
                }
                return Step::More;
            };
            if at + nl + 1 > limits.max_header_size {
                return self.refuse(431, "request head too large", request_line);
            }
            let raw = &input[at..at + nl];
            let Some(field) = raw.strip_suffix(b"\r") else {
                return self.refuse(400, "bare LF ending a field line", request_line);
            };
            at += nl + 1;
            if field.is_empty() {
                break at;
            }
            count += 1;
            if count > limits.max_header_count {
                return self.refuse(431, "too many header fields", request_line);
            }
            match check_field(field) {
                Ok((name, value)) => {
                    upgrade |= name.eq_ignore_ascii_case(b"upgrade");
                    if name.eq_ignore_ascii_case(b"host") {
                        // RFC 9112 §3.2: more than one Host line is 400.
                        if host.is_some() {
                            return self.refuse(400, "more than one Host field", request_line);
                        }
                        let at = value.as_ptr() as usize - input.as_ptr() as usize;
                        host = Some((at, value));
                    }
                }
                Err(reason) => return self.refuse(400, reason, request_line),
            }
        };
        // The field block again (no per-request list: the checks above passed every line).
        let block = &input[first_nl + 1..end];
        let fields = || {
            block
                .split(|b| *b == b'\n')
                .filter_map(|l| check_field(l.strip_suffix(b"\r").unwrap_or(l)).ok())
        };
        let framing = match framing(fields, parsed.http10) {
            Ok(f) => f,
            Err((status, reason)) => return self.refuse(status, reason, request_line),
        };
        if parsed.method.eq_ignore_ascii_case(b"CONNECT") {
            return self.refuse(405, "CONNECT is not proxied", request_line);
        }
        let host_from_target = match authority(request_line, host) {
            Ok(h) => h,
            Err(reason) => return self.refuse(400, reason, request_line),
        };
        let te_edits = if framing == Framing::Chunked {
            chunked_edits(input, block, first_nl + 1)
        } else {
            Vec::new()
        };
        let info = HeadInfo {
            framing,
            upgrade,
            minor_version_at: parsed.minor_at,
            host_from_target,
            te_edits,
        };
        // Reusing the buffers: no allocation per request once warm.
        let (method, target) = loose_parts(request_line);
        self.current.0.clear();
        self.current.0.push_str(&String::from_utf8_lossy(method));
        self.current.1.clear();
        self.current.1.push_str(&String::from_utf8_lossy(target));
        self.body_bytes = 0;
        self.body_done = false;
        self.state = match framing {
            _ if upgrade => State::Opaque,
            Framing::None | Framing::Length(0) => {
                self.body_done = true;
                State::Head
            }
            Framing::Length(n) => State::Fixed(n),
            Framing::Chunked => State::ChunkSize,
        };
        Step::Head { len: end, info }
    }
}

/// Longest request target pingora can hold: the `http` crate's path-and-query takes at most
/// `u16::MAX - 1` bytes.
pub(crate) const MAX_URI_LEN: usize = u16::MAX as usize - 1;

/// Target bytes that httparse and the `http` crate's path-and-query (path and query alike)
/// take as they are: visible ASCII but `"`, `<`, `>` and `` ` ``. A target of these alone is
/// one pingora accepts (the fragment after `#` is dropped, `?` starts the query).
static PLAIN_TARGET: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x21;
    while b < 0x7f {
        t[b] = !matches!(b as u8, b'"' | b'<' | b'>' | b'`');
        b += 1;
    }
    t
};

struct RequestLine<'a> {
    method: &'a [u8],
    http10: bool,
    /// Offset of a minor version digit above 1.
    minor_at: Option<usize>,
}

fn parse_request_line(line: &[u8], max_uri: usize) -> Result<RequestLine<'_>, (u16, String)> {
    let bad = |what: &str| Err((400, what.to_owned()));
    if line.contains(&b'\r') {
        return bad("CR inside the request line");
    }
    let mut parts = line.split(|b| *b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return bad("the request line is not `method SP request-target SP HTTP-version`");
    };
    if !is_token(method) {
        return bad("the method is not a token");
    }
    if target.is_empty() {
        return bad("empty request target");
    }
    // pingora stores the target in the `http` crate's path-and-query, which holds at most
    // `MAX_URI_LEN` bytes: a longer one is a 414 whatever `max_uri_size` says.
    let max_uri = max_uri.min(MAX_URI_LEN);
    if target.len() > max_uri {
        return Err((414, format!("request target longer than {max_uri} bytes")));
    }
    // One table load per byte; only a target with a byte outside the plain set pays more.
    if !target.iter().all(|b| PLAIN_TARGET[usize::from(*b)]) {
        if target.iter().any(|b| *b < 0x21 || *b == 0x7f) {
            return bad("control character or whitespace in the request target");
        }
        // httparse refuses a target that is not UTF-8 (and pingora's escape-and-retry does
        // not match it); pingora's request header refuses what the `http` crate's
        // path-and-query cannot hold (`<`, `>`, `` ` `` in the path; `"`, `<`, `>` in the
        // query). Refused here, both are a logged 400 instead of pingora's bare one.
        if std::str::from_utf8(target).is_err() {
            return bad("the request target is not valid UTF-8");
        }
        if pingora::http::RequestHeader::build_no_case("GET", target, None).is_err() {
            return bad("the request target has a character a URI cannot hold \
                 (`<`, `>` or `` ` `` in the path, `\"`, `<` or `>` in the query)");
        }
    }
    let minor_base = method.len() + 1 + target.len() + 1 + 7;
    match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            if *major != b'1' {
                return Err((
                    505,
                    format!("HTTP/{}.{} is not supported", *major as char, *minor as char),
                ));
            }
            Ok(RequestLine {
                method,
                http10: *minor == b'0',
                minor_at: (*minor > b'1').then_some(minor_base),
            })
        }
        _ => bad("malformed HTTP version"),
    }
}

/// The authority checks pingora would otherwise answer with a bare 400 that no phase, log
/// or counter sees (`validate_request_authority`): userinfo in Host or in an absolute-form
/// target, an ambiguous or unparseable absolute-form authority are refused here; an
/// absolute-form authority that differs from Host (even in case or an explicit default
/// port) wins over it (RFC 9112 §3.2.2), by rewriting the Host value. `host`: offset and
/// value of the Host field. `Ok(Some((host value range, authority range)))` for a rewrite.
fn authority(
    request_line: &[u8],
    host: Option<(usize, &[u8])>,
) -> Result<Option<HostRewrite>, &'static str> {
    use pingora::protocols::http::authority::{
        RawTargetAuthority, is_http_family_scheme, raw_target_authority,
    };
    if host.is_some_and(|(_, v)| v.contains(&b'@')) {
        return Err("userinfo in the Host field");
    }
    // The target is the second part of a request line that passed `parse_request_line`.
    let Some(target_at) = request_line.iter().position(|b| *b == b' ').map(|i| i + 1) else {
        return Ok(None);
    };
    let target_len = request_line[target_at..].iter().position(|b| *b == b' ').unwrap_or(0);
    let target = &request_line[target_at..target_at + target_len];
    if request_line.starts_with(b"CONNECT ") {
        return Ok(None);
    }
    match raw_target_authority(target) {
        RawTargetAuthority::None => Ok(None),
        RawTargetAuthority::AmbiguousAuthority => Err("ambiguous absolute-form request target"),
        RawTargetAuthority::Absolute { scheme, authority, .. } => {
            if authority.contains(&b'@') {
                return Err("userinfo in the request target");
            }
            if is_http_family_scheme(scheme) && http::uri::Authority::try_from(authority).is_err() {
                return Err("unparseable authority in the request target");
            }
            let Some((host_at, value)) = host else { return Ok(None) };
            if value == authority {
                return Ok(None);
            }
            let auth_at = authority.as_ptr() as usize - request_line.as_ptr() as usize;
            Ok(Some((host_at..host_at + value.len(), auth_at..auth_at + authority.len())))
        }
    }
}

/// A field line (without its CRLF): `Ok((name, value))` with the value's OWS trimmed.
fn check_field(line: &[u8]) -> Result<(&[u8], &[u8]), &'static str> {
    if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
        return Err("obs-fold (a field line starting with whitespace)");
    }
    let Some(colon) = line.iter().position(|b| *b == b':') else {
        return Err("a field line without a colon");
    };
    let name = &line[..colon];
    if name.is_empty() {
        return Err("a field line without a name");
    }
    if !is_token(name) {
        return Err("a field name that is not a token (whitespace before the colon?)");
    }
    let value = trim_ows(&line[colon + 1..]);
    if value.iter().any(|b| (*b < 0x20 && *b != b'\t') || *b == 0x7f) {
        return Err("a control character in a field value");
    }
    Ok((name, value))
}

/// The framing a request head declares (RFC 9112 §6, RFC 9110 §8.6).
fn framing<'a, I>(fields: impl Fn() -> I, http10: bool) -> Result<Framing, (u16, String)>
where
    I: Iterator<Item = (&'a [u8], &'a [u8])>,
{
    let bad = |why: &str| Err((400, why.to_owned()));
    let values = |name: &[u8]| -> Vec<&[u8]> {
        fields().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v).collect()
    };
    let te = values(b"transfer-encoding");
    let cl = values(b"content-length");
    if !te.is_empty() {
        if http10 {
            return bad("Transfer-Encoding in an HTTP/1.0 request");
        }
        if !cl.is_empty() {
            return bad("both Content-Length and Transfer-Encoding");
        }
        let codings: Vec<&[u8]> = te
            .iter()
            .flat_map(|v| v.split(|b| *b == b','))
            .map(trim_ows)
            .filter(|c| !c.is_empty())
            .collect();
        let Some((last, before)) = codings.split_last() else {
            return bad("an empty Transfer-Encoding");
        };
        if !last.eq_ignore_ascii_case(b"chunked") {
            return bad("Transfer-Encoding does not end in chunked");
        }
        if before.iter().any(|c| coding_name(c).eq_ignore_ascii_case(b"chunked")) {
            return bad("chunked applied more than once");
        }
        if let Some(other) = before.first() {
            return Err((
                501,
                format!(
                    "transfer coding {:?} is not implemented (only chunked is)",
                    String::from_utf8_lossy(other)
                ),
            ));
        }
        return Ok(Framing::Chunked);
    }
    let mut length: Option<u64> = None;
    for v in cl {
        for element in v.split(|b| *b == b',').map(trim_ows) {
            if element.is_empty() || element.len() > 19 || !element.iter().all(u8::is_ascii_digit) {
                return bad("Content-Length is not a number");
            }
            let n: u64 = std::str::from_utf8(element)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or((400, "Content-Length overflows".to_owned()))?;
            match length {
                Some(prev) if prev != n => return bad("Content-Length values differ"),
                _ => length = Some(n),
            }
        }
    }
    Ok(length.map_or(Framing::None, Framing::Length))
}

/// The [`HeadInfo::te_edits`] of a chunked head: none when its one Transfer-Encoding line
/// says `chunked` alone. `block` is the field block, starting at offset `at` of the head.
/// The head passed [`framing`], so its Transfer-Encoding lines together name exactly one
/// non-empty coding, `chunked`.
fn chunked_edits(
    head: &[u8],
    block: &[u8],
    at: usize,
) -> Vec<(std::ops::Range<usize>, &'static [u8])> {
    let mut lines = Vec::new();
    let mut start = at;
    for raw in block.split_inclusive(|b| *b == b'\n') {
        let line_start = start;
        start += raw.len();
        let line = raw.strip_suffix(b"\r\n").unwrap_or(raw);
        if let Ok((name, value)) = check_field(line) {
            if name.eq_ignore_ascii_case(b"transfer-encoding") {
                lines.push((line_start..start, value));
            }
        }
    }
    if let [(_, value)] = lines[..] {
        if value.eq_ignore_ascii_case(b"chunked") {
            return Vec::new();
        }
    }
    lines
        .into_iter()
        .map(|(line, value)| {
            if value.split(|b| *b == b',').all(|c| trim_ows(c).is_empty()) {
                (line, b"".as_slice())
            } else {
                let v = value.as_ptr() as usize - head.as_ptr() as usize;
                (v..v + value.len(), b"chunked".as_slice())
            }
        })
        .collect()
}

fn coding_name(c: &[u8]) -> &[u8] {
    trim_ows(c.split(|b| *b == b';').next().unwrap_or(c))
}

/// chunk-size [ chunk-ext ] (without CRLF): the size.
fn parse_chunk_line(line: &[u8]) -> Result<u64, &'static str> {
    if line.contains(&b'\r') {
        return Err("bare CR in a chunk-size line");
    }
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err("chunk size is not hexadecimal");
    }
    // Leading zeros are allowed; 16 significant hex digits overflow nothing, 17 do.
    let significant = line[..digits].iter().skip_while(|b| **b == b'0').count();
    if significant > 15 {
        return Err("chunk size overflows");
    }
    let size = line[..digits]
        .iter()
        .fold(0u64, |acc, b| acc * 16 + u64::from((*b as char).to_digit(16).unwrap_or(0)));
    let mut rest = &line[digits..];
    // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
    loop {
        rest = trim_ows(rest);
        if rest.is_empty() {
            return Ok(size);
        }
        let Some(after) = rest.strip_prefix(b";") else {
            return Err("junk after the chunk size");
        };
        let after = trim_ows(after);
        let name = after.iter().take_while(|b| is_tchar(**b)).count();
        if name == 0 {
            return Err("chunk extension without a name");
        }
        rest = trim_ows(&after[name..]);
        if let Some(v) = rest.strip_prefix(b"=") {
            let v = trim_ows(v);
            let len = if v.first() == Some(&b'"') {
                quoted_len(v).ok_or("unterminated quoted chunk extension value")?
            } else {
                v.iter().take_while(|b| is_tchar(**b)).count()
            };
            if len == 0 {
                return Err("chunk extension without a value");
            }
            rest = &v[len..];
        }
    }
}

/// Length of a quoted-string at the start of `v` (which starts with `"`).
fn quoted_len(v: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i < v.len() {
        match v[i] {
            b'"' => return Some(i + 1),
            b'\\' if i + 1 < v.len() && is_qdtext_or_escapable(v[i + 1]) => i += 2,
            b if is_qdtext_or_escapable(b) => i += 1,
            _ => return None,
        }
    }
    None
}

fn is_qdtext_or_escapable(b: u8) -> bool {
    b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80
}

/// `tchar` of RFC 9110 §5.6.2 as a table: a field name costs one load per byte.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    table
};

fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|b| is_tchar(*b))
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Method and target of a request line as far as they can be read, for the access log.
fn loose_request_line(line: &[u8]) -> (String, String) {
    let (method, target) = loose_parts(line);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (text(method), text(target))
}

/// [`loose_request_line`] without copies: each part at most 1 KiB, `-` when missing.
fn loose_parts(line: &[u8]) -> (&[u8], &[u8]) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.splitn(3, |b| *b == b' ');
    (loose_part(parts.next()), loose_part(parts.next()))
}

fn loose_part(p: Option<&[u8]>) -> &[u8] {
    match p {
        Some(b) if !b.is_empty() => &b[..b.len().min(1024)],
        _ => b"-",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { max_header_size: 1024, max_header_count: 10, max_uri_size: 64 };

    #[test]
    fn tchar_table_is_rfc_9110_tchar() {
        // RFC 9110 §5.6.2: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
        // "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
        let listed =
            b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        for b in 0..=255u8 {
            assert_eq!(is_tchar(b), listed.contains(&b), "byte {b:#04x}");
        }
    }

    /// Feed `input` whole; the steps until `More` (or a refusal/fault).
    fn run(input: &[u8]) -> Vec<Step> {
        let mut s = Scanner::new(LIMITS);
        let mut at = 0;
        let mut out = Vec::new();
        loop {
            let step = s.step(&input[at..], true);
            match &step {
                Step::Pass(n) => at += n,
                Step::Head { len, .. } => at += len,
                Step::More => return out,
                Step::Refuse(_) | Step::Fault(_) => {
                    out.push(step);
                    return out;
                }
            }
            out.push(step);
        }
    }

    fn status(input: &[u8]) -> u16 {
        match run(input).last() {
            Some(Step::Refuse(r)) | Some(Step::Fault(r)) => r.status,
            _ => 200,
        }
    }

    macro_rules! statuses {
        ($($name:ident: $input:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() { assert_eq!(status($input), $want, "{:?}", run($input)); }
        )*};
    }

    statuses! {
        plain_get: b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" => 200;
        leading_crlf: b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n" => 200;
        space_in_target: b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n" => 400;
        double_space: b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n" => 400;
        trailing_space: b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n" => 400;
        tab_separator: b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n" => 400;
        ctl_in_target: b"GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n" => 400;
        del_in_target: b"GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n" => 400;
        lowercase_version: b"GET / http/1.1\r\nHost: a\r\n\r\n" => 400;
        version_letters: b"GET / HTTP/1.x\r\nHost: a\r\n\r\n" => 400;
        version_two_digits: b"GET / HTTP/1.10\r\nHost: a\r\n\r\n" => 400;
        http09_line: b"GET /\r\n\r\n" => 400;
        http2_line: b"GET / HTTP/2.0\r\nHost: a\r\n\r\n" => 505;
        http3_line: b"GET / HTTP/3.0\r\nHost: a\r\n\r\n" => 505;
        http0_line: b"GET / HTTP/0.9\r\nHost: a\r\n\r\n" => 505;
        http12_passes: b"GET / HTTP/1.2\r\nHost: a\r\n\r\n" => 200;
        garbage: b"GARBAGE\r\n\r\n" => 400;
        obs_fold: b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n" => 400;
        space_before_colon: b"GET / HTTP/1.1\r\nHost: a\r\nX : a\r\n\r\n" => 400;
        bad_name: b"GET / HTTP/1.1\r\nX(y): a\r\n\r\n" => 400;
        no_colon: b"GET / HTTP/1.1\r\nbad line\r\n\r\n" => 400;
        nul_in_value: b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n" => 400;
        bare_cr_in_value: b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n" => 400;
        bare_lf_lines: b"GET / HTTP/1.1\nHost: a\n\n" => 400;
        bare_lf_field: b"GET / HTTP/1.1\r\nHost: a\n\r\n" => 400;
        obs_text_value: b"GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n" => 200;
        connect: b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n" => 405;
        uri_too_long: format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(64)).as_bytes() => 414;
        uri_too_long_unfinished: format!("GET /{}", "a".repeat(200)).as_bytes() => 414;
        too_many_fields: format!("GET / HTTP/1.1\r\n{}\r\n", "X: y\r\n".repeat(11)).as_bytes() => 431;
        ten_fields_pass: format!("GET / HTTP/1.1\r\n{}\r\n", "X: y\r\n".repeat(10)).as_bytes() => 200;
        head_too_large: format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "y".repeat(1100)).as_bytes() => 431;
        te_and_cl: b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n" => 400;
        te_http10: b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" => 400;
        te_gzip_chunked: b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" => 501;
        te_gzip_line_then_chunked: b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" => 501;
        te_chunked_gzip: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n" => 400;
        te_chunked_twice: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n" => 400;
        te_identity: b"POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n" => 400;
        te_xchunked: b"POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n" => 400;
        te_empty: b"POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n" => 400;
        te_chunked_case: b"POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n" => 200;
        cl_list_equal: b"POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\nx" => 200;
        cl_lines_equal: b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx" => 200;
        cl_differ: b"POST / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\nx" => 400;
        cl_lines_differ: b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx" => 400;
        cl_plus: b"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\nx" => 400;
        cl_empty: b"POST / HTTP/1.1\r\nContent-Length: \r\n\r\n" => 400;
        cl_empty_element: b"POST / HTTP/1.1\r\nContent-Length: 1,,1\r\n\r\nx" => 400;
        cl_overflow: b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n" => 400;
        chunk_ext_bare_lf: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext\nfoo\r\nhello\r\n0\r\n\r\n" => 400;
        chunk_ext_value_bare_lf: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\nhello\r\n0\r\n\r\n" => 400;
        chunk_size_bare_lf: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n" => 400;
        chunk_size_not_hex: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" => 400;
        chunk_size_0x: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n" => 400;
        chunk_size_sign: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n" => 400;
        chunk_size_leading_space: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n" => 400;
        chunk_size_overflow: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n" => 400;
        chunk_size_leading_zeros: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n000000000000000000005\r\nhello\r\n0\r\n\r\n" => 200;
        chunk_missing_crlf: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n" => 400;
        chunk_ext_ok: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 ; a=b ;c=\"d \\\" e\";f\r\nhello\r\n0\r\n\r\n" => 200;
        chunk_ext_unterminated: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b\r\nhello\r\n0\r\n\r\n" => 400;
        chunk_ext_junk: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n" => 400;
        trailers_ok: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: v\r\n\r\n" => 200;
        trailer_bad: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nbad trailer\r\n\r\n" => 400;
        trailer_bare_lf: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: v\n\r\n" => 400;
        host_twice: b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n" => 400;
        host_twice_any_case: b"GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n" => 400;
        host_userinfo: b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n" => 400;
        target_userinfo: b"GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n" => 400;
        target_ambiguous: b"GET http:a/ HTTP/1.1\r\nHost: a\r\n\r\n" => 400;
        target_backslash: b"GET http://a\\b/ HTTP/1.1\r\nHost: a\r\n\r\n" => 400;
        target_empty_authority: b"GET http:/// HTTP/1.1\r\nHost: a\r\n\r\n" => 400;
        absolute_form_other_host: b"GET http://b/x HTTP/1.1\r\nHost: a\r\n\r\n" => 200;
        pipelined_second_bad: b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /a b HTTP/1.1\r\n\r\n" => 400;
        target_lt_in_path: b"GET /a<b HTTP/1.1\r\n\r\n" => 400;
        target_gt_in_path: b"GET /a>b HTTP/1.1\r\n\r\n" => 400;
        target_backtick_in_path: b"GET /a`b HTTP/1.1\r\n\r\n" => 400;
        target_quote_in_query: b"GET /x?\"a\" HTTP/1.1\r\n\r\n" => 400;
        target_lt_in_query: b"GET /x?a<b HTTP/1.1\r\n\r\n" => 400;
        target_gt_in_absolute_path: b"GET http://a/x>y HTTP/1.1\r\n\r\n" => 400;
        target_not_utf8: b"GET /\xff HTTP/1.1\r\n\r\n" => 400;
        target_not_utf8_query: b"GET /x?\xff HTTP/1.1\r\n\r\n" => 400;
        target_not_utf8_fragment: b"GET /x#\xff HTTP/1.1\r\n\r\n" => 400;
        target_utf8_passes: b"GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n" => 200;
        target_quote_in_path_passes: b"GET /a\"b HTTP/1.1\r\n\r\n" => 200;
        target_braces_pipe_caret_pass: b"GET /{a}|^[]\\?{b}|^`[] HTTP/1.1\r\n\r\n" => 200;
        target_lt_in_fragment_passes: b"GET /x#<> HTTP/1.1\r\n\r\n" => 200;
        te_trailing_comma: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n" => 200;
        te_empty_last_line: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: \r\n\r\n0\r\n\r\n" => 200;
    }

    #[test]
    fn bodies_are_followed_to_the_next_head() {
        let input = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPOST /b HTTP/1.1\r\n\
                      Transfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\nGET /c HTTP/1.1\r\n\r\n";
        let steps = run(input);
        let heads = steps.iter().filter(|s| matches!(s, Step::Head { .. })).count();
        assert_eq!(heads, 3, "{steps:?}");
        let passed: usize = steps
            .iter()
            .map(|s| match s {
                Step::Pass(n) | Step::Head { len: n, .. } => *n,
                _ => 0,
            })
            .sum();
        assert_eq!(passed, input.len());
    }

    #[test]
    fn chunk_data_counts_as_body_bytes() {
        let mut s = Scanner::new(LIMITS);
        let input = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n";
        let mut at = 0;
        while let Step::Pass(n) | Step::Head { len: n, .. } = s.step(&input[at..], false) {
            at += n;
        }
        assert_eq!(at, input.len());
        assert_eq!(s.body_bytes(), 5);
        assert!(!s.body_done());
        assert_eq!(s.step(b"0\r\n\r\n", false), Step::Pass(3));
        assert_eq!(s.step(b"\r\n", false), Step::Pass(2));
        assert!(s.body_done());
    }

    #[test]
    fn partial_input_waits() {
        let mut s = Scanner::new(LIMITS);
        assert_eq!(s.step(b"GET / HTTP/1.1\r\nHost: a\r\n", false), Step::More);
        assert_eq!(s.step(b"GET / HT", false), Step::More);
    }

    #[test]
    fn minor_version_above_one_is_rewritten() {
        let Step::Head { info, .. } = Scanner::new(LIMITS).step(b"GET /x HTTP/1.2\r\n\r\n", false)
        else {
            panic!("not a head");
        };
        assert_eq!(info.minor_version_at, Some(14));
    }

    #[test]
    fn absolute_form_authority_replaces_host() {
        let input = b"GET http://b.example:8080/x HTTP/1.1\r\nX: 1\r\nHost: a\r\n\r\n";
        let Step::Head { info, .. } = Scanner::new(LIMITS).step(input, false) else {
            panic!("not a head");
        };
        let (host, authority) = info.host_from_target.expect("a rewrite");
        assert_eq!(&input[host], b"a");
        assert_eq!(&input[authority], b"b.example:8080");
        // The same authority: nothing to rewrite.
        let same = b"GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n";
        let Step::Head { info, .. } = Scanner::new(LIMITS).step(same, false) else { panic!() };
        assert_eq!(info.host_from_target, None);
    }

    /// Every target of plain bytes alone is one pingora's request header takes: the table
    /// is no wider than pingora (and the `http` crate) allow.
    #[test]
    fn plain_targets_are_targets_pingora_takes() {
        let plain: Vec<u8> = (0..=255u8).filter(|b| PLAIN_TARGET[usize::from(*b)]).collect();
        for first in [b"/".as_slice(), b"/x?", b"http://a/", b"http://a?"] {
            let target = [first, &plain].concat();
            assert!(pingora::http::RequestHeader::build_no_case("GET", &target, None).is_ok());
            for b in &plain {
                let target = [first, &[*b]].concat();
                let ok = pingora::http::RequestHeader::build_no_case("GET", &target, None).is_ok();
                assert!(ok, "{:?}", String::from_utf8_lossy(&target));
            }
        }
    }

    #[test]
    fn targets_longer_than_pingora_holds_are_414() {
        let big = Limits { max_header_size: 1 << 20, max_header_count: 10, max_uri_size: 1 << 20 };
        let line = |n: usize| format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(n - 1));
        let step = |n: usize| Scanner::new(big).step(line(n).as_bytes(), false);
        assert!(matches!(step(MAX_URI_LEN), Step::Head { .. }));
        assert!(matches!(step(MAX_URI_LEN + 1), Step::Refuse(Refusal { status: 414, .. })));
    }

    /// The head pingora parses after the front door's edits.
    fn edited(input: &[u8]) -> Vec<u8> {
        let Step::Head { len, info } = Scanner::new(LIMITS).step(input, false) else {
            panic!("not a head: {:?}", String::from_utf8_lossy(input));
        };
        let mut head = input[..len].to_vec();
        for (range, bytes) in info.te_edits.iter().rev() {
            head.splice(range.clone(), bytes.iter().copied());
        }
        head
    }

    #[test]
    fn transfer_encoding_lists_become_one_chunked_line() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"Transfer-Encoding: chunked\r\n", b"Transfer-Encoding: chunked\r\n"),
            (b"Transfer-Encoding: chunked,\r\n", b"Transfer-Encoding: chunked\r\n"),
            (b"Transfer-Encoding: chunked, ,\r\n", b"Transfer-Encoding: chunked\r\n"),
            (b"transfer-encoding: , Chunked\r\n", b"transfer-encoding: chunked\r\n"),
            (
                b"Transfer-Encoding: chunked\r\nX: 1\r\nTransfer-Encoding: \r\n",
                b"Transfer-Encoding: chunked\r\nX: 1\r\n",
            ),
            (
                b"Transfer-Encoding: ,\r\nTransfer-Encoding: chunked ,\r\n",
                b"Transfer-Encoding: chunked\r\n",
            ),
        ];
        for (te, want) in cases {
            let input = [b"POST / HTTP/1.1\r\nHost: a\r\n", *te, b"\r\n"].concat();
            let want = [b"POST / HTTP/1.1\r\nHost: a\r\n", *want, b"\r\n"].concat();
            assert_eq!(
                String::from_utf8_lossy(&edited(&input)),
                String::from_utf8_lossy(&want),
                "{:?}",
                String::from_utf8_lossy(te)
            );
        }
        let Step::Head { info, .. } = Scanner::new(LIMITS)
            .step(b"POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", false)
        else {
            panic!()
        };
        assert!(info.te_edits.is_empty());
    }

    #[test]
    fn refusals_keep_what_the_log_needs() {
        let Some(Step::Refuse(r)) = run(b"GET /a b HTTP/1.1\r\n\r\n").pop() else { panic!() };
        assert_eq!((r.method.as_str(), r.target.as_str()), ("GET", "/a"));
        let Some(Step::Refuse(r)) = run(b"GARBAGE\r\n\r\n").pop() else { panic!() };
        assert_eq!((r.method.as_str(), r.target.as_str()), ("GARBAGE", "-"));
    }

    #[test]
    fn upgrade_requests_turn_the_stream_opaque() {
        let input =
            b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n\x81\x05hello";
        let steps = run(input);
        assert!(matches!(steps[0], Step::Head { info: HeadInfo { upgrade: true, .. }, .. }));
        assert_eq!(steps[1], Step::Pass(7));
    }
}
