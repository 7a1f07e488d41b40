//! The real cloud (feature `aws`): resolvers on the AWS SDK through `amiref-aws`.
//!
//! Only this module reaches the SDK, so that `amiref` without the feature builds in seconds.

use std::sync::Arc;

use amiref_aws::{AwsCloud, SdkConfig};

use crate::{Resolver, ResolverBuilder};

impl ResolverBuilder {
    /// A builder whose cloud is AWS as `config` describes it (credentials, region,
    /// endpoint), with amiref's retry and timeout policy.
    ///
    /// ```no_run
    /// # fn demo(config: &amiref_resolver::SdkConfig) -> Result<(), amiref_resolver::BuildError> {
    /// let resolver = amiref_resolver::ResolverBuilder::from_sdk_config(config).build()?;
    /// # Ok(()) }
    /// ```
    pub fn from_sdk_config(config: &SdkConfig) -> Self {
        Resolver::builder().cloud(Arc::new(AwsCloud::from_sdk_config(config)))
    }

    /// A builder whose cloud is AWS as the standard configuration chain describes it
    /// (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, shared files, SSO, instance
    /// metadata). For `--profile`/`--region`/`--endpoint-url` overrides, build an
    /// [`AwsCloud`] with [`AwsCloud::builder`] and pass it to [`ResolverBuilder::aws`].
    pub async fn from_env() -> Self {
        Resolver::builder().cloud(Arc::new(AwsCloud::from_env().await))
    }

    /// Uses this AWS cloud.
    pub fn aws(self, cloud: AwsCloud) -> Self {
        self.cloud(Arc::new(cloud))
    }
}
