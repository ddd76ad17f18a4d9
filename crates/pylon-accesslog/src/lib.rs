//! Access-log templates and writers for Pylon (SPEC §6).
//!
//! A [`Template`] is parsed once from text such as `{remote} "{method} {uri}" {status}` (or a
//! preset name), then [`Template::render`] turns the [`Facts`] of each request into one line in
//! a reused buffer. A [`LogWriter`] hands lines to a background thread, so logging never blocks
//! a request: when its queue is full, lines are dropped and counted.
//!
//! ```
//! use pylon_accesslog::{Facts, Template};
//!
//! let template = Template::from_spec(r#"{method} {uri} {status} "{user_agent}" {size_human}"#)?;
//! let facts = Facts {
//!     method: "GET",
//!     path: "/api/users",
//!     query: Some("page=2"),
//!     status: 200,
//!     size: 1536,
//!     ..Facts::new(&())
//! };
//! let mut line = Vec::new();
//! template.render(&facts, &mut line);
//! assert_eq!(line, br#"GET /api/users?page=2 200 "-" 1.5KB"#);
//! # Ok::<(), pylon_accesslog::Error>(())
//! ```
//!
//! # Template language
//!
//! Text is copied as is; `{token}` is replaced per request; `{{` and `}}` are a literal `{` and
//! `}`. A `{` without its `}`, a lone `}`, or an unknown token is an [`Error`] that names the
//! token and its (1-based, character) column. `Display` prints a template back in this form.
//!
//! Presets: `tiny` = `{method} {uri} {status} {size_human} - {latency}ms`, `short` =
//! `{remote} {method} {uri} {proto} {status} {size_human} - {latency}ms`, `common` (the
//! Common Log Format) = `{remote_addr} - {remote_user} [{time_local}] "{request}" {status}
//! {body_bytes_sent}`, `combined` = common + ` "{http_referer}" "{http_user_agent}"`: byte for
//! byte nginx's `log_format combined` (with the time in UTC, as nginx prints it with `TZ=UTC`).
//!
//! | token | prints |
//! |---|---|
//! | `{host}` `{method}` `{path}` `{query}` `{proto}` `{scheme}` | the request's value; `{query}` without `?` |
//! | `{uri}` | path, plus `?query` when there is a query |
//! | `{remote}` | client IP without port (nginx `$remote_addr`) |
//! | `{client_ip}` | first `X-Forwarded-For` item (trimmed), else the client IP |
//! | `{referer}` `{user_agent}` | those request headers |
//! | `{when}` | request start, nginx `$time_local` form but always UTC: `26/Nov/2026:09:50:41 +0000` |
//! | `{when_utc_iso}` | `2026-11-26T09:50:41.123Z` |
//! | `{when_unix}` | seconds with millis: `1795686641.123` |
//! | `{status}` `{size}` `{payload_size}` | integers; sizes are body bytes sent / received |
//! | `{size_human}` `{payload_size_human}` | 1024-based, one truncated decimal: `512B` `1.5KB` `3.4MB` … `EB` |
//! | `{latency}` | whole milliseconds |
//! | `{latency_human}` | `850µs` under 1 ms, `15ms` under 1 s, else `1.2s` (one truncated decimal) |
//! | `{request_id}` `{location}` `{upstream_addr}` `{upstream_status}` | as given |
//! | `{upstream_connect_time}` `{upstream_response_time}` | nginx-style seconds, 3 decimals: `0.012` |
//! | `{connection_reused}` | `true` / `false` |
//! | `{remote_addr}` `{time_local}` `{body_bytes_sent}` | nginx's names for `{remote}`, `{when}`, `{size}` |
//! | `{remote_user}` | the user name of `Authorization: Basic …`, as nginx's `$remote_user` |
//! | `{request}` | the request line as received (HTTP/2: rebuilt as `METHOD /path?query HTTP/2.0`) |
//! | `{http_NAME}` | request header NAME (`_` for `-`), as nginx's `$http_NAME`: sent empty prints empty |
//! | `{>Name}` `{<Name}` | request / response header (first value) |
//! | `{~name}` | cookie from the `Cookie` request header (case-sensitive name) |
//! | `{$NAME}` | environment variable, read once at parse time |
//!
//! Missing or empty values print `-`, as do times before 1970 or after 9999. Numbers always
//! print (a `{status}` of 0, for a request that got no response, prints `0`). Times and
//! durations are truncated, never rounded up.
//!
//! Every value taken from the request or response (headers, path, host, …) is escaped so a
//! client cannot forge lines or break quoted fields: control bytes (0x00–0x1F, 0x7F), `"` and
//! `\` are written as `\xHH` (upper-case hex), as nginx does. Other bytes, UTF-8 included, are
//! copied unchanged, except in the nginx-named tokens (`{request}`, `{remote_user}`,
//! `{http_NAME}`), which escape every byte outside ASCII too, as nginx does. Literal template
//! text and `{$NAME}` values are the operator's and are copied as written (`{$NAME}` values
//! are escaped too, once, at parse time).
//!
//! # Writing
//!
//! [`LogWriter::stdout`], [`LogWriter::file`] (append, create) and [`LogWriter::from_writer`]
//! start one background thread that owns the output behind a 64 KiB `BufWriter`, fed by a
//! bounded queue (`queue` lines, at least 1). While lines keep coming the thread takes them in
//! batches every 2 ms and flushes after each (no wake-up per line); idle, it blocks. The
//! writer adds the `\n` unless the line already ends with one. A full queue drops the line and
//! counts it ([`LogWriter::dropped`]); failed writes are counted in
//! [`LogWriter::write_errors`]. [`LogWriter::reopen`] reopens the file at its path (logrotate).
//! Dropping the last handle drains the queue, waiting at most 5 s.

mod error;
mod facts;
mod render;
mod template;
mod writer;

pub use crate::error::Error;
pub use crate::facts::{Facts, HeaderLookup};
pub use crate::template::Template;
pub use crate::writer::LogWriter;
