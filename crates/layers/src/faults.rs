//! The [`InjectFaults`] layer: a seeded share of calls answered with a fault, the way a
//! throttling or failing service would, for tests and benchmarks of what sits above.

use std::future::Future;

use amiref_core::{CloudError, CloudErrorKind};

use crate::backoff::{Draws, Jitter};
use crate::call::Call;
use crate::layer::{Layer, Layered};

/// Answers a seeded share of calls with a fault instead of making them, like a proxy in
/// front of a service that answers some requests at once with `RequestLimitExceeded` or
/// a 503. Over a cloud it is a [`Faulty`].
///
/// Every call draws once: a call of the share fails with the next kind of `kinds` in turn
/// (so a 30% share of throttling and unavailability is 15% of each); the others are made
/// on the cloud beneath. The draws repeat for a seed, so a test of the layers above sees
/// the same faults each run (for the same order of calls).
#[derive(Debug)]
pub struct InjectFaults {
    per_mille: u32,
    kinds: Vec<CloudErrorKind>,
    draws: Draws,
}

impl InjectFaults {
    /// Fails `per_mille` of every thousand calls (at most 1000), with `kinds` in turn (an
    /// empty list: [`CloudErrorKind::Unavailable`]), drawing from `seed`.
    pub fn new(per_mille: u32, kinds: impl IntoIterator<Item = CloudErrorKind>, seed: u64) -> Self {
        let mut kinds: Vec<CloudErrorKind> = kinds.into_iter().collect();
        if kinds.is_empty() {
            kinds.push(CloudErrorKind::Unavailable);
        }
        Self {
            per_mille: per_mille.min(1000),
            kinds,
            draws: Draws::new(Jitter::full(seed)),
        }
    }

    fn fault(&self, call: &Call<'_>) -> Option<CloudError> {
        let draw = self.draws.next();
        if draw % 1000 >= u64::from(self.per_mille) {
            return None;
        }
        // The draw's high bits pick the kind, independent of its low bits' decision.
        let index = usize::try_from((draw >> 32) % self.kinds.len() as u64).unwrap_or(0);
        let kind = self.kinds[index];
        let code = match kind {
            CloudErrorKind::Throttled => "RequestLimitExceeded",
            CloudErrorKind::Unavailable => "Unavailable",
            _ => "InjectedFault",
        };
        let error =
            CloudError::new(kind, call.operation.method(), "injected fault").with_code(code);
        Some(match call.region {
            Some(r) => error.in_region(r),
            None => error,
        })
    }
}

impl Layer for InjectFaults {
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
        match self.fault(&call) {
            Some(fault) => Err(fault),
            None => attempt().await,
        }
    }
}

/// A cloud answering a seeded share of calls with faults: implements every port `C` points
/// to (see [`Layered`]).
pub type Faulty<C> = Layered<InjectFaults, C>;

impl<C> Layered<InjectFaults, C> {
    /// `inner`, `per_mille` of its calls answered with faults of `kinds` (see
    /// [`InjectFaults::new`]).
    pub fn new(
        inner: C,
        per_mille: u32,
        kinds: impl IntoIterator<Item = CloudErrorKind>,
        seed: u64,
    ) -> Self {
        InjectFaults::new(per_mille, kinds, seed).over(inner)
    }
}
