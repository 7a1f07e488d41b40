//! The standard image set every backend is seeded with before a suite runs, and its two
//! seed forms: an `amiref-memory` world (JSON, which is YAML) and moto's `MOTO_AMIS_PATH`
//! list.

use std::collections::BTreeMap;

use amiref_core::{
    AccountId, AllowedImagesSettings, AllowedImagesState, AmiId, Architecture, BlockDevice, Image,
    ImageCriterion, ImageState, InstanceType, LaunchPermission, MarketplaceProduct, Parameter,
    ParameterName, ProductCode, ProductCodeType, ProductVersion, Region, SnapshotId,
};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

/// The keys of the standard images, for [`Fixture::id`] and [`Fixture::image`].
pub mod keys {
    /// The community's python 2.1.0, x86_64, public.
    pub const PYTHON_210_X86: &str = "python-2.1.0-x86_64";
    /// The community's python 2.1.0, arm64, public.
    pub const PYTHON_210_ARM: &str = "python-2.1.0-arm64";
    /// The community's python 2.0.0, x86_64, public.
    pub const PYTHON_200_X86: &str = "python-2.0.0-x86_64";
    /// The community's python 1.0.0, x86_64, public, deprecated.
    pub const PYTHON_100_DEPRECATED: &str = "python-1.0.0-deprecated";
    /// The community's python 2.2.0, x86_64, public, pending (for ever).
    pub const PYTHON_220_PENDING: &str = "python-2.2.0-pending";
    /// A stranger's public look-alike, newer than the community's.
    pub const LOOKALIKE: &str = "lookalike-9.9.9";
    /// A stranger's private image.
    pub const STRANGER_PRIVATE: &str = "stranger-private";
    /// A partner's private image shared with the caller's account.
    pub const SHARED_WITH_ME: &str = "shared-with-me";
    /// A partner's encrypted image shared with the caller's account.
    pub const ENCRYPTED_SHARED: &str = "encrypted-shared";
    /// Amazon's base image (owner alias `amazon`).
    pub const AMAZON_BASE: &str = "amazon-base";
    /// A paid Marketplace image (owner alias `aws-marketplace`).
    pub const MARKETPLACE_PAID: &str = "marketplace-paid";
    /// The caller's own x86_64 image, private.
    pub const MINE_X86: &str = "mine-x86_64";
    /// The caller's own arm64 image, private.
    pub const MINE_ARM: &str = "mine-arm64";
    /// A partner's private image shared with the caller's account, without create-volume
    /// permission on its snapshot (so the caller may launch it but not copy it).
    pub const SHARED_NO_VOLUMES: &str = "shared-no-volumes";
    /// A partner's private image shared with the caller's account (and create-volume
    /// permission on its snapshot) that carries a billing product: Red Hat Enterprise
    /// Linux's usage operation and platform details.
    pub const SHARED_LICENSED: &str = "shared-licensed";
}

/// AWS's public parameter naming the newest Amazon Linux 2023 x86_64 image.
pub const AL2023_X86_PARAMETER: &str =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
/// The caller's own parameter naming the community's python 2.1.0 x86_64 image.
pub const OWN_PARAMETER: &str = "/fixture/python-ml/x86_64";
/// The SSM data type of an image parameter.
pub const IMAGE_DATA_TYPE: &str = "aws:ec2:image";
/// EC2's usage operation for Red Hat Enterprise Linux.
pub const RHEL_USAGE_OPERATION: &str = "RunInstances:0010";
/// EC2's platform details for Red Hat Enterprise Linux.
pub const RHEL_PLATFORM_DETAILS: &str = "Red Hat Enterprise Linux";

/// One image of the fixture, with what EC2 keeps beside it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FixtureImage {
    /// Its key (see [`keys`]).
    pub key: &'static str,
    /// The record, as the fixture's region describes it to its owner.
    pub image: Image,
    /// Who besides the owner may launch it.
    pub launch_permissions: Vec<LaunchPermission>,
    /// Whether it carries a paid Marketplace product code.
    pub paid: bool,
    /// The accounts with create-volume permission on its snapshots; `None` for the
    /// backend's default (the accounts it is shared with).
    pub volume_permissions: Option<Vec<AccountId>>,
    /// Whether it is one of the bulk images (for pagination).
    pub bulk: bool,
}

/// The standard image set: accounts, images in one region, a Marketplace product and
/// instance types. Every suite reads its expectations from here.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Fixture {
    /// The region the images live in.
    pub region: Region,
    /// The region copies go to.
    pub other_region: Region,
    /// The caller's account (moto's default, 123456789012).
    pub me: AccountId,
    /// The trusted community publisher.
    pub community: AccountId,
    /// A stranger who publishes look-alikes.
    pub stranger: AccountId,
    /// A partner who shares privately with the caller.
    pub partner: AccountId,
    /// Amazon's account (alias `amazon`).
    pub amazon: AccountId,
    /// AWS Marketplace's account (alias `aws-marketplace`).
    pub marketplace: AccountId,
    /// Every image, bulk ones last.
    pub images: Vec<FixtureImage>,
    /// Marketplace products.
    pub products: Vec<MarketplaceProduct>,
    /// Instance types offered in the region, with their architectures.
    pub instance_types: Vec<(InstanceType, Vec<Architecture>)>,
    /// An instance type offered in `region` but not in `other_region`.
    pub region_only_type: (InstanceType, Vec<Architecture>),
    /// An id no image has.
    pub missing_image: AmiId,
    /// An id no snapshot has.
    pub missing_snapshot: SnapshotId,
    /// The region whose Allowed AMIs setting is [`Fixture::allowed_images`] (every other
    /// region's is EC2's default, disabled). No image lives there, so the setting hides
    /// nothing the other suites look for.
    pub settings_region: Region,
    /// The Allowed AMIs setting of `settings_region`.
    pub allowed_images: AllowedImagesSettings,
    /// SSM parameters, per region: AWS's public ones (which a backend like moto serves
    /// itself) and the caller's own ([`Fixture::parameters_to_put`]).
    pub parameters: Vec<(Region, Parameter)>,
    /// A parameter name that exists nowhere.
    pub missing_parameter: ParameterName,
    /// The world's start (the in-process cloud's wall clock at seeding).
    pub start: DateTime<Utc>,
    /// A suffix for names and client tokens, so that runs against a shared backend do not
    /// collide.
    pub run_id: String,
}

/// The product code of the fixture's paid Marketplace image.
pub const PRODUCT_CODE: &str = "fixtureprodcode0001";

fn id(text: &str) -> AmiId {
    // The fixture's ids are literals checked by the fixture's own test.
    AmiId::new(text).unwrap_or_else(|e| unreachable!("fixture id {text}: {e}"))
}

fn account(text: &str) -> AccountId {
    AccountId::new(text).unwrap_or_else(|e| unreachable!("fixture account {text}: {e}"))
}

fn region(text: &str) -> Region {
    Region::new(text).unwrap_or_else(|e| unreachable!("fixture region {text}: {e}"))
}

fn parameter_name(text: &str) -> ParameterName {
    ParameterName::new(text).unwrap_or_else(|e| unreachable!("fixture parameter {text}: {e}"))
}

fn image_parameter(name: &str, image: &str, modified: DateTime<Utc>) -> Parameter {
    let mut p = Parameter::new(parameter_name(name), image);
    p.data_type = Some(IMAGE_DATA_TYPE.to_owned());
    p.last_modified = Some(modified);
    p
}

fn instance_type(text: &str) -> InstanceType {
    InstanceType::new(text).unwrap_or_else(|e| unreachable!("fixture type {text}: {e}"))
}

fn date(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

/// The standard fixture: fifteen images in `us-east-1`, copies to `us-west-2`.
pub fn standard() -> Fixture {
    let us_east_1 = region("us-east-1");
    let me = account("123456789012");
    let community = account("111122223333");
    let stranger = account("999988887777");
    let partner = account("444455556666");
    let amazon = account("137112412989");
    let marketplace = account("679593333241");
    let mut images = Vec::new();
    let mut add = |key: &'static str,
                   ami: &str,
                   name: &str,
                   owner: &AccountId,
                   arch: Architecture,
                   created: DateTime<Utc>,
                   public: bool,
                   tags: &[(&str, &str)]| {
        let mut image = Image::new(
            id(ami),
            us_east_1.clone(),
            name,
            owner.clone(),
            arch,
            created,
        );
        image.description = Some(format!("conformance fixture: {key}"));
        image.public = public;
        image.tags = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        image.block_devices.push(BlockDevice {
            device_name: "/dev/xvda".to_owned(),
            snapshot_id: None,
            volume_size_gib: Some(8),
            encrypted: false,
        });
        images.push(FixtureImage {
            key,
            launch_permissions: if public {
                vec![LaunchPermission::Public]
            } else {
                Vec::new()
            },
            image,
            paid: false,
            volume_permissions: None,
            bulk: false,
        });
    };
    use Architecture::{Arm64, X86_64};
    use keys::*;
    let py = |v: &'static str| [("App", "python"), ("Version", v)];
    add(
        PYTHON_210_X86,
        "ami-0f1a00000000000a1",
        "fixture-python-2.1.0-x86_64",
        &community,
        X86_64,
        date(2026, 10, 1),
        true,
        &py("v2.1.0"),
    );
    add(
        PYTHON_210_ARM,
        "ami-0f1a00000000000a2",
        "fixture-python-2.1.0-arm64",
        &community,
        Arm64,
        date(2026, 10, 1),
        true,
        &py("v2.1.0"),
    );
    add(
        PYTHON_200_X86,
        "ami-0f1a00000000000a3",
        "fixture-python-2.0.0-x86_64",
        &community,
        X86_64,
        date(2026, 6, 1),
        true,
        &py("v2.0.0"),
    );
    add(
        PYTHON_100_DEPRECATED,
        "ami-0f1a00000000000a4",
        "fixture-python-1.0.0-x86_64",
        &community,
        X86_64,
        date(2025, 1, 1),
        true,
        &py("v1.0.0"),
    );
    add(
        PYTHON_220_PENDING,
        "ami-0f1a00000000000a5",
        "fixture-python-2.2.0-x86_64",
        &community,
        X86_64,
        date(2026, 11, 1),
        true,
        &py("v2.2.0"),
    );
    add(
        LOOKALIKE,
        "ami-0f1a00000000000b1",
        "fixture-python-9.9.9-x86_64",
        &stranger,
        X86_64,
        date(2026, 11, 2),
        true,
        &py("v9.9.9"),
    );
    add(
        STRANGER_PRIVATE,
        "ami-0f1a00000000000b2",
        "fixture-stranger-private",
        &stranger,
        X86_64,
        date(2026, 5, 1),
        false,
        &[],
    );
    add(
        SHARED_WITH_ME,
        "ami-0f1a00000000000c1",
        "fixture-shared-with-me",
        &partner,
        X86_64,
        date(2026, 7, 1),
        false,
        &[("Team", "partner")],
    );
    add(
        ENCRYPTED_SHARED,
        "ami-0f1a00000000000c2",
        "fixture-encrypted-shared",
        &partner,
        X86_64,
        date(2026, 7, 2),
        false,
        &[("Team", "partner")],
    );
    add(
        AMAZON_BASE,
        "ami-0f1a00000000000d1",
        "fixture-al2023-base-x86_64",
        &amazon,
        X86_64,
        date(2026, 10, 20),
        true,
        &[],
    );
    add(
        MARKETPLACE_PAID,
        "ami-0f1a00000000000d2",
        "fixture-marketplace-1.0-x86_64",
        &marketplace,
        X86_64,
        date(2026, 9, 1),
        true,
        &[],
    );
    add(
        MINE_X86,
        "ami-0f1a00000000000e1",
        "fixture-mine-x86_64",
        &me,
        X86_64,
        date(2026, 8, 1),
        false,
        &[("Team", "research")],
    );
    add(
        MINE_ARM,
        "ami-0f1a00000000000e2",
        "fixture-mine-arm64",
        &me,
        Arm64,
        date(2026, 8, 1),
        false,
        &[("Team", "research")],
    );
    add(
        SHARED_NO_VOLUMES,
        "ami-0f1a00000000000c3",
        "fixture-partner-no-volumes-x86_64",
        &partner,
        X86_64,
        date(2026, 7, 3),
        false,
        &[("Team", "partner")],
    );
    add(
        SHARED_LICENSED,
        "ami-0f1a00000000000c4",
        "fixture-partner-rhel-x86_64",
        &partner,
        X86_64,
        date(2026, 7, 4),
        false,
        &[("Team", "partner")],
    );
    for fi in &mut images {
        match fi.key {
            SHARED_NO_VOLUMES => {
                fi.launch_permissions
                    .push(LaunchPermission::Account(me.clone()));
                fi.volume_permissions = Some(Vec::new());
            }
            SHARED_LICENSED => {
                fi.launch_permissions
                    .push(LaunchPermission::Account(me.clone()));
                fi.image.usage_operation = Some(RHEL_USAGE_OPERATION.to_owned());
                fi.image.platform_details = Some(RHEL_PLATFORM_DETAILS.to_owned());
            }
            PYTHON_100_DEPRECATED => fi.image.deprecation_time = Some(date(2026, 1, 1)),
            PYTHON_220_PENDING => fi.image.state = ImageState::Pending,
            SHARED_WITH_ME => fi
                .launch_permissions
                .push(LaunchPermission::Account(me.clone())),
            ENCRYPTED_SHARED => {
                fi.launch_permissions
                    .push(LaunchPermission::Account(me.clone()));
                for device in &mut fi.image.block_devices {
                    device.encrypted = true;
                }
            }
            AMAZON_BASE => fi.image.owner_alias = Some("amazon".to_owned()),
            MARKETPLACE_PAID => {
                fi.image.owner_alias = Some("aws-marketplace".to_owned());
                fi.image.product_codes.push(ProductCode {
                    code: PRODUCT_CODE.to_owned(),
                    kind: ProductCodeType::Marketplace,
                });
                fi.paid = true;
            }
            _ => {}
        }
    }
    let mut product = MarketplaceProduct::new(PRODUCT_CODE, "prod-fixture00001", "Fixture Product");
    let mut version = ProductVersion::new("1.0.0");
    version.release_date = Some(date(2026, 9, 1));
    version
        .images
        .insert(us_east_1.clone(), id("ami-0f1a00000000000d2"));
    product.versions.push(version);
    let mut amazon_only = ImageCriterion::default();
    amazon_only.image_providers = vec!["amazon".to_owned()];
    let mut community_python = ImageCriterion::default();
    community_python.image_providers = vec![community.as_str().to_owned()];
    community_python.image_names = vec!["fixture-python-*".to_owned()];
    community_python.maximum_days_since_created = Some(365);
    let parameters = vec![
        (
            us_east_1.clone(),
            image_parameter(
                AL2023_X86_PARAMETER,
                "ami-0f1a00000000000d1",
                date(2026, 10, 21),
            ),
        ),
        (
            us_east_1.clone(),
            image_parameter(OWN_PARAMETER, "ami-0f1a00000000000a1", date(2026, 10, 2)),
        ),
    ];
    Fixture {
        region: us_east_1,
        other_region: region("us-west-2"),
        me,
        community,
        stranger,
        partner,
        amazon,
        marketplace,
        images,
        products: vec![product],
        instance_types: vec![
            (instance_type("t3.micro"), vec![X86_64]),
            (instance_type("m6i.large"), vec![X86_64]),
            (instance_type("t4g.micro"), vec![Arm64]),
        ],
        region_only_type: (instance_type("p4d.24xlarge"), vec![X86_64]),
        missing_image: id("ami-0f1a000000000dead"),
        missing_snapshot: SnapshotId::new("snap-0f1a000000000dead")
            .unwrap_or_else(|e| unreachable!("fixture snapshot: {e}")),
        settings_region: region("eu-west-1"),
        allowed_images: AllowedImagesSettings::new(
            AllowedImagesState::AuditMode,
            vec![amazon_only, community_python],
        ),
        parameters,
        missing_parameter: parameter_name("/fixture/no-such-parameter"),
        start: date(2026, 11, 15),
        run_id: "run1".to_owned(),
    }
}

impl Fixture {
    /// Adds `count` public x86_64 images of the community's, named `fixture-bulk-NNNNN`, so
    /// that a search spans several pages (more than 1000 needs several).
    #[must_use]
    pub fn with_bulk(mut self, count: usize) -> Self {
        self.images.retain(|i| !i.bulk);
        for n in 0..count {
            let mut image = Image::new(
                id(&format!("ami-0b{n:015x}")),
                self.region.clone(),
                format!("fixture-bulk-{n:05}"),
                self.community.clone(),
                Architecture::X86_64,
                date(2026, 1, 1),
            );
            image.public = true;
            self.images.push(FixtureImage {
                key: "bulk",
                image,
                launch_permissions: vec![LaunchPermission::Public],
                paid: false,
                volume_permissions: None,
                bulk: true,
            });
        }
        self
    }

    /// Sets the suffix of names and client tokens (use a fresh one per run against a
    /// backend that keeps state between runs).
    #[must_use]
    pub fn with_run_id(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = run_id.into();
        self
    }

    /// How many bulk images were added.
    pub fn bulk_count(&self) -> usize {
        self.images.iter().filter(|i| i.bulk).count()
    }

    /// The image with this key (see [`keys`]).
    pub fn image(&self, key: &str) -> Option<&FixtureImage> {
        self.images.iter().find(|i| i.key == key && !i.bulk)
    }

    /// The id of the image with this key, or a check failure naming the missing key.
    pub fn id(&self, key: &str) -> Result<AmiId, crate::Failure> {
        self.image(key)
            .map(|i| i.image.id.clone())
            .ok_or_else(|| crate::Failure(format!("the fixture has no image {key:?}")))
    }

    /// The fixture as an `amiref-memory` world (docs/worlds.md), in JSON, which is YAML:
    /// `MemoryCloud::from_world_yaml(&fixture.world_json().to_string(), "fixture")`.
    pub fn world_json(&self) -> Value {
        let images: Vec<Value> = self
            .images
            .iter()
            .map(|fi| {
                let i = &fi.image;
                let shared: Vec<Value> = fi
                    .launch_permissions
                    .iter()
                    .filter_map(|p| match p {
                        LaunchPermission::Account(a) => Some(json!({ "account": a })),
                        LaunchPermission::Organization(o) => Some(json!({ "organization": o })),
                        LaunchPermission::OrganizationalUnit(ou) => Some(json!({ "ou": ou })),
                        _ => None,
                    })
                    .collect();
                let mut entry = json!({
                    "id": i.id,
                    "region": i.region,
                    "name": i.name,
                    "owner": i.owner,
                    "architecture": i.architecture.as_str(),
                    "created": i.creation_date,
                    "state": i.state.as_str(),
                    "public": fi.launch_permissions.contains(&LaunchPermission::Public),
                    "shared_with": shared,
                    "tags": i.tags,
                    "product_codes": i.product_codes.iter().map(|p| p.code.clone()).collect::<Vec<_>>(),
                    "paid": fi.paid,
                    "encrypted": i.is_encrypted(),
                });
                if let (Some(map), Some(d)) = (entry.as_object_mut(), &i.description) {
                    map.insert("description".into(), json!(d));
                }
                if let (Some(map), Some(d)) = (entry.as_object_mut(), &i.deprecation_time) {
                    map.insert("deprecation_time".into(), json!(d));
                }
                if let (Some(map), Some(gib)) = (entry.as_object_mut(), i.root_volume_size_gib()) {
                    map.insert("volume_gib".into(), json!(gib));
                }
                if let Some(map) = entry.as_object_mut() {
                    for (field, value) in [
                        ("usage_operation", &i.usage_operation),
                        ("platform_details", &i.platform_details),
                    ] {
                        if let Some(v) = value {
                            map.insert(field.into(), json!(v));
                        }
                    }
                    if let Some(accounts) = &fi.volume_permissions {
                        map.insert("volume_permissions".into(), json!(accounts));
                    }
                }
                entry
            })
            .collect();
        let products: Vec<Value> = self
            .products
            .iter()
            .map(|p| {
                json!({
                    "product_code": p.product_code,
                    "product_id": p.product_id,
                    "title": p.title,
                    "versions": p.versions.iter().map(|v| json!({
                        "version": v.version,
                        "released": v.release_date,
                        "images": v.images,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let mut types: Vec<Value> = self
            .instance_types
            .iter()
            .map(|(t, archs)| {
                json!({
                    "name": t,
                    "architectures": archs.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
                })
            })
            .collect();
        let (only, only_archs) = &self.region_only_type;
        types.push(json!({
            "name": only,
            "architectures": only_archs.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            "regions": [self.region],
        }));
        let mut parameters = serde_json::Map::new();
        for (region, p) in &self.parameters {
            let entry = parameters
                .entry(region.as_str().to_owned())
                .or_insert_with(|| json!({}));
            if let Some(map) = entry.as_object_mut() {
                map.insert(
                    p.name.as_str().to_owned(),
                    json!({
                        "value": p.value,
                        "data_type": p.data_type,
                        "version": p.version,
                        "last_modified": p.last_modified,
                    }),
                );
            }
        }
        let allowed = &self.allowed_images;
        json!({
            "description": "amiref-testkit conformance fixture",
            "start": self.start,
            "caller": self.me,
            "accounts": [
                { "id": self.amazon, "alias": "amazon" },
                { "id": self.marketplace, "alias": "aws-marketplace" },
            ],
            "regions": {
                self.region.as_str(): {},
                self.other_region.as_str(): {},
                self.settings_region.as_str(): {
                    "allowed_images": {
                        "state": allowed.state.as_str(),
                        "criteria": allowed.criteria,
                    },
                },
            },
            "instance_types": types,
            "images": images,
            "products": products,
            "parameters": parameters,
        })
    }

    /// The fixture as moto's `MOTO_AMIS_PATH` list: write it to a file and start
    /// `moto_server` with `MOTO_AMIS_PATH` pointing at it. moto loads the same list into
    /// every region (and gives every image the owner alias `amazon`); it takes no tags, so
    /// apply [`Fixture::tags_to_apply`] with CreateTags after start.
    pub fn moto_amis_json(&self) -> Value {
        Value::Array(
            self.images
                .iter()
                .map(|fi| {
                    let i = &fi.image;
                    json!({
                        "ami_id": i.id,
                        "name": i.name,
                        "description": i.description.clone().unwrap_or_default(),
                        "owner_id": i.owner,
                        "public": fi.launch_permissions.contains(&LaunchPermission::Public),
                        "virtualization_type": "hvm",
                        "architecture": i.architecture.as_str(),
                        "state": i.state.as_str(),
                        "creation_date": i.creation_date.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                        "image_type": "machine",
                        "hypervisor": "xen",
                        "root_device_name": "/dev/xvda",
                        "root_device_type": "ebs",
                        "sriov": "simple",
                        "product_codes": i.product_codes.iter().map(|p| p.code.clone()).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        )
    }

    /// The tags each image carries, for backends that must be tagged after seeding (moto).
    pub fn tags_to_apply(&self) -> Vec<(AmiId, BTreeMap<String, String>)> {
        self.images
            .iter()
            .filter(|fi| !fi.image.tags.is_empty())
            .map(|fi| (fi.image.id.clone(), fi.image.tags.clone()))
            .collect()
    }

    /// The parameters a backend must be given after it starts (SSM PutParameter, with
    /// `DataType` and `Overwrite`): the fixture's parameters except AWS's public ones
    /// (`/aws/...`), which SSM refuses to put and moto serves itself.
    pub fn parameters_to_put(&self) -> Vec<(Region, Parameter)> {
        self.parameters
            .iter()
            .filter(|(_, p)| !p.name.as_str().starts_with("/aws/"))
            .cloned()
            .collect()
    }

    /// The fixture's parameter of this name in `region`.
    pub fn parameter(&self, region: &Region, name: &str) -> Option<&Parameter> {
        self.parameters
            .iter()
            .find(|(r, p)| r == region && p.name.as_str() == name)
            .map(|(_, p)| p)
    }

    /// A name unique to this run, for what a suite creates.
    pub fn unique_name(&self, what: &str) -> String {
        format!("conformance-{}-{what}", self.run_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_fixture_is_consistent() {
        let f = standard().with_bulk(3);
        let mut ids: Vec<_> = f.images.iter().map(|i| &i.image.id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "ids are unique");
        assert_eq!(f.bulk_count(), 3);
        assert_eq!(f.with_bulk(2).bulk_count(), 2, "with_bulk replaces");
        let f = standard();
        for key in [keys::PYTHON_210_X86, keys::MARKETPLACE_PAID, keys::MINE_ARM] {
            assert!(f.id(key).is_ok(), "{key}");
        }
        let moto = f.moto_amis_json();
        assert_eq!(moto.as_array().map(Vec::len), Some(f.images.len()));
        assert_eq!(moto[0]["creation_date"], "2026-10-01T12:00:00.000Z");
        let world = f.world_json();
        assert_eq!(
            world["images"].as_array().map(Vec::len),
            Some(f.images.len())
        );
    }
}
