//! Downstream TLS: certificates loaded and checked up front (pingora's
//! `TlsSettings::build` panics on a bad file, so nothing bad reaches it), then chosen
//! per handshake by SNI — exact name, then `*.wildcard`, then the default.

use std::{collections::HashMap, path::Path, sync::Arc};

use pingora::{
    listeners::tls::TlsSettings,
    protocols::ALPN,
    tls::{ClientHello, CryptoProvider, ResolvesServerCert, sign::CertifiedKey},
};
use pylon_config::{Config, Diagnostic, Server};

/// Picks a certificate by SNI.
#[derive(Debug)]
pub(crate) struct SniResolver {
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// Suffix including the dot (".example.com") → key; longest suffix first.
    wildcard: Vec<(String, Arc<CertifiedKey>)>,
    default: Option<Arc<CertifiedKey>>,
}

impl SniResolver {
    pub(crate) fn pick(&self, server_name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        if let Some(name) = server_name {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if let Some(k) = self.exact.get(&name) {
                return Some(k.clone());
            }
            if let Some((_, k)) = self
                .wildcard
                .iter()
                .find(|(suffix, _)| name.len() > suffix.len() && name.ends_with(suffix.as_str()))
            {
                return Some(k.clone());
            }
        }
        self.default.clone()
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.pick(hello.server_name())
    }
}

/// Load a certificate chain and its key, checking that they belong together.
pub(crate) fn load_key(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, String> {
    pingora::tls::install_default_crypto_provider();
    let cert_s = cert.display().to_string();
    let key_s = key.display().to_string();
    let (certs, private) = match pingora::tls::load_certs_and_key_files(&cert_s, &key_s) {
        Ok(Some(pair)) => pair,
        Ok(None) => {
            return Err(format!(
                "{cert_s} must hold a PEM certificate and {key_s} a PEM private key \
                 (PKCS#1, PKCS#8 or SEC1)"
            ));
        }
        Err(e) => return Err(format!("cannot read {cert_s} / {key_s}: {e}")),
    };
    let provider = CryptoProvider::get_default()
        .ok_or_else(|| "no TLS crypto provider installed".to_owned())?;
    CertifiedKey::from_der(certs, private, provider)
        .map(Arc::new)
        .map_err(|e| format!("certificate {cert_s} and key {key_s} do not go together: {e}"))
}

/// The key to blame for a certificate pair that failed to load: `tls_key` when the key
/// file cannot be read, else `tls_cert` (a bad certificate, or a pair that does not match).
fn failing_key(prefix: &str, key_file: &Path) -> String {
    let which = if std::fs::metadata(key_file).is_err() { "tls_key" } else { "tls_cert" };
    format!("{prefix}.{which}")
}

/// The SNI resolver of a server, or `None` for a plain listener.
pub(crate) fn resolver(
    config: &Config,
    server: &Server,
) -> Result<Option<Arc<SniResolver>>, Vec<Diagnostic>> {
    let prefix = format!("servers.{}", server.name);
    resolver_for(config, &prefix, server.tls, server.tls_cert.as_deref(), server.tls_key.as_deref())
}

/// The SNI resolver of the `[admin]` listener, or `None` when it is plain HTTP.
pub(crate) fn admin_resolver(config: &Config) -> Result<Option<Arc<SniResolver>>, Vec<Diagnostic>> {
    match &config.admin {
        Some(a) => {
            resolver_for(config, "admin", a.tls, a.tls_cert.as_deref(), a.tls_key.as_deref())
        }
        None => Ok(None),
    }
}

/// The SNI resolver of a listener whose keys live under `prefix` (`servers.NAME`, `admin`):
/// its own `tls_cert`/`tls_key` as the default, the `[certificates]` by SNI.
fn resolver_for(
    config: &Config,
    prefix: &str,
    tls: bool,
    tls_cert: Option<&Path>,
    tls_key: Option<&Path>,
) -> Result<Option<Arc<SniResolver>>, Vec<Diagnostic>> {
    // pylon-config sets `tls` for every TLS listener (`tls = true` or a `tls_cert`).
    if !tls {
        return Ok(None);
    }
    let mut errors = Vec::new();
    let mut default = None;
    if let (Some(cert), Some(k)) = (tls_cert, tls_key) {
        match load_key(cert, k) {
            Ok(ck) => default = Some(ck),
            Err(e) => errors.push(config.diagnostic(&failing_key(prefix, k), e)),
        }
    }
    let mut exact = HashMap::new();
    let mut wildcard = Vec::new();
    let mut first = None;
    let mut marked_default = None;
    for c in &config.certificates {
        let ck = match load_key(&c.tls_cert, &c.tls_key) {
            Ok(ck) => ck,
            Err(e) => {
                let prefix = format!("certificates.{}", c.name);
                errors.push(config.diagnostic(&failing_key(&prefix, &c.tls_key), e));
                continue;
            }
        };
        for d in &c.domains {
            let d = d.to_ascii_lowercase();
            match d.strip_prefix('*') {
                Some(suffix) => wildcard.push((suffix.to_owned(), ck.clone())),
                None => {
                    exact.entry(d).or_insert_with(|| ck.clone());
                }
            }
        }
        if c.is_default && marked_default.is_none() {
            marked_default = Some(ck.clone());
        }
        first.get_or_insert(ck);
    }
    wildcard.sort_by_key(|(suffix, _)| std::cmp::Reverse(suffix.len()));
    // The listener's own tls_cert, else the certificate marked is_default, else the first.
    let default = default.or(marked_default).or(first);
    if default.is_none() && errors.is_empty() {
        errors.push(config.diagnostic(
            &format!("{prefix}.tls"),
            "tls = true needs a [certificates.NAME] section or tls_cert/tls_key",
        ));
    }
    if errors.is_empty() {
        Ok(Some(Arc::new(SniResolver { exact, wildcard, default })))
    } else {
        Err(errors)
    }
}

/// Fresh pingora TLS settings for one listening address of a TLS server.
pub(crate) fn settings(
    resolver: &Arc<SniResolver>,
    enable_h2: bool,
) -> Result<TlsSettings, String> {
    // The paths are ignored once a resolver is set (pingora builds from the resolver).
    let mut settings = TlsSettings::intermediate("", "").map_err(|e| e.to_string())?;
    settings.set_cert_resolver(resolver.clone());
    settings.set_alpn(if enable_h2 { ALPN::H2H1 } else { ALPN::H1 });
    Ok(settings)
}
