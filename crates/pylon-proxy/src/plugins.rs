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

/// The query as the access log shows it: the credentials the plugins read masked
/// ([`State::query_for_log`]), and the parameters named in `names` too (the credential
/// names of the whole config: a request may carry one that no plugin read).
pub(crate) fn query_for_log<'q>(
    state: &State,
    query: &'q str,
    names: &[String],
) -> std::borrow::Cow<'q, str> {
    match state.query_for_log(query) {
        std::borrow::Cow::Borrowed(q) => pylon_plugin::mask_query(q, names),
        std::borrow::Cow::Owned(q) => match pylon_plugin::mask_query(&q, names) {
            std::borrow::Cow::Owned(both) => std::borrow::Cow::Owned(both),
            std::borrow::Cow::Borrowed(_) => std::borrow::Cow::Owned(q),
        },
    }
}

/// A request target as received (`/a?key=s3cret&b=1`) with the query parameters in `names`
/// masked (`/a?key=***&b=1`): `Some` when one was.
pub(crate) fn mask_target(target: &str, names: &[String]) -> Option<String> {
    let (path, query) = target.split_once('?')?;
    match pylon_plugin::mask_query(query, names) {
        std::borrow::Cow::Owned(q) => Some(format!("{path}?{q}")),
        std::borrow::Cow::Borrowed(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_target_is_masked_by_name() {
        let names = ["api_key".to_owned()];
        assert_eq!(
            mask_target("/k?page=1&api_key=s3cret", &names).as_deref(),
            Some("/k?page=1&api_key=***")
        );
        assert_eq!(mask_target("/k?page=1", &names), None);
        assert_eq!(mask_target("/k", &names), None);
        // The config's names are masked on top of what the plugins read (nothing here).
        let state = State::default();
        assert_eq!(query_for_log(&state, "api_key=s&x=1", &names), "api_key=***&x=1");
        assert_eq!(query_for_log(&state, "api_key=s&x=1", &[]), "api_key=s&x=1");
    }
}
