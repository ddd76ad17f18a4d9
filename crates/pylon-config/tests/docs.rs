//! docs/configuration.md documents exactly the keys and header variables the loader accepts.
//!
//! The lists come from the loader itself ([`pylon_config::known_keys`], the lists behind its
//! "unknown key" errors, and [`pylon_config::header_variables`]), so a key added to the loader
//! fails this test until it is documented, and a documented key the loader refuses fails it
//! too. How to document a key is said at the top of docs/configuration.md.

use std::collections::BTreeSet;
use std::path::Path;

fn doc() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text of headings `prefix` + "`X`", e.g. `### `basic.name``.
fn headings(doc: &str, prefix: &str) -> BTreeSet<String> {
    doc.lines()
        .filter_map(|l| l.strip_prefix(prefix)?.strip_prefix('`')?.strip_suffix('`'))
        .map(str::to_owned)
        .collect()
}

/// The lines of the section under heading `## title`, up to the next `## `.
fn section<'d>(doc: &'d str, title: &str) -> Vec<&'d str> {
    doc.lines()
        .skip_while(|l| *l != format!("## {title}"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .collect()
}

#[test]
fn documentation_names_every_key_the_loader_accepts() {
    let doc = doc();
    let mut accepted = BTreeSet::new();
    let mut tables = BTreeSet::new();
    for (table, keys) in pylon_config::known_keys() {
        for key in *keys {
            if table.is_empty() {
                tables.insert((*key).to_owned());
            } else {
                accepted.insert(format!("{table}.{key}"));
            }
        }
    }
    let documented = headings(&doc, "### ");
    let missing: Vec<_> = accepted.difference(&documented).collect();
    let refused: Vec<_> = documented.difference(&accepted).collect();
    assert!(
        missing.is_empty(),
        "keys the loader accepts but docs/configuration.md does not document (add a heading \
         ### `KEY` with type, default, example and a `toml invalid` block): {missing:?}"
    );
    assert!(
        refused.is_empty(),
        "docs/configuration.md documents keys the loader refuses (remove them, or add them to \
         the loader's key lists): {refused:?}"
    );
    // Every top-level table has its section, `## `[basic]`` or `## `[upstreams.NAME]``.
    let sections: BTreeSet<String> = headings(&doc, "## ")
        .into_iter()
        .filter_map(|h| {
            let inner = h.strip_prefix('[')?.strip_suffix(']')?;
            Some(inner.split('.').next().unwrap_or(inner).to_owned())
        })
        .collect();
    assert_eq!(sections, tables, "top-level tables with a section in docs/configuration.md");
}

#[test]
fn documentation_lists_every_header_variable() {
    let doc = doc();
    let listed: BTreeSet<String> = section(&doc, "Header variables")
        .iter()
        .filter_map(|l| l.strip_prefix("| `$")?.split_once('`').map(|(v, _)| v.to_owned()))
        .collect();
    let mut known: BTreeSet<String> =
        pylon_config::header_variables().iter().map(|v| (*v).to_owned()).collect();
    known.insert("http_NAME".to_owned());
    assert_eq!(listed, known, "the header variables table of docs/configuration.md");
}
