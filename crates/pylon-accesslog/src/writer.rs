//! [`LogWriter`]: lines go through a bounded queue to a background thread that owns the output.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;

/// Size of the writer thread's `BufWriter`.
const BUF_CAPACITY: usize = 64 * 1024;
/// Most buffers kept for reuse.
const MAX_POOL: usize = 1024;
/// Buffers that grew beyond this are freed rather than reused.
const MAX_POOLED_CAPACITY: usize = 16 * 1024;
/// How long the writer thread lets lines gather before it writes them while lines keep
/// coming (nginx's `access_log … flush=` does the same with seconds): a line reaches the
/// output at most this long (plus the write) after it was queued.
const BATCH_INTERVAL: Duration = Duration::from_millis(2);
/// How long dropping the last handle waits for the queue to drain.
const DROP_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

enum Msg {
    Line(Vec<u8>),
    /// Nothing to write; wakes the thread so it sees a reopen request.
    Wake,
    /// Flush, then answer.
    Flush(SyncSender<()>),
}

/// Counters and flags shared by the handles and the writer thread.
#[derive(Debug, Default)]
struct Stats {
    dropped: AtomicU64,
    write_errors: AtomicU64,
    reopen: AtomicBool,
}

/// Where the writer thread writes.
enum Sink {
    Stdout(BufWriter<io::Stdout>),
    File { path: PathBuf, out: BufWriter<File> },
    Custom(BufWriter<Box<dyn Write + Send>>),
}

impl Sink {
    fn out(&mut self) -> &mut dyn Write {
        match self {
            Sink::Stdout(w) => w,
            Sink::File { out, .. } => out,
            Sink::Custom(w) => w,
        }
    }

    /// Reopen a file sink at its path; the old file is kept if that fails.
    fn reopen(&mut self) -> io::Result<()> {
        if let Sink::File { path, out } = self {
            out.flush()?;
            *out = BufWriter::with_capacity(BUF_CAPACITY, open_append(path)?);
        }
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().append(true).create(true).open(path)
}

struct Shared {
    /// `None` only while dropping, so the thread sees the channel close.
    tx: Option<SyncSender<Msg>>,
    pool: Arc<ArrayQueue<Vec<u8>>>,
    stats: Arc<Stats>,
    /// Disconnects when the writer thread has exited. (A `Mutex` only to make `Shared` `Sync`;
    /// it is used once, in `drop`, through `get_mut`.)
    done: Mutex<Receiver<()>>,
    target: String,
}

impl Drop for Shared {
    fn drop(&mut self) {
        drop(self.tx.take());
        // Give the thread time to drain; never hang shutdown on a stuck output.
        if let Ok(done) = self.done.get_mut() {
            let _ = done.recv_timeout(DROP_DRAIN_TIMEOUT);
        }
    }
}

/// A non-blocking access-log output: stdout, a file, or any `Write`.
///
/// A cheap, cloneable handle. Lines are copied into a bounded queue and written by one
/// background thread through a 64 KiB `BufWriter`: the thread takes the queue's lines every
/// 2 ms while they keep coming and flushes after each batch (a line is written within ~2 ms),
/// and blocks when none come. When the queue is full, [`write_line`](Self::write_line) drops the line and counts it
/// ([`dropped`](Self::dropped)) instead of blocking a request. When the last handle is dropped
/// the thread writes what is queued (waiting up to 5 s) and exits.
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
}

impl fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogWriter")
            .field("target", &self.shared.target)
            .field("dropped", &self.dropped())
            .field("write_errors", &self.write_errors())
            .finish_non_exhaustive()
    }
}

impl LogWriter {
    /// Write to standard output. `queue` is the number of lines that may wait (at least 1).
    pub fn stdout(queue: usize) -> LogWriter {
        Self::spawn(
            Sink::Stdout(BufWriter::with_capacity(BUF_CAPACITY, io::stdout())),
            queue,
            "stdout".into(),
        )
    }

    /// Append to the file at `path`, creating it if needed.
    pub fn file(path: &Path, queue: usize) -> io::Result<LogWriter> {
        let out = BufWriter::with_capacity(BUF_CAPACITY, open_append(path)?);
        let target = path.display().to_string();
        Ok(Self::spawn(Sink::File { path: path.to_owned(), out }, queue, target))
    }

    /// Write to any `Write` (tests, custom sinks). [`reopen`](Self::reopen) does nothing.
    pub fn from_writer<W: Write + Send + 'static>(writer: W, queue: usize) -> LogWriter {
        let writer: Box<dyn Write + Send> = Box::new(writer);
        Self::spawn(
            Sink::Custom(BufWriter::with_capacity(BUF_CAPACITY, writer)),
            queue,
            "custom".into(),
        )
    }

    fn spawn(sink: Sink, queue: usize, target: String) -> LogWriter {
        let queue = queue.max(1);
        let (tx, rx) = mpsc::sync_channel(queue);
        let (done_tx, done) = mpsc::sync_channel(0);
        let pool = Arc::new(ArrayQueue::new(queue.min(MAX_POOL)));
        let stats = Arc::new(Stats::default());
        let worker = Worker { rx, sink, pool: Arc::clone(&pool), stats: Arc::clone(&stats) };
        let spawned = thread::Builder::new().name("pylon-accesslog".into()).spawn(move || {
            worker.run();
            drop(done_tx);
        });
        if spawned.is_err() {
            // No thread: the channel is closed, so every line is counted as dropped.
            stats.write_errors.fetch_add(1, Ordering::Relaxed);
        }
        LogWriter {
            shared: Arc::new(Shared { tx: Some(tx), pool, stats, done: Mutex::new(done), target }),
        }
    }

    /// Queue one line; the writer adds the `\n` (unless `line` already ends with one).
    ///
    /// Never blocks: if the queue is full the line is dropped and counted.
    pub fn write_line(&self, line: &[u8]) {
        let shared = &*self.shared;
        let mut buf = shared.pool.pop().unwrap_or_else(|| Vec::with_capacity(line.len() + 1));
        buf.clear();
        buf.extend_from_slice(line);
        if line.last() != Some(&b'\n') {
            buf.push(b'\n');
        }
        let Some(tx) = &shared.tx else { return };
        match tx.try_send(Msg::Line(buf)) {
            Ok(()) => {}
            Err(TrySendError::Full(msg) | TrySendError::Disconnected(msg)) => {
                shared.stats.dropped.fetch_add(1, Ordering::Relaxed);
                if let Msg::Line(buf) = msg {
                    let _ = shared.pool.push(buf);
                }
            }
        }
    }

    /// Reopen the file at its path, e.g. after logrotate renamed it. Lines queued from now on
    /// go to the new file. Does nothing for stdout and custom writers. Never blocks.
    pub fn reopen(&self) {
        self.shared.stats.reopen.store(true, Ordering::Release);
        if let Some(tx) = &self.shared.tx {
            // If the queue is full the thread is busy and sees the flag at its next line.
            let _ = tx.try_send(Msg::Wake);
        }
    }

    /// Lines dropped so far because the queue was full (or the writer thread was gone).
    pub fn dropped(&self) -> u64 {
        self.shared.stats.dropped.load(Ordering::Relaxed)
    }

    /// Failed writes, flushes and reopens so far (the output itself failed, e.g. disk full).
    pub fn write_errors(&self) -> u64 {
        self.shared.stats.write_errors.load(Ordering::Relaxed)
    }

    /// Wait until every line queued before this call is written and flushed, for at most
    /// `timeout`. Returns whether that happened in time. For shutdown and tests.
    pub fn flush_blocking(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let Some(tx) = &self.shared.tx else { return false };
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        let mut msg = Msg::Flush(ack_tx);
        loop {
            match tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    msg = back;
                    thread::sleep(Duration::from_millis(1));
                }
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match ack_rx.recv_timeout(left) {
            Ok(()) => true,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => false,
        }
    }
}

/// The background thread's state.
struct Worker {
    rx: Receiver<Msg>,
    sink: Sink,
    pool: Arc<ArrayQueue<Vec<u8>>>,
    stats: Arc<Stats>,
}

impl Worker {
    fn run(mut self) {
        // Idle, the thread blocks for the first message. Then, while lines keep coming, it
        // sleeps BATCH_INTERVAL, takes everything queued meanwhile, flushes, and repeats;
        // a batch with nothing new sends it back to blocking. A blocked receiver costs every
        // sender a futex wake and a context switch (on a proxy that shares its core with
        // this thread, that was most of what a logged request cost); a sleeping one costs
        // senders nothing.
        while let Ok(msg) = self.rx.recv() {
            self.handle(msg);
            loop {
                thread::sleep(BATCH_INTERVAL);
                let mut more = false;
                while let Ok(msg) = self.rx.try_recv() {
                    self.handle(msg);
                    more = true;
                }
                self.flush();
                if !more {
                    break;
                }
            }
        }
        self.flush();
    }

    fn handle(&mut self, msg: Msg) {
        if self.stats.reopen.swap(false, Ordering::AcqRel) && self.sink.reopen().is_err() {
            self.error();
        }
        match msg {
            Msg::Line(mut buf) => {
                if self.sink.out().write_all(&buf).is_err() {
                    self.error();
                }
                if buf.capacity() <= MAX_POOLED_CAPACITY {
                    buf.clear();
                    let _ = self.pool.push(buf);
                }
            }
            Msg::Wake => {}
            Msg::Flush(ack) => {
                self.flush();
                let _ = ack.try_send(());
            }
        }
    }

    fn flush(&mut self) {
        if self.sink.out().flush().is_err() {
            self.error();
        }
    }

    fn error(&self) {
        self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
    }
}
