//! Integration tests of pylon-config: one test binary, one module per topic.

mod conf;
mod errors;
mod load;
mod util;
