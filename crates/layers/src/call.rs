//! What a layer is told about each call: which port method, where, and whether repeating it
//! is safe.

use amiref_core::Region;

/// A method of one of the ports, named as the port names it.
///
/// The keys of [`crate::Counter`]'s counts, and what [`crate::Retry`] logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Operation {
    /// `ImageCatalog::describe_images`.
    DescribeImages,
    /// `ImageCatalog::search_images`.
    SearchImages,
    /// `ImageCatalog::can_create_volumes`.
    CanCreateVolumes,
    /// `ImageStore::create_image`.
    CreateImage,
    /// `ImageStore::copy_image`.
    CopyImage,
    /// `ImageStore::launch_permissions`.
    LaunchPermissions,
    /// `ImageStore::add_launch_permissions`.
    AddLaunchPermissions,
    /// `ImageStore::remove_launch_permissions`.
    RemoveLaunchPermissions,
    /// `ImageStore::modify_snapshot_permissions`.
    ModifySnapshotPermissions,
    /// `ImageStore::image_block_public_access`.
    ImageBlockPublicAccess,
    /// `ImageStore::enable_deprecation`.
    EnableDeprecation,
    /// `ImageStore::disable_deprecation`.
    DisableDeprecation,
    /// `ImageStore::deregister_image`.
    DeregisterImage,
    /// `ImageStore::create_tags`.
    CreateTags,
    /// `ImageStore::image_usage`.
    ImageUsage,
    /// `Marketplace::product`.
    Product,
    /// `MarketplacePublisher::start_change_set`.
    StartChangeSet,
    /// `MarketplacePublisher::change_set_status`.
    ChangeSetStatus,
    /// `Identity::caller`.
    Caller,
    /// `InstanceTypes::architectures`.
    Architectures,
    /// `InstanceTypes::offered_instance_types`.
    OfferedInstanceTypes,
    /// `Instances::run_instance`.
    RunInstance,
    /// `Instances::describe_instances`.
    DescribeInstances,
    /// `AccountSettings::allowed_images_settings`.
    AllowedImagesSettings,
    /// `Parameters::get_parameters`.
    GetParameters,
    /// `InstanceControl::stop_instances`.
    StopInstances,
    /// `InstanceControl::terminate_instances`.
    TerminateInstances,
    /// `InstanceControl::console_output`.
    ConsoleOutput,
    /// `SecurityGroups::create_security_group`.
    CreateSecurityGroup,
    /// `SecurityGroups::describe_security_groups`.
    DescribeSecurityGroups,
    /// `SecurityGroups::delete_security_group`.
    DeleteSecurityGroup,
    /// `ParameterStore::put_parameter`.
    PutParameter,
    /// `ParameterStore::parameter_history`.
    ParameterHistory,
    /// `ParameterStore::parameters_by_path`.
    ParametersByPath,
    /// `ParameterStore::delete_parameter`.
    DeleteParameter,
    /// `ImageGovernance::enable_deregistration_protection`.
    EnableDeregistrationProtection,
    /// `ImageGovernance::disable_deregistration_protection`.
    DisableDeregistrationProtection,
    /// `ImageGovernance::disable_image`.
    DisableImage,
    /// `ImageGovernance::enable_image`.
    EnableImage,
    /// `ImageGovernance::delete_tags`.
    DeleteTags,
    /// `ImageGovernance::image_references`.
    ImageReferences,
    /// `ImageGovernance::recycle_bin_rules`.
    RecycleBinRules,
    /// `ImageGovernance::public_snapshots`.
    PublicSnapshots,
    /// `ImageGovernance::snapshot_block_public_access`.
    SnapshotBlockPublicAccess,
    /// `ImageGovernance::launch_template_images`.
    LaunchTemplateImages,
}

impl Operation {
    /// Every method of every port, in the order the ports declare them.
    pub const ALL: [Self; 45] = [
        Self::DescribeImages,
        Self::SearchImages,
        Self::CanCreateVolumes,
        Self::CreateImage,
        Self::CopyImage,
        Self::LaunchPermissions,
        Self::AddLaunchPermissions,
        Self::RemoveLaunchPermissions,
        Self::ModifySnapshotPermissions,
        Self::ImageBlockPublicAccess,
        Self::EnableDeprecation,
        Self::DisableDeprecation,
        Self::DeregisterImage,
        Self::CreateTags,
        Self::ImageUsage,
        Self::Product,
        Self::StartChangeSet,
        Self::ChangeSetStatus,
        Self::Caller,
        Self::Architectures,
        Self::OfferedInstanceTypes,
        Self::RunInstance,
        Self::DescribeInstances,
        Self::AllowedImagesSettings,
        Self::GetParameters,
        Self::StopInstances,
        Self::TerminateInstances,
        Self::ConsoleOutput,
        Self::CreateSecurityGroup,
        Self::DescribeSecurityGroups,
        Self::DeleteSecurityGroup,
        Self::PutParameter,
        Self::ParameterHistory,
        Self::ParametersByPath,
        Self::DeleteParameter,
        Self::EnableDeregistrationProtection,
        Self::DisableDeregistrationProtection,
        Self::DisableImage,
        Self::EnableImage,
        Self::DeleteTags,
        Self::ImageReferences,
        Self::RecycleBinRules,
        Self::PublicSnapshots,
        Self::SnapshotBlockPublicAccess,
        Self::LaunchTemplateImages,
    ];

    /// The port method's name (`describe_images`).
    pub fn method(self) -> &'static str {
        match self {
            Self::DescribeImages => "describe_images",
            Self::SearchImages => "search_images",
            Self::CanCreateVolumes => "can_create_volumes",
            Self::CreateImage => "create_image",
            Self::CopyImage => "copy_image",
            Self::LaunchPermissions => "launch_permissions",
            Self::AddLaunchPermissions => "add_launch_permissions",
            Self::RemoveLaunchPermissions => "remove_launch_permissions",
            Self::ModifySnapshotPermissions => "modify_snapshot_permissions",
            Self::ImageBlockPublicAccess => "image_block_public_access",
            Self::EnableDeprecation => "enable_deprecation",
            Self::DisableDeprecation => "disable_deprecation",
            Self::DeregisterImage => "deregister_image",
            Self::CreateTags => "create_tags",
            Self::ImageUsage => "image_usage",
            Self::Product => "product",
            Self::StartChangeSet => "start_change_set",
            Self::ChangeSetStatus => "change_set_status",
            Self::Caller => "caller",
            Self::Architectures => "architectures",
            Self::OfferedInstanceTypes => "offered_instance_types",
            Self::RunInstance => "run_instance",
            Self::DescribeInstances => "describe_instances",
            Self::AllowedImagesSettings => "allowed_images_settings",
            Self::GetParameters => "get_parameters",
            Self::StopInstances => "stop_instances",
            Self::TerminateInstances => "terminate_instances",
            Self::ConsoleOutput => "console_output",
            Self::CreateSecurityGroup => "create_security_group",
            Self::DescribeSecurityGroups => "describe_security_groups",
            Self::DeleteSecurityGroup => "delete_security_group",
            Self::PutParameter => "put_parameter",
            Self::ParameterHistory => "parameter_history",
            Self::ParametersByPath => "parameters_by_path",
            Self::DeleteParameter => "delete_parameter",
            Self::EnableDeregistrationProtection => "enable_deregistration_protection",
            Self::DisableDeregistrationProtection => "disable_deregistration_protection",
            Self::DisableImage => "disable_image",
            Self::EnableImage => "enable_image",
            Self::DeleteTags => "delete_tags",
            Self::ImageReferences => "image_references",
            Self::RecycleBinRules => "recycle_bin_rules",
            Self::PublicSnapshots => "public_snapshots",
            Self::SnapshotBlockPublicAccess => "snapshot_block_public_access",
            Self::LaunchTemplateImages => "launch_template_images",
        }
    }
}

impl Operation {
    /// Whether the call reads a fact its callers can do without: the account's Allowed AMIs
    /// setting, which a resolution only uses to warn early (EC2 enforces it at launch), and
    /// which a resolution waits for. Such reads get at most [`crate::ADVISORY_ATTEMPTS`].
    pub fn is_advisory(self) -> bool {
        matches!(self, Self::AllowedImagesSettings)
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.method())
    }
}

/// Whether making a call twice can do more than making it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Idempotency {
    /// A repeat changes nothing the first call did not: a read, a call that sets a state, a
    /// call carrying an idempotency token. It may be repeated after a passing failure.
    Idempotent,
    /// A repeat could act twice (launch a second instance). It is made once.
    NotIdempotent,
}

/// One call of a port method, as a [`crate::Layer`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Call<'a> {
    /// The method.
    pub operation: Operation,
    /// The region the call goes to; `None` for global services (STS, the Marketplace).
    pub region: Option<&'a Region>,
    /// Whether repeating it is safe.
    pub idempotency: Idempotency,
}

impl<'a> Call<'a> {
    /// A call of `operation` to `region`, safe to repeat.
    pub fn idempotent(operation: Operation, region: Option<&'a Region>) -> Self {
        Self {
            operation,
            region,
            idempotency: Idempotency::Idempotent,
        }
    }

    /// A call of `operation` to `region` that must be made at most once.
    pub fn not_idempotent(operation: Operation, region: Option<&'a Region>) -> Self {
        Self {
            operation,
            region,
            idempotency: Idempotency::NotIdempotent,
        }
    }

    /// Whether the call may be repeated.
    pub fn is_idempotent(&self) -> bool {
        self.idempotency == Idempotency::Idempotent
    }
}
