//! A raw HTTP/1 client: writes any bytes, reads responses with their real framing
//! (Content-Length, chunked, close-delimited, none for HEAD/1xx/204/304), several
//! pipelined responses on one connection, and tells a close from a silent server.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};

use crate::h1::{self, Malformed, Message};

/// How long a read waits for the server by default.
pub const READ_WAIT: Duration = Duration::from_secs(10);

/// A response read by [`H1Conn`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// The whole message (head fields, body, raw bytes).
    pub message: Message,
}

impl Response {
    /// The value of header `name` when it appears exactly once (any case).
    pub fn header(&self, name: &str) -> Option<String> {
        self.message.head.one(name)
    }

    /// Every value of header `name`, in order.
    pub fn headers(&self, name: &str) -> Vec<String> {
        self.message
            .head
            .all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    /// Whether header `name` appears at all.
    pub fn has(&self, name: &str) -> bool {
        !self.message.head.all(name).is_empty()
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.message.body).into_owned()
    }

    /// Whether the response says the connection closes (`Connection: close`, or HTTP/1.0
    /// without keep-alive).
    pub fn says_close(&self) -> bool {
        let conn = self.headers("connection").join(",").to_ascii_lowercase();
        conn.split(',').any(|t| t.trim() == "close")
            || (self.version == "HTTP/1.0" && !conn.split(',').any(|t| t.trim() == "keep-alive"))
    }
}

/// What went wrong reading a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The server closed the connection before a complete response; the bytes it did send.
    Closed(Vec<u8>),
    /// Nothing complete within the wait; the bytes that came.
    TimedOut(Vec<u8>),
    /// The bytes are not a well-formed response.
    Malformed(Malformed, Vec<u8>),
    /// A socket error.
    Io(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match self {
            ReadError::Closed(b) => write!(f, "closed before a complete response: {:?}", lossy(b)),
            ReadError::TimedOut(b) => write!(f, "no complete response in time: {:?}", lossy(b)),
            ReadError::Malformed(e, b) => write!(f, "malformed response ({e}): {:?}", lossy(b)),
            ReadError::Io(e) => write!(f, "socket error: {e}"),
        }
    }
}

impl std::error::Error for ReadError {}

/// One client connection speaking raw HTTP/1.
#[derive(Debug)]
pub struct H1Conn<S = TcpStream> {
    stream: S,
    buf: Vec<u8>,
    eof: bool,
    /// How long each read waits (default [`READ_WAIT`]).
    pub wait: Duration,
}

impl H1Conn<TcpStream> {
    /// Connect to `addr`.
    pub async fn connect(addr: SocketAddr) -> H1Conn {
        let stream =
            TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        H1Conn::new(stream)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> H1Conn<S> {
    /// Speak over an established stream (TCP, TLS…).
    pub fn new(stream: S) -> H1Conn<S> {
        H1Conn { stream, buf: Vec::new(), eof: false, wait: READ_WAIT }
    }

    /// Write `bytes` as they are. A write error (the server closed first) is returned,
    /// not a panic: reading then shows what the server said before closing.
    pub async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Read the next response to a request with `method` (`HEAD` has no body), 1xx
    /// interim responses included.
    pub async fn response_to(&mut self, method: &str) -> Result<Response, ReadError> {
        let deadline = tokio::time::Instant::now() + self.wait;
        loop {
            match h1::parse_message(&self.buf, Some(method), self.eof) {
                Ok(Some((message, len))) => {
                    self.buf.drain(..len);
                    let status = message.head.second.parse().unwrap_or(0);
                    let version = message.head.first.clone();
                    return Ok(Response { status, version, message });
                }
                Ok(None) if self.eof => return Err(ReadError::Closed(self.buf.clone())),
                Ok(None) => {}
                Err(e) => return Err(ReadError::Malformed(e, self.buf.clone())),
            }
            self.fill(deadline).await?;
        }
    }

    /// [`H1Conn::response_to`] a `GET`.
    pub async fn response(&mut self) -> Result<Response, ReadError> {
        self.response_to("GET").await
    }

    /// The next final (non-1xx) response to `method`, skipping interim ones.
    pub async fn final_response_to(&mut self, method: &str) -> Result<Response, ReadError> {
        loop {
            let r = self.response_to(method).await?;
            if !(100..200).contains(&r.status) || r.status == 101 {
                return Ok(r);
            }
        }
    }

    /// Write `request` and read the final response to it (method read from its first bytes).
    pub async fn roundtrip(&mut self, request: &[u8]) -> Result<Response, ReadError> {
        let method = request.split(|b| *b == b' ').next().unwrap_or_default();
        let method = String::from_utf8_lossy(method).into_owned();
        // A write error is fine: the server may answer and close before reading it all.
        let _ = self.send(request).await;
        self.final_response_to(&method).await
    }

    /// Whether the server closes the connection within `within` without sending anything
    /// more (bytes that arrive instead are kept for the next read and make this `false`).
    pub async fn closed_within(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while !self.eof && self.buf.is_empty() {
            if self.fill(deadline).await.is_err() {
                break;
            }
        }
        self.eof && self.buf.is_empty()
    }

    /// Read until the server closes or `within` passes; everything unread so far, and
    /// whether the connection closed.
    pub async fn drain(&mut self, within: Duration) -> (Vec<u8>, bool) {
        let deadline = tokio::time::Instant::now() + within;
        while !self.eof {
            if self.fill(deadline).await.is_err() {
                break;
            }
        }
        (std::mem::take(&mut self.buf), self.eof)
    }

    /// The stream, e.g. to shut down the write half.
    pub fn stream(&mut self) -> &mut S {
        &mut self.stream
    }

    async fn fill(&mut self, deadline: tokio::time::Instant) -> Result<(), ReadError> {
        if self.eof {
            return Err(ReadError::Closed(self.buf.clone()));
        }
        let mut chunk = [0u8; 16 * 1024];
        match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
            Ok(Ok(0)) => self.eof = true,
            Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            // A reset after the server's last bytes is a close for our purposes.
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => self.eof = true,
            Ok(Err(e)) => return Err(ReadError::Io(e.to_string())),
            Err(_) => return Err(ReadError::TimedOut(self.buf.clone())),
        }
        Ok(())
    }
}

/// What one connection got for some raw bytes: every complete response in order, then
/// whether the server closed, and any bytes that did not make a response.
#[derive(Debug)]
pub struct Exchange {
    /// The responses, in order (1xx included).
    pub responses: Vec<Response>,
    /// The server closed the connection (rather than leaving it open past the wait).
    pub closed: bool,
    /// Bytes after the last complete response (or the reason they are not one).
    pub rest: Result<Vec<u8>, ReadError>,
}

impl Exchange {
    /// The only final response; panics with everything seen when there is not exactly one.
    pub fn only(&self) -> &Response {
        let finals: Vec<&Response> = self.responses.iter().filter(|r| r.status >= 200).collect();
        match finals.as_slice() {
            [one] => one,
            _ => panic!("expected exactly one final response, got {self:#?}"),
        }
    }

    /// The status codes of every response, in order.
    pub fn statuses(&self) -> Vec<u16> {
        self.responses.iter().map(|r| r.status).collect()
    }
}

/// Connect to `addr`, write `bytes`, then read responses (to `GET`s, or `HEAD` when the
/// bytes start with it) until the server closes or stays silent for `quiet`.
pub async fn exchange(addr: SocketAddr, bytes: &[u8], quiet: Duration) -> Exchange {
    let mut conn = H1Conn::connect(addr).await;
    let _ = conn.send(bytes).await;
    collect(&mut conn, if bytes.starts_with(b"HEAD ") { "HEAD" } else { "GET" }, quiet).await
}

/// Read responses to `method` on `conn` until it closes or stays silent for `quiet`.
pub async fn collect<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut H1Conn<S>,
    method: &str,
    quiet: Duration,
) -> Exchange {
    let saved = conn.wait;
    conn.wait = quiet;
    let mut responses = Vec::new();
    let rest = loop {
        match conn.response_to(method).await {
            Ok(r) => responses.push(r),
            Err(ReadError::TimedOut(b)) | Err(ReadError::Closed(b)) => break Ok(b),
            Err(e) => break Err(e),
        }
    };
    conn.wait = saved;
    let closed = conn.eof;
    Exchange { responses, closed, rest }
}
