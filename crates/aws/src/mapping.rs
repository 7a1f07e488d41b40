//! EC2's image record to amiref's [`Image`].
//!
//! EC2 answers with optional strings for nearly everything; amiref's record holds validated
//! values. An image that cannot be represented (an id or owner EC2 itself would not issue, a
//! missing creation date) is left out with a warning rather than failing a whole search over
//! thousands of public images.

use std::collections::BTreeMap;

use amiref_core::{
    AccountId, AmiId, Architecture, BlockDevice, DeregistrationProtection, Image, ImageState,
    ImdsSupport, LaunchPermission, ProductCode, ProductCodeType, Region, SnapshotId,
};
use aws_sdk_ec2::types as ec2;
use chrono::{DateTime, Utc};

/// Why an EC2 image could not become an amiref [`Image`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("image {image}: field {field} {problem}")]
pub(crate) struct MappingError {
    image: String,
    field: &'static str,
    problem: String,
}

fn problem(image: &str, field: &'static str, problem: impl Into<String>) -> MappingError {
    MappingError {
        image: image.to_owned(),
        field,
        problem: problem.into(),
    }
}

/// Parses one of EC2's timestamps (`2024-01-15T10:00:00.000Z`).
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// amiref's name for one of EC2's image states.
pub(crate) fn state_from_ec2(state: &ec2::ImageState) -> ImageState {
    match state {
        ec2::ImageState::Available => ImageState::Available,
        ec2::ImageState::Pending => ImageState::Pending,
        ec2::ImageState::Failed => ImageState::Failed,
        ec2::ImageState::Invalid => ImageState::Invalid,
        ec2::ImageState::Deregistered => ImageState::Deregistered,
        ec2::ImageState::Transient => ImageState::Transient,
        ec2::ImageState::Disabled => ImageState::Disabled,
        // `Error` and any state added to EC2 after this SDK was generated.
        _ => ImageState::Error,
    }
}

/// An image's deregistration protection as EC2 names it. A value this version does not know
/// is read as protected (enabled, without cooldown): assuming an image can be deregistered
/// when it cannot would make a retirement fail half way.
fn protection_from_ec2(image: &str, raw: &str) -> DeregistrationProtection {
    DeregistrationProtection::from_ec2(raw).unwrap_or_else(|| {
        tracing::debug!(
            image,
            value = raw,
            "unknown deregistration protection: read as enabled"
        );
        DeregistrationProtection::Enabled { cooldown: false }
    })
}

/// An image's IMDS support, or `None` for a value this version does not know.
fn imds_from_ec2(image: &str, raw: &ec2::ImdsSupportValues) -> Option<ImdsSupport> {
    match raw {
        ec2::ImdsSupportValues::V20 => Some(ImdsSupport::V2),
        other => {
            tracing::debug!(
                image,
                value = other.as_str(),
                "unknown IMDS support: left out"
            );
            None
        }
    }
}

/// Converts one EC2 image described in `region`.
pub(crate) fn image_from_ec2(region: &Region, image: &ec2::Image) -> Result<Image, MappingError> {
    let raw_id = image.image_id().unwrap_or_default();
    let id = AmiId::new(raw_id).map_err(|e| problem(raw_id, "ImageId", e.to_string()))?;
    let owner = AccountId::new(image.owner_id().unwrap_or_default())
        .map_err(|e| problem(raw_id, "OwnerId", e.to_string()))?;
    let arch_text = image.architecture().map(|a| a.as_str()).unwrap_or_default();
    let architecture: Architecture = arch_text
        .parse()
        .map_err(|e: amiref_core::ParseError| problem(raw_id, "Architecture", e.to_string()))?;
    let created_text = image
        .creation_date()
        .ok_or_else(|| problem(raw_id, "CreationDate", "is missing"))?;
    let creation_date = parse_time(created_text).ok_or_else(|| {
        problem(
            raw_id,
            "CreationDate",
            format!("{created_text:?} is not an RFC 3339 time"),
        )
    })?;
    let mut out = Image::new(
        id,
        region.clone(),
        image.name().unwrap_or_default(),
        owner,
        architecture,
        creation_date,
    );
    out.description = image.description().map(str::to_owned);
    out.owner_alias = image.image_owner_alias().map(str::to_owned);
    out.state = image
        .state()
        .map(state_from_ec2)
        .unwrap_or(ImageState::Error);
    out.deprecation_time = image.deprecation_time().and_then(parse_time);
    out.public = image.public().unwrap_or(false);
    out.usage_operation = image.usage_operation().map(str::to_owned);
    out.platform_details = image.platform_details().map(str::to_owned);
    out.image_allowed = image.image_allowed();
    out.deregistration_protection = image
        .deregistration_protection()
        .map(|raw| protection_from_ec2(raw_id, raw));
    out.imds_support = image
        .imds_support()
        .and_then(|raw| imds_from_ec2(raw_id, raw));
    out.tags = tags_from_ec2(image.tags());
    out.source_image = image
        .source_image_id()
        .map(|raw| AmiId::new(raw).map_err(|e| problem(raw_id, "SourceImageId", e.to_string())))
        .transpose()?;
    out.source_region = image
        .source_image_region()
        .map(|raw| {
            Region::new(raw).map_err(|e| problem(raw_id, "SourceImageRegion", e.to_string()))
        })
        .transpose()?;
    out.last_launched = image
        .last_launched_time()
        .map(|raw| {
            parse_time(raw).ok_or_else(|| {
                problem(
                    raw_id,
                    "LastLaunchedTime",
                    format!("{raw:?} is not an RFC 3339 time"),
                )
            })
        })
        .transpose()?;
    out.product_codes = image
        .product_codes()
        .iter()
        .filter_map(|p| {
            let code = p.product_code_id()?.to_owned();
            let kind = match p.product_code_type() {
                Some(ec2::ProductCodeValues::Devpay) => ProductCodeType::Devpay,
                _ => ProductCodeType::Marketplace,
            };
            Some(ProductCode { code, kind })
        })
        .collect();
    out.block_devices = image
        .block_device_mappings()
        .iter()
        .map(|m| {
            let ebs = m.ebs();
            BlockDevice {
                device_name: m.device_name().unwrap_or_default().to_owned(),
                snapshot_id: ebs
                    .and_then(|e| e.snapshot_id())
                    .and_then(|s| SnapshotId::new(s).ok()),
                volume_size_gib: ebs
                    .and_then(|e| e.volume_size())
                    .and_then(|s| u32::try_from(s).ok()),
                encrypted: ebs.and_then(|e| e.encrypted()).unwrap_or(false),
            }
        })
        .collect();
    Ok(out)
}

/// Converts EC2 images, leaving out (with a warning) those that cannot be represented.
pub(crate) fn images_from_ec2<'a>(
    region: &Region,
    images: impl IntoIterator<Item = &'a ec2::Image>,
) -> Vec<Image> {
    images
        .into_iter()
        .filter_map(|i| match image_from_ec2(region, i) {
            Ok(image) => Some(image),
            Err(e) => {
                tracing::warn!(region = %region, error = %e, "skipping an image EC2 described");
                None
            }
        })
        .collect()
}

/// EC2 tags as a map (a later duplicate key wins, as EC2 never sends one).
pub(crate) fn tags_from_ec2(tags: &[ec2::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// A map of tags as EC2 tags.
pub(crate) fn tags_to_ec2(tags: &BTreeMap<String, String>) -> Vec<ec2::Tag> {
    tags.iter()
        .map(|(k, v)| ec2::Tag::builder().key(k).value(v).build())
        .collect()
}

/// A launch permission as EC2 sends it.
pub(crate) fn permission_to_ec2(permission: &LaunchPermission) -> ec2::LaunchPermission {
    let b = ec2::LaunchPermission::builder();
    match permission {
        LaunchPermission::Public => b.group(ec2::PermissionGroup::All),
        LaunchPermission::Account(a) => b.user_id(a.as_str()),
        LaunchPermission::Organization(arn) => b.organization_arn(arn),
        LaunchPermission::OrganizationalUnit(arn) => b.organizational_unit_arn(arn),
        // LaunchPermission is non-exhaustive; a new kind must be mapped before it is sent.
        _ => b,
    }
    .build()
}

/// An EC2 launch permission as amiref's, or `None` for one amiref cannot name.
pub(crate) fn permission_from_ec2(permission: &ec2::LaunchPermission) -> Option<LaunchPermission> {
    if permission.group() == Some(&ec2::PermissionGroup::All) {
        return Some(LaunchPermission::Public);
    }
    if let Some(user) = permission.user_id() {
        return AccountId::new(user).ok().map(LaunchPermission::Account);
    }
    if let Some(org) = permission.organization_arn() {
        return Some(LaunchPermission::Organization(org.to_owned()));
    }
    permission
        .organizational_unit_arn()
        .map(|ou| LaunchPermission::OrganizationalUnit(ou.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> Region {
        "eu-west-1".parse().unwrap()
    }

    #[test]
    fn maps_every_fact() {
        let raw = ec2::Image::builder()
            .image_id("ami-0123456789abcdef0")
            .owner_id("123456789012")
            .name("cws-python-ml-2.1.0")
            .description("ML stack")
            .architecture(ec2::ArchitectureValues::Arm64)
            .creation_date("2024-01-15T10:00:00.000Z")
            .deprecation_time("2026-01-15T10:00:00.000Z")
            .state(ec2::ImageState::Pending)
            .public(true)
            .image_owner_alias("amazon")
            .usage_operation("RunInstances:0010")
            .platform_details("Red Hat Enterprise Linux")
            .image_allowed(false)
            .source_image_id("ami-0fedcba9876543210")
            .source_image_region("us-west-2")
            .last_launched_time("2026-11-30T08:15:00.000Z")
            .tags(ec2::Tag::builder().key("team").value("hpc").build())
            .product_codes(
                ec2::ProductCode::builder()
                    .product_code_id("abc123")
                    .product_code_type(ec2::ProductCodeValues::Marketplace)
                    .build(),
            )
            .block_device_mappings(
                ec2::BlockDeviceMapping::builder()
                    .device_name("/dev/xvda")
                    .ebs(
                        ec2::EbsBlockDevice::builder()
                            .snapshot_id("snap-0123456789abcdef0")
                            .volume_size(30)
                            .encrypted(true)
                            .build(),
                    )
                    .build(),
            )
            .build();
        let image = image_from_ec2(&region(), &raw).unwrap();
        assert_eq!(image.id.as_str(), "ami-0123456789abcdef0");
        assert_eq!(image.region, region());
        assert_eq!(image.architecture, Architecture::Arm64);
        assert_eq!(image.state, ImageState::Pending);
        assert_eq!(
            image.creation_date.to_rfc3339(),
            "2024-01-15T10:00:00+00:00"
        );
        assert!(image.deprecation_time.is_some());
        assert!(image.public);
        assert_eq!(image.owner_alias.as_deref(), Some("amazon"));
        assert_eq!(image.tag("team"), Some("hpc"));
        assert!(image.is_marketplace());
        assert_eq!(image.total_volume_size_gib(), 30);
        assert!(image.is_encrypted());
        assert_eq!(image.snapshot_ids().count(), 1);
        assert_eq!(image.usage_operation.as_deref(), Some("RunInstances:0010"));
        assert_eq!(
            image.platform_details.as_deref(),
            Some("Red Hat Enterprise Linux")
        );
        assert_eq!(image.image_allowed, Some(false));
        assert!(image.has_billing_product());
        assert_eq!(
            image.source_image.as_ref().map(AmiId::as_str),
            Some("ami-0fedcba9876543210")
        );
        assert_eq!(
            image.source_region.as_ref().map(Region::as_str),
            Some("us-west-2")
        );
        assert_eq!(
            image.last_launched.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-30T08:15:00+00:00")
        );
    }

    #[test]
    fn ancestry_and_launch_time_are_absent_where_ec2_is_silent_and_checked_where_it_speaks() {
        let base = || {
            ec2::Image::builder()
                .image_id("ami-0123456789abcdef0")
                .owner_id("123456789012")
                .architecture(ec2::ArchitectureValues::X8664)
                .creation_date("2024-01-15T10:00:00.000Z")
        };
        let image = image_from_ec2(&region(), &base().build()).unwrap();
        assert_eq!(
            (image.source_image, image.source_region, image.last_launched),
            (None, None, None)
        );
        for (raw, field) in [
            (
                base().source_image_id("not-an-ami").build(),
                "SourceImageId",
            ),
            (
                base().source_image_region("Mars").build(),
                "SourceImageRegion",
            ),
            (
                base().last_launched_time("yesterday").build(),
                "LastLaunchedTime",
            ),
        ] {
            let err = image_from_ec2(&region(), &raw).unwrap_err();
            assert!(err.to_string().contains(field), "{err}");
        }
    }

    #[test]
    fn unrepresentable_images_are_named_and_skipped() {
        let raw = ec2::Image::builder()
            .image_id("ami-0123456789abcdef0")
            .owner_id("123456789012")
            .architecture(ec2::ArchitectureValues::X8664)
            .build();
        let err = image_from_ec2(&region(), &raw).unwrap_err();
        assert!(err.to_string().contains("CreationDate"), "{err}");
        assert!(images_from_ec2(&region(), [&raw]).is_empty());
    }

    #[test]
    fn launch_permissions_round_trip() {
        for p in [
            LaunchPermission::Public,
            LaunchPermission::Account("123456789012".parse().unwrap()),
            LaunchPermission::Organization("arn:aws:organizations::1:organization/o-1".into()),
            LaunchPermission::OrganizationalUnit("arn:aws:organizations::1:ou/o-1/ou-1".into()),
        ] {
            assert_eq!(permission_from_ec2(&permission_to_ec2(&p)), Some(p));
        }
    }
}
