//! [`Layer`]: what a decorator does around one call; [`Layered`]: a layer over a cloud,
//! implementing every port.

use std::future::Future;
use std::ops::Deref;

use amiref_core::{AmiId, CloudError, CopyImageRequest};

use crate::call::Call;

/// What a decorator does around each call of a port method: retry it, count it, throttle
/// it.
///
/// A layer is written once, for every method of every port: [`Layered`] implements each
/// port by handing each call to [`Layer::around`] with `attempt`, which makes the call on
/// the cloud beneath. A layer may make it once (counting), several times (retrying), later
/// (throttling) or not at all (a circuit breaker), and must return what the last attempt
/// returned or an error of its own.
pub trait Layer: Send + Sync {
    /// Runs `call`, making it on the cloud beneath with `attempt` (each invocation is one
    /// request).
    fn around<'a, T, F, Fut>(
        &'a self,
        call: Call<'a>,
        attempt: F,
    ) -> impl Future<Output = Result<T, CloudError>> + Send + 'a
    where
        T: Send + 'a,
        F: FnMut() -> Fut + Send + 'a,
        Fut: Future<Output = Result<T, CloudError>> + Send + 'a;

    /// Runs a `copy_image` call of `request`: by default as every other call, through
    /// [`Layer::around`]. A layer that coalesces identical concurrent copies
    /// ([`crate::CopyFlights`]) sees the request here.
    fn copy_image<'a, F, Fut>(
        &'a self,
        call: Call<'a>,
        request: &'a CopyImageRequest,
        attempt: F,
    ) -> impl Future<Output = Result<AmiId, CloudError>> + Send + 'a
    where
        F: FnMut() -> Fut + Send + 'a,
        Fut: Future<Output = Result<AmiId, CloudError>> + Send + 'a,
    {
        let _ = request;
        self.around(call, attempt)
    }

    /// This layer over `inner`.
    fn over<C>(self, inner: C) -> Layered<Self, C>
    where
        Self: Sized,
    {
        Layered::from_parts(self, inner)
    }
}

/// A shared layer: the same layer (and its state, such as a [`crate::Circuit`]'s health)
/// over a cloud that is handed on, and read where it was made.
impl<L: Layer> Layer for std::sync::Arc<L> {
    fn around<'a, T, F, Fut>(
        &'a self,
        call: Call<'a>,
        attempt: F,
    ) -> impl Future<Output = Result<T, CloudError>> + Send + 'a
    where
        T: Send + 'a,
        F: FnMut() -> Fut + Send + 'a,
        Fut: Future<Output = Result<T, CloudError>> + Send + 'a,
    {
        L::around(self, call, attempt)
    }

    fn copy_image<'a, F, Fut>(
        &'a self,
        call: Call<'a>,
        request: &'a CopyImageRequest,
        attempt: F,
    ) -> impl Future<Output = Result<AmiId, CloudError>> + Send + 'a
    where
        F: FnMut() -> Fut + Send + 'a,
        Fut: Future<Output = Result<AmiId, CloudError>> + Send + 'a,
    {
        L::copy_image(self, call, request, attempt)
    }
}

/// A [`Layer`] over a cloud: implements every port the cloud implements, sending each call
/// through the layer.
///
/// `C` is how the cloud is held: a reference (`&MemoryCloud`, `&dyn Cloud`), an
/// `Arc<dyn Cloud>`, a `Box`, or another `&Layered` to stack layers. Each port is
/// implemented when what `C` points to implements it, so a `Layered` over a
/// `&dyn MarketplacePublisher` is a `MarketplacePublisher`, and one over a `&dyn Cloud` is a
/// `Cloud`.
///
/// Which calls are safe to repeat is decided here, once per method (see the crate
/// documentation's table), and handed to the layer in [`Call::idempotency`].
pub struct Layered<L, C> {
    pub(crate) layer: L,
    pub(crate) inner: C,
}

impl<L, C> Layered<L, C> {
    /// `layer` over `inner`.
    pub fn from_parts(layer: L, inner: C) -> Self {
        Self { layer, inner }
    }

    /// The layer (a [`crate::Counter`]'s counts, a [`crate::Retry`]'s policy).
    pub fn layer(&self) -> &L {
        &self.layer
    }

    /// The cloud beneath, for a caller that handles failures itself (a waiter).
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// The cloud beneath, the layer dropped.
    pub fn into_inner(self) -> C {
        self.inner
    }
}

impl<L, C> Layered<L, C>
where
    C: Deref,
{
    /// What the cloud beneath points to: where each call is finally made.
    pub(crate) fn port(&self) -> &C::Target {
        &self.inner
    }
}

impl<L: std::fmt::Debug, C> std::fmt::Debug for Layered<L, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layered")
            .field("layer", &self.layer)
            .finish_non_exhaustive()
    }
}
