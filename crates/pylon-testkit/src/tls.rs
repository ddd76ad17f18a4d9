//! TLS fixtures: a certificate authority and leaves made in code (rcgen), server
//! acceptors and client connectors (rustls with the ring provider, as pingora uses).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio_rustls::{
    TlsAcceptor, TlsConnector,
    client::TlsStream,
    rustls::{
        self,
        pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject},
    },
};

/// Install ring as the process's default rustls provider (a no-op when one is installed).
pub fn install_ring() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A certificate and its key, as DER and as PEM files.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The certificate.
    pub der: CertificateDer<'static>,
    /// Its PEM file.
    pub cert_path: PathBuf,
    /// The key's PEM file.
    pub key_path: PathBuf,
}

/// A certificate authority that signs leaves.
pub struct Ca {
    /// The CA certificate as PEM text.
    pub pem: String,
    /// The CA certificate's PEM file.
    pub path: PathBuf,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Ca {
    /// A new CA named `name`, its certificate written to `dir/NAME.pem`.
    pub fn new(dir: &Path, name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::new()).expect("ca params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("ca key");
        let cert = params.self_signed(&key).expect("ca cert");
        let pem = cert.pem();
        let path = dir.join(format!("{name}.pem"));
        std::fs::write(&path, &pem).expect("write ca");
        Ca { pem, path, issuer: Issuer::new(params, key) }
    }

    /// A leaf for `names` (DNS names or IP literals), written to `dir/STEM.{crt,key}`.
    pub fn leaf(&self, dir: &Path, stem: &str, names: &[&str]) -> Leaf {
        let sans: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(sans).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, names[0]);
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("leaf cert");
        let cert_path = dir.join(format!("{stem}.crt"));
        let key_path = dir.join(format!("{stem}.key"));
        std::fs::write(&cert_path, cert.pem()).expect("write cert");
        std::fs::write(&key_path, key.serialize_pem()).expect("write key");
        Leaf { der: cert.der().clone(), cert_path, key_path }
    }

    /// A client connector trusting only this CA, offering `alpn`.
    pub fn connector(&self, alpn: &[&[u8]]) -> TlsConnector {
        connector_trusting(&self.pem, alpn)
    }

    /// A TLS connection to `addr` with server name `name`, trusting only this CA.
    pub async fn connect(
        &self,
        addr: SocketAddr,
        name: &str,
        alpn: &[&[u8]],
    ) -> TlsStream<tokio::net::TcpStream> {
        connect_trusting(&self.pem, addr, name, alpn).await
    }
}

/// A client connector trusting only the CA certificate `ca_pem` (PEM text), offering `alpn`.
pub fn connector_trusting(ca_pem: &str, alpn: &[&[u8]]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("ca pem");
    roots.add(ca).expect("ca into the root store");
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}

/// A TLS connection to `addr` with server name `name`, trusting only the CA certificate
/// `ca_pem` (PEM text: e.g. a CA file shipped in `conf/`).
pub async fn connect_trusting(
    ca_pem: &str,
    addr: SocketAddr,
    name: &str,
    alpn: &[&[u8]],
) -> TlsStream<tokio::net::TcpStream> {
    let name = ServerName::try_from(name.to_owned()).expect("server name");
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    connector_trusting(ca_pem, alpn).connect(name, tcp).await.expect("TLS handshake")
}

/// A server acceptor presenting `leaf` with the ALPN protocols `alpn`.
pub fn acceptor(leaf: &Leaf, alpn: &[&[u8]]) -> TlsAcceptor {
    let key = PrivateKeyDer::from_pem_file(&leaf.key_path).expect("key pem");
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der.clone()], key)
    .expect("server config");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsAcceptor::from(Arc::new(config))
}
