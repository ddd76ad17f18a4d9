//! Valid configs: defaults, file order, path resolution, source positions, warnings.

use std::time::Duration;

use pylon_config::*;

use crate::util::{fixture, ok};

#[test]
fn empty_file_is_all_defaults_with_a_warning() {
    let loaded = ok("");
    let c = &loaded.config;
    assert_eq!(c.basic, Basic::default());
    assert_eq!(c.basic.name, DEFAULT_NAME);
    assert!(c.upstreams.is_empty() && c.locations.is_empty() && c.servers.is_empty());
    assert!(c.certificates.is_empty() && c.admin.is_none());
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].key, "servers");
}

#[test]
fn defaults_of_upstream_location_and_server() {
    let c = ok("[upstreams.u]\naddrs = [\"h:1\"]\n[locations.l]\nupstream = \"u\"\n[servers.s]\naddr = \"127.0.0.1:7000\"\nlocations = [\"l\"]\n").config;
    let u = &c.upstreams[0];
    assert_eq!(u.addrs, [UpstreamAddr { host: "h".into(), port: 1, weight: DEFAULT_ADDR_WEIGHT }]);
    assert_eq!(u.algo, Algo::RoundRobin);
    assert_eq!(u.health_check, HealthCheck::default());
    assert_eq!(u.health_check.kind, HealthCheckKind::Tcp);
    assert_eq!(
        (u.connection_timeout, u.read_timeout, u.write_timeout, u.idle_timeout),
        (
            DEFAULT_CONNECTION_TIMEOUT,
            DEFAULT_READ_TIMEOUT,
            DEFAULT_WRITE_TIMEOUT,
            DEFAULT_IDLE_TIMEOUT
        )
    );
    assert_eq!(
        (u.total_connection_timeout, u.tls, u.sni.as_deref(), u.verify_cert),
        (None, false, None, true)
    );
    assert_eq!((u.ca_file.as_deref(), u.alpn, u.retries), (None, Alpn::H1, DEFAULT_RETRIES));
    let l = &c.locations[0];
    assert_eq!(
        (l.hosts.len(), &l.path, &l.rewrite, l.weight, l.client_max_body_size),
        (0, &PathPattern::Any, &None, None, None)
    );
    let s = &c.servers[0];
    assert_eq!(
        (s.tls, s.enable_h2, s.access_log.as_deref(), s.stats_path.as_deref()),
        (false, true, None, None)
    );
    assert_eq!(
        (s.max_header_count, s.max_uri_size),
        (DEFAULT_MAX_HEADER_COUNT, DEFAULT_MAX_URI_SIZE)
    );
    assert_eq!(
        (s.header_read_timeout, s.keepalive_timeout, s.max_header_size, s.max_connections),
        (
            DEFAULT_HEADER_READ_TIMEOUT,
            DEFAULT_KEEPALIVE_TIMEOUT,
            DEFAULT_MAX_HEADER_SIZE,
            DEFAULT_MAX_CONNECTIONS
        )
    );
}

#[test]
fn sections_keep_file_order_not_alphabetical() {
    let loaded = pylon_config::load(&fixture("valid.toml")).expect("valid");
    let c = &loaded.config;
    assert_eq!(c.upstreams.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["zeta", "alpha"]);
    assert_eq!(c.locations.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["zeta", "alpha"]);
    assert_eq!(c.servers.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["web", "tls"]);
    assert_eq!(
        c.upstream("alpha").map(|u| u.addrs[0].clone()),
        Some(UpstreamAddr { host: "::1".into(), port: 9001, weight: 2 })
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn relative_paths_resolve_against_the_config_directory() {
    let c = pylon_config::load(&fixture("valid.toml")).expect("valid").config;
    assert_eq!(c.basic.error_template, Some(fixture("error.html")));
    let tls = c.server("tls").expect("tls server");
    assert_eq!(tls.tls_cert, Some(fixture("cert.pem")));
    assert_eq!(tls.tls_key, Some(fixture("key.pem")));
    assert!(tls.tls, "tls_cert makes a TLS listener");
    assert_eq!(c.file, fixture("valid.toml"));
    let abs = ok("[basic]\npid_file = \"/run/p.pid\"\nupgrade_sock = \"up.sock\"\n").config;
    assert_eq!(abs.basic.pid_file, std::path::PathBuf::from("/run/p.pid"));
    assert_eq!(abs.basic.upgrade_sock, fixture("up.sock"));
}

#[test]
fn empty_strings_mean_unset() {
    let c = ok("[basic]\nerror_template = \"\"\n[upstreams.u]\naddrs = [\"h:1\"]\nsni = \"\"\nca_file = \"\"\ntotal_connection_timeout = \"\"\nhealth_check = \"\"\n\
                [servers.s]\naddr = \"127.0.0.1:7000\"\naccess_log = \"\"\naccess_log_path = \"\"\ntls_cert = \"\"\ntls_key = \"\"\nstats_path = \"\"\n").config;
    let u = &c.upstreams[0];
    assert_eq!((&u.sni, &u.ca_file, u.total_connection_timeout), (&None, &None, None));
    assert_eq!(u.health_check, HealthCheck::default());
    let s = &c.servers[0];
    assert_eq!(
        (&s.access_log, &s.access_log_path, &s.tls_cert, &s.stats_path),
        (&None, &None, &None, &None)
    );
    assert!(!s.tls);
    assert_eq!(c.basic.error_template, None);
}

#[test]
fn threads_zero_means_one_per_core() {
    let c = ok("[basic]\nthreads = 0\n").config;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(c.basic.threads, cores);
}

#[test]
fn full_values_are_parsed() {
    let c = ok("[basic]\ngrace_period = \"1m30s\"\n\
        [upstreams.u]\naddrs = [\"h:1\"]\nalgo = \"hash:cookie:sid\"\ntls = true\nalpn = \"h2h1\"\nsni = \"api.example\"\nca_file = \"cert.pem\"\n\
        health_check = \"https://api.example/health?x=1\"\n"
        .replace("?x=1", "?success=2")
        .as_str())
    .config;
    assert_eq!(c.basic.grace_period, Duration::from_secs(90));
    let u = &c.upstreams[0];
    assert_eq!((u.alpn, u.sni.as_deref(), u.tls), (Alpn::H2H1, Some("api.example"), true));
    assert_eq!(u.algo, Algo::Hash(HashKey::Cookie("sid".into())));
    assert_eq!(
        u.health_check.kind,
        HealthCheckKind::Http { host: "api.example".into(), path: "/health".into(), tls: true }
    );
    assert_eq!(u.health_check.success, 2);
}

#[test]
fn location_values() {
    let c = ok("[upstreams.u]\naddrs = [\"h:1\"]\n[locations.l]\nupstream = \"u\"\nhost = \"A.com, *.B.com\"\npath = \"=/x\"\nweight = 7\nclient_max_body_size = \"1mb\"\n\
                proxy_set_headers = [\"X-A: $host\"]\nresponse_remove_headers = [\"Server\"]\n").config;
    let l = &c.locations[0];
    assert_eq!(
        l.hosts,
        [HostPattern::Exact("a.com".into()), HostPattern::Wildcard(".b.com".into())]
    );
    assert_eq!(l.path, PathPattern::Exact("/x".into()));
    assert_eq!((l.weight, l.client_max_body_size), (Some(7), Some(1 << 20)));
    assert_eq!(
        l.proxy_set_headers,
        Some(vec![HeaderSpec { name: "X-A".into(), value: "$host".into() }])
    );
    assert_eq!(l.response_remove_headers, Some(vec!["Server".to_owned()]));
    let zero = ok("[locations.l]\nreturn = \"204\"\nweight = 0\nclient_max_body_size = 0\n").config;
    // weight 0 = computed; client_max_body_size 0 = unlimited here, overriding the server's.
    assert_eq!((zero.locations[0].weight, zero.locations[0].client_max_body_size), (None, Some(0)));
}

#[test]
fn positions_and_diagnostics() {
    let c = pylon_config::load(&fixture("valid.toml")).expect("valid").config;
    // `[servers.web]` is on line 18; its name starts at column 10.
    assert_eq!(c.position("servers.web"), Some((18, 10)));
    assert_eq!(c.position("servers.web.addr"), Some((19, 8)));
    assert_eq!(c.position("servers.web.locations[1]"), Some((20, 22)));
    assert_eq!(c.position("servers.web.access_log"), None);
    // Not in the file: falls back to the nearest parent.
    let d = c.diagnostic("servers.web.access_log", "unknown token {nope}");
    assert_eq!((d.line, d.column, d.key.as_str()), (18, 10, "servers.web.access_log"));
    assert!(
        d.to_string().ends_with("valid.toml:18:10: servers.web.access_log: unknown token {nope}")
    );
    let d = c.diagnostic("servers.web.locations[1]", "shadowed");
    assert_eq!((d.line, d.column), (20, 22));
    let d = c.diagnostic("nothing.here", "x");
    assert_eq!((d.line, d.column), (1, 1));
}

#[test]
fn warnings_for_unused_items() {
    let loaded = ok("[upstreams.unused]\naddrs = [\"h:1\"]\n[upstreams.u]\naddrs = [\"h:2\"]\n\
                     [locations.orphan]\nupstream = \"u\"\n[servers.empty]\naddr = \"127.0.0.1:7000\"\n");
    let w: Vec<_> = loaded.warnings.iter().map(|d| (d.line, d.column, d.key.as_str())).collect();
    assert_eq!(
        w,
        [(1, 12, "upstreams.unused"), (5, 12, "locations.orphan"), (7, 10, "servers.empty")]
    );
    assert!(loaded.warnings[0].message.contains("no location uses"));
    assert!(loaded.warnings[1].message.contains("no server lists"));
    assert!(loaded.warnings[2].message.contains("no locations"));
}

#[test]
fn equality_ignores_layout() {
    let a = ok("[locations.l]\nreturn = \"204\"\n").config;
    let b = ok("\n\n[locations.l]\n  return   =   \"204\"\n").config;
    assert_eq!(a, b);
    assert_ne!(a.position("locations.l"), b.position("locations.l"));
}

#[test]
fn inline_and_dotted_tables_work() {
    let c = ok("locations.l = { return = \"200 ok\", path = \"/x\" }\n[servers]\ns.addr = \"127.0.0.1:7000\"\ns.locations = [\"l\"]\n").config;
    assert_eq!(c.locations[0].ret, Some(Return { status: 200, body: "ok".into(), location: None }));
    assert_eq!(c.servers[0].locations, ["l"]);
}
