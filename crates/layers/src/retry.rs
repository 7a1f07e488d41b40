//! [`RetryPolicy`] and the [`Retry`] layer: calls that failed for a passing reason are made
//! again.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use amiref_core::{CloudError, CloudErrorKind};
use tokio::time::Instant;

use crate::backoff::{Draws, Jitter, exponential};
use crate::call::Call;
use crate::deadline::Deadline;
use crate::layer::{Layer, Layered};

tokio::task_local! {
    /// Set by a retrying layer around each attempt it makes: a retrying layer beneath it
    /// (inside the attempt) marks it, so that the layer above does not retry a call the
    /// layer beneath already retried.
    static RETRIED_BENEATH: Arc<AtomicBool>;
}

/// The most attempts an advisory read gets ([`crate::Operation::is_advisory`]), whatever the
/// policy says: a second try covers a passing fault, and a fact the caller can do without
/// is not worth seconds of a waiting person's time.
pub const ADVISORY_ATTEMPTS: u32 = 2;

/// When and how often a failed call is made again.
///
/// A call is repeated only when all of these hold: the call is safe to repeat
/// ([`Call::idempotency`]), the cloud marks the error retryable
/// ([`CloudError::is_retryable`]: throttling, unavailability) and its kind is one of
/// [`RetryPolicy::retry_on`], fewer than [`RetryPolicy::max_attempts`] attempts were made,
/// and the pause before the next one ends within [`RetryPolicy::max_total`] of the first
/// and before the [`Deadline`] of the work the call is part of, if it has one.
/// The pause before attempt `n + 1` is `base_delay * 2^(n-1)`, at most `max_delay`, then
/// jittered ([`Jitter`]).
///
/// Retries never multiply: when retrying layers are stacked (a lifecycle's over a session's
/// cloud that already retries), only the lowest one that retries at all does; the layers
/// above it make each call once. A policy of one attempt ([`RetryPolicy::never`]) does not
/// count as retrying.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// How many attempts a call gets in all, the first included; 1 never retries.
    pub max_attempts: u32,
    /// The pause after the first failed attempt; each next one is twice as long.
    pub base_delay: Duration,
    /// The longest pause between two attempts.
    pub max_delay: Duration,
    /// The longest a call may take from its first attempt to the start of its last, pauses
    /// included; `None` bounds it by the attempts alone.
    pub max_total: Option<Duration>,
    /// Which kinds of retryable error are retried. Kinds the cloud does not mark
    /// retryable are never retried, whatever this says: a repeat would fail the same way.
    pub retry_on: Vec<CloudErrorKind>,
    /// How random each pause is.
    pub jitter: Jitter,
}

impl Default for RetryPolicy {
    /// [`RetryPolicy::standard`].
    fn default() -> Self {
        Self::standard()
    }
}

impl RetryPolicy {
    /// amiref's policy: five attempts, pausing 0.5, 1, 2 and 4 s (7.5 s in all), pauses
    /// capped at 20 s (the AWS SDKs' cap), on throttling and unavailability, without jitter.
    ///
    /// Without jitter, runs on a paused clock are the same every time; callers that run many
    /// calls at once (copies) are spread out by their own limits. Add [`Jitter::full`] where
    /// many processes share one account's request budget.
    pub fn standard() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_total: None,
            retry_on: vec![CloudErrorKind::Throttled, CloudErrorKind::Unavailable],
            jitter: Jitter::None,
        }
    }

    /// The policy of an interactive command (the session's): up to eight attempts, pausing
    /// from 50 ms doubling up to 1 s, full jitter, and at most 4 s per call in all.
    ///
    /// Short pauses, because a person is waiting and the faults it meets are mostly passing
    /// ones (a throttled burst, a 503 from one host): at a 30% fault rate, eight attempts
    /// fail together once in about 15 000 calls (0.3^8), and the pauses of a call average
    /// well under a second. Full jitter spreads the concurrent calls of one command (a test
    /// of every region) apart. `seed` seeds the jitter: the process id in production, a
    /// constant in tests and on a world, so that those runs repeat.
    pub fn interactive(seed: u64) -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
            max_total: Some(Duration::from_secs(4)),
            retry_on: vec![CloudErrorKind::Throttled, CloudErrorKind::Unavailable],
            jitter: Jitter::full(seed),
        }
    }

    /// Each call made once: failures are returned at once.
    pub fn never() -> Self {
        Self::standard().max_attempts(1)
    }

    /// The same policy with `attempts` in all (at least one).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The same policy pausing `base` after the first failure.
    #[must_use]
    pub fn base_delay(mut self, base: Duration) -> Self {
        self.base_delay = base;
        self
    }

    /// The same policy with pauses of at most `max`.
    #[must_use]
    pub fn max_delay(mut self, max: Duration) -> Self {
        self.max_delay = max;
        self
    }

    /// The same policy giving up on a call once `total` has passed since its first attempt.
    #[must_use]
    pub fn max_total(mut self, total: Duration) -> Self {
        self.max_total = Some(total);
        self
    }

    /// The same policy retrying only these kinds of error (of those the cloud marks
    /// retryable).
    #[must_use]
    pub fn retry_on(mut self, kinds: impl IntoIterator<Item = CloudErrorKind>) -> Self {
        self.retry_on = kinds.into_iter().collect();
        self
    }

    /// The same policy with this jitter.
    #[must_use]
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Whether this policy retries `error` (for a call that is safe to repeat).
    pub fn retries(&self, error: &CloudError) -> bool {
        error.is_retryable() && self.retry_on.contains(&error.kind)
    }

    /// The pause after failed attempt `attempt` (counted from 1), before jitter.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        exponential(self.base_delay, self.max_delay, attempt)
    }
}

/// The layer that retries by a [`RetryPolicy`]. Over a cloud it is a [`Retrying`].
#[derive(Debug)]
pub struct Retry {
    policy: RetryPolicy,
    draws: Draws,
}

impl Retry {
    /// Retries by `policy`.
    pub fn new(policy: RetryPolicy) -> Self {
        let draws = Draws::new(policy.jitter);
        Self { policy, draws }
    }

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }
}

impl Layer for Retry {
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
        let max_attempts = if call.operation.is_advisory() {
            self.policy.max_attempts.min(ADVISORY_ATTEMPTS)
        } else {
            self.policy.max_attempts
        };
        if max_attempts <= 1 || !call.is_idempotent() {
            return attempt().await;
        }
        // Tell a retrying layer above that this one retries the call.
        let _ = RETRIED_BENEATH.try_with(|above| above.store(true, Ordering::Relaxed));
        let deadline = Deadline::current();
        let started = Instant::now();
        let mut attempts = 1;
        loop {
            let beneath = Arc::new(AtomicBool::new(false));
            let result = RETRIED_BENEATH.scope(beneath.clone(), attempt()).await;
            let error = match result {
                Err(e) if self.policy.retries(&e) && !beneath.load(Ordering::Relaxed) => e,
                result => return result,
            };
            if attempts >= max_attempts {
                return Err(error);
            }
            let pause = self
                .draws
                .apply(Duration::ZERO, self.policy.delay_after(attempts));
            if let Some(total) = self.policy.max_total
                && started.elapsed() + pause > total
            {
                return Err(error);
            }
            if let Some(deadline) = &deadline
                && Instant::now() + pause >= deadline.instant()
            {
                deadline.record_cut_off(&error);
                return Err(error);
            }
            tracing::debug!(
                operation = %call.operation,
                region = call.region.map(|r| r.as_str()),
                attempt = attempts,
                pause_ms = pause.as_millis(),
                error = %error,
                "retrying after a passing failure"
            );
            tokio::time::sleep(pause).await;
            attempts += 1;
        }
    }
}

/// A cloud whose calls are retried by a [`RetryPolicy`]: implements every port `C` points to
/// (see [`Layered`]).
///
/// ```
/// use amiref_core::Cloud;
/// use amiref_layers::{RetryPolicy, Retrying};
///
/// fn retrying(cloud: &dyn Cloud) -> Retrying<&dyn Cloud> {
///     Retrying::new(cloud, RetryPolicy::standard())
/// }
/// ```
pub type Retrying<C> = Layered<Retry, C>;

impl<C> Layered<Retry, C> {
    /// `inner`, with calls retried by `policy`.
    pub fn new(inner: C, policy: RetryPolicy) -> Self {
        Retry::new(policy).over(inner)
    }

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy {
        self.layer.policy()
    }
}
