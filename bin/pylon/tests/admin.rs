//! The admin API (issue 10, SPEC §8) through the real binary: login and its cookie, CSRF,
//! basic auth, the failed-login limit, config GET/plan/PUT/history/rollback, metrics that
//! move with real traffic, live peer health, explain, and `pylon plan`.

use std::{path::Path, time::Duration};

use serde_json::Value;

use crate::util::*;

/// An admin API client: base URL, optional session cookie and CSRF token.
pub(crate) struct AdminClient {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) cookie: Option<String>,
    pub(crate) csrf: Option<String>,
}

impl AdminClient {
    pub(crate) fn new(p: &Pylon) -> AdminClient {
        AdminClient {
            base: format!("http://127.0.0.1:{}", p.ports[1]),
            http: fresh_client(),
            cookie: None,
            csrf: None,
        }
    }

    pub(crate) fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c.as_str());
        }
        if method != reqwest::Method::GET {
            if let Some(t) = &self.csrf {
                r = r.header("x-csrf-token", t.as_str());
            }
        }
        r
    }

    pub(crate) async fn get(&self, path: &str) -> Got {
        send(self.req(reqwest::Method::GET, path)).await
    }

    /// Log in; returns the raw Set-Cookie header.
    pub(crate) async fn login(&mut self, user: &str, password: &str) -> Got {
        let got = send(
            self.http
                .post(format!("{}/api/login", self.base))
                .json(&serde_json::json!({ "user": user, "password": password })),
        )
        .await;
        if got.status == 200 {
            let set = got.header("set-cookie").expect("set-cookie");
            self.cookie = Some(set.split(';').next().expect("cookie pair").to_owned());
            self.csrf = got.json()["csrf"].as_str().map(str::to_owned);
        }
        got
    }

    pub(crate) async fn config(&self) -> (String, String) {
        let got = self.get("/api/config").await;
        assert_eq!(got.status, 200, "{}", got.body);
        let doc = got.json();
        let etag = doc["etag"].as_str().expect("etag").to_owned();
        assert_eq!(got.header("etag"), Some(format!("\"{etag}\"")));
        (doc["text"].as_str().expect("text").to_owned(), etag)
    }

    pub(crate) async fn put(&self, text: &str, etag: Option<&str>) -> Got {
        let mut r = self.req(reqwest::Method::PUT, "/api/config").body(text.to_owned());
        if let Some(e) = etag {
            r = r.header("if-match", format!("\"{e}\""));
        }
        send(r).await
    }

    pub(crate) async fn plan(&self, text: &str) -> Value {
        let got =
            send(self.req(reqwest::Method::POST, "/api/config/plan").body(text.to_owned())).await;
        assert_eq!(got.status, 200, "{}", got.body);
        got.json()
    }
}

fn history_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
            .count()
    })
}

/// Start pylon with users `ops:secret`, one upstream, admin on ports[1].
async fn start_with_user(dir: &Dir, up: &Upstream) -> Pylon {
    let h = hash("secret").await;
    let users = format!("users = [{}]\n", q(&format!("ops:{h}")));
    Pylon::start_n(dir, 2, |p| admin_config(dir, p, up.addr, &users)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_cookie_csrf_and_auth_rules() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("a").await;
        let p = start_with_user(&dir, &up).await;
        let mut admin = AdminClient::new(&p);

        // Open endpoints; everything else needs a login.
        assert_eq!(admin.get("/api/health").await.status, 200);
        let session = admin.get("/api/session").await.json();
        assert_eq!(session["auth_required"], true);
        assert_eq!(session["user"], Value::Null);
        for path in
            ["/api/config", "/api/stats", "/api/upstreams", "/metrics", "/api/config/history"]
        {
            let got = admin.get(path).await;
            assert_eq!(got.status, 401, "{path}: {}", got.body);
            assert!(got.header("www-authenticate").is_none(), "no basic challenge to browsers");
        }

        // Login: the session cookie is HttpOnly, SameSite=Strict, not Secure over plain HTTP.
        assert_eq!(admin.login("ops", "wrong").await.status, 401);
        let got = admin.login("ops", "secret").await;
        assert_eq!(got.status, 200, "{}", got.body);
        let set = got.header("set-cookie").expect("cookie");
        assert!(set.starts_with("pylon_admin_session="), "{set}");
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(set.contains(flag), "{flag} missing: {set}");
        }
        assert!(!set.contains("Secure"), "no Secure over plain HTTP: {set}");
        assert_eq!(admin.get("/api/session").await.json()["user"], "ops");
        assert_eq!(admin.get("/api/stats").await.status, 200);

        // CSRF: a state change with the cookie but without the token is refused, and so is
        // one from another origin.
        let (text, etag) = admin.config().await;
        let token = admin.csrf.take();
        let got = admin.plan_raw(&text).await;
        assert_eq!(got.status, 403, "{}", got.body);
        assert!(got.body.contains("X-CSRF-Token"), "{}", got.body);
        admin.csrf = token;
        let got = send(
            admin
                .req(reqwest::Method::PUT, "/api/config")
                .header("origin", "http://evil.test")
                .header("if-match", format!("\"{etag}\""))
                .body(text.clone()),
        )
        .await;
        assert_eq!(got.status, 403, "{}", got.body);
        assert!(got.body.contains("cross-origin"), "{}", got.body);
        assert_eq!(std::fs::read_to_string(&p.config).expect("config"), text);

        // Basic auth for scripts (no CSRF token needed), and logout ends the session.
        let (http, metrics_url) = (admin.http.clone(), format!("{}/metrics", admin.base));
        let basic = |pw: &str| http.get(&metrics_url).basic_auth("ops", Some(pw));
        let got = send(basic("secret")).await;
        assert_eq!(got.status, 200, "{}", got.body);
        assert!(got.body.contains("pylon_build_info"), "{}", got.body);
        let got = send(admin.req(reqwest::Method::POST, "/api/logout")).await;
        assert_eq!(got.status, 200, "{}", got.body);
        assert!(got.header("set-cookie").is_some_and(|c| c.contains("Max-Age=0")));
        assert_eq!(admin.get("/api/config").await.status, 401);

        // Failed logins are limited per client: the 6th attempt within a minute is a 429
        // with Retry-After, even with the right password, and basic auth is limited too.
        for i in 0..pylon_admin_max_failures() {
            let got = admin.login("ops", &format!("bad{i}")).await;
            assert_eq!(got.status, 401, "attempt {i}: {}", got.body);
        }
        let got = admin.login("ops", "secret").await;
        assert_eq!(got.status, 429, "{}", got.body);
        let wait: u64 = got.header("retry-after").expect("retry-after").parse().expect("secs");
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(got.body.contains("too many failed logins"), "{}", got.body);
        assert_eq!(send(basic("secret")).await.status, 429);

        // Nothing secret in the logs: no password, hash, cookie or CSRF value.
        let log = p.stderr_text();
        assert!(log.contains("admin login"), "logins are logged:\n{log}");
        let cookie_value = set.split(';').next().and_then(|c| c.split('=').nth(1)).expect("v");
        for secret in ["secret", "$argon2id$", cookie_value] {
            assert!(!log.contains(secret), "{secret:?} leaked into the log:\n{log}");
        }
    })
    .await;
}

/// pylon-admin's MAX_FAILURES (5), as the test expects it.
fn pylon_admin_max_failures() -> usize {
    5
}

impl AdminClient {
    async fn plan_raw(&self, text: &str) -> Got {
        send(self.req(reqwest::Method::POST, "/api/config/plan").body(text.to_owned())).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_put_is_guarded_planned_kept_and_rolled_back() {
    bounded(async {
        let dir = Dir::new();
        let a = Upstream::start("a").await;
        let b = Upstream::start("b").await;
        let p = start_with_user(&dir, &a).await;
        let c = client();
        let mut admin = AdminClient::new(&p);
        assert_eq!(admin.login("ops", "secret").await.status, 200);
        for _ in 0..4 {
            assert_eq!(get(&c, &p.url("/a/x"), None).await.upstream(), "a");
        }
        assert_eq!(get(&c, &p.url("/ping"), None).await.body, "pong");

        let (text, etag) = admin.config().await;
        let history = dir.join("pylon.toml.history");

        // No If-Match: 428. A stale ETag: 412, and the file is untouched.
        assert_eq!(admin.put(&text, None).await.status, 428);
        let got = admin.put(&text.replace("pong", "pang"), Some("0123456789abcdef")).await;
        assert_eq!(got.status, 412, "{}", got.body);
        assert_eq!(got.json()["etag"], etag.as_str());
        assert_eq!(std::fs::read_to_string(&p.config).expect("config"), text);

        // Invalid: 422 with every error at its line; nothing written, nothing kept.
        let broken = text.replace("[locations.app]\n", "[locations.app]\nbogus = 1\n");
        let line = broken.lines().position(|l| l == "bogus = 1").expect("line") + 1;
        let got = admin.put(&broken, Some(&etag)).await;
        assert_eq!(got.status, 422, "{}", got.body);
        let err = &got.json()["errors"][0];
        assert_eq!(err["line"], line, "{}", got.body);
        assert_eq!(err["key"], "locations.app.bogus");
        assert_eq!(std::fs::read_to_string(&p.config).expect("config"), text);
        assert_eq!(history_files(&history), 0);
        let plan = admin.plan(&broken).await;
        assert_eq!(plan["valid"], false);
        assert_eq!(plan["errors"][0]["line"], line);

        // A good change: /a moves to upstream b. The plan shows the diffs and the impact on
        // the requests just served, and changes nothing.
        let good = text.replace(
            &format!("[upstreams.a]\naddrs = [{}]", q(&a.addr.to_string())),
            &format!("[upstreams.a]\naddrs = [{}]", q(&b.addr.to_string())),
        );
        assert_ne!(good, text);
        let plan = admin.plan(&good).await;
        assert_eq!(plan["valid"], true, "{plan}");
        assert!(
            plan["text_diff"]
                .as_str()
                .is_some_and(|d| d.contains(&format!("+addrs = [\"{}\"]", b.addr))),
            "{plan}"
        );
        assert_eq!(plan["changes"][0]["section"], "upstreams");
        assert_eq!(plan["changes"][0]["keys"][0], "addrs");
        assert_eq!(plan["upgrade"], false);
        // The upstream's name stays, so no request changes location or upstream.
        assert_eq!(plan["impact"]["changed"], 0, "{plan}");
        assert!(plan["impact"]["sampled"].as_u64().is_some_and(|n| n >= 5), "{plan}");
        let moved = text.replace("path = \"/a\"", "path = \"/z\"");
        let plan = admin.plan(&moved).await;
        assert_eq!(plan["impact"]["changed"], 4, "the four /a/x requests would 404: {plan}");
        assert_eq!(plan["impact"]["examples"][0]["path"], "/a/x");
        assert_eq!(plan["impact"]["examples"][0]["before"]["location"], "app");
        assert_eq!(plan["impact"]["examples"][0]["after"]["location"], Value::Null);
        assert_eq!(std::fs::read_to_string(&p.config).expect("config"), text);

        // The config holds secrets: owner-only, and so must its replacement and copies be.
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        std::fs::set_permissions(&p.config, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let got = admin.put(&good, Some(&etag)).await;
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(mode(&p.config), 0o600);
        for e in std::fs::read_dir(&history).expect("history dir") {
            let kept = e.expect("entry").path();
            assert_eq!(mode(&kept), 0o600, "{}", kept.display());
        }
        let new_etag = got.json()["etag"].as_str().expect("etag").to_owned();
        assert_ne!(new_etag, etag);
        assert_eq!(got.header("etag"), Some(format!("\"{new_etag}\"")));
        assert_eq!(std::fs::read_to_string(&p.config).expect("config"), good);
        assert_eq!(get(&c, &p.url("/a/x"), None).await.upstream(), "b", "route changed");
        assert_eq!(admin.config().await.1, new_etag);
        // The old ETag is stale now.
        assert_eq!(admin.put(&text, Some(&etag)).await.status, 412);

        // History: the replaced version, with who replaced it.
        let got = admin.get("/api/config/history").await;
        let doc = got.json();
        assert_eq!(doc["versions"][0]["version"], etag.as_str(), "{doc}");
        assert_eq!(doc["versions"][0]["replaced_by"], "ops");
        assert_eq!(history_files(&history), 1);
        let kept = admin.get(&format!("/api/config/history/{etag}")).await;
        assert_eq!(kept.body, text);
        assert_eq!(admin.get("/api/config/history/ffff").await.status, 404);

        // Rollback is itself a validated apply (the version it replaces is kept too).
        let got =
            send(admin.req(reqwest::Method::POST, &format!("/api/config/rollback/{etag}"))).await;
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(got.json()["etag"], etag.as_str());
        assert_eq!(got.json()["plan"]["changes"][0]["section"], "upstreams");
        assert_eq!(std::fs::read_to_string(&p.config).expect("config"), text);
        assert_eq!(get(&c, &p.url("/a/x"), None).await.upstream(), "a", "rolled back");
        assert_eq!(history_files(&history), 2);
        let log = p.wait_stderr("\"rollback\"").await;
        let line = log.lines().find(|l| l.contains("\"rollback\"")).expect("rollback line");
        let (before, after) = (line.find(&new_etag), line.rfind(&etag));
        assert!(before.is_some() && after.is_some() && before < after, "{line}");
        assert!(line.contains("\"ops\"") && line.contains("version_before"), "{line}");

        // A rollback to a version that no longer validates is refused: 422, nothing written.
        std::fs::create_dir_all(&history).expect("history dir");
        std::fs::write(history.join("0000000000001-00000000000000aa.toml"), "[bogus]\n")
            .expect("write");
        let got =
            send(admin.req(reqwest::Method::POST, "/api/config/rollback/00000000000000aa")).await;
        assert_eq!(got.status, 422, "{}", got.body);
        assert_eq!(std::fs::read_to_string(&p.config).expect("config"), text);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_with_traffic_and_peer_health_drops() {
    bounded(async {
        let dir = Dir::new();
        let mut up = Upstream::start("a").await;
        let p = start_with_user(&dir, &up).await;
        let c = client();
        let mut admin = AdminClient::new(&p);
        assert_eq!(admin.login("ops", "secret").await.status, 200);
        let metric = |text: &str, name: &str| -> Option<f64> {
            text.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        };
        let ok_series =
            "pylon_http_requests_total{server=\"web\",location=\"app\",status_class=\"2xx\"}";
        let before = admin.get("/metrics").await;
        assert_eq!(before.status, 200);
        assert!(before.header("content-type").is_some_and(|t| t.contains("openmetrics")));
        let n0 = metric(&before.body, ok_series).expect("series exists before traffic");
        for _ in 0..3 {
            let got = send(c.post(p.url("/a/x")).body(vec![b'x'; 1000])).await;
            assert_eq!(got.status, 200);
        }
        assert_eq!(get(&c, &p.url("/nope"), None).await.status, 404);
        let not_found =
            "pylon_http_requests_total{server=\"web\",location=\"\",status_class=\"4xx\"}";
        let count = "pylon_http_request_duration_seconds_count{server=\"web\",location=\"app\"}";
        // Requests are counted when logged, which may come just after the client read the
        // response: wait until all four are (then every series must be exact).
        let after = eventually(Duration::from_secs(10), "the four requests counted", || {
            let admin_get = admin.get("/metrics");
            async move {
                let text = admin_get.await.body;
                let done = metric(&text, count).is_some_and(|n| n >= n0 + 3.0)
                    && metric(&text, not_found).is_some_and(|n| n >= 1.0);
                done.then_some(text)
            }
        })
        .await;
        assert_eq!(metric(&after, ok_series), Some(n0 + 3.0), "{after}");
        assert_eq!(metric(&after, not_found), Some(1.0), "{after}");
        assert_eq!(metric(&after, count), Some(n0 + 3.0), "{after}");
        // Each histogram series: buckets cumulative once (never decreasing), the last one
        // le="+Inf" and equal to the series' _count.
        let plus_inf = "pylon_http_request_duration_seconds_bucket{le=\"+Inf\",server=\"web\",location=\"app\"}";
        assert_eq!(metric(&after, plus_inf), Some(n0 + 3.0), "{after}");
        let mut series = 0;
        for count_line in after.lines().filter(|l| l.contains("_seconds_count{")) {
            let (name, labels) = count_line.split_once("_count{").expect("count line");
            let labels = labels.rsplit_once("} ").expect("labels").0;
            // prometheus-client writes `le` first: `NAME_bucket{le="0.001",server=…} N`.
            let (prefix, suffix) = (format!("{name}_bucket{{le="), format!(",{labels}}}"));
            let buckets: Vec<(&str, u64)> = after
                .lines()
                .filter_map(|l| l.strip_prefix(prefix.as_str()))
                .filter_map(|l| {
                    let (series, n) = l.rsplit_once(' ')?;
                    Some((series.strip_suffix(suffix.as_str())?, n.parse().ok()?))
                })
                .collect();
            assert!(buckets.len() > 1, "{count_line}: {buckets:?}");
            assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{count_line}: {buckets:?}");
            let last = buckets.last().expect("a bucket");
            assert_eq!(last.0, "\"+Inf\"", "{count_line}: {buckets:?}");
            let n = count_line.rsplit(' ').next().and_then(|n| n.parse().ok());
            assert_eq!(Some(last.1), n, "{count_line}: {buckets:?}");
            series += 1;
        }
        assert!(series >= 6, "{after}");
        let connect =
            "pylon_upstream_connect_duration_seconds_count{server=\"web\",location=\"app\"}";
        assert!(metric(&after, connect).is_some_and(|n| n >= 3.0), "{after}");
        assert!(
            metric(&after, "pylon_http_received_bytes_total{server=\"web\"}")
                .is_some_and(|n| n >= 3000.0),
            "{after}"
        );
        assert!(
            metric(&after, "pylon_http_sent_bytes_total{server=\"web\"}").is_some_and(|n| n > 0.0),
            "{after}"
        );
        let peer_up = format!("pylon_upstream_peer_up{{upstream=\"a\",peer=\"{}\"}}", up.addr);
        assert_eq!(metric(&after, &peer_up), Some(1.0), "{after}");
        assert!(after.contains("pylon_config_info{version=\""), "{after}");
        assert!(after.contains("pylon_build_info{version=\""), "{after}");
        assert!(after.trim_end().ends_with("# EOF"), "{after}");

        // The stats document carries the same series for the dashboard.
        let stats = admin.get("/api/stats").await.json();
        let app = stats["servers"]["web"]["locations"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["location"] == "app").cloned())
            .expect("app series");
        assert_eq!(app["requests"]["2xx"].as_u64(), Some(n0 as u64 + 3), "{stats}");

        // The upstream dies: health drops to 0, /api/upstreams says why.
        up.stop().await;
        let text = eventually(Duration::from_secs(15), "peer marked down", || {
            let (admin_get, peer_up) = (admin.get("/metrics"), peer_up.clone());
            async move {
                let text = admin_get.await.body;
                (metric(&text, &peer_up) == Some(0.0)).then_some(text)
            }
        })
        .await;
        let failures = format!(
            "pylon_upstream_health_check_failures_total{{upstream=\"a\",peer=\"{}\"}}",
            up.addr
        );
        assert!(metric(&text, &failures).is_some_and(|n| n >= 1.0), "{text}");
        let ups = admin.get("/api/upstreams").await.json();
        let peer = &ups[0]["peers"][0];
        assert_eq!(ups[0]["name"], "a");
        assert_eq!(peer["healthy"], false, "{ups}");
        assert!(peer["last_error"].as_str().is_some_and(|e| !e.is_empty()), "{ups}");
        // 503 now (no healthy peer), counted as 5xx.
        assert_eq!(get(&c, &p.url("/a/x"), None).await.status, 503);
        let five =
            "pylon_http_requests_total{server=\"web\",location=\"app\",status_class=\"5xx\"}";
        // Counted when the request is logged, which may come just after the client read
        // the response.
        let text = eventually(Duration::from_secs(10), "the 503 counted", || {
            let admin_get = admin.get("/metrics");
            async move {
                let text = admin_get.await.body;
                (metric(&text, five) == Some(1.0)).then_some(text)
            }
        })
        .await;

        // Reloads are counted.
        let reloads = metric(&text, "pylon_config_reloads_total").expect("reloads");
        p.reload().await;
        eventually(Duration::from_secs(10), "reload counted", || {
            let admin_get = admin.get("/metrics");
            async move {
                let text = admin_get.await.body;
                (metric(&text, "pylon_config_reloads_total") == Some(reloads + 1.0)).then_some(())
            }
        })
        .await;
        up.restart().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applies_that_cannot_take_effect_are_refused_and_hand_edits_are_applied() {
    bounded(async {
        let dir = Dir::new();
        let a = Upstream::start("a").await;
        let p = start_with_user(&dir, &a).await;
        let c = client();
        let mut admin = AdminClient::new(&p);
        assert_eq!(admin.login("ops", "secret").await.status, 200);
        let (text, etag) = admin.config().await;

        // A listener on a port another process holds: 422 naming the key, the file put
        // back, the running servers untouched (no successor left waiting for the port).
        let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let busy_port = busy.local_addr().expect("addr").port();
        let web = format!("addr = \"127.0.0.1:{}\"", p.ports[0]);
        assert!(text.contains(&web), "{text}");
        let moved = text.replace(&web, &format!("addr = \"127.0.0.1:{busy_port}\""));
        let got = admin.put(&moved, Some(&etag)).await;
        assert_eq!(got.status, 422, "{}", got.body);
        let err = &got.json()["errors"][0];
        assert_eq!(err["key"], "servers.web.addr", "{}", got.body);
        assert!(err["message"].as_str().is_some_and(|m| m.contains("cannot listen on")), "{err}");
        assert_eq!(std::fs::read_to_string(&p.config).expect("config"), text);
        assert_eq!(get(&c, &p.url("/ping"), None).await.body, "pong");
        assert!(!p.stderr_text().contains("successor started"), "{}", p.stderr_text());
        drop(busy);

        // An error-log file in a directory that does not exist: refused before a successor
        // would die opening it.
        let missing = dir.join("no-such-dir").join("error.log");
        let logged = text.replacen(
            "[basic]\n",
            &format!("[basic]\nlog_file = {}\n", q(&missing.display().to_string())),
            1,
        );
        assert_ne!(logged, text);
        let got = admin.put(&logged, Some(&etag)).await;
        assert_eq!(got.status, 422, "{}", got.body);
        assert_eq!(got.json()["errors"][0]["key"], "basic.log_file", "{}", got.body);
        let logged_path = dir.join("logged.toml");
        std::fs::write(&logged_path, &logged).expect("write");
        let (code, _, err) = pylon_cmd(&["check", "-c", &logged_path.display().to_string()]).await;
        assert_eq!(code, 1, "check refuses it too: {err}");
        assert!(err.contains("basic.log_file"), "{err}");

        // A config without [admin]: valid, but the plan says it ends the admin.
        let headless = text.split("[admin]").next().expect("before [admin]");
        let plan = admin.plan(headless).await;
        assert_eq!(plan["valid"], true, "{plan}");
        assert!(
            plan["notes"].as_array().is_some_and(|n| n
                .iter()
                .any(|n| n.as_str().is_some_and(|n| n.contains("has no [admin]")))),
            "{plan}"
        );

        // The file edited by hand and not reloaded: applying that same text is a real apply
        // (the running routes change), not "unchanged".
        let edited = text.replace("path = \"/a\"", "path = \"/z\"");
        std::fs::write(&p.config, &edited).expect("hand edit");
        let (on_disk, disk_etag) = admin.config().await;
        assert_eq!(on_disk, edited);
        assert_eq!(get(&c, &p.url("/z/x"), None).await.status, 404, "not reloaded yet");
        let got = admin.put(&edited, Some(&disk_etag)).await;
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(got.json()["unchanged"], false, "{}", got.body);
        assert_eq!(get(&c, &p.url("/z/x"), None).await.upstream(), "a");
        assert_eq!(get(&c, &p.url("/a/x"), None).await.status, 404);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_session_cookie_never_reaches_an_upstream() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("a").await;
        let p = start_with_user(&dir, &up).await;
        let mut admin = AdminClient::new(&p);
        assert_eq!(admin.login("ops", "secret").await.status, 200);
        let session = admin.cookie.clone().expect("session cookie");
        // A browser sends the host's cookies to every port of it, the proxy's included.
        let sent_kept = [
            (format!("a=1; {session}; b=2"), vec!["a=1; b=2".to_owned()]),
            (session.clone(), vec![]),
            (format!("x{session}; b=2"), vec![format!("x{session}; b=2")]),
            ("a=1".to_owned(), vec!["a=1".to_owned()]),
        ];
        for (sent, kept) in sent_kept {
            let got = send(client().get(p.url("/a/x")).header("cookie", &sent)).await;
            assert_eq!(got.status, 200, "{}", got.body);
            assert_eq!(received(&got.json(), "cookie"), kept, "sent {sent:?}");
        }
        // The session still works on the admin itself.
        assert_eq!(admin.get("/api/stats").await.status, 200);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_admin_without_users_and_explain() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("a").await;
        let p = Pylon::start_n(&dir, 2, |ports| admin_config(&dir, ports, up.addr, "")).await;
        let mut admin = AdminClient::new(&p);
        // No users: no login, but only loopback host names (a DNS-rebinding page is refused).
        assert_eq!(admin.get("/api/config").await.status, 200);
        let got =
            send(admin.req(reqwest::Method::GET, "/api/config").header("host", "evil.test")).await;
        assert_eq!(got.status, 403, "{}", got.body);
        let session = admin.get("/api/session").await.json();
        assert_eq!(session["auth_required"], false);
        // State changes still need the CSRF token /api/session hands out.
        let (text, _) = admin.config().await;
        assert_eq!(admin.plan_raw(&text).await.status, 403);
        admin.csrf = session["csrf"].as_str().map(str::to_owned);
        let plan = admin.plan(&text).await;
        assert_eq!(plan["valid"], true);
        assert!(plan["notes"][0].as_str().is_some_and(|n| n.contains("nothing would change")));

        // Explain, as JSON, against the running proxy.
        let web = p.ports[0];
        let url = format!("http://127.0.0.1:{web}/a/b?x=1");
        let got =
            admin.get(&format!("/api/explain?url={}&header=X-Test:%201", urlencode(&url))).await;
        assert_eq!(got.status, 200, "{}", got.body);
        let e = got.json();
        assert_eq!(e["server"], "web");
        assert_eq!(e["location"], "app");
        assert_eq!(e["upstream"], "a");
        assert_eq!(e["upstream_path"], "/a/b?x=1");
        assert_eq!(e["candidates"][0]["name"], "ping");
        assert_eq!(e["candidates"][0]["verdict"], "path");
        assert_eq!(e["candidates"][1]["winner"], true);
        assert_eq!(e["peers"][0]["addr"], up.addr.to_string());
        assert_eq!(e["peers"][0]["chosen"], true);
        // A port nothing listens on, and https to a plain listener: no server, and why.
        let nobody = free_port();
        let e = admin
            .get(&format!(
                "/api/explain?url={}",
                urlencode(&format!("http://127.0.0.1:{nobody}/a"))
            ))
            .await
            .json();
        assert_eq!(e["server"], Value::Null);
        assert!(e["listener"].as_str().is_some_and(|l| l.contains("no server listens")), "{e}");
        let e = admin
            .get(&format!("/api/explain?url={}", urlencode(&format!("https://127.0.0.1:{web}/a"))))
            .await
            .json();
        assert_eq!(e["server"], Value::Null);
        assert!(e["listener"].as_str().is_some_and(|l| l.contains("plain HTTP")), "{e}");
        assert_eq!(admin.get("/api/explain").await.status, 400);
        assert_eq!(admin.get("/api/nope").await.status, 404);
    })
    .await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_command_asks_the_running_instance_or_plans_offline() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("a").await;
        let p = start_with_user(&dir, &up).await;
        let c = client();
        for _ in 0..2 {
            assert_eq!(get(&c, &p.url("/ping"), None).await.status, 200);
        }
        let text = std::fs::read_to_string(&p.config).expect("config");
        let new = dir.write("new.toml", &text.replace("=/ping", "=/pong"));
        let new = new.display().to_string();

        // The candidate's [admin] finds the running instance; it needs a login.
        let (code, _, err) = pylon_cmd(&["plan", "-c", &new]).await;
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("--user"), "{err}");
        let out = std::process::Command::new(pylon_bin())
            .args(["plan", "-c", &new, "--user", "ops"])
            .env("PYLON_ADMIN_PASSWORD", "secret")
            .env_remove("PYLON_CONFIG")
            .output()
            .expect("pylon plan");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        assert!(stderr.contains("against the running pylon"), "{stderr}");
        assert!(stdout.contains("~ [locations.ping]: path"), "{stdout}");
        assert!(stdout.contains("+path = \"=/pong\""), "{stdout}");
        assert!(stdout.contains("2 of the last"), "the two /ping requests: {stdout}");
        assert!(stdout.trim_end().ends_with("plan: valid"), "{stdout}");
        // Nothing changed.
        assert_eq!(std::fs::read_to_string(&p.config).expect("config"), text);
        drop(p);

        // Offline: against a file, no impact; an invalid candidate exits 1 with its errors.
        let cur = dir.write("cur.toml", &text).display().to_string();
        let (code, out, err) = pylon_cmd(&["plan", "-c", &new, "--against", &cur]).await;
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(err.contains("planning offline"), "{err}");
        assert!(out.contains("~ [locations.ping]: path"), "{out}");
        assert!(out.contains("impact: unknown"), "{out}");
        let bad = dir
            .write("bad.toml", &text.replace("[locations.app]\n", "[locations.app]\nnope = 1\n"));
        let line = text.lines().position(|l| l == "[locations.app]").expect("line") + 2;
        let (code, out, err) =
            pylon_cmd(&["plan", "-c", &bad.display().to_string(), "--against", &cur]).await;
        assert_eq!(code, 1, "{out}\n{err}");
        assert!(out.contains(&format!("bad.toml:{line}:1: locations.app.nope")), "{out}");
        assert!(out.contains("plan: INVALID"), "{out}");
    })
    .await;
}
