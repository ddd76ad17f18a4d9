//! Message syntax and limits: one request in, exactly one well-formed message out.
//!
//! pingora's HTTP/1 parser autocorrects some malformed request lines (it percent-encodes a
//! space in the target), accepts others Pylon refuses (a bare LF inside a chunk
//! extension), and answers the rest with a bare 400 that no phase, access log or stats
//! counter sees; it also has fixed limits of its own (256 fields). So every downstream
//! HTTP/1 connection is wrapped by the front door in a [`Checked`] stream: a strict
//! scanner ([`scan`]) judges each request head and body before pingora's parser sees a
//! byte. A refused head becomes a stand-in request that the phases answer with the right
//! status (400, 405, 414, 431, 501, 505), logged and counted like any other; a malformed
//! body fails the read at the fault, so no upstream receives a complete message.
//!
//! The rest of the module is what the phases call: the refusal of a request, the body
//! buffering that makes `client_max_body_size` hold for bodies of unknown length, the
//! limits for h2 requests, Content-Length normalisation and the hop-by-hop fields of
//! upstream responses.

mod replay;
mod scan;
mod stream;

use http::header::{CONNECTION, CONTENT_LENGTH, HeaderName, TRANSFER_ENCODING};
use pingora::{
    http::{RequestHeader, ResponseHeader},
    protocols::{ALPN, Stream},
    proxy::Session,
};

pub use replay::{ScanVerdict, scan_requests};
pub use scan::Limits;
pub(crate) use scan::Refusal;
pub(crate) use stream::{BufferError, Checked};

/// The front door's wrap of a new downstream connection: HTTP/1 is checked, h2 (by ALPN)
/// is left to pingora's h2 layer.
pub(crate) fn check(stream: Stream, limits: Limits) -> Stream {
    if stream.selected_alpn_proto() == Some(ALPN::H2) {
        return stream;
    }
    Box::new(Checked::new(stream, limits))
}

fn checked(session: &Session) -> Option<&Checked> {
    session.as_downstream().as_http1()?.stream().as_any().downcast_ref::<Checked>()
}

/// The refusal this request stands for, when it is the stand-in of a refused head.
pub(crate) fn refusal(session: &Session) -> Option<Refusal> {
    let token = session.req_header().headers.get(stream::REFUSED_HEADER)?;
    checked(session)?.refusal_for(token.as_bytes())
}

/// The body fault that ended this request's connection, if one did.
pub(crate) fn body_fault(session: &Session) -> Option<Refusal> {
    checked(session)?.body_fault()
}

/// The per-request limits the front door applies to HTTP/1 heads, for requests it does
/// not see (h2): `Err((status, reason))` for a request to refuse.
pub(crate) fn check_h2_head(req: &RequestHeader, limits: &Limits) -> Result<(), (u16, String)> {
    let target = req.uri.path_and_query().map_or(1, |p| p.as_str().len());
    if target > limits.max_uri_size {
        return Err((414, format!("request target longer than {} bytes", limits.max_uri_size)));
    }
    if req.headers.len() > limits.max_header_count {
        return Err((431, "too many header fields".into()));
    }
    let size: usize =
        req.headers.iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum::<usize>() + target;
    if size > limits.max_header_size {
        return Err((431, "request head too large".into()));
    }
    Ok(())
}

/// Whether the request body's length is not known up front: HTTP/1 chunked, or h2
/// without `content-length` and not ended with the head.
pub(crate) fn body_length_unknown(session: &mut Session) -> bool {
    let req = session.req_header();
    if req.headers.contains_key(CONTENT_LENGTH) {
        return false;
    }
    if session.as_downstream().as_http1().is_some() {
        return req.headers.contains_key(TRANSFER_ENCODING);
    }
    !session.as_downstream_mut().is_body_empty()
}

/// For an HTTP/1 request with a chunked body: read and check the whole body (held in the
/// stream, nothing reaches pingora or an upstream yet), answering `100 Continue` first
/// when the client waits for it. `Ok(true)`: buffered within `limit`; `Ok(false)`: not an
/// HTTP/1 checked stream (nothing done).
pub(crate) async fn buffer_body(session: &mut Session, limit: u64) -> Result<bool, BufferError> {
    let Some(checked) = checked(session) else { return Ok(false) };
    // Holding a clone of the stream's core, not a borrow of the session.
    let expects_continue = session
        .req_header()
        .headers
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let handle = checked.handle();
    if expects_continue {
        session
            .as_downstream_mut()
            .write_continue_response()
            .await
            .map_err(|e| BufferError::Io(std::io::Error::other(e.to_string())))?;
    }
    handle.buffer_body(limit).await.map(|()| true)
}

/// How long Pylon keeps reading (and discarding) an h2 request body after answering the
/// request itself before the body ended (nginx's `lingering_timeout` is 5 s as well).
pub(crate) const H2_LINGER: std::time::Duration = std::time::Duration::from_secs(5);

/// After Pylon's own answer to an h2 request whose body has not ended: read and discard the
/// rest of the body, for at most [`H2_LINGER`], so the stream closes cleanly instead of
/// with `RST_STREAM` while the client is still sending (some clients, curl 7.x among them,
/// then drop the answer they already received). HTTP/1 is left to pingora (it drains or
/// closes).
pub(crate) async fn linger_h2(session: &mut Session) {
    let down = session.as_downstream_mut();
    if down.as_http2().is_none() || down.is_body_done() {
        return;
    }
    let drain = async { while let Ok(Some(_)) = down.read_request_body().await {} };
    if tokio::time::timeout(H2_LINGER, drain).await.is_err() {
        tracing::debug!("h2 request body still arriving after {H2_LINGER:?}: stream reset");
    }
}

/// An upstream answered an h2 request of unknown body length before the body ended (a plain
/// Python `http.server` does): before that answer goes out, read the rest of the body, so a
/// body over `limit` is refused with a clean 413 instead of reaching the client as the
/// upstream's answer cut off by a reset. `so_far`: body bytes already passed. Returns the
/// bytes read here (not forwarded: the upstream gave its answer without them), or the 413.
pub(crate) async fn finish_h2_body_early(
    session: &mut Session,
    limit: u64,
    so_far: u64,
) -> pingora::Result<u64> {
    let down = session.as_downstream_mut();
    // A declared length was held against the limit before the upstream saw the request.
    if down.as_http2().is_none()
        || down.is_body_done()
        || down.req_header().headers.contains_key(CONTENT_LENGTH)
    {
        return Ok(0);
    }
    let mut read = 0u64;
    while let Some(chunk) = down.read_request_body().await? {
        read += chunk.len() as u64;
        if so_far + read > limit {
            return pingora::Error::e_explain(
                pingora::ErrorType::HTTPStatus(413),
                "request body too large (the upstream answered before it ended)",
            );
        }
    }
    Ok(read)
}

/// The one `Content-Length` value to send in place of a list of equal ones (`5, 5` or
/// two lines of `5`, RFC 9110 §8.6), `None` when there is no list. Differing values were
/// refused before (requests by the front door, responses by
/// [`content_length_consistent`]).
pub(crate) fn collapsed_content_length(headers: &http::HeaderMap) -> Option<String> {
    let mut values = headers.get_all(CONTENT_LENGTH).iter();
    let first = values.next()?;
    let listed = first.as_bytes().contains(&b',');
    if !listed && values.next().is_none() {
        return None;
    }
    let one = first.as_bytes().split(|b| *b == b',').next().unwrap_or_default();
    Some(String::from_utf8_lossy(one.trim_ascii()).into_owned())
}

/// Whether an upstream response's Content-Length values are one number (possibly
/// repeated): `false` for differing or malformed values (the response is then refused).
pub(crate) fn content_length_consistent(headers: &http::HeaderMap) -> bool {
    let mut seen: Option<u64> = None;
    for v in headers.get_all(CONTENT_LENGTH) {
        for element in v.as_bytes().split(|b| *b == b',') {
            let element = element.trim_ascii();
            let n = (!element.is_empty() && element.len() <= 19)
                .then(|| std::str::from_utf8(element).ok()?.parse::<u64>().ok())
                .flatten();
            match (n, seen) {
                (None, _) => return false,
                (Some(n), Some(prev)) if n != prev => return false,
                (Some(n), _) => seen = Some(n),
            }
        }
    }
    true
}

/// Hop-by-hop fields of an upstream response that must not reach the client (RFC 9110
/// §7.6.1): every field the `Connection` field names, and `Connection`, `Keep-Alive`,
/// `Proxy-Connection`, `TE` and (outside a 101) `Upgrade`. pingora writes the downstream
/// connection's own `Connection` field afterwards.
pub(crate) fn strip_hop_by_hop(resp: &mut ResponseHeader) {
    let nominated: Vec<HeaderName> = resp
        .headers
        .get_all(CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .filter_map(|t| HeaderName::from_bytes(t.trim_ascii()).ok())
        .filter(|n| *n != TRANSFER_ENCODING && *n != CONTENT_LENGTH)
        .collect();
    if resp.status.as_u16() == 101 {
        // The upgrade itself needs Connection and Upgrade; only the extras go.
        for name in nominated.iter().filter(|n| *n != CONNECTION && *n != http::header::UPGRADE) {
            resp.remove_header(name);
        }
        return;
    }
    for name in &nominated {
        resp.remove_header(name);
    }
    for name in ["connection", "keep-alive", "proxy-connection", "te", "upgrade"] {
        resp.remove_header(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_lists_become_one_value() {
        let mut h = http::HeaderMap::new();
        h.insert(CONTENT_LENGTH, "5, 5".parse().unwrap());
        assert_eq!(collapsed_content_length(&h).as_deref(), Some("5"));
        let mut h = http::HeaderMap::new();
        h.append(CONTENT_LENGTH, "7".parse().unwrap());
        h.append(CONTENT_LENGTH, "7".parse().unwrap());
        assert_eq!(collapsed_content_length(&h).as_deref(), Some("7"));
        h.remove(CONTENT_LENGTH);
        h.insert(CONTENT_LENGTH, "7".parse().unwrap());
        assert_eq!(collapsed_content_length(&h), None);
    }

    #[test]
    fn response_content_length_consistency() {
        let map = |vals: &[&str]| {
            let mut h = http::HeaderMap::new();
            for v in vals {
                h.append(CONTENT_LENGTH, v.parse().unwrap());
            }
            h
        };
        assert!(content_length_consistent(&map(&["2"])));
        assert!(content_length_consistent(&map(&["2, 2"])));
        assert!(content_length_consistent(&map(&["2", "02"])));
        assert!(!content_length_consistent(&map(&["2", "3"])));
        assert!(!content_length_consistent(&map(&["2, x"])));
        assert!(content_length_consistent(&map(&[])));
    }

    #[test]
    fn hop_by_hop_fields_of_responses_go() {
        let mut r = ResponseHeader::build(200, None).unwrap();
        r.append_header("Connection", "x-secret, keep-alive").unwrap();
        r.append_header("X-Secret", "1").unwrap();
        r.append_header("Keep-Alive", "timeout=5").unwrap();
        r.append_header("Proxy-Connection", "keep-alive").unwrap();
        r.append_header("X-Kept", "1").unwrap();
        strip_hop_by_hop(&mut r);
        let names: Vec<&str> = r.headers.keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["x-kept"]);
    }
}
