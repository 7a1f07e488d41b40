//! The session's operations one by one, on copies of the demo world, configuration and
//! registries: refusals that say what is missing, dry runs that change nothing, defaults
//! that never come from the demo files, and the world's state.

use crate::common;

use std::collections::BTreeMap;
use std::ffi::OsString;

use amiref_core::{AmiId, DeregistrationProtection, LaunchPermission};
use amiref_lifecycle::{ChangeOutcome, Decision, NoProgress, Protection};
use amiref_session::{
    CommunityShareRequest, CreateImageRequest, CreateMultiRequest, DeprecateRequest,
    DeprecationTime, FailureKind, Grantees, ImageRequest, InstanceRef, LaunchRequest, ListedImage,
    Policy, ProtectRequest, ProtectionChange, PublicOutcome, PublishRequest, RateRequest,
    RefusalReason, RetireRequest, Session, SessionError, ShareRequest,
};
use common::{Demo, builder_with};

/// Launches python-ml as `name` in the session's region.
async fn launch(session: &Session, name: &str) -> amiref_core::InstanceId {
    launch_template(session, "python-ml", name).await
}

async fn launch_template(session: &Session, template: &str, name: &str) -> amiref_core::InstanceId {
    let template = session.template(template).expect("a template");
    let plan = session
        .plan_launch(&LaunchRequest::new(template, name))
        .await
        .expect("a plan");
    session
        .launch(&plan, &Policy::default(), &NoProgress)
        .await
        .expect("launched")
        .instance
}

/// Launches an instance and images it as `image_name`.
async fn own_image(session: &Session, image_name: &str) -> AmiId {
    launch(session, "builder").await;
    image_of(session, "builder", image_name).await
}

async fn image_of(session: &Session, instance: &str, image_name: &str) -> AmiId {
    let template = session.template("python-ml").expect("python-ml");
    let request = CreateImageRequest::new(template, InstanceRef::parse(instance)).name(image_name);
    session
        .create_image(&request, &NoProgress)
        .await
        .expect("imaged")
        .created
        .image
        .expect("an image")
}

async fn permissions(session: &Session, image: &AmiId) -> Vec<LaunchPermission> {
    session
        .cloud()
        .launch_permissions(session.region(), image)
        .await
        .expect("permissions")
}

fn refusal(err: SessionError) -> Vec<RefusalReason> {
    match err {
        SessionError::CommunityShareRefused(r) => r.reasons,
        other => panic!("expected a community refusal, got {other}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_community_whose_registry_names_nobody_is_refused_and_nothing_changes() {
    let demo = Demo::new();
    demo.community_names_nobody();
    let session = demo.session().await;
    let image = own_image(&session, "Python ML v2.2.0").await;
    let before = std::fs::read(demo.path("registry/community.yml")).expect("the registry");

    let err = session
        .share_with_community(
            &CommunityShareRequest::new(image.clone(), "prism"),
            &NoProgress,
        )
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), FailureKind::Failed);
    assert!(err.to_string().contains("sharing:"), "{err}");
    let reasons = refusal(err);
    assert!(
        matches!(reasons.as_slice(), [RefusalReason::NoAudience { .. }]),
        "{reasons:?}"
    );
    assert_eq!(
        std::fs::read(demo.path("registry/community.yml")).expect("the registry"),
        before
    );
    assert!(permissions(&session, &image).await.is_empty());
    let audited = demo.audit_records();
    let last = audited.last().expect("a record");
    assert_eq!(last["operation"], "share_community");
    assert_eq!(last["outcome"]["status"], "refused");
}

#[tokio::test(start_paused = true)]
async fn a_community_refusal_names_everything_that_is_missing() {
    let demo = Demo::new();
    let session = demo.session().await;
    let missing: AmiId = "ami-0fffffffffffffff0".parse().expect("an id");
    let reasons = refusal(
        session
            .share_with_community(&CommunityShareRequest::new(missing, "nope"), &NoProgress)
            .await
            .expect_err("refused"),
    );
    assert!(
        matches!(reasons.as_slice(), [
            RefusalReason::UnknownCommunity { configured, config: Some(_) },
            RefusalReason::ImageNotFound,
        ] if configured == &["prism".to_owned()]),
        "{reasons:?}"
    );

    // An image amiref did not make: no template tag, no version.
    let amazon: AmiId = "ami-0a120239800000000".parse().expect("an id");
    let reasons = refusal(
        session
            .share_with_community(&CommunityShareRequest::new(amazon, "prism"), &NoProgress)
            .await
            .expect_err("refused"),
    );
    assert!(reasons.contains(&RefusalReason::NoTemplate), "{reasons:?}");
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_community_share_plans_the_grant_and_the_entry_and_does_neither() {
    let demo = Demo::new();
    demo.share_community_with_university();
    let session = demo.session().await;
    let image = own_image(&session, "Python ML v2.2.0").await;
    let before = std::fs::read(demo.path("registry/community.yml")).expect("the registry");
    let report = session
        .share_with_community(
            &CommunityShareRequest::new(image.clone(), "prism").dry_run(true),
            &NoProgress,
        )
        .await
        .expect("planned");
    assert!(!report.written && report.dry_run);
    assert_eq!(report.launch_permissions.changed.len(), 2);
    assert_eq!(
        std::fs::read(demo.path("registry/community.yml")).expect("the registry"),
        before
    );
    assert!(permissions(&session, &image).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn publishing_without_a_profile_names_every_missing_setting() {
    let demo = Demo::new();
    // The demo configuration without its publishing profile.
    let config = std::fs::read_to_string(demo.path("config/demo.yaml")).expect("the config");
    let cut = config.find("publishing:").expect("a publishing section");
    std::fs::write(demo.path("config/demo.yaml"), &config[..cut]).expect("written");
    let session = demo.session().await;
    let image = own_image(&session, "Python ML v2.2.0").await;
    let err = session
        .publish_image(&PublishRequest::new(image).price(0.05), &NoProgress)
        .await
        .expect_err("incomplete");
    assert_eq!(err.kind(), FailureKind::BadInput);
    match &err {
        SessionError::PublishingIncomplete { missing, config } => {
            assert_eq!(
                missing,
                &[
                    "product_id",
                    "access_role_arn",
                    "recommended_instance_type",
                    "offer_id",
                    "instance_types"
                ]
            );
            assert_eq!(
                config.as_deref(),
                Some(demo.path("config/demo.yaml").as_path())
            );
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("publishing.marketplace"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_bad_configuration_file_is_located() {
    let demo = Demo::new();
    let path = demo.path("config/bad.yaml");
    std::fs::write(
        &path,
        "region: us-east-1\nregistries: [a]\ncommunities:\n  prism: {registry: x}\n",
    )
    .expect("written");
    let mut vars = demo.vars();
    vars.insert("AMIREF_CONFIG".into(), path.clone().into_os_string());
    let err = amiref_session::SessionBuilder::from_vars(&|n| vars.get(n).cloned())
        .err()
        .expect("refused");
    assert_eq!(err.kind(), FailureKind::BadInput);
    let text = err.to_string();
    assert!(text.contains("bad.yaml:4:"), "{text}");
    assert!(text.contains("key"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn nothing_comes_from_the_demo_files_without_configuration() {
    let home = tempfile::tempdir().expect("home");
    let state = tempfile::tempdir().expect("state");
    let vars: BTreeMap<String, OsString> =
        BTreeMap::from([("HOME".to_owned(), home.path().as_os_str().to_owned())]);
    let session = builder_with(&vars)
        .with_world_file(common::examples().join("worlds/demo.yaml"))
        .with_state_dir(state.path())
        .build()
        .await
        .expect("a session");
    assert!(session.registry().is_none());
    let listing = session.list_images("python-ml").await;
    assert!(!listing.registries_configured);
    assert!(listing.regions.is_empty(), "{:?}", listing.regions);
    let err = session
        .verify_registries(None)
        .await
        .expect_err("nothing to verify");
    assert!(matches!(err, SessionError::NotConfigured { .. }), "{err}");
    assert!(session.template("python-ml").is_err());
}

#[tokio::test(start_paused = true)]
async fn instances_are_found_by_name_or_id_and_a_shared_name_is_refused() {
    let demo = Demo::new();
    let session = demo.session().await;
    // Names are tags: nothing keeps two instances from sharing one.
    let first = launch(&session, "twin").await;
    let second = launch_template(&session, "r-research", "twin").await;
    assert_ne!(first, second);
    let template = session.template("python-ml").expect("python-ml");
    let err = session
        .create_image(
            &CreateImageRequest::new(template.clone(), InstanceRef::parse("twin")),
            &NoProgress,
        )
        .await
        .expect_err("ambiguous");
    match &err {
        SessionError::InstanceAmbiguous { ids, .. } => {
            assert_eq!(ids.len(), 2);
            assert!(ids.contains(&first) && ids.contains(&second));
        }
        other => panic!("{other}"),
    }
    let err = session
        .create_image(
            &CreateImageRequest::new(template.clone(), InstanceRef::parse("nobody")),
            &NoProgress,
        )
        .await
        .expect_err("not found");
    assert_eq!(err.kind(), FailureKind::BadInput);
    let made = session
        .create_image(
            &CreateImageRequest::new(template, InstanceRef::Id(first.clone()))
                .dry_run(true)
                .public(true),
            &NoProgress,
        )
        .await
        .expect("a dry run by id");
    assert_eq!(made.instance.id, first);
    assert_eq!(made.created.name, "python-ml-2.1.0");
    assert_eq!(made.public, Some(PublicOutcome::Planned));
}

#[tokio::test(start_paused = true)]
async fn create_multi_makes_each_copy_public_and_reports_a_refusal() {
    let demo = Demo::new();
    let session = demo.session().await;
    launch(&session, "builder").await;
    let template = session.template("python-ml").expect("python-ml");
    let regions =
        amiref_session::check_regions(&["us-east-1,us-west-2,eu-west-2".to_owned()], "--regions")
            .expect("regions");
    let create = CreateImageRequest::new(template, InstanceRef::parse("builder")).public(true);
    let report = session
        .create_multi(&CreateMultiRequest::new(create, regions), &NoProgress)
        .await
        .expect("made");
    assert_eq!(report.public.len(), 3, "{:?}", report.public);
    let failed: Vec<&str> = report
        .public
        .iter()
        .filter_map(|p| match p {
            PublicOutcome::Failed { region, .. } => Some(region.as_str()),
            _ => None,
        })
        .collect();
    // Block public access for AMIs is on in eu-west-2 in the demo world.
    assert_eq!(failed, ["eu-west-2"]);
    assert!(!report.is_complete());
}

#[tokio::test(start_paused = true)]
async fn share_and_unshare_with_an_account() {
    let demo = Demo::new();
    let session = demo.session().await;
    let image = own_image(&session, "Python ML v2.2.0").await;
    let account: amiref_core::AccountId = "210987654321".parse().expect("an account");
    let grantees = Grantees::new().accounts([account.clone()]);
    let granted = session
        .share_image(
            &ShareRequest::grant(image.clone(), grantees.clone()),
            &NoProgress,
        )
        .await
        .expect("granted");
    assert_eq!(
        granted.changed,
        [LaunchPermission::Account(account.clone())]
    );
    assert_eq!(granted.snapshot_accounts, std::slice::from_ref(&account));
    assert_eq!(
        permissions(&session, &image).await,
        [LaunchPermission::Account(account)]
    );
    session
        .share_image(&ShareRequest::revoke(image.clone(), grantees), &NoProgress)
        .await
        .expect("revoked");
    assert!(permissions(&session, &image).await.is_empty());
    let err = session
        .share_image(
            &ShareRequest::grant(
                image,
                Grantees::new().organizations(["o-a1b2c3d4e5".to_owned()]),
            ),
            &NoProgress,
        )
        .await
        .expect_err("not an ARN");
    assert_eq!(err.kind(), FailureKind::BadInput);
}

#[tokio::test(start_paused = true)]
async fn a_relative_deprecation_time_is_from_the_worlds_now() {
    let demo = Demo::new();
    let session = demo.session().await;
    let image = own_image(&session, "Python ML v2.2.0").await;
    let when: DeprecationTime = "+30d".parse().expect("a time");
    let report = session
        .deprecate_image(&DeprecateRequest::at(image.clone(), when))
        .await
        .expect("deprecated");
    let expected = session.now() + chrono::Duration::days(30);
    let after = report.after.expect("a deprecation time");
    // EC2 keeps deprecation times to the minute.
    assert!(
        (after - expected).num_seconds().abs() < 60,
        "{after} vs {expected}"
    );
    let undone = session
        .deprecate_image(&DeprecateRequest::undo(image))
        .await
        .expect("undone");
    assert_eq!(undone.after, None);
}

#[tokio::test(start_paused = true)]
async fn retiring_keeps_the_newest_and_what_a_registry_names() {
    let demo = Demo::new();
    demo.share_community_with_university();
    let session = demo.session().await;
    launch(&session, "builder").await;
    let oldest = image_of(&session, "builder", "Python ML v2.2.0").await;
    let listed = image_of(&session, "builder", "Python ML v2.2.1").await;
    let newest = image_of(&session, "builder", "Python ML v2.2.2").await;
    session
        .share_with_community(
            &CommunityShareRequest::new(listed.clone(), "prism"),
            &NoProgress,
        )
        .await
        .expect("listed");
    let report = session
        .retire_images(&RetireRequest::new("python-ml", 1), &NoProgress)
        .await
        .expect("planned");
    assert!(!report.executed);
    let decision = |image: &AmiId| {
        report
            .entries
            .iter()
            .find(|e| &e.image == image)
            .map(|e| e.decision.clone())
            .expect("considered")
    };
    assert!(matches!(decision(&newest), Decision::Keep { .. }));
    // The first of two steps: disabled now, deregistered after the default grace.
    assert_eq!(
        decision(&oldest),
        Decision::Disable {
            retire_after: session.now() + chrono::Duration::days(14)
        }
    );
    match decision(&listed) {
        Decision::Protected { reasons } => assert!(
            reasons.iter().any(|r| matches!(r, Protection::InRegistry)),
            "{reasons:?}"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn retiring_takes_its_grace_from_the_request_else_the_configuration() {
    let demo = Demo::new();
    let config = demo.path("config/demo.yaml");
    let mut text = std::fs::read_to_string(&config).expect("the demo configuration");
    // Weeks, as the launcher's flags take them: one grammar of durations everywhere.
    text.push_str("\nretire:\n  grace: 0s\n  keep_launched_within: 1w\n");
    std::fs::write(&config, text).expect("written");
    let session = demo.session().await;
    launch(&session, "builder").await;
    let oldest = image_of(&session, "builder", "Python ML v2.2.0").await;
    image_of(&session, "builder", "Python ML v2.2.1").await;
    let oldest_decision = |report: &amiref_lifecycle::RetireReport| {
        report
            .entries
            .iter()
            .find(|e| e.image == oldest)
            .map(|e| e.decision.clone())
            .expect("considered")
    };
    // The configuration's zero grace deregisters at once.
    let configured = session
        .retire_images(&RetireRequest::new("python-ml", 1), &NoProgress)
        .await
        .expect("planned");
    assert_eq!(configured.grace_secs, 0);
    assert_eq!(oldest_decision(&configured), Decision::Retire);
    // The request's grace wins over it.
    let mut request = RetireRequest::new("python-ml", 1);
    request.grace = Some(chrono::Duration::days(3));
    let requested = session
        .retire_images(&request, &NoProgress)
        .await
        .expect("planned");
    assert_eq!(
        oldest_decision(&requested),
        Decision::Disable {
            retire_after: session.now() + chrono::Duration::days(3)
        }
    );
}

#[tokio::test(start_paused = true)]
async fn protect_disable_and_enable_act_once_then_report_unchanged() {
    let demo = Demo::new();
    let session = demo.session().await;
    let image = own_image(&session, "Python ML v2.2.0").await;
    let target = ImageRequest::new(image.clone());
    let protect = ProtectRequest::new(target.clone(), ProtectionChange::On { cooldown: true });
    let dry = session
        .protect_image(&ProtectRequest::new(
            target.clone().dry_run(true),
            ProtectionChange::On { cooldown: true },
        ))
        .await
        .expect("a dry run");
    assert_eq!(dry.outcome, ChangeOutcome::Planned);
    let on = session.protect_image(&protect).await.expect("protected");
    assert_eq!(on.outcome, ChangeOutcome::Changed);
    assert_eq!(
        on.after,
        Some(DeregistrationProtection::Enabled { cooldown: true })
    );
    let again = session.protect_image(&protect).await.expect("protected");
    assert_eq!(again.outcome, ChangeOutcome::Unchanged);
    let off = session
        .protect_image(&ProtectRequest::new(target.clone(), ProtectionChange::Off))
        .await
        .expect("unprotected");
    assert!(
        matches!(
            off.after,
            Some(DeregistrationProtection::CoolingDown { .. })
        ),
        "{off:?}"
    );
    let request = target;
    let disabled = session.disable_image(&request).await.expect("disabled");
    assert_eq!(disabled.outcome, ChangeOutcome::Changed);
    let disabled = session.disable_image(&request).await.expect("disabled");
    assert_eq!(disabled.outcome, ChangeOutcome::Unchanged);
    let enabled = session.enable_image(&request).await.expect("enabled");
    assert_eq!(enabled.outcome, ChangeOutcome::Changed);
    let operations: Vec<String> = demo
        .audit_records()
        .iter()
        .filter(|r| r["target"] == image.as_str())
        .filter_map(|r| r["operation"].as_str().map(str::to_owned))
        .collect();
    for operation in ["protect", "unprotect", "disable", "enable"] {
        assert!(
            operations.iter().any(|o| o == operation),
            "{operation} not audited: {operations:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn registries_verify_and_a_rating_ranks_in_the_listing() {
    let demo = Demo::new();
    let session = demo.session().await;
    let verified = session.verify_registries(None).await.expect("verified");
    assert!(verified.is_ok(), "{:?}", verified.refused);
    assert_eq!(verified.sources.len(), 2);
    assert!(
        verified
            .admitted
            .iter()
            .any(|e| e.template == "python-ml" && e.version == "v2.1.0")
    );

    let rated = session
        .rate_entry(&RateRequest::new("python-ml", "2.1.0", 5).review("fast"))
        .await
        .expect("rated");
    assert_eq!(rated.version, "v2.1.0");
    assert!(rated.file.starts_with(demo.path("home")));
    session.finish().await.expect("saved");

    // The next session reads the rating back into the entry's figures.
    let session = demo.session().await;
    let listing = session.list_images("python-ml").await;
    let local_reviews = listing
        .regions
        .iter()
        .flat_map(|r| &r.images)
        .find_map(|i| match i {
            ListedImage::Registry(r) if r.version == "v2.1.0" => {
                Some(r.ranked_by.score.rating.local_reviews)
            }
            _ => None,
        })
        .expect("v2.1.0 listed");
    assert_eq!(local_reviews, 1);
}

#[tokio::test(start_paused = true)]
async fn a_world_reset_starts_over_from_the_world_file() {
    let demo = Demo::new();
    let session = demo.session().await;
    let id = launch(&session, "my-research").await;
    session.finish().await.expect("saved");

    let session = demo.session().await;
    let shown = session.world_show().await.expect("shown").expect("a world");
    assert!(shown.saved);
    assert!(
        shown
            .regions
            .iter()
            .flat_map(|r| &r.instances)
            .any(|i| i.instance.id == id && i.instance.name.as_deref() == Some("my-research"))
    );
    drop(session);

    let reset = demo.builder().reset_world().await.expect("reset");
    assert!(reset.removed);
    let session = demo.session().await;
    let err = session
        .find_instance(session.region(), &InstanceRef::parse("my-research"))
        .await
        .expect_err("gone with the reset");
    assert!(
        matches!(err, SessionError::InstanceNotFound { .. }),
        "{err}"
    );
}

#[test]
fn the_configuration_file_is_found_where_the_documentation_says() {
    let xdg = tempfile::tempdir().expect("xdg");
    let dir = xdg.path().join("amiref");
    std::fs::create_dir_all(&dir).expect("a directory");
    std::fs::write(
        dir.join("config.yaml"),
        "region: eu-west-1\ntemplates: [t]\n",
    )
    .expect("written");
    let vars: BTreeMap<String, OsString> = BTreeMap::from([
        (
            "XDG_CONFIG_HOME".to_owned(),
            xdg.path().as_os_str().to_owned(),
        ),
        ("HOME".to_owned(), OsString::from("/nonexistent")),
    ]);
    let loaded =
        amiref_session::LoadedConfig::from_vars(&|n| vars.get(n).cloned()).expect("loaded");
    assert_eq!(
        loaded.path.as_deref(),
        Some(dir.join("config.yaml").as_path())
    );
    assert_eq!(loaded.config.region.as_deref(), Some("eu-west-1"));
    // Relative paths are the file's directory's.
    assert_eq!(loaded.config.templates, [dir.join("t")]);
    // A named file must exist; a default one may be missing.
    let named: BTreeMap<String, OsString> = BTreeMap::from([(
        "AMIREF_CONFIG".to_owned(),
        OsString::from("/nonexistent/c.yaml"),
    )]);
    assert!(amiref_session::LoadedConfig::from_vars(&|n| named.get(n).cloned()).is_err());
    let none: BTreeMap<String, OsString> =
        BTreeMap::from([("HOME".to_owned(), OsString::from("/nonexistent"))]);
    let empty = amiref_session::LoadedConfig::from_vars(&|n| none.get(n).cloned()).expect("empty");
    assert_eq!(empty, amiref_session::LoadedConfig::default());
}
