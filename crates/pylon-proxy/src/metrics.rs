//! Prometheus metrics (SPEC §8, issue 10): counters and histograms as plain atomics held by
//! the compiled runtime, encoded in the Prometheus/OpenMetrics text format at scrape time
//! with `prometheus-client`.
//!
//! The label sets are fixed when a config is compiled: each `(server, location)` pair of the
//! config gets its [`LocationMetrics`] then, and the runtime keeps the `Arc`, so a request
//! only bumps atomics (no map lookup, no lock). The series live in a [`Registry`] by name
//! outside the runtime, so a reload keeps their values; a scrape lists the series of the
//! running config only.
//!
//! Metrics are recorded only when the config has an `[admin]` section (the only reader).

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicI64, AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric as _, NoLabelSet},
    metrics::{MetricType, gauge::ConstGauge},
    registry::Unit,
};

use crate::runtime::Runtime;

/// Upper bounds of the duration histograms, in microseconds (1 ms … 30 s).
const BOUNDS_US: [u64; 14] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000, 10_000_000, 30_000_000,
];

/// Status classes counted per location: 1xx … 5xx, and "none" (no response was sent: the
/// client went away first).
pub(crate) const STATUS_CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "none"];

/// A duration histogram with fixed buckets: one atomic per bucket plus the sum.
#[derive(Debug, Default)]
pub(crate) struct Histogram {
    /// `counts[i]` = observations in bucket `i` (not cumulative); the last is `+Inf`.
    counts: [AtomicU64; BOUNDS_US.len() + 1],
    sum_us: AtomicU64,
}

impl Histogram {
    pub(crate) fn observe(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let i = BOUNDS_US.iter().position(|b| us <= *b).unwrap_or(BOUNDS_US.len());
        self.counts[i].fetch_add(1, Relaxed);
        self.sum_us.fetch_add(us, Relaxed);
    }

    /// `(sum in seconds, count, cumulative buckets (upper bound in seconds, count))`.
    pub(crate) fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(self.counts.len());
        for (i, c) in self.counts.iter().enumerate() {
            cumulative += c.load(Relaxed);
            let bound = BOUNDS_US.get(i).map_or(f64::INFINITY, |b| *b as f64 / 1e6);
            buckets.push((bound, cumulative));
        }
        (self.sum_us.load(Relaxed) as f64 / 1e6, cumulative, buckets)
    }

    /// The snapshot as `prometheus_client`'s `encode_histogram` takes it: the count of each
    /// bucket on its own (the encoder sums them into the cumulative `le` series) and the last
    /// bound `f64::MAX` (which it writes as `le="+Inf"`; `f64::INFINITY` would be `inf`).
    fn for_encoder(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let (sum, count, cumulative) = self.snapshot();
        let mut below = 0;
        let buckets = cumulative
            .into_iter()
            .map(|(le, n)| {
                let own = n - below;
                below = n;
                (if le.is_finite() { le } else { f64::MAX }, own)
            })
            .collect();
        (sum, count, buckets)
    }
}

/// The series of one `(server, location)` pair.
#[derive(Debug, Default)]
pub(crate) struct LocationMetrics {
    /// Responses by [`STATUS_CLASSES`].
    pub(crate) requests: [AtomicU64; 6],
    pub(crate) duration: Histogram,
    pub(crate) upstream_connect: Histogram,
    pub(crate) upstream_response: Histogram,
}

impl LocationMetrics {
    /// Count a finished request with `status` (0 = no response sent).
    pub(crate) fn record(&self, status: u16, duration: Duration) {
        let class = match status {
            100..=599 => usize::from(status / 100) - 1,
            _ => 5,
        };
        self.requests[class].fetch_add(1, Relaxed);
        self.duration.observe(duration);
    }
}

/// The series of one server.
#[derive(Debug, Default)]
pub(crate) struct ServerMetrics {
    pub(crate) in_flight: AtomicI64,
    /// Request body bytes received from clients.
    pub(crate) received_bytes: AtomicU64,
    /// Response body bytes sent to clients.
    pub(crate) sent_bytes: AtomicU64,
    /// Requests no location matched (the 404s, the stats path): location label `""`.
    pub(crate) unmatched: LocationMetrics,
}

/// The metric series of a compiled server, fixed when the config is compiled.
#[derive(Debug)]
pub(crate) struct ServerRtMetrics {
    pub(crate) server: Arc<ServerMetrics>,
    /// Indexed like the server's locations.
    pub(crate) locations: Vec<Arc<LocationMetrics>>,
}

/// What the `logging` phase knows of a finished request.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) location: Option<usize>,
    pub(crate) status: u16,
    pub(crate) duration: Duration,
    pub(crate) upstream_connect: Option<Duration>,
    pub(crate) upstream_response: Option<Duration>,
    pub(crate) received_bytes: u64,
    pub(crate) sent_bytes: u64,
}

impl ServerRtMetrics {
    pub(crate) fn started(&self) {
        self.server.in_flight.fetch_add(1, Relaxed);
    }

    pub(crate) fn finished(&self, f: &Finished) {
        let s = &self.server;
        s.in_flight.fetch_sub(1, Relaxed);
        s.received_bytes.fetch_add(f.received_bytes, Relaxed);
        s.sent_bytes.fetch_add(f.sent_bytes, Relaxed);
        let m = f.location.and_then(|i| self.locations.get(i)).map_or(&s.unmatched, |m| m);
        m.record(f.status, f.duration);
        if let Some(d) = f.upstream_connect {
            m.upstream_connect.observe(d);
        }
        if let Some(d) = f.upstream_response {
            m.upstream_response.observe(d);
        }
    }
}

/// The series of one upstream.
#[derive(Debug, Default)]
pub(crate) struct UpstreamMetrics {
    pub(crate) retries: AtomicU64,
}

/// Every series by name, kept across reloads; looked up only when a runtime is built.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    servers: RwLock<HashMap<String, Arc<ServerMetrics>>>,
    locations: RwLock<HashMap<(String, String), Arc<LocationMetrics>>>,
    upstreams: RwLock<HashMap<String, Arc<UpstreamMetrics>>>,
    pub(crate) reloads: AtomicU64,
    pub(crate) reload_failures: AtomicU64,
}

fn get_or_create<K: std::hash::Hash + Eq + Clone, V: Default>(
    map: &RwLock<HashMap<K, Arc<V>>>,
    key: &K,
) -> Arc<V> {
    if let Some(v) = map.read().unwrap_or_else(|e| e.into_inner()).get(key) {
        return v.clone();
    }
    map.write().unwrap_or_else(|e| e.into_inner()).entry(key.clone()).or_default().clone()
}

impl Registry {
    pub(crate) fn server(&self, name: &str) -> Arc<ServerMetrics> {
        get_or_create(&self.servers, &name.to_owned())
    }

    pub(crate) fn location(&self, server: &str, location: &str) -> Arc<LocationMetrics> {
        get_or_create(&self.locations, &(server.to_owned(), location.to_owned()))
    }

    pub(crate) fn upstream(&self, name: &str) -> Arc<UpstreamMetrics> {
        get_or_create(&self.upstreams, &name.to_owned())
    }
}

/// One scrape: the running runtime's series plus the process-wide ones.
#[derive(Debug)]
pub(crate) struct Scrape {
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) registry: Arc<Registry>,
    /// Content hash of the running config text.
    pub(crate) config_version: String,
}

impl Scrape {
    /// The OpenMetrics text (which Prometheus reads as its text format).
    pub(crate) fn encode(self) -> String {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(self));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}

type Labels<'a> = Vec<(&'static str, &'a str)>;

fn counter(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    series: &[(Labels<'_>, u64)],
) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, unit, MetricType::Counter)?;
    for (labels, v) in series {
        m.encode_family(labels)?.encode_counter::<NoLabelSet, u64, u64>(v, None)?;
    }
    Ok(())
}

fn gauge(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    series: &[(Labels<'_>, i64)],
) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, v) in series {
        m.encode_family(labels)?.encode_gauge(v)?;
    }
    Ok(())
}

fn histogram(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    series: &[(Labels<'_>, &Histogram)],
) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, Some(&Unit::Seconds), MetricType::Histogram)?;
    for (labels, h) in series {
        let (sum, count, buckets) = h.for_encoder();
        m.encode_family(labels)?.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
    }
    Ok(())
}

impl Collector for Scrape {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let rt = &self.runtime;
        // (server, location, metrics) of the running config, locations in server order.
        let mut pairs: Vec<(&str, &str, &LocationMetrics)> = Vec::new();
        let mut servers: Vec<(&str, &ServerMetrics)> = Vec::new();
        for s in &rt.config.servers {
            let Some(srt) = rt.servers.get(&s.name) else { continue };
            let Some(m) = &srt.metrics else { continue };
            servers.push((&s.name, &m.server));
            pairs.push((&s.name, "", &m.server.unmatched));
            for (loc, lm) in srt.locations.iter().zip(&m.locations) {
                pairs.push((&s.name, &loc.name, lm));
            }
        }

        let mut requests = Vec::new();
        for (server, location, m) in &pairs {
            for (class, c) in STATUS_CLASSES.iter().zip(&m.requests) {
                requests.push((
                    vec![("server", *server), ("location", *location), ("status_class", *class)],
                    c.load(Relaxed),
                ));
            }
        }
        counter(
            &mut enc,
            "pylon_http_requests",
            "Requests answered, by server, location (\"\" = none matched) and status class \
             (\"none\" = the client left before a response)",
            None,
            &requests,
        )?;
        let by_location = |pick: fn(&LocationMetrics) -> &Histogram| {
            pairs
                .iter()
                .map(|(s, l, m)| (vec![("server", *s), ("location", *l)], pick(m)))
                .collect::<Vec<_>>()
        };
        histogram(
            &mut enc,
            "pylon_http_request_duration",
            "Time from the request head to the end of the response, by location",
            &by_location(|m| &m.duration),
        )?;
        histogram(
            &mut enc,
            "pylon_upstream_connect_duration",
            "Time from choosing a peer to a connection being ready (reused ones included), by location",
            &by_location(|m| &m.upstream_connect),
        )?;
        histogram(
            &mut enc,
            "pylon_upstream_response_duration",
            "Time from choosing a peer to the upstream's response head, by location",
            &by_location(|m| &m.upstream_response),
        )?;
        gauge(
            &mut enc,
            "pylon_http_requests_in_flight",
            "Requests received and not yet finished, by server",
            &servers
                .iter()
                .map(|(s, m)| (vec![("server", *s)], m.in_flight.load(Relaxed).max(0)))
                .collect::<Vec<_>>(),
        )?;
        counter(
            &mut enc,
            "pylon_http_received",
            "Request body bytes received from clients, by server",
            Some(&Unit::Bytes),
            &servers
                .iter()
                .map(|(s, m)| (vec![("server", *s)], m.received_bytes.load(Relaxed)))
                .collect::<Vec<_>>(),
        )?;
        counter(
            &mut enc,
            "pylon_http_sent",
            "Response body bytes sent to clients, by server",
            Some(&Unit::Bytes),
            &servers
                .iter()
                .map(|(s, m)| (vec![("server", *s)], m.sent_bytes.load(Relaxed)))
                .collect::<Vec<_>>(),
        )?;

        let pools = rt.pools_in_order();
        let peers: Vec<(&str, Vec<(String, pylon_upstream::PeerStatus)>)> = pools
            .iter()
            .map(|(name, pool)| {
                (*name, pool.peers().into_iter().map(|p| (p.addr.to_string(), p)).collect())
            })
            .collect();
        let mut up = Vec::new();
        let mut failures = Vec::new();
        for (name, list) in &peers {
            for (addr, p) in list {
                let labels = vec![("upstream", *name), ("peer", addr.as_str())];
                up.push((labels.clone(), i64::from(p.healthy)));
                failures.push((labels, p.check_failures));
            }
        }
        gauge(&mut enc, "pylon_upstream_peer_up", "1 if the peer is healthy, else 0", &up)?;
        counter(
            &mut enc,
            "pylon_upstream_health_check_failures",
            "Failed health checks of a peer",
            None,
            &failures,
        )?;
        let retries: Vec<_> = pools
            .iter()
            .map(|(name, _)| (vec![("upstream", *name)], self.registry.upstream(name)))
            .collect();
        counter(
            &mut enc,
            "pylon_upstream_retries",
            "Connect failures retried on another peer, by upstream",
            None,
            &retries.iter().map(|(l, m)| (l.clone(), m.retries.load(Relaxed))).collect::<Vec<_>>(),
        )?;

        counter(
            &mut enc,
            "pylon_config_reloads",
            "Configurations loaded by a reload (SIGHUP, --watch, admin API)",
            None,
            &[(vec![], self.registry.reloads.load(Relaxed))],
        )?;
        counter(
            &mut enc,
            "pylon_config_reload_failures",
            "Reloads refused (the running configuration stayed)",
            None,
            &[(vec![], self.registry.reload_failures.load(Relaxed))],
        )?;
        let info = |enc: &mut DescriptorEncoder<'_>, name: &str, help: &str, labels: Labels<'_>| {
            let g = ConstGauge::new(1i64);
            let mut m = enc.encode_descriptor(name, help, None, g.metric_type())?;
            g.encode(m.encode_family(&labels)?)
        };
        info(
            &mut enc,
            "pylon_config_info",
            "The running configuration: version = content hash of its text",
            vec![("version", self.config_version.as_str())],
        )?;
        info(
            &mut enc,
            "pylon_build_info",
            "The pylon build",
            vec![("version", crate::VERSION), ("pingora", "0.9.1")],
        )?;
        Ok(())
    }
}

/// The per-server series as JSON for the admin's stats (the dashboard computes rates and
/// quantiles from two snapshots): `{name: {in_flight, received_bytes, sent_bytes,
/// locations: [{location, requests: {class: n}, duration: {sum, count, buckets: [[le, n]]},
/// upstream_connect, upstream_response}]}}`; `null` when metrics are not recorded.
pub(crate) fn servers_json(rt: &Runtime) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let hist = |h: &Histogram| {
        let (sum, count, buckets) = h.snapshot();
        let buckets: Vec<Value> = buckets
            .into_iter()
            .map(|(le, n)| json!([if le.is_finite() { json!(le) } else { json!("+Inf") }, n]))
            .collect();
        json!({ "sum": sum, "count": count, "buckets": buckets })
    };
    let loc = |name: &str, m: &LocationMetrics| {
        let requests: Map<String, Value> = STATUS_CLASSES
            .iter()
            .zip(&m.requests)
            .map(|(c, n)| ((*c).to_owned(), json!(n.load(Relaxed))))
            .collect();
        json!({
            "location": name,
            "requests": requests,
            "duration": hist(&m.duration),
            "upstream_connect": hist(&m.upstream_connect),
            "upstream_response": hist(&m.upstream_response),
        })
    };
    let mut out = Map::new();
    for s in &rt.config.servers {
        let Some(srt) = rt.servers.get(&s.name) else { continue };
        let Some(m) = &srt.metrics else { continue };
        let mut locations = vec![loc("", &m.server.unmatched)];
        locations.extend(srt.locations.iter().zip(&m.locations).map(|(l, lm)| loc(&l.name, lm)));
        out.insert(
            s.name.clone(),
            json!({
                "in_flight": m.server.in_flight.load(Relaxed).max(0),
                "received_bytes": m.server.received_bytes.load(Relaxed),
                "sent_bytes": m.server.sent_bytes.load(Relaxed),
                "locations": locations,
            }),
        );
    }
    if out.is_empty() { Value::Null } else { Value::Object(out) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_sum_in_seconds() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60));
        let (sum, count, buckets) = h.snapshot();
        assert_eq!(count, 3);
        assert!((sum - 60.0035).abs() < 1e-9, "{sum}");
        assert_eq!(buckets[0], (0.001, 1));
        assert_eq!(buckets[2], (0.005, 2));
        assert_eq!(buckets.last().map(|b| b.1), Some(3));
        assert!(buckets.last().is_some_and(|b| b.0.is_infinite()));
    }

    /// Checks every histogram series of an OpenMetrics text: buckets cumulative (never
    /// decreasing), the last one `le="+Inf"` and equal to the series' `_count`. Returns how
    /// many series it checked.
    fn check_histograms(text: &str) -> Result<usize, String> {
        // series (name without suffix + labels without `le`) -> [(le, n)]
        let mut buckets: Vec<(String, Vec<(String, u64)>)> = Vec::new();
        let mut counts = HashMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').ok_or(format!("bad line {line}"))?;
            if let Some((name, labels)) = series.split_once("_bucket{") {
                let labels = labels.strip_suffix('}').ok_or(format!("bad line {line}"))?;
                let (rest, le) =
                    labels.split(',').partition::<Vec<_>, _>(|l| !l.starts_with("le=\""));
                let le = le.first().ok_or(format!("no le in {line}"))?;
                let key = format!("{name}{{{}}}", rest.join(","));
                let n = value.parse().map_err(|_| format!("bad count in {line}"))?;
                match buckets.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, list)) => list.push(((*le).to_owned(), n)),
                    None => buckets.push((key, vec![((*le).to_owned(), n)])),
                }
            } else if let Some((name, labels)) = series.split_once("_count{") {
                counts.insert(format!("{name}{{{labels}"), value.parse::<u64>().ok());
            }
        }
        for (key, list) in &buckets {
            if list.windows(2).any(|w| w[0].1 > w[1].1) {
                return Err(format!("{key}: buckets not cumulative: {list:?}"));
            }
            let Some((le, last)) = list.last() else { continue };
            if le != "le=\"+Inf\"" {
                return Err(format!("{key}: last bucket {le}, not le=\"+Inf\""));
            }
            if counts.get(key) != Some(&Some(*last)) {
                return Err(format!("{key}: +Inf bucket {last} but _count {:?}", counts.get(key)));
            }
        }
        Ok(buckets.len())
    }

    #[derive(Debug)]
    struct OneHistogram(Histogram);

    impl Collector for OneHistogram {
        fn encode(&self, mut enc: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
            histogram(&mut enc, "t_duration", "test", &[(vec![("location", "a")], &self.0)])
        }
    }

    #[test]
    fn encoded_histogram_is_cumulative_once_and_ends_in_plus_inf_equal_to_count() {
        let h = Histogram::default();
        for us in [500, 700, 900, 3_000, 3_000, 40_000, 60_000_000, 90_000_000] {
            h.observe(Duration::from_micros(us));
        }
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(OneHistogram(h)));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        assert_eq!(check_histograms(&text), Ok(1), "{text}");
        let bucket = |le: &str| {
            let series = format!("t_duration_seconds_bucket{{le=\"{le}\",location=\"a\"}} ");
            text.lines().find_map(|l| l.strip_prefix(series.as_str())?.parse::<u64>().ok())
        };
        assert_eq!(bucket("0.001"), Some(3), "{text}");
        assert_eq!(bucket("0.0025"), Some(3), "{text}");
        assert_eq!(bucket("0.005"), Some(5), "{text}");
        assert_eq!(bucket("0.05"), Some(6), "{text}");
        assert_eq!(bucket("30.0"), Some(6), "{text}");
        assert_eq!(bucket("+Inf"), Some(8), "{text}");
        assert!(text.contains("t_duration_seconds_count{location=\"a\"} 8\n"), "{text}");
    }

    #[test]
    fn status_classes() {
        let m = LocationMetrics::default();
        for s in [101, 200, 204, 302, 404, 503, 0, 999] {
            m.record(s, Duration::ZERO);
        }
        let got: Vec<u64> = m.requests.iter().map(|c| c.load(Relaxed)).collect();
        assert_eq!(got, [1, 2, 1, 1, 1, 2]);
    }
}
