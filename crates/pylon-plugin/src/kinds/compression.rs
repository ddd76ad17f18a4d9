//! `kind = "compression"`: gzip, brotli and zstd response compression by
//! `Accept-Encoding` q-values. gzip is done by pingora's own compression module (enabled
//! per request); brotli and zstd by Pylon's streaming encoders: brotli (`crate::br`, the
//! `brotli` crate) because pingora 0.9.1's never ends its stream, zstd (`crate::zst`) because
//! pingora's sets its encoder up for a body of unknown size, which costs several times the
//! compressing of a small body (ours is told the `Content-Length`).
//!
//! ```toml
//! [plugins.squeeze]
//! kind = "compression"
//! algorithms = ["zstd", "br", "gzip"]   # preference among equal q-values (default)
//! gzip_level = 6                        # 1..=9 (default 6)
//! brotli_level = 6                      # 0..=11 (default 6)
//! zstd_level = 3                        # 1..=22 (default 3)
//! min_size = "256b"                     # smaller responses (by Content-Length) stay as they are
//! content_types = ["text/*", "application/json"]   # exact types or "type/*"
//! ```
//!
//! The client's `Accept-Encoding` decides (RFC 9110 §12.5.3): the configured coding with the
//! highest q-value wins (`*` stands for codings it does not name, `q=0` refuses), ties go
//! to the configured order; without `Accept-Encoding` nothing is compressed. A response is
//! compressed only when it has a body (not HEAD, 204, 304, 1xx), is not partial (206 or a
//! `Content-Range`), is not already encoded (`Content-Encoding` other than `identity`), does
//! not say `Cache-Control: no-transform`, has a listed content type, and is not known to be
//! smaller than `min_size`. Such an eligible response always gets `Vary: Accept-Encoding`,
//! whether or not this client gets it compressed. Compressing drops `Content-Length` (h1
//! streams it chunked, h2 in frames) and `Accept-Ranges`, sets `Content-Encoding` and
//! weakens a strong `ETag` (an invalid one is dropped). Responses the proxy writes itself
//! (`return`, error pages of plugins) pass the same way (brotli then sends the compressed
//! length).

use std::future::Future;

use http::header;
use pingora_core::{
    modules::http::{HttpModuleCtx, compression::ResponseCompression},
    protocols::http::compression::Algorithm,
};
use pingora_http::{RequestHeader, ResponseHeader};

use crate::{
    br::BrotliEncoder,
    exchange::{BodyEncoder, Request, State, Verdict},
    plugin::{Phases, Plugin, add_vary},
    spec::{Options, Value},
    zst::ZstdEncoder,
};

pub(crate) const OPTIONS: &[&str] =
    &["algorithms", "gzip_level", "brotli_level", "zstd_level", "min_size", "content_types"];

/// Default `gzip_level`.
pub const DEFAULT_GZIP_LEVEL: u32 = 6;
/// Default `brotli_level`: ngx_brotli's default `brotli_comp_level`.
pub const DEFAULT_BROTLI_LEVEL: u32 = 6;
/// Default `zstd_level`.
pub const DEFAULT_ZSTD_LEVEL: u32 = 3;
/// Default `min_size` in bytes.
pub const DEFAULT_COMPRESSION_MIN_SIZE: u64 = 256;
/// Default `content_types`.
pub const DEFAULT_COMPRESSION_TYPES: &[&str] = &[
    "text/*",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/xhtml+xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/manifest+json",
    "application/wasm",
    "image/svg+xml",
    "image/x-icon",
    "font/ttf",
    "font/otf",
];

/// Default `algorithms`: preference among codings of equal q-value.
pub const DEFAULT_COMPRESSION_ALGORITHMS: &[&str] = &["zstd", "br", "gzip"];

/// One configured coding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    Brotli,
    Zstd,
}

impl Coding {
    /// The content-coding token (RFC 9110 §8.4.1, RFC 7932 §13 for `br`).
    fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
        }
    }

    /// pingora's algorithm, for the coding its module runs (brotli and zstd are Pylon's own).
    fn algorithm(self) -> Option<Algorithm> {
        match self {
            Coding::Gzip => Some(Algorithm::Gzip),
            Coding::Brotli | Coding::Zstd => None,
        }
    }

    fn from_index(i: usize) -> Coding {
        match i {
            0 => Coding::Gzip,
            1 => Coding::Brotli,
            _ => Coding::Zstd,
        }
    }

    fn matches(self, token: &str) -> bool {
        token.eq_ignore_ascii_case(self.name())
            || (self == Coding::Gzip && token.eq_ignore_ascii_case("x-gzip"))
    }
}

/// The coding `accept_encoding` prefers among `codings` (in preference order), if any.
fn choose(accept_encoding: &str, codings: &[Coding]) -> Option<Coding> {
    let mut star: Option<f32> = None;
    let mut explicit: Vec<(Coding, f32)> = Vec::new();
    for item in accept_encoding.split(',') {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or("").trim();
        if token.is_empty() {
            continue;
        }
        let mut q = 1.0f32;
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = v.trim().parse::<f32>().unwrap_or(0.0).clamp(0.0, 1.0);
                }
            }
        }
        if token == "*" {
            star = Some(q);
        } else if let Some(c) = codings.iter().find(|c| c.matches(token)) {
            explicit.push((*c, q));
        }
    }
    let mut best: Option<(Coding, f32)> = None;
    for c in codings {
        let q = explicit.iter().find(|(e, _)| e == c).map(|(_, q)| *q).or(star).unwrap_or(0.0);
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((*c, q));
        }
    }
    best.map(|(c, _)| c)
}

/// Media types never compressed, whatever `content_types` says: a stream of events that a
/// client must see as each arrives (Server-Sent Events), while the compressors hold output
/// until a block fills and Pylon does not flush per chunk.
const NEVER_COMPRESSED: &[&str] = &["text/event-stream"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum TypeRule {
    Exact(String),
    /// `text/*`: the type with the slash.
    Prefix(String),
}

/// Whether pingora's compressor accepts this media type (its own allow list, checked
/// before it compresses): text, application, font, a few image types, and nothing with
/// "zip" in it.
fn pingora_compresses(t: &str) -> bool {
    (t.starts_with("text/")
        || t.starts_with("application/")
        || t.starts_with("font/")
        || matches!(t, "image/x-icon" | "image/svg+xml" | "image/vnd.microsoft.icon")
        || t == "binary/octet-stream")
        && !t.contains("zip")
}

pub(crate) struct Compression {
    codings: Vec<Coding>,
    /// Levels by [`index`]: gzip, brotli, zstd.
    levels: [u32; 3],
    min_size: u64,
    types: Vec<TypeRule>,
    /// `Accept-Encoding: gzip`, `br`, `zstd` by [`index`]: fed to pingora's module for the
    /// coding chosen (the `br` one is never used: brotli is Pylon's own).
    requests: Vec<RequestHeader>,
}

impl std::fmt::Debug for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compression")
            .field("codings", &self.codings)
            .field("levels", &self.levels)
            .field("min_size", &self.min_size)
            .field("types", &self.types)
            .finish_non_exhaustive()
    }
}

fn index(c: Coding) -> usize {
    match c {
        Coding::Gzip => 0,
        Coding::Brotli => 1,
        Coding::Zstd => 2,
    }
}

impl Compression {
    pub(crate) fn parse(o: &mut Options<'_>) -> Compression {
        let mut codings = Vec::new();
        if o.has("algorithms") {
            for (k, s) in o.strings("algorithms") {
                let c = match s {
                    "gzip" => Coding::Gzip,
                    "br" | "brotli" => Coding::Brotli,
                    "zstd" => Coding::Zstd,
                    other => {
                        o.problem(
                            k,
                            format!("unknown algorithm \"{other}\"; expected gzip, br or zstd"),
                        );
                        continue;
                    }
                };
                if codings.contains(&c) {
                    o.problem(k, format!("\"{s}\" is listed twice"));
                } else {
                    codings.push(c);
                }
            }
            if codings.is_empty() && o.problems.is_empty() {
                o.problem("algorithms", "list at least one of gzip, br, zstd");
            }
        } else {
            codings = vec![Coding::Zstd, Coding::Brotli, Coding::Gzip];
        }
        let level = |o: &mut Options<'_>, key: &str, min: i64, max: i64, default: u32| {
            o.int(key, min, max).map_or(default, |n| n as u32)
        };
        let levels = [
            level(o, "gzip_level", 1, 9, DEFAULT_GZIP_LEVEL),
            level(o, "brotli_level", 0, 11, DEFAULT_BROTLI_LEVEL),
            level(o, "zstd_level", 1, 22, DEFAULT_ZSTD_LEVEL),
        ];
        let min_size = match o.get("min_size") {
            None => DEFAULT_COMPRESSION_MIN_SIZE,
            Some(Value::Int(n)) if *n >= 0 => *n as u64,
            Some(Value::Str(s)) => crate::spec::size(s).unwrap_or_else(|m| {
                o.problem("min_size", m);
                DEFAULT_COMPRESSION_MIN_SIZE
            }),
            Some(_) => {
                o.problem(
                    "min_size",
                    "expected a size such as \"256b\" or \"1kb\", or a number of bytes",
                );
                DEFAULT_COMPRESSION_MIN_SIZE
            }
        };
        let listed = if o.has("content_types") {
            o.strings("content_types")
        } else {
            DEFAULT_COMPRESSION_TYPES.iter().map(|t| (String::new(), *t)).collect()
        };
        let mut types = Vec::new();
        for (k, t) in listed {
            let t = t.trim().to_ascii_lowercase();
            let Some((main, sub)) = t.split_once('/') else {
                o.problem(
                    k,
                    format!(
                        "invalid content type \"{t}\": expected \"type/subtype\" or \"type/*\""
                    ),
                );
                continue;
            };
            if main.is_empty() || sub.is_empty() || t.contains([';', ' ']) {
                o.problem(
                    k,
                    format!(
                        "invalid content type \"{t}\": expected \"type/subtype\" or \"type/*\""
                    ),
                );
                continue;
            }
            if NEVER_COMPRESSED.contains(&t.as_str()) {
                o.problem(
                    k,
                    format!(
                        "\"{t}\" is never compressed: its events must reach the client as they \
                         come, and a compressor holds them back until a block fills"
                    ),
                );
                continue;
            }
            let probe = if sub == "*" { format!("{main}/x") } else { t.clone() };
            if !pingora_compresses(&probe) {
                o.problem(
                    k,
                    format!(
                        "pingora's compressor does not compress \"{t}\": it takes text/*, application/*, \
                         font/*, image/svg+xml and image/x-icon, nothing with \"zip\" in it"
                    ),
                );
                continue;
            }
            types.push(if sub == "*" {
                TypeRule::Prefix(format!("{main}/"))
            } else {
                TypeRule::Exact(t)
            });
        }
        let requests: Vec<RequestHeader> = ["gzip", "br", "zstd"]
            .iter()
            .filter_map(|coding| {
                let mut r = RequestHeader::build("GET", b"/", Some(1)).ok()?;
                r.insert_header(header::ACCEPT_ENCODING, *coding).ok()?;
                Some(r)
            })
            .collect();
        Compression { codings, levels, min_size, types, requests }
    }

    fn type_listed(&self, content_type: &str) -> bool {
        let t = content_type.split(';').next().unwrap_or("").trim();
        if NEVER_COMPRESSED.iter().any(|n| n.eq_ignore_ascii_case(t)) {
            return false;
        }
        self.types.iter().any(|r| match r {
            TypeRule::Exact(e) => e.eq_ignore_ascii_case(t),
            TypeRule::Prefix(p) => t.len() > p.len() && t[..p.len()].eq_ignore_ascii_case(p),
        })
    }

    /// Whether `resp` may be compressed for a client that asks for it.
    fn eligible(&self, resp: &ResponseHeader) -> bool {
        let status = resp.status.as_u16();
        if status < 200 || matches!(status, 204 | 206 | 304) {
            return false;
        }
        let h = &resp.headers;
        if h.get(header::CONTENT_ENCODING)
            .is_some_and(|v| !v.as_bytes().trim_ascii().eq_ignore_ascii_case(b"identity"))
            || h.contains_key(header::CONTENT_RANGE)
        {
            return false;
        }
        let no_transform = h.get_all(header::CACHE_CONTROL).iter().any(|v| {
            v.to_str()
                .is_ok_and(|s| s.split(',').any(|d| d.trim().eq_ignore_ascii_case("no-transform")))
        });
        if no_transform {
            return false;
        }
        if !h
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| self.type_listed(t))
        {
            return false;
        }
        let len = h
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        len.is_none_or(|n| n >= self.min_size)
    }
}

/// The head of a response whose body Pylon encodes itself (RFC 9110 §8.4, §8.8.1): the
/// coding, no length (streamed: chunked on h1, frames on h2), no ranges (they would count
/// encoded bytes), and a weak validator (a strong `ETag` names exact bytes; an invalid one
/// is dropped), as nginx's gzip filter and pingora's module do.
fn encoding_headers(response: &mut ResponseHeader, coding: Coding) {
    let _ = response.insert_header(header::CONTENT_ENCODING, coding.name());
    response.remove_header(&header::CONTENT_LENGTH);
    response.remove_header(&header::ACCEPT_RANGES);
    let _ = response.insert_header(header::TRANSFER_ENCODING, "chunked");
    let weakened = match response.headers.get(header::ETAG).map(|v| v.as_bytes()) {
        Some(tag) if tag.starts_with(b"W/") => return,
        Some(tag) if tag.starts_with(b"\"") => {
            http::HeaderValue::from_bytes(&[b"W/", tag].concat()).ok()
        }
        Some(_) => None,
        None => return,
    };
    match weakened {
        Some(w) => {
            let _ = response.insert_header(header::ETAG, w);
        }
        None => {
            response.remove_header(&header::ETAG);
        }
    }
}

impl Plugin for Compression {
    fn request(
        &self,
        req: &Request<'_>,
        state: &mut State,
    ) -> impl Future<Output = Verdict> + Send {
        let head = req.header.method == http::Method::HEAD;
        state.compression = Some(if head {
            None
        } else {
            req.header
                .headers
                .get_all(header::ACCEPT_ENCODING)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|v| choose(v, &self.codings))
                .map(index)
        });
        std::future::ready(Verdict::Continue)
    }

    fn response(
        &self,
        state: &mut State,
        response: &mut ResponseHeader,
        modules: Option<&mut HttpModuleCtx>,
    ) {
        if !self.eligible(response) {
            return;
        }
        add_vary(response, "Accept-Encoding");
        let Some(Some(i)) = state.compression.take() else { return };
        let coding = Coding::from_index(i);
        let level = self.levels[index(coding)];
        let Some(algorithm) = coding.algorithm() else {
            // brotli and zstd: Pylon's own encoders, sized by the body's length when it is
            // known, fed by the body phase (`State::response_body`).
            let len = response
                .headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let encoder = match coding {
                Coding::Zstd => match ZstdEncoder::new(level, len) {
                    Ok(e) => BodyEncoder::Zstd(e),
                    Err(e) => {
                        tracing::warn!("compression: zstd encoder not created ({e}): sent as is");
                        return;
                    }
                },
                _ => BodyEncoder::Brotli(BrotliEncoder::new(level, len)),
            };
            encoding_headers(response, coding);
            state.encoder = Some(Box::new(encoder));
            return;
        };
        let Some(module) = modules.and_then(|m| m.get_mut::<ResponseCompression>()) else {
            tracing::warn!("compression: pingora's compression module is not installed");
            return;
        };
        if !module.is_header_phase() {
            return;
        }
        module.adjust_level(0);
        module.adjust_algorithm_level(algorithm, level);
        module.adjust_decompression(false);
        if let Some(r) = self.requests.get(index(coding)) {
            module.request_filter(r);
        }
    }

    fn phases(&self) -> Phases {
        Phases { request: true, response: true, ..Phases::default() }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::kinds::spec;

    fn parse(options: Vec<(&str, Value)>) -> Result<Compression, Vec<crate::Problem>> {
        let spec = spec("compression", options);
        let mut o = Options::new(&spec, OPTIONS);
        let r = Compression::parse(&mut o);
        o.finish(r)
    }

    fn list(v: &[&str]) -> Value {
        Value::List(v.iter().map(|s| Value::Str((*s).into())).collect())
    }

    macro_rules! options {
        ($($name:ident: [$($k:expr => $v:expr),*] => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let got = parse(vec![$(($k, $v)),*]).map_err(|p| format!("{p:?}"));
                let want: Result<(), &str> = $want;
                match (got, want) {
                    (Ok(_), Ok(())) => {}
                    (Err(p), Err(needle)) => assert!(p.contains(needle), "{p} lacks {needle:?}"),
                    (got, want) => panic!("got {got:?}, want {want:?}"),
                }
            }
        )*};
    }

    options! {
        defaults: [] => Ok(());
        all: ["algorithms" => list(&["gzip", "zstd"]), "gzip_level" => Value::Int(9),
              "zstd_level" => Value::Int(19), "min_size" => Value::Str("1kb".into()), "content_types" => list(&["text/*", "application/json"])] => Ok(());
        min_size_int: ["min_size" => Value::Int(0)] => Ok(());
        unknown_algorithm: ["algorithms" => list(&["deflate"])] => Err("unknown algorithm");
        brotli: ["algorithms" => list(&["br"]), "brotli_level" => Value::Int(11)] => Ok(());
        brotli_alias: ["algorithms" => list(&["brotli", "gzip"])] => Ok(());
        brotli_twice: ["algorithms" => list(&["br", "brotli"])] => Err("listed twice");
        brotli_level_zero: ["brotli_level" => Value::Int(0)] => Ok(());
        brotli_level_range: ["brotli_level" => Value::Int(12)] => Err("from 0 to 11");
        brotli_level_type: ["brotli_level" => Value::Str("high".into())] => Err("brotli_level");
        empty_list: ["algorithms" => list(&[])] => Err("list at least one");
        twice: ["algorithms" => list(&["gzip", "gzip"])] => Err("listed twice");
        level_range: ["gzip_level" => Value::Int(10)] => Err("from 1 to 9");
        zero_level: ["zstd_level" => Value::Int(0)] => Err("from 1 to 22");
        bad_size: ["min_size" => Value::Str("1tb".into())] => Err("unknown size unit");
        not_a_type: ["content_types" => list(&["json"])] => Err("invalid content type");
        image: ["content_types" => list(&["image/png"])] => Err("does not compress");
        zip: ["content_types" => list(&["application/zip"])] => Err("does not compress");
        event_stream: ["content_types" => list(&["text/event-stream"])] => Err("is never compressed");
        typo: ["min_length" => Value::Int(1)] => Err("unknown option `min_length`");
    }

    macro_rules! chooses {
        ($($name:ident: $ae:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let all = [Coding::Zstd, Coding::Brotli, Coding::Gzip];
                assert_eq!(choose($ae, &all), $want);
            }
        )*};
    }

    chooses! {
        plain_gzip: "gzip" => Some(Coding::Gzip);
        order_breaks_ties: "gzip, br, zstd" => Some(Coding::Zstd);
        q_values: "gzip;q=1.0, br;q=0.5, zstd;q=0.1" => Some(Coding::Gzip);
        q_values_br: "gzip;q=0.5, br;q=0.9, zstd;q=0.6" => Some(Coding::Brotli);
        browser: "gzip, deflate, br" => Some(Coding::Brotli);
        br_beats_gzip_on_tie: "gzip, br" => Some(Coding::Brotli);
        q_zero_refuses: "zstd;q=0, br, gzip;q=0.2" => Some(Coding::Brotli);
        q_zero_refuses_br: "zstd;q=0, br;q=0, gzip;q=0.2" => Some(Coding::Gzip);
        star: "*" => Some(Coding::Zstd);
        star_with_refusal: "zstd;q=0, *;q=0.5" => Some(Coding::Brotli);
        star_with_two_refusals: "zstd;q=0, br;q=0, *;q=0.5" => Some(Coding::Gzip);
        identity_only: "identity" => None;
        all_refused: "gzip;q=0" => None;
        x_gzip: "x-gzip" => Some(Coding::Gzip);
        spaces_case: " GZIP ; Q=0.8 , Zstd;q=0.9" => Some(Coding::Zstd);
        plain_br: "br" => Some(Coding::Brotli);
        br_refused: "br;q=0, gzip;q=0.1" => Some(Coding::Gzip);
        brotli_is_not_a_token: "brotli" => None;
        garbage_q: "br;q=abc, gzip" => Some(Coding::Gzip);
    }

    fn resp(status: u16, headers: &[(&str, &str)]) -> ResponseHeader {
        let mut r = ResponseHeader::build(status, None).unwrap();
        for (n, v) in headers {
            r.append_header(n.to_string(), *v).unwrap();
        }
        r
    }

    #[test]
    fn eligibility() {
        let c = parse(vec![]).unwrap();
        let html = ("content-type", "text/html; charset=utf-8");
        assert!(c.eligible(&resp(200, &[html, ("content-length", "1000")])));
        assert!(c.eligible(&resp(404, &[html])), "unknown length: compressed");
        assert!(!c.eligible(&resp(200, &[html, ("content-length", "100")])), "tiny");
        assert!(!c.eligible(&resp(206, &[html])), "partial");
        assert!(!c.eligible(&resp(200, &[html, ("content-range", "bytes 0-9/100")])));
        assert!(!c.eligible(&resp(200, &[html, ("content-encoding", "gzip")])), "encoded");
        assert!(c.eligible(&resp(200, &[html, ("content-encoding", "identity")])));
        assert!(!c.eligible(&resp(200, &[html, ("cache-control", "public, no-transform")])));
        assert!(!c.eligible(&resp(200, &[("content-type", "image/png")])));
        assert!(!c.eligible(&resp(204, &[html])));
        assert!(!c.eligible(&resp(304, &[html])));
        assert!(c.eligible(&resp(200, &[("content-type", "application/json")])));
    }

    /// The request phase's choice for `accept_encoding` (the future is ready at once).
    fn choose_for(c: &Compression, method: &str, accept_encoding: &str) -> State {
        let mut header = RequestHeader::build(method, b"/", None).unwrap();
        header.insert_header("accept-encoding", accept_encoding).unwrap();
        let req = Request {
            header: &header,
            path: "/",
            query: None,
            peer: None,
            scheme: "http",
            host: "a",
        };
        let mut state = State::default();
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        {
            let mut f = std::pin::pin!(c.request(&req, &mut state));
            assert!(f.as_mut().poll(&mut cx).is_ready());
        }
        state
    }

    #[test]
    fn brotli_response_head_and_streamed_body() {
        let c = parse(vec![("brotli_level", Value::Int(5))]).unwrap();
        let mut state = choose_for(&c, "GET", "gzip, br");
        let body: Vec<u8> =
            (0..3000).flat_map(|i| format!("row {i} of a table\n").into_bytes()).collect();
        let mut r = resp(
            200,
            &[
                ("content-type", "text/html"),
                ("content-length", &body.len().to_string()),
                ("accept-ranges", "bytes"),
                ("etag", "\"abc\""),
            ],
        );
        c.response(&mut state, &mut r, None);
        let h = |n: &str| r.headers.get(n).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(h("content-encoding").as_deref(), Some("br"));
        assert_eq!(h("content-length"), None);
        assert_eq!(h("accept-ranges"), None);
        assert_eq!(h("transfer-encoding").as_deref(), Some("chunked"));
        assert_eq!(h("etag").as_deref(), Some("W/\"abc\""));
        assert_eq!(h("vary").as_deref(), Some("Accept-Encoding"));
        assert_eq!(state.body_coding(), Some("br"));
        let mut out = Vec::new();
        let chunks: Vec<&[u8]> = body.chunks(5000).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let mut b = Some(Bytes::copy_from_slice(chunk));
            state.response_body(&mut b, false).unwrap();
            assert!(b.as_ref().is_none_or(|b| !b.is_empty()), "chunk {i}: never an empty chunk");
            out.extend_from_slice(&b.unwrap_or_default());
        }
        let mut end = None;
        state.response_body(&mut end, true).unwrap();
        out.extend_from_slice(&end.expect("the end of the stream"));
        assert!(state.body_coding().is_none(), "the encoder is gone once the stream ended");
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(&mut brotli::Decompressor::new(&out[..], 4096), &mut decoded)
            .unwrap();
        assert_eq!(decoded, body);
        assert!(out.len() < body.len() / 4);
    }

    #[test]
    fn brotli_whole_body_in_one_call() {
        let c = parse(vec![]).unwrap();
        let mut state = choose_for(&c, "GET", "br");
        let mut r = resp(200, &[("content-type", "application/json"), ("etag", "bad")]);
        c.response(&mut state, &mut r, None);
        assert!(r.headers.get("etag").is_none(), "an invalid ETag is dropped");
        let body = "{\"k\": \"value value value value value value value value\"}".repeat(20);
        let mut b = Some(Bytes::from(body.clone()));
        state.response_body(&mut b, true).unwrap();
        let mut decoded = Vec::new();
        let enc = b.unwrap();
        std::io::Read::read_to_end(&mut brotli::Decompressor::new(&enc[..], 4096), &mut decoded)
            .unwrap();
        assert_eq!(decoded, body.as_bytes());
    }

    #[test]
    fn brotli_is_not_started_when_it_must_not_be() {
        let c = parse(vec![]).unwrap();
        let html = ("content-type", "text/html");
        // HEAD: no body; the response still varies.
        let mut state = choose_for(&c, "HEAD", "br");
        let mut r = resp(200, &[html]);
        c.response(&mut state, &mut r, None);
        assert!(state.body_coding().is_none() && r.headers.get("content-encoding").is_none());
        assert!(r.headers.get("vary").is_some());
        // Ineligible responses: no encoder, headers untouched.
        for headers in [
            vec![html, ("content-encoding", "gzip")],
            vec![html, ("cache-control", "no-transform")],
            vec![html, ("content-length", "10")],
            vec![("content-type", "image/png")],
        ] {
            let mut state = choose_for(&c, "GET", "br");
            let mut r = resp(200, &headers);
            c.response(&mut state, &mut r, None);
            assert!(state.body_coding().is_none(), "{headers:?}");
            assert!(r.headers.get("transfer-encoding").is_none());
        }
        for status in [101, 204, 206, 304] {
            let mut state = choose_for(&c, "GET", "br");
            let mut r = resp(status, &[html]);
            c.response(&mut state, &mut r, None);
            assert!(state.body_coding().is_none(), "{status}");
        }
        // Without a brotli choice, the body phase leaves bodies alone.
        let mut state = choose_for(&c, "GET", "identity");
        let mut b = Some(Bytes::from_static(b"plain"));
        state.response_body(&mut b, true).unwrap();
        assert_eq!(b.as_deref(), Some(&b"plain"[..]));
    }
}
