//! The facade's integration tests: the resolver through `amiref` on the demo world. One test
//! binary, each file a module: one link instead of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod checks;
mod common;
mod concurrency;
mod custom_tiers;
mod scale;
mod strategies;
mod trust_bounded;
