//! Proxy ↔ upstream: TLS with and without verification, SNI, ALPN h1 / h2 / h2h1, h2c.
//!
//! Every case goes through the plain h1 listener so that only the upstream side varies.

use crate::util::{ENV, bounded, client, header, url};

/// `GET path` through the plain listener: status, `x-up-version`, `x-up-tls`, `x-up-sni`,
/// `x-up-path`.
async fn get(path: &str) -> (u16, String, String, String, String) {
    let env = &*ENV;
    let c = client("pylon.test", env.plain).http1_only().build().expect("client");
    let resp =
        bounded(c.get(url("http", "pylon.test", env.plain, path)).send()).await.expect("response");
    let out = (
        resp.status().as_u16(),
        header(&resp, "x-up-version").to_owned(),
        header(&resp, "x-up-tls").to_owned(),
        header(&resp, "x-up-sni").to_owned(),
        header(&resp, "x-up-path").to_owned(),
    );
    // Read the body to the end so that a broken response fails here.
    bounded(resp.bytes()).await.expect("body");
    out
}

macro_rules! upstream_cases {
    ($($test:ident: $path:literal => $status:literal, $version:literal, $tls:literal, $sni:literal;)*) => {$(
        #[tokio::test]
        async fn $test() {
            let (status, version, tls, sni, path) = get($path).await;
            assert_eq!(status, $status, "status of {}", $path);
            if $status == 200 {
                assert_eq!(version, $version, "HTTP version the upstream saw");
                assert_eq!(tls, $tls, "whether the upstream saw TLS");
                assert_eq!(sni, $sni, "SNI the upstream saw");
                assert_eq!(path, $path, "path the upstream saw");
            }
        }
    )*};
}

// FIXME: pingora's connection-pool key (`impl Hash for HttpPeer`) leaves out `options.ca`, and
// pylon-upstream sets no `group_key`: two upstreams with the same address, sni and verify_cert
// but different `ca_file` share pooled connections. `/tls-verify/` (ca_file = test CA) then
// `/tls-system-roots/` pointed at the same server (no ca_file) answers 200 on the reused
// connection instead of 502. `tls_system_roots` therefore points at another server.
upstream_cases! {
    plain_h1_upstream: "/plain/p" => 200, "HTTP/1.1", "false", "-";
    // alpn = "h2" without tls: h2c (prior knowledge) to a plaintext upstream.
    h2c_upstream: "/h2c/p" => 200, "HTTP/2.0", "false", "-";
    // tls + verify_cert = true (default) + ca_file + sni in the certificate.
    tls_verified_with_ca_file: "/tls-verify/p" => 200, "HTTP/1.1", "true", "upstream.test";
    // No sni: it defaults to the peer's host. An IP is verified against the IP SAN
    // (TLS sends no SNI for an IP literal) …
    tls_sni_defaults_to_the_ip: "/tls-default-sni/p" => 200, "HTTP/1.1", "true", "-";
    // … and a host name is sent as the SNI.
    tls_sni_defaults_to_the_host_name: "/tls-host-sni/p" => 200, "HTTP/1.1", "true", "localhost";
    // verify_cert = true without ca_file: the system roots do not know the rogue CA.
    tls_untrusted_certificate_refused: "/tls-system-roots/p" => 502, "", "", "";
    // verify_cert = false against a certificate from a CA nobody trusts.
    tls_verify_off_accepts_untrusted: "/tls-noverify/p" => 200, "HTTP/1.1", "true", "-";
    // sni = "wrong.test", not a name of the certificate: refused.
    tls_wrong_upstream_name_refused: "/tls-wrong-sni/p" => 502, "", "", "";
    tls_alpn_h2: "/tls-h2/p" => 200, "HTTP/2.0", "true", "upstream.test";
    // h2h1 offers both: the upstream picks h2 …
    tls_alpn_h2h1_picks_h2: "/tls-h2h1/p" => 200, "HTTP/2.0", "true", "upstream.test";
    // … and an upstream that only speaks http/1.1 gets h1.
    tls_alpn_h2h1_falls_back_to_h1: "/tls-h2h1-h1only/p" => 200, "HTTP/1.1", "true", "upstream.test";
    // alpn = "h2" insists: an upstream that only speaks http/1.1 is an error.
    tls_alpn_h2_refused_by_an_h1_only_upstream: "/tls-h2-h1only/p" => 502, "", "", "";
}

#[tokio::test]
async fn tls_h2_upstream_behind_an_h2_client() {
    let env = &*ENV;
    let c = client("a.example.test", env.sni).build().unwrap();
    let resp = bounded(
        c.post(url("https", "a.example.test", env.sni, "/tls-h2/q?x=1"))
            .header("x-test", "both sides h2")
            .body("hello")
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), http::Version::HTTP_2);
    assert_eq!(header(&resp, "x-up-version"), "HTTP/2.0");
    assert_eq!(header(&resp, "x-up-path"), "/tls-h2/q?x=1");
    assert_eq!(header(&resp, "x-up-x-test"), "both sides h2");
    assert_eq!(bounded(resp.text()).await.unwrap(), "upstream ok");
}

#[tokio::test]
async fn refused_upstream_answers_the_error_page() {
    let env = &*ENV;
    let c = client("pylon.test", env.plain).http1_only().build().unwrap();
    let resp = bounded(c.get(url("http", "pylon.test", env.plain, "/tls-wrong-sni/x")).send())
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    let len: usize = header(&resp, "content-length").parse().unwrap();
    let body = bounded(resp.text()).await.unwrap();
    assert_eq!(body.len(), len);
    assert!(body.contains("502"), "{body}");
}
