//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};

use pylon_config::{ConfigErrors, Diagnostic, Loaded};

/// `crates/pylon-config/tests/fixtures/<name>`.
pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Parses `text` as if it were the file `fixtures/inline.toml` (so relative paths find fixtures).
pub(crate) fn parse(text: &str) -> Result<Loaded, ConfigErrors> {
    pylon_config::parse(text, &fixture("inline.toml"))
}

/// Parses `text`, expecting errors, and returns them.
pub(crate) fn errors(text: &str) -> Vec<Diagnostic> {
    match parse(text) {
        Ok(l) => panic!("expected errors, got a valid config: {:#?}", l.config),
        Err(e) => e.0,
    }
}

/// Parses `text`, expecting success.
pub(crate) fn ok(text: &str) -> Loaded {
    parse(text).unwrap_or_else(|e| panic!("expected a valid config, got:\n{e}"))
}

/// Asserts that `diags` holds exactly one diagnostic at `line:column` for `key` whose
/// message contains `fragment`.
#[track_caller]
pub(crate) fn assert_has(
    diags: &[Diagnostic],
    line: usize,
    column: usize,
    key: &str,
    fragment: &str,
) {
    let hits: Vec<_> = diags
        .iter()
        .filter(|d| {
            d.line == line && d.column == column && d.key == key && d.message.contains(fragment)
        })
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "want one {line}:{column} {key} containing {fragment:?}; got:\n{}",
        ConfigErrors(diags.to_vec())
    );
}
