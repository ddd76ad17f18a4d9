//! The pylon binary.
fn main() {}
