//! # amiref-strategies
//!
//! The amiref resolution tiers, each a Strategy.
