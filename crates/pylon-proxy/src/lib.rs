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

mod admin;
mod app;
mod error_page;
mod explain;
mod framing;
mod headers;
mod listener;
mod metrics;
mod plugins;
mod proxy;
mod recent;
mod runtime;
mod stats;
mod successor;
mod target;
mod tls;

pub use admin::{
    AdminConn, AdminHandle, AdminService, Checked, IMPACT_SAMPLE, Impact, ImpactExample,
    MAX_ADMIN_BODY, Reloaded, Route, Running, check_text, config_model, config_version, impact,
};
pub use app::{Pylon, RunOptions, run};
pub use explain::{CheckReport, Explained, check, explain, lints, route_table};
pub use framing::{Limits as RequestLimits, ScanVerdict, scan_requests};
pub use proxy::Ctx;
pub use recent::RecentRequest;
pub use successor::{DETACH_ENV, detach_if_asked};

pub(crate) use app::Shared;

/// The value checks pylon-config cannot do itself (their languages live in other crates),
/// for [`pylon_config::load_with`]: so `pylon check` reports them with every other error.
pub fn config_checks() -> pylon_config::Checks {
    fn access_log(spec: &str) -> Result<(), String> {
        pylon_accesslog::Template::from_spec(spec).map(|_| ()).map_err(|e| e.to_string())
    }
    fn plugin(p: &pylon_config::Plugin) -> Vec<pylon_config::PluginProblem> {
        pylon_plugin::check(&runtime::plugin_spec(p))
            .into_iter()
            .map(|pr| pylon_config::PluginProblem {
                key: pr.key,
                offset: pr.offset,
                message: pr.message,
            })
            .collect()
    }
    pylon_config::Checks { access_log: Some(access_log), plugin: Some(plugin) }
}

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
    /// SIGUSR2: start a successor from the executable on disk (binary upgrade).
    User2,
}

/// Send `sig` to process `pid`.
pub fn signal(pid: i32, sig: Signal) -> std::io::Result<()> {
    use nix::sys::signal::{Signal as S, kill};
    let s = match sig {
        Signal::Hangup => S::SIGHUP,
        Signal::Quit => S::SIGQUIT,
        Signal::Terminate => S::SIGTERM,
        Signal::User2 => S::SIGUSR2,
    };
    kill(nix::unistd::Pid::from_raw(pid), s).map_err(std::io::Error::from)
}

/// Whether process `pid` exists (signal 0).
pub fn is_running(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}
