//! Integration tests of pylon-config: one test binary, one module per topic.

mod conf;
mod docs;
mod errors;
mod load;
mod util;
