//! pylon-admin: Pylon's admin HTTP API (and, embedded, its web UI).
//!
//! An axum [`Router`](axum::Router) over an [`AdminBackend`], the one door into the running
//! proxy, which the binary implements on top of pylon-proxy's handle (pylon-admin depends
//! on no other pylon crate). The proxy calls [`Admin::serve`] for each request that reaches
//! the admin listener or a server's `admin_path`; nothing here listens by itself.
//!
//! ```no_run
//! # async fn demo(backend: std::sync::Arc<dyn pylon_admin::AdminBackend>) {
//! let admin = pylon_admin::Admin::new(backend);
//! let req = http::Request::get("/api/health").body(bytes::Bytes::new()).unwrap();
//! let resp = admin.serve(req, pylon_admin::AdminConn::default()).await;
//! assert_eq!(resp.status(), 200);
//! # }
//! ```
//!
//! Invariants:
//! - Every endpoint but `/api/health`, `/api/session`, `/api/login` and the UI's static files
//!   needs a login (session cookie or basic auth) when `[admin] users` is set; without users
//!   (loopback only) only loopback host names are answered.
//! - State-changing requests carry the session's CSRF token (`X-CSRF-Token`) and a matching
//!   `Origin`, if any.
//! - A config change is validated before anything is written, written atomically after the
//!   replaced version is kept in the history, and applied by a reload; a stale `If-Match`
//!   (412) or an invalid config (422) changes nothing.
//! - No password, hash, session id or CSRF token is ever logged.

mod api;
mod auth;
mod backend;
pub mod plan;
mod store;
mod ui;

use std::{net::SocketAddr, sync::Arc};

use bytes::Bytes;
use tower::ServiceExt as _;

pub use auth::{
    COOKIE, FAILURE_WINDOW, MAX_FAILURES, SESSION_IDLE, SESSION_MAX, hash_password, verify_password,
};
pub use backend::{
    AdminBackend, Checked, Diagnostic, Impact, ImpactExample, RouteTarget, RunningConfig, Settings,
};
pub use plan::Plan;
pub use store::{History, HistoryEntry, atomic_write};

/// Where a request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminConn {
    /// The client's address (failed logins are limited per IP).
    pub client: Option<SocketAddr>,
    /// A TLS connection: the session cookie gets `Secure`.
    pub tls: bool,
    /// The path prefix the admin is mounted at (`""`, or a server's `admin_path`): the
    /// session cookie's path. Requests arrive with it already removed.
    pub prefix: String,
}

/// The admin application.
#[derive(Debug, Clone)]
pub struct Admin {
    router: axum::Router,
}

/// Largest response body read back from the router (the metrics and stats of a big config).
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

impl Admin {
    /// The admin over `backend`.
    pub fn new(backend: Arc<dyn AdminBackend>) -> Admin {
        Admin { router: api::router(backend) }
    }

    /// Answer one request (body already read) from `conn`.
    pub async fn serve(&self, req: http::Request<Bytes>, conn: AdminConn) -> http::Response<Bytes> {
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(conn);
        let req = http::Request::from_parts(parts, axum::body::Body::from(body));
        let resp = match self.router.clone().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let (parts, body) = resp.into_parts();
        match axum::body::to_bytes(body, MAX_RESPONSE).await {
            Ok(bytes) => http::Response::from_parts(parts, bytes),
            Err(e) => {
                let mut r = http::Response::new(Bytes::from(format!("response failed: {e}")));
                *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                r
            }
        }
    }
}
