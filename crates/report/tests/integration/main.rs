//! The reports' integration tests: printers, schemas, sanitizing. One test binary, each file a
//! module: one link instead of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod printer;
mod resolution;
mod sanitize;
mod schema;
mod session;
