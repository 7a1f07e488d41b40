//! # amiref-registry
//!
//! Community and institutional AMI registry: format, sources, signatures, trust, scoring.
