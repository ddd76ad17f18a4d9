//! `kind = "compression"`: gzip and zstd response compression by `Accept-Encoding`
//! q-values, done by pingora's own compression module (enabled per request).
//!
//! ```toml
//! [plugins.gzip]
//! kind = "compression"
//! algorithms = ["zstd", "gzip"]         # preference among equal q-values (default)
//! gzip_level = 6                        # 1..=9 (default 6)
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
//! streams it chunked, h2 in frames), sets `Content-Encoding` and weakens a strong `ETag`.
//! Responses the proxy writes itself (`return`, error pages of plugins) pass the same way.

use std::future::Future;

use http::header;
use pingora_core::{
    modules::http::{HttpModuleCtx, compression::ResponseCompression},
    protocols::http::compression::Algorithm,
};
use pingora_http::{RequestHeader, ResponseHeader};

use crate::{
    exchange::{Request, State, Verdict},
    plugin::{Phases, Plugin, add_vary},
    spec::{Options, Value},
};

pub(crate) const OPTIONS: &[&str] =
    &["algorithms", "gzip_level", "zstd_level", "min_size", "content_types"];

/// Default `gzip_level`.
pub const DEFAULT_GZIP_LEVEL: u32 = 6;
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

/// Why `br` is refused: pingora 0.9.1's brotli encoder ends a body with a flush instead of
/// the end of the stream (`CompressorWriter::flush`, never `finish`), so the last meta-block
/// is missing and strict decoders (browsers, curl, the brotli crate) reject the body.
const BROTLI_REFUSED: &str = "br is not offered: pingora 0.9.1's brotli encoder never ends the \
     stream (it flushes instead of finishing), so browsers and curl reject its bodies; use \
     zstd or gzip";

/// One configured coding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    Zstd,
}

impl Coding {
    fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Zstd => "zstd",
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            Coding::Gzip => Algorithm::Gzip,
            Coding::Zstd => Algorithm::Zstd,
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
    levels: [u32; 2],
    min_size: u64,
    types: Vec<TypeRule>,
    /// `Accept-Encoding: gzip`, `zstd`: fed to pingora's module for the coding chosen.
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
        Coding::Zstd => 1,
    }
}

impl Compression {
    pub(crate) fn parse(o: &mut Options<'_>) -> Compression {
        let mut codings = Vec::new();
        if o.has("algorithms") {
            for (k, s) in o.strings("algorithms") {
                let c = match s {
                    "gzip" => Coding::Gzip,
                    "br" | "brotli" => {
                        o.problem(k, BROTLI_REFUSED);
                        continue;
                    }
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
            codings = vec![Coding::Zstd, Coding::Gzip];
        }
        let level = |o: &mut Options<'_>, key: &str, max: i64, default: u32| {
            o.int(key, 1, max).map_or(default, |n| n as u32)
        };
        let levels = [
            level(o, "gzip_level", 9, DEFAULT_GZIP_LEVEL),
            level(o, "zstd_level", 22, DEFAULT_ZSTD_LEVEL),
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
        let requests: Vec<RequestHeader> = ["gzip", "zstd"]
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
        let Some(module) = modules.and_then(|m| m.get_mut::<ResponseCompression>()) else {
            tracing::warn!("compression: pingora's compression module is not installed");
            return;
        };
        if !module.is_header_phase() {
            return;
        }
        let coding = if i == 0 { Coding::Gzip } else { Coding::Zstd };
        module.adjust_level(0);
        module.adjust_algorithm_level(coding.algorithm(), self.levels[i]);
        module.adjust_decompression(false);
        if let Some(r) = self.requests.get(i) {
            module.request_filter(r);
        }
    }

    fn phases(&self) -> Phases {
        Phases { request: true, response: true, ..Phases::default() }
    }
}

#[cfg(test)]
mod tests {
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
        brotli_refused: ["algorithms" => list(&["br"])] => Err("br is not offered");
        twice: ["algorithms" => list(&["gzip", "gzip"])] => Err("listed twice");
        level_range: ["gzip_level" => Value::Int(10)] => Err("from 1 to 9");
        zero_level: ["zstd_level" => Value::Int(0)] => Err("from 1 to 22");
        bad_size: ["min_size" => Value::Str("1tb".into())] => Err("unknown size unit");
        not_a_type: ["content_types" => list(&["json"])] => Err("invalid content type");
        image: ["content_types" => list(&["image/png"])] => Err("does not compress");
        zip: ["content_types" => list(&["application/zip"])] => Err("does not compress");
        typo: ["min_length" => Value::Int(1)] => Err("unknown option `min_length`");
    }

    macro_rules! chooses {
        ($($name:ident: $ae:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let all = [Coding::Zstd, Coding::Gzip];
                assert_eq!(choose($ae, &all), $want);
            }
        )*};
    }

    chooses! {
        plain_gzip: "gzip" => Some(Coding::Gzip);
        order_breaks_ties: "gzip, br, zstd" => Some(Coding::Zstd);
        q_values: "gzip;q=1.0, br;q=0.5, zstd;q=0.1" => Some(Coding::Gzip);
        q_zero_refuses: "zstd;q=0, br, gzip;q=0.2" => Some(Coding::Gzip);
        star: "*" => Some(Coding::Zstd);
        star_with_refusal: "zstd;q=0, *;q=0.5" => Some(Coding::Gzip);
        identity_only: "identity" => None;
        all_refused: "gzip;q=0" => None;
        x_gzip: "x-gzip" => Some(Coding::Gzip);
        spaces_case: " GZIP ; Q=0.8 , Zstd;q=0.9" => Some(Coding::Zstd);
        br_is_not_offered: "br" => None;
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
}
