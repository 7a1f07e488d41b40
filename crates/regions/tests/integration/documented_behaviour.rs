//! The examples docs/regions.md shows, checked.

use amiref_core::Region;
use amiref_regions::{FallbackGraph, WalkOptions};

fn r(code: &str) -> Region {
    code.parse().expect("a well-formed region code")
}

#[test]
fn eu_west_1_walk_without_opt_in() {
    let graph = FallbackGraph::builtin();
    let options = WalkOptions {
        exclude_opt_in: true,
        max_regions: Some(5),
    };
    let order = graph.walk(&r("eu-west-1"), &options);
    let codes: Vec<&str> = order.iter().map(Region::as_str).collect();
    assert_eq!(
        codes,
        [
            "eu-west-2",
            "eu-central-1",
            "us-east-1",
            "eu-west-3",
            "eu-north-1"
        ]
    );
}

#[test]
fn set_error_message() {
    let mut graph = FallbackGraph::builtin();
    let err = graph
        .set(r("us-east-1"), vec![r("eu-wst-2"), r("cn-north-1")])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid fallback graph (2 problems):\n  \
         fallbacks.us-east-1[0]: found \"eu-wst-2\", expected a region in the catalog as of 2026-11-25 (did you mean \"eu-west-2\"?)\n  \
         fallbacks.us-east-1[1]: found cn-north-1 (partition aws-cn), expected a region of us-east-1's partition aws (nothing is copied across partitions)"
    );
}

#[test]
fn code_overrides() {
    let mut graph = FallbackGraph::builtin();
    graph
        .set(r("us-east-1"), vec![r("us-east-2"), r("eu-west-1")])
        .unwrap();
    graph.remove(&r("sa-east-1"));
    assert_eq!(
        graph.fallbacks(&r("us-east-1")),
        [r("us-east-2"), r("eu-west-1")]
    );
    assert!(graph.walk(&r("sa-east-1"), &WalkOptions::new()).is_empty());
    // Through us-east-2's list the walk still reaches the rest of North America, and
    // through eu-west-1 all of Europe.
    let walk = graph.walk(&r("us-east-1"), &WalkOptions::new());
    assert!(walk.contains(&r("eu-north-1")) && walk.contains(&r("ca-central-1")));
}
