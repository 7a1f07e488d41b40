//! Retrying calls that failed for a passing reason.
//!
//! Only errors the cloud marks retryable (throttling, unavailability) are retried, and only
//! for calls that are safe to repeat: reads, calls that set a state (permissions, tags,
//! deprecation), copies with a client token, change sets with a request token. Creating an
//! image is repeated too: a repeat that finds the name taken is recognized by the caller as
//! its own earlier attempt (see `create`).
//!
//! Backoff doubles from half a second over five attempts (about 7.5 s of waiting in all),
//! without jitter so that runs on a paused clock stay deterministic; callers that run many
//! copies at once are already spread out by the copy limits.

use std::future::Future;
use std::time::Duration;

use std::collections::BTreeMap;

use amiref_core::{
    AccountId, AmiId, CallerIdentity, Cloud, CloudError, CopyImageRequest, CreateImageRequest,
    Image, ImageFilter, ImageUsage, LaunchPermission, Region, SnapshotId,
};
use chrono::{DateTime, Utc};

/// How many times a call is made at most.
const MAX_ATTEMPTS: u32 = 5;
/// The first pause; each next one is twice as long.
const FIRST_DELAY: Duration = Duration::from_millis(500);

/// Makes the call, and again after a pause while it fails retryably, up to
/// [`MAX_ATTEMPTS`] times.
pub(crate) async fn retrying<T, F, Fut>(mut call: F) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CloudError>>,
{
    let mut delay = FIRST_DELAY;
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if e.is_retryable() && attempt < MAX_ATTEMPTS => {
                tracing::debug!(operation = e.operation, attempt, error = %e, "retrying after a passing failure");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// A cloud whose calls are retried with [`retrying`]: the methods the lifecycle uses, each
/// with its port's signature.
#[derive(Clone, Copy)]
pub(crate) struct Retrying<'a>(pub(crate) &'a dyn Cloud);

impl<'a> Retrying<'a> {
    /// The cloud itself, for callers with their own failure handling (the waiter).
    pub(crate) fn inner(&self) -> &'a dyn Cloud {
        self.0
    }

    pub(crate) async fn caller(&self) -> Result<CallerIdentity, CloudError> {
        retrying(|| self.0.caller()).await
    }

    pub(crate) async fn describe_images(
        &self,
        region: &Region,
        ids: &[AmiId],
    ) -> Result<Vec<Image>, CloudError> {
        retrying(|| self.0.describe_images(region, ids)).await
    }

    pub(crate) async fn search_images(
        &self,
        region: &Region,
        filter: &ImageFilter,
    ) -> Result<Vec<Image>, CloudError> {
        retrying(|| self.0.search_images(region, filter)).await
    }

    pub(crate) async fn create_image(
        &self,
        region: &Region,
        request: &CreateImageRequest,
    ) -> Result<AmiId, CloudError> {
        retrying(|| self.0.create_image(region, request)).await
    }

    pub(crate) async fn copy_image(&self, request: &CopyImageRequest) -> Result<AmiId, CloudError> {
        retrying(|| self.0.copy_image(request)).await
    }

    pub(crate) async fn launch_permissions(
        &self,
        region: &Region,
        image: &AmiId,
    ) -> Result<Vec<LaunchPermission>, CloudError> {
        retrying(|| self.0.launch_permissions(region, image)).await
    }

    pub(crate) async fn add_launch_permissions(
        &self,
        region: &Region,
        image: &AmiId,
        permissions: &[LaunchPermission],
    ) -> Result<(), CloudError> {
        retrying(|| self.0.add_launch_permissions(region, image, permissions)).await
    }

    pub(crate) async fn remove_launch_permissions(
        &self,
        region: &Region,
        image: &AmiId,
        permissions: &[LaunchPermission],
    ) -> Result<(), CloudError> {
        retrying(|| self.0.remove_launch_permissions(region, image, permissions)).await
    }

    pub(crate) async fn modify_snapshot_permissions(
        &self,
        region: &Region,
        snapshots: &[SnapshotId],
        accounts: &[AccountId],
        add: bool,
    ) -> Result<(), CloudError> {
        retrying(|| {
            self.0
                .modify_snapshot_permissions(region, snapshots, accounts, add)
        })
        .await
    }

    pub(crate) async fn image_block_public_access(
        &self,
        region: &Region,
    ) -> Result<bool, CloudError> {
        retrying(|| self.0.image_block_public_access(region)).await
    }

    pub(crate) async fn enable_deprecation(
        &self,
        region: &Region,
        image: &AmiId,
        at: DateTime<Utc>,
    ) -> Result<(), CloudError> {
        retrying(|| self.0.enable_deprecation(region, image, at)).await
    }

    pub(crate) async fn disable_deprecation(
        &self,
        region: &Region,
        image: &AmiId,
    ) -> Result<(), CloudError> {
        retrying(|| self.0.disable_deprecation(region, image)).await
    }

    pub(crate) async fn deregister_image(
        &self,
        region: &Region,
        image: &AmiId,
        delete_snapshots: bool,
    ) -> Result<(), CloudError> {
        retrying(|| self.0.deregister_image(region, image, delete_snapshots)).await
    }

    pub(crate) async fn create_tags(
        &self,
        region: &Region,
        image: &AmiId,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), CloudError> {
        retrying(|| self.0.create_tags(region, image, tags)).await
    }

    pub(crate) async fn image_usage(
        &self,
        region: &Region,
        image: &AmiId,
    ) -> Result<ImageUsage, CloudError> {
        retrying(|| self.0.image_usage(region, image)).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use amiref_core::CloudErrorKind;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn retries_passing_failures_only() {
        let calls = AtomicU32::new(0);
        let result = retrying(|| async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            if n < 2 {
                Err(CloudError::new(
                    CloudErrorKind::Throttled,
                    "CopyImage",
                    "slow down",
                ))
            } else {
                Ok(n)
            }
        })
        .await;
        assert_eq!(result.unwrap(), 2);

        let calls = AtomicU32::new(0);
        let result: Result<(), _> = retrying(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(CloudError::new(
                CloudErrorKind::AccessDenied,
                "CopyImage",
                "no",
            ))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "a lasting failure is not repeated"
        );

        let calls = AtomicU32::new(0);
        let result: Result<(), _> = retrying(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(CloudError::new(
                CloudErrorKind::Unavailable,
                "CopyImage",
                "down",
            ))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), MAX_ATTEMPTS);
    }
}
