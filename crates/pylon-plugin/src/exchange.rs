//! What a plugin sees of a request and what it may answer: [`Request`], [`Verdict`],
//! [`Reply`], and the per-request [`State`] that carries decisions from one phase to the
//! next.

use std::net::IpAddr;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};

use crate::{br::BrotliEncoder, zst::ZstdEncoder};

/// The downstream request as the plugins see it in the request phase.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The request head as received (method, target, headers).
    pub header: &'a pingora_http::RequestHeader,
    /// The normalised path: the one routing matched (never the raw target).
    pub path: &'a str,
    /// The query string without `?`, if any.
    pub query: Option<&'a str>,
    /// The connection's peer address (the client, or the nearest proxy).
    pub peer: Option<IpAddr>,
    /// `"http"` or `"https"`.
    pub scheme: &'a str,
    /// nginx's `$host`: the Host header (or HTTP/2 `:authority`) in lower case, no port.
    pub host: &'a str,
}

impl<'a> Request<'a> {
    /// The first value of header `name` as text, if present and valid.
    pub fn header(&self, name: impl http::header::AsHeaderName) -> Option<&'a str> {
        self.header.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of cookie `name` (RFC 6265 `Cookie` header; every `Cookie` line is read).
    pub fn cookie(&self, name: &str) -> Option<&'a str> {
        self.header.headers.get_all(http::header::COOKIE).iter().find_map(|v| {
            v.to_str().ok()?.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                (k.trim() == name).then(|| v.trim().trim_matches('"'))
            })
        })
    }

    /// The first value of query parameter `name` (not percent-decoded).
    pub fn query_param(&self, name: &str) -> Option<&'a str> {
        self.query?.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then_some(v)
        })
    }

    /// The request target: the normal path routing saw and the query as received (nginx's
    /// `$request_uri`, except that the path is never the raw one).
    pub fn request_uri(&self) -> &'a str {
        self.header.uri.path_and_query().map_or("/", |p| p.as_str())
    }
}

/// What a plugin decides in the request phase.
#[derive(Debug)]
#[non_exhaustive]
pub enum Verdict {
    /// Go on to the next plugin (and then to the upstream).
    Continue,
    /// Answer the client now; nothing reaches the upstream.
    Reply(Reply),
}

/// A response a plugin answers with instead of the upstream.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Headers to send (e.g. `WWW-Authenticate`, `Retry-After`, `Location`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body.
    pub body: ReplyBody,
}

/// The body of a [`Reply`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ReplyBody {
    /// The server's error page (the operator's template), with this sentence as its content.
    ErrorPage(String),
    /// These bytes, as they are.
    Bytes(Bytes),
    /// No body (`Content-Length: 0`).
    Empty,
}

impl Reply {
    /// An error page reply.
    pub fn error(status: u16, content: impl Into<String>) -> Reply {
        Reply { status, headers: Vec::new(), body: ReplyBody::ErrorPage(content.into()) }
    }

    /// Adds a header (values that are not valid header values are dropped).
    pub fn with_header(mut self, name: HeaderName, value: &str) -> Reply {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }
}

/// `query` (a query string without the `?`) with the value of every parameter named in
/// `names` replaced by `***` (`a=1&key=s3cret` → `a=1&key=***`; names compare as written,
/// the way `key_auth` and `jwt` look them up). Borrowed unchanged when no parameter is
/// named; the other parameters keep their bytes and order.
pub fn mask_query<'q, N: AsRef<str>>(query: &'q str, names: &[N]) -> std::borrow::Cow<'q, str> {
    fn named<'p, N: AsRef<str>>(pair: &'p str, names: &[N]) -> Option<&'p str> {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        names.iter().any(|n| n.as_ref() == key).then_some(key)
    }
    if !query.split('&').any(|pair| named(pair, names).is_some()) {
        return std::borrow::Cow::Borrowed(query);
    }
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| named(pair, names).map_or_else(|| pair.to_owned(), |key| format!("{key}=***")))
        .collect();
    std::borrow::Cow::Owned(masked.join("&"))
}

/// Per-request state of the plugin chain: created empty (no allocation) for every request,
/// filled by the request phase, read by the later phases, dropped when the request ends
/// (which also releases in-flight counts).
#[derive(Debug, Default)]
pub struct State {
    /// The request id, when a `request_id` plugin decided it.
    pub(crate) request_id: Option<String>,
    /// Headers to set on the upstream request.
    pub(crate) upstream_set: Vec<(HeaderName, HeaderValue)>,
    /// Headers to remove from the upstream request (hidden credentials).
    pub(crate) upstream_remove: Vec<HeaderName>,
    /// Query parameters to remove from the upstream request (hidden credentials).
    pub(crate) upstream_remove_query: Vec<String>,
    /// Query parameters that carried a credential (a `key_auth` or `jwt` `query`): their
    /// values are masked in the access log.
    pub(crate) credential_query: Vec<String>,
    /// Cookies to remove from the upstream request (hidden credentials).
    pub(crate) upstream_remove_cookie: Vec<String>,
    /// `compression`'s choice from `Accept-Encoding`: `Some(None)` = nothing acceptable
    /// (or HEAD), `Some(Some(i))` = coding `i`.
    pub(crate) compression: Option<Option<usize>>,
    /// The encoder of this response's body, when `compression` chose a coding Pylon runs
    /// itself (`br`, `zstd`) for it (boxed: requests without it keep a small state).
    pub(crate) encoder: Option<Box<BodyEncoder>>,
    /// In-flight counts held until the request ends (`limit`'s `concurrent`).
    pub(crate) inflight: Vec<pingora_limits::inflight::Guard>,
    /// Headers to add to the response.
    pub(crate) response_add: Vec<(HeaderName, HeaderValue)>,
    /// Header names a response must vary on (`Vary`), added once each, as written.
    pub(crate) vary: Vec<&'static str>,
}

impl State {
    /// The request id a `request_id` plugin chose (honoured or generated), if any.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The response body phase (`response_body_filter`, and the body of a response the
    /// proxy writes itself): when the response phase chose a coding Pylon runs itself
    /// (brotli, zstd), replaces `body` with its encoding so far; `end_of_stream` ends the
    /// encoded stream, so the last chunk carries its end. An empty result becomes `None`
    /// (nothing to send yet). Without such a coding, does nothing (one branch).
    ///
    /// # Errors
    /// The encoder's error: for zstd also a body longer or shorter than the
    /// `Content-Length` it was announced with (it must not end as a complete stream).
    pub fn response_body(
        &mut self,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
    ) -> std::io::Result<()> {
        let Some(encoder) = self.encoder.as_mut() else { return Ok(()) };
        let mut out = match body.as_deref() {
            Some(input) if !input.is_empty() => encoder.encode(input)?,
            _ => Bytes::new(),
        };
        if end_of_stream {
            if let Some(encoder) = self.encoder.take() {
                let tail = encoder.finish()?;
                out = if out.is_empty() { tail } else { [out, tail].concat().into() };
            }
        }
        *body = (!out.is_empty()).then_some(out);
        Ok(())
    }

    /// Notes that query parameter `name` (when configured and present) carries a credential.
    pub(crate) fn credential_in_query(&mut self, name: Option<&str>, req: &Request<'_>) {
        if let Some(name) = name {
            if req.query_param(name).is_some() && !self.credential_query.iter().any(|n| n == name) {
                self.credential_query.push(name.to_owned());
            }
        }
    }

    /// `query` as the access log shows it: the value of every parameter that carried a
    /// credential (`key_auth` or `jwt` reading `query = "NAME"`) replaced by `***`, whether
    /// the credential was accepted or not. Borrowed unchanged when there is none.
    pub fn query_for_log<'q>(&self, query: &'q str) -> std::borrow::Cow<'q, str> {
        mask_query(query, &self.credential_query)
    }

    /// The coding [`State::response_body`] encodes this response's body with (`"br"` or
    /// `"zstd"`: the response phase chose it and its end has not been written yet).
    pub fn body_coding(&self) -> Option<&'static str> {
        self.encoder.as_deref().map(BodyEncoder::coding)
    }
}

/// A body encoder Pylon runs itself (see [`State::response_body`]).
#[derive(Debug)]
#[expect(clippy::large_enum_variant, reason = "State holds it boxed as a whole")]
pub(crate) enum BodyEncoder {
    Brotli(BrotliEncoder),
    Zstd(ZstdEncoder),
}

impl BodyEncoder {
    /// The `Content-Encoding` token.
    fn coding(&self) -> &'static str {
        match self {
            BodyEncoder::Brotli(_) => "br",
            BodyEncoder::Zstd(_) => "zstd",
        }
    }

    fn encode(&mut self, input: &[u8]) -> std::io::Result<Bytes> {
        match self {
            BodyEncoder::Brotli(e) => e.encode(input),
            BodyEncoder::Zstd(e) => e.encode(input),
        }
    }

    fn finish(self) -> std::io::Result<Bytes> {
        match self {
            BodyEncoder::Brotli(e) => Ok(e.finish()),
            BodyEncoder::Zstd(e) => e.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::mask_query;

    #[test]
    fn named_parameters_are_masked_the_others_kept() {
        let names = ["api_key", "access_token"];
        assert_eq!(mask_query("a=1&api_key=s3cret&b=2", &names), "a=1&api_key=***&b=2");
        assert_eq!(mask_query("access_token=t&api_key", &names), "access_token=***&api_key=***");
        // Names compare as written: a prefix or another case is another parameter.
        let kept = mask_query("api_key2=x&API_KEY=y&xapi_key=z", &names);
        assert!(matches!(kept, Cow::Borrowed("api_key2=x&API_KEY=y&xapi_key=z")), "{kept}");
        assert!(matches!(mask_query("a=1", &[] as &[&str]), Cow::Borrowed("a=1")));
    }
}
