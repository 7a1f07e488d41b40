//! # amiref-regions
//!
//! Region catalog, region-fallback graph and inter-region transfer prices.
