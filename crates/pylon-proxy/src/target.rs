//! One meaning per request: the request target and authority are checked and put in normal
//! form before anything routes on them (README "Decisions", SPEC §4).
//!
//! [`normalize`] runs first in `early_request_filter`, for every request of every connection
//! (keep-alive, pipelined, h2 streams), and rewrites the request header in place, so routing,
//! the stats path, rewrite input, hashing, header variables, the access log and the request
//! the upstream receives all see the same target:
//! - the path in its RFC 3986 §6.2.2 normal form ([`pylon_route::normalize_path`]), the query
//!   exactly as received;
//! - an absolute-form target (`GET http://h/x`) becomes origin-form with `Host: h`: the
//!   target's authority wins (RFC 9112 §3.2.2);
//! - an HTTP/1.0 request without Host gets the local address as Host (RFC 9112 §3.3);
//! - refused with 400: a target that is none of the four forms, a path without a normal form,
//!   an HTTP/1.1 request without Host, an empty or invalid Host or `:authority`.

use std::net::SocketAddr;

use pingora::{ErrorType::HTTPStatus, http::RequestHeader, prelude::*, proxy::Session};
use pylon_route::{RequestTarget, TargetError, check_authority, normalize_path};

/// Checks and normalises the target and authority of `session`'s request in place.
///
/// # Errors
/// `HTTPStatus(400)` naming the reason; the request is then left as it came.
pub(crate) fn normalize(session: &mut Session) -> Result<()> {
    let local = session.server_addr().and_then(|a| a.as_inet()).copied();
    apply(session.req_header_mut(), local).map_err(|why| {
        Error::explain(HTTPStatus(400), format!("The request could not be understood: {why}."))
    })
}

/// What [`apply`] changes, worked out before the header is borrowed mutably.
struct Changes {
    /// The new target (normal path + `?query`), when it differs from the raw one.
    target: Option<Vec<u8>>,
    /// The new Host header value.
    host: Option<String>,
}

fn apply(req: &mut RequestHeader, local: Option<SocketAddr>) -> Result<(), TargetError> {
    let changes = plan(req, local)?;
    if let Some(host) = changes.host {
        req.insert_header(http::header::HOST, host).map_err(|_| TargetError::BadHost)?;
    }
    if let Some(target) = changes.target {
        if req.uri.authority().is_some() {
            // HTTP/2: keep `:scheme` and `:authority`, replace `:path`.
            let mut parts = req.uri.clone().into_parts();
            parts.path_and_query =
                Some(http::uri::PathAndQuery::try_from(target).map_err(|_| TargetError::NotAForm)?);
            let uri = http::Uri::from_parts(parts).map_err(|_| TargetError::NotAForm)?;
            req.set_uri(uri);
        } else {
            // HTTP/1: origin-form; a query that is not UTF-8 keeps its bytes on the wire.
            req.set_raw_path(&target).map_err(|_| TargetError::NotAForm)?;
        }
    }
    Ok(())
}

fn plan(req: &RequestHeader, local: Option<SocketAddr>) -> Result<Changes, TargetError> {
    let raw = req.raw_path();
    let (authority, path, query) = match RequestTarget::parse(req.method.as_str(), raw)? {
        RequestTarget::Origin { path, query } => (None, path, query),
        RequestTarget::Absolute { authority, path, query } => (Some(authority), path, query),
        // `OPTIONS *` routes and is forwarded as `*`; only its authority is checked.
        RequestTarget::Asterisk => {
            let host = host_for(req, None, local)?;
            return Ok(Changes { target: None, host });
        }
        // pingora refuses CONNECT with 405 before any phase runs.
        RequestTarget::Authority(_) => return Ok(Changes { target: None, host: None }),
        _ => return Err(TargetError::NotAForm),
    };
    let host = host_for(req, authority, local)?;
    let normal = normalize_path(path)?;
    let unchanged = authority.is_none() && normal.as_bytes() == path;
    let target = (!unchanged).then(|| {
        let mut t = Vec::with_capacity(normal.len() + query.map_or(0, |q| q.len() + 1));
        t.extend_from_slice(normal.as_bytes());
        if let Some(q) = query {
            t.push(b'?');
            t.extend_from_slice(q);
        }
        t
    });
    Ok(Changes { target, host })
}

/// The Host the request must carry from now on, when it changes; checks the one it has.
fn host_for(
    req: &RequestHeader,
    target_authority: Option<&[u8]>,
    local: Option<SocketAddr>,
) -> Result<Option<String>, TargetError> {
    if let Some(authority) = target_authority {
        // RFC 9112 §3.2.2: the authority of an absolute-form target replaces Host (pingora
        // has already refused a Host that differs from it). Checked by the target parser.
        let authority = String::from_utf8_lossy(authority).into_owned();
        return Ok(Some(authority));
    }
    let host = req.headers.get(http::header::HOST);
    if req.version == http::Version::HTTP_2 {
        // RFC 9113 §8.3.1: `:authority`, else Host (pingora refuses a Host that differs
        // from `:authority`, and a request with neither).
        let authority = req.uri.authority().map(|a| a.as_str().as_bytes());
        check_authority(authority.or(host.map(|h| h.as_bytes())).unwrap_or_default())?;
        return Ok(None);
    }
    match host {
        Some(h) => check_authority(h.as_bytes()).map(|()| None),
        // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400.
        None if req.version != http::Version::HTTP_10 && req.version != http::Version::HTTP_09 => {
            Err(TargetError::MissingHost)
        }
        // RFC 9112 §3.3: without Host, the authority is the server's own address.
        None => Ok(local.map(|a| a.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(version: http::Version, target: &[u8], hosts: &[&str]) -> RequestHeader {
        let mut r = RequestHeader::build("GET", target, None).unwrap();
        r.set_version(version);
        for h in hosts {
            r.append_header(http::header::HOST, *h).unwrap();
        }
        r
    }

    fn local() -> Option<SocketAddr> {
        Some("127.0.0.1:6188".parse().unwrap())
    }

    /// `(target the upstream gets, Host)` after [`apply`], or the refusal.
    fn after(
        version: http::Version,
        target: &[u8],
        hosts: &[&str],
    ) -> Result<(String, Option<String>), TargetError> {
        let mut r = request(version, target, hosts);
        apply(&mut r, local())?;
        let host = r.headers.get("host").map(|h| h.to_str().unwrap().to_owned());
        Ok((String::from_utf8_lossy(r.raw_path()).into_owned(), host))
    }

    const V11: http::Version = http::Version::HTTP_11;
    const V10: http::Version = http::Version::HTTP_10;

    #[test]
    fn origin_form_is_normalised_and_the_query_kept() {
        assert_eq!(
            after(V11, b"/x/../%61dmin//users?q=/../a&b=%61", &["h"]),
            Ok(("/admin/users?q=/../a&b=%61".into(), Some("h".into())))
        );
        assert_eq!(after(V11, b"/a?", &["h"]), Ok(("/a?".into(), Some("h".into()))));
    }

    #[test]
    fn non_utf8_path_is_encoded_and_query_bytes_kept() {
        let mut r = request(V11, b"/caf\xc3\xa9/\xff?\xfe", &["h"]);
        apply(&mut r, local()).unwrap();
        assert_eq!(r.raw_path(), b"/caf%C3%A9/%FF?\xfe");
    }

    #[test]
    fn absolute_form_becomes_origin_form_with_its_authority_as_host() {
        assert_eq!(
            after(V11, b"http://Admin.example.com:8080/x/../y?q", &[]),
            Ok(("/y?q".into(), Some("Admin.example.com:8080".into())))
        );
        assert_eq!(after(V11, b"http://h", &["h"]), Ok(("/".into(), Some("h".into()))));
    }

    #[test]
    fn host_rules() {
        assert_eq!(after(V11, b"/", &[]), Err(TargetError::MissingHost));
        assert_eq!(after(V11, b"/", &[""]), Err(TargetError::MissingHost));
        assert_eq!(after(V11, b"/", &["a/b"]), Err(TargetError::BadHost));
        assert_eq!(after(V11, b"/", &["h:x"]), Err(TargetError::BadPort));
        assert_eq!(after(V10, b"/", &[]), Ok(("/".into(), Some("127.0.0.1:6188".into()))));
        assert_eq!(after(V10, b"/", &[""]), Err(TargetError::MissingHost));
    }

    #[test]
    fn targets_that_are_no_form_are_refused() {
        assert_eq!(after(V11, b"admin", &["h"]), Err(TargetError::NotAForm));
        assert_eq!(after(V11, b"*", &["h"]), Err(TargetError::AsteriskNotOptions));
        assert_eq!(after(V11, b"h:80", &["h"]), Err(TargetError::AuthorityNotConnect));
        assert_eq!(after(V11, b"/../x", &["h"]), Err(TargetError::AboveRoot));
    }

    #[test]
    fn options_asterisk_is_kept() {
        let mut r = RequestHeader::build("OPTIONS", b"*", None).unwrap();
        r.insert_header("host", "h").unwrap();
        apply(&mut r, local()).unwrap();
        assert_eq!(r.raw_path(), b"*");
    }

    #[test]
    fn h2_keeps_scheme_and_authority() {
        let mut r = RequestHeader::build_no_case("GET", b"/", None).unwrap();
        r.set_uri("https://Example.com:8443/x/../%61?q=1".parse().unwrap());
        r.set_version(http::Version::HTTP_2);
        apply(&mut r, local()).unwrap();
        assert_eq!(r.uri.to_string(), "https://Example.com:8443/a?q=1");
        assert!(r.headers.get("host").is_none());
        let mut bad = RequestHeader::build_no_case("GET", b"/", None).unwrap();
        bad.set_uri("https://a_b:99999/".parse().unwrap());
        bad.set_version(http::Version::HTTP_2);
        assert_eq!(apply(&mut bad, local()), Err(TargetError::BadPort));
    }
}
