//! `pylon check`'s route table and `pylon explain`: the route decision for a URL,
//! made by the same compiled tables the proxy serves with.

use std::fmt::Write as _;

use pingora::http::RequestHeader;
use pylon_config::{Config, Diagnostic, Location, PathPattern};

use crate::{
    app::{block_on, compile},
    runtime::{Runtime, Target, compile_router, route_lints},
    stats::Stats,
};

/// What `pylon check` reports beyond pylon-config's own validation.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// Errors found while compiling (access-log templates, TLS files, …). Non-empty = invalid.
    pub errors: Vec<Diagnostic>,
    /// Route lints: shadowed locations, equal-weight overlaps.
    pub warnings: Vec<Diagnostic>,
    /// The compiled route table of every server, in evaluation order.
    pub route_table: String,
}

/// The route lints of `config` (shadowed locations, equal-weight overlaps): what `pylon run`
/// warns about at start, without compiling the rest.
pub fn lints(config: &Config) -> Vec<Diagnostic> {
    route_lints(config)
}

/// Compile `config` fully and describe its route tables.
pub fn check(config: &Config) -> CheckReport {
    let errors = compile(config).err().unwrap_or_default();
    CheckReport { errors, warnings: route_lints(config), route_table: route_table(config) }
}

fn describe_path(loc: &Location) -> String {
    match &loc.path {
        PathPattern::Any => "(any)".to_owned(),
        PathPattern::Exact(p) => format!("={p}"),
        PathPattern::Prefix(p) => p.clone(),
        PathPattern::Regex(r) => format!("~{r}"),
        _ => "?".to_owned(),
    }
}

fn describe_hosts(loc: &Location) -> String {
    if loc.hosts.is_empty() {
        return "(any)".to_owned();
    }
    loc.hosts
        .iter()
        .map(|h| match h {
            pylon_config::HostPattern::Exact(s) => s.clone(),
            pylon_config::HostPattern::Wildcard(s) => format!("*{s}"),
            pylon_config::HostPattern::Regex(r) => format!("~{r}"),
            _ => "?".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn describe_target(loc: &Location) -> String {
    match (&loc.upstream, &loc.ret) {
        (_, Some(r)) => format!("return {}", r.status),
        (Some(u), None) => format!("upstream {u}"),
        (None, None) => "-".to_owned(),
    }
}

/// The plugins a request to location `location` of server `server` passes through, in
/// order (the server's, then the location's), as `name (kind) -> ...`, or `(none)`.
fn describe_plugins(config: &Config, server: &str, location: &str) -> String {
    let server_plugins = config.server(server).map(|s| s.plugins.as_slice()).unwrap_or_default();
    let own = config.location(location).map(|l| l.plugins.as_slice()).unwrap_or_default();
    let chain: Vec<String> = server_plugins
        .iter()
        .chain(own)
        .map(|n| match config.plugin(n) {
            Some(p) => format!("{n} ({})", p.kind),
            None => n.clone(),
        })
        .collect();
    if chain.is_empty() { "(none)".to_owned() } else { chain.join(" -> ") }
}

/// The route table of every server, one line per location in evaluation order.
pub fn route_table(config: &Config) -> String {
    let mut out = String::new();
    for server in &config.servers {
        let addrs: Vec<String> = server.addrs.iter().map(|a| a.to_string()).collect();
        let _ = writeln!(out, "server {} ({})", server.name, addrs.join(", "));
        if !server.plugins.is_empty() {
            let _ = writeln!(out, "  plugins for every location: {}", server.plugins.join(", "));
        }
        let Ok(router) = compile_router(config, &server.locations) else {
            let _ = writeln!(out, "  (route table does not compile)");
            continue;
        };
        let _ = writeln!(
            out,
            "  {:>3}  {:>7}  {:<20} {:<24} {:<24} target",
            "#", "weight", "location", "host", "path"
        );
        for (rank, i) in router.ordered().enumerate() {
            let Some(loc) = config.location(&router.route(i).name) else { continue };
            let _ = writeln!(
                out,
                "  {:>3}  {:>7}  {:<20} {:<24} {:<24} {}",
                rank + 1,
                router.weight(i),
                loc.name,
                describe_hosts(loc),
                describe_path(loc),
                describe_target(loc)
            );
            if !server.plugins.is_empty() || !loc.plugins.is_empty() {
                let _ = writeln!(
                    out,
                    "            plugins: {}",
                    describe_plugins(config, &server.name, &loc.name)
                );
            }
        }
    }
    out
}

/// Explain how a request for `url` (with extra request `headers`) would be routed:
/// server, the request path and its normal form (or the 400 the proxy answers for a path
/// without one, or an invalid Host), every candidate location in order with its weight and
/// first failing rule,
/// the rewritten path, the upstream and the peer that would be chosen, with its health
/// after `failure` rounds of health checks (enough to mark a dead peer down).
pub fn explain(config: &Config, url: &str, headers: &[(String, String)]) -> Result<String, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("invalid URL {url:?}: {e}"))?;
    let scheme = uri.scheme_str().unwrap_or("http");
    let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
    let header_host =
        headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("host")).map(|(_, v)| v.clone());
    let host = header_host.or_else(|| uri.authority().map(|a| a.to_string())).unwrap_or_default();
    let raw_path = uri.path();

    let server = config
        .servers
        .iter()
        .find(|s| s.addrs.iter().any(|a| a.port() == port))
        .or_else(|| config.servers.first())
        .ok_or("the config has no servers")?;
    let mut out = String::new();
    let addrs: Vec<String> = server.addrs.iter().map(|a| a.to_string()).collect();
    let _ = writeln!(out, "server:   {} ({})", server.name, addrs.join(", "));
    let _ = writeln!(out, "request:  host {host:?}, path {raw_path:?}");
    // What the proxy does first (crate::target): a valid Host and the normal path, or a 400.
    let normal = pylon_route::check_authority(host.as_bytes())
        .and_then(|()| pylon_route::normalize_path(raw_path.as_bytes()));
    let path = match normal {
        Ok(p) => p.into_owned(),
        Err(why) => {
            let _ = writeln!(out, "result:   400, {why}");
            return Ok(out);
        }
    };
    if path != raw_path {
        let _ = writeln!(out, "path:     {raw_path:?} -> {path:?} (normal form, RFC 3986 §6.2.2)");
    }
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.clone(),
    };
    if server.stats_path.as_deref() == Some(path.as_str()) {
        let _ = writeln!(out, "answer:   the stats document (stats_path)");
        return Ok(out);
    }
    let router = compile_router(config, &server.locations).map_err(|d| d.to_string())?;
    let explanation = router.explain(&host, &path);
    let _ = writeln!(out, "candidates (evaluation order):\n{explanation}");
    let Some(winner) = explanation.winner else {
        let _ = writeln!(out, "result:   404, no location matches");
        return Ok(out);
    };
    let name = router.route(winner).name.clone();
    let _ = writeln!(out, "location: {name}");
    let _ = writeln!(out, "plugins:  {}", describe_plugins(config, &server.name, &name));

    let rt = block_on(Runtime::build(config.clone(), None, &Stats::default(), None))
        .map_err(|e| e.to_string())?
        .map_err(|errs| errs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))?;
    let Some(loc) = rt.servers.get(&server.name).and_then(|s| s.locations.get(winner)).cloned()
    else {
        return Ok(out);
    };
    let rewritten = loc
        .rewrite
        .as_ref()
        .and_then(|r| r.apply_uri(&path_and_query))
        .unwrap_or_else(|| path_and_query.clone());
    let _ = writeln!(out, "upstream path: {rewritten}");
    match &loc.target {
        Target::Return(r) => {
            let _ = writeln!(out, "answer:   return {} (no upstream)", r.status);
        }
        Target::Upstream { pool, retries, .. } => {
            let _ = writeln!(out, "upstream: {} (retries {retries})", pool.name());
            let mut req = RequestHeader::build("GET", path_and_query.as_bytes(), None)
                .map_err(|e| e.to_string())?;
            for (n, v) in headers {
                req.insert_header(n.clone(), v.as_str()).map_err(|e| e.to_string())?;
            }
            if req.headers.get(http::header::HOST).is_none() {
                let _ = req.insert_header(http::header::HOST, host.as_str());
            }
            let client = std::net::IpAddr::from([127, 0, 0, 1]);
            let pool = pool.clone();
            let (chosen, peers) = block_on(async move {
                // As many rounds as it takes to mark a peer down (`failure`), so a dead
                // peer shows as such.
                for _ in 0..pool.spec().health.failure.max(1) {
                    pool.health_check_now().await;
                }
                (pool.select(&req, Some(client), &[]).map(|s| s.addr()), pool.peers())
            })?;
            for p in &peers {
                let mark = if Some(p.addr) == chosen { "->" } else { "  " };
                let _ = writeln!(
                    out,
                    "  {mark} peer {} ({}) weight {} {}",
                    p.addr,
                    p.host,
                    p.weight,
                    if p.healthy { "healthy" } else { "UNHEALTHY" }
                );
            }
            match chosen {
                Some(a) => {
                    let _ = writeln!(out, "peer:     {a} (for a client at 127.0.0.1)");
                }
                None => {
                    let _ = writeln!(out, "peer:     none healthy: the request would get 503");
                }
            }
        }
    }
    Ok(out)
}
