//! # amiref-report
//!
//! One output layer for every amiref command, on ripgrep's printer model: each report is
//! one data model ([`Report`]) with a human form and a JSON form, and a [`Printer`] prints
//! it in the [`OutputMode`] the user asked for.
//!
//! - **One document.** With `--output json` a command prints exactly one JSON document on
//!   stdout, success or failure, in the same envelope everywhere:
//!   `{"schema": "amiref/<kind>/v1", "ok": true, "result": {...}}`, or `"ok": false` with
//!   `"error": {"kind", "message", "exit_code", "details"}` (and the `result` too when the
//!   report itself records the failure, such as a copy whose region failed). Narration
//!   and progress go to stderr; with `--output jsonl` progress events are JSON lines on
//!   stdout (`amiref/progress/v1`) and the result is the last line.
//! - **Units in key names.** `_secs`, `_ms`, `_usd`, `_gib`; money is rounded to
//!   micro-dollars ([`Usd`]): no `0.0010500000000000002`.
//! - **A schema per report.** [`schema::catalog`] generates each document's JSON Schema
//!   (schemars); `docs/reports/<kind>.schema.json` are checked against it by a test.
//! - **Safe human output.** Every human line goes through [`Human`], which escapes control
//!   characters and bidirectional overrides ([`sanitize`]): a registry entry's name cannot
//!   move the cursor or recolour the terminal. Money and time are rounded for reading
//!   ([`units`]).
//!
//! ```
//! use amiref_report::{ErrorKind, ErrorReport, Human, OutputMode, Printer, Report, Usd};
//!
//! /// A report of one's own: one impl, and every output mode follows.
//! struct Saved { gib: u64, usd: f64 }
//!
//! #[derive(serde::Serialize, schemars::JsonSchema)]
//! struct SavedJson { freed_gib: u64, monthly_saving_usd: Usd }
//!
//! impl Report for Saved {
//!     const KIND: &'static str = "saved";
//!     type Json = SavedJson;
//!     fn to_json(&self) -> SavedJson {
//!         SavedJson { freed_gib: self.gib, monthly_saving_usd: Usd(self.usd) }
//!     }
//!     fn human(&self, out: &mut Human) {
//!         out.line(format!("freed {} GiB, {} a month", self.gib, amiref_report::units::usd(self.usd)));
//!     }
//! }
//!
//! let (printer, captured) = Printer::capture(OutputMode::Json);
//! assert_eq!(printer.report(&Saved { gib: 10, usd: 0.0010500000000000002 }), 0);
//! let doc: serde_json::Value = serde_json::from_str(&captured.stdout()).unwrap();
//! assert_eq!(doc["schema"], "amiref/saved/v1");
//! assert_eq!(doc["result"]["monthly_saving_usd"].to_string(), "0.00105");
//! ```

pub mod audit;
pub mod build;
pub mod compliance;
mod human;
mod image;
pub mod lifecycle;
pub mod plan;
mod printer;
pub mod progress;
pub mod protect;
pub mod refresh;
pub mod registry;
mod report;
pub mod resolution;
pub mod retire;
mod sanitize;
pub mod schema;
pub mod session;
pub mod template;
pub mod units;

pub use human::{Human, Stream};
pub use image::ImageJson;
pub use printer::{Captured, Document, OutputMode, Printer, schema_id};
pub use progress::{ProgressLine, progress_line};
pub use report::{ErrorKind, ErrorReport, Report, exit, message_with_causes};
pub use resolution::PreviewReport;
pub use sanitize::{Clean, is_unsafe, sanitize, sanitize_lines};
pub use template::{TemplateSchema, TemplateValidation};
pub use units::Usd;
