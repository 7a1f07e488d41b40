//! Compliance's integration tests: the controls, the calls a scan makes, the HTML page. One test
//! binary, each file a module: one link instead of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod calls;
mod controls;
mod html;
