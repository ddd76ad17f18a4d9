//! The `ProxyHttp` implementation: one instance per `[servers.NAME]`.
//!
//! | phase | what pylon does |
//! |---|---|
//! | `new_ctx` | load the current [`Runtime`] once (arc-swap) and keep this server's part |
//! | `early_request_filter` | count the request, a front-door refusal (see `framing`), target and authority in normal form or 400 ([`crate::target`]), keep-alive timeout, pipelining, h2 head limits, Content-Length list collapsed |
//! | `request_filter` | stats path, admin path ([`crate::admin::serve_prefixed`]), location choice (404), body size by Content-Length (413), `return` locations |
//! | `request_body_filter` | body size while streaming (413) |
//! | `upstream_peer` | healthy peer not tried yet (503 when none) |
//! | `fail_to_connect` | retry on another peer up to `retries` |
//! | `upstream_request_filter` | rewrite (query kept), request header program |
//! | `response_filter` | response header program, plugins' response step |
//! | `response_body_filter` | plugins' body encoding (brotli, zstd) |
//! | `fail_to_proxy` | the error page (502/503/504/4xx) |
//! | `logging` | counters and the access-log line |

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use async_trait::async_trait;
use bytes::Bytes;
use pingora::{
    ErrorType::{self, HTTPStatus},
    http::{RequestHeader, ResponseHeader},
    prelude::*,
    protocols::Digest,
    proxy::{FailToProxy, ProxyHttp, Session},
    upstreams::peer::HttpPeer,
};
use pylon_accesslog::{Facts, HeaderLookup};
use pylon_upstream::Selection;

use crate::{
    Shared, framing,
    headers::Vars,
    runtime::{LocationRt, ServerRt, Target},
};

/// The proxy of one `[servers.NAME]`.
#[derive(Debug)]
pub(crate) struct PylonHttp {
    pub(crate) shared: Arc<Shared>,
    pub(crate) server: String,
}

/// Per-request state.
#[derive(Debug)]
pub struct Ctx {
    server: Option<Arc<ServerRt>>,
    location: Option<usize>,
    selection: Option<Selection>,
    tried: Vec<SocketAddr>,
    started: Instant,
    when: SystemTime,
    counted: bool,
    request_id: Option<String>,
    body_bytes: u64,
    upstream_addr: Option<SocketAddr>,
    upstream_status: Option<u16>,
    peer_chosen_at: Option<Instant>,
    upstream_connect_time: Option<Duration>,
    upstream_response_time: Option<Duration>,
    connection_reused: Option<bool>,
    /// Status of a response written by pylon itself (error page, `return`, stats).
    own_status: Option<u16>,
    /// The location's plugin chain state (empty, allocation-free, without plugins).
    plugins: pylon_plugin::State,
    /// The request target was refused (400): the access log shows it as received.
    target_refused: bool,
    /// The front door refused this request's head (it is served as a stand-in).
    refused: Option<framing::Refusal>,
    /// Pylon answered `Expect: 100-continue` itself (the body was buffered).
    continue_sent: bool,
}

impl Ctx {
    fn location(&self) -> Option<&LocationRt> {
        Some(self.server.as_ref()?.locations.get(self.location?)?.as_ref())
    }
}

use pylon_plugin::new_request_id;

/// The request's host: the Host header, else the URI authority (HTTP/2 `:authority`).
fn host_of(req: &RequestHeader) -> &str {
    req.headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri.authority().map(|a| a.as_str()))
        .unwrap_or("")
}

/// nginx's `$host`: the request's host in lower case, without the port.
fn host_name(req: &RequestHeader) -> std::borrow::Cow<'_, str> {
    let raw = host_of(req);
    let name = if raw.starts_with('[') {
        raw.find(']').map_or(raw, |end| &raw[..=end])
    } else {
        raw.rsplit_once(':').map_or(raw, |(h, _)| h)
    };
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(name.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

fn client_addr(session: &Session) -> Option<SocketAddr> {
    session.client_addr().and_then(|a| a.as_inet()).copied()
}

fn server_addr(session: &Session) -> Option<SocketAddr> {
    session.server_addr().and_then(|a| a.as_inet()).copied()
}

/// Error status for a failure (SPEC §7), `0` when the client is gone and nothing can be sent.
fn status_for(e: &Error) -> u16 {
    match e.etype() {
        HTTPStatus(code) => *code,
        ErrorType::ReadTimedout | ErrorType::WriteTimedout
            if e.esource() == &ErrorSource::Upstream =>
        {
            504
        }
        _ => match e.esource() {
            ErrorSource::Upstream => 502,
            ErrorSource::Downstream => match e.etype() {
                ErrorType::WriteError | ErrorType::ReadError | ErrorType::ConnectionClosed => 0,
                _ => 400,
            },
            ErrorSource::Internal | ErrorSource::Unset => 500,
        },
    }
}

/// The human sentence of an error page.
fn reason_for(status: u16, e: &Error) -> String {
    match status {
        502 => "The upstream server could not be reached or sent an invalid response.".into(),
        503 => e
            .context
            .as_ref()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_else(|| "No healthy upstream server is available.".into()),
        504 => "The upstream server did not answer in time.".into(),
        413 => "The request body is larger than this location accepts.".into(),
        431 => "The request headers are too large.".into(),
        414 => "The request target is too long.".into(),
        505 => "This HTTP version is not supported.".into(),
        501 => e.context.as_ref().map_or_else(
            || "The request uses a feature this server does not implement.".into(),
            |c| format!("Not implemented: {}.", c.as_str()),
        ),
        // Pylon's own refusals say why; pingora's parse errors carry raw bytes, not for clients.
        400 => match (e.etype(), &e.context) {
            (HTTPStatus(400), Some(why)) => why.as_str().to_owned(),
            _ => "The request could not be understood.".into(),
        },
        _ => e.context.as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default(),
    }
}

/// The header-program variables of this request. The request id is made only when the
/// location's headers use it.
fn vars<'a>(
    session: &'a Session,
    scheme: &'a str,
    needs_request_id: bool,
    request_id: &'a mut Option<String>,
    upstream: Option<SocketAddr>,
) -> Vars<'a> {
    let req = session.req_header();
    let request_id =
        if needs_request_id { request_id.get_or_insert_with(new_request_id).as_str() } else { "" };
    Vars {
        host: host_name(req),
        scheme,
        client: client_addr(session),
        server: server_addr(session),
        request_id,
        upstream,
        uri: req.uri.path(),
        request: req,
    }
}

impl PylonHttp {
    /// Write a complete response of pylon's own (error page, `return`, stats).
    async fn respond(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        mut resp: ResponseHeader,
        body: Bytes,
    ) -> Result<()> {
        let status = resp.status.as_u16();
        ctx.own_status = Some(status);
        if let Some(server) = &ctx.server {
            server.error_page.stamp(&mut resp);
        }
        // RFC 9110 §8.6, §15: no body and no Content-Length on 1xx, 204 and 304; a HEAD
        // answer has the GET answer's Content-Length and no body.
        if matches!(status, 100..=199 | 204 | 304) {
            resp.remove_header(&http::header::CONTENT_LENGTH);
            session.write_response_header(Box::new(resp), true).await?;
            framing::linger_h2(session).await;
            return Ok(());
        }
        // A body a plugin encodes (brotli, zstd) is whole here: send its encoded length.
        let body = if ctx.plugins.body_coding().is_some_and(|coding| {
            resp.headers.get(http::header::CONTENT_ENCODING).is_some_and(|v| v == coding)
        }) {
            let mut encoded = Some(body);
            ctx.plugins
                .response_body(&mut encoded, true)
                .or_err(ErrorType::InternalError, "while encoding the response body")?;
            resp.remove_header(&http::header::TRANSFER_ENCODING);
            encoded.unwrap_or_default()
        } else {
            body
        };
        let _ = resp.insert_header(http::header::CONTENT_LENGTH, body.len());
        if session.req_header().method == http::Method::HEAD {
            session.write_response_header(Box::new(resp), true).await?;
            framing::linger_h2(session).await;
            return Ok(());
        }
        session.write_response_header(Box::new(resp), false).await?;
        session.write_response_body(Some(body), true).await?;
        framing::linger_h2(session).await;
        Ok(())
    }

    async fn error_page(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        status: u16,
        content: &str,
    ) -> Result<()> {
        let (resp, body) = match &ctx.server {
            Some(s) => s.error_page.response(status, content),
            None => crate::error_page::ErrorPage::fallback().response(status, content),
        };
        self.respond(session, ctx, resp, body).await
    }

    async fn serve_stats(&self, session: &mut Session, ctx: &mut Ctx) -> Result<()> {
        let rt = self.shared.runtime.load();
        let locations: Vec<&str> = rt.config.locations.iter().map(|l| l.name.as_str()).collect();
        let upstreams: Vec<_> =
            rt.pools_in_order().into_iter().map(|(n, p)| (n, p.peers())).collect();
        let doc = self.shared.stats.to_json(&locations, &upstreams);
        let body = Bytes::from(doc.to_string());
        let mut resp = ResponseHeader::build(200, Some(3))?;
        resp.insert_header(http::header::CONTENT_TYPE, "application/json")?;
        resp.insert_header(http::header::CACHE_CONTROL, "no-store")?;
        self.respond(session, ctx, resp, body).await
    }
}

#[async_trait]
impl ProxyHttp for PylonHttp {
    type CTX = Ctx;

    /// pingora's response compression module, off (level 0) for every request until a
    /// `compression` plugin turns it on for one (pylon-plugin configures it per request).
    fn init_downstream_modules(&self, modules: &mut pingora::modules::http::HttpModules) {
        modules
            .add_module(pingora::modules::http::compression::ResponseCompressionBuilder::enable(0));
    }

    fn new_ctx(&self) -> Ctx {
        let server = self.shared.runtime.load().servers.get(&self.server).cloned();
        Ctx {
            server,
            location: None,
            selection: None,
            tried: Vec::new(),
            started: Instant::now(),
            when: SystemTime::now(),
            counted: false,
            request_id: None,
            body_bytes: 0,
            upstream_addr: None,
            upstream_status: None,
            peer_chosen_at: None,
            upstream_connect_time: None,
            upstream_response_time: None,
            connection_reused: None,
            own_status: None,
            plugins: pylon_plugin::State::default(),
            target_refused: false,
            refused: None,
            continue_sent: false,
        }
    }

    async fn early_request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<()> {
        self.shared.stats.request_started();
        ctx.counted = true;
        // In flight from here: `logging` ends every counted request, refused ones included.
        if let Some(m) = ctx.server.as_ref().and_then(|s| s.metrics.as_ref()) {
            m.started();
        }
        if let Some(refusal) = framing::refusal(session) {
            let e = Error::explain(HTTPStatus(refusal.status), refusal.reason.clone());
            ctx.refused = Some(refusal);
            return Err(e);
        }
        // One meaning per request before anything looks at it: normal path, one authority.
        if let Err(e) = crate::target::normalize(session) {
            ctx.target_refused = true;
            return Err(e);
        }
        let Some(server) = &ctx.server else { return Ok(()) };
        let keepalive = server.keepalive_timeout.as_secs();
        // Only where the client keeps the connection (HTTP/1.0 and `Connection: close` do not);
        // pingora reads 0 as "no timeout", a configured "0s" means "no keep-alive".
        if session.get_keepalive().is_some() {
            session.set_keepalive(if keepalive == 0 { None } else { Some(keepalive) });
        }
        if session.as_downstream().as_http1().is_some() {
            // RFC 9112 §9.3.2: pipelined requests are answered in order (the front door has
            // checked each head already).
            session.as_downstream_mut().set_pipelining_enabled(true);
        } else if let Err((status, reason)) =
            framing::check_h2_head(session.req_header(), &server.limits)
        {
            return Error::e_explain(HTTPStatus(status), reason);
        }
        if let Some(one) = framing::collapsed_content_length(&session.req_header().headers) {
            session.req_header_mut().insert_header(http::header::CONTENT_LENGTH, one)?;
        }
        Ok(())
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        let Some(server) = ctx.server.clone() else {
            self.error_page(session, ctx, 503, "This server is being reconfigured.").await?;
            return Ok(true);
        };
        let req = session.req_header();
        let path = req.uri.path();
        if server.stats_path.as_deref() == Some(path) {
            self.serve_stats(session, ctx).await?;
            return Ok(true);
        }
        if let Some(prefix) = server.admin_path.as_deref() {
            if crate::admin::under_prefix(path, prefix) {
                let admin = self.shared.admin.get();
                ctx.own_status = Some(crate::admin::serve_prefixed(session, admin, prefix).await?);
                return Ok(true);
            }
        }
        let host = host_of(req);
        if server.metrics.is_some() {
            crate::recent::record(&server.name, host, path);
        }
        let Some(index) = server.router.find(host, path) else {
            let msg = format!("No location matches host {host:?} and path {path:?}.");
            self.error_page(session, ctx, 404, &msg).await?;
            return Ok(true);
        };
        ctx.location = Some(index);
        let location = &server.locations[index];

        if !location.plugins.is_empty() {
            let host = host_name(req).into_owned();
            let chain = &location.plugins;
            if let Some(reply) =
                crate::plugins::request(chain, session, server.scheme, &host, &mut ctx.plugins)
                    .await
            {
                let (mut resp, body) = crate::plugins::reply(&server.error_page, reply);
                chain.response(
                    &mut ctx.plugins,
                    &mut resp,
                    Some(&mut session.downstream_modules_ctx),
                );
                self.respond(session, ctx, resp, body).await?;
                return Ok(true);
            }
            if let Some(id) = ctx.plugins.request_id() {
                ctx.request_id = Some(id.to_owned());
            }
        }
        let req = session.req_header();

        if let Some(limit) = location.client_max_body_size {
            let declared = req
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            if declared.is_some_and(|len| len > limit) {
                // The body is not read: the connection cannot be reused.
                session.set_keepalive(None);
                let msg = reason_for(413, &Error::new(HTTPStatus(413)));
                self.error_page(session, ctx, 413, &msg).await?;
                return Ok(true);
            }
            // A chunked body is read (and checked) whole before any upstream sees the
            // request, so an over-limit one is a clean 413 (nginx's request buffering).
            if framing::body_length_unknown(session) {
                match framing::buffer_body(session, limit).await {
                    Ok(buffered) => ctx.continue_sent = buffered,
                    Err(framing::BufferError::Refused(r)) => {
                        session.set_keepalive(None);
                        let msg =
                            reason_for(r.status, &Error::explain(HTTPStatus(r.status), r.reason));
                        self.error_page(session, ctx, r.status, &msg).await?;
                        return Ok(true);
                    }
                    Err(framing::BufferError::Io(e)) => {
                        return Err(
                            Error::because(ErrorType::ReadError, "reading the body", e).into_down()
                        );
                    }
                }
            }
        }

        if let Target::Return(ret) = &location.target {
            let (mut resp, body) = {
                let vars = vars(
                    session,
                    server.scheme,
                    location.needs_request_id,
                    &mut ctx.request_id,
                    None,
                );
                let (mut resp, body) = match &ret.location {
                    Some(url) => {
                        let url = url.render(&vars);
                        let shown = url.as_ref().and_then(|u| u.to_str().ok()).unwrap_or("");
                        let (mut resp, body) = server
                            .error_page
                            .response(ret.status, &format!("The document has moved to {shown}."));
                        if let Some(url) = url {
                            resp.insert_header(http::header::LOCATION, url)?;
                        }
                        (resp, body)
                    }
                    None => {
                        let mut resp = ResponseHeader::build(ret.status, Some(4))?;
                        resp.insert_header(
                            http::header::CONTENT_TYPE,
                            "text/plain; charset=utf-8",
                        )?;
                        let body = match &ret.fixed_body {
                            Some(b) => b.clone(),
                            None => Bytes::from(ret.body.render(&vars)),
                        };
                        (resp, body)
                    }
                };
                location.response_headers.apply_response(&mut resp, &vars);
                (resp, body)
            };
            if !location.plugins.is_empty() {
                let modules = Some(&mut session.downstream_modules_ctx);
                location.plugins.response(&mut ctx.plugins, &mut resp, modules);
            }
            self.respond(session, ctx, resp, body).await?;
            return Ok(true);
        }
        Ok(false)
    }

    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut Ctx,
    ) -> Result<()> {
        // An h2 body may end with an empty DATA frame (curl -T -); written to an HTTP/1
        // upstream as an empty chunk it would be a second chunked terminator.
        if end_of_stream && body.as_ref().is_some_and(|b| b.is_empty()) {
            *body = None;
        }
        if let Some(b) = body {
            ctx.body_bytes += b.len() as u64;
            if let Some(limit) = ctx.location().and_then(|l| l.client_max_body_size) {
                if ctx.body_bytes > limit {
                    return Error::e_explain(HTTPStatus(413), "request body too large");
                }
            }
        }
        Ok(())
    }

    async fn upstream_peer(&self, session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        let Some(Target::Upstream { pool, .. }) = ctx.location().map(|l| &l.target) else {
            return Error::e_explain(ErrorType::InternalError, "location has no upstream");
        };
        let client_ip = client_addr(session).map(|a| a.ip());
        match pool.select(session.req_header(), client_ip, &ctx.tried) {
            Some(selection) => {
                let peer = pool.http_peer(&selection);
                ctx.upstream_addr = Some(selection.addr());
                ctx.selection = Some(selection);
                ctx.peer_chosen_at = Some(Instant::now());
                Ok(peer)
            }
            None if ctx.tried.is_empty() => {
                let msg = format!("No healthy server in upstream {:?}.", pool.name());
                Err(Error::explain(HTTPStatus(503), msg))
            }
            None => {
                let mut e = Error::explain(
                    ErrorType::ConnectError,
                    "no untried healthy peer left to retry on",
                );
                e.esource = ErrorSource::Upstream;
                e.set_retry(false);
                Err(e)
            }
        }
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut Ctx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        if let Some(sel) = ctx.selection.take() {
            ctx.tried.push(sel.addr());
        }
        let (retries, metrics) = match ctx.location().map(|l| &l.target) {
            Some(Target::Upstream { retries, metrics, .. }) => (*retries as usize, Some(metrics)),
            _ => (0, None),
        };
        // A connect failure never reached the upstream: safe to retry on another peer.
        e.set_retry(ctx.tried.len() <= retries);
        if let (true, Some(m)) = (e.retry(), metrics) {
            m.retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        e
    }

    async fn connected_to_upstream(
        &self,
        _session: &mut Session,
        reused: bool,
        _peer: &HttpPeer,
        #[cfg(unix)] _fd: std::os::unix::io::RawFd,
        #[cfg(windows)] _sock: std::os::windows::io::RawSocket,
        _digest: Option<&Digest>,
        ctx: &mut Ctx,
    ) -> Result<()> {
        ctx.connection_reused = Some(reused);
        ctx.upstream_connect_time = ctx.peer_chosen_at.map(|t| t.elapsed());
        Ok(())
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        let Some(server) = ctx.server.as_deref() else { return Ok(()) };
        let Some(location) = ctx.location.and_then(|i| server.locations.get(i)) else {
            return Ok(());
        };
        if let Some(rewrite) = &location.rewrite {
            let target = upstream_request.uri.path_and_query().map_or("/", |p| p.as_str());
            if let Some(new) = rewrite.apply_uri(target) {
                let uri = new.parse::<http::Uri>().map_err(|e| {
                    Error::because(ErrorType::InternalError, format!("rewrite gave {new:?}"), e)
                })?;
                upstream_request.set_uri(uri);
            }
        }
        if ctx.continue_sent {
            // Pylon said 100 Continue and holds the whole body: the upstream gets it at once.
            upstream_request.remove_header(&http::header::EXPECT);
        }
        if let Target::Upstream { no_reuse: true, .. } = location.target {
            // pingora pools the connection even with an idle timeout of 0; an upstream
            // told to close makes it unusable for reuse, which is what "0s" means.
            upstream_request.insert_header(http::header::CONNECTION, "close")?;
        }
        // HTTP/2 clients send :authority, not Host; an HTTP/1 upstream needs Host.
        if upstream_request.headers.get(http::header::HOST).is_none() {
            if let Some(authority) = session.req_header().uri.authority().cloned() {
                upstream_request.insert_header(http::header::HOST, authority.as_str())?;
            }
        }
        if !location.request_headers.is_empty() {
            let vars = vars(
                session,
                server.scheme,
                location.needs_request_id,
                &mut ctx.request_id,
                ctx.upstream_addr,
            );
            location.request_headers.apply_request(upstream_request, &vars);
        }
        if !location.plugins.is_empty() {
            location.plugins.upstream_request(&ctx.plugins, upstream_request);
        }
        if let Some(admin) = self.shared.admin.get() {
            crate::admin::strip_cookie(upstream_request, admin.session_cookie());
        }
        Ok(())
    }

    async fn upstream_response_filter(
        &self,
        session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        ctx.upstream_status = Some(upstream_response.status.as_u16());
        // client_max_body_size holds even when the upstream answers first (h2 bodies of
        // unknown length; HTTP/1 chunked ones were read whole before the upstream).
        // Not on a 1xx: a client waiting for 100 Continue sends nothing before it.
        let limit = ctx.location().and_then(|l| l.client_max_body_size);
        if let (Some(limit), false) = (limit, upstream_response.status.is_informational()) {
            ctx.body_bytes += framing::finish_h2_body_early(session, limit, ctx.body_bytes).await?;
        }
        if !framing::content_length_consistent(&upstream_response.headers) {
            let mut e = Error::explain(
                ErrorType::InvalidHTTPHeader,
                "the upstream sent differing Content-Length values",
            );
            e.esource = ErrorSource::Upstream;
            return Err(e);
        }
        if let Some(one) = framing::collapsed_content_length(&upstream_response.headers) {
            upstream_response.insert_header(http::header::CONTENT_LENGTH, one)?;
        }
        framing::strip_hop_by_hop(upstream_response);
        ctx.upstream_response_time = ctx.peer_chosen_at.map(|t| t.elapsed());
        Ok(())
    }

    async fn response_filter(
        &self,
        session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        let Some(server) = ctx.server.as_deref() else { return Ok(()) };
        let Some(location) = ctx.location.and_then(|i| server.locations.get(i)) else {
            return Ok(());
        };
        if !location.response_headers.is_empty() {
            let vars = vars(
                session,
                server.scheme,
                location.needs_request_id,
                &mut ctx.request_id,
                ctx.upstream_addr,
            );
            location.response_headers.apply_response(upstream_response, &vars);
        }
        if !location.plugins.is_empty() {
            let modules = Some(&mut session.downstream_modules_ctx);
            location.plugins.response(&mut ctx.plugins, upstream_response, modules);
        }
        Ok(())
    }

    fn response_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut Ctx,
    ) -> Result<Option<Duration>> {
        ctx.plugins
            .response_body(body, end_of_stream)
            .or_err(ErrorType::InternalError, "while encoding the response body")?;
        Ok(None)
    }

    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy {
        let status = match framing::body_fault(session) {
            Some(fault) => fault.status,
            _ => status_for(e),
        };
        // The connection is not reused after a failure: say so in the response.
        session.set_keepalive(None);
        if status > 0 && session.response_written().is_none() {
            let content = reason_for(status, e);
            if let Err(write_err) = self.error_page(session, ctx, status, &content).await {
                tracing::debug!("could not send the error page: {write_err}");
            }
        }
        FailToProxy { error_code: status, can_reuse_downstream: false }
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut Ctx) {
        // Release the peer's in-flight slot (least_conn) before anything else.
        ctx.selection = None;
        if ctx.counted {
            self.shared.stats.request_finished();
        }
        let status = session
            .response_written()
            .map(|r| r.status.as_u16())
            .or(ctx.own_status)
            .or_else(|| e.map(status_for))
            .unwrap_or(0);
        let Some(server) = ctx.server.clone() else { return };
        if let Some(location) = ctx.location() {
            location.counters.record(status);
        }
        if let (Some(m), true) = (&server.metrics, ctx.counted) {
            m.finished(&crate::metrics::Finished {
                location: ctx.location,
                status,
                duration: ctx.started.elapsed(),
                upstream_connect: ctx.upstream_connect_time,
                upstream_response: ctx.upstream_response_time,
                received_bytes: session.body_bytes_read() as u64,
                sent_bytes: session.body_bytes_sent() as u64,
            });
        }
        let refused_with =
            ctx.refused.as_ref().map(|r| r.status).or(ctx.target_refused.then_some(status));
        self.shared.stats.record(status, refused_with);
        let Some(log) = &server.access_log else { return };
        let req = session.req_header();
        let host = if ctx.refused.is_some() { "".into() } else { host_name(req) };
        let headers = LookupHeaders { req, resp: session.response_written() };
        let upstream_addr = ctx.upstream_addr.map(|a| a.to_string());
        // A refused target is logged as it came (it has no normal path); the others are
        // normalised in place by `crate::target`.
        let raw = ctx.target_refused.then(|| String::from_utf8_lossy(req.raw_path()));
        let refused = ctx.refused.as_ref().map(|r| r.target.as_str()).or(raw.as_deref());
        // Credentials in the query are masked: those a plugin read (`key_auth`, `jwt`), and
        // every parameter any `key_auth`/`jwt` of the config reads, whether or not a plugin
        // saw this request (refused before routing, no location, a location without such a
        // plugin, or an earlier plugin that answered before the one that reads it).
        let names = &server.query_credentials[..];
        let masked_target = refused.and_then(|t| crate::plugins::mask_target(t, names));
        let query = req.uri.query().map(|q| crate::plugins::query_for_log(&ctx.plugins, q, names));
        // `{request}` is the request line as received, except for a request the front door
        // refused (logged from what it could read of it) and one whose target holds a masked
        // credential (rebuilt from the parts, so the credential stays out of the log).
        let masked = matches!(query, Some(std::borrow::Cow::Owned(_))) || masked_target.is_some();
        let request_line =
            (ctx.refused.is_none() && !masked).then(|| request_line(session)).flatten();
        let facts = Facts {
            when: ctx.when,
            method: ctx.refused.as_ref().map_or(req.method.as_str(), |r| r.method.as_str()),
            host: Some(&*host).filter(|h| !h.is_empty()),
            path: masked_target.as_deref().or(refused).unwrap_or(req.uri.path()),
            query: if refused.is_some() { None } else { query.as_deref() },
            proto: if ctx.refused.is_some() { "-" } else { version_str(req.version) },
            request_line: request_line.as_deref(),
            scheme: server.scheme,
            remote: client_addr(session),
            status,
            size: session.body_bytes_sent() as u64,
            payload_size: session.body_bytes_read() as u64,
            latency: ctx.started.elapsed(),
            request_id: ctx.request_id.as_deref(),
            location: ctx.location().map(|l| l.name.as_str()),
            upstream_addr: upstream_addr.as_deref(),
            upstream_status: ctx.upstream_status,
            upstream_connect_time: ctx.upstream_connect_time,
            upstream_response_time: ctx.upstream_response_time,
            connection_reused: ctx.connection_reused,
            headers: &headers,
        };
        LINE.with_borrow_mut(|line| {
            line.clear();
            log.template.render(&facts, line);
            line.push(b'\n');
            log.writer.write_line(line);
        });
    }
}

thread_local! {
    /// The access-log line buffer, reused for every request on this worker thread.
    static LINE: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(512));
}

/// The HTTP/1 request line as the client sent it (without the line end), for `{request}`;
/// `None` on HTTP/2, where the access log rebuilds it.
fn request_line(session: &Session) -> Option<Bytes> {
    let head = session.as_downstream().as_http1()?.get_headers_raw_bytes();
    let end = head.iter().position(|b| *b == b'\n').unwrap_or(head.len());
    let line = head.slice(..end);
    Some(if line.ends_with(b"\r") { line.slice(..line.len() - 1) } else { line })
}

fn version_str(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_11 => "HTTP/1.1",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "-",
    }
}

struct LookupHeaders<'a> {
    req: &'a RequestHeader,
    resp: Option<&'a ResponseHeader>,
}

impl HeaderLookup for LookupHeaders<'_> {
    fn request_header(&self, name: &str) -> Option<&[u8]> {
        self.req.headers.get(name).map(|v| v.as_bytes())
    }
    fn response_header(&self, name: &str) -> Option<&[u8]> {
        self.resp?.headers.get(name).map(|v| v.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_unique_and_32_hex() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn host_name_is_lowercase_without_port() {
        let host = |h: &str| {
            let mut r = RequestHeader::build("GET", b"/", None).unwrap();
            r.insert_header("Host", h).unwrap();
            host_name(&r).into_owned()
        };
        assert_eq!(host("Example.COM:8080"), "example.com");
        assert_eq!(host("example.com"), "example.com");
        assert_eq!(host("[::1]:80"), "[::1]");
        assert_eq!(host("[::1]"), "[::1]");
    }

    #[test]
    fn error_status_mapping() {
        let mut e = Error::new(ErrorType::ReadTimedout);
        e.esource = ErrorSource::Upstream;
        assert_eq!(status_for(&e), 504);
        let mut e = Error::new(ErrorType::ConnectTimedout);
        e.esource = ErrorSource::Upstream;
        assert_eq!(status_for(&e), 502);
        let mut e = Error::new(ErrorType::ConnectionClosed);
        e.esource = ErrorSource::Downstream;
        assert_eq!(status_for(&e), 0);
        let mut e = Error::new(ErrorType::InvalidHTTPHeader);
        e.esource = ErrorSource::Downstream;
        assert_eq!(status_for(&e), 400);
        assert_eq!(status_for(&Error::new(HTTPStatus(413))), 413);
    }
}
