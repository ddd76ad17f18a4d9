//! The load bench of `cargo xtask bench` / `bench-proxy`: Pylon against nginx as reverse
//! proxies on this machine, measured in the same run, so that the ratios mean something on a
//! shared, noisy box.
//!
//! Layout (2 cores): the proxy under test alone on cpu0; the origin (`xtask origin`, built
//! optimised, hyper on one thread) and the load generator (wrk or h2load, one thread) on cpu1. Both proxies run one
//! worker and keep upstream connections alive. For every case and variant both proxies are
//! started fresh (so peak RSS belongs to that case), warmed up, then measured in interleaved
//! rounds (the order alternates per round). Per run: requests/s, p50/p99, the proxy's CPU time
//! per request from `/proc` (utime + stime of the process and its children — nginx's master and
//! worker), and the machine's CPU time spent by anything else ("foreign"). A run with more than
//! 5% of a core of foreign CPU is repeated (twice at most) after the box settles; a case whose
//! runs stay contaminated is reported as busy, without ratios, unless `--force`.
//!
//! Everything listens on 127.0.0.1; every process is started by this task and stopped by PID.

mod measure;
pub(crate) mod origin;
mod plugin;
mod report;
mod sut;

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::{Context, bail, ensure};
use measure::{LoadResult, Proto};
pub(crate) use report::Report;
use sut::{Files, Ports, Proc, Variant};

/// One row of the table: a protocol, a body and a concurrency.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Case {
    pub(crate) id: &'static str,
    pub(crate) title: &'static str,
    proto: Proto,
    path: &'static str,
    conns: u32,
    streams: u32,
    /// nginx's `proxy_buffering`.
    nginx_buffering: bool,
}

const CASES: &[Case] = &[
    Case {
        id: "h1-1k",
        title: "h1 keep-alive 1 KiB, 50 conns",
        proto: Proto::H1,
        path: "/1k",
        conns: 50,
        streams: 1,
        nginx_buffering: true,
    },
    Case {
        id: "h2c-1k-m10",
        title: "h2c 1 KiB, 50 conns x 10 streams",
        proto: Proto::H2c,
        path: "/1k",
        conns: 50,
        streams: 10,
        nginx_buffering: true,
    },
    Case {
        id: "h2c-1k-m1",
        title: "h2c 1 KiB, 50 conns x 1 stream",
        proto: Proto::H2c,
        path: "/1k",
        conns: 50,
        streams: 1,
        nginx_buffering: true,
    },
    Case {
        id: "h2tls-1k-m10",
        title: "h2 TLS 1 KiB, 50 conns x 10 streams",
        proto: Proto::H2Tls,
        path: "/1k",
        conns: 50,
        streams: 10,
        nginx_buffering: true,
    },
    Case {
        id: "h2tls-1k-m1",
        title: "h2 TLS 1 KiB, 50 conns x 1 stream",
        proto: Proto::H2Tls,
        path: "/1k",
        conns: 50,
        streams: 1,
        nginx_buffering: true,
    },
    Case {
        id: "h1-1m",
        title: "h1 keep-alive 1 MiB, 50 conns (nginx proxy_buffering on)",
        proto: Proto::H1,
        path: "/1m",
        conns: 50,
        streams: 1,
        nginx_buffering: true,
    },
    Case {
        id: "h1-1m-nobuf",
        title: "h1 keep-alive 1 MiB, 50 conns (nginx proxy_buffering off)",
        proto: Proto::H1,
        path: "/1m",
        conns: 50,
        streams: 1,
        nginx_buffering: false,
    },
];

const QUICK_CASES: &[&str] = &["h1-1k", "h2c-1k-m10", "h2tls-1k-m10", "h1-1m"];

/// The options of a load bench.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) cases: Vec<Case>,
    pub(crate) variants: Vec<Variant>,
    pub(crate) runs: u32,
    pub(crate) duration: u32,
    pub(crate) warmup: u32,
    /// Report ratios even when the box was busy (flagged).
    pub(crate) force: bool,
    /// Seconds to wait for a quiet box before each run.
    pub(crate) quiet_wait: u64,
    /// A prebuilt `pylon` binary to measure instead of building `--release` (`--pylon PATH`),
    /// e.g. to compare two builds in one session.
    pub(crate) pylon: Option<PathBuf>,
}

impl Options {
    /// The full bench: every case and variant, 3 rounds of 8 s.
    pub(crate) fn full() -> Options {
        Options {
            cases: CASES.to_vec(),
            variants: vec![Variant::Plain, Variant::AccessLog, Variant::Metrics],
            runs: 3,
            duration: 8,
            warmup: 2,
            force: false,
            quiet_wait: 120,
            pylon: None,
        }
    }

    /// About a minute: four cases, no variants, one round of 3 s.
    pub(crate) fn quick() -> Options {
        Options {
            cases: CASES.iter().filter(|c| QUICK_CASES.contains(&c.id)).copied().collect(),
            variants: vec![Variant::Plain],
            runs: 1,
            duration: 3,
            warmup: 1,
            force: false,
            quiet_wait: 30,
            pylon: None,
        }
    }

    /// Apply `--cases`, `--variants`, `--runs`, `--duration`, `--force`, `--no-wait`, `--pylon`.
    pub(crate) fn parse_flag(
        &mut self,
        flag: &str,
        value: &mut dyn FnMut() -> anyhow::Result<String>,
    ) -> anyhow::Result<bool> {
        match flag {
            "--cases" => {
                let v = value()?;
                self.cases = v
                    .split(',')
                    .map(|id| {
                        CASES.iter().find(|c| c.id == id).copied().with_context(|| {
                            let ids: Vec<&str> = CASES.iter().map(|c| c.id).collect();
                            format!("unknown case {id:?} (cases: {})", ids.join(", "))
                        })
                    })
                    .collect::<anyhow::Result<_>>()?;
            }
            "--variants" => {
                let v = value()?;
                let mut variants = Vec::new();
                for name in v.split(',') {
                    match name {
                        "plain" => variants.push(Variant::Plain),
                        "log" => variants.push(Variant::AccessLog),
                        "metrics" => variants.push(Variant::Metrics),
                        "plugins" => variants.extend(plugin::ALL.map(Variant::Plugin)),
                        other => {
                            match other.strip_prefix("plugin:").and_then(plugin::Plugin::parse) {
                                Some(p) => variants.push(Variant::Plugin(p)),
                                None => bail!(
                                    "unknown variant {other:?} (plain, log, metrics, plugins, plugin:KIND \
                                 with KIND one of {})",
                                    plugin::ALL.map(|p| p.kind()).join(", ")
                                ),
                            }
                        }
                    }
                }
                self.variants = variants;
            }
            "--runs" => self.runs = value()?.parse().context("--runs N")?,
            "--duration" => self.duration = value()?.parse().context("--duration SECONDS")?,
            "--force" => self.force = true,
            "--no-wait" => self.quiet_wait = 0,
            "--pylon" => {
                let path = PathBuf::from(value()?);
                ensure!(path.is_file(), "--pylon {}: no such file", path.display());
                self.pylon = Some(path);
            }
            _ => return Ok(false),
        }
        ensure!(self.runs >= 1 && self.duration >= 1, "--runs and --duration must be at least 1");
        Ok(true)
    }
}

/// One proxy's measurements in a case.
#[derive(Debug, Clone, Default)]
pub(crate) struct Samples {
    pub(crate) runs: Vec<Run>,
    pub(crate) peak_rss_kib: u64,
}

/// One measured run.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) load: LoadResult,
    pub(crate) cpu_us_per_req: f64,
    pub(crate) foreign_cpu_s: f64,
    pub(crate) contaminated: bool,
}

/// A case measured for both proxies under one variant.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) case: Case,
    pub(crate) variant: Variant,
    pub(crate) nginx: Samples,
    pub(crate) pylon: Samples,
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Install what the bench needs from Debian's packages when it is missing (as root, the way
/// `.ci/run` does); otherwise say what to install.
fn ensure_tools() -> anyhow::Result<()> {
    let wanted = [
        ("nginx", "nginx"),
        ("wrk", "wrk"),
        ("h2load", "nghttp2-client"),
        ("taskset", "util-linux"),
    ];
    let missing: Vec<&str> = wanted.iter().filter(|(t, _)| !have(t)).map(|(_, p)| *p).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    ensure!(is_root && have("apt-get"), "missing tools: apt-get install -y {}", missing.join(" "));
    eprintln!("bench: installing {}", missing.join(" "));
    let ok = Command::new("sh")
        .args(["-c", &format!("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {} >/dev/null", missing.join(" "))])
        .status()?
        .success();
    ensure!(ok, "apt-get install {} failed", missing.join(" "));
    Ok(())
}

fn build_pylon(root: &Path) -> anyhow::Result<PathBuf> {
    eprintln!("bench: building pylon (release)");
    let status =
        crate::cargo().current_dir(root).args(["build", "--release", "-p", "pylon"]).status()?;
    ensure!(status.success(), "cargo build --release -p pylon failed");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok(target.join("release/pylon"))
}

/// The binary that serves as the origin: this xtask when it is optimised, else a release
/// build of it. A debug-built origin held both proxies near 15k requests/s (it, not they,
/// was the bottleneck), which lets each proxy wake for fewer requests at a time and so
/// inflates CPU per request for both.
fn origin_binary(root: &Path) -> anyhow::Result<PathBuf> {
    let this = std::env::current_exe().context("the xtask binary")?;
    if !cfg!(debug_assertions) {
        return Ok(this);
    }
    eprintln!("bench: building the origin (xtask, release)");
    let status =
        crate::cargo().current_dir(root).args(["build", "--release", "-p", "xtask"]).status()?;
    ensure!(status.success(), "cargo build --release -p xtask failed");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok(target.join("release/xtask"))
}

/// Whether this Pylon serves `[admin]` (the metrics variant needs it).
fn pylon_serves_admin(pylon: &Path, files: &Files) -> bool {
    let conf = files.dir.join("admin-probe.toml");
    let text = "[admin]\naddr = \"127.0.0.1:1\"\n[locations.a]\nreturn = \"200\"\n\
                [servers.s]\naddr = \"127.0.0.1:2\"\nlocations = [\"a\"]\n";
    std::fs::write(&conf, text).is_ok()
        && Command::new(pylon)
            .arg("check")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Run the load bench; returns the report (also printed and written as JSON by the caller).
pub(crate) fn run(root: &Path, mut o: Options) -> anyhow::Result<Report> {
    ensure!(
        std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2,
        "the load bench needs 2 CPUs (proxy on cpu0, origin and load on cpu1)"
    );
    ensure_tools()?;
    let pylon = match o.pylon.clone() {
        Some(path) => path,
        None => build_pylon(root)?,
    };
    let files =
        Files::new(std::env::temp_dir().join(format!("pylon-load-bench-{}", std::process::id())))?;
    if o.variants.contains(&Variant::Metrics) && !pylon_serves_admin(&pylon, &files) {
        eprintln!("bench: this pylon has no [admin] listener yet: skipping the metrics variant");
        o.variants.retain(|v| *v != Variant::Metrics);
    }
    let xtask = origin_binary(root)?;
    let origin_port = sut::free_port()?;
    let origin_log = files.dir.join("origin.log");
    let mut origin = Proc::spawn(
        "origin",
        "1",
        &xtask,
        &["origin", "--addr", &format!("127.0.0.1:{origin_port}")],
        &origin_log,
    )?;
    sut::wait_port(origin_port, &mut origin, &origin_log)?;

    let mut rows = Vec::new();
    for case in &o.cases {
        for variant in &o.variants {
            eprintln!("bench: {} [{}]", case.title, variant.name());
            rows.push(run_case(&pylon, &files, &origin, origin_port, *case, *variant, &o)?);
        }
    }
    drop(origin);
    let _ = std::fs::remove_dir_all(&files.dir);
    Ok(Report::new(rows, &o))
}

struct Started {
    proc: Proc,
    url: String,
    /// Request headers the load tool sends (a plugin variant's credentials).
    headers: Vec<String>,
}

fn start_nginx(
    files: &Files,
    tag: &str,
    case: Case,
    variant: Variant,
    origin: u16,
) -> anyhow::Result<Started> {
    let ports = Ports { h1: sut::free_port()?, h2c: sut::free_port()?, tls: sut::free_port()? };
    let conf = files.dir.join(format!("nginx-{tag}.conf"));
    std::fs::write(
        &conf,
        sut::nginx_conf(files, tag, ports, origin, variant, case.nginx_buffering),
    )?;
    let log = files.dir.join(format!("nginx-{tag}.out"));
    let err = files.dir.join(format!("nginx-{tag}-startup.log"));
    let mut proc = Proc::spawn(
        "nginx",
        "0",
        Path::new("nginx"),
        &["-e", &err.display().to_string(), "-c", &conf.display().to_string()],
        &log,
    )?;
    sut::wait_port(ports.h1, &mut proc, &log)?;
    Ok(Started { proc, url: url(case, ports.h1, ports.h2c, ports.tls), headers: Vec::new() })
}

fn start_pylon(
    pylon: &Path,
    files: &Files,
    tag: &str,
    case: Case,
    variant: Variant,
    origin: u16,
) -> anyhow::Result<Started> {
    let ports = Ports { h1: sut::free_port()?, h2c: 0, tls: sut::free_port()? };
    let conf = files.dir.join(format!("pylon-{tag}.toml"));
    let setup = match variant {
        Variant::Plugin(p) => Some(p.setup(pylon, origin)?),
        _ => None,
    };
    std::fs::write(&conf, sut::pylon_conf(files, tag, ports, origin, variant, setup.as_ref())?)?;
    let log = files.dir.join(format!("pylon-{tag}.out"));
    let mut proc =
        Proc::spawn("pylon", "0", pylon, &["run", "-c", &conf.display().to_string()], &log)?;
    sut::wait_port(ports.h1, &mut proc, &log)?;
    sut::wait_port(ports.tls, &mut proc, &log)?;
    // h2c is served on the plain listener (prior knowledge is sniffed).
    let headers = setup.map(|s| s.headers).unwrap_or_default();
    Ok(Started { proc, url: url(case, ports.h1, ports.h1, ports.tls), headers })
}

fn url(case: Case, h1: u16, h2c: u16, tls: u16) -> String {
    match case.proto {
        Proto::H1 => format!("http://127.0.0.1:{h1}{}", case.path),
        Proto::H2c => format!("http://127.0.0.1:{h2c}{}", case.path),
        Proto::H2Tls => format!("https://127.0.0.1:{tls}{}", case.path),
    }
}

/// Foreign CPU allowed per run: 5% of one core.
fn foreign_limit(duration: u32) -> f64 {
    0.05 * f64::from(duration)
}

fn run_case(
    pylon: &Path,
    files: &Files,
    origin: &Proc,
    origin_port: u16,
    case: Case,
    variant: Variant,
    o: &Options,
) -> anyhow::Result<Row> {
    let tag = format!("{}-{}", case.id, variant.name().replace([' ', ':'], "-"));
    let nginx = start_nginx(files, &tag, case, variant, origin_port)?;
    let pylon = start_pylon(pylon, files, &tag, case, variant, origin_port)?;
    let suts = [&nginx, &pylon];
    for s in suts {
        measure::load(
            case.proto,
            &s.url,
            &s.headers,
            o.warmup,
            case.conns,
            case.streams,
            "1",
            &files.dir,
        )
        .with_context(|| format!("warm-up of {}", s.proc.name))?;
    }
    let mut samples = [Samples::default(), Samples::default()];
    for round in 0..o.runs {
        // Interleave, alternating who goes first.
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let (me, other) = (suts[i], suts[1 - i]);
            let mut attempt = 0;
            let run = loop {
                if o.quiet_wait > 0 {
                    measure::wait_quiet(Duration::from_secs(o.quiet_wait), 0.05);
                }
                let run = one_run(case, me, other, origin, files, o.duration)?;
                attempt += 1;
                if !run.contaminated || attempt >= 3 {
                    break run;
                }
                eprintln!(
                    "bench:   {} run was disturbed ({:.2} s foreign CPU): repeating",
                    me.proc.name, run.foreign_cpu_s
                );
            };
            eprintln!(
                "bench:   round {} {}: {:.0} rps, p99 {:.2} ms, {:.2} CPU µs/req, {} errors{}",
                round + 1,
                me.proc.name,
                run.load.rps,
                run.load.p99_ms,
                run.cpu_us_per_req,
                run.load.errors,
                if run.contaminated {
                    format!(", BUSY ({:.2} s foreign CPU)", run.foreign_cpu_s)
                } else {
                    String::new()
                }
            );
            samples[i].runs.push(run);
        }
    }
    for (i, s) in suts.iter().enumerate() {
        samples[i].peak_rss_kib = measure::peak_rss_kib(s.proc.pid());
    }
    let [nginx_samples, pylon_samples] = samples;
    Ok(Row { case, variant, nginx: nginx_samples, pylon: pylon_samples })
}

fn one_run(
    case: Case,
    me: &Started,
    other: &Started,
    origin: &Proc,
    files: &Files,
    secs: u32,
) -> anyhow::Result<Run> {
    let pid = me.proc.pid();
    let (cpu0, other0, origin0) = (
        measure::cpu_seconds(pid)?,
        measure::cpu_seconds(other.proc.pid())?,
        measure::cpu_seconds(origin.pid())?,
    );
    let (busy0, tools0) = (measure::busy_seconds()?, measure::reaped_children_cpu());
    let load = measure::load(
        case.proto,
        &me.url,
        &me.headers,
        secs,
        case.conns,
        case.streams,
        "1",
        &files.dir,
    )?;
    let (busy1, tools1) = (measure::busy_seconds()?, measure::reaped_children_cpu());
    let used = measure::cpu_seconds(pid)? - cpu0;
    let ours = used
        + (measure::cpu_seconds(other.proc.pid())? - other0)
        + (measure::cpu_seconds(origin.pid())? - origin0)
        + (tools1 - tools0);
    let foreign = (busy1 - busy0 - ours).max(0.0);
    Ok(Run {
        cpu_us_per_req: used * 1e6 / load.requests as f64,
        load,
        foreign_cpu_s: foreign,
        contaminated: foreign > foreign_limit(secs),
    })
}
