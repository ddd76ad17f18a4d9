//! Property tests: the parser never panics, and `Display` round-trips.

use proptest::prelude::*;
use pylon_accesslog::Template;

use crate::util::{Headers, facts};

const NAMED: &[&str] = &[
    "host",
    "method",
    "path",
    "query",
    "uri",
    "proto",
    "scheme",
    "remote",
    "client_ip",
    "referer",
    "user_agent",
    "when",
    "when_utc_iso",
    "when_unix",
    "status",
    "size",
    "size_human",
    "payload_size",
    "payload_size_human",
    "latency",
    "latency_human",
    "request_id",
    "location",
    "upstream_addr",
    "upstream_status",
    "upstream_connect_time",
    "upstream_response_time",
    "connection_reused",
];

/// Full shrinking locally, none on CI (a failure there should report fast).
fn config() -> ProptestConfig {
    let on_ci = std::env::var_os("CI").is_some();
    ProptestConfig {
        cases: 512,
        max_shrink_iters: if on_ci { 0 } else { ProptestConfig::default().max_shrink_iters },
        ..ProptestConfig::default()
    }
}

/// Text that is mostly template syntax: braces, sigils, token names and some unicode.
fn template_ish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("{{".to_owned()),
        Just("}}".to_owned()),
        prop::sample::select(vec![">", "<", "~", "$", " ", "\"", "\\", "\n", "µ", "→"])
            .prop_map(str::to_owned),
        prop::sample::select(NAMED).prop_map(str::to_owned),
        any::<char>().prop_map(String::from),
        "[a-zA-Z_-]{1,8}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// One valid piece of template text.
fn valid_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(NAMED).prop_map(|n| format!("{{{n}}}")),
        "[A-Za-z0-9-]{1,12}".prop_map(|n| format!("{{>{n}}}")),
        "[A-Za-z0-9-]{1,12}".prop_map(|n| format!("{{<{n}}}")),
        "[A-Za-z0-9_!#.]{1,12}".prop_map(|n| format!("{{~{n}}}")),
        "[A-Z_]{1,8}".prop_map(|n| format!("{{${n}}}")),
        // Literal text of any characters, braces doubled.
        any::<String>().prop_map(|s| s.replace('{', "{{").replace('}', "}}")),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_never_panics_on_any_string(text in any::<String>()) {
        let _ = Template::parse(&text);
        let _ = Template::from_spec(&text);
    }

    #[test]
    fn parse_and_render_never_panic_on_template_ish_text(text in template_ish()) {
        if let Ok(t) = Template::parse(&text) {
            let headers = Headers(vec![("Cookie".into(), b"a=1; b".to_vec())]);
            let mut out = Vec::new();
            t.render(&facts(&headers), &mut out);
            prop_assert_eq!(Template::parse(&t.to_string()), Ok(t));
        }
    }

    #[test]
    fn errors_point_inside_the_text(text in template_ish()) {
        if let Err(err) = Template::parse(&text) {
            let column = match err {
                pylon_accesslog::Error::UnknownToken { column, .. }
                | pylon_accesslog::Error::Unclosed { column }
                | pylon_accesslog::Error::UnmatchedClose { column }
                | pylon_accesslog::Error::InvalidName { column, .. } => column,
                // UnknownPreset comes from from_spec only; parse never returns it.
                other => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
            };
            prop_assert!(column >= 1 && column <= text.chars().count(), "{err} in {text:?}");
            let at = text.chars().nth(column - 1);
            prop_assert!(at == Some('{') || at == Some('}'), "{err} in {text:?}");
        }
    }

    #[test]
    fn valid_templates_round_trip(pieces in prop::collection::vec(valid_piece(), 0..12)) {
        let text = pieces.concat();
        let t = Template::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text:?}")))?;
        prop_assert_eq!(t.to_string(), text.clone());
        prop_assert_eq!(Template::parse(&t.to_string()), Ok(t));
    }

    #[test]
    fn rendered_header_values_stay_on_one_line(value in prop::collection::vec(any::<u8>(), 0..64)) {
        let t = Template::parse(r#""{>X-Value}" "{~c}" {client_ip}"#).expect("valid");
        let mut cookie = b"c=".to_vec();
        cookie.extend_from_slice(&value);
        let headers = Headers(vec![
            ("X-Value".into(), value.clone()),
            ("Cookie".into(), cookie),
            ("X-Forwarded-For".into(), value),
        ]);
        let mut out = Vec::new();
        t.render(&facts(&headers), &mut out);
        prop_assert!(!out.iter().any(|&b| b < 0x20 || b == 0x7f), "{out:?}");
        prop_assert_eq!(out.iter().filter(|&&b| b == b'"').count(), 4);
    }
}
