//! The [`Plugin`] trait (one method per phase a plugin may act in), the compiled
//! [`Instance`] of one `[plugins.NAME]`, and the [`Chain`] a location runs.

use std::{future::Future, path::PathBuf, sync::Arc};

use http::HeaderValue;
use pingora_core::modules::http::HttpModuleCtx;
use pingora_http::{RequestHeader, ResponseHeader};

use crate::{
    exchange::{Request, State, Verdict},
    kinds::{self, Kind},
    spec::{Problem, Spec},
};

/// What a plugin kind does in each phase. Every method has a do-nothing default, so a kind
/// implements only the phases it acts in. The chain calls them in the location's order.
pub(crate) trait Plugin {
    /// `request_filter`, after the location is chosen: admit, or answer the client.
    fn request(
        &self,
        _req: &Request<'_>,
        _state: &mut State,
    ) -> impl Future<Output = Verdict> + Send {
        std::future::ready(Verdict::Continue)
    }

    /// `upstream_request_filter`: adjust the request sent upstream.
    fn upstream_request(&self, _state: &State, _upstream: &mut RequestHeader) {}

    /// `response_filter` (and the head of a response the proxy writes itself): adjust the
    /// response head sent to the client, and pingora's downstream modules (compression).
    fn response(
        &self,
        _state: &mut State,
        _response: &mut ResponseHeader,
        _modules: Option<&mut HttpModuleCtx>,
    ) {
    }

    /// The phases this kind acts in (so the chain can skip the others entirely).
    fn phases(&self) -> Phases;
}

/// Which phases a plugin acts in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Phases {
    pub(crate) request: bool,
    pub(crate) upstream_request: bool,
    pub(crate) response: bool,
}

/// Where a plugin's files (keys, certificates) are found: relative paths resolve against
/// `base`, the config file's directory.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// The directory relative option paths resolve against.
    pub base: PathBuf,
}

/// One compiled `[plugins.NAME]`: immutable, shared by every location that lists it and by
/// every worker thread (its state, such as rate counters, is shared too).
#[derive(Debug)]
pub struct Instance {
    name: String,
    kind: Kind,
}

impl Instance {
    /// Compiles `spec`: parses its options and loads what they refer to. Errors name the
    /// option key (see [`Problem`]).
    pub fn build(spec: &Spec, env: &Env) -> Result<Instance, Vec<Problem>> {
        Ok(Instance { name: spec.name.clone(), kind: kinds::build(spec, env)? })
    }

    /// The instance name (its table name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kind, e.g. `"ip_restriction"`.
    pub fn kind(&self) -> &'static str {
        self.kind.name()
    }

    /// Whether this instance keeps state across requests that a reload should carry over
    /// (a `limit`'s counters): pylon-proxy then reuses the instance when the plugin's spec
    /// is unchanged, instead of building a fresh one.
    pub fn keeps_state(&self) -> bool {
        matches!(self.kind, Kind::Limit(_))
    }

    /// The query parameter this instance reads a credential from (`key_auth`'s or `jwt`'s
    /// `query` option), `None` for every other kind: the access log masks its value (see
    /// [`mask_query`](crate::mask_query)).
    pub fn credential_query(&self) -> Option<&str> {
        match &self.kind {
            Kind::KeyAuth(k) => k.query.as_deref(),
            Kind::Jwt(j) => j.query.as_deref(),
            _ => None,
        }
    }
}

/// The plugins one location runs, in order: its server's, then its own. Compiled once per
/// config load; an empty chain costs one branch per phase.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    plugins: Vec<Arc<Instance>>,
    phases: Phases,
}

impl Chain {
    /// A chain of `plugins`, run in this order.
    pub fn new(plugins: Vec<Arc<Instance>>) -> Chain {
        let mut phases = Phases::default();
        for p in &plugins {
            let ph = p.kind.phases();
            phases.request |= ph.request;
            phases.upstream_request |= ph.upstream_request;
            phases.response |= ph.response;
        }
        Chain { plugins, phases }
    }

    /// Whether the chain has no plugins.
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    /// The plugins in the order they run.
    pub fn iter(&self) -> impl Iterator<Item = &Instance> {
        self.plugins.iter().map(|p| p.as_ref())
    }

    /// The request phase: each plugin in order until one answers.
    pub async fn request(&self, req: &Request<'_>, state: &mut State) -> Verdict {
        if !self.phases.request {
            return Verdict::Continue;
        }
        for p in &self.plugins {
            if let Verdict::Reply(r) = p.kind.request(req, state).await {
                return Verdict::Reply(r);
            }
        }
        Verdict::Continue
    }

    /// The upstream request phase: what the request phase decided (headers to set, hidden
    /// credentials), then each plugin's own step.
    pub fn upstream_request(&self, state: &State, upstream: &mut RequestHeader) {
        for name in &state.upstream_remove {
            upstream.remove_header(name);
        }
        if !state.upstream_remove_query.is_empty() {
            remove_query_params(upstream, &state.upstream_remove_query);
        }
        if !state.upstream_remove_cookie.is_empty() {
            remove_cookies(upstream, &state.upstream_remove_cookie);
        }
        for (name, value) in &state.upstream_set {
            let _ = upstream.insert_header(name.clone(), value.clone());
        }
        if self.phases.upstream_request {
            for p in &self.plugins {
                p.kind.upstream_request(state, upstream);
            }
        }
    }

    /// The response phase: each plugin's own step, then the headers the request phase
    /// decided (`Vary` entries merged into one list without duplicates). `modules` are the
    /// session's downstream modules (pingora's compression is configured there per request).
    pub fn response(
        &self,
        state: &mut State,
        response: &mut ResponseHeader,
        mut modules: Option<&mut HttpModuleCtx>,
    ) {
        if self.phases.response {
            for p in &self.plugins {
                p.kind.response(state, response, modules.as_deref_mut());
            }
        }
        for (name, value) in &state.response_add {
            let _ = response.append_header(name.clone(), value.clone());
        }
        for name in &state.vary {
            add_vary(response, name);
        }
    }
}

/// Adds `name` to the response's `Vary` unless it (or `*`) is already there.
pub(crate) fn add_vary(response: &mut ResponseHeader, name: &str) {
    let present = response.headers.get_all(http::header::VARY).iter().any(|v| {
        v.as_bytes()
            .split(|b| *b == b',')
            .map(|t| t.trim_ascii())
            .any(|t| t == b"*" || t.eq_ignore_ascii_case(name.as_bytes()))
    });
    if !present {
        if let Ok(v) = HeaderValue::from_str(name) {
            let _ = response.append_header(http::header::VARY, v);
        }
    }
}

/// Drops query parameters named in `names` from the request target.
fn remove_query_params(upstream: &mut RequestHeader, names: &[String]) {
    let Some(query) = upstream.uri.query() else { return };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
            !names.iter().any(|n| n == key)
        })
        .collect();
    let path = upstream.uri.path();
    let target =
        if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) };
    if let Ok(uri) = target.parse::<http::Uri>() {
        upstream.set_uri(uri);
    }
}

/// Drops cookies named in `names` from every `Cookie` line of the request.
fn remove_cookies(upstream: &mut RequestHeader, names: &[String]) {
    let lines: Vec<String> = upstream
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .map(str::trim)
                .filter(|pair| {
                    let key = pair.split_once('=').map_or(*pair, |(k, _)| k).trim();
                    !pair.is_empty() && !names.iter().any(|n| n == key)
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|l| !l.is_empty())
        .collect();
    upstream.remove_header(&http::header::COOKIE);
    for l in lines {
        let _ = upstream.append_header(http::header::COOKIE, l);
    }
}

/// Parses the options of `spec` without loading anything (no files, no DNS): every problem
/// at once. What `pylon check` reports next to the other config errors.
pub fn check(spec: &Spec) -> Vec<Problem> {
    kinds::check(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vary_is_merged_without_duplicates() {
        let mut r = ResponseHeader::build(200, None).unwrap();
        r.insert_header("Vary", "accept-encoding").unwrap();
        add_vary(&mut r, "Origin");
        add_vary(&mut r, "origin");
        add_vary(&mut r, "Accept-Encoding");
        let all: Vec<_> = r.headers.get_all("vary").iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(all, ["accept-encoding", "Origin"]);
    }

    #[test]
    fn hidden_cookies_are_removed() {
        let mut r = RequestHeader::build("GET", b"/", None).unwrap();
        r.append_header("Cookie", "a=1; jwt=secret; b=2").unwrap();
        r.append_header("Cookie", "jwt=again").unwrap();
        remove_cookies(&mut r, &["jwt".to_owned()]);
        let all: Vec<_> = r.headers.get_all("cookie").iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(all, ["a=1; b=2"]);
    }

    #[test]
    fn hidden_query_parameters_are_removed() {
        let mut r = RequestHeader::build("GET", b"/p?a=1&api_key=s3cret&b=2", None).unwrap();
        remove_query_params(&mut r, &["api_key".to_owned()]);
        assert_eq!(r.uri.to_string(), "/p?a=1&b=2");
        let mut r = RequestHeader::build("GET", b"/p?api_key=s3cret", None).unwrap();
        remove_query_params(&mut r, &["api_key".to_owned()]);
        assert_eq!(r.uri.to_string(), "/p");
    }
}
