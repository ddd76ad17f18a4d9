//! The admin web UI in a real browser (`ui.rs`). A test binary of its own: cargo runs test
//! binaries one after another, so headless chromium does not take CPU from the e2e suite's
//! load and drain scenarios (which run in parallel with each other on a 2-core box).

// The e2e suite's fixtures; this binary uses only some of them.
#[allow(dead_code, unused_imports)]
#[path = "util.rs"]
mod util;

mod ui;
