//! The template crate's integration tests: schema, examples, malformed input, fingerprints. One
//! test binary, each file a module: one link instead of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod examples;
mod fingerprint;
mod load_dir;
mod malformed;
mod no_panic;
mod parameters_and_bounds;
mod round_trip;
mod schema;
