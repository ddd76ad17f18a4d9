//! End-to-end tests of the `pylon` binary: the real binary as a child process, real
//! upstream servers and a real HTTP client, all on loopback.

mod util;

mod admin;
mod admin_listen;

mod cli;
mod docs;
mod errors;
mod framing;
mod hardening;
mod headers;
mod limits;
mod logs;
mod ops;
mod plugins;
mod plugins_auth;
mod plugins_body;
mod reload;
mod routing;
mod soak;
mod stats;
mod target;
mod upstreams;
