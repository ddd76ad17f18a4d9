//! `cargo xtask bench-proxy`: pylon against nginx as a reverse proxy on this machine,
//! measured in the same run so the ratio means something on a shared, noisy box.
//!
//! Layout (2 cores): the proxy under test alone on cpu0, the origin (nginx, one process)
//! and the load generator (wrk, one thread) on cpu1. Both proxies run one worker and keep
//! upstream connections alive. Rounds interleave nginx and pylon. Per run: requests/s, p99,
//! and the proxy's CPU time per request from /proc (utime + stime), the figure that does not
//! depend on how busy the other core is.
//!
//! Needs `nginx`, `wrk` and `taskset` (`apt-get install -y nginx wrk util-linux`). Every
//! process it starts is stopped by PID; everything listens on 127.0.0.1.

use std::{
    fmt::Write as _,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail, ensure};

struct Options {
    duration: u32,
    runs: u32,
    conns: u32,
    body: usize,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut o = Options { duration: 10, runs: 3, conns: 50, body: 1024 };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || -> anyhow::Result<u32> {
            it.next().context("missing value")?.parse().context("not a number")
        };
        match a.as_str() {
            "--duration" => o.duration = value()?,
            "--runs" => o.runs = value()?,
            "--conns" => o.conns = value()?,
            "--body" => o.body = value()? as usize,
            other => bail!("unknown option {other} (--duration S --runs N --conns N --body BYTES)"),
        }
    }
    Ok(o)
}

/// A child process stopped (TERM, then KILL) when dropped.
struct Proc {
    name: &'static str,
    child: Child,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("bench: {} (pid {pid}) needed SIGKILL", self.name);
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_port(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("nothing listens on 127.0.0.1:{port}")
}

fn spawn(
    name: &'static str,
    cpu: &str,
    cmd: &Path,
    args: &[&str],
    log: &Path,
) -> anyhow::Result<Proc> {
    let out = std::fs::File::create(log)?;
    let child = Command::new("taskset")
        .arg("-c")
        .arg(cpu)
        .arg(cmd)
        .args(args)
        .stdout(out.try_clone()?)
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    Ok(Proc { name, child })
}

/// CPU seconds (user + system) the process has used so far.
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').context("odd /proc stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11).context("utime")?.parse::<f64>()?
        + fields.get(12).context("stime")?.parse::<f64>()?;
    Ok(ticks / 100.0) // USER_HZ is 100 on Linux
}

struct Sample {
    rps: f64,
    p99_ms: f64,
    cpu_us_per_req: f64,
    errors: u64,
}

fn wrk(url: &str, secs: u32, conns: u32) -> anyhow::Result<(f64, f64, u64, u64)> {
    let out = Command::new("taskset")
        .args(["-c", "1", "wrk", "-t1", "--latency"])
        .arg(format!("-c{conns}"))
        .arg(format!("-d{secs}s"))
        .arg(url)
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(out.status.success(), "wrk failed: {text}");
    let mut rps = 0.0;
    let mut p99 = 0.0;
    let mut requests = 0;
    let mut errors = 0;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", v] => rps = v.parse()?,
            ["99%", v] => p99 = latency_ms(v),
            [n, "requests", "in", ..] => requests = n.parse()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => errors += n.parse::<u64>()?,
            ["Socket", "errors:", ..] => errors += 1,
            _ => {}
        }
    }
    Ok((rps, p99, requests, errors))
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

fn measure(pid: u32, url: &str, o: &Options) -> anyhow::Result<Sample> {
    let before = cpu_seconds(pid)?;
    let (rps, p99_ms, requests, errors) = wrk(url, o.duration, o.conns)?;
    let used = cpu_seconds(pid)? - before;
    ensure!(requests > 0, "no requests completed against {url}");
    Ok(Sample { rps, p99_ms, cpu_us_per_req: used * 1e6 / requests as f64, errors })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub(crate) fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let o = parse(args)?;
    for tool in ["nginx", "wrk", "taskset"] {
        ensure!(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()?
                .success(),
            "{tool} is missing: apt-get install -y nginx wrk util-linux"
        );
    }
    eprintln!("bench: building pylon (release)");
    let status =
        crate::cargo().current_dir(root).args(["build", "--release", "-p", "pylon"]).status()?;
    ensure!(status.success(), "cargo build --release failed");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let pylon = target.join("release/pylon");

    let dir = std::env::temp_dir().join(format!("pylon-bench-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("www"))?;
    std::fs::write(dir.join("www/body"), vec![b'x'; o.body])?;
    let (up, nginx_port, pylon_port) = (free_port()?, free_port()?, free_port()?);
    let nginx_bin = Path::new("nginx");

    let common = |port: u16, body: &str| {
        format!(
            "daemon off; master_process off; worker_processes 1; pid {d}/nginx-{port}.pid;\n\
             error_log {d}/nginx-{port}.err warn; events {{ worker_connections 16384; }}\n\
             http {{ access_log off; keepalive_requests 10000000; keepalive_timeout 75s;\n\
             client_body_temp_path {d}/cb-{port}; proxy_temp_path {d}/pt-{port};\n\
             fastcgi_temp_path {d}/ft-{port}; uwsgi_temp_path {d}/ut-{port}; scgi_temp_path {d}/st-{port};\n\
             {body} }}\n",
            d = dir.display()
        )
    };
    let origin_conf = dir.join("origin.conf");
    std::fs::write(
        &origin_conf,
        common(
            up,
            &format!(
                "server {{ listen 127.0.0.1:{up}; root {}; location / {{ try_files /body =404; }} }}",
                dir.join("www").display()
            ),
        ),
    )?;
    let proxy_conf = dir.join("proxy.conf");
    std::fs::write(
        &proxy_conf,
        common(
            nginx_port,
            &format!(
                "upstream origin {{ server 127.0.0.1:{up}; keepalive 128; }}\n\
                 server {{ listen 127.0.0.1:{nginx_port}; location / {{ proxy_pass http://origin;\n\
                 proxy_http_version 1.1; proxy_set_header Connection \"\"; }} }}"
            ),
        ),
    )?;
    let pylon_conf = dir.join("pylon.toml");
    std::fs::write(
        &pylon_conf,
        format!(
            "[basic]\nthreads = 1\ngrace_period = \"1s\"\ngraceful_shutdown_timeout = \"1s\"\n\
             pid_file = \"{d}/pylon.pid\"\nupgrade_sock = \"{d}/pylon.sock\"\nlog_level = \"warn\"\n\
             [upstreams.origin]\naddrs = [\"127.0.0.1:{up}\"]\n\
             [locations.all]\nupstream = \"origin\"\npath = \"/\"\n\
             [servers.bench]\naddr = \"127.0.0.1:{pylon_port}\"\nlocations = [\"all\"]\n",
            d = dir.display()
        ),
    )?;

    let conf_arg = |p: &Path| p.display().to_string();
    let _origin = spawn(
        "origin nginx",
        "1",
        nginx_bin,
        &["-c", &conf_arg(&origin_conf)],
        &dir.join("origin.log"),
    )?;
    wait_port(up)?;
    let nginx = spawn(
        "nginx proxy",
        "0",
        nginx_bin,
        &["-c", &conf_arg(&proxy_conf)],
        &dir.join("nginx.log"),
    )?;
    let pylon_proc = spawn(
        "pylon",
        "0",
        &pylon,
        &["run", "-c", &conf_arg(&pylon_conf)],
        &dir.join("pylon.log"),
    )?;
    wait_port(nginx_port)?;
    wait_port(pylon_port)?;

    let suts = [("nginx", nginx.pid(), nginx_port), ("pylon", pylon_proc.pid(), pylon_port)];
    for (_, _, port) in suts {
        wrk(&format!("http://127.0.0.1:{port}/body"), 2, o.conns)?; // warm-up
    }
    let mut results: Vec<Vec<Sample>> = vec![Vec::new(), Vec::new()];
    for round in 1..=o.runs {
        for (i, (name, pid, port)) in suts.iter().enumerate() {
            let s = measure(*pid, &format!("http://127.0.0.1:{port}/body"), &o)?;
            eprintln!(
                "bench: round {round} {name}: {:.0} rps, p99 {:.2} ms, {:.2} CPU µs/req, {} errors",
                s.rps, s.p99_ms, s.cpu_us_per_req, s.errors
            );
            results[i].push(s);
        }
    }
    let mut table = String::new();
    let _ =
        writeln!(table, "| proxy | rps (median) | p99 ms | CPU µs/req | errors | CPU vs nginx |");
    let _ = writeln!(table, "|---|---|---|---|---|---|");
    let nginx_cpu = median(results[0].iter().map(|s| s.cpu_us_per_req).collect());
    for (i, (name, _, _)) in suts.iter().enumerate() {
        let r = &results[i];
        let cpu = median(r.iter().map(|s| s.cpu_us_per_req).collect());
        let _ = writeln!(
            table,
            "| {name} | {:.0} | {:.2} | {:.2} | {} | {:.2}x |",
            median(r.iter().map(|s| s.rps).collect()),
            median(r.iter().map(|s| s.p99_ms).collect()),
            cpu,
            r.iter().map(|s| s.errors).sum::<u64>(),
            cpu / nginx_cpu
        );
    }
    use std::io::Write as _;
    writeln!(
        std::io::stdout(),
        "h1, {} B body, {} conns, {} s x {} interleaved rounds, proxy pinned to cpu0:\n{table}",
        o.body,
        o.conns,
        o.duration,
        o.runs
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
