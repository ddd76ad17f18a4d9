//! Counters for `stats_path` (SPEC §8). They live outside the reloadable
//! [`Runtime`](crate::runtime::Runtime) so a reload does not reset them: a runtime
//! holds `Arc`s to the counters of its locations, looked up by name when it is built.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicI64, AtomicU64, Ordering::Relaxed},
    },
    time::Instant,
};

use serde_json::{Map, Value, json};

/// Per-location counters.
#[derive(Debug, Default)]
pub(crate) struct LocationCounters {
    requests: AtomicU64,
    /// Responses by status class: 1xx, 2xx, 3xx, 4xx, 5xx.
    classes: [AtomicU64; 5],
}

impl LocationCounters {
    pub(crate) fn record(&self, status: u16) {
        self.requests.fetch_add(1, Relaxed);
        if let Some(c) = usize::from(status / 100).checked_sub(1).and_then(|i| self.classes.get(i))
        {
            c.fetch_add(1, Relaxed);
        }
    }

    fn to_json(&self) -> Value {
        let c = |i: usize| self.classes[i].load(Relaxed);
        json!({
            "requests": self.requests.load(Relaxed),
            "status": { "1xx": c(0), "2xx": c(1), "3xx": c(2), "4xx": c(3), "5xx": c(4) },
        })
    }
}

/// Process-wide counters.
#[derive(Debug)]
pub(crate) struct Stats {
    started: Instant,
    accepted: AtomicU64,
    processing: AtomicI64,
    /// Every finished request, routed or not.
    all: LocationCounters,
    /// Requests refused before routing (malformed or over a limit), by status.
    refused: RwLock<std::collections::BTreeMap<u16, u64>>,
    locations: RwLock<HashMap<String, Arc<LocationCounters>>>,
    /// The Prometheus series (recorded when the config has `[admin]`).
    pub(crate) metrics: Arc<crate::metrics::Registry>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            started: Instant::now(),
            accepted: AtomicU64::new(0),
            processing: AtomicI64::new(0),
            all: LocationCounters::default(),
            refused: RwLock::default(),
            locations: RwLock::default(),
            metrics: Arc::default(),
        }
    }
}

impl Stats {
    /// The counters of location `name`, created on first use (at runtime build, not per request).
    pub(crate) fn location(&self, name: &str) -> Arc<LocationCounters> {
        if let Some(c) = self.locations.read().unwrap_or_else(|e| e.into_inner()).get(name) {
            return c.clone();
        }
        self.locations
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    pub(crate) fn request_started(&self) {
        self.accepted.fetch_add(1, Relaxed);
        self.processing.fetch_add(1, Relaxed);
    }

    /// Requests received and not yet finished.
    pub(crate) fn in_flight(&self) -> i64 {
        self.processing.load(Relaxed)
    }

    pub(crate) fn request_finished(&self) {
        self.processing.fetch_sub(1, Relaxed);
    }

    /// Count a finished request by its status; `refused`: the status it was refused with
    /// before routing.
    pub(crate) fn record(&self, status: u16, refused: Option<u16>) {
        self.all.record(status);
        if let Some(code) = refused {
            *self.refused.write().unwrap_or_else(|e| e.into_inner()).entry(code).or_default() += 1;
        }
    }

    /// The stats document. `locations` limits the per-location part to the names given
    /// (the current config's), so counters of removed locations do not linger in the output.
    pub(crate) fn to_json(
        &self,
        locations: &[&str],
        upstreams: &[(&str, Vec<pylon_upstream::PeerStatus>)],
    ) -> Value {
        let counters = self.locations.read().unwrap_or_else(|e| e.into_inner());
        let mut locs = Map::new();
        for name in locations {
            let v = counters
                .get(*name)
                .map(|c| c.to_json())
                .unwrap_or_else(|| LocationCounters::default().to_json());
            locs.insert((*name).to_owned(), v);
        }
        let mut ups = Map::new();
        for (name, peers) in upstreams {
            let peers: Vec<Value> = peers
                .iter()
                .map(|p| {
                    json!({
                        "addr": p.addr.to_string(),
                        "host": p.host,
                        "weight": p.weight,
                        "healthy": p.healthy,
                        "in_flight": p.in_flight,
                    })
                })
                .collect();
            let healthy = peers.iter().filter(|p| p["healthy"] == Value::Bool(true)).count();
            ups.insert((*name).to_owned(), json!({ "healthy": healthy, "peers": peers }));
        }
        json!({
            "version": crate::VERSION,
            "uptime_seconds": self.started.elapsed().as_secs(),
            "accepted": self.accepted.load(Relaxed),
            "processing": self.processing.load(Relaxed).max(0),
            "requests": self.all.to_json(),
            "refused": self
                .refused
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(code, n)| (code.to_string(), Value::from(*n)))
                .collect::<Map<String, Value>>(),
            "locations": locs,
            "upstreams": ups,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_survive_lookup_and_classify_status() {
        let stats = Stats::default();
        stats.location("api").record(200);
        stats.location("api").record(503);
        stats.location("api").record(99);
        let doc = stats.to_json(&["api", "never"], &[]);
        assert_eq!(doc["locations"]["api"]["requests"], 3);
        assert_eq!(doc["locations"]["api"]["status"]["2xx"], 1);
        assert_eq!(doc["locations"]["api"]["status"]["5xx"], 1);
        assert_eq!(doc["locations"]["never"]["requests"], 0);
    }
}
