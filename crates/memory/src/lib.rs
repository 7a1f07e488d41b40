//! # amiref-memory
//!
//! An in-process cloud with EC2's semantics: amiref's embedded default.
