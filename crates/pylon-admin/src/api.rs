//! The HTTP API: an axum [`Router`] over the [`AdminBackend`], with authentication, CSRF
//! defence and the config apply/rollback pipeline.

use std::{
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::{FromRequestParts, Path, Query, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    AdminConn,
    auth::{self, COOKIE, Limiter, Sessions},
    backend::{AdminBackend, Checked, Diagnostic},
    plan::{self, Plan},
    store::{self, History},
};

/// Shared by every request.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) backend: Arc<dyn AdminBackend>,
    sessions: Sessions,
    limiter: Limiter,
    /// The CSRF token of the no-login mode (loopback without users).
    open_csrf: String,
    /// Successful basic-auth checks: key (hash of user, password and a process secret) →
    /// (the PHC hash it matched, when). Spares an argon2 run per scrape.
    basic_cache: Mutex<std::collections::HashMap<String, (String, Instant)>>,
    cache_secret: String,
    apply_lock: tokio::sync::Mutex<()>,
}

/// How long a verified basic-auth credential is remembered.
const BASIC_CACHE: Duration = Duration::from_secs(300);
/// The CSRF header state-changing requests carry.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

pub(crate) fn router(backend: Arc<dyn AdminBackend>) -> Router {
    let state = Arc::new(AppState {
        backend,
        sessions: Sessions::default(),
        limiter: Limiter::default(),
        open_csrf: auth::token(),
        basic_cache: Mutex::default(),
        cache_secret: auth::token(),
        apply_lock: tokio::sync::Mutex::new(()),
    });
    Router::new()
        .route("/api/health", get(health))
        .route("/api/session", get(session))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/metrics", get(metrics))
        .route("/api/config", get(get_config).put(put_config))
        .route("/api/config/plan", post(plan_config))
        .route("/api/config/history", get(history))
        .route("/api/config/history/{version}", get(history_text))
        .route("/api/config/rollback/{version}", post(rollback))
        .route("/api/stats", get(stats))
        .route("/api/upstreams", get(upstreams))
        .route("/api/explain", get(explain))
        .merge(crate::ui::routes())
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such admin endpoint") })
        .with_state(state)
}

/// A JSON error: `{"error": message}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (status, no_store(), Json(json!({ "error": message }))).into_response()
}

fn no_store() -> [(header::HeaderName, &'static str); 1] {
    [(header::CACHE_CONTROL, "no-store")]
}

fn etag_header(version: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

fn conn(parts: &Parts) -> AdminConn {
    parts.extensions.get::<AdminConn>().cloned().unwrap_or_default()
}

fn client_ip(conn: &AdminConn) -> IpAddr {
    conn.client.map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip())
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(name)?.strip_prefix('='))
}

/// How a request was authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Via {
    /// No users configured (loopback only).
    Open,
    /// A session cookie.
    Session { id: String, csrf: String },
    /// `Authorization: Basic`.
    Basic,
}

/// An authenticated request: who, and how.
#[derive(Debug, Clone)]
pub(crate) struct Authed {
    pub(crate) user: String,
    pub(crate) via: Via,
    pub(crate) conn: AdminConn,
}

fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host
            .rsplit_once(':')
            .map_or(host, |(h, p)| if p.bytes().all(|b| b.is_ascii_digit()) { h } else { host }),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl AppState {
    /// Check a basic-auth header value; failures count against the client.
    async fn basic(&self, value: &str, ip: IpAddr, users: &[(String, String)]) -> Option<String> {
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::STANDARD.decode(value.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        let hash = users.iter().find(|(u, _)| u == user).map(|(_, h)| h.clone());
        let key = {
            use blake2::{Blake2s256, Digest};
            let d = Blake2s256::new()
                .chain_update(self.cache_secret.as_bytes())
                .chain_update(user.as_bytes())
                .chain_update([0])
                .chain_update(password.as_bytes())
                .finalize();
            d.iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        if let Some(hash) = &hash {
            let cache = self.basic_cache.lock().unwrap_or_else(|e| e.into_inner());
            if cache.get(&key).is_some_and(|(h, at)| h == hash && at.elapsed() < BASIC_CACHE) {
                return Some(user.to_owned());
            }
        }
        let ok = {
            let (password, hash) = (password.to_owned(), hash.clone());
            tokio::task::spawn_blocking(move || auth::check_password(&password, hash.as_deref()))
                .await
                .unwrap_or(false)
        };
        if ok {
            self.limiter.succeeded(ip);
            let mut cache = self.basic_cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.retain(|_, (_, at)| at.elapsed() < BASIC_CACHE);
            cache.insert(key, (hash.unwrap_or_default(), Instant::now()));
            Some(user.to_owned())
        } else {
            self.limiter.failed(ip);
            tracing::warn!(target: "pylon::admin::audit", user, client = %ip, "admin basic auth failed");
            None
        }
    }
}

fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs().max(1);
    let mut resp = error(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("too many failed logins from this address; try again in {secs} s"),
    );
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}

impl FromRequestParts<Arc<AppState>> for Authed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let conn = conn(parts);
        let Some(settings) = state.backend.settings() else {
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the running configuration has no [admin] section",
            ));
        };
        let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        // A browser page of another site may send requests here: refuse state changes whose
        // Origin is not this host.
        if unsafe_method {
            let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok());
            let origin = parts.headers.get(header::ORIGIN).and_then(|h| h.to_str().ok());
            if let Some(origin) = origin {
                let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
                if Some(origin_host) != host {
                    return Err(error(
                        StatusCode::FORBIDDEN,
                        "cross-origin request refused (Origin does not match Host)",
                    ));
                }
            }
        }
        let ip = client_ip(&conn);
        let (user, via) = if settings.users.is_empty() {
            // No users: only reachable on loopback (pylon-config insists). A page of another
            // site could still reach 127.0.0.1 through a name it controls (DNS rebinding):
            // only loopback names are served.
            let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok());
            if !host.is_some_and(is_loopback_host) {
                return Err(error(
                    StatusCode::FORBIDDEN,
                    "without [admin] users the admin answers loopback host names only",
                ));
            }
            ("local".to_owned(), Via::Open)
        } else if let Some(s) =
            cookie(&parts.headers, COOKIE).and_then(|id| state.sessions.get(id).map(|s| (id, s)))
        {
            let (id, info) = s;
            if !settings.users.iter().any(|(u, _)| *u == info.user) {
                state.sessions.end(id);
                return Err(error(StatusCode::UNAUTHORIZED, "this user no longer exists"));
            }
            (info.user, Via::Session { id: id.to_owned(), csrf: info.csrf })
        } else if let Some(basic) = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        {
            if let Some(wait) = state.limiter.blocked(ip) {
                return Err(too_many(wait));
            }
            match state.basic(basic, ip, &settings.users).await {
                Some(user) => (user, Via::Basic),
                None => {
                    return Err(error(StatusCode::UNAUTHORIZED, "wrong user name or password"));
                }
            }
        } else {
            return Err(error(StatusCode::UNAUTHORIZED, "login required"));
        };
        if unsafe_method {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            let want = match &via {
                Via::Open => Some(state.open_csrf.as_str()),
                Via::Session { csrf, .. } => Some(csrf.as_str()),
                // Browsers never hold these credentials: the admin never asks for them
                // (no WWW-Authenticate challenge), so a foreign page cannot replay them.
                Via::Basic => None,
            };
            if let Some(want) = want {
                if !sent.is_some_and(|s| auth::same(s, want)) {
                    return Err(error(
                        StatusCode::FORBIDDEN,
                        "missing or wrong X-CSRF-Token header (GET /api/session gives it)",
                    ));
                }
            }
        }
        Ok(Authed { user, via, conn })
    }
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    let running = state.backend.running();
    (no_store(), Json(json!({ "status": "ok", "config_version": running.version }))).into_response()
}

async fn session(State(state): State<Arc<AppState>>, parts: Parts) -> Response {
    let Some(settings) = state.backend.settings() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the running configuration has no [admin]");
    };
    if settings.users.is_empty() {
        let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok());
        if !host.is_some_and(is_loopback_host) {
            return error(
                StatusCode::FORBIDDEN,
                "without [admin] users the admin answers loopback host names only",
            );
        }
        return (
            no_store(),
            Json(json!({ "auth_required": false, "user": "local", "csrf": state.open_csrf })),
        )
            .into_response();
    }
    let found = cookie(&parts.headers, COOKIE).and_then(|id| state.sessions.get(id));
    match found {
        Some(s) if settings.users.iter().any(|(u, _)| *u == s.user) => {
            (no_store(), Json(json!({ "auth_required": true, "user": s.user, "csrf": s.csrf })))
                .into_response()
        }
        _ => (no_store(), Json(json!({ "auth_required": true, "user": null, "csrf": null })))
            .into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct LoginBody {
    user: String,
    password: String,
}

fn cookie_header(conn: &AdminConn, value: &str, max_age: u64) -> HeaderValue {
    let path = if conn.prefix.is_empty() { "/" } else { conn.prefix.as_str() };
    let secure = if conn.tls { "; Secure" } else { "" };
    let text = format!(
        "{COOKIE}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""))
}

async fn login(
    State(state): State<Arc<AppState>>,
    parts: Parts,
    body: axum::body::Bytes,
) -> Response {
    let conn = conn(&parts);
    let ip = client_ip(&conn);
    let Some(settings) = state.backend.settings() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the running configuration has no [admin]");
    };
    if settings.users.is_empty() {
        return error(StatusCode::BAD_REQUEST, "no [admin] users are configured: no login needed");
    }
    if let Some(wait) = state.limiter.blocked(ip) {
        tracing::warn!(target: "pylon::admin::audit", client = %ip, "admin login refused: too many failures");
        return too_many(wait);
    }
    let Ok(LoginBody { user, password }) = serde_json::from_slice::<LoginBody>(&body) else {
        return error(StatusCode::BAD_REQUEST, "expected JSON {\"user\": …, \"password\": …}");
    };
    let hash = settings.users.iter().find(|(u, _)| *u == user).map(|(_, h)| h.clone());
    let ok = tokio::task::spawn_blocking(move || auth::check_password(&password, hash.as_deref()))
        .await
        .unwrap_or(false);
    if !ok {
        state.limiter.failed(ip);
        tracing::warn!(target: "pylon::admin::audit", user, client = %ip, "admin login failed");
        return error(StatusCode::UNAUTHORIZED, "wrong user name or password");
    }
    state.limiter.succeeded(ip);
    let (id, csrf) = state.sessions.start(&user);
    tracing::info!(target: "pylon::admin::audit", user, client = %ip, "admin login");
    let mut resp = (no_store(), Json(json!({ "user": user, "csrf": csrf }))).into_response();
    let max_age = auth::SESSION_MAX.as_secs();
    resp.headers_mut().insert(header::SET_COOKIE, cookie_header(&conn, &id, max_age));
    resp
}

async fn logout(State(state): State<Arc<AppState>>, who: Authed) -> Response {
    let mut resp = (no_store(), Json(json!({ "user": null }))).into_response();
    if let Via::Session { id, .. } = &who.via {
        state.sessions.end(id);
        tracing::info!(target: "pylon::admin::audit", user = who.user, client = %client_ip(&who.conn), "admin logout");
        resp.headers_mut().insert(header::SET_COOKIE, cookie_header(&who.conn, "", 0));
    }
    resp
}

async fn metrics(State(state): State<Arc<AppState>>, _: Authed) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        state.backend.metrics(),
    )
        .into_response()
}

/// A refusal, turned into a JSON error response at the handler.
#[derive(Debug)]
struct Fail(StatusCode, String);

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        error(self.0, &self.1)
    }
}

/// The config file's current text and version (the running text when there is no file).
fn file_state(backend: &dyn AdminBackend) -> Result<(String, String), Fail> {
    match backend.config_path() {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Fail(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let version = backend.version_of(&text);
            Ok((text, version))
        }
        None => {
            let r = backend.running();
            Ok((r.text, r.version))
        }
    }
}

async fn get_config(State(state): State<Arc<AppState>>, _: Authed) -> Response {
    let backend = &*state.backend;
    let (text, etag) = match file_state(backend) {
        Ok(x) => x,
        Err(fail) => return fail.into_response(),
    };
    let running = backend.running();
    let doc = json!({
        "path": backend.config_path().map(|p| p.display().to_string()),
        "writable": backend.config_path().is_some(),
        "text": text,
        "etag": etag,
        "running_version": running.version,
        "file_is_running": etag == running.version,
        "model": running.model,
    });
    let mut resp = (no_store(), Json(doc)).into_response();
    resp.headers_mut().insert(header::ETAG, etag_header(&etag));
    resp
}

fn body_text(body: &[u8]) -> Result<String, Fail> {
    String::from_utf8(body.to_vec())
        .map_err(|_| Fail(StatusCode::BAD_REQUEST, "the config must be UTF-8 text".to_owned()))
}

/// The plan of replacing the running configuration with `text`.
async fn make_plan(backend: &dyn AdminBackend, text: &str) -> (Plan, Checked) {
    let running = backend.running();
    let checked = backend.check(text).await;
    let base =
        plan::Base { text: &running.text, version: running.version.clone(), model: &running.model };
    let mut p = plan::build(&base, text, backend.version_of(text), checked.clone());
    let has_admin = |model: &Value| !model["admin"].is_null();
    if checked.model.as_ref().is_some_and(|m| !has_admin(m)) && has_admin(&running.model) {
        p.notes.push(
            "this configuration has no [admin]: once it is applied, this admin API and UI stop \
             answering, and the change cannot be rolled back from here"
                .to_owned(),
        );
    }
    if let Ok((file_text, _)) = file_state(backend) {
        if backend.config_path().is_some() && file_text != running.text {
            p.notes.push(
                "the config file on disk differs from the running configuration (edited but \
                 not reloaded); applying replaces the file"
                    .to_owned(),
            );
        }
    }
    (p, checked)
}

async fn plan_config(
    State(state): State<Arc<AppState>>,
    _: Authed,
    body: axum::body::Bytes,
) -> Response {
    let text = match body_text(&body) {
        Ok(t) => t,
        Err(fail) => return fail.into_response(),
    };
    let (plan, _) = make_plan(&*state.backend, &text).await;
    (no_store(), Json(plan)).into_response()
}

fn invalid(errors: Vec<Diagnostic>, warnings: Vec<Diagnostic>) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        no_store(),
        Json(json!({
            "error": "the configuration is invalid; nothing was changed",
            "errors": errors,
            "warnings": warnings,
        })),
    )
        .into_response()
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::IF_MATCH)?.to_str().ok()?.trim();
    let v = v.strip_prefix("W/").unwrap_or(v);
    Some(v.trim_matches('"').to_owned())
}

/// Replace the config file with `text` and reload: the apply of `PUT /api/config` and of a
/// rollback. `expected` = the version the client edited (`None` = no check).
async fn apply(
    state: &AppState,
    who: &Authed,
    text: &str,
    expected: Option<&str>,
    action: &str,
) -> Response {
    let backend = &*state.backend;
    let Some(path) = backend.config_path() else {
        return error(
            StatusCode::CONFLICT,
            "pylon runs an embedded configuration (no -c FILE): there is no file to change",
        );
    };
    let Some(settings) = backend.settings() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the running configuration has no [admin]");
    };
    let _guard = state.apply_lock.lock().await;
    let (current, current_version) = match file_state(backend) {
        Ok(x) => x,
        Err(fail) => return fail.into_response(),
    };
    if let Some(expected) = expected {
        if expected != current_version {
            let mut resp = (
                StatusCode::PRECONDITION_FAILED,
                no_store(),
                Json(json!({
                    "error": "the config file changed since it was loaded; reload it and redo the change",
                    "etag": current_version,
                })),
            )
                .into_response();
            resp.headers_mut().insert(header::ETAG, etag_header(&current_version));
            return resp;
        }
    }
    let (plan, checked) = make_plan(backend, text).await;
    if !checked.errors.is_empty() {
        return invalid(checked.errors, checked.warnings);
    }
    let new_version = backend.version_of(text);
    let client = client_ip(&who.conn);
    // Unchanged only when the text is both the file and what runs: a file edited by hand
    // and not reloaded is applied (reloaded) even though the text equals it.
    if text == current && backend.version_of(text) == backend.running().version {
        let mut resp =
            (no_store(), Json(json!({ "etag": new_version, "previous": current_version, "unchanged": true, "upgrade": false, "plan": plan })))
                .into_response();
        resp.headers_mut().insert(header::ETAG, etag_header(&new_version));
        return resp;
    }
    let history = History::new(settings.history_dir.clone(), settings.history_size);
    if let Err(e) = history.keep(&path, &current, &current_version, &who.user, action, &new_version)
    {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "cannot keep the current version in {}: {e}; nothing was changed",
                settings.history_dir.display()
            ),
        );
    }
    if let Err(e) = store::atomic_write(&path, text) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot write {}: {e}; nothing was changed", path.display()),
        );
    }
    match backend.reload().await {
        Ok(upgrade) => {
            tracing::info!(
                target: "pylon::admin::audit",
                user = who.user, client = %client, action,
                version_before = current_version, version_after = new_version, upgrade,
                "admin changed the configuration"
            );
            let mut resp = (
                no_store(),
                Json(json!({
                    "etag": new_version,
                    "previous": current_version,
                    "unchanged": false,
                    "upgrade": upgrade,
                    "plan": plan,
                })),
            )
                .into_response();
            resp.headers_mut().insert(header::ETAG, etag_header(&new_version));
            resp
        }
        Err(errors) => {
            // Validated a moment ago, yet refused (a file it names changed in between):
            // put the previous text back so file and running config agree.
            let restored = store::atomic_write(&path, &current);
            tracing::error!(
                target: "pylon::admin::audit",
                user = who.user, client = %client, action,
                version_before = current_version, version_after = new_version,
                restored = restored.is_ok(),
                "admin change refused at reload; previous file restored"
            );
            invalid(errors, Vec::new())
        }
    }
}

async fn put_config(
    State(state): State<Arc<AppState>>,
    who: Authed,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(expected) = if_match(&headers) else {
        return error(
            StatusCode::PRECONDITION_REQUIRED,
            "send If-Match with the ETag of the config you edited (GET /api/config)",
        );
    };
    let text = match body_text(&body) {
        Ok(t) => t,
        Err(fail) => return fail.into_response(),
    };
    apply(&state, &who, &text, Some(&expected), "apply").await
}

fn history_of(backend: &dyn AdminBackend) -> Result<History, Fail> {
    let settings = backend.settings().ok_or_else(|| {
        Fail(StatusCode::SERVICE_UNAVAILABLE, "the running configuration has no [admin]".to_owned())
    })?;
    Ok(History::new(settings.history_dir, settings.history_size))
}

async fn history(State(state): State<Arc<AppState>>, _: Authed) -> Response {
    let h = match history_of(&*state.backend) {
        Ok(h) => h,
        Err(fail) => return fail.into_response(),
    };
    match h.list() {
        Ok(list) => {
            let running = state.backend.running();
            (no_store(), Json(json!({ "running_version": running.version, "versions": list })))
                .into_response()
        }
        Err(e) => {
            error(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot list the history: {e}"))
        }
    }
}

async fn history_text(
    State(state): State<Arc<AppState>>,
    _: Authed,
    Path(version): Path<String>,
) -> Response {
    let h = match history_of(&*state.backend) {
        Ok(h) => h,
        Err(fail) => return fail.into_response(),
    };
    match h.text(&version) {
        Ok(Some(text)) => (
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            text,
        )
            .into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, &format!("no kept version {version}")),
        Err(e) => {
            error(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot read the history: {e}"))
        }
    }
}

async fn rollback(
    State(state): State<Arc<AppState>>,
    who: Authed,
    headers: HeaderMap,
    Path(version): Path<String>,
) -> Response {
    let h = match history_of(&*state.backend) {
        Ok(h) => h,
        Err(fail) => return fail.into_response(),
    };
    let text = match h.text(&version) {
        Ok(Some(t)) => t,
        Ok(None) => return error(StatusCode::NOT_FOUND, &format!("no kept version {version}")),
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot read the history: {e}"),
            );
        }
    };
    let expected = if_match(&headers);
    apply(&state, &who, &text, expected.as_deref(), "rollback").await
}

async fn stats(State(state): State<Arc<AppState>>, _: Authed) -> Response {
    (no_store(), Json(state.backend.stats())).into_response()
}

async fn upstreams(State(state): State<Arc<AppState>>, _: Authed) -> Response {
    (no_store(), Json(state.backend.upstreams())).into_response()
}

async fn explain(
    State(state): State<Arc<AppState>>,
    _: Authed,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let mut url = None;
    let mut headers = Vec::new();
    for (k, v) in params {
        match k.as_str() {
            "url" => url = Some(v),
            "header" => match v.split_once(':') {
                Some((n, val)) => headers.push((n.trim().to_owned(), val.trim().to_owned())),
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        &format!("header {v:?} is not `Name: value`"),
                    );
                }
            },
            other => {
                return error(StatusCode::BAD_REQUEST, &format!("unknown parameter {other:?}"));
            }
        }
    }
    let Some(url) = url else {
        return error(StatusCode::BAD_REQUEST, "missing ?url=");
    };
    match state.backend.explain(&url, &headers) {
        Ok(v) => (no_store(), Json::<Value>(v)).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in ["127.0.0.1", "127.0.0.1:6190", "localhost:1", "[::1]:6190", "[::1]", "LOCALHOST"]
        {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["example.com", "evil.test:6190", "10.0.0.1:80", "[2001:db8::1]:1"] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; pylon_admin_session=xyz; b=2"));
        assert_eq!(cookie(&h, COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn if_match_strips_quotes_and_weakness() {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_static("W/\"abc\""));
        assert_eq!(if_match(&h).as_deref(), Some("abc"));
    }
}
