//! The `pylon` binary: command line, logging and wiring (SPEC §2).

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use pylon_config::{Loaded, counted};

/// `print!` for a command's output: a reader that went away (`pylon plan … | head`) ends the
/// output quietly (see [`stdout_write`]) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => { $crate::stdout_write(format_args!($($arg)*)) };
}

/// `eprintln!` without its panic when stderr is a closed pipe (`pylon plan … |& head`): a
/// message nobody can read is dropped.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::stderr_line(format_args!($($arg)*)) };
}

mod admin;
mod allocator;
mod logging;
mod plan;
mod preflight;

/// The config served when none is given.
const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// `pylon --version`: the version, the git commit and the build date (see build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PYLON_GIT_COMMIT"),
    ", built ",
    env!("PYLON_BUILD_DATE"),
    ")"
);

#[derive(Debug, Parser)]
#[command(name = "pylon", version = VERSION, about = "Pylon: a reverse proxy on pingora")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the proxy (the default command).
    Run(RunArgs),
    /// Validate a config: every error with file:line, lints, the compiled route table.
    Check(ConfigArg),
    /// Show how a URL would be routed: server, candidate locations, rewrite, upstream, peer.
    Explain(ExplainArgs),
    /// Show what applying a config would change: errors, lints, text and semantic diff, and
    /// (from a running instance's admin API) the impact on the requests it served.
    Plan(PlanArgs),
    /// Ask the running instance (pid file of the config) to reload: SIGHUP.
    Reload(OptionalConfigArg),
    /// Ask the running instance (pid file of the config) to start a successor from the
    /// executable on disk and hand it the listening sockets: SIGUSR2 (binary upgrade).
    Upgrade(OptionalConfigArg),
    /// Print an argon2id hash of PASSWORD for `[admin] users` (on the last line).
    HashPassword {
        /// The password to hash.
        password: String,
    },
}

#[derive(Debug, Args, Default)]
struct RunArgs {
    /// Config file; without it an embedded demo config is served.
    #[arg(short, long, env = "PYLON_CONFIG")]
    config: Option<PathBuf>,
    /// Take over the listening sockets of the running instance, then tell it to drain and exit.
    #[arg(short, long)]
    upgrade: bool,
    /// Run in the background (pid file from `basic.pid_file`).
    #[arg(short, long)]
    daemon: bool,
    /// Reload when the config file changes.
    #[arg(short, long)]
    watch: bool,
}

#[derive(Debug, Args)]
struct ConfigArg {
    /// Config file.
    #[arg(short, long, env = "PYLON_CONFIG")]
    config: PathBuf,
}

#[derive(Debug, Args)]
struct OptionalConfigArg {
    /// Config file (for its pid_file); without it the embedded default's.
    #[arg(short, long, env = "PYLON_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct PlanArgs {
    /// The candidate config file.
    #[arg(short, long, env = "PYLON_CONFIG")]
    config: PathBuf,
    /// The running instance's admin URL (default: the candidate's `[admin] addr`).
    #[arg(long)]
    admin: Option<String>,
    /// Admin user for a login; the password comes from the PYLON_ADMIN_PASSWORD variable.
    #[arg(long)]
    user: Option<String>,
    /// Offline (no running instance answers): the config to compare against.
    #[arg(long)]
    against: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ExplainArgs {
    /// Config file.
    #[arg(short, long, env = "PYLON_CONFIG")]
    config: PathBuf,
    /// The request URL, e.g. `http://example.com:6188/api/users?id=1`
    url: String,
    /// Extra request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
}

/// Write to stdout. A reader that went away (broken pipe: `pylon plan … | head`) is no
/// error: the rest of the output is dropped and the command keeps its exit code (a plan's
/// or check's verdict).
fn stdout_write(args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result,
    }
}

/// Write a line to stderr, dropping it when stderr cannot be written.
fn stderr_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{args}");
}

fn main() -> ExitCode {
    if let Some(code) = pylon_proxy::detach_if_asked() {
        return code;
    }
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::Run(args) => {
            allocator::tune_for_serving();
            run(args)
        }
        Command::Check(args) => check(&args.config),
        Command::Explain(args) => explain(args),
        Command::Plan(args) => plan::run(plan::PlanArgs {
            config: &args.config,
            admin: args.admin,
            user: args.user,
            against: args.against.as_deref(),
        }),
        Command::Reload(args) => signal(args.config.as_deref(), pylon_proxy::Signal::Hangup),
        Command::Upgrade(args) => signal(args.config.as_deref(), pylon_proxy::Signal::User2),
        Command::HashPassword { password } => hash_password(&password),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            errln!("pylon: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Load a config file, or the embedded default; on errors print every one and fail.
fn load(path: Option<&Path>) -> anyhow::Result<Loaded> {
    load_text(path).map(|(loaded, _)| loaded)
}

/// [`load`], also returning the text (the admin shows and versions it).
fn load_text(path: Option<&Path>) -> anyhow::Result<(Loaded, String)> {
    let text = match path {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => t,
            Err(e) => {
                errln!("error: {}:1:1: file: cannot read the config file: {e}", p.display());
                bail!("1 configuration error");
            }
        },
        None => DEFAULT_CONFIG.to_owned(),
    };
    let origin = path.unwrap_or(Path::new("<embedded default>"));
    let result = pylon_config::parse_with(&text, origin, pylon_proxy::config_checks());
    result.map(|l| (l, text)).map_err(|errors| {
        for e in &errors.0 {
            errln!("error: {e}");
        }
        anyhow::anyhow!("{}", counted(errors.0.len(), "configuration error"))
    })
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let RunArgs { config: path, upgrade, daemon, watch } = args;
    // Absolute, so the paths inside it still resolve after `--daemon` moves to `/`, and a
    // successor started on reload reads the same file.
    let path = match path {
        Some(p) => Some(
            std::path::absolute(&p)
                .with_context(|| format!("cannot resolve the config path {}", p.display()))?,
        ),
        None => None,
    };
    let (loaded, text) = load_text(path.as_deref())?;
    logging::init(&loaded.config)?;
    tracing::info!("pylon {VERSION} starting");
    for w in loaded.warnings.iter().chain(&pylon_proxy::lints(&loaded.config)) {
        tracing::warn!("{w}");
    }
    let pid_file = loaded.config.basic.pid_file.clone();
    let upgrade = upgrade && {
        match preflight::running_pid(&pid_file) {
            Ok(old) => {
                quit_when_listening(old, loaded.config.basic.upgrade_sock.clone());
                true
            }
            Err(e) => {
                tracing::warn!("--upgrade: {e:#}; starting without one");
                false
            }
        }
    };
    if !upgrade {
        // Another instance on the same ports or pid file: fail now, before this process
        // touches its pid file or upgrade socket.
        preflight::not_running(&loaded.config)?;
    }
    if daemon {
        // A daemon's stdout and stderr are /dev/null (see pylon_proxy's server_conf).
        if loaded.config.basic.log_file.is_none() {
            tracing::warn!(
                "running as a daemon without basic.log_file: the error log is discarded"
            );
        }
        for s in loaded.config.servers.iter().filter(|s| s.access_log.is_some()) {
            if s.access_log_path.is_none() {
                tracing::warn!(
                    "servers.{}: the access log goes to stdout, which a daemon does not have; \
                     set access_log_path",
                    s.name
                );
            }
        }
    }
    let options = pylon_proxy::RunOptions {
        config_path: path,
        upgrade,
        daemon,
        watch,
        on_reload: Some(logging::reopen),
    };
    let mut pylon =
        pylon_proxy::Pylon::with_text(loaded.config, &text, options).map_err(|errors| {
            for e in &errors {
                errln!("error: {e}");
            }
            anyhow::anyhow!("{}", counted(errors.len(), "configuration error"))
        })?;
    // Always wired: a reload may add `admin_path` to a server (served in place) or
    // [admin] (the successor of that upgrade serves it).
    pylon.set_admin(admin::service(pylon.handle()));
    let server = pylon.into_server().map_err(|errors| {
        for e in &errors {
            errln!("error: {e}");
        }
        anyhow::anyhow!("cannot start")
    })?;
    // pingora writes the pid file only when daemonising; write it in the foreground too
    // so `pylon reload` and `--upgrade` find this process (SPEC §9).
    if !daemon {
        std::fs::write(&pid_file, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write pid file {}", pid_file.display()))?;
    }
    pylon_proxy::run(server);
    // Only remove the pid file if it is still ours (an upgrade's successor rewrites it).
    if std::fs::read_to_string(&pid_file).is_ok_and(|s| s.trim() == std::process::id().to_string())
    {
        let _ = std::fs::remove_file(&pid_file);
    }
    tracing::info!("pylon stopped");
    Ok(ExitCode::SUCCESS)
}

/// The upgrade handshake from the new side: pingora's bootstrap binds `upgrade_sock` and
/// waits for the old process's sockets, which it sends on SIGQUIT. Send that SIGQUIT once
/// the socket is bound (a fresh file), so `pylon run --upgrade` is one command.
fn quit_when_listening(old_pid: i32, upgrade_sock: PathBuf) {
    let started = std::time::SystemTime::now() - std::time::Duration::from_millis(100);
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            let fresh = std::fs::symlink_metadata(&upgrade_sock)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= started);
            if fresh {
                match pylon_proxy::signal(old_pid, pylon_proxy::Signal::Quit) {
                    Ok(()) => tracing::info!(old_pid, "asked the running pylon to hand over"),
                    Err(e) => tracing::error!(old_pid, "cannot signal the running pylon: {e}"),
                }
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        tracing::error!("{} was never bound; upgrade abandoned", upgrade_sock.display());
    });
}

fn check(path: &Path) -> anyhow::Result<ExitCode> {
    let loaded = match load(Some(path)) {
        Ok(l) => l,
        Err(e) => {
            errln!("{}: invalid ({e})", path.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let report = pylon_proxy::check(&loaded.config);
    for e in &report.errors {
        errln!("error: {e}");
    }
    for w in loaded.warnings.iter().chain(&report.warnings) {
        errln!("warning: {w}");
    }
    out!("{}\n", report.route_table)?;
    if report.errors.is_empty() {
        out!("{}: ok\n", path.display())?;
        Ok(ExitCode::SUCCESS)
    } else {
        errln!("{}: invalid ({})", path.display(), counted(report.errors.len(), "error"));
        Ok(ExitCode::FAILURE)
    }
}

fn explain(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let loaded = load(Some(&args.config))?;
    let mut headers = Vec::new();
    for h in &args.headers {
        let Some((name, value)) = h.split_once(':') else {
            bail!("header {h:?} is not `Name: value`");
        };
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let text = pylon_proxy::explain(&loaded.config, &args.url, &headers)
        .map_err(|e| anyhow::anyhow!(e))?;
    out!("{text}")?;
    Ok(ExitCode::SUCCESS)
}

fn hash_password(password: &str) -> anyhow::Result<ExitCode> {
    let hash = pylon_admin::hash_password(password).map_err(|e| anyhow::anyhow!(e))?;
    out!("{hash}\n")?;
    Ok(ExitCode::SUCCESS)
}

/// `pylon reload` / `pylon upgrade`: `sig` to the pid in the config's pid file.
fn signal(path: Option<&Path>, sig: pylon_proxy::Signal) -> anyhow::Result<ExitCode> {
    let loaded = load(path)?;
    let pid_file = &loaded.config.basic.pid_file;
    let pid = preflight::running_pid(pid_file)?;
    pylon_proxy::signal(pid, sig)
        .with_context(|| format!("cannot signal pid {pid} (from {})", pid_file.display()))?;
    let name = match sig {
        pylon_proxy::Signal::User2 => "SIGUSR2 (upgrade)",
        _ => "SIGHUP (reload)",
    };
    errln!("sent {name} to pylon (pid {pid})");
    Ok(ExitCode::SUCCESS)
}
