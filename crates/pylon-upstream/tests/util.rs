//! Tiny loopback servers and spec helpers shared by the topic modules.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pylon_upstream::{
    AddrSpec, Algorithm, HealthCallback, HealthKind, HealthSpec, PeerSpec, Pool, PoolSpec,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Every test body runs under this bound.
pub(crate) const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Run `fut`, failing the test if it takes longer than [`TEST_TIMEOUT`].
pub(crate) async fn within<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(TEST_TIMEOUT, fut).await.expect("test timed out")
}

/// Poll `cond` (running `step` between polls) until it holds; panics after `limit`.
pub(crate) async fn wait_until<S, Fut>(limit: Duration, mut step: S, cond: impl Fn() -> bool)
where
    S: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    tokio::time::timeout(limit, async {
        while !cond() {
            step().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("condition not reached in time");
}

/// A TCP or HTTP server on 127.0.0.1 that can be stopped and restarted on the same port.
pub(crate) struct Server {
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
    /// Status the HTTP server answers with.
    pub(crate) status: Arc<AtomicU16>,
    /// Request heads received by the HTTP server.
    pub(crate) requests: Arc<Mutex<Vec<String>>>,
    http: bool,
}

impl Server {
    /// A server that accepts TCP connections and closes them.
    pub(crate) async fn tcp() -> Server {
        Self::start(0, false, Arc::default(), Arc::default()).await
    }

    /// A server that answers every HTTP/1.1 request with `status` and closes.
    pub(crate) async fn http(status: u16) -> Server {
        Self::start(0, true, Arc::new(AtomicU16::new(status)), Arc::default()).await
    }

    async fn start(
        port: u16,
        http: bool,
        status: Arc<AtomicU16>,
        requests: Arc<Mutex<Vec<String>>>,
    ) -> Server {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let (st, reqs) = (Arc::clone(&status), Arc::clone(&requests));
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else { continue };
                if !http {
                    drop(conn);
                    continue;
                }
                let (st, reqs) = (Arc::clone(&st), Arc::clone(&reqs));
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    reqs.lock().expect("lock").push(String::from_utf8_lossy(&head).into_owned());
                    let status = st.load(Relaxed);
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    );
                    let _ = conn.write_all(resp.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        Server { addr, task: Some(task), status, requests, http }
    }

    /// The bound address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Close the listener (new connections are refused).
    pub(crate) async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listen again on the same port.
    pub(crate) async fn restart(&mut self) {
        self.stop().await;
        let again = Self::start(
            self.addr.port(),
            self.http,
            Arc::clone(&self.status),
            Arc::clone(&self.requests),
        )
        .await;
        *self = again;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// An address on 127.0.0.1 with weight 1.
pub(crate) fn addr(a: SocketAddr) -> AddrSpec {
    AddrSpec { host: a.ip().to_string(), port: a.port(), weight: 1 }
}

/// `n` distinct loopback IPs (127.0.0.1..) on port 9, nothing listening: for selection tests
/// that never connect.
pub(crate) fn loopbacks(n: u8, weight: u32) -> Vec<AddrSpec> {
    (1..=n).map(|i| AddrSpec { host: format!("127.0.0.{i}"), port: 9, weight }).collect()
}

/// A pool spec with defaults and a TCP check every `frequency`, flipping on one result.
pub(crate) fn spec(addrs: Vec<AddrSpec>, algorithm: Algorithm) -> PoolSpec {
    PoolSpec {
        name: "test".into(),
        addrs,
        algorithm,
        health: HealthSpec {
            kind: HealthKind::Tcp,
            connection_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(2),
            frequency: Duration::from_millis(200),
            success: 1,
            failure: 1,
        },
        peer: PeerSpec::default(),
    }
}

/// Build `spec`, panicking on error.
pub(crate) async fn pool(spec: PoolSpec) -> Pool {
    Pool::build(spec, None).await.expect("pool builds")
}

/// `(pool, addr, healthy)` events seen by a [`recorder`] callback.
pub(crate) type Events = Arc<Mutex<Vec<(String, SocketAddr, bool)>>>;

/// A callback recording health transitions.
pub(crate) fn recorder() -> (HealthCallback, Events) {
    let events: Events = Arc::default();
    let sink = Arc::clone(&events);
    let callback: HealthCallback = Arc::new(move |pool: &str, addr: SocketAddr, healthy: bool| {
        sink.lock().expect("lock").push((pool.to_owned(), addr, healthy));
    });
    (callback, events)
}

/// A GET request for `uri`.
pub(crate) fn get(uri: &str) -> pingora_http::RequestHeader {
    pingora_http::RequestHeader::build("GET", uri.as_bytes(), None).expect("valid request")
}
