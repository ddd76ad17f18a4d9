//! Integration tests of pylon-upstream against real servers on 127.0.0.1 (one test binary).

mod balance;
mod hash;
mod health;
mod peer;
mod util;
