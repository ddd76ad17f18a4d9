//! Every example config in the repository's `conf/` directory must validate.

use std::path::Path;

use pylon_config::{Algo, HashKey, HealthCheckKind, PathPattern};

fn conf_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conf")
}

#[test]
fn every_conf_file_loads_without_errors() {
    let mut checked = 0;
    for entry in std::fs::read_dir(conf_dir()).expect("conf/ exists") {
        let path = entry.expect("readable dir entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = pylon_config::load(&path) {
                panic!("{} does not validate:\n{e}", path.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 1, "no conf/*.toml found in {}", conf_dir().display());
}

#[test]
fn example_config_uses_every_section_without_warnings() {
    let loaded = pylon_config::load(&conf_dir().join("pylon.toml")).expect("valid");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = &loaded.config;
    assert_eq!(c.basic.threads, 2);
    assert_eq!(c.upstreams.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["api", "static"]);
    assert!(matches!(
        c.upstream("api").map(|u| &u.health_check.kind),
        Some(HealthCheckKind::Http { .. })
    ));
    assert_eq!(
        c.upstream("static").map(|u| &u.algo),
        Some(&Algo::Hash(HashKey::Header("x-user".into())))
    );
    let ping = c.location("ping").expect("ping location");
    assert_eq!(ping.path, PathPattern::Exact("/ping".into()));
    assert_eq!(ping.ret.as_ref().map(|r| (r.status, r.body.as_str())), Some((200, "pong\n")));
    assert!(c.location("api").is_some_and(|l| l.rewrite.is_some()));
    let web = c.server("web").expect("web server");
    assert_eq!(web.addrs, ["127.0.0.1:6188".parse().expect("addr")]);
    assert_eq!(web.stats_path.as_deref(), Some("/__stats"));
    assert!(web.access_log.is_some());
    let secure = c.server("secure").expect("secure server");
    assert!(secure.tls);
    assert_eq!(c.certificates.len(), 1);
    assert!(c.certificates[0].tls_cert.is_file());
    let admin = c.admin.as_ref().expect("[admin]");
    assert_eq!(admin.addr, "127.0.0.1:6190".parse().expect("addr"));
    assert!(admin.users.is_empty());
    assert_eq!(admin.history_size, 20);
    assert!(admin.history_dir.ends_with("pylon.toml.history"), "{:?}", admin.history_dir);
}
