//! Waiting for an image to become available, on tokio's clock.

use std::time::Duration;

use amiref_core::{AmiId, CloudError, Image, ImageCatalog, ImageState, Region};
use amiref_layers::{Acceptance, WaitError, Waiter};

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

/// Polls `image` until it is available and returns it, reporting progress on every look.
///
/// The one waiter (`amiref_layers::Waiter`) at a fixed interval; the acceptor gives a new
/// image [`WaitOptions::not_found_grace`] to appear (EC2 is eventually consistent) and
/// tolerates [`WaitOptions::max_consecutive_errors`] passing failures in a row. Its looks
/// are not retried by the retry layer: a failed look is simply one more look.
pub(crate) async fn wait_until_available(
    catalog: &dyn ImageCatalog,
    region: &Region,
    image: &AmiId,
    options: &WaitOptions,
    progress: &dyn ProgressSink,
) -> Result<Image, WaitFailure> {
    let mut consecutive_errors = 0;
    let mut last_state = ImageState::Pending;
    let waited = Waiter::fixed(options.poll_interval, options.timeout)
        .wait(
            || catalog.describe_images(region, std::slice::from_ref(image)),
            |answer, poll| {
                let found = match answer {
                    Ok(found) => found.into_iter().find(|i| &i.id == image),
                    Err(e)
                        if e.is_retryable()
                            && consecutive_errors < options.max_consecutive_errors =>
                    {
                        consecutive_errors += 1;
                        tracing::debug!(%region, %image, error = %e, "describe failed while waiting; looking again");
                        return Acceptance::Retry;
                    }
                    Err(e) => return Acceptance::Failure(WaitFailure::Cloud(e)),
                };
                consecutive_errors = 0;
                let elapsed_secs = poll.elapsed.as_secs();
                match found {
                    Some(i) if i.state == ImageState::Available => {
                        progress.emit(ProgressEvent::Available {
                            region: region.clone(),
                            image: image.clone(),
                            elapsed_secs,
                        });
                        Acceptance::Success(i)
                    }
                    Some(i) if matches!(i.state, ImageState::Pending | ImageState::Transient) => {
                        last_state = i.state;
                        progress.emit(ProgressEvent::Waiting {
                            region: region.clone(),
                            image: image.clone(),
                            state: i.state,
                            elapsed_secs,
                            timeout_secs: options.timeout.as_secs(),
                        });
                        Acceptance::Retry
                    }
                    Some(i) => Acceptance::Failure(WaitFailure::Terminal(i.state)),
                    None if poll.elapsed >= options.not_found_grace => {
                        Acceptance::Failure(WaitFailure::Vanished)
                    }
                    None => Acceptance::Retry,
                }
            },
        )
        .await;
    waited.map_err(|e| match e {
        WaitError::Failed(failure) => failure,
        _ => WaitFailure::TimedOut(last_state),
    })
}

#[cfg(test)]
mod tests {
    use amiref_core::{CloudErrorKind, CopyImageRequest, ImageStore};
    use amiref_memory::{MemoryCloud, op};
    use tokio::time::Instant;

    use super::*;
    use crate::progress::NoProgress;

    const S: Duration = Duration::from_secs(1);

    fn options() -> WaitOptions {
        WaitOptions {
            poll_interval: 15 * S,
            timeout: 600 * S,
            not_found_grace: 60 * S,
            max_consecutive_errors: 3,
        }
    }

    /// The demo world and a copy in it that becomes available 5 minutes from now.
    async fn pending_copy() -> (MemoryCloud, Region, AmiId) {
        let cloud = MemoryCloud::from_world_file("../../examples/worlds/demo.yaml").unwrap();
        let (from, to): (Region, Region) = (
            "ap-southeast-1".parse().unwrap(),
            "ap-south-1".parse().unwrap(),
        );
        let request = CopyImageRequest::new(
            from,
            "ami-0a5e123456789def0".parse().unwrap(),
            to.clone(),
            "python-ml",
            "token-1",
        );
        let copy = cloud.copy_image(&request).await.unwrap();
        (cloud, to, copy)
    }

    #[tokio::test(start_paused = true)]
    async fn waits_until_the_image_is_available_and_returns_it() {
        let (cloud, region, copy) = pending_copy().await;
        let started = Instant::now();
        let image = wait_until_available(&cloud, &region, &copy, &options(), &NoProgress)
            .await
            .unwrap();
        assert_eq!(image.id, copy);
        assert_eq!(image.state, ImageState::Available);
        assert_eq!(started.elapsed(), 300 * S, "the look at 5 minutes sees it");
    }

    #[tokio::test(start_paused = true)]
    async fn an_image_never_seen_vanishes_after_the_grace() {
        let (cloud, region, _) = pending_copy().await;
        let missing: AmiId = "ami-0ddddddddddddddd0".parse().unwrap();
        let started = Instant::now();
        let failure = wait_until_available(&cloud, &region, &missing, &options(), &NoProgress)
            .await
            .unwrap_err();
        assert_eq!(failure, WaitFailure::Vanished);
        assert_eq!(
            started.elapsed(),
            60 * S,
            "absent at 0, 15, 30 and 45 s is not yet gone"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn passing_failures_in_a_row_are_tolerated_up_to_the_limit() {
        let (cloud, region, copy) = pending_copy().await;
        cloud.fail_next(op::DESCRIBE_IMAGES, 3, CloudErrorKind::Throttled);
        let image = wait_until_available(&cloud, &region, &copy, &options(), &NoProgress).await;
        assert!(image.is_ok(), "{image:?}");

        let (cloud, region, copy) = pending_copy().await;
        cloud.fail_next(op::DESCRIBE_IMAGES, 4, CloudErrorKind::Unavailable);
        let failure = wait_until_available(&cloud, &region, &copy, &options(), &NoProgress)
            .await
            .unwrap_err();
        assert!(matches!(failure, WaitFailure::Cloud(e) if e.kind == CloudErrorKind::Unavailable));
        assert_eq!(
            cloud.counters().operation(op::DESCRIBE_IMAGES),
            4,
            "no look is retried beneath the waiter"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_lasting_failure_ends_the_wait_at_once() {
        let (cloud, region, copy) = pending_copy().await;
        cloud.fail_next(op::DESCRIBE_IMAGES, 1, CloudErrorKind::AccessDenied);
        let started = Instant::now();
        let failure = wait_until_available(&cloud, &region, &copy, &options(), &NoProgress)
            .await
            .unwrap_err();
        assert!(matches!(failure, WaitFailure::Cloud(e) if e.kind == CloudErrorKind::AccessDenied));
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pending_image_times_out_with_its_last_state() {
        let (cloud, region, copy) = pending_copy().await;
        let short = options().timeout(100 * S);
        let started = Instant::now();
        let failure = wait_until_available(&cloud, &region, &copy, &short, &NoProgress)
            .await
            .unwrap_err();
        assert_eq!(failure, WaitFailure::TimedOut(ImageState::Pending));
        assert_eq!(
            started.elapsed(),
            90 * S,
            "the last look whose next fits in 100 s"
        );
    }
}
