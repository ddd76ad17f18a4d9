//! The successor of a running instance and the service manager's view of it.
//!
//! A listener change on reload (SIGHUP) and a binary upgrade (SIGUSR2, `pylon upgrade`)
//! start `pylon run --upgrade` with this process's config and flags. The successor takes
//! the listening sockets over (pingora's upgrade socket) and tells this process to drain.
//!
//! It must outlive this process and must not be its child: a shell or a service manager
//! waits for the process it started, not for that process's children. So it is started
//! through a short-lived intermediate (this binary again, with [`DETACH_ENV`] set) that
//! starts a new session, starts the successor and exits at once; the successor is then
//! re-parented to init (or the nearest subreaper, e.g. systemd) and has no controlling
//! terminal.
//!
//! Under systemd (`Type=notify`, `NotifyAccess=all`) every instance reports `READY=1` with
//! its own `MAINPID=` once it serves (sd_notify(3)), so systemd follows the main process
//! from the old instance to its successor instead of stopping the service when the old one
//! exits; `STOPPING=1` is sent on shutdown signals.

use std::{
    path::PathBuf,
    process::{Command, ExitCode, Stdio},
};

use crate::RunOptions;

/// Set in the environment of the intermediate process (see the module docs).
pub const DETACH_ENV: &str = "PYLON_DETACH_SUCCESSOR";

/// The executable to start: this process's, or after a binary upgrade on disk (when
/// `/proc/self/exe` reads "… (deleted)") the path this process was started as, which is
/// where the new binary now is.
fn executable() -> std::io::Result<PathBuf> {
    std::env::current_exe()
        .ok()
        .filter(|p| p.exists())
        .or_else(|| std::env::args_os().next().map(PathBuf::from).filter(|p| p.exists()))
        .ok_or_else(|| std::io::Error::other("cannot find the pylon executable"))
}

/// Start `pylon run --upgrade` with `options`' config and flags, detached from this
/// process (through the intermediate). Returns once the successor has been started; it
/// reports itself (its pid, its listeners) when it serves.
pub(crate) fn spawn(options: &RunOptions) -> std::io::Result<()> {
    let mut cmd = Command::new(executable()?);
    cmd.env(DETACH_ENV, "1").arg("run").arg("--upgrade");
    if let Some(path) = &options.config_path {
        cmd.arg("-c").arg(path);
    }
    if options.daemon {
        cmd.arg("--daemon");
    }
    if options.watch {
        cmd.arg("--watch");
    }
    let status = cmd.stdin(Stdio::null()).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("the successor could not be started ({status})")))
    }
}

/// In the intermediate process (when [`DETACH_ENV`] is set): start a new session, start
/// this binary with the same arguments (without [`DETACH_ENV`]) and return the exit code
/// to leave with at once. `None` in every other process.
pub fn detach_if_asked() -> Option<ExitCode> {
    std::env::var_os(DETACH_ENV)?;
    // A new session without a controlling terminal; the successor inherits it. Fails only
    // when this process already leads a process group, which a spawned child does not.
    let _ = nix::unistd::setsid();
    let spawned = std::env::current_exe().and_then(|exe| {
        Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env_remove(DETACH_ENV)
            .stdin(Stdio::null())
            .spawn()
    });
    Some(match spawned {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pylon: cannot start the successor: {e}");
            ExitCode::FAILURE
        }
    })
}

/// Send `state` to the service manager if it asked for notifications (`NOTIFY_SOCKET`,
/// sd_notify(3)); does nothing otherwise. Errors are logged, never fatal.
pub(crate) fn notify(state: &str) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else { return };
    if let Err(e) = send(&socket, state) {
        tracing::warn!("cannot notify the service manager at {}: {e}", socket.to_string_lossy());
    }
}

fn send(socket: &std::ffi::OsStr, state: &str) -> std::io::Result<()> {
    use std::os::unix::{ffi::OsStrExt as _, net::UnixDatagram};
    let sock = UnixDatagram::unbound()?;
    let bytes = socket.as_bytes();
    #[cfg(target_os = "linux")]
    if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt as _;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        sock.send_to_addr(state.as_bytes(), &addr)?;
        return Ok(());
    }
    sock.send_to(state.as_bytes(), std::path::Path::new(std::ffi::OsStr::from_bytes(bytes)))?;
    Ok(())
}

/// `READY=1` with this process as the service's main process.
pub(crate) fn notify_ready() {
    notify(&format!("READY=1\nMAINPID={}\nSTATUS=serving", std::process::id()));
}
