//! `$variable` templates (nginx style) for Pylon's header values, `return` bodies and
//! redirect URLs (SPEC §3): parsed once at config load into literal and variable segments,
//! rendered per request from values the caller supplies.
//!
//! ```
//! use pylon_vars::{Template, Var};
//!
//! let t = Template::parse("for=${remote_addr};ua=$http_user_agent")?;
//! let mut out = String::new();
//! t.render(&mut out, |var, out| match var {
//!     Var::RemoteAddr => out.push_str("10.0.0.1"),
//!     Var::Http(name) if name == "user-agent" => out.push_str("curl/8"),
//!     _ => {}
//! });
//! assert_eq!(out, "for=10.0.0.1;ua=curl/8");
//! assert!(Template::parse("$nope").is_err());
//! # Ok::<(), pylon_vars::Error>(())
//! ```
//!
//! # Syntax
//! `$name` takes the longest run of `[A-Za-z0-9_]` after the `$`; `${name}` ends at the first
//! `}` and lets a variable touch following text (`${host}x`). Every `$` starts a variable: one
//! that names none of [`Var`] (a lone `$`, `$nope`, `$http_`) is an [`Error`], so a typo never
//! reaches a client as literal text.

mod template;

pub use template::{Error, Template, Var};
