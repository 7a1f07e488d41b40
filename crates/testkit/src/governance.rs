//! The `ImageGovernance` suite: deregistration protection (and its cooldown), disabling and
//! enabling, DeleteTags, image references, the Recycle Bin's rules, public snapshots and
//! snapshot block public access, launch template images, CopyImage's source tags and
//! time-based copies, and LastLaunchedTime. It makes images of its own (copies of the
//! caller's fixture image, named after the run) and launches, so it takes a whole
//! `&dyn Cloud`.

use std::collections::BTreeMap;
use std::time::Duration;

use amiref_core::{
    AmiId, Cloud, CloudErrorKind, CopyImageRequest, DeregistrationProtection, Image, ImageFilter,
    ImageState, InstanceId, Owner, ReferenceKind, SnapshotBlockPublicAccess,
};

use crate::fixture::keys::*;
use crate::report::{Failure, ensure, expect_kind};
use crate::waiting::{launch_request, until};
use crate::{Capabilities, Fixture, Report};

/// How long a fresh copy may take to become available.
const COPY_DEADLINE: Duration = Duration::from_secs(60 * 60);

/// The caller's own images in the fixture's region, disabled ones included, in any state.
async fn own_image(cloud: &dyn Cloud, fixture: &Fixture, id: &AmiId) -> Result<Image, Failure> {
    let filter = ImageFilter::owned_by([Owner::Me])
        .include_disabled(true)
        .include_deprecated(true)
        .states([
            ImageState::Available,
            ImageState::Pending,
            ImageState::Disabled,
        ]);
    cloud
        .search_images(&fixture.region, &filter)
        .await?
        .into_iter()
        .find(|i| i.id == *id)
        .ok_or_else(|| Failure(format!("{id} is not among the caller's images")))
}

fn copy_request(fixture: &Fixture, what: &str) -> Result<CopyImageRequest, Failure> {
    let name = fixture.unique_name(what);
    let mut request = CopyImageRequest::new(
        fixture.region.clone(),
        fixture.id(MINE_X86)?,
        fixture.region.clone(),
        name.clone(),
        name,
    );
    request.tags = BTreeMap::from([("amiref:conformance".to_owned(), fixture.run_id.clone())]);
    Ok(request)
}

/// A copy of `request`'s source, once it is available.
async fn available_copy(
    cloud: &dyn Cloud,
    fixture: &Fixture,
    request: &CopyImageRequest,
) -> Result<AmiId, Failure> {
    let copy = cloud.copy_image(request).await?;
    until(&format!("{copy} becoming available"), COPY_DEADLINE, || {
        let copy = copy.clone();
        async move {
            let image = own_image(cloud, fixture, &copy).await?;
            Ok(image.is_available().then_some(()))
        }
    })
    .await?;
    Ok(copy)
}

/// A fresh image of the caller's own, available, to change.
async fn fresh_image(cloud: &dyn Cloud, fixture: &Fixture, what: &str) -> Result<AmiId, Failure> {
    available_copy(cloud, fixture, &copy_request(fixture, what)?).await
}

async fn protection_of(
    cloud: &dyn Cloud,
    fixture: &Fixture,
    id: &AmiId,
) -> Result<Option<DeregistrationProtection>, Failure> {
    Ok(own_image(cloud, fixture, id)
        .await?
        .deregistration_protection)
}

async fn launch_from(
    cloud: &dyn Cloud,
    fixture: &Fixture,
    image: &AmiId,
) -> Result<InstanceId, Failure> {
    let mut request = launch_request(fixture)?;
    request.image = image.clone();
    Ok(cloud.run_instance(&fixture.region, &request).await?)
}

/// Runs every governance check against `cloud`, seeded with `fixture`.
pub async fn run(cloud: &dyn Cloud, fixture: &Fixture, caps: &Capabilities) -> Report {
    let mut r = Report::new("governance");
    let region = &fixture.region;

    r.check_if(
        caps.deregistration_protection,
        "deregistration_protection",
        "protection_refuses_deregistration_until_turned_off",
        async {
            let image = fresh_image(cloud, fixture, "protected").await?;
            cloud
                .enable_deregistration_protection(region, &image, false)
                .await?;
            let on = protection_of(cloud, fixture, &image).await?;
            ensure!(
                on == Some(DeregistrationProtection::Enabled { cooldown: false }),
                "protection reads {on:?} after enabling it without cooldown"
            );
            expect_kind(
                cloud.deregister_image(region, &image, true).await,
                CloudErrorKind::NotPermitted,
                "deregistering a protected image",
            )?;
            cloud
                .disable_deregistration_protection(region, &image)
                .await?;
            let off = protection_of(cloud, fixture, &image).await?;
            ensure!(
                matches!(off, None | Some(DeregistrationProtection::Disabled)),
                "protection reads {off:?} after turning it off"
            );
            cloud.deregister_image(region, &image, true).await?;
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.deregistration_protection,
        "deregistration_protection",
        "protection_with_cooldown_outlasts_turning_it_off",
        async {
            let image = fresh_image(cloud, fixture, "cooldown").await?;
            cloud
                .enable_deregistration_protection(region, &image, true)
                .await?;
            cloud
                .disable_deregistration_protection(region, &image)
                .await?;
            let cooling = protection_of(cloud, fixture, &image).await?;
            ensure!(
                matches!(cooling, Some(DeregistrationProtection::CoolingDown { .. })),
                "protection reads {cooling:?} right after turning off a protection with cooldown"
            );
            expect_kind(
                cloud.deregister_image(region, &image, true).await,
                CloudErrorKind::NotPermitted,
                "deregistering an image whose protection is cooling down",
            )
        },
    )
    .await;

    r.check_if(
        caps.disable_image,
        "disable_image",
        "a_disabled_image_is_hidden_private_and_not_launchable",
        async {
            let image = fresh_image(cloud, fixture, "disabled").await?;
            let partner = amiref_core::LaunchPermission::Account(fixture.partner.clone());
            cloud
                .add_launch_permissions(region, &image, std::slice::from_ref(&partner))
                .await?;
            cloud.disable_image(region, &image).await?;
            let listed = cloud
                .search_images(region, &ImageFilter::owned_by([Owner::Me]))
                .await?;
            ensure!(
                listed.iter().all(|i| i.id != image),
                "a disabled image is listed without include_disabled"
            );
            let described = cloud
                .describe_images(region, std::slice::from_ref(&image))
                .await?;
            ensure!(
                described.is_empty(),
                "a disabled image is described by id without IncludeDisabled: {described:?}"
            );
            let got = own_image(cloud, fixture, &image).await?;
            ensure!(
                got.state == ImageState::Disabled,
                "the image is {} after DisableImage",
                got.state
            );
            let permissions = cloud.launch_permissions(region, &image).await?;
            ensure!(
                permissions.is_empty(),
                "a disabled image keeps launch permissions {permissions:?}"
            );
            ensure!(
                launch_from(cloud, fixture, &image).await.is_err(),
                "a disabled image launched"
            );
            cloud.enable_image(region, &image).await?;
            let back = own_image(cloud, fixture, &image).await?;
            ensure!(
                back.state == ImageState::Available,
                "the image is {} after EnableImage",
                back.state
            );
            let permissions = cloud.launch_permissions(region, &image).await?;
            ensure!(
                permissions.is_empty(),
                "enabling restored launch permissions {permissions:?}"
            );
            cloud.deregister_image(region, &image, true).await?;
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.disable_image && caps.visibility,
        "disable_image",
        "only_the_owner_disables_an_image",
        async {
            expect_kind(
                cloud
                    .disable_image(region, &fixture.id(SHARED_WITH_ME)?)
                    .await,
                CloudErrorKind::AccessDenied,
                "disabling an image shared with the caller",
            )?;
            expect_kind(
                cloud.disable_image(region, &fixture.missing_image).await,
                CloudErrorKind::NotFound,
                "disabling a missing image",
            )
        },
    )
    .await;

    r.check("tags_are_deleted", async {
        let image = fresh_image(cloud, fixture, "untagged").await?;
        let tags = BTreeMap::from([
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ]);
        cloud.create_tags(region, &image, &tags).await?;
        let keys = ["a".to_owned(), "never-set".to_owned()];
        cloud.delete_tags(region, &image, &keys).await?;
        let got = own_image(cloud, fixture, &image).await?;
        ensure!(
            got.tag("a").is_none(),
            "tag a survived DeleteTags: {:?}",
            got.tags
        );
        ensure!(got.tag("b") == Some("2"), "tag b was lost: {:?}", got.tags);
        cloud.deregister_image(region, &image, true).await?;
        Ok(())
    })
    .await;

    r.check_if(
        caps.image_references,
        "image_references",
        "references_name_the_callers_instances",
        async {
            let image = fixture.id(MINE_X86)?;
            let instance = launch_from(cloud, fixture, &image).await?;
            let refs = cloud
                .image_references(region, &[image.clone(), fixture.missing_image.clone()])
                .await?;
            let found = refs.iter().any(|r| {
                r.image == image
                    && r.kind == ReferenceKind::Instance
                    && r.arn.ends_with(&format!("instance/{instance}"))
            });
            ensure!(found, "no reference of {image} by {instance}: {refs:?}");
            ensure!(
                refs.iter().all(|r| r.image != fixture.missing_image),
                "a missing image is referenced: {refs:?}"
            );
            let none = cloud.image_references(region, &[]).await?;
            ensure!(none.is_empty(), "asking for nothing answered {none:?}");
            cloud.terminate_instances(region, &[instance]).await?;
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.recycle_bin,
        "recycle_bin",
        "the_fixture_region_has_no_recycle_bin_rules",
        async {
            let rules = cloud.recycle_bin_rules(region).await?;
            ensure!(rules.is_empty(), "rules in the fixture's region: {rules:?}");
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.public_snapshots,
        "public_snapshots",
        "private_snapshots_are_not_public",
        async {
            let public = cloud.public_snapshots(region).await?;
            let described = cloud
                .describe_images(region, &[fixture.id(MINE_X86)?, fixture.id(MINE_ARM)?])
                .await?;
            let leaked: Vec<_> = described
                .iter()
                .flat_map(|i| i.snapshot_ids())
                .filter(|s| public.contains(*s))
                .collect();
            ensure!(
                !described.is_empty() && leaked.is_empty(),
                "the caller's private snapshots answered public: {leaked:?}"
            );
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.snapshot_block_public_access,
        "snapshot_block_public_access",
        "snapshot_block_public_access_defaults_to_unblocked",
        async {
            let got = cloud.snapshot_block_public_access(region).await?;
            ensure!(
                got == SnapshotBlockPublicAccess::Unblocked,
                "the fixture region's snapshot block public access is {got:?}"
            );
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.launch_template_images,
        "launch_template_images",
        "the_fixture_has_no_launch_templates",
        async {
            let versions = cloud.launch_template_images(region).await?;
            ensure!(
                versions.is_empty(),
                "launch templates answered: {versions:?}"
            );
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.copy_image_tags,
        "copy_image_tags",
        "copies_take_the_sources_tags_under_the_requests",
        async {
            let source = fresh_image(cloud, fixture, "tagged-source").await?;
            let tags = BTreeMap::from([
                ("origin".to_owned(), "source".to_owned()),
                ("shared".to_owned(), "source".to_owned()),
            ]);
            cloud.create_tags(region, &source, &tags).await?;
            let mut request = copy_request(fixture, "tagged-copy")?;
            request.source_image = source.clone();
            request.copy_image_tags = true;
            request
                .tags
                .insert("shared".to_owned(), "request".to_owned());
            let copy = available_copy(cloud, fixture, &request).await?;
            let got = own_image(cloud, fixture, &copy).await?;
            ensure!(
                got.tag("origin") == Some("source") && got.tag("shared") == Some("request"),
                "the copy's tags are {:?}",
                got.tags
            );
            for id in [copy, source] {
                cloud.deregister_image(region, &id, true).await?;
            }
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.time_based_copy,
        "time_based_copy",
        "completion_durations_are_checked",
        async {
            for minutes in [10, 20, 2895] {
                let mut request = copy_request(fixture, &format!("timed-{minutes}"))?;
                request.completion_duration_minutes = Some(minutes);
                expect_kind(
                    cloud.copy_image(&request).await,
                    CloudErrorKind::InvalidRequest,
                    &format!("a copy to complete in {minutes} minutes"),
                )?;
            }
            let mut request = copy_request(fixture, "timed-15")?;
            request.completion_duration_minutes = Some(15);
            let copy = available_copy(cloud, fixture, &request).await?;
            cloud.deregister_image(region, &copy, true).await?;
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.last_launched,
        "last_launched",
        "a_launch_sets_last_launched",
        async {
            let image = fresh_image(cloud, fixture, "launched").await?;
            let before = own_image(cloud, fixture, &image).await?.last_launched;
            ensure!(before.is_none(), "a fresh copy was launched at {before:?}");
            let instance = launch_from(cloud, fixture, &image).await?;
            let after = own_image(cloud, fixture, &image).await?.last_launched;
            ensure!(after.is_some(), "LastLaunchedTime not set by a launch");
            cloud.terminate_instances(region, &[instance]).await?;
            Ok(())
        },
    )
    .await;

    r
}
