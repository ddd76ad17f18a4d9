//! Plugins (issue 12) through the real binary: ip_restriction, request_id, redirect, cors,
//! their order and listing in `check` / `explain`, server-level defaults, and `return`
//! with variables and redirects. h1 (raw and reqwest), h2c (prior knowledge) and WebSocket.

use std::time::Duration;

use pylon_testkit::{H2Conn, H2Request};

use crate::util::*;

/// A client speaking h2c (HTTP/2 with prior knowledge) to a plain listener.
/// One upstream, one server with `server_extra`, locations `/` and `/ws` (both using
/// `location_extra`) and the `[plugins]` tables in `plugins`.
fn config(
    dir: &Dir,
    up: &Upstream,
    ws: &WsEcho,
    port: u16,
    plugins: &str,
    server_extra: &str,
    location_extra: &str,
) -> String {
    format!(
        "{basic}
[upstreams.up]
addrs = [{up}]
[upstreams.ws]
addrs = [{ws}]
{plugins}
[locations.main]
upstream = \"up\"
path = \"/\"
{location_extra}
[locations.ws]
upstream = \"ws\"
path = \"/ws\"
{location_extra}
[servers.main]
addr = \"127.0.0.1:{port}\"
locations = [\"main\", \"ws\"]
{server_extra}
",
        basic = dir.basic(""),
        up = q(&up.addr.to_string()),
        ws = q(&ws.addr.to_string()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_restriction_denies_h1_h2_and_websocket_and_honours_trusted_proxies() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("up").await;
        let ws = WsEcho::start().await;
        let plugins = r#"
[plugins.office]
kind = "ip_restriction"
allow = ["10.0.0.0/8"]
trusted_proxies = ["127.0.0.1"]
"#;
        let p = Pylon::start(&dir, |port| {
            config(&dir, &up, &ws, port, plugins, "", "plugins = [\"office\"]")
        })
        .await;
        // The test client is 127.0.0.1: a trusted proxy, not in `allow`.
        for c in [client(), h2c()] {
            let got = get(&c, &p.url("/x"), None).await;
            assert_eq!(got.status, 403, "{}", got.body);
            assert!(got.body.contains("403 Forbidden"), "error page: {}", got.body);
            assert!(got.body.contains("not allowed"), "{}", got.body);
            // Behind the trusted proxy, the client named in X-Forwarded-For counts.
            let got = send(c.get(p.url("/x")).header("x-forwarded-for", "10.1.2.3")).await;
            assert_eq!(got.status, 200, "{}", got.body);
            let got =
                send(c.get(p.url("/x")).header("x-forwarded-for", "10.1.2.3, 192.0.2.1")).await;
            assert_eq!(got.status, 403, "the nearest untrusted hop is the client: {}", got.body);
        }
        assert_eq!(up.hits(), 2, "only the two admitted requests reached the upstream");
        // A denied WebSocket upgrade: 403, nothing upgraded.
        let url = format!("ws://127.0.0.1:{}/ws", p.ports[0]);
        assert_eq!(ws_status(&url, &[]).await, Err(403));
        assert_eq!(ws_status(&url, &[("x-forwarded-for", "10.9.9.9")]).await, Ok(()));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_not_trusted_by_default() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("up").await;
        let ws = WsEcho::start().await;
        let plugins =
            "[plugins.office]\nkind = \"ip_restriction\"\ndeny = [\"127.0.0.0/8\", \"::1\"]\n";
        let p = Pylon::start(&dir, |port| {
            config(&dir, &up, &ws, port, plugins, "plugins = [\"office\"]", "")
        })
        .await;
        let got = send(client().get(p.url("/x")).header("x-forwarded-for", "10.1.2.3")).await;
        assert_eq!(got.status, 403, "{}", got.body);
        let url = format!("ws://127.0.0.1:{}/ws", p.ports[0]);
        assert_eq!(ws_status(&url, &[("x-forwarded-for", "10.1.2.3")]).await, Err(403));
        assert_eq!(up.hits(), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_id_is_honoured_or_generated_and_logged() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("up").await;
        let ws = WsEcho::start().await;
        let log = dir.join("access.log");
        let plugins = "[plugins.rid]\nkind = \"request_id\"\n";
        let server_extra = format!(
            "plugins = [\"rid\"]\naccess_log = \"{{request_id}} {{status}}\"\naccess_log_path = {}\n\
             proxy_set_headers = [\"X-Var-Id: $request_id\"]",
            q(&log.display().to_string())
        );
        let p = Pylon::start(&dir, |port| config(&dir, &up, &ws, port, plugins, &server_extra, "")).await;
        // Generated: 32 hex digits, sent upstream, echoed, equal to $request_id.
        let got = get(&h2c(), &p.url("/a"), None).await;
        assert_eq!(got.status, 200);
        let id = got.header("x-request-id").expect("echoed id");
        assert_eq!(id.len(), 32, "{id}");
        let doc = got.json();
        assert_eq!(received(&doc, "x-request-id"), [id.as_str()]);
        assert_eq!(received(&doc, "x-var-id"), [id.as_str()]);
        // Honoured when well-formed, replaced when not.
        let got = send(client().get(p.url("/b")).header("x-request-id", "abc-123")).await;
        assert_eq!(got.header("x-request-id").as_deref(), Some("abc-123"));
        assert_eq!(received(&got.json(), "x-request-id"), ["abc-123"]);
        let long = "x".repeat(300);
        let got = send(client().get(p.url("/c")).header("x-request-id", long.as_str())).await;
        let replaced = got.header("x-request-id").expect("id");
        assert_eq!(replaced.len(), 32);
        let lines = eventually(Duration::from_secs(10), "three access-log lines", || async {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            (text.lines().count() >= 3).then_some(text)
        })
        .await;
        let ids: Vec<&str> = lines.lines().map(|l| l.split(' ').next().unwrap_or("")).collect();
        assert_eq!(ids, [id.as_str(), "abc-123", replaced.as_str()]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_to_https_and_canonical_host_keeps_path_and_query() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("up").await;
        let ws = WsEcho::start().await;
        let plugins = r#"
[plugins.canonical]
kind = "redirect"
scheme = "https"
host = "www.example.com"
status = 308
"#;
        let p = Pylon::start(&dir, |port| {
            config(&dir, &up, &ws, port, plugins, "", "plugins = [\"canonical\"]")
        })
        .await;
        let got = exchange(
            p.addr(),
            b"POST /a/b%20c?x=1&y=2 HTTP/1.1\r\nHost: Example.com:8080\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            Duration::from_secs(5),
        )
        .await;
        let reply = got.only();
        assert_eq!(reply.status, 308, "{got:?}");
        assert_eq!(
            reply.header("location").as_deref(),
            Some("https://www.example.com/a/b%20c?x=1&y=2")
        );
        let c = client_builder().no_proxy().redirect(reqwest::redirect::Policy::none()).http2_prior_knowledge().build().unwrap();
        let got = send(c.get(p.url("/h2?q"))).await;
        assert_eq!(got.status, 308, "over h2c too");
        assert_eq!(got.header("location").as_deref(), Some("https://www.example.com/h2?q"));
        assert_eq!(up.hits(), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_is_answered_and_a_disallowed_header_refused() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("up").await;
        let ws = WsEcho::start().await;
        let plugins = r#"
[plugins.cors]
kind = "cors"
allow_origins = ["https://app.example", "https://*.example.com"]
allow_methods = ["GET", "PUT"]
allow_headers = ["Content-Type", "X-Token"]
expose_headers = ["X-Upstream"]
allow_credentials = true
max_age = "10m"
"#;
        let p = Pylon::start(&dir, |port| {
            config(&dir, &up, &ws, port, plugins, "", "plugins = [\"cors\"]")
        })
        .await;
        for c in [client(), h2c()] {
            let pre = |origin: &str, headers: &str| {
                c.request(reqwest::Method::OPTIONS, p.url("/api"))
                    .header("origin", origin)
                    .header("access-control-request-method", "PUT")
                    .header("access-control-request-headers", headers)
            };
            let got = send(pre("https://a.example.com", "content-type, x-token")).await;
            assert_eq!(got.status, 204, "{}", got.body);
            assert_eq!(
                got.header("access-control-allow-origin").as_deref(),
                Some("https://a.example.com")
            );
            assert_eq!(got.header("access-control-allow-methods").as_deref(), Some("GET, PUT"));
            assert_eq!(
                got.header("access-control-allow-headers").as_deref(),
                Some("content-type, x-token")
            );
            assert_eq!(got.header("access-control-allow-credentials").as_deref(), Some("true"));
            assert_eq!(got.header("access-control-max-age").as_deref(), Some("600"));
            assert!(got.header("vary").unwrap_or_default().contains("Origin"));
            // A header the policy does not allow: refused, and no allow headers.
            let got = send(pre("https://app.example", "x-token, x-evil")).await;
            assert_eq!(got.status, 403, "{}", got.body);
            assert!(got.body.contains("header x-evil is not allowed"), "{}", got.body);
            assert!(got.header("access-control-allow-origin").is_none());
            assert!(got.header("access-control-allow-headers").is_none());
            // A simple request from an allowed origin reaches the upstream and gets the headers.
            let got = send(c.get(p.url("/api")).header("origin", "https://app.example")).await;
            assert_eq!(got.status, 200);
            assert_eq!(
                got.header("access-control-allow-origin").as_deref(),
                Some("https://app.example")
            );
            assert_eq!(got.header("access-control-expose-headers").as_deref(), Some("X-Upstream"));
            assert!(got.header("vary").unwrap_or_default().contains("Origin"));
            // From an origin not allowed: proxied, but no CORS headers (the browser blocks).
            let got = send(c.get(p.url("/api")).header("origin", "https://evil.test")).await;
            assert_eq!(got.status, 200);
            assert!(got.header("access-control-allow-origin").is_none());
            assert!(got.header("vary").unwrap_or_default().contains("Origin"));
        }
        assert_eq!(up.hits(), 4, "preflights never reach the upstream");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_plugins_run_first_and_check_and_explain_list_the_chain() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("up").await;
        let ws = WsEcho::start().await;
        let plugins = r#"
[plugins.rid]
kind = "request_id"
[plugins.office]
kind = "ip_restriction"
deny = ["127.0.0.1"]
"#;
        let p = Pylon::start(&dir, |port| {
            config(&dir, &up, &ws, port, plugins, "plugins = [\"rid\"]", "plugins = [\"office\"]")
        })
        .await;
        // request_id ran before the denial: the 403 carries the id.
        let got = get(&client(), &p.url("/x"), None).await;
        assert_eq!(got.status, 403);
        assert_eq!(got.header("x-request-id").map(|s| s.len()), Some(32));
        let config = p.config.display().to_string();
        let (code, out, err) = pylon_cmd(&["check", "-c", &config]).await;
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("plugins for every location: rid"), "{out}");
        assert!(out.contains("plugins: rid (request_id) -> office (ip_restriction)"), "{out}");
        let url = format!("http://127.0.0.1:{}/x", p.ports[0]);
        let (code, out, err) = pylon_cmd(&["explain", "-c", &config, &url]).await;
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("plugins:  rid (request_id) -> office (ip_restriction)"), "{out}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_config_errors_have_positions_and_suggestions() {
    bounded(async {
        let dir = Dir::new();
        let text = r#"[plugins.a]
kind = "ip_restrictoin"

[plugins.b]
kind = "ip_restriction"
alow = ["10.0.0.0/8"]
deny = ["10.0.0.1/8", "nope"]

[plugins.c]
kind = "cors"
allow_origins = ["*"]
allow_credentials = true

[plugins.d]
allow = []

[locations.l]
return = "200 ok"
plugins = ["b", "ofice"]

[servers.s]
addr = "127.0.0.1:1"
locations = ["l"]
plugins = ["b"]
"#;
        let path = dir.write("bad.toml", text);
        let (code, _, err) = pylon_cmd(&["check", "-c", &path.display().to_string()]).await;
        assert_eq!(code, 1, "{err}");
        let expected: &[(&str, &str)] = &[
            ("bad.toml:2:8: plugins.a.kind", "did you mean \"ip_restriction\"?"),
            ("bad.toml:6:1: plugins.b.alow", "did you mean `allow`?"),
            ("bad.toml:7:9: plugins.b.deny[0]", "host bits set"),
            ("bad.toml:7:23: plugins.b.deny[1]", "invalid address \"nope\""),
            ("bad.toml:12:1: plugins.c.allow_credentials", "cannot be combined"),
            ("bad.toml:14:10: plugins.d", "missing `kind`"),
            (
                "bad.toml:19:12: locations.l.plugins[0]",
                "already runs for every location of server \"s\"",
            ),
            ("bad.toml:19:17: locations.l.plugins[1]", "unknown plugin \"ofice\""),
        ];
        for (at, msg) in expected {
            assert!(
                err.lines().any(|l| l.contains(at) && l.contains(msg)),
                "no `{at} ... {msg}` in:\n{err}"
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_defaults_are_inherited_unless_the_location_sets_its_own() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("up").await;
        let p = Pylon::start(&dir, |port| {
            format!(
                r#"{basic}
[upstreams.up]
addrs = [{up}]
[locations.inherits]
upstream = "up"
path = "/inherit"
[locations.own]
upstream = "up"
path = "/own"
proxy_set_headers = ["X-Own: yes"]
response_remove_headers = []
client_max_body_size = 0
[servers.main]
addr = "127.0.0.1:{port}"
locations = ["inherits", "own"]
proxy_set_headers = ["X-Server: $host"]
proxy_remove_headers = ["X-Secret"]
response_set_headers = ["X-Served: pylon"]
response_remove_headers = ["X-Upstream-Remove"]
client_max_body_size = "10b"
"#,
                basic = dir.basic(""),
                up = q(&up.addr.to_string()),
            )
        })
        .await;
        let c = client();
        let got = send(c.get(p.url("/inherit")).header("x-secret", "s")).await;
        let doc = got.json();
        assert_eq!(received(&doc, "x-server"), ["127.0.0.1"]);
        assert!(received(&doc, "x-secret").is_empty());
        assert_eq!(got.header("x-served").as_deref(), Some("pylon"));
        assert!(got.header("x-upstream-remove").is_none());
        let got = send(c.post(p.url("/inherit")).body("more than ten bytes")).await;
        assert_eq!(got.status, 413, "the server's client_max_body_size applies");
        // The location's own lists replace the server's, each directive on its own.
        let got = send(c.get(p.url("/own")).header("x-secret", "s")).await;
        let doc = got.json();
        assert_eq!(received(&doc, "x-own"), ["yes"]);
        assert!(received(&doc, "x-server").is_empty(), "proxy_set_headers replaced");
        assert!(received(&doc, "x-secret").is_empty(), "proxy_remove_headers still inherited");
        assert_eq!(
            got.header("x-served").as_deref(),
            Some("pylon"),
            "response_set_headers inherited"
        );
        assert_eq!(got.header("x-upstream-remove").as_deref(), Some("from-upstream"), "[] clears");
        let got = send(c.post(p.url("/own")).body("more than ten bytes")).await;
        assert_eq!(got.status, 200, "client_max_body_size = 0 lifts the server's limit");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_redirects_send_location_and_bodies_expand_variables() {
    bounded(async {
        let dir = Dir::new();
        let p = Pylon::start(&dir, |port| {
            format!(
                r#"{basic}
[locations.moved]
path = "/old"
return = "301 https://$host$request_uri"
[locations.echo]
path = "/echo"
return = "200 $request_method $uri ? $args ($request_uri)"
[servers.main]
addr = "127.0.0.1:{port}"
locations = ["moved", "echo"]
"#,
                basic = dir.basic("")
            )
        })
        .await;
        let got = exchange(
            p.addr(),
            b"GET /old/page?a=1 HTTP/1.1\r\nHost: Example.org:81\r\nConnection: close\r\n\r\n",
            Duration::from_secs(5),
        )
        .await;
        let reply = got.only();
        assert_eq!(reply.status, 301, "{got:?}");
        assert_eq!(reply.header("location").as_deref(), Some("https://example.org/old/page?a=1"));
        assert!(!reply.text().contains("$host"), "{got:?}");
        let got = get(&h2c(), &p.url("/echo/x?k=v"), None).await;
        assert_eq!(got.status, 200);
        assert_eq!(got.body, "GET /echo/x ? k=v (/echo/x?k=v)");
    })
    .await;
}

/// `target` with the first letter after the leading `/` percent-encoded (`/ip` → `/%69p`):
/// the same normal path, spelled differently.
fn encoded_first(target: &str) -> String {
    let first = target.as_bytes()[1];
    format!("/%{first:02X}{}", &target[2..])
}

/// Every kind acts on the normal path routing matched, whatever the spelling of the
/// request target (`/x/../K`, `/./K`, `/%6B…`), over raw h1 and raw h2c alike; and every
/// kind applies to WebSocket upgrades (refusing kinds refuse them, the others let them
/// through untouched).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_applies_after_path_normalisation_on_h1_and_h2c_and_to_upgrades() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("up").await;
        let ws = WsEcho::start().await;
        let auth = Upstream::serve(
            std::sync::Arc::new(|_: &pylon_testkit::Seen| {
                pylon_testkit::Reply::new(401, "auth service says no")
            }),
            None,
        )
        .await;
        let hash = pylon_admin::hash_password("pw").expect("hash");
        let key_hash: String = ring::digest::digest(&ring::digest::SHA256, b"k")
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        // (prefix, plugin table): each location `/NAME` (upstream) and `/NAME/ws` (WebSocket).
        let kinds = [
            ("ip", "kind = \"ip_restriction\"\ndeny = [\"127.0.0.0/8\"]".to_owned()),
            ("basic", format!("kind = \"basic_auth\"\nusers = [{}]", q(&format!("alice:{hash}")))),
            ("key", format!("kind = \"key_auth\"\nkeys = [\"sha256:{key_hash}\"]")),
            ("jwt", "kind = \"jwt\"\nalgorithm = \"HS256\"\nsecret = \"s\"".to_owned()),
            ("fa", format!("kind = \"forward_auth\"\nurl = \"http://{}/verify\"", auth.addr)),
            ("redir", "kind = \"redirect\"\nscheme = \"https\"\nstatus = 308".to_owned()),
            ("lim", "kind = \"limit\"\nkey = \"path\"\nrate = \"1r/m\"".to_owned()),
            ("cors", "kind = \"cors\"\nallow_origins = [\"https://app.example\"]".to_owned()),
            ("rid", "kind = \"request_id\"".to_owned()),
            ("gz", "kind = \"compression\"".to_owned()),
        ];
        let mut tables = String::new();
        let mut names = Vec::new();
        for (name, table) in &kinds {
            tables.push_str(&format!(
                "[plugins.{name}]\n{table}\n\
                 [locations.{name}]\nupstream = \"up\"\npath = \"/{name}\"\nplugins = [\"{name}\"]\n\
                 [locations.{name}_ws]\nupstream = \"ws\"\npath = \"/{name}/ws\"\nplugins = [\"{name}\"]\n"
            ));
            names.push(format!("\"{name}\", \"{name}_ws\""));
        }
        let p = Pylon::start(&dir, |port| {
            format!(
                "{basic}\n[upstreams.up]\naddrs = [{up}]\n[upstreams.ws]\naddrs = [{ws}]\n{tables}\
                 [locations.open]\nupstream = \"up\"\npath = \"/\"\n\
                 [servers.main]\naddr = \"127.0.0.1:{port}\"\nlocations = [{names}, \"open\"]\n",
                basic = dir.basic(""),
                up = q(&up.addr.to_string()),
                ws = q(&ws.addr.to_string()),
                names = names.join(", "),
            )
        })
        .await;
        // The limit's key is the normal path: one request is its whole allowance.
        assert_eq!(get(&client(), &p.url("/lim/a"), None).await.status, 200);
        let hits = up.hits();
        let mut h2c = H2Conn::h2c(p.addr()).await;
        // (prefix, status of a request without credentials, method, extra header lines)
        type Refusal<'a> = (&'a str, u16, &'a str, &'a [(&'a str, &'a str)]);
        let refusals: [Refusal<'_>; 8] = [
            ("/ip", 403, "GET", &[]),
            ("/basic", 401, "GET", &[]),
            ("/key", 401, "GET", &[]),
            ("/jwt", 401, "GET", &[]),
            ("/fa", 401, "GET", &[]),
            ("/redir", 308, "GET", &[]),
            (
                "/cors",
                403,
                "OPTIONS",
                &[
                    ("origin", "https://app.example"),
                    ("access-control-request-method", "GET"),
                    ("access-control-request-headers", "x-evil"),
                ],
            ),
            ("/lim", 429, "GET", &[]),
        ];
        for (prefix, status, method, fields) in refusals {
            let plain = format!("{prefix}/a");
            for target in [
                format!("/open/..{prefix}/a"),
                format!("/.{prefix}/./a"),
                encoded_first(&plain),
                format!("{prefix}/b/../a"),
            ] {
                let extra: String = fields.iter().map(|(n, v)| format!("{n}: {v}\r\n")).collect();
                let raw = format!(
                    "{method} {target} HTTP/1.1\r\nHost: h\r\n{extra}Connection: close\r\n\r\n"
                );
                let ex = exchange(p.addr(), raw.as_bytes(), Duration::from_secs(5)).await;
                let r = ex.only();
                assert_eq!(r.status, status, "h1 {method} {target}: {}", r.text());
                let mut req = H2Request::new(method, &format!("http://h{target}"));
                for (n, v) in fields {
                    req = req.field(n, v);
                }
                let r = h2c.send(req).await;
                assert_eq!(r.status, Some(status), "h2c {method} {target}: {}", r.text());
                if prefix == "/redir" {
                    assert_eq!(r.field("location"), Some("https://h/redir/a"), "{target}");
                }
            }
        }
        assert_eq!(up.hits(), hits, "a refused request reached the upstream");

        // Upgrades: refused by the refusing kinds (also under another spelling of the
        // path), untouched by the others.
        let base = format!("ws://127.0.0.1:{}", p.ports[0]);
        for (path, status) in [
            ("/ip/ws", 403),
            ("/%69p/ws", 403),
            ("/basic/ws", 401),
            ("/key/ws", 401),
            ("/jwt/ws", 401),
            ("/fa/ws", 401),
            ("/redir/ws", 308),
        ] {
            assert_eq!(ws_status(&format!("{base}{path}"), &[]).await, Err(status), "{path}");
        }
        assert_eq!(ws_status(&format!("{base}/lim/ws"), &[]).await, Ok(()), "first of its path");
        assert_eq!(ws_status(&format!("{base}/lim/ws"), &[]).await, Err(429));
        for path in ["/cors/ws", "/rid/ws", "/gz/ws"] {
            use futures_util::{SinkExt as _, StreamExt as _};
            use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _};
            let mut req = format!("{base}{path}").into_client_request().expect("ws request");
            req.headers_mut().insert("origin", "https://app.example".parse().expect("origin"));
            req.headers_mut().insert("accept-encoding", "gzip, br, zstd".parse().expect("ae"));
            let (mut stream, resp) = tokio_tungstenite::connect_async(req).await.expect(path);
            assert_eq!(resp.status(), 101, "{path}");
            assert!(resp.headers().get("content-encoding").is_none(), "{path}");
            if path == "/rid/ws" {
                let id = resp.headers().get("x-request-id").expect("X-Request-Id on the 101");
                assert_eq!(id.len(), 32);
            }
            stream.send(Message::text("hello through plugins")).await.expect("send");
            let echoed = stream.next().await.expect("an answer").expect("a frame");
            assert_eq!(echoed.into_text().expect("text").as_str(), "hello through plugins");
        }
    })
    .await;
}
