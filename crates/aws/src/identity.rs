//! [`Identity`] on STS GetCallerIdentity.

use amiref_core::{AccountId, CallerIdentity, CloudError, CloudErrorKind, Identity};
use async_trait::async_trait;

use crate::{AwsCloud, error};

#[async_trait]
impl Identity for AwsCloud {
    async fn caller(&self) -> Result<CallerIdentity, CloudError> {
        let region = self.clients.home_region().cloned();
        let out = self
            .clients
            .sts()
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| error::from_sdk("GetCallerIdentity", region.as_ref(), e))?;
        let account = AccountId::new(out.account().unwrap_or_default()).map_err(|e| {
            CloudError::new(
                CloudErrorKind::Service,
                "GetCallerIdentity",
                format!("STS answered with an unusable account: {e}"),
            )
        })?;
        // STS does not say which organization the account belongs to; that takes
        // organizations:DescribeOrganization, which member accounts often may not call.
        Ok(CallerIdentity::new(account, out.arn().unwrap_or_default()))
    }
}
