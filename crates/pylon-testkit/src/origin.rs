//! An HTTP origin on hyper: HTTP/1.1 and h2c by prior knowledge on one port, h2 or
//! HTTP/1.1 by ALPN over TLS. It records every request it served (method, target,
//! version, fields in order, body, TLS server name) and answers with a handler; the
//! default handler is a JSON echo of the request. It can be delayed, stopped (every
//! connection closed) and restarted on the same port.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_rustls::TlsAcceptor;

/// A request as the origin saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The method.
    pub method: String,
    /// The request target: path and query (HTTP/1), or the full URI (h2).
    pub target: String,
    /// `HTTP/1.1`, `HTTP/2.0`, …
    pub version: String,
    /// The fields in the order the origin's HTTP library keeps them (names lower case).
    pub fields: Vec<(String, Vec<u8>)>,
    /// The whole body.
    pub body: Bytes,
    /// Whether the connection was TLS.
    pub tls: bool,
    /// The TLS server name the client sent.
    pub sni: Option<String>,
}

impl Seen {
    /// Every value of field `name` as text.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    /// The path of the target (without the query).
    pub fn path(&self) -> &str {
        let t = self
            .target
            .split_once("://")
            .map_or(self.target.as_str(), |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
        t.split('?').next().unwrap_or(t)
    }
}

/// What the origin answers.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Response fields.
    pub fields: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl Reply {
    /// `status` with `body` and no extra fields.
    pub fn new(status: u16, body: impl Into<Bytes>) -> Reply {
        Reply { status, fields: Vec::new(), body: body.into() }
    }

    /// Add a response field.
    pub fn field(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.fields.push((name.to_owned(), value.into()));
        self
    }
}

/// The handler of an [`HttpOrigin`].
pub type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// The JSON echo handler: `x-upstream: NAME` (and a few fixed `x-resp*` fields for header
/// programs to act on) and the body
/// `{"upstream", "method", "uri", "version", "headers": {name: [values]}, "body_len"}`.
pub fn json_echo(name: &str) -> Handler {
    let name = name.to_owned();
    Arc::new(move |seen: &Seen| {
        let mut headers: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for (n, v) in &seen.fields {
            headers.entry(n).or_default().push(String::from_utf8_lossy(v).into_owned());
        }
        let doc = serde_json::json!({
            "upstream": name,
            "method": seen.method,
            "uri": seen.target,
            "version": seen.version,
            "headers": headers,
            "body_len": seen.body.len(),
        });
        Reply::new(200, doc.to_string())
            .field("x-upstream", name.as_str())
            .field("content-type", "application/json")
            .field("x-resp-set", "from-upstream")
            .field("x-resp-add", "from-upstream")
            .field("x-upstream-remove", "from-upstream")
            .field("x-resp", "resp-value")
    })
}

#[derive(Debug, Default)]
struct Shared {
    delay_ms: AtomicU64,
    hits: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
}

/// An in-process HTTP origin on 127.0.0.1 (see the module docs). `GET /health` answers
/// `200 ok` and is neither counted nor recorded (health checks).
pub struct HttpOrigin {
    /// Where it listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    handler: Handler,
    tls: Option<TlsAcceptor>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for HttpOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpOrigin").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl HttpOrigin {
    /// A plain (h1 + h2c) JSON echo origin named `name` (see [`json_echo`]).
    pub async fn start(name: &str) -> HttpOrigin {
        HttpOrigin::serve(json_echo(name), None).await
    }

    /// An origin with `handler`, over TLS when `tls` is given.
    pub async fn serve(handler: Handler, tls: Option<TlsAcceptor>) -> HttpOrigin {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind origin");
        let addr = listener.local_addr().expect("origin addr");
        let shared = Arc::new(Shared::default());
        let task =
            Some(tokio::spawn(accept(listener, shared.clone(), handler.clone(), tls.clone())));
        HttpOrigin { addr, shared, handler, tls, task }
    }

    /// Delay every response (not `/health`) by `d`.
    pub fn set_delay(&self, d: Duration) {
        self.shared.delay_ms.store(d.as_millis() as u64, Ordering::SeqCst);
    }

    /// Requests served (not counting `/health`).
    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// Every request served so far (not `/health`), in order of completion.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Stop listening and drop every open connection.
    pub async fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }

    /// Listen again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) => {
                    assert!(Instant::now() < deadline, "cannot rebind {}: {e}", self.addr);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        let task = accept(listener, self.shared.clone(), self.handler.clone(), self.tls.clone());
        self.task = Some(tokio::spawn(task));
    }
}

impl Drop for HttpOrigin {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

async fn accept(
    listener: TcpListener,
    shared: Arc<Shared>,
    handler: Handler,
    tls: Option<TlsAcceptor>,
) {
    // Connections live in this set: aborting the accept task drops them all.
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let (shared, handler, tls) = (shared.clone(), handler.clone(), tls.clone());
                conns.spawn(async move {
                    let builder = auto::Builder::new(TokioExecutor::new());
                    match tls {
                        Some(acceptor) => {
                            // Health checks connect and hang up: a failed handshake is normal.
                            let Ok(stream) = acceptor.accept(stream).await else { return };
                            let sni = stream.get_ref().1.server_name().map(str::to_owned);
                            let svc = service_fn(move |r| {
                                handle(r, shared.clone(), handler.clone(), true, sni.clone())
                            });
                            let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                        }
                        None => {
                            let svc = service_fn(move |r| {
                                handle(r, shared.clone(), handler.clone(), false, None)
                            });
                            let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                        }
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    handler: Handler,
    tls: bool,
    sni: Option<String>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/health" {
        return Ok(Response::new(Full::new(Bytes::from_static(b"ok"))));
    }
    shared.hits.fetch_add(1, Ordering::SeqCst);
    let fields =
        req.headers().iter().map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec())).collect();
    let method = req.method().to_string();
    let target = req.uri().to_string();
    let version = format!("{:?}", req.version());
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let seen = Seen { method, target, version, fields, body, tls, sni };
    let reply = handler(&seen);
    shared.seen.lock().unwrap_or_else(|e| e.into_inner()).push(seen);
    let delay = shared.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let mut resp = Response::builder().status(reply.status);
    for (n, v) in &reply.fields {
        resp = resp.header(n.as_str(), v.as_str());
    }
    Ok(resp.body(Full::new(reply.body)).unwrap_or_else(|e| {
        let mut r = Response::new(Full::new(Bytes::from(format!("bad reply: {e}"))));
        *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        r
    }))
}
