//! Upstream pools for Pylon: resolved peers, load balancing, health checks and the pingora
//! [`HttpPeer`](pingora_core::upstreams::peer::HttpPeer) to connect to.
//!
//! pylon-proxy maps each `[upstreams.NAME]` onto a [`PoolSpec`], builds a [`Pool`] once per
//! config, calls [`Pool::select`] per request (and again with the failed peers in `tried` on
//! a connect failure), and calls [`Pool::health_tick`] for every pool from one background
//! service.
//!
//! ```no_run
//! use pylon_upstream::{AddrSpec, Algorithm, HashKey, Pool, PoolSpec};
//! use pingora_http::RequestHeader;
//!
//! # async fn demo() -> Result<(), pylon_upstream::Error> {
//! let spec = PoolSpec {
//!     name: "api".into(),
//!     addrs: vec![
//!         AddrSpec { host: "127.0.0.1".into(), port: 8001, weight: 1 },
//!         AddrSpec { host: "localhost".into(), port: 8002, weight: 3 },
//!     ],
//!     algorithm: Algorithm::Hash(HashKey::Cookie("session".into())),
//!     health: Default::default(),
//!     peer: Default::default(),
//! };
//! let pool = Pool::build(spec, None).await?;
//! let req = RequestHeader::build("GET", b"/users/7", None).expect("valid request");
//! if let Some(sel) = pool.select(&req, None, &[]) {
//!     let peer = pool.http_peer(&sel); // hand to pingora; keep `sel` until the request ends
//!     println!("{} via {peer}", sel.addr());
//! }
//! pool.health_tick().await; // from a background loop, e.g. every second
//! # Ok(()) }
//! ```
//!
//! Invariants:
//! - Only healthy peers are selected; peers start healthy until a check says otherwise.
//! - `round_robin` is nginx's smooth weighted round robin; `hash*` is ketama, so adding a
//!   peer moves about 1/n of the keys; a missing hash key falls back to the path.
//! - A [`Selection`] counts as in flight on its peer until dropped (`least_conn` reads it).

mod balance;
mod error;
mod hash_key;
mod health;
mod ketama;
mod peer;
mod pool;
mod spec;

pub use error::Error;
pub use pool::{HealthCallback, PeerStatus, Pool, Selection};
pub use spec::{
    AddrSpec, Algorithm, Alpn, HashKey, HealthKind, HealthSpec, MAX_WEIGHT, PeerSpec, PoolSpec,
};
