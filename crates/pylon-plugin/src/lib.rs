//! Pylon's plugins: named, reusable per-location features — compression, rate and
//! concurrency limits, access control, authentication, CORS, redirects, request ids —
//! each a kind with its own options, compiled once per config load into an [`Instance`],
//! and run in order by the [`Chain`] of each location.
//!
//! pylon-proxy maps `[plugins.NAME]` onto a [`Spec`], validates it with [`check`] (for
//! `pylon check`, with every other config error), compiles it with [`Instance::build`],
//! builds one [`Chain`] per location (its server's plugins, then its own) and calls the
//! chain from its pingora phases: [`Chain::request`] in `request_filter` (after the
//! location is chosen), [`Chain::upstream_request`] in `upstream_request_filter`,
//! [`Chain::response`] in `response_filter`, [`State::response_body`] in
//! `response_body_filter` (brotli and zstd bodies). A location without plugins has an empty chain
//! and a [`State`] that allocates nothing.
//!
//! ```
//! use std::sync::Arc;
//! use pylon_plugin::{Chain, Env, Instance, Request, Spec, State, Value, Verdict};
//!
//! let spec = Spec {
//!     name: "office".into(),
//!     kind: "ip_restriction".into(),
//!     options: vec![("allow".into(), Value::List(vec![Value::Str("10.0.0.0/8".into())]))],
//! };
//! assert!(pylon_plugin::check(&spec).is_empty());
//! let chain = Chain::new(vec![Arc::new(Instance::build(&spec, &Env::default()).unwrap())]);
//!
//! let header = pingora_http::RequestHeader::build("GET", b"/", None).unwrap();
//! let req = Request {
//!     header: &header, path: "/", query: None, peer: Some([192, 168, 0, 1].into()),
//!     scheme: "http", host: "example.com",
//! };
//! let mut state = State::default();
//! let verdict = futures_lite_block_on(chain.request(&req, &mut state));
//! assert!(matches!(verdict, Verdict::Reply(r) if r.status == 403));
//! # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let waker = std::task::Waker::noop();
//! #     let mut cx = std::task::Context::from_waker(&waker);
//! #     let mut f = std::pin::pin!(f);
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! ```
//!
//! Invariants: option parsing never panics and reports every problem with its key;
//! instances are immutable apart from their shared counters; the order of a chain is the
//! order of the config (server plugins first).

mod br;
mod exchange;
mod kinds;
mod net;
mod plugin;
mod secret;
mod spec;
mod zst;

/// `n` numbered lines of compressible English text: the encoders' test bodies.
#[cfg(test)]
fn test_text(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| format!("{i:06} the quick brown fox jumps over the lazy dog\n"))
        .collect::<String>()
        .into_bytes()
}

pub use exchange::{Reply, ReplyBody, Request, State, Verdict, mask_query};
pub use kinds::request_id::{DEFAULT_REQUEST_ID_HEADER, new_request_id};
pub use kinds::{
    KINDS,
    basic_auth::DEFAULT_BASIC_AUTH_REALM,
    compression::{
        DEFAULT_BROTLI_LEVEL, DEFAULT_COMPRESSION_ALGORITHMS, DEFAULT_COMPRESSION_MIN_SIZE,
        DEFAULT_COMPRESSION_TYPES, DEFAULT_GZIP_LEVEL, DEFAULT_ZSTD_LEVEL,
    },
    cors::DEFAULT_CORS_METHODS,
    forward_auth::DEFAULT_FORWARD_AUTH_TIMEOUT,
    jwt::DEFAULT_JWT_LEEWAY,
    key_auth::DEFAULT_KEY_AUTH_HEADER,
    limit::DEFAULT_LIMIT_BURST,
    redirect::DEFAULT_REDIRECT_STATUS,
};
pub use plugin::{Chain, Env, Instance, check};
pub use secret::{is_secret_option, redact_secret};
pub use spec::{Problem, Spec, Value};
