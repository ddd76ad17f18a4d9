//! Fixtures: certificates made here (rcgen), in-process upstreams (hyper, tungstenite), the
//! proxy started from a TOML file on a thread, and clients that trust the test CA.

use std::{
    future::Future,
    io::{Read, Write},
    net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream},
    path::{Path, PathBuf},
    sync::{Arc, LazyLock},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use pylon_proxy::pingora::server::{RunArgs, ShutdownSignal, ShutdownSignalWatch};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::net::TcpListener;
use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        self,
        pki_types::{CertificateDer, pem::PemObject},
    },
};
use tokio_tungstenite::tungstenite::{
    Message,
    handshake::server::{Request as WsRequest, Response as WsResponse},
};

/// Upper bound for any one test step.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes of each of the large-body tests.
pub(crate) const BIG: usize = 16 * 1024 * 1024;

/// `fut`, failing the test if it takes longer than [`TIMEOUT`].
pub(crate) async fn bounded<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(TIMEOUT, fut).await.expect("test step timed out")
}

/// Install ring as the process's rustls provider (reqwest is built without one).
pub(crate) fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

// ---------------------------------------------------------------------------------------------
// Certificates

/// A certificate and its key, as PEM text and files.
#[derive(Debug)]
pub(crate) struct Leaf {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) cert_path: PathBuf,
    pub(crate) key_path: PathBuf,
}

/// A certificate authority that signs leaves.
pub(crate) struct Ca {
    pub(crate) pem: String,
    pub(crate) path: PathBuf,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    pub(crate) fn new(dir: &Path, name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::new()).expect("ca params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("ca key");
        let cert = params.self_signed(&key).expect("ca cert");
        let pem = cert.pem();
        let path = dir.join(format!("{name}.pem"));
        std::fs::write(&path, &pem).expect("write ca");
        Ca { pem, path, issuer: Issuer::new(params, key) }
    }

    /// A leaf for `names` (DNS names or IP literals), written to `dir/stem.{crt,key}`.
    pub(crate) fn leaf(&self, dir: &Path, stem: &str, names: &[&str]) -> Leaf {
        let sans: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(sans).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, names[0]);
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("leaf cert");
        let cert_path = dir.join(format!("{stem}.crt"));
        let key_path = dir.join(format!("{stem}.key"));
        std::fs::write(&cert_path, cert.pem()).expect("write cert");
        std::fs::write(&key_path, key.serialize_pem()).expect("write key");
        Leaf { der: cert.der().clone(), cert_path, key_path }
    }

    pub(crate) fn reqwest_cert(&self) -> reqwest::Certificate {
        reqwest::Certificate::from_pem(self.pem.as_bytes()).expect("ca pem")
    }
}

/// Every certificate the shared proxy and its upstreams use.
pub(crate) struct Pki {
    /// Trusted by the clients and by the upstreams' `ca_file`.
    pub(crate) ca: Ca,
    /// `[certificates.a]`: exact `a.example.test`.
    pub(crate) a: Leaf,
    /// `[certificates.wild]`: `*.wild.test`.
    pub(crate) wild: Leaf,
    /// `[certificates.fallback]`: `default.test`, `is_default = true` (declared last).
    pub(crate) fallback: Leaf,
    /// `servers.single.tls_cert`: `single.test`.
    pub(crate) single: Leaf,
}

// ---------------------------------------------------------------------------------------------
// Upstreams

/// FNV-1a 64 of `data`: compares large bodies without keeping two copies around.
pub(crate) fn fnv64(data: &[u8]) -> u64 {
    data.iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// [`BIG`] bytes of a pattern that does not repeat on any power-of-two period.
pub(crate) static BIG_BODY: LazyLock<Bytes> = LazyLock::new(|| {
    let mut x: u32 = 0x1234_5678;
    let v: Vec<u8> = (0..BIG)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    Bytes::from(v)
});

/// The answer of every HTTP upstream: what it saw, in `x-up-*` headers (`x-up-sni`: the
/// TLS server name the client sent, `-` for none).
/// `…/upload` answers `len=N fnv=HEX` of the request body; `…/download` sends [`BIG_BODY`].
async fn handle(
    req: Request<Incoming>,
    tls: bool,
    sni: Option<String>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let mut resp = Response::builder()
        .header("x-up-version", format!("{:?}", req.version()))
        .header("x-up-path", path.clone())
        .header("x-up-tls", tls.to_string())
        .header("x-up-sni", sni.unwrap_or_else(|| "-".into()));
    let host = req.headers().get(http::header::HOST).and_then(|h| h.to_str().ok());
    if let Some(host) = host.or_else(|| req.uri().authority().map(|a| a.as_str())) {
        resp = resp.header("x-up-host", host.to_owned());
    }
    if let Some(v) = req.headers().get("x-test") {
        resp = resp.header("x-up-x-test", v.clone());
    }
    let body = if path.ends_with("/upload") {
        let body = req.into_body().collect().await?.to_bytes();
        Bytes::from(format!("len={} fnv={:016x}", body.len(), fnv64(&body)))
    } else if path.ends_with("/download") {
        BIG_BODY.clone()
    } else {
        Bytes::from_static(b"upstream ok")
    };
    Ok(resp.body(Full::new(body)).expect("response"))
}

/// An HTTP upstream: h1 and h2 (prior knowledge / ALPN), over TLS when `tls` is given.
async fn serve_http(listener: TcpListener, tls: Option<TlsAcceptor>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let tls = tls.clone();
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            match tls {
                Some(acceptor) => {
                    // Health checks connect and hang up: a failed handshake is normal.
                    let Ok(stream) = acceptor.accept(stream).await else { return };
                    let sni = stream.get_ref().1.server_name().map(str::to_owned);
                    let service = service_fn(|r| handle(r, true, sni.clone()));
                    let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                }
                None => {
                    let service = service_fn(|r| handle(r, false, None));
                    let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                }
            }
        });
    }
}

/// A WebSocket upstream: first sends a text message `path=… via=…` describing the upgrade
/// request it saw, then echoes every text and binary message.
async fn serve_ws(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        tokio::spawn(async move {
            let mut seen = String::new();
            #[expect(clippy::result_large_err, reason = "tungstenite's Callback signature")]
            let callback = |req: &WsRequest, resp: WsResponse| {
                let via = req.headers().get("x-ws-via").and_then(|v| v.to_str().ok());
                seen = format!("path={} via={}", req.uri(), via.unwrap_or("-"));
                Ok(resp)
            };
            let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
                return;
            };
            if ws.send(Message::text(seen)).await.is_err() {
                return;
            }
            while let Some(Ok(msg)) = ws.next().await {
                if msg.is_close() {
                    return;
                }
                if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// A rustls acceptor presenting `leaf` with the given ALPN protocols.
fn acceptor(leaf: &Leaf, alpn: &[&[u8]]) -> TlsAcceptor {
    use rustls::pki_types::PrivateKeyDer;
    let key = PrivateKeyDer::from_pem_file(&leaf.key_path).expect("key pem");
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der.clone()], key)
        .expect("server config");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsAcceptor::from(Arc::new(config))
}

/// Addresses of the upstreams of the shared proxy.
struct Upstreams {
    /// Plain h1 + h2c.
    plain: SocketAddr,
    /// TLS, leaf `upstream.test` + `127.0.0.1` + `localhost` from the test CA, ALPN h2 and http/1.1.
    tls: SocketAddr,
    /// TLS, the same names from a CA nobody trusts.
    untrusted: SocketAddr,
    /// TLS from the test CA, ALPN http/1.1 only.
    tls_h1: SocketAddr,
    /// WebSocket echo.
    ws: SocketAddr,
}

fn start_upstreams(rt: &tokio::runtime::Runtime, dir: &Path, ca: &Ca) -> Upstreams {
    let good = ca.leaf(dir, "upstream", &["upstream.test", "127.0.0.1", "localhost"]);
    let rogue_ca = Ca::new(dir, "rogue-ca");
    let rogue = rogue_ca.leaf(dir, "rogue", &["upstream.test", "127.0.0.1"]);
    rt.block_on(async {
        let bind = || async { TcpListener::bind("127.0.0.1:0").await.expect("bind upstream") };
        let (plain, tls, untrusted, tls_h1, ws) =
            (bind().await, bind().await, bind().await, bind().await, bind().await);
        let addr = |l: &TcpListener| l.local_addr().expect("addr");
        let out = Upstreams {
            plain: addr(&plain),
            tls: addr(&tls),
            untrusted: addr(&untrusted),
            tls_h1: addr(&tls_h1),
            ws: addr(&ws),
        };
        let both: &[&[u8]] = &[b"h2", b"http/1.1"];
        tokio::spawn(serve_http(plain, None));
        tokio::spawn(serve_http(tls, Some(acceptor(&good, both))));
        tokio::spawn(serve_http(untrusted, Some(acceptor(&rogue, both))));
        tokio::spawn(serve_http(tls_h1, Some(acceptor(&good, &[b"http/1.1"]))));
        tokio::spawn(serve_ws(ws));
        out
    })
}

// ---------------------------------------------------------------------------------------------
// The proxy

/// Tells a running proxy to stop when dropped (pingora fast shutdown).
#[derive(Debug)]
pub(crate) struct Proxy {
    stop: tokio::sync::watch::Sender<bool>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

struct StopWatch(tokio::sync::watch::Receiver<bool>);

#[async_trait]
impl ShutdownSignalWatch for StopWatch {
    async fn recv(&self) -> ShutdownSignal {
        let mut rx = self.0.clone();
        // A dropped sender counts as "stop" too.
        let _ = rx.wait_for(|stop| *stop).await;
        ShutdownSignal::FastShutdown
    }
}

/// Config file → [`pylon_proxy::Pylon`]: the errors of both steps, as `pylon run` sees them.
/// Call it outside any tokio runtime (it compiles the config on a runtime of its own).
pub(crate) fn validate(path: &Path) -> Result<pylon_proxy::Pylon, Vec<pylon_config::Diagnostic>> {
    let loaded = pylon_config::load(path).map_err(|e| e.0)?;
    let options =
        pylon_proxy::RunOptions { config_path: Some(path.to_owned()), ..Default::default() };
    pylon_proxy::Pylon::new(loaded.config, options)
}

/// Start the proxy of the config file at `path` on a thread of its own.
pub(crate) fn start_proxy(path: &Path) -> Proxy {
    let pylon = validate(path).unwrap_or_else(|e| panic!("config refused: {e:#?}"));
    let server = pylon.into_server().unwrap_or_else(|e| panic!("server refused: {e:#?}"));
    let (stop, rx) = tokio::sync::watch::channel(false);
    std::thread::Builder::new()
        .name("pylon-e2e".into())
        .spawn(move || server.run(RunArgs { shutdown_signal: Box::new(StopWatch(rx)) }))
        .expect("spawn proxy thread");
    Proxy { stop }
}

/// A loopback address nothing listens on right now.
pub(crate) fn free_addr() -> SocketAddr {
    StdListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port")
}

/// Wait until `addr` accepts connections.
pub(crate) fn wait_accepting(addr: SocketAddr) {
    let deadline = Instant::now() + TIMEOUT;
    while StdStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "{addr} never accepted");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Wait until plain listener `addr` answers `GET /ready` with 200.
fn wait_ready(addr: SocketAddr) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let answer =
            StdStream::connect_timeout(&addr, Duration::from_millis(500)).and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(2)))?;
                s.write_all(b"GET /ready HTTP/1.1\r\nHost: ready\r\nConnection: close\r\n\r\n")?;
                let mut out = String::new();
                s.read_to_string(&mut out)?;
                Ok(out)
            });
        if answer.is_ok_and(|a| a.starts_with("HTTP/1.1 200")) {
            return;
        }
        assert!(Instant::now() < deadline, "{addr} never answered /ready");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The shared proxy, its listeners and its certificates.
pub(crate) struct Env {
    pub(crate) pki: Pki,
    /// Plain listener, `enable_h2 = true` (h2c by prior knowledge, and h1).
    pub(crate) plain: SocketAddr,
    /// Plain listener, `enable_h2 = false`.
    pub(crate) plain_noh2: SocketAddr,
    /// `tls = true`, certificates by SNI, `enable_h2 = true`.
    pub(crate) sni: SocketAddr,
    /// `tls = true`, `enable_h2 = false`.
    pub(crate) h1only: SocketAddr,
    /// `tls_cert` + `tls_key` only (`single.test`).
    pub(crate) single: SocketAddr,
    _proxy: Proxy,
    _upstreams: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// Started by the first test that needs it; lives until the test binary exits.
pub(crate) static ENV: LazyLock<Env> =
    LazyLock::new(|| std::thread::spawn(Env::start).join().expect("start the shared proxy"));

/// Every location of the shared proxy: `(name, upstream, path, extra lines)`.
const LOCATIONS: &[(&str, &str, &str, &str)] = &[
    ("plain", "plain", "/plain/", ""),
    ("h2c", "h2c", "/h2c/", ""),
    ("tls_verify", "tls_verify", "/tls-verify/", ""),
    ("tls_default_sni", "tls_default_sni", "/tls-default-sni/", ""),
    ("tls_host_sni", "tls_host_sni", "/tls-host-sni/", ""),
    ("tls_system_roots", "tls_system_roots", "/tls-system-roots/", ""),
    ("tls_noverify", "tls_noverify", "/tls-noverify/", ""),
    ("tls_wrong_sni", "tls_wrong_sni", "/tls-wrong-sni/", ""),
    ("tls_h2", "tls_h2", "/tls-h2/", ""),
    ("tls_h2h1", "tls_h2h1", "/tls-h2h1/", ""),
    ("tls_h2h1_h1only", "tls_h2h1_h1only", "/tls-h2h1-h1only/", ""),
    ("tls_h2_h1only", "tls_h2_h1only", "/tls-h2-h1only/", ""),
    ("hosted", "plain", "/hosted/", "host = \"hosted.wild.test\"\n"),
    (
        "ws",
        "ws",
        "/ws/",
        "rewrite = \"^/ws/(.*)$ /echo/$1\"\n\
         proxy_set_headers = [\"X-Ws-Via: pylon $scheme\"]\n\
         response_set_headers = [\"X-Ws-Response: pylon\"]\n",
    ),
];

impl Env {
    fn start() -> Env {
        install_provider();
        // A static is never dropped: keep the files under target/tmp, not /tmp.
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
        let d = dir.path();
        let ca = Ca::new(d, "test-ca");
        let pki = Pki {
            a: ca.leaf(d, "a", &["a.example.test"]),
            wild: ca.leaf(d, "wild", &["*.wild.test"]),
            fallback: ca.leaf(d, "fallback", &["default.test"]),
            single: ca.leaf(d, "single", &["single.test"]),
            ca,
        };
        let upstreams_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("upstream runtime");
        let up = start_upstreams(&upstreams_rt, d, &pki.ca);
        let (plain, plain_noh2, sni) = (free_addr(), free_addr(), free_addr());
        let (h1only, single) = (free_addr(), free_addr());

        let ca_file = pki.ca.path.display();
        let mut toml = basic(d);
        let upstream = |name: &str, addr: SocketAddr, extra: &str| {
            format!("[upstreams.{name}]\naddrs = [\"{addr}\"]\n{extra}\n")
        };
        toml += &upstream("plain", up.plain, "");
        toml += &upstream("h2c", up.plain, "alpn = \"h2\"\n");
        let verified = format!("tls = true\nsni = \"upstream.test\"\nca_file = \"{ca_file}\"\n");
        toml += &upstream("tls_verify", up.tls, &verified);
        toml +=
            &upstream("tls_default_sni", up.tls, &format!("tls = true\nca_file = \"{ca_file}\"\n"));
        let by_name = format!("localhost:{}", up.tls.port());
        toml += &format!(
            "[upstreams.tls_host_sni]\naddrs = [\"{by_name}\"]\nretries = 1\n\
             tls = true\nca_file = \"{ca_file}\"\n\n"
        );
        // Not up.tls: pingora's connection pool does not tell ca_file apart (see
        // FIXME in upstream.rs), so a connection verified by `tls_verify` could be reused.
        toml +=
            &upstream("tls_system_roots", up.untrusted, "tls = true\nsni = \"upstream.test\"\n");
        toml += &upstream("tls_noverify", up.untrusted, "tls = true\nverify_cert = false\n");
        toml += &upstream(
            "tls_wrong_sni",
            up.tls,
            &format!("tls = true\nsni = \"wrong.test\"\nca_file = \"{ca_file}\"\n"),
        );
        toml += &upstream("tls_h2", up.tls, &format!("{verified}alpn = \"h2\"\n"));
        toml += &upstream("tls_h2h1", up.tls, &format!("{verified}alpn = \"h2h1\"\n"));
        toml += &upstream("tls_h2h1_h1only", up.tls_h1, &format!("{verified}alpn = \"h2h1\"\n"));
        toml += &upstream("tls_h2_h1only", up.tls_h1, &format!("{verified}alpn = \"h2\"\n"));
        toml += &upstream("ws", up.ws, "");

        toml += "[locations.ready]\npath = \"=/ready\"\nreturn = \"200 ready\"\n\n";
        for (name, upstream, path, extra) in LOCATIONS {
            toml += &format!(
                "[locations.{name}]\nupstream = \"{upstream}\"\npath = \"{path}\"\n{extra}\n"
            );
        }
        let all: Vec<String> = std::iter::once("ready")
            .chain(LOCATIONS.iter().map(|l| l.0))
            .map(|n| format!("\"{n}\""))
            .collect();
        let all = all.join(", ");
        toml += &format!(
            "[servers.plain]\naddr = \"{plain}\"\nlocations = [{all}]\nenable_h2 = true\n\n\
             [servers.sni]\naddr = \"{sni}\"\nlocations = [{all}]\ntls = true\nenable_h2 = true\n\n\
             [servers.plain_noh2]\naddr = \"{plain_noh2}\"\nlocations = [\"ready\", \"plain\"]\n\
             enable_h2 = false\n\n\
             [servers.h1only]\naddr = \"{h1only}\"\nlocations = [\"ready\", \"plain\"]\n\
             tls = true\nenable_h2 = false\n\n\
             [servers.single]\naddr = \"{single}\"\nlocations = [\"ready\", \"plain\"]\n\
             tls_cert = \"{}\"\ntls_key = \"{}\"\n\n",
            pki.single.cert_path.display(),
            pki.single.key_path.display(),
        );
        // `fallback` is declared last: it is the default because of is_default, not order.
        for (name, leaf, domains, default) in [
            ("a", &pki.a, "\"a.example.test\"", false),
            ("wild", &pki.wild, "\"*.wild.test\"", false),
            ("fallback", &pki.fallback, "\"default.test\"", true),
        ] {
            toml += &format!(
                "[certificates.{name}]\ndomains = [{domains}]\ntls_cert = \"{}\"\n\
                 tls_key = \"{}\"\nis_default = {default}\n\n",
                leaf.cert_path.display(),
                leaf.key_path.display(),
            );
        }
        let path = d.join("pylon.toml");
        std::fs::write(&path, toml).expect("write config");

        let proxy = start_proxy(&path);
        wait_ready(plain);
        for addr in [plain_noh2, sni, h1only, single] {
            wait_accepting(addr);
        }
        Env {
            pki,
            plain,
            plain_noh2,
            sni,
            h1only,
            single,
            _proxy: proxy,
            _upstreams: upstreams_rt,
            _dir: dir,
        }
    }
}

/// The `[basic]` section of a test config in `dir`: one thread, short grace, own pid file.
pub(crate) fn basic(dir: &Path) -> String {
    format!(
        "[basic]\nname = \"pylon-e2e\"\nthreads = 1\ngrace_period = \"1s\"\n\
         graceful_shutdown_timeout = \"1s\"\npid_file = \"{}\"\nupgrade_sock = \"{}\"\n\n",
        dir.join("pylon.pid").display(),
        dir.join("upgrade.sock").display(),
    )
}

// ---------------------------------------------------------------------------------------------
// Clients

/// A reqwest client trusting only the test CA, with `name` resolving to `addr`.
pub(crate) fn client(name: &str, addr: SocketAddr) -> reqwest::ClientBuilder {
    install_provider();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(TIMEOUT)
        .tls_certs_only([ENV.pki.ca.reqwest_cert()])
        .resolve(name, addr)
}

/// A TLS connection to `addr` with SNI `name`, trusting only the test CA, offering `alpn`.
pub(crate) async fn tls_connect(
    addr: SocketAddr,
    name: &str,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    install_provider();
    let mut roots = rustls::RootCertStore::empty();
    let ca = CertificateDer::from_pem_slice(ENV.pki.ca.pem.as_bytes()).expect("ca pem");
    roots.add(ca).expect("ca into the root store");
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls::pki_types::ServerName::try_from(name.to_owned()).expect("server name");
    bounded(async {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        connector.connect(name, tcp).await.expect("TLS handshake")
    })
    .await
}

/// The URL of `path` on `name` at `addr`'s port.
pub(crate) fn url(scheme: &str, name: &str, addr: SocketAddr, path: &str) -> String {
    format!("{scheme}://{name}:{}{path}", addr.port())
}

/// A header of `resp` as text ("" when absent).
pub(crate) fn header<'a>(resp: &'a reqwest::Response, name: &str) -> &'a str {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}
