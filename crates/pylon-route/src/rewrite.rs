//! Path rewrite: `"REGEX REPLACEMENT"`.

use regex::Regex;

use crate::Error;

/// A compiled path rewrite.
///
/// The first match of the regex in the path is replaced by the replacement, the rest of the
/// path is kept (as pingap does, and as `regex::Regex::replace` does). With a fully anchored
/// regex like `^/api/(.*)$` this is the same as nginx's `rewrite`, whose result is the
/// replacement alone. The replacement may use `$1`, `${1}`, `$name`, `${name}` and `$$`
/// (a literal `$`); a reference to a group the regex does not have is an error, and `$1a`
/// means the group *named* `1a`, so write `${1}a`.
#[derive(Debug, Clone)]
pub struct Rewrite {
    regex: Regex,
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Group(usize),
}

impl Rewrite {
    /// Parses `"REGEX REPLACEMENT"`: split at the first run of whitespace (leading and
    /// trailing whitespace ignored). Both halves are required; to strip a prefix write
    /// `"^/api /"`.
    pub fn parse(spec: &str) -> Result<Rewrite, Error> {
        let trimmed = spec.trim();
        let Some((regex, replacement)) = trimmed.split_once(char::is_whitespace) else {
            return Err(Error::Rewrite {
                spec: spec.to_owned(),
                hint:
                    "expected \"REGEX REPLACEMENT\" separated by a space, e.g. \"^/api/(.*)$ /$1\""
                        .to_owned(),
            });
        };
        Self::build(spec, regex, replacement.trim_start())
    }

    /// Compiles a rewrite from its two halves.
    pub fn new(regex: &str, replacement: &str) -> Result<Rewrite, Error> {
        Self::build(&format!("{regex} {replacement}"), regex, replacement)
    }

    fn build(spec: &str, pattern: &str, replacement: &str) -> Result<Rewrite, Error> {
        let regex = Regex::new(pattern).map_err(|source| Error::RewriteRegex {
            spec: spec.to_owned(),
            pattern: pattern.to_owned(),
            source,
        })?;
        let parts = compile_replacement(&regex, replacement)
            .map_err(|hint| Error::Rewrite { spec: spec.to_owned(), hint })?;
        Ok(Rewrite { regex, parts })
    }

    /// The rewritten path, or `None` when the regex does not match (keep the path as it is).
    /// The result always starts with `/` (SPEC §4): one is prepended when missing.
    pub fn apply(&self, path: &str) -> Option<String> {
        let caps = self.regex.captures(path)?;
        let whole = caps.get(0)?;
        let mut out = String::with_capacity(path.len() + 16);
        out.push_str(&path[..whole.start()]);
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Group(i) => out.push_str(caps.get(*i).map_or("", |m| m.as_str())),
            }
        }
        out.push_str(&path[whole.end()..]);
        if !out.starts_with('/') {
            out.insert(0, '/');
        }
        Some(out)
    }

    /// Rewrites the path part of `path?query` and keeps `?query` verbatim. When the new path
    /// itself carries a query (replacement `/new?x=$1`), the original query is appended to it
    /// after `&`, as nginx does.
    pub fn apply_uri(&self, path_and_query: &str) -> Option<String> {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        let mut out = self.apply(path)?;
        if let Some(query) = query {
            if !out.contains('?') {
                out.push('?');
            } else if !query.is_empty() {
                out.push('&');
            }
            out.push_str(query);
        }
        Some(out)
    }
}

/// Splits a replacement into literal text and group references, checking each reference.
fn compile_replacement(regex: &Regex, replacement: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut rest = replacement;
    while let Some(pos) = rest.find('$') {
        lit.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            lit.push('$');
            rest = after;
            continue;
        }
        let (name, braced) = if let Some(inner) = rest.strip_prefix('{') {
            let Some(end) = inner.find('}') else {
                return Err(format!(
                    "`${{` without a closing `}}` in `{replacement}`; write `${{1}}` or `${{name}}`, or `$$` for a literal `$`"
                ));
            };
            rest = &inner[end + 1..];
            (&inner[..end], true)
        } else {
            let len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
            let name = &rest[..len];
            rest = &rest[len..];
            (name, false)
        };
        if name.is_empty() && !braced {
            lit.push('$'); // a lone `$` is literal, as in `regex`
            continue;
        }
        let group = match name.parse::<usize>() {
            Ok(n) if n < regex.captures_len() => n,
            Ok(n) => {
                return Err(format!(
                    "`${n}` refers to group {n} but the regex has {} capture group(s)",
                    regex.captures_len() - 1
                ));
            }
            Err(_) => match regex.capture_names().position(|n| n == Some(name)) {
                Some(i) => i,
                None => {
                    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
                    let hint = if digits > 0 && !braced {
                        format!(
                            "; to follow group {} with text write `${{{}}}{}`",
                            &name[..digits],
                            &name[..digits],
                            &name[digits..]
                        )
                    } else {
                        String::new()
                    };
                    return Err(format!("the regex has no group named `{name}`{hint}"));
                }
            },
        };
        if !lit.is_empty() {
            parts.push(Part::Literal(std::mem::take(&mut lit)));
        }
        parts.push(Part::Group(group));
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        parts.push(Part::Literal(lit));
    }
    Ok(parts)
}
