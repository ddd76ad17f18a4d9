//! Error pages (SPEC §7): an HTML template with `{{status}}`, `{{content}}`,
//! `{{version}}` and `{{name}}`, split once at build time; and the `Server` header of
//! Pylon's own responses.
//!
//! What they tell a client is set in `[basic]`, like nginx's `server_tokens`:
//! - `server_tokens = true` (the default): `{{version}}` is Pylon's version and the
//!   `Server` header reads `NAME/VERSION`; `false`: `{{version}}` is empty, the built-in
//!   footer shows the name only and the header reads `NAME`.
//! - `error_details = false` (the default): a 404 or 503 page says what happened in
//!   general terms and does not describe the routing (the host and path that matched no
//!   location, the upstream without a healthy peer); `true` shows those details, for
//!   debugging.

use bytes::Bytes;
use pingora::http::ResponseHeader;

const BUILTIN: &str = "<!DOCTYPE html>\n<html>\n<head><title>{{status}}</title></head>\n\
<body>\n<h1>{{status}}</h1>\n<p>{{content}}</p>\n<hr><p>{{name}} {{version}}</p>\n</body>\n</html>\n";

#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Status,
    Content,
    Version,
    Name,
}

/// The generic sentence of a status whose detailed text describes the routing, shown
/// unless `error_details = true`.
fn generic(status: u16) -> Option<&'static str> {
    match status {
        404 => Some("The requested resource was not found on this server."),
        503 => Some("No healthy upstream server is available."),
        _ => None,
    }
}

/// A compiled error page template, with what it may tell clients.
#[derive(Debug, Clone)]
pub(crate) struct ErrorPage {
    parts: Vec<Part>,
    name: String,
    /// `{{version}}`: Pylon's version, or empty with `server_tokens = false`.
    version: &'static str,
    /// The `Server` header of Pylon's own responses (`None` when `name` is not a valid value).
    server: Option<http::HeaderValue>,
    details: bool,
}

impl ErrorPage {
    /// The built-in page, for `[basic]`'s name, `server_tokens` and `error_details`.
    pub(crate) fn builtin(basic: &pylon_config::Basic) -> ErrorPage {
        if basic.server_tokens {
            ErrorPage::parse(BUILTIN, basic)
        } else {
            ErrorPage::parse(&BUILTIN.replace("{{name}} {{version}}", "{{name}}"), basic)
        }
    }

    /// The page of the defaults (before any configuration is loaded).
    pub(crate) fn fallback() -> ErrorPage {
        ErrorPage::builtin(&pylon_config::Basic::default())
    }

    pub(crate) fn parse(template: &str, basic: &pylon_config::Basic) -> ErrorPage {
        let name = basic.name.as_str();
        let version = if basic.server_tokens { crate::VERSION } else { "" };
        let server = if basic.server_tokens {
            http::HeaderValue::try_from(format!("{name}/{version}")).ok()
        } else {
            http::HeaderValue::try_from(name).ok()
        };
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else { break };
            let part = match after[..end].trim() {
                "status" => Part::Status,
                "content" => Part::Content,
                "version" => Part::Version,
                "name" => Part::Name,
                // Not one of ours: keep the text as it was written.
                _ => {
                    parts.push(Part::Literal(rest[..start + 2 + end + 2].to_owned()));
                    rest = &after[end + 2..];
                    continue;
                }
            };
            parts.push(Part::Literal(rest[..start].to_owned()));
            parts.push(part);
            rest = &after[end + 2..];
        }
        parts.push(Part::Literal(rest.to_owned()));
        parts.retain(|p| !matches!(p, Part::Literal(s) if s.is_empty()));
        ErrorPage { parts, name: name.to_owned(), version, server, details: basic.error_details }
    }

    /// Set the `Server` header of one of Pylon's own responses (error page, `return`, stats).
    pub(crate) fn stamp(&self, resp: &mut ResponseHeader) {
        if let Some(server) = &self.server {
            let _ = resp.insert_header(http::header::SERVER, server.clone());
        }
    }

    /// The body for `status`, with `content` HTML-escaped (it may quote the client's host/path).
    pub(crate) fn body(&self, status: u16, content: &str) -> Bytes {
        let mut out = String::with_capacity(512);
        for p in &self.parts {
            match p {
                Part::Literal(s) => out.push_str(s),
                Part::Status => {
                    out.push_str(&status.to_string());
                    if let Some(reason) =
                        http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason())
                    {
                        out.push(' ');
                        out.push_str(reason);
                    }
                }
                Part::Content => escape_html(content, &mut out),
                Part::Version => out.push_str(self.version),
                Part::Name => escape_html(&self.name, &mut out),
            }
        }
        Bytes::from(out)
    }

    /// Response header + body for an error: `Content-Type: text/html`, an exact
    /// `Content-Length`, `Cache-Control: no-store`, the `Server` header. `content` is the
    /// detailed sentence; without `error_details` a 404 or 503 gets the generic one.
    pub(crate) fn response(&self, status: u16, content: &str) -> (ResponseHeader, Bytes) {
        let content = match generic(status) {
            Some(text) if !self.details => text,
            _ => content,
        };
        let body = self.body(status, content);
        let mut resp = match ResponseHeader::build(status, Some(4)) {
            Ok(r) => r,
            Err(_) => {
                // `status` comes from our own code paths (4xx/5xx); fall back to 500 for safety.
                #[allow(clippy::unwrap_used)] // reason: 500 is always a valid status
                ResponseHeader::build(500, Some(4)).unwrap()
            }
        };
        let _ = resp.insert_header(http::header::CONTENT_TYPE, "text/html; charset=utf-8");
        let _ = resp.insert_header(http::header::CONTENT_LENGTH, body.len());
        let _ = resp.insert_header(http::header::CACHE_CONTROL, "no-store");
        self.stamp(&mut resp);
        (resp, body)
    }
}

fn escape_html(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(server_tokens: bool, error_details: bool) -> pylon_config::Basic {
        pylon_config::Basic { server_tokens, error_details, ..pylon_config::Basic::default() }
    }

    #[test]
    fn builtin_page_names_status_and_escapes_content() {
        let page = ErrorPage::builtin(&basic(true, true));
        let body = page.body(404, "no location for <host>/x");
        let text = std::str::from_utf8(&body).unwrap();
        assert!(text.contains("<h1>404 Not Found</h1>"), "{text}");
        assert!(text.contains("no location for &lt;host&gt;/x"), "{text}");
        assert!(text.contains(crate::VERSION));
    }

    #[test]
    fn custom_template_keeps_unknown_placeholders() {
        let basic = pylon_config::Basic { name: "p".into(), ..pylon_config::Basic::default() };
        let page = ErrorPage::parse("[{{status}}|{{other}}|{{ name }}]", &basic);
        assert_eq!(&page.body(502, "")[..], b"[502 Bad Gateway|{{other}}|p]");
    }

    #[test]
    fn response_has_exact_content_length() {
        let page = ErrorPage::fallback();
        let (resp, body) = page.response(503, "no healthy peer");
        assert_eq!(resp.status.as_u16(), 503);
        let len: usize =
            resp.headers.get("content-length").unwrap().to_str().unwrap().parse().unwrap();
        assert_eq!(len, body.len());
    }

    #[test]
    fn server_tokens_off_hides_the_version_in_page_and_header() {
        let on = ErrorPage::fallback();
        let (resp, body) = on.response(502, "x");
        let version = format!("pylon/{}", crate::VERSION);
        assert_eq!(resp.headers.get("server").unwrap().to_str().unwrap(), version);
        assert!(std::str::from_utf8(&body).unwrap().contains(crate::VERSION));

        let off = ErrorPage::builtin(&basic(false, false));
        let (resp, body) = off.response(502, "x");
        assert_eq!(resp.headers.get("server").unwrap().to_str().unwrap(), "pylon");
        let text = std::str::from_utf8(&body).unwrap();
        assert!(!text.contains(crate::VERSION), "{text}");
        assert!(text.contains("<p>pylon</p>"), "{text}");
        let custom = ErrorPage::parse("[{{version}}]", &basic(false, false));
        assert_eq!(&custom.body(500, "")[..], b"[]");
    }

    #[test]
    fn routing_details_only_when_asked() {
        let detail = "No location matches host \"a\" and path \"/x\".";
        let (_, body) = ErrorPage::builtin(&basic(true, false)).response(404, detail);
        let text = std::str::from_utf8(&body).unwrap();
        assert!(!text.contains("/x"), "{text}");
        assert!(text.contains("not found on this server"), "{text}");
        let (_, body) = ErrorPage::builtin(&basic(true, true)).response(404, detail);
        assert!(std::str::from_utf8(&body).unwrap().contains("&quot;/x&quot;"));
        // Statuses without routing details keep their sentence either way.
        let (_, body) = ErrorPage::builtin(&basic(true, false)).response(413, "Too large.");
        assert!(std::str::from_utf8(&body).unwrap().contains("Too large."));
    }
}
