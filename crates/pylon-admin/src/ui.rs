//! The web UI: plain HTML, CSS and a JavaScript module from `crates/pylon-admin/ui`,
//! embedded in the binary (`include_str!`), served with a strict Content-Security-Policy.
//!
//! Nothing is fetched from elsewhere (no CDN, no fonts): the policy allows only this
//! origin's own files, no inline script or style, and requires Trusted Types, so a string
//! can never reach `innerHTML` (the UI builds every node with DOM calls and `textContent`;
//! config text, paths and host names are only ever text).

use std::sync::Arc;

use axum::{
    Json, Router,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;

use crate::api::AppState;

/// The Content-Security-Policy of every UI file: own-origin files only, no inline code,
/// no framing, Trusted Types with no policy (any HTML sink given a string throws).
pub(crate) const UI_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'";

const INDEX: &str = include_str!("../ui/index.html");
const APP_JS: &str = include_str!("../ui/app.js");
const STYLE: &str = include_str!("../ui/style.css");
const ICON: &str = include_str!("../ui/icon.svg");

/// One embedded file with its type and the UI's security headers.
fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(UI_CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Revalidate every time: a binary upgrade may bring a new UI.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { asset(INDEX, "text/html; charset=utf-8") }))
        .route("/ui/app.js", get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }))
        .route("/ui/style.css", get(|| async { asset(STYLE, "text/css; charset=utf-8") }))
        .route("/ui/icon.svg", get(|| async { asset(ICON, "image/svg+xml") }))
        .route(
            "/api",
            get(|| async {
                Json(json!({
                    "name": "pylon admin",
                    "endpoints": [
                        "GET /api/health", "GET /api/session", "POST /api/login",
                        "POST /api/logout", "GET /metrics", "GET /api/config",
                        "POST /api/config/plan", "PUT /api/config", "GET /api/config/history",
                        "GET /api/config/history/{version}",
                        "POST /api/config/rollback/{version}", "GET /api/stats",
                        "GET /api/upstreams", "GET /api/explain?url=…&header=…",
                    ],
                }))
            }),
        )
}
