//! The region-fallback graph: for each region, the regions to look in when it has nothing.

use std::collections::{BTreeMap, HashSet, VecDeque};

use amiref_core::Region;

use crate::catalog::{self, RegionInfo};
use crate::error::{GraphError, GraphProblem};

/// The mission's fallback orders for the four regions it names; they win over the
/// nearest-region rule.
pub const MISSION_DEFAULTS: &[(&str, &[&str])] = &[
    ("us-east-1", &["us-east-2", "us-west-2", "us-west-1"]),
    ("us-west-2", &["us-west-1", "us-east-1", "us-east-2"]),
    ("eu-west-1", &["eu-west-2", "eu-central-1", "us-east-1"]),
    (
        "ap-south-1",
        &["ap-southeast-1", "ap-northeast-1", "us-east-1"],
    ),
];

/// How many of the nearest enabled-by-default regions the built-in rule lists.
pub const NEAREST_DEFAULT_REGIONS: usize = 3;
/// How many of the nearest opt-in regions the built-in rule lists after them.
pub const NEAREST_OPT_IN_REGIONS: usize = 2;

/// How to walk the graph.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalkOptions {
    /// Leave out opt-in regions (and do not expand through them): most accounts have not
    /// enabled them, and calls to a region that is not enabled fail.
    pub exclude_opt_in: bool,
    /// Stop after this many regions; `None` walks everything reachable in the partition.
    pub max_regions: Option<usize>,
}

impl WalkOptions {
    /// Walk everything reachable, opt-in regions included.
    pub fn new() -> Self {
        Self::default()
    }

    /// Leave out opt-in regions.
    pub fn exclude_opt_in(mut self, exclude: bool) -> Self {
        self.exclude_opt_in = exclude;
        self
    }

    /// Stop after `max` regions.
    pub fn max_regions(mut self, max: usize) -> Self {
        self.max_regions = Some(max);
        self
    }
}

/// One region of a walk, with how it was reached: useful to explain a resolution chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct WalkStep {
    /// The region to try.
    pub region: Region,
    /// 1 for the origin's own fallbacks, 2 for theirs, and so on.
    pub depth: usize,
    /// The region whose fallback list led here (the origin at depth 1).
    pub via: Region,
}

/// For each region, an ordered list of regions to fall back to.
///
/// Edges are validated when added: both ends must be in the [catalog](crate::catalog) and
/// in the same partition. Lists may contain cycles, duplicates and the region itself; the
/// walk is what guarantees termination, not the shape of the graph.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FallbackGraph {
    edges: BTreeMap<Region, Vec<Region>>,
}

impl FallbackGraph {
    /// A graph with no edges: no region falls back anywhere until [`set`](Self::set).
    pub fn empty() -> Self {
        Self::default()
    }

    /// The built-in graph: the mission's orders for us-east-1, us-west-2, eu-west-1 and
    /// ap-south-1, exactly; for every other catalogued region the
    /// [nearest regions](nearest_fallbacks) of its partition, plus every enabled region that
    /// lists it, plus any region nobody else lists whose nearest (non-mission) region it
    /// is; enabled regions first, each group nearest first. Every region is then reachable
    /// by a full walk from any region of its partition.
    pub fn builtin() -> Self {
        let mission: BTreeMap<Region, Vec<Region>> = MISSION_DEFAULTS
            .iter()
            .filter_map(|(from, to)| {
                let to = to.iter().filter_map(|c| Region::new(*c).ok()).collect();
                Some((Region::new(*from).ok()?, to))
            })
            .collect();
        let mut edges: BTreeMap<Region, Vec<Region>> = catalog::catalog()
            .iter()
            .map(|r| (r.code.clone(), nearest_fallbacks(r)))
            .collect();
        edges.extend(mission.clone());
        // The mission's lists are exact; only the rule's lists are extended below.
        let extensible = |region: &Region| !mission.contains_key(region);

        // Symmetry for enabled regions: an enabled region is listed by every region it
        // lists. Without it no European region would list Stockholm, nor any Asian region
        // Sydney: each has three enabled regions nearer to all its neighbours.
        let pairs: Vec<(Region, Region)> = edges
            .iter()
            .filter(|(from, _)| catalog::find(from.as_str()).is_some_and(|r| !r.opt_in))
            .flat_map(|(from, to)| to.iter().map(move |t| (t.clone(), from.clone())))
            .collect();
        for (from, to) in pairs {
            if let Some(list) = edges.get_mut(&from).filter(|_| extensible(&from))
                && !list.contains(&to)
            {
                list.push(to);
            }
        }
        // A region nobody lists yet (an opt-in region whose natural neighbour's list is
        // one of the mission's, like Hyderabad's Mumbai) is listed by its nearest region
        // whose list can be extended.
        for region in catalog::catalog() {
            let listed = edges.values().any(|list| list.contains(&region.code));
            if listed {
                continue;
            }
            let nearest = catalog::regions_in(region.partition)
                .filter(|r| r.code != region.code && extensible(&r.code))
                .min_by(|a, b| neighbour_order(region, &a.code, &b.code));
            if let Some(list) = nearest.and_then(|n| edges.get_mut(&n.code)) {
                list.push(region.code.clone());
            }
        }
        // Each extended list in the rule's order: enabled first, each group nearest first.
        for (from, list) in edges.iter_mut().filter(|(from, _)| extensible(from)) {
            if let Some(origin) = catalog::find(from.as_str()) {
                list.sort_by(|a, b| neighbour_order(origin, a, b));
            }
        }
        Self { edges }
    }

    /// Replaces `region`'s fallback list.
    ///
    /// Refused (and the graph left unchanged) if `region` or any fallback is not in the
    /// catalog, or a fallback is in another partition; every such problem is listed.
    pub fn set(&mut self, region: Region, fallbacks: Vec<Region>) -> Result<&mut Self, GraphError> {
        let field = format!("fallbacks.{region}");
        let codes: Vec<&str> = fallbacks.iter().map(Region::as_str).collect();
        let problems: Vec<GraphProblem> = check_edges(region.as_str(), &field, &codes)
            .into_iter()
            .map(|(_, problem)| problem)
            .collect();
        if !problems.is_empty() {
            return Err(GraphError::Invalid { problems });
        }
        self.edges.insert(region, fallbacks);
        Ok(self)
    }

    /// Removes `region`'s fallback list (it then falls back nowhere), returning it.
    pub fn remove(&mut self, region: &Region) -> Option<Vec<Region>> {
        self.edges.remove(region)
    }

    /// `region`'s direct fallbacks, in order (empty if it has none).
    pub fn fallbacks(&self, region: &Region) -> &[Region] {
        self.edges.get(region).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every region with a fallback list, and the list.
    pub fn iter(&self) -> impl Iterator<Item = (&Region, &[Region])> {
        self.edges.iter().map(|(k, v)| (k, v.as_slice()))
    }

    /// The regions to try, in order, when `from` has nothing: see [`walk_steps`](Self::walk_steps).
    pub fn walk(&self, from: &Region, options: &WalkOptions) -> Vec<Region> {
        self.walk_steps(from, options)
            .into_iter()
            .map(|s| s.region)
            .collect()
    }

    /// The regions to try when `from` has nothing, breadth first: `from`'s own fallbacks in
    /// their order, then each of those regions' fallbacks, and so on.
    ///
    /// Whatever the graph, the walk never returns `from`, never returns a region twice,
    /// never leaves `from`'s partition, never returns a region missing from the catalog,
    /// leaves out opt-in regions when asked (without expanding through them), and stops
    /// after `max_regions`. It visits each region at most once, so it ends after at most
    /// one step per catalogued region.
    pub fn walk_steps(&self, from: &Region, options: &WalkOptions) -> Vec<WalkStep> {
        let partition = catalog::find(from.as_str())
            .map(|r| r.partition)
            .unwrap_or_else(|| from.partition());
        let limit = options.max_regions.unwrap_or(usize::MAX);
        let mut steps = Vec::new();
        let mut seen: HashSet<&Region> = HashSet::from([from]);
        let mut queue: VecDeque<(&Region, usize, &Region)> =
            self.fallbacks(from).iter().map(|r| (r, 1, from)).collect();

        while let Some((region, depth, via)) = queue.pop_front() {
            if steps.len() >= limit {
                break;
            }
            if !seen.insert(region) {
                continue;
            }
            let Some(info) = catalog::find(region.as_str()) else {
                continue;
            };
            if info.partition != partition || (options.exclude_opt_in && info.opt_in) {
                continue;
            }
            steps.push(WalkStep {
                region: region.clone(),
                depth,
                via: via.clone(),
            });
            queue.extend(
                self.fallbacks(region)
                    .iter()
                    .filter(|next| !seen.contains(next))
                    .map(|next| (next, depth + 1, region)),
            );
        }
        tracing::trace!(from = %from, regions = steps.len(), "walked fallback graph");
        steps
    }

    /// Inserts an edge list without validation: lets tests hand the walk graphs that
    /// [`set`](Self::set) would refuse.
    #[cfg(test)]
    pub(crate) fn insert_unchecked(&mut self, region: Region, fallbacks: Vec<Region>) {
        self.edges.insert(region, fallbacks);
    }

    pub(crate) fn insert_validated(&mut self, region: Region, fallbacks: Vec<Region>) {
        self.edges.insert(region, fallbacks);
    }
}

/// The built-in rule for a region the mission does not name: the
/// [`NEAREST_DEFAULT_REGIONS`] nearest enabled-by-default regions of its partition, then up
/// to [`NEAREST_OPT_IN_REGIONS`] nearest opt-in ones no farther away than the last of those,
/// each group by great-circle distance.
///
/// Enabled-by-default regions come first because a fallback region must be enabled in the
/// account to be searched; opt-in ones stay in the list for accounts that have them (and a
/// walk with [`WalkOptions::exclude_opt_in`] drops them).
pub fn nearest_fallbacks(region: &RegionInfo) -> Vec<Region> {
    let mut others: Vec<(&RegionInfo, f64)> = catalog::regions_in(region.partition)
        .filter(|r| r.code != region.code)
        .map(|r| (r, region.distance_km(r)))
        .collect();
    others.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.code.cmp(&b.0.code)));
    let enabled: Vec<&(&RegionInfo, f64)> = others
        .iter()
        .filter(|(r, _)| !r.opt_in)
        .take(NEAREST_DEFAULT_REGIONS)
        .collect();
    // An opt-in region farther away than every enabled choice is no neighbour: without this
    // cap Calgary would list Zurich.
    let reach = enabled.last().map_or(f64::INFINITY, |(_, d)| *d);
    let opt_in = others
        .iter()
        .filter(|(r, d)| r.opt_in && *d <= reach)
        .take(NEAREST_OPT_IN_REGIONS);
    enabled
        .into_iter()
        .chain(opt_in)
        .map(|(r, _)| r.code.clone())
        .collect()
}

/// The built-in rule's order of neighbours of `origin`: enabled regions before opt-in ones,
/// each group nearest first, ties by code.
fn neighbour_order(origin: &RegionInfo, a: &Region, b: &Region) -> std::cmp::Ordering {
    let key = |r: &Region| {
        catalog::find(r.as_str()).map_or((true, f64::INFINITY), |info| {
            (info.opt_in, origin.distance_km(info))
        })
    };
    let ((a_opt_in, a_km), (b_opt_in, b_km)) = (key(a), key(b));
    a_opt_in
        .cmp(&b_opt_in)
        .then(a_km.total_cmp(&b_km))
        .then_with(|| a.cmp(b))
}

/// Problems with an edge list from `from`, each with the index of the fallback it is about
/// (`None`: about `from` itself). Codes are text because a file may hold malformed ones.
pub(crate) fn check_edges(
    from: &str,
    field: &str,
    fallbacks: &[&str],
) -> Vec<(Option<usize>, GraphProblem)> {
    let mut problems = Vec::new();
    let origin = catalog::find(from);
    if origin.is_none() {
        problems.push((None, unknown_region(field, from)));
    }
    for (i, &to) in fallbacks.iter().enumerate() {
        let item_field = format!("{field}[{i}]");
        match (origin, catalog::find(to)) {
            (_, None) => problems.push((Some(i), unknown_region(&item_field, to))),
            (Some(origin), Some(target)) if target.partition != origin.partition => {
                problems.push((
                    Some(i),
                    GraphProblem {
                        location: None,
                        field: item_field,
                        found: format!("{to} (partition {})", target.partition),
                        expected: format!(
                            "a region of {from}'s partition {} (nothing is copied across partitions)",
                            origin.partition
                        ),
                    },
                ))
            }
            _ => {}
        }
    }
    problems
}

fn unknown_region(field: &str, code: &str) -> GraphProblem {
    let hint = catalog::closest_code(code)
        .map(|c| format!(" (did you mean {c:?}?)"))
        .unwrap_or_default();
    GraphProblem {
        location: None,
        field: field.to_owned(),
        found: format!("{code:?}"),
        expected: format!(
            "a region in the catalog as of {}{hint}",
            catalog::CATALOG_AS_OF
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amiref_core::Partition;

    fn r(code: &str) -> Region {
        code.parse().unwrap()
    }

    fn codes(regions: &[Region]) -> Vec<&str> {
        regions.iter().map(Region::as_str).collect()
    }

    #[test]
    fn mission_defaults_are_exact() {
        let g = FallbackGraph::builtin();
        for (from, to) in MISSION_DEFAULTS {
            assert_eq!(codes(g.fallbacks(&r(from))), *to, "{from}");
        }
    }

    #[test]
    fn every_catalogued_region_has_fallbacks_in_its_partition() {
        let g = FallbackGraph::builtin();
        for info in catalog::catalog() {
            let list = g.fallbacks(&info.code);
            assert!(!list.is_empty(), "{} has no fallbacks", info.code);
            let is_mission = MISSION_DEFAULTS
                .iter()
                .any(|(from, _)| *from == info.code.as_str());
            if !is_mission {
                for nearest in nearest_fallbacks(info) {
                    assert!(list.contains(&nearest), "{} lacks {nearest}", info.code);
                }
            }
            for to in list {
                assert_ne!(to, &info.code);
                assert_eq!(
                    catalog::find(to.as_str()).unwrap().partition,
                    info.partition
                );
            }
        }
    }

    #[test]
    fn nearest_regions_are_sane() {
        let g = FallbackGraph::builtin();
        let first = |code: &str| g.fallbacks(&r(code))[0].as_str().to_owned();
        assert!(["eu-west-2", "eu-central-1"].contains(&first("eu-west-3").as_str()));
        assert_eq!(first("ap-northeast-3"), "ap-northeast-1");
        assert_eq!(first("ap-southeast-5"), "ap-southeast-1");
        assert_eq!(first("ap-southeast-4"), "ap-southeast-2");
        assert_eq!(first("ca-west-1"), "us-west-2");
        assert_eq!(first("eu-central-2"), "eu-central-1");
        assert_eq!(codes(g.fallbacks(&r("us-gov-west-1"))), ["us-gov-east-1"]);
        assert_eq!(codes(g.fallbacks(&r("cn-northwest-1"))), ["cn-north-1"]);
    }

    #[test]
    fn opt_in_regions_come_after_enabled_ones() {
        let paris = catalog::find("eu-west-3").unwrap();
        let list = nearest_fallbacks(paris);
        assert_eq!(
            codes(&list),
            [
                "eu-west-2",
                "eu-central-1",
                "eu-west-1",
                "eu-central-2",
                "eu-south-1"
            ]
        );
    }

    #[test]
    fn walk_is_breadth_first_over_a_cycle() {
        let g = FallbackGraph::builtin();
        let order = g.walk(&r("us-east-1"), &WalkOptions::new());
        assert_eq!(codes(&order[..3]), ["us-east-2", "us-west-2", "us-west-1"]);
        assert!(!order.contains(&r("us-east-1")));
        let mut sorted = codes(&order);
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), order.len());
        // The built-in graph is connected within each partition.
        assert_eq!(order.len(), catalog::commercial_regions().count() - 1);
    }

    /// The continent a region code names.
    fn area(code: &Region) -> &str {
        match code.as_str().split('-').next().unwrap_or_default() {
            "us" | "ca" | "sa" | "mx" => "americas",
            other => other,
        }
    }

    #[test]
    fn builtin_walks_reach_the_whole_partition_and_lists_put_enabled_regions_first() {
        let g = FallbackGraph::builtin();
        let mission: Vec<&str> = MISSION_DEFAULTS.iter().map(|(from, _)| *from).collect();
        for info in catalog::catalog() {
            let partition_size = catalog::regions_in(info.partition).count();
            let walk = g.walk(&info.code, &WalkOptions::new());
            assert_eq!(walk.len(), partition_size - 1, "from {}", info.code);
            // Without opt-in regions: every enabled region of the origin's own area, and
            // the mission's hub, us-east-1, which Europe and Asia fall back to.
            let walk = g.walk(&info.code, &WalkOptions::new().exclude_opt_in(true));
            let must_reach = catalog::regions_in(info.partition).filter(|r| {
                !r.opt_in
                    && r.code != info.code
                    && (area(&r.code) == area(&info.code)
                        || (r.code.as_str() == "us-east-1" && info.partition == Partition::Aws))
            });
            for region in must_reach {
                assert!(
                    walk.contains(&region.code),
                    "{} misses {}",
                    info.code,
                    region.code
                );
            }
            if mission.contains(&info.code.as_str()) {
                continue;
            }
            let opt_in: Vec<bool> = g
                .fallbacks(&info.code)
                .iter()
                .map(|r| catalog::find(r.as_str()).unwrap().opt_in)
                .collect();
            assert!(
                opt_in.windows(2).all(|w| w[0] <= w[1]),
                "{}: {opt_in:?}",
                info.code
            );
        }
    }

    #[test]
    fn walk_steps_say_how_each_region_was_reached() {
        let g = FallbackGraph::builtin();
        let steps = g.walk_steps(&r("ap-south-1"), &WalkOptions::new().max_regions(5));
        assert_eq!(steps[0].depth, 1);
        assert_eq!(steps[0].via, r("ap-south-1"));
        assert!(steps[3..].iter().all(|s| s.depth == 2));
        assert_eq!(steps[3].via, r("ap-southeast-1"));
    }

    #[test]
    fn walk_can_exclude_opt_in_regions_and_is_bounded() {
        let g = FallbackGraph::builtin();
        let order = g.walk(
            &r("ap-southeast-5"),
            &WalkOptions::new().exclude_opt_in(true),
        );
        assert!(!order.is_empty());
        assert!(
            order
                .iter()
                .all(|x| !catalog::find(x.as_str()).unwrap().opt_in)
        );
        let bounded = g.walk(&r("ap-southeast-5"), &WalkOptions::new().max_regions(2));
        assert_eq!(bounded.len(), 2);
        assert!(
            g.walk(&r("eu-west-1"), &WalkOptions::new().max_regions(0))
                .is_empty()
        );
    }

    #[test]
    fn walk_guards_partition_and_catalog_even_for_unvalidated_graphs() {
        let mut g = FallbackGraph::empty();
        g.insert_unchecked(
            r("us-east-1"),
            vec![
                r("cn-north-1"),
                r("us-east-1"),
                r("xx-nowhere-1"),
                r("us-gov-west-1"),
                r("us-east-2"),
            ],
        );
        g.insert_unchecked(r("cn-north-1"), vec![r("us-west-2")]);
        g.insert_unchecked(r("us-east-2"), vec![r("us-east-1"), r("us-east-2")]);
        assert_eq!(
            codes(&g.walk(&r("us-east-1"), &WalkOptions::new())),
            ["us-east-2"]
        );
    }

    #[test]
    fn walk_from_an_unknown_region_is_empty() {
        let g = FallbackGraph::builtin();
        assert!(g.walk(&r("xx-nowhere-1"), &WalkOptions::new()).is_empty());
    }

    #[test]
    fn set_validates_and_lists_every_problem() {
        let mut g = FallbackGraph::builtin();
        let before = g.clone();
        let err = g
            .set(
                r("us-east-1"),
                vec![r("eu-wst-2"), r("cn-north-1"), r("us-west-2")],
            )
            .unwrap_err();
        let GraphError::Invalid { problems } = &err else {
            panic!("{err}")
        };
        assert_eq!(problems.len(), 2, "{err}");
        assert_eq!(problems[0].field, "fallbacks.us-east-1[0]");
        assert!(
            problems[0].expected.contains("did you mean \"eu-west-2\""),
            "{err}"
        );
        assert_eq!(problems[1].field, "fallbacks.us-east-1[1]");
        assert!(
            problems[1].found.contains(Partition::AwsCn.as_str()),
            "{err}"
        );
        assert_eq!(g, before, "a refused set leaves the graph unchanged");

        assert!(g.set(r("xx-nowhere-1"), vec![]).is_err());
        g.set(r("us-east-1"), vec![r("eu-west-1")]).unwrap();
        assert_eq!(codes(g.fallbacks(&r("us-east-1"))), ["eu-west-1"]);
        assert_eq!(g.remove(&r("us-east-1")), Some(vec![r("eu-west-1")]));
        assert!(g.walk(&r("us-east-1"), &WalkOptions::new()).is_empty());
    }
}
