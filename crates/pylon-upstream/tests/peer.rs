//! `Pool::build` (resolution, errors) and `Pool::http_peer` (options on the pingora peer).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use pingora_core::protocols::ALPN;
use pingora_core::upstreams::peer::Peer;
use pylon_upstream::{AddrSpec, Algorithm, Alpn, Error, HealthKind, PeerSpec, Pool};

use crate::util::{get, loopbacks, pool, spec, within};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn tls_spec() -> PeerSpec {
    PeerSpec {
        connection_timeout: Duration::from_millis(1500),
        total_connection_timeout: Some(Duration::from_millis(2500)),
        read_timeout: Duration::from_secs(7),
        write_timeout: Duration::from_secs(8),
        idle_timeout: Duration::from_secs(42),
        tls: true,
        sni: None,
        verify_cert: true,
        ca_file: Some(fixture("ca.pem")),
        alpn: Alpn::H2H1,
    }
}

#[tokio::test]
async fn http_peer_carries_every_option() {
    within(async {
        let mut spec = spec(loopbacks(2, 1), Algorithm::RoundRobin);
        spec.peer = tls_spec();
        let pool = pool(spec).await;
        let sel = pool.select(&get("/"), None, &[]).unwrap();
        let peer = pool.http_peer(&sel);
        let o = &peer.options;
        assert_eq!(o.connection_timeout, Some(Duration::from_millis(1500)));
        assert_eq!(o.total_connection_timeout, Some(Duration::from_millis(2500)));
        assert_eq!(o.read_timeout, Some(Duration::from_secs(7)));
        assert_eq!(o.write_timeout, Some(Duration::from_secs(8)));
        assert_eq!(o.idle_timeout, Some(Duration::from_secs(42)));
        assert!(o.verify_cert && o.verify_hostname);
        assert_eq!(o.alpn, ALPN::H2H1);
        assert_eq!(o.ca.as_ref().map(|ca| ca.len()), Some(1), "the fixture's one CA");
        assert!(peer.is_tls());
        assert_eq!(peer.address().to_string(), sel.addr().to_string());
        // No `sni` given: the IP text of the address, never empty.
        assert_eq!(peer.sni, sel.addr().ip().to_string());
    })
    .await;
}

#[tokio::test]
async fn http_peer_plain_defaults() {
    within(async {
        let mut spec = spec(loopbacks(1, 1), Algorithm::RoundRobin);
        spec.peer.idle_timeout = Duration::ZERO;
        spec.peer.verify_cert = false;
        spec.peer.alpn = Alpn::H2;
        spec.peer.total_connection_timeout = None;
        let pool = pool(spec).await;
        let peer = pool.http_peer(&pool.select(&get("/"), None, &[]).unwrap());
        assert!(!peer.is_tls());
        assert_eq!(peer.sni, "");
        assert_eq!(peer.options.idle_timeout, Some(Duration::ZERO), "0 = no reuse");
        assert_eq!(peer.options.total_connection_timeout, None);
        assert!(!peer.options.verify_cert && !peer.options.verify_hostname);
        assert_eq!(peer.options.alpn, ALPN::H2, "h2c prior knowledge");
        assert!(peer.options.ca.is_none());
    })
    .await;
}

macro_rules! alpn {
    ($($name:ident: $alpn:expr => $want:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            within(async {
                let mut spec = spec(loopbacks(1, 1), Algorithm::RoundRobin);
                spec.peer.alpn = $alpn;
                let pool = pool(spec).await;
                let peer = pool.http_peer(&pool.select(&get("/"), None, &[]).unwrap());
                assert_eq!(peer.options.alpn, $want);
            })
            .await;
        }
    )*};
}

alpn! {
    alpn_h1: Alpn::H1 => ALPN::H1;
    alpn_h2: Alpn::H2 => ALPN::H2;
    alpn_h2h1: Alpn::H2H1 => ALPN::H2H1;
}

#[tokio::test]
async fn explicit_sni_wins() {
    within(async {
        let mut spec = spec(loopbacks(1, 1), Algorithm::RoundRobin);
        spec.peer = PeerSpec { sni: Some("api.internal".into()), ca_file: None, ..tls_spec() };
        let pool = pool(spec).await;
        let peer = pool.http_peer(&pool.select(&get("/"), None, &[]).unwrap());
        assert_eq!(peer.sni, "api.internal");
    })
    .await;
}

#[tokio::test]
async fn localhost_resolves_and_names_the_sni() {
    within(async {
        let addrs = vec![AddrSpec { host: "localhost".into(), port: 9, weight: 2 }];
        let mut spec = spec(addrs, Algorithm::RoundRobin);
        spec.peer = PeerSpec { ca_file: None, ..tls_spec() };
        let pool = pool(spec).await;
        let peers = pool.peers();
        assert!(!peers.is_empty());
        for p in &peers {
            assert!(p.addr.ip().is_loopback(), "{p:?}");
            assert_eq!((p.addr.port(), p.weight, p.host.as_str()), (9, 2, "localhost"));
        }
        let sel = pool.select(&get("/"), None, &[]).unwrap();
        assert_eq!(sel.host(), "localhost");
        assert_eq!(pool.http_peer(&sel).sni, "localhost");
    })
    .await;
}

#[tokio::test]
async fn ipv6_literal_with_or_without_brackets() {
    within(async {
        let addrs = vec![
            AddrSpec { host: "[::1]".into(), port: 9, weight: 1 },
            AddrSpec { host: "::1".into(), port: 9, weight: 2 },
        ];
        let pool = pool(spec(addrs, Algorithm::RoundRobin)).await;
        let peers = pool.peers();
        assert_eq!(peers.len(), 1, "the same address twice is one peer");
        assert_eq!(peers[0].addr, SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 9));
        assert_eq!(peers[0].weight, 3, "weights add up");
    })
    .await;
}

#[tokio::test]
async fn name_and_spec_are_kept() {
    within(async {
        let spec = spec(loopbacks(2, 1), Algorithm::LeastConn);
        let pool = pool(spec.clone()).await;
        assert_eq!(pool.name(), "test");
        assert_eq!(pool.spec(), &spec);
    })
    .await;
}

macro_rules! build_error {
    ($($name:ident: |$s:ident| $edit:expr => ($pattern:pat);)*) => {$(
        #[tokio::test]
        async fn $name() {
            within(async {
                let mut $s = spec(loopbacks(2, 1), Algorithm::RoundRobin);
                $edit;
                let err = Pool::build($s, None).await.expect_err("must not build");
                assert!(matches!(err, $pattern), "{err:?}");
                assert!(!err.to_string().is_empty());
            })
            .await;
        }
    )*};
}

build_error! {
    no_addresses: |s| s.addrs.clear() => (Error::NoAddresses { .. });
    zero_weight: |s| s.addrs[1].weight = 0 => (Error::Weight { weight: 0, .. });
    huge_weight: |s| s.addrs[0].weight = 1_000_000 => (Error::Weight { .. });
    missing_ca_file: |s| s.peer.ca_file = Some(fixture("missing.pem")) => (Error::CaFile { .. });
    ca_file_without_certificates: |s| s.peer.ca_file = Some(fixture("not_pem.txt")) => (Error::CaFile { .. });
    bad_health_path: |s| s.health.kind = HealthKind::Http {
        host: "h".into(), path: "no spaces allowed".into(), tls: false,
    } => (Error::HealthCheck { .. });
    bad_health_host: |s| s.health.kind = HealthKind::Http {
        host: "bad\nhost".into(), path: "/".into(), tls: false,
    } => (Error::HealthCheck { .. });
}

#[tokio::test]
async fn selection_tracks_in_flight_until_dropped() {
    within(async {
        let pool = pool(spec(loopbacks(1, 1), Algorithm::RoundRobin)).await;
        let a = pool.select(&get("/"), None, &[]).unwrap();
        let b = pool.select(&get("/"), None, &[]).unwrap();
        assert_eq!(pool.peers()[0].in_flight, 2);
        assert!(format!("{a:?}").contains("127.0.0.1:9"));
        drop(a);
        assert_eq!(pool.peers()[0].in_flight, 1);
        drop(b);
        assert_eq!(pool.peers()[0].in_flight, 0);
    })
    .await;
}
