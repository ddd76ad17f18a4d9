//! (c) Rewrite never panics and keeps the query.

use proptest::prelude::*;
use pylon_route::Rewrite;

use crate::util;

fn spec() -> impl Strategy<Value = String> {
    let regex = prop::sample::select(
        &[
            "^/api/(.*)$",
            "^/(?P<x>[a-z]+)",
            "a",
            "^",
            "$",
            "(b)?",
            "^/a/(\\d+)?",
            "/+",
            "(?i)API",
            "^(.*)$",
        ][..],
    );
    let replacement = "[a-z/$ {}1x_?&]{0,12}";
    (regex, replacement).prop_map(|(r, rep)| format!("{r} {rep}"))
}

proptest! {
    #![proptest_config(util::config())]

    #[test]
    fn rewrite_keeps_query(spec in spec(), path in "[/a-zA-Z0-9?&=%._-]{0,24}", query in "[a-z0-9=&%?/]{0,12}") {
        // Any spec: an error is fine, a panic is not.
        let Ok(rw) = Rewrite::parse(&spec) else { return Ok(()) };
        let path = path.replace('?', "");
        if let Some(out) = rw.apply(&path) {
            prop_assert!(out.starts_with('/'), "{:?}", out);
        }
        let uri = format!("{path}?{query}");
        match rw.apply_uri(&uri) {
            Some(out) => {
                prop_assert!(out.starts_with('/'), "{:?}", out);
                prop_assert!(out.ends_with(&query), "{:?} lost query {:?}", out, query);
                prop_assert!(out.contains('?'));
            }
            None => prop_assert!(rw.apply(&path).is_none()),
        }
    }

    #[test]
    fn arbitrary_specs_never_panic(spec in "\\PC{0,40}", path in "\\PC{0,40}") {
        if let Ok(rw) = Rewrite::parse(&spec) {
            let _ = rw.apply(&path);
            let _ = rw.apply_uri(&path);
        }
    }
}
