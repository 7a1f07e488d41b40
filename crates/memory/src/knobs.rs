//! The knobs tests and benchmarks turn: latency, throttling, injected faults, and counters.
//!
//! Every call goes through [`Knobs::begin`] before it touches the world: it is counted, then
//! delayed, then checked against injected faults and the token buckets. All time is tokio's,
//! so a test on a paused clock sees throttling refill and latency pass deterministically.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use amiref_core::{AccountId, CloudError, CloudErrorKind, Region};
use tokio::time::Instant;

/// The names of the operations, as AWS names them: the keys of [`Counters`] and of
/// [`crate::MemoryCloud::fail_next`].
pub mod op {
    /// `ImageCatalog::describe_images` and each page of `search_images`.
    pub const DESCRIBE_IMAGES: &str = "DescribeImages";
    /// `ImageStore::create_image`.
    pub const CREATE_IMAGE: &str = "CreateImage";
    /// `ImageStore::copy_image`.
    pub const COPY_IMAGE: &str = "CopyImage";
    /// `ImageStore::launch_permissions`.
    pub const DESCRIBE_IMAGE_ATTRIBUTE: &str = "DescribeImageAttribute";
    /// `ImageStore::add_launch_permissions` and `remove_launch_permissions`.
    pub const MODIFY_IMAGE_ATTRIBUTE: &str = "ModifyImageAttribute";
    /// `ImageStore::modify_snapshot_permissions`.
    pub const MODIFY_SNAPSHOT_ATTRIBUTE: &str = "ModifySnapshotAttribute";
    /// `ImageStore::image_block_public_access`.
    pub const GET_IMAGE_BLOCK_PUBLIC_ACCESS_STATE: &str = "GetImageBlockPublicAccessState";
    /// `ImageStore::enable_deprecation`.
    pub const ENABLE_IMAGE_DEPRECATION: &str = "EnableImageDeprecation";
    /// `ImageStore::disable_deprecation`.
    pub const DISABLE_IMAGE_DEPRECATION: &str = "DisableImageDeprecation";
    /// `ImageStore::deregister_image`.
    pub const DEREGISTER_IMAGE: &str = "DeregisterImage";
    /// `ImageStore::create_tags`.
    pub const CREATE_TAGS: &str = "CreateTags";
    /// `Instances::describe_instances`, and `ImageStore::image_usage` (EC2 answers it with
    /// DescribeInstances).
    pub const DESCRIBE_INSTANCES: &str = "DescribeInstances";
    /// `Marketplace::product`.
    pub const DESCRIBE_ENTITY: &str = "DescribeEntity";
    /// `MarketplacePublisher::start_change_set`.
    pub const START_CHANGE_SET: &str = "StartChangeSet";
    /// `MarketplacePublisher::change_set_status`.
    pub const DESCRIBE_CHANGE_SET: &str = "DescribeChangeSet";
    /// `Identity::caller`.
    pub const GET_CALLER_IDENTITY: &str = "GetCallerIdentity";
    /// `InstanceTypes::architectures`.
    pub const DESCRIBE_INSTANCE_TYPES: &str = "DescribeInstanceTypes";
    /// `Instances::run_instance`.
    pub const RUN_INSTANCES: &str = "RunInstances";
    /// `ImageCatalog::can_create_volumes` (EC2's DescribeSnapshots, restorable by the
    /// caller), one call per page of 1000 snapshots.
    pub const DESCRIBE_SNAPSHOTS: &str = "DescribeSnapshots";
    /// `InstanceTypes::offered_instance_types`.
    pub const DESCRIBE_INSTANCE_TYPE_OFFERINGS: &str = "DescribeInstanceTypeOfferings";
    /// `AccountSettings::allowed_images_settings`.
    pub const GET_ALLOWED_IMAGES_SETTINGS: &str = "GetAllowedImagesSettings";
    /// `Parameters::get_parameters` (SSM), one call per 10 names, SSM's batch limit.
    pub const GET_PARAMETERS: &str = "GetParameters";
    /// `InstanceControl::stop_instances` (EC2).
    pub const STOP_INSTANCES: &str = "StopInstances";
    /// `InstanceControl::terminate_instances` (EC2).
    pub const TERMINATE_INSTANCES: &str = "TerminateInstances";
    /// `InstanceControl::console_output` (EC2).
    pub const GET_CONSOLE_OUTPUT: &str = "GetConsoleOutput";
    /// `SecurityGroups::create_security_group` (EC2).
    pub const CREATE_SECURITY_GROUP: &str = "CreateSecurityGroup";
    /// `SecurityGroups::describe_security_groups` (EC2), one call per page.
    pub const DESCRIBE_SECURITY_GROUPS: &str = "DescribeSecurityGroups";
    /// `SecurityGroups::delete_security_group` (EC2).
    pub const DELETE_SECURITY_GROUP: &str = "DeleteSecurityGroup";
    /// `ParameterStore::put_parameter` (SSM).
    pub const PUT_PARAMETER: &str = "PutParameter";
    /// `ParameterStore::parameter_history` (SSM), one call per 50 versions.
    pub const GET_PARAMETER_HISTORY: &str = "GetParameterHistory";
    /// `ParameterStore::parameters_by_path` (SSM), one call per 10 parameters.
    pub const GET_PARAMETERS_BY_PATH: &str = "GetParametersByPath";
    /// `ParameterStore::delete_parameter` (SSM).
    pub const DELETE_PARAMETER: &str = "DeleteParameter";
    /// `ImageGovernance::enable_deregistration_protection` (EC2).
    pub const ENABLE_IMAGE_DEREGISTRATION_PROTECTION: &str = "EnableImageDeregistrationProtection";
    /// `ImageGovernance::disable_deregistration_protection` (EC2).
    pub const DISABLE_IMAGE_DEREGISTRATION_PROTECTION: &str =
        "DisableImageDeregistrationProtection";
    /// `ImageGovernance::disable_image` (EC2).
    pub const DISABLE_IMAGE: &str = "DisableImage";
    /// `ImageGovernance::enable_image` (EC2).
    pub const ENABLE_IMAGE: &str = "EnableImage";
    /// `ImageGovernance::delete_tags` (EC2).
    pub const DELETE_TAGS: &str = "DeleteTags";
    /// `ImageGovernance::image_references` (EC2), one call per page.
    pub const DESCRIBE_IMAGE_REFERENCES: &str = "DescribeImageReferences";
    /// `ImageGovernance::recycle_bin_rules` (Recycle Bin's ListRules).
    pub const LIST_RULES: &str = "ListRules";
    /// `ImageGovernance::snapshot_block_public_access` (EC2).
    pub const GET_SNAPSHOT_BLOCK_PUBLIC_ACCESS_STATE: &str = "GetSnapshotBlockPublicAccessState";
    /// `ImageGovernance::launch_template_images` (EC2), one call per page.
    pub const DESCRIBE_LAUNCH_TEMPLATE_VERSIONS: &str = "DescribeLaunchTemplateVersions";
}

/// A token bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// How many calls may be made at once from a full bucket.
    pub burst: u32,
    /// How many tokens come back each second.
    pub refill_per_second: f64,
}

impl RateLimit {
    /// A bucket of `burst` tokens refilled at `refill_per_second`.
    pub fn new(burst: u32, refill_per_second: f64) -> Self {
        Self {
            burst,
            refill_per_second,
        }
    }
}

/// EC2's request throttling: one token bucket per account, region and action, sized by the
/// action's class. EC2 evaluates "each API individually" ("Request throttling for the Amazon
/// EC2 API", Amazon EC2 Developer Guide): a burst of DescribeImages does not throttle
/// DescribeInstanceTypes.
///
/// [`Throttling::ec2`] holds the sizes EC2 publishes ("Request token bucket sizes and refill
/// rates", Amazon EC2 API Reference, as of 2024): non-mutating actions 100 burst / 20 per
/// second, mutating actions 200 / 5, and CopyImage, which has its own bucket, 100 / 1.
/// SSM's actions (GetParameters, PutParameter, GetParameterHistory, GetParametersByPath,
/// DeleteParameter) draw from SSM's own bucket (40 per second by default, GetParameters'
/// quota in "Systems Manager service quotas"; one bucket for all of them here). Calls to the Marketplace and STS are not throttled here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttling {
    /// Describe* and Get* calls.
    pub non_mutating: RateLimit,
    /// Calls that change something (CreateImage, ModifyImageAttribute, RunInstances, ...).
    pub mutating: RateLimit,
    /// CopyImage.
    pub copy_image: RateLimit,
    /// SSM GetParameters (and the other parameter reads, which share its quota).
    pub parameters: RateLimit,
}

impl Throttling {
    /// EC2's published buckets.
    pub fn ec2() -> Self {
        Self {
            non_mutating: RateLimit::new(100, 20.0),
            mutating: RateLimit::new(200, 5.0),
            copy_image: RateLimit::new(100, 1.0),
            parameters: RateLimit::new(40, 40.0),
        }
    }

    fn limit(&self, class: ActionClass) -> RateLimit {
        match class {
            ActionClass::NonMutating => self.non_mutating,
            ActionClass::Mutating => self.mutating,
            ActionClass::CopyImage => self.copy_image,
            ActionClass::Parameters => self.parameters,
        }
    }
}

impl Default for Throttling {
    fn default() -> Self {
        Self::ec2()
    }
}

/// Which bucket an operation draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ActionClass {
    NonMutating,
    Mutating,
    CopyImage,
    Parameters,
}

fn class_of(operation: &str) -> Option<ActionClass> {
    match operation {
        op::DESCRIBE_IMAGES
        | op::DESCRIBE_IMAGE_ATTRIBUTE
        | op::GET_IMAGE_BLOCK_PUBLIC_ACCESS_STATE
        | op::DESCRIBE_INSTANCES
        | op::DESCRIBE_INSTANCE_TYPES
        | op::DESCRIBE_SNAPSHOTS
        | op::DESCRIBE_INSTANCE_TYPE_OFFERINGS
        | op::GET_ALLOWED_IMAGES_SETTINGS => Some(ActionClass::NonMutating),
        op::COPY_IMAGE => Some(ActionClass::CopyImage),
        op::GET_CONSOLE_OUTPUT | op::DESCRIBE_SECURITY_GROUPS => Some(ActionClass::NonMutating),
        op::DESCRIBE_IMAGE_REFERENCES
        | op::GET_SNAPSHOT_BLOCK_PUBLIC_ACCESS_STATE
        | op::DESCRIBE_LAUNCH_TEMPLATE_VERSIONS => Some(ActionClass::NonMutating),
        op::ENABLE_IMAGE_DEREGISTRATION_PROTECTION
        | op::DISABLE_IMAGE_DEREGISTRATION_PROTECTION
        | op::DISABLE_IMAGE
        | op::ENABLE_IMAGE
        | op::DELETE_TAGS => Some(ActionClass::Mutating),
        // SSM's actions draw from SSM's bucket, not EC2's.
        op::GET_PARAMETERS
        | op::PUT_PARAMETER
        | op::GET_PARAMETER_HISTORY
        | op::GET_PARAMETERS_BY_PATH
        | op::DELETE_PARAMETER => Some(ActionClass::Parameters),
        op::CREATE_IMAGE
        | op::MODIFY_IMAGE_ATTRIBUTE
        | op::MODIFY_SNAPSHOT_ATTRIBUTE
        | op::ENABLE_IMAGE_DEPRECATION
        | op::DISABLE_IMAGE_DEPRECATION
        | op::DEREGISTER_IMAGE
        | op::CREATE_TAGS
        | op::RUN_INSTANCES
        | op::STOP_INSTANCES
        | op::TERMINATE_INSTANCES
        | op::CREATE_SECURITY_GROUP
        | op::DELETE_SECURITY_GROUP => Some(ActionClass::Mutating),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy)]
struct TokenBucket {
    tokens: f64,
    updated: Instant,
}

/// A snapshot of how many calls were made, per operation and region.
///
/// Every attempt counts, including those answered with an injected fault or a throttling
/// error, because that is what a real account would be billed and throttled for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    calls: BTreeMap<(String, Option<Region>), u64>,
}

impl Counters {
    /// Calls of `operation` to `region` (`None` for global services: STS, Marketplace).
    pub fn get(&self, operation: &str, region: Option<&Region>) -> u64 {
        self.calls
            .get(&(operation.to_owned(), region.cloned()))
            .copied()
            .unwrap_or(0)
    }

    /// Calls of `operation` in every region.
    pub fn operation(&self, operation: &str) -> u64 {
        self.calls
            .iter()
            .filter(|((o, _), _)| o == operation)
            .map(|(_, n)| n)
            .sum()
    }

    /// Calls to `region`, of every operation.
    pub fn region(&self, region: &Region) -> u64 {
        self.calls
            .iter()
            .filter(|((_, r), _)| r.as_ref() == Some(region))
            .map(|(_, n)| n)
            .sum()
    }

    /// All calls.
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }

    /// Every (operation, region, calls), ordered by operation then region.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&Region>, u64)> {
        self.calls
            .iter()
            .map(|((o, r), n)| (o.as_str(), r.as_ref(), *n))
    }
}

/// Knob settings and their running state, behind one mutex in the cloud.
#[derive(Debug, Default)]
pub(crate) struct Knobs {
    pub(crate) latency: Duration,
    pub(crate) operation_latency: HashMap<String, Duration>,
    pub(crate) region_latency: HashMap<Region, Duration>,
    pub(crate) throttling: Option<Throttling>,
    /// Per account, region and action (EC2), or one for all of SSM's actions.
    buckets: HashMap<(AccountId, Region, &'static str), TokenBucket>,
    pub(crate) regions_down: HashSet<Region>,
    pub(crate) failing: HashMap<String, (u32, CloudErrorKind)>,
    /// Per operation (CreateImage, CopyImage): how many more images it starts end `failed`.
    pub(crate) failing_images: HashMap<String, u32>,
    /// How many more launches end in `terminated` instead of `running`.
    pub(crate) failing_launches: u32,
    counters: Counters,
}

impl Knobs {
    /// Counts the call and says how long it takes before it answers: the operation's
    /// latency (or the default), plus the region's.
    pub(crate) fn count(&mut self, operation: &'static str, region: Option<&Region>) -> Duration {
        *self
            .counters
            .calls
            .entry((operation.to_owned(), region.cloned()))
            .or_insert(0) += 1;
        let base = self
            .operation_latency
            .get(operation)
            .copied()
            .unwrap_or(self.latency);
        let extra = region
            .and_then(|r| self.region_latency.get(r))
            .copied()
            .unwrap_or_default();
        base + extra
    }

    /// After the latency has passed: the injected fault or throttling error, if any.
    pub(crate) fn admit(
        &mut self,
        operation: &'static str,
        region: Option<&Region>,
        account: &AccountId,
        now: Instant,
    ) -> Result<(), CloudError> {
        let with_region = |e: CloudError| match region {
            Some(r) => e.in_region(r),
            None => e,
        };
        if let Some(r) = region
            && self.regions_down.contains(r)
        {
            return Err(with_region(
                CloudError::new(
                    CloudErrorKind::Unavailable,
                    operation,
                    "the service is unavailable in this region (injected fault)",
                )
                .with_code("Unavailable"),
            ));
        }
        if let Some((remaining, kind)) = self.failing.get_mut(operation) {
            let kind = *kind;
            *remaining -= 1;
            if *remaining == 0 {
                self.failing.remove(operation);
            }
            return Err(with_region(
                CloudError::new(kind, operation, "injected fault").with_code("InjectedFault"),
            ));
        }
        if let (Some(throttling), Some(class), Some(region)) =
            (self.throttling, class_of(operation), region)
        {
            let limit = throttling.limit(class);
            // EC2 throttles each action in a bucket of its own; SSM's actions share one.
            let action = match class {
                ActionClass::Parameters => "ssm",
                _ => operation,
            };
            let bucket = self
                .buckets
                .entry((account.clone(), region.clone(), action))
                .or_insert(TokenBucket {
                    tokens: f64::from(limit.burst),
                    updated: now,
                });
            let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
            bucket.tokens =
                (bucket.tokens + elapsed * limit.refill_per_second).min(f64::from(limit.burst));
            bucket.updated = now;
            if bucket.tokens < 1.0 {
                return Err(with_region(
                    CloudError::new(
                        CloudErrorKind::Throttled,
                        operation,
                        "Request limit exceeded.",
                    )
                    .with_code("RequestLimitExceeded"),
                ));
            }
            bucket.tokens -= 1.0;
        }
        Ok(())
    }

    /// Whether the image `operation` is starting is one an injected fault makes fail.
    pub(crate) fn take_failing_image(&mut self, operation: &str) -> bool {
        match self.failing_images.get_mut(operation) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        }
    }

    /// Puts back a fault [`Knobs::take_failing_image`] took for a call that made no image.
    pub(crate) fn give_back_failing_image(&mut self, operation: &str) {
        *self.failing_images.entry(operation.to_owned()).or_insert(0) += 1;
    }

    /// Whether the instance being launched is one an injected fault keeps from booting.
    pub(crate) fn take_failing_launch(&mut self) -> bool {
        let fails = self.failing_launches > 0;
        self.failing_launches = self.failing_launches.saturating_sub(1);
        fails
    }

    pub(crate) fn counters(&self) -> Counters {
        self.counters.clone()
    }

    pub(crate) fn reset_counters(&mut self) {
        self.counters = Counters::default();
    }

    pub(crate) fn set_throttling(&mut self, throttling: Option<Throttling>) {
        self.throttling = throttling;
        self.buckets.clear();
    }
}
