//! The connection front door: what pylon does with a new connection before pingora's
//! HTTP code sees it.
//!
//! pingora 0.9.1 leaves two gaps here. Its h2c sniffing `read_exact`s 24 bytes with no
//! time limit, so a plain-text client that sends a short request (or garbage) and waits
//! hangs forever; and the first request's header read is bounded only by a fixed 60 s
//! per read. [`PylonApp`] reads the first request head (or the h2 preface) itself, within
//! `header_read_timeout` as a whole, puts the bytes back into the stream (`rewind`) and
//! hands the connection to the HTTP/1 or the h2c proxy. Clients that stall are closed.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use pingora::{
    apps::ServerApp,
    protocols::{Stream, l4::stream::Stream as L4Stream},
    proxy::HttpProxy,
    server::ShutdownWatch,
};
use tokio::io::AsyncReadExt;

use crate::{Shared, framing, proxy::PylonHttp};

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Accepts connections for one `[servers.NAME]`.
pub(crate) struct PylonApp {
    /// HTTP/1 on plain connections; on TLS connections ALPN picks h1 or h2 inside pingora.
    pub(crate) http: Arc<HttpProxy<PylonHttp>>,
    /// h2c (prior knowledge), when `enable_h2` on a plain listener.
    pub(crate) h2c: Option<Arc<HttpProxy<PylonHttp>>>,
    pub(crate) header_read_timeout: Duration,
    /// Stop buffering the first head beyond this (pylon's header limit then answers 431).
    pub(crate) max_head: usize,
    /// How long idle keep-alive connections stay open once draining starts.
    pub(crate) drain: Duration,
    /// The current runtime (for this server's request limits, read per connection).
    pub(crate) shared: Arc<Shared>,
    /// This server's name.
    pub(crate) server: String,
}

/// What the first bytes of a plain connection are.
#[derive(Debug, PartialEq, Eq)]
enum Head {
    /// Not decided yet: read more.
    Partial,
    H1,
    H2c,
}

fn classify(buf: &[u8], h2c: bool, max_head: usize) -> Head {
    if h2c && buf.len() >= H2_PREFACE.len() && buf.starts_with(H2_PREFACE) {
        return Head::H2c;
    }
    if h2c && buf.len() < H2_PREFACE.len() && H2_PREFACE.starts_with(buf) {
        return Head::Partial;
    }
    // The head ends at an empty line; one ended by a bare LF is also complete (and then
    // refused by the framing checks, not waited on).
    if buf.windows(3).any(|w| w == b"\n\r\n")
        || buf.windows(2).any(|w| w == b"\n\n")
        || buf.len() > max_head
    {
        return Head::H1;
    }
    Head::Partial
}

impl PylonApp {
    /// This server's request limits in the current runtime.
    fn limits(&self) -> framing::Limits {
        let rt = self.shared.runtime.load();
        rt.servers.get(&self.server).map_or(framing::Limits::DEFAULT, |s| s.limits)
    }
}

#[async_trait]
impl ServerApp for PylonApp {
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        if stream.get_ssl_digest().is_some() || !stream.as_any().is::<L4Stream>() {
            let stream = framing::check(stream, self.limits());
            return self.http.process_new(stream, shutdown).await;
        }
        let mut l4 = stream.into_any().downcast::<L4Stream>().ok()?;
        let mut buf = Vec::with_capacity(2048);
        let deadline = tokio::time::Instant::now() + self.header_read_timeout;
        let head = loop {
            match classify(&buf, self.h2c.is_some(), self.max_head) {
                Head::Partial => {}
                decided => break decided,
            }
            match tokio::time::timeout_at(deadline, l4.read_buf(&mut buf)).await {
                Ok(Ok(0)) if buf.is_empty() => return None, // closed before a byte
                Ok(Ok(0)) => break Head::H1,                // closed mid-head: pingora answers 400
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::debug!("read error before the first request: {e}");
                    return None;
                }
                Err(_) => {
                    tracing::debug!(
                        "no complete request head within {:?}: closing",
                        self.header_read_timeout
                    );
                    return None;
                }
            }
        };
        l4.rewind(&buf);
        let stream: Stream = l4;
        match (head, &self.h2c) {
            (Head::H2c, Some(h2c)) => h2c.process_new(stream, shutdown).await,
            _ => {
                let stream = framing::check(stream, self.limits());
                self.http.process_new(stream, shutdown).await
            }
        }
    }

    async fn cleanup(&self) {
        // pingora's cleanup closes every idle keep-alive connection at once, which races
        // with a client writing its next request on one: that request fails. Keep them open
        // through the drain instead; a request arriving now is answered with
        // `Connection: close` (pingora does that once shutdown is signalled), so clients
        // move to the successor or stop. What is still idle near the end is closed here.
        tokio::time::sleep(self.drain).await;
        self.http.cleanup().await;
        if let Some(h2c) = &self.h2c {
            h2c.cleanup().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! classifies {
        ($($name:ident: $bytes:expr, h2c $h2c:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() { assert_eq!(classify($bytes, $h2c, 64), $want); }
        )*};
    }

    classifies! {
        empty_waits: b"", h2c true => Head::Partial;
        preface_prefix_waits: b"PRI * HTTP", h2c true => Head::Partial;
        full_preface_is_h2c: b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nxyz", h2c true => Head::H2c;
        preface_without_h2c_is_h1_once_complete: b"PRI * HTTP/2.0\r\n\r\n", h2c false => Head::H1;
        short_request_is_h1: b"GET / HTTP/1.0\r\n\r\n", h2c true => Head::H1;
        garbage_with_blank_line_is_h1: b"GARBAGE\r\n\r\n", h2c true => Head::H1;
        partial_head_waits: b"GET / HTTP/1.1\r\nHost: a\r\n", h2c true => Head::Partial;
        bare_lf_head_is_complete: b"GET / HTTP/1.1\nHost: a\n\n", h2c true => Head::H1;
        oversized_head_goes_to_h1: &[b'a'; 65], h2c false => Head::H1;
    }
}
