//! [`Waiter`]: polling a resource until it reaches a wanted state, on tokio's clock.
//!
//! The shape of the AWS SDKs' waiters (smithy's `WaiterOrchestrator`): an *operation* that
//! looks at the resource, and an *acceptor* that turns each look into success, failure or
//! "look again"; between looks, a delay that grows from a minimum to a maximum; in all, a
//! deadline.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::backoff::{Draws, Jitter, exponential};

/// What the acceptor made of one look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acceptance<T, E> {
    /// Done: the wait returns `T`.
    Success(T),
    /// The resource will never get there: the wait fails with `E`.
    Failure(E),
    /// Not yet: look again after the next delay.
    Retry,
}

/// Which look the acceptor is judging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Poll {
    /// The look's number, from 1.
    pub attempt: u32,
    /// Time from the start of the wait to this look's start.
    pub elapsed: Duration,
}

/// Why a wait ended without success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WaitError<E> {
    /// The acceptor judged a look a failure.
    #[error(transparent)]
    Failed(E),
    /// The deadline came first.
    #[error("still not done after {attempts} looks in {elapsed:?}")]
    TimedOut {
        /// How many looks were made.
        attempts: u32,
        /// From the start of the wait to the end of the last look.
        elapsed: Duration,
    },
}

/// How to poll: delays between looks and a deadline.
///
/// The first look is made at once. The delay before look `n + 1` is `min_delay * 2^(n-1)`,
/// at most `max_delay` (equal delays poll at a fixed interval), jittered between `min_delay`
/// and that when [`Jitter`] is on. A delay is cut short to end at the deadline; when less
/// than `min_delay` is left after a look, the wait times out instead of looking again
/// sooner than `min_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Waiter {
    /// The delay after the first look, and the least between any two.
    pub min_delay: Duration,
    /// The longest delay between two looks.
    pub max_delay: Duration,
    /// How long to wait in all.
    pub timeout: Duration,
    /// How random each delay is.
    pub jitter: Jitter,
}

impl Waiter {
    /// Looks every `interval` for at most `timeout`.
    pub fn fixed(interval: Duration, timeout: Duration) -> Self {
        Self::backoff(interval, interval, timeout)
    }

    /// Looks after delays growing from `min_delay` to `max_delay`, for at most `timeout`.
    pub fn backoff(min_delay: Duration, max_delay: Duration, timeout: Duration) -> Self {
        Self {
            min_delay,
            max_delay: max_delay.max(min_delay),
            timeout,
            jitter: Jitter::None,
        }
    }

    /// The same waiter with this jitter.
    #[must_use]
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Runs `operation` until `acceptor` accepts or rejects what it returned, or the
    /// deadline passes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use amiref_layers::{Acceptance, Waiter, WaitError};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let started = tokio::time::Instant::now();
    /// let waiter = Waiter::fixed(Duration::from_secs(15), Duration::from_secs(600));
    /// let ready = waiter
    ///     .wait(
    ///         || async { started.elapsed() },
    ///         |elapsed, _| match elapsed {
    ///             e if e >= Duration::from_secs(60) => Acceptance::Success(e),
    ///             _ => Acceptance::<_, ()>::Retry,
    ///         },
    ///     )
    ///     .await;
    /// assert_eq!(ready, Ok(Duration::from_secs(60))); // the fifth look, at 0, 15, 30, 45, 60 s
    /// # }
    /// ```
    pub async fn wait<R, T, E, O, Fut, A>(
        &self,
        mut operation: O,
        mut acceptor: A,
    ) -> Result<T, WaitError<E>>
    where
        O: FnMut() -> Fut,
        Fut: Future<Output = R>,
        A: FnMut(R, Poll) -> Acceptance<T, E>,
    {
        let draws = Draws::new(self.jitter);
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let poll = Poll {
                attempt,
                elapsed: started.elapsed(),
            };
            match acceptor(operation().await, poll) {
                Acceptance::Success(value) => return Ok(value),
                Acceptance::Failure(error) => return Err(WaitError::Failed(error)),
                Acceptance::Retry => {}
            }
            let elapsed = started.elapsed();
            let left = self.timeout.saturating_sub(elapsed);
            if left < self.min_delay || left.is_zero() {
                return Err(WaitError::TimedOut {
                    attempts: attempt,
                    elapsed,
                });
            }
            let delay = exponential(self.min_delay, self.max_delay, attempt);
            tokio::time::sleep(draws.apply(self.min_delay, delay).min(left)).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    const S: Duration = Duration::from_secs(1);

    /// The times (from the start) at which a wait with `waiter` looks, when its
    /// acceptor never decides.
    async fn looks(waiter: Waiter) -> (Vec<Duration>, WaitError<()>) {
        let started = Instant::now();
        let times = Cell::new(Vec::new());
        let end = waiter
            .wait(
                || async {},
                |(), poll| {
                    assert_eq!(poll.elapsed, started.elapsed());
                    let mut t = times.take();
                    t.push(poll.elapsed);
                    times.set(t);
                    Acceptance::<(), ()>::Retry
                },
            )
            .await
            .unwrap_err();
        (times.take(), end)
    }

    #[tokio::test(start_paused = true)]
    async fn success_ends_the_wait_with_the_acceptors_value() {
        let looked = Cell::new(0);
        let result = Waiter::fixed(10 * S, 100 * S)
            .wait(
                || async {
                    looked.set(looked.get() + 1);
                    looked.get()
                },
                |n, poll| {
                    assert_eq!(poll.attempt, n);
                    if n == 3 {
                        Acceptance::Success("ready")
                    } else {
                        Acceptance::<_, ()>::Retry
                    }
                },
            )
            .await;
        assert_eq!(result, Ok("ready"));
        assert_eq!(looked.get(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn failure_ends_the_wait_at_once() {
        let started = Instant::now();
        let result: Result<(), _> = Waiter::fixed(10 * S, 100 * S)
            .wait(|| async {}, |(), _| Acceptance::Failure("gone"))
            .await;
        assert_eq!(result, Err(WaitError::Failed("gone")));
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "no delay after a failure"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_fixed_interval_looks_until_the_deadline_and_times_out() {
        let (times, end) = looks(Waiter::fixed(15 * S, 60 * S)).await;
        assert_eq!(times, [0, 15, 30, 45, 60].map(|t| t * S));
        assert_eq!(
            end,
            WaitError::TimedOut {
                attempts: 5,
                elapsed: 60 * S
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn delays_grow_to_the_maximum_and_the_last_is_cut_to_the_deadline() {
        let (times, end) = looks(Waiter::backoff(2 * S, 10 * S, 40 * S)).await;
        // Delays 2, 4, 8, then 10, 10; after the look at 34 s only 6 s are left.
        assert_eq!(times, [0, 2, 6, 14, 24, 34, 40].map(|t| t * S));
        assert!(matches!(end, WaitError::TimedOut { attempts: 7, .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_timeout_looks_once() {
        let (times, end) = looks(Waiter::fixed(15 * S, Duration::ZERO)).await;
        assert_eq!(times, [Duration::ZERO]);
        assert!(matches!(end, WaitError::TimedOut { attempts: 1, .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_keeps_delays_between_the_bounds_and_repeats_with_its_seed() {
        let waiter = Waiter::backoff(5 * S, 40 * S, 600 * S).jitter(Jitter::full(42));
        let (first, _) = looks(waiter).await;
        let (second, _) = looks(waiter).await;
        assert_eq!(first, second, "seeded: the same looks every run");
        for pair in first.windows(2) {
            let gap = pair[1] - pair[0];
            assert!((5 * S..=40 * S).contains(&gap), "{first:?}");
        }
        let (unjittered, _) = looks(Waiter::backoff(5 * S, 40 * S, 600 * S)).await;
        assert_ne!(first, unjittered);
    }
}
