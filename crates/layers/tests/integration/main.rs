//! The layers' integration tests: the conformance suite through every layer, retries, resilience.
//! One test binary, each file a module: one link instead of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod conformance;
mod resilience;
mod retry;
