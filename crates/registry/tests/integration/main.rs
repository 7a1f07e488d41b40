//! The registry's integration tests: format, signing, trust, sources, sharing. One test binary,
//! each file a module: one link instead of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod build_entry;
mod choosing;
mod common;
mod demo;
mod format;
mod http_source;
mod keygen;
mod share;
mod sign;
mod sources;
mod trust;
