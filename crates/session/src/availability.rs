//! Testing a template's availability across regions (`ami test`).

use std::collections::BTreeMap;

use amiref_core::{AmiId, InstanceType, Region, ResolutionMethod};
use amiref_layers::RegionHealth;
use amiref_resolver::{ChainEntry, Resolution};
use amiref_strategies::CloudFailure;
use amiref_template::Template;
use serde::Serialize;

use crate::Session;

/// How a template can be launched in one region.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Availability {
    /// An image is there.
    Available {
        /// The image.
        image: AmiId,
        /// How it was found.
        method: ResolutionMethod,
        /// The instance type it would launch on.
        instance_type: InstanceType,
    },
    /// An image in another region can be copied here.
    CrossRegionCopy {
        /// The image to copy.
        image: AmiId,
        /// Where it is.
        source_region: Region,
        /// The estimated copy time.
        copy_time_secs: u64,
        /// The instance type it would launch on.
        instance_type: InstanceType,
    },
    /// No image: the template's script would provision this base image.
    ScriptFallback {
        /// The base image.
        base_image: AmiId,
        /// The instance type.
        instance_type: InstanceType,
    },
    /// Nothing can be launched.
    Unavailable {
        /// Why, for a person.
        reason: String,
        /// Every tier tried.
        chain: Vec<ChainEntry>,
    },
}

impl Availability {
    fn of(result: &Result<Resolution, amiref_resolver::ResolveError>) -> Self {
        match result {
            Ok(r) => match (&r.copy_plan, r.method.uses_image()) {
                (Some(plan), _) => Self::CrossRegionCopy {
                    image: plan.source_image.clone(),
                    source_region: plan.source_region.clone(),
                    copy_time_secs: plan.estimated_duration.as_secs(),
                    instance_type: r.instance_type.clone(),
                },
                (None, true) => Self::Available {
                    image: r.image.id.clone(),
                    method: r.method.clone(),
                    instance_type: r.instance_type.clone(),
                },
                (None, false) => Self::ScriptFallback {
                    base_image: r.image.id.clone(),
                    instance_type: r.instance_type.clone(),
                },
            },
            Err(e) => Self::Unavailable {
                reason: e.to_string(),
                chain: e.chain().to_vec(),
            },
        }
    }

    /// Whether nothing can be launched.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// One region's row.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RegionAvailability {
    /// The region.
    pub region: Region,
    /// How the template launches there.
    #[serde(flatten)]
    pub availability: Availability,
    /// The faults the region answered with during the test; absent when it answered every
    /// call without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<RegionFaults>,
}

/// The faults one region answered with during a test: the answers were still used (the
/// calls were retried), unless the region was given up.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct RegionFaults {
    /// Answers that said the service was unavailable or did not answer in time.
    pub unavailable_count: u64,
    /// Answers that said to slow down (throttling).
    pub throttled_count: u64,
    /// Whether the region was given up for the rest of the command (its circuit opened):
    /// its later calls failed at once.
    pub given_up: bool,
    /// The last of those answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<CloudFailure>,
}

impl RegionFaults {
    /// What `after` saw beyond `before`; `None` when that is no fault at all.
    fn between(before: Option<&RegionHealth>, after: &RegionHealth) -> Option<Self> {
        let zero = RegionHealth::default();
        let before = before.unwrap_or(&zero);
        let faults = Self {
            unavailable_count: after.faults.saturating_sub(before.faults),
            throttled_count: after.throttled.saturating_sub(before.throttled),
            given_up: after.given_up,
            last_error: after.last_fault.as_ref().map(CloudFailure::from),
        };
        (faults.unavailable_count > 0 || faults.throttled_count > 0 || faults.given_up)
            .then_some(faults)
    }
}

/// Counts per kind of availability.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct AvailabilityCounts {
    /// Regions with an image.
    pub available: usize,
    /// Regions an image can be copied to.
    pub cross_region_copy: usize,
    /// Regions where the script would run.
    pub script_fallback: usize,
    /// Regions where nothing can be launched.
    pub unavailable: usize,
    /// Regions that answered some calls with faults (throttling, unavailability).
    pub with_faults_count: usize,
    /// Regions given up for the rest of the command after repeated faults.
    pub given_up_count: usize,
}

/// `ami test`: how a template launches in each region.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct AvailabilityReport {
    /// The template.
    pub template: String,
    /// One row per region, in the order asked.
    pub regions: Vec<RegionAvailability>,
    /// The rows counted.
    pub counts: AvailabilityCounts,
    /// How long the test took, milliseconds (on a world: simulated time).
    pub elapsed_ms: u64,
    /// Whether the time is a world's simulated time.
    pub simulated_time: bool,
}

impl Session {
    /// Resolves `template` in every region of `regions` at once (one describe per region
    /// for the direct mappings), and says which regions answered with faults.
    pub async fn availability(
        &self,
        template: &Template,
        regions: &[Region],
    ) -> AvailabilityReport {
        let start = tokio::time::Instant::now();
        let before = self.region_health();
        let results = self
            .resolver()
            .resolve_many(std::slice::from_ref(template), regions)
            .await;
        let elapsed = start.elapsed();
        let after: BTreeMap<Region, RegionHealth> = self.region_health();
        let rows: Vec<RegionAvailability> = results
            .iter()
            .map(|r| RegionAvailability {
                region: r.region.clone(),
                availability: Availability::of(&r.result),
                faults: after
                    .get(&r.region)
                    .and_then(|a| RegionFaults::between(before.get(&r.region), a)),
            })
            .collect();
        let mut counts = AvailabilityCounts::default();
        for row in &rows {
            if let Some(faults) = &row.faults {
                counts.with_faults_count += 1;
                counts.given_up_count += usize::from(faults.given_up);
            }
            match row.availability {
                Availability::Available { .. } => counts.available += 1,
                Availability::CrossRegionCopy { .. } => counts.cross_region_copy += 1,
                Availability::ScriptFallback { .. } => counts.script_fallback += 1,
                Availability::Unavailable { .. } => counts.unavailable += 1,
            }
        }
        AvailabilityReport {
            template: template.name.clone(),
            regions: rows,
            counts,
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            simulated_time: self.is_world(),
        }
    }
}
