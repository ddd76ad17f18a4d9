//! Invalid configs: every error is reported, each at the right line, column and key.

use crate::util::{assert_has, errors, fixture};

#[test]
fn broken_fixture_reports_every_error_with_position() {
    let e = match pylon_config::load(&fixture("broken.toml")) {
        Ok(_) => panic!("broken.toml must not load"),
        Err(e) => e.0,
    };
    assert_has(&e, 3, 11, "basic.threads", "whole number from 0 to 4096, found -1");
    assert_has(&e, 4, 19, "basic.grace_period", "invalid duration \"30 seconds\"");
    assert_has(&e, 7, 39, "upstreams.api.addrs[1]", "invalid port \"0\"");
    assert_has(&e, 8, 8, "upstreams.api.algo", "unknown algo \"roundrobin\"");
    assert_has(&e, 9, 16, "upstreams.api.health_check", "unknown health check scheme \"ftp\"");
    assert_has(&e, 10, 8, "upstreams.api.alpn", "needs tls = true");
    assert_has(&e, 13, 12, "locations.api.upstream", "unknown upstream \"apii\"; defined: api");
    assert_has(&e, 14, 8, "locations.api.host", "invalid wildcard \"*\"");
    assert_has(&e, 15, 17, "locations.api.path", "invalid regex: unclosed character class");
    assert_has(&e, 16, 11, "locations.api.rewrite", "missing replacement");
    assert_has(
        &e,
        17,
        29,
        "locations.api.proxy_set_headers[0]",
        "unknown variable \"$request_idd\"",
    );
    assert_has(&e, 18, 27, "locations.api.client_max_body_size", "unknown size unit \"furlongs\"");
    assert_has(&e, 22, 21, "servers.web.locations[1]", "unknown location \"nope\"; defined: api");
    assert_has(&e, 23, 1, "servers.web.acess_log", "did you mean `access_log`?");
    assert_has(&e, 26, 21, "servers.dup.addr", "127.0.0.1:6188 is already used by servers.web");
    assert_eq!(e.len(), 15, "{}", pylon_config::ConfigErrors(e.clone()));
}

#[test]
fn errors_come_sorted_and_display_one_per_line() {
    let err = pylon_config::load(&fixture("broken.toml")).expect_err("broken");
    let positions: Vec<_> = err.0.iter().map(|d| (d.line, d.column)).collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted);
    let text = err.to_string();
    assert_eq!(text.lines().count(), err.0.len());
    let first = text.lines().next().expect("one line");
    assert!(
        first.ends_with(
            "broken.toml:3:11: basic.threads: expected a whole number from 0 to 4096, found -1"
        ),
        "{first}"
    );
}

#[test]
fn all_errors_at_once_across_sections() {
    let e = errors(
        "[basic]\nlog_level = \"\"\n\
         [upstreams.a]\naddrs = []\n\
         [locations.l]\npath = \"nope\"\n\
         [servers.s]\nlocations = [1]\n\
         [admin]\naddr = \"10.0.0.1:6190\"\n",
    );
    assert_has(&e, 2, 13, "basic.log_level", "cannot be empty");
    assert_has(&e, 4, 9, "upstreams.a.addrs", "empty; list at least one");
    assert_has(&e, 5, 12, "locations.l", "missing `upstream`");
    assert_has(&e, 6, 8, "locations.l.path", "a prefix starts with '/'");
    assert_has(&e, 7, 10, "servers.s", "missing `addr`");
    assert_has(&e, 8, 14, "servers.s.locations[0]", "expected a string, found integer");
    assert_has(&e, 10, 8, "admin.addr", "is not a loopback address, so `users` is required");
    assert_eq!(e.len(), 7);
}

#[test]
fn unknown_keys_everywhere() {
    let e = errors(
        "[basics]\n\
         [upstreams.a]\naddrs = [\"h:1\"]\nretires = 2\n\
         [locations.l]\nupstream = \"a\"\nfrobnicate = 1\n\
         [certificates.c]\nis_default = true\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\ndomain = []\n",
    );
    assert_has(&e, 1, 2, "basics", "unknown key `basics`; did you mean `basic`?");
    assert_has(&e, 4, 1, "upstreams.a.retires", "did you mean `retries`?");
    assert_has(&e, 7, 1, "locations.l.frobnicate", "expected one of: upstream, return, host");
    assert_has(&e, 12, 1, "certificates.c.domain", "did you mean `domains`?");
    assert_eq!(e.len(), 4);
}

#[test]
fn dangling_references() {
    let e = errors(
        "[upstreams.api]\naddrs = [\"127.0.0.1:1\"]\n\
         [locations.a]\nupstream = \"web\"\n\
         [servers.s]\naddr = \"127.0.0.1:7000\"\nlocations = [\"a\", \"b\", \"a\"]\n",
    );
    assert_has(&e, 4, 12, "locations.a.upstream", "unknown upstream \"web\"; defined: api");
    assert_has(&e, 7, 19, "servers.s.locations[1]", "unknown location \"b\"; defined: a");
    assert_has(&e, 7, 24, "servers.s.locations[2]", "listed twice");
    assert_eq!(e.len(), 3);
}

#[test]
fn references_with_nothing_defined() {
    let e = errors("[locations.a]\nupstream = \"x\"\n");
    assert_has(&e, 2, 12, "locations.a.upstream", "no [upstreams.NAME] is defined");
    let e = errors("[servers.s]\naddr = \"127.0.0.1:7000\"\nlocations = [\"b\"]\n");
    assert_has(&e, 3, 14, "servers.s.locations[0]", "no [locations.NAME] is defined");
}

#[test]
fn syntax_errors_are_reported_alone() {
    let e = errors("[servers.web\naddr = \"x\"\nthreads = \n");
    assert!(e.iter().all(|d| d.key == "syntax"), "{e:?}");
    assert_eq!(e[0].line, 1);
    assert!(e[0].message.starts_with("invalid TOML: "), "{}", e[0].message);
}

#[test]
fn duplicate_toml_key_is_a_syntax_error() {
    let e = errors("[basic]\nthreads = 1\nthreads = 2\n");
    assert_has(&e, 3, 1, "syntax", "duplicate key");
}

#[test]
fn missing_file_names_the_os_reason() {
    let e = pylon_config::load(&fixture("does-not-exist.toml")).expect_err("missing").0;
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].line, e[0].column, e[0].key.as_str()), (1, 1, "file"));
    assert!(e[0].message.contains("No such file"), "{}", e[0].message);
}

#[test]
fn wrong_types() {
    let e = errors("upstreams = 1\n[basic]\nname = 3\npid_file = \"\"\n");
    assert_has(&e, 1, 13, "upstreams", "expected a table [upstreams], found integer");
    assert_has(&e, 3, 8, "basic.name", "expected a string, found integer");
    assert_has(&e, 4, 12, "basic.pid_file", "cannot be empty; the default is \"/tmp/pylon.pid\"");
}

#[test]
fn section_entry_must_be_a_table() {
    let e = errors("[upstreams]\napi = \"127.0.0.1:1\"\n");
    assert_has(&e, 2, 7, "upstreams.api", "expected a table [upstreams.api], found string");
}

#[test]
fn tls_files_must_exist_and_look_like_pem() {
    let e = errors(
        "[servers.a]\naddr = \"127.0.0.1:7001\"\ntls_cert = \"not-pem.txt\"\ntls_key = \"not-pem.txt\"\n\
         [servers.b]\naddr = \"127.0.0.1:7002\"\ntls_cert = \"missing.pem\"\ntls_key = \"key.pem\"\n\
         [upstreams.u]\naddrs = [\"h:1\"]\ntls = true\nca_file = \"key.pem\"\n",
    );
    assert_has(&e, 3, 12, "servers.a.tls_cert", "no \"-----BEGIN CERTIFICATE-----\" block");
    assert_has(&e, 4, 11, "servers.a.tls_key", "no \"PRIVATE KEY-----\" block");
    assert_has(&e, 7, 12, "servers.b.tls_cert", "cannot read certificate file");
    assert_has(&e, 7, 12, "servers.b.tls_cert", "missing.pem: No such file or directory");
    assert_has(&e, 12, 11, "upstreams.u.ca_file", "CA bundle file");
    assert_eq!(e.len(), 4);
}

#[test]
fn tls_cert_and_key_come_in_pairs() {
    let e = errors(
        "[servers.a]\naddr = \"127.0.0.1:7001\"\ntls_cert = \"cert.pem\"\n\
         [servers.b]\naddr = \"127.0.0.1:7002\"\ntls_key = \"key.pem\"\n",
    );
    assert_has(&e, 3, 12, "servers.a.tls_cert", "tls_cert needs tls_key");
    assert_has(&e, 6, 11, "servers.b.tls_key", "tls_key needs tls_cert");
}

#[test]
fn tls_listener_needs_a_certificate() {
    let e = errors("[servers.a]\naddr = \"127.0.0.1:7001\"\ntls = true\n");
    assert_has(
        &e,
        3,
        7,
        "servers.a.tls",
        "add a [certificates.NAME] table or set tls_cert and tls_key",
    );
}

#[test]
fn certificates_checks() {
    let e = errors(
        "[certificates.a]\ndomains = [\"Example.com\"]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\nis_default = true\n\
         [certificates.b]\ndomains = [\"example.com\", \"bad name\"]\ntls_cert = \"cert.pem\"\nis_default = true\n\
         [certificates.c]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n",
    );
    assert_has(&e, 7, 12, "certificates.b.domains[0]", "already served by certificates.a");
    assert_has(&e, 7, 27, "certificates.b.domains[1]", "invalid domain");
    assert_has(&e, 6, 15, "certificates.b.tls_key", "missing `tls_key`");
    assert_has(&e, 9, 14, "certificates.b.is_default", "certificates.a is already the default");
    assert_has(&e, 10, 15, "certificates.c", "missing `domains`");
    assert_eq!(e.len(), 5);
}

#[test]
fn listen_address_clashes() {
    let e = errors(
        "[servers.a]\naddr = \"0.0.0.0:7000, [::1]:7000\"\n\
         [servers.b]\naddr = \"127.0.0.1:7000, [::1]:7001\"\n\
         [servers.c]\naddr = \"[::]:7001\"\n\
         [admin]\naddr = \"127.0.0.1:7000\"\n",
    );
    assert_has(&e, 4, 8, "servers.b.addr", "127.0.0.1:7000 overlaps 0.0.0.0:7000 of servers.a");
    assert_has(&e, 6, 8, "servers.c.addr", "[::]:7001 overlaps [::1]:7001 of servers.b");
    assert_has(&e, 8, 8, "admin.addr", "overlaps 0.0.0.0:7000 of servers.a");
    assert_eq!(e.len(), 3);
}

#[test]
fn admin_users_must_be_hashes() {
    let e = errors(
        "[admin]\naddr = \"0.0.0.0:6190\"\nusers = [\"admin:hunter2\", \"ops:$argon2id$x\", \"ops:$argon2id$y\"]\n",
    );
    assert_has(&e, 3, 17, "admin.users[0]", "must be an argon2 hash, not plain text");
    assert_has(&e, 3, 46, "admin.users[2]", "user \"ops\" is listed twice");
    assert_eq!(e.len(), 2);
}

#[test]
fn location_needs_exactly_one_action() {
    let e = errors(
        "[upstreams.u]\naddrs = [\"h:1\"]\n\
         [locations.both]\nupstream = \"u\"\nreturn = \"200 x\"\n\
         [locations.bad_status]\nreturn = \"700 x\"\n",
    );
    assert_has(&e, 5, 10, "locations.both.return", "set either `upstream` or `return`, not both");
    assert_has(&e, 7, 10, "locations.bad_status.return", "STATUS 100..=599");
    assert_eq!(e.len(), 2);
}

#[test]
fn value_errors_point_inside_the_string() {
    // `rewrite = "^/(x /$1"`: the regex error is at the '(' (column 14).
    let e = errors("[locations.l]\nreturn = \"204\"\nrewrite = \"^/(x /$1\"\n");
    assert_has(&e, 3, 14, "locations.l.rewrite", "invalid regex: unclosed group");
}

#[test]
fn escaped_strings_point_at_the_value() {
    // With an escape in the TOML string, offsets no longer map; point at the opening quote.
    let e = errors("[locations.l]\nreturn = \"204\"\nrewrite = \"^/\\u0028x /$1\"\n");
    assert_has(&e, 3, 11, "locations.l.rewrite", "invalid regex");
}

#[test]
fn durations_need_units() {
    let e = errors(
        "[servers.s]\naddr = \"127.0.0.1:7000\"\nkeepalive_timeout = 60\nheader_read_timeout = \"10\"\nmax_header_size = 0\n",
    );
    assert_has(&e, 3, 21, "servers.s.keepalive_timeout", "write \"60s\"");
    assert_has(&e, 4, 23, "servers.s.header_read_timeout", "lacks a unit");
    assert_has(
        &e,
        5,
        19,
        "servers.s.max_header_size",
        "expected a whole number of at least 1, found 0",
    );
}

#[test]
fn request_limits_are_checked() {
    let e = errors(
        "[servers.s]\naddr = \"127.0.0.1:7000\"\nmax_header_count = 300\nmax_uri_size = 0\n\
         [servers.t]\naddr = \"127.0.0.1:7001\"\nmax_header_count = 0\nmax_uri_size = \"8 parsecs\"\n",
    );
    assert_has(&e, 3, 20, "servers.s.max_header_count", "from 1 to 256");
    assert_has(&e, 4, 16, "servers.s.max_uri_size", "at least 1");
    assert_has(&e, 7, 20, "servers.t.max_header_count", "from 1 to 256");
    assert_has(&e, 8, 18, "servers.t.max_uri_size", "unknown size unit");
}

/// A whole-number key states the range it takes: its minimum is the one it names, so a
/// value the message calls valid is never refused (`max_header_count = 0` used to be
/// refused with "must be more than 0" while 300 was told "from 0 to 256").
#[test]
fn range_messages_name_the_minimum_each_key_takes() {
    let message = |key: &str, value: &str| {
        let (table, head) = if key == "history_size" {
            ("admin", "[admin]\naddr = \"127.0.0.1:6190\"\n".to_owned())
        } else {
            ("servers.s", "[servers.s]\naddr = \"127.0.0.1:7000\"\n".to_owned())
        };
        let e = errors(&format!("{head}{key} = {value}\n"));
        assert_eq!(e.len(), 1, "{key} = {value}: {e:?}");
        assert_eq!(e[0].key, format!("{table}.{key}"));
        e[0].message.clone()
    };
    for value in ["0", "300", "-1"] {
        assert_eq!(
            message("max_header_count", value),
            format!("expected a whole number from 1 to 256, found {value}")
        );
    }
    for value in ["0", "10001"] {
        assert_eq!(
            message("history_size", value),
            format!("expected a whole number from 1 to 10000, found {value}")
        );
    }
    for key in ["max_header_size", "max_uri_size"] {
        for value in ["0", "-5"] {
            assert_eq!(
                message(key, value),
                format!("expected a whole number of at least 1, found {value}")
            );
        }
        assert_eq!(message(key, "\"0kb\""), "expected a size of at least 1 byte, found \"0kb\"");
    }
    // Keys where 0 is a value keep their range from 0.
    assert_eq!(
        message("max_connections", "-1"),
        "expected a whole number from 0 to 4294967295, found -1"
    );
    // The values the messages name are taken.
    let ok = crate::util::ok(
        "[servers.s]\naddr = \"127.0.0.1:7000\"\nmax_header_count = 1\nmax_header_size = 1\n\
         max_uri_size = \"1b\"\n[servers.t]\naddr = \"127.0.0.1:7001\"\nmax_header_count = 256\n\
         [admin]\naddr = \"127.0.0.1:6190\"\nhistory_size = 1\n",
    )
    .config;
    let counts: Vec<usize> = ok.servers.iter().map(|s| s.max_header_count).collect();
    assert_eq!(counts, [1, 256]);
    assert_eq!((ok.servers[0].max_header_size, ok.servers[0].max_uri_size), (1, 1));
    assert_eq!(ok.admin.expect("admin").history_size, 1);
}

#[test]
fn caller_checks_report_with_the_other_errors_at_the_value() {
    fn no_x(spec: &str) -> Result<(), String> {
        if spec.contains('x') { Err("no x here".to_owned()) } else { Ok(()) }
    }
    let text = "[basic]\nbogus = 1\n[locations.a]\npath = \"/\"\nreturn = \"200 ok\"\n\
                [servers.s]\naddr = \"127.0.0.1:6188\"\nlocations = [\"a\"]\naccess_log = \"{x}\"\n";
    let checks = pylon_config::Checks { access_log: Some(no_x), ..Default::default() };
    let e = pylon_config::parse_with(text, std::path::Path::new("c.toml"), checks)
        .expect_err("two errors")
        .0;
    assert_has(&e, 2, 1, "basic.bogus", "unknown key");
    assert_has(&e, 9, 14, "servers.s.access_log", "no x here");
    assert_eq!(e.len(), 2);
    // Without the check only the key error remains.
    assert_eq!(
        pylon_config::parse(text, std::path::Path::new("c.toml")).expect_err("one").0.len(),
        1
    );
}

#[test]
fn admin_history_keys() {
    use crate::util::ok;
    let e = errors("[admin]\naddr = \"127.0.0.1:6190\"\nhistory_size = 0\nhistory_dir = 3\n");
    assert_has(&e, 3, 16, "admin.history_size", "from 1 to 10000, found 0");
    assert_has(&e, 4, 15, "admin.history_dir", "expected a string, found integer");
    assert_eq!(e.len(), 2);
    let c =
        ok("[admin]\naddr = \"127.0.0.1:6190\"\nhistory_dir = \"hist\"\nhistory_size = 3\n").config;
    let admin = c.admin.expect("admin");
    assert_eq!(admin.history_size, 3);
    assert!(admin.history_dir.ends_with("hist"));
}

#[test]
fn model_serializes_with_config_key_names_and_durations_as_written() {
    use crate::util::ok;
    let c = ok("[upstreams.u]\naddrs = [\"127.0.0.1:1\"]\nread_timeout = \"1m30s\"\n\
                [locations.l]\nupstream = \"u\"\nhost = \"a.test\"\n\
                [servers.s]\naddr = \"127.0.0.1:2\"\nlocations = [\"l\"]\n\
                [admin]\naddr = \"127.0.0.1:3\"\nusers = [\"ops:$argon2id$v=19$x\"]\n")
    .config;
    let v = serde_json::to_value(&c).expect("json");
    assert_eq!(v["upstreams"][0]["read_timeout"], "1m30s");
    assert_eq!(v["servers"][0]["addr"][0], "127.0.0.1:2");
    assert_eq!(v["locations"][0]["host"][0]["exact"], "a.test");
    assert_eq!(v["admin"]["users"][0]["name"], "ops");
    assert!(!v.to_string().contains("argon2"), "hashes are never serialized: {v}");
}
