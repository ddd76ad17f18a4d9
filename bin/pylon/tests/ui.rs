//! The admin web UI in a real browser: Debian's chromium, headless, driven by chromedriver
//! over WebDriver (fantoccini), against the real binary. An operator's session: log in,
//! watch a peer turn unhealthy, explain a URL, submit a broken config and see the error at
//! its line, plan a good one (diff and impact), hit a 412 because someone else changed the
//! file, apply on top of theirs and see the route change, roll back; and markup in config
//! values stays text. Screenshots of each step go to `target/ui-screenshots/`.
//!
//! chromium and chromedriver are required (`.ci/run` installs them): without them this test
//! fails, it never skips.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::{Value, json};

use crate::util::*;

const WAIT: Duration = Duration::from_secs(20);

/// chromedriver on a free loopback port; killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    async fn start() -> Driver {
        let bin = which("chromedriver").unwrap_or_else(|| {
            panic!("chromedriver is not installed (apt-get install chromium chromium-driver)")
        });
        assert!(
            which("chromium").is_some(),
            "chromium is not installed (apt-get install chromium chromium-driver)"
        );
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new(&bin)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn chromedriver");
            let mut d = Driver { child, port };
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if d.child.try_wait().expect("wait chromedriver").is_some() {
                    break;
                }
                if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                    return d;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let _ = d.child.kill();
        }
        panic!("chromedriver did not start");
    }

    async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        let mut options = json!({
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1000", "--no-proxy-server", "--disable-extensions",
                "--no-first-run", "--lang=en-GB",
            ],
        });
        if let Some(chromium) = which("chromium") {
            options["binary"] = Value::String(chromium.display().to_string());
        }
        caps.insert("goog:chromeOptions".to_owned(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("WebDriver session with headless chromium")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.is_file())
}

/// The browser plus where its screenshots go.
struct Ui {
    c: Client,
    base: String,
    shots: PathBuf,
}

impl Ui {
    async fn wait(&self, css: &str) -> Element {
        match self.c.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => {
                self.shot("failure").await;
                let body = self.text("body").await;
                panic!("{css} never appeared ({e}); the page says:\n{body}");
            }
        }
    }

    async fn text(&self, css: &str) -> String {
        match self.c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Wait until `css`'s text contains `needle`; returns the text.
    async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.text(css).await;
            if text.contains(needle) {
                return text;
            }
            if Instant::now() > deadline {
                self.shot("failure").await;
                panic!("{css} never said {needle:?}; it says:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.c.execute(script, args).await.expect("script")
    }

    async fn click(&self, css: &str) {
        self.wait(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    async fn page(&self, hash: &str, ready: &str) {
        self.js("location.hash = arguments[0]", vec![json!(hash)]).await;
        self.wait(ready).await;
    }

    /// Replace the editor's text as a paste would (an `input` event follows).
    async fn set_editor(&self, text: &str) {
        self.wait("#config-editor").await;
        self.js(
            "const e = document.getElementById('config-editor'); e.focus(); e.select(); \
             e.value = arguments[0]; e.dispatchEvent(new Event('input', {bubbles: true}));",
            vec![json!(text)],
        )
        .await;
    }

    async fn editor(&self) -> String {
        let v = self.js("return document.getElementById('config-editor').value", vec![]).await;
        v.as_str().expect("editor text").to_owned()
    }

    async fn shot(&self, name: &str) {
        if let Ok(png) = self.c.screenshot().await {
            let _ = std::fs::write(self.shots.join(format!("{name}.png")), png);
        }
    }
}

fn shots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let dir = target.join("ui-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_ui_in_headless_chromium() {
    // A browser session of ~40 steps on a shared 2-core box: longer than TEST_TIMEOUT.
    let run = async {
        let dir = Dir::new();
        let mut a = Upstream::start("a").await;
        let b = Upstream::start("b").await;
        let h = hash("secret").await;
        let users = format!("users = [{}]\n", q(&format!("ops:{h}")));
        let p = Pylon::start_n(&dir, 2, |ports| admin_config(&dir, ports, a.addr, &users)).await;
        let http = client();
        for _ in 0..4 {
            assert_eq!(get(&http, &p.url("/a/x"), None).await.upstream(), "a");
        }
        let driver = Driver::start().await;
        let ui = Ui {
            c: driver.browser().await,
            base: format!("http://127.0.0.1:{}/", p.ports[1]),
            shots: shots_dir(),
        };
        ui.c.goto(&ui.base).await.expect("open the admin");

        // Log in, typing like a person; a wrong password first.
        ui.wait("#login-user").await.send_keys("ops").await.expect("type");
        ui.wait("#login-password").await.send_keys("nope").await.expect("type");
        ui.click("#login-submit").await;
        ui.wait_text("#login-error", "wrong user name or password").await;
        let pw = ui.wait("#login-password").await;
        pw.clear().await.expect("clear");
        pw.send_keys("secret").await.expect("type");
        ui.click("#login-submit").await;
        ui.wait("#locations-table").await;
        ui.wait_text("#who", "ops").await;
        // The session cookie is HttpOnly: the page's script cannot read it.
        let cookies = ui.js("return document.cookie", vec![]).await;
        assert_eq!(cookies, json!(""), "HttpOnly cookie visible to script");
        // Traffic while the dashboard samples: the chart and the table move.
        let traffic = {
            let (http, url) = (http.clone(), p.url("/a/x"));
            tokio::spawn(async move {
                let until = Instant::now() + Duration::from_secs(5);
                while Instant::now() < until {
                    let _ = http.get(&url).send().await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        // The first card is requests/s: it turns positive while the traffic runs.
        let deadline = Instant::now() + WAIT;
        loop {
            let rate = ui.text(".stat .stat-value").await;
            if rate.replace(',', "").parse::<f64>().is_ok_and(|r| r > 0.0) {
                break;
            }
            assert!(Instant::now() < deadline, "requests/s never moved: {rate}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_millis(2100)).await;
        ui.wait(".chart polyline").await;
        ui.shot("01-dashboard").await;
        traffic.await.expect("traffic");
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let row = ui.text("#locations-table").await;
        let app = row.lines().find(|l| l.contains("app")).unwrap_or_default().to_owned();
        let n: u64 = app
            .split_whitespace()
            .nth(2)
            .and_then(|n| n.replace(',', "").parse().ok())
            .unwrap_or(0);
        assert!(n > 20, "the app row counts the traffic: {row}");

        // Servers: peer a is up, then its upstream dies and the page shows it down.
        ui.page("#/servers", &format!("li.peer.up[data-peer=\"{}\"]", a.addr)).await;
        a.stop().await;
        ui.wait(&format!("li.peer.down[data-peer=\"{}\"]", a.addr)).await;
        ui.shot("02-servers-peer-down").await;
        a.restart().await;
        ui.wait(&format!("li.peer.up[data-peer=\"{}\"]", a.addr)).await;

        // Explain a URL: every candidate and why it lost.
        ui.page("#/explain", "#explain-url").await;
        let url = format!("http://127.0.0.1:{}/a/b?x=1", p.ports[0]);
        ui.wait("#explain-url").await.send_keys(&url).await.expect("type");
        ui.wait("#explain-headers").await.send_keys("X-Test: 1").await.expect("type");
        ui.click("#explain-run").await;
        let summary = ui.wait_text("#explain-summary", "upstream a").await;
        assert!(summary.contains(&a.addr.to_string()), "{summary}");
        let ping = ui.text("#candidates tr[data-candidate=\"ping\"]").await;
        assert!(ping.contains("path does not match"), "{ping}");
        let winner = ui.wait("#candidates tr.winner").await.text().await.expect("text");
        assert!(winner.contains("app"), "{winner}");
        ui.shot("03-explain").await;

        // The editor: a broken config shows its error at its line; Apply stays off.
        ui.page("#/config", "#config-editor").await;
        let original = ui.editor().await;
        assert_eq!(original, std::fs::read_to_string(&p.config).expect("config"));
        let broken = original.replace("[locations.app]\n", "[locations.app]\nbogus = 1\n");
        let line = broken.lines().position(|l| l == "bogus = 1").expect("line") + 1;
        ui.set_editor(&broken).await;
        ui.click("#plan-btn").await;
        ui.wait("#plan-verdict.callout-error").await;
        ui.wait(&format!(".gutter .ln-error[data-line=\"{line}\"]")).await;
        let inline = ui.text(&format!(".inline-msg.inline-error[data-line=\"{line}\"]")).await;
        assert!(inline.contains("locations.app.bogus"), "the error sits at its line: {inline}");
        let errors = ui.text(".diags-error").await;
        assert!(errors.contains(&format!("line {line}, column 1")), "{errors}");
        assert!(errors.contains("locations.app.bogus"), "{errors}");
        assert!(!ui.wait("#apply-btn").await.is_enabled().await.expect("enabled"));
        ui.shot("04-config-error-at-line").await;

        // A good change: /a goes to a new upstream b. The plan shows the text diff, the
        // semantic diff and the impact on the four /a/x requests.
        let good = |base: &str| {
            base.replace(
                "[locations.app]\npath = \"/a\"\nupstream = \"a\"\n",
                &format!(
                    "[upstreams.b]\naddrs = [{}]\n[locations.app]\npath = \"/a\"\nupstream = \"b\"\n",
                    q(&b.addr.to_string())
                ),
            )
        };
        assert_ne!(good(&original), original);
        ui.set_editor(&good(&original)).await;
        ui.click("#plan-btn").await;
        ui.wait("#plan-verdict.callout-ok").await;
        let diff = ui.text("#text-diff").await;
        assert!(diff.contains("+upstream = \"b\"") && diff.contains("-upstream = \"a\""), "{diff}");
        let sem = ui.text("#semantic-diff").await;
        assert!(sem.contains("[upstreams.b] added"), "{sem}");
        assert!(sem.contains("[locations.app] changed: upstream"), "{sem}");
        let impact = ui.text("#impact-summary").await;
        // Every /a/x request so far (4 plus the dashboard's traffic) would move to b.
        let changed: Vec<u64> = impact
            .replace(',', "")
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        assert!(
            impact.contains("would be served differently")
                && changed.len() == 2
                && changed[1] > 20
                && changed[1] <= changed[0],
            "{impact}"
        );
        let example = ui.text("#impact-table").await;
        assert!(example.contains("/a/x") && example.contains("app → upstream b"), "{example}");
        assert!(ui.wait("#apply-btn").await.is_enabled().await.expect("enabled"));
        ui.shot("05-plan-diff-impact").await;

        // Meanwhile someone else changes the file (through the API): Apply gets the 412 and
        // nothing of ours is written.
        let admin = format!("http://127.0.0.1:{}", p.ports[1]);
        let got =
            send(http.get(format!("{admin}/api/config")).basic_auth("ops", Some("secret"))).await;
        let etag = got.json()["etag"].as_str().expect("etag").to_owned();
        let theirs = original.replace("200 pong", "200 pang");
        let got = send(
            http.put(format!("{admin}/api/config"))
                .basic_auth("ops", Some("secret"))
                .header("if-match", format!("\"{etag}\""))
                .body(theirs.clone()),
        )
        .await;
        assert_eq!(got.status, 200, "{}", got.body);
        ui.click("#apply-btn").await;
        let conflict = ui.wait_text("#conflict-412", "someone else changed").await;
        assert!(conflict.contains(got.json()["etag"].as_str().expect("etag")), "{conflict}");
        assert_eq!(std::fs::read_to_string(&p.config).expect("config"), theirs);
        assert_eq!(get(&http, &p.url("/a/x"), None).await.upstream(), "a");
        ui.shot("06-conflict-412").await;

        // Load their version, redo the change on it, plan, apply: the route changes.
        ui.click("#load-current").await;
        let deadline = Instant::now() + WAIT;
        while ui.editor().await != theirs {
            assert!(Instant::now() < deadline, "the editor never loaded the current file");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mine = good(&theirs);
        ui.set_editor(&mine).await;
        ui.click("#plan-btn").await;
        ui.wait("#plan-verdict.callout-ok").await;
        ui.click("#apply-btn").await;
        ui.wait_text("#applied", "Applied").await;
        assert_eq!(std::fs::read_to_string(&p.config).expect("config"), mine);
        assert_eq!(get(&http, &p.url("/a/x"), None).await.upstream(), "b", "route changed");
        assert_eq!(get(&http, &p.url("/ping"), None).await.body, "pang");
        ui.shot("07-applied").await;

        // History: roll back to their version (planned first: the diff shows b going away).
        let theirs_version = got.json()["etag"].as_str().expect("etag").to_owned();
        ui.page("#/history", "#history-table").await;
        ui.click(&format!("button[data-rollback=\"{theirs_version}\"]")).await;
        ui.wait("#plan-verdict.callout-ok").await;
        let sem = ui.text("#semantic-diff").await;
        assert!(sem.contains("[upstreams.b] removed"), "{sem}");
        ui.shot("08-rollback-plan").await;
        ui.click("#rollback-btn").await;
        ui.wait_text("#rolled-back", "Rolled back").await;
        // The list now holds all three replaced versions: the original (their edit), theirs
        // (our apply) and ours (the rollback).
        let rows = ui
            .js("return document.querySelectorAll('#history-table tbody tr').length", vec![])
            .await;
        assert_eq!(rows, json!(3), "{}", ui.text("#history-table").await);
        assert_eq!(std::fs::read_to_string(&p.config).expect("config"), theirs);
        assert_eq!(get(&http, &p.url("/a/x"), None).await.upstream(), "a", "rolled back");
        ui.shot("09-rolled-back").await;

        // Markup in config values (host, path) and in request paths stays text everywhere.
        const HOST: &str = "~<img src=x onerror=window.pwned=1>";
        const PATH: &str = "~^/<img src=x onerror=window.pwned=2>";
        let hostile = theirs
            .replace(
                "[servers.web]",
                &format!(
                    "[locations.xss]\nhost = {}\npath = {}\nreturn = \"200 <b>bold</b>\"\n\
                     [servers.web]",
                    q(HOST),
                    q(PATH)
                ),
            )
            .replace("locations = [\"ping\", \"app\"]", "locations = [\"xss\", \"ping\", \"app\"]");
        assert_ne!(hostile, theirs);
        ui.page("#/config", "#config-editor").await;
        ui.set_editor(&hostile).await;
        ui.click("#plan-btn").await;
        ui.wait("#plan-verdict.callout-ok").await;
        let diff = ui.text("#text-diff").await;
        assert!(diff.contains(HOST), "the diff shows the markup as text: {diff}");
        ui.click("#apply-btn").await;
        ui.wait_text("#applied", "Applied").await;
        ui.page("#/servers", "tr[data-location=\"xss\"]").await;
        let row = ui.text("tr[data-location=\"xss\"]").await;
        assert!(row.contains("<img src=x onerror=window.pwned=1>"), "{row}");
        assert!(row.contains("<img src=x onerror=window.pwned=2>"), "{row}");
        ui.page("#/explain", "#explain-url").await;
        let evil =
            format!("http://127.0.0.1:{}/%3Cimg%20src=x%20onerror=window.pwned=3%3E", p.ports[0]);
        ui.wait("#explain-url").await.send_keys(&evil).await.expect("type");
        ui.click("#explain-run").await;
        ui.wait("#explain-summary").await;
        ui.page("#/servers", "tr[data-location=\"xss\"]").await;
        let probe = ui
            .js(
                "return {pwned: window.pwned === undefined ? null : window.pwned, \
                 imgs: document.querySelectorAll('img:not([src$=\"icon.svg\"])').length, \
                 bold: document.querySelectorAll('main b').length}",
                vec![],
            )
            .await;
        assert_eq!(probe, json!({ "pwned": null, "imgs": 0, "bold": 0 }), "markup was parsed");
        ui.shot("10-markup-stays-text").await;

        // A phone-sized window: the same pages stay usable (no sideways page scroll).
        ui.c.set_window_size(400, 860).await.expect("resize");
        for (hash, ready, name) in [
            ("#/dashboard", "#locations-table", "11-narrow-dashboard"),
            ("#/config", "#config-editor", "12-narrow-config"),
        ] {
            ui.page(hash, ready).await;
            ui.shot(name).await;
            let wide = ui
                .js("return document.documentElement.scrollWidth - window.innerWidth", vec![])
                .await;
            assert!(
                wide.as_i64().is_some_and(|w| w <= 0),
                "{name}: the page scrolls sideways by {wide}"
            );
            ui.shot(name).await;
        }
        ui.c.set_window_size(1280, 1000).await.expect("resize");

        // Log out: the API refuses the browser again.
        ui.click("#logout").await;
        ui.wait("#login-user").await;
        let status =
            ui.c.execute_async(
                "const done = arguments[arguments.length - 1]; \
                 fetch('api/config').then(r => done(r.status));",
                vec![],
            )
            .await
            .expect("fetch");
        assert_eq!(status, json!(401));
        ui.c.clone().close().await.expect("close the browser");
    };
    tokio::time::timeout(Duration::from_secs(240), run).await.expect("browser test timed out");
}
