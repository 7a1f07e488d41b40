//! # amiref-layers
//!
//! Decorators over the ports of `amiref-core`, and the one way amiref waits for a resource.
//!
//! - [`Retrying`]: calls that failed for a passing reason are made again, by one
//!   [`RetryPolicy`] (attempts, base and maximum delay, a total budget, which errors,
//!   seeded [`Jitter`]).
//!   Stacked retrying layers never multiply: only the lowest that retries does. A
//!   [`Deadline`] bounds the retries of a piece of work (a resolver's tier) and remembers
//!   the fault that cut them off.
//! - [`Guarded`]: a [`Circuit`] per region: after [`CircuitPolicy::threshold`] faults in a
//!   row a region is given up, and its calls fail at once with
//!   [`amiref_core::CloudErrorKind::RegionGivenUp`]; [`RegionHealth`] says what each region
//!   answered.
//! - [`Coalesced`]: identical concurrent copies (same destination and client token) made
//!   as one request ([`CopyFlights`]).
//! - [`Counting`]: how many calls of each port method were made ([`Operation`]).
//! - [`Faulty`]: a seeded share of calls answered with faults ([`InjectFaults`]), for tests
//!   and benchmarks of the layers above.
//! - [`Waiter`]: an operation that looks at a resource and an acceptor that judges each look
//!   ([`Acceptance`]), with growing delays and a deadline, on tokio's clock.
//!
//! ```
//! use amiref_core::{ImageCatalog, ImageFilter, Owner};
//! use amiref_layers::{Counting, Operation, RetryPolicy, Retrying};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cloud = amiref_memory::MemoryCloud::from_world_file("../../examples/worlds/demo.yaml")?;
//! let counted = Counting::new(&cloud); // beneath the retries: counts every attempt
//! let retrying = Retrying::new(&counted, RetryPolicy::standard());
//! cloud.fail_next("DescribeImages", 2, amiref_core::CloudErrorKind::Throttled);
//! let filter = ImageFilter::owned_by([Owner::Me]);
//! retrying.search_images(&"us-east-1".parse()?, &filter).await?; // after 0.5 s and 1 s
//! assert_eq!(counted.counter().calls(Operation::SearchImages), 3);
//! # Ok(()) }
//! ```
//!
//! ## Design choices
//!
//! - **A layer is written once, for every method.** A decorator implements [`Layer`]: one
//!   method, [`Layer::around`], that is handed each call with a way to make it on the cloud
//!   beneath. [`Layered`] implements every port for any layer by forwarding each method
//!   through it, the way object_store's `ThrottledStore` wraps an `ObjectStore`, so a new
//!   layer (a throttle, a rate limit, a circuit breaker) cannot forget a method, and a
//!   method added to a port is one more forwarding in one place (a compile error until it
//!   is there).
//! - **The cloud is held by pointer.** `Layered<L, C>` implements each port when what `C`
//!   points to implements it: `&MemoryCloud`, `&dyn Cloud`, `Arc<dyn Cloud>`, or another
//!   `&Layered` to stack layers. (The ports have no implementations for references in
//!   `amiref-core`, so an owned cloud is held through one.)
//! - **Which calls may be repeated is decided once, per method**, in the forwarding, and
//!   handed to the layer as [`Call::idempotency`]. A call that is not safe to repeat is
//!   made once, whatever the policy says:
//!
//! | Method | Repeated? | Why |
//! |---|---|---|
//! | every read (`describe_images`, `search_images`, `can_create_volumes`, `launch_permissions`, `image_block_public_access`, `image_usage`, `product`, `change_set_status`, `caller`, `architectures`, `offered_instance_types`, `describe_instances`, `allowed_images_settings`, `get_parameters`) | yes | reads change nothing |
//! | `add_launch_permissions`, `remove_launch_permissions`, `modify_snapshot_permissions`, `enable_deprecation`, `disable_deprecation`, `create_tags` | yes | they set a state; setting it again changes nothing |
//! | `deregister_image` | yes | sets "no such image"; a repeat after an unseen success answers `NotFound` |
//! | `copy_image` | yes | its client token makes a repeat return the first copy |
//! | `start_change_set` | yes | its client request token makes a repeat return the first submission |
//! | `create_image` | yes | the name is unique per account and region, so a repeat cannot make a second image; a repeat after an unseen success answers `InvalidAMIName.Duplicate`, which the caller must recognise (amiref-lifecycle's create does) |
//! | `run_instance` with a client token | yes | the token makes a repeat return the first instance |
//! | `run_instance` without one | **no** | a repeat could launch a second instance |
//!
//! - **Only what the cloud marks retryable is retried** ([`amiref_core::CloudError::is_retryable`]:
//!   throttling, unavailability); a policy may narrow that, never widen it.
//! - **Time is tokio's, randomness seeded.** Pauses and waits use `tokio::time`, so tests
//!   run on a paused clock; jitter draws from a seeded generator, so those runs repeat
//!   exactly.

mod backoff;
mod call;
mod circuit;
mod counting;
mod deadline;
mod faults;
mod flights;
mod forward;
mod layer;
mod lock;
mod retry;
mod waiter;

pub use backoff::Jitter;
pub use call::{Call, Idempotency, Operation};
pub use circuit::{Circuit, CircuitPolicy, Guarded, RegionHealth};
pub use counting::{Counter, Counting};
pub use deadline::Deadline;
pub use faults::{Faulty, InjectFaults};
pub use flights::{Coalesced, CopyFlights};
pub use layer::{Layer, Layered};
pub use retry::{ADVISORY_ATTEMPTS, Retry, RetryPolicy, Retrying};
pub use waiter::{Acceptance, Poll, WaitError, Waiter};
