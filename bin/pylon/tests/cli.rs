//! The command line (SPEC §2): check, explain, --help, the embedded default config.

use std::time::Duration;

use crate::util::*;

const BROKEN: &str = r#"[basic]
threads = 1
bogus = 1

[upstreams.a]
addrs = ["127.0.0.1:notaport"]

[locations.x]
upstream = "nope"
path = "~(("

[locations.y]
upstream = "a"
path = "/"
proxy_set_headers = ["X-A: $bogusvar"]
client_max_body_size = "ten"

[servers.s]
addr = "127.0.0.1:1"
locations = ["x", "y", "zz"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_every_error_with_file_line_and_key() {
    bounded(async {
        let dir = Dir::new();
        let path = dir.write("broken.toml", BROKEN);
        let (code, _out, err) = pylon_cmd(&["check", "-c", &path.display().to_string()]).await;
        assert_eq!(code, 1, "{err}");
        let expected: &[(u32, &str)] = &[
            (3, "basic.bogus"),
            (6, "upstreams.a.addrs"),
            (9, "locations.x.upstream"),
            (10, "locations.x.path"),
            (15, "locations.y.proxy_set_headers"),
            (16, "locations.y.client_max_body_size"),
            (20, "servers.s.locations"),
        ];
        for (line, key) in expected {
            let found =
                err.lines().any(|l| l.contains(&format!("broken.toml:{line}:")) && l.contains(key));
            assert!(found, "no error for {key} at broken.toml:{line} in:\n{err}");
        }
    })
    .await;
}

fn good_config(dir: &Dir) -> String {
    format!(
        "{basic}[upstreams.a]\naddrs = [\"127.0.0.1:9\", \"127.0.0.1:10 2\"]\n\
         [upstreams.unused]\naddrs = [\"127.0.0.1:11\"]\n\
         [locations.hosted]\nupstream = \"a\"\nhost = \"other.test\"\npath = \"/api\"\n\
         [locations.api]\nupstream = \"a\"\npath = \"/api\"\nrewrite = \"^/api/(.*)$ /v1/$1\"\n\
         [locations.shadowed]\nupstream = \"a\"\npath = \"/api\"\n\
         [locations.re]\nupstream = \"a\"\npath = \"~^/nomatch\"\n\
         [locations.pong]\npath = \"=/ping\"\nreturn = \"200 pong\"\n\
         [servers.s]\naddr = \"127.0.0.1:1\"\n\
         locations = [\"hosted\", \"api\", \"shadowed\", \"re\", \"pong\"]\n",
        basic = dir.basic(""),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_prints_route_table_and_lints() {
    bounded(async {
        let dir = Dir::new();
        let path = dir.write("good.toml", &good_config(&dir));
        let (code, out, err) = pylon_cmd(&["check", "-c", &path.display().to_string()]).await;
        assert_eq!(code, 0, "{out}\n{err}");
        // The route table, in evaluation order with computed weights.
        let rows: Vec<(&str, &str)> = out
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let (_rank, weight, name) = (f.next()?, f.next()?, f.next()?);
                weight.parse::<u32>().ok().map(|_| (name, weight))
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("pong", "65541"),
                ("hosted", "40964"),
                ("api", "32772"),
                ("shadowed", "32772"),
                ("re", "16393"),
            ],
            "route table:\n{out}"
        );
        let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning:")).collect();
        assert!(
            warnings.iter().any(|w| w.contains("upstreams.unused")),
            "no unused-upstream lint: {err}"
        );
        assert!(
            warnings.iter().any(|w| w.contains("locations.shadowed") && w.contains("never match")),
            "no shadowed-location lint: {err}"
        );
        assert!(!err.lines().any(|l| l.starts_with("error")), "{err}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_the_route_decision() {
    bounded(async {
        let dir = Dir::new();
        let path = dir.write("good.toml", &good_config(&dir)).display().to_string();
        let (code, out, err) = pylon_cmd(&[
            "explain",
            "-c",
            &path,
            "http://x.test:1/api/users?id=1",
            "-H",
            "Host: x.test",
        ])
        .await;
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("server:   s (127.0.0.1:1)"), "{out}");
        let line_of = |name: &str| {
            out.lines()
                .find(|l| {
                    l.split_whitespace().nth(2) == Some(name)
                        || l.split_whitespace().nth(3) == Some(name)
                })
                .unwrap_or_else(|| panic!("no candidate line for {name}:\n{out}"))
                .to_owned()
        };
        let hosted = line_of("hosted");
        assert!(hosted.contains("40964") && hosted.contains("host"), "{hosted}");
        let api = line_of("api");
        assert!(api.contains("32772") && api.contains("matched"), "{api}");
        let re = line_of("re");
        assert!(re.contains("16393") && re.contains("path does not match"), "{re}");
        // Candidates in evaluation order.
        let pos = |s: &str| out.find(s).expect("candidate");
        assert!(pos(&hosted) < pos(&api) && pos(&api) < pos(&re), "{out}");
        assert!(out.contains("location: api"), "{out}");
        assert!(out.contains("upstream path: /v1/users?id=1"), "{out}");
        assert!(out.contains("upstream: a"), "{out}");
        // Nothing listens on ports 9 and 10: explain's health rounds mark both down.
        assert!(out.contains("peer 127.0.0.1:10 (127.0.0.1) weight 2 UNHEALTHY"), "{out}");
        assert!(out.contains("none healthy: the request would get 503"), "{out}");

        // Host matching: the hosted location wins for its host.
        let (code, out, _) = pylon_cmd(&[
            "explain",
            "-c",
            &path,
            "http://other.test:1/api",
            "-H",
            "Host: Other.Test",
        ])
        .await;
        assert_eq!(code, 0);
        assert!(out.contains("location: hosted"), "{out}");
        // No match: 404.
        let (code, out, _) = pylon_cmd(&["explain", "-c", &path, "http://x.test:1/zzz"]).await;
        assert_eq!(code, 0);
        assert!(out.contains("404"), "{out}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_on_every_command() {
    bounded(async {
        let (code, out, _) = pylon_cmd(&["--help"]).await;
        assert_eq!(code, 0);
        for cmd in ["run", "check", "explain", "reload"] {
            assert!(out.contains(cmd), "--help does not list {cmd}:\n{out}");
        }
        for (cmd, flag) in [
            ("run", "--config"),
            ("check", "--config"),
            ("explain", "--header"),
            ("reload", "--config"),
        ] {
            let (code, out, err) = pylon_cmd(&[cmd, "--help"]).await;
            assert_eq!(code, 0, "{cmd} --help: {err}");
            assert!(out.contains("Usage: pylon") && out.contains(flag), "{cmd} --help:\n{out}");
        }
        let (code, _, err) = pylon_cmd(&["no-such-command"]).await;
        assert_eq!(code, 2, "{err}");
    })
    .await;
}

/// `pylon` with no config serves `/ping` on 127.0.0.1:6188 — checked only when 6188 is
/// free (another instance may be using it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_default_serves_ping() {
    bounded(async {
        if std::net::TcpListener::bind("127.0.0.1:6188").is_err() {
            eprintln!("127.0.0.1:6188 is in use: not testing the embedded default");
            return;
        }
        let dir = Dir::new();
        let mut child = std::process::Command::new(pylon_bin())
            .env_remove("PYLON_CONFIG")
            .env_remove("PYLON_LOG")
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(dir.join("out")).expect("file"))
            .stderr(std::fs::File::create(dir.join("err")).expect("file"))
            .spawn()
            .expect("spawn pylon");
        let guard = KillOnDrop(&mut child);
        let c = client();
        let got = eventually(Duration::from_secs(15), "the default /ping", || {
            let c = c.clone();
            async move {
                let r = c.get("http://127.0.0.1:6188/ping").send().await.ok()?;
                Some((r.status().as_u16(), r.text().await.ok()?))
            }
        })
        .await;
        assert_eq!(got, (200, "pong\n".to_owned()));
        // A clean stop (SIGTERM) so the default pid file is removed.
        let pid = nix::unistd::Pid::from_raw(guard.0.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
        eventually(Duration::from_secs(10), "pylon exits on SIGTERM", || {
            let exited = guard.0.try_wait().ok().flatten().is_some();
            async move { exited.then_some(()) }
        })
        .await;
    })
    .await;
}

struct KillOnDrop<'a>(&'a mut std::process::Child);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_picks_a_healthy_peer_and_shows_health() {
    bounded(async {
        let dir = Dir::new();
        let live = Upstream::start("live").await;
        let dead = free_port();
        let config = format!(
            "{basic}[upstreams.a]\naddrs = [\"127.0.0.1:{dead} 3\", {live}]\n\
             [locations.all]\nupstream = \"a\"\npath = \"/\"\n\
             [servers.s]\naddr = \"127.0.0.1:1\"\nlocations = [\"all\"]\n",
            basic = dir.basic(""),
            live = q(&live.addr.to_string()),
        );
        let path = dir.write("explain.toml", &config).display().to_string();
        let (code, out, err) = pylon_cmd(&["explain", "-c", &path, "http://a.test:1/x"]).await;
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains(&format!("peer 127.0.0.1:{dead} (127.0.0.1) weight 3 UNHEALTHY")),
            "{out}"
        );
        // The weight-3 peer would be first, but it is down: the live one is chosen.
        assert!(
            out.contains(&format!("-> peer {} (127.0.0.1) weight 1 healthy", live.addr)),
            "{out}"
        );
        assert!(
            out.contains(&format!("peer:     {} (for a client at 127.0.0.1)", live.addr)),
            "{out}"
        );
    })
    .await;
}

/// `pylon run` serves with mimalloc's memory options set (bin/pylon allocator.rs: it
/// re-executes itself with them, same pid), and an operator's own value is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serving_process_runs_with_tuned_allocator_options() {
    bounded(async {
        let dir = Dir::new();
        let port = free_port();
        let config = dir.write(
            "pylon.toml",
            &format!(
                "{}[locations.ok]\nreturn = \"200 ok\"\n[servers.web]\naddr = \"127.0.0.1:{port}\"\n\
                 locations = [\"ok\"]\n",
                dir.basic("")
            ),
        );
        let mut child = std::process::Command::new(pylon_bin())
            .args(["run", "-c"])
            .arg(&config)
            .env_remove("PYLON_CONFIG")
            .env_remove("PYLON_LOG")
            .env_remove("MIMALLOC_ARENA_EAGER_COMMIT")
            .env("MIMALLOC_PURGE_DELAY", "250")
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(dir.join("out")).expect("file"))
            .stderr(std::fs::File::create(dir.join("err")).expect("file"))
            .spawn()
            .expect("spawn pylon");
        let guard = KillOnDrop(&mut child);
        let c = client();
        let got = eventually(Duration::from_secs(15), "pylon serves", || {
            let c = c.clone();
            async move {
                let r = c.get(format!("http://127.0.0.1:{port}/")).send().await.ok()?;
                Some(r.status().as_u16())
            }
        })
        .await;
        assert_eq!(got, 200);
        let environ = std::fs::read(format!("/proc/{}/environ", guard.0.id())).expect("environ");
        let vars: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
        assert!(vars.contains(&&b"MIMALLOC_ARENA_EAGER_COMMIT=0"[..]), "eager commit not set");
        assert!(vars.contains(&&b"MIMALLOC_PURGE_DELAY=250"[..]), "the operator's value was replaced");
    })
    .await;
}

/// Run `pylon ARGS` with stdout (and stderr too with `close_stderr`) a closed pipe
/// (`pylon plan … | head` once head has quit); returns (exit code, stderr).
fn run_into_closed_pipe(args: &[&str], close_stderr: bool) -> (i32, String) {
    let dir = Dir::new();
    let closed = || {
        // A socket pair stands in for the pipe (std::io::pipe is newer than the MSRV): a
        // write after the peer closed fails with EPIPE as well.
        let (writer, reader) = std::os::unix::net::UnixStream::pair().expect("socket pair");
        drop(reader);
        std::process::Stdio::from(std::os::fd::OwnedFd::from(writer))
    };
    let err_file = dir.join("err");
    let stderr = if close_stderr {
        closed()
    } else {
        std::fs::File::create(&err_file).expect("stderr file").into()
    };
    let status = std::process::Command::new(pylon_bin())
        .args(args)
        .env_remove("PYLON_CONFIG")
        .stdin(std::process::Stdio::null())
        .stdout(closed())
        .stderr(stderr)
        .status()
        .expect("run pylon");
    (status.code().unwrap_or(-1), std::fs::read_to_string(&err_file).unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_into_a_closed_pipe_ends_quietly_with_the_verdict_and_counts_read_well() {
    bounded(async {
        let dir = Dir::new();
        let good = dir.write("good.toml", &good_config(&dir));
        let one_error = dir.write(
            "one.toml",
            &good_config(&dir).replace("[upstreams.unused]\n", "[upstreams.unused]\nbogus = 1\n"),
        );
        let (good, one_error) = (good.display().to_string(), one_error.display().to_string());
        let plan_good = ["plan", "-c", &good, "--against", &good];
        let plan_bad = ["plan", "-c", &one_error, "--against", &good];
        let cases: [(&[&str], i32); 5] = [
            (&["check", "-c", &good], 0),
            (&plan_good, 0),
            (&plan_bad, 1),
            (&["explain", "-c", &good, "http://127.0.0.1:1/ping"], 0),
            (&["hash-password", "pw"], 0),
        ];
        for (args, code) in cases {
            let (got, err) = run_into_closed_pipe(args, false);
            assert_eq!(got, code, "{args:?}: {err}");
            assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
            // stderr closed too (`|& head`): still no panic (exit 101).
            assert_eq!(run_into_closed_pipe(args, true).0, code, "{args:?}");
        }

        // One error reads "1 error", in plan's and check's verdicts alike.
        let (code, out, _) = pylon_cmd(&plan_bad).await;
        assert_eq!(code, 1);
        assert!(out.contains("plan: INVALID (1 error), nothing would be applied"), "{out}");
        let (code, _, err) = pylon_cmd(&["check", "-c", &one_error]).await;
        assert_eq!(code, 1);
        assert!(err.contains("invalid (1 configuration error)"), "{err}");
        assert!(!err.contains("error(s)") && !err.contains("1 errors"), "{err}");
    })
    .await;
}
