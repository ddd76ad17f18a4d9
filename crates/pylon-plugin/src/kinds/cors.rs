//! `kind = "cors"`: Cross-Origin Resource Sharing (the Fetch standard's CORS protocol).
//!
//! ```toml
//! [plugins.cors]
//! kind = "cors"
//! allow_origins = ["https://app.example.com", "https://*.example.com"]   # or ["*"]
//! allow_methods = ["GET", "HEAD", "POST"]       # default
//! allow_headers = ["Content-Type", "Authorization"]   # default none; ["*"] = any
//! expose_headers = ["X-Request-Id"]             # default none
//! allow_credentials = false                     # default
//! max_age = "10m"                               # preflight cache; default: not sent
//! ```
//!
//! A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered by
//! the proxy: 204 with the `Access-Control-Allow-*` headers when the origin, the method and
//! every requested header are allowed, otherwise 403 naming what is not. Other requests go
//! to the upstream; when their origin is allowed the response gets
//! `Access-Control-Allow-Origin` (and `-Credentials`, `-Expose-Headers`). Every response
//! carries `Vary: Origin`.

use std::{future::Future, time::Duration};

use http::{HeaderValue, header};

use crate::{
    exchange::{Reply, ReplyBody, Request, State, Verdict},
    plugin::{Phases, Plugin},
    spec::{Options, is_token},
};

pub(crate) const OPTIONS: &[&str] = &[
    "allow_origins",
    "allow_methods",
    "allow_headers",
    "expose_headers",
    "allow_credentials",
    "max_age",
];

/// Default `allow_methods` (the CORS-safelisted methods).
pub const DEFAULT_CORS_METHODS: &[&str] = &["GET", "HEAD", "POST"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum OriginRule {
    Any,
    Exact(String),
    /// `https://*.example.com`: scheme and the host suffix (`.example.com`, port included).
    Wildcard {
        scheme: String,
        suffix: String,
    },
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Cors {
    origins: Vec<OriginRule>,
    methods: Vec<String>,
    /// Lower-case header names; `None` = any (`["*"]`).
    headers: Option<Vec<String>>,
    expose: Option<HeaderValue>,
    credentials: bool,
    max_age: Option<HeaderValue>,
    allow_methods_value: Option<HeaderValue>,
    allow_headers_value: Option<HeaderValue>,
}

fn origin_rule(s: &str) -> Result<OriginRule, String> {
    if s == "*" {
        return Ok(OriginRule::Any);
    }
    let Some((scheme, host)) = s.split_once("://") else {
        return Err(format!(
            "invalid origin \"{s}\": expected \"https://host[:port]\", \"https://*.domain\" or \"*\""
        ));
    };
    if !matches!(scheme, "http" | "https") || host.is_empty() || host.contains('/') {
        return Err(format!(
            "invalid origin \"{s}\": an origin is a scheme and host without a path, e.g. \"https://app.example.com\""
        ));
    }
    if let Some(suffix) = host.strip_prefix('*') {
        if !suffix.starts_with('.') || suffix.len() < 2 || suffix.contains('*') {
            return Err(format!(
                "invalid wildcard origin \"{s}\": write \"https://*.example.com\""
            ));
        }
        return Ok(OriginRule::Wildcard {
            scheme: scheme.to_owned(),
            suffix: suffix.to_ascii_lowercase(),
        });
    }
    if host.contains('*') {
        return Err(format!("invalid origin \"{s}\": `*` may only start the host"));
    }
    Ok(OriginRule::Exact(format!("{scheme}://{}", host.to_ascii_lowercase())))
}

impl OriginRule {
    fn matches(&self, origin: &str) -> bool {
        match self {
            OriginRule::Any => true,
            OriginRule::Exact(o) => o.eq_ignore_ascii_case(origin),
            OriginRule::Wildcard { scheme, suffix } => {
                origin.split_once("://").is_some_and(|(s, host)| {
                    s == scheme
                        && host.len() > suffix.len()
                        && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
                        && !host[..host.len() - suffix.len()].contains('/')
                })
            }
        }
    }
}

fn value(list: &[String]) -> Option<HeaderValue> {
    if list.is_empty() { None } else { HeaderValue::from_str(&list.join(", ")).ok() }
}

impl Cors {
    pub(crate) fn parse(o: &mut Options<'_>) -> Cors {
        let mut origins = Vec::new();
        for (k, s) in o.strings("allow_origins") {
            match origin_rule(s.trim()) {
                Ok(r) => origins.push(r),
                Err(m) => o.problem(k, m),
            }
        }
        if !o.has("allow_origins") {
            o.problem("", "set `allow_origins`, e.g. [\"https://app.example.com\"] or [\"*\"]");
        }
        let mut methods = Vec::new();
        let listed = o.strings("allow_methods");
        if o.has("allow_methods") {
            for (k, m) in listed {
                if is_token(m) {
                    methods.push(m.to_ascii_uppercase());
                } else {
                    o.problem(k, format!("invalid method \"{m}\""));
                }
            }
        } else {
            methods = DEFAULT_CORS_METHODS.iter().map(|m| (*m).to_owned()).collect();
        }
        let mut headers = Some(Vec::new());
        for (k, h) in o.strings("allow_headers") {
            if h == "*" {
                headers = None;
            } else if is_token(h) {
                if let Some(list) = headers.as_mut() {
                    list.push(h.to_ascii_lowercase());
                }
            } else {
                o.problem(k, format!("invalid header name \"{h}\""));
            }
        }
        let mut expose = Vec::new();
        for (k, h) in o.strings("expose_headers") {
            if is_token(h) {
                expose.push(h.to_owned());
            } else {
                o.problem(k, format!("invalid header name \"{h}\""));
            }
        }
        let credentials = o.bool("allow_credentials", false);
        if credentials && origins.contains(&OriginRule::Any) {
            o.problem(
                "allow_credentials",
                "allow_credentials = true cannot be combined with allow_origins = [\"*\"] \
                 (browsers refuse it); list the allowed origins",
            );
        }
        if credentials && headers.is_none() {
            o.problem(
                "allow_headers",
                "allow_headers = [\"*\"] is not a wildcard for requests with credentials; list the headers",
            );
        }
        let max_age = o
            .duration("max_age")
            .and_then(|d: Duration| HeaderValue::from_str(&d.as_secs().to_string()).ok());
        Cors {
            origins,
            allow_methods_value: value(&methods),
            methods,
            allow_headers_value: headers.as_deref().and_then(value),
            headers,
            expose: value(&expose),
            credentials,
            max_age,
        }
    }

    fn allowed_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|r| r.matches(origin))
    }

    /// `Access-Control-Allow-Origin`: `*` for a wildcard list without credentials,
    /// otherwise the origin itself.
    fn allow_origin_value(&self, origin: &HeaderValue) -> HeaderValue {
        if !self.credentials && self.origins.contains(&OriginRule::Any) {
            HeaderValue::from_static("*")
        } else {
            origin.clone()
        }
    }

    fn preflight(&self, req: &Request<'_>, origin: &HeaderValue, origin_text: &str) -> Reply {
        let vary = HeaderValue::from_static(
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        );
        let refuse = |why: String| {
            tracing::info!(origin = origin_text, path = req.path, "cors: preflight refused: {why}");
            let mut r = Reply::error(403, format!("CORS preflight refused: {why}."));
            r.headers.push((header::VARY, vary.clone()));
            r
        };
        if !self.allowed_origin(origin_text) {
            return refuse(format!("origin {origin_text} is not allowed"));
        }
        let method = req.header(header::ACCESS_CONTROL_REQUEST_METHOD).unwrap_or("").trim();
        if !self.methods.iter().any(|m| m == method) {
            return refuse(format!("method {method} is not allowed"));
        }
        let requested: Vec<&str> = req
            .header
            .headers
            .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        if let Some(allowed) = &self.headers {
            if let Some(h) =
                requested.iter().find(|h| !allowed.iter().any(|a| a.eq_ignore_ascii_case(h)))
            {
                return refuse(format!("header {h} is not allowed"));
            }
        }
        let mut headers = vec![
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin_value(origin)),
            (header::VARY, vary),
        ];
        if let Some(m) = &self.allow_methods_value {
            headers.push((header::ACCESS_CONTROL_ALLOW_METHODS, m.clone()));
        }
        let allow_headers = match &self.headers {
            // Any: echo what was asked for.
            None => {
                HeaderValue::from_str(&requested.join(", ")).ok().filter(|_| !requested.is_empty())
            }
            Some(_) => self.allow_headers_value.clone(),
        };
        if let Some(h) = allow_headers {
            headers.push((header::ACCESS_CONTROL_ALLOW_HEADERS, h));
        }
        if self.credentials {
            headers
                .push((header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true")));
        }
        if let Some(age) = &self.max_age {
            headers.push((header::ACCESS_CONTROL_MAX_AGE, age.clone()));
        }
        Reply { status: 204, headers, body: ReplyBody::Empty }
    }
}

impl Plugin for Cors {
    fn request(
        &self,
        req: &Request<'_>,
        state: &mut State,
    ) -> impl Future<Output = Verdict> + Send {
        state.vary.push("Origin");
        let verdict = match req.header.headers.get(header::ORIGIN) {
            None => Verdict::Continue,
            Some(origin) => {
                let text = origin.to_str().unwrap_or("");
                if req.header.method == http::Method::OPTIONS
                    && req.header.headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
                {
                    Verdict::Reply(self.preflight(req, origin, text))
                } else {
                    if self.allowed_origin(text) {
                        let add = &mut state.response_add;
                        add.push((
                            header::ACCESS_CONTROL_ALLOW_ORIGIN,
                            self.allow_origin_value(origin),
                        ));
                        if self.credentials {
                            add.push((
                                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                                HeaderValue::from_static("true"),
                            ));
                        }
                        if let Some(e) = &self.expose {
                            add.push((header::ACCESS_CONTROL_EXPOSE_HEADERS, e.clone()));
                        }
                    }
                    Verdict::Continue
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

    fn list(v: &[&str]) -> Value {
        Value::List(v.iter().map(|s| Value::Str((*s).into())).collect())
    }

    fn parse(options: Vec<(&str, Value)>) -> Result<Cors, Vec<crate::Problem>> {
        let spec = spec("cors", options);
        let mut o = Options::new(&spec, OPTIONS);
        let r = Cors::parse(&mut o);
        o.finish(r)
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
        exact_and_wildcard: ["allow_origins" => list(&["https://a.example", "https://*.example.com"])] => Ok(());
        any: ["allow_origins" => list(&["*"]), "allow_headers" => list(&["*"])] => Ok(());
        full: ["allow_origins" => list(&["http://localhost:3000"]), "allow_methods" => list(&["GET", "put"]),
               "allow_headers" => list(&["Content-Type"]), "expose_headers" => list(&["X-Id"]),
               "allow_credentials" => Value::Bool(true), "max_age" => Value::Str("10m".into())] => Ok(());
        missing_origins: [] => Err("set `allow_origins`");
        origin_with_path: ["allow_origins" => list(&["https://a.example/app"])] => Err("without a path");
        origin_no_scheme: ["allow_origins" => list(&["a.example"])] => Err("invalid origin");
        bad_wildcard: ["allow_origins" => list(&["https://a.*.com"])] => Err("`*` may only start the host");
        credentials_with_any: ["allow_origins" => list(&["*"]), "allow_credentials" => Value::Bool(true)] => Err("cannot be combined");
        bad_method: ["allow_origins" => list(&["*"]), "allow_methods" => list(&["GE T"])] => Err("invalid method");
        bad_max_age: ["allow_origins" => list(&["*"]), "max_age" => Value::Int(600)] => Err("durations need a unit");
        typo: ["allow_origin" => list(&["*"])] => Err("did you mean `allow_origins`?");
    }

    #[test]
    fn origin_matching() {
        let c =
            parse(vec![("allow_origins", list(&["https://a.example", "https://*.example.com"]))])
                .unwrap();
        assert!(c.allowed_origin("https://a.example"));
        assert!(c.allowed_origin("https://A.example"));
        assert!(c.allowed_origin("https://x.example.com"));
        assert!(c.allowed_origin("https://x.y.example.com"));
        assert!(!c.allowed_origin("https://example.com"));
        assert!(!c.allowed_origin("http://x.example.com"));
        assert!(!c.allowed_origin("https://evil-example.com"));
        assert!(!c.allowed_origin("https://a.example.evil"));
    }
}
