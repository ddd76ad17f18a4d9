//! Plugins that work on bodies and sub-requests (issue 12): compression (gzip and zstd
//! through pingora's module, brotli by Pylon's own encoder; decoded here and by curl to the
//! original) and forward_auth — through the real binary with raw h1 bytes, an h2c client
//! and curl.

use std::{io::Read as _, sync::Arc, time::Duration};

use pylon_testkit::{Handler, Reply, Seen, exchange};

use crate::util::*;

/// 20 KiB of text that compresses well.
fn original() -> String {
    (0..400)
        .map(|i| format!("line {i:04}: the quick brown fox jumps over the lazy dog\n"))
        .collect()
}

/// An origin whose answer depends on the path.
fn content_origin() -> Handler {
    Arc::new(|seen: &Seen| {
        let text = |t: &str| Reply::new(200, original()).field("content-type", t);
        match seen.path() {
            "/text" => text("text/plain; charset=utf-8").field("etag", "\"v1\""),
            "/json" => text("application/json"),
            "/tiny" => Reply::new(200, "x".repeat(50)).field("content-type", "text/plain"),
            "/encoded" => text("text/plain").field("content-encoding", "gzip"),
            "/no-transform" => text("text/plain").field("cache-control", "public, no-transform"),
            "/image" => text("image/png"),
            "/events" => text("text/event-stream"),
            "/partial" => Reply::new(206, "0123456789")
                .field("content-type", "text/plain")
                .field("content-range", "bytes 0-9/20480"),
            _ => Reply::new(404, "no"),
        }
    })
}

fn decode(encoding: &str, body: &[u8]) -> String {
    let mut out = Vec::new();
    match encoding {
        "gzip" => {
            flate2::read::GzDecoder::new(body).read_to_end(&mut out).expect("gzip body");
        }
        "zstd" => out = zstd::decode_all(body).expect("zstd body"),
        // Strict: a stream without its last meta-block is an error, not a short body.
        "br" => {
            brotli::Decompressor::new(body, 4096).read_to_end(&mut out).expect("brotli body");
        }
        other => panic!("unexpected encoding {other}"),
    }
    String::from_utf8(out).expect("utf-8")
}

async fn fetch(
    c: &reqwest::Client,
    url: &str,
    ae: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut r = c.get(url);
    if let Some(ae) = ae {
        r = r.header("accept-encoding", ae);
    }
    let resp = r.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.expect("body").to_vec())
}

fn h(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers.get(name).map(|v| v.to_str().expect("ascii").to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_by_accept_encoding_decodes_to_the_original_on_h1_and_h2() {
    bounded(async {
        let dir = Dir::new();
        let origin = Upstream::serve(content_origin(), None).await;
        let p = Pylon::start(&dir, |port| {
            format!(
                r#"{basic}
[upstreams.o]
addrs = [{o}]
[plugins.squeeze]
kind = "compression"
[locations.all]
upstream = "o"
path = "/"
plugins = ["squeeze"]
[servers.main]
addr = "127.0.0.1:{port}"
locations = ["all"]
"#,
                basic = dir.basic(""),
                o = q(&origin.addr.to_string()),
            )
        })
        .await;
        let want = original();
        // h2c: every coding, chosen by q-values.
        let c = h2c();
        for (ae, coding) in [
            ("zstd", "zstd"),
            ("gzip", "gzip"),
            ("br", "br"),
            ("gzip;q=0.5, br;q=0.9, zstd;q=0.6", "br"),
            ("gzip;q=0.5, br;q=0.6, zstd;q=0.9", "zstd"),
            ("gzip;q=0.9, br;q=1, zstd;q=0", "br"),
            ("gzip;q=0.9, br;q=0, zstd;q=0", "gzip"),
            ("gzip, br, zstd", "zstd"),
            ("gzip, deflate, br", "br"),
            ("*;q=0.1, zstd;q=0", "br"),
            ("*;q=0.1, zstd;q=0, br;q=0", "gzip"),
        ] {
            let (status, headers, body) = fetch(&c, &p.url("/text"), Some(ae)).await;
            assert_eq!(status, 200);
            assert_eq!(h(&headers, "content-encoding").as_deref(), Some(coding), "for {ae:?}");
            assert!(h(&headers, "content-length").is_none(), "no stale Content-Length");
            assert!(
                h(&headers, "vary")
                    .unwrap_or_default()
                    .to_ascii_lowercase()
                    .contains("accept-encoding")
            );
            assert_eq!(h(&headers, "etag").as_deref(), Some("W/\"v1\""), "strong ETag weakened");
            assert!(body.len() < want.len() / 4, "{coding}: {} bytes", body.len());
            assert_eq!(decode(coding, &body), want, "{coding} body decodes to the original");
        }
        // No Accept-Encoding, only identity, or only refusals: as the origin sent it, with Vary.
        for ae in [None, Some("identity"), Some("gzip;q=0"), Some("br;q=0, deflate")] {
            let (_, headers, body) = fetch(&c, &p.url("/json"), ae).await;
            assert!(h(&headers, "content-encoding").is_none(), "{ae:?}");
            assert_eq!(body, want.as_bytes());
            assert!(
                h(&headers, "vary")
                    .unwrap_or_default()
                    .to_ascii_lowercase()
                    .contains("accept-encoding")
            );
        }
        // Never compressed: tiny, already encoded, no-transform, not a listed type, partial.
        for (path, len) in [
            ("/tiny", 50),
            ("/encoded", want.len()),
            ("/no-transform", want.len()),
            ("/image", want.len()),
            ("/partial", 10),
        ] {
            let (_, headers, body) = fetch(&c, &p.url(path), Some("br, gzip, zstd")).await;
            let ce = h(&headers, "content-encoding");
            assert!(
                ce.is_none() || (path == "/encoded" && ce.as_deref() == Some("gzip")),
                "{path}: {ce:?}"
            );
            assert_eq!(body.len(), len, "{path} body untouched");
        }
        // h1, raw bytes: chunked, no Content-Length, the same original after decoding.
        let ex = exchange(
            p.addr(),
            b"GET /text HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
            Duration::from_secs(5),
        )
        .await;
        let r = ex.only();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-encoding").as_deref(), Some("gzip"));
        assert_eq!(r.header("transfer-encoding").as_deref(), Some("chunked"));
        assert!(!r.has("content-length"));
        assert_eq!(decode("gzip", &r.message.body), want);
        // The same for brotli (Pylon's encoder), with Accept-Ranges gone and a weak ETag.
        let ex = exchange(
            p.addr(),
            b"GET /text HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip;q=0.5, br\r\nConnection: close\r\n\r\n",
            Duration::from_secs(5),
        )
        .await;
        let r = ex.only();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-encoding").as_deref(), Some("br"));
        assert_eq!(r.header("transfer-encoding").as_deref(), Some("chunked"));
        assert_eq!(r.header("etag").as_deref(), Some("W/\"v1\""));
        assert!(!r.has("content-length"));
        assert_eq!(decode("br", &r.message.body), want);
        // HEAD: no body to compress, the origin's length stays.
        let ex = exchange(
            p.addr(),
            b"HEAD /text HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br\r\nConnection: close\r\n\r\n",
            Duration::from_secs(5),
        )
        .await;
        let r = ex.only();
        assert!(!r.has("content-encoding"), "{r:?}");
        assert_eq!(r.header("content-length"), Some(want.len().to_string()));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_levels_types_and_min_size_are_configurable() {
    bounded(async {
        let dir = Dir::new();
        let origin = Upstream::serve(content_origin(), None).await;
        let p = Pylon::start(&dir, |port| {
            format!(
                r#"{basic}
[upstreams.o]
addrs = [{o}]
[plugins.gz_only]
kind = "compression"
algorithms = ["gzip"]
gzip_level = 1
min_size = "64kb"
content_types = ["application/json"]
[plugins.text_only]
kind = "compression"
algorithms = ["gzip"]
gzip_level = 9
content_types = ["text/*"]
[locations.big]
upstream = "o"
path = "/json"
plugins = ["gz_only"]
[locations.text]
upstream = "o"
path = "/"
plugins = ["text_only"]
[servers.main]
addr = "127.0.0.1:{port}"
locations = ["big", "text"]
"#,
                basic = dir.basic(""),
                o = q(&origin.addr.to_string()),
            )
        })
        .await;
        let c = h2c();
        // 20 KiB is below this location's 64 KiB minimum.
        let (_, headers, body) = fetch(&c, &p.url("/json"), Some("gzip")).await;
        assert!(h(&headers, "content-encoding").is_none());
        assert_eq!(body.len(), original().len());
        // Only gzip is offered: a br-only client gets the original.
        let (_, headers, _) = fetch(&c, &p.url("/text"), Some("br")).await;
        assert!(h(&headers, "content-encoding").is_none());
        let (_, headers, body) = fetch(&c, &p.url("/text"), Some("br, gzip;q=0.1")).await;
        assert_eq!(h(&headers, "content-encoding").as_deref(), Some("gzip"));
        assert_eq!(decode("gzip", &body), original());
        // text/* does not take Server-Sent Events: each event must arrive as it is sent.
        let (_, headers, body) = fetch(&c, &p.url("/events"), Some("gzip")).await;
        assert!(h(&headers, "content-encoding").is_none(), "an event stream was compressed");
        assert_eq!(body.len(), original().len());
    })
    .await;
}

/// An auth service: `Authorization: Bearer good` → 200 with `X-User: alice` and two
/// `X-Groups`; anything else → 401 with a JSON body and `WWW-Authenticate`. It records
/// what it was sent.
fn auth_service() -> Handler {
    Arc::new(|seen: &Seen| {
        let auth = seen.all("authorization").join(",");
        if auth == "Bearer good" {
            Reply::new(200, "")
                .field("x-user", "alice")
                .field("x-groups", "admins")
                .field("x-groups", "ops")
                .field("x-not-copied", "nope")
        } else {
            Reply::new(401, "{\"error\":\"login required\"}")
                .field("content-type", "application/json")
                .field("www-authenticate", "Bearer realm=\"sso\"")
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_auth_admits_on_2xx_copies_headers_and_relays_refusals() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("up").await;
        let auth = Upstream::serve(auth_service(), None).await;
        let ws = WsEcho::start().await;
        let dead = free_port();
        let p = Pylon::start(&dir, |port| {
            format!(
                r#"{basic}
[upstreams.up]
addrs = [{up}]
[upstreams.ws]
addrs = [{ws}]
[plugins.sso]
kind = "forward_auth"
url = "http://{auth}/verify?app=1"
timeout = "2s"
upstream_headers = ["X-User", "X-Groups"]
[plugins.down]
kind = "forward_auth"
url = "http://127.0.0.1:{dead}/verify"
[locations.app]
upstream = "up"
path = "/"
plugins = ["sso"]
[locations.ws]
upstream = "ws"
path = "/ws"
plugins = ["sso"]
[locations.broken]
upstream = "up"
path = "/broken"
plugins = ["down"]
[servers.main]
addr = "127.0.0.1:{port}"
locations = ["app", "ws", "broken"]
"#,
                basic = dir.basic(""),
                up = q(&up.addr.to_string()),
                ws = q(&ws.addr.to_string()),
                auth = auth.addr,
            )
        })
        .await;
        for c in [client(), h2c()] {
            // Refused: the auth service's status, headers and body reach the client.
            let got = send(c.get(p.url("/data?x=1"))).await;
            assert_eq!(got.status, 401);
            assert_eq!(got.body, "{\"error\":\"login required\"}");
            assert_eq!(got.header("www-authenticate").as_deref(), Some("Bearer realm=\"sso\""));
            // Admitted: chosen headers copied upstream, client forgeries replaced.
            let got = send(
                c.get(p.url("/data?x=1"))
                    .header("authorization", "Bearer good")
                    .header("x-user", "mallory"),
            )
            .await;
            assert_eq!(got.status, 200, "{}", got.body);
            let doc = got.json();
            assert_eq!(received(&doc, "x-user"), ["alice"]);
            assert_eq!(received(&doc, "x-groups"), ["admins", "ops"]);
            assert!(received(&doc, "x-not-copied").is_empty());
        }
        assert_eq!(up.hits(), 2, "refused requests never reached the upstream");
        // What the auth service was asked.
        let asked = auth.seen();
        let last = asked.last().expect("auth requests");
        assert_eq!(last.method, "GET");
        assert_eq!(last.path(), "/verify");
        assert!(last.target.ends_with("/verify?app=1"), "{}", last.target);
        assert_eq!(last.all("x-forwarded-method"), ["GET"]);
        assert_eq!(last.all("x-forwarded-uri"), ["/data?x=1"]);
        assert_eq!(last.all("x-forwarded-proto"), ["http"]);
        assert_eq!(last.all("x-forwarded-for"), ["127.0.0.1"]);
        // A WebSocket upgrade goes through the same check.
        let url = format!("ws://127.0.0.1:{}/ws", p.ports[0]);
        use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
        let denied = tokio_tungstenite::connect_async(url.as_str()).await;
        assert!(
            matches!(&denied, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 401),
            "{denied:?}"
        );
        let mut req = url.as_str().into_client_request().expect("ws request");
        req.headers_mut().insert("authorization", "Bearer good".parse().expect("value"));
        assert!(tokio_tungstenite::connect_async(req).await.is_ok());
        // An auth service that is down: 502 with the error page, logged.
        let got = get(&client(), &p.url("/broken"), None).await;
        assert_eq!(got.status, 502, "{}", got.body);
        assert!(got.body.contains("authentication service could not be reached"), "{}", got.body);
        p.wait_stderr("forward_auth: auth service failed").await;
    })
    .await;
}

/// `curl --compressed` (libcurl's own brotli, gzip and zstd decoders, as strict as a
/// browser's) with `extra` arguments: (exit code, response head, decoded body). curl exits
/// 61 on a body it cannot decode.
async fn curl(url: &str, extra: &[&str]) -> (i32, String, Vec<u8>) {
    let dir = Dir::new();
    let (head, body) = (dir.join("head"), dir.join("body"));
    let mut args: Vec<String> =
        ["-sS", "--compressed", "--max-time", "30", "-D"].iter().map(|s| s.to_string()).collect();
    args.push(head.display().to_string());
    args.push("-o".into());
    args.push(body.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(url.to_owned());
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl").args(&args).status().expect("curl runs")
    })
    .await
    .expect("curl task");
    (
        status.code().unwrap_or(-1),
        std::fs::read_to_string(&head).unwrap_or_default().to_ascii_lowercase(),
        std::fs::read(&body).unwrap_or_default(),
    )
}

/// A 4 MiB text body that compresses, different on every line.
fn big_body() -> Vec<u8> {
    let mut out = Vec::with_capacity(4 << 20);
    let mut i = 0u64;
    while out.len() < 4 << 20 {
        out.extend_from_slice(
            format!("{i:08} {:016x} streamed through the proxy and compressed\n", i * 2654435761)
                .as_bytes(),
        );
        i += 1;
    }
    out.truncate(4 << 20);
    out
}

/// An origin answer: `body` chunked in 64 KiB chunks, no Content-Length (a streamed body
/// of unknown length).
fn chunked_answer(body: &[u8]) -> Vec<u8> {
    let mut out =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for chunk in body.chunks(64 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_encoder_bodies_decode_with_curl_on_h1_and_h2_streamed_large_and_own_responses() {
    bounded(async {
        for coding in ["br", "zstd"] {
            own_encoder_bodies(coding).await;
        }
    })
    .await;
}

/// brotli and zstd are encoded by Pylon itself (not pingora's module): a proxied body with a
/// Content-Length, a streamed 4 MiB one without, and Pylon's own responses, decoded by curl
/// (h1 and h2) and by the codings' crates.
async fn own_encoder_bodies(coding: &str) {
    {
        let dir = Dir::new();
        let origin = Upstream::serve(content_origin(), None).await;
        let big = big_body();
        let answer = chunked_answer(&big);
        let streamer =
            pylon_testkit::RawOrigin::with(move |_| pylon_testkit::Answer::raw(answer.clone()))
                .await;
        let long = "pong ".repeat(100);
        let p = Pylon::start(&dir, |port| {
            format!(
                r#"{basic}
[upstreams.o]
addrs = [{o}]
[upstreams.big]
addrs = [{big}]
[plugins.br]
kind = "compression"
algorithms = ["{coding}"]
[plugins.br_all]
kind = "compression"
algorithms = ["{coding}", "gzip"]
brotli_level = 11
zstd_level = 19
min_size = 0
[plugins.nobody]
kind = "ip_restriction"
deny = ["127.0.0.0/8"]
[locations.big]
upstream = "big"
path = "/big"
plugins = ["br"]
[locations.pong]
return = "200 {long}"
path = "/pong"
plugins = ["br_all"]
[locations.denied]
upstream = "o"
path = "/denied"
plugins = ["br_all", "nobody"]
[locations.all]
upstream = "o"
path = "/"
plugins = ["br"]
[servers.main]
addr = "127.0.0.1:{port}"
locations = ["big", "pong", "denied", "all"]
"#,
                basic = dir.basic(""),
                o = q(&origin.addr.to_string()),
                big = q(&streamer.addr.to_string()),
            )
        })
        .await;
        let want = original();
        for proto in ["--http1.1", "--http2-prior-knowledge"] {
            // A proxied body with a Content-Length, and a streamed 4 MiB one without.
            let (code, head, body) = curl(&p.url("/text"), &[proto]).await;
            assert_eq!(code, 0, "{proto}: curl decodes the {coding} body\n{head}");
            assert!(head.contains(&format!("content-encoding: {coding}")), "{proto}\n{head}");
            assert!(head.contains("vary: accept-encoding"), "{proto}\n{head}");
            assert!(!head.contains("content-length"), "{proto}\n{head}");
            assert!(body == want.as_bytes(), "{proto}: {} of {} bytes", body.len(), want.len());
            let (code, head, body) = curl(&p.url("/big"), &[proto]).await;
            assert_eq!(code, 0, "{proto}: curl decodes the streamed {coding} body\n{head}");
            assert!(head.contains(&format!("content-encoding: {coding}")), "{proto}\n{head}");
            assert!(body == big, "{proto}: {} of {} bytes decoded", body.len(), big.len());
            // Responses Pylon writes itself: a `return` and a plugin's error page, sent
            // with the encoded length.
            let (code, head, body) = curl(&p.url("/pong"), &[proto]).await;
            assert_eq!(code, 0, "{proto}\n{head}");
            assert!(head.contains(&format!("content-encoding: {coding}")), "{proto}\n{head}");
            assert!(head.contains("content-length"), "{proto}\n{head}");
            assert_eq!(String::from_utf8_lossy(&body), long, "{proto}");
            let (code, head, body) = curl(&p.url("/denied"), &[proto]).await;
            assert_eq!(code, 0, "{proto}\n{head}");
            assert!(head.contains(" 403"), "{proto}\n{head}");
            assert!(head.contains(&format!("content-encoding: {coding}")), "{proto}\n{head}");
            assert!(String::from_utf8_lossy(&body).contains("403"), "{proto}");
        }
        // The streamed body arrives in many chunks (the encoder emits as it goes) and
        // compresses; decoded here too, by the brotli crate.
        let ex = exchange(
            p.addr(),
            format!("GET /big HTTP/1.1\r\nHost: a\r\nAccept-Encoding: {coding}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
            Duration::from_secs(10),
        )
        .await;
        let r = ex.only();
        assert_eq!(r.header("content-encoding").as_deref(), Some(coding));
        assert!(r.message.chunk_sizes.len() > 2, "chunks: {:?}", r.message.chunk_sizes);
        assert!(r.message.body.len() < big.len() / 3, "{} bytes", r.message.body.len());
        let out = decode(coding, &r.message.body);
        assert!(out.as_bytes() == big, "{} of {} bytes", out.len(), big.len());
        // The same response over h2c with the brotli crate: keep-alive reuse works after
        // a compressed body (two requests on one connection).
        let c = h2c();
        for _ in 0..2 {
            let (status, headers, body) =
                fetch(&c, &p.url("/text"), Some(&format!("{coding};q=0.8, gzip;q=0.2"))).await;
            assert_eq!(status, 200);
            assert_eq!(h(&headers, "content-encoding").as_deref(), Some(coding));
            assert_eq!(decode(coding, &body), want);
        }
    }
}
