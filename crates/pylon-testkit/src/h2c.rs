//! An HTTP/2 client with frame-level control of the request body (h2c by prior knowledge,
//! or h2 over any stream such as TLS with ALPN `h2`): it sends what curl sends, e.g. a body
//! without `content-length` whose last frame is an empty DATA frame carrying END_STREAM
//! (`curl -T -`), and reports a stream reset instead of hiding it.

use std::net::SocketAddr;

use bytes::Bytes;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
    task::JoinHandle,
};

/// How the request body ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// END_STREAM on the last DATA frame (or on HEADERS when there is no body).
    OnLastData,
    /// An extra, empty DATA frame carrying END_STREAM (what `curl -T -` sends).
    EmptyData,
    /// A trailer HEADERS frame carrying END_STREAM.
    Trailers(Vec<(String, String)>),
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct H2Request {
    /// The method.
    pub method: String,
    /// The full URI (`http://host/path`): scheme and authority become pseudo-headers.
    pub uri: String,
    /// Regular fields (lower-case names).
    pub fields: Vec<(String, String)>,
    /// The DATA frames' payloads, in order.
    pub data: Vec<Bytes>,
    /// How the stream ends.
    pub end: End,
}

impl H2Request {
    /// `method uri` with no fields and no body.
    pub fn new(method: &str, uri: &str) -> H2Request {
        H2Request {
            method: method.to_owned(),
            uri: uri.to_owned(),
            fields: Vec::new(),
            data: Vec::new(),
            end: End::OnLastData,
        }
    }

    /// Add a field.
    pub fn field(mut self, name: &str, value: &str) -> H2Request {
        self.fields.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Add one DATA frame's payload.
    pub fn data(mut self, payload: impl Into<Bytes>) -> H2Request {
        self.data.push(payload.into());
        self
    }

    /// End the stream as `end` says.
    pub fn end(mut self, end: End) -> H2Request {
        self.end = end;
        self
    }
}

/// What came back on the stream.
#[derive(Debug, Clone, Default)]
pub struct H2Reply {
    /// The response status, if a response head arrived.
    pub status: Option<u16>,
    /// Response fields.
    pub fields: Vec<(String, String)>,
    /// The body received (possibly partial when the stream was reset).
    pub body: Vec<u8>,
    /// Trailer fields.
    pub trailers: Vec<(String, String)>,
    /// The stream or connection error, if any (e.g. a RST_STREAM reason).
    pub error: Option<String>,
}

impl H2Reply {
    /// The first value of field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/2 connection.
#[derive(Debug)]
pub struct H2Conn {
    send: h2::client::SendRequest<Bytes>,
    task: JoinHandle<()>,
}

impl H2Conn {
    /// h2c by prior knowledge to `addr`.
    pub async fn h2c(addr: SocketAddr) -> H2Conn {
        let tcp = TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        H2Conn::handshake(tcp).await
    }

    /// HTTP/2 over `io` (already negotiated, e.g. TLS with ALPN `h2`).
    pub async fn handshake<S>(io: S) -> H2Conn
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (send, conn) = h2::client::handshake(io).await.expect("h2 handshake");
        let task = tokio::spawn(async move {
            let _ = conn.await;
        });
        H2Conn { send, task }
    }

    /// Send `req` on a new stream and read the whole answer.
    pub async fn send(&mut self, req: H2Request) -> H2Reply {
        let mut reply = H2Reply::default();
        let mut head = http::Request::builder().method(req.method.as_str()).uri(req.uri.as_str());
        for (n, v) in &req.fields {
            head = head.header(n.as_str(), v.as_str());
        }
        let head = head.body(()).expect("request head");
        let send = match self.send.clone().ready().await {
            Ok(s) => s,
            Err(e) => {
                reply.error = Some(e.to_string());
                return reply;
            }
        };
        let mut send = send;
        let headers_only = req.data.is_empty() && req.end == End::OnLastData;
        let (response, mut stream) = match send.send_request(head, headers_only) {
            Ok(pair) => pair,
            Err(e) => {
                reply.error = Some(e.to_string());
                return reply;
            }
        };
        let last = req.data.len();
        for (i, chunk) in req.data.into_iter().enumerate() {
            let eos = i + 1 == last && req.end == End::OnLastData;
            // A reset stream refuses more data: the reason shows on the response.
            if stream.send_data(chunk, eos).is_err() {
                break;
            }
        }
        match req.end {
            End::OnLastData => {}
            End::EmptyData => {
                let _ = stream.send_data(Bytes::new(), true);
            }
            End::Trailers(fields) => {
                let mut map = http::HeaderMap::new();
                for (n, v) in fields {
                    if let (Ok(n), Ok(v)) = (
                        http::HeaderName::from_bytes(n.as_bytes()),
                        http::HeaderValue::from_str(&v),
                    ) {
                        map.append(n, v);
                    }
                }
                let _ = stream.send_trailers(map);
            }
        }
        let response = match response.await {
            Ok(r) => r,
            Err(e) => {
                reply.error = Some(e.to_string());
                return reply;
            }
        };
        reply.status = Some(response.status().as_u16());
        reply.fields = fields(response.headers());
        let mut body = response.into_body();
        while let Some(chunk) = body.data().await {
            match chunk {
                Ok(b) => {
                    let _ = body.flow_control().release_capacity(b.len());
                    reply.body.extend_from_slice(&b);
                }
                Err(e) => {
                    reply.error = Some(e.to_string());
                    return reply;
                }
            }
        }
        match body.trailers().await {
            Ok(Some(t)) => reply.trailers = fields(&t),
            Ok(None) => {}
            Err(e) => reply.error = Some(e.to_string()),
        }
        reply
    }
}

impl Drop for H2Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn fields(map: &http::HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect()
}
