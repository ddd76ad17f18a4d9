//! Integration tests for pylon-accesslog: one test binary, one module per topic.

mod util;

mod docs;
mod props;
mod writer;
