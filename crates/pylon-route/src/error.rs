//! The crate's one error type.

/// Why a rule, a route table or a rewrite was refused.
///
/// Every variant carries the offending input and its message says how to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `~regex` path rule does not compile.
    #[error(
        "path rule `~{pattern}` is not a valid regex; fix its syntax (see https://docs.rs/regex/#syntax)"
    )]
    PathRegex {
        /// The regex text, without the `~`.
        pattern: String,
        /// What the regex parser said.
        #[source]
        source: regex::Error,
    },
    /// A `~regex` host rule does not compile.
    #[error(
        "host rule `~{pattern}` is not a valid regex; fix its syntax (see https://docs.rs/regex/#syntax)"
    )]
    HostRegex {
        /// The regex text, without the `~`.
        pattern: String,
        /// What the regex parser said.
        #[source]
        source: regex::Error,
    },
    /// A host rule that is neither an exact name, a `*.suffix` wildcard nor a `~regex`.
    #[error("host rule `{rule}` is invalid: {hint}")]
    Host {
        /// The rule as written.
        rule: String,
        /// How to fix it.
        hint: &'static str,
    },
    /// The regex of a rewrite does not compile.
    #[error(
        "rewrite `{spec}`: `{pattern}` is not a valid regex; fix its syntax (see https://docs.rs/regex/#syntax)"
    )]
    RewriteRegex {
        /// The whole rewrite as written.
        spec: String,
        /// The regex part.
        pattern: String,
        /// What the regex parser said.
        #[source]
        source: regex::Error,
    },
    /// A rewrite that is not `"REGEX REPLACEMENT"`, or whose replacement is malformed.
    #[error("rewrite `{spec}` is invalid: {hint}")]
    Rewrite {
        /// The whole rewrite as written.
        spec: String,
        /// How to fix it.
        hint: String,
    },
    /// An exact or prefix path pattern that has no normal form ([`normalize_path`]), so no
    /// request path could ever match it: `/..`, `/a%zz`, `/a%00`, `/a\\b`.
    ///
    /// [`normalize_path`]: crate::normalize_path
    #[error(
        "location `{route}`: path rule `{rule}` can never match a request: {reason}; write the path as a client would send it, e.g. `/admin/`"
    )]
    PathPattern {
        /// The location's name.
        route: String,
        /// The rule as written (`=/x` or `/x`).
        rule: String,
        /// Why the pattern has no normal form.
        reason: crate::TargetError,
    },
    /// More locations than ranks can address (`u32::MAX - 1`).
    #[error("{count} locations in one router is too many; split them across servers")]
    TooManyRoutes {
        /// How many locations were added.
        count: usize,
    },
}
