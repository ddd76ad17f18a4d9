//! Diagnostics: one problem, positioned in the config file.

use std::fmt;

/// One error or warning about the config, positioned at `file:line:column` (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{file}:{line}:{column}: {key}: {message}")]
pub struct Diagnostic {
    /// The config file as given to [`crate::load`] / [`crate::parse`].
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Dotted key path of the offending item, e.g. `locations.api.path` or
    /// `servers.web.locations[1]`; `syntax` for TOML syntax errors, `file` for I/O errors.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Every error found in a config, in file order. `Display` prints one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", Lines(.0))]
pub struct ConfigErrors(pub Vec<Diagnostic>);

struct Lines<'a>(&'a [Diagnostic]);

impl fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// `n` and `noun` in the singular or plural as `n` asks: `1 error`, `2 errors`, `0 errors`
/// (for nouns whose plural adds an `s`).
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// Byte offset -> (line, column) for one source text.
#[derive(Debug)]
pub(crate) struct LineIndex<'s> {
    src: &'s str,
    starts: Vec<usize>,
}

impl<'s> LineIndex<'s> {
    pub(crate) fn new(src: &'s str) -> Self {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { src, starts }
    }

    /// 1-based line and character column of byte `offset` (clamped to the text).
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.src.len());
        while !self.src.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let column = self.src[start..offset].chars().count() + 1;
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! pos {
        ($name:ident, $src:expr, $off:expr, $want:expr) => {
            #[test]
            fn $name() {
                assert_eq!(LineIndex::new($src).position($off), $want);
            }
        };
    }

    pos!(pos_start, "abc", 0, (1, 1));
    pos!(pos_mid, "abc", 2, (1, 3));
    pos!(pos_second_line, "ab\ncd", 3, (2, 1));
    pos!(pos_newline_itself, "ab\ncd", 2, (1, 3));
    pos!(pos_end, "ab\ncd", 5, (2, 3));
    pos!(pos_past_end, "ab", 99, (1, 3));
    pos!(pos_chars_not_bytes, "é = 1", 3, (1, 3));
    pos!(pos_inside_char, "é", 1, (1, 1));

    #[test]
    fn display_diagnostic() {
        let d = Diagnostic {
            file: "conf/pylon.toml".into(),
            line: 12,
            column: 8,
            key: "locations.api.path".into(),
            message: "invalid regex".into(),
        };
        assert_eq!(d.to_string(), "conf/pylon.toml:12:8: locations.api.path: invalid regex");
        let two = ConfigErrors(vec![d.clone(), d]);
        assert_eq!(two.to_string().lines().count(), 2);
    }
}

#[cfg(test)]
mod counted_tests {
    #[test]
    fn one_is_singular_every_other_count_plural() {
        assert_eq!(super::counted(1, "error"), "1 error");
        assert_eq!(super::counted(0, "error"), "0 errors");
        assert_eq!(super::counted(2, "configuration error"), "2 configuration errors");
    }
}
