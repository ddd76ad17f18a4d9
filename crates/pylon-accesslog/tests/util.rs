//! Shared helpers.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use pylon_accesslog::{Facts, HeaderLookup};

/// Generous bound for anything that should take milliseconds.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// Request and response headers as `(name, value)` pairs.
pub(crate) struct Headers(pub(crate) Vec<(String, Vec<u8>)>);

impl HeaderLookup for Headers {
    fn request_header(&self, name: &str) -> Option<&[u8]> {
        self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }
    fn response_header(&self, name: &str) -> Option<&[u8]> {
        self.request_header(name)
    }
}

/// A fully populated facts value over `headers`.
pub(crate) fn facts(headers: &Headers) -> Facts<'_> {
    Facts {
        when: SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_686_641_123),
        method: "POST",
        host: Some("example.com"),
        path: "/upload",
        query: Some("a=1"),
        proto: "HTTP/2",
        request_line: None,
        scheme: "https",
        remote: Some(SocketAddr::from(([198, 51, 100, 4], 40000))),
        status: 502,
        size: 123_456,
        payload_size: 7,
        latency: Duration::from_millis(1234),
        request_id: Some("r1"),
        location: Some("up"),
        upstream_addr: Some("10.0.0.1:80"),
        upstream_status: None,
        upstream_connect_time: Some(Duration::from_millis(3)),
        upstream_response_time: None,
        connection_reused: Some(false),
        headers,
    }
}

/// A temporary directory removed on drop.
pub(crate) fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// A `Write` that blocks inside its first `write` until released, so the writer thread is
/// stuck deterministically. Everything written lands in `output`.
pub(crate) struct Gate {
    pub(crate) entered: SyncSender<()>,
    pub(crate) release: Receiver<()>,
    pub(crate) output: Arc<Mutex<Vec<u8>>>,
    pub(crate) opened: bool,
}

impl Write for Gate {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.opened {
            self.opened = true;
            let _ = self.entered.send(());
            let _ = self.release.recv_timeout(PATIENCE);
        }
        self.output.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
