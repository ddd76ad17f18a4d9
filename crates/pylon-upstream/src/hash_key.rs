//! The bytes [`Algorithm::Hash`](crate::Algorithm::Hash) hashes, borrowed from the request.

use std::net::IpAddr;

use pingora_http::RequestHeader;

use crate::HashKey;

/// The key's bytes for this request. `ip_buf` holds the client IP's octets when that is the
/// key. A missing or empty key falls back to the path.
pub(crate) fn extract<'a>(
    key: &HashKey,
    req: &'a RequestHeader,
    client_ip: Option<IpAddr>,
    ip_buf: &'a mut [u8; 16],
) -> &'a [u8] {
    let path = req.uri.path().as_bytes();
    let found: Option<&[u8]> = match key {
        HashKey::Path => None,
        HashKey::Url => req.uri.path_and_query().map(|pq| pq.as_str().as_bytes()),
        HashKey::ClientIp => client_ip.map(|ip| match ip {
            IpAddr::V4(v4) => {
                ip_buf[..4].copy_from_slice(&v4.octets());
                &ip_buf[..4]
            }
            IpAddr::V6(v6) => {
                *ip_buf = v6.octets();
                &ip_buf[..]
            }
        }),
        HashKey::Header(name) => req.headers.get(name.as_str()).map(|v| v.as_bytes()),
        HashKey::Cookie(name) => cookie(req, name),
        HashKey::Query(name) => req.uri.query().and_then(|q| query_param(q, name)),
    };
    match found {
        Some(bytes) if !bytes.is_empty() => bytes,
        _ => path,
    }
}

/// The value of cookie `name` in the request's `Cookie` header(s): `a=1; b=2`.
fn cookie<'a>(req: &'a RequestHeader, name: &str) -> Option<&'a [u8]> {
    req.headers.get_all("cookie").iter().find_map(|header| {
        header.as_bytes().split(|&b| b == b';').find_map(|pair| {
            let pair = pair.trim_ascii();
            let eq = pair.iter().position(|&b| b == b'=')?;
            (pair[..eq].trim_ascii() == name.as_bytes()).then(|| pair[eq + 1..].trim_ascii())
        })
    })
}

/// The raw value of parameter `name` in `query` (`a=1&b=2`); a bare `name` has an empty value.
fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a [u8]> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str, headers: &[(&str, &str)]) -> RequestHeader {
        let mut req = RequestHeader::build("GET", uri.as_bytes(), None).unwrap();
        for (name, value) in headers {
            req.append_header(name.to_string(), *value).unwrap();
        }
        req
    }

    fn key_of(key: &HashKey, uri: &str, headers: &[(&str, &str)], ip: Option<&str>) -> Vec<u8> {
        let req = request(uri, headers);
        let mut buf = [0; 16];
        extract(key, &req, ip.map(|ip| ip.parse().unwrap()), &mut buf).to_vec()
    }

    /// `key!(name, KEY, uri, [headers], ip => expected)`: one named test per case.
    macro_rules! key {
        ($name:ident, $key:expr, $uri:expr, [$($h:expr),*], $ip:expr => $want:expr) => {
            #[test]
            fn $name() {
                let want: &[u8] = $want;
                assert_eq!(key_of(&$key, $uri, &[$($h),*], $ip), want);
            }
        };
    }

    fn header(name: &str) -> HashKey {
        HashKey::Header(name.into())
    }
    fn cookie_key(name: &str) -> HashKey {
        HashKey::Cookie(name.into())
    }
    fn query_key(name: &str) -> HashKey {
        HashKey::Query(name.into())
    }

    key!(path, HashKey::Path, "/a/b?x=1", [], None => b"/a/b");
    key!(url, HashKey::Url, "/a/b?x=1", [], None => b"/a/b?x=1");
    key!(url_without_query, HashKey::Url, "/a", [], None => b"/a");
    key!(ip_v4, HashKey::ClientIp, "/a", [], Some("127.0.0.9") => &[127, 0, 0, 9]);
    key!(ip_v6, HashKey::ClientIp, "/a", [], Some("::1") => &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    key!(ip_missing, HashKey::ClientIp, "/a", [], None => b"/a");
    key!(header_found, header("x-user"), "/a", [("X-User", "bob")], None => b"bob");
    key!(header_case, header("X-USER"), "/a", [("x-user", "bob")], None => b"bob");
    key!(header_first, header("x-user"), "/a", [("x-user", "bob"), ("x-user", "eve")], None => b"bob");
    key!(header_missing, header("x-user"), "/a?x=1", [("x-other", "bob")], None => b"/a");
    key!(header_empty, header("x-user"), "/a", [("x-user", "")], None => b"/a");
    key!(cookie_found, cookie_key("sid"), "/a", [("Cookie", "a=1; sid=42; b=2")], None => b"42");
    key!(cookie_first_pair, cookie_key("a"), "/a", [("Cookie", "a=1;b=2")], None => b"1");
    key!(cookie_second_header, cookie_key("b"), "/a", [("Cookie", "a=1"), ("Cookie", "b=2")], None => b"2");
    key!(cookie_prefix_is_not_name, cookie_key("sid"), "/a", [("Cookie", "sidx=1; xsid=2")], None => b"/a");
    key!(cookie_missing, cookie_key("sid"), "/a", [], None => b"/a");
    key!(cookie_value_with_eq, cookie_key("t"), "/a", [("Cookie", "t=a=b")], None => b"a=b");
    key!(query_found, query_key("u"), "/a?x=1&u=7", [], None => b"7");
    key!(query_first, query_key("u"), "/a?u=1&u=2", [], None => b"1");
    key!(query_raw, query_key("u"), "/a?u=a%20b", [], None => b"a%20b");
    key!(query_bare, query_key("u"), "/a?u", [], None => b"/a");
    key!(query_missing, query_key("u"), "/a?x=1", [], None => b"/a");
    key!(query_no_query, query_key("u"), "/a", [], None => b"/a");
}
