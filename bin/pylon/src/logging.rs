//! The error log (SPEC §9, issue 13): tracing-subscriber writing text or JSON lines
//! (`basic.log_format`) to stderr or `basic.log_file`, at `basic.log_level` (or `PYLON_LOG`).
//!
//! - Colours only when the output is a terminal (and `NO_COLOR` is unset); never in a file
//!   or in JSON.
//! - `log_file` is opened for appending and reopened at the same (or a new) path on every
//!   reload, so logrotate can move it away and send `pylon reload`.
//! - `log_level` changes apply on reload; a change of `log_format`, or between stderr and a
//!   file, makes the reload hand over to a successor process (the subscriber is
//!   process-wide), which sets its log up from the new configuration.
//! - pingora logs through the `log` crate; its records are bridged into tracing with the
//!   levels of normal events lowered (see [`adjust`]).

use std::{
    fs::{File, OpenOptions},
    io::{IsTerminal as _, Write},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock, RwLock},
};

use anyhow::Context as _;
use pylon_config::{Config, LogFormat};
use tracing_subscriber::{
    EnvFilter, Layer as _, Registry, fmt::MakeWriter, layer::SubscriberExt as _, reload,
};

/// Where log lines go: stderr or an open log file.
#[derive(Clone)]
enum Sink {
    Stderr,
    File(Arc<File>),
}

/// The process-wide logging state kept for reloads.
struct State {
    sink: RwLock<Sink>,
    /// `basic.log_file` as the subscriber was set up with (`None` = stderr).
    file: Mutex<Option<PathBuf>>,
    filter: reload::Handle<EnvFilter, Registry>,
    /// `PYLON_LOG` overrides `log_level`, at start and on reload.
    env_filter: Option<String>,
}

static STATE: OnceLock<State> = OnceLock::new();

/// The `MakeWriter` of the fmt layer: one write per event to the current sink.
#[derive(Clone, Copy)]
struct Writer;

/// One event's writer; a file opened with `O_APPEND` takes each line in one `write`.
struct EventWriter(Sink);

impl Write for EventWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &self.0 {
            Sink::Stderr => std::io::stderr().write(buf),
            Sink::File(f) => (&**f).write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match &self.0 {
            Sink::Stderr => std::io::stderr().lock().write_all(buf),
            Sink::File(f) => (&**f).write_all(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &self.0 {
            Sink::Stderr => std::io::stderr().flush(),
            Sink::File(_) => Ok(()),
        }
    }
}

impl<'a> MakeWriter<'a> for Writer {
    type Writer = EventWriter;
    fn make_writer(&'a self) -> EventWriter {
        let sink = STATE
            .get()
            .map_or(Sink::Stderr, |s| s.sink.read().unwrap_or_else(|e| e.into_inner()).clone());
        EventWriter(sink)
    }
}

fn open(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open basic.log_file {}", path.display()))
}

/// The filter directives for `level` (a `log_level` value), with pingora's load balancer
/// kept to errors: pylon-upstream reports every health change itself, once.
///
/// A bare `debug` or `trace` raises Pylon's own crates only: pingora's debug events dump
/// request and response heads and bodies (credentials, cookies, tokens), so other crates stay
/// at `info`. A filter with directives (`"pingora_proxy=debug,info"`), or `PYLON_LOG`, is
/// taken as written.
fn directives(level: &str) -> String {
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
    let level = level.trim();
    if level.eq_ignore_ascii_case("debug") || level.eq_ignore_ascii_case("trace") {
        let ours: Vec<String> = OURS.iter().map(|t| format!("{t}={level}")).collect();
        format!("info,pingora_load_balancing=error,{}", ours.join(","))
    } else {
        format!("{level},pingora_load_balancing=error")
    }
}

fn filter(env: Option<&str>, level: &str) -> EnvFilter {
    let text = env.map_or_else(|| directives(level), str::to_owned);
    EnvFilter::try_new(&text).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Set up the error log from `config` (once per process).
pub(crate) fn init(config: &Config) -> anyhow::Result<()> {
    let basic = &config.basic;
    let file = basic.log_file.clone();
    let sink = match &file {
        Some(path) => Sink::File(Arc::new(open(path)?)),
        None => Sink::Stderr,
    };
    let env_filter = std::env::var("PYLON_LOG").ok().filter(|s| !s.trim().is_empty());
    let filter = filter(env_filter.as_deref(), &basic.log_level);
    set_log_max_level(&filter);
    let (filter, handle) = reload::Layer::new(filter);
    let ansi = file.is_none()
        && std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let fmt = match basic.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(Writer)
            .boxed(),
        _ => tracing_subscriber::fmt::layer().with_ansi(ansi).with_writer(Writer).boxed(),
    };
    let state =
        State { sink: RwLock::new(sink), file: Mutex::new(file), filter: handle, env_filter };
    if STATE.set(state).is_err() {
        return Ok(());
    }
    let subscriber = Registry::default().with(filter).with(fmt);
    tracing::subscriber::set_global_default(subscriber)
        .context("cannot install the log subscriber")?;
    let _ = log::set_boxed_logger(Box::new(Bridge));
    Ok(())
}

/// pingora's `log` macros stop at this level before building a record: keep it at the
/// filter's most verbose level, so nothing is formatted only to be dropped.
fn set_log_max_level(filter: &EnvFilter) {
    use tracing_subscriber::filter::LevelFilter as L;
    let max = match filter.max_level_hint() {
        Some(L::OFF) => log::LevelFilter::Off,
        Some(L::ERROR) => log::LevelFilter::Error,
        Some(L::WARN) => log::LevelFilter::Warn,
        Some(L::INFO) => log::LevelFilter::Info,
        Some(L::DEBUG) => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    log::set_max_level(max);
}

/// On reload (SIGHUP, `--watch`): reopen `log_file` (logrotate), apply a new `log_level`.
/// Called with the configuration in effect after the reload (the old one if it was refused).
pub(crate) fn reopen(config: &Config) {
    let Some(state) = STATE.get() else { return };
    let basic = &config.basic;
    let level = filter(state.env_filter.as_deref(), &basic.log_level);
    set_log_max_level(&level);
    if let Err(e) = state.filter.reload(level) {
        tracing::warn!("cannot apply the new log_level: {e}");
    }
    let mut current = state.file.lock().unwrap_or_else(|e| e.into_inner());
    match (&*current, &basic.log_file) {
        (Some(_), Some(path)) => match open(path) {
            Ok(f) => {
                *state.sink.write().unwrap_or_else(|e| e.into_inner()) = Sink::File(Arc::new(f));
                *current = Some(path.clone());
                tracing::info!("error log reopened: {}", path.display());
            }
            Err(e) => tracing::error!("{e:#}; logging on to the file opened before"),
        },
        (None, None) => {}
        // Between stderr and a file: the reload hands over to a successor process, which
        // sets its log up from the new configuration.
        _ => {}
    }
}

/// The bridge from pingora's `log` records into tracing.
struct Bridge;

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        let Some(level) = adjust(record.target(), record.level(), record.args()) else { return };
        // Level, target and message only: a JSON line then carries no source paths of the
        // dependency that logged.
        let record = log::Record::builder()
            .level(level)
            .target(record.target())
            .args(*record.args())
            .build();
        let _ = tracing_log::format_trace(&record);
    }

    fn flush(&self) {}
}

/// The level a pingora record is logged at, `None` to drop it. Normal events are not
/// errors:
/// - a client that drops or fails its TLS handshake (or never finishes it) is the client's
///   business: debug;
/// - pingora-load-balancing's own health transitions duplicate pylon-upstream's one-line
///   reports (with a dump of the peer's options): dropped;
/// - the successor of a graceful upgrade polls for the sockets before the running instance
///   has sent them, which pingora reports as an error on every normal upgrade: info;
/// - an idle upstream connection taken from the pool while pingora's idle watcher still
///   holds it (`TransportConnector::reused_stream`) is a race pingora answers by opening a
///   new connection, yet logs as an error, hundreds of times a minute under load: debug.
fn adjust(target: &str, level: log::Level, args: &std::fmt::Arguments<'_>) -> Option<log::Level> {
    if level > log::Level::Info {
        return Some(level);
    }
    if target.starts_with("pingora_core::services::listening") {
        let text = args.to_string();
        if text.starts_with("Downstream handshake") {
            return Some(log::Level::Debug);
        }
    } else if target.starts_with("pingora_core::server::transfer_fd") {
        let text = args.to_string();
        if text.starts_with("No incoming socket transfer") {
            return Some(log::Level::Info);
        }
    } else if target.starts_with("pingora_core::connectors") {
        let text = args.to_string();
        if text == "failed to acquire reusable stream" {
            return Some(log::Level::Debug);
        }
    } else if target.starts_with("pingora_load_balancing") {
        let text = args.to_string();
        if text.contains("becomes unhealthy") || text.contains("becomes healthy") {
            return None;
        }
    }
    Some(level)
}

#[cfg(test)]
mod tests {
    use super::{adjust, directives};
    use log::Level;

    #[test]
    fn debug_raises_only_pylons_own_crates() {
        let f = directives("debug");
        assert!(f.starts_with("info,"), "{f}");
        assert!(f.contains("pylon_proxy=debug") && f.contains("pylon_plugin=debug"), "{f}");
        assert!(!f.contains("pingora_proxy=debug"), "{f}");
        assert_eq!(directives("warn"), "warn,pingora_load_balancing=error");
        // Directives are the operator's explicit choice.
        assert_eq!(
            directives("pingora_proxy=debug,info"),
            "pingora_proxy=debug,info,pingora_load_balancing=error"
        );
        assert!(tracing_subscriber::EnvFilter::try_new(directives("TRACE")).is_ok());
    }

    macro_rules! adjusts {
        ($name:ident, $target:expr, $level:expr, $text:expr, $want:expr) => {
            #[test]
            fn $name() {
                assert_eq!(adjust($target, $level, &format_args!("{}", $text)), $want);
            }
        };
    }

    adjusts!(
        tls_handshake_error_is_debug,
        "pingora_core::services::listening",
        Level::Error,
        "Downstream handshake error from 127.0.0.1:5000: TLSHandshakeFailure",
        Some(Level::Debug)
    );
    adjusts!(
        tls_handshake_timeout_is_debug,
        "pingora_core::services::listening",
        Level::Error,
        "Downstream handshake timeout",
        Some(Level::Debug)
    );
    adjusts!(
        accept_failure_stays_error,
        "pingora_core::services::listening",
        Level::Error,
        "Accept() failed too many open files",
        Some(Level::Error)
    );
    adjusts!(
        lb_health_change_is_dropped,
        "pingora_load_balancing",
        Level::Warn,
        "upstream api peer 127.0.0.1:1 becomes unhealthy, ConnectRefused",
        None
    );
    adjusts!(
        upgrade_wait_is_info,
        "pingora_core::server::transfer_fd",
        Level::Error,
        "No incoming socket transfer, sleep 1s and try again",
        Some(Level::Info)
    );
    adjusts!(
        upgrade_failure_stays_error,
        "pingora_core::server::transfer_fd",
        Level::Error,
        "Error accepting socket transfer: EBADF",
        Some(Level::Error)
    );
    adjusts!(
        pool_reuse_race_is_debug,
        "pingora_core::connectors",
        Level::Error,
        "failed to acquire reusable stream",
        Some(Level::Debug)
    );
    adjusts!(
        connector_errors_stay_errors,
        "pingora_core::connectors::l4",
        Level::Error,
        "connect failed",
        Some(Level::Error)
    );
    adjusts!(debug_passes, "pingora_core::server", Level::Debug, "x", Some(Level::Debug));
}
