//! The template: parsing, rendering and its text form.

use std::fmt;

/// A variable (SPEC §3, the names nginx uses).
///
/// Not `#[non_exhaustive]` on purpose: pylon-proxy renders every variable, and a new one must
/// fail to compile there until it is given a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Var {
    /// `$host`: the request's host, lower case, without the port.
    Host,
    /// `$scheme`: `http` or `https`.
    Scheme,
    /// `$remote_addr`: the client's IP address.
    RemoteAddr,
    /// `$remote_port`: the client's port.
    RemotePort,
    /// `$server_addr`: the IP address the request came in on.
    ServerAddr,
    /// `$server_port`: the port the request came in on.
    ServerPort,
    /// `$request_id`: 32 hex digits, unique per request.
    RequestId,
    /// `$upstream_addr`: the peer chosen (empty before one is).
    UpstreamAddr,
    /// `$proxy_add_x_forwarded_for`: the request's `X-Forwarded-For` plus `, $remote_addr`.
    ProxyAddXForwardedFor,
    /// `$request_uri`: the normal path and the query.
    RequestUri,
    /// `$uri`: the normal path, without the query.
    Uri,
    /// `$args`: the query, without `?`.
    Args,
    /// `$request_method`: `GET`, `POST`, …
    RequestMethod,
    /// `$http_NAME`: request header `NAME`, `_` read as `-`. Holds the field name in lower
    /// case (`$http_User_Agent` → `user-agent`), a valid `token` (RFC 9110 §5.1).
    Http(String),
}

/// The plain variables, by name.
const NAMED: &[(&str, Var)] = &[
    ("host", Var::Host),
    ("scheme", Var::Scheme),
    ("remote_addr", Var::RemoteAddr),
    ("remote_port", Var::RemotePort),
    ("server_addr", Var::ServerAddr),
    ("server_port", Var::ServerPort),
    ("request_id", Var::RequestId),
    ("upstream_addr", Var::UpstreamAddr),
    ("proxy_add_x_forwarded_for", Var::ProxyAddXForwardedFor),
    ("request_uri", Var::RequestUri),
    ("uri", Var::Uri),
    ("args", Var::Args),
    ("request_method", Var::RequestMethod),
];

impl Var {
    /// The variable called `name` (without the `$`), if there is one.
    pub fn parse(name: &str) -> Option<Var> {
        if let Some((_, v)) = NAMED.iter().find(|(n, _)| *n == name) {
            return Some(v.clone());
        }
        let field = name.strip_prefix("http_")?;
        let field: String = field
            .bytes()
            .map(|b| char::from(if b == b'_' { b'-' } else { b.to_ascii_lowercase() }))
            .collect();
        (!field.is_empty() && field.bytes().all(is_tchar)).then_some(Var::Http(field))
    }

    /// Every variable name, `$`-prefixed, for error messages.
    pub fn known() -> String {
        let mut names: Vec<String> = NAMED.iter().map(|(n, _)| format!("${n}")).collect();
        names.push("$http_NAME".to_owned());
        names.join(" ")
    }
}

/// `$name`, in the braced form when the name needs it (`${http_a.b}`).
impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Var::Http(field) => {
                let name = field.replace('-', "_");
                if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    write!(f, "$http_{name}")
                } else {
                    write!(f, "${{http_{name}}}")
                }
            }
            v => {
                let name = NAMED.iter().find(|(_, n)| n == v).map_or("", |(n, _)| n);
                write!(f, "${name}")
            }
        }
    }
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `${` without a closing `}`.
    #[error("unclosed `${{` in {text:?}; write `${{name}}`")]
    Unclosed {
        /// The whole template.
        text: String,
        /// Byte offset of the `$`.
        at: usize,
    },
    /// A `$` that names no variable.
    #[error("unknown variable `${name}` (known: {})", Var::known())]
    Unknown {
        /// The name after the `$` (maybe empty).
        name: String,
        /// Byte offset of the `$`.
        at: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Var(Var),
}

/// A text with `$variables`, split once into literal and variable segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

impl Template {
    /// Parses `text` (see the crate docs for the syntax).
    ///
    /// # Errors
    /// [`Error::Unclosed`] for a `${` without `}`, [`Error::Unknown`] for a `$` that names no
    /// [`Var`], each with the byte offset of the `$`.
    pub fn parse(text: &str) -> Result<Template, Error> {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(pos) = rest.find('$') {
            literal.push_str(&rest[..pos]);
            let at = text.len() - rest.len() + pos;
            let after = &rest[pos + 1..];
            let (name, consumed) = match after.strip_prefix('{') {
                Some(inner) => match inner.find('}') {
                    Some(end) => (&inner[..end], end + 2),
                    None => return Err(Error::Unclosed { text: text.to_owned(), at }),
                },
                None => {
                    let len = after
                        .bytes()
                        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                        .count();
                    (&after[..len], len)
                }
            };
            let var =
                Var::parse(name).ok_or_else(|| Error::Unknown { name: name.to_owned(), at })?;
            if !literal.is_empty() {
                segments.push(Segment::Literal(std::mem::take(&mut literal)));
            }
            segments.push(Segment::Var(var));
            rest = &after[consumed..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Ok(Template { segments })
    }

    /// The text when the template has no variables.
    pub fn fixed(&self) -> Option<&str> {
        match self.segments.as_slice() {
            [] => Some(""),
            [Segment::Literal(s)] => Some(s),
            _ => None,
        }
    }

    /// Whether the template uses `var`.
    pub fn uses(&self, var: &Var) -> bool {
        self.segments.iter().any(|s| matches!(s, Segment::Var(v) if v == var))
    }

    /// Appends the rendered text to `out`: literals as they are, each variable as `value`
    /// writes it.
    pub fn render(&self, out: &mut String, mut value: impl FnMut(&Var, &mut String)) {
        for seg in &self.segments {
            match seg {
                Segment::Literal(s) => out.push_str(s),
                Segment::Var(v) => value(v, out),
            }
        }
    }
}

/// A template text that parses back to this template: literals as they are, variables in
/// braces (`${host}`), so following text never extends a name.
impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for seg in &self.segments {
            match seg {
                Segment::Literal(s) => f.write_str(s)?,
                Segment::Var(v) => {
                    let name = v.to_string();
                    let bare = name.trim_start_matches('$').trim_start_matches('{');
                    write!(f, "${{{}}}", bare.trim_end_matches('}'))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: &str) -> String {
        let mut out = String::new();
        Template::parse(t).unwrap().render(&mut out, |v, out| out.push_str(&format!("<{v}>")));
        out
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
        one: "$host" => "<$host>";
        in_text: "proto=$scheme;" => "proto=<$scheme>;";
        adjacent: "a$host$scheme" => "a<$host><$scheme>";
        braced: "${host}x${scheme}" => "<$host>x<$scheme>";
        http_field: "$http_User_Agent" => "<$http_user_agent>";
        http_braced_dot: "${http_x.y}" => "<${http_x.y}>";
        non_ascii_literal: "é$host€" => "é<$host>€";
    }

    #[test]
    fn errors_name_the_variable_and_its_offset() {
        assert_eq!(Template::parse("ab$nope"), Err(Error::Unknown { name: "nope".into(), at: 2 }));
        assert_eq!(Template::parse("$hostx"), Err(Error::Unknown { name: "hostx".into(), at: 0 }));
        assert_eq!(Template::parse("$"), Err(Error::Unknown { name: String::new(), at: 0 }));
        assert_eq!(Template::parse("x$http_"), Err(Error::Unknown { name: "http_".into(), at: 1 }));
        assert_eq!(
            Template::parse("${http_a b}"),
            Err(Error::Unknown { name: "http_a b".into(), at: 0 })
        );
        assert!(matches!(Template::parse("a${host"), Err(Error::Unclosed { at: 1, .. })));
        let msg = Template::parse("$nope").unwrap_err().to_string();
        assert!(msg.contains("unknown variable `$nope`") && msg.contains("$http_NAME"), "{msg}");
    }

    #[test]
    fn fixed_and_uses() {
        assert_eq!(Template::parse("plain").unwrap().fixed(), Some("plain"));
        assert_eq!(Template::parse("").unwrap().fixed(), Some(""));
        let t = Template::parse("id=$request_id").unwrap();
        assert_eq!(t.fixed(), None);
        assert!(t.uses(&Var::RequestId));
        assert!(!t.uses(&Var::Host));
    }

    #[test]
    fn display_parses_back() {
        for t in ["a$host${scheme}b", "${http_x.y}z", "$http_user_agent-", "", "no vars"] {
            let parsed = Template::parse(t).unwrap();
            assert_eq!(Template::parse(&parsed.to_string()).unwrap(), parsed, "{t}");
        }
    }
}
