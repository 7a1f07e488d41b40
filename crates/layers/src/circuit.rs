//! The [`Circuit`] layer: a region that keeps failing is given up, so that its calls fail
//! at once instead of each spending its retries there.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use amiref_core::{CloudError, CloudErrorKind, Region};
use tokio::time::Instant;

use crate::call::Call;
use crate::layer::{Layer, Layered};

/// When a region is given up.
///
/// A region is given up after [`CircuitPolicy::threshold`] faults in a row, a fault being an
/// answer of one of [`CircuitPolicy::faults`] kinds; any other answer (a success, a
/// `NotFound`) shows the region is there and starts the count again.
///
/// Throttling is not a fault here by default: a region that answers "slow down" is
/// answering, and a burst of concurrent calls can be throttled many times in a row by a
/// healthy region; the retry layer's pauses are the answer to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CircuitPolicy {
    /// Faults in a row that give a region up (at least 1).
    pub threshold: u32,
    /// Which kinds of error are faults of the region.
    pub faults: Vec<CloudErrorKind>,
    /// How long a region stays given up; `None`: for as long as the circuit lives (a
    /// command). After it, the next call is let through, and one more fault gives the
    /// region up again.
    pub reopen_after: Option<Duration>,
}

impl Default for CircuitPolicy {
    /// [`CircuitPolicy::per_command`].
    fn default() -> Self {
        Self::per_command()
    }
}

impl CircuitPolicy {
    /// amiref's policy for one command: twelve unavailable or timed-out answers in a row
    /// give a region up for the rest of the command.
    ///
    /// Twelve, because at a 30% fault rate twelve faults in a row happen once in about two
    /// million calls (0.3^12), so a region that is only flaky is not given up, while a region
    /// that is down is given up within its first two calls (each retried up to eight times).
    pub fn per_command() -> Self {
        Self {
            threshold: 12,
            faults: vec![CloudErrorKind::Unavailable, CloudErrorKind::Timeout],
            reopen_after: None,
        }
    }

    /// The same policy giving a region up after `faults` in a row (at least one).
    #[must_use]
    pub fn threshold(mut self, faults: u32) -> Self {
        self.threshold = faults.max(1);
        self
    }

    /// The same policy counting these kinds of error as faults.
    #[must_use]
    pub fn faults(mut self, kinds: impl IntoIterator<Item = CloudErrorKind>) -> Self {
        self.faults = kinds.into_iter().collect();
        self
    }

    /// The same policy trying a given-up region again after `after` (for a long-lived
    /// process, such as a server, whose "command" never ends).
    #[must_use]
    pub fn reopen_after(mut self, after: Duration) -> Self {
        self.reopen_after = Some(after);
        self
    }
}

/// What the circuit saw of one region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegionHealth {
    /// Calls that reached the region (answered, whatever the answer).
    pub answered: u64,
    /// Answers that were faults by the policy (unavailable, timed out).
    pub faults: u64,
    /// Answers that were throttling (not faults by the default policy, but a person wants
    /// to know).
    pub throttled: u64,
    /// Calls refused at once because the region was given up.
    pub refused: u64,
    /// Whether the region is given up now.
    pub given_up: bool,
    /// The last fault or throttling answer, if there was one.
    pub last_fault: Option<CloudError>,
}

impl RegionHealth {
    /// Whether the region answered any call with a fault or throttling.
    pub fn had_faults(&self) -> bool {
        self.faults > 0 || self.throttled > 0
    }
}

#[derive(Debug, Default)]
struct RegionState {
    health: RegionHealth,
    in_a_row: u32,
    given_up_at: Option<Instant>,
}

/// The layer that gives up regions that keep failing ([`CircuitPolicy`]). Over a cloud it is
/// a [`Guarded`].
///
/// A call to a given-up region fails at once with a [`CloudErrorKind::RegionGivenUp`] error
/// (not retryable) and is not made. Calls to global services (no region) pass through.
/// Put it beneath a [`crate::Retry`], so that it sees every attempt and its refusals end
/// the retries at once.
#[derive(Debug, Default)]
pub struct Circuit {
    policy: CircuitPolicy,
    regions: Mutex<BTreeMap<Region, RegionState>>,
}

impl Circuit {
    /// A circuit by `policy`, every region closed.
    pub fn new(policy: CircuitPolicy) -> Self {
        Self {
            policy,
            regions: Mutex::new(BTreeMap::new()),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &CircuitPolicy {
        &self.policy
    }

    /// What the circuit saw of each region it was called for.
    pub fn health(&self) -> BTreeMap<Region, RegionHealth> {
        self.lock()
            .iter()
            .map(|(region, state)| (region.clone(), state.health.clone()))
            .collect()
    }

    /// What the circuit saw of `region` (all zero when it was never called for).
    pub fn region_health(&self, region: &Region) -> RegionHealth {
        self.lock()
            .get(region)
            .map(|s| s.health.clone())
            .unwrap_or_default()
    }

    /// The regions given up now.
    pub fn given_up(&self) -> Vec<Region> {
        self.lock()
            .iter()
            .filter(|(_, s)| s.health.given_up)
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// The refusal of a call to `region`, when the region is given up.
    fn refusal(&self, call: &Call<'_>, region: &Region) -> Option<CloudError> {
        let mut regions = self.lock();
        let state = regions.get_mut(region)?;
        let since = state.given_up_at?;
        if let Some(after) = self.policy.reopen_after
            && since.elapsed() >= after
        {
            // Let the next call through; one more fault gives the region up again.
            state.given_up_at = None;
            state.health.given_up = false;
            state.in_a_row = self.policy.threshold.saturating_sub(1);
            return None;
        }
        state.health.refused += 1;
        let faults = state.health.faults;
        let last = state
            .health
            .last_fault
            .as_ref()
            .map(|e| format!("; the last: {e}"))
            .unwrap_or_default();
        Some(
            CloudError::new(
                CloudErrorKind::RegionGivenUp,
                call.operation.method(),
                format!(
                    "not called: {region} was given up for this command after {faults} faults{last}"
                ),
            )
            .in_region(region),
        )
    }

    fn record<T>(&self, region: &Region, result: &Result<T, CloudError>) {
        let mut regions = self.lock();
        let state = regions.entry(region.clone()).or_default();
        state.health.answered += 1;
        match result.as_ref().err() {
            Some(e) if self.policy.faults.contains(&e.kind) => {
                state.health.faults += 1;
                state.health.last_fault = Some(e.clone());
                state.in_a_row += 1;
                if state.in_a_row >= self.policy.threshold && state.given_up_at.is_none() {
                    tracing::warn!(
                        %region,
                        faults = state.in_a_row,
                        error = %e,
                        "giving the region up for this command"
                    );
                    state.given_up_at = Some(Instant::now());
                    state.health.given_up = true;
                }
            }
            Some(e) if e.kind == CloudErrorKind::Throttled => {
                state.health.throttled += 1;
                state.health.last_fault = Some(e.clone());
            }
            // The region answered.
            _ => state.in_a_row = 0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Region, RegionState>> {
        crate::lock::whole(&self.regions)
    }
}

impl Layer for Circuit {
    async fn around<'a, T, F, Fut>(
        &'a self,
        call: Call<'a>,
        mut attempt: F,
    ) -> Result<T, CloudError>
    where
        T: Send + 'a,
        F: FnMut() -> Fut + Send + 'a,
        Fut: Future<Output = Result<T, CloudError>> + Send + 'a,
    {
        let Some(region) = call.region else {
            return attempt().await;
        };
        if let Some(refusal) = self.refusal(&call, region) {
            return Err(refusal);
        }
        let result = attempt().await;
        self.record(region, &result);
        result
    }
}

/// A cloud whose regions are given up after repeated faults: implements every port `C`
/// points to (see [`Layered`]). Hold the [`Circuit`] in an `Arc` to read its
/// [`Circuit::health`] after handing the cloud on.
pub type Guarded<C> = Layered<Circuit, C>;

impl<C> Layered<Circuit, C> {
    /// `inner`, its regions given up by `policy`.
    pub fn new(inner: C, policy: CircuitPolicy) -> Self {
        Circuit::new(policy).over(inner)
    }

    /// The circuit.
    pub fn circuit(&self) -> &Circuit {
        &self.layer
    }
}
