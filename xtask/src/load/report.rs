//! The load bench's report: one markdown table (medians, CPU spread, ratios per row) and the
//! same figures with every run as JSON.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{Options, Row, Samples, sut::Variant};

/// The figures of a load bench.
#[derive(Debug)]
pub(crate) struct Report {
    rows: Vec<Row>,
    runs: u32,
    duration: u32,
    force: bool,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

impl Samples {
    fn cpu(&self) -> Vec<f64> {
        self.runs.iter().map(|r| r.cpu_us_per_req).collect()
    }
    fn median_cpu(&self) -> f64 {
        median(self.cpu())
    }
    fn median_rps(&self) -> f64 {
        median(self.runs.iter().map(|r| r.load.rps).collect())
    }
    fn median_p99(&self) -> f64 {
        median(self.runs.iter().map(|r| r.load.p99_ms).collect())
    }
    fn errors(&self) -> u64 {
        self.runs.iter().map(|r| r.load.errors).sum()
    }
    fn busy(&self) -> bool {
        self.runs.iter().any(|r| r.contaminated)
    }
    fn spread(&self) -> String {
        let cpu = self.cpu();
        let min = cpu.iter().copied().fold(f64::INFINITY, f64::min);
        let max = cpu.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if cpu.len() < 2 { String::new() } else { format!(" ({min:.1}–{max:.1})") }
    }
    fn json(&self) -> Value {
        json!({
            "median": {
                "rps": self.median_rps(),
                "p99_ms": self.median_p99(),
                "cpu_us_per_req": self.median_cpu(),
            },
            "errors": self.errors(),
            "peak_rss_kib": self.peak_rss_kib,
            "runs": self.runs.iter().map(|r| json!({
                "requests": r.load.requests,
                "rps": r.load.rps,
                "p50_ms": r.load.p50_ms,
                "p99_ms": r.load.p99_ms,
                "errors": r.load.errors,
                "cpu_us_per_req": r.cpu_us_per_req,
                "foreign_cpu_s": r.foreign_cpu_s,
                "busy": r.contaminated,
            })).collect::<Vec<_>>(),
        })
    }
}

impl Report {
    pub(crate) fn new(rows: Vec<Row>, o: &Options) -> Report {
        Report { rows, runs: o.runs, duration: o.duration, force: o.force }
    }

    /// Whether any row could not be measured on a quiet box.
    pub(crate) fn busy(&self) -> bool {
        self.rows.iter().any(|r| r.nginx.busy() || r.pylon.busy())
    }

    /// The markdown table: per row medians of both proxies, the CPU spread over the runs and
    /// the Pylon/nginx ratios (CPU per request, requests/s, p99, peak RSS).
    pub(crate) fn markdown(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "Medians of {} interleaved run(s) of {} s; CPU = the proxy process's user+system time per \
             request from /proc (min–max over runs); RSS = peak (VmHWM) of the proxy's processes.\n",
            self.runs, self.duration
        );
        let _ = writeln!(
            t,
            "| case | variant | nginx rps | pylon rps | nginx p99 ms | pylon p99 ms | nginx CPU µs/req | pylon CPU µs/req | **CPU pylon/nginx** | pylon CPU vs plain | rps pylon/nginx | p99 pylon/nginx | nginx RSS MiB | pylon RSS MiB | errors n/p |"
        );
        let _ = writeln!(t, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for r in &self.rows {
            // What the variant costs Pylon: against the plain row of the same case, same run.
            let vs_plain = self
                .rows
                .iter()
                .find(|p| p.case.id == r.case.id && p.variant == Variant::Plain)
                .filter(|_| r.variant != Variant::Plain)
                .map_or(String::new(), |p| {
                    let (v, base) = (r.pylon.median_cpu(), p.pylon.median_cpu());
                    format!("{:+.2} µs ({:+.1}%)", v - base, (v / base - 1.0) * 100.0)
                });
            let busy = r.nginx.busy() || r.pylon.busy();
            let ratio = |p: f64, n: f64| {
                if busy && !self.force { "busy".to_owned() } else { format!("{:.2}×", p / n) }
            };
            let flag = if busy { " ⚠ busy" } else { "" };
            let _ = writeln!(
                t,
                "| {}{flag} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2}{} | {:.2}{} | **{}** | {vs_plain} | {} | {} | {:.1} | {:.1} | {}/{} |",
                r.case.title,
                r.variant.name(),
                r.nginx.median_rps(),
                r.pylon.median_rps(),
                r.nginx.median_p99(),
                r.pylon.median_p99(),
                r.nginx.median_cpu(),
                r.nginx.spread(),
                r.pylon.median_cpu(),
                r.pylon.spread(),
                ratio(r.pylon.median_cpu(), r.nginx.median_cpu()),
                ratio(r.pylon.median_rps(), r.nginx.median_rps()),
                ratio(r.pylon.median_p99(), r.nginx.median_p99()),
                r.nginx.peak_rss_kib as f64 / 1024.0,
                r.pylon.peak_rss_kib as f64 / 1024.0,
                r.nginx.errors(),
                r.pylon.errors(),
            );
        }
        if self.busy() {
            let _ = writeln!(
                t,
                "\n⚠ busy: other processes used more than 5% of a core during some runs even after \
                 retries; {}.",
                if self.force {
                    "figures shown anyway (--force)"
                } else {
                    "their ratios are not reported"
                }
            );
        }
        t
    }

    /// Every figure, with each run, as JSON.
    pub(crate) fn json(&self, machine: Value) -> Value {
        json!({
            "machine": machine,
            "runs": self.runs,
            "duration_s": self.duration,
            "busy": self.busy(),
            "rows": self.rows.iter().map(|r| json!({
                "case": r.case.id,
                "title": r.case.title,
                "variant": r.variant.name(),
                "nginx": r.nginx.json(),
                "pylon": r.pylon.json(),
                "cpu_ratio": r.pylon.median_cpu() / r.nginx.median_cpu(),
                "rps_ratio": r.pylon.median_rps() / r.nginx.median_rps(),
                "p99_ratio": r.pylon.median_p99() / r.nginx.median_p99(),
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(vec![]).is_nan());
    }
}
