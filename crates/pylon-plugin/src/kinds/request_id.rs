//! `kind = "request_id"`: honour the client's request id or generate one; pass it upstream,
//! back to the client, to `$request_id` and to the access log's `{request_id}`.
//!
//! ```toml
//! [plugins.rid]
//! kind = "request_id"
//! header = "X-Request-Id"     # default
//! trust_incoming = true       # keep a well-formed incoming id (default true)
//! response = true             # echo it in the response (default true)
//! ```
//!
//! An incoming id is kept when it is 1 to 200 visible ASCII characters; otherwise, or with
//! `trust_incoming = false`, a new 32-hex-digit id is generated (nginx's `$request_id`).

use std::{
    future::Future,
    sync::atomic::{AtomicU64, Ordering},
};

use http::{HeaderName, HeaderValue};

use crate::{
    exchange::{Request, State, Verdict},
    plugin::{Phases, Plugin},
    spec::{Options, is_token},
};

pub(crate) const OPTIONS: &[&str] = &["header", "trust_incoming", "response"];

/// Default `header`.
pub const DEFAULT_REQUEST_ID_HEADER: &str = "X-Request-Id";
/// Longest incoming id that is honoured.
const MAX_INCOMING: usize = 200;

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RequestId {
    header: HeaderName,
    trust_incoming: bool,
    response: bool,
}

impl RequestId {
    pub(crate) fn parse(o: &mut Options<'_>) -> RequestId {
        let header = match o.string("header") {
            Some(h) if is_token(h) => HeaderName::from_bytes(h.as_bytes()).ok(),
            Some(h) => {
                o.problem("header", format!("invalid header name \"{h}\""));
                None
            }
            None => None,
        };
        RequestId {
            header: header.unwrap_or(HeaderName::from_static("x-request-id")),
            trust_incoming: o.bool("trust_incoming", true),
            response: o.bool("response", true),
        }
    }
}

fn acceptable(id: &str) -> bool {
    (1..=MAX_INCOMING).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// A request id unique within this process and unpredictable across processes:
/// 32 lowercase hex digits, like nginx's `$request_id`.
pub fn new_request_id() -> String {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one(std::process::id())
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{seed:016x}{:016x}", n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed.rotate_left(17))
}

impl Plugin for RequestId {
    fn request(
        &self,
        req: &Request<'_>,
        state: &mut State,
    ) -> impl Future<Output = Verdict> + Send {
        let incoming = self
            .trust_incoming
            .then(|| req.header(&self.header))
            .flatten()
            .filter(|id| acceptable(id));
        let id = incoming.map_or_else(new_request_id, str::to_owned);
        if let Ok(v) = HeaderValue::from_str(&id) {
            state.upstream_set.push((self.header.clone(), v.clone()));
            if self.response {
                state.response_add.push((self.header.clone(), v));
            }
        }
        state.request_id = Some(id);
        std::future::ready(Verdict::Continue)
    }

    fn phases(&self) -> Phases {
        Phases { request: true, ..Phases::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{kinds::spec, spec::Value};

    fn parse(options: Vec<(&str, Value)>) -> Result<RequestId, Vec<crate::Problem>> {
        let spec = spec("request_id", options);
        let mut o = Options::new(&spec, OPTIONS);
        let r = RequestId::parse(&mut o);
        o.finish(r)
    }

    macro_rules! options {
        ($($name:ident: [$($k:expr => $v:expr),*] => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let got = parse(vec![$(($k, $v)),*]).map_err(|p| format!("{p:?}"));
                let want: Result<(&str, bool, bool), &str> = $want;
                match (got, want) {
                    (Ok(r), Ok((h, t, resp))) => assert_eq!((r.header.as_str(), r.trust_incoming, r.response), (h, t, resp)),
                    (Err(p), Err(needle)) => assert!(p.contains(needle), "{p} lacks {needle:?}"),
                    (got, want) => panic!("got {got:?}, want {want:?}"),
                }
            }
        )*};
    }

    options! {
        defaults: [] => Ok(("x-request-id", true, true));
        custom_header: ["header" => Value::Str("X-Trace".into())] => Ok(("x-trace", true, true));
        no_trust: ["trust_incoming" => Value::Bool(false), "response" => Value::Bool(false)] => Ok(("x-request-id", false, false));
        bad_header: ["header" => Value::Str("X Trace".into())] => Err("invalid header name");
        bad_bool: ["response" => Value::Str("yes".into())] => Err("expected true or false");
        unknown: ["generate" => Value::Bool(true)] => Err("unknown option `generate`");
    }

    #[test]
    fn incoming_ids_are_checked() {
        assert!(acceptable("abc-123"));
        assert!(!acceptable(""));
        assert!(!acceptable("has space"));
        assert!(!acceptable(&"x".repeat(201)));
        let a = new_request_id();
        assert_eq!(a.len(), 32);
        assert_ne!(a, new_request_id());
    }
}
