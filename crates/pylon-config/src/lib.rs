//! TOML → typed, validated Pylon configuration.
//!
//! [`load`] reads a file, [`parse`] takes text. Both walk a spanned TOML document and collect
//! *every* problem at once, each as a [`Diagnostic`] with `file:line:column`, the dotted key
//! (`locations.api.path`) and a message saying how to fix it. Non-fatal findings (unused
//! upstreams and locations, servers without locations) come back as [`Loaded::warnings`].
//!
//! ```
//! use std::path::Path;
//!
//! let text = r#"
//! [upstreams.api]
//! addrs = ["127.0.0.1:8001", "127.0.0.1:8002 3"]
//!
//! [locations.api]
//! upstream = "api"
//! path = "/api"
//!
//! [servers.web]
//! addr = "127.0.0.1:6188"
//! locations = ["api"]
//! "#;
//! let loaded = pylon_config::parse(text, Path::new("pylon.toml")).expect("valid");
//! assert_eq!(loaded.config.upstream("api").map(|u| u.addrs[1].weight), Some(3));
//! assert!(loaded.warnings.is_empty());
//!
//! let bad = pylon_config::parse("[servers.web]\naddr = \"nope\"\n", Path::new("x.toml"));
//! let errors = bad.expect_err("invalid");
//! assert!(errors.to_string().starts_with("x.toml:2:8: servers.web.addr: invalid listen address"));
//! ```
//!
//! Decisions not spelled out in the spec:
//! - Relative paths resolve against the config file's directory; `""` means "not set" for
//!   optional strings and paths. Referenced files (certificates, keys, CA bundles, error
//!   templates) must be readable at load time; certificates and keys must contain a PEM block.
//! - `basic.log_level` is passed through as a tracing filter; only an empty value is refused.
//! - `basic.threads = 0` is resolved to the number of cores here, so `threads >= 1` afterwards.
//! - Durations need a unit (`ms s m h d`, combinable: `"1m30s"`); only `"0"` may omit it.
//!   Sizes accept `b kb mb gb` (also `k m g`, `kib mib gib`), case-insensitive, 1kb = 1024,
//!   or a plain TOML integer of bytes.
//! - A health-check URL accepts only its own parameters (`connection_timeout`, `read_timeout`,
//!   `check_frequency`, `success`, `failure`); any other query parameter is an error, so the
//!   HTTP check path never carries a query.
//! - Header values may use `$name` or `${name}`; any other `$` is an error (there is no escape).
//!   Set/add values may not be empty: use the `*_remove_headers` lists to drop headers.
//! - A rewrite replacement's `$1`/`$name`/`${name}` must exist in the regex (`$$` is a literal
//!   `$`); a digit or letter right after a group needs braces: `${1}x`.
//! - `return = "STATUS BODY"`: the body is everything after the first space, with
//!   `$variables`; 301/302/303/307/308 take a URL instead, sent as `Location`.
//! - `[plugins.NAME]` options are kept as written (strings, whole numbers, booleans, arrays of
//!   those) and validated by the caller's [`Checks::plugin`]; unknown option errors point at
//!   the key, errors inside a string value at the offending character.
//! - A server is a TLS listener when `tls = true` or `tls_cert` is set ([`Server::tls`]).
//! - `weight = 0` means "not set"; `client_max_body_size = 0` means "unlimited" (on a location
//!   it lifts its server's limit).
//! - Listen addresses clash when equal, or when one is the unspecified address (`0.0.0.0`,
//!   `[::]`) of the same family and port; the admin address takes part.
//! - Warnings also cover a file with no `[servers.NAME]` at all (it would listen nowhere).
//! - A TOML syntax error is reported alone (key `syntax`): checks on a half-parsed document
//!   would only add noise.

mod diag;
mod load;
mod model;
mod ser;
mod value;

pub use diag::{ConfigErrors, Diagnostic, counted};
pub use load::{
    Checks, PluginCheck, PluginProblem, ValueCheck, known_keys, load, load_with, parse, parse_with,
};
pub use model::*;
pub use value::header_variables;
