//! The one door into the running proxy: [`AdminBackend`], and the plain data that goes
//! through it. pylon-admin depends on no other pylon crate; the binary implements the
//! trait on top of pylon-proxy's handle.

use std::path::PathBuf;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One config error or warning, positioned like `pylon check` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The config file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The dotted key, e.g. `locations.api.path`.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}: {}", self.file, self.line, self.column, self.key, self.message)
    }
}

/// The running configuration.
#[derive(Debug, Clone)]
pub struct RunningConfig {
    /// The text it was compiled from.
    pub text: String,
    /// Its version (content hash, see [`AdminBackend::version_of`]).
    pub version: String,
    /// The parsed model as JSON (pylon-config's `Config`).
    pub model: Value,
}

/// `[admin]` of the running configuration.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `(name, argon2 PHC hash)`. Empty = no login (only allowed on loopback).
    pub users: Vec<(String, String)>,
    /// Where replaced versions of the config file are kept.
    pub history_dir: PathBuf,
    /// How many are kept.
    pub history_size: usize,
}

/// A candidate config, validated by the proxy.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Checked {
    /// Every error; empty = valid.
    pub errors: Vec<Diagnostic>,
    /// Lints.
    pub warnings: Vec<Diagnostic>,
    /// The parsed model as JSON, when it parsed.
    pub model: Option<Value>,
    /// What it would change for the recent requests (when it parsed and the proxy keeps
    /// a ring of them).
    pub impact: Option<Impact>,
}

/// Of the recent requests, which would be served differently.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Impact {
    /// Requests replayed.
    pub sampled: usize,
    /// How many would go to another location or upstream.
    pub changed: usize,
    /// The most frequent of them.
    pub examples: Vec<ImpactExample>,
}

/// One request that would be served differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImpactExample {
    /// Server it came in on.
    pub server: String,
    /// Host.
    pub host: String,
    /// Path.
    pub path: String,
    /// How many of the sampled requests were this one.
    pub count: usize,
    /// Where it goes now.
    pub before: RouteTarget,
    /// Where it would go.
    pub after: RouteTarget,
}

/// A location and its upstream; `None` = no location (404).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTarget {
    /// Location name.
    pub location: Option<String>,
    /// Upstream name (`None` for a `return` location).
    pub upstream: Option<String>,
}

impl std::fmt::Display for RouteTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.location, &self.upstream) {
            (None, _) => f.write_str("404 (no location)"),
            (Some(l), Some(u)) => write!(f, "{l} (upstream {u})"),
            (Some(l), None) => write!(f, "{l} (return)"),
        }
    }
}

/// The running proxy, as the admin sees it. Implemented by the binary.
#[async_trait]
pub trait AdminBackend: Send + Sync + std::fmt::Debug + 'static {
    /// The config file the proxy runs; `None` = an embedded config (read-only).
    fn config_path(&self) -> Option<PathBuf>;
    /// The running configuration.
    fn running(&self) -> RunningConfig;
    /// `[admin]` of the running configuration; `None` when it has none.
    fn settings(&self) -> Option<Settings>;
    /// The version (content hash) of a config text.
    fn version_of(&self, text: &str) -> String;
    /// Validate a candidate text as the config file, and preview its impact. Changes nothing.
    async fn check(&self, text: &str) -> Checked;
    /// Re-read the config file and apply it. `Ok(true)` = applied by a graceful upgrade
    /// (listeners changed).
    async fn reload(&self) -> Result<bool, Vec<Diagnostic>>;
    /// The stats document.
    fn stats(&self) -> Value;
    /// Upstreams with peers and live health.
    fn upstreams(&self) -> Value;
    /// The route decision for a URL, as JSON.
    fn explain(&self, url: &str, headers: &[(String, String)]) -> Result<Value, String>;
    /// The Prometheus text exposition.
    fn metrics(&self) -> String;
}
