//! [`Runtime`]: a [`Config`] compiled for serving — route tables, upstream pools, access
//! logs, header programs and error pages. It is immutable; a reload builds a new one and
//! swaps it in (arc-swap), reusing the pools whose spec did not change so their health
//! state survives.

use std::{collections::HashMap, sync::Arc, time::Duration};

use bytes::Bytes;
use pylon_accesslog::{LogWriter, Template};
use pylon_config::{
    Algo, Alpn, Config, Diagnostic, HashKey, HeaderSpec, HealthCheck, HealthCheckKind, HostPattern,
    Location, PathPattern, Plugin, PluginOption, PluginValue, Return, Server, Upstream,
    UpstreamAddr,
};
use pylon_plugin::{Chain, Instance};
use pylon_route::{HostRule, PathRule, Rewrite, Route, Router, RouterBuilder};
use pylon_upstream::{
    AddrSpec, Algorithm, HealthCallback, HealthKind, HealthSpec, PeerSpec, Pool, PoolSpec,
};

use crate::{
    error_page::ErrorPage,
    headers::{self, HeaderProgram, ValueTemplate},
    metrics::{ServerRtMetrics, UpstreamMetrics},
    stats::{LocationCounters, Stats},
};

/// Lines an access log may queue before new ones are dropped (and counted).
const ACCESS_LOG_QUEUE: usize = 16 * 1024;

/// Everything a request needs, compiled from one config generation.
#[derive(Debug)]
pub(crate) struct Runtime {
    pub(crate) config: Arc<Config>,
    pub(crate) servers: HashMap<String, Arc<ServerRt>>,
    pub(crate) pools: HashMap<String, Arc<Pool>>,
    /// Compiled `[plugins.NAME]` with the spec they were built from: a reload reuses an
    /// instance with state (rate counters) when its spec is unchanged.
    plugins: HashMap<String, (pylon_plugin::Spec, Arc<Instance>)>,
}

/// A compiled `[servers.NAME]`.
#[derive(Debug)]
pub(crate) struct ServerRt {
    pub(crate) name: Arc<str>,
    /// Metrics and the recent-request ring, when the config has `[admin]` (their reader).
    pub(crate) metrics: Option<ServerRtMetrics>,
    pub(crate) router: Router,
    /// Indexed like the router: `locations[i]` is route `i`.
    pub(crate) locations: Vec<Arc<LocationRt>>,
    pub(crate) access_log: Option<AccessLog>,
    pub(crate) stats_path: Option<String>,
    /// The prefix answered by the admin application (`servers.NAME.admin_path`).
    pub(crate) admin_path: Option<String>,
    pub(crate) error_page: ErrorPage,
    pub(crate) scheme: &'static str,
    pub(crate) keepalive_timeout: Duration,
    /// The request-head limits (`max_header_size`, `max_header_count`, `max_uri_size`).
    pub(crate) limits: crate::framing::Limits,
    /// Every query parameter a `key_auth` or `jwt` plugin anywhere in the config reads a
    /// credential from (sorted, no repeats): masked in the access log of every request,
    /// whether or not a plugin read it.
    pub(crate) query_credentials: Arc<[String]>,
}

/// An access log: the compiled template and where lines go.
#[derive(Debug, Clone)]
pub(crate) struct AccessLog {
    pub(crate) template: Template,
    pub(crate) writer: LogWriter,
    /// `None` = stdout.
    pub(crate) path: Option<std::path::PathBuf>,
}

/// A compiled `[locations.NAME]` as one server serves it: its own settings plus the
/// server's defaults it inherits (header programs, body size) and the plugin chain (the
/// server's plugins, then its own).
#[derive(Debug)]
pub(crate) struct LocationRt {
    pub(crate) name: String,
    pub(crate) target: Target,
    pub(crate) rewrite: Option<Rewrite>,
    pub(crate) request_headers: HeaderProgram,
    pub(crate) response_headers: HeaderProgram,
    pub(crate) client_max_body_size: Option<u64>,
    pub(crate) counters: Arc<LocationCounters>,
    pub(crate) needs_request_id: bool,
    pub(crate) plugins: Chain,
}

/// Where a location's requests go.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Upstream {
        pool: Arc<Pool>,
        retries: u32,
        /// `idle_timeout = "0s"`: ask the upstream to close, so no connection is pooled.
        no_reuse: bool,
        metrics: Arc<UpstreamMetrics>,
    },
    /// `return = "STATUS BODY"` or `return = "3xx URL"`: answered by the proxy itself.
    Return(Arc<ReturnRt>),
}

/// A compiled `return`.
#[derive(Debug)]
pub(crate) struct ReturnRt {
    pub(crate) status: u16,
    /// The body when it has no variables (built once).
    pub(crate) fixed_body: Option<Bytes>,
    pub(crate) body: headers::Template,
    /// The `Location` of a redirect.
    pub(crate) location: Option<ValueTemplate>,
}

/// The parts of a location that do not depend on the server listing it, compiled once.
#[derive(Debug, Clone)]
struct LocationOwn {
    target: Target,
    rewrite: Option<Rewrite>,
}

impl Runtime {
    /// A runtime with no servers, in place until the supervisor builds the first real one.
    pub(crate) fn empty(config: &Config) -> Runtime {
        Runtime {
            config: Arc::new(config.clone()),
            servers: HashMap::new(),
            pools: HashMap::new(),
            plugins: HashMap::new(),
        }
    }

    /// Compile `config`. `previous` lends pools whose spec is unchanged (health state
    /// survives) and access-log writers for unchanged paths (reopened, for logrotate).
    pub(crate) async fn build(
        config: Config,
        previous: Option<&Runtime>,
        stats: &Stats,
        on_health: Option<HealthCallback>,
    ) -> Result<Runtime, Vec<Diagnostic>> {
        let mut errors = Vec::new();

        let mut pools = HashMap::new();
        for up in &config.upstreams {
            let spec = pool_spec(up);
            let reused =
                previous.and_then(|p| p.pools.get(&up.name)).filter(|p| p.spec() == &spec).cloned();
            let pool = match reused {
                Some(p) => p,
                None => match Pool::build(spec, on_health.clone()).await {
                    Ok(p) => Arc::new(p),
                    Err(e) => {
                        errors.push(
                            config
                                .diagnostic(&format!("upstreams.{}.addrs", up.name), e.to_string()),
                        );
                        continue;
                    }
                },
            };
            pools.insert(up.name.clone(), pool);
        }

        let env = pylon_plugin::Env {
            base: config.file.parent().map(std::path::Path::to_path_buf).unwrap_or_default(),
        };
        let mut plugins = HashMap::new();
        for p in &config.plugins {
            let spec = plugin_spec(p);
            let reused = previous
                .and_then(|prev| prev.plugins.get(&p.name))
                .filter(|(s, i)| *s == spec && i.keeps_state())
                .map(|(_, i)| i.clone());
            if let Some(i) = reused {
                plugins.insert(p.name.clone(), (spec, i));
                continue;
            }
            match Instance::build(&spec, &env) {
                Ok(i) => {
                    plugins.insert(p.name.clone(), (spec, Arc::new(i)));
                }
                Err(problems) => errors.extend(problems.into_iter().map(|pr| {
                    let key = if pr.key.is_empty() {
                        format!("plugins.{}", p.name)
                    } else {
                        format!("plugins.{}.{}", p.name, pr.key)
                    };
                    config.diagnostic(&key, pr.message)
                })),
            }
        }

        let mut locations: HashMap<&str, LocationOwn> = HashMap::new();
        for loc in &config.locations {
            match build_location(&config, loc, &pools, stats) {
                Ok(l) => {
                    locations.insert(loc.name.as_str(), l);
                }
                Err(mut e) => errors.append(&mut e),
            }
        }

        let default_page = match &config.basic.error_template {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(t) => ErrorPage::parse(&t, &config.basic),
                Err(e) => {
                    errors.push(config.diagnostic(
                        "basic.error_template",
                        format!("cannot read {}: {e}", path.display()),
                    ));
                    ErrorPage::builtin(&config.basic)
                }
            },
            None => ErrorPage::builtin(&config.basic),
        };

        // Compiled with the config, so a reload updates it.
        let mut query_credentials: Vec<String> =
            plugins.values().filter_map(|(_, i)| i.credential_query().map(str::to_owned)).collect();
        query_credentials.sort_unstable();
        query_credentials.dedup();
        let query_credentials: Arc<[String]> = query_credentials.into();

        let mut servers = HashMap::new();
        for server in &config.servers {
            let prev = previous.and_then(|p| p.servers.get(&server.name));
            let parts = Parts {
                locations: &locations,
                plugins: &plugins,
                stats,
                query_credentials: &query_credentials,
            };
            match build_server(&config, server, &parts, &default_page, prev) {
                Ok(s) => {
                    servers.insert(server.name.clone(), Arc::new(s));
                }
                Err(mut e) => errors.append(&mut e),
            }
        }

        if errors.is_empty() {
            Ok(Runtime { config: Arc::new(config), servers, pools, plugins })
        } else {
            errors.dedup();
            Err(errors)
        }
    }

    /// Upstream name → pool, in config order, for stats and explain.
    pub(crate) fn pools_in_order(&self) -> Vec<(&str, &Arc<Pool>)> {
        self.config
            .upstreams
            .iter()
            .filter_map(|u| self.pools.get(&u.name).map(|p| (u.name.as_str(), p)))
            .collect()
    }
}

/// The plugin crate's input for one `[plugins.NAME]`.
pub(crate) fn plugin_spec(p: &Plugin) -> pylon_plugin::Spec {
    let Plugin { name, kind, options } = p;
    fn value(v: &PluginValue) -> pylon_plugin::Value {
        match v {
            PluginValue::String(s) => pylon_plugin::Value::Str(s.clone()),
            PluginValue::Integer(n) => pylon_plugin::Value::Int(*n),
            PluginValue::Bool(b) => pylon_plugin::Value::Bool(*b),
            PluginValue::Array(items) => {
                pylon_plugin::Value::List(items.iter().map(value).collect())
            }
            // Not produced by pylon-config today; an empty list is refused by every kind
            // that reads it.
            _ => pylon_plugin::Value::List(Vec::new()),
        }
    }
    pylon_plugin::Spec {
        name: name.clone(),
        kind: kind.clone(),
        options: options
            .iter()
            .map(|PluginOption { key, value: v }| (key.clone(), value(v)))
            .collect(),
    }
}

fn build_location(
    config: &Config,
    loc: &Location,
    pools: &HashMap<String, Arc<Pool>>,
    stats: &Stats,
) -> Result<LocationOwn, Vec<Diagnostic>> {
    // Destructured without `..`: a new config field must be given a home here. The fields a
    // location may inherit from its server are compiled per server (`location_for`).
    let Location {
        name,
        upstream,
        ret,
        hosts: _,
        path: _,
        rewrite,
        proxy_set_headers: _,
        proxy_add_headers: _,
        proxy_remove_headers: _,
        response_set_headers: _,
        response_add_headers: _,
        response_remove_headers: _,
        weight: _,
        client_max_body_size: _,
        plugins: _,
    } = loc;
    let key = |k: &str| format!("locations.{name}.{k}");
    let mut errors = Vec::new();

    let retries = config.upstream(upstream.as_deref().unwrap_or_default()).map_or(0, |u| u.retries);
    let target = match (upstream, ret) {
        (_, Some(r)) => match compile_return(r) {
            Ok(r) => Some(Target::Return(Arc::new(r))),
            Err(e) => {
                errors.push(config.diagnostic(&key("return"), e));
                None
            }
        },
        (Some(u), None) => match pools.get(u) {
            Some(pool) => Some(Target::Upstream {
                pool: pool.clone(),
                retries,
                no_reuse: pool.spec().peer.idle_timeout.is_zero(),
                metrics: stats.metrics.upstream(u),
            }),
            None => {
                // The pool failed to build (reported with the upstream) or the name is
                // dangling (reported by pylon-config); either way there is an error already,
                // but make sure one exists.
                if config.upstream(u).is_none() {
                    errors.push(
                        config.diagnostic(&key("upstream"), format!("unknown upstream {u:?}")),
                    );
                }
                None
            }
        },
        (None, None) => {
            errors.push(config.diagnostic(&key("upstream"), "set `upstream` or `return`"));
            None
        }
    };

    let rewrite = match rewrite {
        Some(r) => match Rewrite::new(&r.regex, &r.replacement) {
            Ok(r) => Some(r),
            Err(e) => {
                errors.push(config.diagnostic(&key("rewrite"), e.to_string()));
                None
            }
        },
        None => None,
    };

    match target {
        Some(target) if errors.is_empty() => Ok(LocationOwn { target, rewrite }),
        _ => Err(errors),
    }
}

fn compile_return(r: &Return) -> Result<ReturnRt, String> {
    let Return { status, body, location } = r;
    let body = headers::Template::parse(body)?;
    Ok(ReturnRt {
        status: *status,
        fixed_body: body.fixed().map(|b| Bytes::from(b.to_owned())),
        body,
        location: location.as_deref().map(ValueTemplate::parse).transpose()?,
    })
}

/// What a server's locations are assembled from.
struct Parts<'a> {
    locations: &'a HashMap<&'a str, LocationOwn>,
    plugins: &'a HashMap<String, (pylon_plugin::Spec, Arc<Instance>)>,
    stats: &'a Stats,
    query_credentials: &'a Arc<[String]>,
}

/// `loc` as `server` serves it: each header list and the body size from the location if it
/// sets them, else from the server (nginx's inheritance, directive by directive); the
/// server's plugins, then the location's.
fn location_for(
    config: &Config,
    server: &Server,
    loc: &Location,
    own: &LocationOwn,
    parts: &Parts<'_>,
) -> Result<LocationRt, Vec<Diagnostic>> {
    let key = |k: &str| format!("locations.{}.{k}", loc.name);
    let mut errors = Vec::new();
    let pairs = |own: &Option<Vec<HeaderSpec>>, server: &[HeaderSpec]| -> Vec<(String, String)> {
        own.as_deref().unwrap_or(server).iter().map(|h| (h.name.clone(), h.value.clone())).collect()
    };
    let names = |own: &Option<Vec<String>>, server: &[String]| -> Vec<String> {
        own.as_deref().unwrap_or(server).to_vec()
    };
    let request_headers = HeaderProgram::compile(
        &pairs(&loc.proxy_set_headers, &server.proxy_set_headers),
        &pairs(&loc.proxy_add_headers, &server.proxy_add_headers),
        &names(&loc.proxy_remove_headers, &server.proxy_remove_headers),
    )
    .map_err(|e| errors.push(config.diagnostic(&key("proxy_set_headers"), e)))
    .unwrap_or_default();
    let response_headers = HeaderProgram::compile(
        &pairs(&loc.response_set_headers, &server.response_set_headers),
        &pairs(&loc.response_add_headers, &server.response_add_headers),
        &names(&loc.response_remove_headers, &server.response_remove_headers),
    )
    .map_err(|e| errors.push(config.diagnostic(&key("response_set_headers"), e)))
    .unwrap_or_default();

    let mut chain = Vec::new();
    for name in server.plugins.iter().chain(&loc.plugins) {
        match parts.plugins.get(name) {
            Some((_, p)) => chain.push(p.clone()),
            // Unknown names are reported by pylon-config; a plugin that failed to build
            // is reported with the plugin.
            None if config.plugin(name).is_none() => {
                errors.push(config.diagnostic(&key("plugins"), format!("unknown plugin {name:?}")))
            }
            None => {}
        }
    }

    let returns_need_id = match &own.target {
        Target::Return(r) => {
            r.body.needs_request_id() || r.location.as_ref().is_some_and(|l| l.needs_request_id())
        }
        Target::Upstream { .. } => false,
    };
    if !errors.is_empty() || chain.len() != server.plugins.len() + loc.plugins.len() {
        return Err(errors);
    }
    Ok(LocationRt {
        name: loc.name.clone(),
        target: own.target.clone(),
        rewrite: own.rewrite.clone(),
        needs_request_id: request_headers.needs_request_id()
            || response_headers.needs_request_id()
            || returns_need_id,
        request_headers,
        response_headers,
        client_max_body_size: loc
            .client_max_body_size
            .or(server.client_max_body_size)
            .filter(|n| *n > 0),
        counters: parts.stats.location(&loc.name),
        plugins: Chain::new(chain),
    })
}

fn build_server(
    config: &Config,
    server: &Server,
    parts: &Parts<'_>,
    default_page: &ErrorPage,
    previous: Option<&Arc<ServerRt>>,
) -> Result<ServerRt, Vec<Diagnostic>> {
    let Server {
        name,
        addrs: _,
        locations: location_names,
        access_log,
        access_log_path,
        tls_cert,
        tls_key: _,
        tls,
        enable_h2: _,
        stats_path,
        admin_path,
        error_template,
        header_read_timeout: _,
        keepalive_timeout,
        max_header_size,
        max_header_count,
        max_uri_size,
        max_connections: _,
        // Inherited by the locations (`location_for`).
        proxy_set_headers: _,
        proxy_add_headers: _,
        proxy_remove_headers: _,
        response_set_headers: _,
        response_add_headers: _,
        response_remove_headers: _,
        client_max_body_size: _,
        plugins: _,
    } = server;
    let key = |k: &str| format!("servers.{name}.{k}");
    let mut errors = Vec::new();

    let (router, locs) = match compile_router(config, location_names) {
        Ok(router) => {
            let mut locs = Vec::new();
            for n in location_names {
                let (Some(loc), Some(own)) = (config.location(n), parts.locations.get(n.as_str()))
                else {
                    continue;
                };
                match location_for(config, server, loc, own, parts) {
                    Ok(l) => locs.push(Arc::new(l)),
                    Err(mut e) => errors.append(&mut e),
                }
            }
            (Some(router), locs)
        }
        Err(e) => {
            errors.push(e);
            (None, Vec::new())
        }
    };

    let access_log = match access_log {
        None => None,
        Some(spec) => match Template::from_spec(spec) {
            Ok(template) => {
                // Keep the previous writer when it writes to the same place: a reload
                // then reopens it (for logrotate) instead of starting a second writer.
                let reuse = previous
                    .and_then(|p| p.access_log.as_ref())
                    .filter(|l| &l.path == access_log_path)
                    .map(|l| l.writer.clone());
                let writer = match reuse {
                    Some(w) => {
                        w.reopen();
                        Ok(w)
                    }
                    None => match access_log_path {
                        Some(path) => LogWriter::file(path, ACCESS_LOG_QUEUE).map_err(|e| {
                            config.diagnostic(
                                &key("access_log_path"),
                                format!("cannot open {}: {e}", path.display()),
                            )
                        }),
                        None => Ok(LogWriter::stdout(ACCESS_LOG_QUEUE)),
                    },
                };
                match writer {
                    Ok(writer) => {
                        Some(AccessLog { template, writer, path: access_log_path.clone() })
                    }
                    Err(d) => {
                        errors.push(d);
                        None
                    }
                }
            }
            Err(e) => {
                errors.push(config.diagnostic(&key("access_log"), e.to_string()));
                None
            }
        },
    };

    let error_page = match error_template {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(t) => ErrorPage::parse(&t, &config.basic),
            Err(e) => {
                errors.push(config.diagnostic(
                    &key("error_template"),
                    format!("cannot read {}: {e}", path.display()),
                ));
                default_page.clone()
            }
        },
        None => default_page.clone(),
    };

    match router {
        Some(router) if errors.is_empty() && locs.len() == location_names.len() => Ok(ServerRt {
            name: Arc::from(name.as_str()),
            metrics: config.admin.is_some().then(|| ServerRtMetrics {
                server: parts.stats.metrics.server(name),
                locations: location_names
                    .iter()
                    .map(|l| parts.stats.metrics.location(name, l))
                    .collect(),
            }),
            router,
            locations: locs,
            access_log,
            stats_path: stats_path.clone(),
            admin_path: admin_path.clone(),
            error_page,
            scheme: if *tls || tls_cert.is_some() { "https" } else { "http" },
            keepalive_timeout: *keepalive_timeout,
            limits: crate::framing::Limits {
                max_header_size: usize::try_from(*max_header_size).unwrap_or(usize::MAX),
                max_header_count: *max_header_count,
                max_uri_size: usize::try_from(*max_uri_size).unwrap_or(usize::MAX),
            },
            query_credentials: parts.query_credentials.clone(),
        }),
        _ => Err(errors),
    }
}

/// The router of a server: its locations, in the server's order.
pub(crate) fn compile_router(config: &Config, names: &[String]) -> Result<Router, Diagnostic> {
    let mut builder = RouterBuilder::new();
    for name in names {
        let Some(loc) = config.location(name) else {
            return Err(config.diagnostic("servers", format!("unknown location {name:?}")));
        };
        builder.add(route_of(loc));
    }
    builder.build().map_err(|e| match &e {
        pylon_route::Error::PathPattern { route, .. } => {
            config.diagnostic(&format!("locations.{route}.path"), e.to_string())
        }
        _ => config.diagnostic("locations", e.to_string()),
    })
}

/// The route-table input of a location.
pub(crate) fn route_of(loc: &Location) -> Route {
    let hosts = loc
        .hosts
        .iter()
        .filter_map(|h| match h {
            HostPattern::Exact(s) => Some(HostRule::Exact(s.clone())),
            HostPattern::Wildcard(s) => Some(HostRule::Wildcard(s.clone())),
            HostPattern::Regex(s) => Some(HostRule::Regex(s.clone())),
            _ => None,
        })
        .collect();
    let path = match &loc.path {
        PathPattern::Any => PathRule::Any,
        PathPattern::Exact(s) => PathRule::Exact(s.clone()),
        PathPattern::Prefix(s) => PathRule::Prefix(s.clone()),
        PathPattern::Regex(s) => PathRule::Regex(s.clone()),
        _ => PathRule::Any,
    };
    Route { name: loc.name.clone(), hosts, path, weight: loc.weight }
}

/// The pool input of an upstream.
pub(crate) fn pool_spec(up: &Upstream) -> PoolSpec {
    let Upstream {
        name,
        addrs,
        algo,
        health_check,
        connection_timeout,
        total_connection_timeout,
        read_timeout,
        write_timeout,
        idle_timeout,
        tls,
        sni,
        verify_cert,
        ca_file,
        alpn,
        retries: _,
    } = up;
    let HealthCheck {
        kind,
        connection_timeout: hc_connect,
        read_timeout: hc_read,
        check_frequency,
        success,
        failure,
    } = health_check;
    PoolSpec {
        name: name.clone(),
        addrs: addrs
            .iter()
            .map(|UpstreamAddr { host, port, weight }| AddrSpec {
                host: host.clone(),
                port: *port,
                weight: *weight,
            })
            .collect(),
        algorithm: match algo {
            Algo::RoundRobin => Algorithm::RoundRobin,
            Algo::Random => Algorithm::Random,
            Algo::LeastConn => Algorithm::LeastConn,
            Algo::Hash(key) => Algorithm::Hash(match key {
                HashKey::Path => pylon_upstream::HashKey::Path,
                HashKey::Url => pylon_upstream::HashKey::Url,
                HashKey::Ip => pylon_upstream::HashKey::ClientIp,
                HashKey::Header(h) => pylon_upstream::HashKey::Header(h.clone()),
                HashKey::Cookie(c) => pylon_upstream::HashKey::Cookie(c.clone()),
                HashKey::Query(q) => pylon_upstream::HashKey::Query(q.clone()),
                _ => pylon_upstream::HashKey::Path,
            }),
            _ => Algorithm::RoundRobin,
        },
        health: HealthSpec {
            kind: match kind {
                HealthCheckKind::Http { host, path, tls } => {
                    HealthKind::Http { host: host.clone(), path: path.clone(), tls: *tls }
                }
                _ => HealthKind::Tcp,
            },
            connection_timeout: *hc_connect,
            read_timeout: *hc_read,
            frequency: *check_frequency,
            success: *success,
            failure: *failure,
        },
        peer: PeerSpec {
            connection_timeout: *connection_timeout,
            total_connection_timeout: *total_connection_timeout,
            read_timeout: *read_timeout,
            write_timeout: *write_timeout,
            idle_timeout: *idle_timeout,
            tls: *tls,
            sni: sni.clone(),
            verify_cert: *verify_cert,
            ca_file: ca_file.clone(),
            alpn: match alpn {
                Alpn::H2 => pylon_upstream::Alpn::H2,
                Alpn::H2H1 => pylon_upstream::Alpn::H2H1,
                _ => pylon_upstream::Alpn::H1,
            },
        },
    }
}

/// Lints that need the compiled route tables (SPEC §9): shadowed locations and
/// equal-weight overlaps. pylon-config reports the others (unused upstreams, …).
pub(crate) fn route_lints(config: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // Requests are routed on their normal path (SPEC §4), so patterns are compared in normal
    // form too: say so when that is not how the pattern was written.
    for loc in &config.locations {
        let (PathPattern::Exact(p) | PathPattern::Prefix(p)) = &loc.path else { continue };
        if let Ok(normal) = pylon_route::normalize_path(p.as_bytes()) {
            if normal != p.as_str() {
                out.push(config.diagnostic(
                    &format!("locations.{}.path", loc.name),
                    format!(
                        "request paths are matched in normal form (RFC 3986 §6.2.2), so {p:?} \
                         matches the path {normal:?}; write it that way"
                    ),
                ));
            }
        }
    }
    for server in &config.servers {
        if let Some(admin) = &server.admin_path {
            for loc in config.locations.iter().filter(|l| server.locations.contains(&l.name)) {
                let (PathPattern::Exact(p) | PathPattern::Prefix(p)) = &loc.path else {
                    continue;
                };
                if crate::admin::under_prefix(p, admin) {
                    out.push(config.diagnostic(
                        &format!("locations.{}.path", loc.name),
                        format!(
                            "in server {:?} the paths under admin_path {admin:?} are answered by \
                             the admin, so this location never sees {p:?}",
                            server.name
                        ),
                    ));
                }
            }
        }
        let Ok(router) = compile_router(config, &server.locations) else { continue };
        let name = |i: usize| router.route(i).name.clone();
        for (shadowed, by) in router.shadowed() {
            out.push(config.diagnostic(
                &format!("locations.{}", name(shadowed)),
                format!(
                    "in server {:?} this location can never match: location {:?} (weight {}) \
                     comes first and matches everything it would",
                    server.name,
                    name(by),
                    router.weight(by)
                ),
            ));
        }
        for (a, b) in router.overlapping_ties() {
            out.push(config.diagnostic(
                &format!("locations.{}", name(b)),
                format!(
                    "in server {:?} locations {:?} and {:?} have the same weight {} and can match \
                     the same request; {:?} wins by config order — set `weight` to make it explicit",
                    server.name,
                    name(a),
                    name(b),
                    router.weight(a),
                    name(a)
                ),
            ));
        }
    }
    out
}
