//! Why a request went where it went.

use std::fmt;

/// The answer of [`Router::explain`](crate::Router::explain): every location in evaluation
/// order with its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The host as given (raw).
    pub host: String,
    /// The path as given.
    pub path: String,
    /// All locations, in evaluation (weight) order.
    pub candidates: Vec<Candidate>,
    /// The location that serves the request: the first `Matched` candidate.
    pub winner: Option<usize>,
}

/// One location as seen by [`Explanation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Index of the location (order of `add`).
    pub index: usize,
    /// Its name.
    pub name: String,
    /// Its effective weight.
    pub weight: u32,
    /// Whether it matched, else the first rule that failed.
    pub verdict: Verdict,
}

/// Outcome for one candidate. The host rule is checked first.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Host and path both match (only the first such candidate wins).
    Matched,
    /// None of the host rules matched; `rule` is the host list as written.
    HostMismatch {
        /// The host list, comma-separated, as written.
        rule: String,
    },
    /// The host matched but the path rule did not; `rule` is the path rule as written.
    PathMismatch {
        /// The path rule as written.
        rule: String,
    },
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Matched => f.write_str("matched"),
            Verdict::HostMismatch { rule } => write!(f, "host not in `{rule}`"),
            Verdict::PathMismatch { rule } => write!(f, "path does not match `{rule}`"),
        }
    }
}

/// A table: one line per candidate, the winner marked with `>`.
impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "request: host `{}` path `{}`", self.host, self.path)?;
        let name_w = self.candidates.iter().map(|c| c.name.len()).max().unwrap_or(0).max(8);
        writeln!(f, "  {:>5}  {:>6}  {:<name_w$}  verdict", "index", "weight", "location")?;
        for c in &self.candidates {
            let mark = if Some(c.index) == self.winner { '>' } else { ' ' };
            let verdict = match (&c.verdict, self.winner) {
                (Verdict::Matched, Some(w)) if w != c.index => {
                    "matched (after the winner)".to_owned()
                }
                (v, _) => v.to_string(),
            };
            writeln!(f, "{mark} {:>5}  {:>6}  {:<name_w$}  {verdict}", c.index, c.weight, c.name)?;
        }
        match self.winner.and_then(|w| self.candidates.iter().find(|c| c.index == w)) {
            Some(c) => write!(f, "winner: {} (index {})", c.name, c.index),
            None => f.write_str("winner: none (404)"),
        }
    }
}
