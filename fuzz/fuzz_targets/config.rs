//! The config loader on arbitrary text: never panics, and every error names a position
//! inside the text (line and column from 1, within the text's lines).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // A directory that does not exist: file references (certificates, error pages) fail
    // to read instead of touching the machine.
    let origin = std::path::Path::new("/nonexistent-pylon-fuzz/pylon.toml");
    let lines = text.split('\n').count().max(1);
    let diagnostics = match pylon_config::parse(text, origin) {
        Ok(loaded) => loaded.warnings,
        Err(errors) => {
            assert!(!errors.0.is_empty(), "an error without a diagnostic");
            errors.0
        }
    };
    for d in &diagnostics {
        assert!(d.line >= 1 && d.column >= 1, "{d}");
        assert!(d.line <= lines, "line {} of {lines}: {d}", d.line);
        assert!(!d.message.is_empty(), "{d}");
    }
});
