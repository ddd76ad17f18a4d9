use std::path::PathBuf;

/// Why a [`Pool`](crate::Pool) could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hostname did not resolve.
    #[error("cannot resolve upstream host `{host}`: {reason}; check the name or use an IP address")]
    Resolve {
        /// The host as written.
        host: String,
        /// The resolver's answer.
        reason: String,
    },
    /// The pool has no address at all.
    #[error("upstream `{pool}` has no addresses; add at least one `host:port`")]
    NoAddresses {
        /// The pool name.
        pool: String,
    },
    /// The CA bundle could not be read or holds no usable certificate.
    #[error("cannot load CA file {}: {reason}; it must be a readable PEM bundle of certificates", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A weight is out of range.
    #[error("upstream `{pool}`: weight {weight} of `{host}` is out of range; use 1..={max}", max = crate::MAX_WEIGHT)]
    Weight {
        /// The pool name.
        pool: String,
        /// The address's host.
        host: String,
        /// The rejected weight.
        weight: u32,
    },
    /// The health check could not be set up (e.g. an invalid path or Host header).
    #[error("upstream `{pool}`: invalid health check: {reason}")]
    HealthCheck {
        /// The pool name.
        pool: String,
        /// What is invalid.
        reason: String,
    },
}
