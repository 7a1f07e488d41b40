//! `amiref ami create|create-multi|copy|share|publish|deprecate|retire|protect|enable|
//! disable`: each a request to one session operation, its report printed. Every change is
//! audited by the session; every command has a dry run (retire is one unless `--execute`).

use amiref_session::{
    CommunityShareRequest, CopyRequest, CreateImageRequest, CreateMultiRequest, DeprecateRequest,
    Grantees, ImageRequest, ProtectRequest, ProtectionChange, PublishRequest, RetireRequest,
    Session, ShareRequest,
};
use clap::Subcommand;

use crate::lifecycle_args::{
    CopyArgs, CreateArgs, CreateMultiArgs, DeprecateArgs, ImageArgs, ProtectArgs, PublishArgs,
    RetireArgs, ShareArgs,
};
use crate::progress::Progress;
use crate::run::{Context, Failure};

/// Image lifecycle commands, flattened into the `ami` group.
#[derive(Debug, Subcommand)]
pub(crate) enum LifecycleCommand {
    /// Create an image from an instance, tagged with its template, and wait until available.
    Create(CreateArgs),
    /// Create an image from an instance, then copy it to other regions.
    CreateMulti(CreateMultiArgs),
    /// Copy an existing image to other regions (resumable; never duplicates a copy).
    Copy(CopyArgs),
    /// Share an image with accounts, organizations, OUs, everyone, or a community.
    Share(ShareArgs),
    /// Publish an image as a new version of an AWS Marketplace product.
    Publish(Box<PublishArgs>),
    /// Deprecate an image at a time, or undo its deprecation.
    Deprecate(DeprecateArgs),
    /// Retire old versions of a template's images under a retention policy: disable now,
    /// deregister after the grace period (a later run), never a protected or used image.
    Retire(RetireArgs),
    /// Turn an image's deregistration protection on (optionally with EC2's 24-hour
    /// cooldown) or off.
    Protect(ProtectArgs),
    /// Disable an image: no new launches, its launch permissions removed (reversible with
    /// `ami enable`).
    Disable(ImageArgs),
    /// Enable a disabled image again (private), cancelling a pending retirement.
    Enable(ImageArgs),
}

pub(crate) async fn run(cmd: LifecycleCommand, context: &Context) -> u8 {
    let printer = context.printer();
    match cmd {
        LifecycleCommand::Create(a) => {
            let made = context
                .with_session(async |s| {
                    let request = create_request(s, &a)?;
                    Ok(s.create_image(&request, &Progress::new(printer)).await?)
                })
                .await;
            context.print(made)
        }
        LifecycleCommand::CreateMulti(a) => {
            let made = context
                .with_session(async |s| {
                    let request = CreateMultiRequest::new(create_request(s, &a.create)?, a.regions)
                        .encryption(a.encryption.encryption());
                    Ok(s.create_multi(&request, &Progress::new(printer)).await?)
                })
                .await;
            context.print(made)
        }
        LifecycleCommand::Copy(a) => {
            let mut request = CopyRequest::new(a.image, a.to)
                .encryption(a.encryption.encryption())
                .dry_run(a.dry_run.dry_run);
            request.name = a.name;
            request.copy_image_tags = a.copy_tags;
            request.completion_duration = a.completion_minutes;
            let copied = context
                .with_session(async |s| Ok(s.copy_image(&request, &Progress::new(printer)).await?))
                .await;
            context.print(copied)
        }
        LifecycleCommand::Share(a) if a.community.is_some() => {
            let shared = context
                .with_session(async |s| {
                    let request = community_request(a);
                    Ok(s.share_with_community(&request, &Progress::new(printer))
                        .await?)
                })
                .await;
            context.print(shared)
        }
        LifecycleCommand::Share(a) => {
            let grantees = Grantees::new()
                .accounts(a.account)
                .organizations(a.org)
                .organizational_units(a.ou)
                .public(a.public);
            let request = if a.remove {
                ShareRequest::revoke(a.image, grantees)
            } else {
                ShareRequest::grant(a.image, grantees)
            }
            .snapshot_permissions(!a.no_snapshot_permission)
            .dry_run(a.dry_run.dry_run);
            let shared = context
                .with_session(async |s| {
                    Ok(s.share_image(&request, &Progress::new(printer)).await?)
                })
                .await;
            context.print(shared)
        }
        LifecycleCommand::Publish(a) => {
            let request = publish_request(*a);
            let published = context
                .with_session(async |s| {
                    Ok(s.publish_image(&request, &Progress::new(printer)).await?)
                })
                .await;
            context.print(published)
        }
        LifecycleCommand::Deprecate(a) => {
            let request = match a.at {
                Some(when) => DeprecateRequest::at(a.image, when),
                None => DeprecateRequest::undo(a.image),
            }
            .dry_run(a.dry_run.dry_run);
            let deprecated = context
                .with_session(async |s| Ok(s.deprecate_image(&request).await?))
                .await;
            context.print(deprecated)
        }
        LifecycleCommand::Retire(a) => {
            let mut request = RetireRequest::new(a.template, a.keep)
                .regions(a.regions)
                .execute(a.execute);
            request.max_age = a.max_age;
            request.exclude_tags = a.exclude_tag;
            request.protect = a.protect;
            request.force_shared = a.force_shared;
            request.keep_launched_within = a.keep_launched_within;
            request.grace = a.grace;
            let retired = context
                .with_session(async |s| {
                    Ok(s.retire_images(&request, &Progress::new(printer)).await?)
                })
                .await;
            context.print(retired)
        }
        LifecycleCommand::Protect(a) => {
            let change = if a.off {
                ProtectionChange::Off
            } else {
                ProtectionChange::On {
                    cooldown: a.cooldown,
                }
            };
            let request = ProtectRequest::new(image_request(a.target), change);
            let protected = context
                .with_session(async |s| Ok(s.protect_image(&request).await?))
                .await;
            context.print(protected)
        }
        LifecycleCommand::Disable(a) => {
            let request = image_request(a);
            let disabled = context
                .with_session(async |s| Ok(s.disable_image(&request).await?))
                .await;
            context.print(disabled)
        }
        LifecycleCommand::Enable(a) => {
            let request = image_request(a);
            let enabled = context
                .with_session(async |s| Ok(s.enable_image(&request).await?))
                .await;
            context.print(enabled)
        }
    }
}

fn image_request(a: ImageArgs) -> ImageRequest {
    ImageRequest::new(a.image).dry_run(a.dry_run.dry_run)
}

fn create_request(session: &Session, a: &CreateArgs) -> Result<CreateImageRequest, Failure> {
    let template = session.template(&a.template)?;
    let mut request = CreateImageRequest::new(template, a.instance.clone())
        .public(a.public)
        .no_reboot(a.no_reboot)
        .dry_run(a.dry_run.dry_run);
    if let Some(name) = &a.name {
        request = request.name(name);
    }
    Ok(request)
}

fn community_request(a: ShareArgs) -> CommunityShareRequest {
    let mut request = CommunityShareRequest::new(a.image, a.community.unwrap_or_default())
        .dry_run(a.dry_run.dry_run);
    request.template = a.entry.template;
    request.version = a.entry.version;
    request.description = a.entry.description;
    request.tested = a.entry.tested;
    request.security_scan = a.entry.scan.map(Into::into);
    request
}

fn publish_request(a: PublishArgs) -> PublishRequest {
    let mut request = PublishRequest::new(a.image).dry_run(a.dry_run.dry_run);
    request.price_usd_per_hour = a.price;
    request.version = a.version;
    request.wait = a.wait.map(amiref_template::HumanDuration::get);
    let profile = &mut request.overrides;
    profile.product_id = a.product;
    profile.offer_id = a.offer;
    profile.access_role_arn = a.access_role;
    profile.instance_types = a.instance_type;
    profile.release_notes = a.release_notes;
    request
}
