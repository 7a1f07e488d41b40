//! [`CopyLimits`]: EC2's limits on concurrent copies, as semaphores a process shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use amiref_core::{AmiId, Region};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

/// How many copies may run at once into one region, and out of one region.
///
/// EC2 allows at most 50 concurrent AMI copies into one destination region, of which at most
/// 25 from one source region; amiref also caps the copies out of one source region at 25 in
/// total, which satisfies both readings of that rule. The semaphores are per process: share one `Arc<CopyLimits>`
/// between every [`crate::Lifecycle`] of a process. A copy holds its permits until it is available,
/// because EC2 counts it until then.
///
/// They also make one copy of an image into a region at a time: a caller that asks for a copy
/// already in flight waits for it and then finds it, so a hundred launches of one copy are one
/// CopyImage request holding one slot, not a hundred requests holding every slot of the region.
#[derive(Debug)]
pub struct CopyLimits {
    into_region: usize,
    out_of_region: usize,
    semaphores: Mutex<HashMap<(Direction, Region), Arc<Semaphore>>>,
    flights: Mutex<HashMap<Flight, Arc<AsyncMutex<()>>>>,
}

/// One copy: an image of a source region into a destination.
type Flight = (Region, AmiId, Region);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Direction {
    In,
    Out,
}

/// The concurrent copies EC2 allows into one destination region.
pub const EC2_MAX_COPIES_INTO_REGION: usize = 50;
/// The concurrent copies amiref runs out of one source region.
pub const EC2_MAX_COPIES_OUT_OF_REGION: usize = 25;

impl CopyLimits {
    /// EC2's limits: 50 into a region, 25 out of one.
    pub fn ec2() -> Self {
        Self::new(EC2_MAX_COPIES_INTO_REGION, EC2_MAX_COPIES_OUT_OF_REGION)
    }

    /// Other limits (a quota raised by AWS, or lower to be gentle). Zero is taken as one.
    pub fn new(into_region: usize, out_of_region: usize) -> Self {
        Self {
            into_region: into_region.max(1),
            out_of_region: out_of_region.max(1),
            semaphores: Mutex::new(HashMap::new()),
            flights: Mutex::new(HashMap::new()),
        }
    }

    fn semaphore(&self, direction: Direction, region: &Region) -> Arc<Semaphore> {
        let permits = match direction {
            Direction::In => self.into_region,
            Direction::Out => self.out_of_region,
        };
        let mut map = self
            .semaphores
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry((direction, region.clone()))
            .or_insert_with(|| Arc::new(Semaphore::new(permits)))
            .clone()
    }

    /// Waits for a slot out of `from` and a slot into `to`. Every copy takes the source slot
    /// first, so two copies can never each hold the slot the other waits for.
    ///
    /// The semaphores are never closed, so a permit is always granted; were one closed, the
    /// copy would go ahead unlimited rather than fail.
    pub(crate) async fn acquire(&self, from: &Region, to: &Region) -> Vec<OwnedSemaphorePermit> {
        let out = self
            .semaphore(Direction::Out, from)
            .acquire_owned()
            .await
            .ok();
        let into = self.semaphore(Direction::In, to).acquire_owned().await.ok();
        out.into_iter().chain(into).collect()
    }

    /// Waits until no other copy of `image` from `from` into `to` is in flight in this process,
    /// and is that copy's until the guard drops.
    pub(crate) async fn one_copy_of(
        &self,
        from: &Region,
        image: &AmiId,
        to: &Region,
    ) -> OwnedMutexGuard<()> {
        let flight = {
            let mut flights = self
                .flights
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // A flight nobody holds or waits for is over: a long-lived process keeps no record
            // of every copy it ever made.
            flights.retain(|_, flight| Arc::strong_count(flight) > 1);
            flights
                .entry((from.clone(), image.clone(), to.clone()))
                .or_default()
                .clone()
        };
        flight.lock_owned().await
    }

    /// The free slots into `region` now (for tests and diagnostics).
    pub fn available_into(&self, region: &Region) -> usize {
        self.semaphore(Direction::In, region).available_permits()
    }
}
