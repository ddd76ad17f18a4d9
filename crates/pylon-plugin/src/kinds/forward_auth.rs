//! `kind = "forward_auth"`: ask an authentication service about every request (a
//! sub-request, as Traefik's ForwardAuth and nginx's `auth_request`).
//!
//! ```toml
//! [plugins.sso]
//! kind = "forward_auth"
//! url = "http://127.0.0.1:9091/verify"   # plain HTTP; the host must resolve at load
//! timeout = "5s"                          # default
//! request_headers = ["Authorization", "Cookie"]   # client headers sent along (default: all)
//! upstream_headers = ["X-User", "X-Groups"]       # copied from a 2xx answer to the upstream
//! ```
//!
//! The auth service gets `GET` of `url` with the client's headers (all of them, or those in
//! `request_headers`; never hop-by-hop ones or a body) and `X-Forwarded-Method`,
//! `X-Forwarded-Proto`, `X-Forwarded-Host`, `X-Forwarded-Uri` (the normal path and query)
//! and `X-Forwarded-For`. A 2xx answer admits the request, and the `upstream_headers` it
//! carries are set on the upstream request (replacing what the client sent under those
//! names, so a client cannot forge them). Any other answer is relayed to the client: its
//! status, its headers (not hop-by-hop ones) and its body (up to 64 KiB). An auth service
//! that cannot be reached or does not answer within `timeout` gives 502 with the error
//! page, and the failure is logged. Connections to it are kept alive and reused.

use std::{future::Future, net::SocketAddr, net::ToSocketAddrs as _, time::Duration};

use bytes::{Bytes, BytesMut};
use http::{HeaderName, HeaderValue, header};
use pingora_core::{connectors::http::Connector, upstreams::peer::HttpPeer};
use pingora_http::RequestHeader;

use crate::{
    exchange::{Reply, ReplyBody, Request, State, Verdict},
    plugin::{Env, Phases, Plugin},
    spec::{Options, is_token},
};

pub(crate) const OPTIONS: &[&str] = &["url", "timeout", "request_headers", "upstream_headers"];

/// Default `timeout`.
pub const DEFAULT_FORWARD_AUTH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest auth-service body relayed to the client.
const MAX_BODY: usize = 64 * 1024;
/// How long an idle connection to the auth service is kept for reuse.
const IDLE: Duration = Duration::from_secs(60);

/// Headers that belong to one connection (RFC 9110 §7.6.1) or to a body, never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "host",
];

pub(crate) struct ForwardAuth {
    name: String,
    /// `host[:port]` as written (the auth request's Host) and the path with query.
    authority: String,
    path: String,
    addr: Option<SocketAddr>,
    timeout: Duration,
    request_headers: Option<Vec<HeaderName>>,
    upstream_headers: Vec<HeaderName>,
    connector: Option<Connector>,
}

impl std::fmt::Debug for ForwardAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardAuth")
            .field("name", &self.name)
            .field("authority", &self.authority)
            .field("path", &self.path)
            .field("addr", &self.addr)
            .field("timeout", &self.timeout)
            .field("request_headers", &self.request_headers)
            .field("upstream_headers", &self.upstream_headers)
            .finish_non_exhaustive()
    }
}

/// `http://host[:port][/path][?query]` → (authority, host, port, path-and-query).
fn parse_url(url: &str) -> Result<(String, String, u16, String), String> {
    // Messages show the url without any user information: it would be a credential.
    let shown = without_userinfo(url);
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("https") => {
            return Err(
                "https auth services are not supported: reach the auth service over plain \
                 http on a trusted network (e.g. loopback or a private address)"
                    .into(),
            );
        }
        _ => return Err(format!("invalid url \"{shown}\": expected \"http://host[:port]/path\"")),
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'?' => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_owned()),
        None => (rest, "/".to_owned()),
    };
    if authority.contains('@') {
        return Err(format!(
            "invalid url \"{shown}\": credentials in the url (user:password@) are not \
             supported; the client's own headers are what the auth service gets"
        ));
    }
    if authority.is_empty() {
        return Err(format!("invalid url \"{shown}\": expected \"http://host[:port]/path\""));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) =
            v6.split_once(']').ok_or_else(|| format!("invalid IPv6 host in \"{shown}\""))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse::<u16>().map_err(|_| format!("invalid port in \"{shown}\""))?,
            None if after.is_empty() => 80,
            None => return Err(format!("invalid url \"{shown}\"")),
        };
        (h.to_owned(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (
                h.to_owned(),
                p.parse::<u16>().map_err(|_| format!("invalid port in \"{shown}\""))?,
            ),
            None => (authority.to_owned(), 80),
        }
    };
    if path.contains(char::is_whitespace) {
        return Err(format!("invalid url \"{shown}\": no spaces allowed"));
    }
    Ok((authority.to_owned(), host, port, path))
}

/// `url` with the user information of its authority (`user:password@`) replaced by `***@`.
fn without_userinfo(url: &str) -> std::borrow::Cow<'_, str> {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[after_scheme..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => std::borrow::Cow::Owned(format!("{}***{}", &url[..after_scheme], &rest[at..])),
        None => std::borrow::Cow::Borrowed(url),
    }
}

fn header_list(o: &mut Options<'_>, key: &str) -> Vec<HeaderName> {
    let mut out = Vec::new();
    for (k, h) in o.strings(key) {
        match HeaderName::from_bytes(h.as_bytes()) {
            Ok(n) if is_token(h) => out.push(n),
            _ => o.problem(k, format!("invalid header name \"{h}\"")),
        }
    }
    out
}

impl ForwardAuth {
    pub(crate) fn parse(o: &mut Options<'_>, env: Option<&Env>) -> ForwardAuth {
        let (authority, path, addr) = match o.string("url") {
            None => {
                o.problem("", "set `url`, e.g. \"http://127.0.0.1:9091/verify\"");
                (String::new(), "/".to_owned(), None)
            }
            Some(url) => match parse_url(url) {
                Err(m) => {
                    o.problem("url", m);
                    (String::new(), "/".to_owned(), None)
                }
                Ok((authority, host, port, path)) => {
                    // Resolved once, when the config is loaded (not for `pylon check`'s parse).
                    let addr = if env.is_some() {
                        match (host.as_str(), port).to_socket_addrs().map(|mut a| a.next()) {
                            Ok(Some(a)) => Some(a),
                            Ok(None) | Err(_) => {
                                o.problem(
                                    "url",
                                    format!("cannot resolve the auth service host \"{host}\""),
                                );
                                None
                            }
                        }
                    } else {
                        None
                    };
                    (authority, path, addr)
                }
            },
        };
        let timeout = o.duration("timeout").unwrap_or(DEFAULT_FORWARD_AUTH_TIMEOUT);
        if timeout.is_zero() {
            o.problem("timeout", "the timeout must be more than 0");
        }
        let request_headers = o.has("request_headers").then(|| header_list(o, "request_headers"));
        let upstream_headers = header_list(o, "upstream_headers");
        ForwardAuth {
            name: o.name().to_owned(),
            authority,
            path,
            addr,
            timeout,
            request_headers,
            upstream_headers,
            connector: env.map(|_| Connector::new(None)),
        }
    }

    /// The sub-request for `req`.
    fn auth_request(&self, req: &Request<'_>) -> Option<RequestHeader> {
        let mut r = RequestHeader::build("GET", self.path.as_bytes(), None).ok()?;
        r.insert_header(header::HOST, self.authority.as_str()).ok()?;
        for (name, value) in req.header.headers.iter() {
            let wanted = match &self.request_headers {
                Some(list) => list.contains(name),
                None => {
                    !HOP_BY_HOP.contains(&name.as_str())
                        && !name.as_str().starts_with("x-forwarded-")
                }
            };
            if wanted && !HOP_BY_HOP.contains(&name.as_str()) {
                r.append_header(name.clone(), value.clone()).ok()?;
            }
        }
        let forwarded_for = {
            let prev = req.header("x-forwarded-for");
            let peer = req.peer.map(|p| p.to_string()).unwrap_or_default();
            match prev {
                Some(p) if !peer.is_empty() => format!("{p}, {peer}"),
                Some(p) => p.to_owned(),
                None => peer,
            }
        };
        for (name, value) in [
            ("x-forwarded-method", req.header.method.as_str()),
            ("x-forwarded-proto", req.scheme),
            ("x-forwarded-host", req.host),
            ("x-forwarded-uri", req.request_uri()),
            ("x-forwarded-for", forwarded_for.as_str()),
        ] {
            if !value.is_empty() {
                r.insert_header(name, value).ok()?;
            }
        }
        Some(r)
    }

    /// Sends the sub-request and reads the answer: (status, headers, body).
    async fn ask(&self, req: RequestHeader) -> Result<(u16, http::HeaderMap, Bytes), String> {
        let (Some(addr), Some(connector)) = (self.addr, &self.connector) else {
            return Err("the auth service is not resolved".into());
        };
        let peer = HttpPeer::new(addr, false, String::new());
        let (mut session, _reused) =
            connector.get_http_session(&peer).await.map_err(|e| format!("connect: {e}"))?;
        session.set_read_timeout(Some(self.timeout));
        session.set_write_timeout(Some(self.timeout));
        session.write_request_header(Box::new(req)).await.map_err(|e| format!("write: {e}"))?;
        session.finish_request_body().await.map_err(|e| format!("write: {e}"))?;
        session.read_response_header().await.map_err(|e| format!("read: {e}"))?;
        let (status, headers) = match session.response_header() {
            Some(h) => (h.status.as_u16(), h.headers.clone()),
            None => return Err("no response".into()),
        };
        let mut body = BytesMut::new();
        let mut complete = true;
        while let Some(chunk) =
            session.read_response_body().await.map_err(|e| format!("read: {e}"))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                complete = false;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        if complete && session.response_done() {
            connector.release_http_session(session, &peer, Some(IDLE)).await;
        }
        Ok((status, headers, body.freeze()))
    }
}

impl Plugin for ForwardAuth {
    fn request(
        &self,
        req: &Request<'_>,
        state: &mut State,
    ) -> impl Future<Output = Verdict> + Send {
        let sub = self.auth_request(req);
        let client = req.peer;
        let path = req.path.to_owned();
        async move {
            let Some(sub) = sub else {
                return Verdict::Reply(Reply::error(
                    500,
                    "The authentication request could not be built.",
                ));
            };
            let answer = match tokio::time::timeout(self.timeout, self.ask(sub)).await {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {:?}", self.timeout)),
            };
            match answer {
                Err(e) => {
                    tracing::error!(plugin = self.name.as_str(), client = ?client, path = path.as_str(), "forward_auth: auth service failed: {e}");
                    Verdict::Reply(Reply::error(
                        502,
                        "The authentication service could not be reached.",
                    ))
                }
                Ok((status, headers, _)) if (200..300).contains(&status) => {
                    for name in &self.upstream_headers {
                        // Whatever the client sent under this name never reaches the upstream.
                        state.upstream_remove.push(name.clone());
                        for v in headers.get_all(name) {
                            state.upstream_set.push((name.clone(), v.clone()));
                        }
                    }
                    Verdict::Continue
                }
                Ok((status, headers, body)) => {
                    tracing::warn!(plugin = self.name.as_str(), client = ?client, path = path.as_str(), status, "forward_auth: refused by the auth service");
                    let headers: Vec<(HeaderName, HeaderValue)> = headers
                        .iter()
                        .filter(|(n, _)| !HOP_BY_HOP.contains(&n.as_str()))
                        .map(|(n, v)| (n.clone(), v.clone()))
                        .collect();
                    Verdict::Reply(Reply { status, headers, body: ReplyBody::Bytes(body) })
                }
            }
        }
    }

    fn upstream_request(&self, state: &State, upstream: &mut RequestHeader) {
        // Several values of one header: append all (the chain's generic step inserts, which
        // keeps only the last).
        for name in &self.upstream_headers {
            let values: Vec<&HeaderValue> =
                state.upstream_set.iter().filter(|(n, _)| n == name).map(|(_, v)| v).collect();
            if values.len() > 1 {
                upstream.remove_header(name);
                for v in values {
                    let _ = upstream.append_header(name.clone(), v.clone());
                }
            }
        }
    }

    fn phases(&self) -> Phases {
        Phases { request: true, upstream_request: true, ..Phases::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{kinds::spec, spec::Value};

    fn parse(options: Vec<(&str, Value)>) -> Result<ForwardAuth, Vec<crate::Problem>> {
        let spec = spec("forward_auth", options);
        let mut o = Options::new(&spec, OPTIONS);
        let r = ForwardAuth::parse(&mut o, None);
        o.finish(r)
    }

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    macro_rules! options {
        ($($name:ident: [$($k:expr => $v:expr),*] => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let got = parse(vec![$(($k, $v)),*]).map_err(|p| format!("{p:?}"));
                let want: Result<(), &str> = $want;
                match (got, want) {
                    (Ok(_), Ok(())) => {}
                    (Err(p), Err(needle)) => assert!(p.contains(needle), "{p} lacks {needle:?}"),
                    (got, want) => panic!("got {got:?}, want {want:?}"),
                }
            }
        )*};
    }

    options! {
        minimal: ["url" => s("http://127.0.0.1:9091/verify")] => Ok(());
        full: ["url" => s("http://auth.internal/v?x=1"), "timeout" => s("2s"),
               "request_headers" => Value::List(vec![s("Authorization")]), "upstream_headers" => Value::List(vec![s("X-User")])] => Ok(());
        missing: [] => Err("set `url`");
        https: ["url" => s("https://auth/verify")] => Err("https auth services are not supported");
        no_scheme: ["url" => s("auth:9091/verify")] => Err("invalid url");
        bad_port: ["url" => s("http://auth:x/")] => Err("invalid port");
        bad_header: ["url" => s("http://a/"), "upstream_headers" => Value::List(vec![s("X User")])] => Err("invalid header name");
        zero_timeout: ["url" => s("http://a/"), "timeout" => s("0s")] => Err("more than 0");
    }

    #[test]
    fn url_errors_never_show_credentials() {
        for url in [
            "http://user:hunter2@auth:9091/verify",
            "https://user:hunter2@auth/verify",
            "htp://user:hunter2@auth/verify",
            "http://user:hunter2@auth:x/verify",
        ] {
            let err = parse_url(url).expect_err(url);
            assert!(!err.contains("hunter2"), "{url}: {err}");
        }
        assert!(parse_url("http://u:hunter2@a/").unwrap_err().contains("credentials in the url"));
        assert_eq!(without_userinfo("http://u:p@a:1/x@y"), "http://***@a:1/x@y");
        assert_eq!(without_userinfo("http://a/x@y"), "http://a/x@y");
        assert_eq!(without_userinfo("a@b"), "***@b");
    }

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://a:81/v?x").unwrap(),
            ("a:81".into(), "a".into(), 81, "/v?x".into())
        );
        assert_eq!(parse_url("http://a").unwrap(), ("a".into(), "a".into(), 80, "/".into()));
        assert_eq!(
            parse_url("http://[::1]:9/p").unwrap(),
            ("[::1]:9".into(), "::1".into(), 9, "/p".into())
        );
        assert_eq!(parse_url("http://a?q=1").unwrap().3, "/?q=1");
    }
}
