//! Load generators (wrk for HTTP/1.1, h2load for h2c and h2 over TLS) and the CPU and memory
//! readings taken from `/proc`.

use std::{path::Path, process::Command};

use anyhow::{Context, bail, ensure};

/// What one bounded load run gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LoadResult {
    pub(crate) requests: u64,
    pub(crate) rps: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) errors: u64,
}

/// The load tool of a protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proto {
    /// HTTP/1.1 keep-alive, wrk.
    H1,
    /// HTTP/2 prior knowledge on plain TCP, h2load.
    H2c,
    /// HTTP/2 over TLS (ALPN), h2load.
    H2Tls,
}

/// One run of `secs` seconds against `url` with `conns` connections (and `streams`
/// concurrent streams per connection for HTTP/2), the tool pinned to `cpu`.
#[allow(clippy::too_many_arguments)] // reason: one call site per tool; a struct would only rename them
pub(crate) fn load(
    proto: Proto,
    url: &str,
    headers: &[String],
    secs: u32,
    conns: u32,
    streams: u32,
    cpu: &str,
    scratch: &Path,
) -> anyhow::Result<LoadResult> {
    match proto {
        Proto::H1 => {
            let out = Command::new("taskset")
                .args(["-c", cpu, "timeout", &(secs + 30).to_string()])
                .args(["wrk", "-t1", "--latency", "--timeout", "5s"])
                .args(headers.iter().flat_map(|h| ["-H", h.as_str()]))
                .arg(format!("-c{conns}"))
                .arg(format!("-d{secs}s"))
                .arg(url)
                .output()
                .context("running wrk")?;
            let text = String::from_utf8_lossy(&out.stdout);
            ensure!(
                out.status.success(),
                "wrk failed: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            parse_wrk(&text)
        }
        Proto::H2c | Proto::H2Tls => {
            let log = scratch.join("h2load-requests.log");
            let out = Command::new("taskset")
                .args(["-c", cpu, "timeout", &(secs + 30).to_string()])
                .args(["h2load", "-t1"])
                .args(headers.iter().flat_map(|h| ["-H", h.as_str()]))
                .arg(format!("-c{conns}"))
                .arg(format!("-m{streams}"))
                .arg(format!("-D{secs}"))
                .arg(format!("--log-file={}", log.display()))
                .arg(url)
                .output()
                .context("running h2load")?;
            let text = String::from_utf8_lossy(&out.stdout);
            ensure!(out.status.success(), "h2load failed: {text}");
            let mut r = parse_h2load(&text)?;
            let (p50, p99) = percentiles_from_h2load_log(&std::fs::read_to_string(&log)?);
            r.p50_ms = p50;
            r.p99_ms = p99;
            Ok(r)
        }
    }
}

/// wrk's `--latency` report: requests, rate, p50/p99 and every kind of error.
pub(crate) fn parse_wrk(text: &str) -> anyhow::Result<LoadResult> {
    let mut r = LoadResult::default();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", v] => r.rps = v.parse()?,
            ["50%", v] => r.p50_ms = latency_ms(v),
            ["99%", v] => r.p99_ms = latency_ms(v),
            [n, "requests", "in", ..] => r.requests = n.parse()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => r.errors += n.parse::<u64>()?,
            ["Socket", "errors:", rest @ ..] => {
                // "connect 0, read 0, write 0, timeout 0"
                for pair in rest.chunks(2) {
                    if let [_, n] = pair {
                        r.errors += n.trim_end_matches(',').parse::<u64>().unwrap_or(1);
                    }
                }
            }
            _ => {}
        }
    }
    ensure!(r.requests > 0, "wrk completed no request:\n{text}");
    Ok(r)
}

fn latency_ms(v: &str) -> f64 {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        _ => f64::NAN,
    }
}

/// h2load's summary: the rate and the request counts (p50/p99 come from its log file).
pub(crate) fn parse_h2load(text: &str) -> anyhow::Result<LoadResult> {
    let mut r = LoadResult::default();
    let mut seen = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("finished in ") {
            // "finished in 3.00s, 41234.33 req/s, 45.67MB/s"
            if let Some(rate) = rest.split(", ").nth(1).and_then(|s| s.strip_suffix(" req/s")) {
                r.rps = rate.parse()?;
            }
        }
        if let Some(rest) = line.strip_prefix("requests: ") {
            // "N total, N started, N done, N succeeded, N failed, N errored, N timeout"
            seen = true;
            for part in rest.split(", ") {
                let mut it = part.split_whitespace();
                let (Some(n), Some(what)) = (it.next(), it.next()) else { continue };
                let n: u64 = n.parse()?;
                match what {
                    "succeeded" => r.requests = n,
                    "failed" | "errored" | "timeout" => r.errors += n,
                    _ => {}
                }
            }
        }
        if let Some(rest) = line.strip_prefix("status codes: ") {
            // "N 2xx, N 3xx, N 4xx, N 5xx"
            for part in rest.split(", ") {
                let mut it = part.split_whitespace();
                if let (Some(n), Some("4xx" | "5xx")) = (it.next(), it.next()) {
                    r.errors += n.parse::<u64>()?;
                }
            }
        }
    }
    if !seen || r.requests == 0 {
        bail!("h2load completed no request:\n{text}");
    }
    Ok(r)
}

/// p50 and p99 in ms from h2load's `--log-file` (tab-separated: start µs, status, duration µs),
/// successful (2xx) requests only.
pub(crate) fn percentiles_from_h2load_log(log: &str) -> (f64, f64) {
    let mut d: Vec<u64> = log
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let _start = f.next()?;
            let status: u16 = f.next()?.parse().ok()?;
            let dur: u64 = f.next()?.trim().parse().ok()?;
            (200..300).contains(&status).then_some(dur)
        })
        .collect();
    if d.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    d.sort_unstable();
    let at = |q: f64| d[((d.len() as f64 * q) as usize).min(d.len() - 1)] as f64 / 1000.0;
    (at(0.50), at(0.99))
}

/// CPU seconds (user + system) process `pid` and its direct children have used so far
/// (nginx: master and worker).
pub(crate) fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let mut ticks = proc_ticks(pid)?;
    for child in children(pid) {
        ticks += proc_ticks(child).unwrap_or(0.0);
    }
    Ok(ticks / clock_ticks())
}

fn proc_ticks(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').context("odd /proc stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Ok(fields.get(11).context("utime")?.parse::<f64>()?
        + fields.get(12).context("stime")?.parse::<f64>()?)
}

fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn clock_ticks() -> f64 {
    // USER_HZ: 100 on every Linux this runs on; `getconf CLK_TCK` says so when in doubt.
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Peak resident set (VmHWM) of `pid` plus its direct children, in KiB.
pub(crate) fn peak_rss_kib(pid: u32) -> u64 {
    std::iter::once(pid).chain(children(pid)).map(|p| status_kib(p, "VmHWM:")).sum()
}

fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Machine-wide busy CPU seconds from `/proc/stat` (user, nice, system, irq, softirq; all
/// CPUs). A process's utime/stime include the loopback softirq work it triggers, so softirq
/// belongs here too or foreign load of that size goes unseen.
pub(crate) fn busy_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().find(|l| l.starts_with("cpu ")).context("no cpu line in /proc/stat")?;
    let f: Vec<f64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    ensure!(f.len() >= 7, "odd /proc/stat cpu line");
    Ok((f[0] + f[1] + f[2] + f[5] + f[6]) / clock_ticks())
}

/// CPU seconds used by this process's waited-for children so far (the load tools, once
/// each run has been reaped).
pub(crate) fn reaped_children_cpu() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_CHILDREN).map_or(0.0, |u| {
        let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
        t(u.user_time()) + t(u.system_time())
    })
}

/// Wait (up to `max`) until the machine's busy fraction over 2 s is at most `threshold`
/// of all its CPUs; false when it never got quiet.
pub(crate) fn wait_quiet(max: std::time::Duration, threshold: f64) -> bool {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let start = std::time::Instant::now();
    let mut warned = false;
    loop {
        let Ok(a) = busy_seconds() else { return true };
        std::thread::sleep(std::time::Duration::from_secs(2));
        let Ok(b) = busy_seconds() else { return true };
        let frac = (b - a) / (2.0 * cpus);
        if frac <= threshold {
            return true;
        }
        if !warned {
            eprintln!(
                "bench: the box is busy ({:.0}% of {cpus} CPUs); waiting for it to settle",
                frac * 100.0
            );
            warned = true;
        }
        if start.elapsed() >= max {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_report_is_read_with_every_error_kind() {
        let text = "Running 3s test @ http://127.0.0.1:1/1k\n  1 threads and 50 connections\n\
  Latency Distribution\n     50%  512.00us\n     75%  600.00us\n     90%  1.00ms\n     99%    2.50ms\n\
  123456 requests in 3.00s, 140.00MB read\n  Socket errors: connect 1, read 2, write 0, timeout 3\n\
  Non-2xx or 3xx responses: 4\nRequests/sec:  41152.00\nTransfer/sec:     46.67MB\n";
        let r = parse_wrk(text).unwrap();
        assert_eq!(r.requests, 123_456);
        assert_eq!(r.rps, 41152.0);
        assert_eq!(r.p50_ms, 0.512);
        assert_eq!(r.p99_ms, 2.5);
        assert_eq!(r.errors, 10);
    }

    #[test]
    fn wrk_report_without_requests_is_an_error() {
        assert!(parse_wrk("0 requests in 3.00s, 0B read\nRequests/sec: 0.00\n").is_err());
    }

    #[test]
    fn h2load_report_is_read() {
        let text = "finished in 3.00s, 41234.33 req/s, 45.67MB/s\n\
requests: 123703 total, 123753 started, 123703 done, 123700 succeeded, 3 failed, 0 errored, 0 timeout\n\
status codes: 123700 2xx, 0 3xx, 2 4xx, 1 5xx\n";
        let r = parse_h2load(text).unwrap();
        assert_eq!(r.requests, 123_700);
        assert_eq!(r.rps, 41234.33);
        assert_eq!(r.errors, 6);
    }

    #[test]
    fn h2load_log_percentiles_count_only_2xx() {
        let mut log = String::new();
        for i in 1..=100u64 {
            log.push_str(&format!("{}\t200\t{}\n", i, i * 1000));
        }
        log.push_str("101\t502\t999999999\n");
        let (p50, p99) = percentiles_from_h2load_log(&log);
        assert_eq!(p50, 51.0);
        assert_eq!(p99, 100.0);
        assert!(percentiles_from_h2load_log("").0.is_nan());
    }

    #[test]
    fn this_process_has_cpu_and_memory_readings() {
        let me = std::process::id();
        assert!(cpu_seconds(me).unwrap() >= 0.0);
        assert!(peak_rss_kib(me) > 0);
        assert!(busy_seconds().unwrap() > 0.0);
    }
}
