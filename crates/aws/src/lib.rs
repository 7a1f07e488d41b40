//! # amiref-aws
//!
//! Every port of `amiref-core` implemented on the AWS SDK for Rust: [`AwsCloud`] talks to
//! EC2 (`aws-sdk-ec2`), Systems Manager parameters (`aws-sdk-ssm`), STS (`aws-sdk-sts`), the
//! AWS Marketplace Catalog (`aws-sdk-marketplacecatalog`) and the Recycle Bin
//! (`aws-sdk-rbin`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), amiref_core::CloudError> {
//! use amiref_aws::AwsCloud;
//! use amiref_core::{Identity, ImageCatalog, ImageFilter, Owner};
//!
//! let cloud = AwsCloud::builder().profile("research").build().await;
//! let me = cloud.caller().await?;
//! let region = "us-east-1".parse().expect("a region code");
//! let mine = cloud
//!     .search_images(&region, &ImageFilter::owned_by([Owner::Me]).name("cws-*"))
//!     .await?;
//! println!("{} owns {} images", me.account, mine.len());
//! # Ok(()) }
//! ```
//!
//! ## Design choices
//!
//! - **Configured the AWS way.** [`AwsCloud::from_env`] loads credentials, profile and
//!   region exactly as the AWS CLI does (environment, shared files, SSO, instance metadata);
//!   [`AwsCloud::builder`] overrides profile, region and endpoint (`--endpoint-url` for
//!   LocalStack or moto); [`AwsCloud::from_sdk_config`] takes a program's own `SdkConfig`.
//! - **One client per region, made once.** EC2, SSM and Recycle Bin clients are built lazily
//!   from the one shared `SdkConfig` and kept in concurrent maps.
//! - **The server filters.** Searches send owners, name, architecture, state, tags and
//!   product code to DescribeImages and read every page at the largest page size (1,000);
//!   describes by id go in batches through the `image-id` filter, so an id that no longer
//!   exists is absent rather than failing its batch.
//! - **Retries only where safe.** Calls use the SDK's adaptive retry mode with a bounded
//!   number of attempts and bounded timeouts. Calls that would do a thing twice if repeated
//!   (RunInstances without a client token, CreateImage) are sent exactly once.
//! - **Copies happen once.** CopyImage carries the caller's deterministic client token, and
//!   the copy carries its provenance in tags; before copying, the destination is searched
//!   for a copy with that provenance, so a repeat returns the first copy even where the
//!   service forgets tokens (as moto does).
//! - **A write counts when the service shows it.** SSM answers PutParameter of an
//!   `aws:ec2:image` value before checking the image, and drops a version that fails; a put
//!   of such a value returns once GetParameters shows its version (or fails with
//!   `Timeout` after 60 s). GetConsoleOutput asks for the latest serial output and falls
//!   back to the buffered one where the instance type has none.
//! - **Errors keep their meaning.** Every SDK failure becomes an
//!   [`amiref_core::CloudError`] of a [`amiref_core::CloudErrorKind`], with the operation,
//!   region and the service's error code. Credentials are never logged or printed.

mod catalog;
mod config;
mod error;
mod governance;
mod identity;
mod instance_control;
mod instances;
mod mapping;
mod marketplace;
mod parameter_store;
mod parameters;
mod security_groups;
mod settings;
mod store;

use std::sync::Arc;

/// The AWS SDK's shared configuration, re-exported so that crates above this one (the
/// `amiref` facade) can take one without depending on the SDK themselves.
pub use aws_config::SdkConfig;
pub use config::{
    AwsCloudBuilder, CatalogCustomizer, Ec2Customizer, RbinCustomizer, SsmCustomizer, StsCustomizer,
};
pub use store::{PROVENANCE_SOURCE_IMAGE_TAG, PROVENANCE_SOURCE_REGION_TAG, PROVENANCE_TOKEN_TAG};

/// Every amiref port on the AWS SDK. Cheap to clone: clones share clients.
#[derive(Debug, Clone)]
pub struct AwsCloud {
    clients: Arc<config::Clients>,
}

impl AwsCloud {
    /// A builder for overriding profile, region, endpoint, retries and timeouts.
    pub fn builder() -> AwsCloudBuilder {
        AwsCloudBuilder::default()
    }

    /// The cloud as the standard AWS configuration chain describes it (environment,
    /// profiles, SSO, instance metadata).
    pub async fn from_env() -> Self {
        Self::builder().build().await
    }

    /// The cloud on a configuration the program already loaded. amiref's retry and timeout
    /// policy is applied to the clients built from it.
    pub fn from_sdk_config(config: &SdkConfig) -> Self {
        Self::builder().build_with(config.clone())
    }

    /// The home region: where STS is called.
    pub fn home_region(&self) -> Option<&amiref_core::Region> {
        self.clients.home_region()
    }

    /// The endpoint every call goes to, when one was set (an emulator, usually).
    pub fn endpoint_url(&self) -> Option<&str> {
        self.clients.endpoint_url()
    }

    /// How many per-region EC2 clients have been built so far.
    pub fn ec2_client_count(&self) -> usize {
        self.clients.ec2_client_count()
    }

    /// How many per-region SSM clients have been built so far.
    pub fn ssm_client_count(&self) -> usize {
        self.clients.ssm_client_count()
    }
}
