//! The per-request data a template renders from.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

/// Header access for [`Facts`], implemented by the proxy over its header maps.
pub trait HeaderLookup {
    /// The first value of request header `name` (case-insensitive), if present.
    fn request_header(&self, name: &str) -> Option<&[u8]>;
    /// The first value of response header `name` (case-insensitive), if present.
    fn response_header(&self, name: &str) -> Option<&[u8]>;
}

/// No headers at all: every lookup answers `None`.
impl HeaderLookup for () {
    fn request_header(&self, _name: &str) -> Option<&[u8]> {
        None
    }
    fn response_header(&self, _name: &str) -> Option<&[u8]> {
        None
    }
}

/// Everything a log line can say about one request: plain borrowed data, filled by the proxy
/// in its logging phase and handed to [`Template::render`](crate::Template::render).
#[derive(Clone, Copy)]
pub struct Facts<'a> {
    /// When the request started.
    pub when: SystemTime,
    /// Request method, e.g. `GET`.
    pub method: &'a str,
    /// Host the client asked for (Host header or authority), if any.
    pub host: Option<&'a str>,
    /// Request path without the query: the normal form the request was routed on (RFC 3986
    /// §6.2.2), or the whole target as received for a request refused for its target.
    pub path: &'a str,
    /// Query string without the leading `?`.
    pub query: Option<&'a str>,
    /// Protocol, e.g. `HTTP/1.1`.
    pub proto: &'a str,
    /// The request line as received (HTTP/1, without CRLF), for `{request}`; `None` (HTTP/2)
    /// = rebuilt from method, path, query and protocol.
    pub request_line: Option<&'a [u8]>,
    /// `http` or `https`.
    pub scheme: &'a str,
    /// Client address of the downstream connection.
    pub remote: Option<SocketAddr>,
    /// Response status sent to the client.
    pub status: u16,
    /// Response body bytes sent.
    pub size: u64,
    /// Request body bytes received.
    pub payload_size: u64,
    /// Time from request start to the end of the response.
    pub latency: Duration,
    /// Request id, if one was assigned.
    pub request_id: Option<&'a str>,
    /// Name of the location that served the request.
    pub location: Option<&'a str>,
    /// Address of the upstream peer.
    pub upstream_addr: Option<&'a str>,
    /// Status the upstream answered with.
    pub upstream_status: Option<u16>,
    /// Time to connect to the upstream.
    pub upstream_connect_time: Option<Duration>,
    /// Time from sending the request upstream to the end of its response.
    pub upstream_response_time: Option<Duration>,
    /// Whether the upstream connection came from the keep-alive pool.
    pub connection_reused: Option<bool>,
    /// Request and response headers.
    pub headers: &'a dyn HeaderLookup,
}

impl<'a> Facts<'a> {
    /// Facts with every value empty or missing (time = the Unix epoch), to fill in with
    /// struct-update syntax: `Facts { status: 200, ..Facts::new(&()) }`.
    pub fn new(headers: &'a dyn HeaderLookup) -> Self {
        Facts {
            when: SystemTime::UNIX_EPOCH,
            method: "",
            host: None,
            path: "",
            query: None,
            proto: "",
            request_line: None,
            scheme: "",
            remote: None,
            status: 0,
            size: 0,
            payload_size: 0,
            latency: Duration::ZERO,
            request_id: None,
            location: None,
            upstream_addr: None,
            upstream_status: None,
            upstream_connect_time: None,
            upstream_response_time: None,
            connection_reused: None,
            headers,
        }
    }
}

impl fmt::Debug for Facts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Facts")
            .field("when", &self.when)
            .field("method", &self.method)
            .field("host", &self.host)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("proto", &self.proto)
            .field("request_line", &self.request_line.map(String::from_utf8_lossy))
            .field("scheme", &self.scheme)
            .field("remote", &self.remote)
            .field("status", &self.status)
            .field("size", &self.size)
            .field("payload_size", &self.payload_size)
            .field("latency", &self.latency)
            .field("request_id", &self.request_id)
            .field("location", &self.location)
            .field("upstream_addr", &self.upstream_addr)
            .field("upstream_status", &self.upstream_status)
            .field("upstream_connect_time", &self.upstream_connect_time)
            .field("upstream_response_time", &self.upstream_response_time)
            .field("connection_reused", &self.connection_reused)
            .finish_non_exhaustive()
    }
}
