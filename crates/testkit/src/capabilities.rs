//! Which EC2 behaviours a backend emulates, so a suite skips, for that backend only, the
//! checks it cannot pass (and which are covered against another backend).

/// The EC2 behaviours a backend emulates. Start from [`Capabilities::ec2`] (everything, what
/// AWS itself and `amiref-memory` do) and switch off what the backend lacks; the crate docs
/// list which check each flag gates.
///
/// ```
/// let mut caps = amiref_testkit::Capabilities::ec2();
/// caps.pagination = false;
/// assert!(caps.visibility);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Searches come back in pages of at most 1000 and the backend can be seeded with more
    /// than 1000 images ([`crate::Fixture::with_bulk`]).
    pub pagination: bool,
    /// A private image of another account is invisible unless shared with the caller.
    pub visibility: bool,
    /// Accounts see what other accounts share with them (launch permissions take effect
    /// across accounts).
    pub cross_account: bool,
    /// Deprecation: a deprecation time is reported, and deprecated images are hidden from
    /// searches unless asked for.
    pub deprecation: bool,
    /// Images report their owner alias (`amazon`, `aws-marketplace`) truthfully, so that
    /// `Owner::Amazon` selects Amazon's images only.
    pub owner_aliases: bool,
    /// `Owner::AwsMarketplace` finds Marketplace images.
    pub marketplace_owner_alias: bool,
    /// Images report their product codes, and the product-code filter works.
    pub product_codes: bool,
    /// Copies and new images start `pending`, and seeded pending images stay pending.
    pub pending_states: bool,
    /// CopyImage honours client tokens (a repeat returns the same image).
    pub client_tokens: bool,
    /// CopyImage keeps the tags of the request.
    pub copy_tags: bool,
    /// CopyImage refuses paid Marketplace images and encrypted images shared from another
    /// account.
    pub copy_refusals: bool,
    /// Image names are unique per account and region (`InvalidAMIName.Duplicate`).
    pub name_uniqueness: bool,
    /// RunInstances refuses an architecture the instance type cannot run, and an image that
    /// is not available.
    pub launch_validation: bool,
    /// GetImageBlockPublicAccessState is answered.
    pub block_public_access: bool,
    /// The Marketplace Catalog (products and change sets) is emulated.
    pub marketplace: bool,
    /// Change sets move from Preparing to Succeeded on the backend's clock in a test's time
    /// (tokio's paused clock for the in-process cloud).
    pub change_set_progress: bool,
    /// Snapshots belong to their image's owner and create-volume permissions are seeded
    /// with the fixture's images (granted to the accounts an image is shared with, unless
    /// the fixture says otherwise), so that another account's snapshot answers as EC2
    /// answers it.
    pub snapshot_permissions: bool,
    /// DescribeImages reports `UsageOperation` and `PlatformDetails`, and the backend is
    /// seeded with the fixture's.
    pub billing_details: bool,
    /// GetAllowedImagesSettings is answered, and the backend is seeded with the fixture's
    /// setting for its settings region.
    pub allowed_images: bool,
    /// Instance type offerings per region follow the fixture (a type offered in one
    /// region only).
    pub seeded_offerings: bool,
    /// AWS's public AL2023 parameter names an image the backend describes.
    pub public_parameter_images: bool,
    /// Instances pass through EC2's intermediate states on the backend's clock (a new one
    /// is `pending`, a stopped one `stopping`, a terminated one `shutting-down`), and
    /// stopping a terminated instance is refused with `IncorrectInstanceState`.
    pub instance_lifecycle: bool,
    /// GetConsoleOutput answers text once an instance runs.
    pub console_output: bool,
    /// A build's wrapped user data runs and its completion marker reaches the serial
    /// console (the in-process cloud simulates it; AWS runs it on a real image, which the
    /// fixture's images are not).
    pub script_completion: bool,
    /// CreateImage records the instance's image as `SourceImageId`.
    pub image_ancestry: bool,
    /// DeleteSecurityGroup refuses a group an instance uses (`DependencyViolation`).
    pub group_dependencies: bool,
    /// RunInstances refuses security groups (and subnets) that do not exist.
    pub network_validation: bool,
    /// PutParameter refuses an `aws:ec2:image` value naming no image at once. SSM checks
    /// it asynchronously (the put answers a version, then the value is dropped), so this
    /// holds for the in-process cloud, not for AWS itself.
    pub image_parameter_checks: bool,
    /// SSM keeps the last 100 versions of a parameter.
    pub parameter_version_limit: bool,
    /// EnableImageDeregistrationProtection and DisableImageDeregistrationProtection are
    /// answered, DescribeImages reports the protection (with its cooldown), and
    /// DeregisterImage refuses a protected image.
    pub deregistration_protection: bool,
    /// DisableImage and EnableImage: a disabled image loses its launch permissions, is
    /// left out of DescribeImages unless asked for, and cannot be launched.
    pub disable_image: bool,
    /// DescribeImageReferences is answered (instances referencing an image).
    pub image_references: bool,
    /// Recycle Bin's ListRules is answered (none in the fixture's region).
    pub recycle_bin: bool,
    /// DescribeSnapshots with `restorable-by-user-ids: all` answers the caller's public
    /// snapshots.
    pub public_snapshots: bool,
    /// GetSnapshotBlockPublicAccessState is answered.
    pub snapshot_block_public_access: bool,
    /// DescribeLaunchTemplateVersions is answered (no templates in the fixture).
    pub launch_template_images: bool,
    /// CopyImage's `CopyImageTags` copies the source's tags (the request's win).
    pub copy_image_tags: bool,
    /// CopyImage refuses a `SnapshotCopyCompletionDurationMinutes` outside 15 to 2880 in
    /// steps of 15, and makes a copy with one inside.
    pub time_based_copy: bool,
    /// A launch sets the image's LastLaunchedTime at once (EC2 updates it within about a
    /// day, so this holds for the in-process cloud, not for AWS itself).
    pub last_launched: bool,
}

impl Capabilities {
    /// Everything EC2 does: the capabilities of AWS itself and of `amiref-memory` (but
    /// `script_completion` needs real images, `image_parameter_checks` is the in-process
    /// cloud's synchronous form of SSM's asynchronous check, and `last_launched` EC2's
    /// update of LastLaunchedTime within a day: switch them off against AWS).
    pub fn ec2() -> Self {
        Self {
            pagination: true,
            visibility: true,
            cross_account: true,
            deprecation: true,
            owner_aliases: true,
            marketplace_owner_alias: true,
            product_codes: true,
            pending_states: true,
            client_tokens: true,
            copy_tags: true,
            copy_refusals: true,
            name_uniqueness: true,
            launch_validation: true,
            block_public_access: true,
            marketplace: true,
            change_set_progress: true,
            snapshot_permissions: true,
            billing_details: true,
            allowed_images: true,
            seeded_offerings: true,
            public_parameter_images: true,
            instance_lifecycle: true,
            console_output: true,
            script_completion: true,
            image_ancestry: true,
            group_dependencies: true,
            network_validation: true,
            image_parameter_checks: true,
            parameter_version_limit: true,
            deregistration_protection: true,
            disable_image: true,
            image_references: true,
            recycle_bin: true,
            public_snapshots: true,
            snapshot_block_public_access: true,
            launch_template_images: true,
            copy_image_tags: true,
            time_based_copy: true,
            last_launched: true,
        }
    }

    /// What /work/shared/EMULATOR.md found moto 5.2.5's server to lack: no pagination, no
    /// visibility between accounts (every loaded image is visible, every account isolated),
    /// no deprecation, every loaded image aliased `amazon`, `aws-marketplace` always empty,
    /// product codes never reported, images available at once, client tokens and copy tags
    /// ignored, no copy refusals, no Marketplace Catalog, no GetAllowedImagesSettings (HTML
    /// 500), UsageOperation and PlatformDetails never returned. Its accounts are isolated
    /// and `MOTO_AMIS_PATH` cannot seed snapshot permissions; its instance type offerings
    /// are AWS's bundled data, not the fixture's; its public parameters name its default
    /// AMIs, which `MOTO_AMIS_PATH` may replace. It runs no user data (so no build script
    /// reports) and SSM's `aws:ec2:image` values are not checked. Name uniqueness, launch
    /// validation, block public access, instance lifecycle states, console output, image
    /// ancestry, group dependencies, network validation and the 100-version limit are
    /// assumed missing until checked against it. Of the governance calls, it answers
    /// DescribeImageReferences and EnableImageDeregistrationProtection with an HTML 500;
    /// DisableImage works; the rest are assumed missing until checked.
    pub fn moto() -> Self {
        Self {
            pagination: false,
            visibility: false,
            cross_account: false,
            deprecation: false,
            owner_aliases: false,
            marketplace_owner_alias: false,
            product_codes: false,
            pending_states: false,
            client_tokens: false,
            copy_tags: false,
            copy_refusals: false,
            name_uniqueness: false,
            launch_validation: false,
            block_public_access: false,
            marketplace: false,
            change_set_progress: false,
            snapshot_permissions: false,
            billing_details: false,
            allowed_images: false,
            seeded_offerings: false,
            public_parameter_images: false,
            instance_lifecycle: false,
            console_output: false,
            script_completion: false,
            image_ancestry: false,
            group_dependencies: false,
            network_validation: false,
            image_parameter_checks: false,
            parameter_version_limit: false,
            deregistration_protection: false,
            disable_image: true,
            image_references: false,
            recycle_bin: false,
            public_snapshots: false,
            snapshot_block_public_access: false,
            launch_template_images: false,
            copy_image_tags: false,
            time_based_copy: false,
            last_launched: false,
        }
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Self::ec2()
    }
}
