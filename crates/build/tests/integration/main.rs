//! The build pipeline's integration tests on the in-process cloud. One test binary, each file a
//! module: one link instead of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;
mod failures;
mod pipeline;
mod refresh;
mod resume;
