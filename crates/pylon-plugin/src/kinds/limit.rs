//! `kind = "limit"`: request rate and concurrent requests per key, with `pingora-limits`.
//!
//! ```toml
//! [plugins.api_limit]
//! kind = "limit"
//! key = "ip"               # ip (default) | header:NAME | cookie:NAME | query:NAME | path
//! rate = "10r/s"           # requests per second (r/s), minute (r/m) or hour (r/h)
//! burst = 5                # extra requests a key may make after being quiet (default 0)
//! concurrent = 20          # requests of one key in flight at once (default: no limit)
//! trusted_proxies = []     # key = "ip" behind these proxies uses X-Forwarded-For
//! ```
//!
//! **The window.** Requests are counted per key in consecutive fixed windows one rate unit
//! long (1 s for `r/s`, 1 min for `r/m`, 1 h for `r/h`). The windows are shared by every
//! key of the plugin: the first starts when the config is loaded, and each later one starts
//! with the first request after the previous one ended (a quiet period is not a window).
//! In a window a key may make `rate` requests, plus up to `burst` more when it left that
//! many unused in the window before: allowance = `rate + min(burst, rate - previous)`,
//! where `previous` is what the key made in the window just before (0 if that was not the
//! immediately preceding window). So a quiet key can send `rate + burst` at once, and a key
//! that keeps sending gets `rate` per window: over any two consecutive windows at most
//! `2 × rate + burst` requests pass (a token bucket of `rate + burst` refilled by `rate` per
//! window, never more lenient). Refused requests are not counted.
//!
//! A request over the limit gets 429 with the error page and `Retry-After` (the seconds
//! until the current window ends; 1 for the concurrency limit). A request without the key
//! (no such header, cookie or parameter) is not limited, as nginx does for an empty key.
//! State is shared by every worker thread and every location listing the plugin. Keys are
//! counted in a count-min sketch (pingora-limits): distinct keys may share a counter when
//! thousands are active at once, which can only over-count — a key may be limited early,
//! never late.

use std::{future::Future, net::IpAddr, time::Duration};

use http::header;
use pingora_limits::{inflight::Inflight, rate::Rate};

use crate::{
    exchange::{Reply, Request, State, Verdict},
    net::{IpSet, client_ip},
    plugin::{Phases, Plugin},
    spec::{Options, is_token},
};

pub(crate) const OPTIONS: &[&str] = &["key", "rate", "burst", "concurrent", "trusted_proxies"];

/// Default `burst`.
pub const DEFAULT_LIMIT_BURST: u32 = 0;

/// Rows and columns of the rate sketch: 4 × 4096 counters per window (two windows).
const SKETCH_HASHES: usize = 4;
const SKETCH_SLOTS: usize = 4096;

/// What a request is counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LimitKey {
    Ip,
    Header(http::HeaderName),
    Cookie(String),
    Query(String),
    Path,
}

fn parse_key(s: &str) -> Result<LimitKey, String> {
    const HINT: &str = "expected ip, path, header:NAME, cookie:NAME or query:NAME";
    Ok(match s {
        "ip" => LimitKey::Ip,
        "path" => LimitKey::Path,
        _ => match s.split_once(':') {
            Some(("header", n)) if is_token(n) => LimitKey::Header(
                http::HeaderName::from_bytes(n.as_bytes())
                    .map_err(|_| format!("invalid header name \"{n}\""))?,
            ),
            Some(("cookie", n)) | Some(("query", n))
                if !n.is_empty() && !n.contains([';', '=', '&', ' ']) =>
            {
                if s.starts_with("cookie") {
                    LimitKey::Cookie(n.to_owned())
                } else {
                    LimitKey::Query(n.to_owned())
                }
            }
            Some(("header" | "cookie" | "query", n)) => {
                return Err(format!("invalid name \"{n}\" in key \"{s}\"; {HINT}"));
            }
            _ => return Err(format!("unknown key \"{s}\"; {HINT}")),
        },
    })
}

/// `"10r/s"`, `"600r/m"`, `"1000r/h"`: (requests per window, window).
fn parse_rate(s: &str) -> Result<(u32, Duration), String> {
    const HINT: &str = "expected requests per second, minute or hour, e.g. \"10r/s\", \"600r/m\"";
    let (n, unit) =
        s.trim().split_once("r/").ok_or_else(|| format!("invalid rate \"{s}\": {HINT}"))?;
    let n: u32 = n.trim().parse().map_err(|_| format!("invalid rate \"{s}\": {HINT}"))?;
    if n == 0 {
        return Err("a rate of 0 would refuse everything; remove the plugin or raise it".into());
    }
    // Windows are at least a second long: pingora-limits' window turnover assumes it.
    let window = match unit.trim() {
        "s" => Duration::from_secs(1),
        "m" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        other => return Err(format!("unknown rate unit \"r/{other}\": {HINT}")),
    };
    Ok((n, window))
}

/// The rate part: pingora-limits' two-window estimator and the allowance.
struct RateLimit {
    rate: Rate,
    per_window: u32,
    burst: u32,
    window: Duration,
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("per_window", &self.per_window)
            .field("burst", &self.burst)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

/// The allowance of a key in a window, given what it made in the window before.
fn allowance(per_window: u32, burst: u32, previous: u64) -> u64 {
    let unused = u64::from(per_window).saturating_sub(previous);
    u64::from(per_window) + unused.min(u64::from(burst))
}

pub(crate) struct Limit {
    key: LimitKey,
    rate: Option<RateLimit>,
    concurrent: Option<(Inflight, u32)>,
    trusted: IpSet,
}

impl std::fmt::Debug for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limit")
            .field("key", &self.key)
            .field("rate", &self.rate)
            .field("concurrent", &self.concurrent.as_ref().map(|(_, n)| n))
            .finish_non_exhaustive()
    }
}

impl Limit {
    pub(crate) fn parse(o: &mut Options<'_>) -> Limit {
        let key = match o.string("key") {
            None => LimitKey::Ip,
            Some(s) => parse_key(s).unwrap_or_else(|m| {
                o.problem("key", m);
                LimitKey::Ip
            }),
        };
        let rate = o.string("rate").and_then(|s| match parse_rate(s) {
            Ok(r) => Some(r),
            Err(m) => {
                o.problem("rate", m);
                None
            }
        });
        let burst =
            o.int("burst", 0, i64::from(u32::MAX)).map_or(DEFAULT_LIMIT_BURST, |b| b as u32);
        if o.has("burst") && !o.has("rate") {
            o.problem("burst", "burst needs a `rate`");
        }
        let concurrent =
            o.int("concurrent", 0, i64::from(u32::MAX)).map(|n| n as u32).filter(|n| *n > 0);
        if !o.has("rate") && !o.has("concurrent") {
            o.problem("", "set `rate` (e.g. \"10r/s\"), `concurrent`, or both");
        }
        let trusted = IpSet::parse(o, "trusted_proxies");
        if !trusted.is_empty() && key != LimitKey::Ip {
            o.problem("trusted_proxies", "trusted_proxies only applies to key = \"ip\"");
        }
        Limit {
            key,
            rate: rate.map(|(per_window, window)| RateLimit {
                rate: Rate::new_with_estimator_config(window, SKETCH_HASHES, SKETCH_SLOTS),
                per_window,
                burst,
                window,
            }),
            concurrent: concurrent.map(|n| (Inflight::new(), n)),
            trusted,
        }
    }

    /// The key's bytes for this request, or `None` when the request does not carry it.
    fn key_of(&self, req: &Request<'_>) -> Option<KeyBytes> {
        Some(match &self.key {
            LimitKey::Ip => match client_ip(req.peer, req.header, &self.trusted)? {
                IpAddr::V4(v4) => KeyBytes::Ip(v4.to_ipv6_mapped().octets()),
                IpAddr::V6(v6) => KeyBytes::Ip(v6.octets()),
            },
            LimitKey::Header(h) => KeyBytes::Text(req.header.headers.get(h)?.as_bytes().to_vec()),
            LimitKey::Cookie(c) => KeyBytes::Text(req.cookie(c)?.as_bytes().to_vec()),
            LimitKey::Query(q) => KeyBytes::Text(req.query_param(q)?.as_bytes().to_vec()),
            LimitKey::Path => KeyBytes::Text(req.path.as_bytes().to_vec()),
        })
    }
}

#[derive(Debug, Hash)]
enum KeyBytes {
    Ip([u8; 16]),
    Text(Vec<u8>),
}

fn too_many(retry_after: u64, why: &str) -> Verdict {
    Verdict::Reply(
        Reply::error(429, format!("Too many requests: {why}. Retry in {retry_after} s."))
            .with_header(header::RETRY_AFTER, &retry_after.to_string()),
    )
}

impl Plugin for Limit {
    fn request(
        &self,
        req: &Request<'_>,
        state: &mut State,
    ) -> impl Future<Output = Verdict> + Send {
        std::future::ready(self.check(req, state))
    }

    fn phases(&self) -> Phases {
        Phases { request: true, ..Phases::default() }
    }
}

impl Limit {
    fn check(&self, req: &Request<'_>, state: &mut State) -> Verdict {
        let Some(key) = self.key_of(req) else { return Verdict::Continue };
        if let Some(r) = &self.rate {
            let (previous, fraction) = r
                .rate
                .rate_with(&key, |c| (c.prev_samples.max(0) as u64, c.current_interval_fraction));
            let count = r.rate.observe(&key, 1).max(0) as u64;
            if count > allowance(r.per_window, r.burst, previous) {
                r.rate.observe(&key, -1);
                let left = r.window.as_secs_f64() * (1.0 - fraction.clamp(0.0, 1.0));
                let retry = (left.ceil() as u64).max(1);
                tracing::info!(path = req.path, "limit: rate exceeded");
                return too_many(retry, "the rate limit is exceeded");
            }
        }
        if let Some((inflight, max)) = &self.concurrent {
            let (guard, count) = inflight.incr(&key, 1);
            if count > i64::from(*max) as isize {
                drop(guard);
                tracing::info!(path = req.path, "limit: too many concurrent requests");
                return too_many(1, "too many requests are in flight");
            }
            state.inflight.push(guard);
        }
        Verdict::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{kinds::spec, spec::Value};

    fn parse(options: Vec<(&str, Value)>) -> Result<Limit, Vec<crate::Problem>> {
        let spec = spec("limit", options);
        let mut o = Options::new(&spec, OPTIONS);
        let r = Limit::parse(&mut o);
        o.finish(r)
    }

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    macro_rules! options {
        ($($name:ident: [$($k:expr => $v:expr),*] => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let got = parse(vec![$(($k, $v)),*]).map_err(|p| format!("{p:?}"));
                let want: Result<(), &str> = $want;
                match (got, want) {
                    (Ok(_), Ok(())) => {}
                    (Err(p), Err(needle)) => assert!(p.contains(needle), "{p} lacks {needle:?}"),
                    (got, want) => panic!("got {got:?}, want {want:?}"),
                }
            }
        )*};
    }

    options! {
        rate_per_second: ["rate" => s("10r/s")] => Ok(());
        rate_burst_key: ["rate" => s("600r/m"), "burst" => Value::Int(20), "key" => s("header:X-Api-Key")] => Ok(());
        concurrent_only: ["concurrent" => Value::Int(5), "key" => s("cookie:sid")] => Ok(());
        query_key: ["rate" => s("1r/h"), "key" => s("query:token")] => Ok(());
        path_key: ["rate" => s("1r/s"), "key" => s("path")] => Ok(());
        trusted: ["rate" => s("1r/s"), "trusted_proxies" => Value::List(vec![s("127.0.0.1")])] => Ok(());
        nothing: [] => Err("set `rate`");
        bad_unit: ["rate" => s("10r/d")] => Err("unknown rate unit");
        zero_rate: ["rate" => s("0r/s")] => Err("a rate of 0");
        not_a_rate: ["rate" => s("10/s")] => Err("invalid rate");
        bad_key: ["rate" => s("1r/s"), "key" => s("user")] => Err("unknown key");
        bad_header: ["rate" => s("1r/s"), "key" => s("header:a b")] => Err("invalid name");
        burst_alone: ["burst" => Value::Int(3), "concurrent" => Value::Int(1)] => Err("burst needs a `rate`");
        negative_burst: ["rate" => s("1r/s"), "burst" => Value::Int(-1)] => Err("from 0 to");
        trusted_wrong_key: ["rate" => s("1r/s"), "key" => s("path"), "trusted_proxies" => Value::List(vec![s("::1")])] => Err("only applies");
    }

    #[test]
    fn allowance_is_a_refilled_bucket() {
        assert_eq!(allowance(5, 3, 0), 8, "a quiet key gets the whole burst");
        assert_eq!(allowance(5, 3, 4), 6, "one unused request carries over");
        assert_eq!(allowance(5, 3, 5), 5);
        assert_eq!(allowance(5, 3, 8), 5, "a burst is not repeated in the next window");
        assert_eq!(allowance(5, 0, 0), 5);
    }

    #[test]
    fn a_burst_at_the_boundary_then_refusal() {
        let l = parse(vec![("rate", s("5r/m")), ("burst", Value::Int(3))]).unwrap();
        let h = pingora_http::RequestHeader::build("GET", b"/", None).unwrap();
        let req = Request {
            header: &h,
            path: "/",
            query: None,
            peer: Some([10, 0, 0, 1].into()),
            scheme: "http",
            host: "a",
        };
        let mut state = State::default();
        for i in 0..8 {
            assert!(matches!(l.check(&req, &mut state), Verdict::Continue), "request {i}");
        }
        match l.check(&req, &mut state) {
            Verdict::Reply(r) => {
                assert_eq!(r.status, 429);
                let retry: u64 = r.headers[0].1.to_str().unwrap().parse().unwrap();
                assert!((1..=60).contains(&retry), "{retry}");
            }
            other => panic!("{other:?}"),
        }
        let other = Request { peer: Some([10, 0, 0, 2].into()), ..req };
        assert!(matches!(l.check(&other, &mut state), Verdict::Continue), "keys are separate");
    }

    #[test]
    fn concurrency_is_released_with_the_state() {
        let l = parse(vec![("concurrent", Value::Int(1))]).unwrap();
        let h = pingora_http::RequestHeader::build("GET", b"/", None).unwrap();
        let req = Request {
            header: &h,
            path: "/",
            query: None,
            peer: Some([10, 0, 0, 1].into()),
            scheme: "http",
            host: "a",
        };
        let mut first = State::default();
        assert!(matches!(l.check(&req, &mut first), Verdict::Continue));
        assert!(matches!(l.check(&req, &mut State::default()), Verdict::Reply(_)));
        drop(first);
        assert!(matches!(l.check(&req, &mut State::default()), Verdict::Continue));
    }
}
