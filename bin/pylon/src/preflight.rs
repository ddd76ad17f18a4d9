//! Checks `pylon run` makes before it touches anything: that no other instance already
//! serves this config (its pid file) and that every listen address is free.
//!
//! Without them a second `pylon run` on busy ports would retry binding for 30 s (pingora),
//! panic in its listener threads, overwrite the running instance's pid file and delete it
//! on exit, so `pylon reload` would no longer find the real instance.

use std::{
    net::{SocketAddr, TcpListener},
    path::Path,
};

use anyhow::{Context as _, bail};
use pylon_config::Config;

/// Fails with one message naming every problem when another instance holds this config's
/// pid file or any listen address is taken.
pub(crate) fn not_running(config: &Config) -> anyhow::Result<()> {
    let pid_file = &config.basic.pid_file;
    if let Some(pid) = running_pylon(pid_file) {
        anyhow::bail!(
            "pylon is already running as pid {pid} (pid file {}); use `pylon reload` to reload \
             it, `pylon run --upgrade` to replace it, or stop it first",
            pid_file.display()
        );
    }
    let mut wanted: Vec<(SocketAddr, String)> = Vec::new();
    for s in &config.servers {
        wanted.extend(s.addrs.iter().map(|a| (*a, format!("servers.{}", s.name))));
    }
    if let Some(admin) = &config.admin {
        wanted.push((admin.addr, "admin".to_owned()));
    }
    // Hold every probe at once, as the real listeners will be held: two addresses of this
    // config that cannot both be bound (e.g. 0.0.0.0:80 and a dual-stack [::]:80) fail here
    // too. The probes close before pingora binds.
    let mut held = Vec::new();
    let mut problems = Vec::new();
    for (addr, owner) in wanted {
        match TcpListener::bind(addr) {
            Ok(l) => held.push(l),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => problems.push(format!(
                "cannot listen on {addr} ({owner}): the address is already in use (another \
                 pylon or server listens there)"
            )),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => problems.push(format!(
                "cannot listen on {addr} ({owner}): permission denied (ports below 1024 need \
                 root or CAP_NET_BIND_SERVICE)"
            )),
            Err(e) => problems.push(format!("cannot listen on {addr} ({owner}): {e}")),
        }
    }
    drop(held);
    // The successor of an upgrade binds this path; a Unix socket path holds at most 107
    // bytes (sun_path), so a longer one would fail only at the first upgrade.
    let sock = &config.basic.upgrade_sock;
    let len = std::path::absolute(sock).map_or(0, |p| p.as_os_str().len());
    if len > MAX_SOCKET_PATH {
        problems.push(format!(
            "basic.upgrade_sock {} is {len} bytes long, more than a Unix socket path may be \
             ({MAX_SOCKET_PATH}); choose a shorter path",
            sock.display()
        ));
    }
    if problems.is_empty() { Ok(()) } else { anyhow::bail!("{}", problems.join("\n")) }
}

/// The longest Unix socket path Linux accepts (`sun_path` is 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// The pid in `pid_file` when it names a live process that is a pylon and not this one.
/// A stale file (no such process, or a reused pid of another program) does not count.
fn running_pylon(pid_file: &Path) -> Option<i32> {
    running_pid(pid_file).ok()
}

/// The pid of the pylon named by `pid_file`, the one that `pylon reload`, `pylon upgrade`
/// and `pylon run --upgrade` may signal; else why there is none. A stale file (no such
/// process, or a pid reused by another program) names no pylon: that process is never
/// signalled.
pub(crate) fn running_pid(pid_file: &Path) -> anyhow::Result<i32> {
    let shown = pid_file.display();
    let text = std::fs::read_to_string(pid_file)
        .with_context(|| format!("no running pylon: cannot read pid file {shown}"))?;
    let pid: i32 = text
        .trim()
        .parse()
        .ok()
        .filter(|pid| *pid > 0)
        .with_context(|| format!("pid file {shown} does not hold a pid"))?;
    if pid == std::process::id() as i32 {
        bail!("pid file {shown} names this process, not a running pylon");
    }
    if !pylon_proxy::is_running(pid) {
        bail!("no running pylon: pid {pid} (from {shown}) is not running; the pid file is stale");
    }
    if !same_program(pid) {
        bail!(
            "no running pylon: pid {pid} (from {shown}) is another program, not pylon; the pid \
             file is stale and that process was not signalled"
        );
    }
    Ok(pid)
}

/// Whether process `pid` runs the same program as this one: the executable's file name,
/// else the process name (`/proc/PID/comm`, readable for other users' processes too).
/// Where `/proc` says nothing, a live process is assumed to be ours.
fn same_program(pid: i32) -> bool {
    let exe_name = |p: &Path| {
        p.file_name().map(|n| n.to_string_lossy().trim_end_matches(" (deleted)").to_owned())
    };
    let ours = std::env::current_exe().ok();
    if let (Ok(theirs), Some(ours)) = (std::fs::read_link(format!("/proc/{pid}/exe")), &ours) {
        return exe_name(&theirs) == exe_name(ours);
    }
    let comm = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned());
    match (comm(&format!("/proc/{pid}/comm")), comm("/proc/self/comm")) {
        (Some(theirs), Some(ours)) => theirs == ours,
        _ => true,
    }
}
