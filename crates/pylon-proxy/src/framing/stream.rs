//! [`Checked`]: a downstream HTTP/1 connection whose bytes reach pingora only once the
//! [`Scanner`] has passed them.
//!
//! A refused head never reaches pingora's parser: the stream hands pingora a stand-in
//! head instead (`GET /` with a per-connection token in `Pylon-Refused`) and then the end
//! of the stream, so the refusal runs through pylon's phases (error page, access log,
//! stats) like any request. A malformed body ends in a read error at the fault, so no
//! upstream ever receives the rest as a complete message.

use std::ops::Range;
use std::{
    io,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll, ready},
};

use async_trait::async_trait;
use pingora::protocols::{
    GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl, Stream,
    TimingDigest, UniqueID, UniqueIDType, raw_connect::ProxyDigest, tls::SslDigest,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::scan::{Limits, Refusal, Scanner, Step};

/// The header of the stand-in head of a refused request.
pub(crate) const REFUSED_HEADER: &str = "pylon-refused";

/// How many bytes one read from the client takes at most.
const READ_CHUNK: usize = 16 * 1024;

/// What comes after the bytes ready to hand out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum After {
    /// More may come.
    Open,
    /// The end of the stream.
    Eof,
    /// A read error with this message.
    Fail(String),
}

#[derive(Debug)]
struct Core {
    inner: Stream,
    scan: Scanner,
    /// Read from the client, not yet judged.
    pending: Received,
    /// Judged and passed, not yet handed to pingora.
    ready: Vec<u8>,
    ready_at: usize,
    after: After,
    eof: bool,
    token: String,
    verdict: Option<Refusal>,
}

/// A downstream HTTP/1 stream checked by a [`Scanner`] (see the module docs).
#[derive(Debug)]
pub(crate) struct Checked {
    core: Arc<Mutex<Core>>,
}

impl Checked {
    /// Check `inner`'s request bytes against `limits`.
    pub(crate) fn new(inner: Stream, limits: Limits) -> Checked {
        let core = Core {
            inner,
            scan: Scanner::new(limits),
            pending: Received::default(),
            ready: Vec::new(),
            ready_at: 0,
            after: After::Open,
            eof: false,
            token: new_token(),
            verdict: None,
        };
        Checked { core: Arc::new(Mutex::new(core)) }
    }

    fn core(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The refusal a stand-in head carrying `token` stands for.
    pub(crate) fn refusal_for(&self, token: &[u8]) -> Option<Refusal> {
        let core = self.core();
        (core.token.as_bytes() == token && core.scan.closed())
            .then(|| core.verdict.clone())
            .flatten()
    }

    /// The body fault that ended this stream, if one did.
    pub(crate) fn body_fault(&self) -> Option<Refusal> {
        let core = self.core();
        matches!(core.after, After::Fail(_)).then(|| core.verdict.clone()).flatten()
    }

    /// A handle on this stream's state that does not borrow the session.
    pub(crate) fn handle(&self) -> Handle {
        Handle { core: self.core.clone() }
    }
}

/// A handle on a [`Checked`] stream's state (see [`Checked::handle`]).
#[derive(Debug, Clone)]
pub(crate) struct Handle {
    core: Arc<Mutex<Core>>,
}

impl Handle {
    /// Read and check the rest of the current request's body before pingora reads any of
    /// it, holding it here: `Ok` once the body is complete within `limit` bytes,
    /// `Err` with a 413 refusal beyond it, or with a 400 refusal for a malformed body, or
    /// with the read error.
    pub(crate) async fn buffer_body(&self, limit: u64) -> Result<(), BufferError> {
        let core = self.core.clone();
        std::future::poll_fn(move |cx| {
            let mut core = core.lock().unwrap_or_else(|e| e.into_inner());
            core.poll_buffer_body(cx, limit)
        })
        .await
    }
}

/// Why [`Checked::buffer_body`] stopped.
#[derive(Debug)]
pub(crate) enum BufferError {
    /// The body is refused (413 over the limit, 400 malformed).
    Refused(Refusal),
    /// The client's connection failed or closed.
    Io(io::Error),
}

impl Core {
    /// Judge pending bytes; when none can be judged, read more. `Ready(Ok)` once something
    /// changed (bytes ready, the end, a failure).
    fn poll_advance(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match self.scan.step(self.pending.bytes(), self.eof) {
                Step::Pass(n) => {
                    self.ready.extend_from_slice(&self.pending.bytes()[..n]);
                    self.pending.consume(n);
                    return Poll::Ready(Ok(()));
                }
                Step::Head { len, info } => {
                    let start = self.ready.len();
                    self.ready.extend_from_slice(&self.pending.bytes()[..len]);
                    self.pending.consume(len);
                    if let Some(at) = info.minor_version_at {
                        self.ready[start + at] = b'1';
                    }
                    // Edits from the last one back, so each range still holds (the Host
                    // value and the Transfer-Encoding lines never overlap; the authority
                    // copied into Host is in the request line, before them all).
                    let host_at = info.host_from_target.as_ref().map(|(h, _)| h.start);
                    let edit = |ready: &mut Vec<u8>, (range, bytes): &(Range<usize>, &[u8])| {
                        ready.splice(start + range.start..start + range.end, bytes.iter().copied());
                    };
                    for e in info.te_edits.iter().rev().filter(|(r, _)| host_at < Some(r.start)) {
                        edit(&mut self.ready, e);
                    }
                    if let Some((host, authority)) = &info.host_from_target {
                        let authority =
                            self.ready[start + authority.start..start + authority.end].to_vec();
                        self.ready.splice(start + host.start..start + host.end, authority);
                    }
                    for e in info.te_edits.iter().rev().filter(|(r, _)| host_at > Some(r.start)) {
                        edit(&mut self.ready, e);
                    }
                    return Poll::Ready(Ok(()));
                }
                Step::Refuse(refusal) => {
                    tracing::debug!("request refused before pingora: {refusal}");
                    self.pending.clear();
                    // HEAD keeps its method: the answer to it has no body.
                    let method = if refusal.method == "HEAD" { "HEAD" } else { "GET" };
                    let stand_in = format!(
                        "{method} / HTTP/1.1\r\nHost: refused.invalid\r\n{REFUSED_HEADER}: {}\r\n\
                         Connection: close\r\n\r\n",
                        self.token
                    );
                    self.ready.extend_from_slice(stand_in.as_bytes());
                    self.verdict = Some(refusal);
                    self.after = After::Eof;
                    return Poll::Ready(Ok(()));
                }
                Step::Fault(refusal) => {
                    tracing::debug!("request body refused: {refusal}");
                    self.pending.clear();
                    self.after = After::Fail(refusal.reason.clone());
                    self.verdict = Some(refusal);
                    return Poll::Ready(Ok(()));
                }
                Step::More if self.eof || self.scan.closed() => {
                    self.after = After::Eof;
                    return Poll::Ready(Ok(()));
                }
                Step::More => {
                    if ready!(self.pending.poll_fill(&mut self.inner, cx))? == 0 {
                        self.eof = true;
                    }
                }
            }
        }
    }

    fn poll_buffer_body(
        &mut self,
        cx: &mut Context<'_>,
        limit: u64,
    ) -> Poll<Result<(), BufferError>> {
        loop {
            if self.scan.body_bytes() > limit {
                let refusal = Refusal {
                    status: 413,
                    reason: format!("request body larger than {limit} bytes"),
                    method: String::new(),
                    target: String::new(),
                };
                self.pending.clear();
                self.ready.clear();
                self.ready_at = 0;
                self.after = After::Eof;
                return Poll::Ready(Err(BufferError::Refused(refusal)));
            }
            if self.scan.body_done() {
                return Poll::Ready(Ok(()));
            }
            match &self.after {
                After::Open => {}
                After::Eof => {
                    let e =
                        io::Error::new(io::ErrorKind::UnexpectedEof, "client closed in the body");
                    return Poll::Ready(Err(BufferError::Io(e)));
                }
                After::Fail(_) => {
                    let refusal = self.verdict.clone().unwrap_or_else(|| Refusal {
                        status: 400,
                        reason: "malformed body".into(),
                        method: String::new(),
                        target: String::new(),
                    });
                    return Poll::Ready(Err(BufferError::Refused(refusal)));
                }
            }
            if let Err(e) = ready!(self.poll_advance(cx)) {
                return Poll::Ready(Err(BufferError::Io(e)));
            }
        }
    }
}

/// The bytes read from the client and not yet judged, in a buffer that is zeroed once
/// and then reused: a read goes into its free tail, so no read pays for clearing
/// memory (zeroing a fresh 16 KiB chunk per read was 40% of a proxied h1 request's
/// instructions in callgrind, h1 1 KiB keep-alive).
#[derive(Debug, Default)]
struct Received {
    /// `buf[..len]` are the bytes; the rest is free, already initialised space.
    buf: Vec<u8>,
    len: usize,
}

impl Received {
    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Drop the first `n` bytes (`n <= len`).
    fn consume(&mut self, n: usize) {
        self.buf.copy_within(n..self.len, 0);
        self.len -= n;
    }

    fn clear(&mut self) {
        self.len = 0;
    }

    /// Read once from `inner` into the free space (at least [`READ_CHUNK`] bytes of it,
    /// grown when the bytes held leave less): `Ready(Ok(0))` at the end of the stream.
    fn poll_fill(&mut self, inner: &mut Stream, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.buf.len() - self.len < READ_CHUNK {
            self.buf.resize(self.len + READ_CHUNK, 0);
        }
        let mut buf = ReadBuf::new(&mut self.buf[self.len..]);
        ready!(Pin::new(inner).poll_read(cx, &mut buf))?;
        let filled = buf.filled().len();
        self.len += filled;
        Poll::Ready(Ok(filled))
    }
}

/// A per-connection token no client can guess (it names the stand-in head).
fn new_token() -> String {
    use std::{
        hash::{BuildHasher, RandomState},
        sync::atomic::{AtomicU64, Ordering},
    };
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static STATE: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
    let state = STATE.get_or_init(RandomState::new);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}{:016x}", state.hash_one(n), state.hash_one(!n))
}

impl AsyncRead for Checked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut core = self.core();
        loop {
            if core.ready_at < core.ready.len() {
                let n = buf.remaining().min(core.ready.len() - core.ready_at);
                let at = core.ready_at;
                buf.put_slice(&core.ready[at..at + n]);
                core.ready_at += n;
                if core.ready_at == core.ready.len() {
                    core.ready.clear();
                    core.ready_at = 0;
                }
                return Poll::Ready(Ok(()));
            }
            match &core.after {
                After::Open => {}
                After::Eof => return Poll::Ready(Ok(())),
                After::Fail(why) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        why.clone(),
                    )));
                }
            }
            ready!(core.poll_advance(cx))?;
        }
    }
}

impl AsyncWrite for Checked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.core().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.core().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.core().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.core().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.core().inner.is_write_vectored()
    }
}

#[async_trait]
impl Shutdown for Checked {
    async fn shutdown(&mut self) {
        let core = self.core.clone();
        let _ = std::future::poll_fn(move |cx| {
            let mut core = core.lock().unwrap_or_else(|e| e.into_inner());
            Pin::new(&mut core.inner).poll_shutdown(cx)
        })
        .await;
    }
}

impl UniqueID for Checked {
    fn id(&self) -> UniqueIDType {
        self.core().inner.id()
    }
}

impl Ssl for Checked {
    fn get_ssl_digest(&self) -> Option<Arc<SslDigest>> {
        self.core().inner.get_ssl_digest()
    }

    fn selected_alpn_proto(&self) -> Option<pingora::protocols::ALPN> {
        self.core().inner.selected_alpn_proto()
    }
}

impl GetTimingDigest for Checked {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.core().inner.get_timing_digest()
    }
}

impl GetProxyDigest for Checked {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.core().inner.get_proxy_digest()
    }
}

impl GetSocketDigest for Checked {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.core().inner.get_socket_digest()
    }
}

#[async_trait]
impl Peek for Checked {}
