//! Health checks against real loopback servers.

use std::time::Duration;

use pylon_upstream::{Algorithm, HealthKind, Pool};

use crate::util::{Server, addr, get, pool, recorder, spec, wait_until, within};

#[tokio::test]
async fn killed_peer_goes_unhealthy_and_returns_on_restart() {
    within(async {
        let a = Server::tcp().await;
        let mut b = Server::tcp().await;
        let (callback, events) = recorder();
        let spec = spec(vec![addr(a.addr()), addr(b.addr())], Algorithm::RoundRobin);
        let pool = Pool::build(spec, Some(callback)).await.unwrap();

        pool.health_tick().await;
        assert_eq!(pool.healthy_count(), 2);
        assert!(events.lock().unwrap().is_empty(), "no transition yet");

        b.stop().await;
        // One round (failure = 1) is enough: unhealthy within one check interval.
        pool.health_check_now().await;
        assert_eq!(pool.healthy_count(), 1);
        let status = pool.peers();
        assert!(status[0].healthy && !status[1].healthy, "{status:?}");
        for _ in 0..20 {
            assert_eq!(pool.select(&get("/"), None, &[]).unwrap().addr(), a.addr());
        }

        b.restart().await;
        wait_until(Duration::from_secs(20), || pool.health_tick(), || pool.healthy_count() == 2)
            .await;
        // More rounds change nothing and report nothing.
        for _ in 0..3 {
            pool.health_check_now().await;
        }
        assert_eq!(
            *events.lock().unwrap(),
            [("test".to_owned(), b.addr(), false), ("test".to_owned(), b.addr(), true)],
            "each transition is reported exactly once"
        );
    })
    .await;
}

#[tokio::test]
async fn failure_threshold_needs_consecutive_failures() {
    within(async {
        let mut a = Server::tcp().await;
        let mut spec = spec(vec![addr(a.addr())], Algorithm::RoundRobin);
        spec.health.failure = 2;
        spec.health.success = 2;
        let pool = pool(spec).await;

        a.stop().await;
        pool.health_check_now().await;
        assert_eq!(pool.healthy_count(), 1, "one failure of two");
        pool.health_check_now().await;
        assert_eq!(pool.healthy_count(), 0);
        assert!(pool.select(&get("/"), None, &[]).is_none());

        a.restart().await;
        pool.health_check_now().await;
        assert_eq!(pool.healthy_count(), 0, "one success of two");
        pool.health_check_now().await;
        assert_eq!(pool.healthy_count(), 1);
    })
    .await;
}

#[tokio::test]
async fn http_check_sends_host_and_path_and_wants_2xx_or_3xx() {
    within(async {
        let server = Server::http(200).await;
        let mut spec = spec(vec![addr(server.addr())], Algorithm::RoundRobin);
        spec.health.kind = HealthKind::Http {
            host: "health.test".into(),
            path: "/ping?deep=1".into(),
            tls: false,
        };
        let (callback, events) = recorder();
        let pool = Pool::build(spec, Some(callback)).await.unwrap();

        pool.health_check_now().await;
        assert_eq!(pool.healthy_count(), 1);
        {
            let requests = server.requests.lock().unwrap();
            let head = requests.last().expect("a check request").to_ascii_lowercase();
            assert!(head.starts_with("get /ping?deep=1 http/1.1\r\n"), "{head}");
            assert!(head.contains("\r\nhost: health.test\r\n"), "{head}");
        }

        // (status, healthy after one round)
        for (status, healthy) in
            [(503, false), (302, true), (404, false), (204, true), (500, false)]
        {
            server.status.store(status, std::sync::atomic::Ordering::Relaxed);
            pool.health_check_now().await;
            assert_eq!(pool.healthy_count() == 1, healthy, "status {status}");
        }
        assert_eq!(events.lock().unwrap().len(), 5, "one report per transition");
    })
    .await;
}

#[tokio::test]
async fn health_tick_runs_at_most_once_per_frequency() {
    within(async {
        let server = Server::http(200).await;
        let mut spec = spec(vec![addr(server.addr())], Algorithm::RoundRobin);
        spec.health.kind =
            HealthKind::Http { host: "h".into(), path: "/health".into(), tls: false };
        spec.health.frequency = Duration::from_secs(3600);
        let pool = pool(spec).await;

        for _ in 0..5 {
            pool.health_tick().await;
        }
        assert_eq!(server.requests.lock().unwrap().len(), 1, "first tick runs, the rest wait");
        pool.health_check_now().await;
        assert_eq!(server.requests.lock().unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn peers_start_healthy_before_any_check() {
    within(async {
        // Nothing listens on these; without a check they still count as healthy.
        let pool = pool(spec(crate::util::loopbacks(3, 1), Algorithm::RoundRobin)).await;
        assert_eq!(pool.healthy_count(), 3);
        assert!(pool.peers().iter().all(|p| p.healthy && p.in_flight == 0));
    })
    .await;
}
