//! The validated configuration: plain data, no behaviour beyond lookups.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::diag::Diagnostic;

/// Default `basic.name`.
pub const DEFAULT_NAME: &str = "pylon";
/// Default `basic.threads`.
pub const DEFAULT_THREADS: usize = 1;
/// Default `basic.grace_period`.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(30);
/// Default `basic.graceful_shutdown_timeout`.
pub const DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `basic.upstream_keepalive_pool_size`.
pub const DEFAULT_UPSTREAM_KEEPALIVE_POOL_SIZE: usize = 128;
/// Default `basic.pid_file`.
pub const DEFAULT_PID_FILE: &str = "/tmp/pylon.pid";
/// Default `basic.upgrade_sock`.
pub const DEFAULT_UPGRADE_SOCK: &str = "/tmp/pylon_upgrade.sock";
/// Default `basic.log_level`.
pub const DEFAULT_LOG_LEVEL: &str = "info";
/// Default `basic.log_format`.
pub const DEFAULT_LOG_FORMAT: LogFormat = LogFormat::Text;
/// Default `basic.server_tokens` (nginx's `server_tokens on`: the version is shown).
pub const DEFAULT_SERVER_TOKENS: bool = true;
/// Default `basic.error_details` (error pages do not describe the routing).
pub const DEFAULT_ERROR_DETAILS: bool = false;

/// Default `upstreams.*.connection_timeout`.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `upstreams.*.read_timeout`.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Default `upstreams.*.write_timeout`.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default `upstreams.*.idle_timeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Default `upstreams.*.verify_cert`.
pub const DEFAULT_VERIFY_CERT: bool = true;
/// Default `upstreams.*.retries`.
pub const DEFAULT_RETRIES: u32 = 1;
/// Default weight of an upstream address without an explicit weight.
pub const DEFAULT_ADDR_WEIGHT: u32 = 1;

/// Default health-check `connection_timeout`.
pub const DEFAULT_HEALTH_CONNECTION_TIMEOUT: Duration = Duration::from_secs(3);
/// Default health-check `read_timeout`.
pub const DEFAULT_HEALTH_READ_TIMEOUT: Duration = Duration::from_secs(3);
/// Default health-check `check_frequency`.
pub const DEFAULT_HEALTH_CHECK_FREQUENCY: Duration = Duration::from_secs(10);
/// Default health-check `success` (consecutive successes to become healthy).
pub const DEFAULT_HEALTH_SUCCESS: u32 = 1;
/// Default health-check `failure` (consecutive failures to become unhealthy).
pub const DEFAULT_HEALTH_FAILURE: u32 = 2;

/// Default `servers.*.enable_h2`.
pub const DEFAULT_ENABLE_H2: bool = true;
/// Default `servers.*.header_read_timeout`.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `servers.*.keepalive_timeout`.
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default `servers.*.max_header_size` in bytes (64kb).
pub const DEFAULT_MAX_HEADER_SIZE: u64 = 64 * 1024;
/// Default `servers.*.max_header_count`: field lines in one request head (431 beyond).
pub const DEFAULT_MAX_HEADER_COUNT: usize = 100;
/// Largest `servers.*.max_header_count`: pingora's HTTP/1 parser holds 256 fields.
pub const MAX_HEADER_COUNT_LIMIT: usize = 256;
/// Default `servers.*.max_uri_size` in bytes (8kb): the request target (414 beyond).
pub const DEFAULT_MAX_URI_SIZE: u64 = 8 * 1024;
/// Default `servers.*.max_connections` (0 = unlimited).
pub const DEFAULT_MAX_CONNECTIONS: usize = 0;

/// Default `servers.*.tls` and `admin.tls`: plain HTTP unless a certificate is named.
pub const DEFAULT_TLS: bool = false;
/// Default `servers.*.admin_path`: the admin is not served on public servers.
pub const DEFAULT_ADMIN_PATH: Option<&str> = None;
/// Default `admin.history_size`: how many previous versions of the config file are kept.
pub const DEFAULT_ADMIN_HISTORY_SIZE: usize = 20;
/// Default `admin.history_dir`, relative to the config file's directory: a folder named
/// after the config file (`pylon.toml` → `pylon.toml.history`).
pub const DEFAULT_ADMIN_HISTORY_SUFFIX: &str = ".history";

/// The result of a successful load: the config plus non-fatal findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loaded {
    /// The validated configuration.
    pub config: Config,
    /// Lints: unused upstreams and locations, servers without locations.
    pub warnings: Vec<Diagnostic>,
}

/// A validated Pylon configuration.
///
/// Equality ignores the source map, so two files that differ only in layout compare equal.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// The file this config was read from (the `origin` given to [`crate::parse`]).
    pub file: PathBuf,
    /// `[basic]`.
    pub basic: Basic,
    /// `[upstreams.NAME]`, in file order.
    pub upstreams: Vec<Upstream>,
    /// `[locations.NAME]`, in file order.
    pub locations: Vec<Location>,
    /// `[servers.NAME]`, in file order.
    pub servers: Vec<Server>,
    /// `[certificates.NAME]`, in file order.
    pub certificates: Vec<Certificate>,
    /// `[admin]`, if present.
    pub admin: Option<Admin>,
    /// `[plugins.NAME]`, in file order.
    pub plugins: Vec<Plugin>,
    /// Dotted key path -> (line, column) of its value (or table header).
    #[serde(skip)]
    pub(crate) positions: HashMap<String, (usize, usize)>,
}

impl PartialEq for Config {
    fn eq(&self, other: &Self) -> bool {
        let Config {
            file,
            basic,
            upstreams,
            locations,
            servers,
            certificates,
            admin,
            plugins,
            positions: _,
        } = self;
        *file == other.file
            && *basic == other.basic
            && *upstreams == other.upstreams
            && *locations == other.locations
            && *servers == other.servers
            && *certificates == other.certificates
            && *admin == other.admin
            && *plugins == other.plugins
    }
}

impl Eq for Config {}

impl Config {
    /// Line and column (1-based) of a dotted key such as `"servers.web.access_log"` or
    /// `"servers.web.locations[1]"`. For a leaf key this is its value; for a table its header.
    pub fn position(&self, key: &str) -> Option<(usize, usize)> {
        self.positions.get(key).copied()
    }

    /// A diagnostic for a problem found after loading (e.g. by pylon-proxy), positioned at
    /// `key`, or at its nearest parent key that has a position, or else at 1:1.
    pub fn diagnostic(&self, key: &str, message: impl Into<String>) -> Diagnostic {
        let mut probe = key;
        let (line, column) = loop {
            if let Some(pos) = self.position(probe) {
                break pos;
            }
            match probe.rfind(['.', '[']) {
                Some(cut) => probe = &probe[..cut],
                None => break (1, 1),
            }
        };
        Diagnostic {
            file: self.file.display().to_string(),
            line,
            column,
            key: key.to_owned(),
            message: message.into(),
        }
    }

    /// The upstream called `name`.
    pub fn upstream(&self, name: &str) -> Option<&Upstream> {
        self.upstreams.iter().find(|u| u.name == name)
    }

    /// The location called `name`.
    pub fn location(&self, name: &str) -> Option<&Location> {
        self.locations.iter().find(|l| l.name == name)
    }

    /// The server called `name`.
    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// The plugin called `name`.
    pub fn plugin(&self, name: &str) -> Option<&Plugin> {
        self.plugins.iter().find(|p| p.name == name)
    }
}

/// `[basic]`: process-wide settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Basic {
    /// Shown in logs, the error page and the `Server` header.
    pub name: String,
    /// Worker threads per server. `threads = 0` in the file is resolved to the number of
    /// cores at load time, so this is always at least 1.
    pub threads: usize,
    /// How long the old process keeps serving after an upgrade/shutdown signal.
    #[serde(serialize_with = "crate::ser::duration")]
    pub grace_period: Duration,
    /// Hard limit for the graceful shutdown.
    #[serde(serialize_with = "crate::ser::duration")]
    pub graceful_shutdown_timeout: Duration,
    /// Size of the upstream keep-alive connection pool.
    pub upstream_keepalive_pool_size: usize,
    /// Pid file, absolute or resolved against the config file's directory.
    pub pid_file: PathBuf,
    /// Upgrade socket, absolute or resolved against the config file's directory.
    pub upgrade_sock: PathBuf,
    /// HTML error template; `None` = the built-in page.
    pub error_template: Option<PathBuf>,
    /// Log level or tracing filter, e.g. `"info"` or `"info,pylon_proxy=debug"`.
    pub log_level: String,
    /// How error-log lines are written.
    pub log_format: LogFormat,
    /// Error-log file (appended to, reopened on reload); `None` = stderr.
    pub log_file: Option<PathBuf>,
    /// Whether error pages and the `Server` header carry Pylon's version.
    pub server_tokens: bool,
    /// Whether error pages name the host, path and upstream involved (a debugging aid);
    /// otherwise they give the status and a generic sentence.
    pub error_details: bool,
}

/// `basic.log_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LogFormat {
    /// `"text"`: one human-readable line per event.
    Text,
    /// `"json"`: one JSON object per line (tracing-subscriber's JSON formatter).
    Json,
}

impl Default for Basic {
    fn default() -> Self {
        Basic {
            name: DEFAULT_NAME.to_owned(),
            threads: DEFAULT_THREADS,
            grace_period: DEFAULT_GRACE_PERIOD,
            graceful_shutdown_timeout: DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT,
            upstream_keepalive_pool_size: DEFAULT_UPSTREAM_KEEPALIVE_POOL_SIZE,
            pid_file: PathBuf::from(DEFAULT_PID_FILE),
            upgrade_sock: PathBuf::from(DEFAULT_UPGRADE_SOCK),
            error_template: None,
            log_level: DEFAULT_LOG_LEVEL.to_owned(),
            log_format: DEFAULT_LOG_FORMAT,
            log_file: None,
            server_tokens: DEFAULT_SERVER_TOKENS,
            error_details: DEFAULT_ERROR_DETAILS,
        }
    }
}

/// `[upstreams.NAME]`: a pool of peers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upstream {
    /// The table name, used by `locations.*.upstream`.
    pub name: String,
    /// Peers, in file order; never empty in a valid config.
    pub addrs: Vec<UpstreamAddr>,
    /// Load-balancing algorithm.
    pub algo: Algo,
    /// Active health check.
    pub health_check: HealthCheck,
    /// TCP connect timeout.
    #[serde(serialize_with = "crate::ser::duration")]
    pub connection_timeout: Duration,
    /// Connect + TLS handshake timeout.
    #[serde(serialize_with = "crate::ser::opt_duration")]
    pub total_connection_timeout: Option<Duration>,
    /// Read timeout.
    #[serde(serialize_with = "crate::ser::duration")]
    pub read_timeout: Duration,
    /// Write timeout.
    #[serde(serialize_with = "crate::ser::duration")]
    pub write_timeout: Duration,
    /// Keep-alive idle timeout; zero disables connection reuse.
    #[serde(serialize_with = "crate::ser::duration")]
    pub idle_timeout: Duration,
    /// TLS to the upstream.
    pub tls: bool,
    /// SNI / Host for TLS to the upstream.
    pub sni: Option<String>,
    /// Verify the upstream's certificate.
    pub verify_cert: bool,
    /// PEM CA bundle; `None` = system roots.
    pub ca_file: Option<PathBuf>,
    /// ALPN / HTTP version towards the upstream.
    pub alpn: Alpn,
    /// Retries on connect failure, each to another peer.
    pub retries: u32,
}

/// One peer of an upstream: `"host:port [weight]"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpstreamAddr {
    /// Hostname, IPv4 address, or IPv6 address without brackets.
    pub host: String,
    /// Port, 1..=65535.
    pub port: u16,
    /// Weight, at least 1.
    pub weight: u32,
}

/// Load-balancing algorithm (`algo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[serde(rename_all = "snake_case")]
pub enum Algo {
    /// `round_robin`, weighted by address weight.
    RoundRobin,
    /// `random`.
    Random,
    /// `least_conn`.
    LeastConn,
    /// `hash` (= `hash:path`) and `hash:KEY`: consistent hashing.
    Hash(HashKey),
}

/// What a `hash` algorithm hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[serde(rename_all = "snake_case")]
pub enum HashKey {
    /// The request path.
    Path,
    /// Path and query.
    Url,
    /// The client IP.
    Ip,
    /// A request header (name lowercased).
    Header(String),
    /// A cookie.
    Cookie(String),
    /// A query parameter.
    Query(String),
}

/// ALPN towards the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Alpn {
    /// HTTP/1.1 only.
    H1,
    /// HTTP/2 only (h2c prior knowledge without TLS).
    H2,
    /// Prefer HTTP/2, fall back to HTTP/1.1 (needs TLS).
    H2H1,
}

/// Active health check of an upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    /// TCP connect or HTTP request.
    pub kind: HealthCheckKind,
    /// Connect timeout of one check.
    #[serde(serialize_with = "crate::ser::duration")]
    pub connection_timeout: Duration,
    /// Read timeout of one check.
    #[serde(serialize_with = "crate::ser::duration")]
    pub read_timeout: Duration,
    /// Interval between checks.
    #[serde(serialize_with = "crate::ser::duration")]
    pub check_frequency: Duration,
    /// Consecutive successes to mark a peer healthy.
    pub success: u32,
    /// Consecutive failures to mark a peer unhealthy.
    pub failure: u32,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            kind: HealthCheckKind::Tcp,
            connection_timeout: DEFAULT_HEALTH_CONNECTION_TIMEOUT,
            read_timeout: DEFAULT_HEALTH_READ_TIMEOUT,
            check_frequency: DEFAULT_HEALTH_CHECK_FREQUENCY,
            success: DEFAULT_HEALTH_SUCCESS,
            failure: DEFAULT_HEALTH_FAILURE,
        }
    }
}

/// The kind of health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[serde(rename_all = "snake_case")]
pub enum HealthCheckKind {
    /// `tcp://`: a TCP connect.
    Tcp,
    /// `http://` or `https://`: a GET that must answer 2xx.
    Http {
        /// Host header (the URL's authority, port included if written).
        host: String,
        /// Request path, `"/"` if the URL has none.
        path: String,
        /// `https://`.
        tls: bool,
    },
}

/// `[locations.NAME]`: a routing rule plus what to do with matching requests.
///
/// The header lists and `client_max_body_size` are `None` when the location does not set
/// them: it then inherits its server's (nginx's `server {}` defaults, each directive on its
/// own). A list written empty (`[]`) is set, and clears the server's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The table name, used by `servers.*.locations`.
    pub name: String,
    /// Upstream to proxy to. Exactly one of `upstream` and `ret` is set.
    pub upstream: Option<String>,
    /// Direct answer (`return = "200 pong"`).
    #[serde(rename = "return")]
    pub ret: Option<Return>,
    /// Host rules; empty = any host.
    #[serde(rename = "host")]
    pub hosts: Vec<HostPattern>,
    /// Path rule.
    pub path: PathPattern,
    /// Path rewrite.
    pub rewrite: Option<Rewrite>,
    /// Request headers to replace; `None` = the server's.
    pub proxy_set_headers: Option<Vec<HeaderSpec>>,
    /// Request headers to append; `None` = the server's.
    pub proxy_add_headers: Option<Vec<HeaderSpec>>,
    /// Request headers to remove; `None` = the server's.
    pub proxy_remove_headers: Option<Vec<String>>,
    /// Response headers to replace; `None` = the server's.
    pub response_set_headers: Option<Vec<HeaderSpec>>,
    /// Response headers to append; `None` = the server's.
    pub response_add_headers: Option<Vec<HeaderSpec>>,
    /// Response headers to remove; `None` = the server's.
    pub response_remove_headers: Option<Vec<String>>,
    /// Explicit weight; `None` = computed by the route matcher.
    pub weight: Option<u32>,
    /// Request bodies above this many bytes are answered 413; `None` = the server's
    /// (unlimited if the server sets none either); `Some(0)` = unlimited here.
    pub client_max_body_size: Option<u64>,
    /// Names of `[plugins.NAME]` every request of this location passes through, in order,
    /// after its server's `plugins`.
    pub plugins: Vec<String>,
}

/// A direct answer: `return = "STATUS [BODY]"`, or `return = "3xx URL"` for a redirect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Return {
    /// Status, 100..=599.
    pub status: u16,
    /// Body after the first space (may be empty), with `$variables` (all known). Empty for
    /// a redirect.
    pub body: String,
    /// For 301, 302, 303, 307 and 308: the `Location` URL, with `$variables` (all known).
    pub location: Option<String>,
}

/// Statuses whose `return` takes a URL, sent as `Location` (nginx's `return code URL`).
pub const REDIRECT_STATUSES: &[u16] = &[301, 302, 303, 307, 308];

/// One entry of `host`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[serde(rename_all = "snake_case")]
pub enum HostPattern {
    /// An exact host name, lowercased.
    Exact(String),
    /// `*.example.com`: the suffix including the dot (`.example.com`), lowercased.
    Wildcard(String),
    /// `~regex`: the regex without the `~`.
    Regex(String),
}

/// The `path` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[serde(rename_all = "snake_case")]
pub enum PathPattern {
    /// `""`: any path.
    Any,
    /// `"=/exact"`: the path without the `=`.
    Exact(String),
    /// `"/prefix"`: a byte prefix of the request path in normal form (RFC 3986 §6.2.2).
    Prefix(String),
    /// `"~regex"`: the regex without the `~`.
    Regex(String),
}

/// `rewrite = "REGEX REPLACEMENT"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rewrite {
    /// The regex (validated).
    pub regex: String,
    /// The replacement, with `$1` / `${name}` references checked against the regex.
    pub replacement: String,
}

/// A header to set or add: `"Name: value"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderSpec {
    /// A valid HTTP token, as written.
    pub name: String,
    /// The value, trimmed, possibly containing `$variables` (all known).
    pub value: String,
}

/// `[servers.NAME]`: listeners and their ordered locations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Server {
    /// The table name.
    pub name: String,
    /// Listen addresses.
    #[serde(rename = "addr")]
    pub addrs: Vec<SocketAddr>,
    /// Location names, in the order written.
    pub locations: Vec<String>,
    /// Access-log preset or template, uncompiled; `None` = no access log.
    pub access_log: Option<String>,
    /// Access-log file; `None` = stdout.
    pub access_log_path: Option<PathBuf>,
    /// Default certificate (PEM) of a TLS listener.
    pub tls_cert: Option<PathBuf>,
    /// Key (PEM) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// TLS listener. True if `tls = true` or `tls_cert` is set.
    pub tls: bool,
    /// h2 via ALPN on TLS listeners, h2c on plain ones.
    pub enable_h2: bool,
    /// Path answering JSON stats; `None` = off.
    pub stats_path: Option<String>,
    /// Path prefix under which this server answers the admin API and UI (the `[admin]`
    /// listener's, same users); `None` = off. Starts with `/`, no trailing `/`, segments of
    /// unreserved characters (RFC 3986 §2.3) only, so it is its own normal form.
    pub admin_path: Option<String>,
    /// Error template overriding `basic.error_template`.
    pub error_template: Option<PathBuf>,
    /// Time a client has to send its request headers.
    #[serde(serialize_with = "crate::ser::duration")]
    pub header_read_timeout: Duration,
    /// Idle downstream keep-alive.
    #[serde(serialize_with = "crate::ser::duration")]
    pub keepalive_timeout: Duration,
    /// Maximum request head size in bytes: request line, fields and line ends (431 beyond).
    pub max_header_size: u64,
    /// Maximum number of field lines in a request head (431 beyond), at most 256.
    pub max_header_count: usize,
    /// Maximum request-target length in bytes (414 beyond, RFC 9112 §3).
    pub max_uri_size: u64,
    /// Maximum concurrent connections; 0 = unlimited.
    pub max_connections: usize,
    /// Request headers to replace, for every location that sets none of its own.
    pub proxy_set_headers: Vec<HeaderSpec>,
    /// Request headers to append, for every location that sets none of its own.
    pub proxy_add_headers: Vec<HeaderSpec>,
    /// Request headers to remove, for every location that sets none of its own.
    pub proxy_remove_headers: Vec<String>,
    /// Response headers to replace, for every location that sets none of its own.
    pub response_set_headers: Vec<HeaderSpec>,
    /// Response headers to append, for every location that sets none of its own.
    pub response_add_headers: Vec<HeaderSpec>,
    /// Response headers to remove, for every location that sets none of its own.
    pub response_remove_headers: Vec<String>,
    /// Request body limit in bytes for every location that sets none; `None` = unlimited.
    pub client_max_body_size: Option<u64>,
    /// Names of `[plugins.NAME]` that run for every location of this server, before the
    /// location's own, in order.
    pub plugins: Vec<String>,
}

/// `[certificates.NAME]`: a certificate chosen by SNI on TLS listeners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Certificate {
    /// The table name.
    pub name: String,
    /// Exact names and `*.suffix` wildcards, lowercased.
    pub domains: Vec<String>,
    /// Certificate chain (PEM).
    pub tls_cert: PathBuf,
    /// Private key (PEM).
    pub tls_key: PathBuf,
    /// Used when no domain matches the SNI.
    pub is_default: bool,
}

/// `[admin]`: the admin API and web UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Admin {
    /// Listen address of the admin listener.
    pub addr: SocketAddr,
    /// Users allowed to log in; may be empty only on a loopback address.
    pub users: Vec<AdminUser>,
    /// Where previous versions of the config file are kept when the admin API writes it;
    /// default: `<config file>.history` beside the file.
    pub history_dir: PathBuf,
    /// How many previous versions are kept (the oldest are deleted), at least 1.
    pub history_size: usize,
    /// TLS listener: true if `tls = true` or `tls_cert` is set (as for servers).
    pub tls: bool,
    /// Certificate (PEM) of the TLS listener; `None` with `tls = true` = chosen by SNI
    /// from `[certificates.NAME]` like a server's.
    pub tls_cert: Option<PathBuf>,
    /// Key (PEM) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
}

/// One `"name:$argon2id$..."` entry of `admin.users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdminUser {
    /// Login name.
    pub name: String,
    /// PHC-format argon2 hash. Never serialized (the API shows user names only).
    #[serde(skip_serializing)]
    pub hash: String,
}

/// `[plugins.NAME]`: a named, reusable plugin instance. `kind` picks what it does; the other
/// keys are the kind's options, whose language belongs to the plugin crate: pylon-config
/// keeps them as written (with their positions) and validates them through
/// [`crate::Checks::plugin`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plugin {
    /// The table name, used by `locations.*.plugins` and `servers.*.plugins`.
    pub name: String,
    /// `kind = "..."`, e.g. `"ip_restriction"`.
    pub kind: String,
    /// Every other key of the table, in file order.
    pub options: Vec<PluginOption>,
}

/// One option of a plugin: `key = value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginOption {
    /// The key as written.
    pub key: String,
    /// The value.
    pub value: PluginValue,
}

/// A plugin option value: a TOML string, integer, boolean, or an array of those.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum PluginValue {
    /// A string.
    String(String),
    /// A whole number.
    Integer(i64),
    /// `true` or `false`.
    Bool(bool),
    /// An array of strings, whole numbers or booleans.
    Array(Vec<PluginValue>),
}
