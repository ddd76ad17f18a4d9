//! `kind = "key_auth"`: API keys in a header or the query string, stored hashed.
//!
//! ```toml
//! [plugins.keys]
//! kind = "key_auth"
//! header = "X-API-Key"        # default when `query` is not set
//! query = "api_key"           # also (or only) look in this query parameter
//! keys = ["sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"]
//! hide_credentials = false    # true: the upstream never sees the key
//! ```
//!
//! Keys are kept at rest as their SHA-256 in hex (`printf %s "$KEY" | sha256sum`): API keys
//! are long random strings, so a fast hash protects them as well as a slow one and costs
//! one digest per request. A missing or unknown key gets 401 with the error page; a wrong
//! key is logged with the client address, never the key.

use std::{collections::HashSet, future::Future};

use http::HeaderName;

use crate::{
    exchange::{Reply, Request, State, Verdict},
    plugin::{Phases, Plugin},
    spec::{Options, is_token},
};

pub(crate) const OPTIONS: &[&str] = &["header", "query", "keys", "hide_credentials"];

/// Default `header`.
pub const DEFAULT_KEY_AUTH_HEADER: &str = "X-API-Key";

pub(crate) struct KeyAuth {
    name: String,
    header: Option<HeaderName>,
    pub(crate) query: Option<String>,
    keys: HashSet<[u8; 32]>,
    hide: bool,
}

/// Settings and the number of keys: never the key hashes.
impl std::fmt::Debug for KeyAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyAuth")
            .field("name", &self.name)
            .field("header", &self.header)
            .field("query", &self.query)
            .field("keys", &self.keys.len())
            .field("hide", &self.hide)
            .finish()
    }
}

fn parse_key(s: &str) -> Result<[u8; 32], String> {
    let hex = s.strip_prefix("sha256:").ok_or_else(|| {
        "keys are stored hashed: write \"sha256:\" followed by the key's SHA-256 in hex \
         (printf %s \"$KEY\" | sha256sum)"
            .to_owned()
    })?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        // The value is not echoed: it may be a key pasted where its hash belongs.
        return Err(format!(
            "not a SHA-256: expected 64 hex digits after \"sha256:\", found {} characters",
            hex.len()
        ));
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0);
    }
    Ok(out)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

impl KeyAuth {
    pub(crate) fn parse(o: &mut Options<'_>) -> KeyAuth {
        let header = match o.string("header") {
            Some(h) if is_token(h) => HeaderName::from_bytes(h.as_bytes()).ok(),
            Some(h) => {
                o.problem("header", format!("invalid header name \"{h}\""));
                None
            }
            None if o.has("query") => None,
            None => Some(HeaderName::from_static("x-api-key")),
        };
        let query = match o.string("query") {
            Some(q) if !q.is_empty() && !q.contains(['&', '=', ' ', '#']) => Some(q.to_owned()),
            Some(q) => {
                o.problem("query", format!("invalid query parameter name \"{q}\""));
                None
            }
            None => None,
        };
        let mut keys = HashSet::new();
        for (k, s) in o.strings("keys") {
            match parse_key(s.trim()) {
                Ok(d) => {
                    keys.insert(d);
                }
                Err(m) => o.problem(k, m),
            }
        }
        if !o.has("keys") {
            o.problem("", "set `keys = [\"sha256:...\"]`");
        }
        KeyAuth {
            name: o.name().to_owned(),
            header,
            query,
            keys,
            hide: o.bool("hide_credentials", false),
        }
    }

    fn presented<'r>(&self, req: &Request<'r>) -> Option<&'r str> {
        let from_header = self.header.as_ref().and_then(|h| req.header(h)).map(str::trim);
        from_header.or_else(|| self.query.as_deref().and_then(|q| req.query_param(q)))
    }
}

impl Plugin for KeyAuth {
    fn request(
        &self,
        req: &Request<'_>,
        state: &mut State,
    ) -> impl Future<Output = Verdict> + Send {
        state.credential_in_query(self.query.as_deref(), req);
        let verdict = match self.presented(req) {
            None => Verdict::Reply(Reply::error(401, "An API key is required.")),
            Some(key) if self.keys.contains(&sha256(key.as_bytes())) => {
                if self.hide {
                    if let Some(h) = &self.header {
                        state.upstream_remove.push(h.clone());
                    }
                    if let Some(q) = &self.query {
                        state.upstream_remove_query.push(q.clone());
                    }
                }
                Verdict::Continue
            }
            Some(_) => {
                tracing::warn!(
                    plugin = self.name.as_str(),
                    client = ?req.peer,
                    path = req.path,
                    "key_auth: unknown API key"
                );
                Verdict::Reply(Reply::error(401, "The API key is not valid."))
            }
        };
        std::future::ready(verdict)
    }

    fn phases(&self) -> Phases {
        Phases { request: true, ..Phases::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{kinds::spec, spec::Value};

    /// SHA-256 of "foo".
    const FOO: &str = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    fn parse(options: Vec<(&str, Value)>) -> Result<KeyAuth, Vec<crate::Problem>> {
        let spec = spec("key_auth", options);
        let mut o = Options::new(&spec, OPTIONS);
        let r = KeyAuth::parse(&mut o);
        o.finish(r)
    }

    fn keys(v: &[&str]) -> Value {
        Value::List(v.iter().map(|s| Value::Str((*s).into())).collect())
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
        header_default: ["keys" => keys(&[FOO])] => Ok(());
        query_only: ["keys" => keys(&[FOO]), "query" => Value::Str("api_key".into())] => Ok(());
        both: ["keys" => keys(&[FOO]), "query" => Value::Str("k".into()), "header" => Value::Str("X-Key".into()), "hide_credentials" => Value::Bool(true)] => Ok(());
        plain_key: ["keys" => keys(&["foo"])] => Err("keys are stored hashed");
        short_hash: ["keys" => keys(&["sha256:abc"])] => Err("64 hex digits");
        bad_header: ["keys" => keys(&[FOO]), "header" => Value::Str("X Key".into())] => Err("invalid header name");
        bad_query: ["keys" => keys(&[FOO]), "query" => Value::Str("a&b".into())] => Err("invalid query parameter");
        missing: [] => Err("set `keys");
    }

    #[test]
    fn errors_never_echo_the_value() {
        for value in ["sha256:my-plain-api-key", "my-plain-api-key", "sha256:my-plain-api-key ok"] {
            let spec = spec("key_auth", vec![("keys", keys(&[value]))]);
            let problems = crate::check(&spec);
            assert!(!problems.is_empty(), "{value}");
            let all = format!("{problems:?}");
            assert!(!all.contains("my-plain-api-key"), "the value was echoed: {all}");
        }
    }

    #[test]
    fn digest_of_foo_matches() {
        assert_eq!(parse_key(FOO).unwrap(), sha256(b"foo"));
    }
}
