//! Integration tests of pylon-upstream against real servers on 127.0.0.1.

mod util;
