//! Waiting for an image to become available, on tokio's clock.

use std::time::Duration;

use amiref_core::{AmiId, CloudError, ImageCatalog, ImageState, Region};
use tokio::time::Instant;

use crate::progress::{ProgressEvent, ProgressSink};

/// How to wait for an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Time between two looks at the image.
    pub poll_interval: Duration,
    /// When to give up on an image that is still pending.
    pub timeout: Duration,
    /// How long an image may be absent from `DescribeImages` right after it was made, before
    /// its absence counts as a failure (EC2 is eventually consistent).
    pub not_found_grace: Duration,
    /// How many failed looks in a row (throttling, unavailability) to tolerate.
    pub max_consecutive_errors: u32,
}

impl Default for WaitOptions {
    /// 15 s between looks, like the AWS CLI's `image-available` waiter; 90 minutes in all,
    /// enough for a large cross-region copy.
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(15),
            timeout: Duration::from_secs(90 * 60),
            not_found_grace: Duration::from_secs(120),
            max_consecutive_errors: 5,
        }
    }
}

impl WaitOptions {
    /// The same options with another timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same options with another poll interval.
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }
}

/// Why a wait ended without an available image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WaitFailure {
    /// The image reached a state it cannot leave for `available`.
    Terminal(ImageState),
    /// It is not there.
    Vanished,
    /// It was still pending when time ran out.
    TimedOut(ImageState),
    /// The cloud kept failing.
    Cloud(CloudError),
}

impl std::fmt::Display for WaitFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Terminal(s) => write!(f, "it reached state {s}"),
            Self::Vanished => f.write_str("it disappeared"),
            Self::TimedOut(s) => write!(f, "still {s} when the wait timed out"),
            Self::Cloud(e) => write!(f, "describing it kept failing: {e}"),
        }
    }
}

/// Polls `image` until it is available, reporting progress on every look.
pub(crate) async fn wait_until_available(
    catalog: &dyn ImageCatalog,
    region: &Region,
    image: &AmiId,
    options: &WaitOptions,
    progress: &dyn ProgressSink,
) -> Result<(), WaitFailure> {
    let started = Instant::now();
    let mut consecutive_errors = 0;
    let mut last_state = ImageState::Pending;
    loop {
        let elapsed = started.elapsed();
        match catalog
            .describe_images(region, std::slice::from_ref(image))
            .await
        {
            Ok(found) => {
                consecutive_errors = 0;
                match found.into_iter().find(|i| &i.id == image) {
                    Some(i) if i.state == ImageState::Available => {
                        progress.emit(ProgressEvent::Available {
                            region: region.clone(),
                            image: image.clone(),
                            elapsed_secs: elapsed.as_secs(),
                        });
                        return Ok(());
                    }
                    Some(i) if matches!(i.state, ImageState::Pending | ImageState::Transient) => {
                        last_state = i.state;
                        progress.emit(ProgressEvent::Waiting {
                            region: region.clone(),
                            image: image.clone(),
                            state: i.state,
                            elapsed_secs: elapsed.as_secs(),
                            timeout_secs: options.timeout.as_secs(),
                        });
                    }
                    Some(i) => return Err(WaitFailure::Terminal(i.state)),
                    None if elapsed >= options.not_found_grace => {
                        return Err(WaitFailure::Vanished);
                    }
                    None => {}
                }
            }
            Err(e) if e.is_retryable() && consecutive_errors < options.max_consecutive_errors => {
                consecutive_errors += 1;
                tracing::debug!(%region, %image, error = %e, "describe failed while waiting; retrying");
            }
            Err(e) => return Err(WaitFailure::Cloud(e)),
        }
        if started.elapsed() + options.poll_interval > options.timeout {
            return Err(WaitFailure::TimedOut(last_state));
        }
        tokio::time::sleep(options.poll_interval).await;
    }
}
