//! Properties of the path normaliser (RFC 3986 §6.2.2) and of routing on its output: the
//! location chosen for a raw path is the one chosen for its normal form, however the path was
//! spelled (dot segments, `//`, percent-encoded unreserved characters in any hex case).

use proptest::prelude::*;
use pylon_route::{PathRule, Route, TargetError, normalize_path};

use crate::util::{self, build};

/// Segments of normal-form paths: names that collide with the rules below, a dot inside a
/// name, an unreserved `~`, and an encoded `/` that must stay a literal byte.
const NAMES: &[&str] = &["admin", "a", "b", "ab", "a.b", "~u", "a%2Fb", "users", "v1"];

/// A path in normal form: `/` + names joined by `/`, maybe with a trailing `/`.
fn normal_path() -> impl Strategy<Value = String> {
    (prop::collection::vec(prop::sample::select(NAMES), 0..5), any::<bool>()).prop_map(
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

/// Rules keyed on the same names: what an operator guards (`/admin`, `=/admin/users`,
/// `~^/admin/`) and a catch-all behind them.
fn rule() -> impl Strategy<Value = PathRule> {
    prop_oneof![
        normal_path().prop_map(PathRule::Prefix),
        normal_path().prop_map(PathRule::Exact),
        normal_path().prop_map(|p| PathRule::Prefix(p.trim_end_matches('/').to_owned() + "/")),
        normal_path().prop_map(|p| PathRule::Regex(format!("^{}", regex::escape(&p)))),
        normal_path().prop_map(|p| PathRule::Regex(format!("^{}$", regex::escape(&p)))),
        Just(PathRule::Prefix("/".into())),
        Just(PathRule::Any),
    ]
}

fn table() -> impl Strategy<Value = Vec<Route>> {
    prop::collection::vec(
        rule().prop_map(|path| Route { name: String::new(), hosts: vec![], path, weight: None }),
        1..12,
    )
}

/// Spells `normal` the ways an attacker would, all meaning the same path to an origin:
/// detours (`x/../`), `./` segments, doubled slashes and unreserved characters (including
/// the dots of `a.b`) percent-encoded in either hex case. `choices` drives every decision.
fn disguise(normal: &str, choices: &[u8]) -> String {
    let mut pick = choices.iter().copied().cycle();
    let mut next = move || pick.next().unwrap_or(0);
    let mut out = String::new();
    let segs: Vec<&str> = normal[1..].split('/').collect();
    for (i, seg) in segs.iter().enumerate() {
        match next() % 8 {
            0 => out.push_str("/x/.."),
            1 => out.push_str("/."),
            2 => out.push('/'),
            3 => out.push_str("/%2e"),
            4 => out.push_str("/v1/%2E%2e"),
            _ => {}
        }
        out.push('/');
        let bytes = seg.as_bytes();
        let mut j = 0;
        while j < bytes.len() {
            let b = bytes[j];
            if b == b'%' {
                // an escape that must stay one (`%2F`): copy it, maybe in lower case
                let esc = &seg[j..j + 3];
                out.push_str(&if next() % 2 == 0 { esc.to_ascii_lowercase() } else { esc.into() });
                j += 3;
                continue;
            }
            let unreserved = b.is_ascii_alphanumeric() || b"-._~".contains(&b);
            match next() % 4 {
                0 if unreserved => out.push_str(&format!("%{b:02x}")),
                1 if unreserved => out.push_str(&format!("%{b:02X}")),
                _ => out.push(char::from(b)),
            }
            j += 1;
        }
        // A final empty segment is the trailing slash of `normal`: keep it empty.
        if i + 1 == segs.len() && seg.is_empty() {
            continue;
        }
    }
    if next() % 5 == 0 && out.ends_with('/') {
        out.push_str("./");
    }
    out
}

/// An independent reading of RFC 3986 §6.2.2 on raw bytes, segment by segment: each segment
/// is decoded into `(byte, was_encoded)` tokens, dot segments are resolved on the decoded
/// text (§5.2.4), empty segments merged, and tokens re-encoded (unreserved bare, an encoded
/// byte with upper-case hex, a bare byte a URI may hold as is). Errors as Pylon decides:
/// bad `%`, a NUL (`%00` or bare), a bare `\`, `..` above the root, a dot segment with a bare `;`.
fn reference(raw: &[u8]) -> Result<String, ()> {
    if raw.first() != Some(&b'/') {
        return Err(());
    }
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
    let bare_ok = |b: u8| unreserved(b) || b"!$&'()*+,;=:@".contains(&b);
    let mut kept: Vec<Vec<(u8, bool)>> = Vec::new();
    let mut trailing = false;
    for seg in raw[1..].split(|&b| b == b'/') {
        let mut toks = Vec::new();
        let mut i = 0;
        while i < seg.len() {
            match seg[i] {
                b'%' => {
                    let hex = seg.get(i + 1..i + 3).ok_or(())?;
                    let s = std::str::from_utf8(hex).map_err(|_| ())?;
                    if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
                        return Err(());
                    }
                    let v = u8::from_str_radix(s, 16).map_err(|_| ())?;
                    if v == 0 {
                        return Err(());
                    }
                    toks.push((v, true));
                    i += 3;
                }
                b'\\' | 0 => return Err(()),
                b => {
                    toks.push((b, false));
                    i += 1;
                }
            }
        }
        let text: Vec<u8> = toks.iter().map(|t| t.0).collect();
        trailing = true;
        match text.as_slice() {
            [] | [b'.'] => {}
            [b'.', b'.'] => {
                kept.pop().ok_or(())?;
            }
            _ if toks.starts_with(&[(b'.', false), (b';', false)])
                || toks.starts_with(&[(b'.', true), (b';', false)])
                || matches!(toks.as_slice(), [(b'.', _), (b'.', _), (b';', false), ..]) =>
            {
                return Err(());
            }
            _ => {
                trailing = false;
                kept.push(toks);
            }
        }
    }
    let mut out = String::new();
    for seg in &kept {
        out.push('/');
        for &(b, encoded) in seg {
            if unreserved(b) || (!encoded && bare_ok(b)) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    if trailing || out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// Raw paths as they come off the wire: segments from a hostile alphabet.
fn raw_path() -> impl Strategy<Value = Vec<u8>> {
    let part = prop_oneof![
        3 => prop::sample::select(NAMES).prop_map(|s| s.as_bytes().to_vec()),
        1 => Just(b".".to_vec()),
        1 => Just(b"..".to_vec()),
        1 => Just(b"".to_vec()),
        1 => Just(b"%2e".to_vec()),
        1 => Just(b"%2E%2e".to_vec()),
        1 => Just(b"%61dmin".to_vec()),
        1 => Just(b"..;x".to_vec()),
        1 => Just(b"a%2fb".to_vec()),
        1 => Just(b"%7E%7eu".to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..4),
    ];
    prop::collection::vec(part, 0..7).prop_map(|parts| {
        let mut p = Vec::new();
        for part in parts {
            p.push(b'/');
            p.extend_from_slice(&part);
        }
        if p.is_empty() {
            p.push(b'/');
        }
        p
    })
}

proptest! {
    #![proptest_config(util::config())]

    /// The location chosen for the normalised raw path is the location chosen for its RFC
    /// 3986 normal form (computed independently), and both agree on which paths are refused.
    #[test]
    fn routing_raw_equals_routing_normal_form(routes in table(), raw in raw_path()) {
        let router = build(&routes);
        let ours = normalize_path(&raw);
        let theirs = reference(&raw);
        prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "raw {:?}: {:?} vs {:?}",
            String::from_utf8_lossy(&raw), ours, theirs);
        if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
            prop_assert_eq!(&*ours, theirs.as_str(), "raw {:?}", String::from_utf8_lossy(&raw));
            prop_assert_eq!(router.find("h", &ours), router.find("h", &theirs));
            prop_assert_eq!(router.find("h", &ours), router.find_linear("h", &theirs));
        }
    }

    /// However a normal path is disguised, it normalises back to itself and the router
    /// chooses the location it chooses for the plain path: no spelling walks around a rule.
    #[test]
    fn no_disguise_changes_the_location(
        routes in table(),
        normal in normal_path(),
        choices in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let router = build(&routes);
        let raw = disguise(&normal, &choices);
        let got = normalize_path(raw.as_bytes());
        prop_assert_eq!(got.as_deref().ok(), Some(normal.as_str()), "disguised as {:?}", raw);
        prop_assert_eq!(router.find("h", &normal), router.find("h", &normal_or_raw(&raw)));
    }

    /// The normaliser never panics, its output is its own normal form, ASCII, starts with
    /// `/` and has no dot segment or empty segment left.
    #[test]
    fn normal_form_is_idempotent(raw in prop_oneof![raw_path(), prop::collection::vec(any::<u8>(), 0..40)]) {
        if let Ok(n) = normalize_path(&raw) {
            prop_assert!(n.is_ascii() && n.starts_with('/'));
            let again = normalize_path(n.as_bytes());
            prop_assert_eq!(again.as_deref().ok(), Some(&*n));
            let inner = n[1..].strip_suffix('/').unwrap_or(&n[1..]);
            if !inner.is_empty() {
                prop_assert!(inner.split('/').all(|s| !s.is_empty() && s != "." && s != ".."), "{}", n);
            }
        }
    }
}

/// What the proxy routes on: the normal form (a refused path routes nowhere).
fn normal_or_raw(raw: &str) -> String {
    normalize_path(raw.as_bytes()).map(|n| n.into_owned()).unwrap_or_default()
}

#[test]
fn the_issue_examples_route_to_the_guard() {
    let routes = vec![
        Route {
            name: "admin".into(),
            hosts: vec![],
            path: PathRule::parse("/admin").expect("rule"),
            weight: None,
        },
        Route {
            name: "all".into(),
            hosts: vec![],
            path: PathRule::parse("/").expect("rule"),
            weight: None,
        },
    ];
    let router = build(&routes);
    for raw in ["/x/../admin/users", "/%61dmin/users", "/./admin", "//admin", "/x/%2E%2e/admin"] {
        let n = normalize_path(raw.as_bytes()).expect("normalises");
        assert_eq!(router.find("h", &n), Some(0), "{raw} -> {n}");
    }
    assert_eq!(router.find("h", &normal_or_raw("/ADMIN")), Some(1), "paths are case-sensitive");
    assert_eq!(normalize_path(b"/../admin"), Err(TargetError::AboveRoot));
}

#[test]
fn patterns_are_normalised_like_requests() {
    let rule = |p: &str| Route {
        name: p.into(),
        hosts: vec![],
        path: PathRule::parse(p).expect("rule"),
        weight: None,
    };
    let router = build(&[rule("=/caf\u{e9}"), rule("/%61pi/"), rule("/")]);
    assert_eq!(router.find("h", &normal_or_raw("/caf%c3%a9")), Some(0));
    assert_eq!(router.find("h", &normal_or_raw("/api/x")), Some(1));
    let mut b = pylon_route::RouterBuilder::new();
    b.add(Route { name: "bad".into(), ..rule("/../x") });
    let err = b.build().expect_err("a pattern above the root can never match");
    assert!(
        matches!(&err, pylon_route::Error::PathPattern { route, reason: TargetError::AboveRoot, .. } if route == "bad"),
        "{err}"
    );
}
