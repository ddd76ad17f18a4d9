//! The suite's own fixtures: the shared proxy (one per test binary, started in this process
//! from a TOML file), its certificates and upstreams, and reqwest clients that trust the
//! test CA. The origins, clients and TLS helpers themselves come from pylon-testkit.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream as StdStream},
    path::Path,
    sync::{Arc, LazyLock},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use bytes::Bytes;
use pylon_proxy::pingora::server::{RunArgs, ShutdownSignal, ShutdownSignalWatch};
pub(crate) use pylon_testkit::{Ca, Dir, Leaf, Reply, Seen, bounded, free_addr, wait_accepting};
use pylon_testkit::{HttpOrigin, TEST_TIMEOUT as TIMEOUT, WsEcho, acceptor};

/// Bytes of each of the large-body tests.
pub(crate) const BIG: usize = 16 * 1024 * 1024;

/// Install ring as the process's rustls provider (reqwest is built without one).
pub(crate) fn install_provider() {
    pylon_testkit::install_ring();
}

// ---------------------------------------------------------------------------------------------
// Certificates

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
fn answer(seen: &Seen) -> Reply {
    let target = seen
        .target
        .split_once("://")
        .map_or(seen.target.as_str(), |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
    let mut reply = Reply::new(200, Bytes::from_static(b"upstream ok"))
        .field("x-up-version", seen.version.as_str())
        .field("x-up-path", target)
        .field("x-up-tls", seen.tls.to_string())
        .field("x-up-sni", seen.sni.clone().unwrap_or_else(|| "-".into()));
    let authority = seen.target.split_once("://").and_then(|(_, r)| r.split('/').next());
    if let Some(host) = seen.all("host").into_iter().next().or(authority.map(str::to_owned)) {
        reply = reply.field("x-up-host", host);
    }
    if let Some(v) = seen.all("x-test").into_iter().next() {
        reply = reply.field("x-up-x-test", v);
    }
    if target.ends_with("/upload") {
        reply.body = Bytes::from(format!("len={} fnv={:016x}", seen.body.len(), fnv64(&seen.body)));
    } else if target.ends_with("/download") {
        reply.body = BIG_BODY.clone();
    }
    reply
}

/// The upstreams of the shared proxy (they stop when dropped).
struct Upstreams {
    /// Plain h1 + h2c.
    plain: HttpOrigin,
    /// TLS, leaf `upstream.test` + `127.0.0.1` + `localhost` from the test CA, ALPN h2 and http/1.1.
    tls: HttpOrigin,
    /// TLS, the same names from a CA nobody trusts.
    untrusted: HttpOrigin,
    /// TLS from the test CA, ALPN http/1.1 only.
    tls_h1: HttpOrigin,
    /// WebSocket echo that first sends `path=… via=…` (the upgrade request it saw).
    ws: WsEcho,
}

fn start_upstreams(rt: &tokio::runtime::Runtime, dir: &Path, ca: &Ca) -> Upstreams {
    let good = ca.leaf(dir, "upstream", &["upstream.test", "127.0.0.1", "localhost"]);
    let rogue_ca = Ca::new(dir, "rogue-ca");
    let rogue = rogue_ca.leaf(dir, "rogue", &["upstream.test", "127.0.0.1"]);
    let both: &[&[u8]] = &[b"h2", b"http/1.1"];
    let handler: pylon_testkit::Handler = Arc::new(answer);
    rt.block_on(async {
        let greeting: pylon_testkit::Greeting = Arc::new(|req| {
            let via = req.headers().get("x-ws-via").and_then(|v| v.to_str().ok());
            format!("path={} via={}", req.uri(), via.unwrap_or("-"))
        });
        Upstreams {
            plain: HttpOrigin::serve(handler.clone(), None).await,
            tls: HttpOrigin::serve(handler.clone(), Some(acceptor(&good, both))).await,
            untrusted: HttpOrigin::serve(handler.clone(), Some(acceptor(&rogue, both))).await,
            tls_h1: HttpOrigin::serve(handler, Some(acceptor(&good, &[b"http/1.1"]))).await,
            ws: WsEcho::greeting(Some(greeting)).await,
        }
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
    _origins: Upstreams,
    _upstreams: tokio::runtime::Runtime,
    _dir: Dir,
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
        let dir = Dir::new_in(env!("CARGO_TARGET_TMPDIR"));
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
        toml += &upstream("plain", up.plain.addr, "");
        toml += &upstream("h2c", up.plain.addr, "alpn = \"h2\"\n");
        let verified = format!("tls = true\nsni = \"upstream.test\"\nca_file = \"{ca_file}\"\n");
        toml += &upstream("tls_verify", up.tls.addr, &verified);
        toml += &upstream(
            "tls_default_sni",
            up.tls.addr,
            &format!("tls = true\nca_file = \"{ca_file}\"\n"),
        );
        let by_name = format!("localhost:{}", up.tls.addr.port());
        toml += &format!(
            "[upstreams.tls_host_sni]\naddrs = [\"{by_name}\"]\nretries = 1\n\
             tls = true\nca_file = \"{ca_file}\"\n\n"
        );
        // Not up.tls: pingora's connection pool does not tell ca_file apart (see
        // FIXME in upstream.rs), so a connection verified by `tls_verify` could be reused.
        toml += &upstream(
            "tls_system_roots",
            up.untrusted.addr,
            "tls = true\nsni = \"upstream.test\"\n",
        );
        toml += &upstream("tls_noverify", up.untrusted.addr, "tls = true\nverify_cert = false\n");
        toml += &upstream(
            "tls_wrong_sni",
            up.tls.addr,
            &format!("tls = true\nsni = \"wrong.test\"\nca_file = \"{ca_file}\"\n"),
        );
        toml += &upstream("tls_h2", up.tls.addr, &format!("{verified}alpn = \"h2\"\n"));
        toml += &upstream("tls_h2h1", up.tls.addr, &format!("{verified}alpn = \"h2h1\"\n"));
        toml +=
            &upstream("tls_h2h1_h1only", up.tls_h1.addr, &format!("{verified}alpn = \"h2h1\"\n"));
        toml += &upstream("tls_h2_h1only", up.tls_h1.addr, &format!("{verified}alpn = \"h2\"\n"));
        toml += &upstream("ws", up.ws.addr, "");

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
            _origins: up,
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
        .tls_certs_only(
            [reqwest::Certificate::from_pem(ENV.pki.ca.pem.as_bytes()).expect("ca pem")],
        )
        .resolve(name, addr)
}

/// A TLS connection to `addr` with SNI `name`, trusting only the test CA, offering `alpn`.
pub(crate) async fn tls_connect(
    addr: SocketAddr,
    name: &str,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    install_provider();
    bounded(ENV.pki.ca.connect(addr, name, alpn)).await
}

/// The URL of `path` on `name` at `addr`'s port.
pub(crate) fn url(scheme: &str, name: &str, addr: SocketAddr, path: &str) -> String {
    format!("{scheme}://{name}:{}{path}", addr.port())
}

/// A header of `resp` as text ("" when absent).
pub(crate) fn header<'a>(resp: &'a reqwest::Response, name: &str) -> &'a str {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}
