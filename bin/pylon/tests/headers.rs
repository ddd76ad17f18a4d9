//! Header directives and variables (SPEC §3): what the upstream receives, what the client gets.

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_and_response_header_directives() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("hdr").await;
        let p = Pylon::start(&dir, |port| {
            format!(
                r#"{basic}
[upstreams.hdr]
addrs = [{addr}]

[locations.h]
upstream = "hdr"
path = "/"
proxy_set_headers = [
    "X-Set: new",
    "X-Host: $host",
    "X-Scheme: $scheme",
    "X-Remote: $remote_addr|$remote_port",
    "X-Server: $server_addr|$server_port",
    "X-Rid: $request_id",
    "X-Up: $upstream_addr",
    "X-Forwarded-For: $proxy_add_x_forwarded_for",
    "X-UA: ua=$http_user_agent",
    "X-Copy: [$http_x_custom_thing]",
    "X-Missing: [$http_x_not_sent]",
]
proxy_add_headers = ["X-Add: added"]
proxy_remove_headers = ["X-Remove"]
response_set_headers = ["X-Resp-Set: set-by-pylon", "X-Resp-Rid: $request_id"]
response_add_headers = ["X-Resp-Add: added-by-pylon"]
response_remove_headers = ["X-Upstream-Remove"]

[servers.main]
addr = "127.0.0.1:{port}"
locations = ["h"]
"#,
                basic = dir.basic(""),
                addr = q(&up.addr.to_string()),
            )
        })
        .await;

        // Raw HTTP/1.1, so the client's own port is known for $remote_port.
        let mut conn = H1Conn::connect(p.addr()).await;
        let local = conn.stream().local_addr().expect("local addr");
        let req = "GET /some/path?q=1 HTTP/1.1\r\nHost: example.com\r\nX-Set: old\r\n\
                   X-Add: original\r\nX-Remove: bye\r\nX-Forwarded-For: 10.1.1.1\r\n\
                   User-Agent: ua-e2e\r\nX-Custom-Thing: copied\r\nConnection: close\r\n\r\n";
        let reply = conn.roundtrip(req.as_bytes()).await.expect("a response");
        assert_eq!(reply.status, 200, "{reply:?}");
        let doc: serde_json::Value = serde_json::from_str(&reply.text()).expect("echo JSON");
        let one = |name: &str| {
            let v = received(&doc, name);
            assert_eq!(v.len(), 1, "upstream got {name}: {v:?}");
            v[0].clone()
        };
        assert_eq!(doc["uri"], "/some/path?q=1");
        assert_eq!(one("x-set"), "new");
        assert_eq!(received(&doc, "x-add"), ["original", "added"]);
        assert!(received(&doc, "x-remove").is_empty(), "X-Remove reached the upstream");
        assert_eq!(one("x-host"), "example.com");
        assert_eq!(one("x-scheme"), "http");
        assert_eq!(one("x-remote"), format!("127.0.0.1|{}", local.port()));
        assert_eq!(one("x-server"), format!("127.0.0.1|{}", p.ports[0]));
        let rid = one("x-rid");
        assert_eq!(rid.len(), 32, "request id {rid:?}");
        assert!(rid.bytes().all(|b| b.is_ascii_hexdigit()), "request id {rid:?}");
        assert_eq!(one("x-up"), up.addr.to_string());
        assert_eq!(one("x-forwarded-for"), "10.1.1.1, 127.0.0.1");
        assert_eq!(one("x-ua"), "ua=ua-e2e");
        assert_eq!(one("x-copy"), "[copied]");
        assert_eq!(one("x-missing"), "[]");
        // Untouched headers pass through.
        assert_eq!(one("user-agent"), "ua-e2e");

        // Response side.
        assert_eq!(reply.header("x-resp-set").as_deref(), Some("set-by-pylon"));
        assert_eq!(reply.header("x-resp-rid").as_deref(), Some(rid.as_str()));
        assert_eq!(reply.header("x-upstream-remove"), None);
        assert_eq!(reply.headers("x-resp-add"), ["from-upstream", "added-by-pylon"]);

        // Another request gets another request id; without X-Forwarded-For, just the client.
        let got = get(&client(), &p.url("/"), Some("example.com")).await;
        let doc = got.json();
        assert_ne!(received(&doc, "x-rid"), [rid]);
        assert_eq!(received(&doc, "x-forwarded-for"), ["127.0.0.1"]);
    })
    .await;
}
