//! Issue 9 §4: limits that say what they are. Each limit is a server key with a default and
//! answers with its own status; every request refused before routing is logged and counted.

use crate::util::*;

fn headers(n: usize) -> Vec<u8> {
    let mut s = String::from("GET /h HTTP/1.1\r\nHost: a\r\n");
    for i in 0..n {
        s += &format!("X-H{i}: v\r\n");
    }
    s += "Connection: close\r\n\r\n";
    s.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_limits_answer_414_431_and_505() {
    bounded(async {
        let fx = Fx::start("").await;
        // Under the defaults: an 8000-byte target and 98 header fields (+ Host, Connection).
        let ok =
            format!("GET /{} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "a".repeat(8000));
        assert_eq!(fx.send(ok.as_bytes()).await.statuses(), [200]);
        assert_eq!(fx.send(&headers(98)).await.statuses(), [200]);
        let msgs = fx.origin.wait_messages(2, std::time::Duration::from_secs(5)).await;
        assert_eq!(msgs.len(), 2, "{}", fx.origin.dump());
        fx.origin.clear();

        let long = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(9000));
        let huge = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(200_000));
        let big_field =
            format!("GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n", "b".repeat(70_000));
        let cases: &[(&str, &[u8], u16)] = &[
            ("target over max_uri_size", long.as_bytes(), 414),
            ("target far over every limit", huge.as_bytes(), 414),
            ("300 small fields (3.5 KB)", &headers(300), 431),
            ("101 fields", &headers(101), 431),
            ("head over max_header_size", big_field.as_bytes(), 431),
            ("HTTP/2.0 request line", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            ("HTTP/3.0 request line", b"GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505),
            ("HTTP/0.9 version token", b"GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
        ];
        for (i, (what, req, status)) in cases.iter().enumerate() {
            let got = fx.send(req).await;
            assert_eq!(got.statuses(), [*status], "{what}: {got:?}");
            assert!(got.closed, "{what}");
            let lines = fx.log_lines(i + 3).await;
            assert!(
                lines.get(i + 2).is_some_and(|l| l.starts_with(&format!("{status} GET /"))),
                "{what}: {lines:?}"
            );
        }
        assert!(!fx.origin.touched(), "{}", fx.origin.dump());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_configured_per_server() {
    bounded(async {
        let fx =
            Fx::start("max_header_count = 5\nmax_uri_size = \"100\"\nmax_header_size = \"2kb\"\n")
                .await;
        assert_eq!(fx.send(&headers(3)).await.statuses(), [200]);
        assert_eq!(fx.send(&headers(4)).await.statuses(), [431]);
        let at = |n: usize| {
            format!("GET /{} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "a".repeat(n - 1))
        };
        assert_eq!(fx.send(at(100).as_bytes()).await.statuses(), [200]);
        assert_eq!(fx.send(at(101).as_bytes()).await.statuses(), [414]);
        let big = format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n", "b".repeat(2100));
        assert_eq!(fx.send(big.as_bytes()).await.statuses(), [431]);
        // Over h2c (the front door sees only HTTP/1): the same limits, the same statuses.
        let mut h2 = H2Conn::h2c(fx.addr).await;
        let uri = |path: &str| format!("http://a:{}{path}", fx.addr.port());
        let reply = h2.send(H2Request::new("GET", &uri(&format!("/{}", "a".repeat(150))))).await;
        assert_eq!(reply.status, Some(414), "{reply:?}");
        let mut req = H2Request::new("GET", &uri("/h2"));
        for i in 0..6 {
            req = req.field(&format!("x-h{i}"), "v");
        }
        assert_eq!(h2.send(req).await.status, Some(431));
        assert_eq!(h2.send(H2Request::new("GET", &uri("/fine"))).await.status, Some(200));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_are_logged_and_counted() {
    bounded(async {
        let fx = Fx::start("").await;
        let cases: &[&[u8]] = &[
            b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GARBAGE\r\n\r\n",
            b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            &headers(300),
        ];
        for req in cases {
            let _ = fx.send(req).await;
        }
        let long = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(10_000));
        let _ = fx.send(long.as_bytes()).await;
        let lines = fx.log_lines(6).await;
        let statuses: Vec<&str> = lines.iter().map(|l| &l[..3]).collect();
        assert_eq!(statuses, ["400", "400", "505", "501", "431", "414"], "{lines:?}");
        let doc = fx.stats().await;
        assert_eq!(doc["refused"]["400"], 2, "{doc}");
        assert_eq!(doc["refused"]["414"], 1, "{doc}");
        assert_eq!(doc["refused"]["431"], 1, "{doc}");
        assert_eq!(doc["refused"]["501"], 1, "{doc}");
        assert_eq!(doc["refused"]["505"], 1, "{doc}");
        assert_eq!(doc["requests"]["status"]["4xx"], 4, "{doc}");
        assert_eq!(doc["requests"]["status"]["5xx"], 2, "{doc}");
        // accepted counts them too (the stats request itself is the 7th).
        assert_eq!(doc["accepted"], 7, "{doc}");
    })
    .await;
}
