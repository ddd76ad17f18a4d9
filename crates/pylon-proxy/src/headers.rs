//! Header programs: the `proxy_*_headers` / `response_*_headers` directives of a
//! location, compiled once into header names and value templates with variables.

use std::{fmt::Write as _, net::SocketAddr};

use http::{HeaderName, HeaderValue};
use pingora::http::{RequestHeader, ResponseHeader};
use pylon_vars::Var;

/// A text with `$variables` (a header value, a `return` body or URL): pylon-vars parses
/// it once, [`Vars`] gives each variable its value per request.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    template: pylon_vars::Template,
    needs_request_id: bool,
}

impl Template {
    pub(crate) fn parse(text: &str) -> Result<Template, String> {
        let template = pylon_vars::Template::parse(text).map_err(|e| e.to_string())?;
        let needs_request_id = template.uses(&Var::RequestId);
        Ok(Template { template, needs_request_id })
    }

    /// The text when it has no variables.
    pub(crate) fn fixed(&self) -> Option<&str> {
        self.template.fixed()
    }

    pub(crate) fn needs_request_id(&self) -> bool {
        self.needs_request_id
    }

    pub(crate) fn render(&self, vars: &Vars<'_>) -> String {
        let mut out = String::with_capacity(64);
        self.template.render(&mut out, |var, out| vars.write(var, out));
        out
    }
}

/// A header value with `$variables`.
#[derive(Debug, Clone)]
pub(crate) struct ValueTemplate {
    template: Template,
    /// The value when it has no variables: built once, cloned per request (a refcount bump).
    fixed: Option<HeaderValue>,
    needs_request_id: bool,
}

impl ValueTemplate {
    pub(crate) fn parse(text: &str) -> Result<ValueTemplate, String> {
        let template = Template::parse(text)?;
        let fixed = match template.fixed() {
            Some(s) => {
                Some(HeaderValue::from_str(s).map_err(|_| format!("invalid header value {s:?}"))?)
            }
            None => None,
        };
        let needs_request_id = template.needs_request_id;
        Ok(ValueTemplate { template, fixed, needs_request_id })
    }

    pub(crate) fn needs_request_id(&self) -> bool {
        self.needs_request_id
    }

    pub(crate) fn render(&self, vars: &Vars<'_>) -> Option<HeaderValue> {
        if let Some(v) = &self.fixed {
            return Some(v.clone());
        }
        HeaderValue::from_str(&self.template.render(vars)).ok()
    }
}

/// The per-request values variables are taken from.
#[derive(Debug)]
pub(crate) struct Vars<'a> {
    /// nginx's `$host`: lower case, no port.
    pub(crate) host: std::borrow::Cow<'a, str>,
    pub(crate) scheme: &'a str,
    pub(crate) client: Option<SocketAddr>,
    pub(crate) server: Option<SocketAddr>,
    pub(crate) request_id: &'a str,
    pub(crate) upstream: Option<SocketAddr>,
    /// The path routing matched (`$uri`).
    pub(crate) uri: &'a str,
    /// The downstream request (`$http_NAME`, X-Forwarded-For, `$request_uri`, `$args`,
    /// `$request_method`).
    pub(crate) request: &'a RequestHeader,
}

impl Vars<'_> {
    fn write(&self, var: &Var, out: &mut String) {
        match var {
            Var::Host => out.push_str(&self.host),
            Var::Scheme => out.push_str(self.scheme),
            Var::RemoteAddr => push_ip(out, self.client),
            Var::RemotePort => push_port(out, self.client),
            Var::ServerAddr => push_ip(out, self.server),
            Var::ServerPort => push_port(out, self.server),
            Var::RequestId => out.push_str(self.request_id),
            Var::UpstreamAddr => {
                if let Some(a) = self.upstream {
                    let _ = write!(out, "{a}");
                }
            }
            Var::ProxyAddXForwardedFor => {
                // Every X-Forwarded-For line is one list (RFC 9110 §5.3).
                if push_all(out, self.request, "x-forwarded-for", ", ") {
                    out.push_str(", ");
                }
                push_ip(out, self.client);
            }
            Var::RequestUri => {
                out.push_str(self.request.uri.path_and_query().map_or("/", |p| p.as_str()))
            }
            Var::Uri => out.push_str(self.uri),
            Var::Args => out.push_str(self.request.uri.query().unwrap_or("")),
            Var::RequestMethod => out.push_str(self.request.method.as_str()),
            Var::Http(name) => {
                // nginx joins repeated Cookie lines with "; " (RFC 6265 §5.4), others with ", ".
                let sep = if name.eq_ignore_ascii_case("cookie") { "; " } else { ", " };
                push_all(out, self.request, name, sep);
            }
        }
    }
}

/// Every value of request header `name`, in order, joined by `sep`; whether any was.
fn push_all(out: &mut String, req: &RequestHeader, name: &str, sep: &str) -> bool {
    let mut any = false;
    for v in req.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()) {
        if any {
            out.push_str(sep);
        }
        out.push_str(v);
        any = true;
    }
    any
}

fn push_ip(out: &mut String, addr: Option<SocketAddr>) {
    if let Some(a) = addr {
        let _ = write!(out, "{}", a.ip());
    }
}

fn push_port(out: &mut String, addr: Option<SocketAddr>) {
    if let Some(a) = addr {
        let _ = write!(out, "{}", a.port());
    }
}

#[derive(Debug, Clone)]
struct HeaderOp {
    name: HeaderName,
    value: ValueTemplate,
}

/// One direction's header directives: remove, then set (replace), then add (append),
/// in that order — nginx's `proxy_set_header` replaces, `add_header` appends.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeaderProgram {
    set: Vec<HeaderOp>,
    add: Vec<HeaderOp>,
    remove: Vec<HeaderName>,
}

impl HeaderProgram {
    /// Compile from `(name, value)` pairs; errors name the offending header.
    pub(crate) fn compile(
        set: &[(String, String)],
        add: &[(String, String)],
        remove: &[String],
    ) -> Result<HeaderProgram, String> {
        let ops = |list: &[(String, String)]| -> Result<Vec<HeaderOp>, String> {
            list.iter()
                .map(|(n, v)| {
                    let name = HeaderName::from_bytes(n.as_bytes())
                        .map_err(|_| format!("invalid header name {n:?}"))?;
                    let value = ValueTemplate::parse(v).map_err(|e| format!("{n}: {e}"))?;
                    Ok(HeaderOp { name, value })
                })
                .collect()
        };
        let remove = remove
            .iter()
            .map(|n| {
                HeaderName::from_bytes(n.as_bytes())
                    .map_err(|_| format!("invalid header name {n:?}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(HeaderProgram { set: ops(set)?, add: ops(add)?, remove })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.set.is_empty() && self.add.is_empty() && self.remove.is_empty()
    }

    pub(crate) fn needs_request_id(&self) -> bool {
        self.set.iter().chain(&self.add).any(|op| op.value.needs_request_id)
    }

    pub(crate) fn apply_request(&self, req: &mut RequestHeader, vars: &Vars<'_>) {
        for name in &self.remove {
            req.remove_header(name);
        }
        for op in &self.set {
            if let Some(v) = op.value.render(vars) {
                let _ = req.insert_header(op.name.clone(), v);
            }
        }
        for op in &self.add {
            if let Some(v) = op.value.render(vars) {
                let _ = req.append_header(op.name.clone(), v);
            }
        }
    }

    pub(crate) fn apply_response(&self, resp: &mut ResponseHeader, vars: &Vars<'_>) {
        for name in &self.remove {
            resp.remove_header(name);
        }
        for op in &self.set {
            if let Some(v) = op.value.render(vars) {
                let _ = resp.insert_header(op.name.clone(), v);
            }
        }
        for op in &self.add {
            if let Some(v) = op.value.render(vars) {
                let _ = resp.append_header(op.name.clone(), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RequestHeader {
        let mut r = RequestHeader::build("GET", b"/x?a=1&b=2", None).unwrap();
        r.insert_header("User-Agent", "curl/8").unwrap();
        r.insert_header("X-Forwarded-For", "10.0.0.1").unwrap();
        r.append_header("X-Forwarded-For", "10.0.0.3").unwrap();
        r.append_header("X-Multi", "a").unwrap();
        r.append_header("X-Multi", "b").unwrap();
        r.append_header("Cookie", "a=1").unwrap();
        r.append_header("Cookie", "b=2").unwrap();
        r
    }

    fn render(t: &str) -> String {
        let req = request();
        let vars = Vars {
            host: "example.com".into(),
            scheme: "https",
            client: Some("127.0.0.2:5555".parse().unwrap()),
            server: Some("127.0.0.1:6188".parse().unwrap()),
            request_id: "abc",
            upstream: Some("127.0.0.1:8001".parse().unwrap()),
            uri: "/x",
            request: &req,
        };
        let v = ValueTemplate::parse(t).unwrap().render(&vars).unwrap();
        v.to_str().unwrap().to_owned()
    }

    macro_rules! renders {
        ($($name:ident: $tpl:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() { assert_eq!(render($tpl), $want); }
        )*};
    }

    renders! {
        literal: "pylon" => "pylon";
        empty: "" => "";
        host: "$host" => "example.com";
        scheme: "proto=$scheme" => "proto=https";
        remote: "$remote_addr:$remote_port" => "127.0.0.2:5555";
        server: "$server_addr:$server_port" => "127.0.0.1:6188";
        request_id: "id-$request_id-end" => "id-abc-end";
        upstream: "$upstream_addr" => "127.0.0.1:8001";
        xff_appends: "$proxy_add_x_forwarded_for" => "10.0.0.1, 10.0.0.3, 127.0.0.2";
        http_header_lines_are_one_list: "$http_x_multi" => "a, b";
        http_cookie_lines_join_with_semicolons: "$http_cookie" => "a=1; b=2";
        http_header: "$http_user_agent" => "curl/8";
        http_missing: "[$http_x_missing]" => "[]";
        adjacent_variables: "a$host$scheme" => "aexample.comhttps";
        braced: "${host}x${scheme}" => "example.comxhttps";
        request_line: "$request_method $request_uri|$uri|$args" => "GET /x?a=1&b=2|/x|a=1&b=2";
    }

    #[test]
    fn unknown_variable_is_an_error() {
        let e = ValueTemplate::parse("$nope").unwrap_err();
        assert!(e.contains("unknown variable `$nope`"), "{e}");
        assert!(ValueTemplate::parse("$").is_err());
        assert!(ValueTemplate::parse("$http_").is_err());
    }

    #[test]
    fn program_removes_then_sets_then_adds() {
        let p = HeaderProgram::compile(
            &[("X-A".into(), "set".into())],
            &[("X-A".into(), "added".into())],
            &["Cookie".into()],
        )
        .unwrap();
        let mut req = request();
        req.insert_header("Cookie", "a=b").unwrap();
        req.insert_header("X-A", "old").unwrap();
        let vars_req = request();
        let vars = Vars {
            host: "h".into(),
            scheme: "http",
            client: None,
            server: None,
            request_id: "",
            upstream: None,
            uri: "/x",
            request: &vars_req,
        };
        p.apply_request(&mut req, &vars);
        assert!(req.headers.get("cookie").is_none());
        let values: Vec<_> = req.headers.get_all("x-a").iter().collect();
        assert_eq!(values, ["set", "added"]);
    }
}
