//! Sharing an image with a community: plan (checks, the signed entry, the launch
//! permissions the registry's sharing policy implies; nothing written), then apply.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::Path;

use amiref_core::{AccountId, Architecture, CallerIdentity, Image, ImageState, LaunchPermission};
use amiref_registry::{
    EntryChange, EntryPolicy, Layer, ParsedRegistry, PublisherKey, ScanStatus, ShareError,
    ShareRequest, community_registry_path,
};
use common::*;

const OWNER: &str = "111122223333";
const ORG: &str = "arn:aws:organizations::210987654321:organization/o-a1b2c3d4e5";
const OU: &str = "arn:aws:organizations::210987654321:ou/o-a1b2c3d4e5/ou-ab12-research";

fn account(id: &str) -> AccountId {
    AccountId::new(id).unwrap()
}

fn caller() -> CallerIdentity {
    CallerIdentity::new(account(OWNER), format!("arn:aws:iam::{OWNER}:user/alice"))
}

fn image(id: &str, region_code: &str, architecture: Architecture) -> Image {
    let mut image = Image::new(
        ami(id),
        region(region_code),
        "genomics-1.0.0",
        account(OWNER),
        architecture,
        now(),
    );
    image.description = Some("Genomics pipeline".into());
    image
}

/// The lab's x86_64 image `id` in `region_code`, shared as genomics `version`.
fn x86(id: &str, region_code: &str, version: &str, key: &PublisherKey) -> ShareRequest {
    request(image(id, region_code, Architecture::X86_64), version, key)
}

fn request(image: Image, version: &str, key: &PublisherKey) -> ShareRequest {
    ShareRequest::new(image, caller(), "genomics", version, key.clone())
        .tested(true)
        .security_scan(ScanStatus::Passed)
}

/// A registry file whose `sharing` names the lab's organization, an OU and two accounts
/// (one the owner's own).
fn registry_with_sharing(path: &Path) {
    std::fs::write(
        path,
        format!(
            "schema_version: 1\nsharing:\n  accounts: [\"{OWNER}\", \"444455556666\"]\n  \
             organizations: [{ORG}]\n  organizational_units: [{OU}]\n"
        ),
    )
    .unwrap();
}

#[test]
fn a_plan_writes_nothing_and_names_the_launch_permissions_the_registry_implies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yml");
    registry_with_sharing(&path);
    let before = std::fs::read(&path).unwrap();
    let k = key(1);
    let plan = x86("ami-0f00dfeed0000cafe", "us-east-1", "1.0.0", &k)
        .plan(&path)
        .unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "planning writes nothing"
    );
    let share = plan.share();
    assert_eq!(share.change, EntryChange::Created);
    assert_eq!(share.community, "lab");
    assert_eq!(share.entry.owner, Some(account(OWNER)));
    assert_eq!(share.entry.description, "Genomics pipeline");
    assert_eq!(
        share.launch_permissions().unwrap(),
        [
            LaunchPermission::Account(account("444455556666")),
            LaunchPermission::Organization(ORG.into()),
            LaunchPermission::OrganizationalUnit(OU.into()),
        ],
        "the owner's own account needs no permission"
    );
    let json = serde_json::to_value(share).unwrap();
    assert_eq!(json["launch_permissions"]["grant"][1]["organization"], ORG);

    let applied = plan.apply().unwrap();
    let parsed = ParsedRegistry::load_file(&path).unwrap();
    let reg = build(
        vec![(Layer::Community, parsed)],
        trust(&[&k]),
        EntryPolicy::new(),
    );
    assert!(
        reg.report().refused.is_empty(),
        "{:?}",
        reg.report().refused
    );
    assert_eq!(
        reg.report().not_shared,
        1,
        "shared with the organization only"
    );
    assert_eq!(applied.key_id, k.key_id());
}

#[test]
fn another_region_of_a_build_extends_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yml");
    let k = key(1);
    x86("ami-0f00dfeed0000cafe", "us-east-1", "v1.0.0", &k)
        .plan(&path)
        .unwrap()
        .apply()
        .unwrap();
    // The same version, spelled without the `v`: the entry the file has is extended.
    let second = x86("ami-0f00dfeed0000cafd", "eu-west-1", "1.0.0", &k)
        .plan(&path)
        .unwrap()
        .apply()
        .unwrap();
    assert_eq!(second.change, EntryChange::RegionAdded);
    assert_eq!(second.version, "v1.0.0");
    assert_eq!(second.entry.regions.len(), 2);
    let again = x86("ami-0f00dfeed0000cafd", "eu-west-1", "1.0.0", &k)
        .plan(&path)
        .unwrap();
    assert_eq!(
        again.share().change,
        EntryChange::RegionRewritten {
            previous: ami("ami-0f00dfeed0000cafd")
        }
    );
    // No sharing policy anywhere: a typed refusal says what is missing.
    let refusal = again.share().launch_permissions().unwrap_err();
    assert!(refusal.owner_only.is_none());
    assert!(
        refusal
            .to_string()
            .contains("defines no accounts, organizations or organizational units"),
        "{refusal}"
    );
    let parsed = ParsedRegistry::load_file(&path).unwrap();
    assert_eq!(parsed.document.entry_count(), 1);
}

#[test]
fn someone_elses_unavailable_or_other_architecture_images_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yml");
    let k = key(1);
    let mut theirs = image("ami-0123456789abcdef0", "us-east-1", Architecture::X86_64);
    theirs.owner = account("999988887777");
    let err = request(theirs, "1.0.0", &k).plan(&path).unwrap_err();
    assert!(matches!(err, ShareError::NotOwner { .. }), "{err}");
    assert!(err.to_string().contains("not by you"), "{err}");

    let mut pending = image("ami-0f00dfeed0000cafe", "us-east-1", Architecture::X86_64);
    pending.state = ImageState::Pending;
    let err = request(pending, "1.0.0", &k).plan(&path).unwrap_err();
    assert!(matches!(err, ShareError::NotAvailable { .. }), "{err}");

    x86("ami-0f00dfeed0000cafe", "us-east-1", "1.0.0", &k)
        .plan(&path)
        .unwrap()
        .apply()
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = request(
        image("ami-0f00dfeed0000cafd", "us-west-2", Architecture::Arm64),
        "1.0.0",
        &k,
    )
    .plan(&path)
    .unwrap_err();
    assert!(
        matches!(err, ShareError::ArchitectureMismatch { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("1.0.0+arm64"), "{err}");
    // Nor is a version another account's entry holds.
    let mut text = String::from_utf8(before.clone()).unwrap();
    text = text.replace(OWNER, "999988887777");
    std::fs::write(&path, &text).unwrap();
    let err = x86("ami-0f00dfeed0000cafd", "us-west-2", "1.0.0", &k)
        .plan(&path)
        .unwrap_err();
    assert!(matches!(err, ShareError::OwnedByAnother { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "nothing written"
    );
}

#[test]
fn an_entry_readers_would_refuse_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yml");
    let k = key(1);
    let img = || image("ami-0f00dfeed0000cafe", "us-east-1", Architecture::X86_64);
    let err = request(img(), "latest", &k).plan(&path).unwrap_err();
    assert!(matches!(err, ShareError::WouldBeRefused { .. }), "{err}");
    assert!(err.to_string().contains("semantic version"), "{err}");
    let err = request(img(), "1.0.0", &k)
        .security_scan(ScanStatus::Failed)
        .plan(&path)
        .unwrap_err();
    assert!(err.to_string().contains("security scan failed"), "{err}");
    assert!(!path.exists());
}

#[test]
fn a_registry_changed_since_the_plan_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yml");
    let k = key(1);
    let plan = x86("ami-0f00dfeed0000cafe", "us-east-1", "1.0.0", &k)
        .plan(&path)
        .unwrap();
    std::fs::write(&path, "schema_version: 1\n").unwrap();
    let err = plan.apply().unwrap_err();
    assert!(
        matches!(err, ShareError::ChangedSincePlanned { .. }),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "schema_version: 1\n"
    );
}

#[test]
fn a_community_name_is_a_yml_file_in_the_current_directory() {
    assert_eq!(community_registry_path("lab"), Path::new("lab.yml"));
    assert_eq!(community_registry_path("lab.yaml"), Path::new("lab.yaml"));
    assert_eq!(community_registry_path("dir/lab"), Path::new("dir/lab"));
}
