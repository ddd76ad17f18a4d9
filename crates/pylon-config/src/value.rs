//! Parsers for the string mini-languages inside the TOML values: durations, sizes,
//! addresses, header specs, patterns, algorithms, health-check URLs, rewrites.
//!
//! Each returns a [`ValueError`] whose `offset` is a byte offset into the string, so the
//! caller can point at the exact character when the TOML source allows it.

use std::net::SocketAddr;
use std::time::Duration;

use crate::model::{
    AdminUser, Algo, DEFAULT_ADDR_WEIGHT, HashKey, HeaderSpec, HealthCheck, HealthCheckKind,
    HostPattern, PathPattern, REDIRECT_STATUSES, Return, Rewrite, UpstreamAddr,
};

/// A problem in a string value, at byte `offset` of that string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValueError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

pub(crate) type VResult<T> = Result<T, ValueError>;

fn fail<T>(offset: usize, message: impl Into<String>) -> VResult<T> {
    Err(ValueError { offset, message: message.into() })
}

/// Shifts the offset of an error found in a substring starting at `base`.
fn shift<T>(r: VResult<T>, base: usize) -> VResult<T> {
    r.map_err(|e| ValueError { offset: e.offset + base, message: e.message })
}

/// Splits `s` at `sep`, yielding (byte offset of the trimmed piece, trimmed piece).
fn split_trimmed(s: &str, sep: char) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0;
    s.split(sep).map(move |piece| {
        let lead = piece.len() - piece.trim_start().len();
        let at = start + lead;
        start += piece.len() + sep.len_utf8();
        (at, piece.trim())
    })
}

/// `"500ms"`, `"3s"`, `"5m"`, `"1h"`, `"1d"`, combinations such as `"1m30s"`, and `"0"`.
pub(crate) fn duration(s: &str) -> VResult<Duration> {
    const HINT: &str =
        "expected a number followed by ms, s, m, h or d, e.g. \"500ms\", \"30s\", \"1m30s\"";
    let t = s.trim();
    let base = s.len() - s.trim_start().len();
    if t.is_empty() {
        return fail(0, format!("empty duration; {HINT}"));
    }
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let mut millis: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let at = base + t.len() - rest.len();
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return fail(at, format!("invalid duration \"{t}\": {HINT}"));
        }
        let (num, after) = rest.split_at(digits);
        let ulen = after.len() - after.trim_start_matches(|c: char| c.is_ascii_alphabetic()).len();
        let (unit, after) = after.split_at(ulen);
        let scale: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" if after.is_empty() => {
                return fail(at, format!("duration \"{t}\" lacks a unit; {HINT}"));
            }
            "" => return fail(at + digits, format!("invalid duration \"{t}\": {HINT}")),
            _ => return fail(at + digits, format!("unknown duration unit \"{unit}\"; {HINT}")),
        };
        let part = num.parse::<u64>().ok().and_then(|n| n.checked_mul(scale));
        millis = match part.and_then(|p| millis.checked_add(p)) {
            Some(m) => m,
            None => return fail(at, format!("duration \"{t}\" is too large")),
        };
        rest = after;
    }
    Ok(Duration::from_millis(millis))
}

/// `"512"`, `"64kb"`, `"1mb"`, `"1gb"` (case-insensitive, 1kb = 1024).
pub(crate) fn size(s: &str) -> VResult<u64> {
    const HINT: &str = "expected a number with an optional unit b, kb, mb or gb, e.g. \"64kb\"";
    let t = s.trim();
    let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return fail(0, format!("invalid size \"{t}\": {HINT}"));
    }
    let (num, unit) = t.split_at(digits);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return fail(digits, format!("unknown size unit \"{}\"; {HINT}", unit.trim())),
    };
    match num.parse::<u64>().ok().and_then(|n| n.checked_mul(scale)) {
        Some(n) => Ok(n),
        None => fail(0, format!("size \"{t}\" is too large")),
    }
}

/// A comma list of listen addresses (`"0.0.0.0:80, [::]:80"`), each with its byte offset.
pub(crate) fn listen_addrs(s: &str) -> VResult<Vec<(usize, SocketAddr)>> {
    let mut out = Vec::new();
    for (at, piece) in split_trimmed(s, ',') {
        if piece.is_empty() {
            return fail(
                at,
                "empty listen address; write \"IP:PORT\", e.g. \"0.0.0.0:6188\" or \"[::]:6188\"",
            );
        }
        match piece.parse::<SocketAddr>() {
            Ok(a) => out.push((at, a)),
            Err(_) => {
                return fail(
                    at,
                    format!(
                        "invalid listen address \"{piece}\"; write \"IP:PORT\", e.g. \"0.0.0.0:6188\" or \"[::1]:6188\" (hostnames are not allowed here)"
                    ),
                );
            }
        }
    }
    Ok(out)
}

/// A host name: letters, digits, `-`, `_` and dots, no empty labels.
fn is_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `"host:port [weight]"`, `"[::1]:80 2"`.
pub(crate) fn upstream_addr(s: &str) -> VResult<UpstreamAddr> {
    const HINT: &str = "write \"host:port [weight]\", e.g. \"127.0.0.1:8001\", \"api.internal:80 3\" or \"[::1]:8001\"";
    let mut parts = split_ws(s);
    let Some((at, hostport)) = parts.next() else {
        return fail(0, format!("empty upstream address; {HINT}"));
    };
    let weight = match parts.next() {
        None => DEFAULT_ADDR_WEIGHT,
        Some((wat, w)) => match w.parse::<u32>() {
            Ok(0) => {
                return fail(
                    wat,
                    "weight must be at least 1; remove the address to take it out of rotation",
                );
            }
            Ok(n) => n,
            Err(_) => {
                return fail(wat, format!("invalid weight \"{w}\": expected a whole number >= 1"));
            }
        },
    };
    if let Some((xat, extra)) = parts.next() {
        return fail(xat, format!("unexpected \"{extra}\" after the weight; {HINT}"));
    }
    let (host, port_str, port_at) = if let Some(rest) = hostport.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return fail(at, format!("unclosed '[' in \"{hostport}\"; {HINT}"));
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return fail(at + 1, format!("invalid IPv6 address \"{v6}\""));
        }
        let Some(port) = after.strip_prefix(':') else {
            return fail(at, format!("missing port in \"{hostport}\"; {HINT}"));
        };
        (v6, port, at + v6.len() + 3)
    } else {
        let Some((host, port)) = hostport.rsplit_once(':') else {
            return fail(at, format!("missing port in \"{hostport}\"; {HINT}"));
        };
        if host.contains(':') {
            return fail(at, format!("IPv6 addresses need brackets: \"[{host}]:{port}\""));
        }
        if !is_hostname(host) {
            return fail(at, format!("invalid host \"{host}\"; {HINT}"));
        }
        (host, port, at + host.len() + 1)
    };
    let port = match port_str.parse::<u16>() {
        Ok(p) if p > 0 => p,
        _ => return fail(port_at, format!("invalid port \"{port_str}\": expected 1..=65535")),
    };
    Ok(UpstreamAddr { host: host.to_owned(), port, weight })
}

/// Whitespace-separated words with their byte offsets.
fn split_ws(s: &str) -> impl Iterator<Item = (usize, &str)> {
    s.split_ascii_whitespace().map(move |w| (w.as_ptr() as usize - s.as_ptr() as usize, w))
}

/// An HTTP token (RFC 9110 `tchar`s).
pub(crate) fn header_name(s: &str) -> VResult<()> {
    if s.is_empty() {
        return fail(0, "empty header name");
    }
    match s.bytes().position(|b| !(b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))) {
        None => Ok(()),
        Some(i) => fail(
            i,
            format!(
                "invalid header name \"{s}\": only letters, digits and !#$%&'*+-.^_`|~ are allowed"
            ),
        ),
    }
}

/// The variables a header value may use, without the `$` (besides `$http_NAME`, any request
/// header). Each must be documented in `docs/configuration.md` (a test checks it).
pub fn header_variables() -> &'static [&'static str] {
    VARIABLES
}

/// The variables a header value may use (besides `$http_NAME`).
pub(crate) const VARIABLES: &[&str] = &[
    "host",
    "scheme",
    "remote_addr",
    "remote_port",
    "server_addr",
    "server_port",
    "request_id",
    "upstream_addr",
    "proxy_add_x_forwarded_for",
    "request_uri",
    "uri",
    "args",
    "request_method",
];

/// Checks the `$variables` of a header value: `$name` (longest run of `[A-Za-z0-9_]`) or `${name}`.
pub(crate) fn header_value(v: &str) -> VResult<()> {
    if let Some(i) = v.bytes().position(|b| b == b'\r' || b == b'\n' || b == 0) {
        return fail(i, "header values cannot contain CR, LF or NUL");
    }
    variables(v)
}

/// Checks that every `$variable` of `v` (a header value, a `return` body or URL) is known.
pub(crate) fn variables(v: &str) -> VResult<()> {
    let known = || {
        let mut list: Vec<String> = VARIABLES.iter().map(|v| format!("${v}")).collect();
        list.push("$http_NAME".to_owned());
        list.join(" ")
    };
    let bytes = v.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        let (name, next) = if bytes.get(i + 1) == Some(&b'{') {
            match v[i + 2..].find('}') {
                Some(end) => (&v[i + 2..i + 2 + end], i + 3 + end),
                None => return fail(i, "unclosed \"${\"; write ${name}"),
            }
        } else {
            let len =
                v[i + 1..].bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
            (&v[i + 1..i + 1 + len], i + 1 + len)
        };
        let ok = VARIABLES.contains(&name)
            || name.strip_prefix("http_").is_some_and(|h| {
                !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
        if !ok {
            if name.is_empty() {
                return fail(i, format!("a '$' must start a variable; known: {}", known()));
            }
            return fail(i, format!("unknown variable \"${name}\"; known: {}", known()));
        }
        i = next;
    }
    Ok(())
}

/// `"Name: value"`.
pub(crate) fn header_spec(s: &str) -> VResult<HeaderSpec> {
    let Some((name, value)) = s.split_once(':') else {
        return fail(0, format!("invalid header \"{s}\": expected \"Name: value\""));
    };
    let name_at = name.len() - name.trim_start().len();
    let name = name.trim();
    shift(header_name(name), name_at)?;
    let value_at = name_at + name.len() + 1 + (value.len() - value.trim_start().len());
    let value = value.trim();
    if value.is_empty() {
        return fail(
            value_at,
            format!(
                "empty value for header \"{name}\"; to drop a header use a *_remove_headers list"
            ),
        );
    }
    shift(header_value(value), value_at)?;
    Ok(HeaderSpec { name: name.to_owned(), value: value.to_owned() })
}

/// Compiles `re` to validate it; on error the offset points into `re`.
pub(crate) fn regex(re: &str) -> VResult<regex::Regex> {
    match regex::Regex::new(re) {
        Ok(r) => Ok(r),
        Err(regex::Error::Syntax(text)) => {
            let lines: Vec<&str> = text.lines().collect();
            let kind = lines
                .iter()
                .rev()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or("syntax error")
                .to_owned();
            // Single-line patterns: line 2 is four spaces of padding, then carets under the
            // offending characters.
            let offset = if re.contains('\n') {
                0
            } else {
                lines
                    .get(2)
                    .filter(|l| l.trim_start().starts_with('^'))
                    .and_then(|l| l.chars().position(|c| c == '^'))
                    .and_then(|col| col.checked_sub(4))
                    .map(|chars| re.char_indices().nth(chars).map_or(re.len(), |(b, _)| b))
                    .unwrap_or(0)
            };
            fail(offset, format!("invalid regex: {kind}"))
        }
        Err(e) => fail(0, format!("invalid regex: {e}")),
    }
}

/// `""` any, `"=/exact"`, `"~regex"`, otherwise a `/prefix`.
pub(crate) fn path_pattern(s: &str) -> VResult<PathPattern> {
    if s.is_empty() {
        Ok(PathPattern::Any)
    } else if let Some(exact) = s.strip_prefix('=') {
        if !exact.starts_with('/') {
            return fail(1, format!("exact path \"{exact}\" must start with '/', e.g. \"=/ping\""));
        }
        Ok(PathPattern::Exact(exact.to_owned()))
    } else if let Some(re) = s.strip_prefix('~') {
        shift(regex(re), 1)?;
        Ok(PathPattern::Regex(re.to_owned()))
    } else if s.starts_with('/') {
        Ok(PathPattern::Prefix(s.to_owned()))
    } else {
        fail(
            0,
            format!(
                "path \"{s}\" must be \"\" (any), \"/prefix\", \"=/exact\" or \"~regex\"; a prefix starts with '/'"
            ),
        )
    }
}

/// A comma list of `exact`, `*.suffix` and `~regex` host rules.
pub(crate) fn host_patterns(s: &str) -> VResult<Vec<HostPattern>> {
    let mut out = Vec::new();
    for (at, piece) in split_trimmed(s, ',') {
        if let Some(re) = piece.strip_prefix('~') {
            shift(regex(re), at + 1)?;
            out.push(HostPattern::Regex(re.to_owned()));
        } else if let Some(suffix) = piece.strip_prefix('*') {
            if !suffix.starts_with('.') || !is_hostname(&suffix[1..]) {
                return fail(
                    at,
                    format!(
                        "invalid wildcard \"{piece}\": write \"*.example.com\"; omit `host` to match any host"
                    ),
                );
            }
            out.push(HostPattern::Wildcard(suffix.to_ascii_lowercase()));
        } else if is_hostname(piece) || is_bracketed_v6(piece) {
            out.push(HostPattern::Exact(piece.to_ascii_lowercase()));
        } else if piece.is_empty() {
            return fail(at, "empty host in the list; remove the extra comma");
        } else {
            return fail(
                at,
                format!(
                    "invalid host \"{piece}\": expected a name (no port; the port is ignored when matching), \"*.suffix\" or \"~regex\""
                ),
            );
        }
    }
    Ok(out)
}

fn is_bracketed_v6(s: &str) -> bool {
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
}

/// A certificate domain: `example.com` or `*.example.com`, lowercased.
pub(crate) fn cert_domain(s: &str) -> VResult<String> {
    let name = s.strip_prefix("*.").unwrap_or(s);
    if is_hostname(name) {
        Ok(s.to_ascii_lowercase())
    } else {
        fail(0, format!("invalid domain \"{s}\": expected \"example.com\" or \"*.example.com\""))
    }
}

/// `round_robin | random | least_conn | hash | hash:path | hash:url | hash:ip |
/// hash:header:NAME | hash:cookie:NAME | hash:query:NAME`.
pub(crate) fn algo(s: &str) -> VResult<Algo> {
    const HINT: &str = "expected round_robin, random, least_conn, hash, hash:path, hash:url, hash:ip, hash:header:NAME, hash:cookie:NAME or hash:query:NAME";
    let named = |kind: &str, name: &str, at: usize| -> VResult<String> {
        if name.is_empty() {
            return fail(at, format!("hash:{kind}: needs a name, e.g. \"hash:{kind}:user\""));
        }
        if kind == "header" {
            shift(header_name(name), at)?;
            Ok(name.to_ascii_lowercase())
        } else if name.bytes().any(|b| b.is_ascii_whitespace() || b == b';' || b == b'=') {
            fail(at, format!("invalid {kind} name \"{name}\""))
        } else {
            Ok(name.to_owned())
        }
    };
    Ok(match s {
        "round_robin" => Algo::RoundRobin,
        "random" => Algo::Random,
        "least_conn" => Algo::LeastConn,
        "hash" | "hash:path" => Algo::Hash(HashKey::Path),
        "hash:url" => Algo::Hash(HashKey::Url),
        "hash:ip" => Algo::Hash(HashKey::Ip),
        _ => {
            if let Some(n) = s.strip_prefix("hash:header:") {
                Algo::Hash(HashKey::Header(named("header", n, 12)?))
            } else if let Some(n) = s.strip_prefix("hash:cookie:") {
                Algo::Hash(HashKey::Cookie(named("cookie", n, 12)?))
            } else if let Some(n) = s.strip_prefix("hash:query:") {
                Algo::Hash(HashKey::Query(named("query", n, 11)?))
            } else {
                return fail(0, format!("unknown algo \"{s}\"; {HINT}"));
            }
        }
    })
}

/// `tcp://[label][?params]`, `http(s)://host/path[?params]`. Params: `connection_timeout`,
/// `read_timeout`, `check_frequency` (durations), `success`, `failure` (>= 1).
pub(crate) fn health_check(s: &str) -> VResult<HealthCheck> {
    const PARAMS: &str = "connection_timeout, read_timeout, check_frequency, success, failure";
    let Some((scheme, rest)) = s.split_once("://") else {
        return fail(
            0,
            format!(
                "invalid health check \"{s}\": expected \"tcp://NAME\", \"http://HOST/PATH\" or \"https://HOST/PATH\", with optional ?{PARAMS}"
            ),
        );
    };
    let rest_at = scheme.len() + 3;
    let (target, query) = match rest.split_once('?') {
        Some((t, q)) => (t, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match target.find('/') {
        Some(i) => target.split_at(i),
        None => (target, ""),
    };
    let kind = match scheme.to_ascii_lowercase().as_str() {
        "tcp" => {
            if !path.is_empty() && path != "/" {
                return fail(
                    rest_at + authority.len(),
                    "a tcp health check has no path; use http:// to send a request",
                );
            }
            HealthCheckKind::Tcp
        }
        scheme @ ("http" | "https") => {
            if authority.is_empty() {
                return fail(
                    rest_at,
                    "missing host: write \"http://HOST/PATH\"; HOST is sent as the Host header",
                );
            }
            if authority.bytes().any(|b| b.is_ascii_whitespace() || b == b'@') {
                return fail(rest_at, format!("invalid host \"{authority}\""));
            }
            HealthCheckKind::Http {
                host: authority.to_owned(),
                path: if path.is_empty() { "/".to_owned() } else { path.to_owned() },
                tls: scheme == "https",
            }
        }
        _ => {
            return fail(
                0,
                format!("unknown health check scheme \"{scheme}\": expected tcp, http or https"),
            );
        }
    };
    let mut hc = HealthCheck { kind, ..HealthCheck::default() };
    if let Some(q) = query {
        let q_at = rest_at + target.len() + 1;
        for (at, pair) in split_trimmed(q, '&') {
            if pair.is_empty() {
                continue;
            }
            let at = q_at + at;
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value_at = at + name.len() + 1;
            let count = |v: &str| -> VResult<u32> {
                match v.parse::<u32>() {
                    Ok(n) if n >= 1 => Ok(n),
                    _ => fail(value_at, format!("{name} must be a whole number >= 1, got \"{v}\"")),
                }
            };
            match name {
                "connection_timeout" => hc.connection_timeout = shift(duration(value), value_at)?,
                "read_timeout" => hc.read_timeout = shift(duration(value), value_at)?,
                "check_frequency" => hc.check_frequency = shift(duration(value), value_at)?,
                "success" => hc.success = count(value)?,
                "failure" => hc.failure = count(value)?,
                _ => {
                    return fail(
                        at,
                        format!("unknown health check parameter \"{name}\"; known: {PARAMS}"),
                    );
                }
            }
        }
    }
    Ok(hc)
}

/// `"REGEX REPLACEMENT"`, split at the first run of whitespace. The replacement's `$1`,
/// `$name` and `${name}` must refer to groups of the regex; `$$` is a literal `$`.
pub(crate) fn rewrite(s: &str) -> VResult<Rewrite> {
    const HINT: &str = "expected \"REGEX REPLACEMENT\", e.g. \"^/api/(.*)$ /$1\" (write a space in the regex as \\s or \\x20)";
    let t = s.trim_start();
    let base = s.len() - t.len();
    let Some(cut) = t.find(char::is_whitespace) else {
        return fail(0, format!("missing replacement; {HINT}"));
    };
    let (re, rest) = t.split_at(cut);
    let replacement = rest.trim();
    let rep_at = base + cut + (rest.len() - rest.trim_start().len());
    if replacement.is_empty() {
        return fail(base + cut, format!("missing replacement; {HINT}"));
    }
    let compiled = shift(regex(re), base)?;
    let names: Vec<&str> = compiled.capture_names().flatten().collect();
    let groups = compiled.captures_len();
    let bytes = replacement.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'$') {
            i += 2;
            continue;
        }
        let (name, next) = if bytes.get(i + 1) == Some(&b'{') {
            match replacement[i + 2..].find('}') {
                Some(end) => (&replacement[i + 2..i + 2 + end], i + 3 + end),
                None => return fail(rep_at + i, "unclosed \"${\" in the replacement"),
            }
        } else {
            let len = replacement[i + 1..]
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            (&replacement[i + 1..i + 1 + len], i + 1 + len)
        };
        let ok = match name.parse::<usize>() {
            Ok(n) => n < groups,
            Err(_) => names.contains(&name),
        };
        if !ok {
            let msg = if name.is_empty() {
                "a '$' in the replacement must name a group ($1, ${name}); write $$ for a literal '$'".to_owned()
            } else {
                let glued = name.starts_with(|c: char| c.is_ascii_digit())
                    && name.parse::<usize>().is_err();
                format!(
                    "the replacement refers to group \"${name}\" but the regex has {} numbered group(s){}{}",
                    groups - 1,
                    if names.is_empty() {
                        String::new()
                    } else {
                        format!(" and named {}", names.join(", "))
                    },
                    if glued { "; write ${1}x when a letter follows a group number" } else { "" }
                )
            };
            return fail(rep_at + i, msg);
        }
        i = next;
    }
    Ok(Rewrite { regex: re.to_owned(), replacement: replacement.to_owned() })
}

/// `"STATUS [BODY]"`: the body is everything after the first space, with `$variables`;
/// `"3xx URL"` for 301, 302, 303, 307 and 308: the URL goes into `Location`.
pub(crate) fn return_spec(s: &str) -> VResult<Return> {
    let (status, body) = s.split_once(' ').unwrap_or((s, ""));
    match status.parse::<u16>() {
        Ok(n) if REDIRECT_STATUSES.contains(&n) && status.len() == 3 => {
            let url = body.trim();
            let at = 4 + (body.len() - body.trim_start().len());
            if url.is_empty() {
                return fail(
                    0,
                    format!(
                        "a {n} redirect needs a URL for its Location, e.g. \"{n} https://$host$request_uri\""
                    ),
                );
            }
            if let Some(i) =
                url.bytes().position(|b| b.is_ascii_whitespace() || b.is_ascii_control())
            {
                return fail(at + i, "a redirect URL cannot contain spaces or control characters");
            }
            if !(url.starts_with('/') || url.starts_with('$') || url.contains("://")) {
                return fail(
                    at,
                    format!(
                        "redirect URL \"{url}\" must be absolute (\"https://host/path\"), start with '/', or start with a variable"
                    ),
                );
            }
            shift(variables(url), at)?;
            Ok(Return { status: n, body: String::new(), location: Some(url.to_owned()) })
        }
        Ok(n) if (100..=599).contains(&n) && status.len() == 3 => {
            shift(variables(body), 4)?;
            Ok(Return { status: n, body: body.to_owned(), location: None })
        }
        _ => fail(
            0,
            format!(
                "invalid return \"{s}\": expected \"STATUS [BODY]\" with STATUS 100..=599, e.g. \"200 pong\""
            ),
        ),
    }
}

/// `admin_path`: `"/pylon-admin"` — starts with `/`, segments of unreserved characters
/// (RFC 3986 §2.3: `A-Z a-z 0-9 - . _ ~`), none empty, `.` or `..`. A trailing `/` is
/// dropped (`"/admin/"` is `"/admin"`). Such a path is its own normal form, so it compares
/// byte for byte with the request path the router sees.
pub(crate) fn admin_path(s: &str) -> VResult<String> {
    const HINT: &str = "e.g. \"/pylon-admin\"";
    if !s.starts_with('/') {
        return fail(0, format!("must start with '/', {HINT}"));
    }
    let trimmed = s.strip_suffix('/').unwrap_or(s);
    if trimmed.is_empty() {
        return fail(
            0,
            format!("cannot be \"/\" (the whole server would be the admin); use a prefix, {HINT}"),
        );
    }
    let mut at = 1;
    for seg in trimmed[1..].split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return fail(at, format!("empty, \".\" and \"..\" segments are not allowed, {HINT}"));
        }
        if let Some(i) =
            seg.bytes().position(|b| !(b.is_ascii_alphanumeric() || b"-._~".contains(&b)))
        {
            return fail(
                at + i,
                format!(
                    "only letters, digits and - . _ ~ may form a segment (RFC 3986 unreserved), {HINT}"
                ),
            );
        }
        at += seg.len() + 1;
    }
    Ok(trimmed.to_owned())
}

/// `"name:$argon2id$..."`.
pub(crate) fn admin_user(s: &str) -> VResult<AdminUser> {
    const HINT: &str =
        "expected \"name:$argon2id$...\"; make the hash with `pylon hash-password PASSWORD`";
    let Some((name, hash)) = s.split_once(':') else {
        return fail(0, format!("invalid user: {HINT}"));
    };
    if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
        return fail(0, format!("invalid user name \"{name}\"; {HINT}"));
    }
    if !hash.starts_with("$argon2") {
        return fail(
            name.len() + 1,
            format!("the password must be an argon2 hash, not plain text; {HINT}"),
        );
    }
    Ok(AdminUser { name: name.to_owned(), hash: hash.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration as D;

    /// `ok!(name, parser, input, expected)` / `err!(name, parser, input, offset, "message fragment")`.
    macro_rules! ok {
        ($name:ident, $f:ident, $input:expr, $want:expr) => {
            #[test]
            fn $name() {
                assert_eq!($f($input), Ok($want));
            }
        };
    }
    macro_rules! err {
        ($name:ident, $f:ident, $input:expr, $offset:expr, $frag:expr) => {
            #[test]
            fn $name() {
                let e = $f($input).expect_err("should fail");
                assert!(e.message.contains($frag), "message {:?} lacks {:?}", e.message, $frag);
                assert_eq!(e.offset, $offset, "offset of {:?}", e.message);
            }
        };
    }

    ok!(dur_ms, duration, "500ms", D::from_millis(500));
    ok!(dur_s, duration, "3s", D::from_secs(3));
    ok!(dur_m, duration, "5m", D::from_secs(300));
    ok!(dur_h, duration, "1h", D::from_secs(3600));
    ok!(dur_d, duration, "1d", D::from_secs(86400));
    ok!(dur_combo, duration, "1m30s", D::from_secs(90));
    ok!(dur_combo3, duration, "1h2m3s4ms", D::from_millis(3_723_004));
    ok!(dur_zero, duration, "0", D::ZERO);
    ok!(dur_zero_s, duration, "0s", D::ZERO);
    ok!(dur_spaces, duration, " 3s ", D::from_secs(3));
    err!(dur_empty, duration, "", 0, "empty duration");
    err!(dur_no_unit, duration, "30", 0, "lacks a unit");
    err!(dur_bad_unit, duration, "3x", 1, "unknown duration unit \"x\"");
    err!(dur_upper, duration, "3S", 1, "unknown duration unit");
    err!(dur_negative, duration, "-3s", 0, "invalid duration");
    err!(dur_combo_bad, duration, "1m3", 2, "lacks a unit");
    err!(dur_overflow, duration, "99999999999999999999h", 0, "too large");
    err!(dur_float, duration, "1.5s", 1, "invalid duration");

    ok!(size_plain, size, "512", 512);
    ok!(size_kb, size, "64kb", 65536);
    ok!(size_k, size, "64k", 65536);
    ok!(size_upper, size, "1MB", 1 << 20);
    ok!(size_gb, size, "1gb", 1 << 30);
    ok!(size_b, size, "10b", 10);
    ok!(size_space, size, "10 mb", 10 << 20);
    err!(size_bad_unit, size, "10tb", 2, "unknown size unit");
    err!(size_empty, size, "", 0, "invalid size");
    err!(size_neg, size, "-1", 0, "invalid size");
    err!(size_overflow, size, "99999999999gb", 0, "too large");

    ok!(listen_v4, listen_addrs, "0.0.0.0:80", vec![(0, "0.0.0.0:80".parse().unwrap())]);
    ok!(
        listen_list,
        listen_addrs,
        "127.0.0.1:1, [::1]:2",
        vec![(0, "127.0.0.1:1".parse().unwrap()), (13, "[::1]:2".parse().unwrap())]
    );
    err!(listen_host, listen_addrs, "localhost:80", 0, "hostnames are not allowed");
    err!(listen_second_bad, listen_addrs, "127.0.0.1:1, 1.2.3:4", 13, "invalid listen address");
    err!(listen_no_port, listen_addrs, "127.0.0.1", 0, "invalid listen address");
    err!(listen_empty, listen_addrs, "", 0, "empty listen address");
    err!(listen_trailing_comma, listen_addrs, "127.0.0.1:1,", 12, "empty listen address");

    fn ua(host: &str, port: u16, weight: u32) -> UpstreamAddr {
        UpstreamAddr { host: host.into(), port, weight }
    }
    ok!(up_v4, upstream_addr, "127.0.0.1:8001", ua("127.0.0.1", 8001, 1));
    ok!(up_weight, upstream_addr, "127.0.0.1:8002 3", ua("127.0.0.1", 8002, 3));
    ok!(up_name, upstream_addr, "api.internal:80", ua("api.internal", 80, 1));
    ok!(up_v6, upstream_addr, "[::1]:80 2", ua("::1", 80, 2));
    ok!(up_tabs, upstream_addr, "  a:1\t4 ", ua("a", 1, 4));
    err!(up_weight_zero, upstream_addr, "a:1 0", 4, "at least 1");
    err!(up_weight_bad, upstream_addr, "a:1 x", 4, "invalid weight");
    err!(up_extra, upstream_addr, "a:1 2 3", 6, "unexpected");
    err!(up_no_port, upstream_addr, "a", 0, "missing port");
    err!(up_port_zero, upstream_addr, "a:0", 2, "invalid port");
    err!(up_port_big, upstream_addr, "a:70000", 2, "invalid port");
    err!(up_v6_nobracket, upstream_addr, "::1:80", 0, "need brackets");
    err!(up_v6_bad, upstream_addr, "[zz]:80", 1, "invalid IPv6");
    err!(up_v6_port, upstream_addr, "[::1]:x", 6, "invalid port");
    err!(up_bad_host, upstream_addr, "a b:80", 2, "invalid weight");
    err!(up_bad_host_chars, upstream_addr, "a/b:80", 0, "invalid host");
    err!(up_empty, upstream_addr, "", 0, "empty upstream address");

    fn hs(name: &str, value: &str) -> HeaderSpec {
        HeaderSpec { name: name.into(), value: value.into() }
    }
    ok!(hdr_plain, header_spec, "X-A: b", hs("X-A", "b"));
    ok!(hdr_trim, header_spec, "  X-A  :   b c  ", hs("X-A", "b c"));
    ok!(hdr_var, header_spec, "X-Proto: $scheme", hs("X-Proto", "$scheme"));
    ok!(
        hdr_vars,
        header_spec,
        "X-F: $proxy_add_x_forwarded_for",
        hs("X-F", "$proxy_add_x_forwarded_for")
    );
    ok!(hdr_http_var, header_spec, "X-UA: $http_user_agent", hs("X-UA", "$http_user_agent"));
    ok!(hdr_braced, header_spec, "X-H: ${host}_x", hs("X-H", "${host}_x"));
    ok!(hdr_colon_in_value, header_spec, "X-T: a:b", hs("X-T", "a:b"));
    ok!(
        hdr_mixed,
        header_spec,
        "X-R: $remote_addr:$remote_port",
        hs("X-R", "$remote_addr:$remote_port")
    );
    err!(hdr_no_colon, header_spec, "X-A b", 0, "expected \"Name: value\"");
    err!(hdr_bad_name, header_spec, "X A: b", 1, "invalid header name");
    err!(hdr_empty_name, header_spec, ": b", 0, "empty header name");
    err!(hdr_empty_value, header_spec, "X-A:  ", 6, "empty value");
    err!(hdr_unknown_var, header_spec, "X-A: $hostt", 5, "unknown variable \"$hostt\"");
    err!(hdr_suffix_var, header_spec, "X-A: $host_x", 5, "unknown variable");
    err!(hdr_lone_dollar, header_spec, "X-A: 5$", 6, "must start a variable");
    err!(hdr_double_dollar, header_spec, "X-A: $$", 5, "must start a variable");
    err!(hdr_http_empty, header_spec, "X-A: $http_", 5, "unknown variable");
    err!(hdr_unclosed, header_spec, "X-A: ${host", 5, "unclosed");
    err!(hdr_crlf, header_spec, "X-A: a\nb", 6, "CR, LF");

    ok!(path_any, path_pattern, "", PathPattern::Any);
    ok!(path_prefix, path_pattern, "/api", PathPattern::Prefix("/api".into()));
    ok!(path_exact, path_pattern, "=/ping", PathPattern::Exact("/ping".into()));
    ok!(path_regex, path_pattern, "~^/re(gex)?$", PathPattern::Regex("^/re(gex)?$".into()));
    err!(path_no_slash, path_pattern, "api", 0, "a prefix starts with '/'");
    err!(path_exact_no_slash, path_pattern, "=ping", 1, "must start with '/'");
    err!(path_bad_regex, path_pattern, "~^/api(", 6, "invalid regex: unclosed group");
    err!(path_bad_regex_mid, path_pattern, "~a[z-a]", 3, "invalid regex");

    ok!(host_exact, host_patterns, "Example.COM", vec![HostPattern::Exact("example.com".into())]);
    ok!(
        host_list,
        host_patterns,
        "a.com, *.B.com, ~^x\\d+$",
        vec![
            HostPattern::Exact("a.com".into()),
            HostPattern::Wildcard(".b.com".into()),
            HostPattern::Regex("^x\\d+$".into())
        ]
    );
    ok!(host_v6, host_patterns, "[::1]", vec![HostPattern::Exact("[::1]".into())]);
    err!(host_port, host_patterns, "a.com:80", 0, "no port");
    err!(host_bare_star, host_patterns, "*", 0, "invalid wildcard");
    err!(host_star_nodot, host_patterns, "*x.com", 0, "invalid wildcard");
    err!(host_empty_entry, host_patterns, "a.com,,b.com", 6, "empty host");
    err!(host_bad_regex, host_patterns, "a.com, ~(", 8, "invalid regex");

    ok!(algo_rr, algo, "round_robin", Algo::RoundRobin);
    ok!(algo_random, algo, "random", Algo::Random);
    ok!(algo_lc, algo, "least_conn", Algo::LeastConn);
    ok!(algo_hash, algo, "hash", Algo::Hash(HashKey::Path));
    ok!(algo_hash_path, algo, "hash:path", Algo::Hash(HashKey::Path));
    ok!(algo_hash_url, algo, "hash:url", Algo::Hash(HashKey::Url));
    ok!(algo_hash_ip, algo, "hash:ip", Algo::Hash(HashKey::Ip));
    ok!(algo_hash_header, algo, "hash:header:X-User", Algo::Hash(HashKey::Header("x-user".into())));
    ok!(algo_hash_cookie, algo, "hash:cookie:sid", Algo::Hash(HashKey::Cookie("sid".into())));
    ok!(algo_hash_query, algo, "hash:query:uid", Algo::Hash(HashKey::Query("uid".into())));
    err!(algo_unknown, algo, "roundrobin", 0, "unknown algo");
    err!(algo_hash_unknown, algo, "hash:body", 0, "unknown algo");
    err!(algo_header_empty, algo, "hash:header:", 12, "needs a name");
    err!(algo_header_bad, algo, "hash:header:a b", 13, "invalid header name");
    err!(algo_cookie_bad, algo, "hash:cookie:a;b", 12, "invalid cookie name");

    fn http(host: &str, path: &str, tls: bool) -> HealthCheckKind {
        HealthCheckKind::Http { host: host.into(), path: path.into(), tls }
    }
    ok!(hc_tcp, health_check, "tcp://api", HealthCheck::default());
    ok!(hc_tcp_bare, health_check, "tcp://", HealthCheck::default());
    ok!(
        hc_http,
        health_check,
        "http://api/ping",
        HealthCheck { kind: http("api", "/ping", false), ..HealthCheck::default() }
    );
    ok!(
        hc_https_nopath,
        health_check,
        "https://api:8443",
        HealthCheck { kind: http("api:8443", "/", true), ..HealthCheck::default() }
    );
    ok!(
        hc_params,
        health_check,
        "http://api/ping?connection_timeout=1s&read_timeout=2s&check_frequency=5s&success=3&failure=4",
        HealthCheck {
            kind: http("api", "/ping", false),
            connection_timeout: D::from_secs(1),
            read_timeout: D::from_secs(2),
            check_frequency: D::from_secs(5),
            success: 3,
            failure: 4,
        }
    );
    ok!(
        hc_tcp_params,
        health_check,
        "tcp://api?check_frequency=1m",
        HealthCheck { check_frequency: D::from_secs(60), ..HealthCheck::default() }
    );
    err!(hc_no_scheme, health_check, "api/ping", 0, "expected \"tcp://NAME\"");
    err!(hc_bad_scheme, health_check, "udp://api", 0, "unknown health check scheme");
    err!(
        hc_unknown_param,
        health_check,
        "tcp://api?timeout=1s",
        10,
        "unknown health check parameter \"timeout\""
    );
    err!(hc_bad_duration, health_check, "tcp://api?read_timeout=3", 23, "lacks a unit");
    err!(hc_zero_success, health_check, "tcp://a?success=0", 16, "success must be");
    err!(hc_http_no_host, health_check, "http:///ping", 7, "missing host");
    err!(hc_tcp_path, health_check, "tcp://api/ping", 9, "has no path");

    fn rw(re: &str, rep: &str) -> Rewrite {
        Rewrite { regex: re.into(), replacement: rep.into() }
    }
    ok!(rw_basic, rewrite, "^/api/(.*)$ /$1", rw("^/api/(.*)$", "/$1"));
    ok!(rw_ws_run, rewrite, "^/a/(.*)   \t /b/$1", rw("^/a/(.*)", "/b/$1"));
    ok!(
        rw_named,
        rewrite,
        "^/u/(?P<id>\\d+) /user?id=${id}",
        rw("^/u/(?P<id>\\d+)", "/user?id=${id}")
    );
    ok!(rw_named_bare, rewrite, "^/u/(?<id>\\d+) /user/$id", rw("^/u/(?<id>\\d+)", "/user/$id"));
    ok!(rw_literal_dollar, rewrite, "^/x /$$", rw("^/x", "/$$"));
    ok!(rw_group0, rewrite, "^/x /y$0", rw("^/x", "/y$0"));
    err!(rw_missing_rep, rewrite, "^/x", 0, "missing replacement");
    err!(rw_bad_regex, rewrite, "^/x( /y", 3, "invalid regex");
    err!(rw_missing_group, rewrite, "^/(.*) /$2", 8, "has 1 numbered group(s)");
    err!(rw_named_listed, rewrite, "^/(?P<a>.*) /$b", 13, "and named a");
    err!(rw_unknown_name, rewrite, "^/(.*) /$id", 8, "refers to group \"$id\"");
    err!(rw_glued_name, rewrite, "^/(.*) /$1x", 8, "${1}x");
    err!(rw_lone_dollar, rewrite, "^/(.*) /$", 8, "write $$");

    fn ret(status: u16, body: &str) -> Return {
        Return { status, body: body.into(), location: None }
    }
    fn redirect(status: u16, url: &str) -> Return {
        Return { status, body: String::new(), location: Some(url.into()) }
    }
    ok!(ret_body, return_spec, "200 pong\n", ret(200, "pong\n"));
    ok!(ret_no_body, return_spec, "204", ret(204, ""));
    ok!(ret_spaces_kept, return_spec, "404  not found", ret(404, " not found"));
    ok!(
        ret_body_vars,
        return_spec,
        "200 $request_method $uri?$args",
        ret(200, "$request_method $uri?$args")
    );
    ok!(
        ret_redirect,
        return_spec,
        "301 https://$host$request_uri",
        redirect(301, "https://$host$request_uri")
    );
    ok!(ret_redirect_relative, return_spec, "302 /login", redirect(302, "/login"));
    ok!(
        ret_redirect_308_trim,
        return_spec,
        "308  https://a.example/ ",
        redirect(308, "https://a.example/")
    );
    ok!(ret_300_is_a_body, return_spec, "300 choose", ret(300, "choose"));
    err!(ret_redirect_no_url, return_spec, "301", 0, "needs a URL");
    err!(ret_redirect_relative_word, return_spec, "307 example.com", 4, "must be absolute");
    err!(
        ret_redirect_unknown_var,
        return_spec,
        "301 https://$hots/",
        12,
        "unknown variable \"$hots\""
    );
    err!(ret_redirect_space, return_spec, "301 https://a/ b", 14, "cannot contain spaces");
    err!(ret_body_unknown_var, return_spec, "200 costs $5", 10, "unknown variable \"$5\"");
    err!(ret_bad_status, return_spec, "600 x", 0, "100..=599");
    err!(ret_not_number, return_spec, "ok", 0, "invalid return");
    err!(ret_leading_zero, return_spec, "0200 x", 0, "invalid return");

    ok!(
        user_ok,
        admin_user,
        "admin:$argon2id$v=19$x",
        AdminUser { name: "admin".into(), hash: "$argon2id$v=19$x".into() }
    );
    err!(user_plain, admin_user, "admin:secret", 6, "argon2 hash");
    err!(user_no_colon, admin_user, "admin", 0, "invalid user");
    err!(user_empty_name, admin_user, ":$argon2id$", 0, "invalid user name");

    ok!(admin_path_plain, admin_path, "/pylon-admin", "/pylon-admin".to_owned());
    ok!(admin_path_nested, admin_path, "/ops/admin~1.x", "/ops/admin~1.x".to_owned());
    ok!(admin_path_trailing_slash, admin_path, "/admin/", "/admin".to_owned());
    err!(admin_path_relative, admin_path, "admin", 0, "must start with '/'");
    err!(admin_path_root, admin_path, "/", 0, "cannot be \"/\"");
    err!(admin_path_double_slash, admin_path, "/a//b", 3, "segments are not allowed");
    err!(admin_path_dots, admin_path, "/a/../b", 3, "segments are not allowed");
    err!(admin_path_escape, admin_path, "/adm%69n", 4, "unreserved");
    err!(admin_path_query, admin_path, "/admin?x", 6, "unreserved");

    ok!(domain_exact, cert_domain, "Example.com", "example.com".to_owned());
    ok!(domain_wild, cert_domain, "*.example.com", "*.example.com".to_owned());
    err!(domain_bad, cert_domain, "exa mple.com", 0, "invalid domain");
    err!(domain_star_mid, cert_domain, "a.*.com", 0, "invalid domain");
}
