//! Wiring: the pingora [`Server`] with one proxy service per `[servers.NAME]` and
//! one supervisor background service (runtime build, health checks, reloads).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime},
};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::{
    apps::HttpServerOptions,
    proxy::HttpProxy,
    server::{
        RunArgs, Server, ShutdownSignal, ShutdownSignalWatch, ShutdownWatch,
        configuration::{Opt, ServerConf},
    },
    services::{
        ServiceReadyNotifier,
        background::{BackgroundService, background_service},
        listening::Service,
    },
};
use pylon_config::{Config, Diagnostic};

use crate::{
    admin::{AdminHandle, AdminListener, AdminService, Reloaded},
    listener::PylonApp,
    proxy::PylonHttp,
    runtime::Runtime,
    stats::Stats,
};

/// How `pylon run` was asked to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The config file, re-read on reload. `None` = the embedded default (reload re-validates it).
    pub config_path: Option<PathBuf>,
    /// Take the listening sockets from a running instance (pingora's upgrade socket).
    pub upgrade: bool,
    /// Fork into the background (pid file from `basic.pid_file`).
    pub daemon: bool,
    /// Reload when the config file changes.
    pub watch: bool,
    /// Called after every reload attempt (SIGHUP, `--watch`) with the configuration then in
    /// effect (the previous one when the new file was refused): the binary reopens its
    /// error-log file there, for logrotate.
    pub on_reload: Option<fn(&Config)>,
}

/// State shared by every proxy service and the supervisor.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) runtime: ArcSwap<Runtime>,
    pub(crate) stats: Stats,
    pub(crate) config_path: Option<PathBuf>,
    /// The text of the running configuration and its version ([`crate::config_version`]).
    source: Mutex<(Arc<str>, String)>,
    options: RunOptions,
    /// The config to build the first runtime from, taken by the supervisor at start
    /// (after pingora forked, when daemonising: threads made before that are lost).
    initial: Mutex<Option<Config>>,
    reload_lock: tokio::sync::Mutex<()>,
    /// The admin application: the `[admin]` listener's and every `admin_path`'s.
    pub(crate) admin: std::sync::OnceLock<Arc<dyn AdminService>>,
}

impl Shared {
    fn new(config: &Config, text: &str, options: &RunOptions) -> Shared {
        Shared {
            runtime: ArcSwap::from_pointee(Runtime::empty(config)),
            stats: Stats::default(),
            config_path: options.config_path.clone(),
            source: Mutex::new((Arc::from(text), crate::config_version(text))),
            options: options.clone(),
            initial: Mutex::new(Some(config.clone())),
            reload_lock: tokio::sync::Mutex::new(()),
            admin: std::sync::OnceLock::new(),
        }
    }

    /// The running config's text and version.
    pub(crate) fn source(&self) -> (Arc<str>, String) {
        self.source.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The stats document, with the per-server metric series when they are recorded.
    pub(crate) fn stats_json(&self) -> serde_json::Value {
        let rt = self.runtime.load();
        let locations: Vec<&str> = rt.config.locations.iter().map(|l| l.name.as_str()).collect();
        let upstreams: Vec<_> =
            rt.pools_in_order().into_iter().map(|(n, p)| (n, p.peers())).collect();
        let mut doc = self.stats.to_json(&locations, &upstreams);
        let (_, version) = self.source();
        doc["config_version"] = serde_json::Value::String(version);
        doc["servers"] = crate::metrics::servers_json(&rt);
        doc
    }

    /// Re-read the config file, compile it and swap it in. On any error the running
    /// runtime stays and every error is returned.
    pub(crate) async fn reload(&self) -> Result<Reloaded, Vec<Diagnostic>> {
        let result = self.reload_inner().await;
        let m = &self.stats.metrics;
        match &result {
            Ok(_) => m.reloads.fetch_add(1, Ordering::Relaxed),
            Err(_) => m.reload_failures.fetch_add(1, Ordering::Relaxed),
        };
        result
    }

    async fn reload_inner(&self) -> Result<Reloaded, Vec<Diagnostic>> {
        let _guard = self.reload_lock.lock().await;
        let (config, text) = match &self.config_path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    vec![Diagnostic {
                        file: path.display().to_string(),
                        line: 1,
                        column: 1,
                        key: "file".to_owned(),
                        message: format!("cannot read the config file: {e}"),
                    }]
                })?;
                let loaded = pylon_config::parse_with(&text, path, crate::config_checks())
                    .map_err(|e| e.0)?;
                (loaded.config, Some(text))
            }
            None => (self.runtime.load().config.as_ref().clone(), None),
        };
        let current = self.runtime.load_full();
        if config.servers.is_empty() && !current.config.servers.is_empty() {
            // An empty or truncated file (an editor mid-save, `: > pylon.toml` under
            // --watch) parses as a config without servers: reloading it would stop serving
            // every request and hand the sockets to a successor with default paths.
            return Err(vec![config.diagnostic(
                "servers",
                "the new configuration has no [servers]: reloading it would stop serving \
                 every request, so it is refused (stop pylon to stop serving)",
            )]);
        }
        let listeners_changed = listener_summary(&current.config) != listener_summary(&config);
        if listeners_changed {
            let busy = unbindable(&current.config, &config);
            if !busy.is_empty() {
                return Err(busy);
            }
        }
        let (old, new) = (&current.config.basic, &config.basic);
        // What only a new process can change: its runtimes and its log subscriber.
        let process_changed = old.threads != new.threads
            || old.log_format != new.log_format
            || old.log_file.is_some() != new.log_file.is_some();
        let rt = Runtime::build(config, Some(&current), &self.stats, None).await?;
        self.runtime.store(Arc::new(rt));
        if let Some(text) = text {
            let version = crate::config_version(&text);
            *self.source.lock().unwrap_or_else(|e| e.into_inner()) = (Arc::from(text), version);
        }
        let upgrade = listeners_changed || process_changed;
        if upgrade {
            tracing::info!(
                "reloaded routes, upstreams, headers and logs; listeners, threads or the log \
                 output changed: starting a successor with --upgrade to take over the sockets"
            );
            match crate::successor::spawn(&self.options) {
                Ok(()) => tracing::info!("successor started"),
                Err(e) => tracing::error!(
                    "cannot start the successor ({e}); the listener change waits for \
                     `pylon run --upgrade`"
                ),
            }
        } else {
            tracing::info!("configuration reloaded");
        }
        Ok(Reloaded { upgrade })
    }
}

/// The addresses `new` listens on whose port `current` does not hold and that cannot be
/// bound now (another process has them, or they are not this host's). A successor would
/// wait for them forever after the old process handed its sockets over, so such a reload is
/// refused and nothing changes. (std binds with `SO_REUSEADDR`, as pingora does: sockets in
/// TIME_WAIT do not count.)
fn unbindable(current: &Config, new: &Config) -> Vec<Diagnostic> {
    let listens = |c: &Config| -> Vec<(String, SocketAddr)> {
        let servers = c
            .servers
            .iter()
            .flat_map(|s| s.addrs.iter().map(move |a| (format!("servers.{}.addr", s.name), *a)));
        servers.chain(c.admin.as_ref().map(|a| ("admin.addr".to_owned(), a.addr))).collect()
    };
    let held: Vec<u16> = listens(current).iter().map(|(_, a)| a.port()).collect();
    listens(new)
        .into_iter()
        .filter(|(_, addr)| !held.contains(&addr.port()))
        .filter_map(|(key, addr)| {
            let e = std::net::TcpListener::bind(addr).err()?;
            Some(new.diagnostic(&key, format!("cannot listen on {addr}: {e}")))
        })
        .collect()
}

/// What a hot reload cannot change in place: per server, its addresses and TLS settings,
/// including the certificate files' modification times (a renewed certificate at the same
/// path is picked up by the successor).
fn listener_summary(config: &Config) -> Vec<String> {
    let stamp = |p: &Path| mtime(p).map(|t| format!("{t:?}")).unwrap_or_default();
    let certs: Vec<String> = config
        .certificates
        .iter()
        .map(|c| format!("{}:{}:{}", c.name, stamp(&c.tls_cert), stamp(&c.tls_key)))
        .collect();
    let admin = config.admin.as_ref().map(|a| {
        let own = match (&a.tls_cert, &a.tls_key) {
            (Some(c), Some(k)) => format!("{}:{}", stamp(c), stamp(k)),
            _ => String::new(),
        };
        let shared = if a.tls { certs.join(",") } else { String::new() };
        format!("admin|{}|{:?}|{:?}|{}|{own}|{shared}", a.addr, a.tls_cert, a.tls_key, a.tls)
    });
    config
        .servers
        .iter()
        .map(|s| {
            let own = match (&s.tls_cert, &s.tls_key) {
                (Some(c), Some(k)) => format!("{}:{}", stamp(c), stamp(k)),
                _ => String::new(),
            };
            let shared = if s.tls { certs.join(",") } else { String::new() };
            format!(
                "{}|{:?}|{:?}|{:?}|{}|{}|{own}|{shared}",
                s.name, s.addrs, s.tls_cert, s.tls_key, s.tls, s.enable_h2
            )
        })
        .chain(admin)
        .collect()
}

/// Set by SIGTERM: exit once nothing is in flight (see `Supervisor::exit_when_idle`).
static EXIT_WHEN_IDLE: AtomicBool = AtomicBool::new(false);

/// pylon's signals (SPEC §9): SIGQUIT hands the listeners to a waiting successor and
/// drains for `grace_period`; SIGTERM stops accepting, lets in-flight requests finish
/// (within `grace_period`) and exits as soon as they have; SIGINT exits at once.
struct Signals {
    upgrade_sock: PathBuf,
}

#[async_trait]
impl ShutdownSignalWatch for Signals {
    async fn recv(&self) -> ShutdownSignal {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut quit), Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::quit()),
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot install signal handlers");
            return std::future::pending().await;
        };
        tokio::select! {
            // A successor waiting for the sockets has bound the upgrade socket (pingora
            // unlinks it once a transfer is over). Without one, hand-over would only retry
            // for 5 s and keep accepting 5 s more: drain straight away instead.
            _ = quit.recv() => if self.upgrade_sock.exists() {
                tracing::info!("SIGQUIT: handing the listening sockets to the successor");
                ShutdownSignal::GracefulUpgrade
            } else {
                // Nobody to hand over to: this is a stop. Exit as soon as nothing is in
                // flight, like SIGTERM, instead of sitting out the grace period.
                tracing::info!("SIGQUIT with no successor waiting: draining, then exiting");
                crate::successor::notify("STOPPING=1");
                EXIT_WHEN_IDLE.store(true, Ordering::Release);
                ShutdownSignal::GracefulTerminate
            },
            _ = term.recv() => {
                tracing::info!("SIGTERM: finishing the requests in flight, then exiting");
                crate::successor::notify("STOPPING=1");
                EXIT_WHEN_IDLE.store(true, Ordering::Release);
                ShutdownSignal::GracefulTerminate
            }
            _ = int.recv() => {
                crate::successor::notify("STOPPING=1");
                ShutdownSignal::FastShutdown
            }
        }
    }
}

/// Run a server built by [`Pylon::into_server`] until it is told to stop, with pylon's
/// signal handling.
pub fn run(server: Server) {
    let upgrade_sock = PathBuf::from(&server.configuration.upgrade_sock);
    server.run(RunArgs { shutdown_signal: Box::new(Signals { upgrade_sock }) });
}

/// A validated config, ready to become a pingora server.
#[derive(Debug)]
pub struct Pylon {
    config: Config,
    options: RunOptions,
    shared: Arc<Shared>,
}

impl Pylon {
    /// Compile `config` once (in a throw-away runtime) so every error surfaces now, in the
    /// foreground, before anything listens. `text` is the config file's text (the admin
    /// shows it and versions it; `""` when there is no admin).
    pub fn new(config: Config, options: RunOptions) -> Result<Pylon, Vec<Diagnostic>> {
        Pylon::with_text(config, "", options)
    }

    /// [`Pylon::new`] with the text `config` was parsed from.
    pub fn with_text(
        config: Config,
        text: &str,
        options: RunOptions,
    ) -> Result<Pylon, Vec<Diagnostic>> {
        compile(&config)?;
        let shared = Arc::new(Shared::new(&config, text, &options));
        Ok(Pylon { config, options, shared })
    }

    /// The handle the admin uses to see and change the running proxy.
    pub fn handle(&self) -> AdminHandle {
        AdminHandle { shared: self.shared.clone() }
    }

    /// The admin HTTP application to serve on the `[admin]` listener (and under a server's
    /// `admin_path`). A config with `[admin]` needs one.
    /// Set once: later calls are ignored.
    pub fn set_admin(&mut self, service: Arc<dyn AdminService>) {
        let _ = self.shared.admin.set(service);
    }

    /// The pingora server: listeners of every `[servers.NAME]`, the supervisor, and
    /// pingora's `ServerConf` built from `[basic]`.
    pub fn into_server(self) -> Result<Server, Vec<Diagnostic>> {
        let Pylon { config, options, shared } = self;
        let conf = server_conf(&config, &options);
        let opt = Opt {
            upgrade: options.upgrade,
            daemon: options.daemon,
            nocapture: false,
            test: false,
            conf: None,
        };
        let mut server = Server::new_with_opt_and_conf(opt, conf);
        server.bootstrap();

        let tls_settings = tls_listeners(&config)?;
        let admin_tls = crate::tls::admin_resolver(&config)?;
        let admin = shared.admin.get().cloned();
        if admin.is_none() {
            if let Some(s) = config.servers.iter().find(|s| s.admin_path.is_some()) {
                return Err(vec![config.diagnostic(
                    &format!("servers.{}.admin_path", s.name),
                    "this program serves no admin application; remove admin_path",
                )]);
            }
        }
        let servers = config.servers.clone();
        // For positions in errors found while wiring listeners (the config itself moves
        // into the supervisor below).
        let diagnostics = config.clone();
        let grace_period = config.basic.grace_period;
        let admin_addr = config.admin.as_ref().map(|a| a.addr);
        let supervisor = background_service(
            "pylon supervisor",
            Supervisor { shared: shared.clone(), watch: options.watch },
        );
        let supervisor = server.add_service(supervisor);

        for (s, tls) in servers.iter().zip(tls_settings) {
            let make = |h2c: bool| {
                let app = PylonHttp { shared: shared.clone(), server: s.name.clone() };
                let mut proxy = HttpProxy::new(app, server.configuration.clone());
                let mut options = HttpServerOptions::default();
                options.h2c = h2c;
                proxy.server_options = Some(options);
                proxy.handle_init_modules();
                Arc::new(proxy)
            };
            let app = PylonApp {
                http: make(false),
                h2c: s.enable_h2.then(|| make(true)),
                header_read_timeout: s.header_read_timeout,
                max_head: usize::try_from(s.max_header_size).unwrap_or(usize::MAX),
                // Most of the grace period, leaving the last part (up to 1 s) for the
                // connections still idle then to close before the runtime stops.
                drain: grace_period.saturating_sub((grace_period / 4).min(Duration::from_secs(1))),
                shared: shared.clone(),
                server: s.name.clone(),
            };
            let mut service = Service::new(format!("pylon server {}", s.name), app);
            for addr in &s.addrs {
                let addr = addr.to_string();
                match &tls {
                    Some(resolver) => {
                        let settings =
                            crate::tls::settings(resolver, s.enable_h2).map_err(|e| {
                                vec![diagnostics.diagnostic(&format!("servers.{}", s.name), e)]
                            })?;
                        service.add_tls_with_settings(&addr, None, settings);
                    }
                    None => service.add_tcp(&addr),
                }
            }
            let handle = server.add_service(service);
            // Listeners accept only once the supervisor has built the first runtime.
            handle.add_dependency(&supervisor);
        }
        if let Some(addr) = admin_addr {
            let Some(service) = admin else {
                return Err(vec![diagnostics.diagnostic(
                    "admin",
                    "this program serves no admin application; remove [admin]",
                )]);
            };
            let http =
                Arc::new(pingora::apps::http_app::HttpServer::new_app(AdminListener { service }));
            // As a server listener's (see PylonApp::drain).
            let drain = grace_period.saturating_sub((grace_period / 4).min(Duration::from_secs(1)));
            let mut listener =
                Service::new("pylon admin".to_owned(), crate::admin::AdminApp { http, drain });
            match &admin_tls {
                Some(resolver) => {
                    let settings = crate::tls::settings(resolver, true)
                        .map_err(|e| vec![diagnostics.diagnostic("admin", e)])?;
                    listener.add_tls_with_settings(&addr.to_string(), None, settings);
                }
                None => listener.add_tcp(&addr.to_string()),
            }
            let handle = server.add_service(listener);
            handle.add_dependency(&supervisor);
        }
        Ok(server)
    }
}

/// Compile a config into a runtime and drop it: the full validation `pylon check` and
/// `pylon run` do before serving.
pub(crate) fn compile(config: &Config) -> Result<(), Vec<Diagnostic>> {
    block_on(compile_async(config)).unwrap_or_else(|e| Err(vec![config.diagnostic("basic", e)]))
}

/// [`compile`] from async code.
pub(crate) async fn compile_async(config: &Config) -> Result<(), Vec<Diagnostic>> {
    let mut errors = Vec::new();
    for s in config.servers.iter().filter(|s| s.max_connections != 0) {
        errors.push(config.diagnostic(
            &format!("servers.{}.max_connections", s.name),
            "a connection limit is not available in this version of pylon yet; \
             set 0 (unlimited) or remove the key",
        ));
    }
    if let Err(mut e) = tls_listeners(config) {
        errors.append(&mut e);
    }
    if let Err(mut e) = crate::tls::admin_resolver(config) {
        errors.append(&mut e);
    }
    if let Some(log_file) = &config.basic.log_file {
        // Opened by the process that starts with this config (a successor, on a reload
        // that adds it): a missing directory must be refused here, not kill that process.
        let dir = log_file.parent().filter(|d| !d.as_os_str().is_empty());
        if dir.is_some_and(|d| !d.is_dir()) {
            errors.push(config.diagnostic(
                "basic.log_file",
                format!("the directory of {} does not exist", log_file.display()),
            ));
        }
    }
    if let Err(mut e) = Runtime::build(config.clone(), None, &Stats::default(), None).await {
        errors.append(&mut e);
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Run a future on a throw-away current-thread runtime (for validation, explain, check).
pub(crate) fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|rt| rt.block_on(f))
        .map_err(|e| format!("cannot start a runtime: {e}"))
}

/// Per server (in config order), its certificate resolver (`None` = plain listener).
fn tls_listeners(
    config: &Config,
) -> Result<Vec<Option<Arc<crate::tls::SniResolver>>>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for s in &config.servers {
        match crate::tls::resolver(config, s) {
            Ok(r) => out.push(r),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// pingora's `ServerConf` from `[basic]` (users never write pingora YAML).
fn server_conf(config: &Config, options: &RunOptions) -> ServerConf {
    let b = &config.basic;
    let threads = if b.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        b.threads
    };
    // A daemon leaves the terminal it was started from: pingora then points its stdout at
    // /dev/null and its stderr at `error_log` (the error-log file, else /dev/null), so a
    // shell or script waiting on `pylon run -d`'s output sees it end.
    let error_log = options.daemon.then(|| {
        b.log_file.as_ref().map_or_else(|| "/dev/null".to_owned(), |p| p.display().to_string())
    });
    ServerConf {
        daemon: options.daemon,
        error_log,
        pid_file: b.pid_file.display().to_string(),
        upgrade_sock: b.upgrade_sock.display().to_string(),
        threads,
        grace_period_seconds: Some(b.grace_period.as_secs()),
        graceful_shutdown_timeout_seconds: Some(b.graceful_shutdown_timeout.as_secs()),
        upstream_keepalive_pool_size: b.upstream_keepalive_pool_size,
        // One runtime per worker thread, no task stealing: a proxied request stays on the
        // thread that accepted it (h1 1 KiB, 1 thread, 3 interleaved rounds: 25.1 vs 27.7
        // CPU µs per request with work stealing; within noise, but never worse).
        work_stealing: false,
        // Timeouts of a second or more (keep-alive, upstream read/write, health checks) on
        // tokio's timer wheel instead of pingora's own timer thread: cheaper to arm and
        // cancel per request, and still enforced (BENCHMARKS.md).
        fast_timeout_to_tokio_threshold_seconds: Some(0),
        ..ServerConf::default()
    }
}

/// The one background service: builds the first runtime, runs health checks, reloads.
struct Supervisor {
    shared: Arc<Shared>,
    watch: bool,
}

const TICK: Duration = Duration::from_secs(1);

#[async_trait]
impl BackgroundService for Supervisor {
    async fn start_with_ready_notifier(
        &self,
        mut shutdown: ShutdownWatch,
        ready: ServiceReadyNotifier,
    ) {
        let initial = self.shared.initial.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(config) = initial {
            log_listeners(&config);
            match Runtime::build(config, None, &self.shared.stats, None).await {
                Ok(rt) => self.shared.runtime.store(Arc::new(rt)),
                Err(errors) => {
                    for e in errors {
                        tracing::error!("{e}");
                    }
                }
            }
        }
        ready.notify_ready();
        crate::successor::notify_ready();

        let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!("cannot listen for SIGHUP, reload by signal is off: {e}");
                None
            }
        };
        let mut usr2 =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined2())
                .map_err(|e| {
                    tracing::error!("cannot listen for SIGUSR2, `pylon upgrade` is off: {e}")
                })
                .ok();
        let mut tick = tokio::time::interval(TICK);
        let mut watched =
            WatchedFile::new(self.shared.config_path.as_deref().filter(|_| self.watch));
        loop {
            tokio::select! {
                _ = shutdown.changed() => {
                    if EXIT_WHEN_IDLE.load(Ordering::Acquire) {
                        self.exit_when_idle().await;
                    }
                    break;
                }
                _ = tick.tick() => {
                    let rt = self.shared.runtime.load_full();
                    for pool in rt.pools.values() {
                        let pool = pool.clone();
                        tokio::spawn(async move { pool.health_tick().await });
                    }
                    if watched.changed() {
                        tracing::info!("config file changed, reloading");
                        self.reload().await;
                    }
                }
                Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => None } } => {
                    tracing::info!("SIGHUP: reloading");
                    self.reload().await;
                }
                Some(()) = async { match usr2.as_mut() { Some(s) => s.recv().await, None => None } } => {
                    tracing::info!("SIGUSR2: starting a successor from the executable on disk (upgrade)");
                    match crate::successor::spawn(&self.shared.options) {
                        Ok(()) => tracing::info!("successor started"),
                        Err(e) => tracing::error!("cannot start the successor: {e}"),
                    }
                }
            }
        }
    }
}

impl Supervisor {
    /// SIGTERM: the listeners are closed (pingora's graceful shutdown); exit as soon as no
    /// request has been in flight for a moment, instead of sitting out the whole
    /// `grace_period` (which still bounds the wait: pingora ends the process after it).
    async fn exit_when_idle(&self) {
        const QUIET: Duration = Duration::from_millis(500);
        let mut idle_since: Option<tokio::time::Instant> = None;
        loop {
            let now = tokio::time::Instant::now();
            if self.shared.stats.in_flight() > 0 {
                idle_since = None;
            } else if now.duration_since(*idle_since.get_or_insert(now)) >= QUIET {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let rt = self.shared.runtime.load();
        for log in rt.servers.values().filter_map(|s| s.access_log.as_ref()) {
            log.writer.flush_blocking(Duration::from_secs(2));
        }
        let pid_file = &rt.config.basic.pid_file;
        if std::fs::read_to_string(pid_file)
            .is_ok_and(|s| s.trim() == std::process::id().to_string())
        {
            let _ = std::fs::remove_file(pid_file);
        }
        tracing::info!("no request in flight, exiting");
        std::process::exit(0);
    }

    async fn reload(&self) {
        if let Err(errors) = self.shared.reload().await {
            tracing::error!(
                "reload refused, the running configuration stays ({}):",
                pylon_config::counted(errors.len(), "error")
            );
            for e in errors {
                tracing::error!("  {e}");
            }
        }
        if let Some(hook) = self.shared.options.on_reload {
            hook(&self.shared.runtime.load().config);
        }
    }
}

/// The startup report: this process's pid and every address it listens on (after pingora
/// forked, when daemonising, so the pid is the serving one).
fn log_listeners(config: &Config) {
    tracing::info!("pylon {} serving as pid {}", crate::VERSION, std::process::id());
    for s in &config.servers {
        let scheme = if s.tls { "https" } else { "http" };
        for addr in &s.addrs {
            tracing::info!("listening on {scheme}://{addr} (server {})", s.name);
        }
    }
    if let Some(admin) = &config.admin {
        tracing::info!("listening on http://{} (admin)", admin.addr);
    }
}

/// Change detection for `--watch`: the file's modification time, debounced by one tick
/// (a change is acted on once the file has stopped changing for a tick, so an editor's
/// several writes make one reload).
struct WatchedFile {
    path: Option<PathBuf>,
    seen: Option<SystemTime>,
    pending: Option<SystemTime>,
}

impl WatchedFile {
    fn new(path: Option<&Path>) -> WatchedFile {
        let path = path.map(Path::to_path_buf);
        let seen = path.as_deref().and_then(mtime);
        WatchedFile { path, seen, pending: None }
    }

    fn changed(&mut self) -> bool {
        let Some(path) = &self.path else { return false };
        let now = mtime(path);
        if now == self.seen {
            self.pending = None;
            return false;
        }
        if self.pending == now {
            self.seen = now;
            self.pending = None;
            return true;
        }
        self.pending = now;
        false
    }
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
