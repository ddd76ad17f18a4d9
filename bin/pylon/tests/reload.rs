//! Hot reload by SIGHUP (SPEC §9): no request fails, new routes serve, broken configs are refused.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use crate::util::*;

fn config(dir: &Dir, port: u16, up: &Upstream, body: &str, extra: &str) -> String {
    format!(
        "{basic}[upstreams.up]\naddrs = [{addr}]\n\
         [locations.v]\npath = \"/v\"\nreturn = \"200 {body}\"\n\
         [locations.app]\nupstream = \"up\"\npath = \"/app\"\n\
         {extra}\
         [servers.main]\naddr = \"127.0.0.1:{port}\"\nlocations = [\"v\", \"app\"{more}]\n",
        basic = dir.basic(""),
        addr = q(&up.addr.to_string()),
        more = if extra.is_empty() { "" } else { ", \"added\"" },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reload_under_load_and_refused_broken_config() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("up").await;
        let p = Pylon::start(&dir, |port| config(&dir, port, &up, "one", "")).await;
        let port = p.ports[0];
        let c = client();
        assert_eq!(get(&c, &p.url("/v"), None).await.body, "one");
        assert_eq!(get(&c, &p.url("/added"), None).await.status, 404);

        // A client loop runs for ~3 s; the config changes and pylon reloads after 1 s.
        let stop = Arc::new(AtomicBool::new(false));
        let failures = Arc::new(AtomicUsize::new(0));
        let mut loops = Vec::new();
        for worker in 0..2 {
            let (c, stop, failures) = (c.clone(), stop.clone(), failures.clone());
            let base = p.url("");
            loops.push(tokio::spawn(async move {
                let mut bodies = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let path = if (n + worker) % 2 == 0 { "/v" } else { "/app/x" };
                    match c.get(format!("{base}{path}")).send().await {
                        Ok(r) if r.status() == 200 => {
                            let body = r.text().await.unwrap_or_default();
                            if path == "/v" {
                                bodies.push(body);
                            }
                        }
                        Ok(r) => {
                            eprintln!("{path}: status {}", r.status());
                            failures.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            eprintln!("{path}: {e}");
                            failures.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
                bodies
            }));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let added = "[locations.added]\npath = \"/added\"\nreturn = \"200 added\"\n";
        dir.write("pylon.toml", &config(&dir, port, &up, "two", added));
        p.reload().await;
        eventually(Duration::from_secs(10), "the new route", || {
            let c = c.clone();
            let url = p.url("/added");
            async move { (get(&c, &url, None).await.status == 200).then_some(()) }
        })
        .await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.store(true, Ordering::SeqCst);
        let mut bodies = Vec::new();
        for l in loops {
            bodies.extend(l.await.expect("client loop"));
        }
        assert_eq!(failures.load(Ordering::SeqCst), 0, "requests failed during the reload");
        assert!(bodies.len() > 20, "the client loop barely ran: {}", bodies.len());
        assert!(bodies.iter().all(|b| b == "one" || b == "two"), "{bodies:?}");
        assert!(bodies.iter().any(|b| b == "two"), "the new config never served");
        assert_eq!(get(&c, &p.url("/v"), None).await.body, "two");
        assert_eq!(get(&c, &p.url("/added"), None).await.body, "added");

        // A broken config is refused: the old routes keep serving, the error names file:line.
        let broken = config(&dir, port, &up, "three", added)
            .replace("[locations.added]\n", "[locations.added]\nbogus_key = 1\n");
        let line = broken.lines().position(|l| l.starts_with("bogus_key")).expect("line") + 1;
        dir.write("pylon.toml", &broken);
        // `pylon reload` validates the file first and refuses it: signal the process directly.
        let path = p.config.display().to_string();
        let (code, _, err) = pylon_cmd(&["reload", "-c", &path]).await;
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(&format!("pylon.toml:{line}:")), "{err}");
        p.sighup();
        let stderr = p.wait_stderr("bogus_key").await;
        assert!(
            stderr.contains(&format!("pylon.toml:{line}:")),
            "reload error without file:line (want pylon.toml:{line}):\n{stderr}"
        );
        for _ in 0..5 {
            assert_eq!(get(&c, &p.url("/v"), None).await.body, "two");
            assert_eq!(get(&c, &p.url("/added"), None).await.body, "added");
        }
        assert_eq!(get(&c, &p.url("/app/y"), None).await.status, 200);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emptied_config_file_is_not_reloaded() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("up").await;
        let p = Pylon::start(&dir, |port| config(&dir, port, &up, "one", "")).await;
        let c = client();
        assert_eq!(get(&c, &p.url("/v"), None).await.body, "one");
        // An editor mid-save, or `: > pylon.toml`: the empty file parses as a config with no
        // servers. Reloading it would stop serving everything; it is refused instead.
        dir.write("pylon.toml", "");
        p.sighup();
        let stderr = p.wait_stderr("has no [servers]").await;
        assert!(!stderr.contains("successor started"), "{stderr}");
        for _ in 0..5 {
            assert_eq!(get(&c, &p.url("/v"), None).await.body, "one");
        }
    })
    .await;
}
