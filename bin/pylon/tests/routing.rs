//! Location matching (SPEC §4): path selectors, host rules, weights, rewrite, `return`.

use crate::util::*;

/// `return` locations named after themselves, so the body says which one matched.
fn ret(name: &str, rules: &str) -> String {
    format!("[locations.{name}]\nreturn = \"200 {name}\"\n{rules}\n")
}

fn routing_config(dir: &Dir, port: u16) -> String {
    let mut c = dir.basic("");
    c += &ret("exact", "path = \"=/exact\"");
    c += &ret("api", "path = \"/api\"");
    c += &ret("api_exact", "path = \"=/api/exact\"");
    c += &ret("api_long", "path = \"/api/long\"");
    c += &ret("api_re", "path = \"~^/api/v[0-9]+\"");
    c += &ret("re", "path = \"~^/re/[0-9]+$\"");
    c += &ret("heavy", "path = \"~^/w/\"\nweight = 100000");
    c += &ret("w_exact", "path = \"=/w/x\"");
    c += &ret("tie_prefix", "path = \"/tie\"");
    // Same weight as the prefix `/tie` (32768 + 4), listed first in the server: wins the tie.
    c += &ret("tie_regex", "path = \"~^/tie\"\nweight = 32772");
    c += &ret("h_exact", "host = \"example.com\"\npath = \"/h\"");
    c += &ret("h_wild", "host = \"*.example.org\"\npath = \"/h\"");
    c += &ret("h_re", "host = \"~^api[0-9]+\\\\.test$\"\npath = \"/h\"");
    c += &ret("h_fallback", "path = \"/h\"");
    // A host rule adds 8192: `/` with a host beats the longer host-less prefix `/deep`.
    c += &ret("deep", "path = \"/deep\"");
    c += &ret("deep_host", "host = \"deep.test\"\npath = \"/\"");
    c += &ret("any", "path = \"\"");
    c += &format!(
        "[servers.main]\naddr = \"127.0.0.1:{port}\"\nlocations = [\"exact\", \"api\", \
         \"api_exact\", \"api_long\", \"api_re\", \"re\", \"heavy\", \"w_exact\", \"tie_regex\", \
         \"tie_prefix\", \"h_exact\", \"h_wild\", \"h_re\", \"h_fallback\", \"deep\", \
         \"deep_host\", \"any\"]\n"
    );
    c
}

async fn expect_route(p: &Pylon, c: &reqwest::Client, host: &str, path: &str, want: &str) {
    let got = get(c, &p.url(path), Some(host)).await;
    assert_eq!(got.status, 200, "{host}{path}: {}", got.body);
    assert_eq!(got.body, want, "host {host:?} path {path:?} went to the wrong location");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn location_matching() {
    bounded(async {
        let dir = Dir::new();
        let p = Pylon::start(&dir, |port| routing_config(&dir, port)).await;
        let c = client();
        let cases: &[(&str, &str, &str)] = &[
            // Path selectors: exact, and not its extensions.
            ("a.test", "/exact", "exact"),
            ("a.test", "/exact?x=1", "exact"),
            ("a.test", "/exact/", "any"),
            ("a.test", "/exactly", "any"),
            // Prefix compares raw bytes: /api, /api/x and /apix.
            ("a.test", "/api", "api"),
            ("a.test", "/api/x", "api"),
            ("a.test", "/apix", "api"),
            ("a.test", "/api?q=/api/long", "api"),
            ("a.test", "/ap", "any"),
            // Regex; the query string never takes part in matching.
            ("a.test", "/re/12", "re"),
            ("a.test", "/re/12?x=y", "re"),
            ("a.test", "/re/12x", "any"),
            ("a.test", "/x?p=/re/1", "any"),
            // Empty path = any.
            ("a.test", "/", "any"),
            ("a.test", "/something/else", "any"),
            // Weights: exact beats prefix, longer prefix wins, prefix beats regex.
            ("a.test", "/api/exact", "api_exact"),
            ("a.test", "/api/exact/more", "api"),
            ("a.test", "/api/long/x", "api_long"),
            ("a.test", "/api/v2/users", "api"),
            // Explicit weight beats an exact match.
            ("a.test", "/w/x", "heavy"),
            // Equal weights keep the server's location order.
            ("a.test", "/tie", "tie_regex"),
            ("a.test", "/tiez", "tie_regex"),
        ];
        for (host, path, want) in cases {
            expect_route(&p, &c, host, path, want).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_rules() {
    bounded(async {
        let dir = Dir::new();
        let p = Pylon::start(&dir, |port| routing_config(&dir, port)).await;
        let c = client();
        let cases: &[(&str, &str, &str)] = &[
            ("example.com", "/h", "h_exact"),
            // Case-insensitive, port ignored.
            ("EXAMPLE.com", "/h", "h_exact"),
            ("example.com:8080", "/h/x", "h_exact"),
            ("www.example.com", "/h", "h_fallback"),
            ("a.example.org", "/h", "h_wild"),
            ("A.B.Example.ORG:1", "/h", "h_wild"),
            ("api12.test", "/h", "h_re"),
            ("API7.TEST", "/h", "h_re"),
            ("apix.test", "/h", "h_fallback"),
            ("other.test", "/h", "h_fallback"),
            // Host rule adds weight.
            ("deep.test", "/deep", "deep_host"),
            ("other.test", "/deep", "deep"),
            ("other.test", "/dee", "any"),
        ];
        for (host, path, want) in cases {
            expect_route(&p, &c, host, path, want).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewrite_and_return() {
    bounded(async {
        let dir = Dir::new();
        let up = Upstream::start("rw").await;
        let p = Pylon::start(&dir, |port| {
            format!(
                "{basic}[upstreams.rw]\naddrs = [{addr}]\n\n\
                 [locations.strip]\nupstream = \"rw\"\npath = \"/rw\"\nrewrite = \"^/rw/(.*)$ /$1\"\n\n\
                 [locations.named]\nupstream = \"rw\"\npath = \"~^/users/(?P<id>[0-9]+)$\"\n\
                 rewrite = \"^/users/(?P<id>[0-9]+)$ /user/${{id}}/profile\"\n\n\
                 [locations.nolead]\nupstream = \"rw\"\npath = \"/nolead\"\nrewrite = \"^/nolead/(.*)$ $1\"\n\n\
                 [locations.plain]\nupstream = \"rw\"\npath = \"/plain\"\n\n\
                 [locations.pong]\npath = \"=/ping\"\nreturn = \"200 pong\"\n\n\
                 [locations.deny]\npath = \"/deny\"\nreturn = \"403 denied\"\n\n\
                 [servers.main]\naddr = \"127.0.0.1:{port}\"\n\
                 locations = [\"strip\", \"named\", \"nolead\", \"plain\", \"pong\", \"deny\"]\n",
                basic = dir.basic(""),
                addr = q(&up.addr.to_string()),
            )
        })
        .await;
        let c = client();
        let cases: &[(&str, &str)] = &[
            ("/rw/a/b", "/a/b"),
            ("/rw/a/b?x=1&y=/rw/z", "/a/b?x=1&y=/rw/z"),
            ("/users/42", "/user/42/profile"),
            ("/users/42?tab=2", "/user/42/profile?tab=2"),
            ("/nolead/abc", "/abc"),
            ("/nolead/abc?k=v", "/abc?k=v"),
            // No match of the rewrite regex: the path is passed on unchanged.
            ("/rw", "/rw"),
            ("/plain/x?y=1", "/plain/x?y=1"),
        ];
        for (path, want) in cases {
            let got = get(&c, &p.url(path), None).await;
            assert_eq!(got.status, 200, "{path}: {}", got.body);
            assert_eq!(got.upstream(), "rw");
            assert_eq!(got.json()["uri"], *want, "rewrite of {path}");
        }

        let got = get(&c, &p.url("/ping"), None).await;
        assert_eq!((got.status, got.body.as_str()), (200, "pong"));
        assert_eq!(got.header("content-length").as_deref(), Some("4"));
        let got = get(&c, &p.url("/deny/x"), None).await;
        assert_eq!((got.status, got.body.as_str()), (403, "denied"));
        assert_eq!(up.hits(), cases.len(), "return locations must not reach the upstream");
    })
    .await;
}
