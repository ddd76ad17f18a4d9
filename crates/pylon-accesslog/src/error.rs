//! The one error type of this crate.

/// Every named token, as written in a template; used in error messages.
pub(crate) const KNOWN_TOKENS: &str = "{host} {method} {path} {query} {uri} {proto} {scheme} \
{remote} {client_ip} {referer} {user_agent} {when} {when_utc_iso} {when_unix} {status} {size} \
{size_human} {payload_size} {payload_size_human} {latency} {latency_human} {request_id} \
{location} {upstream_addr} {upstream_status} {upstream_connect_time} {upstream_response_time} \
{connection_reused} {remote_addr} {remote_user} {time_local} {request} {body_bytes_sent}";

/// A template that could not be parsed.
///
/// Columns are 1-based and counted in characters (not bytes) of the template text; they point
/// at the `{` (or `}`) that starts the offending piece.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `{name}` where `name` is not a known token.
    #[error(
        "unknown access-log token `{{{token}}}` at column {column}; known tokens are {known}, \
         plus {{http_NAME}}, {{>Request-Header}}, {{<Response-Header}}, {{~cookie_name}} and \
         {{$ENV_VAR}}; \
         write `{{{{` or `}}}}` for a literal brace",
        known = KNOWN_TOKENS
    )]
    UnknownToken {
        /// The text between the braces, as written.
        token: String,
        /// Column of the opening `{`.
        column: usize,
    },
    /// A `{` with no `}` after it.
    #[error(
        "unclosed `{{` at column {column}: close the token with `}}`, or write `{{{{` for a \
         literal `{{`"
    )]
    Unclosed {
        /// Column of the opening `{`.
        column: usize,
    },
    /// A `}` that closes nothing.
    #[error("unmatched `}}` at column {column}: write `}}}}` for a literal `}}`")]
    UnmatchedClose {
        /// Column of the `}`.
        column: usize,
    },
    /// [`Template::from_spec`](crate::Template::from_spec) got a single word that is not a
    /// preset: almost certainly a misspelt preset rather than a template without tokens.
    #[error(
        "`{name}` is not an access-log preset; use tiny, short, common or combined, or a \
         template with {{tokens}} such as `{{method}} {{uri}} {{status}}`"
    )]
    UnknownPreset {
        /// The word given.
        name: String,
    },
    /// `{>…}`, `{<…}`, `{~…}` or `{$…}` with an empty or malformed name.
    #[error("invalid name in access-log token `{{{token}}}` at column {column}: {reason}")]
    InvalidName {
        /// The text between the braces, as written.
        token: String,
        /// Column of the opening `{`.
        column: usize,
        /// What a valid name looks like.
        reason: &'static str,
    },
}
