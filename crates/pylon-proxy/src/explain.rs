//! `pylon check`'s route table and `pylon explain`: the route decision for a URL,
//! made by the same compiled tables the proxy serves with.

use std::{fmt::Write as _, net::IpAddr, sync::Arc};

use pingora::http::RequestHeader;
use pylon_config::{Config, Diagnostic, Location, PathPattern, Server};
use pylon_upstream::Pool;
use serde::Serialize;

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

/// The route decision for one URL: what `pylon explain` prints and `GET /api/explain`
/// returns as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Explained {
    /// `http` or `https`.
    pub scheme: String,
    /// The host the URL connects to (and sends as SNI over TLS).
    pub connect_host: String,
    /// The port it connects to (80/443 when the URL has none).
    pub port: u16,
    /// The host the routing sees (a `Host` header given, else the URL's authority).
    pub host: String,
    /// The path as sent.
    pub raw_path: String,
    /// The path the routing sees (its normal form, RFC 3986 §6.2.2).
    pub path: String,
    /// The server whose listener takes the connection; `None` when none listens there.
    pub server: Option<String>,
    /// That server's listen addresses.
    pub server_addrs: Vec<String>,
    /// How the server was chosen, or why none was.
    pub listener: String,
    /// Over TLS: the certificate SNI selects, and why.
    pub certificate: Option<String>,
    /// Served by pylon itself: `"stats"` (the stats_path), `"admin"` (the admin_path).
    pub builtin: Option<String>,
    /// Every location of the server, in evaluation order.
    pub candidates: Vec<ExplainedCandidate>,
    /// The winning location.
    pub location: Option<String>,
    /// The plugins its requests pass through, in order (`name (kind) -> …`, or `(none)`).
    pub plugins: String,
    /// The path and query sent upstream (after `rewrite`).
    pub upstream_path: Option<String>,
    /// `return` locations: the status answered.
    pub return_status: Option<u16>,
    /// The upstream of the winning location.
    pub upstream: Option<String>,
    /// Its retries on connect failure.
    pub retries: Option<u32>,
    /// Its peers with health; `chosen` marks the one the balancer picks.
    pub peers: Vec<ExplainedPeer>,
    /// The one-line outcome.
    pub result: String,
    #[serde(skip)]
    table: String,
}

/// One candidate location.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainedCandidate {
    /// Location name.
    pub name: String,
    /// Effective weight.
    pub weight: u32,
    /// `"matched"`, `"host"` (host rule failed) or `"path"` (path rule failed).
    pub verdict: &'static str,
    /// The failed rule as written, or why a match did not win.
    pub detail: String,
    /// Whether it serves the request.
    pub winner: bool,
}

/// One peer of the chosen upstream.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainedPeer {
    /// Resolved address.
    pub addr: String,
    /// The host it was configured as.
    pub host: String,
    /// Weight.
    pub weight: u32,
    /// Current health.
    pub healthy: bool,
    /// The peer the balancer picks for this request.
    pub chosen: bool,
}

impl std::fmt::Display for Explained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.server {
            Some(s) => writeln!(f, "server:   {s} ({})", self.server_addrs.join(", "))?,
            None => writeln!(f, "server:   none")?,
        }
        writeln!(f, "listener: {}", self.listener)?;
        if let Some(c) = &self.certificate {
            writeln!(f, "tls:      {c}")?;
        }
        writeln!(f, "request:  host {:?}, path {:?}", self.host, self.raw_path)?;
        if self.path != self.raw_path {
            writeln!(
                f,
                "path:     {:?} -> {:?} (normal form, RFC 3986 §6.2.2)",
                self.raw_path, self.path
            )?;
        }
        if !self.table.is_empty() {
            writeln!(f, "candidates (evaluation order):\n{}", self.table)?;
        }
        if let Some(l) = &self.location {
            writeln!(f, "location: {l}")?;
            writeln!(f, "plugins:  {}", self.plugins)?;
        }
        if let Some(p) = &self.upstream_path {
            writeln!(f, "upstream path: {p}")?;
        }
        if let Some(u) = &self.upstream {
            writeln!(f, "upstream: {u} (retries {})", self.retries.unwrap_or(0))?;
        }
        for p in &self.peers {
            let mark = if p.chosen { "->" } else { "  " };
            let health = if p.healthy { "healthy" } else { "UNHEALTHY" };
            writeln!(f, "  {mark} peer {} ({}) weight {} {health}", p.addr, p.host, p.weight)?;
        }
        if self.upstream.is_some() {
            match self.peers.iter().find(|p| p.chosen) {
                Some(p) => writeln!(f, "peer:     {} (for a client at 127.0.0.1)", p.addr)?,
                None => writeln!(f, "peer:     none healthy: the request would get 503")?,
            }
        }
        writeln!(f, "result:   {}", self.result)
    }
}

/// Split a URL authority into host and port (`[v6]:port`, `host:port`, `host`).
fn split_authority(authority: &str) -> (&str, Option<&str>) {
    if let Some(rest) = authority.strip_prefix('[') {
        if let Some((h, tail)) = rest.split_once(']') {
            return (h, tail.strip_prefix(':'));
        }
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    }
}

/// The server a connection to `host:port` reaches, like the kernel would pick the listening
/// socket: an exact address beats an unspecified one (`0.0.0.0`, `[::]`). A host name is
/// not resolved: `localhost` means loopback, other names match by port.
fn choose_server<'c>(
    config: &'c Config,
    scheme: &str,
    host: &str,
    port: u16,
) -> (Option<&'c Server>, String) {
    let ip: Option<IpAddr> = host.parse().ok();
    let localhost = host.eq_ignore_ascii_case("localhost");
    let score = |a: &std::net::SocketAddr| -> Option<u8> {
        if a.port() != port {
            return None;
        }
        match ip {
            Some(ip) if a.ip() == ip => Some(3),
            Some(ip) if a.ip().is_unspecified() && a.is_ipv4() == ip.is_ipv4() => Some(2),
            Some(_) => None,
            None if localhost && a.ip().is_loopback() => Some(3),
            None if localhost && a.ip().is_unspecified() => Some(2),
            None if localhost => None,
            None => Some(1),
        }
    };
    let best = config
        .servers
        .iter()
        .filter_map(|s| s.addrs.iter().filter_map(score).max().map(|sc| (sc, s)))
        .max_by_key(|(sc, _)| *sc);
    let Some((sc, server)) = best else {
        return (None, format!("no server listens on {host}:{port}; the connection is refused"));
    };
    let https = scheme == "https";
    if server.tls != https {
        let (has, wants) = if server.tls { ("TLS", "plain HTTP") } else { ("plain HTTP", "TLS") };
        return (
            None,
            format!(
                "server {} listens on port {port} with {has}, so a {wants} request there fails",
                server.name
            ),
        );
    }
    let how = match sc {
        3 => format!("{host}:{port} is a listen address of server {}", server.name),
        2 => format!("server {} listens on the unspecified address, port {port}", server.name),
        _ => format!(
            "{host} is a name (not resolved here): server {} listens on port {port}",
            server.name
        ),
    };
    (Some(server), how)
}

/// The certificate a TLS handshake with SNI `name` gets on `server` (tls.rs's order:
/// exact domain, longest wildcard, then the server's tls_cert, is_default, the first).
fn certificate_for(config: &Config, server: &Server, name: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let sni = if name.parse::<IpAddr>().is_ok() { None } else { Some(name.as_str()) };
    if let Some(n) = sni {
        if let Some(c) = config.certificates.iter().find(|c| c.domains.iter().any(|d| *d == n)) {
            return format!("certificate {} (SNI {n} matches a domain)", c.name);
        }
        let wild = config
            .certificates
            .iter()
            .flat_map(|c| c.domains.iter().map(move |d| (c, d)))
            .filter_map(|(c, d)| d.strip_prefix('*').map(|suffix| (c, suffix)))
            .filter(|(_, suffix)| n.len() > suffix.len() && n.ends_with(suffix))
            .max_by_key(|(_, suffix)| suffix.len());
        if let Some((c, suffix)) = wild {
            return format!("certificate {} (SNI {n} matches *{suffix})", c.name);
        }
    }
    let why = match sni {
        Some(n) => format!("no certificate names {n}"),
        None => "an IP address sends no SNI".to_owned(),
    };
    if server.tls_cert.is_some() {
        return format!("the tls_cert of server {} ({why}: the default)", server.name);
    }
    match config.certificates.iter().find(|c| c.is_default).or(config.certificates.first()) {
        Some(c) => format!("certificate {} ({why}: the default)", c.name),
        None => format!("none ({why})"),
    }
}

/// Explain how a request for `url` (with extra request `headers`) would be routed:
/// server, the request path and its normal form (or the 400 the proxy answers for a path
/// without one, or an invalid Host), every candidate location in order with its weight and
/// first failing rule,
/// the rewritten path, the upstream and the peer that would be chosen, with its health
/// after `failure` rounds of health checks (enough to mark a dead peer down).
pub fn explain(config: &Config, url: &str, headers: &[(String, String)]) -> Result<String, String> {
    let rt = block_on(Runtime::build(config.clone(), None, &Stats::default(), None))
        .map_err(|e| e.to_string())?
        .map_err(|errs| errs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))?;
    let check = |pool: &Arc<Pool>| {
        let pool = pool.clone();
        // As many rounds as it takes to mark a peer down (`failure`), so a dead peer shows
        // as such.
        let _ = block_on(async move {
            for _ in 0..pool.spec().health.failure.max(1) {
                pool.health_check_now().await;
            }
        });
    };
    explain_in(config, &rt, url, headers, &check).map(|e| e.to_string())
}

/// The route decision for `url` in `rt` (compiled from `config`); `prepare` runs on the
/// chosen upstream's pool before a peer is picked (the CLI runs health checks there).
pub(crate) fn explain_in(
    config: &Config,
    rt: &Runtime,
    url: &str,
    headers: &[(String, String)],
    prepare: &dyn Fn(&Arc<Pool>),
) -> Result<Explained, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("invalid URL {url:?}: {e}"))?;
    let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(format!("invalid URL {url:?}: the scheme must be http or https"));
    }
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    let (connect_host, _) = split_authority(authority);
    let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
    let header_host =
        headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("host")).map(|(_, v)| v.clone());
    let host = header_host.unwrap_or_else(|| authority.to_owned());
    let raw_path = uri.path().to_owned();
    // What the proxy does first (crate::target): a valid Host and the normal path, or a 400.
    let normal = pylon_route::check_authority(host.as_bytes())
        .and_then(|()| pylon_route::normalize_path(raw_path.as_bytes()))
        .map(|p| p.into_owned());
    let path = normal.as_ref().map_or_else(|_| raw_path.clone(), Clone::clone);
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.clone(),
    };

    let (server, listener) = choose_server(config, &scheme, connect_host, port);
    let mut out = Explained {
        scheme: scheme.clone(),
        connect_host: connect_host.to_owned(),
        port,
        host: host.clone(),
        raw_path: raw_path.clone(),
        path: path.clone(),
        server: server.map(|s| s.name.clone()),
        server_addrs: server
            .map(|s| s.addrs.iter().map(|a| a.to_string()).collect())
            .unwrap_or_default(),
        listener,
        certificate: None,
        builtin: None,
        candidates: Vec::new(),
        location: None,
        plugins: String::new(),
        upstream_path: None,
        return_status: None,
        upstream: None,
        retries: None,
        peers: Vec::new(),
        result: String::new(),
        table: String::new(),
    };
    let Some(server) = server else {
        out.result = "no server takes this connection".to_owned();
        return Ok(out);
    };
    if server.tls {
        out.certificate = Some(certificate_for(config, server, connect_host));
    }
    if let Err(why) = normal {
        out.result = format!("400, {why}");
        return Ok(out);
    }
    if server.stats_path.as_deref() == Some(path.as_str()) {
        out.builtin = Some("stats".to_owned());
        out.result = "the stats document (stats_path)".to_owned();
        return Ok(out);
    }
    if let Some(prefix) = &server.admin_path {
        if crate::admin::under_prefix(&path, prefix) {
            out.builtin = Some("admin".to_owned());
            out.result = format!("the admin API and UI (admin_path {prefix:?}); no upstream");
            return Ok(out);
        }
    }
    let router = compile_router(config, &server.locations).map_err(|d| d.to_string())?;
    let explanation = router.explain(&host, &path);
    out.table = explanation.to_string();
    out.candidates = explanation
        .candidates
        .iter()
        .map(|c| {
            let winner = explanation.winner == Some(c.index);
            let (verdict, detail) = match &c.verdict {
                pylon_route::Verdict::HostMismatch { rule } => {
                    ("host", format!("host not in `{rule}`"))
                }
                pylon_route::Verdict::PathMismatch { rule } => {
                    ("path", format!("path does not match `{rule}`"))
                }
                _ if winner => ("matched", "matched: serves the request".to_owned()),
                _ => ("matched", "matched, after the winner".to_owned()),
            };
            ExplainedCandidate { name: c.name.clone(), weight: c.weight, verdict, detail, winner }
        })
        .collect();
    let Some(winner) = explanation.winner else {
        out.result = "404, no location matches".to_owned();
        return Ok(out);
    };
    let name = router.route(winner).name.clone();
    out.plugins = describe_plugins(config, &server.name, &name);
    out.location = Some(name);
    let Some(loc) = rt.servers.get(&server.name).and_then(|s| s.locations.get(winner)).cloned()
    else {
        out.result = format!("location {}", router.route(winner).name);
        return Ok(out);
    };
    let rewritten = loc
        .rewrite
        .as_ref()
        .and_then(|r| r.apply_uri(&path_and_query))
        .unwrap_or_else(|| path_and_query.clone());
    out.upstream_path = Some(rewritten);
    match &loc.target {
        Target::Return(r) => {
            out.return_status = Some(r.status);
            out.result = format!("return {} (no upstream)", r.status);
        }
        Target::Upstream { pool, retries, .. } => {
            out.upstream = Some(pool.name().to_owned());
            out.retries = Some(*retries);
            let mut req = RequestHeader::build("GET", path_and_query.as_bytes(), None)
                .map_err(|e| e.to_string())?;
            for (n, v) in headers {
                req.insert_header(n.clone(), v.as_str()).map_err(|e| e.to_string())?;
            }
            if req.headers.get(http::header::HOST).is_none() {
                let _ = req.insert_header(http::header::HOST, host.as_str());
            }
            prepare(pool);
            let client = IpAddr::from([127, 0, 0, 1]);
            let chosen = pool.select(&req, Some(client), &[]).map(|s| s.addr());
            out.peers = pool
                .peers()
                .into_iter()
                .map(|p| ExplainedPeer {
                    addr: p.addr.to_string(),
                    host: p.host,
                    weight: p.weight,
                    healthy: p.healthy,
                    chosen: Some(p.addr) == chosen,
                })
                .collect();
            out.result = match chosen {
                Some(a) => format!(
                    "proxied to peer {a} of upstream {} (for a client at 127.0.0.1)",
                    pool.name()
                ),
                None => "none healthy: the request would get 503".to_owned(),
            };
        }
    }
    Ok(out)
}
