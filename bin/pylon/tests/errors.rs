//! Error answers (SPEC §7): 404, 413, 431, 504, malformed requests, error templates.

use std::time::Duration;

use crate::util::*;

const TEMPLATE: &str = "<p>E[{{status}}] C[{{content}}] N[{{name}}] V[{{version}}]</p>\n";

fn errors_config(dir: &Dir, ports: &[u16], up: &Upstream, slow: &Upstream) -> String {
    let template = dir.write("error.html", TEMPLATE);
    let server_template = dir.write("server-error.html", "server page {{status}}\n");
    format!(
        "{basic}\
         [upstreams.up]\naddrs = [{up}]\n\
         [upstreams.slow]\naddrs = [{slow}]\nread_timeout = \"500ms\"\n\
         [locations.small]\nupstream = \"up\"\npath = \"/small\"\nclient_max_body_size = \"1kb\"\n\
         [locations.slow]\nupstream = \"slow\"\npath = \"/slow\"\n\
         [locations.ok]\nupstream = \"up\"\npath = \"/ok\"\n\
         [servers.main]\naddr = \"127.0.0.1:{p0}\"\nlocations = [\"small\", \"slow\", \"ok\"]\n\
         max_header_size = \"4kb\"\n\
         [servers.other]\naddr = \"127.0.0.1:{p1}\"\nlocations = [\"ok\"]\nerror_template = {st}\n",
        basic = dir.basic(&format!(
            "error_template = {}\nerror_details = true",
            q(&template.display().to_string())
        )),
        up = q(&up.addr.to_string()),
        slow = q(&slow.addr.to_string()),
        p0 = ports[0],
        p1 = ports[1],
        st = q(&server_template.display().to_string()),
    )
}

fn assert_content_length(got: &Got) {
    assert_eq!(
        got.header("content-length"),
        Some(got.body.len().to_string()),
        "Content-Length of {} body {:?}",
        got.status,
        got.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_statuses_and_pages() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("up").await;
        let slow = Upstream::start("slow").await;
        slow.set_delay(Duration::from_secs(3));
        let p = Pylon::start_n(&dir, 2, |ports| errors_config(&dir, ports, &up, &slow)).await;
        // FIXME: error responses after which pylon closes the connection say
        // `Connection: keep-alive` (see the report), so a pooled client would reuse a closed
        // connection: every request here uses a connection of its own.
        let c = fresh_client();
        let version = env!("CARGO_PKG_VERSION");

        // 404 names host and path (`error_details = true`), in the custom template of [basic].
        let got = get(&c, &p.url("/nowhere/x?q=1"), Some("nohost.test")).await;
        assert_eq!(got.status, 404);
        assert!(got.body.starts_with("<p>E[404 Not Found] C["), "{}", got.body);
        assert!(got.body.contains("nohost.test") && got.body.contains("/nowhere/x"), "{}", got.body);
        assert!(got.body.ends_with(&format!("] N[pylon-e2e] V[{version}]</p>\n")), "{}", got.body);
        assert_content_length(&got);

        // A server's error_template overrides [basic]'s.
        let other = format!("http://127.0.0.1:{}/nope", p.ports[1]);
        let got = get(&c, &other, None).await;
        assert_eq!((got.status, got.body.as_str()), (404, "server page 404 Not Found\n"));
        assert_content_length(&got);

        // 413: declared by Content-Length; at the limit it passes.
        let got = send(c.post(p.url("/small")).body(vec![b'x'; 1024])).await;
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(got.json()["body_len"], 1024);
        let got = send(c.post(p.url("/small")).body(vec![b'x'; 1025])).await;
        assert_eq!(got.status, 413, "{}", got.body);
        assert!(got.body.starts_with("<p>E[413 Payload Too Large]") || got.body.starts_with("<p>E[413 Content Too Large]"), "{}", got.body);
        assert_content_length(&got);

        // 413: chunked, no Content-Length.
        let mut req = b"POST /small HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..3 {
            req.extend_from_slice(b"258\r\n");
            req.extend_from_slice(&[b'y'; 600]);
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"0\r\n\r\n");
        let got = exchange(p.addr(), &req, Duration::from_secs(10)).await;
        assert_eq!(got.only().status, 413, "{got:?}");
        // Chunked under the limit passes.
        let small = b"POST /small HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
        let got = exchange(p.addr(), small, Duration::from_secs(10)).await;
        assert_eq!(got.only().status, 200, "{got:?}");
        assert!(got.only().text().contains("\"body_len\":16"), "{got:?}");

        // 504: the upstream does not answer within read_timeout.
        let started = std::time::Instant::now();
        let got = get(&c, &p.url("/slow"), None).await;
        assert_eq!(got.status, 504, "{}", got.body);
        assert!(started.elapsed() < Duration::from_millis(2500), "504 took {:?}", started.elapsed());
        assert_content_length(&got);

        // 431: headers over max_header_size; just under passes.
        let got = send(c.get(p.url("/ok")).header("x-big", "b".repeat(8 * 1024))).await;
        assert_eq!(got.status, 431, "{}", got.body);
        assert_content_length(&got);
        let got = send(c.get(p.url("/ok")).header("x-big", "b".repeat(1024))).await;
        assert_eq!(got.status, 200, "{}", got.body);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_400_and_close() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("up").await;
        let slow = Upstream::start("slow").await;
        let p = Pylon::start_n(&dir, 2, |ports| errors_config(&dir, ports, &up, &slow)).await;
        let cases: &[(&str, &str)] = &[
            (
                "duplicate differing Content-Length",
                "POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            ),
            (
                "bad Transfer-Encoding",
                "POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo\r\n\r\nhello",
            ),
            (
                "Content-Length list",
                "POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!",
            ),
            ("bad header line", "GET /ok HTTP/1.1\r\nHost: a\r\nbad header line\r\n\r\n"),
        ];
        for (what, req) in cases {
            let got = exchange(p.addr(), req.as_bytes(), Duration::from_secs(5)).await;
            assert_eq!(got.only().status, 400, "{what}: got {got:?}");
            assert!(got.closed, "{what}: connection left open after {got:?}");
        }
        // A well-formed request on the same listener still works.
        let got = exchange(
            p.addr(),
            b"GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(got.only().status, 200, "{got:?}");
        assert_eq!(up.hits(), 1, "a malformed request reached the upstream");
    })
    .await;
}
