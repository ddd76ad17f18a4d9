//! The route matcher, rewrite and normaliser on a text scenario, one item per line:
//!
//! ```text
//! R <host list>\t<path rule>\t<weight or ->     a location (`R \t/api\t-`)
//! W <regex> <replacement>                        the rewrite (`W ^/api/(.*)$ /$1`)
//! Q <method> <host>\t<target bytes>              a request (`Q GET a.com\t/x/../api?q`)
//! ```
//!
//! Nothing panics; a target's normal path is ASCII, absolute and its own normal form; the
//! indexed router answers what the linear scan and `explain` answer for it; a rewrite of it
//! starts with `/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pylon_route::{
    HostRule, PathRule, RequestTarget, Rewrite, Route, RouterBuilder, check_authority,
    normalize_path,
};

fuzz_target!(|data: &[u8]| {
    let mut builder = RouterBuilder::new();
    let mut routes = 0;
    let mut rewrite = None;
    let mut requests = Vec::new();
    for line in data.split(|b| *b == b'\n') {
        match line {
            [b'R', b' ', rest @ ..] if routes < 8 => {
                let Ok(rest) = std::str::from_utf8(rest) else { continue };
                let mut parts = rest.splitn(3, '\t');
                let (Some(hosts), Some(path), weight) = (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                if path.len() > 64 || hosts.len() > 64 {
                    continue;
                }
                let (Ok(hosts), Ok(path)) = (HostRule::parse_list(hosts), PathRule::parse(path))
                else {
                    continue;
                };
                let weight = weight.and_then(|w| w.trim().parse::<u32>().ok());
                builder.add(Route { name: format!("r{routes}"), hosts, path, weight });
                routes += 1;
            }
            [b'W', b' ', rest @ ..] if rest.len() <= 64 => {
                if let Ok(spec) = std::str::from_utf8(rest) {
                    rewrite = Rewrite::parse(spec).ok();
                }
            }
            [b'Q', b' ', rest @ ..] if requests.len() < 32 => {
                let Some(tab) = rest.iter().position(|b| *b == b'\t') else { continue };
                let Ok(head) = std::str::from_utf8(&rest[..tab]) else { continue };
                let (method, host) = head.split_once(' ').unwrap_or((head, ""));
                requests.push((method.to_owned(), host.to_owned(), rest[tab + 1..].to_vec()));
            }
            _ => {}
        }
    }
    let Ok(router) = builder.build() else { return };
    let _ = (router.shadowed(), router.overlapping_ties());
    for (method, host, target) in &requests {
        let _ = check_authority(host.as_bytes());
        let (path, query) = match RequestTarget::parse(method, target) {
            Ok(RequestTarget::Origin { path, query }) => (path, query),
            Ok(RequestTarget::Absolute { authority, path, query }) => {
                assert!(check_authority(authority).is_ok());
                (path, query)
            }
            _ => continue,
        };
        let Ok(normal) = normalize_path(path) else { continue };
        assert!(normal.is_ascii() && normal.starts_with('/'), "{normal:?}");
        let again = normalize_path(normal.as_bytes());
        assert_eq!(again.as_deref().ok(), Some(&*normal), "not idempotent");
        let found = router.find(host, &normal);
        assert_eq!(found, router.find_linear(host, &normal), "{host:?} {normal:?}");
        assert_eq!(found, router.explain(host, &normal).winner, "{host:?} {normal:?}");
        if let Some(rw) = &rewrite {
            let mut uri = normal.into_owned();
            if let Some(q) = query {
                uri.push('?');
                uri.push_str(&String::from_utf8_lossy(q));
            }
            if let Some(out) = rw.apply_uri(&uri) {
                assert!(out.starts_with('/'), "rewrite gave {out:?}");
            }
        }
    }
});
