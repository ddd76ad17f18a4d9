//! The plain-data input of a [`Pool`](crate::Pool): what pylon-proxy maps the config onto.

use std::path::PathBuf;
use std::time::Duration;

/// Everything needed to build one upstream [`Pool`](crate::Pool).
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSpec {
    /// The upstream's name (`[upstreams.NAME]`), used in logs and the health callback.
    pub name: String,
    /// The addresses; hostnames are resolved when the pool is built.
    pub addrs: Vec<AddrSpec>,
    /// How a peer is chosen for a request.
    pub algorithm: Algorithm,
    /// Active health checking.
    pub health: HealthSpec,
    /// Connection options applied to every peer.
    pub peer: PeerSpec,
}

/// One `host:port weight` entry of an upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct AddrSpec {
    /// An IP literal (`127.0.0.1`, `::1` or `[::1]`) or a hostname. Every address a hostname
    /// resolves to becomes a peer with this entry's weight.
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// Relative weight, `1..=`[`MAX_WEIGHT`].
    pub weight: u32,
}

/// The largest accepted [`AddrSpec::weight`]. Ketama puts 160 points per weight unit on its
/// ring, so the ring stays small.
pub const MAX_WEIGHT: u32 = 1000;

/// Load-balancing algorithm of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Algorithm {
    /// Smooth weighted round robin (nginx's): weights 5,1,1 give `a a b a c a a`.
    RoundRobin,
    /// Weighted random.
    Random,
    /// Fewest in-flight requests relative to weight; ties go round robin.
    LeastConn,
    /// Consistent (ketama) hashing of a request key.
    Hash(HashKey),
}

/// What [`Algorithm::Hash`] hashes. A missing (or empty) key falls back to the path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashKey {
    /// The request path (without the query).
    Path,
    /// The path and the query string.
    Url,
    /// The client IP passed to [`Pool::select`](crate::Pool::select).
    ClientIp,
    /// The value of the named request header (the first one if repeated).
    Header(String),
    /// The value of the named cookie in the `Cookie` header(s).
    Cookie(String),
    /// The raw (not percent-decoded) value of the named query parameter.
    Query(String),
}

/// Active health checking of a pool's peers.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSpec {
    /// TCP connect or HTTP GET.
    pub kind: HealthKind,
    /// Connect timeout of one check.
    pub connection_timeout: Duration,
    /// Response timeout of one HTTP check.
    pub read_timeout: Duration,
    /// Time between two rounds of checks.
    pub frequency: Duration,
    /// Consecutive successes that make an unhealthy peer healthy (0 counts as 1).
    pub success: u32,
    /// Consecutive failures that make a healthy peer unhealthy (0 counts as 1).
    pub failure: u32,
}

impl Default for HealthSpec {
    /// A TCP check every 10 s with 3 s timeouts, 1 success / 2 failures to flip.
    fn default() -> Self {
        Self {
            kind: HealthKind::Tcp,
            connection_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(3),
            frequency: Duration::from_secs(10),
            success: 1,
            failure: 2,
        }
    }
}

/// How a peer is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthKind {
    /// A TCP connect succeeds (plain TCP, even for a TLS upstream).
    Tcp,
    /// A `GET` answers 2xx or 3xx.
    Http {
        /// The `Host` header (and the SNI when `tls`).
        host: String,
        /// Path and query of the request, e.g. `/ping?deep=1`.
        path: String,
        /// Check over TLS (verified per the pool's [`PeerSpec`]).
        tls: bool,
    },
}

/// Connection options of every peer of a pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerSpec {
    /// TCP connect timeout.
    pub connection_timeout: Duration,
    /// Connect plus TLS handshake timeout.
    pub total_connection_timeout: Option<Duration>,
    /// Timeout of each read from the upstream.
    pub read_timeout: Duration,
    /// Timeout of each write to the upstream.
    pub write_timeout: Duration,
    /// How long an idle keep-alive connection is kept for reuse; zero disables reuse.
    pub idle_timeout: Duration,
    /// Speak TLS to the upstream.
    pub tls: bool,
    /// SNI (and verified name); `None` or empty = the address's host text.
    pub sni: Option<String>,
    /// Verify the upstream certificate and its hostname.
    pub verify_cert: bool,
    /// PEM bundle of CAs to verify with; `None` = the system roots.
    pub ca_file: Option<PathBuf>,
    /// HTTP versions offered to the upstream.
    pub alpn: Alpn,
}

impl Default for PeerSpec {
    /// Plain HTTP/1.1 with the timeouts of SPEC §3's example.
    fn default() -> Self {
        Self {
            connection_timeout: Duration::from_secs(3),
            total_connection_timeout: Some(Duration::from_secs(5)),
            read_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(90),
            tls: false,
            sni: None,
            verify_cert: true,
            ca_file: None,
            alpn: Alpn::H1,
        }
    }
}

/// HTTP versions offered to an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Alpn {
    /// HTTP/1.1 only.
    H1,
    /// HTTP/2 only (h2c with prior knowledge when not TLS).
    H2,
    /// HTTP/2 preferred, HTTP/1.1 accepted (needs TLS to negotiate).
    H2H1,
}
