//! Reading: TOML text -> spanned document -> walked by hand into [`Config`], collecting every
//! problem with its position instead of stopping at the first.
//!
//! We walk `toml::de::DeTable` ourselves rather than deriving `Deserialize`: serde stops at the
//! first error, and we want all of them, each at the exact key or value.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diag::{ConfigErrors, Diagnostic, LineIndex};
use crate::model::*;
use crate::value::{self, ValueError};

/// A caller-supplied check of one value: `Err` holds the message.
pub type ValueCheck = fn(&str) -> Result<(), String>;

/// A caller-supplied check of one `[plugins.NAME]` table: its kind and options. Returns
/// every problem found (none = valid).
pub type PluginCheck = fn(&Plugin) -> Vec<PluginProblem>;

/// A problem a [`PluginCheck`] found in one plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginProblem {
    /// The offending key inside the plugin table: `"kind"`, an option such as `"allow"`, an
    /// array element such as `"allow[2]"`, or `""` for the table as a whole.
    pub key: String,
    /// Byte offset of the problem inside a string value (0 = the value as a whole).
    pub offset: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Checks of values whose language another crate owns (pylon-config depends on no other
/// pylon crate): the caller passes them in, and their errors are reported with all the
/// others, at the value's position.
#[derive(Debug, Clone, Copy, Default)]
pub struct Checks {
    /// Validates a server's `access_log` (a preset name or a template); `Err` holds the
    /// message.
    pub access_log: Option<ValueCheck>,
    /// Validates each `[plugins.NAME]` (its kind and options). Without it a plugin table is
    /// only checked for shape: `kind` a string, option values strings, whole numbers,
    /// booleans or arrays of those.
    pub plugin: Option<PluginCheck>,
}

/// Reads and validates the config file at `path`.
///
/// Relative paths inside the file resolve against the file's directory.
pub fn load(path: &Path) -> Result<Loaded, ConfigErrors> {
    load_with(path, Checks::default())
}

/// [`load`] with extra value [`Checks`].
pub fn load_with(path: &Path, checks: Checks) -> Result<Loaded, ConfigErrors> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_with(&text, path, checks),
        Err(e) => Err(ConfigErrors(vec![Diagnostic {
            file: path.display().to_string(),
            line: 1,
            column: 1,
            key: "file".to_owned(),
            message: format!("cannot read the config file: {e}"),
        }])),
    }
}

/// Validates config `text`. `origin` names the file in diagnostics, and relative paths inside
/// the text resolve against its directory (the current directory if it has none).
pub fn parse(text: &str, origin: &Path) -> Result<Loaded, ConfigErrors> {
    parse_with(text, origin, Checks::default())
}

/// [`parse`] with extra value [`Checks`].
pub fn parse_with(text: &str, origin: &Path, checks: Checks) -> Result<Loaded, ConfigErrors> {
    let mut cx = Cx::new(text, origin);
    cx.checks = checks;
    let (doc, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        // A recovered document would only add follow-on noise; report the syntax alone.
        for e in syntax {
            let at = e.span().map_or(0, |s| s.start);
            cx.error(at, "syntax", format!("invalid TOML: {}", e.message()));
        }
        return Err(cx.finish_errors());
    }
    let root = Tbl { path: String::new(), map: doc.get_ref(), at: 0 };
    let config = build(&mut cx, &root, origin);
    if cx.errors.is_empty() {
        let mut warnings = std::mem::take(&mut cx.warnings);
        warnings.sort_by_key(|d| (d.line, d.column));
        Ok(Loaded { config: Config { positions: cx.positions, ..config }, warnings })
    } else {
        Err(cx.finish_errors())
    }
}

/// The walking context: source text, collected diagnostics, and the source map.
struct Cx<'s> {
    src: &'s str,
    lines: LineIndex<'s>,
    file: String,
    base: PathBuf,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    positions: HashMap<String, (usize, usize)>,
    checks: Checks,
    /// Spans of plugin option string values by dotted key, to point into them.
    plugin_strings: HashMap<String, (Range<usize>, String)>,
}

impl<'s> Cx<'s> {
    fn new(src: &'s str, origin: &Path) -> Self {
        let base = origin.parent().map(Path::to_path_buf).unwrap_or_default();
        Cx {
            src,
            lines: LineIndex::new(src),
            file: origin.display().to_string(),
            base,
            errors: Vec::new(),
            warnings: Vec::new(),
            positions: HashMap::new(),
            checks: Checks::default(),
            plugin_strings: HashMap::new(),
        }
    }

    /// An error at the recorded position of `key` (or 1:1).
    fn error_at_key(&mut self, key: &str, message: impl Into<String>) {
        let (line, column) = self.positions.get(key).copied().unwrap_or((1, 1));
        self.errors.push(Diagnostic {
            file: self.file.clone(),
            line,
            column,
            key: key.to_owned(),
            message: message.into(),
        });
    }

    fn diag(&self, at: usize, key: &str, message: impl Into<String>) -> Diagnostic {
        let (line, column) = self.lines.position(at);
        Diagnostic {
            file: self.file.clone(),
            line,
            column,
            key: key.to_owned(),
            message: message.into(),
        }
    }

    fn error(&mut self, at: usize, key: &str, message: impl Into<String>) {
        let d = self.diag(at, key, message);
        self.errors.push(d);
    }

    fn warn(&mut self, key: &str, message: impl Into<String>) {
        let (line, column) = self.positions.get(key).copied().unwrap_or((1, 1));
        self.warnings.push(Diagnostic {
            file: self.file.clone(),
            line,
            column,
            key: key.to_owned(),
            message: message.into(),
        });
    }

    fn record(&mut self, key: String, at: usize) {
        let pos = self.lines.position(at);
        self.positions.insert(key, pos);
    }

    /// Reports an error found inside the string value `s`, pointing at the offending character
    /// when the TOML source spells the string without escapes.
    fn value_error(&mut self, s: &Str<'_>, e: ValueError) {
        let at = s.source_offset(self.src, e.offset);
        self.error(at, &s.key, e.message);
    }

    fn resolve(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() { p.to_path_buf() } else { self.base.join(p) }
    }

    fn finish_errors(mut self) -> ConfigErrors {
        self.errors.sort_by_key(|d| (d.line, d.column));
        ConfigErrors(self.errors)
    }
}

/// A string value with its span and dotted key.
struct Str<'a> {
    text: &'a str,
    span: Range<usize>,
    key: String,
}

impl Str<'_> {
    /// Byte offset in the source of byte `offset` of the string's content. Offset 0 (the whole
    /// value) maps to the opening quote, like every other value error.
    fn source_offset(&self, src: &str, offset: usize) -> usize {
        if offset == 0 {
            return self.span.start;
        }
        let Some(raw) = src.get(self.span.clone()) else { return self.span.start };
        for q in ["\"\"\"", "'''", "\"", "'"] {
            if raw.len() >= 2 * q.len() && raw.starts_with(q) && raw.ends_with(q) {
                return if &raw[q.len()..raw.len() - q.len()] == self.text {
                    self.span.start + q.len() + offset
                } else {
                    self.span.start
                };
            }
        }
        self.span.start
    }
}

type Item<'i> = Spanned<DeValue<'i>>;

/// A TOML table and its dotted path.
struct Tbl<'a, 'i> {
    path: String,
    map: &'a DeTable<'i>,
    /// Byte offset of the table's name in its header, for errors about the table as a whole.
    at: usize,
}

/// What a referenced file must contain.
#[derive(Clone, Copy)]
enum FileKind {
    Cert,
    Key,
    Ca,
    Template,
}

impl<'a, 'i> Tbl<'a, 'i> {
    fn key(&self, k: &str) -> String {
        if self.path.is_empty() { k.to_owned() } else { format!("{}.{k}", self.path) }
    }

    fn get(&self, k: &str) -> Option<&'a Item<'i>> {
        self.map.get(k)
    }

    /// Reports unknown keys and records the position of every known one.
    fn check_keys(&self, cx: &mut Cx<'_>, allowed: &[&str]) {
        for (k, v) in self.map.iter() {
            let name: &str = k.get_ref();
            let key = self.key(name);
            if allowed.contains(&name) {
                let at = if v.get_ref().is_table() { k.span().start } else { v.span().start };
                cx.record(key, at);
            } else {
                let hint = match suggest(name, allowed) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("expected one of: {}", allowed.join(", ")),
                };
                cx.error(k.span().start, &key, format!("unknown key `{name}`; {hint}"));
            }
        }
    }

    fn type_error(&self, cx: &mut Cx<'_>, k: &str, v: &Item<'_>, want: &str) {
        let found = v.get_ref().type_str();
        cx.error(v.span().start, &self.key(k), format!("expected {want}, found {found}"));
    }

    fn table(&self, cx: &mut Cx<'_>, k: &str) -> Option<Tbl<'a, 'i>> {
        let (name, v) = self.map.get_key_value(k)?;
        match v.get_ref() {
            DeValue::Table(map) => Some(Tbl { path: self.key(k), map, at: name.span().start }),
            _ => {
                self.type_error(cx, k, v, &format!("a table [{}]", self.key(k)));
                None
            }
        }
    }

    /// The sub-tables of table `k` (`[k.NAME]`), in file order.
    fn children(&self, cx: &mut Cx<'_>, k: &str) -> Vec<(String, Tbl<'a, 'i>)> {
        let Some(section) = self.table(cx, k) else { return Vec::new() };
        let mut entries: Vec<_> = section.map.iter().collect();
        entries.sort_by_key(|(name, _)| name.span().start);
        let mut out = Vec::new();
        for (name, v) in entries {
            let at = name.span().start;
            let name: &str = name.get_ref();
            let key = section.key(name);
            cx.record(key.clone(), at);
            match v.get_ref() {
                DeValue::Table(map) => out.push((name.to_owned(), Tbl { path: key, map, at })),
                _ => section.type_error(cx, name, v, &format!("a table [{key}]")),
            }
        }
        out
    }

    fn string(&self, cx: &mut Cx<'_>, k: &str) -> Option<Str<'a>> {
        let v = self.get(k)?;
        match v.get_ref() {
            DeValue::String(s) => Some(Str { text: s.as_ref(), span: v.span(), key: self.key(k) }),
            _ => {
                self.type_error(cx, k, v, "a string");
                None
            }
        }
    }

    /// A string where `""` means "not set".
    fn opt_string(&self, cx: &mut Cx<'_>, k: &str) -> Option<Str<'a>> {
        self.string(cx, k).filter(|s| !s.text.is_empty())
    }

    fn bool(&self, cx: &mut Cx<'_>, k: &str, default: bool) -> bool {
        let Some(v) = self.get(k) else { return default };
        match v.get_ref() {
            DeValue::Boolean(b) => *b,
            _ => {
                self.type_error(cx, k, v, "true or false");
                default
            }
        }
    }

    /// A whole number within `range`, `default` when absent or after an error (see
    /// [`Tbl::checked_uint`]).
    fn uint(
        &self,
        cx: &mut Cx<'_>,
        k: &str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> u64 {
        self.checked_uint(cx, k, range).unwrap_or(default)
    }

    /// A whole number within `range`: `None` when absent or wrong; outside the range the
    /// error states the range as it is (`from 1 to 256`, or `of at least 1` when there is
    /// no upper bound), so the minimum it names is the one the key takes.
    fn checked_uint(
        &self,
        cx: &mut Cx<'_>,
        k: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Option<u64> {
        let v = self.get(k)?;
        let DeValue::Integer(i) = v.get_ref() else {
            self.type_error(cx, k, v, "a whole number");
            return None;
        };
        match u64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) if range.contains(&n) => Some(n),
            _ => {
                let (min, max) = (range.start(), range.end());
                let expected = if *max == u64::MAX {
                    format!("a whole number of at least {min}")
                } else {
                    format!("a whole number from {min} to {max}")
                };
                cx.error(
                    v.span().start,
                    &self.key(k),
                    format!("expected {expected}, found {}", i.as_str()),
                );
                None
            }
        }
    }

    fn duration(&self, cx: &mut Cx<'_>, k: &str, default: Duration) -> Duration {
        self.opt_duration(cx, k).unwrap_or(default)
    }

    fn opt_duration(&self, cx: &mut Cx<'_>, k: &str) -> Option<Duration> {
        let v = self.get(k)?;
        if let DeValue::Integer(i) = v.get_ref() {
            cx.error(
                v.span().start,
                &self.key(k),
                format!("durations need a unit: write \"{}s\" or \"{}ms\"", i.as_str(), i.as_str()),
            );
            return None;
        }
        let s = self.opt_string(cx, k)?;
        value::duration(s.text).map_err(|e| cx.value_error(&s, e)).ok()
    }

    /// A size as a string with unit, or a plain integer number of bytes; at least `min`
    /// bytes (else an error and `None`).
    fn size(&self, cx: &mut Cx<'_>, k: &str, min: u64) -> Option<u64> {
        let v = self.get(k)?;
        if let DeValue::Integer(_) = v.get_ref() {
            return self.checked_uint(cx, k, min..=u64::MAX);
        }
        let s = self.opt_string(cx, k)?;
        let n = value::size(s.text).map_err(|e| cx.value_error(&s, e)).ok()?;
        if n < min {
            let unit = if min == 1 { "byte" } else { "bytes" };
            cx.error(
                s.span.start,
                &s.key,
                format!("expected a size of at least {min} {unit}, found \"{}\"", s.text),
            );
            return None;
        }
        Some(n)
    }

    /// An array of strings; element keys are `path.k[i]`.
    fn strings(&self, cx: &mut Cx<'_>, k: &str) -> Vec<Str<'a>> {
        let Some(v) = self.get(k) else { return Vec::new() };
        let DeValue::Array(items) = v.get_ref() else {
            self.type_error(cx, k, v, "an array of strings");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let key = format!("{}[{i}]", self.key(k));
            cx.record(key.clone(), item.span().start);
            match item.get_ref() {
                DeValue::String(s) => out.push(Str { text: s.as_ref(), span: item.span(), key }),
                other => cx.error(
                    item.span().start,
                    &key,
                    format!("expected a string, found {}", other.type_str()),
                ),
            }
        }
        out
    }

    /// A path with a default; must not be empty.
    fn path(&self, cx: &mut Cx<'_>, k: &str, default: &str) -> PathBuf {
        match self.string(cx, k) {
            None => cx.resolve(default),
            Some(s) if s.text.is_empty() => {
                cx.error(
                    s.span.start,
                    &s.key,
                    format!("cannot be empty; the default is \"{default}\""),
                );
                cx.resolve(default)
            }
            Some(s) => cx.resolve(s.text),
        }
    }

    /// An optional file that must be readable now (and look like PEM where relevant).
    /// Returns the path even when the file is bad, so later checks see it as set.
    fn file(&self, cx: &mut Cx<'_>, k: &str, kind: FileKind) -> Option<PathBuf> {
        let s = self.opt_string(cx, k)?;
        let path = cx.resolve(s.text);
        let what = match kind {
            FileKind::Cert => "certificate",
            FileKind::Key => "private key",
            FileKind::Ca => "CA bundle",
            FileKind::Template => "error template",
        };
        match std::fs::read(&path) {
            Err(e) => cx.error(
                s.span.start,
                &s.key,
                format!("cannot read {what} file {}: {e}", path.display()),
            ),
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let problem = match kind {
                    FileKind::Cert | FileKind::Ca
                        if !text.contains("-----BEGIN CERTIFICATE-----") =>
                    {
                        Some(
                            "has no \"-----BEGIN CERTIFICATE-----\" block; expected a PEM certificate",
                        )
                    }
                    FileKind::Key
                        if !(text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----")) =>
                    {
                        Some("has no \"PRIVATE KEY-----\" block; expected a PEM private key")
                    }
                    _ => None,
                };
                if let Some(p) = problem {
                    cx.error(s.span.start, &s.key, format!("{what} file {} {p}", path.display()));
                }
            }
        }
        Some(path)
    }

    /// Parses string `k` with `f`, reporting errors at the offending character.
    fn parsed<T>(
        &self,
        cx: &mut Cx<'_>,
        k: &str,
        f: impl FnOnce(&str) -> value::VResult<T>,
    ) -> Option<T> {
        let s = self.string(cx, k)?;
        f(s.text).map_err(|e| cx.value_error(&s, e)).ok()
    }
}

/// The allowed key closest to `name` by edit distance, if close enough to be a typo.
fn suggest<'k>(name: &str, allowed: &[&'k str]) -> Option<&'k str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    }
    allowed
        .iter()
        .map(|a| (distance(name, a), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

/// Every table the loader reads, with the keys it accepts there: the lists behind the
/// "unknown key" errors and their did-you-mean hints. `""` is the file's top level; `NAME`
/// stands for any table name (`upstreams.NAME` = every `[upstreams.X]`).
///
/// A key added to one of these lists must also be documented in `docs/configuration.md`
/// (a test compares the two).
pub fn known_keys() -> &'static [(&'static str, &'static [&'static str])] {
    &[
        ("", ROOT_KEYS),
        ("basic", BASIC_KEYS),
        ("upstreams.NAME", UPSTREAM_KEYS),
        ("locations.NAME", LOCATION_KEYS),
        ("servers.NAME", SERVER_KEYS),
        ("certificates.NAME", CERTIFICATE_KEYS),
        ("admin", ADMIN_KEYS),
        // The options of a plugin belong to its kind (pylon-plugin checks them); the loader
        // itself reads only `kind`.
        ("plugins.NAME", &["kind"]),
    ]
}

const ROOT_KEYS: &[&str] =
    &["basic", "upstreams", "locations", "servers", "certificates", "admin", "plugins"];
const BASIC_KEYS: &[&str] = &[
    "name",
    "threads",
    "grace_period",
    "graceful_shutdown_timeout",
    "upstream_keepalive_pool_size",
    "pid_file",
    "upgrade_sock",
    "error_template",
    "log_level",
    "log_format",
    "log_file",
    "server_tokens",
    "error_details",
];
const UPSTREAM_KEYS: &[&str] = &[
    "addrs",
    "algo",
    "health_check",
    "connection_timeout",
    "total_connection_timeout",
    "read_timeout",
    "write_timeout",
    "idle_timeout",
    "tls",
    "sni",
    "verify_cert",
    "ca_file",
    "alpn",
    "retries",
];
const LOCATION_KEYS: &[&str] = &[
    "upstream",
    "return",
    "host",
    "path",
    "rewrite",
    "proxy_set_headers",
    "proxy_add_headers",
    "proxy_remove_headers",
    "response_set_headers",
    "response_add_headers",
    "response_remove_headers",
    "weight",
    "client_max_body_size",
    "plugins",
];
const SERVER_KEYS: &[&str] = &[
    "addr",
    "locations",
    "access_log",
    "access_log_path",
    "tls_cert",
    "tls_key",
    "tls",
    "enable_h2",
    "stats_path",
    "error_template",
    "header_read_timeout",
    "keepalive_timeout",
    "max_header_size",
    "max_header_count",
    "max_uri_size",
    "max_connections",
    "proxy_set_headers",
    "proxy_add_headers",
    "proxy_remove_headers",
    "response_set_headers",
    "response_add_headers",
    "response_remove_headers",
    "client_max_body_size",
    "plugins",
    "admin_path",
];
const CERTIFICATE_KEYS: &[&str] = &["domains", "tls_cert", "tls_key", "is_default"];
const ADMIN_KEYS: &[&str] =
    &["addr", "users", "history_dir", "history_size", "tls", "tls_cert", "tls_key"];

fn build(cx: &mut Cx<'_>, root: &Tbl<'_, '_>, origin: &Path) -> Config {
    root.check_keys(cx, ROOT_KEYS);
    let basic = root.table(cx, "basic").map(|t| basic(cx, &t)).unwrap_or_default();
    let upstreams: Vec<Upstream> =
        root.children(cx, "upstreams").iter().map(|(n, t)| upstream(cx, n, t)).collect();
    let upstream_names: Vec<&str> = upstreams.iter().map(|u| u.name.as_str()).collect();
    let plugins: Vec<Plugin> =
        root.children(cx, "plugins").iter().filter_map(|(n, t)| plugin(cx, n, t)).collect();
    let plugin_names: Vec<&str> = plugins.iter().map(|p| p.name.as_str()).collect();
    let locations: Vec<Location> = root
        .children(cx, "locations")
        .iter()
        .map(|(n, t)| location(cx, n, t, &upstream_names, &plugin_names))
        .collect();
    let certificates = certificates(cx, root);
    let location_names: Vec<&str> = locations.iter().map(|l| l.name.as_str()).collect();
    let mut listeners = Listeners::default();
    let servers: Vec<Server> = root
        .children(cx, "servers")
        .iter()
        .map(|(n, t)| {
            server(
                cx,
                n,
                t,
                &location_names,
                &plugin_names,
                !certificates.is_empty(),
                &mut listeners,
            )
        })
        .collect();
    let admin = root
        .table(cx, "admin")
        .and_then(|t| admin(cx, &t, !certificates.is_empty(), &mut listeners));
    admin_paths(cx, &servers, admin.as_ref(), root.get("admin").is_some());

    plugin_twice(cx, &locations, &servers);
    lints(cx, &upstreams, &locations, &servers, &plugins);
    Config {
        file: origin.to_path_buf(),
        basic,
        upstreams,
        locations,
        servers,
        certificates,
        admin,
        plugins,
        positions: HashMap::new(),
    }
}

fn basic(cx: &mut Cx<'_>, t: &Tbl<'_, '_>) -> Basic {
    t.check_keys(cx, BASIC_KEYS);
    let d = Basic::default();
    let name = match t.string(cx, "name") {
        Some(s) if s.text.trim().is_empty() => {
            cx.error(s.span.start, &s.key, "cannot be empty; omit it for \"pylon\"");
            d.name
        }
        Some(s) => s.text.to_owned(),
        None => d.name,
    };
    let threads = match t.uint(cx, "threads", DEFAULT_THREADS as u64, 0..=4096) {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n as usize,
    };
    let log_level = match t.string(cx, "log_level") {
        Some(s) if s.text.trim().is_empty() => {
            cx.error(s.span.start, &s.key, "cannot be empty; use e.g. \"info\" or \"warn\"");
            d.log_level
        }
        Some(s) => s.text.trim().to_owned(),
        None => d.log_level,
    };
    Basic {
        name,
        threads,
        grace_period: t.duration(cx, "grace_period", DEFAULT_GRACE_PERIOD),
        graceful_shutdown_timeout: t.duration(
            cx,
            "graceful_shutdown_timeout",
            DEFAULT_GRACEFUL_SHUTDOWN_TIMEOUT,
        ),
        upstream_keepalive_pool_size: t.uint(
            cx,
            "upstream_keepalive_pool_size",
            DEFAULT_UPSTREAM_KEEPALIVE_POOL_SIZE as u64,
            0..=u64::from(u32::MAX),
        ) as usize,
        pid_file: t.path(cx, "pid_file", DEFAULT_PID_FILE),
        upgrade_sock: t.path(cx, "upgrade_sock", DEFAULT_UPGRADE_SOCK),
        error_template: t.file(cx, "error_template", FileKind::Template),
        log_level,
        log_format: match t.string(cx, "log_format") {
            None => DEFAULT_LOG_FORMAT,
            Some(s) => match s.text {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    cx.error(
                        s.span.start,
                        &s.key,
                        format!("unknown log_format \"{other}\"; expected \"text\" or \"json\""),
                    );
                    DEFAULT_LOG_FORMAT
                }
            },
        },
        log_file: t.opt_string(cx, "log_file").map(|s| cx.resolve(s.text)),
        server_tokens: t.bool(cx, "server_tokens", DEFAULT_SERVER_TOKENS),
        error_details: t.bool(cx, "error_details", DEFAULT_ERROR_DETAILS),
    }
}

fn upstream(cx: &mut Cx<'_>, name: &str, t: &Tbl<'_, '_>) -> Upstream {
    t.check_keys(cx, UPSTREAM_KEYS);
    let mut addrs = Vec::new();
    match t.get("addrs") {
        None => cx.error(
            t.at,
            &t.path,
            "missing `addrs`: list at least one peer, e.g. addrs = [\"127.0.0.1:8001\"]",
        ),
        Some(v) if v.get_ref().as_array().is_some_and(|a| a.is_empty()) => {
            cx.error(v.span().start, &t.key("addrs"), "empty; list at least one \"host:port\"");
        }
        Some(_) => {}
    }
    let list = t.strings(cx, "addrs");
    let mut seen = HashSet::new();
    for s in &list {
        match value::upstream_addr(s.text) {
            Ok(a) => {
                if !seen.insert((a.host.clone(), a.port)) {
                    cx.error(
                        s.span.start,
                        &s.key,
                        format!(
                            "duplicate address {}:{}; raise its weight instead",
                            a.host, a.port
                        ),
                    );
                }
                addrs.push(a);
            }
            Err(e) => cx.value_error(s, e),
        }
    }
    let tls = t.bool(cx, "tls", false);
    let alpn = match t.string(cx, "alpn") {
        None => Alpn::H1,
        Some(s) => match s.text {
            "h1" => Alpn::H1,
            "h2" => Alpn::H2,
            "h2h1" if tls => Alpn::H2H1,
            "h2h1" => {
                cx.error(
                    s.span.start,
                    &s.key,
                    "alpn = \"h2h1\" needs tls = true (ALPN is negotiated in TLS); use \"h2\" for h2c prior knowledge or \"h1\"",
                );
                Alpn::H1
            }
            other => {
                cx.error(
                    s.span.start,
                    &s.key,
                    format!("unknown alpn \"{other}\"; expected h1, h2 or h2h1"),
                );
                Alpn::H1
            }
        },
    };
    Upstream {
        name: name.to_owned(),
        addrs,
        algo: t.parsed(cx, "algo", value::algo).unwrap_or(Algo::RoundRobin),
        health_check: match t.opt_string(cx, "health_check") {
            Some(s) => {
                value::health_check(s.text).map_err(|e| cx.value_error(&s, e)).unwrap_or_default()
            }
            None => HealthCheck::default(),
        },
        connection_timeout: t.duration(cx, "connection_timeout", DEFAULT_CONNECTION_TIMEOUT),
        total_connection_timeout: t.opt_duration(cx, "total_connection_timeout"),
        read_timeout: t.duration(cx, "read_timeout", DEFAULT_READ_TIMEOUT),
        write_timeout: t.duration(cx, "write_timeout", DEFAULT_WRITE_TIMEOUT),
        idle_timeout: t.duration(cx, "idle_timeout", DEFAULT_IDLE_TIMEOUT),
        tls,
        sni: t.opt_string(cx, "sni").map(|s| s.text.to_owned()),
        verify_cert: t.bool(cx, "verify_cert", DEFAULT_VERIFY_CERT),
        ca_file: t.file(cx, "ca_file", FileKind::Ca),
        alpn,
        retries: t.uint(cx, "retries", u64::from(DEFAULT_RETRIES), 0..=100) as u32,
    }
}

fn headers(cx: &mut Cx<'_>, t: &Tbl<'_, '_>, k: &str) -> Vec<HeaderSpec> {
    t.strings(cx, k)
        .iter()
        .filter_map(|s| value::header_spec(s.text).map_err(|e| cx.value_error(s, e)).ok())
        .collect()
}

fn header_names(cx: &mut Cx<'_>, t: &Tbl<'_, '_>, k: &str) -> Vec<String> {
    t.strings(cx, k)
        .iter()
        .filter_map(|s| {
            value::header_name(s.text.trim())
                .map(|()| s.text.trim().to_owned())
                .map_err(|e| cx.value_error(s, e))
                .ok()
        })
        .collect()
}

/// `plugins = [...]` of a location or server: known names, none twice.
fn plugin_refs(cx: &mut Cx<'_>, t: &Tbl<'_, '_>, plugins: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for s in t.strings(cx, "plugins") {
        if !plugins.contains(&s.text) {
            let known = if plugins.is_empty() {
                "no [plugins.NAME] is defined".to_owned()
            } else {
                format!("defined: {}", plugins.join(", "))
            };
            let hint = match suggest(s.text, plugins) {
                Some(near) => format!("did you mean \"{near}\"? "),
                None => String::new(),
            };
            cx.error(s.span.start, &s.key, format!("unknown plugin \"{}\"; {hint}{known}", s.text));
        } else if names.iter().any(|n| n == s.text) {
            cx.error(s.span.start, &s.key, format!("plugin \"{}\" is listed twice", s.text));
        }
        names.push(s.text.to_owned());
    }
    names
}

/// A header list that may be absent (`None`: inherit the server's).
fn opt_headers(cx: &mut Cx<'_>, t: &Tbl<'_, '_>, k: &str) -> Option<Vec<HeaderSpec>> {
    t.get(k)?;
    Some(headers(cx, t, k))
}

fn opt_header_names(cx: &mut Cx<'_>, t: &Tbl<'_, '_>, k: &str) -> Option<Vec<String>> {
    t.get(k)?;
    Some(header_names(cx, t, k))
}

fn location(
    cx: &mut Cx<'_>,
    name: &str,
    t: &Tbl<'_, '_>,
    upstreams: &[&str],
    plugins: &[&str],
) -> Location {
    t.check_keys(cx, LOCATION_KEYS);
    let upstream = t.string(cx, "upstream");
    if let Some(s) = &upstream {
        if !upstreams.contains(&s.text) {
            let known = if upstreams.is_empty() {
                "no [upstreams.NAME] is defined".to_owned()
            } else {
                format!("defined: {}", upstreams.join(", "))
            };
            cx.error(s.span.start, &s.key, format!("unknown upstream \"{}\"; {known}", s.text));
        }
    }
    let ret = t.parsed(cx, "return", value::return_spec);
    match (&upstream, t.get("return")) {
        (Some(_), Some(r)) => cx.error(
            r.span().start,
            &t.key("return"),
            "set either `upstream` or `return`, not both",
        ),
        (None, None) => {
            cx.error(
                t.at,
                &t.path,
                "missing `upstream` (or `return = \"200 body\"` for a direct answer)",
            );
        }
        _ => {}
    }
    Location {
        name: name.to_owned(),
        upstream: upstream.map(|s| s.text.to_owned()),
        ret,
        hosts: t.parsed(cx, "host", value::host_patterns).unwrap_or_default(),
        path: t.parsed(cx, "path", value::path_pattern).unwrap_or(PathPattern::Any),
        rewrite: match t.opt_string(cx, "rewrite") {
            Some(s) => value::rewrite(s.text).map_err(|e| cx.value_error(&s, e)).ok(),
            None => None,
        },
        proxy_set_headers: opt_headers(cx, t, "proxy_set_headers"),
        proxy_add_headers: opt_headers(cx, t, "proxy_add_headers"),
        proxy_remove_headers: opt_header_names(cx, t, "proxy_remove_headers"),
        response_set_headers: opt_headers(cx, t, "response_set_headers"),
        response_add_headers: opt_headers(cx, t, "response_add_headers"),
        response_remove_headers: opt_header_names(cx, t, "response_remove_headers"),
        weight: match t.uint(cx, "weight", 0, 0..=u64::from(u32::MAX)) {
            0 => None,
            n => Some(n as u32),
        },
        client_max_body_size: t.size(cx, "client_max_body_size", 0),
        plugins: plugin_refs(cx, t, plugins),
    }
}

/// Every listen address seen so far, to find duplicates across servers and admin.
#[derive(Default)]
struct Listeners {
    seen: Vec<(SocketAddr, String)>,
}

impl Listeners {
    /// Records `addr` for `owner`, or returns the owner that already listens there.
    fn claim(&mut self, addr: SocketAddr, owner: &str) -> Option<(SocketAddr, String)> {
        let clash = self.seen.iter().find(|(other, _)| {
            other.port() == addr.port()
                && other.is_ipv4() == addr.is_ipv4()
                && (other.ip() == addr.ip()
                    || other.ip().is_unspecified()
                    || addr.ip().is_unspecified())
        });
        if let Some(c) = clash {
            return Some(c.clone());
        }
        self.seen.push((addr, owner.to_owned()));
        None
    }
}

fn listen(cx: &mut Cx<'_>, s: &Str<'_>, owner: &str, listeners: &mut Listeners) -> Vec<SocketAddr> {
    let addrs = match value::listen_addrs(s.text) {
        Ok(a) => a,
        Err(e) => {
            cx.value_error(s, e);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (at, addr) in addrs {
        if let Some((other, by)) = listeners.claim(addr, owner) {
            let msg = if by == owner {
                format!(
                    "listen address {addr} is listed twice (or overlaps {other}) in this server"
                )
            } else if other == addr {
                format!("listen address {addr} is already used by {by}")
            } else {
                format!("listen address {addr} overlaps {other} of {by}")
            };
            let e = ValueError {
                offset: at,
                message: format!("{msg}; each address may be bound once"),
            };
            cx.value_error(s, e);
        }
        out.push(addr);
    }
    out
}

fn server(
    cx: &mut Cx<'_>,
    name: &str,
    t: &Tbl<'_, '_>,
    locations: &[&str],
    plugins: &[&str],
    have_certificates: bool,
    listeners: &mut Listeners,
) -> Server {
    t.check_keys(cx, SERVER_KEYS);
    let addrs = match t.string(cx, "addr") {
        Some(s) => listen(cx, &s, &t.path, listeners),
        None => {
            if t.get("addr").is_none() {
                cx.error(t.at, &t.path, "missing `addr`, e.g. addr = \"0.0.0.0:6188\"");
            }
            Vec::new()
        }
    };
    let mut names = Vec::new();
    for s in t.strings(cx, "locations") {
        if !locations.contains(&s.text) {
            let known = if locations.is_empty() {
                "no [locations.NAME] is defined".to_owned()
            } else {
                format!("defined: {}", locations.join(", "))
            };
            cx.error(s.span.start, &s.key, format!("unknown location \"{}\"; {known}", s.text));
        } else if names.iter().any(|n| n == s.text) {
            cx.error(s.span.start, &s.key, format!("location \"{}\" is listed twice", s.text));
        }
        names.push(s.text.to_owned());
    }
    let (tls_flag, tls_cert, tls_key) = tls_keys(cx, t, have_certificates);
    let stats_path = t.opt_string(cx, "stats_path").and_then(|s| {
        if s.text.starts_with('/') {
            Some(s.text.to_owned())
        } else {
            cx.error(s.span.start, &s.key, format!("must start with '/', e.g. \"/{}\"", s.text));
            None
        }
    });
    let max_header_size = t.size(cx, "max_header_size", 1).unwrap_or(DEFAULT_MAX_HEADER_SIZE);
    let max_header_count = t.uint(
        cx,
        "max_header_count",
        DEFAULT_MAX_HEADER_COUNT as u64,
        1..=MAX_HEADER_COUNT_LIMIT as u64,
    ) as usize;
    let max_uri_size = t.size(cx, "max_uri_size", 1).unwrap_or(DEFAULT_MAX_URI_SIZE);
    Server {
        name: name.to_owned(),
        addrs,
        locations: names,
        access_log: t.opt_string(cx, "access_log").map(|s| {
            if let Some(Err(message)) = cx.checks.access_log.map(|check| check(s.text)) {
                cx.error(s.span.start, &s.key, message);
            }
            s.text.to_owned()
        }),
        access_log_path: t.opt_string(cx, "access_log_path").map(|s| cx.resolve(s.text)),
        tls: tls_flag || tls_cert.is_some(),
        tls_cert,
        tls_key,
        enable_h2: t.bool(cx, "enable_h2", DEFAULT_ENABLE_H2),
        stats_path,
        admin_path: t
            .opt_string(cx, "admin_path")
            .map_or(DEFAULT_ADMIN_PATH.map(str::to_owned), |s| {
                value::admin_path(s.text).map_err(|e| cx.value_error(&s, e)).ok()
            }),
        error_template: t.file(cx, "error_template", FileKind::Template),
        header_read_timeout: t.duration(cx, "header_read_timeout", DEFAULT_HEADER_READ_TIMEOUT),
        keepalive_timeout: t.duration(cx, "keepalive_timeout", DEFAULT_KEEPALIVE_TIMEOUT),
        max_header_size,
        max_header_count,
        max_uri_size,
        max_connections: t.uint(
            cx,
            "max_connections",
            DEFAULT_MAX_CONNECTIONS as u64,
            0..=u64::from(u32::MAX),
        ) as usize,
        proxy_set_headers: headers(cx, t, "proxy_set_headers"),
        proxy_add_headers: headers(cx, t, "proxy_add_headers"),
        proxy_remove_headers: header_names(cx, t, "proxy_remove_headers"),
        response_set_headers: headers(cx, t, "response_set_headers"),
        response_add_headers: headers(cx, t, "response_add_headers"),
        response_remove_headers: header_names(cx, t, "response_remove_headers"),
        client_max_body_size: t.size(cx, "client_max_body_size", 0).filter(|n| *n > 0),
        plugins: plugin_refs(cx, t, plugins),
    }
}

/// `tls`, `tls_cert` and `tls_key` of a listener (a server or the admin): the certificate
/// and key come as a pair; `tls = true` without them needs `[certificates.NAME]`. Returns
/// `(tls, tls_cert, tls_key)`; `tls` is true when either is set.
fn tls_keys(
    cx: &mut Cx<'_>,
    t: &Tbl<'_, '_>,
    have_certificates: bool,
) -> (bool, Option<PathBuf>, Option<PathBuf>) {
    let tls_cert = t.file(cx, "tls_cert", FileKind::Cert);
    let tls_key = t.file(cx, "tls_key", FileKind::Key);
    match (&tls_cert, &tls_key) {
        (Some(_), None) => {
            let at = t.get("tls_cert").map_or(0, |v| v.span().start);
            cx.error(at, &t.key("tls_cert"), "tls_cert needs tls_key (the PEM private key)");
        }
        (None, Some(_)) => {
            let at = t.get("tls_key").map_or(0, |v| v.span().start);
            cx.error(at, &t.key("tls_key"), "tls_key needs tls_cert (the PEM certificate)");
        }
        _ => {}
    }
    let tls_flag = t.bool(cx, "tls", DEFAULT_TLS);
    if tls_flag && tls_cert.is_none() && !have_certificates {
        let at = t.get("tls").map_or(0, |v| v.span().start);
        cx.error(
            at,
            &t.key("tls"),
            "tls = true needs a certificate: add a [certificates.NAME] table or set tls_cert and tls_key",
        );
    }
    (tls_flag || tls_cert.is_some(), tls_cert, tls_key)
}

/// `admin_path` of every server: it serves the admin, so `[admin]` must exist and have
/// `users` (a public server is never loopback-only), and `stats_path` must not lie under it.
fn admin_paths(cx: &mut Cx<'_>, servers: &[Server], admin: Option<&Admin>, admin_written: bool) {
    for s in servers {
        let Some(path) = &s.admin_path else { continue };
        let key = format!("servers.{}.admin_path", s.name);
        match admin {
            None if !admin_written => cx.error_at_key(
                &key,
                "admin_path serves the admin API and UI, configured by [admin]: add an [admin] \
                 section (addr and users)",
            ),
            // A broken [admin] has its own errors.
            None => {}
            Some(a) if a.users.is_empty() => cx.error_at_key(
                &key,
                "admin_path exposes the admin on a public server, so [admin] users is required: \
                 add users = [\"admin:HASH\"] with a hash from `pylon hash-password`",
            ),
            Some(_) => {}
        }
        if let Some(stats) = &s.stats_path {
            if stats == path || stats.starts_with(&format!("{path}/")) {
                cx.error_at_key(
                    &key,
                    format!(
                        "stats_path {stats:?} lies under admin_path {path:?}, which the admin \
                         answers; move one of them"
                    ),
                );
            }
        }
    }
}

/// `[plugins.NAME]`: `kind` plus options kept as written; the caller's
/// [`Checks::plugin`] validates them.
fn plugin(cx: &mut Cx<'_>, name: &str, t: &Tbl<'_, '_>) -> Option<Plugin> {
    let mut options = Vec::new();
    let mut kind = None;
    let mut entries: Vec<_> = t.map.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    for (k, v) in entries {
        let key: &str = k.get_ref();
        let full = t.key(key);
        // At the key: errors about an option's name or type point there; errors inside a
        // string value point into the string (`plugin_strings`).
        cx.record(full.clone(), if key == "kind" { v.span().start } else { k.span().start });
        if key == "kind" {
            match v.get_ref() {
                DeValue::String(s) => kind = Some(s.to_string()),
                other => cx.error(
                    v.span().start,
                    &full,
                    format!(
                        "expected a string such as \"ip_restriction\", found {}",
                        other.type_str()
                    ),
                ),
            }
            continue;
        }
        if let Some(value) = plugin_value(cx, &full, v, true) {
            options.push(PluginOption { key: key.to_owned(), value });
        }
    }
    let Some(kind) = kind else {
        if t.get("kind").is_none() {
            cx.error(t.at, &t.path, "missing `kind`, e.g. kind = \"compression\"");
        }
        return None;
    };
    let plugin = Plugin { name: name.to_owned(), kind, options };
    if let Some(check) = cx.checks.plugin {
        for problem in check(&plugin) {
            let key = if problem.key.is_empty() { t.path.clone() } else { t.key(&problem.key) };
            match cx.plugin_strings.get(&key).cloned() {
                Some((span, text)) => {
                    let s = Str { text: &text, span, key: key.clone() };
                    cx.value_error(
                        &s,
                        ValueError { offset: problem.offset, message: problem.message },
                    );
                }
                None => cx.error_at_key(&key, problem.message),
            }
        }
    }
    Some(plugin)
}

fn plugin_value(cx: &mut Cx<'_>, key: &str, v: &Item<'_>, nest: bool) -> Option<PluginValue> {
    match v.get_ref() {
        DeValue::String(s) => {
            cx.plugin_strings.insert(key.to_owned(), (v.span(), s.to_string()));
            Some(PluginValue::String(s.to_string()))
        }
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Some(PluginValue::Integer(n)),
            Err(_) => {
                cx.error(v.span().start, key, format!("{} is out of range", i.as_str()));
                None
            }
        },
        DeValue::Boolean(b) => Some(PluginValue::Bool(*b)),
        DeValue::Array(items) if nest => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let k = format!("{key}[{i}]");
                cx.record(k.clone(), item.span().start);
                if let Some(value) = plugin_value(cx, &k, item, false) {
                    out.push(value);
                }
            }
            Some(PluginValue::Array(out))
        }
        other => {
            cx.error(
                v.span().start,
                key,
                format!(
                    "expected a string, whole number, boolean{}, found {}",
                    if nest { " or an array of those" } else { "" },
                    other.type_str()
                ),
            );
            None
        }
    }
}

/// A plugin that runs for every location of a server must not be listed again on one of
/// its locations (it would run twice).
fn plugin_twice(cx: &mut Cx<'_>, locations: &[Location], servers: &[Server]) {
    for s in servers {
        for l in locations.iter().filter(|l| s.locations.contains(&l.name)) {
            for (i, p) in l.plugins.iter().enumerate() {
                if s.plugins.contains(p) {
                    cx.error_at_key(
                        &format!("locations.{}.plugins[{i}]", l.name),
                        format!(
                            "plugin \"{p}\" already runs for every location of server \"{}\" \
                             (servers.{}.plugins); list it in one place",
                            s.name, s.name
                        ),
                    );
                }
            }
        }
    }
}

fn certificates(cx: &mut Cx<'_>, root: &Tbl<'_, '_>) -> Vec<Certificate> {
    let mut out = Vec::new();
    let mut domains_seen: HashMap<String, String> = HashMap::new();
    let mut default_seen: Option<String> = None;
    for (name, t) in root.children(cx, "certificates") {
        t.check_keys(cx, CERTIFICATE_KEYS);
        let is_default = t.bool(cx, "is_default", false);
        if is_default {
            if let Some(prev) = &default_seen {
                let at = t.get("is_default").map_or(0, |v| v.span().start);
                cx.error(
                    at,
                    &t.key("is_default"),
                    format!("{prev} is already the default certificate; only one may be"),
                );
            } else {
                default_seen = Some(t.path.clone());
            }
        }
        let mut domains = Vec::new();
        for s in t.strings(cx, "domains") {
            match value::cert_domain(s.text) {
                Ok(d) => {
                    if let Some(prev) = domains_seen.get(&d) {
                        cx.error(
                            s.span.start,
                            &s.key,
                            format!("domain \"{d}\" is already served by {prev}"),
                        );
                    } else {
                        domains_seen.insert(d.clone(), t.path.clone());
                    }
                    domains.push(d);
                }
                Err(e) => cx.value_error(&s, e),
            }
        }
        if domains.is_empty() && !is_default && t.get("domains").is_none() {
            cx.error(
                t.at,
                &t.path,
                "missing `domains` (the names this certificate serves), or set is_default = true",
            );
        }
        let mut required = |k: &str, kind| {
            let p = t.file(cx, k, kind);
            if p.is_none() && t.get(k).is_none_or(|v| v.get_ref().as_str() == Some("")) {
                let at = t.get(k).map_or(t.at, |v| v.span().start);
                cx.error(at, &t.key(k), format!("missing `{k}` (a PEM file path)"));
            }
            p.unwrap_or_default()
        };
        let tls_cert = required("tls_cert", FileKind::Cert);
        let tls_key = required("tls_key", FileKind::Key);
        out.push(Certificate { name, domains, tls_cert, tls_key, is_default });
    }
    out
}

fn admin(
    cx: &mut Cx<'_>,
    t: &Tbl<'_, '_>,
    have_certificates: bool,
    listeners: &mut Listeners,
) -> Option<Admin> {
    t.check_keys(cx, ADMIN_KEYS);
    let (tls, tls_cert, tls_key) = tls_keys(cx, t, have_certificates);
    let mut users: Vec<AdminUser> = Vec::new();
    for s in t.strings(cx, "users") {
        match value::admin_user(s.text) {
            Ok(u) if users.iter().any(|o| o.name == u.name) => {
                cx.error(s.span.start, &s.key, format!("user \"{}\" is listed twice", u.name));
            }
            Ok(u) => users.push(u),
            Err(e) => cx.value_error(&s, e),
        }
    }
    let history_dir = match t.opt_string(cx, "history_dir") {
        Some(s) => cx.resolve(s.text),
        None => {
            let file = origin_name(&cx.file);
            cx.resolve(&format!("{file}{DEFAULT_ADMIN_HISTORY_SUFFIX}"))
        }
    };
    // At least 1: every change keeps the version it replaces, for rollback.
    let history_size =
        t.uint(cx, "history_size", DEFAULT_ADMIN_HISTORY_SIZE as u64, 1..=10_000) as usize;
    let Some(s) = t.string(cx, "addr") else {
        if t.get("addr").is_none() {
            cx.error(
                t.at,
                &t.path,
                "missing `addr`, e.g. addr = \"127.0.0.1:6190\"; remove [admin] to turn it off",
            );
        }
        return None;
    };
    let addrs = listen(cx, &s, &t.path, listeners);
    let [addr] = addrs[..] else {
        if addrs.len() > 1 {
            cx.error(s.span.start, &s.key, "the admin listens on exactly one address");
        }
        return None;
    };
    if !addr.ip().is_loopback() && users.is_empty() {
        cx.error(
            s.span.start,
            &s.key,
            format!(
                "{addr} is not a loopback address, so `users` is required: add users = [\"admin:HASH\"] with a hash from `pylon hash-password`, or bind to 127.0.0.1"
            ),
        );
    }
    Some(Admin { addr, users, history_dir, history_size, tls, tls_cert, tls_key })
}

/// The file name of the config's origin (`pylon.toml` for `/etc/pylon/pylon.toml`).
fn origin_name(file: &str) -> String {
    Path::new(file)
        .file_name()
        .map_or_else(|| "pylon.toml".to_owned(), |n| n.to_string_lossy().into_owned())
}

fn lints(
    cx: &mut Cx<'_>,
    upstreams: &[Upstream],
    locations: &[Location],
    servers: &[Server],
    plugins: &[Plugin],
) {
    for p in plugins {
        let used = locations.iter().any(|l| l.plugins.contains(&p.name))
            || servers.iter().any(|s| s.plugins.contains(&p.name));
        if !used {
            cx.warn(&format!("plugins.{}", p.name), "no location or server uses this plugin");
        }
    }
    for u in upstreams {
        if !locations.iter().any(|l| l.upstream.as_deref() == Some(&u.name)) {
            cx.warn(&format!("upstreams.{}", u.name), "no location uses this upstream");
        }
    }
    for l in locations {
        if !servers.iter().any(|s| s.locations.contains(&l.name)) {
            cx.warn(&format!("locations.{}", l.name), "no server lists this location");
        }
    }
    for s in servers {
        if s.locations.is_empty() {
            cx.warn(
                &format!("servers.{}", s.name),
                "this server has no locations, so every request (except its stats_path) is answered 404",
            );
        }
    }
    if servers.is_empty() {
        cx.warn("servers", "no [servers.NAME] is defined, so pylon listens nowhere");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! suggests {
        ($name:ident, $typo:expr, $want:expr) => {
            #[test]
            fn $name() {
                assert_eq!(suggest($typo, SERVER_KEYS), $want);
            }
        };
    }

    suggests!(suggest_typo, "adr", Some("addr"));
    suggests!(suggest_swap, "locaitons", Some("locations"));
    suggests!(suggest_far, "frobnicate", None);
    suggests!(suggest_dash, "stats-path", Some("stats_path"));

    macro_rules! offset {
        ($name:ident, $src:expr, $text:expr, $off:expr, $want:expr) => {
            #[test]
            fn $name() {
                let s = Str { text: $text, span: 0..$src.len(), key: String::new() };
                assert_eq!(s.source_offset($src, $off), $want);
            }
        };
    }

    offset!(offset_basic, "\"abc\"", "abc", 2, 3);
    offset!(offset_literal, "'abc'", "abc", 1, 2);
    offset!(offset_escaped_falls_back, "\"a\\tb\"", "a\tb", 2, 0);
    offset!(offset_triple, "'''abc'''", "abc", 1, 4);
    offset!(offset_zero_is_quote, "\"abc\"", "abc", 0, 0);
}
