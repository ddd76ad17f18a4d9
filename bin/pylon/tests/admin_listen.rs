//! Where the admin is served (issue 10): under a public server's `admin_path` with the same
//! auth, over TLS (its own listener and a TLS server's prefix), and across a binary upgrade
//! (the admin listener is a pingora service: handed over, never closed).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use pylon_testkit::{Ca, H1Conn, Response};
use serde_json::Value;

use crate::util::*;

/// A server `web` (ports[0]) whose `/` goes to upstream `a` and whose `/pylon-admin` is the
/// admin; the admin listener on ports[1]. `users` is the `[admin]` users line.
fn prefixed_config(dir: &Dir, ports: &[u16], up: &Upstream, users: &str) -> String {
    format!(
        "{basic}[upstreams.a]\naddrs = [{a}]\n\
         [locations.all]\npath = \"/\"\nupstream = \"a\"\n\
         [servers.web]\naddr = \"127.0.0.1:{web}\"\nlocations = [\"all\"]\n\
         admin_path = \"/pylon-admin\"\n\
         [admin]\naddr = \"127.0.0.1:{admin}\"\n{users}\n",
        basic = dir.basic(""),
        a = q(&up.addr.to_string()),
        web = ports[0],
        admin = ports[1],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_path_serves_the_admin_under_a_prefix_with_the_same_auth() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("a").await;
        let h = hash("secret").await;
        let users = format!("users = [{}]", q(&format!("ops:{h}")));
        let p = Pylon::start_n(&dir, 2, |ports| prefixed_config(&dir, ports, &up, &users)).await;
        let c = fresh_client_no_redirect();
        let web = |path: &str| p.url(path);

        // The prefix alone redirects to the UI's root under it (relative links resolve there).
        let got = send(c.get(web("/pylon-admin?x=1"))).await;
        assert_eq!(got.status, 308, "{}", got.body);
        assert_eq!(got.header("location").as_deref(), Some("/pylon-admin/?x=1"));
        // The UI page, from the binary, under the prefix: no upstream saw any of this.
        let got = send(c.get(web("/pylon-admin/"))).await;
        assert_eq!(got.status, 200, "{}", got.body);
        assert!(got.header("content-type").is_some_and(|t| t.starts_with("text/html")));
        assert!(got.header("content-security-policy").is_some(), "the UI has a CSP");
        assert!(got.body.contains("Pylon admin"), "{}", got.body);
        assert_eq!(got.upstream(), "", "served by the admin, not the upstream");
        let got = send(c.get(web("/pylon-admin/api/health"))).await;
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(got.json()["status"], "ok");
        // Same auth as the admin listener: login required, no challenge for browsers.
        let got = send(c.get(web("/pylon-admin/api/config"))).await;
        assert_eq!(got.status, 401, "{}", got.body);
        assert!(got.header("www-authenticate").is_none());
        let got =
            send(c.get(web("/pylon-admin/api/config")).basic_auth("ops", Some("wrong"))).await;
        assert_eq!(got.status, 401, "{}", got.body);
        let got =
            send(c.get(web("/pylon-admin/api/config")).basic_auth("ops", Some("secret"))).await;
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(got.json()["text"], std::fs::read_to_string(&p.config).expect("config"));

        // A login under the prefix: the cookie's path is the prefix, and it works there.
        let got = send(
            c.post(web("/pylon-admin/api/login"))
                .json(&serde_json::json!({ "user": "ops", "password": "secret" })),
        )
        .await;
        assert_eq!(got.status, 200, "{}", got.body);
        let set = got.header("set-cookie").expect("cookie");
        assert!(set.contains("Path=/pylon-admin;"), "{set}");
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
        assert!(!set.contains("Secure"), "plain HTTP: {set}");
        let cookie = set.split(';').next().expect("pair").to_owned();
        let csrf = got.json()["csrf"].as_str().expect("csrf").to_owned();
        let got = send(c.get(web("/pylon-admin/api/session")).header("cookie", &cookie)).await;
        assert_eq!(got.json()["user"], "ops", "{}", got.body);
        // A state change under the prefix needs the CSRF token too.
        let text = std::fs::read_to_string(&p.config).expect("config");
        let plan = |token: Option<&str>| {
            let mut r = c
                .post(web("/pylon-admin/api/config/plan"))
                .header("cookie", &cookie)
                .body(text.clone());
            if let Some(t) = token {
                r = r.header("x-csrf-token", t);
            }
            send(r)
        };
        assert_eq!(plan(None).await.status, 403);
        let got = plan(Some(&csrf)).await;
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(got.json()["valid"], true);
        // Unknown admin endpoints are the admin's 404, not the upstream's.
        let got = send(c.get(web("/pylon-admin/nope")).header("cookie", &cookie)).await;
        assert_eq!(got.status, 404);
        assert_eq!(got.upstream(), "");

        // Only whole segments: `/pylon-adminx` and `/x/pylon-admin` go to the upstream, and
        // so does a dot-segment walk out of the prefix (the target is normalised first; raw
        // bytes, as a client library would normalise it itself).
        for path in ["/pylon-adminx", "/x/pylon-admin/api/health", "/pylon-admin/../a"] {
            let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let ex = exchange(p.addr(), req.as_bytes(), Duration::from_secs(10)).await;
            let got = ex.only();
            assert_eq!(got.status, 200, "{path}: {}", got.text());
            assert_eq!(got.header("x-upstream").as_deref(), Some("a"), "{path}");
        }
        // And the reverse: a walk into the prefix is the admin's.
        let req =
            "GET /x/../pylon-admin/api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let ex = exchange(p.addr(), req.as_bytes(), Duration::from_secs(10)).await;
        assert!(ex.only().text().contains("\"status\":\"ok\""), "{}", ex.only().text());
        // The admin listener serves the same application.
        let got = send(
            c.get(format!("http://127.0.0.1:{}/api/config", p.ports[1]))
                .basic_auth("ops", Some("secret")),
        )
        .await;
        assert_eq!(got.status, 200, "{}", got.body);

        // `pylon explain` knows the prefix is the admin's.
        let got = send(
            c.get(format!(
                "http://127.0.0.1:{}/api/explain?url=http%3A%2F%2F127.0.0.1%3A{}%2Fpylon-admin%2Fx",
                p.ports[1], p.ports[0]
            ))
            .basic_auth("ops", Some("secret")),
        )
        .await;
        assert_eq!(got.status, 200, "{}", got.body);
        assert!(got.body.contains("admin_path"), "{}", got.body);
    })
    .await;
}

/// A client that follows no redirects and opens a new connection per request.
fn fresh_client_no_redirect() -> reqwest::Client {
    client_builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_path_config_rules() {
    bounded(async {
        let dir = Dir::new();
        let h = hash("secret").await;
        let cases: &[(&str, &str, &str)] = &[
            // (admin section, admin_path line, expected error)
            ("", "admin_path = \"/pylon-admin\"", "add an [admin] section"),
            ("[admin]\naddr = \"127.0.0.1:1\"\n", "admin_path = \"/pylon-admin\"", "users"),
            (
                "[admin]\naddr = \"127.0.0.1:1\"\n",
                "admin_path = \"pylon-admin\"",
                "must start with '/'",
            ),
            ("[admin]\naddr = \"127.0.0.1:1\"\n", "admin_path = \"/a b\"", "unreserved"),
        ];
        for (admin, line, expected) in cases {
            let text = format!(
                "[locations.all]\nreturn = \"200\"\n[servers.web]\naddr = \"127.0.0.1:2\"\n\
                 locations = [\"all\"]\n{line}\n{admin}"
            );
            let path = dir.write("c.toml", &text);
            let (code, out, err) = pylon_cmd(&["check", "-c", &path.display().to_string()]).await;
            assert_eq!(code, 1, "{text}\n{out}{err}");
            assert!(
                err.contains("c.toml:6:") && err.contains("servers.web.admin_path"),
                "{text}\n{err}"
            );
            assert!(err.contains(expected), "{expected:?} not in:\n{err}");
        }
        // Valid with users; a location under the prefix draws a lint (the admin answers).
        let text = format!(
            "[locations.all]\nreturn = \"200\"\n[locations.hidden]\npath = \"/pylon-admin/x\"\n\
             return = \"200\"\n[servers.web]\naddr = \"127.0.0.1:2\"\n\
             locations = [\"hidden\", \"all\"]\nadmin_path = \"/pylon-admin/\"\n\
             [admin]\naddr = \"127.0.0.1:1\"\nusers = [{}]\n",
            q(&format!("ops:{h}"))
        );
        let path = dir.write("ok.toml", &text);
        let (code, out, err) = pylon_cmd(&["check", "-c", &path.display().to_string()]).await;
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            format!("{out}{err}").contains("answered by the admin, so this location never sees"),
            "{out}{err}"
        );
    })
    .await;
}

/// One request as raw bytes over a new TLS connection (SNI `localhost`).
async fn tls_request(ca: &Ca, port: u16, head: &str, body: &str) -> Response {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let stream = ca.connect(addr, "localhost", &[b"http/1.1"]).await;
    let mut conn = H1Conn::new(stream);
    let bytes = format!(
        "{head}\r\nHost: localhost:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.roundtrip(bytes.as_bytes()).await.expect("TLS response")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_over_tls_on_its_listener_and_under_a_tls_server() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("a").await;
        let ca = Ca::new(dir.path(), "ca");
        let leaf = ca.leaf(dir.path(), "localhost", &["localhost"]);
        let h = hash("secret").await;
        let (cert, key) =
            (q(&leaf.cert_path.display().to_string()), q(&leaf.key_path.display().to_string()));
        let p = Pylon::start_n(&dir, 2, |ports| {
            format!(
                "{basic}[upstreams.a]\naddrs = [{a}]\n\
                 [locations.all]\npath = \"/\"\nupstream = \"a\"\n\
                 [servers.web]\naddr = \"127.0.0.1:{web}\"\nlocations = [\"all\"]\n\
                 tls_cert = {cert}\ntls_key = {key}\nadmin_path = \"/ops\"\n\
                 [admin]\naddr = \"127.0.0.1:{admin}\"\nusers = [{user}]\n\
                 tls_cert = {cert}\ntls_key = {key}\n",
                basic = dir.basic(""),
                a = q(&up.addr.to_string()),
                web = ports[0],
                admin = ports[1],
                user = q(&format!("ops:{h}")),
            )
        })
        .await;
        let login = r#"{"user":"ops","password":"secret"}"#;
        for (port, prefix, cookie_path) in [(p.ports[1], "", "/"), (p.ports[0], "/ops", "/ops")] {
            let got =
                tls_request(&ca, port, &format!("GET {prefix}/api/health HTTP/1.1"), "").await;
            assert_eq!(got.status, 200, "{port}{prefix}: {}", got.text());
            let got =
                tls_request(&ca, port, &format!("GET {prefix}/api/config HTTP/1.1"), "").await;
            assert_eq!(got.status, 401, "{port}{prefix}: {}", got.text());
            let got = tls_request(
                &ca,
                port,
                &format!("POST {prefix}/api/login HTTP/1.1\r\nContent-Type: application/json"),
                login,
            )
            .await;
            assert_eq!(got.status, 200, "{port}{prefix}: {}", got.text());
            // Over TLS the session cookie is Secure.
            let set = got.header("set-cookie").expect("cookie");
            assert!(set.contains("; Secure"), "{set}");
            assert!(set.contains(&format!("Path={cookie_path};")), "{set}");
            let cookie = set.split(';').next().expect("pair").to_owned();
            let got = tls_request(
                &ca,
                port,
                &format!("GET {prefix}/api/stats HTTP/1.1\r\nCookie: {cookie}"),
                "",
            )
            .await;
            assert_eq!(got.status, 200, "{port}{prefix}: {}", got.text());
            let doc: Value = serde_json::from_str(&got.text()).expect("stats JSON");
            assert!(doc["servers"]["web"].is_object(), "{doc}");
        }
        // The admin listener speaks TLS only: a plain-text request gets no HTTP answer.
        let plain = fresh_client().get(format!("http://127.0.0.1:{}/api/health", p.ports[1]));
        assert!(plain.send().await.is_err(), "plain HTTP must not be served on the TLS admin");
        // The public TLS server still proxies everything else.
        let got = tls_request(&ca, p.ports[0], "GET /x HTTP/1.1", "").await;
        assert_eq!(got.status, 200, "{}", got.text());
        assert_eq!(got.header("x-upstream").as_deref(), Some("a"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_listener_is_handed_over_on_binary_upgrade() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("a").await;
        // No users: loopback only, so every request is cheap (no argon2 per request).
        let mut old = Pylon::start_n(&dir, 2, |ports| admin_config(&dir, ports, up.addr, "")).await;
        let admin_port = old.ports[1];
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicUsize::new(0));
        // Admin requests throughout: new connections and one kept-alive client, each
        // checking a complete JSON answer. Any error is a dropped admin request.
        let mut loops = Vec::new();
        for keep_alive in [false, true, false] {
            let (stop, ok) = (stop.clone(), ok.clone());
            loops.push(tokio::spawn(async move {
                let c = if keep_alive { client() } else { fresh_client() };
                let mut failures = Vec::new();
                let mut versions = std::collections::HashSet::new();
                while !stop.load(Ordering::SeqCst) {
                    let url = format!("http://127.0.0.1:{admin_port}/api/config");
                    match c.get(&url).send().await {
                        Ok(r) if r.status() == 200 => match r.json::<Value>().await {
                            Ok(doc) if doc["text"].is_string() => {
                                versions.insert(doc["etag"].as_str().unwrap_or("").to_owned());
                                ok.fetch_add(1, Ordering::SeqCst);
                            }
                            other => failures.push(format!("body: {other:?}")),
                        },
                        Ok(r) => failures.push(format!("status {}", r.status())),
                        Err(e) => failures.push(format!("{e:?}")),
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                (failures, versions)
            }));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = ok.load(Ordering::SeqCst);
        assert!(before > 5, "admin requests ran before the upgrade ({before})");

        let at = Instant::now();
        let mut new = Pylon::spawn_upgrade(&dir, &old, "upgrade", &[]);
        let new_pid = new.pid();
        eventually(Duration::from_secs(15), "the pid file names the new process", || async {
            (pid_file_pid(&dir) == Some(new_pid)).then_some(())
        })
        .await;
        let status = old.wait_exit(Duration::from_secs(20)).await;
        let log = format!("--- old\n{}\n--- new\n{}", old.stderr_text(), new.stderr_text());
        assert!(status.is_some_and(|s| s.success()), "old process: {status:?}\n{log}");
        let at_exit = ok.load(Ordering::SeqCst);
        // Only the new process is left: admin requests keep being answered.
        tokio::time::sleep(Duration::from_millis(700)).await;
        stop.store(true, Ordering::SeqCst);
        let mut failures = Vec::new();
        for l in loops {
            let (f, _) = l.await.expect("loop");
            failures.extend(f);
        }
        let after = ok.load(Ordering::SeqCst);
        eprintln!(
            "admin upgrade: {before} before, {at_exit} when the old process exited after {:?}, \
             {after} in all",
            at.elapsed()
        );
        assert!(failures.is_empty(), "dropped admin requests: {failures:?}\n{log}");
        assert!(after > at_exit + 5, "the new process answers the admin ({at_exit} -> {after})");
        assert!(new.exited().is_none(), "the new process exited\n{log}");
        for text in [old.stderr_text(), new.stderr_text()] {
            assert!(!text.contains("in use"), "port clash:\n{log}");
        }
        // The successor's admin is whole: it proxies and answers authenticated endpoints.
        let c = fresh_client();
        assert_eq!(get(&c, &old.url("/ping"), None).await.body, "pong");
        let got = get(&c, &format!("http://127.0.0.1:{admin_port}/api/stats"), None).await;
        assert_eq!(got.status, 200, "{}", got.body);
    })
    .await;
}
