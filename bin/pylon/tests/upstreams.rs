//! Load balancing, retries and health checks (SPEC §5).

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use crate::util::*;

fn addrs(ups: &[&Upstream], weights: &[u32]) -> String {
    let list: Vec<String> = ups
        .iter()
        .zip(weights)
        .map(|(u, w)| if *w == 1 { q(&u.addr.to_string()) } else { q(&format!("{} {w}", u.addr)) })
        .collect();
    format!("[{}]", list.join(", "))
}

/// A free loopback address nothing listens on.
fn dead_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balancing_algorithms() {
    bounded(async {
        let dir = Dir::new();
        let a = Upstream::start("a").await;
        let b = Upstream::start("b").await;
        let c3 = Upstream::start("c").await;
        let all = [&a, &b, &c3];
        let mut cfg = dir.basic("");
        // No health checks during the test: a check round would only add noise.
        let hc = "health_check = \"tcp://x?check_frequency=1h\"\n";
        cfg += &format!("[upstreams.rr]\naddrs = {}\n{hc}", addrs(&[&a, &b], &[1, 3]));
        cfg += &format!(
            "[upstreams.rnd]\naddrs = {}\nalgo = \"random\"\n{hc}",
            addrs(&[&a, &b], &[1, 1])
        );
        let hashes = [
            ("h_header", "hash:header:X-User"),
            ("h_cookie", "hash:cookie:sid"),
            ("h_query", "hash:query:uid"),
            ("h_path", "hash:path"),
            ("h_ip", "hash:ip"),
        ];
        for (name, algo) in hashes {
            cfg += &format!(
                "[upstreams.{name}]\naddrs = {}\nalgo = \"{algo}\"\n{hc}",
                addrs(&all, &[1, 1, 1])
            );
        }
        let mut locs = vec!["rr".to_owned(), "rnd".to_owned()];
        for (name, _) in hashes {
            locs.push(name.to_owned());
        }
        for name in &locs {
            cfg += &format!("[locations.{name}]\nupstream = \"{name}\"\npath = \"/{name}/\"\n");
        }
        let p = Pylon::start(&dir, |port| {
            format!("{cfg}[servers.main]\naddr = \"127.0.0.1:{port}\"\nlocations = {locs:?}\n")
        })
        .await;
        let c = client();

        // Weighted round robin: "b 3" gets three times what "a" gets.
        let mut count: HashMap<String, usize> = HashMap::new();
        for i in 0..200 {
            let got = get(&c, &p.url(&format!("/rr/{i}")), None).await;
            assert_eq!(got.status, 200);
            *count.entry(got.upstream()).or_default() += 1;
        }
        let (na, nb) = (count["a"], count["b"]);
        assert!((40..=60).contains(&na) && (140..=160).contains(&nb), "rr 1:3 gave {count:?}");

        // Random: both peers are used, neither overwhelmingly.
        let mut count: HashMap<String, usize> = HashMap::new();
        for i in 0..200 {
            let got = get(&c, &p.url(&format!("/rnd/{i}")), None).await;
            *count.entry(got.upstream()).or_default() += 1;
        }
        assert!(
            count.get("a").copied().unwrap_or(0) >= 50
                && count.get("b").copied().unwrap_or(0) >= 50,
            "random gave {count:?}"
        );

        // Hashes: one key always lands on one peer; different keys spread over the peers.
        type Req = fn(&reqwest::Client, String, &str) -> reqwest::RequestBuilder;
        let keyed: [(&str, Req); 3] = [
            ("h_header", |c, url, k| c.get(url).header("x-user", k)),
            ("h_cookie", |c, url, k| c.get(url).header("cookie", format!("a=1; sid={k}; b=2"))),
            ("h_query", |c, url, k| c.get(format!("{url}?x=1&uid={k}&y=2"))),
        ];
        for (name, with_key) in keyed {
            let mut peers_used = std::collections::HashSet::new();
            for k in 0..16 {
                let key = format!("key-{k}");
                let mut seen = std::collections::HashSet::new();
                for i in 0..4 {
                    // The path varies: only the key may decide.
                    let got = send(with_key(&c, p.url(&format!("/{name}/{i}")), &key)).await;
                    assert_eq!(got.status, 200);
                    seen.insert(got.upstream());
                }
                assert_eq!(seen.len(), 1, "{name}: key {key} went to {seen:?}");
                peers_used.extend(seen);
            }
            assert!(peers_used.len() >= 2, "{name}: 16 keys all on {peers_used:?}");
        }
        // hash:path, and a missing header key falls back to the path.
        for name in ["h_path", "h_header"] {
            let mut peers_used = std::collections::HashSet::new();
            for k in 0..16 {
                let mut seen = std::collections::HashSet::new();
                for i in 0..4 {
                    let got = get(&c, &p.url(&format!("/{name}/p{k}?i={i}")), None).await;
                    seen.insert(got.upstream());
                }
                assert_eq!(seen.len(), 1, "{name}: path p{k} went to {seen:?}");
                peers_used.extend(seen);
            }
            assert!(peers_used.len() >= 2, "{name}: 16 paths all on {peers_used:?}");
        }
        // hash:ip: one client address, one peer, whatever the path.
        let mut seen = std::collections::HashSet::new();
        for i in 0..20 {
            seen.insert(get(&fresh_client(), &p.url(&format!("/h_ip/{i}")), None).await.upstream());
        }
        assert_eq!(seen.len(), 1, "hash:ip spread one client over {seen:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_conn_avoids_the_busy_peer() {
    bounded(async {
        let dir = Dir::new();
        let slow = Upstream::start("slow").await;
        let fast = Upstream::start("fast").await;
        slow.set_delay(Duration::from_millis(2500));
        let p = Pylon::start(&dir, |port| {
            format!(
                "{basic}[upstreams.lc]\naddrs = {addrs}\nalgo = \"least_conn\"\n\
                 health_check = \"tcp://x?check_frequency=1h\"\n\
                 [locations.lc]\nupstream = \"lc\"\npath = \"/\"\n\
                 [servers.main]\naddr = \"127.0.0.1:{port}\"\nlocations = [\"lc\"]\n",
                basic = dir.basic(""),
                addrs = addrs(&[&slow, &fast], &[1, 1]),
            )
        })
        .await;
        let c = client();
        let mut tasks = Vec::new();
        for i in 0..30 {
            let c = c.clone();
            let url = p.url(&format!("/{i}"));
            tasks.push(tokio::spawn(async move { get(&c, &url, None).await }));
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let mut count: HashMap<String, usize> = HashMap::new();
        for t in tasks {
            let got = t.await.expect("request task");
            assert_eq!(got.status, 200, "{}", got.body);
            *count.entry(got.upstream()).or_default() += 1;
        }
        let on_slow = count.get("slow").copied().unwrap_or(0);
        assert!(on_slow <= 3, "least_conn sent {on_slow} of 30 to the busy peer: {count:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_retry_and_health_checks() {
    bounded(async {
        let dir = Dir::new();
        let mut a = Upstream::start("a").await;
        let b = Upstream::start("b").await;
        let dead1 = dead_addr();
        let dead2 = dead_addr();
        let p = Pylon::start(&dir, |port| {
            format!(
                "{basic}\
                 [upstreams.retry]\naddrs = {pair}\nretries = 1\n\
                 health_check = \"tcp://x?check_frequency=1h\"\n\
                 [upstreams.hc]\naddrs = {pair}\nretries = 0\n\
                 health_check = \"http://hc/health?check_frequency=500ms&failure=1&success=1&connection_timeout=300ms&read_timeout=300ms\"\n\
                 [upstreams.dead]\naddrs = [{d1}, {d2}]\nretries = 1\n\
                 health_check = \"tcp://x?check_frequency=1h\"\n\
                 [upstreams.down]\naddrs = [{d1}]\n\
                 health_check = \"tcp://x?check_frequency=500ms&failure=1&connection_timeout=300ms\"\n\
                 [locations.retry]\nupstream = \"retry\"\npath = \"/retry\"\n\
                 [locations.hc]\nupstream = \"hc\"\npath = \"/hc\"\n\
                 [locations.dead]\nupstream = \"dead\"\npath = \"/dead\"\n\
                 [locations.down]\nupstream = \"down\"\npath = \"/down\"\n\
                 [servers.main]\naddr = \"127.0.0.1:{port}\"\n\
                 locations = [\"retry\", \"hc\", \"dead\", \"down\"]\nstats_path = \"/__stats\"\n",
                basic = dir.basic(""),
                pair = addrs(&[&a, &b], &[1, 1]),
                d1 = q(&dead1.to_string()),
                d2 = q(&dead2.to_string()),
            )
        })
        .await;
        // FIXME: pylon closes the connection after a 502/503 page that says
        // `Connection: keep-alive` (see the report): no pooled connections here.
        let c = fresh_client();
        let stats_url = p.url("/__stats");

        // Both peers serve before anything fails.
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10 {
            seen.insert(get(&c, &p.url("/retry"), None).await.upstream());
        }
        assert_eq!(seen.len(), 2, "round robin over a and b: {seen:?}");

        // Kill a: with retries = 1 no request fails, before any health check notices.
        a.stop().await;
        for i in 0..50 {
            let got = get(&fresh_client(), &p.url(&format!("/retry/{i}")), None).await;
            assert_eq!(got.status, 200, "request {i} after the kill: {}", got.body);
            assert_eq!(got.upstream(), "b");
        }

        // The health check marks a down; with retries = 0 it is skipped, so nothing fails.
        eventually(Duration::from_secs(10), "a marked unhealthy", || {
            let c = c.clone();
            let url = stats_url.clone();
            let addr = a.addr;
            async move { (peer_healthy(&stats(&c, &url).await, "hc", addr) == Some(false)).then_some(()) }
        })
        .await;
        for i in 0..30 {
            let got = get(&fresh_client(), &p.url(&format!("/hc/{i}")), None).await;
            assert_eq!(got.status, 200, "request {i} with a marked down: {}", got.body);
            assert_eq!(got.upstream(), "b");
        }

        // a comes back: it is marked healthy and served again.
        a.restart().await;
        eventually(Duration::from_secs(10), "a healthy again", || {
            let c = c.clone();
            let url = stats_url.clone();
            let addr = a.addr;
            async move { (peer_healthy(&stats(&c, &url).await, "hc", addr) == Some(true)).then_some(()) }
        })
        .await;
        let mut seen = std::collections::HashSet::new();
        for i in 0..10 {
            let got = get(&fresh_client(), &p.url(&format!("/hc/{i}")), None).await;
            assert_eq!(got.status, 200);
            seen.insert(got.upstream());
        }
        assert!(seen.contains("a"), "a never served after coming back: {seen:?}");

        // Connect failure on every peer after retries: 502.
        let got = get(&c, &p.url("/dead"), None).await;
        assert_eq!(got.status, 502, "{}", got.body);
        // Every peer unhealthy: 503.
        let got = eventually(Duration::from_secs(10), "503 from the down upstream", || {
            let c = c.clone();
            let url = p.url("/down");
            async move {
                let got = get(&c, &url, None).await;
                (got.status == 503).then_some(got)
            }
        })
        .await;
        assert_eq!(got.header("content-length"), Some(got.body.len().to_string()));
    })
    .await;
}
