//! pylon-proxy: the Pylon reverse proxy core on pingora.
//!
//! A [`Config`](pylon_config::Config) is compiled into a runtime (route tables,
//! upstream pools, access logs, header programs, error pages) that is held in an
//! `ArcSwap` and replaced whole on reload. Each request loads it once and keeps it,
//! so one request never mixes two configurations.
//!
//! ```no_run
//! let loaded = pylon_config::load(std::path::Path::new("conf/pylon.toml")).unwrap();
//! let pylon = pylon_proxy::Pylon::new(loaded.config, pylon_proxy::RunOptions::default()).unwrap();
//! pylon.into_server().unwrap().run_forever();
//! ```

mod app;
mod error_page;
mod explain;
mod headers;
mod listener;
mod proxy;
mod runtime;
mod stats;
mod tls;

pub use app::{Pylon, RunOptions, run};
pub use explain::{CheckReport, check, explain, route_table};
pub use proxy::Ctx;

pub(crate) use app::Shared;

/// The version shown in error pages and stats.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// pingora, as pylon-proxy uses it (the binary runs the [`pingora::server::Server`]).
pub use pingora;

/// A signal `pylon` sends to a running instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signal {
    /// SIGHUP: hot reload.
    Hangup,
    /// SIGQUIT: hand the listeners to a successor (if one waits) and drain.
    Quit,
    /// SIGTERM: stop accepting, finish in-flight requests, exit.
    Terminate,
}

/// Send `sig` to process `pid`.
pub fn signal(pid: i32, sig: Signal) -> std::io::Result<()> {
    use nix::sys::signal::{Signal as S, kill};
    let s = match sig {
        Signal::Hangup => S::SIGHUP,
        Signal::Quit => S::SIGQUIT,
        Signal::Terminate => S::SIGTERM,
    };
    kill(nix::unistd::Pid::from_raw(pid), s).map_err(std::io::Error::from)
}

/// Whether process `pid` exists (signal 0).
pub fn is_running(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}
