//! # amiref-core
//!
//! The vocabulary every amiref crate shares: validated value types ([`Region`], [`AmiId`],
//! [`AccountId`], [`Owner`], [`Architecture`], [`InstanceType`]), the [`Image`] record, the
//! [`ResolutionMethod`], and the *ports*: narrow async traits through which the rest of the
//! workspace talks to a cloud.
//!
//! ## Design choices
//!
//! - **Validated at construction.** Every value type parses its input once (`FromStr`,
//!   `TryFrom<String>`, serde) and cannot hold an invalid value afterwards, so code that
//!   receives an [`AmiId`] never re-checks it.
//! - **No runtime, no SDK, no YAML.** This crate depends on neither tokio nor the AWS SDK, so
//!   everything above it builds in seconds and can be embedded anywhere. Waiting, retrying
//!   and timing live in the crates that own a clock.
//! - **Ports are batch-first.** [`ImageCatalog::describe_images`] takes many ids at once
//!   because EC2's DescribeImages does, and resolving many templates must cost one call per
//!   region, not one per template.
//! - **Two implementations of every port.** `amiref-aws` (the AWS SDK) and `amiref-memory`
//!   (an in-process cloud with EC2's semantics); `amiref-testkit` holds the conformance
//!   suites both must pass. With the `mock` feature every port also has a mockall mock.

mod arch;
mod build_ports;
mod canonical;
pub mod completion;
mod error;
mod governance;
mod html;
mod ids;
mod image;
mod instance_type;
mod method;
pub mod ports;
mod region;
mod registry;
mod resolution_ports;
mod settings;
mod token;

pub use arch::Architecture;
pub use build_ports::{
    ConsoleOutput, EC2_IMAGE_DATA_TYPE, InstanceControl, ParameterStore, PutParameterRequest,
    SecurityGroup, SecurityGroupRequest, SecurityGroups,
};
#[cfg(feature = "mock")]
pub use build_ports::{MockInstanceControl, MockParameterStore, MockSecurityGroups};
pub use canonical::{sorted_json, write_canonical_json};
pub use error::{CloudError, CloudErrorKind, ParseError};
#[cfg(feature = "mock")]
pub use governance::MockImageGovernance;
pub use governance::{
    DEREGISTRATION_COOLDOWN_HOURS, DeregistrationProtection, ImageGovernance, ImageReference,
    ImdsSupport, LaunchTemplateImage, RecycleBinRule, RecycleResource, ReferenceKind, RuleTag,
    SnapshotBlockPublicAccess,
};
pub use html::escape_html;
pub use ids::{
    AccountId, AmiId, InstanceId, Owner, ParameterName, SecurityGroupId, SnapshotId, SubnetId,
    VpcId,
};
pub use image::{
    BlockDevice, Image, ImageState, LaunchPermission, LaunchPermissions, ProductCode,
    ProductCodeType,
};
pub use instance_type::InstanceType;
pub use method::{ResolutionMethod, TierName};
pub use ports::{
    AccountSettings, CallerIdentity, CatalogChange, ChangeSetRequest, ChangeSetStatus, Cloud,
    CopyImageRequest, CreateImageRequest, Identity, ImageCatalog, ImageFilter, ImageStore,
    ImageUsage, InstanceTypes, Instances, Marketplace, MarketplaceProduct, MarketplacePublisher,
    Parameter, Parameters, ProductVersion, RunInstanceRequest, tags_match, wildcard_match,
};
pub use ports::{Instance, InstanceFilter, InstanceState, NAME_TAG};
pub use region::{Partition, Region};
#[cfg(feature = "mock")]
pub use registry::MockImageRegistry;
pub use registry::{ImageRegistry, RegistryCandidate, RegistryError};
pub use resolution_ports::ResolutionPorts;
pub use settings::{AllowedImagesSettings, AllowedImagesState, ImageCriterion};
pub use token::{copy_client_token, token_from};
