//! The walk's guarantees over arbitrary user graphs: never the origin, never twice, never
//! another partition, opt-in regions left out when asked, bounded, breadth first, and
//! complete (everything reachable within the partition is returned).

use std::collections::{BTreeSet, HashSet};

use amiref_core::Region;
use amiref_regions::{FallbackGraph, GraphError, RegionInfo, WalkOptions, catalog, find};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// Every region to every region (itself included) of its partition: the most cyclic graph
/// there is.
fn complete_graph() -> FallbackGraph {
    let mut graph = FallbackGraph::empty();
    for info in catalog() {
        let all: Vec<Region> = catalog()
            .iter()
            .filter(|r| r.partition == info.partition)
            .map(|r| r.code.clone())
            .collect();
        graph
            .set(info.code.clone(), all)
            .expect("same-partition catalogued edges are valid");
    }
    graph
}

fn info(region: &Region) -> &'static RegionInfo {
    find(region.as_str()).expect("the walk returns catalogued regions only")
}

/// Everything reachable from `from` by edges that stay in its partition and, if asked,
/// avoid opt-in regions: the reference the walk is checked against.
fn reachable(graph: &FallbackGraph, from: &Region, exclude_opt_in: bool) -> BTreeSet<Region> {
    let partition = info(from).partition;
    let mut seen = BTreeSet::from([from.clone()]);
    let mut stack = vec![from.clone()];
    while let Some(region) = stack.pop() {
        for next in graph.fallbacks(&region) {
            let next_info = info(next);
            if next_info.partition == partition
                && !(exclude_opt_in && next_info.opt_in)
                && seen.insert(next.clone())
            {
                stack.push(next.clone());
            }
        }
    }
    seen.remove(from);
    seen
}

fn check_walk(graph: &FallbackGraph, from: &Region, options: &WalkOptions) {
    let steps = graph.walk_steps(from, options);
    let walk = graph.walk(from, options);
    assert_eq!(
        walk,
        steps.iter().map(|s| s.region.clone()).collect::<Vec<_>>()
    );

    let origin = info(from);
    let mut seen = HashSet::new();
    for region in &walk {
        assert_ne!(region, from, "walk from {from} returned its origin");
        assert!(
            seen.insert(region),
            "walk from {from} returned {region} twice"
        );
        let region_info = info(region);
        assert_eq!(
            region_info.partition, origin.partition,
            "walk from {from} crossed into {region}"
        );
        if options.exclude_opt_in {
            assert!(
                !region_info.opt_in,
                "walk from {from} returned opt-in {region}"
            );
        }
    }
    // Breadth first: depths never decrease, and each step's `via` came before it.
    for pair in steps.windows(2) {
        assert!(
            pair[0].depth <= pair[1].depth,
            "walk from {from} is not breadth first"
        );
    }
    for (i, step) in steps.iter().enumerate() {
        assert!(
            &step.via == from || steps[..i].iter().any(|s| s.region == step.via),
            "step {i} from {from} reached via a region not yet walked"
        );
        assert!(graph.fallbacks(&step.via).contains(&step.region));
    }

    let everything = reachable(graph, from, options.exclude_opt_in);
    match options.max_regions {
        None => assert_eq!(walk.iter().cloned().collect::<BTreeSet<_>>(), everything),
        Some(max) => {
            assert_eq!(walk.len(), everything.len().min(max));
            let unbounded = WalkOptions {
                max_regions: None,
                ..*options
            };
            assert_eq!(walk[..], graph.walk(from, &unbounded)[..walk.len()]);
        }
    }
}

#[test]
fn complete_cyclic_graph_walks_every_partition_member_once() {
    let graph = complete_graph();
    for info in catalog() {
        let walk = graph.walk(&info.code, &WalkOptions::new());
        let same_partition = catalog()
            .iter()
            .filter(|r| r.partition == info.partition)
            .count();
        assert_eq!(walk.len(), same_partition - 1, "from {}", info.code);
        for options in [
            WalkOptions::new(),
            WalkOptions::new().exclude_opt_in(true),
            WalkOptions::new().max_regions(3),
        ] {
            check_walk(&graph, &info.code, &options);
        }
    }
}

#[test]
fn builtin_graph_walks_from_every_region() {
    let graph = FallbackGraph::builtin();
    for info in catalog() {
        for options in [
            WalkOptions::new(),
            WalkOptions::new().exclude_opt_in(true),
            WalkOptions::new().max_regions(4),
        ] {
            check_walk(&graph, &info.code, &options);
        }
    }
}

/// A random graph over the catalog: each region lists up to 12 random regions, any
/// partition, with repeats and self-references.
fn random_edges() -> impl Strategy<Value = Vec<Vec<usize>>> {
    let n = catalog().len();
    prop::collection::vec(prop::collection::vec(0..n, 0..12), n)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 200,
        rng_seed: RngSeed::Fixed(0x5EED_2026),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_cyclic_graphs_never_repeat_or_cross_partitions(
        edges in random_edges(),
        exclude_opt_in in any::<bool>(),
        max_regions in prop::option::of(0usize..10),
    ) {
        let mut graph = FallbackGraph::empty();
        for (info, targets) in catalog().iter().zip(&edges) {
            let targets: Vec<Region> = targets.iter().map(|&i| catalog()[i].code.clone()).collect();
            let crossing = targets.iter().filter(|t| find(t.as_str()).unwrap().partition != info.partition).count();
            match graph.set(info.code.clone(), targets.clone()) {
                Ok(_) => prop_assert_eq!(crossing, 0),
                Err(GraphError::Invalid { problems }) => {
                    // Refused exactly for the edges that leave the partition.
                    prop_assert_eq!(problems.len(), crossing);
                    let kept: Vec<Region> = targets.into_iter()
                        .filter(|t| find(t.as_str()).unwrap().partition == info.partition)
                        .collect();
                    graph.set(info.code.clone(), kept).unwrap();
                }
                Err(other) => prop_assert!(false, "unexpected error {other}"),
            }
        }
        let options = WalkOptions { exclude_opt_in, max_regions };
        for info in catalog() {
            check_walk(&graph, &info.code, &options);
        }
    }
}

#[test]
fn shipped_example_graph_loads_and_extends_the_walk() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/fallback-graph.yaml");
    let graph = FallbackGraph::from_file(path).unwrap();
    let from: Region = "us-east-1".parse().unwrap();
    let walk = graph.walk(&from, &WalkOptions::new());
    assert_eq!(walk[3].as_str(), "eu-west-1");
    assert!(walk.iter().any(|r| r.as_str() == "eu-central-1"));
    assert!(
        graph
            .walk(&"sa-east-1".parse().unwrap(), &WalkOptions::new())
            .is_empty()
    );
    check_walk(&graph, &from, &WalkOptions::new());
}
