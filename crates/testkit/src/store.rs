//! The `ImageStore` suite: copy (idempotency, refusals, pending), create from an instance,
//! launch permissions, tags, deprecation, deregistration, usage. It reads results back
//! through the catalog and launches through the instances port, so it takes a whole
//! `&dyn Cloud`.

use std::collections::BTreeMap;

use amiref_core::{
    AccountId, AmiId, Cloud, CloudErrorKind, CopyImageRequest, CreateImageRequest, Image,
    ImageState, InstanceType, LaunchPermission, Region, RunInstanceRequest,
};
use chrono::{TimeZone, Utc};

use crate::fixture::keys::*;
use crate::report::{Failure, ensure, expect_kind};
use crate::{Capabilities, Fixture, Report};

async fn describe_one(
    cloud: &dyn Cloud,
    region: &Region,
    id: &AmiId,
) -> Result<Option<Image>, Failure> {
    Ok(cloud
        .describe_images(region, std::slice::from_ref(id))
        .await?
        .into_iter()
        .next())
}

fn copy_request(fixture: &Fixture, source: AmiId, what: &str) -> CopyImageRequest {
    let mut request = CopyImageRequest::new(
        fixture.region.clone(),
        source,
        fixture.other_region.clone(),
        fixture.unique_name(what),
        fixture.unique_name(what),
    );
    request.tags = BTreeMap::from([("amiref:conformance".to_owned(), fixture.run_id.clone())]);
    request
}

fn type_for(fixture: &Fixture, arch: amiref_core::Architecture) -> Result<InstanceType, Failure> {
    fixture
        .instance_types
        .iter()
        .find(|(_, archs)| archs.contains(&arch))
        .map(|(t, _)| t.clone())
        .ok_or_else(|| Failure(format!("the fixture has no instance type for {arch}")))
}

/// Whether `cloud`'s caller may create volumes from every one of `snapshots`.
async fn volumes_allowed(
    cloud: &dyn Cloud,
    region: &Region,
    snapshots: &[amiref_core::SnapshotId],
) -> Result<bool, Failure> {
    let got = cloud.can_create_volumes(region, snapshots).await?;
    Ok(snapshots.iter().all(|s| got.get(s) == Some(&true)))
}

/// Runs every store check against `cloud`, seeded with `fixture`.
pub async fn run(cloud: &dyn Cloud, fixture: &Fixture, caps: &Capabilities) -> Report {
    let mut r = Report::new("store");

    r.check("copy_lands_in_the_destination", async {
        let source = fixture.id(MINE_X86)?;
        let request = copy_request(fixture, source, "copy");
        let copy = cloud.copy_image(&request).await?;
        let image = describe_one(cloud, &fixture.other_region, &copy)
            .await?
            .ok_or_else(|| Failure(format!("the copy {copy} is not in the destination")))?;
        ensure!(
            image.owner == fixture.me,
            "the copy is owned by {}",
            image.owner
        );
        ensure!(
            image.name == request.name,
            "the copy is named {:?}",
            image.name
        );
        ensure!(
            image.architecture == amiref_core::Architecture::X86_64,
            "the copy's architecture is {}",
            image.architecture
        );
        ensure!(
            image.region == fixture.other_region,
            "the copy is in {}",
            image.region
        );
        if caps.pending_states {
            ensure!(
                image.state == ImageState::Pending,
                "a fresh copy is {}, expected pending",
                image.state
            );
        }
        if caps.copy_tags {
            ensure!(
                image.tag("amiref:conformance") == Some(fixture.run_id.as_str()),
                "the copy lacks the request's tags: {:?}",
                image.tags
            );
        }
        Ok(())
    })
    .await;

    r.check_if(
        caps.client_tokens,
        "client_tokens",
        "copy_is_idempotent_by_client_token",
        async {
            let request = copy_request(fixture, fixture.id(MINE_ARM)?, "idempotent");
            let first = cloud.copy_image(&request).await?;
            let second = cloud.copy_image(&request).await?;
            ensure!(
                first == second,
                "the same client token made two copies: {first} and {second}"
            );
            Ok(())
        },
    )
    .await;

    r.check("copy_of_a_missing_image_is_not_found", async {
        let request = copy_request(fixture, fixture.missing_image.clone(), "missing");
        expect_kind(
            cloud.copy_image(&request).await,
            CloudErrorKind::NotFound,
            "copying a missing image",
        )
    })
    .await;

    r.check_if(
        caps.copy_refusals,
        "copy_refusals",
        "copy_of_a_paid_marketplace_image_is_refused",
        async {
            let request = copy_request(fixture, fixture.id(MARKETPLACE_PAID)?, "paid");
            expect_kind(
                cloud.copy_image(&request).await,
                CloudErrorKind::NotPermitted,
                "copying a paid Marketplace image",
            )
        },
    )
    .await;

    r.check_if(
        caps.copy_refusals,
        "copy_refusals",
        "copy_of_an_encrypted_shared_image_is_refused",
        async {
            let request = copy_request(fixture, fixture.id(ENCRYPTED_SHARED)?, "encrypted");
            expect_kind(
                cloud.copy_image(&request).await,
                CloudErrorKind::NotPermitted,
                "copying an encrypted image shared from another account",
            )
        },
    )
    .await;

    r.check_if(
        caps.copy_refusals && caps.billing_details,
        if caps.copy_refusals {
            "billing_details"
        } else {
            "copy_refusals"
        },
        "copy_of_a_shared_billing_product_image_is_refused",
        async {
            let request = copy_request(fixture, fixture.id(SHARED_LICENSED)?, "licensed");
            expect_kind(
                cloud.copy_image(&request).await,
                CloudErrorKind::NotPermitted,
                "copying a RHEL image shared from another account",
            )
        },
    )
    .await;

    r.check_if(
        caps.copy_refusals && caps.snapshot_permissions,
        if caps.copy_refusals {
            "snapshot_permissions"
        } else {
            "copy_refusals"
        },
        "copy_without_volume_permission_is_refused",
        async {
            let request = copy_request(fixture, fixture.id(SHARED_NO_VOLUMES)?, "no-volumes");
            expect_kind(
                cloud.copy_image(&request).await,
                CloudErrorKind::AccessDenied,
                "copying a shared image without create-volume permission on its snapshot",
            )
        },
    )
    .await;

    r.check("copy_of_an_image_shared_with_me_is_mine", async {
        let request = copy_request(fixture, fixture.id(SHARED_WITH_ME)?, "shared");
        let copy = cloud.copy_image(&request).await?;
        let image = describe_one(cloud, &fixture.other_region, &copy)
            .await?
            .ok_or_else(|| Failure(format!("the copy {copy} is not described")))?;
        ensure!(
            image.owner == fixture.me,
            "the copy is owned by {}",
            image.owner
        );
        Ok(())
    })
    .await;

    r.check("launch_permissions_add_and_remove_are_idempotent", async {
        let image = fixture.id(MINE_X86)?;
        let region = &fixture.region;
        let grant = [
            LaunchPermission::Account(fixture.partner.clone()),
            LaunchPermission::Organization(
                "arn:aws:organizations::111122223333:organization/o-fixture0001".into(),
            ),
        ];
        cloud.add_launch_permissions(region, &image, &grant).await?;
        cloud.add_launch_permissions(region, &image, &grant).await?;
        let held = cloud.launch_permissions(region, &image).await?;
        for p in &grant {
            let count = held.iter().filter(|h| *h == p).count();
            ensure!(
                count == 1,
                "{p:?} held {count} times after two grants: {held:?}"
            );
        }
        cloud
            .remove_launch_permissions(region, &image, &grant)
            .await?;
        cloud
            .remove_launch_permissions(region, &image, &grant)
            .await?;
        let held = cloud.launch_permissions(region, &image).await?;
        ensure!(
            grant.iter().all(|p| !held.contains(p)),
            "permissions left after removal: {held:?}"
        );
        Ok(())
    })
    .await;

    r.check_if(
        caps.visibility,
        "visibility",
        "only_the_owner_may_share",
        async {
            let image = fixture.id(PYTHON_210_X86)?;
            let grant = [LaunchPermission::Account(fixture.partner.clone())];
            expect_kind(
                cloud
                    .add_launch_permissions(&fixture.region, &image, &grant)
                    .await,
                CloudErrorKind::AccessDenied,
                "sharing the community's image",
            )
        },
    )
    .await;

    r.check("tags_are_added", async {
        let image = fixture.id(MINE_ARM)?;
        let tags = BTreeMap::from([("conformance".to_owned(), fixture.run_id.clone())]);
        cloud.create_tags(&fixture.region, &image, &tags).await?;
        let got = describe_one(cloud, &fixture.region, &image)
            .await?
            .ok_or_else(|| Failure(format!("{image} vanished")))?;
        ensure!(
            got.tag("conformance") == Some(fixture.run_id.as_str()),
            "tags after CreateTags: {:?}",
            got.tags
        );
        ensure!(
            got.tag("Team") == Some("research"),
            "CreateTags removed existing tags: {:?}",
            got.tags
        );
        Ok(())
    })
    .await;

    r.check_if(
        caps.deprecation,
        "deprecation",
        "deprecation_is_set_and_cancelled",
        async {
            let image = fixture.id(MINE_X86)?;
            let at = Utc
                .with_ymd_and_hms(2099, 1, 1, 0, 0, 0)
                .single()
                .ok_or_else(|| Failure("bad date".into()))?;
            cloud
                .enable_deprecation(&fixture.region, &image, at)
                .await?;
            let got = describe_one(cloud, &fixture.region, &image)
                .await?
                .ok_or_else(|| Failure(format!("{image} vanished")))?;
            ensure!(
                got.deprecation_time == Some(at),
                "deprecation time {:?}, expected {at}",
                got.deprecation_time
            );
            cloud.disable_deprecation(&fixture.region, &image).await?;
            let got = describe_one(cloud, &fixture.region, &image)
                .await?
                .ok_or_else(|| Failure(format!("{image} vanished")))?;
            ensure!(
                got.deprecation_time.is_none(),
                "deprecation time {:?} after cancelling",
                got.deprecation_time
            );
            Ok(())
        },
    )
    .await;

    r.check("deregistered_images_are_gone", async {
        let request = copy_request(fixture, fixture.id(MINE_X86)?, "deregister");
        let copy = cloud.copy_image(&request).await?;
        cloud
            .deregister_image(&fixture.other_region, &copy, true)
            .await?;
        let got = describe_one(cloud, &fixture.other_region, &copy).await?;
        ensure!(
            got.is_none(),
            "a deregistered image is still described: {got:?}"
        );
        expect_kind(
            cloud
                .deregister_image(&fixture.region, &fixture.missing_image, false)
                .await,
            CloudErrorKind::NotFound,
            "deregistering a missing image",
        )
    })
    .await;

    r.check("create_image_from_an_instance", async {
        let source = fixture.id(MINE_ARM)?;
        let instance_type = type_for(fixture, amiref_core::Architecture::Arm64)?;
        let instance = cloud
            .run_instance(
                &fixture.region,
                &RunInstanceRequest::new(source.clone(), instance_type),
            )
            .await?;
        let usage = cloud.image_usage(&fixture.region, &source).await?;
        ensure!(
            usage.instances.contains(&instance),
            "image_usage of {source} misses {instance}: {usage:?}"
        );
        let request = CreateImageRequest::new(instance.clone(), fixture.unique_name("created"));
        let created = cloud.create_image(&fixture.region, &request).await?;
        let image = describe_one(cloud, &fixture.region, &created)
            .await?
            .ok_or_else(|| Failure(format!("the new image {created} is not described")))?;
        ensure!(
            image.architecture == amiref_core::Architecture::Arm64,
            "the image has architecture {}, the instance's is arm64",
            image.architecture
        );
        ensure!(image.owner == fixture.me, "owned by {}", image.owner);
        if caps.pending_states {
            ensure!(
                image.state == ImageState::Pending,
                "a new image is {}, expected pending",
                image.state
            );
        }
        if caps.name_uniqueness {
            let repeat = cloud.create_image(&fixture.region, &request).await;
            match repeat {
                Err(e) if e.kind == CloudErrorKind::InvalidRequest
                    && e.code.as_deref() == Some("InvalidAMIName.Duplicate") => {}
                other => {
                    return Err(Failure(format!(
                        "a second image named {:?}: expected InvalidAMIName.Duplicate, got {other:?}",
                        request.name
                    )));
                }
            }
        }
        Ok(())
    })
    .await;

    r.check_if(
        caps.block_public_access,
        "block_public_access",
        "block_public_access_is_reported",
        async {
            let on = cloud.image_block_public_access(&fixture.region).await?;
            ensure!(!on, "the fixture region reports block public access on");
            Ok(())
        },
    )
    .await;

    r
}

/// Checks sharing from both sides: `owner` (the fixture's caller) shares its image with
/// `other` (a handle calling as `other_account` on the same backend), which then sees it,
/// and stops seeing it when the permission is removed.
pub async fn run_sharing(
    owner: &dyn Cloud,
    other: &dyn Cloud,
    other_account: &AccountId,
    fixture: &Fixture,
    caps: &Capabilities,
) -> Report {
    let mut r = Report::new("store::sharing");
    r.check_if(
        caps.cross_account && caps.visibility,
        "cross_account",
        "sharing_makes_an_image_visible_to_the_account",
        async {
            let image = fixture.id(MINE_X86)?;
            let region = &fixture.region;
            let grant = [LaunchPermission::Account(other_account.clone())];
            let before = describe_one(other, region, &image).await?;
            ensure!(
                before.is_none(),
                "{other_account} sees a private image before sharing"
            );
            owner.add_launch_permissions(region, &image, &grant).await?;
            let shared = describe_one(other, region, &image).await?;
            ensure!(
                shared.is_some(),
                "{other_account} does not see the image shared with it"
            );
            owner
                .remove_launch_permissions(region, &image, &grant)
                .await?;
            let after = describe_one(other, region, &image).await?;
            ensure!(
                after.is_none(),
                "{other_account} still sees the image after unsharing"
            );
            Ok(())
        },
    )
    .await;
    r.check_if(
        caps.cross_account && caps.visibility && caps.snapshot_permissions,
        if caps.cross_account && caps.visibility {
            "snapshot_permissions"
        } else {
            "cross_account"
        },
        "snapshot_permission_lets_the_account_create_volumes",
        async {
            let image = fixture.id(MINE_X86)?;
            let region = &fixture.region;
            let snapshots: Vec<amiref_core::SnapshotId> = describe_one(owner, region, &image)
                .await?
                .ok_or_else(|| Failure(format!("{image} is not described to its owner")))?
                .snapshot_ids()
                .cloned()
                .collect();
            ensure!(!snapshots.is_empty(), "{image} reports no snapshot");
            let access = |cloud| volumes_allowed(cloud, region, &snapshots);
            ensure!(
                !access(other).await?,
                "{other_account} may create volumes from a private snapshot before any grant"
            );
            let accounts = std::slice::from_ref(other_account);
            owner
                .modify_snapshot_permissions(region, &snapshots, accounts, true)
                .await?;
            let granted = access(other).await?;
            owner
                .modify_snapshot_permissions(region, &snapshots, accounts, false)
                .await?;
            ensure!(
                granted,
                "{other_account} may not create volumes after the grant"
            );
            ensure!(
                !access(other).await?,
                "{other_account} may still create volumes after the revocation"
            );
            ensure!(access(owner).await?, "the owner may not create volumes");
            Ok(())
        },
    )
    .await;
    r.check_if(
        caps.cross_account && caps.visibility,
        "cross_account",
        "public_images_are_visible_to_everyone",
        async {
            let image = fixture.id(MINE_ARM)?;
            let region = &fixture.region;
            owner
                .add_launch_permissions(region, &image, &[LaunchPermission::Public])
                .await?;
            let seen = describe_one(other, region, &image).await?;
            owner
                .remove_launch_permissions(region, &image, &[LaunchPermission::Public])
                .await?;
            ensure!(
                seen.is_some_and(|i| i.public),
                "a public image is not seen as public"
            );
            Ok(())
        },
    )
    .await;
    r
}
