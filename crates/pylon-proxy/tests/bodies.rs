//! 16 MiB request and response bodies over h2 between client and proxy, intact.

use http::Version;

use crate::util::{BIG, BIG_BODY, ENV, bounded, client, fnv64, header, url};

/// Upload [`BIG_BODY`] over h2 (TLS) to `path`: the upstream answers `len=… fnv=…`.
async fn upload(path: &str, upstream_version: &str) {
    let env = &*ENV;
    let c = client("a.example.test", env.sni).build().expect("client");
    let resp = bounded(
        c.post(url("https", "a.example.test", env.sni, path)).body(BIG_BODY.clone()).send(),
    )
    .await
    .expect("response");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_2);
    assert_eq!(header(&resp, "x-up-version"), upstream_version);
    let want = format!("len={BIG} fnv={:016x}", fnv64(&BIG_BODY));
    assert_eq!(bounded(resp.text()).await.expect("body"), want);
}

/// Download [`BIG_BODY`] over h2 (TLS) from `path`.
async fn download(path: &str, upstream_version: &str) {
    let env = &*ENV;
    let c = client("a.example.test", env.sni).build().expect("client");
    let resp = bounded(c.get(url("https", "a.example.test", env.sni, path)).send())
        .await
        .expect("response");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_2);
    assert_eq!(header(&resp, "x-up-version"), upstream_version);
    let body = bounded(resp.bytes()).await.expect("body");
    assert_eq!(body.len(), BIG);
    assert_eq!(fnv64(&body), fnv64(&BIG_BODY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_request_body_over_h2_to_an_h2_upstream() {
    upload("/tls-h2/upload", "HTTP/2.0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_response_body_over_h2_from_an_h2_upstream() {
    download("/tls-h2/download", "HTTP/2.0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_request_body_over_h2_to_an_h1_upstream() {
    upload("/plain/upload", "HTTP/1.1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_response_body_over_h2_from_an_h1_upstream() {
    download("/plain/download", "HTTP/1.1").await;
}
