//! Plumbing every suite needs: time bounds, free loopback ports, temp dirs, polling.

use std::{
    future::Future,
    io::Write as _,
    net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// The bound on one test (or one test step).
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// `fut`, failing the test if it takes longer than [`TEST_TIMEOUT`].
pub async fn bounded<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(TEST_TIMEOUT, fut).await.expect("test step timed out")
}

/// A loopback address nothing listened on a moment ago.
pub fn free_addr() -> SocketAddr {
    StdListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port")
}

/// A loopback port nothing listened on a moment ago.
pub fn free_port() -> u16 {
    free_addr().port()
}

/// Block until `addr` accepts connections (at most [`TEST_TIMEOUT`]).
pub fn wait_accepting(addr: SocketAddr) {
    let deadline = Instant::now() + TEST_TIMEOUT;
    while StdStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "{addr} never accepted");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Poll `f` every 50 ms until it returns `Some`, for at most `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A temporary directory for one test's files, removed on drop.
#[derive(Debug)]
pub struct Dir(tempfile::TempDir);

impl Dir {
    /// A new directory under the system temp dir.
    pub fn new() -> Dir {
        Dir(tempfile::Builder::new().prefix("pylon-e2e-").tempdir().expect("tempdir"))
    }

    /// A new directory under `parent` (e.g. `env!("CARGO_TARGET_TMPDIR")` for a directory
    /// that lives as long as a static).
    pub fn new_in(parent: impl AsRef<Path>) -> Dir {
        Dir(tempfile::Builder::new().prefix("pylon-e2e-").tempdir_in(parent).expect("tempdir"))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// `name` in this directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// Write `text` to `name` (via a rename, so a reader never sees half a file).
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.join(name);
        let tmp = self.join(&format!(".{name}.tmp"));
        let mut f = std::fs::File::create(&tmp).expect("create file");
        f.write_all(text.as_bytes()).expect("write file");
        f.sync_all().expect("sync file");
        std::fs::rename(&tmp, &path).expect("rename file");
        path
    }
}

impl Default for Dir {
    fn default() -> Dir {
        Dir::new()
    }
}
