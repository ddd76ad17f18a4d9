//! Oracle and metamorphic properties of the router.

use proptest::prelude::*;
use pylon_route::{HostRule, PathRule, Route, Verdict};

use crate::util::{self, build, table_and_requests};

/// Routes that no generated request can match (the alphabet has no `zz`, no `never.invalid`).
fn matches_nothing() -> impl Strategy<Value = Route> {
    let rules = prop_oneof![
        Just((vec![], PathRule::Exact("/zz".into()))),
        Just((vec![], PathRule::Prefix("/zz".into()))),
        Just((vec![], PathRule::Regex("^/a/zz".into()))),
        Just((vec![], PathRule::Regex("zz$".into()))),
        Just((HostRule::parse_list("never.invalid").expect("valid"), PathRule::Any)),
        Just((
            HostRule::parse_list("*.never.invalid").expect("valid"),
            PathRule::Prefix("/".into())
        )),
        Just((HostRule::parse_list("~^never").expect("valid"), PathRule::Any)),
    ];
    let weight = prop_oneof![Just(None), Just(Some(1)), Just(Some(u32::MAX)), Just(Some(32770))];
    (rules, weight).prop_map(|((hosts, path), weight)| Route {
        name: String::new(),
        hosts,
        path,
        weight,
    })
}

proptest! {
    #![proptest_config(util::config())]

    /// (a) The index answers exactly what the linear scan in weight order answers, and
    /// `explain` agrees with both.
    #[test]
    fn index_equals_linear((routes, reqs) in table_and_requests(40)) {
        let router = build(&routes);
        for (host, path) in &reqs {
            let want = router.find_linear(host, path);
            prop_assert_eq!(router.find(host, path), want, "host {:?} path {:?}", host, path);
            prop_assert_eq!(router.explain(host, path).winner, want);
        }
    }

    /// (b) Inserting a location that matches nothing, anywhere and at any weight, never
    /// changes the winner.
    #[test]
    fn adding_non_matching_keeps_winner(
        (routes, reqs) in table_and_requests(40),
        extra in matches_nothing(),
        at in any::<prop::sample::Index>(),
    ) {
        let before = build(&routes);
        let at = at.index(routes.len() + 1);
        let mut more = routes.clone();
        more.insert(at, extra);
        let after = build(&more);
        for (host, path) in &reqs {
            let old = before.find(host, path);
            let shifted = old.map(|i| if i >= at { i + 1 } else { i });
            prop_assert_eq!(after.find(host, path), shifted);
        }
    }

    /// (d) For exact/prefix-only tables without ties that overlap, declaration order does
    /// not matter.
    #[test]
    fn order_irrelevant_for_exact_prefix(
        (rules, reqs, shuffle) in prop::collection::vec(
            prop_oneof![
                util::path().prop_map(PathRule::Exact),
                util::path().prop_map(PathRule::Prefix),
            ],
            0..30,
        )
        .prop_flat_map(|mut rules| {
            rules.sort_by_key(|r| r.to_string());
            rules.dedup();
            let routes: Vec<Route> = rules
                .iter()
                .map(|path| Route { name: path.to_string(), hosts: vec![], path: path.clone(), weight: None })
                .collect();
            let reqs = prop::collection::vec(util::request_path(&routes), 1..16);
            let shuffled = Just(routes.clone()).prop_shuffle();
            (Just(routes), reqs, shuffled)
        })
    ) {
        let a = build(&rules);
        let b = build(&shuffle);
        prop_assert!(a.overlapping_ties().is_empty());
        for path in &reqs {
            let wa = a.find("h", path).map(|i| rules[i].path.clone());
            let wb = b.find("h", path).map(|i| shuffle[i].path.clone());
            prop_assert_eq!(wa, wb, "path {:?}", path);
        }
    }

    /// `shadowed` is sound: whenever the shadowed location matches a request, so does the
    /// location said to cover it (and that one comes first).
    #[test]
    fn shadowed_is_sound((routes, reqs) in table_and_requests(30)) {
        let router = build(&routes);
        let shadowed = router.shadowed();
        let rank: Vec<usize> = {
            let mut r = vec![0; router.len()];
            for (pos, i) in router.ordered().enumerate() { r[i] = pos; }
            r
        };
        for &(j, i) in &shadowed {
            prop_assert!(rank[i] < rank[j]);
        }
        for (host, path) in &reqs {
            let e = router.explain(host, path);
            let matched = |k: usize| e.candidates.iter().any(|c| c.index == k && c.verdict == Verdict::Matched);
            for &(j, i) in &shadowed {
                prop_assert!(!matched(j) || matched(i), "{:?} not covered by {:?} for {} {}", j, i, host, path);
                prop_assert_ne!(e.winner, Some(j));
            }
        }
        for (a, b) in router.overlapping_ties() {
            prop_assert_eq!(router.weight(a), router.weight(b));
            prop_assert!(rank[a] < rank[b]);
        }
    }
}

proptest! {
    #![proptest_config(util::config())]

    /// Arbitrary (even malformed) host and path strings: no panic, same answer as linear.
    #[test]
    fn arbitrary_requests(routes in util::table(30), host in "\\PC{0,30}", path in "\\PC{0,30}") {
        let router = build(&routes);
        prop_assert_eq!(router.find(&host, &path), router.find_linear(&host, &path));
    }
}

proptest! {
    // Each case builds a table of up to 300 locations: a quarter of the cases.
    #![proptest_config(util::config_fraction(4))]

    /// (a') Same on bigger tables, where groups, sets and pruning kick in.
    #[test]
    fn index_equals_linear_large((routes, reqs) in table_and_requests(300)) {
        let router = build(&routes);
        for (host, path) in &reqs {
            prop_assert_eq!(router.find(host, path), router.find_linear(host, path));
        }
    }
}
