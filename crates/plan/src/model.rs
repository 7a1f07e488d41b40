//! The planner's stated assumptions: the resolver's estimate model plus what only a plan
//! needs (refresh cadence, value of waiting, launch window, home regions).

use std::collections::BTreeMap;
use std::time::Duration;

use amiref_core::Region;
use amiref_regions::FallbackGraph;
use amiref_resolver::EstimateModel;

/// Hours in a month, as AWS bills GB-months and instance-months (730 = 8,760 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// The inputs every plan is computed from. Each is a stated assumption, printed with the
/// plan ([`PlanModel::stated_inputs`]), never a measurement.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PlanModel {
    /// Launch times, the default script time and image size, copy throughput, instance,
    /// transfer and snapshot storage prices: the resolver's own model, shared so that a
    /// plan and a launch estimate never disagree.
    pub estimates: EstimateModel,
    /// Where a region's launches look for an image in other regions: the source of a copy
    /// is the first region of the walk from it that holds the image.
    pub graph: FallbackGraph,
    /// What an hour of a researcher's waiting is worth, USD (default 0: only instance time
    /// counts).
    pub waiting_hour_usd: f64,
    /// How often a pre-built image is rebuilt and copied again (default 30 days).
    pub refresh_every: Duration,
    /// Builder time beyond the script: stopping, CreateImage, and the test launch's own
    /// overhead (default 10 min).
    pub capture_time: Duration,
    /// How far back launch records count (default 90 days).
    pub window: Duration,
    /// The least time a launch log's counts are spread over, so a log a day old does not
    /// read as 30 times its day (default 7 days).
    pub minimum_span: Duration,
    /// Where every template is built (default: the region with most launches).
    pub home_region: Option<Region>,
    /// Where a template is built, by name, over [`PlanModel::home_region`].
    pub home_regions: BTreeMap<String, Region>,
}

impl Default for PlanModel {
    fn default() -> Self {
        Self {
            estimates: EstimateModel::default(),
            graph: FallbackGraph::builtin(),
            waiting_hour_usd: 0.0,
            refresh_every: Duration::from_secs(30 * 24 * 3600),
            capture_time: Duration::from_secs(10 * 60),
            window: Duration::from_secs(90 * 24 * 3600),
            minimum_span: Duration::from_secs(7 * 24 * 3600),
            home_region: None,
            home_regions: BTreeMap::new(),
        }
    }
}

impl PlanModel {
    /// With the resolver's model (its prices and defaults).
    #[must_use]
    pub fn with_estimates(mut self, estimates: EstimateModel) -> Self {
        self.estimates = estimates;
        self
    }

    /// With another fallback graph.
    #[must_use]
    pub fn with_graph(mut self, graph: FallbackGraph) -> Self {
        self.graph = graph;
        self
    }

    /// With a value for a researcher's waiting hour, USD (negative or non-finite: 0).
    #[must_use]
    pub fn with_waiting_hour_usd(mut self, usd: f64) -> Self {
        self.waiting_hour_usd = if usd.is_finite() { usd.max(0.0) } else { 0.0 };
        self
    }

    /// With a refresh cadence (at least one hour).
    #[must_use]
    pub fn with_refresh_every(mut self, every: Duration) -> Self {
        self.refresh_every = every.max(Duration::from_secs(3600));
        self
    }

    /// With a builder overhead beyond the script.
    #[must_use]
    pub fn with_capture_time(mut self, capture: Duration) -> Self {
        self.capture_time = capture;
        self
    }

    /// With a launch window (at least one hour).
    #[must_use]
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window.max(Duration::from_secs(3600));
        self
    }

    /// With a least span for a young log (at least one hour).
    #[must_use]
    pub fn with_minimum_span(mut self, span: Duration) -> Self {
        self.minimum_span = span.max(Duration::from_secs(3600));
        self
    }

    /// Builds every template in `region`.
    #[must_use]
    pub fn with_home_region(mut self, region: Region) -> Self {
        self.home_region = Some(region);
        self
    }

    /// Builds `template` in `region`.
    #[must_use]
    pub fn with_template_home(mut self, template: impl Into<String>, region: Region) -> Self {
        self.home_regions.insert(template.into(), region);
        self
    }

    /// Refreshes per month: [`HOURS_PER_MONTH`] / the cadence in hours.
    pub fn refreshes_per_month(&self) -> f64 {
        HOURS_PER_MONTH / (self.refresh_every.as_secs_f64() / 3600.0).max(1.0)
    }

    /// The configured home of `template`, if any.
    pub fn configured_home(&self, template: &str) -> Option<&Region> {
        self.home_regions
            .get(template)
            .or(self.home_region.as_ref())
    }

    /// Time and transfer of copying `size_gib` into another region: the resolver's copy
    /// model, `copy_overhead + size / copy_gib_per_minute`.
    pub fn copy_time(&self, size_gib: u64) -> Duration {
        let e = &self.estimates;
        let minutes = size_gib as f64 / e.copy_gib_per_minute.max(f64::MIN_POSITIVE);
        e.copy_overhead + Duration::from_secs_f64((minutes * 60.0).min(1e9))
    }

    /// The assumptions behind a plan, for people: the planner's own, then the
    /// resolver's.
    pub fn stated_inputs(&self) -> Vec<String> {
        let days = |d: Duration| d.as_secs_f64() / 86_400.0;
        let mut lines = vec![
            "benefit per month = launches per month x (script time - image time) x (instance price per hour + value of a waiting hour)".to_owned(),
            format!(
                "a month is {HOURS_PER_MONTH} hours; a refresh every {} days ({:.3} refreshes a month) rebuilds the image and copies it again",
                days(self.refresh_every),
                self.refreshes_per_month()
            ),
            format!("value of a researcher's waiting hour: ${:.2}", self.waiting_hour_usd),
            format!(
                "build here: cost per month = size x snapshot storage per GiB-month + refreshes x instance price x (script time + image time + {} min capture)",
                self.capture_time.as_secs() / 60
            ),
            "copy from the nearest region holding the image (first on the fallback graph's walk): cost per month = size x snapshot storage + refreshes x size x transfer per GiB".to_owned(),
            "on-demand copy (the resolver copies at launch): copies per month = min(launches, refreshes), each waits the copy time and moves size x transfer; storage is paid for copies / refreshes of the month".to_owned(),
            "script: no saving, no cost; chosen when no pre-built option saves more than it costs".to_owned(),
            "a template is built only when its regions' net savings together exceed 0".to_owned(),
            format!(
                "launches: the usage file where it names a template and region, else the launch log's records of the last {} days (spread over at least {} days, or since the log's first record), else 1 per window when EC2's LastLaunchedTime falls in the window; references (instances, launch templates) only keep an image from retirement",
                days(self.window),
                days(self.minimum_span)
            ),
            "times: measured by the build (registry entry, else the image's tags), else the launch log's median time to ready, else the estimates below".to_owned(),
            format!(
                "image size: the template's largest image, else {} GiB",
                self.estimates.default_image_size_gib
            ),
        ];
        lines.extend(self.estimates.stated_inputs());
        lines
    }
}
