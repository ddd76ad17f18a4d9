//! Consistent hashing through `Pool::select`: stickiness per key kind, fallback, 1/n movement.

use std::collections::HashSet;
use std::net::IpAddr;

use pingora_http::RequestHeader;
use proptest::prelude::*;
use pylon_upstream::{Algorithm, HashKey, Pool};

use crate::util::{get, loopbacks, pool, spec, within};

/// The request for key value `v` (`None` = the key is absent) on `path`.
type MakeRequest = fn(&str, Option<&str>) -> (RequestHeader, Option<IpAddr>);

fn pick(pool: &Pool, (req, ip): &(RequestHeader, Option<IpAddr>)) -> usize {
    pool.select(req, *ip, &[]).expect("a healthy peer").index()
}

/// Same key → same peer, whatever else differs; different keys spread; missing key → path.
async fn sticks(key: HashKey, make: MakeRequest) {
    let pool = pool(spec(loopbacks(5, 1), Algorithm::Hash(key))).await;
    let by_path = crate::util::pool(spec(loopbacks(5, 1), Algorithm::Hash(HashKey::Path))).await;
    let mut used = HashSet::new();
    for k in 0..200 {
        let value = format!("v{k}");
        let first = pick(&pool, &make("/a", Some(&value)));
        for _ in 0..3 {
            assert_eq!(pick(&pool, &make("/a", Some(&value))), first, "key {value}");
        }
        used.insert(first);
        // Missing key: the same peer as hashing the path.
        let path = format!("/p/{k}");
        assert_eq!(pick(&pool, &make(&path, None)), pick(&by_path, &(get(&path), None)));
    }
    assert!(used.len() >= 4, "keys spread over the peers: {used:?}");
}

/// `sticky!(name, key, |path, value| request)`: one named test per key kind.
macro_rules! sticky {
    ($($name:ident: $key:expr, $make:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            within(sticks($key, $make)).await;
        }
    )*};
}

fn with_header(path: &str, name: &str, value: Option<String>) -> RequestHeader {
    let mut req = get(path);
    req.insert_header("X-Other", "noise").expect("valid header");
    if let Some(value) = value {
        req.insert_header(name.to_owned(), value).expect("valid header");
    }
    req
}

sticky! {
    path_sticks: HashKey::Path, |path, v| match v {
        // The path is the key: vary it by the value; "missing" is just the path.
        Some(v) => (get(&format!("/k/{v}?n={}", path.len())), None),
        None => (get(path), None),
    };
    url_sticks: HashKey::Url, |path, v| match v {
        Some(v) => (get(&format!("/u?k={v}")), None),
        None => (get(path), None),
    };
    client_ip_sticks: HashKey::ClientIp, |path, v| {
        let ip = v.map(|v| {
            let n: u8 = v[1..].parse().unwrap();
            IpAddr::from([127, 0, n / 16, n])
        });
        (get(&format!("{path}?r={}", path.len())), ip)
    };
    header_sticks: HashKey::Header("X-User".into()), |path, v| {
        (with_header(path, "X-User", v.map(str::to_owned)), None)
    };
    cookie_sticks: HashKey::Cookie("sid".into()), |path, v| {
        let cookie = v.map(|v| format!("theme=dark; sid={v}; lang=en"));
        (with_header(path, "Cookie", cookie.or(Some("theme=dark".into()))), None)
    };
    query_sticks: HashKey::Query("user".into()), |path, v| match v {
        Some(v) => (get(&format!("{path}?page=2&user={v}")), None),
        None => (get(&format!("{path}?page=2")), None),
    };
}

#[tokio::test]
async fn url_key_differs_from_path_key() {
    within(async {
        let pool = pool(spec(loopbacks(5, 1), Algorithm::Hash(HashKey::Url))).await;
        let peers: HashSet<usize> =
            (0..50).map(|k| pick(&pool, &(get(&format!("/same?k={k}")), None))).collect();
        assert!(peers.len() > 1, "the query takes part in the url key");
    })
    .await;
}

#[tokio::test]
async fn unhealthy_owner_hands_its_keys_to_others_only() {
    within(async {
        let pool = pool(spec(loopbacks(4, 1), Algorithm::Hash(HashKey::Path))).await;
        let paths: Vec<String> = (0..300).map(|k| format!("/k/{k}")).collect();
        let before: Vec<usize> = paths.iter().map(|p| pick(&pool, &(get(p), None))).collect();
        // Treat peer 0 as failed via `tried`: only its keys move.
        let gone = pool.peers()[0].addr;
        for (path, &owner) in paths.iter().zip(&before) {
            let sel = pool.select(&get(path), None, &[gone]).unwrap();
            if owner != 0 {
                assert_eq!(sel.index(), owner, "{path} moved although its peer is fine");
            } else {
                assert_ne!(sel.index(), 0);
            }
        }
    })
    .await;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Adding a peer to a ketama pool of n moves about 1/(n+1) of the keys, all onto it.
    #[test]
    fn adding_a_peer_moves_about_one_nth(n in 2u8..10, weight in 1u32..4) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (small, big) = rt.block_on(within(async {
            let algorithm = Algorithm::Hash(HashKey::Path);
            (pool(spec(loopbacks(n, weight), algorithm.clone())).await,
             pool(spec(loopbacks(n + 1, weight), algorithm)).await)
        }));
        let keys = 2000;
        let mut moved = 0;
        for k in 0..keys {
            let req = (get(&format!("/obj/{k}")), None);
            let (before, after) = (pick(&small, &req), pick(&big, &req));
            if before != after {
                prop_assert_eq!(after, usize::from(n), "moved between old peers");
                moved += 1;
            }
        }
        let share = f64::from(moved) / f64::from(keys);
        let expected = 1.0 / f64::from(n + 1);
        prop_assert!(share > expected * 0.5 && share < expected * 1.6, "moved {share}, expected {expected}");
    }
}
