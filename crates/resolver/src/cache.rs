//! A cache with time-to-live entries whose misses run once, however many callers ask.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio::time::Instant;

/// What "no expiry" means: about thirty years, as far as tokio's clock reaches safely.
const FOREVER: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

struct State<K, V> {
    entries: HashMap<K, (Instant, V)>,
    flights: HashMap<K, Arc<OnceCell<V>>>,
}

/// Values by key, each kept for the time-to-live its producer decides, with a *single
/// flight* per key: while one caller computes a missing value, others with the same key
/// wait for it instead of computing it again.
///
/// The cache lookup and joining a flight happen under one lock, as do publishing a value
/// and ending its flight, so a caller arriving as a flight ends sees either the flight or
/// the cached value, never neither. Expiry follows tokio's clock, so tests can pause it.
pub(crate) struct FlightCache<K, V> {
    state: Mutex<State<K, V>>,
}

impl<K, V> FlightCache<K, V>
where
    K: Eq + Hash + Clone,
    V: Clone,
{
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                entries: HashMap::new(),
                flights: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<K, V>> {
        // A panic while holding the lock cannot leave the maps inconsistent (each update is
        // a single insert or remove), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value for `key`: from the cache, from a flight in progress, or computed by
    /// `compute` and kept for `ttl(&value)` (`None` or zero: not kept). The flag says
    /// whether the value came from the cache.
    pub(crate) async fn get_or_compute<F, Fut>(
        &self,
        key: K,
        ttl: impl Fn(&V) -> Option<Duration>,
        compute: F,
    ) -> (V, bool)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = {
            let mut state = self.lock();
            let now = Instant::now();
            if let Some((expires, value)) = state.entries.get(&key) {
                if *expires > now {
                    return (value.clone(), true);
                }
                state.entries.remove(&key);
            }
            state
                .flights
                .entry(key.clone())
                .or_insert_with(|| Arc::new(OnceCell::new()))
                .clone()
        };
        let value = cell.get_or_init(compute).await.clone();
        let mut state = self.lock();
        if state
            .flights
            .get(&key)
            .is_some_and(|current| Arc::ptr_eq(current, &cell))
        {
            state.flights.remove(&key);
            if let Some(ttl) = ttl(&value).filter(|t| !t.is_zero()) {
                // A TTL past the clock's range means "for as long as the process lives".
                let now = Instant::now();
                let expires = now
                    .checked_add(ttl)
                    .or_else(|| now.checked_add(FOREVER))
                    .unwrap_or(now);
                state.entries.insert(key, (expires, value.clone()));
            }
        }
        (value, false)
    }

    /// Drops every cached entry whose key matches.
    pub(crate) fn invalidate(&self, matches: impl Fn(&K) -> bool) {
        self.lock().entries.retain(|k, _| !matches(k));
    }

    /// How many entries are cached (expired ones included until touched).
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_ttl_past_the_clock_keeps_the_entry_without_overflowing() {
        let cache: FlightCache<u8, u8> = FlightCache::new();
        let (v, cached) = cache
            .get_or_compute(1, |_| Some(Duration::MAX), || async { 9 })
            .await;
        assert_eq!((v, cached), (9, false));
        tokio::time::advance(Duration::from_secs(10 * 365 * 24 * 3600)).await;
        let (v, cached) = cache
            .get_or_compute(1, |_| Some(Duration::MAX), || async { 0 })
            .await;
        assert_eq!((v, cached), (9, true));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_misses_share_one_flight_and_entries_expire() {
        let cache: Arc<FlightCache<&'static str, u32>> = Arc::new(FlightCache::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let cache = cache.clone();
            let runs = runs.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_compute(
                        "k",
                        |_| Some(Duration::from_secs(60)),
                        || async {
                            runs.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            7
                        },
                    )
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().0, 7);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let (v, cached) = cache.get_or_compute("k", |_| None, || async { 8 }).await;
        assert_eq!((v, cached), (7, true));
        tokio::time::advance(Duration::from_secs(61)).await;
        let (v, cached) = cache.get_or_compute("k", |_| None, || async { 8 }).await;
        assert_eq!((v, cached), (8, false));
        assert_eq!(cache.len(), 0, "a value with no ttl is not kept");
    }
}
