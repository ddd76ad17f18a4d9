//! Render benchmarks.

fn main() {}
