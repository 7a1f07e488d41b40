//! # amiref-testkit
//!
//! Conformance suites every amiref port implementation must pass, and fixtures.
