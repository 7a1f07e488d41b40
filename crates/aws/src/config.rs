//! Configuration: where credentials, regions and endpoints come from, and the per-region
//! clients built from them.
//!
//! One [`SdkConfig`] is loaded the AWS way (environment, shared profiles, SSO, the instance
//! metadata service) and shared; an EC2, an SSM and a Recycle Bin client per region are
//! built from it on first use and kept, so a resolution over twenty regions pays for twenty
//! clients once, not per call.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use amiref_core::Region;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

use crate::AwsCloud;

/// The region the Marketplace Catalog API answers in (it has no other endpoint).
pub(crate) const CATALOG_REGION: &str = "us-east-1";

/// The region used for STS when the configuration names none.
const FALLBACK_HOME_REGION: &str = "us-east-1";

/// A hook that adjusts each EC2 client's configuration before it is built, e.g. to add an
/// interceptor. It is given the region the client is for.
pub type Ec2Customizer = Arc<
    dyn Fn(&Region, aws_sdk_ec2::config::Builder) -> aws_sdk_ec2::config::Builder + Send + Sync,
>;

/// A hook that adjusts each SSM client's configuration before it is built. It is given the
/// region the client is for.
pub type SsmCustomizer = Arc<
    dyn Fn(&Region, aws_sdk_ssm::config::Builder) -> aws_sdk_ssm::config::Builder + Send + Sync,
>;

/// A hook that adjusts each Recycle Bin client's configuration before it is built. It is
/// given the region the client is for.
pub type RbinCustomizer = Arc<
    dyn Fn(&Region, aws_sdk_rbin::config::Builder) -> aws_sdk_rbin::config::Builder + Send + Sync,
>;

/// A hook that adjusts the STS client's configuration before it is built.
pub type StsCustomizer =
    Arc<dyn Fn(aws_sdk_sts::config::Builder) -> aws_sdk_sts::config::Builder + Send + Sync>;

/// A hook that adjusts the Marketplace Catalog client's configuration before it is built.
pub type CatalogCustomizer = Arc<
    dyn Fn(
            aws_sdk_marketplacecatalog::config::Builder,
        ) -> aws_sdk_marketplacecatalog::config::Builder
        + Send
        + Sync,
>;

/// Retry and timeout policy applied to every client.
#[derive(Debug, Clone)]
pub(crate) struct CallPolicy {
    pub(crate) retry: RetryConfig,
    pub(crate) timeouts: TimeoutConfig,
}

/// Builds an [`AwsCloud`]: `AwsCloud::builder().profile("research").region(r).build().await`.
///
/// Unset options fall back to the standard AWS configuration chain: `AWS_PROFILE`,
/// `AWS_REGION`, `AWS_ENDPOINT_URL`, the shared config files, SSO and the instance metadata
/// service.
#[must_use]
pub struct AwsCloudBuilder {
    sdk_config: Option<SdkConfig>,
    profile: Option<String>,
    region: Option<Region>,
    endpoint_url: Option<String>,
    static_credentials: Option<aws_credential_types::Credentials>,
    max_attempts: u32,
    attempt_timeout: Duration,
    operation_timeout: Duration,
    ec2: Option<Ec2Customizer>,
    ssm: Option<SsmCustomizer>,
    rbin: Option<RbinCustomizer>,
    sts: Option<StsCustomizer>,
    catalog: Option<CatalogCustomizer>,
}

impl fmt::Debug for AwsCloudBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the SdkConfig: it holds the credentials provider.
        f.debug_struct("AwsCloudBuilder")
            .field("profile", &self.profile)
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("max_attempts", &self.max_attempts)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for AwsCloudBuilder {
    fn default() -> Self {
        Self {
            sdk_config: None,
            profile: None,
            region: None,
            endpoint_url: None,
            static_credentials: None,
            max_attempts: 4,
            attempt_timeout: Duration::from_secs(30),
            operation_timeout: Duration::from_secs(120),
            ec2: None,
            ssm: None,
            rbin: None,
            sts: None,
            catalog: None,
        }
    }
}

impl AwsCloudBuilder {
    /// Uses this SDK configuration instead of loading one (profile and region options then
    /// only override its region and endpoint).
    pub fn sdk_config(mut self, config: SdkConfig) -> Self {
        self.sdk_config = Some(config);
        self
    }

    /// Signs with this fixed access key instead of the credential chain: for emulators
    /// (moto, LocalStack) and tests. Ignored when an [`sdk_config`](Self::sdk_config) is
    /// given. The secret never appears in `Debug` output.
    pub fn static_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        self.static_credentials = Some(aws_credential_types::Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "amiref-static",
        ));
        self
    }

    /// The shared-config profile to load (`--profile`).
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// The home region: where STS is called, and the default for callers that have none.
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// Sends every call to this endpoint (`--endpoint-url`), e.g. a local emulator.
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// The most attempts the SDK gives a retryable call, first included (default 4, at
    /// least 1), in its standard retry mode. 1 turns the SDK's retries off: a caller that
    /// retries itself (amiref-session wraps every cloud in `amiref_layers::Retrying`) sets
    /// it, so that retries do not multiply (see docs/resilience.md).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// How long one attempt may take (default 30 s).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// How long a call may take over all its attempts (default 120 s).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Adjusts each EC2 client's configuration before it is built.
    pub fn customize_ec2(
        mut self,
        hook: impl Fn(&Region, aws_sdk_ec2::config::Builder) -> aws_sdk_ec2::config::Builder
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.ec2 = Some(Arc::new(hook));
        self
    }

    /// Adjusts each SSM client's configuration before it is built.
    pub fn customize_ssm(
        mut self,
        hook: impl Fn(&Region, aws_sdk_ssm::config::Builder) -> aws_sdk_ssm::config::Builder
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.ssm = Some(Arc::new(hook));
        self
    }

    /// Adjusts each Recycle Bin client's configuration before it is built.
    pub fn customize_rbin(
        mut self,
        hook: impl Fn(&Region, aws_sdk_rbin::config::Builder) -> aws_sdk_rbin::config::Builder
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.rbin = Some(Arc::new(hook));
        self
    }

    /// Adjusts the STS client's configuration before it is built.
    pub fn customize_sts(
        mut self,
        hook: impl Fn(aws_sdk_sts::config::Builder) -> aws_sdk_sts::config::Builder
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.sts = Some(Arc::new(hook));
        self
    }

    /// Adjusts the Marketplace Catalog client's configuration before it is built.
    pub fn customize_catalog(
        mut self,
        hook: impl Fn(
            aws_sdk_marketplacecatalog::config::Builder,
        ) -> aws_sdk_marketplacecatalog::config::Builder
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.catalog = Some(Arc::new(hook));
        self
    }

    /// Loads the configuration (unless one was given) and builds the cloud.
    pub async fn build(mut self) -> AwsCloud {
        let sdk = match self.sdk_config.take() {
            Some(config) => config,
            None => {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                if let Some(profile) = &self.profile {
                    loader = loader.profile_name(profile);
                }
                if let Some(region) = &self.region {
                    loader = loader.region(aws_config::Region::new(region.as_str().to_owned()));
                }
                if let Some(url) = &self.endpoint_url {
                    loader = loader.endpoint_url(url);
                }
                if let Some(credentials) = self.static_credentials.take() {
                    loader = loader.credentials_provider(credentials);
                }
                loader.load().await
            }
        };
        self.build_with(sdk)
    }

    /// Builds the cloud from `sdk`, applying this builder's overrides.
    pub(crate) fn build_with(self, sdk: SdkConfig) -> AwsCloud {
        let mut sdk_builder = sdk.into_builder();
        if let Some(region) = &self.region {
            sdk_builder.set_region(Some(aws_config::Region::new(region.as_str().to_owned())));
        }
        if let Some(url) = &self.endpoint_url {
            sdk_builder.set_endpoint_url(Some(url.clone()));
        }
        let sdk = sdk_builder.build();
        let home_region = sdk
            .region()
            .and_then(|r| Region::new(r.as_ref()).ok())
            .or_else(|| Region::new(FALLBACK_HOME_REGION).ok());
        let policy = CallPolicy {
            // The standard mode, not the adaptive one: adaptive rate limiting throttles the
            // client itself after a few errors and stalls a short-lived process (issue 15).
            retry: RetryConfig::standard().with_max_attempts(self.max_attempts),
            // The configuration's own timeouts (connect, read) are kept: a client's timeout
            // configuration replaces the shared one as a whole.
            timeouts: TimeoutConfig::builder()
                .operation_attempt_timeout(self.attempt_timeout)
                .operation_timeout(self.operation_timeout)
                .take_unset_from(
                    sdk.timeout_config()
                        .map(TimeoutConfig::to_builder)
                        .unwrap_or_default(),
                )
                .build(),
        };
        AwsCloud {
            clients: Arc::new(Clients {
                sdk,
                home_region,
                policy,
                ec2: RwLock::new(HashMap::new()),
                ssm: RwLock::new(HashMap::new()),
                rbin: RwLock::new(HashMap::new()),
                sts: OnceLock::new(),
                catalog: OnceLock::new(),
                ec2_hook: self.ec2,
                ssm_hook: self.ssm,
                rbin_hook: self.rbin,
                sts_hook: self.sts,
                catalog_hook: self.catalog,
            }),
        }
    }
}

/// The shared configuration and the clients built from it.
pub(crate) struct Clients {
    sdk: SdkConfig,
    home_region: Option<Region>,
    policy: CallPolicy,
    ec2: RwLock<HashMap<Region, aws_sdk_ec2::Client>>,
    ssm: RwLock<HashMap<Region, aws_sdk_ssm::Client>>,
    rbin: RwLock<HashMap<Region, aws_sdk_rbin::Client>>,
    sts: OnceLock<aws_sdk_sts::Client>,
    catalog: OnceLock<aws_sdk_marketplacecatalog::Client>,
    ec2_hook: Option<Ec2Customizer>,
    ssm_hook: Option<SsmCustomizer>,
    rbin_hook: Option<RbinCustomizer>,
    sts_hook: Option<StsCustomizer>,
    catalog_hook: Option<CatalogCustomizer>,
}

impl fmt::Debug for Clients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let regions: Vec<String> = self
            .ec2
            .read()
            .map(|m| m.keys().map(ToString::to_string).collect())
            .unwrap_or_default();
        f.debug_struct("Clients")
            .field("home_region", &self.home_region)
            .field("endpoint_url", &self.sdk.endpoint_url())
            .field("ec2_regions", &regions)
            .finish_non_exhaustive()
    }
}

impl Clients {
    /// The home region, if the configuration names one (or the fallback).
    pub(crate) fn home_region(&self) -> Option<&Region> {
        self.home_region.as_ref()
    }

    /// The endpoint every call goes to, when one is set.
    pub(crate) fn endpoint_url(&self) -> Option<&str> {
        self.sdk.endpoint_url()
    }

    /// The EC2 client for `region`, built on first use and reused afterwards.
    pub(crate) fn ec2(&self, region: &Region) -> aws_sdk_ec2::Client {
        regional(&self.ec2, region, || {
            let mut builder = aws_sdk_ec2::config::Builder::from(&self.sdk)
                .region(aws_config::Region::new(region.as_str().to_owned()))
                .retry_config(self.policy.retry.clone())
                .timeout_config(self.policy.timeouts.clone());
            if let Some(hook) = &self.ec2_hook {
                builder = hook(region, builder);
            }
            aws_sdk_ec2::Client::from_conf(builder.build())
        })
    }

    /// The SSM client for `region`, built on first use and reused afterwards.
    pub(crate) fn ssm(&self, region: &Region) -> aws_sdk_ssm::Client {
        regional(&self.ssm, region, || {
            let mut builder = aws_sdk_ssm::config::Builder::from(&self.sdk)
                .region(aws_config::Region::new(region.as_str().to_owned()))
                .retry_config(self.policy.retry.clone())
                .timeout_config(self.policy.timeouts.clone());
            if let Some(hook) = &self.ssm_hook {
                builder = hook(region, builder);
            }
            aws_sdk_ssm::Client::from_conf(builder.build())
        })
    }

    /// The Recycle Bin client for `region`, built on first use and reused afterwards.
    pub(crate) fn rbin(&self, region: &Region) -> aws_sdk_rbin::Client {
        regional(&self.rbin, region, || {
            let mut builder = aws_sdk_rbin::config::Builder::from(&self.sdk)
                .region(aws_config::Region::new(region.as_str().to_owned()))
                .retry_config(self.policy.retry.clone())
                .timeout_config(self.policy.timeouts.clone());
            if let Some(hook) = &self.rbin_hook {
                builder = hook(region, builder);
            }
            aws_sdk_rbin::Client::from_conf(builder.build())
        })
    }

    /// The STS client, in the home region.
    pub(crate) fn sts(&self) -> &aws_sdk_sts::Client {
        self.sts.get_or_init(|| {
            let mut builder = aws_sdk_sts::config::Builder::from(&self.sdk)
                .retry_config(self.policy.retry.clone())
                .timeout_config(self.policy.timeouts.clone());
            if let Some(region) = &self.home_region {
                builder = builder.region(aws_config::Region::new(region.as_str().to_owned()));
            }
            if let Some(hook) = &self.sts_hook {
                builder = hook(builder);
            }
            aws_sdk_sts::Client::from_conf(builder.build())
        })
    }

    /// The Marketplace Catalog client, in the one region that serves it.
    pub(crate) fn catalog(&self) -> &aws_sdk_marketplacecatalog::Client {
        self.catalog.get_or_init(|| {
            let mut builder = aws_sdk_marketplacecatalog::config::Builder::from(&self.sdk)
                .region(aws_config::Region::new(CATALOG_REGION))
                .retry_config(self.policy.retry.clone())
                .timeout_config(self.policy.timeouts.clone());
            if let Some(hook) = &self.catalog_hook {
                builder = hook(builder);
            }
            aws_sdk_marketplacecatalog::Client::from_conf(builder.build())
        })
    }

    /// The number of EC2 clients built so far.
    pub(crate) fn ec2_client_count(&self) -> usize {
        self.ec2.read().map(|m| m.len()).unwrap_or(0)
    }

    /// The number of SSM clients built so far.
    pub(crate) fn ssm_client_count(&self) -> usize {
        self.ssm.read().map(|m| m.len()).unwrap_or(0)
    }
}

/// The client for `region` in `clients`, made by `make` on first use and reused afterwards.
fn regional<C: Clone>(
    clients: &RwLock<HashMap<Region, C>>,
    region: &Region,
    make: impl FnOnce() -> C,
) -> C {
    if let Some(client) = clients.read().ok().and_then(|m| m.get(region).cloned()) {
        return client;
    }
    let client = make();
    match clients.write() {
        // Two callers may race to build the same region's client; the first one stored
        // wins so that every later caller shares it.
        Ok(mut map) => map.entry(region.clone()).or_insert(client).clone(),
        Err(_) => client,
    }
}
