//! A strict HTTP/1.1 message parser (RFC 9112), the oracle of the raw client and the raw
//! origin: it accepts exactly the well-formed messages and says why it refuses the rest.
//!
//! Strict means: every line ends in CRLF (a bare LF is an error), the start line has single
//! spaces, field names are tokens with no whitespace before the colon, no obs-fold, no
//! control characters in values, a `Content-Length` is one decimal number, a
//! `Transfer-Encoding` ends in `chunked`, never both, chunk sizes are hex without overflow and
//! chunk extensions are `;name[=value]` with no CR or LF inside.

use std::fmt;

/// A header field as sent: the name with its original case and the raw value (OWS trimmed).
pub type Field = (String, Vec<u8>);

/// Why a message is not well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Malformed {}

fn bad<T>(msg: impl Into<String>) -> Result<T, Malformed> {
    Err(Malformed(msg.into()))
}

/// How a message's body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (a request without CL/TE, HEAD/1xx/204/304 responses).
    Empty,
    /// `Content-Length: N`.
    Length(u64),
    /// `Transfer-Encoding: …, chunked`.
    Chunked,
    /// A response body that ends when the connection closes.
    Close,
}

/// A parsed head: the start line split in three, and the fields in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Request: method; response: the HTTP version.
    pub first: String,
    /// Request: the target; response: the status code.
    pub second: String,
    /// Request: the HTTP version; response: the reason phrase (may be empty).
    pub third: String,
    /// Every field line, in order, names as sent.
    pub fields: Vec<Field>,
}

impl Head {
    /// Every value of field `name` (any case), in order.
    pub fn all(&self, name: &str) -> Vec<&[u8]> {
        self.fields
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .collect()
    }

    /// The value of field `name` as text when it appears exactly once.
    pub fn one(&self, name: &str) -> Option<String> {
        match self.all(name).as_slice() {
            [v] => Some(String::from_utf8_lossy(v).into_owned()),
            _ => None,
        }
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A token (RFC 9110 §5.6.2).
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|b| is_tchar(*b))
}

/// Where the head ends (the index just past the empty line), if it has ended.
/// A bare LF ends a line for this search too, so a head with bare LFs is found and refused.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(pos) = buf[i..].iter().position(|b| *b == b'\n') {
        let line_start = i;
        i += pos + 1;
        let line = &buf[line_start..i];
        if line == b"\r\n" || line == b"\n" {
            return Some(i);
        }
    }
    None
}

/// Parse a complete head (`buf` is exactly the head, ending in the empty line).
pub fn parse_head(buf: &[u8], request: bool) -> Result<Head, Malformed> {
    let Some(body) = buf.strip_suffix(b"\r\n").filter(|b| b.ends_with(b"\n")) else {
        return bad("the head does not end in an empty CRLF line");
    };
    let mut lines = body.split_inclusive(|b| *b == b'\n');
    let start = lines.next().unwrap_or_default();
    let start =
        start.strip_suffix(b"\r\n").map_or_else(|| bad("bare LF after the start line"), Ok)?;
    if start.contains(&b'\r') {
        return bad("CR inside the start line");
    }
    let (first, second, third) = split_start(start, request)?;
    let mut fields = Vec::new();
    for line in lines {
        let Some(line) = line.strip_suffix(b"\r\n") else {
            return bad(format!("bare LF ending field line {:?}", String::from_utf8_lossy(line)));
        };
        if line.contains(&b'\r') {
            return bad(format!("CR inside field line {:?}", String::from_utf8_lossy(line)));
        }
        fields.push(parse_field(line)?);
    }
    Ok(Head { first, second, third, fields })
}

fn split_start(line: &[u8], request: bool) -> Result<(String, String, String), Malformed> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let shown = text(line);
    if request {
        let parts: Vec<&[u8]> = line.split(|b| *b == b' ').collect();
        let [method, target, version] = parts.as_slice() else {
            return bad(format!("request line is not `method SP target SP version`: {shown:?}"));
        };
        if !is_token(method) {
            return bad(format!("method is not a token: {shown:?}"));
        }
        if target.is_empty() || target.iter().any(|b| *b <= b' ' || *b == 0x7f) {
            return bad(format!("bad request target: {shown:?}"));
        }
        if !is_version(version) {
            return bad(format!("bad HTTP version: {shown:?}"));
        }
        Ok((text(method), text(target), text(version)))
    } else {
        let mut parts = line.splitn(3, |b| *b == b' ');
        let version = parts.next().unwrap_or_default();
        let status = parts.next().unwrap_or_default();
        let reason = parts.next().unwrap_or_default();
        if !is_version(version) {
            return bad(format!("bad HTTP version in status line: {shown:?}"));
        }
        if status.len() != 3 || !status.iter().all(u8::is_ascii_digit) {
            return bad(format!("bad status code: {shown:?}"));
        }
        if reason.iter().any(|b| (*b < b' ' && *b != b'\t') || *b == 0x7f) {
            return bad(format!("control character in the reason phrase: {shown:?}"));
        }
        Ok((text(version), text(status), text(reason)))
    }
}

fn is_version(v: &[u8]) -> bool {
    matches!(v, [b'H', b'T', b'T', b'P', b'/', a, b'.', b]
        if a.is_ascii_digit() && b.is_ascii_digit())
}

fn parse_field(line: &[u8]) -> Result<Field, Malformed> {
    let shown = String::from_utf8_lossy(line);
    if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
        return bad(format!("obs-fold (a line starting with whitespace): {shown:?}"));
    }
    let Some(colon) = line.iter().position(|b| *b == b':') else {
        return bad(format!("field line without a colon: {shown:?}"));
    };
    let name = &line[..colon];
    if !is_token(name) {
        return bad(format!("field name is not a token (whitespace before the colon?): {shown:?}"));
    }
    let value = trim_ows(&line[colon + 1..]);
    if value.iter().any(|b| (*b < b' ' && *b != b'\t') || *b == 0x7f) {
        return bad(format!("control character in a field value: {shown:?}"));
    }
    Ok((String::from_utf8_lossy(name).into_owned(), value.to_vec()))
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

/// The body framing of a message with `head` (RFC 9112 §6.3). `request_method` is the
/// method of the request a response answers (`None` for a request).
pub fn framing(head: &Head, request_method: Option<&str>) -> Result<Framing, Malformed> {
    let te = head.all("transfer-encoding");
    let cl = head.all("content-length");
    if let Some(method) = request_method {
        let status: u16 = head.second.parse().unwrap_or(0);
        if method.eq_ignore_ascii_case("HEAD")
            || (100..200).contains(&status)
            || status == 204
            || status == 304
        {
            if status == 204 && (!cl.is_empty() || !te.is_empty()) {
                return bad("a 204 response with Content-Length or Transfer-Encoding");
            }
            return Ok(Framing::Empty);
        }
    }
    if !te.is_empty() && !cl.is_empty() {
        return bad("both Transfer-Encoding and Content-Length");
    }
    if !te.is_empty() {
        let codings: Vec<String> = te
            .iter()
            .flat_map(|v| v.split(|b| *b == b','))
            .map(|c| String::from_utf8_lossy(trim_ows(c)).to_ascii_lowercase())
            .collect();
        if codings.iter().any(String::is_empty) {
            return bad("empty coding in Transfer-Encoding");
        }
        if codings.last().map(String::as_str) == Some("chunked")
            && codings.iter().filter(|c| *c == "chunked").count() == 1
        {
            return Ok(Framing::Chunked);
        }
        if request_method.is_some() && !codings.iter().any(|c| c == "chunked") {
            return Ok(Framing::Close);
        }
        return bad(format!("Transfer-Encoding not ending in one chunked: {codings:?}"));
    }
    match cl.as_slice() {
        [] => Ok(if request_method.is_some() { Framing::Close } else { Framing::Empty }),
        [v] if !v.is_empty() && v.len() <= 19 && v.iter().all(u8::is_ascii_digit) => {
            let n = std::str::from_utf8(v).ok().and_then(|s| s.parse().ok());
            n.map(Framing::Length).map_or_else(|| bad("Content-Length overflows"), Ok)
        }
        [_] => {
            bad(format!("Content-Length is not one number: {:?}", String::from_utf8_lossy(cl[0])))
        }
        _ => bad("Content-Length on several lines"),
    }
}

/// A chunked body, decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunked {
    /// The data, chunks joined.
    pub data: Vec<u8>,
    /// The size of each chunk, the last (0) included.
    pub sizes: Vec<u64>,
    /// The trailer fields.
    pub trailers: Vec<Field>,
    /// Bytes of `buf` the body took, terminator included.
    pub len: usize,
}

/// Decode a chunked body at the start of `buf`: `Ok(None)` when more bytes are needed.
pub fn parse_chunked(buf: &[u8]) -> Result<Option<Chunked>, Malformed> {
    let mut out = Chunked::default();
    let mut i = 0;
    loop {
        let Some(nl) = buf[i..].iter().position(|b| *b == b'\n') else {
            return if buf.len() - i > 4096 { bad("chunk-size line too long") } else { Ok(None) };
        };
        let line = &buf[i..i + nl];
        let Some(line) = line.strip_suffix(b"\r") else {
            return bad("bare LF ending a chunk-size line");
        };
        if line.contains(&b'\r') {
            return bad("CR inside a chunk-size line");
        }
        i += nl + 1;
        let size = chunk_size(line)?;
        out.sizes.push(size);
        if size == 0 {
            // Trailer section: field lines, then CRLF.
            loop {
                let Some(nl) = buf[i..].iter().position(|b| *b == b'\n') else { return Ok(None) };
                let line = &buf[i..i + nl];
                let Some(line) = line.strip_suffix(b"\r") else {
                    return bad("bare LF in the trailer section");
                };
                i += nl + 1;
                if line.is_empty() {
                    out.len = i;
                    return Ok(Some(out));
                }
                out.trailers.push(parse_field(line)?);
            }
        }
        let size = usize::try_from(size).map_or_else(|_| bad("chunk too large"), Ok)?;
        if buf.len() < i + size + 2 {
            return Ok(None);
        }
        out.data.extend_from_slice(&buf[i..i + size]);
        i += size;
        if &buf[i..i + 2] != b"\r\n" {
            return bad("chunk data not followed by CRLF");
        }
        i += 2;
    }
}

fn chunk_size(line: &[u8]) -> Result<u64, Malformed> {
    let shown = String::from_utf8_lossy(line);
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return bad(format!("chunk size is not hex: {shown:?}"));
    }
    if digits > 15 {
        return bad(format!("chunk size overflows: {shown:?}"));
    }
    let size = u64::from_str_radix(std::str::from_utf8(&line[..digits]).unwrap_or("x"), 16)
        .map_or_else(|_| bad(format!("chunk size: {shown:?}")), Ok)?;
    let mut ext = trim_ows(&line[digits..]);
    // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
    while !ext.is_empty() {
        let Some(rest) = ext.strip_prefix(b";") else {
            return bad(format!("junk after the chunk size: {shown:?}"));
        };
        let rest = trim_ows(rest);
        let name_len = rest.iter().take_while(|b| is_tchar(**b)).count();
        if name_len == 0 {
            return bad(format!("chunk extension without a name: {shown:?}"));
        }
        let mut rest = trim_ows(&rest[name_len..]);
        if let Some(v) = rest.strip_prefix(b"=") {
            let v = trim_ows(v);
            let vlen = if v.first() == Some(&b'"') {
                let close = v[1..].iter().position(|b| *b == b'"');
                close.map_or_else(
                    || bad(format!("unterminated quoted chunk ext: {shown:?}")),
                    |c| Ok(c + 2),
                )?
            } else {
                v.iter().take_while(|b| is_tchar(**b)).count()
            };
            if vlen == 0 {
                return bad(format!("chunk extension without a value: {shown:?}"));
            }
            rest = trim_ows(&v[vlen..]);
        }
        ext = rest;
    }
    Ok(size)
}

/// A whole message: head, framing and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The head.
    pub head: Head,
    /// How the body was delimited.
    pub framing: Framing,
    /// The body, decoded (chunk framing removed).
    pub body: Vec<u8>,
    /// Chunk sizes in order, the terminating 0 included (chunked only).
    pub chunk_sizes: Vec<u64>,
    /// Trailer fields (chunked only).
    pub trailers: Vec<Field>,
    /// The message's bytes exactly as they arrived.
    pub raw: Vec<u8>,
}

/// Parse one message at the start of `buf`. `Ok(None)`: more bytes needed (for a
/// close-delimited body: until `eof`). `request_method` as in [`framing`].
pub fn parse_message(
    buf: &[u8],
    request_method: Option<&str>,
    eof: bool,
) -> Result<Option<(Message, usize)>, Malformed> {
    let Some(end) = head_end(buf) else {
        if eof && !buf.is_empty() {
            return bad("connection closed inside a head");
        }
        return Ok(None);
    };
    let head = parse_head(&buf[..end], request_method.is_none())?;
    let framing = framing(&head, request_method)?;
    let rest = &buf[end..];
    let (body, sizes, trailers, used) = match framing {
        Framing::Empty => (Vec::new(), Vec::new(), Vec::new(), 0),
        Framing::Length(n) => {
            let n = usize::try_from(n).map_or_else(|_| bad("Content-Length too large"), Ok)?;
            if rest.len() < n {
                if eof {
                    return bad(format!("closed after {} of {n} body bytes", rest.len()));
                }
                return Ok(None);
            }
            (rest[..n].to_vec(), Vec::new(), Vec::new(), n)
        }
        Framing::Chunked => match parse_chunked(rest)? {
            Some(c) => (c.data, c.sizes, c.trailers, c.len),
            None if eof => return bad("connection closed inside a chunked body"),
            None => return Ok(None),
        },
        Framing::Close if request_method.is_none() => {
            return bad("a request body without length (Transfer-Encoding without chunked)");
        }
        Framing::Close => {
            if !eof {
                return Ok(None);
            }
            (rest.to_vec(), Vec::new(), Vec::new(), rest.len())
        }
    };
    let len = end + used;
    let message =
        Message { head, framing, body, chunk_sizes: sizes, trailers, raw: buf[..len].to_vec() };
    Ok(Some((message, len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(bytes: &[u8]) -> Result<Option<(Message, usize)>, Malformed> {
        parse_message(bytes, None, false)
    }

    macro_rules! refuses {
        ($($name:ident: $bytes:expr;)*) => {$(
            #[test]
            fn $name() { assert!(request($bytes).is_err(), "{:?}", request($bytes)); }
        )*};
    }

    refuses! {
        space_in_target: b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n";
        double_space: b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n";
        bare_lf_field: b"GET / HTTP/1.1\r\nHost: a\n\r\n";
        obs_fold: b"GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n";
        space_before_colon: b"GET / HTTP/1.1\r\nHost : a\r\n\r\n";
        cl_list: b"POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\nx";
        cl_twice: b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx";
        cl_and_te: b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        chunk_ext_bare_lf: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;a\nb\r\nx\r\n0\r\n\r\n";
        chunk_size_junk: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1x\r\nx\r\n0\r\n\r\n";
        chunk_missing_crlf: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy0\r\n\r\n";
        chunk_overflow: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000001\r\nx\r\n";
        te_not_chunked_last: b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n";
        bad_version: b"GET / HTTP/1.x\r\n\r\n";
        ctl_in_value: b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n";
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let raw = b"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
                    3;x=1;y=\"q\"\r\nabc\r\n0\r\nT: v\r\n\r\nNEXT";
        let (m, len) = request(raw).unwrap().unwrap();
        assert_eq!(m.body, b"abc");
        assert_eq!(m.chunk_sizes, [3, 0]);
        assert_eq!(m.trailers, [("T".to_owned(), b"v".to_vec())]);
        assert_eq!(&raw[len..], b"NEXT");
    }

    #[test]
    fn incomplete_needs_more() {
        assert_eq!(request(b"GET / HTTP/1.1\r\nHost: a\r\n").unwrap(), None);
        assert_eq!(request(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nab").unwrap(), None);
    }

    #[test]
    fn response_framing_follows_the_method_and_status() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
        let (m, _) = parse_message(r, Some("HEAD"), false).unwrap().unwrap();
        assert_eq!(m.framing, Framing::Empty);
        let r = b"HTTP/1.1 200 OK\r\n\r\nuntil close";
        assert_eq!(parse_message(r, Some("GET"), false).unwrap(), None);
        let (m, _) = parse_message(r, Some("GET"), true).unwrap().unwrap();
        assert_eq!(m.body, b"until close");
        assert!(
            parse_message(b"HTTP/1.1 204 No\r\nContent-Length: 0\r\n\r\n", Some("GET"), false)
                .is_err()
        );
    }
}
