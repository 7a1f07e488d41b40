//! [`MemoryCloud`]: the handle every port is implemented on, and the prologue every call
//! runs (count, delay, faults, throttling, settle the world's clock).

use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use amiref_core::{
    AccountId, AmiId, CallerIdentity, CloudError, CloudErrorKind, Image, Region, SnapshotId,
};
use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::builder::MemoryCloudBuilder;
use crate::knobs::{Counters, Knobs, Throttling};
use crate::state::WorldData;

/// What every handle on one world shares.
pub(crate) struct Shared {
    pub(crate) world: RwLock<WorldData>,
    pub(crate) knobs: Mutex<Knobs>,
    pub(crate) page_size: usize,
}

/// An in-process cloud with EC2's semantics, implementing every port of `amiref-core`.
///
/// Cheap to clone; clones share the world. [`MemoryCloud::as_account`] gives a handle on the
/// same world that calls as another account, so that sharing can be tested from both sides.
#[derive(Clone)]
pub struct MemoryCloud {
    pub(crate) shared: Arc<Shared>,
    pub(crate) caller: AccountId,
}

impl std::fmt::Debug for MemoryCloud {
    /// A summary: a world may hold 100,000 images, which no log line should print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let world = self.read();
        f.debug_struct("MemoryCloud")
            .field("caller", &self.caller)
            .field("regions", &world.regions.len())
            .field(
                "images",
                &world
                    .regions
                    .values()
                    .map(|r| r.images.len())
                    .sum::<usize>(),
            )
            .finish_non_exhaustive()
    }
}

impl MemoryCloud {
    /// A builder for a world in code.
    pub fn builder() -> MemoryCloudBuilder {
        MemoryCloudBuilder::default()
    }

    pub(crate) fn from_shared(shared: Arc<Shared>, caller: AccountId) -> Self {
        Self { shared, caller }
    }

    /// A handle on the same world that calls as `account` (with the organization and OUs
    /// the world gives that account, if any).
    #[must_use]
    pub fn as_account(&self, account: AccountId) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            caller: account,
        }
    }

    /// The account this handle calls as.
    pub fn caller_account(&self) -> &AccountId {
        &self.caller
    }

    /// The world's wall-clock time now: its start plus tokio's elapsed time.
    pub fn now(&self) -> DateTime<Utc> {
        self.read().now_utc(Instant::now())
    }

    /// How many calls were made, per operation and region, since the start or the last
    /// [`MemoryCloud::reset_counters`]. Shared by every handle on the world.
    pub fn counters(&self) -> Counters {
        self.knobs().counters()
    }

    /// Sets every counter back to zero.
    pub fn reset_counters(&self) {
        self.knobs().reset_counters();
    }

    /// Delays every call this long from now on.
    pub fn set_latency(&self, latency: Duration) {
        self.knobs().latency = latency;
    }

    /// Delays calls of `operation` (see [`crate::op`]) this long from now on.
    pub fn set_operation_latency(&self, operation: &str, latency: Duration) {
        self.knobs()
            .operation_latency
            .insert(operation.to_owned(), latency);
    }

    /// Adds this much latency to every call to `region` from now on (on top of the
    /// operation's), e.g. to make a far region slow.
    pub fn set_region_latency(&self, region: &Region, latency: Duration) {
        self.knobs().region_latency.insert(region.clone(), latency);
    }

    /// Turns throttling on (with full buckets) or off.
    pub fn set_throttling(&self, throttling: Option<Throttling>) {
        self.knobs().set_throttling(throttling);
    }

    /// Takes a region down (every call to it fails with [`CloudErrorKind::Unavailable`]) or
    /// brings it back.
    pub fn set_region_down(&self, region: &Region, down: bool) {
        let mut knobs = self.knobs();
        if down {
            knobs.regions_down.insert(region.clone());
        } else {
            knobs.regions_down.remove(region);
        }
    }

    /// Makes the next `times` calls of `operation` (see [`crate::op`]) fail with `kind`.
    pub fn fail_next(&self, operation: &str, times: u32, kind: CloudErrorKind) {
        let mut knobs = self.knobs();
        if times == 0 {
            knobs.failing.remove(operation);
        } else {
            knobs.failing.insert(operation.to_owned(), (times, kind));
        }
    }

    /// Makes the next `times` images that `operation` ([`crate::op::CREATE_IMAGE`] or
    /// [`crate::op::COPY_IMAGE`]) starts end `failed` instead of `available`: the call
    /// succeeds and the image is pending for the usual time, as an EC2 image whose creation
    /// fails is. Its snapshots stay until it is deregistered with them.
    pub fn fail_next_images(&self, operation: &str, times: u32) {
        self.knobs()
            .failing_images
            .insert(operation.to_owned(), times);
    }

    /// Makes the next `times` launches fail to boot: RunInstances succeeds, and the
    /// instance goes from `pending` to `shutting-down` and `terminated` instead of
    /// `running`, as one EC2 could not start (an internal error, no capacity) does.
    pub fn fail_next_launches(&self, times: u32) {
        self.knobs().failing_launches = times;
    }

    /// An image as the world holds it, whoever owns it: for tests that check what a call
    /// did. Ports answer with the caller's view instead.
    pub fn inspect_image(&self, region: &Region, image: &AmiId) -> Option<Image> {
        let now = Instant::now();
        self.settle(now);
        self.read()
            .regions
            .get(region)
            .and_then(|r| r.images.get(image))
            .map(|s| s.image.clone())
    }

    /// The tags of a snapshot in the region, if it exists: for tests of what CreateImage
    /// tagged.
    pub fn snapshot_tags(
        &self,
        region: &Region,
        snapshot: &SnapshotId,
    ) -> Option<std::collections::BTreeMap<String, String>> {
        self.read()
            .regions
            .get(region)
            .and_then(|r| r.snapshots.get(snapshot))
            .map(|s| s.tags.clone())
    }

    /// Whether a snapshot exists in the region: for tests of deregistration.
    pub fn snapshot_exists(&self, region: &Region, snapshot: &SnapshotId) -> bool {
        self.read()
            .regions
            .get(region)
            .is_some_and(|r| r.snapshots.contains_key(snapshot))
    }

    /// How many images the region holds, of every owner and state.
    pub fn image_count(&self, region: &Region) -> usize {
        self.read()
            .regions
            .get(region)
            .map_or(0, |r| r.images.len())
    }

    /// The regions the world has declared or holds anything in.
    pub fn regions(&self) -> Vec<Region> {
        self.read().regions.keys().cloned().collect()
    }

    /// Who this handle calls as.
    pub(crate) fn identity(&self) -> CallerIdentity {
        self.read().identity_of(&self.caller)
    }

    /// The prologue of every call: counts it, waits its latency, fails it if a fault is
    /// injected or its bucket is empty, and settles the world's clock. Returns the time the
    /// call is answered at.
    pub(crate) async fn begin(
        &self,
        operation: &'static str,
        region: Option<&Region>,
    ) -> Result<Instant, CloudError> {
        let latency = self.knobs().count(operation, region);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let now = Instant::now();
        self.knobs().admit(operation, region, &self.caller, now)?;
        self.settle(now);
        tracing::trace!(
            operation,
            region = region.map(Region::as_str),
            "memory call"
        );
        Ok(now)
    }

    /// Moves pending states along to `now`, taking the write lock only when something is due.
    pub(crate) fn settle(&self, now: Instant) {
        if self.read().has_due(now) {
            self.write().settle(now);
        }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, WorldData> {
        // A panic while holding the lock cannot leave the world half-changed in a way later
        // calls would misread (each change is one insert or field write), so carry on.
        self.shared
            .world
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, WorldData> {
        self.shared
            .world
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn knobs(&self) -> MutexGuard<'_, Knobs> {
        self.shared
            .knobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Errors as EC2 words them, so that callers branching on codes behave as they would on AWS.
pub(crate) mod ec2_error {
    use amiref_core::{AmiId, CloudError, CloudErrorKind, Region};

    pub(crate) fn image_not_found(op: &'static str, region: &Region, id: &AmiId) -> CloudError {
        CloudError::not_found(op, format!("The image id '[{id}]' does not exist"))
            .in_region(region)
            .with_code("InvalidAMIID.NotFound")
    }

    pub(crate) fn not_owner(op: &'static str, region: &Region, id: &AmiId) -> CloudError {
        CloudError::new(
            CloudErrorKind::AccessDenied,
            op,
            format!("Not authorized for image:{id}"),
        )
        .in_region(region)
        .with_code("AuthFailure")
    }

    /// EC2's refusal of an image the account's Allowed AMIs setting blocks.
    pub(crate) fn not_allowed_image(op: &'static str, region: &Region, id: &AmiId) -> CloudError {
        CloudError::new(
            CloudErrorKind::NotPermitted,
            op,
            format!(
                "The AMI '{id}' is not allowed by the Allowed AMIs settings of this account in {region}: it matches none of the image criteria"
            ),
        )
        .in_region(region)
        .with_code("InvalidAMIID.NotAllowed")
    }

    pub(crate) fn invalid(
        op: &'static str,
        region: &Region,
        code: &str,
        message: impl Into<String>,
    ) -> CloudError {
        CloudError::new(CloudErrorKind::InvalidRequest, op, message)
            .in_region(region)
            .with_code(code)
    }

    pub(crate) fn not_permitted(
        op: &'static str,
        region: &Region,
        code: &str,
        message: impl Into<String>,
    ) -> CloudError {
        CloudError::new(CloudErrorKind::NotPermitted, op, message)
            .in_region(region)
            .with_code(code)
    }
}
