//! docs/configuration.md lists every access-log token and preset, as the parser knows them.

use std::collections::BTreeSet;
use std::path::Path;

use pylon_accesslog::Template;

/// The lines of the section `## Access-log tokens` of docs/configuration.md.
fn section() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    doc.lines()
        .skip_while(|l| *l != "## Access-log tokens")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn documentation_lists_every_token() {
    let listed: BTreeSet<String> = section()
        .iter()
        .filter_map(|l| l.strip_prefix("| `{")?.split_once("}`").map(|(t, _)| t.to_owned()))
        .collect();
    let mut known: BTreeSet<String> = Template::token_names().map(str::to_owned).collect();
    for form in ["http_NAME", ">Name", "<Name", "~name", "$NAME"] {
        known.insert(form.to_owned());
    }
    assert_eq!(listed, known, "the token table of docs/configuration.md");
    for token in &listed {
        let probe = token.replace("NAME", "X").replace("Name", "X").replace("name", "x");
        assert!(Template::parse(&format!("{{{probe}}}")).is_ok(), "{{{token}}} does not parse");
    }
}

#[test]
fn documentation_gives_every_preset_verbatim() {
    let rows: Vec<(String, String)> = section()
        .iter()
        .filter_map(|l| {
            let rest = l.strip_prefix("| `")?;
            let (name, rest) = rest.split_once("` | `")?;
            let text = rest.strip_suffix("` |")?;
            (!name.starts_with('{')).then(|| (name.to_owned(), text.to_owned()))
        })
        .collect();
    let presets: Vec<(String, String)> =
        Template::presets().iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned())).collect();
    assert_eq!(rows, presets, "the presets table of docs/configuration.md");
}
