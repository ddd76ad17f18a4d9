//! Client ↔ proxy: h1 and h2 over TLS, h2c, certificates chosen by SNI.

use std::{net::SocketAddr, sync::Arc};

use http::Version;
use tokio::net::TcpStream;
use tokio_rustls::{
    TlsConnector,
    rustls::{
        self, DigitallySignedStruct, SignatureScheme,
        client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
        pki_types::{CertificateDer, ServerName, UnixTime},
    },
};

use crate::util::{ENV, Leaf, bounded, client, header, install_provider, url};

#[tokio::test]
async fn h1_over_tls() {
    let env = &*ENV;
    let c = client("a.example.test", env.sni).http1_only().build().unwrap();
    let resp = bounded(c.get(url("https", "a.example.test", env.sni, "/plain/x?q=1")).send())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_11);
    assert_eq!(header(&resp, "x-up-path"), "/plain/x?q=1");
    assert_eq!(bounded(resp.text()).await.unwrap(), "upstream ok");
}

#[tokio::test]
async fn h2_over_tls() {
    let env = &*ENV;
    let c = client("a.example.test", env.sni).build().unwrap();
    let resp =
        bounded(c.get(url("https", "a.example.test", env.sni, "/plain/h2")).send()).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_2);
    // The upstream is h1 (alpn = "h1"): the proxy translates.
    assert_eq!(header(&resp, "x-up-version"), "HTTP/1.1");
    assert_eq!(header(&resp, "x-up-path"), "/plain/h2");
    assert_eq!(bounded(resp.text()).await.unwrap(), "upstream ok");
}

#[tokio::test]
async fn h2_disabled_gives_h1_over_tls() {
    let env = &*ENV;
    // The client offers h2 and http/1.1; enable_h2 = false must answer with HTTP/1.1.
    let c = client("a.example.test", env.h1only).build().unwrap();
    let resp =
        bounded(c.get(url("https", "a.example.test", env.h1only, "/plain/")).send()).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_11);
    let (alpn, _) = handshake(env.h1only, "a.example.test").await;
    assert_ne!(alpn.as_deref(), Some(&b"h2"[..]), "enable_h2 = false negotiated h2");
}

#[tokio::test]
async fn h2_negotiated_by_alpn_when_enabled() {
    let env = &*ENV;
    let (alpn, _) = handshake(env.sni, "a.example.test").await;
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
}

#[tokio::test]
async fn h2c_prior_knowledge_and_h1_on_the_same_plain_port() {
    let env = &*ENV;
    let h2c = client("pylon.test", env.plain).http2_prior_knowledge().build().unwrap();
    let resp =
        bounded(h2c.get(url("http", "pylon.test", env.plain, "/plain/c")).send()).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_2);
    assert_eq!(header(&resp, "x-up-path"), "/plain/c");

    let h1 = client("pylon.test", env.plain).http1_only().build().unwrap();
    let resp =
        bounded(h1.get(url("http", "pylon.test", env.plain, "/plain/d")).send()).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_11);
    assert_eq!(header(&resp, "x-up-path"), "/plain/d");
}

#[tokio::test]
async fn no_h2c_on_a_plain_listener_with_h2_disabled() {
    let env = &*ENV;
    let h2c = client("pylon.test", env.plain_noh2).http2_prior_knowledge().build().unwrap();
    let answer =
        bounded(h2c.get(url("http", "pylon.test", env.plain_noh2, "/plain/")).send()).await;
    assert!(answer.is_err(), "h2c was served with enable_h2 = false: {answer:?}");
    let h1 = client("pylon.test", env.plain_noh2).http1_only().build().unwrap();
    let resp =
        bounded(h1.get(url("http", "pylon.test", env.plain_noh2, "/plain/")).send()).await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn h2_authority_chooses_the_location_and_becomes_the_upstream_host() {
    let env = &*ENV;
    // h2 sends no Host header, only :authority; the location has host = "hosted.wild.test".
    let c = client("hosted.wild.test", env.sni).build().unwrap();
    let resp = bounded(c.get(url("https", "hosted.wild.test", env.sni, "/hosted/x")).send())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_2);
    assert_eq!(header(&resp, "x-up-version"), "HTTP/1.1");
    assert_eq!(header(&resp, "x-up-host"), format!("hosted.wild.test:{}", env.sni.port()));
    let c = client("other.wild.test", env.sni).build().unwrap();
    let resp =
        bounded(c.get(url("https", "other.wild.test", env.sni, "/hosted/x")).send()).await.unwrap();
    assert_eq!(resp.version(), Version::HTTP_2);
    assert_eq!(resp.status(), 404);
}

// ---------------------------------------------------------------------------------------------
// SNI

/// Accepts any server certificate: the SNI tests look at which one was presented.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// TLS handshake with `addr` sending SNI `name`, offering h2 and http/1.1:
/// the negotiated ALPN protocol and the leaf certificate presented.
async fn handshake(addr: SocketAddr, name: &str) -> (Option<Vec<u8>>, CertificateDer<'static>) {
    install_provider();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let connector = TlsConnector::from(Arc::new(config));
    let server_name = ServerName::try_from(name.to_owned()).expect("server name");
    let tls = bounded(async {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        connector.connect(server_name, tcp).await.expect("TLS handshake")
    })
    .await;
    let (_, conn) = tls.get_ref();
    let leaf = conn.peer_certificates().expect("a certificate")[0].clone().into_owned();
    (conn.alpn_protocol().map(<[u8]>::to_vec), leaf)
}

async fn presented(addr: SocketAddr, name: &str) -> CertificateDer<'static> {
    handshake(addr, name).await.1
}

fn which<'a>(cert: &CertificateDer<'_>, leaves: &[(&'a str, &Leaf)]) -> &'a str {
    leaves.iter().find(|(_, l)| l.der == *cert).map_or("an unknown certificate", |(n, _)| n)
}

macro_rules! sni_cases {
    ($($test:ident: $listener:ident, $sni:literal => $want:ident;)*) => {$(
        #[tokio::test]
        async fn $test() {
            let env = &*ENV;
            let p = &env.pki;
            let leaves = [("a", &p.a), ("wild", &p.wild), ("fallback", &p.fallback), ("single", &p.single)];
            let cert = presented(env.$listener, $sni).await;
            assert_eq!(which(&cert, &leaves), stringify!($want), "SNI {}", $sni);
        }
    )*};
}

sni_cases! {
    sni_exact_name: sni, "a.example.test" => a;
    sni_exact_name_ignores_case: sni, "A.Example.TEST" => a;
    sni_wildcard: sni, "x.wild.test" => wild;
    sni_wildcard_deeper_label: sni, "y.x.wild.test" => wild;
    sni_wildcard_does_not_match_its_base: sni, "wild.test" => fallback;
    sni_unknown_name_gets_the_default: sni, "unknown.test" => fallback;
    sni_default_name_itself: sni, "default.test" => fallback;
    sni_h2_disabled_listener_uses_certificates_too: h1only, "x.wild.test" => wild;
    single_cert_listener_for_its_name: single, "single.test" => single;
    // tls_cert is the listener's default: it beats `is_default`, and [certificates] still
    // answer the names they list.
    single_cert_listener_default_beats_is_default: single, "unknown.test" => single;
    single_cert_listener_still_picks_certificates_by_sni: single, "a.example.test" => a;
}

#[tokio::test]
async fn single_cert_listener_serves_h1_and_h2() {
    let env = &*ENV;
    let c = client("single.test", env.single).build().unwrap();
    let resp =
        bounded(c.get(url("https", "single.test", env.single, "/plain/s")).send()).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_2);
    assert_eq!(header(&resp, "x-up-path"), "/plain/s");
    let c = client("single.test", env.single).http1_only().build().unwrap();
    let resp =
        bounded(c.get(url("https", "single.test", env.single, "/ready")).send()).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), Version::HTTP_11);
    assert_eq!(bounded(resp.text()).await.unwrap(), "ready");
}

#[tokio::test]
async fn wildcard_name_verifies_with_a_real_client() {
    let env = &*ENV;
    // reqwest checks the name: this passes only if the *.wild.test leaf came back.
    let c = client("x.wild.test", env.sni).build().unwrap();
    let resp = bounded(c.get(url("https", "x.wild.test", env.sni, "/ready")).send()).await.unwrap();
    assert_eq!(resp.status(), 200);
}
