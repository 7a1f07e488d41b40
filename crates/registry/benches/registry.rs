//! Registry benchmarks (placeholder until written).
fn main() {}
