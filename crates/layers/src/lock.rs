//! Locking the layers' shared state.

use std::sync::{Mutex, MutexGuard};

/// `mutex`, locked even if a panic elsewhere poisoned it: the layers' state (counts, a
/// circuit's regions, flights, a deadline's fault) is updated whole under the lock, so it
/// is never left half-made.
pub(crate) fn whole<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
