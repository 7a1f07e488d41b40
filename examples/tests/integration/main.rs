//! The launcher's and the HTTP service's tests, run as processes. One test binary, each file a
//! module: one link instead of one per file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod audit_cli;
mod aws_cli;
mod build_cli;
mod common;
mod compliance_cli;
mod exit_codes;
mod http;
mod http_service;
mod json_contract;
mod launch_cli;
mod lifecycle_cli;
mod registry_cli;
mod secrets_in_logs;
mod template_cli;
mod world_cli;
