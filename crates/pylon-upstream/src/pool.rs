//! [`Pool`]: resolved peers, their health and load, and the balancer that picks one.

use std::collections::BTreeSet;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use pingora_core::upstreams::peer::HttpPeer;
use pingora_http::RequestHeader;
use pingora_load_balancing::discovery::Static;
use pingora_load_balancing::{Backend, Backends};

use crate::balance::{SmoothWrr, SplitMix, pick_least_conn, pick_random};
use crate::health::{self, Reporter};
use crate::ketama::{self, KetamaRing};
use crate::peer::{self, host_name, parse_ip};
use crate::{AddrSpec, Algorithm, Error, HashKey, MAX_WEIGHT, PoolSpec, hash_key};

/// Called on every health transition of a peer: `(pool name, peer, now healthy)`.
pub type HealthCallback = Arc<dyn Fn(&str, SocketAddr, bool) + Send + Sync>;

/// One resolved peer: its connection template and live state.
pub(crate) struct PeerState {
    pub(crate) addr: SocketAddr,
    /// The [`AddrSpec::host`] it came from.
    pub(crate) host: String,
    pub(crate) weight: u32,
    pub(crate) healthy: AtomicBool,
    pub(crate) in_flight: AtomicU64,
    template: HttpPeer,
    backend: Backend,
    /// The last failed check's error, for the "became unhealthy" log line.
    last_error: Mutex<String>,
    /// Failed health checks since the pool was built.
    pub(crate) check_failures: AtomicU64,
}

impl PeerState {
    pub(crate) fn last_error(&self) -> String {
        lock(&self.last_error).clone()
    }

    pub(crate) fn set_last_error(&self, error: String) {
        self.check_failures.fetch_add(1, Relaxed);
        *lock(&self.last_error) = error;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded values stay consistent even if a holder panicked.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

enum Balancer {
    RoundRobin(Mutex<SmoothWrr>),
    Random(SplitMix),
    LeastConn(Mutex<SmoothWrr>),
    Hash(HashKey, KetamaRing),
}

/// An upstream: its peers, their health and in-flight counts, and a load balancer.
///
/// Built once per config (see [`Pool::build`]) and shared as `Arc<Pool>`; the configuration
/// is immutable and all state is interior (atomics and short locks), so it is `Send + Sync`.
pub struct Pool {
    spec: PoolSpec,
    peers: Arc<[Arc<PeerState>]>,
    weights: Box<[u32]>,
    balancer: Balancer,
    backends: Backends,
    reporter: Arc<Reporter>,
    last_check: Mutex<Option<Instant>>,
    checking: AtomicBool,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("name", &self.spec.name)
            .field("algorithm", &self.spec.algorithm)
            .field("peers", &self.peers())
            .finish_non_exhaustive()
    }
}

/// A chosen peer. It counts as one in-flight request on that peer (for `least_conn` and the
/// stats) until it is dropped, so keep it for the whole request.
pub struct Selection {
    peer: Arc<PeerState>,
    index: usize,
}

impl Selection {
    /// The peer's address.
    pub fn addr(&self) -> SocketAddr {
        self.peer.addr
    }

    /// The peer's position in [`Pool::peers`].
    pub fn index(&self) -> usize {
        self.index
    }

    /// The [`AddrSpec::host`] the peer was resolved from.
    pub fn host(&self) -> &str {
        &self.peer.host
    }
}

impl Drop for Selection {
    fn drop(&mut self) {
        self.peer.in_flight.fetch_sub(1, Relaxed);
    }
}

impl std::fmt::Debug for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Selection")
            .field("addr", &self.peer.addr)
            .field("index", &self.index)
            .finish()
    }
}

/// A peer as seen by stats and `explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStatus {
    /// The resolved address.
    pub addr: SocketAddr,
    /// The [`AddrSpec::host`] it came from.
    pub host: String,
    /// Its weight.
    pub weight: u32,
    /// Its current health.
    pub healthy: bool,
    /// Requests currently holding a [`Selection`] of it.
    pub in_flight: u64,
    /// The error of the last failed health check (empty if none failed yet).
    pub last_error: String,
    /// Failed health checks since the pool was built (a reload that keeps the pool keeps it).
    pub check_failures: u64,
}

impl Pool {
    /// Resolve the addresses (IP literals directly, hostnames with
    /// [`tokio::net::lookup_host`]), load the CA file, and set up the balancer and the health
    /// check. Every peer starts healthy.
    ///
    /// The same address listed twice (or reached through two names) is one peer whose weight
    /// is the sum.
    pub async fn build(spec: PoolSpec, on_change: Option<HealthCallback>) -> Result<Pool, Error> {
        let resolved = resolve(&spec).await?;
        let ca = match spec.peer.ca_file.as_deref() {
            Some(path) if !path.as_os_str().is_empty() => Some(peer::load_ca(path).await?),
            _ => None,
        };
        let peers: Arc<[Arc<PeerState>]> = resolved
            .iter()
            .enumerate()
            .map(|(i, (addr, host, weight))| {
                Arc::new(PeerState {
                    addr: *addr,
                    host: host.clone(),
                    weight: *weight,
                    healthy: AtomicBool::new(true),
                    in_flight: AtomicU64::new(0),
                    template: peer::template(&spec.peer, *addr, host, ca.as_ref()),
                    backend: ketama::backend(*addr, *weight, i),
                    last_error: Mutex::new(String::new()),
                    check_failures: AtomicU64::new(0),
                })
            })
            .collect();
        let weights: Box<[u32]> = peers.iter().map(|p| p.weight).collect();

        let reporter =
            Arc::new(Reporter { pool: spec.name.clone(), peers: Arc::clone(&peers), on_change });
        let check = health::build(
            &spec.health,
            &spec.peer,
            ca.as_ref(),
            &host_name(&peers[0].host),
            Arc::clone(&reporter),
        )?;
        let members: BTreeSet<Backend> = peers.iter().map(|p| p.backend.clone()).collect();
        let mut backends = Backends::new(Static::new(members));
        backends.set_health_check(Box::new(check));
        // Static discovery cannot fail; membership is fixed for the pool's life.
        if let Err(e) = backends.update(|_| {}).await {
            tracing::error!(pool = %spec.name, error = %e, "static upstream discovery failed");
        }

        let balancer = match &spec.algorithm {
            Algorithm::Random => {
                Balancer::Random(SplitMix::new(RandomState::new().hash_one(&spec.name)))
            }
            Algorithm::LeastConn => Balancer::LeastConn(Mutex::new(SmoothWrr::new(peers.len()))),
            Algorithm::Hash(key) => {
                let ring: Vec<(SocketAddr, u32)> =
                    peers.iter().map(|p| (p.addr, p.weight)).collect();
                Balancer::Hash(key.clone(), KetamaRing::new(&ring))
            }
            // RoundRobin, and any algorithm added later until it gets its own arm.
            _ => Balancer::RoundRobin(Mutex::new(SmoothWrr::new(peers.len()))),
        };

        Ok(Pool {
            spec,
            peers,
            weights,
            balancer,
            backends,
            reporter,
            last_check: Mutex::new(None),
            checking: AtomicBool::new(false),
        })
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The spec the pool was built from (compare it to decide whether a reload can keep this
    /// pool and its health state).
    pub fn spec(&self) -> &PoolSpec {
        &self.spec
    }

    /// Choose a healthy peer that is not in `tried`, or `None` if there is none.
    ///
    /// `client_ip` feeds [`HashKey::ClientIp`]. After a failed connect, pass the peers
    /// already tried to get another one.
    pub fn select(
        &self,
        req: &RequestHeader,
        client_ip: Option<IpAddr>,
        tried: &[SocketAddr],
    ) -> Option<Selection> {
        let peers = &*self.peers;
        let eligible = |i: usize| {
            let peer = &peers[i];
            peer.healthy.load(Relaxed) && !tried.contains(&peer.addr)
        };
        let index = match &self.balancer {
            Balancer::RoundRobin(wrr) => lock(wrr).pick(&self.weights, eligible),
            Balancer::Random(rng) => pick_random(&self.weights, eligible, rng.next_u64()),
            Balancer::LeastConn(wrr) => pick_least_conn(
                &mut lock(wrr),
                &self.weights,
                |i| peers[i].in_flight.load(Relaxed),
                eligible,
            ),
            Balancer::Hash(key, ring) => {
                let mut ip_buf = [0; 16];
                ring.pick(hash_key::extract(key, req, client_ip, &mut ip_buf), eligible)
            }
        }?;
        let peer = Arc::clone(&peers[index]);
        peer.in_flight.fetch_add(1, Relaxed);
        Some(Selection { peer, index })
    }

    /// The pingora peer to connect to for `sel`, with every [`PeerSpec`](crate::PeerSpec)
    /// option applied (a clone of a template built once per peer).
    pub fn http_peer(&self, sel: &Selection) -> Box<HttpPeer> {
        Box::new(sel.peer.template.clone())
    }

    /// Run one round of health checks if [`HealthSpec::frequency`](crate::HealthSpec) has
    /// passed since the last round started (the first call always runs one). Call it
    /// often, e.g. every second for every pool; rounds never overlap.
    pub async fn health_tick(&self) {
        let now = Instant::now();
        {
            let mut last = lock(&self.last_check);
            if last.is_some_and(|t| now.duration_since(t) < self.spec.health.frequency) {
                return;
            }
            *last = Some(now);
        }
        self.check_round().await;
    }

    /// Run one round of health checks now, whatever the frequency.
    pub async fn health_check_now(&self) {
        *lock(&self.last_check) = Some(Instant::now());
        self.check_round().await;
    }

    async fn check_round(&self) {
        if self.checking.swap(true, Relaxed) {
            return;
        }
        let _done = ClearOnDrop(&self.checking);
        // Peers are checked concurrently, so one slow peer does not delay the others.
        self.backends.run_health_check(true).await;
        // A transition whose report was lost (a round cancelled between pingora's flip and
        // our callback) is caught up here; `report` ignores what it already knows.
        for (i, peer) in self.peers.iter().enumerate() {
            self.reporter.report(i, self.backends.ready(&peer.backend));
        }
    }

    /// Every peer with its health and load.
    pub fn peers(&self) -> Vec<PeerStatus> {
        self.peers
            .iter()
            .map(|p| PeerStatus {
                addr: p.addr,
                host: p.host.clone(),
                weight: p.weight,
                healthy: p.healthy.load(Relaxed),
                in_flight: p.in_flight.load(Relaxed),
                last_error: p.last_error(),
                check_failures: p.check_failures.load(Relaxed),
            })
            .collect()
    }

    /// How many peers are healthy now.
    pub fn healthy_count(&self) -> usize {
        self.peers.iter().filter(|p| p.healthy.load(Relaxed)).count()
    }
}

struct ClearOnDrop<'a>(&'a AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Relaxed);
    }
}

/// `(addr, host, weight)` per distinct address, in the order of `spec.addrs`.
async fn resolve(spec: &PoolSpec) -> Result<Vec<(SocketAddr, String, u32)>, Error> {
    let mut peers: Vec<(SocketAddr, String, u32)> = Vec::new();
    for AddrSpec { host, port, weight } in &spec.addrs {
        if *weight == 0 || *weight > MAX_WEIGHT {
            return Err(Error::Weight {
                pool: spec.name.clone(),
                host: host.clone(),
                weight: *weight,
            });
        }
        let addrs: Vec<SocketAddr> = match parse_ip(host) {
            Some(ip) => vec![SocketAddr::new(ip, *port)],
            None => {
                let resolve_error = |reason: String| Error::Resolve { host: host.clone(), reason };
                let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), *port))
                    .await
                    .map_err(|e| resolve_error(e.to_string()))?
                    .collect();
                if found.is_empty() {
                    return Err(resolve_error("no address found".into()));
                }
                found
            }
        };
        for addr in addrs {
            match peers.iter_mut().find(|(a, _, _)| *a == addr) {
                Some((_, _, w)) => *w = (*w + weight).min(MAX_WEIGHT),
                None => peers.push((addr, host.clone(), *weight)),
            }
        }
    }
    if peers.is_empty() {
        return Err(Error::NoAddresses { pool: spec.name.clone() });
    }
    Ok(peers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared<T: Send + Sync + 'static>() {}

    #[test]
    fn pool_and_selection_are_shareable() {
        shared::<Pool>();
        shared::<Arc<Pool>>();
        shared::<Selection>();
        shared::<PeerStatus>();
    }
}
