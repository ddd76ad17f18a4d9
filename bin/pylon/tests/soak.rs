//! Soak tests (issue 6): "Operators must never lose a request when they change config or
//! the binary." Every scenario runs continuous traffic across a lifecycle event (SPEC §9)
//! and counts all of it:
//! - two HTTP/1.1 keep-alive loops sharing one pooled client, one HTTP/2 (h2c prior
//!   knowledge) loop, all hitting the fast location `/fast`;
//! - slow requests (`/slow`, the upstream answers after 2 s), started and seen by the
//!   upstream just before each event, so they are in flight across it;
//! - a WebSocket session (`/ws`, the upstream echoes) that sends a message every 100 ms
//!   and checks every echo.
//!
//! No client-side retries: a request that fails is a failure. (hyper itself re-sends a
//! request on a new connection when the pooled one was closed before the request was
//! written; that is ordinary client behaviour.)

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt as _, StreamExt as _};
use nix::sys::signal::Signal;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::util::*;

/// How long the slow upstream takes to answer.
const SLOW: Duration = Duration::from_secs(2);
/// Pause between two requests of one client loop.
const PACE: Duration = Duration::from_millis(10);
/// Pause between two WebSocket messages.
const WS_PACE: Duration = Duration::from_millis(100);

/// The upstreams every scenario proxies to.
struct Ups {
    a: Upstream,
    b: Upstream,
    slow: Upstream,
    ws: WsEcho,
}

impl Ups {
    async fn start() -> Ups {
        let slow = Upstream::start("slow").await;
        slow.set_delay(SLOW);
        Ups {
            a: Upstream::start("a").await,
            b: Upstream::start("b").await,
            slow,
            ws: WsEcho::start().await,
        }
    }

    /// The upstream `/fast` goes to in generation `generation`.
    fn fast_name(generation: u32) -> &'static str {
        if generation % 2 == 0 { "a" } else { "b" }
    }
}

/// The soak config, generation `generation`: `/fast` goes to upstream `a` (even
/// generations) or `b` (odd), and `/fast` and `/slow` answer `X-Gen: GENERATION`. The
/// server listens on every port of `ports`.
fn config(dir: &Dir, ports: &[u16], ups: &Ups, generation: u32, grace_period: &str) -> String {
    let addr: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    format!(
        "[basic]\nname = \"pylon-soak\"\nthreads = 1\ngrace_period = {grace}\n\
         graceful_shutdown_timeout = \"1s\"\npid_file = {pid}\nupgrade_sock = {sock}\n\
         log_level = \"info\"\n\
         [upstreams.a]\naddrs = [{a}]\n[upstreams.b]\naddrs = [{b}]\n\
         [upstreams.slow]\naddrs = [{slow}]\n[upstreams.ws]\naddrs = [{ws}]\n\
         [locations.fast]\nupstream = {fast}\npath = \"/fast\"\n\
         response_set_headers = [\"X-Gen: {generation}\"]\n\
         [locations.slow]\nupstream = \"slow\"\npath = \"/slow\"\n\
         response_set_headers = [\"X-Gen: {generation}\"]\n\
         [locations.ws]\nupstream = \"ws\"\npath = \"/ws\"\n\
         [servers.main]\naddr = {addr}\nlocations = [\"fast\", \"slow\", \"ws\"]\n",
        grace = q(grace_period),
        pid = q(&dir.join("pylon.pid").display().to_string()),
        sock = q(&dir.join("upgrade.sock").display().to_string()),
        a = q(&ups.a.addr.to_string()),
        b = q(&ups.b.addr.to_string()),
        slow = q(&ups.slow.addr.to_string()),
        ws = q(&ups.ws.addr.to_string()),
        fast = q(Ups::fast_name(generation)),
        addr = q(&addr.join(",")),
    )
}

/// A reqwest builder. pingora's rustls provider is installed first: when the whole
/// workspace is built, reqwest may carry a rustls backend without a provider.
fn builder() -> reqwest::ClientBuilder {
    crate::util::client_builder()
}

/// An error with its source chain, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// Counts of one client kind.
#[derive(Debug, Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    /// Connections refused once refusals are expected (a shutdown's drain started).
    refused: AtomicU64,
}

impl Tally {
    fn ok(&self) -> u64 {
        self.ok.load(Ordering::SeqCst)
    }

    fn failed(&self) -> u64 {
        self.failed.load(Ordering::SeqCst)
    }

    fn refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
    }
}

/// The continuous client loops of a scenario.
struct Traffic {
    stop: Arc<AtomicBool>,
    /// Once set, a connect error counts as `refused` instead of `failed`.
    refusals_expected: Arc<AtomicBool>,
    h1: Arc<Tally>,
    h2: Arc<Tally>,
    failures: Arc<Mutex<Vec<String>>>,
    /// Per loop, the `X-Gen` of every successful response, in order.
    loops: Vec<JoinHandle<Vec<u32>>>,
}

impl Traffic {
    /// Two HTTP/1.1 loops on one pooled keep-alive client and one h2c loop, on `url`.
    fn start(url: &str, t0: Instant) -> Traffic {
        Traffic::start_n(url, t0, 2, 1)
    }

    /// `h1` HTTP/1.1 loops on one pooled keep-alive client and `h2` h2c loops on one client.
    fn start_n(url: &str, t0: Instant, h1: usize, h2: usize) -> Traffic {
        let h1_client = builder()
            .no_proxy()
            .http1_only()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("h1 client");
        let h2_client = builder()
            .no_proxy()
            .http2_prior_knowledge()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("h2 client");
        let mut t = Traffic {
            stop: Arc::default(),
            refusals_expected: Arc::default(),
            h1: Arc::default(),
            h2: Arc::default(),
            failures: Arc::default(),
            loops: Vec::new(),
        };
        let kinds = std::iter::repeat_n("h1", h1).chain(std::iter::repeat_n("h2", h2));
        for kind in kinds {
            let c = if kind == "h1" { h1_client.clone() } else { h2_client.clone() };
            let tally = if kind == "h1" { t.h1.clone() } else { t.h2.clone() };
            let handle = tokio::spawn(client_loop(
                kind,
                c,
                url.to_owned(),
                tally,
                t.stop.clone(),
                t.refusals_expected.clone(),
                t.failures.clone(),
                t0,
            ));
            t.loops.push(handle);
        }
        t
    }

    /// Stop the loops; returns every loop's sequence of `X-Gen` values.
    async fn stop(self) -> (Vec<Vec<u32>>, Vec<String>, Arc<Tally>, Arc<Tally>) {
        self.stop.store(true, Ordering::SeqCst);
        let mut gens = Vec::new();
        for l in self.loops {
            gens.push(l.await.expect("client loop"));
        }
        let failures = self.failures.lock().expect("failures").clone();
        (gens, failures, self.h1, self.h2)
    }
}

#[expect(clippy::too_many_arguments, reason = "one loop's whole context")]
async fn client_loop(
    kind: &'static str,
    c: reqwest::Client,
    url: String,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    refusals_expected: Arc<AtomicBool>,
    failures: Arc<Mutex<Vec<String>>>,
    t0: Instant,
) -> Vec<u32> {
    let want = if kind == "h2" { reqwest::Version::HTTP_2 } else { reqwest::Version::HTTP_11 };
    let mut gens = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let failure = match c.get(&url).send().await {
            Ok(r) => {
                let (status, version) = (r.status(), r.version());
                let generation =
                    r.headers().get("x-gen").and_then(|v| v.to_str().ok()?.parse::<u32>().ok());
                match r.bytes().await {
                    Ok(_) if status == 200 && version == want && generation.is_some() => {
                        gens.extend(generation);
                        None
                    }
                    Ok(body) => Some(format!(
                        "{status} {version:?} x-gen {generation:?}: {}",
                        String::from_utf8_lossy(&body)
                    )),
                    Err(e) => Some(format!("{status}, reading the body: {}", chain(&e))),
                }
            }
            Err(e) if e.is_connect() && refusals_expected.load(Ordering::SeqCst) => {
                tally.refused.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(PACE).await;
                continue;
            }
            Err(e) => Some(chain(&e)),
        };
        match failure {
            None => {
                tally.ok.fetch_add(1, Ordering::SeqCst);
            }
            Some(what) => {
                tally.failed.fetch_add(1, Ordering::SeqCst);
                let line = format!("{kind} at {:.3}s: {what}", t0.elapsed().as_secs_f64());
                eprintln!("{line}");
                failures.lock().expect("failures").push(line);
            }
        }
        tokio::time::sleep(PACE).await;
    }
    gens
}

/// What a slow request got: status and `X-Gen`, or the error.
type SlowResult = Result<(u16, Option<u32>), String>;

/// Start `n` slow requests (one connection each) and wait until the slow upstream has
/// seen all of them: they are in flight when this returns.
async fn start_slow(url: &str, n: usize, slow: &Upstream) -> Vec<JoinHandle<SlowResult>> {
    let before = slow.hits();
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let url = url.to_owned();
            tokio::spawn(async move {
                let c = fresh_client();
                let r = c.get(&url).send().await.map_err(|e| chain(&e))?;
                let status = r.status().as_u16();
                let generation =
                    r.headers().get("x-gen").and_then(|v| v.to_str().ok()?.parse::<u32>().ok());
                r.bytes().await.map_err(|e| chain(&e))?;
                Ok((status, generation))
            })
        })
        .collect();
    eventually(Duration::from_secs(5), "slow requests reach the upstream", || async {
        (slow.hits() >= before + n).then_some(())
    })
    .await;
    handles
}

async fn finish_slow(handles: Vec<JoinHandle<SlowResult>>) -> Vec<SlowResult> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("slow request task"));
    }
    out
}

/// What a WebSocket session saw.
#[derive(Debug)]
struct WsReport {
    sent: u64,
    echoed: u64,
    /// The first error (connect, send, receive, wrong echo) and when it happened.
    error: Option<(Instant, String)>,
    /// When the last message whose echo arrived was sent.
    last_echoed_sent_at: Option<Instant>,
}

/// A WebSocket session on `url`: a numbered text message every 100 ms, each echo awaited
/// (5 s) and checked, until `stop` is set (then a clean close) or an error ends it.
fn ws_session(url: String, stop: Arc<AtomicBool>) -> JoinHandle<WsReport> {
    tokio::spawn(async move {
        let mut report = WsReport { sent: 0, echoed: 0, error: None, last_echoed_sent_at: None };
        let mut ws = match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok((ws, _)) => ws,
            Err(e) => {
                report.error = Some((Instant::now(), format!("connect: {}", chain(&e))));
                return report;
            }
        };
        loop {
            if stop.load(Ordering::SeqCst) {
                let closed = tokio::time::timeout(Duration::from_secs(2), async {
                    ws.close(None).await.map_err(|e| chain(&e))?;
                    while let Some(msg) = ws.next().await {
                        msg.map_err(|e| chain(&e))?;
                    }
                    Ok::<(), String>(())
                })
                .await;
                match closed {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => report.error = Some((Instant::now(), format!("close: {e}"))),
                    Err(_) => report.error = Some((Instant::now(), "close timed out".into())),
                }
                return report;
            }
            let n = report.sent + 1;
            let sent_at = Instant::now();
            if let Err(e) = ws.send(Message::text(n.to_string())).await {
                report.error = Some((Instant::now(), format!("send #{n}: {}", chain(&e))));
                return report;
            }
            report.sent = n;
            let echo = tokio::time::timeout(Duration::from_secs(5), async {
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Text(t))) => return Ok(t.to_string()),
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(other)) => return Err(format!("got {other:?}")),
                        Some(Err(e)) => return Err(chain(&e)),
                        None => return Err("connection ended".to_owned()),
                    }
                }
            })
            .await;
            match echo {
                Ok(Ok(t)) if t == n.to_string() => {
                    report.echoed += 1;
                    report.last_echoed_sent_at = Some(sent_at);
                }
                Ok(Ok(t)) => {
                    report.error = Some((Instant::now(), format!("echo of #{n} was {t:?}")));
                    return report;
                }
                Ok(Err(e)) => {
                    report.error = Some((Instant::now(), format!("echo of #{n}: {e}")));
                    return report;
                }
                Err(_) => {
                    report.error = Some((Instant::now(), format!("echo of #{n} timed out")));
                    return report;
                }
            }
            tokio::time::sleep(WS_PACE).await;
        }
    })
}

fn ws_url(port: u16) -> String {
    format!("ws://127.0.0.1:{port}/ws")
}

/// Print a scenario's counts.
fn print_counts(
    scenario: &str,
    t0: Instant,
    h1: &Tally,
    h2: &Tally,
    slow: &[SlowResult],
    ws: &[&WsReport],
) {
    let slow_ok = slow.iter().filter(|r| matches!(r, Ok((200, _)))).count();
    let ws_sent: u64 = ws.iter().map(|r| r.sent).sum();
    let ws_echoed: u64 = ws.iter().map(|r| r.echoed).sum();
    eprintln!(
        "soak {scenario} ({:.1}s): h1 ok {} failed {} refused {}; h2 ok {} failed {} refused {}; \
         slow {slow_ok}/{} ok; ws sessions {} sent {ws_sent} echoed {ws_echoed}",
        t0.elapsed().as_secs_f64(),
        h1.ok(),
        h1.failed(),
        h1.refused(),
        h2.ok(),
        h2.failed(),
        h2.refused(),
        slow.len(),
        ws.len(),
    );
}

/// Every slow request answered 200 with the `X-Gen` of the config it started with.
fn assert_slow(results: &[SlowResult], generation: u32, log: &str) {
    for r in results {
        match r {
            Ok((200, g)) => assert_eq!(
                *g,
                Some(generation),
                "an in-flight request did not finish on the config it started with"
            ),
            other => panic!("slow request: {other:?}\npylon log:\n{log}"),
        }
    }
}

/// The session never failed and every message was echoed.
fn assert_ws_clean(r: &WsReport, what: &str, log: &str) {
    assert!(r.error.is_none(), "{what}: {:?}\npylon log:\n{log}", r.error);
    assert_eq!(r.sent, r.echoed, "{what}: lost echoes");
    assert!(r.sent >= 5, "{what}: the session barely ran ({} messages)", r.sent);
}

fn assert_no_failures(failures: &[String], h1: &Tally, h2: &Tally, log: &str) {
    assert!(
        failures.is_empty(),
        "{} requests failed: {failures:#?}\npylon log:\n{log}",
        failures.len()
    );
    // Floors that prove the loops ran through the scenario, low enough for a 2-core box
    // where the rest of this suite runs alongside (seen under load: h1 35, h2 17 in a
    // 3.4 s drain scenario; 50/25 failed there).
    assert!(h1.ok() >= 20, "the h1 loops barely ran: {}", h1.ok());
    assert!(h2.ok() >= 10, "the h2 loop barely ran: {}", h2.ok());
}

/// Scenario 1: five hot reloads, alternately `pylon reload` (SIGHUP) and an edit picked
/// up by `--watch`, each moving `/fast` to the other upstream with a new `X-Gen`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_five_hot_reloads() {
    bounded(async {
        let dir = Dir::new();
        let ups = Ups::start().await;
        let p =
            Pylon::start_with(&dir, 1, &["--watch"], |ports| config(&dir, ports, &ups, 0, "1s"))
                .await;
        let port = p.ports[0];
        let t0 = Instant::now();
        let traffic = Traffic::start(&p.url("/fast"), t0);
        let ws_stop = Arc::new(AtomicBool::new(false));
        let ws = ws_session(ws_url(port), ws_stop.clone());
        tokio::time::sleep(Duration::from_millis(300)).await;

        let probe = fresh_client();
        let mut slow = Vec::new();
        for generation in 1..=5u32 {
            // Slow requests on the previous generation are in flight across the reload.
            slow.push((generation - 1, start_slow(&p.url("/slow"), 3, &ups.slow).await));
            dir.write("pylon.toml", &config(&dir, &p.ports, &ups, generation, "1s"));
            let by_signal = generation % 2 == 1;
            let at = Instant::now();
            if by_signal {
                p.reload().await;
            }
            let want = (generation.to_string(), Ups::fast_name(generation).to_owned());
            eventually(Duration::from_secs(10), "the reloaded route serves", || {
                let (probe, url, want) = (probe.clone(), p.url("/fast"), want.clone());
                async move {
                    let got = get(&probe, &url, None).await;
                    (got.status == 200
                        && got.header("x-gen").as_deref() == Some(want.0.as_str())
                        && got.upstream() == want.1)
                        .then_some(())
                }
            })
            .await;
            eprintln!(
                "soak reload {generation} ({}): served after {:?}",
                if by_signal { "pylon reload" } else { "--watch" },
                at.elapsed()
            );
        }
        // Some traffic on the last generation, then stop everything.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut slow_results = Vec::new();
        for (generation, handles) in slow {
            let results = finish_slow(handles).await;
            assert_slow(&results, generation, &p.stderr_text());
            slow_results.extend(results);
        }
        ws_stop.store(true, Ordering::SeqCst);
        let ws = ws.await.expect("ws session");
        let (gens, failures, h1, h2) = traffic.stop().await;
        print_counts("5 hot reloads", t0, &h1, &h2, &slow_results, &[&ws]);

        let log = p.stderr_text();
        assert_no_failures(&failures, &h1, &h2, &log);
        assert_ws_clean(&ws, "ws session across 5 reloads", &log);
        for seq in &gens {
            // One loop's requests are sequential: once it saw a generation it never sees
            // an older one (the swap is atomic).
            assert!(seq.windows(2).all(|w| w[0] <= w[1]), "X-Gen went backwards: {seq:?}");
            assert_eq!(seq.last(), Some(&5), "a loop never saw the last generation");
        }
        assert!(log.matches("SIGHUP: reloading").count() >= 3, "{log}");
        assert!(log.matches("config file changed, reloading").count() >= 2, "{log}");
        assert!(!log.contains("successor started"), "a route change spawned a successor:\n{log}");
        assert!(!log.contains("reload refused"), "{log}");
    })
    .await;
}

/// Scenario 2: a binary upgrade (`pylon run -c FILE --upgrade`, the same binary) under
/// traffic: the new process takes the sockets, the old one drains and exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_binary_upgrade() {
    bounded(async {
        let dir = Dir::new();
        let ups = Ups::start().await;
        let mut old = Pylon::start_n(&dir, 1, |ports| config(&dir, ports, &ups, 0, "1s")).await;
        let port = old.ports[0];
        assert_eq!(pid_file_pid(&dir), Some(old.pid()));
        let t0 = Instant::now();
        let traffic = Traffic::start(&old.url("/fast"), t0);
        let ws_stop = Arc::new(AtomicBool::new(false));
        let ws = ws_session(ws_url(port), ws_stop.clone());
        tokio::time::sleep(Duration::from_millis(500)).await;

        let slow = start_slow(&old.url("/slow"), 4, &ups.slow).await;
        let at = Instant::now();
        let mut new = Pylon::spawn_upgrade(&dir, &old, "upgrade", &[]);
        let new_pid = new.pid();
        eventually(Duration::from_secs(15), "the pid file names the new process", || async {
            (pid_file_pid(&dir) == Some(new_pid)).then_some(())
        })
        .await;
        eprintln!("soak upgrade: pid file names the new process after {:?}", at.elapsed());
        // The WebSocket session lives on the old process: it runs across the hand-over and
        // ends (cleanly, from the client) while the old process still serves (pingora keeps
        // the old listener ~5 s, then drains for grace_period).
        tokio::time::sleep_until((at + Duration::from_secs(3)).into()).await;
        ws_stop.store(true, Ordering::SeqCst);
        let ws = ws.await.expect("ws session");
        let slow = finish_slow(slow).await;

        let status = old.wait_exit(Duration::from_secs(20)).await;
        eprintln!("soak upgrade: old process exited {status:?} after {:?}", at.elapsed());
        let log = format!("--- old\n{}\n--- new\n{}", old.stderr_text(), new.stderr_text());
        assert!(status.is_some_and(|s| s.success()), "old process: {status:?}\n{log}");
        // Only the new process can serve now: traffic keeps succeeding, a new WebSocket
        // session works.
        let (h1_before, h2_before) = (traffic.h1.ok(), traffic.h2.ok());
        let ws2_stop = Arc::new(AtomicBool::new(false));
        let ws2 = ws_session(ws_url(port), ws2_stop.clone());
        tokio::time::sleep(Duration::from_secs(1)).await;
        ws2_stop.store(true, Ordering::SeqCst);
        let ws2 = ws2.await.expect("ws session 2");
        let (_, failures, h1, h2) = traffic.stop().await;
        print_counts("binary upgrade", t0, &h1, &h2, &slow, &[&ws, &ws2]);

        assert!(new.exited().is_none(), "the new process exited\n{log}");
        assert_eq!(pid_file_pid(&dir), Some(new_pid), "{log}");
        assert_no_failures(&failures, &h1, &h2, &log);
        assert_slow(&slow, 0, &log);
        assert_ws_clean(&ws, "ws session across the upgrade", &log);
        assert_ws_clean(&ws2, "ws session on the new process", &log);
        assert!(h1.ok() > h1_before + 10, "h1 not served by the new process\n{log}");
        assert!(h2.ok() > h2_before + 5, "h2 not served by the new process\n{log}");
        let got = get(&fresh_client(), &old.url("/fast"), None).await;
        assert_eq!(got.status, 200, "{log}");
    })
    .await;
}

/// Scenario 3: a reload that adds a listen address: pylon spawns its successor
/// (`pylon run --upgrade`) itself, which takes the old socket over and binds the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_listener_change_by_reload() {
    bounded(async {
        let dir = Dir::new();
        let ups = Ups::start().await;
        let successors = PidGuard::default();
        let extra = free_port();
        let mut old = Pylon::start_n(&dir, 1, |ports| config(&dir, ports, &ups, 0, "1s")).await;
        let port = old.ports[0];
        let t0 = Instant::now();
        let traffic = Traffic::start(&old.url("/fast"), t0);
        let ws_stop = Arc::new(AtomicBool::new(false));
        let ws = ws_session(ws_url(port), ws_stop.clone());
        tokio::time::sleep(Duration::from_millis(500)).await;

        let slow = start_slow(&old.url("/slow"), 4, &ups.slow).await;
        dir.write("pylon.toml", &config(&dir, &[port, extra], &ups, 1, "1s"));
        let at = Instant::now();
        old.reload().await;
        let successor = eventually(Duration::from_secs(15), "a successor in the pid file", || {
            let pid = pid_file_pid(&dir).filter(|&pid| pid != old.pid());
            if let Some(pid) = pid {
                successors.track(pid);
            }
            async move { pid }
        })
        .await;
        eprintln!("soak listener change: successor {successor} after {:?}", at.elapsed());
        let probe = fresh_client();
        let extra_url = format!("http://127.0.0.1:{extra}/fast");
        eventually(Duration::from_secs(10), "the added address serves", || {
            let (probe, url) = (probe.clone(), extra_url.clone());
            async move {
                let r = probe.get(&url).send().await.ok()?;
                (r.status() == 200).then_some(())
            }
        })
        .await;
        tokio::time::sleep_until((at + Duration::from_secs(3)).into()).await;
        ws_stop.store(true, Ordering::SeqCst);
        let ws = ws.await.expect("ws session");
        let slow = finish_slow(slow).await;

        // The successor's output goes where the old process's went (inherited).
        let status = old.wait_exit(Duration::from_secs(20)).await;
        eprintln!("soak listener change: old process exited {status:?} after {:?}", at.elapsed());
        let log = old.stderr_text();
        assert!(status.is_some_and(|s| s.success()), "old process: {status:?}\n{log}");
        let (h1_before, h2_before) = (traffic.h1.ok(), traffic.h2.ok());
        let ws2_stop = Arc::new(AtomicBool::new(false));
        let ws2 = ws_session(ws_url(extra), ws2_stop.clone());
        tokio::time::sleep(Duration::from_secs(1)).await;
        ws2_stop.store(true, Ordering::SeqCst);
        let ws2 = ws2.await.expect("ws session 2");
        let (_, failures, h1, h2) = traffic.stop().await;
        print_counts("listener change", t0, &h1, &h2, &slow, &[&ws, &ws2]);

        let log = old.stderr_text();
        assert!(is_pylon(successor), "the successor is gone\n{log}");
        assert_eq!(pid_file_pid(&dir), Some(successor), "{log}");
        assert!(log.contains("successor started"), "{log}");
        assert_no_failures(&failures, &h1, &h2, &log);
        assert_slow(&slow, 0, &log);
        assert_ws_clean(&ws, "ws session across the listener change", &log);
        assert_ws_clean(&ws2, "ws session on the added address", &log);
        assert!(h1.ok() > h1_before + 10, "h1 not served by the successor\n{log}");
        assert!(h2.ok() > h2_before + 5, "h2 not served by the successor\n{log}");
        for url in [old.url("/fast"), extra_url] {
            let got = get(&probe, &url, None).await;
            assert_eq!((got.status, got.header("x-gen")), (200, Some("1".into())), "{url}\n{log}");
        }
    })
    .await;
}

/// Probe once: does a new connection to `port` get refused (`Some(true)`), or is it
/// accepted (`Some(false)`)? `None` = something else happened (reset, timeout).
async fn refused(port: u16) -> Option<bool> {
    match tokio::time::timeout(
        Duration::from_secs(1),
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    {
        Ok(Ok(_)) => Some(false),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Some(true),
        _ => None,
    }
}

/// A probe while draining: a refused connection, or one that is answered or closed
/// promptly (the kernel may still complete a handshake into the backlog while pingora's
/// listener task is closing the socket; that connection is then reset), is fine. `false`
/// means the connection was accepted and left hanging.
async fn drain_probe_ok(port: u16) -> bool {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let connect = tokio::net::TcpStream::connect(("127.0.0.1", port));
    let mut s = match tokio::time::timeout(Duration::from_secs(1), connect).await {
        Ok(Ok(s)) => s,
        _ => return true,
    };
    let _ = s.write_all(b"GET /fast HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n").await;
    let mut buf = [0u8; 256];
    tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf)).await.is_ok()
}

/// Scenario 4a: SIGQUIT (graceful drain) with slow requests in flight and no successor.
///
/// With no successor waiting on `upgrade_sock`, pylon turns SIGQUIT into a plain drain:
/// it stops accepting at once and serves what is in flight for `grace_period` (pingora's
/// hand-over path would first retry 5 s and keep accepting 5 s more). The bound below
/// still allows for that older path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_sigquit_drains_in_flight_requests() {
    const GRACE: Duration = Duration::from_secs(2);
    bounded(async {
        let dir = Dir::new();
        let ups = Ups::start().await;
        let mut p = Pylon::start_n(&dir, 1, |ports| config(&dir, ports, &ups, 0, "2s")).await;
        let port = p.ports[0];
        let t0 = Instant::now();
        let traffic = Traffic::start(&p.url("/fast"), t0);
        let ws_stop = Arc::new(AtomicBool::new(false));
        let ws = ws_session(ws_url(port), ws_stop.clone());
        tokio::time::sleep(Duration::from_millis(500)).await;

        let slow = start_slow(&p.url("/slow"), 4, &ups.slow).await;
        // From the signal on, a refused connection is the expected answer.
        traffic.refusals_expected.store(true, Ordering::SeqCst);
        let at = Instant::now();
        p.signal(Signal::SIGQUIT);
        // Until the drain starts new connections are still accepted; once it has, every
        // new connection is refused (no connection is accepted and then left hanging).
        let mut drain_started = None;
        let mut probes_after_drain = 0;
        let status = loop {
            if let Some(status) = p.exited() {
                break Some(status);
            }
            if at.elapsed() > Duration::from_secs(10) + GRACE + Duration::from_secs(6) {
                break None;
            }
            let draining = p.stderr_text().contains("Graceful shutdown started");
            let probe = refused(port).await;
            if draining {
                drain_started.get_or_insert_with(|| at.elapsed());
                // The process may exit between the check and the probe: only a connection
                // accepted and then left hanging while draining is wrong.
                if probe == Some(false) {
                    assert!(
                        drain_probe_ok(port).await,
                        "a new connection was accepted and left hanging while draining"
                    );
                }
                probes_after_drain += 1;
            } else if probe == Some(true) && p.exited().is_none() {
                let log = p.stderr_text();
                if !log.contains("Graceful shutdown started") {
                    panic!("refused before the drain started\n{log}");
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let exited_after = at.elapsed();
        eprintln!(
            "soak SIGQUIT: drain started after {drain_started:?}, exit {status:?} after \
             {exited_after:?}"
        );
        let slow = finish_slow(slow).await;
        ws_stop.store(true, Ordering::SeqCst);
        let ws = ws.await.expect("ws session");
        let (_, failures, h1, h2) = traffic.stop().await;
        print_counts("SIGQUIT", t0, &h1, &h2, &slow, &[&ws]);

        let log = p.stderr_text();
        assert!(status.is_some_and(|s| s.success()), "exit: {status:?}\n{log}");
        assert!(drain_started.is_some() && probes_after_drain >= 3, "no drain seen\n{log}");
        assert_slow(&slow, 0, &log);
        assert_no_failures(&failures, &h1, &h2, &log);
        assert!(h1.refused() > 0 && h2.refused() > 0, "the loops never saw the listener close");
        assert_eq!(pid_file_pid(&dir), None, "the pid file outlived the process");
        // The WebSocket session keeps working after the signal: SPEC §9 has the process
        // keep serving for grace_period after a shutdown signal, so a server-side close
        // (the runtime ending) is acceptable only after that. Every message sent before it
        // was echoed, except possibly the one in flight at the close.
        let (closed_at, why) = ws.error.clone().expect("the server never closed the session");
        assert!(
            closed_at >= at + GRACE,
            "the WebSocket was closed {:?} after the signal, before grace_period: {why}",
            closed_at - at
        );
        assert!(ws.echoed + 1 >= ws.sent, "lost echoes: {ws:?}");
        // It was served through the whole grace period (100 ms between messages).
        let served_until = at + GRACE - Duration::from_millis(250);
        assert!(ws.last_echoed_sent_at.is_some_and(|t| t >= served_until), "{ws:?}");
    })
    .await;
}

/// Scenario 4b: SIGTERM with slow requests in flight and a long grace_period: the
/// listener closes at once, in-flight requests finish, and the process exits soon after
/// the last one instead of sitting out grace_period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_sigterm_finishes_in_flight_requests_then_exits() {
    bounded(async {
        let dir = Dir::new();
        let ups = Ups::start().await;
        let mut p = Pylon::start_n(&dir, 1, |ports| config(&dir, ports, &ups, 0, "20s")).await;
        let port = p.ports[0];
        let t0 = Instant::now();
        let traffic = Traffic::start(&p.url("/fast"), t0);
        let ws_stop = Arc::new(AtomicBool::new(false));
        let ws = ws_session(ws_url(port), ws_stop.clone());
        tokio::time::sleep(Duration::from_millis(500)).await;

        let slow = start_slow(&p.url("/slow"), 4, &ups.slow).await;
        traffic.refusals_expected.store(true, Ordering::SeqCst);
        let at = Instant::now();
        p.signal(Signal::SIGTERM);
        // SIGTERM stops accepting at once.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let probe = refused(port).await;
        // The WebSocket session is a request in flight too: its client ends it a second
        // after the signal (a server-side close after the signal is also acceptable for a
        // fast shutdown; what must hold is that every exchange begun before it completes).
        tokio::time::sleep_until((at + Duration::from_secs(1)).into()).await;
        ws_stop.store(true, Ordering::SeqCst);
        let slow = finish_slow(slow).await;
        let slow_done = at.elapsed();
        let status = p.wait_exit(Duration::from_secs(25)).await;
        let exited_after = at.elapsed();
        eprintln!(
            "soak SIGTERM: slow requests done after {slow_done:?}, exit {status:?} after \
             {exited_after:?}"
        );
        let ws = ws.await.expect("ws session");
        let (_, failures, h1, h2) = traffic.stop().await;
        print_counts("SIGTERM", t0, &h1, &h2, &slow, &[&ws]);

        let log = p.stderr_text();
        assert_eq!(probe, Some(true), "a new connection after SIGTERM was not refused\n{log}");
        assert_slow(&slow, 0, &log);
        assert!(status.is_some_and(|s| s.success()), "exit: {status:?}\n{log}");
        assert!(
            exited_after < Duration::from_secs(6),
            "exited {exited_after:?} after SIGTERM (grace_period 20s, last request done \
             after {slow_done:?})\n{log}"
        );
        assert_eq!(pid_file_pid(&dir), None, "the pid file outlived the process");
        assert_no_failures(&failures, &h1, &h2, &log);
        match &ws.error {
            None => assert_eq!(ws.sent, ws.echoed, "{ws:?}"),
            Some((when, why)) => {
                assert!(*when >= at, "the WebSocket failed before the signal: {why}");
                assert!(ws.echoed + 1 >= ws.sent, "lost echoes: {ws:?}");
                assert!(ws.last_echoed_sent_at.is_some_and(|t| t >= at), "{ws:?}");
            }
        }
    })
    .await;
}
