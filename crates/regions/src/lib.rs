//! # amiref-regions
//!
//! Facts about AWS regions, and the order in which to look in other regions when the one
//! asked for has no image.
//!
//! - [`catalog()`]: every commercial region, plus AWS GovCloud (US) and China marked by
//!   [`Partition`](amiref_core::Partition): code, name, whether it is opt-in, approximate
//!   coordinates. Dated ([`CATALOG_AS_OF`]) and sourced ([`CATALOG_SOURCE`]).
//! - [`FallbackGraph`]: for each region, an ordered list of fallback regions. The built-in
//!   graph uses the mission's orders for us-east-1, us-west-2, eu-west-1 and ap-south-1 and
//!   the nearest regions by great-circle distance for the rest; it can be changed in code
//!   ([`FallbackGraph::set`]) or read from YAML ([`FallbackGraph::from_file`]).
//! - [`FallbackGraph::walk`]: the regions to try, breadth first. The graph is allowed to be
//!   cyclic (us-east-1 and us-east-2 fall back to each other) and user graphs arbitrary, so
//!   termination and uniqueness are the walk's guarantee, not the graph's: every region is
//!   visited at most once, the origin never, another partition never.
//! - [`Prices`]: inter-region data transfer and EBS snapshot storage prices, dated, for
//!   copy cost estimates; [`distance_km`] for models of copy time.
//!
//! ## Design choices
//!
//! - **Breadth first, not direct neighbours only.** When a region's own fallbacks have
//!   nothing, their fallbacks are the next most sensible places; the walk goes on level by
//!   level, bounded by [`WalkOptions::max_regions`] and by the size of the partition.
//! - **Validate at the edge, guard in the walk.** Unknown regions and cross-partition edges
//!   are refused when a graph is built or loaded, with a located error; the walk still
//!   re-checks both, so no graph, however built, can make it misbehave.
//! - **Opt-in regions last.** The nearest-region rule lists enabled-by-default regions
//!   before opt-in ones, since a region must be enabled to be searched.
//! - **Nobody stranded.** Nearest-only lists would leave regions such as Stockholm listed by
//!   no one; the built-in graph adds reverse edges so that a full walk from any region
//!   reaches its whole partition, nearest first (see [`FallbackGraph::builtin`]).
//! - **Refuse, don't skip.** A region missing from the catalog is refused with a
//!   "did you mean" hint rather than dropped: a silently dropped typo would shrink the
//!   search unnoticed.
//!
//! ```
//! use amiref_regions::{FallbackGraph, WalkOptions};
//!
//! let graph = FallbackGraph::builtin();
//! let order = graph.walk(&"us-east-1".parse().unwrap(), &WalkOptions::new().max_regions(3));
//! let codes: Vec<&str> = order.iter().map(|r| r.as_str()).collect();
//! assert_eq!(codes, ["us-east-2", "us-west-2", "us-west-1"]);
//! ```

mod catalog;
mod error;
mod graph;
mod graph_file;
mod prices;

pub use catalog::{
    CATALOG_AS_OF, CATALOG_SOURCE, RegionInfo, UnknownRegion, catalog, commercial_regions,
    distance_km, find, known_region, regions_in,
};
pub use error::{GraphError, GraphProblem, Location};
pub use graph::{
    FallbackGraph, MISSION_DEFAULTS, NEAREST_DEFAULT_REGIONS, NEAREST_OPT_IN_REGIONS, WalkOptions,
    WalkStep, nearest_fallbacks,
};
pub use prices::{PRICES_AS_OF, PRICES_SOURCE, Price, PriceBasis, Prices};
