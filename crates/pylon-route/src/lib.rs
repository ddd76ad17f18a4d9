//! Location matching and path rewrite for Pylon (SPEC §4).
//!
//! A [`Router`] holds one server's locations, each a [`Route`]: a host list ([`HostRule`]),
//! a path rule ([`PathRule`]) and a weight. For each request the location with the highest
//! weight whose host rule *and* path rule match wins; ties keep insertion order.
//!
//! ```
//! use pylon_route::{HostRule, PathRule, Rewrite, Route, RouterBuilder};
//!
//! let mut b = RouterBuilder::new();
//! b.add(Route { name: "api".into(), hosts: vec![], path: PathRule::parse("/api")?, weight: None });
//! b.add(Route {
//!     name: "health".into(),
//!     hosts: HostRule::parse_list("example.com, *.example.com")?,
//!     path: PathRule::parse("=/api/health")?,
//!     weight: None,
//! });
//! let router = b.build()?;
//! assert_eq!(router.find("WWW.example.com:8443", "/api/health"), Some(1));
//! assert_eq!(router.find("other.org", "/api/health"), Some(0));
//! assert_eq!(router.find("example.com", "/static"), None);
//!
//! let rw = Rewrite::parse("^/api/(.*)$ /$1")?;
//! assert_eq!(rw.apply_uri("/api/users?id=7").as_deref(), Some("/users?id=7"));
//! # Ok::<(), pylon_route::Error>(())
//! ```
//!
//! # Weights
//! Computed as (SPEC §4): `=exact` 65536, prefix 32768, `~regex` 16384, each plus the length in
//! bytes of the pattern text *after* the sigil (`=/a` and `/a` add 2, `~^/a` adds 3); a
//! location with any host rule adds 8192; the empty path (any) weighs 0. An explicit
//! [`Route::weight`] replaces all of it (`Some(0)` means "not set", like `weight = 0`).
//!
//! # Hosts
//! The `Host` header is compared without its port (`:8080`, `[::1]:8080`), without IPv6
//! brackets and one trailing dot, ignoring ASCII case. `*.example.com` matches
//! `a.example.com` and `a.b.example.com` but **not** `example.com`; list both if you want both.
//! `~regex` host rules search (unanchored, case-insensitively) the normalised host.
//! An empty `Host` only matches locations without a host rule (or a regex that matches "").
//!
//! # Paths
//! The path a router is asked about is the request path in its normal form
//! ([`normalize_path`], RFC 3986 §6.2.2): `%XX` of unreserved characters decoded, other escapes
//! in upper case, dot segments removed, `//` merged. `/x/../admin`, `/%61dmin` and `//admin`
//! are all `/admin`, as the origin will resolve them; `%2F` stays a literal byte. Prefix rules
//! compare bytes (`/api` matches `/api`, `/api/x` and `/apix`, like nginx's plain prefix);
//! `=exact` and `~regex` see the same normalised path (regexes search unanchored unless they
//! say `^`). Exact and prefix patterns are normalised the same way when the router is built
//! (`=/café` matches the request path `/caf%C3%A9`); a regex is applied as written.
//!
//! ```
//! use pylon_route::{RequestTarget, TargetError, normalize_path};
//!
//! assert_eq!(normalize_path(b"/x/../%61dmin//users").as_deref(), Ok("/admin/users"));
//! assert_eq!(normalize_path(b"/a/..%2fb").as_deref(), Ok("/a/..%2Fb"));
//! assert_eq!(normalize_path(b"/../etc"), Err(TargetError::AboveRoot));
//! assert_eq!(RequestTarget::parse("GET", b"admin"), Err(TargetError::NotAForm));
//! ```
//!
//! # The index
//! [`Router::find`] returns exactly what a linear scan in weight order returns, without the
//! scan: each location gets a rank (its position in that order); hosts are sorted into an
//! exact map, a wildcard-suffix map and a list of host regexes; inside each host group the path
//! rules sit in a radix tree (exact and prefix rules at their node, regexes at the node of
//! their anchored literal prefix, so `^/api/v\d+` is only tried under `/api/v`), packed into
//! flat arrays. Each applicable group is looked up once and walked once; regexes met on the
//! walk run afterwards, only if they can still win. Locations with host regexes also sit in
//! one shared tree: its best path match wins when one of its host regexes holds, so the
//! per-group loop over host regexes is only a fallback. The smallest matching rank wins, and
//! anything that cannot beat the best rank so far is skipped.

mod error;
mod explain;
mod index;
mod rewrite;
mod router;
mod rule;
mod target;

pub use error::Error;
pub use explain::{Candidate, Explanation, Verdict};
pub use rewrite::Rewrite;
pub use router::{Route, Router, RouterBuilder};
pub use rule::{HostRule, PathRule};
pub use target::{RequestTarget, TargetError, check_authority, normalize_path};

#[cfg(test)]
mod tests;
