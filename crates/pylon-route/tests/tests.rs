//! Integration tests of pylon-route: one binary, one module per topic.

mod normalize;
mod oracle;
mod rewrite;
mod util;
