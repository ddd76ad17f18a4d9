//! Tiny servers for the tests.
