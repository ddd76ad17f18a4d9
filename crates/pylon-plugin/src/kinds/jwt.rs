//! `kind = "jwt"`: JSON Web Tokens (RFC 7519) signed with HMAC, RSA, RSA-PSS, ECDSA or EdDSA.
//!
//! ```toml
//! [plugins.api_jwt]
//! kind = "jwt"
//! algorithm = "RS256"           # HS256/384/512, RS256/384/512, PS256/384/512, ES256/384, EdDSA
//! public_key = "keys/jwt.pem"   # PEM public key (RS*, PS*, ES*, EdDSA); relative to the config
//! # secret = "..."              # the shared secret for HS*
//! issuer = "https://id.example.com"   # optional: `iss` must be (one of) this
//! audience = ["api"]            # optional: `aud` must contain one of these
//! leeway = "0s"                 # clock skew allowed on exp / nbf (default 0s)
//! header = "Authorization"      # token as "Bearer <token>" (the default source)
//! cookie = "jwt"                # or from this cookie
//! query = "access_token"        # or from this query parameter
//! hide_credentials = false      # true: the upstream never sees the token
//! ```
//!
//! One algorithm per plugin (a token signed with another is refused, which rules out
//! algorithm confusion). `exp` is required and checked, `nbf` checked when present, both
//! with `leeway`; without `audience` the `aud` claim is not checked. Sources are tried in the
//! order header, cookie, query; the header is `Authorization` unless `header` names another. A
//! missing or invalid token gets 401 with the error page and `WWW-Authenticate: Bearer`
//! (RFC 6750, with `error="invalid_token"` and the reason); failures are logged with the
//! reason and client address, never the token.

use std::{future::Future, path::Path, time::Duration};

use http::{HeaderName, header};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};

use crate::{
    exchange::{Reply, Request, State, Verdict},
    plugin::{Env, Phases, Plugin},
    spec::{Options, is_token},
};

pub(crate) const OPTIONS: &[&str] = &[
    "algorithm",
    "secret",
    "public_key",
    "issuer",
    "audience",
    "leeway",
    "header",
    "cookie",
    "query",
    "hide_credentials",
];

/// Default `leeway`.
pub const DEFAULT_JWT_LEEWAY: Duration = Duration::ZERO;

const ALGORITHMS: &[&str] = &[
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
    "ES384", "EdDSA",
];

pub(crate) struct Jwt {
    name: String,
    key: Option<DecodingKey>,
    validation: Validation,
    header: Option<HeaderName>,
    cookie: Option<String>,
    pub(crate) query: Option<String>,
    hide: bool,
}

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwt")
            .field("name", &self.name)
            .field("algorithms", &self.validation.algorithms)
            .field("header", &self.header)
            .field("cookie", &self.cookie)
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

fn algorithm(s: &str) -> Option<Algorithm> {
    Some(match s {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

fn is_hmac(a: Algorithm) -> bool {
    matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// Loads the PEM public key for `alg` from `path`.
fn load_key(alg: Algorithm, path: &Path) -> Result<DecodingKey, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let key = match alg {
        Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(&pem),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(&pem),
        _ => DecodingKey::from_rsa_pem(&pem),
    };
    key.map_err(|e| format!("{} is not a PEM public key for {alg:?}: {e}", path.display()))
}

impl Jwt {
    pub(crate) fn parse(o: &mut Options<'_>, env: Option<&Env>) -> Jwt {
        let alg = match o.string("algorithm") {
            Some(a) => algorithm(a).or_else(|| {
                o.problem(
                    "algorithm",
                    format!("unknown algorithm \"{a}\"; expected one of {}", ALGORITHMS.join(", ")),
                );
                None
            }),
            None => {
                o.problem("", format!("set `algorithm`, one of {}", ALGORITHMS.join(", ")));
                None
            }
        };
        let secret = o.string("secret");
        let public_key = o.string("public_key");
        let mut key = None;
        if let Some(alg) = alg {
            match (is_hmac(alg), secret, public_key) {
                (true, Some(s), None) if !s.is_empty() => {
                    key = Some(DecodingKey::from_secret(s.as_bytes()));
                }
                (true, _, Some(_)) => {
                    o.problem("public_key", format!("{alg:?} uses `secret`, not `public_key`"))
                }
                (true, _, None) => {
                    o.problem("", format!("{alg:?} needs `secret` (the shared HMAC secret)"))
                }
                (false, Some(_), _) => o.problem(
                    "secret",
                    format!("{alg:?} uses `public_key` (a PEM file), not `secret`"),
                ),
                (false, None, None) => {
                    o.problem("", format!("{alg:?} needs `public_key` (a PEM file)"))
                }
                (false, None, Some(p)) => {
                    if let Some(env) = env {
                        match load_key(alg, &env.base.join(p)) {
                            Ok(k) => key = Some(k),
                            Err(m) => o.problem("public_key", m),
                        }
                    }
                }
            }
        }
        let mut validation = Validation::new(alg.unwrap_or(Algorithm::HS256));
        validation.leeway = o.duration("leeway").unwrap_or(DEFAULT_JWT_LEEWAY).as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let issuers: Vec<&str> = o.strings("issuer").into_iter().map(|(_, s)| s).collect();
        if !issuers.is_empty() {
            validation.set_issuer(&issuers);
        }
        let audiences: Vec<&str> = o.strings("audience").into_iter().map(|(_, s)| s).collect();
        if audiences.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&audiences);
        }
        let header = match o.string("header") {
            Some(h) if is_token(h) => HeaderName::from_bytes(h.as_bytes()).ok(),
            Some(h) => {
                o.problem("header", format!("invalid header name \"{h}\""));
                None
            }
            // The header is a source whatever else is set (docs: cookie and query are
            // additional sources, tried after it).
            None => Some(header::AUTHORIZATION),
        };
        let name_ok = |n: &str| !n.is_empty() && !n.contains([';', '=', '&', ' ', ',']);
        let cookie = o.string("cookie").and_then(|c| {
            if name_ok(c) {
                Some(c.to_owned())
            } else {
                o.problem("cookie", format!("invalid cookie name \"{c}\""));
                None
            }
        });
        let query = o.string("query").and_then(|q| {
            if name_ok(q) {
                Some(q.to_owned())
            } else {
                o.problem("query", format!("invalid query parameter name \"{q}\""));
                None
            }
        });
        Jwt {
            name: o.name().to_owned(),
            key,
            validation,
            header,
            cookie,
            query,
            hide: o.bool("hide_credentials", false),
        }
    }

    /// The token and where it came from.
    fn token<'r>(&self, req: &Request<'r>) -> Option<(&'r str, Source)> {
        if let Some(h) = &self.header {
            if let Some(v) = req.header(h).map(str::trim) {
                let token = match v.split_once(' ') {
                    Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => Some(t.trim()),
                    // Another scheme (`Basic …`) carries no bearer token: the cookie and
                    // query may still.
                    _ if *h == header::AUTHORIZATION => None,
                    _ => Some(v),
                };
                if let Some(token) = token {
                    return Some((token, Source::Header));
                }
            }
        }
        if let Some(t) = self.cookie.as_deref().and_then(|c| req.cookie(c)) {
            return Some((t, Source::Cookie));
        }
        self.query.as_deref().and_then(|q| req.query_param(q)).map(|t| (t, Source::Query))
    }

    fn refuse(&self, error: Option<&str>, message: &str) -> Verdict {
        let challenge = match error {
            None => "Bearer".to_owned(),
            Some(e) => format!("Bearer error=\"invalid_token\", error_description=\"{e}\""),
        };
        Verdict::Reply(Reply::error(401, message).with_header(header::WWW_AUTHENTICATE, &challenge))
    }
}

#[derive(Debug, Clone, Copy)]
enum Source {
    Header,
    Cookie,
    Query,
}

fn reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired",
        ErrorKind::ImmatureSignature => "the token is not valid yet",
        ErrorKind::InvalidIssuer => "the token has the wrong issuer",
        ErrorKind::InvalidAudience => "the token has the wrong audience",
        ErrorKind::InvalidSignature => "the signature is wrong",
        ErrorKind::InvalidAlgorithm => "the token uses another algorithm",
        ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim (exp)",
        _ => "the token is malformed",
    }
}

impl Plugin for Jwt {
    fn request(
        &self,
        req: &Request<'_>,
        state: &mut State,
    ) -> impl Future<Output = Verdict> + Send {
        state.credential_in_query(self.query.as_deref(), req);
        let verdict = match (self.token(req), &self.key) {
            (None, _) => self.refuse(None, "A bearer token is required."),
            (Some(_), None) => self.refuse(Some("no key"), "The token cannot be verified."),
            (Some((token, source)), Some(key)) => {
                match jsonwebtoken::decode::<serde_json::Value>(token, key, &self.validation) {
                    Ok(_) => {
                        if self.hide {
                            match source {
                                Source::Header => {
                                    if let Some(h) = &self.header {
                                        state.upstream_remove.push(h.clone());
                                    }
                                }
                                Source::Cookie => {
                                    state.upstream_remove_cookie.extend(self.cookie.clone())
                                }
                                Source::Query => {
                                    state.upstream_remove_query.extend(self.query.clone())
                                }
                            }
                        }
                        Verdict::Continue
                    }
                    Err(e) => {
                        let why = reason(e.kind());
                        tracing::warn!(
                            plugin = self.name.as_str(),
                            client = ?req.peer,
                            path = req.path,
                            reason = why,
                            "jwt: token refused"
                        );
                        self.refuse(Some(why), &format!("The token is not valid: {why}."))
                    }
                }
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

    fn parse(options: Vec<(&str, Value)>) -> Result<Jwt, Vec<crate::Problem>> {
        let spec = spec("jwt", options);
        let mut o = Options::new(&spec, OPTIONS);
        let r = Jwt::parse(&mut o, Some(&Env::default()));
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
        hs256: ["algorithm" => s("HS256"), "secret" => s("k")] => Ok(());
        full: ["algorithm" => s("HS512"), "secret" => s("k"), "issuer" => s("i"), "audience" => Value::List(vec![s("a"), s("b")]),
               "leeway" => s("30s"), "cookie" => s("jwt"), "query" => s("t"), "hide_credentials" => Value::Bool(true)] => Ok(());
        no_algorithm: ["secret" => s("k")] => Err("set `algorithm`");
        bad_algorithm: ["algorithm" => s("none"), "secret" => s("k")] => Err("unknown algorithm \\\"none\\\"");
        hs_without_secret: ["algorithm" => s("HS256")] => Err("needs `secret`");
        hs_with_key: ["algorithm" => s("HS256"), "public_key" => s("k.pem")] => Err("uses `secret`, not `public_key`");
        rs_with_secret: ["algorithm" => s("RS256"), "secret" => s("k")] => Err("uses `public_key`");
        rs_missing_file: ["algorithm" => s("RS256"), "public_key" => s("/nonexistent/k.pem")] => Err("cannot read /nonexistent/k.pem");
        bad_leeway: ["algorithm" => s("HS256"), "secret" => s("k"), "leeway" => Value::Int(5)] => Err("durations need a unit");
        bad_cookie: ["algorithm" => s("HS256"), "secret" => s("k"), "cookie" => s("a;b")] => Err("invalid cookie name");
    }

    fn token(secret: &str, claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    fn verdict(j: &Jwt, auth: &str) -> Option<u16> {
        let mut h = pingora_http::RequestHeader::build("GET", b"/", None).unwrap();
        h.insert_header("Authorization", auth).unwrap();
        let req =
            Request { header: &h, path: "/", query: None, peer: None, scheme: "http", host: "a" };
        let mut state = State::default();
        let fut = j.request(&req, &mut state);
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        match std::pin::pin!(fut).poll(&mut cx) {
            std::task::Poll::Ready(Verdict::Reply(r)) => Some(r.status),
            std::task::Poll::Ready(_) => None,
            std::task::Poll::Pending => panic!("jwt is synchronous"),
        }
    }

    #[test]
    fn expiry_issuer_and_audience() {
        let j = parse(vec![
            ("algorithm", s("HS256")),
            ("secret", s("k")),
            ("issuer", s("me")),
            ("audience", s("api")),
        ])
        .unwrap();
        let ok = token("k", serde_json::json!({"exp": now() + 60, "iss": "me", "aud": "api"}));
        assert_eq!(verdict(&j, &format!("Bearer {ok}")), None);
        let expired = token("k", serde_json::json!({"exp": now() - 1, "iss": "me", "aud": "api"}));
        assert_eq!(verdict(&j, &format!("Bearer {expired}")), Some(401));
        let wrong_iss =
            token("k", serde_json::json!({"exp": now() + 60, "iss": "you", "aud": "api"}));
        assert_eq!(verdict(&j, &format!("Bearer {wrong_iss}")), Some(401));
        let other_key =
            token("x", serde_json::json!({"exp": now() + 60, "iss": "me", "aud": "api"}));
        assert_eq!(verdict(&j, &format!("Bearer {other_key}")), Some(401));
        let no_exp = token("k", serde_json::json!({"iss": "me", "aud": "api"}));
        assert_eq!(verdict(&j, &format!("Bearer {no_exp}")), Some(401));
        assert_eq!(verdict(&j, &format!("Basic {ok}")), Some(401));
    }
}
