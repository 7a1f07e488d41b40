//! The AWS adapter's integration tests: against moto's EC2 server (`moto`, skipped unless
//! scripts/moto started it) and aws-smithy-mocks rules. One test binary, each file a module: one
//! link instead of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod governance;
mod mocks;
mod moto;
mod resolver;
mod support;
