//! [`Template::render`] and the value formats of every token.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use crate::facts::Facts;
use crate::template::{Named, Segment, Template, Token};

/// What a missing (or empty) value prints as.
const MISSING: &[u8] = b"-";

/// First second humantime cannot format (year 10000).
const MAX_UNIX_SECS: u64 = 253_402_300_800;

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

const SIZE_UNITS: [&str; 7] = ["B", "KB", "MB", "GB", "TB", "PB", "EB"];

impl Template {
    /// Append one log line for `facts` to `out`, without a trailing newline.
    ///
    /// Allocates nothing beyond growing `out`; reuse one buffer across requests.
    pub fn render(&self, facts: &Facts<'_>, out: &mut Vec<u8>) {
        for segment in self.segments.iter() {
            match segment {
                Segment::Literal(text) => out.extend_from_slice(text.as_bytes()),
                Segment::Token(token) => render_token(token, facts, out),
            }
        }
    }
}

fn render_token(token: &Token, f: &Facts<'_>, out: &mut Vec<u8>) {
    match token {
        Token::Named(named) => render_named(*named, f, out),
        Token::RequestHeader(name) => put_opt(out, f.headers.request_header(name)),
        Token::ResponseHeader(name) => put_opt(out, f.headers.response_header(name)),
        Token::Cookie(name) => {
            put_opt(out, f.headers.request_header("Cookie").and_then(|c| find_cookie(c, name)))
        }
        Token::Env { value, .. } => out.extend_from_slice(value),
        Token::HttpHeader { header, .. } => match f.headers.request_header(header) {
            Some(value) => escape_nginx_into(out, value),
            None => out.extend_from_slice(MISSING),
        },
    }
}

fn render_named(named: Named, f: &Facts<'_>, out: &mut Vec<u8>) {
    match named {
        Named::Host => put_opt(out, f.host.map(str::as_bytes)),
        Named::Method => put_escaped(out, f.method.as_bytes()),
        Named::Path => put_escaped(out, f.path.as_bytes()),
        Named::Query => put_opt(out, f.query.map(str::as_bytes)),
        Named::Uri => {
            put_escaped(out, f.path.as_bytes());
            if let Some(query) = f.query.filter(|q| !q.is_empty()) {
                out.push(b'?');
                escape_into(out, query.as_bytes());
            }
        }
        Named::Proto => put_escaped(out, f.proto.as_bytes()),
        Named::Scheme => put_escaped(out, f.scheme.as_bytes()),
        Named::Remote | Named::RemoteAddr => match f.remote {
            Some(addr) => put_ip(out, addr.ip()),
            None => out.extend_from_slice(MISSING),
        },
        Named::ClientIp => {
            let forwarded = f.headers.request_header("X-Forwarded-For").map(first_list_item);
            match (forwarded.filter(|v| !v.is_empty()), f.remote) {
                (Some(first), _) => escape_into(out, first),
                (None, Some(addr)) => put_ip(out, addr.ip()),
                (None, None) => out.extend_from_slice(MISSING),
            }
        }
        Named::Referer => put_opt(out, f.headers.request_header("Referer")),
        Named::UserAgent => put_opt(out, f.headers.request_header("User-Agent")),
        Named::When | Named::TimeLocal => put_when(out, f.when, TimeForm::Local),
        Named::WhenUtcIso => put_when(out, f.when, TimeForm::Iso),
        Named::WhenUnix => match f.when.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(since) => put_secs_millis(out, since),
            Err(_) => out.extend_from_slice(MISSING),
        },
        Named::Status => put_u64(out, u64::from(f.status)),
        Named::Size | Named::BodyBytesSent => put_u64(out, f.size),
        Named::SizeHuman => put_size_human(out, f.size),
        Named::PayloadSize => put_u64(out, f.payload_size),
        Named::PayloadSizeHuman => put_size_human(out, f.payload_size),
        Named::Latency => put_u64(out, millis(f.latency)),
        Named::LatencyHuman => put_latency_human(out, f.latency),
        Named::RequestId => put_opt(out, f.request_id.map(str::as_bytes)),
        Named::Location => put_opt(out, f.location.map(str::as_bytes)),
        Named::UpstreamAddr => put_opt(out, f.upstream_addr.map(str::as_bytes)),
        Named::UpstreamStatus => match f.upstream_status {
            Some(status) => put_u64(out, u64::from(status)),
            None => out.extend_from_slice(MISSING),
        },
        Named::UpstreamConnectTime => put_opt_secs(out, f.upstream_connect_time),
        Named::UpstreamResponseTime => put_opt_secs(out, f.upstream_response_time),
        Named::ConnectionReused => match f.connection_reused {
            Some(true) => out.extend_from_slice(b"true"),
            Some(false) => out.extend_from_slice(b"false"),
            None => out.extend_from_slice(MISSING),
        },
        Named::RemoteUser => put_remote_user(out, f.headers.request_header("Authorization")),
        Named::Request => match f.request_line {
            Some(line) if !line.is_empty() => escape_nginx_into(out, line),
            _ => {
                escape_nginx_into(out, f.method.as_bytes());
                out.push(b' ');
                escape_nginx_into(out, f.path.as_bytes());
                if let Some(query) = f.query {
                    out.push(b'?');
                    escape_nginx_into(out, query.as_bytes());
                }
                out.push(b' ');
                escape_nginx_into(out, f.proto.as_bytes());
            }
        },
    }
}

/// nginx's `$remote_user`: the user name of `Authorization: Basic BASE64(user:password)`
/// (scheme case-insensitive, spaces before the credentials skipped, base64 up to the first
/// `=`); `-` when the header is missing, not Basic, not base64, or has no `:` or an empty
/// user. Escaped as nginx escapes. Decodes straight into `out`, allocating nothing.
fn put_remote_user(out: &mut Vec<u8>, header: Option<&[u8]>) {
    let start = out.len();
    if header.and_then(|h| decode_basic_user(h, out)).is_none() {
        out.truncate(start);
        out.extend_from_slice(MISSING);
    }
}

fn decode_basic_user(header: &[u8], out: &mut Vec<u8>) -> Option<()> {
    const SCHEME: &[u8] = b"basic ";
    if header.len() < SCHEME.len() || !header[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let rest = &header[SCHEME.len()..];
    let rest = &rest[rest.iter().take_while(|b| **b == b' ').count()..];
    let encoded = &rest[..rest.iter().position(|b| *b == b'=').unwrap_or(rest.len())];
    fn sextet(b: u8) -> Option<u32> {
        match b {
            b'A'..=b'Z' => Some(u32::from(b - b'A')),
            b'a'..=b'z' => Some(u32::from(b - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(b - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    if encoded.is_empty() || encoded.len() % 4 == 1 || !encoded.iter().all(|b| sextet(*b).is_some())
    {
        return None;
    }
    let mut user_len = 0usize;
    for group in encoded.chunks(4) {
        let mut bits = 0u32;
        for (i, b) in group.iter().enumerate() {
            bits |= sextet(*b)? << (18 - 6 * i);
        }
        let bytes = bits.to_be_bytes();
        for &byte in &bytes[1..group.len()] {
            if byte == b':' {
                return (user_len > 0).then_some(());
            }
            escape_nginx_into(out, &[byte]);
            user_len += 1;
        }
    }
    None
}

/// Append `bytes` as nginx writes a variable into an access log: control bytes, `"`, `\`,
/// DEL and every byte outside ASCII as `\xHH`.
fn escape_nginx_into(out: &mut Vec<u8>, bytes: &[u8]) {
    escape_hex_into(out, bytes, true);
}

/// Does this byte have to be written as `\xHH`? Control characters, DEL, `"` and `\`.
#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == 0x7f || b == b'"' || b == b'\\'
}

/// Append `bytes`, writing control characters, DEL, `"` and `\` as `\xHH` (nginx style), so a
/// client cannot end a quoted field or start a new log line. Other bytes, UTF-8 included,
/// are copied as they are.
pub(crate) fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    escape_hex_into(out, bytes, false);
}

/// Append `bytes` with every byte [`needs_escape`] names (and, when `non_ascii`, every byte
/// outside ASCII) written as `\xHH`; clean values are copied in one go.
#[inline]
fn escape_hex_into(out: &mut Vec<u8>, bytes: &[u8], non_ascii: bool) {
    if (!non_ascii || bytes.is_ascii()) && is_clean(bytes) {
        out.extend_from_slice(bytes);
        return;
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if needs_escape(b) || (non_ascii && !b.is_ascii()) {
            out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        } else {
            out.push(b);
        }
    }
}

/// No byte of `bytes` needs escaping. Checks eight bytes at a time (SWAR); shorter values
/// and the tail are read as overlapping words, so a short value costs one step.
fn is_clean(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    /// Some byte of `x` is below `n` (exact for n <= 0x80).
    #[inline(always)]
    fn has_less(x: u64, n: u8) -> bool {
        x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS != 0
    }
    #[inline(always)]
    fn has_byte(x: u64, b: u8) -> bool {
        has_less(x ^ (ONES * u64::from(b)), 1)
    }
    #[inline(always)]
    fn clean(w: [u8; 8]) -> bool {
        let x = u64::from_ne_bytes(w);
        !(has_less(x, 0x20) | has_byte(x, 0x7f) | has_byte(x, b'"') | has_byte(x, b'\\'))
    }
    match *bytes {
        [] => true,
        [a] => clean([a, a, a, a, a, a, a, a]),
        [a, b] => clean([a, b, a, b, a, b, a, b]),
        [a, b, c] => clean([a, b, c, a, b, c, a, b]),
        [a, b, c, d, ..] if bytes.len() < 8 => match bytes.last_chunk::<4>() {
            Some(&[e, f, g, h]) => clean([a, b, c, d, e, f, g, h]),
            None => false,
        },
        _ => {
            let mut words = bytes.chunks_exact(8);
            let body = words.all(|w| <[u8; 8]>::try_from(w).is_ok_and(clean));
            body && (words.remainder().is_empty()
                || bytes.last_chunk::<8>().is_some_and(|w| clean(*w)))
        }
    }
}

/// Escaped bytes, or `-` when empty.
pub(crate) fn put_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.is_empty() {
        out.extend_from_slice(MISSING);
    } else {
        escape_into(out, bytes);
    }
}

/// Escaped bytes, or `-` when missing or empty.
fn put_opt(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    put_escaped(out, bytes.unwrap_or_default());
}

fn put_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn put_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let mut buf = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(buf.format(octet).as_bytes());
            }
        }
        // Writing to a Vec cannot fail.
        IpAddr::V6(v6) => drop(write!(out, "{v6}")),
    }
}

/// The first comma-separated item, trimmed of ASCII whitespace.
fn first_list_item(value: &[u8]) -> &[u8] {
    let first = value.split(|&b| b == b',').next().unwrap_or_default();
    first.trim_ascii()
}

/// The value of cookie `name` in a `Cookie` header (`a=1; b=2`); names are case-sensitive.
fn find_cookie<'h>(header: &'h [u8], name: &str) -> Option<&'h [u8]> {
    header.split(|&b| b == b';').find_map(|pair| {
        let pair = pair.trim_ascii();
        let eq = pair.iter().position(|&b| b == b'=')?;
        let (key, value) = pair.split_at(eq);
        (key.trim_ascii() == name.as_bytes())
            .then(|| value.get(1..).unwrap_or_default().trim_ascii())
    })
}

/// Whole milliseconds, saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `S.mmm`: seconds with exactly three decimals (truncated), e.g. `0.012`.
fn put_secs_millis(out: &mut Vec<u8>, d: Duration) {
    put_u64(out, d.as_secs());
    let ms = d.subsec_millis();
    out.extend_from_slice(&[
        b'.',
        b'0' + (ms / 100) as u8,
        b'0' + (ms / 10 % 10) as u8,
        b'0' + (ms % 10) as u8,
    ]);
}

fn put_opt_secs(out: &mut Vec<u8>, d: Option<Duration>) {
    match d {
        Some(d) => put_secs_millis(out, d),
        None => out.extend_from_slice(MISSING),
    }
}

/// `512B`, then one truncated decimal in 1024-based units: `1.2KB`, `3.4MB`, … up to `EB`.
fn put_size_human(out: &mut Vec<u8>, n: u64) {
    let unit = SIZE_UNITS.iter().enumerate().rev().find(|&(i, _)| n >> (10 * i) > 0);
    match unit {
        Some((i, name)) if i > 0 => {
            let tenths = (u128::from(n) * 10) >> (10 * i);
            put_u64(out, (tenths / 10) as u64);
            out.extend_from_slice(&[b'.', b'0' + (tenths % 10) as u8]);
            out.extend_from_slice(name.as_bytes());
        }
        _ => {
            put_u64(out, n);
            out.push(b'B');
        }
    }
}

/// `850µs` below a millisecond, `15ms` below a second, else seconds with one truncated
/// decimal: `1.2s`, `75.0s`.
fn put_latency_human(out: &mut Vec<u8>, d: Duration) {
    if d < Duration::from_millis(1) {
        put_u64(out, u64::from(d.subsec_micros()));
        out.extend_from_slice("µs".as_bytes());
    } else if d < Duration::from_secs(1) {
        put_u64(out, u64::from(d.subsec_millis()));
        out.extend_from_slice(b"ms");
    } else {
        put_u64(out, d.as_secs());
        out.extend_from_slice(&[b'.', b'0' + (d.subsec_millis() / 100) as u8, b's']);
    }
}

#[derive(Clone, Copy)]
enum TimeForm {
    /// nginx `$time_local`, in UTC: `26/Nov/2026:09:50:41 +0000`.
    Local,
    /// `2026-11-26T09:50:41.123Z`.
    Iso,
}

/// A fixed-size `fmt::Write` target on the stack.
struct StackBuf {
    buf: [u8; 32],
    len: usize,
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Times before 1970 or after 9999 print `-`.
fn put_when(out: &mut Vec<u8>, when: SystemTime, form: TimeForm) {
    let in_range = when
        .duration_since(SystemTime::UNIX_EPOCH)
        .is_ok_and(|since| since.as_secs() < MAX_UNIX_SECS);
    let mut iso = StackBuf { buf: [0; 32], len: 0 };
    if !in_range || write!(iso, "{}", humantime::format_rfc3339_millis(when)).is_err() {
        out.extend_from_slice(MISSING);
        return;
    }
    // `YYYY-MM-DDTHH:MM:SS.mmmZ`
    let (b, len) = (&iso.buf, iso.len);
    match form {
        TimeForm::Iso => out.extend_from_slice(&b[..len.min(b.len())]),
        TimeForm::Local => {
            let month =
                usize::from(b[5].wrapping_sub(b'0')) * 10 + usize::from(b[6].wrapping_sub(b'0'));
            let month = MONTHS.get(month.wrapping_sub(1)).copied().unwrap_or(b"???");
            out.extend_from_slice(&b[8..10]);
            out.push(b'/');
            out.extend_from_slice(month);
            out.push(b'/');
            out.extend_from_slice(&b[0..4]);
            out.push(b':');
            out.extend_from_slice(&b[11..19]);
            out.extend_from_slice(b" +0000");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::HeaderLookup;

    /// Headers as `(name, value)` pairs; names compare case-insensitively.
    struct Headers {
        request: &'static [(&'static str, &'static [u8])],
        response: &'static [(&'static str, &'static [u8])],
    }

    fn lookup<'h>(list: &'h [(&str, &'static [u8])], name: &str) -> Option<&'h [u8]> {
        list.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v)
    }

    impl HeaderLookup for Headers {
        fn request_header(&self, name: &str) -> Option<&[u8]> {
            lookup(self.request, name)
        }
        fn response_header(&self, name: &str) -> Option<&[u8]> {
            lookup(self.response, name)
        }
    }

    static HEADERS: Headers = Headers {
        request: &[
            ("Referer", b"https://example.com/start"),
            ("User-Agent", b"Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"),
            ("X-Forwarded-For", b" 203.0.113.7 , 10.0.0.1"),
            ("Cookie", b"theme=dark; session=abc123;  empty=; spaced = v "),
            ("X-Evil", b"a\"b\\c\nd\x7f\x01 \xc3\xa9"),
            ("X-Empty", b""),
            ("Authorization", b"Basic dXNlcjpwYXNz"),
        ],
        response: &[("Content-Type", b"application/json"), ("X-Cache", b"HIT")],
    };

    static NO_XFF: Headers = Headers { request: &[("X-Forwarded-For", b" , x")], response: &[] };

    /// 2026-11-26T09:50:41.123Z
    fn when() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_686_641_123)
    }

    fn base() -> Facts<'static> {
        Facts {
            when: when(),
            method: "GET",
            host: Some("example.com"),
            path: "/api/users",
            query: Some("page=2&sort=name"),
            proto: "HTTP/1.1",
            request_line: None,
            scheme: "https",
            remote: Some(SocketAddr::from(([192, 0, 2, 10], 54321))),
            status: 200,
            size: 1536,
            payload_size: 512,
            latency: Duration::from_micros(15_250),
            request_id: Some("req-42"),
            location: Some("api"),
            upstream_addr: Some("127.0.0.1:8001"),
            upstream_status: Some(201),
            upstream_connect_time: Some(Duration::from_micros(1_500)),
            upstream_response_time: Some(Duration::from_millis(12)),
            connection_reused: Some(true),
            headers: &HEADERS,
        }
    }

    fn empty() -> Facts<'static> {
        Facts::new(&())
    }

    fn render(template: &str, facts: &Facts<'_>) -> String {
        let t = Template::from_spec(template).expect("valid template");
        let mut out = b"prefix:".to_vec();
        t.render(facts, &mut out);
        let line = String::from_utf8(out).expect("utf-8 line");
        line.strip_prefix("prefix:").expect("appends").to_owned()
    }

    /// `renders!(name, template, facts, expected line)`.
    macro_rules! renders {
        ($name:ident, $template:expr, $facts:expr, $want:expr) => {
            #[test]
            fn $name() {
                assert_eq!(render($template, &$facts), $want);
            }
        };
    }

    renders!(literal_only, "just text", base(), "just text");
    renders!(literal_braces, "{{{status}}}", base(), "{200}");
    renders!(host, "{host}", base(), "example.com");
    renders!(host_missing, "{host}", empty(), "-");
    renders!(method, "{method}", base(), "GET");
    renders!(method_empty, "{method}", empty(), "-");
    renders!(path, "{path}", base(), "/api/users");
    renders!(query, "{query}", base(), "page=2&sort=name");
    renders!(query_missing, "{query}", Facts { query: None, ..base() }, "-");
    renders!(query_empty, "{query}", Facts { query: Some(""), ..base() }, "-");
    renders!(uri, "{uri}", base(), "/api/users?page=2&sort=name");
    renders!(uri_no_query, "{uri}", Facts { query: None, ..base() }, "/api/users");
    renders!(uri_empty_query, "{uri}", Facts { query: Some(""), ..base() }, "/api/users");
    renders!(
        uri_escaped,
        "{uri}",
        Facts { path: "/a\"b", query: Some("x=\n"), ..base() },
        "/a\\x22b?x=\\x0A"
    );
    renders!(proto, "{proto}", base(), "HTTP/1.1");
    renders!(scheme, "{scheme}", base(), "https");
    renders!(remote_v4, "{remote}", base(), "192.0.2.10");
    renders!(
        remote_v6,
        "{remote}",
        Facts { remote: Some("[2001:db8::1]:443".parse().expect("addr")), ..base() },
        "2001:db8::1"
    );
    renders!(remote_missing, "{remote}", empty(), "-");
    renders!(client_ip_forwarded, "{client_ip}", base(), "203.0.113.7");
    renders!(client_ip_remote, "{client_ip}", Facts { headers: &(), ..base() }, "192.0.2.10");
    renders!(
        client_ip_empty_xff,
        "{client_ip}",
        Facts { headers: &NO_XFF, ..base() },
        "192.0.2.10"
    );
    renders!(client_ip_missing, "{client_ip}", empty(), "-");
    renders!(referer, "{referer}", base(), "https://example.com/start");
    renders!(user_agent, "{user_agent}", base(), "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0");
    renders!(user_agent_missing, "{user_agent}", empty(), "-");
    renders!(when_local, "{when}", base(), "26/Nov/2026:09:50:41 +0000");
    renders!(when_iso, "{when_utc_iso}", base(), "2026-11-26T09:50:41.123Z");
    renders!(when_unix, "{when_unix}", base(), "1795686641.123");
    renders!(
        when_epoch,
        "{when} {when_utc_iso} {when_unix}",
        empty(),
        "01/Jan/1970:00:00:00 +0000 1970-01-01T00:00:00.000Z 0.000"
    );
    renders!(
        when_before_epoch,
        "{when} {when_utc_iso} {when_unix}",
        Facts { when: SystemTime::UNIX_EPOCH - Duration::from_secs(1), ..base() },
        "- - -"
    );
    renders!(
        when_after_9999,
        "{when} {when_utc_iso}",
        Facts { when: SystemTime::UNIX_EPOCH + Duration::from_secs(MAX_UNIX_SECS), ..base() },
        "- -"
    );
    renders!(
        when_last_second_9999,
        "{when}",
        Facts { when: SystemTime::UNIX_EPOCH + Duration::from_secs(MAX_UNIX_SECS - 1), ..base() },
        "31/Dec/9999:23:59:59 +0000"
    );
    renders!(
        when_leap_day,
        "{when}",
        Facts { when: SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_164_800), ..base() },
        "29/Feb/2024:00:00:00 +0000"
    );
    renders!(status, "{status}", base(), "200");
    renders!(status_zero, "{status}", empty(), "0");
    renders!(size, "{size}", base(), "1536");
    renders!(size_zero, "{size}", empty(), "0");
    renders!(size_human_bytes, "{size_human}", Facts { size: 512, ..base() }, "512B");
    renders!(size_human_zero, "{size_human}", empty(), "0B");
    renders!(size_human_1023, "{size_human}", Facts { size: 1023, ..base() }, "1023B");
    renders!(size_human_1k, "{size_human}", Facts { size: 1024, ..base() }, "1.0KB");
    renders!(size_human_kb, "{size_human}", base(), "1.5KB");
    renders!(
        size_human_truncates,
        "{size_human}",
        Facts { size: 1024 * 1024 - 1, ..base() },
        "1023.9KB"
    );
    renders!(size_human_mb, "{size_human}", Facts { size: 3_565_159, ..base() }, "3.4MB");
    renders!(size_human_gb, "{size_human}", Facts { size: 5 << 30, ..base() }, "5.0GB");
    renders!(size_human_max, "{size_human}", Facts { size: u64::MAX, ..base() }, "15.9EB");
    renders!(payload_size, "{payload_size}", base(), "512");
    renders!(
        payload_size_human,
        "{payload_size_human}",
        Facts { payload_size: 2048, ..base() },
        "2.0KB"
    );
    renders!(latency, "{latency}", base(), "15");
    renders!(latency_zero, "{latency}", empty(), "0");
    renders!(
        latency_human_us,
        "{latency_human}",
        Facts { latency: Duration::from_micros(850), ..base() },
        "850µs"
    );
    renders!(latency_human_zero, "{latency_human}", empty(), "0µs");
    renders!(latency_human_ms, "{latency_human}", base(), "15ms");
    renders!(
        latency_human_999ms,
        "{latency_human}",
        Facts { latency: Duration::from_micros(999_999), ..base() },
        "999ms"
    );
    renders!(
        latency_human_s,
        "{latency_human}",
        Facts { latency: Duration::from_millis(1_299), ..base() },
        "1.2s"
    );
    renders!(
        latency_human_long,
        "{latency_human}",
        Facts { latency: Duration::from_secs(75), ..base() },
        "75.0s"
    );
    renders!(request_id, "{request_id}", base(), "req-42");
    renders!(location, "{location}", base(), "api");
    renders!(upstream_addr, "{upstream_addr}", base(), "127.0.0.1:8001");
    renders!(upstream_status, "{upstream_status}", base(), "201");
    renders!(upstream_connect_time, "{upstream_connect_time}", base(), "0.001");
    renders!(upstream_response_time, "{upstream_response_time}", base(), "0.012");
    renders!(
        upstream_response_time_long,
        "{upstream_response_time}",
        Facts { upstream_response_time: Some(Duration::from_millis(61_234)), ..base() },
        "61.234"
    );
    renders!(connection_reused, "{connection_reused}", base(), "true");
    renders!(
        connection_fresh,
        "{connection_reused}",
        Facts { connection_reused: Some(false), ..base() },
        "false"
    );
    renders!(
        upstream_missing,
        "{request_id} {location} {upstream_addr} {upstream_status} {upstream_connect_time} {upstream_response_time} {connection_reused}",
        empty(),
        "- - - - - - -"
    );
    renders!(request_header, "{>x-forwarded-for}", base(), " 203.0.113.7 , 10.0.0.1");
    renders!(request_header_missing, "{>X-Nope}", base(), "-");
    renders!(request_header_empty, "{>X-Empty}", base(), "-");
    renders!(request_header_escaped, "{>X-Evil}", base(), "a\\x22b\\x5Cc\\x0Ad\\x7F\\x01 é");
    renders!(response_header, "{<content-type}", base(), "application/json");
    renders!(response_header_missing, "{<X-Nope}", base(), "-");
    renders!(cookie, "{~session}", base(), "abc123");
    renders!(cookie_first, "{~theme}", base(), "dark");
    renders!(cookie_spaced, "{~spaced}", base(), "v");
    renders!(cookie_empty, "{~empty}", base(), "-");
    renders!(cookie_missing, "{~nope}", base(), "-");
    renders!(cookie_case_sensitive, "{~Session}", base(), "-");
    renders!(cookie_no_header, "{~session}", empty(), "-");
    renders!(env_unset, "{$PYLON_ACCESSLOG_TEST_SURELY_UNSET}", base(), "-");
    renders!(env_set, "{$CARGO_PKG_NAME}x", base(), "pylon-accesslogx");

    renders!(preset_tiny, "tiny", base(), "GET /api/users?page=2&sort=name 200 1.5KB - 15ms");
    renders!(
        preset_short,
        "short",
        base(),
        "192.0.2.10 GET /api/users?page=2&sort=name HTTP/1.1 200 1.5KB - 15ms"
    );
    renders!(
        preset_common,
        "common",
        base(),
        r#"192.0.2.10 - user [26/Nov/2026:09:50:41 +0000] "GET /api/users?page=2&sort=name HTTP/1.1" 200 1536"#
    );
    renders!(
        preset_combined,
        "combined",
        base(),
        r#"192.0.2.10 - user [26/Nov/2026:09:50:41 +0000] "GET /api/users?page=2&sort=name HTTP/1.1" 200 1536 "https://example.com/start" "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0""#
    );
    renders!(
        preset_combined_empty,
        "combined",
        empty(),
        r#"- - - [01/Jan/1970:00:00:00 +0000] "  " 0 0 "-" "-""#
    );

    // The nginx-named tokens behave as nginx's variables of the same name.
    renders!(remote_addr, "{remote_addr}", base(), "192.0.2.10");
    renders!(time_local, "{time_local}", base(), "26/Nov/2026:09:50:41 +0000");
    renders!(body_bytes_sent, "{body_bytes_sent}", base(), "1536");
    renders!(request_rebuilt, "{request}", base(), "GET /api/users?page=2&sort=name HTTP/1.1");
    renders!(
        request_as_received,
        "{request}",
        Facts { request_line: Some(b"GET /a%20b?\xff HTTP/1.0"), ..base() },
        "GET /a%20b?\\xFF HTTP/1.0"
    );
    renders!(
        http_header,
        "{http_user_agent}",
        base(),
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"
    );
    renders!(http_header_missing, "{http_x_nope}", base(), "-");
    renders!(http_header_empty_prints_empty, "[{http_x_empty}]", base(), "[]");
    renders!(
        http_header_escapes_non_ascii,
        "{http_x_evil}",
        base(),
        "a\\x22b\\x5Cc\\x0Ad\\x7F\\x01 \\xC3\\xA9"
    );
    renders!(remote_user, "{remote_user}", base(), "user");
    renders!(remote_user_missing, "{remote_user}", empty(), "-");

    /// `remote_user!(name, Authorization value, rendered)`.
    macro_rules! remote_user {
        ($name:ident, $auth:expr, $want:expr) => {
            #[test]
            fn $name() {
                let headers = Headers { request: &[("Authorization", $auth)], response: &[] };
                let facts = Facts { headers: &headers, ..empty() };
                let mut out = Vec::new();
                Template::parse("{remote_user}").expect("valid").render(&facts, &mut out);
                assert_eq!(String::from_utf8_lossy(&out), $want);
            }
        };
    }

    remote_user!(user_basic, b"Basic dXNlcjpwYXNz", "user");
    remote_user!(user_scheme_any_case, b"bAsIc dXNlcjpwYXNz", "user");
    remote_user!(user_extra_spaces, b"Basic   dXNlcjpwYXNz", "user");
    remote_user!(user_ignores_after_padding, b"Basic dXNlcjpwYXNz=", "user");
    remote_user!(user_partial_group, b"Basic dTpw", "u");
    remote_user!(user_no_colon, b"Basic bm9jb2xvbg==", "-");
    remote_user!(user_empty_name, b"Basic OnB3", "-");
    remote_user!(user_not_basic, b"Bearer abc", "-");
    remote_user!(user_bad_base64, b"Basic dXNl*jpw", "-");
    remote_user!(user_bad_length, b"Basic dXNlc", "-");
    remote_user!(user_nothing_after_scheme, b"Basic ", "-");
    remote_user!(user_escaped, b"Basic dXNlciI6cA==", "user\\x22");
    remote_user!(user_non_ascii_escaped, b"Basic w6k6cA==", "\\xC3\\xA9");

    #[test]
    fn clean_check_agrees_with_the_byte_rule() {
        for b in 0..=255u8 {
            for len in 1..=17 {
                for at in 0..len {
                    let mut v = vec![b'a'; len];
                    v[at] = b;
                    assert_eq!(is_clean(&v), !needs_escape(b), "byte {b:#x} at {at} of {len}");
                }
            }
        }
        assert!(is_clean(b""));
        assert!(is_clean("é→µ".as_bytes()));
    }

    #[test]
    fn escape_long_clean_and_dirty_values() {
        let clean = "abcdefgh".repeat(20);
        let mut out = Vec::new();
        escape_into(&mut out, clean.as_bytes());
        assert_eq!(out, clean.as_bytes());
        let mut dirty = clean.clone();
        dirty.push('\r');
        out.clear();
        escape_into(&mut out, dirty.as_bytes());
        assert_eq!(out, format!("{clean}\\x0D").as_bytes());
    }

    #[test]
    fn render_appends_and_reuses_the_buffer() {
        let t = Template::parse("{status}").expect("parses");
        let mut out = Vec::with_capacity(64);
        t.render(&base(), &mut out);
        t.render(&base(), &mut out);
        assert_eq!(out, b"200200");
        let capacity = out.capacity();
        out.clear();
        t.render(&base(), &mut out);
        assert_eq!(out.capacity(), capacity);
    }
}
