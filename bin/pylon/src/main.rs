//! The `pylon` binary: command line, logging and wiring (SPEC §2).

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use pylon_config::{Config, Loaded};

mod admin;
mod allocator;
mod plan;

/// The config served when none is given.
const DEFAULT_CONFIG: &str = include_str!("default.toml");

#[derive(Debug, Parser)]
#[command(name = "pylon", version, about = "Pylon: a reverse proxy on pingora")]
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

fn main() -> ExitCode {
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
        Command::Reload(args) => reload(args.config.as_deref()),
        Command::HashPassword { password } => hash_password(&password),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pylon: {e:#}");
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
                eprintln!("error: {}:1:1: file: cannot read the config file: {e}", p.display());
                bail!("1 configuration error(s)");
            }
        },
        None => DEFAULT_CONFIG.to_owned(),
    };
    let origin = path.unwrap_or(Path::new("<embedded default>"));
    let result = pylon_config::parse_with(&text, origin, pylon_proxy::config_checks());
    result.map(|l| (l, text)).map_err(|errors| {
        for e in &errors.0 {
            eprintln!("error: {e}");
        }
        anyhow::anyhow!("{} configuration error(s)", errors.0.len())
    })
}

fn init_logging(config: &Config) {
    // pingora-load-balancing logs every health change too (with a dump of the peer's
    // options); pylon-upstream reports each change once, so keep pingora's for errors.
    let filter =
        std::env::var("PYLON_LOG").unwrap_or_else(|_| default_filter(&config.basic.log_level));
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// The tracing filter of `basic.log_level`. A bare `debug` or `trace` raises Pylon's own
/// crates only: pingora's debug events dump request and response heads and bodies
/// (credentials, cookies, tokens), so other crates stay at `info`. A filter with directives
/// (`"pingora_proxy=debug,info"`), or `PYLON_LOG`, is taken as written.
fn default_filter(log_level: &str) -> String {
    const OURS: [&str; 9] = [
        "pylon",
        "pylon_proxy",
        "pylon_plugin",
        "pylon_upstream",
        "pylon_config",
        "pylon_admin",
        "pylon_route",
        "pylon_accesslog",
        "pylon_vars",
    ];
    let level = log_level.trim();
    if level.eq_ignore_ascii_case("debug") || level.eq_ignore_ascii_case("trace") {
        let ours: Vec<String> = OURS.iter().map(|t| format!("{t}={level}")).collect();
        format!("info,pingora_load_balancing=error,{}", ours.join(","))
    } else {
        format!("{level},pingora_load_balancing=error")
    }
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let RunArgs { config: path, upgrade, daemon, watch } = args;
    let (loaded, text) = load_text(path.as_deref())?;
    init_logging(&loaded.config);
    for w in loaded.warnings.iter().chain(&pylon_proxy::lints(&loaded.config)) {
        tracing::warn!("{w}");
    }
    let pid_file = loaded.config.basic.pid_file.clone();
    let upgrade = upgrade && {
        match read_pid(&pid_file).ok().filter(|pid| pylon_proxy::is_running(*pid)) {
            Some(old) => {
                quit_when_listening(old, loaded.config.basic.upgrade_sock.clone());
                true
            }
            None => {
                tracing::warn!(
                    "--upgrade: no running pylon found through {}; starting without one",
                    pid_file.display()
                );
                false
            }
        }
    };
    let options = pylon_proxy::RunOptions { config_path: path, upgrade, daemon, watch };
    let mut pylon =
        pylon_proxy::Pylon::with_text(loaded.config, &text, options).map_err(|errors| {
            for e in &errors {
                eprintln!("error: {e}");
            }
            anyhow::anyhow!("{} configuration error(s)", errors.len())
        })?;
    // Always wired: a reload may add `admin_path` to a server (served in place) or
    // [admin] (the successor of that upgrade serves it).
    pylon.set_admin(admin::service(pylon.handle()));
    let server = pylon.into_server().map_err(|errors| {
        for e in &errors {
            eprintln!("error: {e}");
        }
        anyhow::anyhow!("cannot start")
    })?;
    // pingora writes the pid file only when daemonising; write it in the foreground too
    // so `pylon reload` and `--upgrade` find this process (SPEC §9).
    if !daemon {
        std::fs::write(&pid_file, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write pid file {}", pid_file.display()))?;
    }
    tracing::info!(version = pylon_proxy::VERSION, "pylon starting");
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
            eprintln!("{}: invalid ({e})", path.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let report = pylon_proxy::check(&loaded.config);
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    for w in loaded.warnings.iter().chain(&report.warnings) {
        eprintln!("warning: {w}");
    }
    let mut out = std::io::stdout().lock();
    use std::io::Write as _;
    writeln!(out, "{}", report.route_table)?;
    if report.errors.is_empty() {
        writeln!(out, "{}: ok", path.display())?;
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{}: invalid ({} error(s))", path.display(), report.errors.len());
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
    use std::io::Write as _;
    write!(std::io::stdout().lock(), "{text}")?;
    Ok(ExitCode::SUCCESS)
}

fn hash_password(password: &str) -> anyhow::Result<ExitCode> {
    let hash = pylon_admin::hash_password(password).map_err(|e| anyhow::anyhow!(e))?;
    use std::io::Write as _;
    writeln!(std::io::stdout().lock(), "{hash}")?;
    Ok(ExitCode::SUCCESS)
}

fn reload(path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let loaded = load(path)?;
    let pid_file = &loaded.config.basic.pid_file;
    let pid = read_pid(pid_file)?;
    pylon_proxy::signal(pid, pylon_proxy::Signal::Hangup)
        .with_context(|| format!("cannot signal pid {pid} (from {})", pid_file.display()))?;
    eprintln!("sent SIGHUP to pylon (pid {pid})");
    Ok(ExitCode::SUCCESS)
}

fn read_pid(pid_file: &Path) -> anyhow::Result<i32> {
    let text = std::fs::read_to_string(pid_file).with_context(|| {
        format!("no running pylon: cannot read pid file {}", pid_file.display())
    })?;
    text.trim()
        .parse()
        .with_context(|| format!("pid file {} does not hold a pid", pid_file.display()))
}

#[cfg(test)]
mod tests {
    use super::default_filter;

    #[test]
    fn debug_raises_only_pylons_own_crates() {
        let f = default_filter("debug");
        assert!(f.starts_with("info,"), "{f}");
        assert!(f.contains("pylon_proxy=debug") && f.contains("pylon_plugin=debug"), "{f}");
        assert!(!f.contains("pingora_proxy=debug"), "{f}");
        assert_eq!(default_filter("warn"), "warn,pingora_load_balancing=error");
        // Directives are the operator's explicit choice.
        assert_eq!(
            default_filter("pingora_proxy=debug,info"),
            "pingora_proxy=debug,info,pingora_load_balancing=error"
        );
        assert!(tracing_subscriber::EnvFilter::try_new(default_filter("TRACE")).is_ok());
    }
}
