//! Table tests: one line per case, each a named test.

use crate::{Error, HostRule, PathRule, Rewrite, Route, Router, RouterBuilder, Verdict};

/// `(host list, path rule)` pairs, weights computed.
fn router(table: &[(&str, &str)]) -> Router {
    weighted(&table.iter().map(|&(h, p)| (h, p, 0)).collect::<Vec<_>>())
}

/// `(host list, path rule, explicit weight or 0)`.
fn weighted(table: &[(&str, &str, u32)]) -> Router {
    let mut b = RouterBuilder::new();
    for (i, &(hosts, path, weight)) in table.iter().enumerate() {
        b.add(Route {
            name: format!("r{i}"),
            hosts: HostRule::parse_list(hosts).unwrap(),
            path: PathRule::parse(path).unwrap(),
            weight: Some(weight),
        });
    }
    b.build().unwrap()
}

/// `find!(name, [(hosts, path)...], host, path, expected)`: checks the index and the linear
/// reference agree with the expectation.
macro_rules! find {
    ($name:ident, [$($route:expr),* $(,)?], $host:expr, $path:expr, $want:expr) => {
        #[test]
        fn $name() {
            let r = router(&[$($route),*]);
            assert_eq!(r.find($host, $path), $want, "index");
            assert_eq!(r.find_linear($host, $path), $want, "linear");
        }
    };
}

/// Same with explicit weights: `(hosts, path, weight)`.
macro_rules! findw {
    ($name:ident, [$($route:expr),* $(,)?], $host:expr, $path:expr, $want:expr) => {
        #[test]
        fn $name() {
            let r = weighted(&[$($route),*]);
            assert_eq!(r.find($host, $path), $want, "index");
            assert_eq!(r.find_linear($host, $path), $want, "linear");
        }
    };
}

// path rules
find!(any_matches_root, [("", "")], "h", "/", Some(0));
find!(any_matches_empty_path, [("", "")], "h", "", Some(0));
find!(exact_matches, [("", "=/a")], "h", "/a", Some(0));
find!(exact_not_longer, [("", "=/a")], "h", "/a/", None);
find!(exact_not_shorter, [("", "=/ab")], "h", "/a", None);
find!(exact_case_sensitive, [("", "=/a")], "h", "/A", None);
find!(prefix_self, [("", "/api")], "h", "/api", Some(0));
find!(prefix_sub, [("", "/api")], "h", "/api/x", Some(0));
find!(prefix_bytes, [("", "/api")], "h", "/apix", Some(0));
find!(prefix_shorter_no, [("", "/api")], "h", "/ap", None);
find!(prefix_longest_wins, [("", "/a"), ("", "/a/b")], "h", "/a/b/c", Some(1));
find!(prefix_longest_falls_back, [("", "/a"), ("", "/a/b")], "h", "/a/c", Some(0));
find!(regex_unanchored, [("", "~\\.php$")], "h", "/x/y.php", Some(0));
find!(regex_anchored_prefix, [("", "~^/api/v\\d+/")], "h", "/api/v2/x", Some(0));
find!(regex_anchored_prefix_no, [("", "~^/api/v\\d+/")], "h", "/api/vx/", None);
find!(regex_anchored_not_inside, [("", "~^/api")], "h", "/x/api", None);
find!(regex_case_flag, [("", "~(?i)^/API")], "h", "/api", Some(0));
find!(regex_multiline_anchor, [("", "~(?m)^/b")], "h", "/a\n/b", Some(0));
find!(regex_alternation, [("", "~^/a|^/b")], "h", "/b/x", Some(0));
find!(regex_capture_prefix, [("", "~^/(api)/v1")], "h", "/api/v1", Some(0));
find!(exact_beats_prefix, [("", "/a"), ("", "=/a")], "h", "/a", Some(1));
find!(prefix_beats_regex, [("", "~^/a"), ("", "/a")], "h", "/a", Some(1));
find!(regex_beats_any, [("", ""), ("", "~^/a")], "h", "/a", Some(1));
find!(any_is_fallback, [("", ""), ("", "~^/a")], "h", "/b", Some(0));
find!(longer_regex_wins, [("", "~^/a"), ("", "~^/a/b")], "h", "/a/b", Some(1));
find!(query_not_special, [("", "=/a")], "h", "/a?x", None);
find!(empty_table, [], "h", "/", None);

// host rules
find!(host_exact, [("example.com", "")], "example.com", "/", Some(0));
find!(host_exact_other, [("example.com", "")], "example.org", "/", None);
find!(host_case, [("Example.COM", "")], "EXAMPLE.com", "/", Some(0));
find!(host_port, [("example.com", "")], "example.com:8080", "/", Some(0));
find!(host_trailing_dot, [("example.com", "")], "example.com.", "/", Some(0));
find!(host_list_second, [("a.com, b.com", "")], "b.com", "/", Some(0));
find!(host_wild_one, [("*.example.com", "")], "a.example.com", "/", Some(0));
find!(host_wild_two, [("*.example.com", "")], "a.b.example.com:1", "/", Some(0));
find!(host_wild_not_apex, [("*.example.com", "")], "example.com", "/", None);
find!(host_wild_not_glued, [("*.example.com", "")], "aexample.com", "/", None);
find!(host_wild_and_apex, [("example.com,*.example.com", "")], "example.com", "/", Some(0));
find!(host_regex, [("~^api\\d\\.", "")], "api1.example.com", "/", Some(0));
find!(host_regex_no_port, [("~com$", "")], "x.com:80", "/", Some(0));
find!(host_regex_ci, [("~^API\\.", "")], "api.x", "/", Some(0));
find!(host_regex_unanchored, [("~example", "")], "www.example.org", "/", Some(0));
find!(host_regex_comma, [("~^a{1,2}\\.com$", "")], "aa.com", "/", Some(0));
find!(host_v6_port, [("[::1]", "")], "[::1]:8080", "/", Some(0));
find!(host_v6_bare, [("[::1]", "")], "::1", "/", Some(0));
find!(host_v6_no_port, [("[2001:db8::1]", "")], "[2001:DB8::1]", "/", Some(0));
find!(host_v6_other, [("[::1]", "")], "[::2]:80", "/", None);
find!(host_empty_any, [("", "")], "", "/", Some(0));
find!(host_empty_no_exact, [("a.com", "")], "", "/", None);
find!(host_beats_no_host, [("", "/a"), ("a.com", "/a")], "a.com", "/a", Some(1));
find!(host_falls_back, [("", "/a"), ("a.com", "/a")], "b.com", "/a", Some(0));
find!(host_then_path, [("a.com", "/x"), ("", "/")], "a.com", "/y", Some(1));
find!(host_exact_path_wins, [("a.com", "/"), ("", "=/y")], "a.com", "/y", Some(1));

// weights and ties
findw!(tie_keeps_order, [("", "/a", 0), ("", "/b", 0), ("", "/a", 0)], "h", "/a", Some(0));
findw!(explicit_beats, [("", "=/a", 0), ("", "", 99999)], "h", "/a", Some(1));
findw!(explicit_loses, [("", "", 1), ("", "~.", 0)], "h", "/a", Some(1));
findw!(explicit_tie, [("", "/a", 5), ("", "/", 5)], "h", "/a", Some(0));
findw!(explicit_tie_rev, [("", "/", 5), ("", "/a", 5)], "h", "/a", Some(0));
findw!(explicit_prefix_short_wins, [("", "/a/b", 1), ("", "/a", 2)], "h", "/a/b", Some(1));
findw!(explicit_regex_over_exact, [("", "=/a", 0), ("", "~^/a", 70000)], "h", "/a", Some(1));

macro_rules! weight {
    ($name:ident, $hosts:expr, $path:expr, $want:expr) => {
        #[test]
        fn $name() {
            assert_eq!(router(&[($hosts, $path)]).weight(0), $want);
        }
    };
}
weight!(weight_any, "", "", 0);
weight!(weight_any_host, "a.com", "", 8192);
weight!(weight_exact, "", "=/ab", 65536 + 3);
weight!(weight_prefix, "", "/ab", 32768 + 3);
weight!(weight_regex, "", "~^/ab", 16384 + 4);
weight!(weight_host_prefix, "a.com,b.com", "/ab", 32768 + 3 + 8192);

#[test]
fn explicit_weight_replaces() {
    let r = weighted(&[("a.com", "=/x", 7)]);
    assert_eq!(r.weight(0), 7);
}

#[test]
fn ordered_is_weight_order() {
    let r = router(&[("", ""), ("", "/a"), ("", "=/a"), ("", "~a"), ("", "/b")]);
    assert_eq!(r.ordered().collect::<Vec<_>>(), vec![2, 1, 4, 3, 0]);
    assert_eq!(r.len(), 5);
    assert!(!r.is_empty());
    assert_eq!(r.route(2).path, PathRule::Exact("/a".into()));
    assert!(r.get(5).is_none());
}

// parsing
macro_rules! path_rule {
    ($name:ident, $s:expr, $want:expr) => {
        #[test]
        fn $name() {
            let rule = PathRule::parse($s).unwrap();
            assert_eq!(rule, $want);
            assert_eq!(rule.to_string(), $s, "displayed as written");
        }
    };
}
path_rule!(parse_any, "", PathRule::Any);
path_rule!(parse_exact, "=/x", PathRule::Exact("/x".into()));
path_rule!(parse_prefix, "/x", PathRule::Prefix("/x".into()));
path_rule!(parse_regex, "~^/x$", PathRule::Regex("^/x$".into()));

macro_rules! host_list {
    ($name:ident, $s:expr, [$($want:expr),*]) => {
        #[test]
        fn $name() {
            assert_eq!(HostRule::parse_list($s).unwrap(), vec![$($want),*]);
        }
    };
}
host_list!(hosts_empty, "  ", []);
host_list!(hosts_exact, "Example.com", [HostRule::Exact("example.com".into())]);
host_list!(hosts_wild, "*.Example.com", [HostRule::Wildcard(".example.com".into())]);
host_list!(hosts_regex, "~^a{1,3}$", [HostRule::Regex("^a{1,3}$".into())]);
host_list!(hosts_v6, "[::1]", [HostRule::Exact("::1".into())]);
host_list!(
    hosts_mixed,
    "a.com, *.b.com ,~c",
    [
        HostRule::Exact("a.com".into()),
        HostRule::Wildcard(".b.com".into()),
        HostRule::Regex("c".into())
    ]
);

macro_rules! bad_host {
    ($name:ident, $s:expr) => {
        #[test]
        fn $name() {
            let err = HostRule::parse_list($s).unwrap_err();
            assert!(matches!(err, Error::Host { .. } | Error::HostRegex { .. }), "{err}");
        }
    };
}
bad_host!(bad_host_port, "example.com:80");
bad_host!(bad_host_v6_port, "[::1]:80");
bad_host!(bad_host_empty_item, "a.com,,b.com");
bad_host!(bad_host_star_mid, "a.*.com");
bad_host!(bad_host_star_only, "*");
bad_host!(bad_host_star_dot, "*.");
bad_host!(bad_host_space, "a b");
bad_host!(bad_host_regex, "~(");

#[test]
fn bad_path_regex() {
    let err = PathRule::parse("~[").unwrap_err();
    assert!(matches!(&err, Error::PathRegex { pattern, .. } if pattern == "["));
    assert!(err.to_string().contains("~["), "{err}");
}

#[test]
fn build_rejects_bad_regex_in_constructed_route() {
    let mut b = RouterBuilder::new();
    b.add(Route {
        name: "x".into(),
        hosts: vec![],
        path: PathRule::Regex("(".into()),
        weight: None,
    });
    assert!(matches!(b.build(), Err(Error::PathRegex { .. })));
}

#[test]
fn constructed_rules_are_normalised() {
    let mut b = RouterBuilder::new();
    b.add(Route {
        name: "x".into(),
        hosts: vec![HostRule::Exact("A.COM".into()), HostRule::Wildcard("b.com".into())],
        path: PathRule::Prefix(String::new()),
        weight: None,
    });
    let r = b.build().unwrap();
    assert_eq!(r.find("a.com", "/z"), Some(0));
    assert_eq!(r.find("x.b.com", "/z"), Some(0));
    assert_eq!(r.find("b.com", "/z"), None);
}

#[test]
fn long_uppercase_host() {
    let host = format!("{}.COM", "A".repeat(300));
    let r = router(&[(&host.to_ascii_lowercase(), "")]);
    assert_eq!(r.find(&host, "/"), Some(0));
}

// explain
#[test]
fn explain_lists_all_in_order() {
    let r = router(&[("", ""), ("a.com", "/x"), ("", "=/y")]);
    let e = r.explain("a.com:80", "/y");
    assert_eq!(e.winner, Some(2));
    let got: Vec<_> = e.candidates.iter().map(|c| (c.index, c.verdict.clone())).collect();
    assert_eq!(
        got,
        vec![
            (2, Verdict::Matched),
            (1, Verdict::PathMismatch { rule: "/x".into() }),
            (0, Verdict::Matched),
        ]
    );
    let text = e.to_string();
    assert!(text.contains("winner: r2"), "{text}");
    assert!(text.contains("matched (after the winner)"), "{text}");
}

#[test]
fn explain_host_first() {
    let r = router(&[("a.com, *.b.com", "=/x")]);
    let e = r.explain("c.com", "/y");
    assert_eq!(e.winner, None);
    assert_eq!(e.candidates[0].verdict, Verdict::HostMismatch { rule: "a.com,*.b.com".into() });
    assert!(e.to_string().contains("winner: none"));
}

// lints
macro_rules! shadowed {
    ($name:ident, [$($route:expr),*], [$($want:expr),*]) => {
        #[test]
        fn $name() {
            assert_eq!(router(&[$($route),*]).shadowed(), vec![$($want),*]);
        }
    };
}
shadowed!(shadow_none, [("", "/a"), ("", "/b")], []);
shadowed!(shadow_dup_prefix, [("", "/a"), ("", "/a")], [(1, 0)]);
shadowed!(shadow_dup_regex, [("", "~x"), ("", "~x")], [(1, 0)]);
shadowed!(shadow_longer_prefix_not, [("", "/a"), ("", "/a/b")], []);
shadowed!(shadow_host_wild, [("*.a.com", "/x"), ("*.b.a.com", "/x")], [(1, 0)]);
shadowed!(shadow_host_wild_narrow_first, [("*.b.a.com", "/x"), ("*.a.com", "/x")], []);
shadowed!(shadow_any_host_no, [("a.com", "/"), ("", "/")], []);
shadowed!(shadow_dup_exact_hosts, [("a.com,b.com", "=/x"), ("b.com", "=/x")], [(1, 0)]);

#[test]
fn shadow_by_explicit_weight() {
    // `/a/b` would win by length, but the explicit weight puts `/a` first.
    let r = weighted(&[("", "/a/b", 0), ("", "/a", 90000), ("", "~^/a/", 0)]);
    assert_eq!(r.shadowed(), vec![(0, 1)]);
}

#[test]
fn shadow_regex_covers_exact() {
    let r = weighted(&[("", "~^/a", 100000), ("", "=/a/x", 0), ("", "=/b", 0)]);
    assert_eq!(r.shadowed(), vec![(1, 0)]);
}

#[test]
fn shadow_wildcard_covers_exact_host() {
    let r = weighted(&[("*.a.com", "/", 100000), ("x.a.com", "/z", 0), ("a.com", "/z", 0)]);
    assert_eq!(r.shadowed(), vec![(1, 0)]);
}

macro_rules! ties {
    ($name:ident, [$($route:expr),*], [$($want:expr),*]) => {
        #[test]
        fn $name() {
            assert_eq!(weighted(&[$($route),*]).overlapping_ties(), vec![$($want),*]);
        }
    };
}
ties!(ties_same_rule, [("", "/a", 0), ("", "/a", 0)], [(0, 1)]);
ties!(ties_disjoint_prefix, [("", "/a", 0), ("", "/b", 0)], []);
ties!(ties_explicit_overlap, [("", "/a", 5), ("", "/", 5)], [(0, 1)]);
ties!(ties_different_hosts, [("a.com", "/a", 0), ("b.com", "/a", 0)], []);
ties!(ties_wild_host, [("*.a.com", "/a", 0), ("x.a.com", "/a", 0)], [(0, 1)]);
ties!(ties_regex_prefix, [("", "~^/ab", 5), ("", "/a", 5)], [(0, 1)]);
ties!(ties_unequal, [("", "/a", 0), ("", "/ab", 0)], []);

// rewrite
macro_rules! rewrite {
    ($name:ident, $spec:expr, $input:expr, $want:expr) => {
        #[test]
        fn $name() {
            let rw = Rewrite::parse($spec).unwrap();
            assert_eq!(rw.apply_uri($input).as_deref(), $want);
        }
    };
}
rewrite!(rw_strip, "^/api/(.*)$ /$1", "/api/users", Some("/users"));
rewrite!(rw_braced, "^/api/(.*)$ /v2/${1}x", "/api/u", Some("/v2/ux"));
rewrite!(rw_named, "^/u/(?P<id>\\d+) /users/$id", "/u/42/edit", Some("/users/42/edit"));
rewrite!(rw_named_braced, "^/u/(?<id>\\d+) /users/${id}/", "/u/42", Some("/users/42/"));
rewrite!(rw_query_kept, "^/api/(.*)$ /$1", "/api/x?a=1&b=%20", Some("/x?a=1&b=%20"));
rewrite!(rw_empty_query_kept, "^/api /v2", "/api/x?", Some("/v2/x?"));
rewrite!(rw_query_merged, "^/old/(\\w+) /new?id=$1", "/old/7?x=1", Some("/new?id=7&x=1"));
rewrite!(rw_slash_added, "^/api/(.*)$ $1", "/api/x", Some("/x"));
rewrite!(rw_empty_becomes_slash, "^/api/(.*)$ $1", "/api/", Some("/"));
rewrite!(rw_no_match, "^/api /v2", "/other?q", None);
rewrite!(rw_partial_keeps_rest, "^/api /v2", "/api/x", Some("/v2/x"));
rewrite!(rw_dollar_literal, "^/a /$$x", "/a", Some("/$x"));
rewrite!(rw_lone_dollar, "^/a /$-", "/a", Some("/$-"));
rewrite!(rw_spaces, "  ^/a    /b c  ", "/a", Some("/b c"));
rewrite!(rw_unmatched_group_empty, "^/(a)?b /x$1", "/b", Some("/x"));
rewrite!(rw_query_not_seen, "b$ c", "/b?zb", Some("/c?zb"));

macro_rules! bad_rewrite {
    ($name:ident, $spec:expr, $needle:expr) => {
        #[test]
        fn $name() {
            let err = Rewrite::parse($spec).unwrap_err();
            assert!(err.to_string().contains($needle), "{err}");
        }
    };
}
bad_rewrite!(rw_bad_missing_replacement, "^/api", "REGEX REPLACEMENT");
bad_rewrite!(rw_bad_empty, "", "REGEX REPLACEMENT");
bad_rewrite!(rw_bad_regex, "( /x", "not a valid regex");
bad_rewrite!(rw_bad_group_number, "^/(a) /$2", "1 capture group");
bad_rewrite!(rw_bad_group_name, "^/(a) /$nope", "no group named `nope`");
bad_rewrite!(rw_bad_glued_group, "^/(a) /$1a", "${1}a");
bad_rewrite!(rw_bad_unclosed, "^/(a) /${1", "closing");

#[test]
fn rewrite_new_matches_parse() {
    let rw = Rewrite::new("^/a/(.*)", "/b/$1").unwrap();
    assert_eq!(rw.apply("/a/c").as_deref(), Some("/b/c"));
}

#[test]
fn router_debug_is_compact() {
    let r = router(&[("a.com", "/x")]);
    let s = format!("{r:?}");
    assert!(s.contains("r0 (weight 40962): host `a.com` path `/x`"), "{s}");
}

#[test]
fn router_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone>() {}
    check::<Router>();
    check::<Rewrite>();
}
