//! The plugin kinds, one module each: its options (parsed and table-tested there) and its
//! [`Plugin`] implementation. [`Kind`] dispatches statically: no boxing per request.

use pingora_core::modules::http::HttpModuleCtx;
use pingora_http::{RequestHeader, ResponseHeader};

use crate::{
    exchange::{Request, State, Verdict},
    plugin::{Env, Phases, Plugin},
    spec::{Options, Problem, Spec, suggest},
};

pub(crate) mod basic_auth;
pub(crate) mod compression;
pub(crate) mod cors;
pub(crate) mod forward_auth;
pub(crate) mod ip_restriction;
pub(crate) mod jwt;
pub(crate) mod key_auth;
pub(crate) mod limit;
pub(crate) mod redirect;
pub(crate) mod request_id;

/// Every kind name `kind = "..."` accepts.
pub const KINDS: &[&str] = &[
    "request_id",
    "ip_restriction",
    "limit",
    "basic_auth",
    "key_auth",
    "jwt",
    "cors",
    "redirect",
    "compression",
    "forward_auth",
];

/// A compiled plugin of some kind.
#[derive(Debug)]
// reason: one value per `[plugins.NAME]` per config load, behind an `Arc`; never moved on
// the request path, so the size of the largest variant costs nothing per request.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Kind {
    IpRestriction(ip_restriction::IpRestriction),
    RequestId(request_id::RequestId),
    Redirect(redirect::Redirect),
    Cors(cors::Cors),
    Limit(limit::Limit),
    BasicAuth(basic_auth::BasicAuth),
    KeyAuth(key_auth::KeyAuth),
    Jwt(jwt::Jwt),
    Compression(compression::Compression),
    ForwardAuth(forward_auth::ForwardAuth),
}

macro_rules! each {
    ($self:expr, $k:ident => $e:expr) => {
        match $self {
            Kind::IpRestriction($k) => $e,
            Kind::RequestId($k) => $e,
            Kind::Redirect($k) => $e,
            Kind::Cors($k) => $e,
            Kind::Limit($k) => $e,
            Kind::BasicAuth($k) => $e,
            Kind::KeyAuth($k) => $e,
            Kind::Jwt($k) => $e,
            Kind::Compression($k) => $e,
            Kind::ForwardAuth($k) => $e,
        }
    };
}

impl Kind {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Kind::IpRestriction(_) => "ip_restriction",
            Kind::RequestId(_) => "request_id",
            Kind::Redirect(_) => "redirect",
            Kind::Cors(_) => "cors",
            Kind::Limit(_) => "limit",
            Kind::BasicAuth(_) => "basic_auth",
            Kind::KeyAuth(_) => "key_auth",
            Kind::Jwt(_) => "jwt",
            Kind::Compression(_) => "compression",
            Kind::ForwardAuth(_) => "forward_auth",
        }
    }
}

/// Parses the options of `spec` with the kind's `parse`.
macro_rules! parse_kind {
    ($spec:expr, $module:ident, $ty:ident, $variant:ident) => {{
        let mut o = Options::new($spec, $module::OPTIONS);
        let k = $module::$ty::parse(&mut o);
        o.finish(Kind::$variant(k))
    }};
}

impl Plugin for Kind {
    // One future type per kind, chosen by a match: no boxing.
    async fn request(&self, req: &Request<'_>, state: &mut State) -> Verdict {
        each!(self, k => k.request(req, state).await)
    }

    fn upstream_request(&self, state: &State, upstream: &mut RequestHeader) {
        each!(self, k => k.upstream_request(state, upstream))
    }

    fn response(
        &self,
        state: &mut State,
        response: &mut ResponseHeader,
        modules: Option<&mut HttpModuleCtx>,
    ) {
        each!(self, k => k.response(state, response, modules))
    }

    fn phases(&self) -> Phases {
        each!(self, k => k.phases())
    }
}

/// Parses (with `env`: also loads) the options of `spec` into a kind.
fn parse(spec: &Spec, env: Option<&Env>) -> Result<Kind, Vec<Problem>> {
    match spec.kind.as_str() {
        "ip_restriction" => parse_kind!(spec, ip_restriction, IpRestriction, IpRestriction),
        "request_id" => parse_kind!(spec, request_id, RequestId, RequestId),
        "redirect" => parse_kind!(spec, redirect, Redirect, Redirect),
        "cors" => parse_kind!(spec, cors, Cors, Cors),
        "limit" => parse_kind!(spec, limit, Limit, Limit),
        "basic_auth" => parse_kind!(spec, basic_auth, BasicAuth, BasicAuth),
        "key_auth" => parse_kind!(spec, key_auth, KeyAuth, KeyAuth),
        "compression" => parse_kind!(spec, compression, Compression, Compression),
        "forward_auth" => {
            let mut o = Options::new(spec, forward_auth::OPTIONS);
            let k = forward_auth::ForwardAuth::parse(&mut o, env);
            o.finish(Kind::ForwardAuth(k))
        }
        "jwt" => {
            let mut o = Options::new(spec, jwt::OPTIONS);
            let k = jwt::Jwt::parse(&mut o, env);
            o.finish(Kind::Jwt(k))
        }
        other => {
            let hint = match suggest(other, KINDS) {
                Some(s) => format!("did you mean \"{s}\"?"),
                None => format!("expected one of: {}", KINDS.join(", ")),
            };
            Err(vec![Problem::new("kind", format!("unknown plugin kind \"{other}\"; {hint}"))])
        }
    }
}

pub(crate) fn check(spec: &Spec) -> Vec<Problem> {
    parse(spec, None).err().unwrap_or_default()
}

pub(crate) fn build(spec: &Spec, env: &Env) -> Result<Kind, Vec<Problem>> {
    parse(spec, Some(env))
}

/// Table-test support: parse the options of kind `kind` written as TOML-like pairs.
#[cfg(test)]
pub(crate) fn spec(kind: &str, options: Vec<(&str, crate::spec::Value)>) -> Spec {
    Spec {
        name: "t".into(),
        kind: kind.into(),
        options: options.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Value;

    #[test]
    fn unknown_kind_suggests() {
        let p = check(&spec("ip_restrictoin", vec![]));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].key, "kind");
        assert!(p[0].message.contains("did you mean \"ip_restriction\"?"), "{p:?}");
        let p = check(&spec("frobnicate", vec![("a", Value::Bool(true))]));
        assert!(p[0].message.contains("expected one of: request_id, ip_restriction"), "{p:?}");
    }
}

#[cfg(test)]
mod docs {
    /// Every kind with its options, as `parse_kind!` reads them.
    const KIND_OPTIONS: &[(&str, &[&str])] = &[
        ("request_id", super::request_id::OPTIONS),
        ("ip_restriction", super::ip_restriction::OPTIONS),
        ("limit", super::limit::OPTIONS),
        ("basic_auth", super::basic_auth::OPTIONS),
        ("key_auth", super::key_auth::OPTIONS),
        ("jwt", super::jwt::OPTIONS),
        ("cors", super::cors::OPTIONS),
        ("redirect", super::redirect::OPTIONS),
        ("compression", super::compression::OPTIONS),
        ("forward_auth", super::forward_auth::OPTIONS),
    ];

    /// docs/configuration.md has a `#### `kind = "KIND"`` section for every kind, whose
    /// option table lists exactly the options the kind accepts (add a row when you add an
    /// option; see the top of that file).
    #[test]
    fn documentation_lists_every_kind_and_its_options() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
        let doc =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let kinds: Vec<&str> = KIND_OPTIONS.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, super::KINDS, "KIND_OPTIONS lists every kind");
        for (kind, options) in KIND_OPTIONS {
            let heading = format!("#### `kind = \"{kind}\"`");
            let rows: Vec<&str> = doc
                .lines()
                .skip_while(|l| *l != heading)
                .skip(1)
                .take_while(|l| !l.starts_with('#'))
                .filter_map(|l| l.strip_prefix("| `")?.split_once('`').map(|(o, _)| o))
                .collect();
            assert!(!rows.is_empty(), "docs/configuration.md has no option table under {heading}");
            let mut rows = rows;
            let mut options = options.to_vec();
            rows.sort_unstable();
            options.sort_unstable();
            assert_eq!(rows, options, "the options of kind {kind} in docs/configuration.md");
        }
    }
}
