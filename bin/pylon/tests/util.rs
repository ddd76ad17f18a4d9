//! Shared fixtures of the end-to-end suite: loopback ports, the real `pylon` binary as
//! a child process, in-process hyper upstreams that echo what they received, an HTTP
//! client, raw TCP helpers and config snippets.

use std::{
    collections::BTreeMap,
    convert::Infallible,
    future::Future,
    io::Write as _,
    net::{SocketAddr, TcpListener as StdListener},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
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
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
    task::{JoinHandle, JoinSet},
};

/// The bound on every test body.
pub(crate) const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Run `f` with [`TEST_TIMEOUT`], failing the test when it is exceeded.
pub(crate) async fn bounded<F: Future<Output = ()>>(f: F) {
    tokio::time::timeout(TEST_TIMEOUT, f).await.expect("test timed out");
}

/// A loopback port that was free a moment ago.
pub(crate) fn free_port() -> u16 {
    let l = StdListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// A temp dir for one test's configs, logs, pid file and upgrade socket.
#[derive(Debug)]
pub(crate) struct Dir(tempfile::TempDir);

impl Dir {
    pub(crate) fn new() -> Dir {
        Dir(tempfile::Builder::new().prefix("pylon-e2e-").tempdir().expect("tempdir"))
    }

    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// Write `text` to `name` in this dir; returns the path.
    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.join(name);
        // Write then rename, so a reading process never sees half a file.
        let tmp = self.join(&format!(".{name}.tmp"));
        let mut f = std::fs::File::create(&tmp).expect("create file");
        f.write_all(text.as_bytes()).expect("write file");
        f.sync_all().expect("sync file");
        std::fs::rename(&tmp, &path).expect("rename file");
        path
    }

    /// The `[basic]` section every test config starts with: quick shutdowns and a pid file
    /// and upgrade socket of its own. `extra` is appended inside the section.
    pub(crate) fn basic(&self, extra: &str) -> String {
        format!(
            "[basic]\nname = \"pylon-e2e\"\nthreads = 1\ngrace_period = \"1s\"\n\
             graceful_shutdown_timeout = \"1s\"\npid_file = {pid:?}\nupgrade_sock = {sock:?}\n\
             log_level = \"info\"\n{extra}\n",
            pid = self.join("pylon.pid").display().to_string(),
            sock = self.join("upgrade.sock").display().to_string(),
        )
    }
}

/// The `pylon` binary under test.
pub(crate) fn pylon_bin() -> &'static str {
    env!("CARGO_BIN_EXE_pylon")
}

/// Run `pylon ARGS` to completion (bounded: killed after 20 s); returns
/// (exit code, stdout, stderr).
pub(crate) async fn pylon_cmd(args: &[&str]) -> (i32, String, String) {
    let dir = Dir::new();
    let (out, err) = (dir.join("out"), dir.join("err"));
    let mut child = Command::new(pylon_bin())
        .args(args)
        .env_remove("PYLON_CONFIG")
        .env_remove("PYLON_LOG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("spawn pylon");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait pylon") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pylon {args:?} did not finish");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    (
        status.code().unwrap_or(-1),
        std::fs::read_to_string(&out).unwrap_or_default(),
        std::fs::read_to_string(&err).unwrap_or_default(),
    )
}

/// A running `pylon run -c FILE` child process; killed and reaped on drop.
#[derive(Debug)]
pub(crate) struct Pylon {
    child: Child,
    /// The listen ports handed to the config closure, in order.
    pub(crate) ports: Vec<u16>,
    pub(crate) config: PathBuf,
    pub(crate) stdout: PathBuf,
    pub(crate) stderr: PathBuf,
}

impl Pylon {
    /// Start pylon with one listen port; see [`Pylon::start_n`].
    pub(crate) async fn start(dir: &Dir, config: impl Fn(u16) -> String) -> Pylon {
        Pylon::start_n(dir, 1, |p| config(p[0])).await
    }

    /// Start pylon with the config `config(ports)` (written to `pylon.toml` in `dir`) and
    /// wait until every port accepts. On a port clash (another process took a port between
    /// allocation and bind) it retries with new ports.
    pub(crate) async fn start_n(dir: &Dir, n: usize, config: impl Fn(&[u16]) -> String) -> Pylon {
        Pylon::start_with(dir, n, &[], config).await
    }

    /// [`Pylon::start_n`] with extra `pylon run` arguments (e.g. `--watch`).
    pub(crate) async fn start_with(
        dir: &Dir,
        n: usize,
        args: &[&str],
        config: impl Fn(&[u16]) -> String,
    ) -> Pylon {
        let mut last_err = String::new();
        for attempt in 0..5 {
            let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
            let path = dir.write("pylon.toml", &config(&ports));
            let stdout = dir.join(&format!("stdout.{attempt}.log"));
            let stderr = dir.join(&format!("stderr.{attempt}.log"));
            let child = Command::new(pylon_bin())
                .args(["run", "-c"])
                .arg(&path)
                .args(args)
                .env_remove("PYLON_CONFIG")
                .env_remove("PYLON_LOG")
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&stdout).expect("stdout file"))
                .stderr(std::fs::File::create(&stderr).expect("stderr file"))
                .spawn()
                .expect("spawn pylon");
            let mut p = Pylon { child, ports: ports.clone(), config: path, stdout, stderr };
            match p.wait_ready().await {
                Ok(()) => return p,
                Err(e) => {
                    last_err = e;
                    let clash = last_err.contains("in use");
                    drop(p);
                    if !clash {
                        break;
                    }
                }
            }
        }
        panic!("pylon did not start: {last_err}");
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut pending: Vec<u16> = self.ports.clone();
        while !pending.is_empty() {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!("pylon exited with {status}: {}", self.stderr_text()));
            }
            if Instant::now() > deadline {
                return Err(format!("ports {pending:?} never accepted: {}", self.stderr_text()));
            }
            let mut still = Vec::new();
            for port in pending {
                if TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                    still.push(port);
                }
            }
            pending = still;
            if !pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        Ok(())
    }

    /// `http://127.0.0.1:PORT` of the first listener.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.ports[0])
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ports[0]))
    }

    pub(crate) fn stdout_text(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    pub(crate) fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Ask pylon to reload its config: `pylon reload -c FILE` (SIGHUP via the pid file).
    pub(crate) async fn reload(&self) {
        let config = self.config.display().to_string();
        let (code, _, err) = pylon_cmd(&["reload", "-c", &config]).await;
        assert_eq!(code, 0, "pylon reload failed: {err}");
    }

    /// Send SIGHUP straight to the process (for configs `pylon reload` itself refuses to parse).
    pub(crate) fn sighup(&self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).expect("SIGHUP");
    }

    /// Wait (bounded) until stderr contains `needle`; returns the stderr text.
    pub(crate) async fn wait_stderr(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.stderr_text();
            if text.contains(needle) {
                return text;
            }
            assert!(Instant::now() < deadline, "stderr never contained {needle:?}:\n{text}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Pylon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What an upstream does per request.
#[derive(Debug)]
struct UpstreamState {
    name: String,
    delay_ms: AtomicU64,
    hits: AtomicUsize,
}

/// An in-process HTTP/1 + h2c upstream on 127.0.0.1. Every response carries
/// `x-upstream: NAME` and a JSON body describing the request it received:
/// `{"upstream", "method", "uri", "version", "headers": {name: [values]}, "body_len"}`.
/// `/health` answers `200 ok`. It can be stopped (closing every connection) and restarted
/// on the same port.
#[derive(Debug)]
pub(crate) struct Upstream {
    pub(crate) addr: SocketAddr,
    state: Arc<UpstreamState>,
    task: Option<JoinHandle<()>>,
}

impl Upstream {
    pub(crate) async fn start(name: &str) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
        let addr = listener.local_addr().expect("upstream addr");
        let state = Arc::new(UpstreamState {
            name: name.to_owned(),
            delay_ms: AtomicU64::new(0),
            hits: AtomicUsize::new(0),
        });
        let task = Some(tokio::spawn(serve(listener, state.clone())));
        Upstream { addr, state, task }
    }

    /// Delay every response (not `/health`) by `d`.
    pub(crate) fn set_delay(&self, d: Duration) {
        self.state.delay_ms.store(d.as_millis() as u64, Ordering::SeqCst);
    }

    /// Requests served (not counting `/health`).
    pub(crate) fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// Stop listening and drop every open connection.
    pub(crate) async fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }

    /// Listen again on the same port.
    pub(crate) async fn restart(&mut self) {
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
        self.task = Some(tokio::spawn(serve(listener, self.state.clone())));
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

async fn serve(listener: TcpListener, state: Arc<UpstreamState>) {
    // Connections live in this set: aborting the accept task drops them all.
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let state = state.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| handle(req, state.clone()));
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<UpstreamState>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/health" {
        return Ok(Response::new(Full::new(Bytes::from_static(b"ok"))));
    }
    state.hits.fetch_add(1, Ordering::SeqCst);
    let delay = state.delay_ms.load(Ordering::SeqCst);
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (n, v) in req.headers() {
        headers
            .entry(n.as_str().to_owned())
            .or_default()
            .push(String::from_utf8_lossy(v.as_bytes()).into_owned());
    }
    let method = req.method().to_string();
    let uri = req.uri().to_string();
    let version = format!("{:?}", req.version());
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let doc = json!({
        "upstream": state.name,
        "method": method,
        "uri": uri,
        "version": version,
        "headers": headers,
        "body_len": body.len(),
    });
    let resp = Response::builder()
        .header("x-upstream", state.name.as_str())
        .header("content-type", "application/json")
        .header("x-resp-set", "from-upstream")
        .header("x-resp-add", "from-upstream")
        .header("x-upstream-remove", "from-upstream")
        .header("x-resp", "resp-value")
        .body(Full::new(Bytes::from(doc.to_string())))
        .expect("response");
    Ok(resp)
}

/// A reqwest builder that works whatever features the workspace unifies onto reqwest:
/// pylon-proxy's TLS tests enable its rustls backend without a provider, so install
/// ring (pingora's provider) as the process default first.
pub(crate) fn client_builder() -> reqwest::ClientBuilder {
    pylon_proxy::pingora::tls::install_default_crypto_provider();
    reqwest::Client::builder()
}

/// An HTTP client that talks to loopback only (no proxy from the environment).
pub(crate) fn client() -> reqwest::Client {
    client_builder().no_proxy().timeout(Duration::from_secs(10)).build().expect("client")
}

/// A client that opens a new connection for every request.
pub(crate) fn fresh_client() -> reqwest::Client {
    client_builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// A response, read whole.
#[derive(Debug)]
pub(crate) struct Got {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: String,
}

impl Got {
    /// The upstream's echo document.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// The `x-upstream` header: which upstream answered.
    pub(crate) fn upstream(&self) -> String {
        self.header("x-upstream").unwrap_or_default()
    }

    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().expect("ascii header").to_owned())
    }
}

/// Send a request and read the whole response.
pub(crate) async fn send(req: reqwest::RequestBuilder) -> Got {
    let resp = req.send().await.expect("request failed");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("read body");
    Got { status, headers, body }
}

/// GET `url` with a `Host` header (when given).
pub(crate) async fn get(c: &reqwest::Client, url: &str, host: Option<&str>) -> Got {
    let mut r = c.get(url);
    if let Some(h) = host {
        r = r.header("host", h);
    }
    send(r).await
}

/// The values the upstream received for request header `name`.
pub(crate) fn received(doc: &Value, name: &str) -> Vec<String> {
    doc["headers"][name.to_ascii_lowercase()]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

/// What [`raw`] saw: everything read, and whether the server closed the connection
/// (as opposed to the read timing out).
#[derive(Debug)]
pub(crate) struct RawReply {
    pub(crate) text: String,
    pub(crate) closed: bool,
}

impl RawReply {
    /// The status code of the first response line.
    pub(crate) fn status(&self) -> Option<u16> {
        self.text.strip_prefix("HTTP/1.")?.get(2..5)?.parse().ok()
    }

    /// The body after the first blank line.
    pub(crate) fn body(&self) -> &str {
        self.text.split_once("\r\n\r\n").map_or("", |(_, b)| b)
    }

    /// The value of a header of the first response.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        let head = self.text.split_once("\r\n\r\n").map_or(self.text.as_str(), |(h, _)| h);
        head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// Write `bytes` on a new connection to `addr` and read until the server closes it or
/// `wait` passes.
pub(crate) async fn raw(addr: SocketAddr, bytes: &[u8], wait: Duration) -> RawReply {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    raw_on(&mut s, bytes, wait).await
}

/// [`raw`] on an existing stream.
pub(crate) async fn raw_on(s: &mut TcpStream, bytes: &[u8], wait: Duration) -> RawReply {
    // The server may answer and close before everything is written: ignore write errors.
    let _ = s.write_all(bytes).await;
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    let mut closed = false;
    let mut chunk = [0u8; 8192];
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => break,
        }
    }
    RawReply { text: String::from_utf8_lossy(&buf).into_owned(), closed }
}

/// Poll `f` every 100 ms until it returns `Some`, for at most `within`.
pub(crate) async fn eventually<T, F, Fut>(within: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The stats document at `url`.
pub(crate) async fn stats(c: &reqwest::Client, url: &str) -> Value {
    let got = get(c, url, None).await;
    assert_eq!(got.status, 200, "stats: {}", got.body);
    got.json()
}

/// Is peer `addr` of upstream `name` healthy in the stats document?
pub(crate) fn peer_healthy(doc: &Value, upstream: &str, addr: SocketAddr) -> Option<bool> {
    doc["upstreams"][upstream]["peers"]
        .as_array()?
        .iter()
        .find(|p| p["addr"] == addr.to_string())?["healthy"]
        .as_bool()
}

/// A TOML string literal.
pub(crate) fn q(s: &str) -> String {
    format!("{s:?}")
}

/// Lifecycle helpers: signals, exits, the pid file, `--upgrade` successors.
impl Pylon {
    /// Start `pylon run -c CONFIG --upgrade ARGS` next to a running instance (same ports,
    /// same config file) without waiting for anything: the ports already accept. Its
    /// output goes to `NAME.stdout.log` / `NAME.stderr.log` in `dir`.
    pub(crate) fn spawn_upgrade(dir: &Dir, of: &Pylon, name: &str, args: &[&str]) -> Pylon {
        let stdout = dir.join(&format!("{name}.stdout.log"));
        let stderr = dir.join(&format!("{name}.stderr.log"));
        let child = Command::new(pylon_bin())
            .args(["run", "--upgrade", "-c"])
            .arg(&of.config)
            .args(args)
            .env_remove("PYLON_CONFIG")
            .env_remove("PYLON_LOG")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("spawn pylon --upgrade");
        Pylon { child, ports: of.ports.clone(), config: of.config.clone(), stdout, stderr }
    }

    /// The process id.
    pub(crate) fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Send `sig` to the process.
    pub(crate) fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), sig)
            .unwrap_or_else(|e| panic!("{sig}: {e}"));
    }

    /// The exit status, if the process has exited (reaps it).
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("wait pylon")
    }

    /// Wait (polling every 20 ms) up to `within` for the process to exit.
    pub(crate) async fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The pid in `dir`'s `pylon.pid` (the pid file of [`Dir::basic`]), if it holds one.
pub(crate) fn pid_file_pid(dir: &Dir) -> Option<i32> {
    std::fs::read_to_string(dir.join("pylon.pid")).ok()?.trim().parse().ok()
}

/// Processes a test did not start itself (successors pylon spawned): SIGKILLed on drop,
/// each only if it is still a `pylon` process (guards against a reused pid).
#[derive(Debug, Default)]
pub(crate) struct PidGuard(std::sync::Mutex<Vec<i32>>);

impl PidGuard {
    pub(crate) fn track(&self, pid: i32) {
        let mut pids = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !pids.contains(&pid) {
            pids.push(pid);
        }
    }
}

/// Is `pid` alive and running the binary under test? (A zombie has no exe link.)
pub(crate) fn is_pylon(pid: i32) -> bool {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    let ours = std::fs::canonicalize(pylon_bin()).ok();
    exe.is_some_and(|e| Some(&e) == ours.as_ref())
}

impl Drop for PidGuard {
    fn drop(&mut self) {
        let pids = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for &pid in pids.iter() {
            if is_pylon(pid) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

/// An in-process WebSocket upstream on 127.0.0.1 that echoes every text and binary
/// message (and answers a close).
#[derive(Debug)]
pub(crate) struct WsEcho {
    pub(crate) addr: SocketAddr,
    task: JoinHandle<()>,
}

impl WsEcho {
    pub(crate) async fn start() -> WsEcho {
        use futures_util::{SinkExt as _, StreamExt as _};
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind ws upstream");
        let addr = listener.local_addr().expect("ws upstream addr");
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        conns.spawn(async move {
                            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                                return;
                            };
                            while let Some(Ok(msg)) = ws.next().await {
                                if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                                    return;
                                }
                            }
                        });
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        WsEcho { addr, task }
    }
}

impl Drop for WsEcho {
    fn drop(&mut self) {
        self.task.abort();
    }
}
