//! Operating Pylon day to day, through the real binary: a second instance on busy ports,
//! daemon mode with a relative config, SIGQUIT without a successor, successors that outlive
//! the old process under a service manager, binary upgrade, the error log (file, JSON,
//! reopen, no colours, startup report, levels), `--version`, the systemd unit, and what
//! error pages tell clients.

use std::{
    os::unix::net::UnixDatagram,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use nix::sys::signal::Signal;

use crate::util::*;

/// A `[basic]` section with `extra` keys (pid file and upgrade socket in `dir`).
fn basic(dir: &Dir, grace: &str, extra: &str) -> String {
    format!(
        "[basic]\nname = \"pylon-e2e\"\nthreads = 1\ngrace_period = {grace:?}\n\
         graceful_shutdown_timeout = \"1s\"\npid_file = {pid}\nupgrade_sock = {sock}\n{extra}\n",
        pid = q(&dir.join("pylon.pid").display().to_string()),
        sock = q(&dir.join("upgrade.sock").display().to_string()),
    )
}

/// A `/ping` location answering `pong` and a server on `ports`.
fn ping_server(ports: &[u16]) -> String {
    let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    format!(
        "[locations.ping]\npath = \"=/ping\"\nreturn = \"200 pong\"\n\
         [servers.web]\naddr = {addr}\nlocations = [\"ping\"]\n",
        addr = q(&addrs.join(", ")),
    )
}

/// The parent pid of `pid`, from `/proc/PID/stat`.
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`; comm may hold spaces, so split after the last ')'.
    stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

async fn wait_gone(pid: i32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while is_pylon(pid) {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_run_on_busy_ports_fails_fast_and_leaves_the_first_alone() {
    bounded(async {
        let dir = Dir::new();
        let p =
            Pylon::start(&dir, |port| format!("{}{}", dir.basic(""), ping_server(&[port]))).await;
        let config = p.config.display().to_string();
        let sock = dir.join("upgrade.sock");
        assert_eq!(pid_file_pid(&dir), Some(p.pid()));
        assert!(!sock.exists());

        // The same config again: its pid file names the running instance.
        let at = Instant::now();
        let (code, _, err) = pylon_cmd(&["run", "-c", &config]).await;
        assert_eq!(code, 1, "{err}");
        assert!(at.elapsed() < Duration::from_secs(5), "took {:?}", at.elapsed());
        assert!(err.contains(&format!("pylon is already running as pid {}", p.pid())), "{err}");

        // Another config (its own pid file) on the same port.
        let other = Dir::new();
        let path =
            other.write("other.toml", &format!("{}{}", other.basic(""), ping_server(&p.ports)));
        let at = Instant::now();
        let (code, _, err) = pylon_cmd(&["run", "-c", &path.display().to_string()]).await;
        assert_eq!(code, 1, "{err}");
        assert!(at.elapsed() < Duration::from_secs(5), "took {:?}", at.elapsed());
        assert!(
            err.contains(&format!("cannot listen on 127.0.0.1:{} (servers.web)", p.ports[0]))
                && err.contains("already in use"),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(!other.join("pylon.pid").exists(), "the refused instance wrote its pid file");

        // The first instance is untouched and still reachable through its pid file.
        assert_eq!(pid_file_pid(&dir), Some(p.pid()));
        assert!(!sock.exists(), "the upgrade socket was touched");
        assert_eq!(get(&client(), &p.url("/ping"), None).await.body, "pong");
        p.reload().await;
        p.wait_stderr("SIGHUP: reloading").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_with_a_relative_config_keeps_its_paths_beside_the_config() {
    bounded(async {
        let dir = Dir::new();
        let guard = PidGuard::default();
        for sub in ["run", "logs"] {
            std::fs::create_dir(dir.join(sub)).expect("mkdir");
        }
        let port = free_port();
        dir.write(
            "rel.toml",
            &format!(
                "[basic]\nthreads = 1\ngrace_period = \"1s\"\ngraceful_shutdown_timeout = \"1s\"\n\
                 pid_file = \"run/pylon.pid\"\nupgrade_sock = \"run/upgrade.sock\"\n\
                 log_file = \"logs/error.log\"\n\
                 [locations.ping]\npath = \"=/ping\"\nreturn = \"200 pong\"\n\
                 [servers.web]\naddr = \"127.0.0.1:{port}\"\nlocations = [\"ping\"]\n\
                 access_log = \"tiny\"\naccess_log_path = \"logs/access.log\"\n"
            ),
        );
        // Started from the config's directory with a relative path, as a user would, with
        // its output read to the end the way `$(pylon run -d …)` or a service manager reads
        // it: the daemon must not hold the launcher's stdout or stderr open.
        let mut launcher = Command::new(pylon_bin())
            .args(["run", "-d", "-c", "rel.toml"])
            .current_dir(dir.join(""))
            .env_remove("PYLON_LOG")
            .env_remove("PYLON_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run pylon -d");
        let (tx, rx) = std::sync::mpsc::channel();
        let (mut stdout, mut stderr) = (launcher.stdout.take(), launcher.stderr.take());
        std::thread::spawn(move || {
            use std::io::Read as _;
            let mut out = String::new();
            if let Some(s) = stdout.as_mut() {
                let _ = s.read_to_string(&mut out);
            }
            if let Some(s) = stderr.as_mut() {
                let _ = s.read_to_string(&mut out);
            }
            let _ = tx.send(out);
        });
        let status = launcher.wait().expect("wait launcher");
        assert!(status.success(), "{status}");
        let pid_file = dir.join("run/pylon.pid");
        let launcher_output = rx.recv_timeout(Duration::from_secs(10));
        if let Ok(pid) = std::fs::read_to_string(&pid_file).map(|s| s.trim().parse().unwrap_or(0)) {
            guard.track(pid);
        }
        let launcher_output =
            launcher_output.expect("the daemon kept the launcher's stdout or stderr open");
        let pid = eventually(Duration::from_secs(10), "the daemon's pid file", || {
            let pid = std::fs::read_to_string(&pid_file).ok().and_then(|s| s.trim().parse().ok());
            async move { pid }
        })
        .await;
        guard.track(pid);
        let url = format!("http://127.0.0.1:{port}/ping");
        let body = eventually(Duration::from_secs(10), "the daemon serves", || {
            let url = url.clone();
            async move { client().get(&url).send().await.ok()?.text().await.ok() }
        })
        .await;
        assert_eq!(body, "pong");
        let access = eventually(Duration::from_secs(10), "an access-log line", || {
            let text = std::fs::read_to_string(dir.join("logs/access.log")).unwrap_or_default();
            async move { (!text.is_empty()).then_some(text) }
        })
        .await;
        assert!(access.starts_with("GET /ping 200"), "{access}");
        let errors = std::fs::read_to_string(dir.join("logs/error.log")).unwrap_or_default();
        assert!(errors.contains(&format!("serving as pid {pid}")), "{errors}");
        assert!(errors.contains(&format!("listening on http://127.0.0.1:{port}")), "{errors}");
        // Nothing of the daemon's went to the launching shell.
        assert!(!launcher_output.contains("listening on"), "{launcher_output}");
        assert!(!Path::new("/run.pid").exists() && !Path::new("/run/pylon.pid").exists());

        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGTERM).expect("TERM");
        assert!(wait_gone(pid, Duration::from_secs(10)).await, "the daemon did not exit");
        assert!(!pid_file.exists(), "the pid file outlived the daemon");
    })
    .await;
}

/// A child process this test started, killed (by its pid) when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_and_upgrade_refuse_a_pid_file_naming_another_program_or_none() {
    bounded(async {
        let dir = Dir::new();
        let config = dir.write(
            "pylon.toml",
            &format!("{}{}", basic(&dir, "1s", ""), ping_server(&[free_port()])),
        );
        let config = config.display().to_string();
        // A stale pid file whose pid now belongs to another program.
        let mut sleep = Child(Command::new("sleep").arg("60").spawn().expect("spawn sleep"));
        let pid = sleep.0.id();
        std::fs::write(dir.join("pylon.pid"), format!("{pid}\n")).expect("pid file");
        for cmd in ["reload", "upgrade"] {
            let (code, _, err) = pylon_cmd(&[cmd, "-c", &config]).await;
            assert_eq!(code, 1, "{cmd}: {err}");
            assert!(
                err.contains(&format!("pid {pid} (from "))
                    && err.contains("is another program, not pylon")
                    && err.contains("not signalled"),
                "{cmd}: {err}"
            );
            assert!(!err.contains("sent SIG"), "{cmd}: {err}");
            // SIGHUP / SIGUSR2 would have ended `sleep`.
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(sleep.0.try_wait().expect("wait sleep").is_none(), "{cmd} signalled sleep");
        }
        drop(sleep);

        // A pid no process has (the reaped sleep's): stale too, nothing to signal.
        let (code, _, err) = pylon_cmd(&["reload", "-c", &config]).await;
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains(&format!("pid {pid} (from ")) && err.contains("is not running"),
            "{err}"
        );
        // No pid at all (`-1` would signal every process).
        std::fs::write(dir.join("pylon.pid"), "-1\n").expect("pid file");
        let (code, _, err) = pylon_cmd(&["reload", "-c", &config]).await;
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("does not hold a pid"), "{err}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigquit_with_nothing_in_flight_and_no_successor_exits_at_once() {
    bounded(async {
        let dir = Dir::new();
        // A grace period far longer than the test waits.
        let mut p = Pylon::start(&dir, |port| {
            format!("{}{}", basic(&dir, "60s", ""), ping_server(&[port]))
        })
        .await;
        assert_eq!(get(&client(), &p.url("/ping"), None).await.status, 200);
        let at = Instant::now();
        p.signal(Signal::SIGQUIT);
        let status = p.wait_exit(Duration::from_secs(5)).await;
        assert!(status.is_some_and(|s| s.success()), "{status:?}\n{}", p.stderr_text());
        assert!(at.elapsed() < Duration::from_secs(3), "took {:?}", at.elapsed());
        assert!(!dir.join("pylon.pid").exists());
    })
    .await;
}

/// Wait for a datagram on `sock` (a stand-in for systemd's notify socket).
async fn notification(sock: &UnixDatagram, within: Duration) -> String {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        match sock.recv(&mut buf) {
            Ok(n) => return String::from_utf8_lossy(&buf[..n]).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no notification within {within:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("notify socket: {e}"),
        }
    }
}

fn main_pid(message: &str) -> Option<i32> {
    message.lines().find_map(|l| l.strip_prefix("MAINPID="))?.parse().ok()
}

/// What a service manager sees of a reload that changes listeners: the successor is not a
/// child of the old process, reports itself as the main process (sd_notify MAINPID, as
/// systemd's `Type=notify` + `NotifyAccess=all` needs), and keeps serving after the old
/// process has exited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_change_successor_is_detached_and_becomes_the_main_process() {
    bounded(async {
        let dir = Dir::new();
        let guard = PidGuard::default();
        let notify_path = dir.join("notify.sock");
        let notify = UnixDatagram::bind(&notify_path).expect("notify socket");
        notify.set_nonblocking(true).expect("nonblocking");
        let (a, b) = (free_port(), free_port());
        let config = dir.write("pylon.toml", &format!("{}{}", dir.basic(""), ping_server(&[a])));
        let stderr = dir.join("stderr.log");
        let mut old = Command::new(pylon_bin())
            .args(["run", "-c"])
            .arg(&config)
            .env("NOTIFY_SOCKET", &notify_path)
            .env_remove("PYLON_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("spawn pylon");
        let old_pid = old.id() as i32;
        let log = || std::fs::read_to_string(&stderr).unwrap_or_default();

        let ready = notification(&notify, Duration::from_secs(15)).await;
        assert!(ready.contains("READY=1"), "{ready}");
        assert_eq!(main_pid(&ready), Some(old_pid), "{ready}");

        dir.write("pylon.toml", &format!("{}{}", dir.basic(""), ping_server(&[a, b])));
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(old_pid), Signal::SIGHUP).expect("HUP");
        let ready = notification(&notify, Duration::from_secs(15)).await;
        let new_pid = main_pid(&ready).unwrap_or_else(|| panic!("{ready}\n{}", log()));
        guard.track(new_pid);
        assert!(ready.contains("READY=1"), "{ready}");
        assert_ne!(new_pid, old_pid);
        assert!(is_pylon(new_pid), "{}", log());
        assert_ne!(parent_of(new_pid), Some(old_pid), "the successor is the old process's child");

        // The old process drains and exits; the successor stays and serves both addresses.
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(s) = old.try_wait().expect("wait") {
                break s;
            }
            assert!(Instant::now() < deadline, "the old process did not exit\n{}", log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(status.success(), "{status}\n{}", log());
        assert!(is_pylon(new_pid), "the successor died with the old process\n{}", log());
        for port in [a, b] {
            let got = get(&fresh_client(), &format!("http://127.0.0.1:{port}/ping"), None).await;
            assert_eq!(got.body, "pong", "port {port}\n{}", log());
        }
        assert_eq!(pid_file_pid(&dir), Some(new_pid));

        // Stopping it says so to the service manager, then it exits.
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(new_pid), Signal::SIGTERM).expect("TERM");
        let stopping = notification(&notify, Duration::from_secs(5)).await;
        assert!(stopping.contains("STOPPING=1"), "{stopping}");
        assert!(wait_gone(new_pid, Duration::from_secs(10)).await, "{}", log());
        assert!(!log().contains(" ERROR "), "{}", log());
    })
    .await;
}

/// `pylon upgrade`: the running instance starts the executable on disk as its successor
/// (SIGUSR2), which takes the sockets over; requests never fail meanwhile and neither
/// process logs an error for the normal hand-over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_command_replaces_the_process_without_failed_requests() {
    bounded(async {
        let dir = Dir::new();
        let guard = PidGuard::default();
        let mut old =
            Pylon::start(&dir, |port| format!("{}{}", dir.basic(""), ping_server(&[port]))).await;
        let url = old.url("/ping");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let load = tokio::spawn({
            let (stop, url) = (stop.clone(), url.clone());
            async move {
                let (mut ok, mut failed) = (0, Vec::new());
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    // A new connection each time: the listening socket itself changes hands.
                    match fresh_client().get(&url).send().await {
                        Ok(r) if r.status() == 200 => ok += 1,
                        other => failed.push(format!("{other:?}")),
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                (ok, failed)
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (code, _, err) = pylon_cmd(&["upgrade", "-c", &old.config.display().to_string()]).await;
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("SIGUSR2"), "{err}");
        let new_pid = eventually(Duration::from_secs(15), "a successor in the pid file", || {
            let pid = pid_file_pid(&dir).filter(|&p| p != old.pid());
            if let Some(p) = pid {
                guard.track(p);
            }
            async move { pid }
        })
        .await;
        let status = old.wait_exit(Duration::from_secs(15)).await;
        assert!(status.is_some_and(|s| s.success()), "{status:?}\n{}", old.stderr_text());
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let (ok, failed) = load.await.expect("load");
        assert!(failed.is_empty(), "{} failed of {}: {failed:?}", failed.len(), ok + failed.len());
        assert!(ok > 20, "only {ok} requests");
        assert!(is_pylon(new_pid));
        // The successor's output went where the old process's went.
        let log = old.stderr_text();
        assert!(log.contains(&format!("serving as pid {new_pid}")), "{log}");
        assert!(!log.contains(" ERROR "), "a normal upgrade logged an error:\n{log}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_log_file_in_json_is_reopened_on_reload() {
    bounded(async {
        let dir = Dir::new();
        let log = dir.join("error.log");
        let extra = format!("log_format = \"json\"\nlog_file = {}", q(&log.display().to_string()));
        let p = Pylon::start(&dir, |port| {
            format!("{}{}", basic(&dir, "1s", &extra), ping_server(&[port]))
        })
        .await;
        let lines = eventually(Duration::from_secs(10), "the listening line", || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            async move { text.contains("listening on").then_some(text) }
        })
        .await;
        for line in lines.lines() {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
            assert!(v["level"].is_string() && v["message"].is_string(), "{line}");
            assert!(v["timestamp"].is_string(), "{line}");
        }
        assert!(!lines.contains('\u{1b}'), "colour codes in a file: {lines:?}");
        assert!(!p.stderr_text().contains("listening on"), "{}", p.stderr_text());

        // logrotate: move the file away, then reload.
        let rotated = dir.join("error.log.1");
        std::fs::rename(&log, &rotated).expect("rotate");
        p.reload().await;
        let fresh = eventually(Duration::from_secs(10), "a new error.log", || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            async move { text.contains("error log reopened").then_some(text) }
        })
        .await;
        assert!(serde_json::from_str::<serde_json::Value>(fresh.lines().next().unwrap()).is_ok());
        let old_text = std::fs::read_to_string(&rotated).expect("rotated");
        assert!(old_text.contains("SIGHUP: reloading"), "{old_text}");
    })
    .await;
}

/// The text log on a non-terminal: no colour codes; startup reports the pid and every
/// listen address; a client dropping its TLS handshake is not an error; a failed health
/// check is one line with the peer and the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_log_reports_startup_and_keeps_normal_events_out_of_errors() {
    bounded(async {
        let dir = Dir::new();
        let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conf/tls");
        let dead = free_port();
        let p = Pylon::start_n(&dir, 2, |ports| {
            format!(
                "{basic}[upstreams.dead]\naddrs = [\"127.0.0.1:{dead}\"]\n\
                 health_check = \"tcp://dead?check_frequency=1s&failure=1\"\n\
                 [locations.dead]\npath = \"/dead\"\nupstream = \"dead\"\n{ping}\
                 [servers.tls]\naddr = \"127.0.0.1:{tls}\"\nlocations = [\"ping\", \"dead\"]\n\
                 tls_cert = {cert}\ntls_key = {key}\n",
                basic = dir.basic(""),
                ping = ping_server(&ports[..1]),
                tls = ports[1],
                cert = q(&conf.join("demo-cert.pem").display().to_string()),
                key = q(&conf.join("demo-key.pem").display().to_string()),
            )
        })
        .await;
        let log = p.wait_stderr("is unhealthy").await;
        assert!(log.contains(&format!("serving as pid {}", p.pid())), "{log}");
        for (scheme, port, server) in [("http", p.ports[0], "web"), ("https", p.ports[1], "tls")] {
            let line = format!("listening on {scheme}://127.0.0.1:{port} (server {server})");
            assert!(log.contains(&line), "{line}\n{log}");
        }
        // Clients that give up on the TLS handshake, or speak plain HTTP to it.
        let tls = std::net::SocketAddr::from(([127, 0, 0, 1], p.ports[1]));
        drop(tokio::net::TcpStream::connect(tls).await.expect("connect"));
        exchange(tls, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", Duration::from_millis(500)).await;
        assert_eq!(get(&client(), &p.url("/ping"), None).await.status, 200);
        tokio::time::sleep(Duration::from_millis(300)).await;

        let log = p.stderr_text();
        let unhealthy: Vec<&str> = log.lines().filter(|l| l.contains("is unhealthy")).collect();
        assert_eq!(unhealthy.len(), 1, "{log}");
        assert!(
            unhealthy[0].ends_with(&format!(
                "upstream dead: peer 127.0.0.1:{dead} is unhealthy: connection refused"
            )),
            "{}",
            unhealthy[0]
        );
        assert!(!log.contains('\u{1b}'), "colour codes on a non-terminal");
        let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
        assert!(errors.is_empty(), "{errors:#?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_names_the_commit_and_the_build_date() {
    let (code, out, _) = pylon_cmd(&["--version"]).await;
    assert_eq!(code, 0);
    let line = out.trim();
    let rest = line
        .strip_prefix(&format!("pylon {} (commit ", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{line}"));
    let (commit, rest) = rest.split_once(", built ").unwrap_or_else(|| panic!("{line}"));
    let date = rest.strip_suffix(')').unwrap_or_else(|| panic!("{line}"));
    let git = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match git {
        Some(head) => assert_eq!(commit, head, "{line}"),
        None => assert_eq!(commit, "unknown", "{line}"),
    }
    let d = date.as_bytes();
    assert!(
        d.len() == 10
            && d[4] == b'-'
            && d[7] == b'-'
            && date.replace('-', "").bytes().all(|b| b.is_ascii_digit()),
        "{line}"
    );
}

/// The shipped unit file passes `systemd-analyze verify` (with the binary under test in
/// place of /usr/local/bin/pylon).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_unit_verifies() {
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib/systemd/pylon.service");
    let text = std::fs::read_to_string(&unit).expect("unit file");
    assert!(text.contains("Type=notify") && text.contains("NotifyAccess=all"));
    let dir = Dir::new();
    let path = dir.write("pylon.service", &text.replace("/usr/local/bin/pylon", pylon_bin()));
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("systemd-analyze (apt-get install systemd; .ci/run installs it)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{err}");
}

/// `server_tokens` and `error_details`: by default error pages carry the version but not
/// the routing; both can be switched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_pages_show_version_and_details_only_as_configured() {
    bounded(async {
        let version = env!("CARGO_PKG_VERSION");
        let dir = Dir::new();
        let p =
            Pylon::start(&dir, |port| format!("{}{}", dir.basic(""), ping_server(&[port]))).await;
        let got = get(&client(), &p.url("/secret-path"), None).await;
        assert_eq!(got.status, 404);
        assert_eq!(got.header("server"), Some(format!("pylon-e2e/{version}")));
        assert!(got.body.contains(version), "{}", got.body);
        assert!(!got.body.contains("secret-path"), "{}", got.body);
        assert!(got.body.contains("not found"), "{}", got.body);
        let pong = get(&client(), &p.url("/ping"), None).await;
        assert_eq!(pong.header("server"), Some(format!("pylon-e2e/{version}")));

        let dir = Dir::new();
        let p = Pylon::start(&dir, |port| {
            let extra = "server_tokens = false\nerror_details = true";
            format!("{}{}", basic(&dir, "1s", extra), ping_server(&[port]))
        })
        .await;
        let got = get(&client(), &p.url("/secret-path"), None).await;
        assert_eq!(got.status, 404);
        assert_eq!(got.header("server").as_deref(), Some("pylon-e2e"));
        assert!(!got.body.contains(version), "{}", got.body);
        assert!(got.body.contains("secret-path"), "{}", got.body);
    })
    .await;
}

/// The README's first command on the shipped example: `pylon run -c conf/pylon.toml` (a copy
/// of `conf/`, its fixed ports swapped for free ones) answers `/ping` from a `return`
/// location over http and, with the demo CA, over https; serves the stats document and the
/// admin's health; logs the access in nginx's combined format; keeps its pid file beside
/// itself; and its placeholder upstreams answer 502.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_config_answers_out_of_the_box() {
    bounded(async {
        let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conf");
        let text = std::fs::read_to_string(conf.join("pylon.toml")).expect("conf/pylon.toml");
        let dir = Dir::new();
        std::fs::create_dir(dir.join("tls")).expect("mkdir tls");
        for f in ["demo-cert.pem", "demo-key.pem", "demo-ca.pem"] {
            std::fs::copy(conf.join("tls").join(f), dir.join("tls").join(f)).expect("copy tls");
        }
        // The example's ports, in the order the test's free ports replace them.
        let fixed = ["6188", "6443", "6180", "6190"];
        for port in fixed {
            assert!(text.contains(&format!("127.0.0.1:{port}")), "conf/pylon.toml: {port}");
        }
        let p = Pylon::start_n(&dir, fixed.len(), |ports| {
            fixed
                .iter()
                .zip(ports)
                .fold(text.clone(), |t, (from, to)| t.replace(from, &to.to_string()))
        })
        .await;
        assert_eq!(pid_file_pid(&dir), Some(p.pid()), "the pid file is beside the config");

        let got = get(&client(), &p.url("/ping"), None).await;
        assert_eq!((got.status, got.body.as_str()), (200, "pong\n"));
        let stats = get(&client(), &p.url("/__stats"), None).await;
        assert_eq!(stats.status, 200);
        let doc: serde_json::Value = serde_json::from_str(&stats.body).expect("stats json");
        assert_eq!(doc["version"], env!("CARGO_PKG_VERSION"), "{doc}");
        assert_eq!(doc["locations"]["ping"]["requests"], 1, "{doc}");
        // The catch-all location asks for the demo user, then finds its placeholder
        // upstream (127.0.0.1:8101, localhost:8102) with nothing listening: 502.
        let url = p.url("/index.html");
        let denied = get(&client(), &url, None).await;
        assert_eq!(denied.status, 401, "{denied:?}");
        let demo = client().get(&url).basic_auth("admin", Some("demo")).send().await.expect("get");
        assert_eq!(demo.status(), 502);

        let ca = std::fs::read_to_string(dir.join("tls/demo-ca.pem")).expect("demo ca");
        let tls_addr = std::net::SocketAddr::from(([127, 0, 0, 1], p.ports[1]));
        let stream =
            pylon_testkit::connect_trusting(&ca, tls_addr, "localhost", &[b"http/1.1"]).await;
        let mut h1 = H1Conn::new(stream);
        let r = h1
            .roundtrip(b"GET /ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .expect("https response");
        assert_eq!((r.status, r.text().as_str()), (200, "pong\n"));

        let health =
            get(&client(), &format!("http://127.0.0.1:{}/api/health", p.ports[3]), None).await;
        assert_eq!(health.status, 200, "{health:?}");

        let access = eventually(Duration::from_secs(10), "the access-log line of /ping", || {
            let out = p.stdout_text();
            async move { out.contains("\"GET /ping HTTP/1.1\" 200 5").then_some(out) }
        })
        .await;
        assert!(access.starts_with("127.0.0.1 - - ["), "{access}");
    })
    .await;
}
