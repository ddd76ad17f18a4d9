//! The glue between pingora's phases and the plugin chain of a location (pylon-plugin):
//! the request the plugins see, and the response a plugin's reply becomes.

use std::net::IpAddr;

use bytes::Bytes;
use pingora::{http::ResponseHeader, proxy::Session};
use pylon_plugin::{Chain, Reply, ReplyBody, Request, State, Verdict};

use crate::error_page::ErrorPage;

/// Runs the request phase of `chain`; `Some` is the reply to send instead of proxying.
pub(crate) async fn request(
    chain: &Chain,
    session: &Session,
    scheme: &str,
    host: &str,
    state: &mut State,
) -> Option<Reply> {
    let header = session.req_header();
    let req = Request {
        header,
        path: header.uri.path(),
        query: header.uri.query(),
        peer: session.client_addr().and_then(|a| a.as_inet()).map(|a| a.ip()).map(canonical),
        scheme,
        host,
    };
    match chain.request(&req, state).await {
        Verdict::Reply(r) => Some(r),
        _ => None,
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The response head and body of a plugin's reply (error pages use the server's template).
pub(crate) fn reply(page: &ErrorPage, reply: Reply) -> (ResponseHeader, Bytes) {
    let Reply { status, headers, body } = reply;
    let (mut resp, body) = match body {
        ReplyBody::ErrorPage(content) => page.response(status, &content),
        other => {
            let body = match other {
                ReplyBody::Bytes(b) => b,
                _ => Bytes::new(),
            };
            let resp = ResponseHeader::build(status, Some(headers.len() + 1))
                .or_else(|_| ResponseHeader::build(500, None));
            match resp {
                Ok(r) => (r, body),
                Err(_) => page.response(500, "The plugin answered with an invalid status."),
            }
        }
    };
    for (name, value) in headers {
        let _ = resp.append_header(name, value);
    }
    (resp, body)
}
