//! The input of a plugin: its kind and options as written, and the option reader every
//! kind parses with (collecting every problem, each naming its key).

use std::time::Duration;

/// One `[plugins.NAME]` as written: pylon-proxy maps the config onto it. Its `Debug`
/// shows secret options redacted ([`crate::redact_secret`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Spec {
    /// The instance name (the table name).
    pub name: String,
    /// The kind, e.g. `"ip_restriction"`.
    pub kind: String,
    /// The options in file order: `(key, value)`.
    pub options: Vec<(String, Value)>,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn shown(kind: &str, key: &str, v: &Value) -> Value {
            match v {
                Value::Str(s) => Value::Str(crate::redact_secret(kind, key, s)),
                Value::List(l) => Value::List(l.iter().map(|v| shown(kind, key, v)).collect()),
                other => other.clone(),
            }
        }
        let options: Vec<(&str, Value)> = self
            .options
            .iter()
            .map(|(k, v)| {
                let v = if crate::is_secret_option(&self.kind, k) {
                    shown(&self.kind, k, v)
                } else {
                    v.clone()
                };
                (k.as_str(), v)
            })
            .collect();
        f.debug_struct("Spec")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("options", &options)
            .finish()
    }
}

/// An option value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Value {
    /// A string.
    Str(String),
    /// A whole number.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// An array of values.
    List(Vec<Value>),
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "a whole number",
            Value::Bool(_) => "a boolean",
            Value::List(_) => "an array",
        }
    }
}

/// A problem with a plugin's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The offending key in the plugin table: `"kind"`, `"allow"`, `"allow[2]"`, or `""`
    /// for the table as a whole.
    pub key: String,
    /// Byte offset inside a string value (0 = the whole value).
    pub offset: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem { key: key.into(), offset: 0, message: message.into() }
    }
}

/// The allowed word closest to `name` by edit distance, if close enough to be a typo.
pub(crate) fn suggest<'k>(name: &str, allowed: &[&'k str]) -> Option<&'k str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    }
    allowed
        .iter()
        .map(|a| (distance(name, a), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

/// Reads the options of one plugin: unknown keys are reported (with a suggestion) on
/// creation; each getter reports a wrong type or value at its key.
pub(crate) struct Options<'a> {
    spec: &'a Spec,
    pub(crate) problems: Vec<Problem>,
}

impl<'a> Options<'a> {
    pub(crate) fn new(spec: &'a Spec, allowed: &[&str]) -> Options<'a> {
        let mut problems = Vec::new();
        for (k, _) in &spec.options {
            if !allowed.contains(&k.as_str()) {
                let hint = match suggest(k, allowed) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if allowed.is_empty() => format!("kind {} takes no options", spec.kind),
                    None => format!("{} takes: {}", spec.kind, allowed.join(", ")),
                };
                problems.push(Problem::new(k.as_str(), format!("unknown option `{k}`; {hint}")));
            }
        }
        Options { spec, problems }
    }

    /// The plugin's instance name (for logs).
    pub(crate) fn name(&self) -> &'a str {
        &self.spec.name
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.spec.options.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub(crate) fn problem(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(key, message));
    }

    fn wrong(&mut self, key: &str, v: &Value, want: &str) {
        self.problem(key, format!("expected {want}, found {}", v.type_name()));
    }

    pub(crate) fn string(&mut self, key: &str) -> Option<&'a str> {
        match self.get(key)? {
            Value::Str(s) => Some(s),
            v => {
                self.wrong(key, v, "a string");
                None
            }
        }
    }

    pub(crate) fn bool(&mut self, key: &str, default: bool) -> bool {
        match self.get(key) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                self.wrong(key, v, "true or false");
                default
            }
        }
    }

    /// A whole number in `min..=max`.
    pub(crate) fn int(&mut self, key: &str, min: i64, max: i64) -> Option<i64> {
        match self.get(key)? {
            Value::Int(n) if (min..=max).contains(n) => Some(*n),
            Value::Int(n) => {
                self.problem(
                    key,
                    format!("expected a whole number from {min} to {max}, found {n}"),
                );
                None
            }
            v => {
                self.wrong(key, v, "a whole number");
                None
            }
        }
    }

    /// An array of strings (a single string counts as a one-element array); each element
    /// with its key (`key[i]`, or `key` for a single string).
    pub(crate) fn strings(&mut self, key: &str) -> Vec<(String, &'a str)> {
        match self.get(key) {
            None => Vec::new(),
            Some(Value::Str(s)) => vec![(key.to_owned(), s.as_str())],
            Some(Value::List(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let k = format!("{key}[{i}]");
                    match item {
                        Value::Str(s) => out.push((k, s.as_str())),
                        v => self.wrong(&k, v, "a string"),
                    }
                }
                out
            }
            Some(v) => {
                self.wrong(key, v, "an array of strings");
                Vec::new()
            }
        }
    }

    /// A duration such as `"500ms"`, `"30s"`, `"5m"`, `"1h"` (units ms s m h d, combinable).
    pub(crate) fn duration(&mut self, key: &str) -> Option<Duration> {
        if let Some(Value::Int(n)) = self.get(key) {
            self.problem(key, format!("durations need a unit: write \"{n}s\" or \"{n}ms\""));
            return None;
        }
        let s = self.string(key)?;
        match duration(s) {
            Ok(d) => Some(d),
            Err(m) => {
                self.problem(key, m);
                None
            }
        }
    }

    pub(crate) fn finish<T>(self, value: T) -> Result<T, Vec<Problem>> {
        if self.problems.is_empty() { Ok(value) } else { Err(self.problems) }
    }
}

/// `"500ms"`, `"3s"`, `"5m"`, `"1h"`, `"1d"`, combinations such as `"1m30s"`, and `"0"`.
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    const HINT: &str = "expected a number followed by ms, s, m, h or d, e.g. \"30s\"";
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    if t.is_empty() {
        return Err(format!("empty duration; {HINT}"));
    }
    let mut millis: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (num, after) = rest.split_at(digits);
        let ulen = after.len() - after.trim_start_matches(|c: char| c.is_ascii_alphabetic()).len();
        let (unit, after) = after.split_at(ulen);
        let scale: u64 = match unit {
            _ if digits == 0 => return Err(format!("invalid duration \"{t}\": {HINT}")),
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => return Err(format!("duration \"{t}\" lacks a unit; {HINT}")),
            _ => return Err(format!("unknown duration unit \"{unit}\"; {HINT}")),
        };
        let part = num.parse::<u64>().ok().and_then(|n| n.checked_mul(scale));
        millis = part
            .and_then(|p| millis.checked_add(p))
            .ok_or_else(|| format!("duration \"{t}\" is too large"))?;
        rest = after;
    }
    Ok(Duration::from_millis(millis))
}

/// `"512"`, `"64kb"`, `"1mb"`, `"1gb"` (case-insensitive, 1kb = 1024).
pub(crate) fn size(s: &str) -> Result<u64, String> {
    const HINT: &str = "expected a number with an optional unit b, kb, mb or gb, e.g. \"1kb\"";
    let t = s.trim();
    let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return Err(format!("invalid size \"{t}\": {HINT}"));
    }
    let (num, unit) = t.split_at(digits);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        other => return Err(format!("unknown size unit \"{other}\"; {HINT}")),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("size \"{t}\" is too large"))
}

/// Whether `s` is an HTTP token (RFC 9110 `tchar`s): a valid header or method name.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(duration("30").unwrap_err().contains("lacks a unit"));
        assert!(duration("3x").unwrap_err().contains("unknown duration unit"));
    }

    #[test]
    fn unknown_options_suggest_the_nearest() {
        let spec = Spec {
            name: "x".into(),
            kind: "ip_restriction".into(),
            options: vec![("alow".into(), Value::List(vec![]))],
        };
        let o = Options::new(&spec, &["allow", "deny"]);
        assert_eq!(o.problems.len(), 1);
        assert_eq!(o.problems[0].key, "alow");
        assert!(o.problems[0].message.contains("did you mean `allow`?"), "{:?}", o.problems);
    }
}
