//! The stats document at `stats_path` (SPEC §8).

use std::{net::SocketAddr, time::Duration};

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_document() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("up").await;
        let dead = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let p = Pylon::start(&dir, |port| {
            format!(
                "{basic}[upstreams.pool]\naddrs = [{addr}, {dead}]\n\
                 health_check = \"tcp://x?check_frequency=500ms&failure=1&connection_timeout=300ms\"\n\
                 [locations.ok]\nupstream = \"pool\"\npath = \"/ok\"\n\
                 [locations.bad]\npath = \"/bad\"\nreturn = \"503 nope\"\n\
                 [locations.idle]\npath = \"/idle\"\nreturn = \"200 idle\"\n\
                 [servers.main]\naddr = \"127.0.0.1:{port}\"\n\
                 locations = [\"ok\", \"bad\", \"idle\"]\nstats_path = \"/__stats\"\n\
                 access_log = \"stdout {{method}} {{path}} {{status}}\"\n",
                basic = dir.basic(""),
                addr = q(&up.addr.to_string()),
                dead = q(&dead.to_string()),
            )
        })
        .await;
        let c = client();
        let url = p.url("/__stats");
        // Wait for the dead peer to be marked down, so every /ok request succeeds.
        eventually(Duration::from_secs(10), "dead peer marked down", || {
            let c = c.clone();
            let url = url.clone();
            async move { (peer_healthy(&stats(&c, &url).await, "pool", dead) == Some(false)).then_some(()) }
        })
        .await;
        let before = stats(&c, &url).await;
        for _ in 0..3 {
            assert_eq!(get(&c, &p.url("/ok"), None).await.status, 200);
        }
        for _ in 0..2 {
            assert_eq!(get(&c, &p.url("/bad"), None).await.status, 503);
        }
        let doc = stats(&c, &url).await;
        assert_eq!(doc["version"], env!("CARGO_PKG_VERSION"));
        assert!(doc["uptime_seconds"].is_u64(), "{doc}");
        let accepted = |d: &serde_json::Value| d["accepted"].as_u64().expect("accepted");
        assert!(accepted(&doc) >= accepted(&before) + 5, "{before} -> {doc}");
        // Only the stats request itself is in flight.
        assert!(doc["processing"].as_u64().is_some_and(|n| n <= 1), "{doc}");
        let loc = &doc["locations"];
        assert_eq!(loc["ok"]["requests"], 3, "{doc}");
        assert_eq!(loc["ok"]["status"]["2xx"], 3, "{doc}");
        assert_eq!(loc["ok"]["status"]["5xx"], 0, "{doc}");
        assert_eq!(loc["bad"]["requests"], 2, "{doc}");
        assert_eq!(loc["bad"]["status"]["5xx"], 2, "{doc}");
        assert_eq!(loc["idle"]["requests"], 0, "{doc}");
        let peers = doc["upstreams"]["pool"]["peers"].as_array().expect("peers");
        assert_eq!(peers.len(), 2, "{doc}");
        assert_eq!(peer_healthy(&doc, "pool", up.addr), Some(true), "{doc}");
        assert_eq!(peer_healthy(&doc, "pool", dead), Some(false), "{doc}");
        assert_eq!(up.hits(), 3);
        // No access_log_path: the access log goes to stdout.
        let lines = eventually(Duration::from_secs(10), "access log on stdout", || {
            let text = p.stdout_text();
            async move {
                let lines: Vec<String> =
                    text.lines().filter(|l| l.starts_with("stdout ")).map(str::to_owned).collect();
                (lines.iter().filter(|l| l.contains("/bad")).count() >= 2).then_some(lines)
            }
        })
        .await;
        assert!(lines.contains(&"stdout GET /ok 200".to_owned()), "{lines:?}");
        assert!(lines.contains(&"stdout GET /bad 503".to_owned()), "{lines:?}");
    })
    .await;
}
