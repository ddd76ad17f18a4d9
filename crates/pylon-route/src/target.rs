//! The request target and its authority: which form a target has (RFC 9112 §3.2), the
//! normal form of its path (RFC 3986 §6.2.2, as RFC 9110 §4.2.3 asks of `http` URIs) and
//! whether an authority is a valid `uri-host[:port]` (RFC 3986 §3.2.2–§3.2.3).
//!
//! Everything here works on bytes as they came off the wire and never allocates on the common
//! path: a path already in normal form is returned borrowed.

use std::borrow::Cow;
use std::fmt;

/// Why a request target or authority was refused. Each is a `400 Bad Request`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TargetError {
    /// The target is empty.
    Empty,
    /// The target is none of origin-form (`/path`), absolute-form (`http://host/path`),
    /// asterisk-form (`*`) or authority-form (`host:port`), e.g. `admin` or `?x`
    /// (RFC 9112 §3.2).
    NotAForm,
    /// `*` with a method other than `OPTIONS` (RFC 9112 §3.2.4).
    AsteriskNotOptions,
    /// An authority-form target with a method other than `CONNECT` (RFC 9112 §3.2.3).
    AuthorityNotConnect,
    /// An absolute-form target whose scheme is not `http` or `https` (RFC 9110 §4.2).
    UnsupportedScheme,
    /// A `%` that is not followed by two hexadecimal digits (RFC 3986 §2.1).
    BadEscape,
    /// `%00` (or a bare NUL byte): a NUL has no place in a path, and origins written in C
    /// stop reading there.
    EncodedNul,
    /// A raw `\` in the path: not a URI character (RFC 3986 §2), and some origins read it as
    /// `/`, so the path would mean two different things.
    Backslash,
    /// A `..` segment that would climb above the root (`/..`, `/a/../..`).
    AboveRoot,
    /// A dot segment with parameters (`/..;x/`, `/.;x/`): RFC 3986 does not remove it, but
    /// some origins (Tomcat, Spring) strip `;…` and then do, so it is refused.
    DotSegmentParameters,
    /// A Host header field or `:authority` that is absent or empty where one is required
    /// (RFC 9112 §3.2, RFC 9110 §4.2.1: an `http` URI has a non-empty host).
    MissingHost,
    /// An authority that is not `uri-host[:port]` (RFC 3986 §3.2.2): characters outside the
    /// reg-name set, userinfo (`user@host`), an unclosed `[`, a bad IP literal.
    BadHost,
    /// A port that is not a decimal number up to 65535 (RFC 3986 §3.2.3).
    BadPort,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetError::Empty => "the request target is empty",
            TargetError::NotAForm => {
                "the request target must be a path starting with `/`, an absolute URL, \
                 `*` (OPTIONS) or host:port (CONNECT)"
            }
            TargetError::AsteriskNotOptions => "the request target `*` is only for OPTIONS",
            TargetError::AuthorityNotConnect => "a host:port request target is only for CONNECT",
            TargetError::UnsupportedScheme => "an absolute request target must be http or https",
            TargetError::BadEscape => "a `%` in the path is not followed by two hex digits",
            TargetError::EncodedNul => "the path contains a NUL byte (`%00`)",
            TargetError::Backslash => "the path contains a `\\`",
            TargetError::AboveRoot => "the path climbs above the root with `..`",
            TargetError::DotSegmentParameters => "the path has a `.` or `..` segment with `;`",
            TargetError::MissingHost => "the request has no Host (or an empty one)",
            TargetError::BadHost => "the Host is not a valid host[:port]",
            TargetError::BadPort => "the Host's port is not a number up to 65535",
        })
    }
}

impl std::error::Error for TargetError {}

/// A request target split into its parts (RFC 9112 §3.2). The slices borrow the raw target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestTarget<'a> {
    /// `/path?query` (RFC 9112 §3.2.1).
    Origin {
        /// The path, starting with `/`, not yet normalised.
        path: &'a [u8],
        /// The query without its `?`, as received.
        query: Option<&'a [u8]>,
    },
    /// `http://authority/path?query` (RFC 9112 §3.2.2): the authority is the request's host.
    Absolute {
        /// The authority (`host[:port]`), already checked with [`check_authority`].
        authority: &'a [u8],
        /// The path, `/` when the target has none, not yet normalised.
        path: &'a [u8],
        /// The query without its `?`, as received.
        query: Option<&'a [u8]>,
    },
    /// `*`, for `OPTIONS` only (RFC 9112 §3.2.4).
    Asterisk,
    /// `host:port`, for `CONNECT` only (RFC 9112 §3.2.3).
    Authority(&'a [u8]),
}

impl<'a> RequestTarget<'a> {
    /// Classifies `raw`, the request target as received (a fragment, which pingora already
    /// drops, ends it), for a request with method `method`.
    ///
    /// # Errors
    /// [`TargetError::NotAForm`] for anything that is none of the four forms (`admin`, `?x`,
    /// `example.com:80` with `GET`, `http:/x`), [`AsteriskNotOptions`](TargetError::AsteriskNotOptions),
    /// [`AuthorityNotConnect`](TargetError::AuthorityNotConnect),
    /// [`UnsupportedScheme`](TargetError::UnsupportedScheme), and the errors of
    /// [`check_authority`] for the authority of an absolute-form or authority-form target.
    /// The path is not checked here: see [`normalize_path`].
    pub fn parse(method: &str, raw: &'a [u8]) -> Result<RequestTarget<'a>, TargetError> {
        let raw = raw.iter().position(|&b| b == b'#').map_or(raw, |end| &raw[..end]);
        if raw.is_empty() {
            return Err(TargetError::Empty);
        }
        if raw == b"*" {
            return if method == "OPTIONS" {
                Ok(RequestTarget::Asterisk)
            } else {
                Err(TargetError::AsteriskNotOptions)
            };
        }
        if raw[0] == b'/' {
            let (path, query) = split_query(raw);
            return Ok(RequestTarget::Origin { path, query });
        }
        if method == "CONNECT" {
            check_authority(raw)?;
            return Ok(RequestTarget::Authority(raw));
        }
        if let Some(rest) = strip_scheme(raw) {
            let (scheme, rest) = rest;
            if !scheme.eq_ignore_ascii_case(b"http") && !scheme.eq_ignore_ascii_case(b"https") {
                return Err(TargetError::UnsupportedScheme);
            }
            let end = rest.iter().position(|&b| b == b'/' || b == b'?').unwrap_or(rest.len());
            let (authority, rest) = rest.split_at(end);
            check_authority(authority)?;
            let (path, query) = split_query(rest);
            let path = if path.is_empty() { b"/".as_slice() } else { path };
            return Ok(RequestTarget::Absolute { authority, path, query });
        }
        // Authority-form with another method, or something that is no form at all.
        if check_authority(raw).is_ok() && raw.contains(&b':') {
            return Err(TargetError::AuthorityNotConnect);
        }
        Err(TargetError::NotAForm)
    }
}

/// `(path, query)` of `path?query`.
fn split_query(s: &[u8]) -> (&[u8], Option<&[u8]>) {
    match s.iter().position(|&b| b == b'?') {
        Some(q) => (&s[..q], Some(&s[q + 1..])),
        None => (s, None),
    }
}

/// `scheme` and what follows `scheme://`, when `raw` starts with a scheme (RFC 3986 §3.1:
/// `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`) and `://`.
fn strip_scheme(raw: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = raw.iter().position(|&b| b == b':')?;
    let (scheme, rest) = raw.split_at(colon);
    let first = *scheme.first()?;
    if !first.is_ascii_alphabetic()
        || !scheme.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return None;
    }
    Some((scheme, rest.strip_prefix(b"://")?))
}

/// Checks that `authority` is `uri-host [ ":" port ]` (RFC 9112 §3.2, RFC 3986 §3.2.2 and
/// §3.2.3): what a Host header field, an HTTP/2 `:authority` or the authority of an
/// absolute-form target must be.
///
/// The host is an IP literal (`[` IPv6 `]` or `[v1.x]`), an IPv4 address or a reg-name
/// (letters, digits, `-._~` and `!$&'()*+,;=`); it may not be empty (RFC 9110 §4.2.1).
/// Percent-encoded octets, which RFC 3986's reg-name allows, are refused (`adm%2Elocal`,
/// `%61dm.local`, `h%00`): no client sends them (internationalised names travel as punycode),
/// origins decode them differently, and a host rule compares the name as written, so an
/// escape would walk around it (README "Decisions").
/// The port, when there is a `:`, is up to five digits not above 65535 (an empty port, which
/// RFC 3986 allows, is accepted). Userinfo (`user@host`) is refused (RFC 9110 §4.2.4).
///
/// # Errors
/// [`TargetError::MissingHost`] for an empty host, [`TargetError::BadHost`] for anything
/// outside the grammar, [`TargetError::BadPort`] for a bad port.
pub fn check_authority(authority: &[u8]) -> Result<(), TargetError> {
    let (host, port) = if let Some(rest) = authority.strip_prefix(b"[") {
        let close = rest.iter().position(|&b| b == b']').ok_or(TargetError::BadHost)?;
        let literal = &rest[..close];
        if !ip_literal(literal) {
            return Err(TargetError::BadHost);
        }
        match &rest[close + 1..] {
            [] => (literal, None),
            [b':', port @ ..] => (literal, Some(port)),
            _ => return Err(TargetError::BadHost),
        }
    } else {
        let (host, port) = match authority.iter().position(|&b| b == b':') {
            Some(c) => (&authority[..c], Some(&authority[c + 1..])),
            None => (authority, None),
        };
        if !reg_name(host) {
            return Err(TargetError::BadHost);
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(TargetError::MissingHost);
    }
    if let Some(port) = port {
        let valid = port.len() <= 5
            && port.iter().all(u8::is_ascii_digit)
            && port.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0')) <= 65535;
        if !valid {
            return Err(TargetError::BadPort);
        }
    }
    Ok(())
}

/// `reg-name = *( unreserved / sub-delims )`: RFC 3986's reg-name without `pct-encoded`
/// (see [`check_authority`]); IPv4 addresses are reg-names too.
fn reg_name(host: &[u8]) -> bool {
    host.iter().all(|&b| is_unreserved(b) || is_sub_delim(b))
}

/// The inside of `[...]`: an IPv6 address, or `IPvFuture = "v" 1*HEXDIG "." 1*( unreserved /
/// sub-delims / ":" )`.
fn ip_literal(lit: &[u8]) -> bool {
    if let Some(rest) = lit.strip_prefix(b"v").or_else(|| lit.strip_prefix(b"V")) {
        let dot = rest.iter().position(|&b| b == b'.');
        return dot.is_some_and(|d| {
            d > 0
                && rest[..d].iter().all(u8::is_ascii_hexdigit)
                && rest.len() > d + 1
                && rest[d + 1..].iter().all(|&b| is_unreserved(b) || is_sub_delim(b) || b == b':')
        });
    }
    std::str::from_utf8(lit).is_ok_and(|s| s.parse::<std::net::Ipv6Addr>().is_ok())
}

/// RFC 3986 §2.3 `unreserved`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 §2.2 `sub-delims`.
fn is_sub_delim(b: u8) -> bool {
    matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=')
}

/// A byte that may stand for itself in a normal-form path: `pchar` minus `%` (RFC 3986 §3.3).
fn is_path_byte(b: u8) -> bool {
    PATH_BYTES[usize::from(b)]
}

/// [`is_path_byte`] as a table: one load per byte on the request path.
static PATH_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            );
        b += 1;
    }
    t
};

/// The normal form of a request path, the one an origin server resolves (RFC 3986 §6.2.2,
/// which RFC 9110 §4.2.3 applies to `http` and `https` URIs), or why it has none.
///
/// `path` is the path component of the target: it starts with `/` and has no query. The
/// normal form:
/// - **percent-encoding** (§6.2.2.2): `%XX` of an unreserved character (`A-Z a-z 0-9 - . _ ~`)
///   is decoded (`/%61dmin` → `/admin`); every other `%XX` stays encoded with upper-case hex
///   (§6.2.2.1: `%2f` → `%2F`, which stays a literal byte, never a separator); a raw byte that a
///   URI cannot hold (space, `"<>[]^`{|}`, controls, non-ASCII) is encoded (`é` → `%C3%A9`);
/// - **dot segments** (§6.2.2.3, the algorithm of §5.2.4) are removed after that decoding, so
///   `/x/../admin`, `/./admin` and `/x/%2e%2E/admin` all become `/admin`; a final `.` or `..`
///   leaves a trailing `/` (`/a/b/..` → `/a/`);
/// - **empty segments** are merged (`//admin` → `/admin`, `/a//b` → `/a/b`), as nginx's
///   `merge_slashes` does.
///
/// Case is kept: paths are case-sensitive (`/ADMIN` is not `/admin`). The result is ASCII, a
/// valid `absolute-path`, and its own normal form (idempotent). It borrows `path` when `path` is
/// already normal.
///
/// # Errors
/// [`TargetError::BadEscape`] (`%zz`, a trailing `%`), [`TargetError::EncodedNul`] (`%00`, a bare NUL),
/// [`TargetError::Backslash`] (a raw `\`), [`TargetError::AboveRoot`] (`/..`, `/a/../..`),
/// [`TargetError::DotSegmentParameters`] (`/..;/`), and [`TargetError::NotAForm`] when `path`
/// does not start with `/`.
pub fn normalize_path(path: &[u8]) -> Result<Cow<'_, str>, TargetError> {
    if path.first() != Some(&b'/') {
        return Err(TargetError::NotAForm);
    }
    if is_normal(path) {
        // Only ASCII path bytes and `/` passed: valid UTF-8.
        if let Ok(s) = std::str::from_utf8(path) {
            return Ok(Cow::Borrowed(s));
        }
    }
    let canonical = canonical_escapes(path)?;
    remove_dot_segments(&canonical).map(Cow::Owned)
}

/// True when `path` (starting with `/`) is already normal: only path bytes and `/`, no `%`,
/// no empty, `.` or `..` segment except an empty last one, no `.;`/`..;` segment.
fn is_normal(path: &[u8]) -> bool {
    let mut start = 1;
    for (i, &b) in path.iter().enumerate().skip(1) {
        if is_path_byte(b) {
            continue;
        }
        if b != b'/' || !normal_segment(&path[start..i], false) {
            return false;
        }
        start = i + 1;
    }
    normal_segment(&path[start..], true)
}

fn normal_segment(seg: &[u8], last: bool) -> bool {
    match seg {
        [] => last,
        [b'.'] | [b'.', b'.'] => false,
        [b'.', b';', ..] | [b'.', b'.', b';', ..] => false,
        _ => true,
    }
}

/// Step one: percent-encodings in their normal form (decode unreserved, upper-case the rest,
/// encode raw bytes a URI cannot hold). `/` stays the only separator.
fn canonical_escapes(path: &[u8]) -> Result<String, TargetError> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let push_escaped = |out: &mut String, b: u8| {
        out.push('%');
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    };
    let mut out = String::with_capacity(path.len() + 8);
    let mut i = 0;
    while i < path.len() {
        let b = path[i];
        match b {
            b'%' => {
                let hex = |k: usize| path.get(i + k).and_then(|&h| char::from(h).to_digit(16));
                let (Some(hi), Some(lo)) = (hex(1), hex(2)) else {
                    return Err(TargetError::BadEscape);
                };
                // Both digits are < 16, so the value fits a byte.
                let v = u8::try_from(hi * 16 + lo).unwrap_or(0);
                if v == 0 {
                    return Err(TargetError::EncodedNul);
                }
                if is_unreserved(v) {
                    out.push(char::from(v));
                } else {
                    push_escaped(&mut out, v);
                }
                i += 3;
                continue;
            }
            b'\\' => return Err(TargetError::Backslash),
            // Encoded it would be `%00`, refused above: refuse it bare too.
            0 => return Err(TargetError::EncodedNul),
            b'/' => out.push('/'),
            b if is_path_byte(b) => out.push(char::from(b)),
            b => push_escaped(&mut out, b),
        }
        i += 1;
    }
    Ok(out)
}

/// Step two: RFC 3986 §5.2.4 on a path whose escapes are canonical, with empty segments
/// merged and `..` above the root refused.
fn remove_dot_segments(path: &str) -> Result<String, TargetError> {
    let mut kept: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    // `path` starts with `/`: skip the empty segment before it.
    for seg in path.split('/').skip(1) {
        trailing_slash = false;
        match seg {
            "" => trailing_slash = true,
            "." => trailing_slash = true,
            ".." => {
                kept.pop().ok_or(TargetError::AboveRoot)?;
                trailing_slash = true;
            }
            s if s.starts_with(".;") || s.starts_with("..;") => {
                return Err(TargetError::DotSegmentParameters);
            }
            s => kept.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    for seg in &kept {
        out.push('/');
        out.push_str(seg);
    }
    if trailing_slash || out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! normal {
        ($($name:ident: $raw:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let got = normalize_path($raw);
                let want: Result<&str, TargetError> = $want;
                assert_eq!(got.as_deref().map_err(|e| *e), want, "{:?}", String::from_utf8_lossy($raw));
                if let Ok(n) = got {
                    assert_eq!(normalize_path(n.as_bytes()).as_deref(), Ok(&*n), "idempotent");
                }
            }
        )*};
    }

    mod path {
        use super::*;
        normal! {
            root: b"/" => Ok("/");
            plain: b"/admin/users" => Ok("/admin/users");
            trailing_slash_kept: b"/admin/" => Ok("/admin/");
            dot_dot: b"/x/../admin/users" => Ok("/admin/users");
            dot: b"/./admin" => Ok("/admin");
            double_slash: b"//admin" => Ok("/admin");
            inner_double_slash: b"/a//b///c" => Ok("/a/b/c");
            trailing_double_slash: b"/a//" => Ok("/a/");
            unreserved_decoded: b"/%61dmin/users" => Ok("/admin/users");
            unreserved_hex_any_case: b"/%61DMIN/%7e%7Eb" => Ok("/aDMIN/~~b");
            encoded_dots: b"/x/%2e%2E/admin" => Ok("/admin");
            encoded_single_dot: b"/%2e/admin" => Ok("/admin");
            encoded_slash_stays: b"/x/..%2fadmin" => Ok("/x/..%2Fadmin");
            encoded_slash_upper: b"/a%2Fb" => Ok("/a%2Fb");
            double_encoding_stays: b"/%2561dmin" => Ok("/%2561dmin");
            case_kept: b"/ADMIN" => Ok("/ADMIN");
            final_dot_dot: b"/a/b/.." => Ok("/a/");
            final_dot: b"/a/b/." => Ok("/a/b/");
            only_dot: b"/." => Ok("/");
            up_to_root: b"/a/.." => Ok("/");
            dots_in_names: b"/a.b/..c/c../.../x" => Ok("/a.b/..c/c../.../x");
            merge_then_up: b"/a//../b" => Ok("/b");
            non_ascii_encoded: b"/caf\xc3\xa9" => Ok("/caf%C3%A9");
            non_utf8_encoded: b"/\xff\xfe" => Ok("/%FF%FE");
            space_encoded: b"/a b" => Ok("/a%20b");
            unsafe_ascii_encoded: b"/{a}|^`\"<>[]" => Ok("/%7Ba%7D%7C%5E%60%22%3C%3E%5B%5D");
            sub_delims_kept: b"/a;b=c,d!$&'()*+:@" => Ok("/a;b=c,d!$&'()*+:@");
            reserved_escapes_stay: b"/%3b%3F%23%40" => Ok("/%3B%3F%23%40");
            semicolon_in_name: b"/a;jsessionid=1/b" => Ok("/a;jsessionid=1/b");
            above_root: b"/.." => Err(TargetError::AboveRoot);
            above_root_later: b"/a/../../admin" => Err(TargetError::AboveRoot);
            above_root_encoded: b"/%2e%2e/admin" => Err(TargetError::AboveRoot);
            bad_escape: b"/%zz" => Err(TargetError::BadEscape);
            short_escape: b"/a%4" => Err(TargetError::BadEscape);
            trailing_percent: b"/a%" => Err(TargetError::BadEscape);
            nul: b"/a%00b" => Err(TargetError::EncodedNul);
        bare_nul: b"/a\0b" => Err(TargetError::EncodedNul);
            backslash: b"/x\\..\\admin" => Err(TargetError::Backslash);
            encoded_backslash_stays: b"/x%5c..%5cadmin" => Ok("/x%5C..%5Cadmin");
            dot_dot_params: b"/x/..;/admin" => Err(TargetError::DotSegmentParameters);
            dot_params: b"/.;x/admin" => Err(TargetError::DotSegmentParameters);
            encoded_dot_params: b"/x/%2e%2e;/admin" => Err(TargetError::DotSegmentParameters);
            not_absolute: b"admin" => Err(TargetError::NotAForm);
            empty: b"" => Err(TargetError::NotAForm);
        }
    }

    #[test]
    fn normal_paths_are_borrowed() {
        for p in ["/", "/a/b", "/a/", "/a;b", "/~x/y.z", "/a.../..b"] {
            assert!(matches!(normalize_path(p.as_bytes()), Ok(Cow::Borrowed(_))), "{p}");
        }
    }

    macro_rules! target {
        ($($name:ident: $method:expr, $raw:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(RequestTarget::parse($method, $raw), $want);
            }
        )*};
    }

    mod form {
        use super::*;
        target! {
            origin: "GET", b"/a?x=1" => Ok(RequestTarget::Origin { path: b"/a", query: Some(b"x=1") });
            origin_no_query: "GET", b"/a" => Ok(RequestTarget::Origin { path: b"/a", query: None });
            origin_empty_query: "GET", b"/a?" => Ok(RequestTarget::Origin { path: b"/a", query: Some(b"") });
            fragment_dropped: "GET", b"/a#f" => Ok(RequestTarget::Origin { path: b"/a", query: None });
            absolute: "GET", b"http://Admin.example.com:8080/x?q" => Ok(RequestTarget::Absolute {
                authority: b"Admin.example.com:8080", path: b"/x", query: Some(b"q") });
            absolute_https_upper: "GET", b"HTTPS://h/" => Ok(RequestTarget::Absolute {
                authority: b"h", path: b"/", query: None });
            absolute_no_path: "GET", b"http://h" => Ok(RequestTarget::Absolute {
                authority: b"h", path: b"/", query: None });
            absolute_query_no_path: "GET", b"http://h?q" => Ok(RequestTarget::Absolute {
                authority: b"h", path: b"/", query: Some(b"q") });
            absolute_userinfo: "GET", b"http://u@h/" => Err(TargetError::BadHost);
            absolute_pct_host: "GET", b"http://adm%2elocal/x" => Err(TargetError::BadHost);
            absolute_empty_host: "GET", b"http:///x" => Err(TargetError::MissingHost);
            absolute_backslash: "GET", b"http://h\\@evil/" => Err(TargetError::BadHost);
            absolute_ftp: "GET", b"ftp://h/x" => Err(TargetError::UnsupportedScheme);
            absolute_one_slash: "GET", b"http:/h/x" => Err(TargetError::NotAForm);
            asterisk_options: "OPTIONS", b"*" => Ok(RequestTarget::Asterisk);
            asterisk_get: "GET", b"*" => Err(TargetError::AsteriskNotOptions);
            authority_connect: "CONNECT", b"example.com:443" => Ok(RequestTarget::Authority(b"example.com:443"));
            authority_get: "GET", b"example.com:80" => Err(TargetError::AuthorityNotConnect);
            relative: "GET", b"admin" => Err(TargetError::NotAForm);
            relative_dot: "GET", b"./admin" => Err(TargetError::NotAForm);
            query_only: "GET", b"?x" => Err(TargetError::NotAForm);
            empty_target: "GET", b"" => Err(TargetError::Empty);
        }
    }

    macro_rules! authority {
        ($($name:ident: $raw:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(check_authority($raw), $want);
            }
        )*};
    }

    mod authority {
        use super::*;
        authority! {
            name: b"example.com" => Ok(());
            name_port: b"example.com:8080" => Ok(());
            name_empty_port: b"example.com:" => Ok(());
            ipv4: b"127.0.0.1:80" => Ok(());
            ipv6: b"[::1]:8080" => Ok(());
            ipv6_bare: b"[2001:db8::1]" => Ok(());
            ipvfuture: b"[v1.a:b]" => Ok(());
            underscore: b"a_b.example" => Ok(());
            pct: b"ex%41mple.com" => Err(TargetError::BadHost);
            pct_dot: b"adm%2Elocal" => Err(TargetError::BadHost);
            pct_first: b"%61dm.local" => Err(TargetError::BadHost);
            pct_nul: b"adm.local%00" => Err(TargetError::BadHost);
            pct_with_port: b"adm%2elocal:80" => Err(TargetError::BadHost);
            upper: b"EXAMPLE.com" => Ok(());
            empty: b"" => Err(TargetError::MissingHost);
            only_port: b":80" => Err(TargetError::MissingHost);
            space: b"a b" => Err(TargetError::BadHost);
            slash: b"a/b" => Err(TargetError::BadHost);
            userinfo: b"user@example.com" => Err(TargetError::BadHost);
            backslash: b"a\\b" => Err(TargetError::BadHost);
            bad_pct: b"a%zz" => Err(TargetError::BadHost);
            port_letters: b"example.com:abc" => Err(TargetError::BadPort);
            port_too_big: b"example.com:65536" => Err(TargetError::BadPort);
            port_max: b"example.com:65535" => Ok(());
            port_long: b"example.com:000080" => Err(TargetError::BadPort);
            two_colons: b"a:1:2" => Err(TargetError::BadPort);
            unclosed_bracket: b"[::1" => Err(TargetError::BadHost);
            bad_ipv6: b"[::g]" => Err(TargetError::BadHost);
            junk_after_bracket: b"[::1]x" => Err(TargetError::BadHost);
            bare_ipv6: b"::1" => Err(TargetError::MissingHost);
            non_ascii: b"caf\xc3\xa9.example" => Err(TargetError::BadHost);
        }
    }
}
