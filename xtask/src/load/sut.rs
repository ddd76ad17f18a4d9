//! The proxies under test and the processes of a bench run: configs written for nginx and
//! Pylon that do the same work (one worker, HTTP/1.1 keep-alive to the origin, h2c and h2
//! over TLS downstream), started pinned to a CPU and stopped by PID.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

use super::plugin::{Plugin, Setup};

/// A child process stopped (TERM, then KILL after 3 s) when dropped — only that PID.
#[derive(Debug)]
pub(crate) struct Proc {
    pub(crate) name: String,
    child: Child,
}

impl Proc {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Start `cmd args` pinned to `cpu`, output to `log`.
    pub(crate) fn spawn(
        name: &str,
        cpu: &str,
        cmd: &Path,
        args: &[&str],
        log: &Path,
    ) -> anyhow::Result<Proc> {
        let out = std::fs::File::create(log)?;
        // taskset execs the command: the child's PID is the server's own.
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
        Ok(Proc { name: name.to_owned(), child })
    }

    /// Fail with the log's tail when the process has already exited.
    pub(crate) fn check_alive(&mut self, log: &Path) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            bail!(
                "{} exited ({status}):\n{}",
                self.name,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        Ok(())
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
    }
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub(crate) fn wait_port(port: u16, proc: &mut Proc, log: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        proc.check_alive(log)?;
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("{} does not listen on 127.0.0.1:{port}", proc.name)
}

/// What the proxy does besides proxying: the variants an operator runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    /// No access log.
    Plain,
    /// nginx's `combined` access log to a file, in both proxies.
    AccessLog,
    /// Pylon's admin listener with Prometheus metrics on (nginx: as `Plain`; it has no
    /// metrics of its own to turn on).
    Metrics,
    /// One plugin on Pylon's location, set up so that the requests pass it (nginx: as
    /// `Plain`).
    Plugin(Plugin),
}

impl Variant {
    pub(crate) fn name(self) -> String {
        match self {
            Variant::Plain => "plain".into(),
            Variant::AccessLog => "access log".into(),
            Variant::Metrics => "metrics".into(),
            Variant::Plugin(p) => format!("plugin {}", p.kind()),
        }
    }
}

/// Ports a proxy listens on for one case.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ports {
    pub(crate) h1: u16,
    pub(crate) h2c: u16,
    pub(crate) tls: u16,
}

/// The files of a run: scratch directory, TLS certificate and key.
#[derive(Debug)]
pub(crate) struct Files {
    pub(crate) dir: PathBuf,
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

impl Files {
    pub(crate) fn new(dir: PathBuf) -> anyhow::Result<Files> {
        std::fs::create_dir_all(&dir)?;
        let key_pair = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()])?;
        params.subject_alt_names.push(rcgen::SanType::IpAddress([127, 0, 0, 1].into()));
        let cert = params.self_signed(&key_pair)?;
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, cert.pem())?;
        std::fs::write(&key_path, key_pair.serialize_pem())?;
        Ok(Files { dir, cert: cert_path, key: key_path })
    }
}

/// nginx as an equivalent reverse proxy: one worker (plus its master, whose CPU counts too),
/// an upstream keep-alive pool, HTTP/1.1 to the origin, h2c and h2 over TLS downstream.
/// `buffering` is nginx's `proxy_buffering` (on is nginx's default).
pub(crate) fn nginx_conf(
    files: &Files,
    tag: &str,
    ports: Ports,
    origin: u16,
    variant: Variant,
    buffering: bool,
) -> String {
    let d = files.dir.display();
    let log = match variant {
        Variant::AccessLog => format!("access_log {d}/nginx-{tag}-access.log combined;"),
        Variant::Plain | Variant::Metrics | Variant::Plugin(_) => "access_log off;".to_owned(),
    };
    format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\npid {d}/nginx-{tag}.pid;\n\
error_log {d}/nginx-{tag}-error.log warn;\nevents {{ worker_connections 16384; }}\n\
http {{\n  {log}\n  server_tokens off;\n  keepalive_timeout 75s;\n  keepalive_requests 10000000;\n\
  client_body_temp_path {d}/{tag}-body; proxy_temp_path {d}/{tag}-proxy;\n\
  fastcgi_temp_path {d}/{tag}-fcgi; uwsgi_temp_path {d}/{tag}-uwsgi; scgi_temp_path {d}/{tag}-scgi;\n\
  upstream origin {{ server 127.0.0.1:{origin}; keepalive 128; }}\n\
  server {{\n    listen 127.0.0.1:{h1};\n    listen 127.0.0.1:{h2c} http2;\n\
    listen 127.0.0.1:{tls} ssl http2;\n    ssl_certificate {cert};\n    ssl_certificate_key {key};\n\
    location / {{\n      proxy_pass http://origin;\n      proxy_http_version 1.1;\n\
      proxy_set_header Connection \"\";\n      proxy_buffering {buf};\n    }}\n  }}\n}}\n",
        h1 = ports.h1,
        h2c = ports.h2c,
        tls = ports.tls,
        cert = files.cert.display(),
        key = files.key.display(),
        buf = if buffering { "on" } else { "off" },
    )
}

/// Pylon doing the same: one worker thread, h1 and h2c on one plain listener (so `h2c` is
/// the `h1` port), h2 over TLS on another.
pub(crate) fn pylon_conf(
    files: &Files,
    tag: &str,
    ports: Ports,
    origin: u16,
    variant: Variant,
    plugin: Option<&Setup>,
) -> anyhow::Result<String> {
    let d = files.dir.display();
    let log = match variant {
        Variant::AccessLog => {
            format!("access_log = \"combined\"\naccess_log_path = \"{d}/pylon-{tag}-access.log\"\n")
        }
        Variant::Plain | Variant::Metrics | Variant::Plugin(_) => String::new(),
    };
    let admin = match variant {
        Variant::Metrics => format!("[admin]\naddr = \"127.0.0.1:{}\"\n", free_port()?),
        Variant::Plain | Variant::AccessLog | Variant::Plugin(_) => String::new(),
    };
    let (plugins, table) = match plugin {
        Some(setup) => ("plugins = [\"bench\"]\n", setup.table.as_str()),
        None => ("", ""),
    };
    Ok(format!(
        "[basic]\nthreads = 1\ngrace_period = \"1s\"\ngraceful_shutdown_timeout = \"1s\"\n\
pid_file = \"{d}/pylon-{tag}.pid\"\nupgrade_sock = \"{d}/pylon-{tag}.sock\"\nlog_level = \"warn\"\n\
[upstreams.origin]\naddrs = [\"127.0.0.1:{origin}\"]\n\
[locations.all]\nupstream = \"origin\"\npath = \"/\"\n{plugins}{table}\
[servers.plain]\naddr = \"127.0.0.1:{h1}\"\nlocations = [\"all\"]\n{log}\
[servers.tls]\naddr = \"127.0.0.1:{tls}\"\nlocations = [\"all\"]\ntls_cert = \"{cert}\"\ntls_key = \"{key}\"\n{log}\
{admin}",
        h1 = ports.h1,
        tls = ports.tls,
        cert = files.cert.display(),
        key = files.key.display(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_config_is_accepted_by_nginx_when_installed() {
        let has_nginx = Command::new("sh")
            .args(["-c", "command -v nginx"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let dir = std::env::temp_dir().join(format!("xtask-nginx-conf-{}", std::process::id()));
        let files = Files::new(dir.clone()).unwrap();
        let ports = Ports { h1: 1, h2c: 2, tls: 3 };
        for (variant, buffering) in [(Variant::Plain, true), (Variant::AccessLog, false)] {
            let conf = nginx_conf(&files, "t", ports, 4, variant, buffering);
            assert!(conf.contains("upstream origin { server 127.0.0.1:4; keepalive 128; }"));
            assert_eq!(conf.contains("combined"), variant == Variant::AccessLog);
            assert!(conf.contains(if buffering {
                "proxy_buffering on"
            } else {
                "proxy_buffering off"
            }));
            if has_nginx {
                let path = dir.join("t.conf");
                std::fs::write(&path, &conf).unwrap();
                let out = Command::new("nginx")
                    .arg("-t")
                    .arg("-e")
                    .arg(dir.join("t-error.log"))
                    .arg("-c")
                    .arg(&path)
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
