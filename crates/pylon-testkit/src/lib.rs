//! pylon-testkit: the real parts Pylon's end-to-end suites are built from, so test files
//! read as scenarios, not plumbing. A dev-dependency only (`cargo xtask check-deps` fails
//! if any crate takes it as a normal dependency), and a leaf: it knows nothing of the
//! other pylon crates.
//!
//! - [`RawOrigin`]: an HTTP/1 origin that records every byte and the strictly parsed
//!   messages, for "reached no upstream" / "exactly one well-formed message" assertions.
//! - [`HttpOrigin`]: a hyper origin (h1, h2c, TLS h2/h1) that records and answers with a
//!   handler ([`json_echo`] by default); [`WsEcho`]: a WebSocket echo.
//! - [`H1Conn`] / [`exchange`]: a raw HTTP/1 client, any bytes out, responses read with
//!   their real framing (several pipelined ones too).
//! - [`H2Conn`]: an HTTP/2 (h2c or over TLS) client with frame-level body control.
//! - [`Ca`]: certificates made in code; [`Dir`], [`free_port`], [`bounded`], [`eventually`].
//!
//! ```no_run
//! # async fn demo(proxy: std::net::SocketAddr) {
//! use std::time::Duration;
//! let origin = pylon_testkit::RawOrigin::start().await;
//! // … a proxy at `proxy` forwarding to `origin.addr` …
//! let got = pylon_testkit::exchange(proxy, b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
//!     Duration::from_secs(2)).await;
//! assert_eq!(got.only().status, 400);
//! assert!(!origin.touched());
//! # }
//! ```

mod client;
pub mod h1;
mod h2c;
mod origin;
mod raw_origin;
mod support;
mod tls;
mod ws;

pub use client::{Exchange, H1Conn, READ_WAIT, ReadError, Response, collect, exchange};
pub use h2c::{End, H2Conn, H2Reply, H2Request};
pub use origin::{Handler, HttpOrigin, Reply, Seen, json_echo};
pub use raw_origin::{Answer, ConnLog, RawOrigin, Responder, response};
pub use support::{Dir, TEST_TIMEOUT, bounded, eventually, free_addr, free_port, wait_accepting};
pub use tls::{Ca, Leaf, acceptor, connect_trusting, connector_trusting, install_ring};
pub use ws::{Greeting, WsEcho};
