//! `LogWriter` against real files and a deliberately stuck output.

use std::fs;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use pylon_accesslog::LogWriter;

use crate::util::{Gate, PATIENCE, temp_dir};

fn lines(path: &std::path::Path) -> Vec<String> {
    fs::read_to_string(path).expect("read log").lines().map(str::to_owned).collect()
}

#[test]
fn lines_arrive_in_order() {
    let dir = temp_dir();
    let path = dir.path().join("access.log");
    let writer = LogWriter::file(&path, 4096).expect("open");
    let expected: Vec<String> = (0..3000).map(|i| format!("line {i}")).collect();
    for line in &expected {
        writer.write_line(line.as_bytes());
    }
    assert!(writer.flush_blocking(PATIENCE));
    assert_eq!(writer.dropped(), 0);
    assert_eq!(writer.write_errors(), 0);
    assert_eq!(lines(&path), expected);
}

#[test]
fn lines_from_many_threads_all_arrive_whole() {
    let dir = temp_dir();
    let path = dir.path().join("access.log");
    let writer = LogWriter::file(&path, 4096).expect("open");
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let writer = writer.clone();
            std::thread::spawn(move || {
                for i in 0..500 {
                    writer.write_line(format!("t{t} {i}").as_bytes());
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("join");
    }
    assert!(writer.flush_blocking(PATIENCE));
    let got = lines(&path);
    assert_eq!(got.len() as u64 + writer.dropped(), 2000);
    for t in 0..4 {
        let mine: Vec<usize> = got
            .iter()
            .filter_map(|l| l.strip_prefix(&format!("t{t} ")))
            .map(|i| i.parse().expect("number"))
            .collect();
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "thread {t} out of order");
    }
}

#[test]
fn appends_to_an_existing_file_and_adds_one_newline() {
    let dir = temp_dir();
    let path = dir.path().join("access.log");
    fs::write(&path, "old\n").expect("seed");
    let writer = LogWriter::file(&path, 16).expect("open");
    writer.write_line(b"new");
    writer.write_line(b"already terminated\n");
    writer.write_line(b"");
    assert!(writer.flush_blocking(PATIENCE));
    assert_eq!(fs::read_to_string(&path).expect("read"), "old\nnew\nalready terminated\n\n");
}

#[test]
fn reopen_after_rename_writes_to_the_new_file() {
    let dir = temp_dir();
    let path = dir.path().join("access.log");
    let rotated = dir.path().join("access.log.1");
    let writer = LogWriter::file(&path, 64).expect("open");
    writer.write_line(b"before 1");
    writer.write_line(b"before 2");
    assert!(writer.flush_blocking(PATIENCE));

    fs::rename(&path, &rotated).expect("rotate");
    writer.write_line(b"still old file");
    assert!(writer.flush_blocking(PATIENCE));
    writer.reopen();
    writer.write_line(b"after 1");
    writer.write_line(b"after 2");
    assert!(writer.flush_blocking(PATIENCE));

    assert_eq!(lines(&rotated), ["before 1", "before 2", "still old file"]);
    assert_eq!(lines(&path), ["after 1", "after 2"]);
    assert_eq!(writer.write_errors(), 0);
}

#[test]
fn reopen_failure_keeps_the_old_file_and_counts_an_error() {
    let dir = temp_dir();
    let sub = dir.path().join("logs");
    fs::create_dir(&sub).expect("mkdir");
    let path = sub.join("access.log");
    let writer = LogWriter::file(&path, 64).expect("open");
    let moved = dir.path().join("moved");
    fs::rename(&sub, &moved).expect("move dir away");
    writer.reopen();
    writer.write_line(b"kept");
    assert!(writer.flush_blocking(PATIENCE));
    assert_eq!(writer.write_errors(), 1);
    assert_eq!(lines(&moved.join("access.log")), ["kept"]);
}

#[test]
fn full_queue_drops_and_counts_instead_of_blocking() {
    let (entered_tx, entered) = mpsc::sync_channel(1);
    let (release, release_rx) = mpsc::sync_channel(1);
    let output = Arc::new(Mutex::new(Vec::new()));
    let gate = Gate {
        entered: entered_tx,
        release: release_rx,
        output: Arc::clone(&output),
        opened: false,
    };
    let writer = LogWriter::from_writer(gate, 1);

    writer.write_line(b"first");
    // The thread takes "first", finds the queue empty, flushes, and is stuck in `write`.
    entered.recv_timeout(PATIENCE).expect("writer thread reached the output");

    let start = Instant::now();
    for i in 0..1000 {
        writer.write_line(format!("line {i}").as_bytes());
    }
    writer.reopen();
    assert!(!writer.flush_blocking(std::time::Duration::from_millis(10)));
    assert!(start.elapsed() < PATIENCE, "write_line blocked");
    // One line fits in the queue; the other 999 are dropped.
    assert_eq!(writer.dropped(), 999);

    release.send(()).expect("release");
    assert!(writer.flush_blocking(PATIENCE));
    assert_eq!(&*output.lock().expect("lock"), b"first\nline 0\n");
    assert_eq!(writer.dropped(), 999);
}

#[test]
fn dropping_the_last_handle_drains_the_queue() {
    let dir = temp_dir();
    let path = dir.path().join("access.log");
    let writer = LogWriter::file(&path, 1024).expect("open");
    let clone = writer.clone();
    for i in 0..500 {
        clone.write_line(format!("{i}").as_bytes());
    }
    drop(writer);
    let dropped = clone.dropped();
    drop(clone);
    let expected: Vec<String> = (0..500).map(|i| i.to_string()).collect();
    assert_eq!(dropped, 0);
    assert_eq!(lines(&path), expected);
}

#[test]
fn file_in_a_missing_directory_is_an_error() {
    let dir = temp_dir();
    let err = LogWriter::file(&dir.path().join("nope/access.log"), 8).expect_err("no dir");
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn stdout_writer_flushes_and_ignores_reopen() {
    let writer = LogWriter::stdout(8);
    writer.reopen();
    assert!(writer.flush_blocking(PATIENCE));
    assert_eq!(writer.dropped(), 0);
    assert!(format!("{writer:?}").contains("stdout"));
}

#[test]
fn handles_are_send_sync_and_cheap_to_clone() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}
    check::<LogWriter>();
}

/// An output that records what reaches it and how often it is flushed.
#[derive(Clone, Default)]
struct Counting {
    bytes: Arc<Mutex<Vec<u8>>>,
    flushes: Arc<Mutex<usize>>,
}

impl std::io::Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.lock().expect("bytes").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        *self.flushes.lock().expect("flushes") += 1;
        Ok(())
    }
}

#[test]
fn a_steady_stream_is_written_in_batches_and_a_lone_line_promptly() {
    let out = Counting::default();
    let writer = LogWriter::from_writer(out.clone(), 16 * 1024);
    // One line every ~20 µs for ~40 ms, the pace of a busy proxy: the writer thread takes
    // them in batches (one flush per batch, batches at least 2 ms apart), it is not woken
    // for each line.
    let start = Instant::now();
    let mut sent = 0;
    while start.elapsed() < std::time::Duration::from_millis(40) {
        writer.write_line(format!("line {sent}").as_bytes());
        sent += 1;
        let pace = Instant::now();
        while pace.elapsed() < std::time::Duration::from_micros(20) {
            std::hint::spin_loop();
        }
    }
    let elapsed_ms = start.elapsed().as_millis() as usize;
    assert!(writer.flush_blocking(PATIENCE));
    let flushes = *out.flushes.lock().expect("flushes");
    assert!(
        flushes <= elapsed_ms / 2 + 3,
        "{flushes} flushes for {sent} lines in {elapsed_ms} ms: written line by line"
    );
    let text = String::from_utf8(out.bytes.lock().expect("bytes").clone()).expect("utf8");
    let expected: Vec<String> = (0..sent).map(|i| format!("line {i}")).collect();
    assert_eq!(text.lines().collect::<Vec<_>>(), expected);

    // Idle again: one more line reaches the output on its own, without a flush request.
    std::thread::sleep(std::time::Duration::from_millis(20));
    writer.write_line(b"alone");
    let deadline = Instant::now() + PATIENCE;
    while !out.bytes.lock().expect("bytes").ends_with(b"alone\n") {
        assert!(Instant::now() < deadline, "a lone line was never written");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
