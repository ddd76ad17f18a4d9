//! What the admin (pylon-admin, wired in by the binary) may see and do in the running proxy,
//! and how its HTTP application is served.
//!
//! pylon-proxy does not depend on pylon-admin. It exposes [`AdminHandle`] (config text and
//! version, validation, impact on recent requests, reload, stats, upstreams, explain,
//! metrics) and serves any [`AdminService`] it is given: on the `[admin]` listener (a pingora
//! service like every other listener, so a binary upgrade hands it over) and under a
//! server's `admin_path`.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use async_trait::async_trait;
use bytes::Bytes;
use pingora::{apps::http_app::ServeHttp, protocols::http::ServerSession};
use pylon_config::{Config, Diagnostic};
use serde::Serialize;

use crate::{Shared, explain::Explained, recent::RecentRequest, runtime::compile_router};

/// Largest request body the admin accepts (a config file), in bytes.
pub const MAX_ADMIN_BODY: usize = 4 * 1024 * 1024;
/// How many recent requests the impact preview replays at most.
pub const IMPACT_SAMPLE: usize = 1000;

/// The admin HTTP application: one request in, one response out (bodies are small and
/// buffered). Implemented by the binary on top of pylon-admin.
#[async_trait]
pub trait AdminService: Send + Sync + std::fmt::Debug + 'static {
    /// Answer `req` (its path without any `admin_path` prefix) from a client at `conn`.
    async fn serve(&self, req: http::Request<Bytes>, conn: AdminConn) -> http::Response<Bytes>;

    /// The name of the admin's session cookie. Browsers send a host's cookies to every port
    /// of it (RFC 6265 §8.5), so the proxy removes this cookie from every request it
    /// forwards upstream.
    fn session_cookie(&self) -> &str;
}

/// Removes the cookie `name` from the `Cookie` fields of `req` (RFC 6265 §5.4: `name=value`
/// pairs joined by `"; "`; h2 clients may send one field per pair), dropping a field it
/// leaves empty. Fields without the name are not touched; a request with no cookies costs a
/// header lookup.
pub(crate) fn strip_cookie(req: &mut pingora::http::RequestHeader, name: &str) {
    let holds = |value: &http::HeaderValue| {
        value
            .as_bytes()
            .windows(name.len() + 1)
            .any(|w| w.starts_with(name.as_bytes()) && w[name.len()] == b'=')
    };
    if !req.headers.get_all(http::header::COOKIE).iter().any(holds) {
        return;
    }
    let kept: Vec<Vec<u8>> = req
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .map(|value| {
            let pairs = value.as_bytes().split(|&b| b == b';').map(<[u8]>::trim_ascii);
            let mut out = Vec::with_capacity(value.len());
            for pair in pairs.filter(|p| !p.is_empty()) {
                let pair_name = pair.split(|&b| b == b'=').next().unwrap_or_default();
                if pair_name != name.as_bytes() {
                    if !out.is_empty() {
                        out.extend_from_slice(b"; ");
                    }
                    out.extend_from_slice(pair);
                }
            }
            out
        })
        .collect();
    req.remove_header(&http::header::COOKIE);
    for value in kept.into_iter().filter(|v| !v.is_empty()) {
        // The bytes are a subset of a valid field value.
        if let Ok(value) = http::HeaderValue::from_bytes(&value) {
            let _ = req.append_header(http::header::COOKIE, value);
        }
    }
}

/// Where an admin request came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConn {
    /// The client's address (TCP peer).
    pub client: Option<SocketAddr>,
    /// Whether the connection is TLS (cookies then get `Secure`).
    pub tls: bool,
    /// The path prefix the admin is mounted at: `""` on the admin listener, the server's
    /// `admin_path` on a public server.
    pub prefix: String,
}

/// The running configuration as the admin sees it.
#[derive(Debug, Clone)]
pub struct Running {
    /// The config text the running configuration was compiled from.
    pub text: Arc<str>,
    /// Its content hash ([`config_version`]).
    pub version: String,
    /// The compiled configuration.
    pub config: Arc<Config>,
}

/// A candidate config text, validated as `pylon check` does.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Every error (parse, references, files, compile); empty = valid.
    pub errors: Vec<Diagnostic>,
    /// Lints: unused upstreams/locations, shadowed locations, equal-weight overlaps.
    pub warnings: Vec<Diagnostic>,
    /// The parsed config, when it parsed (it may still have compile errors).
    pub config: Option<Config>,
}

/// What a reload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reloaded {
    /// Listeners or threads changed: a successor process takes the sockets over
    /// (graceful upgrade) instead of an in-place swap.
    pub upgrade: bool,
}

/// Of the recent requests, which would be served differently by a candidate config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Impact {
    /// Recent requests replayed (the newest first, at most [`IMPACT_SAMPLE`]).
    pub sampled: usize,
    /// How many would go to another location or upstream (or to none).
    pub changed: usize,
    /// Up to 20 of them, the most frequent `(server, host, path)` first.
    pub examples: Vec<ImpactExample>,
}

/// One request that would be served differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImpactExample {
    /// The server it came in on.
    pub server: String,
    /// Its host.
    pub host: String,
    /// Its path.
    pub path: String,
    /// How many of the sampled requests were this one.
    pub count: usize,
    /// Where the running config sends it.
    pub before: Route,
    /// Where the candidate sends it.
    pub after: Route,
}

/// Where a request goes: location and upstream (`None` = no location: 404, or no such server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// The location, if one matches.
    pub location: Option<String>,
    /// The upstream of that location (`None` for `return` locations).
    pub upstream: Option<String>,
}

/// The content hash of a config text: 16 hex digits of its BLAKE2s-256 digest. Used as the
/// config version and as the HTTP ETag of the config file.
pub fn config_version(text: &str) -> String {
    use blake2::{Blake2s256, Digest};
    let digest = Blake2s256::digest(text.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The config as the admin API and `pylon plan` show it: JSON of pylon-config's `Config`
/// with the value of every plugin secret (`basic_auth` users' password hashes, `key_auth`
/// key hashes, the `jwt` HMAC secret; see [`pylon_plugin::is_secret_option`]) replaced by
/// `<redacted FINGERPRINT>` (`USER:<redacted …>` for a `basic_auth` user). The fingerprint
/// is stable within this process, so a plan's semantic diff still shows that a secret
/// changed. (`[admin]` password hashes are never serialized at all.)
pub fn config_model(config: &pylon_config::Config) -> serde_json::Value {
    let mut model = serde_json::to_value(config).unwrap_or_default();
    if let Some(plugins) = model.get_mut("plugins").and_then(|p| p.as_array_mut()) {
        for plugin in plugins {
            let kind = plugin["kind"].as_str().unwrap_or_default().to_owned();
            let Some(options) = plugin.get_mut("options").and_then(|o| o.as_array_mut()) else {
                continue;
            };
            for option in options {
                let key = option["key"].as_str().unwrap_or_default().to_owned();
                if pylon_plugin::is_secret_option(&kind, &key) {
                    if let Some(value) = option.get_mut("value") {
                        redact_value(&kind, &key, value);
                    }
                }
            }
        }
    }
    model
}

/// Replaces every string inside `value` (a string or an array) with its redaction; other
/// values (a number where a secret belongs is a config error anyway) are emptied too.
fn redact_value(kind: &str, key: &str, value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => *s = pylon_plugin::redact_secret(kind, key, s),
        serde_json::Value::Array(items) => {
            for item in items {
                redact_value(kind, key, item);
            }
        }
        other => *other = serde_json::Value::String(pylon_plugin::redact_secret(kind, key, "")),
    }
}

/// The running proxy, as pylon-admin reaches it (cheap to clone).
#[derive(Debug, Clone)]
pub struct AdminHandle {
    pub(crate) shared: Arc<Shared>,
}

impl AdminHandle {
    /// The config file the proxy runs (re-read on reload), `None` for the embedded default.
    pub fn config_path(&self) -> Option<&Path> {
        self.shared.config_path.as_deref()
    }

    /// The running configuration, its text and version.
    pub fn running(&self) -> Running {
        let (text, version) = self.shared.source();
        Running { text, version, config: self.shared.runtime.load().config.clone() }
    }

    /// Validate `text` as the config file at [`Self::config_path`] (relative paths resolve
    /// there) the way `pylon check` does, compiling it fully. Changes nothing.
    pub async fn check(&self, text: &str) -> Checked {
        let origin = self.shared.config_path.clone().unwrap_or_else(|| PathBuf::from("pylon.toml"));
        check_text(text, &origin).await
    }

    /// Replay the recent requests against `candidate` and count what would change.
    pub fn impact(&self, candidate: &Config) -> Impact {
        let recent = crate::recent::snapshot(IMPACT_SAMPLE);
        impact(&self.shared.runtime.load().config, candidate, &recent)
    }

    /// Re-read the config file and swap it in (or start a successor when listeners change).
    /// On errors the running configuration stays.
    pub async fn reload(&self) -> Result<Reloaded, Vec<Diagnostic>> {
        self.shared.reload().await
    }

    /// The stats document (`stats_path`'s), plus per-server metric series when `[admin]` is
    /// configured.
    pub fn stats(&self) -> serde_json::Value {
        self.shared.stats_json()
    }

    /// Every upstream with its peers: weight, health, in-flight requests, last check error.
    pub fn upstreams(&self) -> serde_json::Value {
        let rt = self.shared.runtime.load();
        let list: Vec<serde_json::Value> = rt
            .pools_in_order()
            .into_iter()
            .map(|(name, pool)| {
                let up = rt.config.upstream(name);
                let peers: Vec<serde_json::Value> = pool
                    .peers()
                    .into_iter()
                    .map(|p| {
                        serde_json::json!({
                            "addr": p.addr.to_string(),
                            "host": p.host,
                            "weight": p.weight,
                            "healthy": p.healthy,
                            "in_flight": p.in_flight,
                            "last_error": p.last_error,
                            "check_failures": p.check_failures,
                        })
                    })
                    .collect();
                serde_json::json!({
                    "name": name,
                    "algo": up.map(|u| &u.algo),
                    "health_check": up.map(|u| &u.health_check),
                    "retries": up.map_or(0, |u| u.retries),
                    "healthy": pool.healthy_count(),
                    "peers": peers,
                    "locations": rt.config.locations.iter()
                        .filter(|l| l.upstream.as_deref() == Some(name))
                        .map(|l| l.name.as_str())
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::Value::Array(list)
    }

    /// `pylon explain` against the running proxy: live peer health, no extra checks run.
    pub fn explain(&self, url: &str, headers: &[(String, String)]) -> Result<Explained, String> {
        let rt = self.shared.runtime.load_full();
        crate::explain::explain_in(&rt.config, &rt, url, headers, &|_| {})
    }

    /// The Prometheus text exposition.
    pub fn metrics(&self) -> String {
        let (_, version) = self.shared.source();
        crate::metrics::Scrape {
            runtime: self.shared.runtime.load_full(),
            registry: self.shared.stats.metrics.clone(),
            config_version: version,
        }
        .encode()
    }
}

/// Validate config `text` as if it were the file `origin`: every parse error, then the
/// compile errors and the lints of [`crate::check`].
pub async fn check_text(text: &str, origin: &Path) -> Checked {
    match pylon_config::parse_with(text, origin, crate::config_checks()) {
        Err(e) => Checked { errors: e.0, warnings: Vec::new(), config: None },
        Ok(loaded) => {
            let errors = crate::app::compile_async(&loaded.config).await.err().unwrap_or_default();
            let mut warnings = loaded.warnings;
            warnings.extend(crate::runtime::route_lints(&loaded.config));
            Checked { errors, warnings, config: Some(loaded.config) }
        }
    }
}

/// Where `config` sends each of `recent`, compared with `current`.
pub fn impact(current: &Config, candidate: &Config, recent: &[RecentRequest]) -> Impact {
    let routes = |config: &Config| {
        config
            .servers
            .iter()
            .map(|s| (s.name.clone(), compile_router(config, &s.locations).ok()))
            .collect::<std::collections::HashMap<_, _>>()
    };
    let (before_rt, after_rt) = (routes(current), routes(candidate));
    let route = |config: &Config, routers: &std::collections::HashMap<_, _>, r: &RecentRequest| {
        let router: Option<&pylon_route::Router> =
            routers.get(&r.server).and_then(|x: &Option<pylon_route::Router>| x.as_ref());
        let location = router.and_then(|rt| rt.find(&r.host, &r.path)).and_then(|i| {
            let name = &router?.route(i).name;
            config.location(name)
        });
        Route {
            location: location.map(|l| l.name.clone()),
            upstream: location.and_then(|l| l.upstream.clone()),
        }
    };
    let mut changed = 0;
    let mut examples: Vec<ImpactExample> = Vec::new();
    for r in recent {
        let before = route(current, &before_rt, r);
        let after = route(candidate, &after_rt, r);
        if before == after {
            continue;
        }
        changed += 1;
        match examples
            .iter_mut()
            .find(|e| e.server == r.server && e.host == r.host && e.path == r.path)
        {
            Some(e) => e.count += 1,
            None => examples.push(ImpactExample {
                server: r.server.clone(),
                host: r.host.clone(),
                path: r.path.clone(),
                count: 1,
                before,
                after,
            }),
        }
    }
    examples.sort_by_key(|e| std::cmp::Reverse(e.count));
    examples.truncate(20);
    Impact { sampled: recent.len(), changed, examples }
}

/// Serves an [`AdminService`] with pingora's HTTP server app (h1, keep-alive, TLS).
#[derive(Debug)]
pub(crate) struct AdminListener {
    pub(crate) service: Arc<dyn AdminService>,
}

/// The `[admin]` listener's application: pingora's HTTP server app over [`AdminListener`],
/// with the drain of a server listener. pingora's own cleanup closes every idle keep-alive
/// connection the moment the listener is handed over, racing with a client (an open admin
/// page, a Prometheus scraper) writing its next request on one. They stay open for `drain`
/// instead; a request arriving meanwhile is answered with `Connection: close`, so the
/// client moves to the successor.
pub(crate) struct AdminApp {
    pub(crate) http: Arc<pingora::apps::http_app::HttpServer<AdminListener>>,
    pub(crate) drain: std::time::Duration,
}

impl std::fmt::Debug for AdminApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminApp").field("drain", &self.drain).finish_non_exhaustive()
    }
}

#[async_trait]
impl pingora::apps::ServerApp for AdminApp {
    async fn process_new(
        self: &Arc<Self>,
        stream: pingora::protocols::Stream,
        shutdown: &pingora::server::ShutdownWatch,
    ) -> Option<pingora::protocols::Stream> {
        self.http.process_new(stream, shutdown).await
    }

    async fn cleanup(&self) {
        tokio::time::sleep(self.drain).await;
        self.http.cleanup().await;
    }
}

/// Read a whole request (head and body up to [`MAX_ADMIN_BODY`]) from a pingora session.
/// `Err` holds the response to send instead (413, 400).
pub(crate) async fn read_request(
    session: &mut ServerSession,
    path: &str,
) -> Result<http::Request<Bytes>, http::Response<Bytes>> {
    let mut body = Vec::new();
    loop {
        match session.read_request_body().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_ADMIN_BODY {
                    return Err(plain(413, "request body too large for the admin API"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(plain(400, &format!("cannot read the request body: {e}"))),
        }
    }
    let head = session.req_header();
    let uri = match head.uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let mut req = http::Request::builder().method(head.method.clone()).uri(uri);
    for (name, value) in head.headers.iter() {
        req = req.header(name, value);
    }
    // HTTP/2 carries the authority as `:authority`; the admin compares Origin with Host.
    if !head.headers.contains_key(http::header::HOST) {
        if let Some(authority) = head.uri.authority() {
            req = req.header(http::header::HOST, authority.as_str());
        }
    }
    req.body(Bytes::from(body)).map_err(|e| plain(400, &format!("bad request: {e}")))
}

/// Whether request path `path` lies under `prefix` (an `admin_path`): the prefix itself or
/// anything below it (`/pylon-admin`, `/pylon-admin/…`, not `/pylon-adminx`).
pub(crate) fn under_prefix(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Answer a request under a server's `admin_path` from the proxy's `request_filter`: the
/// body is read whole, the path loses the prefix, the admin application answers, and the
/// response is written here; nothing reaches an upstream. The prefix alone is redirected
/// (308) to `prefix/`, so the UI's relative links resolve under it. Returns the status sent.
pub(crate) async fn serve_prefixed(
    session: &mut pingora::proxy::Session,
    service: Option<&Arc<dyn AdminService>>,
    prefix: &str,
) -> pingora::Result<u16> {
    let path = session.req_header().uri.path();
    let rest = path.strip_prefix(prefix).unwrap_or_default().to_owned();
    let resp = match service {
        None => plain(503, "the admin is not available in this process"),
        Some(_) if rest.is_empty() => {
            let target = match session.req_header().uri.query() {
                Some(q) => format!("{prefix}/?{q}"),
                None => format!("{prefix}/"),
            };
            let mut resp = plain(308, &format!("The admin is at {target}"));
            if let Ok(v) = http::HeaderValue::from_str(&target) {
                resp.headers_mut().insert(http::header::LOCATION, v);
            }
            resp
        }
        Some(service) => {
            let conn = AdminConn {
                client: session.client_addr().and_then(|a| a.as_inet()).copied(),
                tls: is_tls(session.as_downstream()),
                prefix: prefix.to_owned(),
            };
            match read_request(session.as_downstream_mut(), &rest).await {
                Ok(req) => service.serve(req, conn).await,
                Err(resp) => {
                    // The body was not read to its end: the connection cannot carry another.
                    session.set_keepalive(None);
                    resp
                }
            }
        }
    };
    let (parts, body) = resp.into_parts();
    let status = parts.status.as_u16();
    let mut head = pingora::http::ResponseHeader::from(parts);
    head.insert_header(http::header::CONTENT_LENGTH, body.len())?;
    if session.req_header().method == http::Method::HEAD || body.is_empty() {
        session.write_response_header(Box::new(head), true).await?;
    } else {
        session.write_response_header(Box::new(head), false).await?;
        session.write_response_body(Some(body), true).await?;
    }
    Ok(status)
}

/// A short `text/plain` response.
pub(crate) fn plain(status: u16, text: &str) -> http::Response<Bytes> {
    let mut resp = http::Response::new(Bytes::from(format!("{text}\n")));
    *resp.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// Whether a session is on a TLS connection.
pub(crate) fn is_tls(session: &ServerSession) -> bool {
    session.digest().is_some_and(|d| d.ssl_digest.is_some())
}

#[async_trait]
impl ServeHttp for AdminListener {
    async fn response(&self, session: &mut ServerSession) -> http::Response<Vec<u8>> {
        let path = session.req_header().uri.path().to_owned();
        let conn = AdminConn {
            client: session.client_addr().and_then(|a| a.as_inet()).copied(),
            tls: is_tls(session),
            prefix: String::new(),
        };
        let is_head = session.req_header().method == http::Method::HEAD;
        let resp = match read_request(session, &path).await {
            Ok(req) => self.service.serve(req, conn).await,
            Err(resp) => resp,
        };
        let (mut parts, body) = resp.into_parts();
        // pingora's HttpServer writes no body when it is empty: a length makes that a
        // complete response either way.
        parts.headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(body.len()));
        let body = if is_head { Vec::new() } else { body.to_vec() };
        http::Response::from_parts(parts, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_HASH: &str =
        "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    fn model_of(secret: &str) -> serde_json::Value {
        let text = format!(
            "[upstreams.o]\naddrs = [\"127.0.0.1:9\"]\n\
             [plugins.j]\nkind = \"jwt\"\nalgorithm = \"HS256\"\nsecret = \"{secret}\"\n\
             [plugins.k]\nkind = \"key_auth\"\nkeys = [\"{KEY_HASH}\"]\n\
             [plugins.b]\nkind = \"basic_auth\"\nrealm = \"staff\"\n\
             users = [\"alice:$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$bWFkZS11cC1oYXNoLWZvci10aGUtdGVzdA\"]\n\
             [locations.l]\nupstream = \"o\"\npath = \"/\"\nplugins = [\"j\", \"k\", \"b\"]\n\
             [servers.s]\naddr = \"127.0.0.1:0\"\nlocations = [\"l\"]\n"
        );
        let loaded = pylon_config::parse(&text, std::path::Path::new("t.toml")).unwrap();
        config_model(&loaded.config)
    }

    #[test]
    fn plugin_secrets_are_redacted_and_changes_still_show() {
        let model = model_of("jwt-shared-secret-1");
        let text = model.to_string();
        for secret in ["jwt-shared-secret-1", &KEY_HASH[7..], "argon2id", "bWFkZS11cC1o"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let options = |name: &str| {
            model["plugins"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap()
                ["options"]
                .clone()
        };
        // Not secrets: kept as written.
        assert!(options("j").to_string().contains("HS256"));
        assert!(options("b").to_string().contains("staff"));
        assert!(options("b").to_string().contains("alice:<redacted "), "{}", options("b"));
        assert!(options("k").to_string().contains("<redacted "), "{}", options("k"));
        // The same secret shows the same; another secret shows differently.
        assert_eq!(model, model_of("jwt-shared-secret-1"));
        assert_ne!(options("j"), model_of("jwt-shared-secret-2")["plugins"][0]["options"]);
    }

    #[test]
    fn prefixes_match_whole_segments() {
        assert!(under_prefix("/pylon-admin", "/pylon-admin"));
        assert!(under_prefix("/pylon-admin/", "/pylon-admin"));
        assert!(under_prefix("/pylon-admin/api/x", "/pylon-admin"));
        assert!(!under_prefix("/pylon-adminx", "/pylon-admin"));
        assert!(!under_prefix("/pylon", "/pylon-admin"));
        assert!(!under_prefix("/x/pylon-admin", "/pylon-admin"));
    }

    #[test]
    fn strip_cookie_removes_only_that_cookie() {
        let cases: [(&[&str], &[&str]); 7] = [
            (&["a=1; s=x; b=2"], &["a=1; b=2"]),
            (&["s=x"], &[]),
            (&["s=x;a=1"], &["a=1"]),
            (&["a=1", "s=x", "b=2"], &["a=1", "b=2"]),
            (&["xs=1; s2=2; a=s=3"], &["xs=1; s2=2; a=s=3"]),
            (&["a=1"], &["a=1"]),
            (&[], &[]),
        ];
        for (sent, kept) in cases {
            let mut req = pingora::http::RequestHeader::build("GET", b"/", None).expect("req");
            for v in sent {
                req.append_header(http::header::COOKIE, *v).expect("cookie");
            }
            strip_cookie(&mut req, "s");
            let got: Vec<&str> = req
                .headers
                .get_all(http::header::COOKIE)
                .iter()
                .map(|v| v.to_str().expect("ascii"))
                .collect();
            assert_eq!(got, kept, "{sent:?}");
        }
    }
}
