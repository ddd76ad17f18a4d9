//! Template text -> compiled [`Template`] (nom), and back (`Display`).

use std::fmt;
use std::sync::Arc;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_while1};
use nom::character::complete::char;
use nom::combinator::{map, value};
use nom::sequence::delimited;
use nom::{IResult, Parser};

use crate::Error;
use crate::render::put_escaped;

/// The built-in templates, by name. `common` is the Common Log Format and `combined`
/// nginx's `log_format combined`, token for token (`{time_local}` in UTC).
const PRESETS: &[(&str, &str)] = &[
    ("tiny", "{method} {uri} {status} {size_human} - {latency}ms"),
    ("short", "{remote} {method} {uri} {proto} {status} {size_human} - {latency}ms"),
    (
        "common",
        r#"{remote_addr} - {remote_user} [{time_local}] "{request}" {status} {body_bytes_sent}"#,
    ),
    (
        "combined",
        r#"{remote_addr} - {remote_user} [{time_local}] "{request}" {status} {body_bytes_sent} "{http_referer}" "{http_user_agent}""#,
    ),
];

/// A token with a fixed name, e.g. `{status}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Named {
    Host,
    Method,
    Path,
    Query,
    Uri,
    Proto,
    Scheme,
    Remote,
    ClientIp,
    Referer,
    UserAgent,
    When,
    WhenUtcIso,
    WhenUnix,
    Status,
    Size,
    SizeHuman,
    PayloadSize,
    PayloadSizeHuman,
    Latency,
    LatencyHuman,
    RequestId,
    Location,
    UpstreamAddr,
    UpstreamStatus,
    UpstreamConnectTime,
    UpstreamResponseTime,
    ConnectionReused,
    RemoteAddr,
    RemoteUser,
    TimeLocal,
    Request,
    BodyBytesSent,
}

impl Named {
    /// Every named token with its spelling. Keep in step with [`crate::error::KNOWN_TOKENS`].
    pub(crate) const ALL: [(&'static str, Named); 33] = [
        ("host", Named::Host),
        ("method", Named::Method),
        ("path", Named::Path),
        ("query", Named::Query),
        ("uri", Named::Uri),
        ("proto", Named::Proto),
        ("scheme", Named::Scheme),
        ("remote", Named::Remote),
        ("client_ip", Named::ClientIp),
        ("referer", Named::Referer),
        ("user_agent", Named::UserAgent),
        ("when", Named::When),
        ("when_utc_iso", Named::WhenUtcIso),
        ("when_unix", Named::WhenUnix),
        ("status", Named::Status),
        ("size", Named::Size),
        ("size_human", Named::SizeHuman),
        ("payload_size", Named::PayloadSize),
        ("payload_size_human", Named::PayloadSizeHuman),
        ("latency", Named::Latency),
        ("latency_human", Named::LatencyHuman),
        ("request_id", Named::RequestId),
        ("location", Named::Location),
        ("upstream_addr", Named::UpstreamAddr),
        ("upstream_status", Named::UpstreamStatus),
        ("upstream_connect_time", Named::UpstreamConnectTime),
        ("upstream_response_time", Named::UpstreamResponseTime),
        ("connection_reused", Named::ConnectionReused),
        ("remote_addr", Named::RemoteAddr),
        ("remote_user", Named::RemoteUser),
        ("time_local", Named::TimeLocal),
        ("request", Named::Request),
        ("body_bytes_sent", Named::BodyBytesSent),
    ];

    fn from_name(name: &str) -> Option<Named> {
        Named::ALL.iter().find(|(n, _)| *n == name).map(|&(_, t)| t)
    }

    fn name(self) -> &'static str {
        Named::ALL.iter().find(|(_, t)| *t == self).map_or("", |&(n, _)| n)
    }
}

/// One `{…}` of a template, compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    Named(Named),
    /// `{>Name}`
    RequestHeader(Box<str>),
    /// `{<Name}`
    ResponseHeader(Box<str>),
    /// `{~name}`
    Cookie(Box<str>),
    /// `{$NAME}`: `value` is the variable's value at parse time, already escaped, or `-`.
    Env {
        name: Box<str>,
        value: Box<[u8]>,
    },
    /// `{http_NAME}`: a request header the nginx way (`_` in `written` is `-` in `header`;
    /// a header sent empty prints empty, a missing one `-`; bytes outside ASCII escaped).
    HttpHeader {
        written: Box<str>,
        header: Box<str>,
    },
}

/// A piece of a compiled template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Text copied as is (escapes already resolved; adjacent text merged).
    Literal(Box<str>),
    Token(Token),
}

/// A compiled access-log template: parse once, render for every request.
///
/// Immutable and cheap to clone (the segments sit behind an `Arc`). `Display` prints the
/// template text back, with literal braces doubled, so `Template::parse(&t.to_string())`
/// gives `t` again. A preset displays as its expanded text, not its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pub(crate) segments: Arc<[Segment]>,
}

/// A raw piece of template text, before tokens are resolved.
#[derive(Clone, Debug)]
enum Raw<'a> {
    Text(&'a str),
    Brace(char),
    Token(&'a str),
}

/// One piece: a run of plain text, `{{`, `}}`, or `{name}`.
fn raw_piece(input: &str) -> IResult<&str, Raw<'_>> {
    alt((
        map(take_while1(|c| c != '{' && c != '}'), Raw::Text),
        value(Raw::Brace('{'), tag("{{")),
        value(Raw::Brace('}'), tag("}}")),
        map(delimited(char('{'), take_till(|c| c == '}'), char('}')), Raw::Token),
    ))
    .parse(input)
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn checked_name<'a>(
    name: &'a str,
    raw: &str,
    column: usize,
    valid: fn(char) -> bool,
    reason: &'static str,
) -> Result<&'a str, Error> {
    if !name.is_empty() && name.chars().all(valid) {
        Ok(name)
    } else {
        Err(Error::InvalidName { token: raw.to_owned(), column, reason })
    }
}

const HEADER_REASON: &str =
    "a header name is one or more of A-Z a-z 0-9 and !#$%&'*+-.^_`|~, e.g. {>X-Forwarded-For}";
const COOKIE_REASON: &str =
    "a cookie name is one or more of A-Z a-z 0-9 and !#$%&'*+-.^_`|~, e.g. {~session}";
const ENV_REASON: &str =
    "an environment variable name is one or more of A-Z a-z 0-9 _, e.g. {$HOSTNAME}";

fn compile_token(raw: &str, column: usize) -> Result<Token, Error> {
    if let Some(name) = raw.strip_prefix('>') {
        let name = checked_name(name, raw, column, is_tchar, HEADER_REASON)?;
        return Ok(Token::RequestHeader(name.into()));
    }
    if let Some(name) = raw.strip_prefix('<') {
        let name = checked_name(name, raw, column, is_tchar, HEADER_REASON)?;
        return Ok(Token::ResponseHeader(name.into()));
    }
    if let Some(name) = raw.strip_prefix('~') {
        let name = checked_name(name, raw, column, is_tchar, COOKIE_REASON)?;
        return Ok(Token::Cookie(name.into()));
    }
    if let Some(name) = raw.strip_prefix('$') {
        let name = checked_name(name, raw, column, is_env_char, ENV_REASON)?;
        let var = std::env::var_os(name).unwrap_or_default();
        let mut value = Vec::new();
        put_escaped(&mut value, var.to_string_lossy().as_bytes());
        return Ok(Token::Env { name: name.into(), value: value.into() });
    }
    match Named::from_name(raw) {
        Some(named) => Ok(Token::Named(named)),
        None => match raw.strip_prefix("http_") {
            Some(name) if !name.is_empty() && name.chars().all(is_env_char) => {
                Ok(Token::HttpHeader {
                    written: name.into(),
                    header: name.replace('_', "-").into(),
                })
            }
            _ => Err(Error::UnknownToken { token: raw.to_owned(), column }),
        },
    }
}

fn is_env_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Template {
    /// Compile template text.
    ///
    /// Text is copied as is, `{token}` is replaced per request, and `{{` / `}}` stand for a
    /// literal `{` / `}`. Environment tokens (`{$NAME}`) are read now, once.
    pub fn parse(text: &str) -> Result<Template, Error> {
        let mut segments: Vec<Segment> = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while !rest.is_empty() {
            let offset = text.len() - rest.len();
            let column = text.get(..offset).map_or(0, |s| s.chars().count()) + 1;
            let (next, piece) = match raw_piece(rest) {
                Ok(ok) => ok,
                Err(_) if rest.starts_with('}') => return Err(Error::UnmatchedClose { column }),
                Err(_) => return Err(Error::Unclosed { column }),
            };
            rest = next;
            match piece {
                Raw::Text(s) => literal.push_str(s),
                Raw::Brace(c) => literal.push(c),
                Raw::Token(raw) => {
                    let token = compile_token(raw, column)?;
                    if !literal.is_empty() {
                        segments.push(Segment::Literal(std::mem::take(&mut literal).into()));
                    }
                    segments.push(Segment::Token(token));
                }
            }
        }
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal.into()));
        }
        Ok(Template { segments: segments.into() })
    }

    /// Every built-in template as (name, template text): `tiny`, `short`, `common` (the
    /// Common Log Format) and `combined` (nginx's `combined`).
    pub fn presets() -> &'static [(&'static str, &'static str)] {
        PRESETS
    }

    /// The name of every named token, without braces (`status`, `remote_addr`, …); the
    /// forms with a name (`{http_NAME}`, `{>Name}`, `{<Name}`, `{~name}`, `{$NAME}`) are
    /// not listed.
    pub fn token_names() -> impl Iterator<Item = &'static str> {
        Named::ALL.iter().map(|(name, _)| *name)
    }

    /// A built-in template by name: `tiny`, `short`, `common` or `combined` (SPEC §6).
    pub fn preset(name: &str) -> Option<Template> {
        let (_, text) = PRESETS.iter().find(|(n, _)| *n == name)?;
        Template::parse(text).ok()
    }

    /// A preset name, else template text: what `access_log = "…"` in the config holds.
    ///
    /// A single word (only ASCII letters, digits, `_` and `-`) that is not a preset is refused
    /// with [`Error::UnknownPreset`] instead of logging that word on every line.
    pub fn from_spec(spec: &str) -> Result<Template, Error> {
        if let Some(t) = Template::preset(spec) {
            return Ok(t);
        }
        let is_word = !spec.is_empty()
            && spec.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if is_word {
            return Err(Error::UnknownPreset { name: spec.to_owned() });
        }
        Template::parse(spec)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in self.segments.iter() {
            match segment {
                Segment::Literal(text) => {
                    for part in text.split_inclusive(['{', '}']) {
                        f.write_str(part)?;
                        if let Some(brace @ ('{' | '}')) = part.chars().next_back() {
                            write!(f, "{brace}")?;
                        }
                    }
                }
                Segment::Token(Token::Named(named)) => write!(f, "{{{}}}", named.name())?,
                Segment::Token(Token::RequestHeader(name)) => write!(f, "{{>{name}}}")?,
                Segment::Token(Token::ResponseHeader(name)) => write!(f, "{{<{name}}}")?,
                Segment::Token(Token::Cookie(name)) => write!(f, "{{~{name}}}")?,
                Segment::Token(Token::Env { name, .. }) => write!(f, "{{${name}}}")?,
                Segment::Token(Token::HttpHeader { written, .. }) => {
                    write!(f, "{{http_{written}}}")?
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `parses!(name, text, display)`: `text` parses and displays back as `display`.
    macro_rules! parses {
        ($name:ident, $text:expr, $display:expr) => {
            #[test]
            fn $name() {
                let t = Template::parse($text).expect("parses");
                assert_eq!(t.to_string(), $display);
                assert_eq!(Template::parse(&t.to_string()).expect("reparses"), t);
            }
        };
    }

    /// `fails!(name, text, error)`: `text` is rejected with exactly `error`.
    macro_rules! fails {
        ($name:ident, $text:expr, $err:expr) => {
            #[test]
            fn $name() {
                assert_eq!(Template::parse($text), Err($err));
            }
        };
    }

    fn unknown(token: &str, column: usize) -> Error {
        Error::UnknownToken { token: token.into(), column }
    }

    fn invalid(token: &str, column: usize, reason: &'static str) -> Error {
        Error::InvalidName { token: token.into(), column, reason }
    }

    parses!(empty, "", "");
    parses!(plain_text, "hello world", "hello world");
    parses!(one_token, "{status}", "{status}");
    parses!(text_and_tokens, "a {method} b {uri} c", "a {method} b {uri} c");
    parses!(escaped_open, "{{", "{{");
    parses!(escaped_close, "}}", "}}");
    parses!(escaped_pair, "{{status}}", "{{status}}");
    parses!(escaped_around_token, "{{{status}}}", "{{{status}}}");
    parses!(request_header, "{>X-Forwarded-For}", "{>X-Forwarded-For}");
    parses!(response_header, "{<Content-Type}", "{<Content-Type}");
    parses!(cookie, "{~session_id}", "{~session_id}");
    parses!(env, "{$PYLON_TEST_UNSET_VAR}", "{$PYLON_TEST_UNSET_VAR}");
    parses!(unicode_text, "→ {status} µ", "→ {status} µ");
    parses!(adjacent_tokens, "{status}{size}", "{status}{size}");
    parses!(json_like, r#"{{"s":{status}}}"#, r#"{{"s":{status}}}"#);

    fails!(unknown_token, "{method} {nope}", unknown("nope", 10));
    fails!(empty_token, "{}", unknown("", 1));
    fails!(spaced_token, "{ status }", unknown(" status ", 1));
    fails!(case_matters, "{Status}", unknown("Status", 1));
    fails!(nested_open, "{a{b}", unknown("a{b", 1));
    fails!(column_counts_chars, "µµ {nope}", unknown("nope", 4));
    fails!(unclosed, "x {status", Error::Unclosed { column: 3 });
    fails!(unclosed_at_end, "x {", Error::Unclosed { column: 3 });
    fails!(lone_close, "x } y", Error::UnmatchedClose { column: 3 });
    fails!(close_after_token, "{status}}", Error::UnmatchedClose { column: 9 });
    fails!(empty_header, "{>}", invalid(">", 1, HEADER_REASON));
    fails!(bad_header, "{<Content Type}", invalid("<Content Type", 1, HEADER_REASON));
    fails!(empty_cookie, "{~}", invalid("~", 1, COOKIE_REASON));
    fails!(bad_cookie, "{~a;b}", invalid("~a;b", 1, COOKIE_REASON));
    fails!(empty_env, "{$}", invalid("$", 1, ENV_REASON));
    fails!(empty_http_header, "{http_}", unknown("http_", 1));
    fails!(bad_http_header, "{http_a-b}", unknown("http_a-b", 1));
    parses!(http_header, "{http_x_forwarded_for}", "{http_x_forwarded_for}");
    fails!(bad_env, "{$A-B}", invalid("$A-B", 1, ENV_REASON));

    #[test]
    fn every_named_token_parses_and_displays() {
        for (name, named) in Named::ALL {
            let t = Template::parse(&format!("{{{name}}}")).expect("parses");
            assert_eq!(&*t.segments, &[Segment::Token(Token::Named(named))]);
            assert_eq!(t.to_string(), format!("{{{name}}}"));
        }
    }

    #[test]
    fn known_tokens_message_lists_every_token() {
        let listed: Vec<&str> = crate::error::KNOWN_TOKENS.split(' ').collect();
        let all: Vec<String> = Named::ALL.iter().map(|(n, _)| format!("{{{n}}}")).collect();
        assert_eq!(listed, all);
    }

    #[test]
    fn presets_expand_to_the_spec_text() {
        let expect = [
            ("tiny", "{method} {uri} {status} {size_human} - {latency}ms"),
            ("short", "{remote} {method} {uri} {proto} {status} {size_human} - {latency}ms"),
            (
                "common",
                r#"{remote_addr} - {remote_user} [{time_local}] "{request}" {status} {body_bytes_sent}"#,
            ),
            (
                "combined",
                r#"{remote_addr} - {remote_user} [{time_local}] "{request}" {status} {body_bytes_sent} "{http_referer}" "{http_user_agent}""#,
            ),
        ];
        for (name, text) in expect {
            assert_eq!(Template::preset(name).expect("preset").to_string(), text);
            assert_eq!(Template::from_spec(name), Template::parse(text));
        }
        assert_eq!(Template::preset("nope"), None);
        assert_eq!(Template::from_spec("{status}"), Template::parse("{status}"));
        assert_eq!(Template::from_spec("{nope}"), Err(unknown("nope", 1)));
        assert_eq!(
            Template::from_spec("combind"),
            Err(Error::UnknownPreset { name: "combind".into() })
        );
        assert_eq!(Template::parse("combind").map(|t| t.to_string()), Ok("combind".into()));
        assert_eq!(Template::from_spec("- -").map(|t| t.to_string()), Ok("- -".into()));
    }

    #[test]
    fn literal_text_is_merged() {
        let t = Template::parse("a{{b}}c{status}").expect("parses");
        assert_eq!(
            &*t.segments,
            &[Segment::Literal("a{b}c".into()), Segment::Token(Token::Named(Named::Status))]
        );
    }

    #[test]
    fn error_messages_say_how_to_fix() {
        let msg = unknown("nope", 3).to_string();
        assert!(msg.starts_with("unknown access-log token `{nope}` at column 3;"), "{msg}");
        assert!(msg.contains("{user_agent}") && msg.contains("{{"), "{msg}");
        let msg = Error::Unclosed { column: 2 }.to_string();
        assert_eq!(
            msg,
            "unclosed `{` at column 2: close the token with `}`, or write `{{` for a literal `{`"
        );
        let msg = Error::UnmatchedClose { column: 2 }.to_string();
        assert_eq!(msg, "unmatched `}` at column 2: write `}}` for a literal `}`");
    }

    #[test]
    fn template_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<Template>();
    }
}
