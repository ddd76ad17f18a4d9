//! Hostile and edge input (SPEC §7), shutdown by SIGTERM (§9), `$host` as nginx has it,
//! and the CLI extras: each was a bug found by this suite, kept as a regression test.

use std::time::{Duration, Instant};

use crate::util::*;

fn ret_config(dir: &Dir, port: u16, server_extra: &str) -> String {
    format!(
        "{basic}[locations.ok]\npath = \"/\"\nreturn = \"200 ok\"\n\
         [servers.main]\naddr = \"127.0.0.1:{port}\"\nlocations = [\"ok\"]\n{server_extra}",
        basic = dir.basic(""),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_request_line_gets_400_and_close() {
    bounded(async {
        let dir = Dir::new();
        let p = Pylon::start(&dir, |port| ret_config(&dir, port, "")).await;
        let got = exchange(p.addr(), b"GARBAGE\r\n\r\n", Duration::from_secs(5)).await;
        assert_eq!(got.only().status, 400, "{got:?}");
        assert!(got.closed);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_and_transfer_encoding_gets_400() {
    bounded(async {
        let dir = Dir::new();
        let p = Pylon::start(&dir, |port| ret_config(&dir, port, "")).await;
        let req = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        let got = exchange(p.addr(), req, Duration::from_secs(5)).await;
        assert_eq!(got.only().status, 400, "{got:?}");
        assert!(got.closed);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_read_timeout_closes_slow_clients() {
    bounded(async {
        let dir = Dir::new();
        let p = Pylon::start(&dir, |port| ret_config(&dir, port, "header_read_timeout = \"1s\"\n"))
            .await;
        let started = Instant::now();
        let got =
            exchange(p.addr(), b"GET / HTTP/1.1\r\nHost: a\r\n", Duration::from_secs(5)).await;
        assert!(
            got.closed && got.responses.is_empty() && started.elapsed() < Duration::from_secs(3),
            "{got:?} after {:?}",
            started.elapsed()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_page_that_closes_says_connection_close() {
    bounded(async {
        let dir = Dir::new();
        let p =
            Pylon::start(&dir, |port| ret_config(&dir, port, "max_header_size = \"1kb\"\n")).await;
        let req = format!("GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n", "b".repeat(4096));
        let got = exchange(p.addr(), req.as_bytes(), Duration::from_secs(5)).await;
        assert_eq!(got.only().status, 431, "{got:?}");
        assert!(got.closed);
        assert_eq!(
            got.only().header("connection").map(|v| v.to_ascii_lowercase()).as_deref(),
            Some("close")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeout_zero_disables_reuse() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("up").await;
        let log = dir.join("reuse.log");
        let p = Pylon::start(&dir, |port| {
            format!(
                "{basic}[upstreams.nopool]\naddrs = [{addr}]\nidle_timeout = \"0s\"\n\
                 [locations.nopool]\nupstream = \"nopool\"\npath = \"/\"\n\
                 [servers.main]\naddr = \"127.0.0.1:{port}\"\nlocations = [\"nopool\"]\n\
                 access_log = \"{{connection_reused}}\"\naccess_log_path = {log}\n",
                basic = dir.basic(""),
                addr = q(&up.addr.to_string()),
                log = q(&log.display().to_string()),
            )
        })
        .await;
        let c = client();
        for _ in 0..4 {
            assert_eq!(get(&c, &p.url("/"), None).await.status, 200);
        }
        let text = eventually(Duration::from_secs(5), "4 lines", || {
            let t = std::fs::read_to_string(&log).unwrap_or_default();
            async move { (t.lines().count() >= 4).then_some(t) }
        })
        .await;
        assert_eq!(text, "false\nfalse\nfalse\nfalse\n");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_is_a_fast_shutdown() {
    bounded(async {
        let dir = Dir::new();
        let mut p = Pylon::start(&dir, |port| {
            ret_config(&dir, port, "")
                .replace("grace_period = \"1s\"", "grace_period = \"10s\"")
                .replace(
                    "graceful_shutdown_timeout = \"1s\"",
                    "graceful_shutdown_timeout = \"10s\"",
                )
        })
        .await;
        let started = Instant::now();
        p.signal(nix::sys::signal::Signal::SIGTERM);
        let status = p.wait_exit(Duration::from_secs(15)).await;
        assert!(status.is_some(), "pylon did not exit on SIGTERM");
        assert!(started.elapsed() < Duration::from_secs(3), "SIGTERM took {:?}", started.elapsed());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_variable_is_lowercase_without_port() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("up").await;
        let p = Pylon::start(&dir, |port| {
            format!(
                "{basic}[upstreams.up]\naddrs = [{addr}]\n[locations.h]\nupstream = \"up\"\npath = \"/\"\n\
                 proxy_set_headers = [\"X-Host: $host\"]\n\
                 [servers.main]\naddr = \"127.0.0.1:{port}\"\nlocations = [\"h\"]\n",
                basic = dir.basic(""),
                addr = q(&up.addr.to_string()),
            )
        })
        .await;
        let got = get(&client(), &p.url("/"), Some("Example.COM:8080")).await;
        assert_eq!(received(&got.json(), "x-host"), ["example.com"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_access_log_errors_with_the_others() {
    bounded(async {
        let dir = Dir::new();
        let path = dir.write(
            "bad.toml",
            "[basic]\nbogus = 1\n[locations.r]\npath = \"/\"\nreturn = \"200 x\"\n\
             [servers.s]\naddr = \"127.0.0.1:1\"\nlocations = [\"r\"]\naccess_log = \"{nosuchtoken}\"\n",
        );
        let (code, _, err) = pylon_cmd(&["check", "-c", &path.display().to_string()]).await;
        assert_eq!(code, 1);
        assert!(err.contains("bad.toml:2:") && err.contains("basic.bogus"), "{err}");
        assert!(err.contains("bad.toml:9:") && err.contains("servers.s.access_log"), "{err}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_password_prints_an_argon2id_hash() {
    bounded(async {
        let (code, out, err) = pylon_cmd(&["hash-password", "secret"]).await;
        assert_eq!(code, 0, "{err}");
        assert!(out.lines().last().is_some_and(|l| l.starts_with("$argon2id$")), "{out}");
    })
    .await;
}

/// A request shorter than the h2 preface (24 bytes) on an h2c-enabled listener: pingora's
/// own sniffing waited for 24 bytes forever; HTTP/1.0 also means the connection closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_http10_request_is_answered_and_closed() {
    bounded(async {
        let dir = Dir::new();
        let p = Pylon::start(&dir, |port| ret_config(&dir, port, "enable_h2 = true\n")).await;
        let started = Instant::now();
        let got = exchange(p.addr(), b"GET / HTTP/1.0\r\n\r\n", Duration::from_secs(5)).await;
        assert_eq!(got.only().status, 200, "{got:?}");
        assert!(got.closed, "HTTP/1.0 without keep-alive must close");
        assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    })
    .await;
}

/// SPEC §9: lints are warnings at start too, not only in `pylon check`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_warns_about_shadowed_locations_at_start() {
    bounded(async {
        let dir = Dir::new();
        let p = Pylon::start(&dir, |port| {
            format!(
                "{basic}[locations.all]\npath = \"/\"\nreturn = \"200 a\"\nweight = 70000\n\
                 [locations.api]\npath = \"/api\"\nreturn = \"200 b\"\n\
                 [servers.main]\naddr = \"127.0.0.1:{port}\"\nlocations = [\"all\", \"api\"]\n",
                basic = dir.basic(""),
            )
        })
        .await;
        let err = p.wait_stderr("can never match").await;
        assert!(err.contains("locations.api"), "{err}");
    })
    .await;
}
