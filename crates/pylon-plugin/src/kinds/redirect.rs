//! `kind = "redirect"`: send the client to the canonical scheme and host, keeping the path
//! and query (http → https, `example.com` → `www.example.com`).
//!
//! ```toml
//! [plugins.https]
//! kind = "redirect"
//! scheme = "https"              # redirect requests that came in over another scheme
//! host = "www.example.com"      # redirect requests for any other host
//! port = 8443                   # port in the Location; default: none (the scheme's default)
//! status = 301                  # 301 (default), 302, 307 or 308
//! ```
//!
//! A request already on the canonical scheme and host passes on. The `Location` is
//! `SCHEME://HOST[:PORT]` followed by the request target as received (path and query).

use std::future::Future;

use http::header;

use crate::{
    exchange::{Reply, Request, State, Verdict},
    plugin::{Phases, Plugin},
    spec::Options,
};

pub(crate) const OPTIONS: &[&str] = &["scheme", "host", "port", "status"];

/// Default `status`.
pub const DEFAULT_REDIRECT_STATUS: u16 = 301;

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Redirect {
    scheme: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    status: u16,
}

fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.split('.').all(|l| {
            !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

impl Redirect {
    pub(crate) fn parse(o: &mut Options<'_>) -> Redirect {
        let scheme = match o.string("scheme") {
            Some(s @ ("http" | "https")) => Some(s.to_owned()),
            Some(s) => {
                o.problem(
                    "scheme",
                    format!("unknown scheme \"{s}\"; expected \"http\" or \"https\""),
                );
                None
            }
            None => None,
        };
        let host = match o.string("host") {
            Some(h) if valid_host(h) => Some(h.to_ascii_lowercase()),
            Some(h) => {
                o.problem(
                    "host",
                    format!("invalid host \"{h}\": write a host name without scheme, port or path"),
                );
                None
            }
            None => None,
        };
        let port = o.int("port", 1, 65535).map(|p| p as u16);
        let status = match o.int("status", 100, 599) {
            None => DEFAULT_REDIRECT_STATUS,
            Some(s @ (301 | 302 | 307 | 308)) => s as u16,
            Some(s) => {
                o.problem(
                    "status",
                    format!("status {s} is not a redirect; use 301, 302, 307 or 308"),
                );
                DEFAULT_REDIRECT_STATUS
            }
        };
        if scheme.is_none() && host.is_none() && !o.has("scheme") && !o.has("host") {
            o.problem("", "set `scheme`, `host` or both: what requests are redirected to");
        }
        Redirect { scheme, host, port, status }
    }

    /// The `Location` for `req`, or `None` when it is already canonical.
    fn location(&self, req: &Request<'_>) -> Option<String> {
        let scheme_ok = self.scheme.as_deref().is_none_or(|s| s == req.scheme);
        let host_ok = self.host.as_deref().is_none_or(|h| h.eq_ignore_ascii_case(req.host));
        if scheme_ok && host_ok {
            return None;
        }
        let scheme = self.scheme.as_deref().unwrap_or(req.scheme);
        let host = self.host.as_deref().unwrap_or(req.host);
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        Some(format!("{scheme}://{host}{port}{}", req.request_uri()))
    }
}

impl Plugin for Redirect {
    fn request(
        &self,
        req: &Request<'_>,
        _state: &mut State,
    ) -> impl Future<Output = Verdict> + Send {
        let verdict = match self.location(req) {
            None => Verdict::Continue,
            Some(url) => Verdict::Reply(
                Reply::error(self.status, format!("The document has moved to {url}."))
                    .with_header(header::LOCATION, &url),
            ),
        };
        std::future::ready(verdict)
    }

    fn phases(&self) -> Phases {
        Phases { request: true, ..Phases::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{kinds::spec, spec::Value};

    fn parse(options: Vec<(&str, Value)>) -> Result<Redirect, Vec<crate::Problem>> {
        let spec = spec("redirect", options);
        let mut o = Options::new(&spec, OPTIONS);
        let r = Redirect::parse(&mut o);
        o.finish(r)
    }

    macro_rules! options {
        ($($name:ident: [$($k:expr => $v:expr),*] => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let got = parse(vec![$(($k, $v)),*]).map_err(|p| format!("{p:?}"));
                let want: Result<u16, &str> = $want;
                match (got, want) {
                    (Ok(r), Ok(status)) => assert_eq!(r.status, status),
                    (Err(p), Err(needle)) => assert!(p.contains(needle), "{p} lacks {needle:?}"),
                    (got, want) => panic!("got {got:?}, want {want:?}"),
                }
            }
        )*};
    }

    options! {
        https: ["scheme" => Value::Str("https".into())] => Ok(301);
        host_308: ["host" => Value::Str("www.example.com".into()), "status" => Value::Int(308)] => Ok(308);
        both_port: ["scheme" => Value::Str("https".into()), "host" => Value::Str("a.b".into()), "port" => Value::Int(8443)] => Ok(301);
        nothing: [] => Err("set `scheme`, `host` or both");
        bad_scheme: ["scheme" => Value::Str("ftp".into())] => Err("unknown scheme");
        bad_status: ["scheme" => Value::Str("https".into()), "status" => Value::Int(303)] => Err("not a redirect");
        bad_host: ["host" => Value::Str("https://a.b/".into())] => Err("invalid host");
        bad_port: ["scheme" => Value::Str("https".into()), "port" => Value::Int(0)] => Err("from 1 to 65535");
    }

    #[test]
    fn keeps_path_and_query_and_passes_canonical_requests() {
        let r = parse(vec![
            ("scheme", Value::Str("https".into())),
            ("host", Value::Str("www.example.com".into())),
        ])
        .unwrap();
        let h = pingora_http::RequestHeader::build("GET", b"/a/b?x=1&y=%20", None).unwrap();
        let req = |scheme, host| Request {
            header: &h,
            path: "/a/b",
            query: Some("x=1&y=%20"),
            peer: None,
            scheme,
            host,
        };
        assert_eq!(
            r.location(&req("http", "example.com")).as_deref(),
            Some("https://www.example.com/a/b?x=1&y=%20")
        );
        assert_eq!(
            r.location(&req("https", "example.com")).as_deref(),
            Some("https://www.example.com/a/b?x=1&y=%20")
        );
        assert_eq!(r.location(&req("https", "www.example.com")), None);
    }
}
