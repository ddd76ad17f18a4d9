//! [`PeerSpec`] onto pingora's [`HttpPeer`]: one template per peer, built once, cloned per request.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use pingora_core::protocols::ALPN;
use pingora_core::protocols::tls::CaType;
use pingora_core::tls::RootCertStore;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_core::utils::tls::{WrappedX509, parse_x509};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::{Alpn, Error, PeerSpec};

/// The pingora peer for `addr`, reached under the name `host` (an [`AddrSpec::host`](crate::AddrSpec::host)).
pub(crate) fn template(
    spec: &PeerSpec,
    addr: SocketAddr,
    host: &str,
    ca: Option<&Arc<CaType>>,
) -> HttpPeer {
    // rustls refuses an empty SNI, so fall back to the address's own name (or IP text).
    let sni = if spec.tls {
        match spec.sni.as_deref() {
            Some(sni) if !sni.is_empty() => sni.to_owned(),
            _ => host_name(host),
        }
    } else {
        String::new()
    };
    let mut peer = HttpPeer::new(addr, spec.tls, sni);
    let options = &mut peer.options;
    options.connection_timeout = Some(spec.connection_timeout);
    options.total_connection_timeout = spec.total_connection_timeout;
    options.read_timeout = Some(spec.read_timeout);
    options.write_timeout = Some(spec.write_timeout);
    // `Some(0)` is pingora's "do not keep this connection".
    options.idle_timeout = Some(spec.idle_timeout);
    options.verify_cert = spec.verify_cert;
    options.verify_hostname = spec.verify_cert;
    options.ca = ca.cloned();
    options.alpn = alpn(spec.alpn);
    // pingora's connection pool key leaves out the CA: peers of pools that trust
    // different CAs must never share a pooled TLS connection.
    if let Some(ca_file) = &spec.ca_file {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        ca_file.hash(&mut h);
        peer.group_key = h.finish();
    }
    peer
}

/// pingora's ALPN for `alpn`, as `PeerOptions::set_http_version` would set it: H1 (1,1),
/// H2 (2,2: h2c prior knowledge without TLS), H2H1 (2,1).
pub(crate) fn alpn(alpn: Alpn) -> ALPN {
    match alpn {
        Alpn::H1 => ALPN::new(1, 1),
        Alpn::H2 => ALPN::new(2, 2),
        Alpn::H2H1 => ALPN::new(2, 1),
    }
}

/// The name of an [`AddrSpec::host`](crate::AddrSpec::host): a hostname as is, an IP literal
/// in its canonical text without brackets.
pub(crate) fn host_name(host: &str) -> String {
    match parse_ip(host) {
        Some(ip) => ip.to_string(),
        None => host.to_owned(),
    }
}

/// `host` as an IP literal, accepting `[v6]`.
pub(crate) fn parse_ip(host: &str) -> Option<IpAddr> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    bare.parse().ok()
}

/// Every certificate of the PEM bundle at `path`, checked to be usable as a trust anchor.
pub(crate) async fn load_ca(path: &Path) -> Result<Arc<CaType>, Error> {
    let fail = |reason: String| Error::CaFile { path: path.to_owned(), reason };
    let pem = tokio::fs::read(path).await.map_err(|e| fail(e.to_string()))?;
    let mut certs = Vec::new();
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| fail(format!("bad PEM: {e}")))?;
        // A certificate rustls cannot parse would make pingora's own parser panic later.
        store.add(cert.clone()).map_err(|e| fail(format!("bad certificate: {e}")))?;
        certs.push(WrappedX509::new(cert.to_vec(), parse_x509));
    }
    if certs.is_empty() {
        return Err(fail("no CERTIFICATE block found".into()));
    }
    Ok(certs.into())
}
