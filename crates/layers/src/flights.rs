//! The [`CopyFlights`] layer: identical copies requested at the same time are one request.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use amiref_core::{AmiId, CloudError, CopyImageRequest, Region};
use tokio::sync::OnceCell;

use crate::call::Call;
use crate::layer::{Layer, Layered};

/// The answer of one copy request, shared by every caller that asked for the same copy
/// while it was in flight.
type Flight = Arc<OnceCell<Result<AmiId, CloudError>>>;

/// Makes concurrent `copy_image` calls with the same destination region and client token
/// one request, whose answer (the copy's id, or the error) each of them gets. Over a cloud
/// it is a [`Coalesced`]. Every other call passes through.
///
/// A hundred launches that each copy the same image to the same region at once send one
/// CopyImage, not a hundred that the client token then dedupes. A flight lasts while its
/// request does: a call made after it ended makes a request of its own (and, with the same
/// token, gets the same copy). Put it beneath a [`crate::Retry`], so that each caller's
/// retries coalesce again, and above a [`crate::Circuit`].
#[derive(Debug, Default)]
pub struct CopyFlights {
    flights: Mutex<HashMap<(Region, String), Flight>>,
}

impl CopyFlights {
    /// No copy in flight.
    pub fn new() -> Self {
        Self::default()
    }

    /// The copies in flight now.
    pub fn in_flight(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Region, String), Flight>> {
        crate::lock::whole(&self.flights)
    }
}

impl Layer for CopyFlights {
    fn around<'a, T, F, Fut>(
        &'a self,
        _call: Call<'a>,
        mut attempt: F,
    ) -> impl Future<Output = Result<T, CloudError>> + Send + 'a
    where
        T: Send + 'a,
        F: FnMut() -> Fut + Send + 'a,
        Fut: Future<Output = Result<T, CloudError>> + Send + 'a,
    {
        attempt()
    }

    async fn copy_image<'a, F, Fut>(
        &'a self,
        _call: Call<'a>,
        request: &'a CopyImageRequest,
        attempt: F,
    ) -> Result<AmiId, CloudError>
    where
        F: FnMut() -> Fut + Send + 'a,
        Fut: Future<Output = Result<AmiId, CloudError>> + Send + 'a,
    {
        let key = (
            request.destination_region.clone(),
            request.client_token.clone(),
        );
        let (flight, leader) = {
            let mut flights = self.lock();
            match flights.get(&key) {
                Some(flight) => (flight.clone(), false),
                None => {
                    let flight = Flight::default();
                    flights.insert(key.clone(), flight.clone());
                    (flight, true)
                }
            }
        };
        // When the caller that started the flight is done (or dropped), the flight is over:
        // a later call makes a request of its own.
        let _landing = leader.then(|| Landing {
            flights: self,
            key,
            flight: flight.clone(),
        });
        flight.get_or_init(attempt).await.clone()
    }
}

/// Ends a flight when the caller that started it is done with it.
struct Landing<'a> {
    flights: &'a CopyFlights,
    key: (Region, String),
    flight: Flight,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let mut flights = self.flights.lock();
        if flights
            .get(&self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
        {
            flights.remove(&self.key);
        }
    }
}

/// A cloud whose identical concurrent copies are one request: implements every port `C`
/// points to (see [`Layered`]).
pub type Coalesced<C> = Layered<CopyFlights, C>;

impl<C> Layered<CopyFlights, C> {
    /// `inner`, identical concurrent copies made once.
    pub fn new(inner: C) -> Self {
        CopyFlights::new().over(inner)
    }
}
