//! Exponential backoff with optional, seeded jitter: the delay arithmetic the retry layer
//! and the waiter share.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How much of each backoff delay is random.
///
/// Jitter spreads out callers that failed together (a throttled burst), so that they do not
/// all come back at the same instant. The randomness is seeded, so a run on a paused clock
/// is the same every time; use a different seed per process in production (the process id,
/// the start time) to spread processes out too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Jitter {
    /// Every delay is exactly the backoff's.
    #[default]
    None,
    /// Each delay is drawn uniformly between the floor (zero for retries, the minimum delay
    /// for a waiter) and the backoff's delay: "full jitter" in the AWS Architecture Blog's
    /// "Exponential Backoff And Jitter", the variant that spreads calls out best.
    Full {
        /// The seed of the draws.
        seed: u64,
    },
}

impl Jitter {
    /// Full jitter drawn from `seed`.
    pub fn full(seed: u64) -> Self {
        Self::Full { seed }
    }

    fn seed(self) -> Option<u64> {
        match self {
            Self::None => None,
            Self::Full { seed } => Some(seed),
        }
    }
}

/// `base` doubled for each attempt after the first (`attempt` counts from 1), at most
/// `max`.
pub(crate) fn exponential(base: Duration, max: Duration, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(31);
    base.saturating_mul(1u32 << doublings).min(max)
}

/// The random draws of one [`Jitter`]: a SplitMix64 sequence, shareable between tasks.
///
/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
/// 2014) is tiny, has no bad seeds and passes BigCrush; nothing here needs more, and it
/// keeps this crate free of a random-number dependency.
#[derive(Debug)]
pub(crate) struct Draws {
    jitter: Jitter,
    state: AtomicU64,
}

impl Draws {
    pub(crate) fn new(jitter: Jitter) -> Self {
        Self {
            jitter,
            state: AtomicU64::new(jitter.seed().unwrap_or(0)),
        }
    }

    /// `delay` jittered between `floor` and itself; `delay` itself without jitter (or when
    /// the floor is not below it).
    pub(crate) fn apply(&self, floor: Duration, delay: Duration) -> Duration {
        if self.jitter == Jitter::None || delay <= floor {
            return delay;
        }
        let span = (delay - floor).as_nanos();
        let offset = u128::from(self.next()) % (span + 1);
        // `offset` is at most `span`, which came from a `Duration`, so it fits back.
        floor + Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX))
    }

    pub(crate) fn next(&self) -> u64 {
        const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut z = self
            .state
            .fetch_add(GOLDEN, Ordering::Relaxed)
            .wrapping_add(GOLDEN);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn delays_double_up_to_the_cap() {
        let delays: Vec<_> = (1..=6)
            .map(|n| exponential(500 * MS, 5000 * MS, n))
            .collect();
        assert_eq!(
            delays,
            [
                500 * MS,
                1000 * MS,
                2000 * MS,
                4000 * MS,
                5000 * MS,
                5000 * MS
            ]
        );
        assert_eq!(
            exponential(Duration::from_secs(1), Duration::MAX, 200),
            Duration::from_secs(1 << 31),
            "no overflow"
        );
    }

    #[test]
    fn jitter_stays_in_range_and_repeats_with_its_seed() {
        let draw = |seed| {
            let draws = Draws::new(Jitter::full(seed));
            (0..100)
                .map(|_| draws.apply(100 * MS, 1000 * MS))
                .collect::<Vec<_>>()
        };
        let a = draw(7);
        assert!(a.iter().all(|d| (100 * MS..=1000 * MS).contains(d)));
        assert_eq!(a, draw(7), "same seed, same delays");
        assert_ne!(a, draw(8), "another seed, other delays");
        assert!(
            a.iter().any(|d| *d < 500 * MS) && a.iter().any(|d| *d > 500 * MS),
            "spread over the range: {a:?}"
        );
        let none = Draws::new(Jitter::None);
        assert_eq!(none.apply(Duration::ZERO, 1000 * MS), 1000 * MS);
    }
}
