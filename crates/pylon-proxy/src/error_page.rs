//! Error pages (SPEC §7): an HTML template with `{{status}}`, `{{content}}`,
//! `{{version}}` and `{{name}}`, split once at build time.

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

/// A compiled error page template.
#[derive(Debug, Clone)]
pub(crate) struct ErrorPage {
    parts: Vec<Part>,
    name: String,
}

impl ErrorPage {
    pub(crate) fn builtin(name: &str) -> ErrorPage {
        ErrorPage::parse(BUILTIN, name)
    }

    pub(crate) fn parse(template: &str, name: &str) -> ErrorPage {
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
        ErrorPage { parts, name: name.to_owned() }
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
                Part::Version => out.push_str(crate::VERSION),
                Part::Name => escape_html(&self.name, &mut out),
            }
        }
        Bytes::from(out)
    }

    /// Response header + body for an error: `Content-Type: text/html`, an exact
    /// `Content-Length`, `Cache-Control: no-store`.
    pub(crate) fn response(&self, status: u16, content: &str) -> (ResponseHeader, Bytes) {
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
        if !self.name.is_empty() {
            let _ = resp.insert_header(http::header::SERVER, self.name.as_str());
        }
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

    #[test]
    fn builtin_page_names_status_and_escapes_content() {
        let page = ErrorPage::builtin("pylon");
        let body = page.body(404, "no location for <host>/x");
        let text = std::str::from_utf8(&body).unwrap();
        assert!(text.contains("<h1>404 Not Found</h1>"), "{text}");
        assert!(text.contains("no location for &lt;host&gt;/x"), "{text}");
        assert!(text.contains(crate::VERSION));
    }

    #[test]
    fn custom_template_keeps_unknown_placeholders() {
        let page = ErrorPage::parse("[{{status}}|{{other}}|{{ name }}]", "p");
        assert_eq!(&page.body(502, "")[..], b"[502 Bad Gateway|{{other}}|p]");
    }

    #[test]
    fn response_has_exact_content_length() {
        let page = ErrorPage::builtin("pylon");
        let (resp, body) = page.response(503, "no healthy peer");
        assert_eq!(resp.status.as_u16(), 503);
        let len: usize =
            resp.headers.get("content-length").unwrap().to_str().unwrap().parse().unwrap();
        assert_eq!(len, body.len());
    }
}
