//! [`Deadline`]: a time by which the calls of a piece of work (a resolver's tier) must be
//! done, which the retry layer honours without being handed it through every port method.

use std::future::Future;
use std::sync::{Arc, Mutex};

use amiref_core::CloudError;
use tokio::time::Instant;

tokio::task_local! {
    static CURRENT: Arc<Deadline>;
}

/// A deadline for every call made inside [`Deadline::run`], and what the retries beneath
/// learned before it.
///
/// The ports take no deadline, so a caller that has one (the resolver, bounding a tier by
/// the template's `fallback_timeout`) runs its work inside `run`; the [`crate::Retry`]
/// layer then never pauses past it. When a retry is given up because its next pause would
/// end after the deadline, the deadline remembers the fault ([`Deadline::cut_off`]), so the
/// caller can say the work was cut off by faults, with the error, rather than only that
/// time ran out.
///
/// The deadline is task-scoped (a tokio task-local): calls made by a task spawned inside
/// `run` do not see it.
///
/// ```
/// use std::time::Duration;
/// use amiref_layers::Deadline;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let deadline = Deadline::after(Duration::from_secs(2));
/// let answer = deadline.clone().run(async { 42 }).await;
/// assert_eq!(answer, 42);
/// assert!(deadline.cut_off().is_none());
/// # }
/// ```
#[derive(Debug)]
pub struct Deadline {
    at: Instant,
    cut_off: Mutex<Option<CloudError>>,
}

impl Deadline {
    /// A deadline at `at` (tokio's clock).
    pub fn at(at: Instant) -> Arc<Self> {
        Arc::new(Self {
            at,
            cut_off: Mutex::new(None),
        })
    }

    /// A deadline `budget` from now; a budget past tokio's range is no earlier than a
    /// century from now.
    pub fn after(budget: std::time::Duration) -> Arc<Self> {
        let now = Instant::now();
        let century = std::time::Duration::from_secs(100 * 365 * 24 * 3600);
        Self::at(now.checked_add(budget).unwrap_or_else(|| now + century))
    }

    /// When it is.
    pub fn instant(&self) -> Instant {
        self.at
    }

    /// Runs `work` with this deadline over every call it makes (on this task).
    pub async fn run<F: Future>(self: Arc<Self>, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }

    /// The fault a retry gave up on because its next pause would have ended after the
    /// deadline (the last such fault, when several calls were cut off); `None` when no retry
    /// was cut off.
    pub fn cut_off(&self) -> Option<CloudError> {
        self.lock().clone()
    }

    /// The deadline of the work this call is part of, if it has one.
    pub(crate) fn current() -> Option<Arc<Self>> {
        CURRENT.try_with(Arc::clone).ok()
    }

    pub(crate) fn record_cut_off(&self, fault: &CloudError) {
        *self.lock() = Some(fault.clone());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<CloudError>> {
        crate::lock::whole(&self.cut_off)
    }
}
