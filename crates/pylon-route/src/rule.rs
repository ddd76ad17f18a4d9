//! Path and host rules: parsing, display "as written", normalisation and matching.

use std::{borrow::Cow, fmt};

use regex::{Regex, RegexBuilder};

use crate::Error;

/// Weight of an `=exact` path rule, before adding the pattern length.
pub(crate) const WEIGHT_EXACT: u32 = 65536;
/// Weight of a prefix path rule, before adding the pattern length.
pub(crate) const WEIGHT_PREFIX: u32 = 32768;
/// Weight of a `~regex` path rule, before adding the pattern length.
pub(crate) const WEIGHT_REGEX: u32 = 16384;
/// Added when a location has a host rule.
pub(crate) const WEIGHT_HOST: u32 = 8192;

/// The path half of a location.
///
/// Written in config as `""` (any path), `"=/exact"`, `"~regex"` or `"/prefix"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PathRule {
    /// Matches every path (`""`).
    Any,
    /// Matches exactly this path, byte for byte (`"=/x"`).
    Exact(String),
    /// Matches every path that starts with these bytes (`"/api"` matches `/api`, `/api/x`, `/apix`).
    Prefix(String),
    /// Matches when this regex finds a match anywhere in the path (`"~^/v\d+/"`); anchor it
    /// yourself. Case-sensitive unless the pattern says `(?i)`.
    Regex(String),
}

impl PathRule {
    /// Parses a path rule as written in config: `""` = [`Any`](PathRule::Any),
    /// `"=/x"` = [`Exact`](PathRule::Exact), `"~re"` = [`Regex`](PathRule::Regex) (checked
    /// here), anything else = [`Prefix`](PathRule::Prefix). Nothing is trimmed.
    pub fn parse(s: &str) -> Result<PathRule, Error> {
        if s.is_empty() {
            Ok(PathRule::Any)
        } else if let Some(exact) = s.strip_prefix('=') {
            Ok(PathRule::Exact(exact.to_owned()))
        } else if let Some(re) = s.strip_prefix('~') {
            compile_path_regex(re)?;
            Ok(PathRule::Regex(re.to_owned()))
        } else {
            Ok(PathRule::Prefix(s.to_owned()))
        }
    }

    /// The computed weight of this rule alone (SPEC §4): kind base + pattern length in bytes
    /// (without the sigil). `Any` weighs 0.
    pub(crate) fn weight(&self) -> u32 {
        let (base, text) = match self {
            PathRule::Any => return 0,
            PathRule::Exact(p) => (WEIGHT_EXACT, p),
            PathRule::Prefix(p) => (WEIGHT_PREFIX, p),
            PathRule::Regex(p) => (WEIGHT_REGEX, p),
        };
        base.saturating_add(u32::try_from(text.len()).unwrap_or(u32::MAX))
    }
}

/// Shows the rule as written in config (`Any` is the empty string).
impl fmt::Display for PathRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathRule::Any => Ok(()),
            PathRule::Exact(p) => write!(f, "={p}"),
            PathRule::Prefix(p) => f.write_str(p),
            PathRule::Regex(p) => write!(f, "~{p}"),
        }
    }
}

/// One entry of a location's host list.
///
/// Hosts are compared after stripping the port (`:8080`, `[::1]:8080`), the IPv6 brackets and
/// one trailing dot, and ignoring ASCII case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HostRule {
    /// This host name exactly (stored lowercased, without brackets): `"example.com"`, `"[::1]"`.
    Exact(String),
    /// Any host *strictly longer* than this suffix that ends with it. Holds the suffix including
    /// the dot: `"*.example.com"` is `Wildcard(".example.com")` and matches `a.example.com` and
    /// `a.b.example.com`, but not `example.com` itself (list both to get both).
    Wildcard(String),
    /// An unanchored, case-insensitive regex search over the lowercased host without port.
    Regex(String),
}

impl HostRule {
    /// Parses one host rule: `"~re"` regex, `"*.suffix"` wildcard, anything else an exact host.
    /// Surrounding whitespace is ignored.
    pub fn parse(s: &str) -> Result<HostRule, Error> {
        let s = s.trim();
        let bad = |hint| Err(Error::Host { rule: s.to_owned(), hint });
        if let Some(re) = s.strip_prefix('~') {
            compile_host_regex(re)?;
            return Ok(HostRule::Regex(re.to_owned()));
        }
        if s.is_empty() {
            return bad(
                "it is empty; remove it, or leave the whole host list empty to match any host",
            );
        }
        if s.contains(|c: char| c.is_whitespace() || c == '/' || c == ',') {
            return bad(
                "a host name has no spaces, `/` or `,`; write just the name, e.g. `example.com`",
            );
        }
        if let Some(suffix) = s.strip_prefix("*.") {
            if suffix.is_empty() || suffix.contains('*') || suffix.contains(':') {
                return bad(
                    "a wildcard is `*.` followed by a domain, e.g. `*.example.com`; use `~regex` for anything else",
                );
            }
            return Ok(HostRule::Wildcard(normalize_wildcard(s)));
        }
        if s.contains('*') {
            return bad(
                "`*` is only allowed as a leading `*.` label (e.g. `*.example.com`); use `~regex` for other patterns",
            );
        }
        let has_port =
            if s.starts_with('[') { !s.ends_with(']') } else { s.matches(':').count() == 1 };
        let name = host_part(s);
        if has_port || name.is_empty() {
            return bad(
                "host rules ignore the port; write the name without `:port` (IPv6 as `[::1]`)",
            );
        }
        Ok(HostRule::Exact(name.to_ascii_lowercase()))
    }

    /// Parses a comma-separated host list. Empty (or blank) input is an empty list: any host.
    ///
    /// A comma inside `{}`, `[]` or `()` of a `~regex` (or after a `\`) does not split, so
    /// `~^a{1,3}\.example\.com$` stays one rule.
    pub fn parse_list(s: &str) -> Result<Vec<HostRule>, Error> {
        if s.trim().is_empty() {
            return Ok(Vec::new());
        }
        split_host_list(s).into_iter().map(HostRule::parse).collect()
    }
}

/// Shows the rule as written in config.
impl fmt::Display for HostRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostRule::Exact(h) if h.contains(':') => write!(f, "[{h}]"),
            HostRule::Exact(h) => f.write_str(h),
            HostRule::Wildcard(s) => write!(f, "*{s}"),
            HostRule::Regex(r) => write!(f, "~{r}"),
        }
    }
}

/// Splits at top-level commas, keeping commas inside regex brackets or after a backslash.
fn split_host_list(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut escaped, mut start) = (0usize, false, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

pub(crate) fn compile_path_regex(pattern: &str) -> Result<Regex, Error> {
    Regex::new(pattern).map_err(|source| Error::PathRegex { pattern: pattern.to_owned(), source })
}

pub(crate) fn compile_host_regex(pattern: &str) -> Result<Regex, Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .build()
        .map_err(|source| Error::HostRegex { pattern: pattern.to_owned(), source })
}

/// The host name of a raw `Host` value: port, IPv6 brackets and one trailing dot removed.
/// Case is left alone.
pub(crate) fn host_part(raw: &str) -> &str {
    // Byte scans: hosts are short, and `:`/`]` are ASCII so every index is a char boundary.
    let raw = raw.trim_ascii();
    let colon = |s: &str| s.bytes().position(|b| b == b':');
    let name = if let Some(rest) = raw.strip_prefix('[') {
        match rest.bytes().position(|b| b == b']') {
            Some(end) => &rest[..end],
            None => rest,
        }
    } else {
        match colon(raw) {
            // exactly one colon: `name:port`; more than one: a bare IPv6 address
            Some(i) if colon(&raw[i + 1..]).is_none() => &raw[..i],
            _ => raw,
        }
    };
    name.strip_suffix('.').unwrap_or(name)
}

/// Normalised wildcard suffix: lowercased, leading `*` dropped, one leading `.` ensured,
/// trailing dot dropped. Accepts `"*.x"`, `".x"` and `"x"`.
pub(crate) fn normalize_wildcard(s: &str) -> String {
    let s = s.trim().trim_start_matches('*');
    let s = s.strip_suffix('.').unwrap_or(s);
    let mut out = String::with_capacity(s.len() + 1);
    if !s.starts_with('.') {
        out.push('.');
    }
    out.push_str(s);
    out.make_ascii_lowercase();
    out
}

/// Calls `f` with the normalised request host: port, brackets and trailing dot stripped,
/// ASCII-lowercased. Borrows when already lowercase, else lowercases on the stack (the heap
/// only for hosts over 255 bytes).
#[inline]
pub(crate) fn with_host<R>(raw: &str, f: impl FnOnce(&str) -> R) -> R {
    let name = host_part(raw);
    if !name.bytes().any(|b| b.is_ascii_uppercase()) {
        return f(name);
    }
    let mut stack = [0u8; 256];
    if let Some(dst) = stack.get_mut(..name.len()) {
        dst.copy_from_slice(name.as_bytes());
        dst.make_ascii_lowercase();
        // ASCII lowercasing keeps UTF-8 valid, so this never fails.
        if let Ok(s) = std::str::from_utf8(dst) {
            return f(s);
        }
    }
    f(&name.to_ascii_lowercase())
}

/// A host rule ready to test against a normalised host.
#[derive(Debug, Clone)]
pub(crate) enum HostMatcher {
    Exact(Box<str>),
    Wildcard(Box<str>),
    Regex(Regex),
}

impl HostMatcher {
    pub(crate) fn compile(rule: &HostRule) -> Result<HostMatcher, Error> {
        Ok(match rule {
            HostRule::Exact(h) => HostMatcher::Exact(host_part(h).to_ascii_lowercase().into()),
            HostRule::Wildcard(s) => HostMatcher::Wildcard(normalize_wildcard(s).into()),
            HostRule::Regex(r) => HostMatcher::Regex(compile_host_regex(r)?),
        })
    }

    /// `host` must already be normalised ([`with_host`]).
    pub(crate) fn is_match(&self, host: &str) -> bool {
        match self {
            HostMatcher::Exact(h) => **h == *host,
            HostMatcher::Wildcard(s) => host.len() > s.len() && host.ends_with(&**s),
            HostMatcher::Regex(r) => r.is_match(host),
        }
    }
}

/// The normal form of an exact or prefix pattern: request paths are compared in normal form
/// (SPEC §4), so the pattern is too. A pattern that does not start with `/` (only a `Route`
/// built in code can have one; the empty prefix matches everything) is kept as it is. The
/// location name is filled in by the router.
fn normal_pattern<'a>(rule: &PathRule, pattern: &'a str) -> Result<Cow<'a, str>, Error> {
    if !pattern.starts_with('/') {
        return Ok(Cow::Borrowed(pattern));
    }
    crate::normalize_path(pattern.as_bytes()).map_err(|reason| Error::PathPattern {
        route: String::new(),
        rule: rule.to_string(),
        reason,
    })
}

/// A path rule ready to test against a normalised path.
#[derive(Debug, Clone)]
pub(crate) enum PathMatcher {
    Any,
    Exact(Box<str>),
    Prefix(Box<str>),
    /// `prefix`: bytes every match must start with (from a leading `^literal`), maybe empty.
    Regex {
        regex: Regex,
        prefix: Box<[u8]>,
    },
}

impl PathMatcher {
    pub(crate) fn compile(rule: &PathRule) -> Result<PathMatcher, Error> {
        Ok(match rule {
            PathRule::Any => PathMatcher::Any,
            PathRule::Exact(p) => PathMatcher::Exact(normal_pattern(rule, p)?.into()),
            PathRule::Prefix(p) => PathMatcher::Prefix(normal_pattern(rule, p)?.into()),
            PathRule::Regex(r) => {
                let regex = compile_path_regex(r)?;
                PathMatcher::Regex { regex, prefix: anchored_literal_prefix(r).into() }
            }
        })
    }

    pub(crate) fn is_match(&self, path: &str) -> bool {
        match self {
            PathMatcher::Any => true,
            PathMatcher::Exact(p) => **p == *path,
            PathMatcher::Prefix(p) => path.as_bytes().starts_with(p.as_bytes()),
            PathMatcher::Regex { regex, .. } => regex.is_match(path),
        }
    }
}

/// The bytes every match of `pattern` must start with, when it begins with `^` (or `\A`)
/// followed by literal text, e.g. `^/api/v\d+` gives `/api/v`. Empty when there is no such
/// prefix (unanchored, `(?i)`, `(?m)^`, a top-level alternation, ...).
///
/// Uses `regex-syntax` (the parser behind `regex`) so escapes, flags and quantifiers are read
/// exactly as the regex engine reads them.
pub(crate) fn anchored_literal_prefix(pattern: &str) -> Vec<u8> {
    use regex_syntax::hir::{HirKind, Look};
    let mut out = Vec::new();
    let Ok(hir) = regex_syntax::Parser::new().parse(pattern) else {
        return out;
    };
    let HirKind::Concat(parts) = hir.kind() else {
        return out;
    };
    let mut parts = parts.iter();
    if !matches!(parts.next().map(|h| h.kind()), Some(HirKind::Look(Look::Start))) {
        return out;
    }
    for part in parts {
        match part.kind() {
            HirKind::Literal(lit) => out.extend_from_slice(&lit.0),
            HirKind::Capture(cap) => match cap.sub.kind() {
                HirKind::Literal(lit) => out.extend_from_slice(&lit.0),
                _ => break,
            },
            _ => break,
        }
    }
    out
}
