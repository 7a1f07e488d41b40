//! # amiref-lifecycle
//!
//! AMI lifecycle: create, copy, share, publish, deprecate, retire, with an audit trail.
