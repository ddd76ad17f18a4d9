//! End-to-end tests of pylon-proxy: the real proxy on loopback, in this process, in front of
//! in-process upstreams, with certificates made by the tests (a CA and leaves).
//!
//! One proxy serves every module (see [`util::ENV`]); `config_errors` starts none.

mod util;

mod bodies;
mod config_errors;
mod downstream;
mod upstream;
mod websocket;
