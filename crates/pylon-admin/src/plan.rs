//! The plan of a config change: validation, a text diff, a semantic diff derived from the
//! two models, whether listeners change, and the impact on recent requests. Pure: the
//! inputs come from the backend (or, for `pylon plan` without a running instance, from the
//! command line).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::backend::{Checked, Diagnostic, Impact};

/// Sections of the model whose entries are named tables (`[upstreams.NAME]` …).
const NAMED: [&str; 5] = ["servers", "locations", "upstreams", "certificates", "plugins"];
/// Sections that are single tables.
const SINGLE: [&str; 2] = ["basic", "admin"];
/// Server keys a running listener cannot change in place.
const LISTENER_KEYS: [&str; 5] = ["addr", "tls", "tls_cert", "tls_key", "enable_h2"];

/// What applying a candidate config would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// No errors: it can be applied.
    pub valid: bool,
    /// Every error, as `pylon check` reports them.
    pub errors: Vec<Diagnostic>,
    /// Lints.
    pub warnings: Vec<Diagnostic>,
    /// Version of the configuration compared against.
    pub base_version: String,
    /// Version of the candidate.
    pub candidate_version: String,
    /// Unified diff, base → candidate.
    pub text_diff: String,
    /// Tables added, removed or changed (with the keys that changed).
    pub changes: Vec<Change>,
    /// Listeners, certificates or threads change: applied by a graceful upgrade (a successor
    /// process takes the sockets over) instead of an in-place swap.
    pub upgrade: bool,
    /// The effect on recent requests; `None` without a running proxy to ask.
    pub impact: Option<Impact>,
    /// Anything else worth knowing before applying.
    pub notes: Vec<String>,
}

/// One table that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// `servers`, `locations`, `upstreams`, `certificates`, `basic` or `admin`.
    pub section: String,
    /// The table name (`""` for `basic` and `admin`).
    pub name: String,
    /// `added`, `removed` or `changed`.
    pub kind: ChangeKind,
    /// For `changed`: the keys whose values differ.
    pub keys: Vec<String>,
}

/// How a table differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Only in the candidate.
    Added,
    /// Only in the base.
    Removed,
    /// In both, with different values.
    Changed,
}

/// The base a plan compares against.
#[derive(Debug, Clone)]
pub struct Base<'a> {
    /// Its text.
    pub text: &'a str,
    /// Its version.
    pub version: String,
    /// Its model as JSON (`Value::Null` when there is no base).
    pub model: &'a Value,
}

/// Build the plan of replacing `base` with `candidate` (already validated into `checked`).
pub fn build(
    base: &Base<'_>,
    candidate: &str,
    candidate_version: String,
    checked: Checked,
) -> Plan {
    let text_diff = similar::TextDiff::from_lines(base.text, candidate)
        .unified_diff()
        .context_radius(3)
        .header("running", "candidate")
        .to_string();
    let changes = match &checked.model {
        Some(model) => semantic_diff(base.model, model),
        None => Vec::new(),
    };
    let upgrade = changes.iter().any(needs_upgrade);
    let mut notes = Vec::new();
    if base.text == candidate {
        notes.push("the candidate is the running configuration: nothing would change".to_owned());
    }
    Plan {
        valid: checked.errors.is_empty(),
        errors: checked.errors,
        warnings: checked.warnings,
        base_version: base.version.clone(),
        candidate_version,
        text_diff,
        changes,
        upgrade,
        impact: checked.impact,
        notes,
    }
}

fn needs_upgrade(c: &Change) -> bool {
    match (c.section.as_str(), c.kind) {
        ("servers", ChangeKind::Added | ChangeKind::Removed) => true,
        ("servers", ChangeKind::Changed) => c.keys.iter().any(|k| LISTENER_KEYS.contains(&&**k)),
        ("certificates", _) => true,
        ("admin", ChangeKind::Added | ChangeKind::Removed) => true,
        ("admin", ChangeKind::Changed) => {
            c.keys.iter().any(|k| matches!(k.as_str(), "addr" | "tls" | "tls_cert" | "tls_key"))
        }
        ("basic", _) => c.keys.iter().any(|k| k == "threads"),
        _ => false,
    }
}

/// The tables added, removed and changed between two models (JSON of pylon-config's
/// `Config`), in section order, then by name.
pub fn semantic_diff(base: &Value, candidate: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    for section in NAMED {
        let named = |model: &Value| -> Vec<(String, Value)> {
            model[section]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|i| (i["name"].as_str().unwrap_or_default().to_owned(), i.clone()))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (old, new) = (named(base), named(candidate));
        for (name, item) in &new {
            match old.iter().find(|(n, _)| n == name) {
                None => out.push(change(section, name, ChangeKind::Added, Vec::new())),
                Some((_, before)) => {
                    let keys = changed_keys(before, item);
                    if !keys.is_empty() {
                        out.push(change(section, name, ChangeKind::Changed, keys));
                    }
                }
            }
        }
        for (name, _) in old.iter().filter(|(n, _)| !new.iter().any(|(m, _)| m == n)) {
            out.push(change(section, name, ChangeKind::Removed, Vec::new()));
        }
    }
    for section in SINGLE {
        let (before, after) = (&base[section], &candidate[section]);
        match (before.is_null(), after.is_null()) {
            (true, true) => {}
            (true, false) if !base.is_null() => {
                out.push(change(section, "", ChangeKind::Added, Vec::new()));
            }
            (true, false) => {}
            (false, true) => out.push(change(section, "", ChangeKind::Removed, Vec::new())),
            (false, false) => {
                let keys = changed_keys(before, after);
                if !keys.is_empty() {
                    out.push(change(section, "", ChangeKind::Changed, keys));
                }
            }
        }
    }
    out
}

fn change(section: &str, name: &str, kind: ChangeKind, keys: Vec<String>) -> Change {
    Change { section: section.to_owned(), name: name.to_owned(), kind, keys }
}

/// The keys of two JSON objects whose values differ (`name` aside), sorted.
fn changed_keys(a: &Value, b: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (a, b) = (a.as_object().unwrap_or(&empty), b.as_object().unwrap_or(&empty));
    let mut keys: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| *k != "name" && a.get(*k) != b.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.kind {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Changed => '~',
        };
        let what = if self.name.is_empty() {
            format!("[{}]", self.section)
        } else {
            format!("[{}.{}]", self.section, self.name)
        };
        write!(f, "{sign} {what}")?;
        if !self.keys.is_empty() {
            write!(f, ": {}", self.keys.join(", "))?;
        }
        Ok(())
    }
}

/// What `pylon plan` prints.
impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.errors {
            writeln!(f, "error: {e}")?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        writeln!(f, "changes ({} → {}):", self.base_version, self.candidate_version)?;
        if self.changes.is_empty() {
            writeln!(f, "  (none)")?;
        }
        for c in &self.changes {
            writeln!(f, "  {c}")?;
        }
        if self.upgrade {
            writeln!(
                f,
                "listeners change: applying starts a successor process that takes the sockets \
                 over (graceful upgrade)"
            )?;
        }
        match &self.impact {
            None => writeln!(f, "impact: unknown (no running pylon to ask)")?,
            Some(i) => {
                writeln!(
                    f,
                    "impact: {} of the last {} requests would be served differently",
                    i.changed, i.sampled
                )?;
                for e in &i.examples {
                    writeln!(
                        f,
                        "  {}× {} {}{}: {} → {}",
                        e.count, e.server, e.host, e.path, e.before, e.after
                    )?;
                }
            }
        }
        if !self.text_diff.is_empty() {
            writeln!(f, "text diff:\n{}", self.text_diff.trim_end())?;
        }
        if self.valid {
            write!(f, "plan: valid")
        } else {
            let n = self.errors.len();
            let errors = if n == 1 { "1 error".to_owned() } else { format!("{n} errors") };
            write!(f, "plan: INVALID ({errors}), nothing would be applied")
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn semantic_diff_names_added_removed_and_changed_keys() {
        let base = json!({
            "basic": {"threads": 1, "name": "p"},
            "admin": null,
            "upstreams": [{"name": "a", "addrs": ["x"], "retries": 1}, {"name": "gone"}],
            "locations": [{"name": "l", "path": {"prefix": "/a"}}],
            "servers": [{"name": "s", "addr": ["127.0.0.1:1"], "locations": ["l"]}],
            "certificates": [],
        });
        let cand = json!({
            "basic": {"threads": 2, "name": "p"},
            "admin": {"addr": "127.0.0.1:2"},
            "upstreams": [{"name": "a", "addrs": ["y"], "retries": 1}, {"name": "new"}],
            "locations": [{"name": "l", "path": {"prefix": "/a"}}],
            "servers": [{"name": "s", "addr": ["127.0.0.1:1"], "locations": ["l", "m"]}],
            "certificates": [],
        });
        let got: Vec<String> = semantic_diff(&base, &cand).iter().map(|c| c.to_string()).collect();
        assert_eq!(
            got,
            [
                "~ [servers.s]: locations",
                "~ [upstreams.a]: addrs",
                "+ [upstreams.new]",
                "- [upstreams.gone]",
                "~ [basic]: threads",
                "+ [admin]",
            ]
        );
    }

    #[test]
    fn plugin_changes_are_named() {
        let plugin = |secret: &str| json!({"name": "tokens", "kind": "jwt", "options": [{"key": "secret", "value": secret}]});
        let base =
            json!({"plugins": [plugin("<redacted 0000aaaa>"), {"name": "old", "kind": "cors"}]});
        let cand = json!({"plugins": [plugin("<redacted 1111bbbb>"), {"name": "gz", "kind": "compression"}]});
        let got: Vec<String> = semantic_diff(&base, &cand).iter().map(|c| c.to_string()).collect();
        assert_eq!(got, ["~ [plugins.tokens]: options", "+ [plugins.gz]", "- [plugins.old]"]);
    }

    #[test]
    fn listener_changes_need_an_upgrade_route_changes_do_not() {
        let c = |section: &str, kind, keys: &[&str]| Change {
            section: section.into(),
            name: "x".into(),
            kind,
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        };
        assert!(needs_upgrade(&c("servers", ChangeKind::Changed, &["addr"])));
        assert!(needs_upgrade(&c("servers", ChangeKind::Added, &[])));
        assert!(!needs_upgrade(&c("servers", ChangeKind::Changed, &["locations"])));
        assert!(!needs_upgrade(&c("locations", ChangeKind::Added, &[])));
        assert!(needs_upgrade(&c("basic", ChangeKind::Changed, &["threads"])));
    }

    #[test]
    fn plan_of_a_broken_candidate_is_invalid_with_its_errors() {
        let base = Base { text: "a = 1\n", version: "v1".into(), model: &Value::Null };
        let checked = Checked {
            errors: vec![Diagnostic {
                file: "f".into(),
                line: 2,
                column: 1,
                key: "b".into(),
                message: "bad".into(),
            }],
            ..Checked::default()
        };
        let plan = build(&base, "a = 1\nb = 2\n", "v2".into(), checked);
        assert!(!plan.valid);
        assert!(plan.text_diff.contains("+b = 2"), "{}", plan.text_diff);
        let text = plan.to_string();
        assert!(text.contains("error: f:2:1: b: bad"), "{text}");
        assert!(text.ends_with("nothing would be applied"), "{text}");
    }
}
