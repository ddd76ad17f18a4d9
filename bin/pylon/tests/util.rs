//! The suite's own fixtures: the real `pylon` binary as a child process (start, signals,
//! upgrades), its config snippets, a reqwest client and the stats document. Origins, raw
//! clients, temp dirs and ports come from pylon-testkit.

use std::{
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub(crate) use pylon_testkit::{
    Answer, Dir, End, Exchange, H1Conn, H2Conn, H2Request, HttpOrigin as Upstream, RawOrigin,
    WsEcho, eventually, exchange, free_port,
};
use serde_json::Value;
use tokio::net::TcpStream;

/// Run `f` with pylon-testkit's `TEST_TIMEOUT`, failing the test when it is exceeded.
pub(crate) async fn bounded<F: Future<Output = ()>>(f: F) {
    pylon_testkit::bounded(f).await;
}

/// The pylon config sections every test starts from.
pub(crate) trait PylonDir {
    /// The `[basic]` section every test config starts with: quick shutdowns and a pid file
    /// and upgrade socket of its own. `extra` is appended inside the section.
    fn basic(&self, extra: &str) -> String;
}

impl PylonDir for Dir {
    fn basic(&self, extra: &str) -> String {
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

/// A pylon of one's own in front of a [`RawOrigin`] that records every byte, with an access
/// log (`{status} {method} {path} {location}`) and a stats path (for the message-syntax and
/// limits scenarios).
///
/// Locations: `=/r204` `return = "204"`, `=/r304` `return = "304"`, `=/r200`
/// `return = "200 hello"`, `/big/` (the origin, `client_max_body_size = "1kb"`), and `/`
/// (the origin, with `X-Xff: $proxy_add_x_forwarded_for` and `X-Foo-Seen: $http_x_foo`).
#[derive(Debug)]
pub(crate) struct Fx {
    /// The listener (h1 and h2c).
    pub(crate) addr: SocketAddr,
    /// The upstream of `/` and `/big/`.
    pub(crate) origin: RawOrigin,
    _pylon: Pylon,
    log: PathBuf,
    _dir: Dir,
}

impl Fx {
    /// Start pylon; `server_extra` lines go into the server section.
    pub(crate) async fn start(server_extra: &str) -> Fx {
        let origin = RawOrigin::start().await;
        let dir = Dir::new();
        let log = dir.join("access.log");
        let pylon = Pylon::start(&dir, |port| {
            format!(
                "{basic}[upstreams.origin]\naddrs = [\"{origin}\"]\n\n\
                 [locations.r204]\npath = \"=/r204\"\nreturn = \"204\"\n\n\
                 [locations.r304]\npath = \"=/r304\"\nreturn = \"304\"\n\n\
                 [locations.r200]\npath = \"=/r200\"\nreturn = \"200 hello\"\n\n\
                 [locations.big]\npath = \"/big/\"\nupstream = \"origin\"\n\
                 client_max_body_size = \"1kb\"\n\n\
                 [locations.all]\npath = \"/\"\nupstream = \"origin\"\n\
                 proxy_set_headers = [\"X-Xff: $proxy_add_x_forwarded_for\", \
                 \"X-Foo-Seen: $http_x_foo\"]\n\n\
                 [servers.s]\naddr = \"127.0.0.1:{port}\"\n\
                 locations = [\"r204\", \"r304\", \"r200\", \"big\", \"all\"]\n\
                 enable_h2 = true\nstats_path = \"/__stats\"\n\
                 access_log = \"{{status}} {{method}} {{path}} {{location}}\"\n\
                 access_log_path = {log}\n{server_extra}\n",
                basic = dir.basic(""),
                origin = origin.addr,
                log = q(&log.display().to_string()),
            )
        })
        .await;
        Fx { addr: pylon.addr(), origin, _pylon: pylon, log, _dir: dir }
    }

    /// `bytes` on a new connection; every response until pylon closes or is quiet for 1 s.
    pub(crate) async fn send(&self, bytes: &[u8]) -> Exchange {
        exchange(self.addr, bytes, Duration::from_secs(1)).await
    }

    /// The access-log lines so far, waiting (up to 5 s) until there are at least `n`.
    pub(crate) async fn log_lines(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            if lines.len() >= n || Instant::now() > deadline {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The stats document.
    pub(crate) async fn stats(&self) -> Value {
        let got = self.send(b"GET /__stats HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n").await;
        serde_json::from_slice(&got.only().message.body).expect("stats JSON")
    }
}

// The admin: a password hash and a config with it (admin, admin_listen and browser tests).

/// A password hash made by the binary under test.
pub(crate) async fn hash(password: &str) -> String {
    let (code, out, err) = pylon_cmd(&["hash-password", password]).await;
    assert_eq!(code, 0, "{err}");
    out.lines().last().expect("hash line").to_owned()
}

/// A config with one server (ports[0]) and the admin (ports[1]); `/a` goes to upstream `a`,
/// `/ping` answers directly. `extra_admin` goes into `[admin]`.
pub(crate) fn admin_config(dir: &Dir, ports: &[u16], a: SocketAddr, extra_admin: &str) -> String {
    format!(
        "{basic}[upstreams.a]\naddrs = [{a}]\n\
         health_check = \"tcp://a?check_frequency=300ms&failure=1&connection_timeout=300ms\"\n\
         [locations.ping]\npath = \"=/ping\"\nreturn = \"200 pong\"\n\
         [locations.app]\npath = \"/a\"\nupstream = \"a\"\n\
         [servers.web]\naddr = \"127.0.0.1:{web}\"\nlocations = [\"ping\", \"app\"]\n\
         [admin]\naddr = \"127.0.0.1:{admin}\"\n{extra_admin}\n",
        basic = dir.basic(""),
        a = q(&a.to_string()),
        web = ports[0],
        admin = ports[1],
    )
}

/// An h2c (prior knowledge) client with the suite's 10 s timeout.
pub(crate) fn h2c() -> reqwest::Client {
    client_builder()
        .no_proxy()
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("h2c client")
}

/// Open a WebSocket to `url` with `headers`: `Ok` on 101, `Err(status)` when refused.
pub(crate) async fn ws_status(url: &str, headers: &[(&str, &str)]) -> Result<(), u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut req = url.into_client_request().expect("ws request");
    for (n, v) in headers {
        req.headers_mut().insert(
            reqwest::header::HeaderName::from_bytes(n.as_bytes()).expect("header name"),
            v.parse().expect("header value"),
        );
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => Ok(()),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("websocket: {e}"),
    }
}
