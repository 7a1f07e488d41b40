//! The [`Counter`] layer: how many calls of each port method were made.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use amiref_core::CloudError;

use crate::call::{Call, Operation};
use crate::layer::{Layer, Layered};

/// Counts the calls that pass through it, per [`Operation`]. Over a cloud it is a
/// [`Counting`].
///
/// Beneath a [`crate::Retry`] it counts every attempt (what the cloud sees); above one, every
/// call (what the caller asked).
#[derive(Debug, Default)]
pub struct Counter {
    calls: Mutex<BTreeMap<Operation, u64>>,
}

impl Counter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The calls of `operation` so far.
    pub fn calls(&self, operation: Operation) -> u64 {
        self.snapshot().get(&operation).copied().unwrap_or(0)
    }

    /// Every call so far.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// The calls so far, per operation (operations never called are absent).
    pub fn snapshot(&self) -> BTreeMap<Operation, u64> {
        self.lock().clone()
    }

    /// Back to zero.
    pub fn reset(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Operation, u64>> {
        crate::lock::whole(&self.calls)
    }
}

impl Layer for Counter {
    fn around<'a, T, F, Fut>(
        &'a self,
        call: Call<'a>,
        mut attempt: F,
    ) -> impl Future<Output = Result<T, CloudError>> + Send + 'a
    where
        T: Send + 'a,
        F: FnMut() -> Fut + Send + 'a,
        Fut: Future<Output = Result<T, CloudError>> + Send + 'a,
    {
        *self.lock().entry(call.operation).or_insert(0) += 1;
        attempt()
    }
}

/// A cloud whose calls are counted per port method: implements every port `C` points to
/// (see [`Layered`]).
pub type Counting<C> = Layered<Counter, C>;

impl<C> Layered<Counter, C> {
    /// `inner`, with its calls counted from zero.
    pub fn new(inner: C) -> Self {
        Counter::new().over(inner)
    }

    /// The counts.
    pub fn counter(&self) -> &Counter {
        &self.layer
    }
}
