//! The recent-request ring: the server, host and path (never the query or a header value)
//! of the last requests served, for the admin plan's impact preview ("of the last N
//! requests, how many would now go elsewhere").
//!
//! One ring per worker thread, so the request path only copies two short strings into a
//! slot it owns (the slot's buffers are reused: no allocation once warm) under a mutex that
//! only a rare admin read ever contends. Readers merge every thread's ring by time.

use crate::admin::IMPACT_SAMPLE;
use std::{
    cell::RefCell,
    sync::{Arc, Mutex, OnceLock},
    time::Instant,
};

/// Slots per worker thread: as many as the impact preview replays, so the newest
/// [`IMPACT_SAMPLE`] of all threads merged are the last requests served even when one thread
/// served them all (README: "the last 1000 requests").
pub(crate) const PER_THREAD: usize = IMPACT_SAMPLE;
/// Longest host / path kept (longer ones are cut at a character boundary).
const MAX_FIELD: usize = 512;

/// One request, as the ring keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentRequest {
    /// The `[servers.NAME]` that served it.
    pub server: String,
    /// The host it asked for (Host header or `:authority`, as sent).
    pub host: String,
    /// The path the router saw (no query string).
    pub path: String,
}

#[derive(Debug)]
struct Slot {
    at: Instant,
    server: Arc<str>,
    host: String,
    path: String,
}

#[derive(Debug, Default)]
struct Ring {
    slots: Vec<Slot>,
    next: usize,
}

/// Every thread's ring (process-wide: rings outlive reloads and runtimes).
fn rings() -> &'static Mutex<Vec<Arc<Mutex<Ring>>>> {
    static RINGS: OnceLock<Mutex<Vec<Arc<Mutex<Ring>>>>> = OnceLock::new();
    RINGS.get_or_init(Mutex::default)
}

thread_local! {
    static LOCAL: RefCell<Option<Arc<Mutex<Ring>>>> = const { RefCell::new(None) };
}

fn cut(s: &str) -> &str {
    if s.len() <= MAX_FIELD {
        return s;
    }
    let mut end = MAX_FIELD;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Remember that `server` served `host` + `path` now.
pub(crate) fn record(server: &Arc<str>, host: &str, path: &str) {
    LOCAL.with_borrow_mut(|local| {
        let ring = local.get_or_insert_with(|| {
            let ring = Arc::new(Mutex::new(Ring::default()));
            rings().lock().unwrap_or_else(|e| e.into_inner()).push(ring.clone());
            ring
        });
        let mut ring = ring.lock().unwrap_or_else(|e| e.into_inner());
        let (host, path) = (cut(host), cut(path));
        if ring.slots.len() < PER_THREAD {
            ring.slots.push(Slot {
                at: Instant::now(),
                server: server.clone(),
                host: host.to_owned(),
                path: path.to_owned(),
            });
            return;
        }
        let i = ring.next;
        ring.next = (i + 1) % PER_THREAD;
        let slot = &mut ring.slots[i];
        slot.at = Instant::now();
        if !Arc::ptr_eq(&slot.server, server) {
            slot.server = server.clone();
        }
        slot.host.clear();
        slot.host.push_str(host);
        slot.path.clear();
        slot.path.push_str(path);
    });
}

/// The last `limit` requests of every thread, newest first.
pub(crate) fn snapshot(limit: usize) -> Vec<RecentRequest> {
    let rings: Vec<_> = rings().lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut all: Vec<(Instant, RecentRequest)> = Vec::new();
    for ring in rings {
        let ring = ring.lock().unwrap_or_else(|e| e.into_inner());
        all.extend(ring.slots.iter().map(|s| {
            (
                s.at,
                RecentRequest {
                    server: s.server.to_string(),
                    host: s.host.clone(),
                    path: s.path.clone(),
                },
            )
        }));
    }
    all.sort_by_key(|e| std::cmp::Reverse(e.0));
    all.truncate(limit);
    all.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_per_thread_and_cuts_long_fields() {
        let server: Arc<str> = Arc::from("ring-test");
        std::thread::spawn(move || {
            for i in 0..PER_THREAD + 10 {
                record(&server, "h.test", &format!("/p/{i}"));
            }
            record(&server, &"x".repeat(2000), "/last");
        })
        .join()
        .unwrap();
        let mine: Vec<_> =
            snapshot(usize::MAX).into_iter().filter(|r| r.server == "ring-test").collect();
        assert_eq!(mine.len(), PER_THREAD);
        assert_eq!(mine[0].path, "/last");
        assert_eq!(mine[0].host.len(), MAX_FIELD);
        assert_eq!(mine[1].path, format!("/p/{}", PER_THREAD + 9));
        assert!(!mine.iter().any(|r| r.path == "/p/0"), "the oldest were overwritten");
    }

    #[test]
    fn one_thread_keeps_every_request_the_impact_preview_replays() {
        let server: Arc<str> = Arc::from("ring-sample-test");
        let n = IMPACT_SAMPLE + 3;
        std::thread::spawn(move || {
            for i in 0..n {
                record(&server, "h.test", &format!("/p/{i}"));
            }
        })
        .join()
        .unwrap();
        let mine: Vec<String> = snapshot(usize::MAX)
            .into_iter()
            .filter(|r| r.server == "ring-sample-test")
            .map(|r| r.path)
            .collect();
        let want: Vec<String> = (n - IMPACT_SAMPLE..n).rev().map(|i| format!("/p/{i}")).collect();
        assert_eq!(mine, want);
    }
}
