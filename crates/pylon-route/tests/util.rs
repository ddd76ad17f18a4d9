//! Shared strategies and config.

use proptest::prelude::*;
use proptest::test_runner::Config;
use pylon_route::{HostRule, PathRule, Route, Router, RouterBuilder};

/// Fewer cases and no shrinking on CI (env `CI` set); the full run locally.
pub(crate) fn config() -> Config {
    if std::env::var_os("CI").is_some() {
        Config { cases: 48, max_shrink_iters: 0, failure_persistence: None, ..Config::default() }
    } else {
        Config { cases: 400, ..Config::default() }
    }
}

/// [`config`] with `1/div` of the cases (at least 16), for expensive properties.
pub(crate) fn config_fraction(div: u32) -> Config {
    let c = config();
    Config { cases: (c.cases / div).max(16), ..c }
}

/// Path segments: a tiny alphabet so that rules and requests collide often.
const SEGMENTS: &[&str] = &["a", "b", "ab", "x", "a.b", "v1", "v22"];

pub(crate) fn path() -> impl Strategy<Value = String> {
    (prop::collection::vec(prop::sample::select(SEGMENTS), 0..4), any::<bool>()).prop_map(
        |(segs, slash)| {
            let mut p = String::new();
            for s in segs {
                p.push('/');
                p.push_str(s);
            }
            if slash || p.is_empty() {
                p.push('/');
            }
            p
        },
    )
}

pub(crate) fn path_rule() -> impl Strategy<Value = PathRule> {
    let escape = |p: &str| regex::escape(p);
    prop_oneof![
        1 => Just(PathRule::Any),
        3 => path().prop_map(PathRule::Exact),
        4 => path().prop_map(PathRule::Prefix),
        // prefixes that end mid-segment: "/a" for "/ab", "/" ...
        2 => path().prop_map(|p| PathRule::Prefix(p[..p.len().saturating_sub(1).max(1)].to_owned())),
        4 => (path(), 0..8usize).prop_map(move |(p, form)| PathRule::Regex(match form {
            0 => format!("^{}", escape(&p)),
            1 => format!("^{}$", escape(&p)),
            2 => format!("^{}v\\d+", escape(&p)),
            3 => escape(&p),
            4 => format!("(?i)^{}", escape(&p.to_ascii_uppercase())),
            5 => "^(/a|/b)/".to_owned(),
            6 => "[bx]/?$".to_owned(),
            _ => format!("^{}(ab|x)?/", escape(&p)),
        })),
    ]
}

const HOSTS: &[&str] =
    &["a.com", "b.a.com", "x.b.a.com", "*.a.com", "*.b.a.com", "~^b\\.", "~com$", "[::1]", "c.org"];

pub(crate) fn host_rules() -> impl Strategy<Value = Vec<HostRule>> {
    prop::collection::vec(prop::sample::select(HOSTS), 0..3).prop_map(|hs| {
        hs.iter().flat_map(|h| HostRule::parse_list(h).expect("valid host")).collect()
    })
}

pub(crate) fn weight() -> impl Strategy<Value = Option<u32>> {
    prop_oneof![6 => Just(None), 1 => Just(Some(0)), 2 => (1..4u32).prop_map(Some), 1 => Just(Some(32770))]
}

pub(crate) fn route() -> impl Strategy<Value = Route> {
    (host_rules(), path_rule(), weight()).prop_map(|(hosts, path, weight)| Route {
        name: String::new(),
        hosts,
        path,
        weight,
    })
}

pub(crate) fn table(max: usize) -> impl Strategy<Value = Vec<Route>> {
    prop::collection::vec(route(), 0..max)
}

/// Raw `Host` values, including ports, case and IPv6.
pub(crate) fn request_host() -> impl Strategy<Value = String> {
    prop::sample::select(
        &[
            "a.com",
            "A.COM:80",
            "b.a.com",
            "x.b.a.com",
            "X.B.A.com.",
            "y.a.com",
            "c.org",
            "[::1]:8080",
            "::1",
            "",
            "zzz",
        ][..],
    )
    .prop_map(str::to_owned)
}

/// A request path: either random from the alphabet, or a rule of the table plus a suffix.
pub(crate) fn request_path(routes: &[Route]) -> BoxedStrategy<String> {
    let own: Vec<String> = routes
        .iter()
        .filter_map(|r| match &r.path {
            PathRule::Exact(p) | PathRule::Prefix(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    if own.is_empty() {
        return path().boxed();
    }
    prop_oneof![
        path(),
        (prop::sample::select(own), prop::sample::select(&["", "", "/", "b", "/v7", "x/"][..]))
            .prop_map(|(p, s)| p + s),
    ]
    .boxed()
}

/// A table and requests drawn mostly from its own patterns.
pub(crate) fn table_and_requests(
    max: usize,
) -> impl Strategy<Value = (Vec<Route>, Vec<(String, String)>)> {
    table(max).prop_flat_map(|routes| {
        let reqs = prop::collection::vec((request_host(), request_path(&routes)), 1..24);
        (Just(routes), reqs)
    })
}

pub(crate) fn build(routes: &[Route]) -> Router {
    let mut b = RouterBuilder::new();
    for (i, r) in routes.iter().enumerate() {
        b.add(Route { name: format!("r{i}"), ..r.clone() });
    }
    b.build().expect("generated rules are valid")
}
