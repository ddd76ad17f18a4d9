//! The request target and its authority (README "Decisions"): routing on the normal path
//! (RFC 3986 §6.2.2), targets and Hosts refused with 400 (RFC 9112 §3.2), absolute-form
//! routed by its authority (RFC 9112 §3.2.2). Raw HTTP/1 bytes, h2c and h2 over TLS (frames
//! with the `:path` exactly as written), against the binary.

use std::time::Duration;

use pylon_testkit::{Ca, H2Conn, H2Reply, H2Request, Response};
use serde_json::Value;

use crate::util::*;

/// A guard (`/admin` → 403), an exact and a regex guard, a host-scoped location and a
/// catch-all behind them, both proxying to `up` and telling it which location and `$host`
/// they saw. One plain listener (h1 + h2c) and one TLS listener (h2 + h1) for `localhost`.
struct Setup {
    dir: Dir,
    up: Upstream,
    p: Pylon,
    ca: Ca,
}

impl Setup {
    async fn start() -> Setup {
        let dir = Dir::new();
        let up = Upstream::start("app").await;
        let ca = Ca::new(dir.path(), "ca");
        let leaf = ca.leaf(dir.path(), "localhost", &["localhost"]);
        let log = dir.join("access.log");
        let locations = "locations = [\"admin\", \"exact\", \"regex\", \"hosted\", \"api\", \"all\"]\n\
                         access_log = \"{location} {host} {path} {uri} {status}\"\n";
        let p = Pylon::start_n(&dir, 2, |ports| {
            format!(
                "{basic}[upstreams.app]\naddrs = [{addr}]\n\
                 [locations.admin]\npath = \"/admin\"\nreturn = \"403 denied\"\n\
                 [locations.exact]\npath = \"=/secret\"\nreturn = \"403 exact\"\n\
                 [locations.regex]\npath = \"~^/private/\"\nreturn = \"403 regex\"\n\
                 [locations.hosted]\nhost = \"admin.example.test\"\nupstream = \"app\"\n\
                 proxy_set_headers = [\"X-Location: hosted\", \"X-Host: $host\"]\n\
                 [locations.api]\npath = \"/api/\"\nrewrite = \"^/api/(.*)$ /v2/$1\"\n\
                 upstream = \"app\"\n\
                 [locations.all]\npath = \"\"\nupstream = \"app\"\n\
                 proxy_set_headers = [\"X-Location: all\", \"X-Host: $host\", \"X-Uri: $uri\"]\n\
                 [servers.main]\naddr = \"127.0.0.1:{p0}\"\nenable_h2 = true\n{locations}\
                 access_log_path = {log}\n\
                 [servers.tls]\naddr = \"127.0.0.1:{p1}\"\nenable_h2 = true\n{locations}\
                 tls_cert = {cert}\ntls_key = {key}\naccess_log_path = {log}\n",
                basic = dir.basic(""),
                addr = q(&up.addr.to_string()),
                log = q(&log.display().to_string()),
                p0 = ports[0],
                p1 = ports[1],
                cert = q(&leaf.cert_path.display().to_string()),
                key = q(&leaf.key_path.display().to_string()),
            )
        })
        .await;
        Setup { dir, up, p, ca }
    }

    fn tls_addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.p.ports[1]))
    }

    /// One request as raw bytes on a new connection (`Connection: close`); `head` is the
    /// request line and header lines, without the blank line.
    async fn h1(&self, head: &[u8]) -> Response {
        let bytes = [head, b"Connection: close\r\n\r\n"].concat();
        exchange(self.p.addr(), &bytes, Duration::from_secs(10)).await.only().clone()
    }

    /// `GET TARGET HTTP/1.1` with `Host: h`.
    async fn get(&self, target: &[u8]) -> Response {
        self.h1(&[b"GET ", target, b" HTTP/1.1\r\nHost: h\r\n"].concat()).await
    }

    /// h2 over TLS (ALPN h2) to the TLS listener.
    async fn h2_tls(&self) -> H2Conn {
        H2Conn::handshake(self.ca.connect(self.tls_addr(), "localhost", &[b"h2"]).await).await
    }

    /// The access log, once it has `n` lines.
    async fn log_lines(&self, n: usize) -> Vec<String> {
        let path = self.dir.join("access.log");
        eventually(Duration::from_secs(10), "access log lines", || async {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            (lines.len() >= n).then_some(lines)
        })
        .await
    }
}

/// The upstream's echo document of a proxied reply.
fn echo(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not an echo ({e}): {body}"))
}

/// Every spelling an origin resolves to a guarded path, with the guard's answer.
const GUARDED: &[(&str, &str)] = &[
    ("/admin/users", "denied"),
    ("/x/../admin/users", "denied"),
    ("/%61dmin/users", "denied"),
    ("/%61DMIN/../admin", "denied"),
    ("/./admin", "denied"),
    ("//admin", "denied"),
    ("/x//..//admin/", "denied"),
    ("/x/%2e%2e/admin", "denied"),
    ("/x/%2E%2e/admin", "denied"),
    ("/%2e/admin", "denied"),
    ("/%41/%2e%2E/%61%64%6d%69%6e", "denied"),
    ("/admin%2Fusers", "denied"),
    ("/secret", "exact"),
    ("/%73ecret", "exact"),
    ("/x/../secret?q=1", "exact"),
    ("/private/a", "regex"),
    ("/x/../private/a", "regex"),
    ("/%70rivate/a", "regex"),
    ("//private//a", "regex"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guarded_paths_cannot_be_walked_around_h1() {
    bounded(async {
        let s = Setup::start().await;
        for (target, want) in GUARDED {
            let r = s.get(target.as_bytes()).await;
            assert_eq!((r.status, r.text().as_str()), (403, *want), "{target}");
        }
        // `/secret/x/..` is `/secret/`: not the exact `/secret`.
        let r = s.get(b"/secret/x/..").await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(echo(&r.text())["uri"], "/secret/");
        assert_eq!(s.up.hits(), 1, "only /secret/x/.. may reach the upstream");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guarded_paths_cannot_be_walked_around_h2c_and_tls() {
    bounded(async {
        let s = Setup::start().await;
        let mut h2c = H2Conn::h2c(s.p.addr()).await;
        let mut h2 = s.h2_tls().await;
        let mut h1 = H1Conn::new(s.ca.connect(s.tls_addr(), "localhost", &[b"http/1.1"]).await);
        for (target, want) in GUARDED {
            let r = h2c.send(H2Request::new("GET", &format!("http://h{target}"))).await;
            assert_eq!((r.status, r.text().as_str()), (Some(403), *want), "h2c {target}");
            let r = h2.send(H2Request::new("GET", &format!("https://localhost{target}"))).await;
            assert_eq!((r.status, r.text().as_str()), (Some(403), *want), "h2 {target}");
            let req = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n");
            let r = h1.roundtrip(req.as_bytes()).await.expect("TLS h1 response");
            assert_eq!((r.status, r.text().as_str()), (403, *want), "TLS h1 {target}");
        }
        assert_eq!(s.up.hits(), 0, "a guarded path reached the upstream");
        // What the upstream gets is the normal path, over every protocol.
        for (conn, r) in [
            ("h2c", h2c.send(H2Request::new("GET", "http://h/a/./b/../%63?q=/../x")).await),
            ("h2", h2.send(H2Request::new("GET", "https://localhost//a/x/..%2fb")).await),
        ] {
            assert_eq!(r.status, Some(200), "{conn}: {r:?}");
            let doc = echo(&r.text());
            let want = if conn == "h2c" { "/a/c?q=/../x" } else { "/a/x/..%2Fb" };
            assert_eq!(doc["uri"], want, "{conn}");
            assert_eq!(doc["version"], "HTTP/1.1");
        }
        // No normal form: 400 on the stream, nothing upstream.
        for target in ["/../admin", "/x/..;/admin", "/a%00", "/%zz"] {
            let r = h2c.send(H2Request::new("GET", &format!("http://h{target}"))).await;
            assert_eq!(r.status, Some(400), "h2c {target}: {r:?}");
            let r = h2.send(H2Request::new("GET", &format!("https://localhost{target}"))).await;
            assert_eq!(r.status, Some(400), "h2 {target}: {r:?}");
        }
        assert_eq!(s.up.hits(), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_receives_the_path_routing_saw() {
    bounded(async {
        let s = Setup::start().await;
        // (target sent, what the upstream receives): the normal path, the query untouched.
        let cases: &[(&[u8], &str)] = &[
            (b"/ADMIN", "/ADMIN"),
            (b"/a/./b/../c?x=/../admin&y=%61", "/a/c?x=/../admin&y=%61"),
            (b"/x/..%2fadmin", "/x/..%2Fadmin"),
            (b"/a%2Fb%2f..", "/a%2Fb%2F.."),
            (b"/%2561dmin", "/%2561dmin"),
            (b"/a%7e%7Eb/%41", "/a~~b/A"),
            (b"/caf\xc3\xa9", "/caf%C3%A9"),
            (b"/a/b/..", "/a/"),
            (b"/a;v=1/b", "/a;v=1/b"),
            (b"/%3b%2c", "/%3B%2C"),
            (b"/", "/"),
        ];
        for (target, want) in cases {
            let r = s.get(target).await;
            let shown = String::from_utf8_lossy(target);
            assert_eq!(r.status, 200, "{shown}: {}", r.text());
            let doc = echo(&r.text());
            assert_eq!(doc["uri"], *want, "{shown}");
            assert_eq!(received(&doc, "x-location"), ["all"], "{shown}");
            // `$uri` is the same normal path.
            let path = want.split('?').next().unwrap_or_default();
            assert_eq!(received(&doc, "x-uri"), [path], "{shown}");
        }
        assert_eq!(s.up.hits(), cases.len());
        // The access log names the path routing saw ({path}, {uri}).
        let lines = s.log_lines(cases.len()).await;
        assert_eq!(lines[1], "all h /a/c /a/c?x=/../admin&y=%61 200");
        assert_eq!(lines[2], "all h /x/..%2Fadmin /x/..%2Fadmin 200");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewrite_works_on_the_normal_path() {
    bounded(async {
        let s = Setup::start().await;
        for (target, want) in [
            ("/api/a?q=/../x", "/v2/a?q=/../x"),
            ("/x/../api/%61", "/v2/a"),
            ("/%61pi//b/./c", "/v2/b/c"),
            ("/api/x/..%2Fy", "/v2/x/..%2Fy"),
        ] {
            let r = s.get(target.as_bytes()).await;
            assert_eq!(r.status, 200, "{target}: {}", r.text());
            assert_eq!(echo(&r.text())["uri"], want, "{target}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_without_a_normal_form_are_refused() {
    bounded(async {
        let s = Setup::start().await;
        let refused: &[&[u8]] = &[
            b"/..",
            b"/../admin",
            b"/x/../../admin",
            b"/%2e%2e/admin",
            b"/x/..;/admin",
            b"/x/.;/admin",
            b"/x\\..\\admin",
            b"/a%00b",
            b"/%zz",
            b"/a%4",
            b"admin",
            b"admin/users",
            b"*",
            b"example.test:80",
            b"ftp://h/x",
        ];
        for target in refused {
            let bytes = [b"GET ", *target, b" HTTP/1.1\r\nHost: h\r\n\r\n"].concat();
            let got = exchange(s.p.addr(), &bytes, Duration::from_secs(10)).await;
            let shown = String::from_utf8_lossy(target);
            assert_eq!(got.only().status, 400, "{shown}: {got:?}");
            assert!(got.closed, "{shown}: a 400 closes the connection");
        }
        assert_eq!(s.up.hits(), 0, "a refused target reached the upstream");
        // The log shows what was refused, as it came.
        let lines = s.log_lines(refused.len()).await;
        assert_eq!(lines[1], "- h /../admin /../admin 400");
        assert_eq!(lines[10], "- h admin admin 400");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_asterisk_routes_as_star() {
    bounded(async {
        let s = Setup::start().await;
        let r = s.h1(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let doc = echo(&r.text());
        assert_eq!(doc["method"], "OPTIONS");
        assert_eq!(doc["uri"], "*");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_of_a_keepalive_connection_is_normalised() {
    bounded(async {
        let s = Setup::start().await;
        let mut conn = H1Conn::connect(s.p.addr()).await;
        let first = conn.roundtrip(b"GET /ok HTTP/1.1\r\nHost: h\r\n\r\n").await.expect("first");
        assert_eq!(first.status, 200, "{}", first.text());
        // The connection front door only sees the first request; the later ones are
        // checked in a phase.
        let second =
            conn.roundtrip(b"GET /x/../admin HTTP/1.1\r\nHost: h\r\n\r\n").await.expect("second");
        assert_eq!((second.status, second.text().as_str()), (403, "denied"));
        let third = conn.roundtrip(b"GET /../x HTTP/1.1\r\nHost: h\r\n\r\n").await.expect("third");
        assert_eq!(third.status, 400, "{}", third.text());
        assert!(conn.closed_within(Duration::from_secs(5)).await, "a 400 closes the connection");
        assert_eq!(s.up.hits(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_must_be_a_valid_authority() {
    bounded(async {
        let s = Setup::start().await;
        let bad: &[&[u8]] = &[
            b"GET / HTTP/1.1\r\n",
            b"GET / HTTP/1.1\r\nHost:\r\n",
            b"GET / HTTP/1.1\r\nHost: \r\n",
            b"GET / HTTP/1.1\r\nHost: a b\r\n",
            b"GET / HTTP/1.1\r\nHost: a/b\r\n",
            b"GET / HTTP/1.1\r\nHost: example.test:abc\r\n",
            b"GET / HTTP/1.1\r\nHost: example.test:65536\r\n",
            b"GET / HTTP/1.1\r\nHost: [::1\r\n",
            b"GET / HTTP/1.1\r\nHost: a\\b\r\n",
            b"GET / HTTP/1.1\r\nHost: user@example.test\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n",
            b"GET / HTTP/1.0\r\nHost: \r\n",
        ];
        for head in bad {
            let r = s.h1(head).await;
            assert_eq!(r.status, 400, "{:?}: {}", String::from_utf8_lossy(head), r.text());
        }
        assert_eq!(s.up.hits(), 0, "a request with a bad Host reached the upstream");
        let good: &[(&[u8], &str)] = &[
            (b"GET / HTTP/1.1\r\nHost: Example.TEST:8080\r\n", "example.test"),
            (b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n", "[::1]"),
            (b"GET / HTTP/1.1\r\nHost: a_b.example\r\n", "a_b.example"),
            (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", "127.0.0.1"),
        ];
        for (head, host) in good {
            let r = s.h1(head).await;
            assert_eq!(r.status, 200, "{:?}: {}", String::from_utf8_lossy(head), r.text());
            assert_eq!(received(&echo(&r.text()), "x-host"), [*host]);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_authority_is_the_host() {
    bounded(async {
        let s = Setup::start().await;
        let mut h2c = H2Conn::h2c(s.p.addr()).await;
        let send = |uri: &str, host: Option<&str>| {
            let mut r = H2Request::new("GET", uri);
            if let Some(h) = host {
                r = r.field("host", h);
            }
            r
        };
        let hosted = |r: &H2Reply| received(&echo(&r.text()), "x-location");
        let r = h2c.send(send("http://Admin.Example.test:8080/x", None)).await;
        assert_eq!(hosted(&r), ["hosted"], "routed by :authority: {r:?}");
        assert_eq!(received(&echo(&r.text()), "x-host"), ["admin.example.test"]);
        assert_eq!(received(&echo(&r.text()), "host"), ["Admin.Example.test:8080"]);
        // RFC 9113 §8.3.1: a Host that names another authority makes the request malformed.
        let r = h2c.send(send("http://admin.example.test/x", Some("other.test"))).await;
        assert_eq!(r.status, Some(400), "{r:?}");
        // An :authority that is no valid host[:port].
        let r = h2c.send(send("http://h:99999/x", None)).await;
        assert_eq!(r.status, Some(400), "{r:?}");
        assert_eq!(s.up.hits(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http10_without_host_gets_the_server_address() {
    bounded(async {
        let s = Setup::start().await;
        let r = s.h1(b"GET /x HTTP/1.0\r\n").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let doc = echo(&r.text());
        // RFC 9112 §3.3: the authority of a request without Host is the server's address;
        // the upstream gets an HTTP/1.1 request, which needs a Host.
        assert_eq!(received(&doc, "host"), [s.p.addr().to_string()]);
        assert_eq!(received(&doc, "x-host"), ["127.0.0.1"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absolute_form_is_routed_logged_and_forwarded_by_its_authority() {
    bounded(async {
        let s = Setup::start().await;
        // No Host: the target names the authority (RFC 9112 §3.2.2).
        let r = s.h1(b"GET http://Admin.Example.test:8080/x/../y?q=1 HTTP/1.1\r\n").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let doc = echo(&r.text());
        assert_eq!(received(&doc, "x-location"), ["hosted"], "routed by the target's host");
        assert_eq!(received(&doc, "x-host"), ["admin.example.test"], "$host");
        assert_eq!(received(&doc, "host"), ["Admin.Example.test:8080"], "the upstream's Host");
        assert_eq!(doc["uri"], "/y?q=1", "origin-form, normal path, query kept");
        // The same Host as the target: the same answer.
        let r =
            s.h1(b"GET http://admin.example.test/ HTTP/1.1\r\nHost: admin.example.test\r\n").await;
        assert_eq!(received(&echo(&r.text()), "x-location"), ["hosted"]);
        // The guard still holds on an absolute-form path.
        let r = s.h1(b"GET http://other.test/z/../admin HTTP/1.1\r\n").await;
        assert_eq!((r.status, r.text().as_str()), (403, "denied"));
        // A Host that differs from the target's authority is ignored (RFC 9112 §3.2.2): the
        // target's authority routes and is the upstream's one Host.
        let r = s.h1(b"GET http://admin.example.test/ HTTP/1.1\r\nHost: other.test\r\n").await;
        let doc = echo(&r.text());
        assert_eq!(received(&doc, "x-location"), ["hosted"]);
        assert_eq!(received(&doc, "host"), ["admin.example.test"]);
        // Userinfo and an empty authority are 400 (logged).
        for head in
            [&b"GET http://u@admin.example.test/ HTTP/1.1\r\n"[..], b"GET http:///x HTTP/1.1\r\n"]
        {
            let r = s.h1(head).await;
            assert_eq!(r.status, 400, "{:?}: {}", String::from_utf8_lossy(head), r.text());
        }
        assert_eq!(s.up.hits(), 3);
        let lines = s.log_lines(3).await;
        assert_eq!(lines[0], "hosted admin.example.test /y /y?q=1 200");
        assert_eq!(lines[2], "admin other.test /admin /admin 403");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_the_normal_path() {
    bounded(async {
        let s = Setup::start().await;
        let config = s.p.config.display().to_string();
        let url = s.p.url("/x/../%61dmin/users?q=1");
        let (code, out, err) = pylon_cmd(&["explain", "-c", &config, &url]).await;
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains(r#"path:     "/x/../%61dmin/users" -> "/admin/users""#),
            "raw -> normal missing:\n{out}"
        );
        assert!(out.contains("location: admin"), "{out}");
        let (code, out, err) = pylon_cmd(&["explain", "-c", &config, &s.p.url("/../x")]).await;
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("result:   400, the path climbs above the root"), "{out}");
    })
    .await;
}

/// A host-scoped guard (`host = "adm.local"`, 403) cannot be walked around with a
/// percent-encoded Host (README "Decisions": escapes are refused in every host): Host and
/// absolute-form authority, each a logged 400 with nothing at the upstream. (Over h2 the h2
/// library resets such an `:authority` before any phase: README "Known limits".)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn percent_encoded_hosts_are_refused_not_routed_around_a_host_guard() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("app").await;
        let log = dir.join("access.log");
        let p = Pylon::start_n(&dir, 1, |ports| {
            format!(
                "{basic}[upstreams.app]\naddrs = [{addr}]\n\
                 [locations.hostadm]\nhost = \"adm.local\"\npath = \"/\"\nreturn = \"403 host-denied\"\n\
                 [locations.all]\npath = \"\"\nupstream = \"app\"\n\
                 [servers.main]\naddr = \"127.0.0.1:{p0}\"\nenable_h2 = true\n\
                 locations = [\"hostadm\", \"all\"]\n\
                 access_log = \"{{location}} {{status}}\"\naccess_log_path = {log}\n",
                basic = dir.basic(""),
                addr = q(&up.addr.to_string()),
                log = q(&log.display().to_string()),
                p0 = ports[0],
            )
        })
        .await;
        let h1 = |head: &'static [u8]| {
            let bytes = [head, b"Connection: close\r\n\r\n"].concat();
            let addr = p.addr();
            async move { exchange(addr, &bytes, Duration::from_secs(10)).await.only().clone() }
        };
        // The guard holds for the name as written.
        let r = h1(b"GET /x HTTP/1.1\r\nHost: adm.local\r\n").await;
        assert_eq!((r.status, r.text().as_str()), (403, "host-denied"));
        let refused: &[&[u8]] = &[
            b"GET /x HTTP/1.1\r\nHost: adm%2Elocal\r\n",
            b"GET /x HTTP/1.1\r\nHost: adm%2elocal:80\r\n",
            b"GET /x HTTP/1.1\r\nHost: %61dm.local\r\n",
            b"GET /x HTTP/1.1\r\nHost: adm.local%00\r\n",
            b"GET /x HTTP/1.0\r\nHost: %61dm.local\r\n",
            b"GET http://adm%2elocal/x HTTP/1.1\r\n",
            b"GET http://%61dm.local/x HTTP/1.1\r\nHost: other\r\n",
        ];
        for head in refused {
            let r = h1(head).await;
            assert_eq!(r.status, 400, "{:?}: {}", String::from_utf8_lossy(head), r.text());
        }
        assert_eq!(up.hits(), 0, "a percent-encoded Host reached the upstream");
        // Every refusal is in the access log as a 400.
        let n = 1 + refused.len();
        let lines = eventually(Duration::from_secs(10), "access log lines", || async {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            (lines.len() >= n).then_some(lines)
        })
        .await;
        assert_eq!(lines[0], "hostadm 403");
        assert!(lines[1..].iter().all(|l| l.ends_with(" 400")), "{lines:#?}");
        assert_eq!(lines.len(), n, "{lines:#?}");
    })
    .await;
}
