//! The session's integration tests: launch, build, operations, compliance, resilience. One test
//! binary, each file a module: one link instead of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod build;
mod common;
mod compliance;
mod launch;
mod operations;
mod resilience;
mod walk;
