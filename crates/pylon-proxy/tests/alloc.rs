//! The allocation count of a proxied request, as a tested invariant (BENCHMARKS.md).
//!
//! The whole process runs on a counting global allocator. The origin and the client are
//! written so that they allocate nothing per request (fixed buffers, static bytes), so the
//! allocations counted while requests flow are the proxy's. The count is the minimum over a
//! few windows (a background tick may land in one) divided by the requests of a window.
//!
//! When a change lowers the count, lower [`BUDGET`] with it; when a change must raise it,
//! say why in the commit and in BENCHMARKS.md.

use std::{
    alloc::System,
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    time::Duration,
};

use pingora::server::{RunArgs, ShutdownSignal, ShutdownSignalWatch};
use pylon_proxy::pingora;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap allocations (plus reallocations) per proxied HTTP/1.1 keep-alive GET of 1 KiB,
/// no access log, one location, one peer.
const BUDGET: f64 = 89.5;

const WINDOW: usize = 2_000;

/// A keep-alive origin that answers every request head with the same 1 KiB response,
/// allocating nothing per request.
fn origin() -> SocketAddr {
    static RESPONSE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let response = RESPONSE.get_or_init(|| {
        let mut r =
            b"HTTP/1.1 200 OK\r\nContent-Length: 1024\r\nContent-Type: text/plain\r\n\r\n".to_vec();
        r.extend(std::iter::repeat_n(b'a', 1024));
        r
    });
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind origin");
    let addr = listener.local_addr().expect("origin addr");
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || serve(conn, response));
        }
    });
    addr
}

fn serve(mut conn: TcpStream, response: &[u8]) {
    let _ = conn.set_nodelay(true);
    let mut buf = [0u8; 8192];
    let mut have = 0;
    loop {
        match conn.read(&mut buf[have..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => have += n,
        }
        // Answer each complete head (GETs: no bodies); keep a partial one.
        while let Some(end) = find(&buf[..have], b"\r\n\r\n") {
            if conn.write_all(response).is_err() {
                return;
            }
            buf.copy_within(end + 4..have, 0);
            have -= end + 4;
        }
        if have == buf.len() {
            return;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One GET on a keep-alive connection, read to the end of its body, without allocating.
fn get(conn: &mut TcpStream, buf: &mut [u8; 8192]) {
    conn.write_all(b"GET /1k HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: alloc-test\r\n\r\n")
        .expect("write request");
    let mut have = 0;
    let head_end = loop {
        let n = conn.read(&mut buf[have..]).expect("read response");
        assert!(n > 0, "proxy closed the connection");
        have += n;
        if let Some(end) = find(&buf[..have], b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = &buf[..head_end];
    assert!(head.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(head));
    let len = head
        .split(|b| *b == b'\n')
        .find_map(|l| {
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            let (name, value) = l.split_at(l.iter().position(|b| *b == b':')?);
            name.eq_ignore_ascii_case(b"content-length")
                .then(|| std::str::from_utf8(&value[1..]).ok()?.trim().parse::<usize>().ok())?
        })
        .expect("a Content-Length");
    let mut body = have - head_end;
    while body < len {
        let n = conn.read(&mut buf[..]).expect("read body");
        assert!(n > 0, "proxy closed the connection mid-body");
        body += n;
    }
    assert_eq!(body, len, "one response per request");
}

struct Never;

#[async_trait::async_trait]
impl ShutdownSignalWatch for Never {
    async fn recv(&self) -> ShutdownSignal {
        std::future::pending().await
    }
}

#[test]
fn allocations_per_proxied_h1_request_stay_within_budget() {
    let up = origin();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let conf = dir.path().join("pylon.toml");
    std::fs::write(
        &conf,
        format!(
            "[basic]\nthreads = 1\npid_file = \"pylon.pid\"\nupgrade_sock = \"upgrade.sock\"\n\
             [upstreams.origin]\naddrs = [\"{up}\"]\n\
             health_check = \"tcp://origin?check_frequency=1h\"\n\
             [locations.all]\nupstream = \"origin\"\npath = \"/\"\n\
             [servers.web]\naddr = \"127.0.0.1:{port}\"\nlocations = [\"all\"]\n"
        ),
    )
    .expect("write config");
    let loaded = pylon_config::load(&conf).expect("config");
    let pylon =
        pylon_proxy::Pylon::new(loaded.config, pylon_proxy::RunOptions::default()).expect("pylon");
    let server = pylon.into_server().expect("server");
    std::thread::spawn(move || server.run(RunArgs { shutdown_signal: Box::new(Never) }));

    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut conn = loop {
        if let Ok(c) = TcpStream::connect(addr) {
            break c;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    conn.set_nodelay(true).expect("nodelay");
    conn.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut buf = [0u8; 8192];
    for _ in 0..500 {
        get(&mut conn, &mut buf);
    }
    let mut per_request = f64::INFINITY;
    for _ in 0..3 {
        let region = Region::new(GLOBAL);
        for _ in 0..WINDOW {
            get(&mut conn, &mut buf);
        }
        let change = region.change();
        let n = (change.allocations + change.reallocations) as f64 / WINDOW as f64;
        per_request = per_request.min(n);
    }
    eprintln!("allocations per proxied request: {per_request:.2} (budget {BUDGET})");
    assert!(
        per_request <= BUDGET,
        "a proxied request now makes {per_request:.2} heap allocations, over the budget of \
         {BUDGET}: find the new ones (BENCHMARKS.md says how) or justify raising the budget"
    );
    // Not vacuous: the counter sees the proxy's work.
    assert!(per_request >= 1.0, "the counting allocator saw no allocation: {per_request}");
}
