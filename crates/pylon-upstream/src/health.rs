//! Health checks: pingora's TCP/HTTP checks and thresholds, wrapped so each transition updates
//! our per-peer flag, is logged once and reaches the pool's callback once.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use async_trait::async_trait;
use pingora_core::protocols::tls::CaType;
use pingora_http::{RequestHeader, ResponseHeader};
use pingora_load_balancing::Backend;
use pingora_load_balancing::health_check::{HealthCheck, HttpHealthCheck, TcpHealthCheck};

use crate::ketama::PeerIndex;
use crate::pool::PeerState;
use crate::{Error, HealthCallback, HealthKind, HealthSpec, PeerSpec};

/// What a transition report needs: the pool's name, its peers and the user's callback.
pub(crate) struct Reporter {
    pub(crate) pool: String,
    pub(crate) peers: Arc<[Arc<PeerState>]>,
    pub(crate) on_change: Option<HealthCallback>,
}

impl Reporter {
    /// Record that peer `i` is now `healthy`; logs and calls back only if that is a change,
    /// so a transition seen twice (by the check and by the reconciliation after a round) is
    /// reported once.
    pub(crate) fn report(&self, i: usize, healthy: bool) {
        let Some(peer) = self.peers.get(i) else { return };
        if peer.healthy.swap(healthy, Relaxed) == healthy {
            return;
        }
        if healthy {
            tracing::info!("upstream {}: peer {} is healthy again", self.pool, peer.addr);
        } else {
            let reason = peer.last_error();
            tracing::warn!("upstream {}: peer {} is unhealthy: {reason}", self.pool, peer.addr);
        }
        if let Some(on_change) = &self.on_change {
            on_change(&self.pool, peer.addr, healthy);
        }
    }
}

/// A failed check in a few words for the log: what happened, from the error's type, and
/// the underlying cause when the type alone does not say it (never pingora's dump of the
/// peer it tried).
pub(crate) fn describe(e: &pingora_error::Error) -> String {
    use pingora_error::ErrorType as T;
    let what = match e.etype() {
        T::ConnectRefused => "connection refused",
        T::ConnectTimedout => "connect timed out",
        T::ConnectNoRoute => "no route to the peer",
        T::TLSHandshakeFailure => "TLS handshake failed",
        T::TLSHandshakeTimedout => "TLS handshake timed out",
        T::InvalidCert => "invalid certificate",
        T::ReadTimedout => "no response within the read timeout",
        T::WriteTimedout => "request not sent within the timeout",
        T::ConnectionClosed => "connection closed before a response",
        T::InvalidHTTPHeader => "invalid HTTP response",
        T::CustomCode(_, code) | T::HTTPStatus(code) => return format!("answered {code}"),
        _ => "",
    };
    let cause = e.root_cause().to_string();
    let cause = cause.trim();
    match (what, cause.is_empty()) {
        ("", true) => e.etype().as_str().to_owned(),
        ("", false) => format!("{}: {cause}", e.etype().as_str()),
        (what, _) if matches!(e.etype(), T::ConnectRefused | T::ConnectTimedout) => what.to_owned(),
        (what, true) => what.to_owned(),
        (what, false) => format!("{what} ({cause})"),
    }
}

/// A pingora check plus our bookkeeping.
pub(crate) struct Check {
    inner: Box<dyn HealthCheck + Send + Sync>,
    reporter: Arc<Reporter>,
}

fn index(target: &Backend) -> Option<usize> {
    target.ext.get::<PeerIndex>().map(|&PeerIndex(i)| i)
}

#[async_trait]
impl HealthCheck for Check {
    async fn check(&self, target: &Backend) -> pingora_error::Result<()> {
        let result = self.inner.check(target).await;
        if let (Err(e), Some(peer)) =
            (&result, index(target).and_then(|i| self.reporter.peers.get(i)))
        {
            peer.set_last_error(describe(e));
        }
        result
    }

    async fn health_status_change(&self, target: &Backend, healthy: bool) {
        if let Some(i) = index(target) {
            self.reporter.report(i, healthy);
        }
    }

    fn backend_summary(&self, target: &Backend) -> String {
        format!("upstream {} peer {}", self.reporter.pool, target.addr)
    }

    fn health_threshold(&self, success: bool) -> usize {
        self.inner.health_threshold(success)
    }
}

/// The check of `spec`, for a pool whose peers connect with `peer` (TLS verification of HTTPS
/// checks follows it). `fallback_sni` names the upstream when an HTTPS check has no host.
pub(crate) fn build(
    spec: &HealthSpec,
    peer: &PeerSpec,
    ca: Option<&Arc<CaType>>,
    fallback_sni: &str,
    reporter: Arc<Reporter>,
) -> Result<Check, Error> {
    let success = spec.success.max(1) as usize;
    let failure = spec.failure.max(1) as usize;
    let inner: Box<dyn HealthCheck + Send + Sync> = match &spec.kind {
        HealthKind::Tcp => {
            let mut check = TcpHealthCheck::new();
            check.consecutive_success = success;
            check.consecutive_failure = failure;
            check.peer_template.options.connection_timeout = Some(spec.connection_timeout);
            check
        }
        HealthKind::Http { host, path, tls } => {
            let invalid =
                |reason: String| Error::HealthCheck { pool: reporter.pool.clone(), reason };
            let sni = match (host.is_empty(), peer.sni.as_deref()) {
                (false, _) => host.as_str(),
                (true, Some(sni)) if !sni.is_empty() => sni,
                _ => fallback_sni,
            };
            let path = if path.is_empty() { "/" } else { path.as_str() };
            // pingora builds a request line from any bytes; an origin-form target must start
            // with `/` and hold no whitespace or control characters.
            if !path.starts_with('/')
                || path.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
            {
                return Err(invalid(format!(
                    "path `{path}` must start with `/` and contain no spaces"
                )));
            }
            let mut req = RequestHeader::build("GET", path.as_bytes(), None)
                .map_err(|e| invalid(format!("path `{path}`: {e}")))?;
            req.insert_header("Host", host.as_str())
                .map_err(|e| invalid(format!("Host `{host:?}`: {e}")))?;
            // `new` unwraps its own Host header, so give it a known-good name and set ours.
            let mut check = HttpHealthCheck::new("localhost", *tls);
            check.peer_template.sni = if *tls { sni.to_owned() } else { String::new() };
            check.req = req;
            check.validator = Some(Box::new(|resp: &ResponseHeader| {
                if resp.status.is_success() || resp.status.is_redirection() {
                    Ok(())
                } else {
                    pingora_error::Error::e_explain(
                        pingora_error::ErrorType::CustomCode("bad status", resp.status.as_u16()),
                        format!("health check answered {}", resp.status),
                    )
                }
            }));
            check.consecutive_success = success;
            check.consecutive_failure = failure;
            let options = &mut check.peer_template.options;
            options.connection_timeout = Some(spec.connection_timeout);
            options.read_timeout = Some(spec.read_timeout);
            options.write_timeout = Some(spec.read_timeout);
            options.verify_cert = peer.verify_cert;
            options.verify_hostname = peer.verify_cert;
            options.ca = ca.cloned();
            // Speak what the peers speak (an h2c-only upstream would refuse HTTP/1.1).
            options.alpn = crate::peer::alpn(peer.alpn);
            Box::new(check)
        }
    };
    Ok(Check { inner, reporter })
}

#[cfg(test)]
mod tests {
    use pingora_error::{Error, ErrorType};

    use super::describe;

    #[test]
    fn refused_connect_is_one_short_reason() {
        let cause = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e = Error::because(ErrorType::ConnectRefused, "Fail to connect to addr: x", cause);
        assert_eq!(describe(&e), "connection refused");
    }

    #[test]
    fn bad_status_names_the_status() {
        let e = Error::explain(ErrorType::CustomCode("bad status", 503), "answered 503");
        assert_eq!(describe(&e), "answered 503");
    }

    #[test]
    fn other_errors_keep_their_root_cause() {
        let cause = std::io::Error::other("certificate expired");
        let e = Error::because(ErrorType::TLSHandshakeFailure, "handshake", cause);
        assert_eq!(describe(&e), "TLS handshake failed (certificate expired)");
    }
}
