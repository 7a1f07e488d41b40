//! Each control on the in-process cloud: a world that breaks it, and one that does not.
//!
//! The baseline world passes every control; each test changes one fact and checks that the
//! control it feeds (and only that one) fails, or that the fact's remedy makes it pass.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use amiref_compliance::{
    CompliancePolicy, ComplianceReport, ControlId, Outcome, RegistryEntry, Resource, Scanner,
    Signing,
};
use amiref_core::{
    AccountId, AllowedImagesSettings, AllowedImagesState, AmiId, Architecture, CloudErrorKind,
    Image, ImageCriterion, ImageState, ImdsSupport, LaunchPermission, Owner, Region,
    SnapshotBlockPublicAccess,
};
use amiref_memory::{DEFAULT_CALLER, ImageSeed, InstanceSeed, MemoryCloud, MemoryCloudBuilder};
use amiref_strategies::TrustPolicy;
use chrono::{DateTime, Duration, TimeZone, Utc};

const STRANGER: &str = "999988887777";

fn region() -> Region {
    "us-east-1".parse().unwrap()
}

fn me() -> AccountId {
    AccountId::new(DEFAULT_CALLER).unwrap()
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

fn ami(n: u32) -> AmiId {
    format!("ami-{n:017x}").parse().unwrap()
}

/// An image that passes every control: named by the convention, young, tagged with its
/// template, IMDSv2 only.
fn good(n: u32) -> Image {
    let mut image = Image::new(
        ami(n),
        region(),
        format!("research-python-1.0.{n}"),
        me(),
        Architecture::X86_64,
        start() - Duration::days(10),
    );
    image.imds_support = Some(ImdsSupport::V2);
    image
        .tags
        .insert(amiref_compliance::TEMPLATE_TAG.into(), "python".into());
    image
}

/// An encrypted seed of `image`.
fn seed(image: Image) -> ImageSeed {
    ImageSeed::new(image).root_volume(8, true)
}

/// The baseline world around `seeds`: block public access on, Allowed AMIs enabled for
/// Amazon's images (what the default trust policy trusts besides the account itself), and
/// an instance of the first good image.
fn world(
    seeds: Vec<ImageSeed>,
    more: impl FnOnce(MemoryCloudBuilder) -> MemoryCloudBuilder,
) -> MemoryCloud {
    let amazon = ImageCriterion::default().with_providers(["amazon"]);
    let builder = MemoryCloud::builder()
        .start(start())
        .instance_type("t3.micro".parse().unwrap(), [Architecture::X86_64])
        .block_public_access(region())
        .allowed_images(
            region(),
            AllowedImagesSettings::new(AllowedImagesState::Enabled, vec![amazon]),
        )
        .images(seeds);
    more(builder).build().unwrap()
}

fn instance(n: u32, image: AmiId) -> InstanceSeed {
    InstanceSeed::new(
        format!("i-{n:017x}").parse().unwrap(),
        region(),
        image,
        "t3.micro".parse().unwrap(),
    )
}

fn policy() -> CompliancePolicy {
    let mut policy = CompliancePolicy::default();
    policy.naming_patterns = vec!["research-*".into()];
    policy
}

fn signed_entry() -> RegistryEntry {
    let signing = Signing::Signed {
        key: "ed25519:0123456789abcdef".into(),
        publisher: "stats@college.edu".into(),
    };
    RegistryEntry::new("python", "1.0.1", "registry.yml", signing).with_image(region(), ami(1))
}

async fn scan_with(
    cloud: &MemoryCloud,
    policy: CompliancePolicy,
    trust: TrustPolicy,
) -> ComplianceReport {
    Scanner::new(cloud, trust)
        .policy(policy)
        .registry(vec![signed_entry()])
        .now(cloud.now())
        .scan(&[region()])
        .await
}

async fn scan(cloud: &MemoryCloud) -> ComplianceReport {
    scan_with(cloud, policy(), TrustPolicy::default()).await
}

/// The controls with findings.
fn failing(report: &ComplianceReport) -> BTreeSet<ControlId> {
    report.findings.iter().map(|f| f.control).collect()
}

fn outcome(report: &ComplianceReport, control: ControlId) -> &Outcome {
    let summary = &report.controls[ControlId::ALL.iter().position(|c| *c == control).unwrap()];
    &summary.outcomes[0].outcome
}

fn only(control: ControlId) -> BTreeSet<ControlId> {
    [control].into()
}

fn baseline() -> MemoryCloud {
    world(vec![seed(good(1)), seed(good(2))], |b| {
        b.instance(instance(1, ami(1)))
    })
}

#[tokio::test(start_paused = true)]
async fn the_baseline_world_passes_every_control() {
    let report = scan(&baseline()).await;
    assert_eq!(report.findings, vec![], "{:#?}", report.findings);
    assert!(report.is_complete(), "{:?}", report.read_failures);
    for summary in &report.controls {
        for scope in &summary.outcomes {
            assert!(
                matches!(scope.outcome, Outcome::Passed { .. }),
                "{}: {:?}",
                summary.control.id,
                scope.outcome
            );
        }
    }
    assert_eq!(report.scanned[0].own_image_count, 2);
    assert_eq!(report.scanned[0].instance_count, 1);
    assert_eq!(report.account, Some(me()));
}

#[tokio::test(start_paused = true)]
async fn names_outside_the_convention_fail_cis_2_1_1_and_no_convention_is_not_configured() {
    let mut scratch = good(3);
    scratch.name = "scratch-build".into();
    let cloud = world(vec![seed(good(1)), seed(scratch)], |b| b);
    let report = scan(&cloud).await;
    assert_eq!(failing(&report), only(ControlId::NamingConvention));
    assert_eq!(
        report.findings[0].resource,
        Resource::Image(ami(3).to_string())
    );
    assert!(report.findings[0].evidence.contains("research-*"));

    let report = scan_with(&cloud, CompliancePolicy::default(), TrustPolicy::default()).await;
    assert!(report.findings.is_empty());
    assert!(matches!(
        outcome(&report, ControlId::NamingConvention),
        Outcome::NotConfigured { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn unencrypted_volumes_fail_cis_2_1_2_with_an_encrypted_copy_as_remedy() {
    let cloud = world(
        vec![seed(good(1)), ImageSeed::new(good(2)).root_volume(8, false)],
        |b| b,
    );
    let report = scan(&cloud).await;
    assert_eq!(failing(&report), only(ControlId::Encrypted));
    let command = report.findings[0].remedy.command.as_deref().unwrap();
    assert!(
        command.contains("ami copy") && command.contains("--encrypt"),
        "{command}"
    );
}

/// A stranger's public image, as a community publishes it.
fn strangers() -> ImageSeed {
    let mut image = good(9);
    image.owner = AccountId::new(STRANGER).unwrap();
    image.public = true;
    seed(image)
}

#[tokio::test(start_paused = true)]
async fn an_untrusted_owners_image_in_use_fails_cis_2_1_3_unless_trusted_or_vouched_for() {
    // Allowed AMIs lets the stranger's images be seen (and so the setting, too, disagrees
    // with the default trust policy).
    let criteria = ImageCriterion::default().with_providers(["amazon", STRANGER]);
    let cloud = world(vec![seed(good(1)), strangers()], |b| {
        b.instance(instance(2, ami(9))).allowed_images(
            region(),
            AllowedImagesSettings::new(AllowedImagesState::Enabled, vec![criteria]),
        )
    });
    let report = scan(&cloud).await;
    let both: BTreeSet<ControlId> = [ControlId::Approved, ControlId::AllowedAmis].into();
    assert_eq!(failing(&report), both);
    let finding = report
        .findings
        .iter()
        .find(|f| f.control == ControlId::Approved)
        .unwrap();
    assert!(finding.evidence.contains(STRANGER), "{}", finding.evidence);
    assert!(
        finding.evidence.contains("instance i-"),
        "{}",
        finding.evidence
    );
    assert_eq!(report.scanned[0].used_image_count, 1);

    let trusting =
        TrustPolicy::default().with_trusted(Owner::Account(AccountId::new(STRANGER).unwrap()));
    assert!(
        scan_with(&cloud, policy(), trusting)
            .await
            .findings
            .is_empty()
    );

    let vouched = RegistryEntry::new("python", "2.0.0", "registry.yml", signed_entry().signing)
        .with_image(region(), ami(9));
    let report = Scanner::new(&cloud, TrustPolicy::default())
        .policy(policy())
        .registry(vec![signed_entry(), vouched])
        .now(cloud.now())
        .scan(&[region()])
        .await;
    assert_eq!(failing(&report), only(ControlId::AllowedAmis));
}

#[tokio::test(start_paused = true)]
async fn images_older_than_the_maximum_age_fail_cis_2_1_4() {
    let mut old = good(2);
    old.creation_date = start() - Duration::days(200);
    let cloud = world(vec![seed(good(1)), seed(old)], |b| b);
    let report = scan(&cloud).await;
    assert_eq!(failing(&report), only(ControlId::MaximumAge));
    assert!(report.findings[0].evidence.contains("200 days"));
    assert!(
        report.findings[0]
            .remedy
            .command
            .as_deref()
            .unwrap()
            .contains("refresh python")
    );

    let mut lenient = policy();
    lenient.maximum_age_days = 365;
    assert!(
        scan_with(&cloud, lenient, TrustPolicy::default())
            .await
            .findings
            .is_empty()
    );
}

#[tokio::test(start_paused = true)]
async fn a_public_image_fails_cis_2_1_5_only() {
    let cloud = world(
        vec![
            seed(good(1)),
            seed(good(2)).launch_permission(LaunchPermission::Public),
        ],
        |b| b,
    );
    let report = scan(&cloud).await;
    assert_eq!(failing(&report), only(ControlId::NotPublic));
    let command = report.findings[0].remedy.command.as_deref().unwrap();
    assert!(command.ends_with("--public --remove"), "{command}");
    assert_eq!(
        report.findings[0].severity,
        amiref_compliance::Severity::Critical
    );
}

#[tokio::test(start_paused = true)]
async fn public_snapshots_fail_security_hub_ec2_1_unless_all_sharing_is_blocked() {
    let seeds = || vec![seed(good(1)), seed(good(2)).public_snapshots(true)];
    let report = scan(&world(seeds(), |b| b)).await;
    assert_eq!(failing(&report), only(ControlId::SnapshotsNotPublic));
    assert!(matches!(report.findings[0].resource, Resource::Snapshot(_)));
    assert!(report.findings[0].evidence.contains(&ami(2).to_string()));

    let blocked = world(seeds(), |b| {
        b.snapshot_block_public_access(region(), SnapshotBlockPublicAccess::BlockAllSharing)
    });
    assert!(scan(&blocked).await.findings.is_empty());
    let new_only = world(seeds(), |b| {
        b.snapshot_block_public_access(region(), SnapshotBlockPublicAccess::BlockNewSharing)
    });
    assert_eq!(
        failing(&scan(&new_only).await),
        only(ControlId::SnapshotsNotPublic)
    );
}

#[tokio::test(start_paused = true)]
async fn an_image_without_imds_v2_support_fails_the_imds_control() {
    let mut v1 = good(2);
    v1.imds_support = None;
    let report = scan(&world(vec![seed(good(1)), seed(v1)], |b| b)).await;
    assert_eq!(failing(&report), only(ControlId::ImdsV2));
}

#[tokio::test(start_paused = true)]
async fn a_region_without_block_public_access_for_amis_fails_it() {
    let amazon = ImageCriterion::default().with_providers(["amazon"]);
    let cloud = MemoryCloud::builder()
        .start(start())
        .allowed_images(
            region(),
            AllowedImagesSettings::new(AllowedImagesState::Enabled, vec![amazon]),
        )
        .image(seed(good(1)))
        .build()
        .unwrap();
    let report = scan(&cloud).await;
    assert_eq!(failing(&report), only(ControlId::BlockPublicAccess));
    assert!(matches!(
        report.findings[0].resource,
        Resource::AccountSetting(_)
    ));
}

#[tokio::test(start_paused = true)]
async fn allowed_amis_must_be_enabled_and_agree_with_the_trust_policy() {
    let settings = |state, providers: &[&str]| {
        let criterion = ImageCriterion::default().with_providers(providers.iter().copied());
        AllowedImagesSettings::new(state, vec![criterion])
    };
    let with = |s: AllowedImagesSettings| {
        MemoryCloud::builder()
            .start(start())
            .block_public_access(region())
            .allowed_images(region(), s)
            .image(seed(good(1)))
            .build()
            .unwrap()
    };
    let off = scan(&with(settings(AllowedImagesState::Disabled, &["amazon"]))).await;
    assert_eq!(failing(&off), only(ControlId::AllowedAmis));
    assert!(off.findings[0].evidence.contains("not enabled"));

    let audit = scan(&with(settings(AllowedImagesState::AuditMode, &["amazon"]))).await;
    assert_eq!(audit.findings.len(), 1);
    assert!(audit.findings[0].evidence.contains("audit mode"));

    // Marketplace allowed, which the trust policy does not trust; amazon, which it does,
    // not allowed.
    let wrong = scan(&with(settings(
        AllowedImagesState::Enabled,
        &["aws-marketplace"],
    )))
    .await;
    let evidence: Vec<&str> = wrong.findings.iter().map(|f| f.evidence.as_str()).collect();
    assert_eq!(evidence.len(), 2, "{evidence:?}");
    assert!(evidence.iter().any(|e| e.contains("aws-marketplace")));
    assert!(evidence.iter().any(|e| e.contains("trusts amazon")));
}

#[tokio::test(start_paused = true)]
async fn deprecated_or_disabled_images_in_use_fail_and_unused_ones_do_not() {
    let mut deprecated = good(2);
    deprecated.deprecation_time = Some(start() - Duration::days(1));
    let mut disabled = good(3);
    disabled.state = ImageState::Disabled;
    let unused = {
        let mut i = good(4);
        i.deprecation_time = Some(start() - Duration::days(1));
        i
    };
    let cloud = world(
        vec![
            seed(good(1)),
            seed(deprecated),
            seed(disabled),
            seed(unused),
        ],
        |b| {
            b.instance(instance(2, ami(2)))
                .launch_template(region(), me(), "web", ami(3))
        },
    );
    let report = scan(&cloud).await;
    assert_eq!(failing(&report), only(ControlId::DeprecatedInUse));
    let resources: Vec<&Resource> = report.findings.iter().map(|f| &f.resource).collect();
    assert_eq!(
        resources,
        [
            &Resource::Image(ami(2).to_string()),
            &Resource::Image(ami(3).to_string())
        ]
    );
    let on_disabled = &report.findings[1];
    assert!(
        on_disabled.evidence.contains("launch template web"),
        "{}",
        on_disabled.evidence
    );
    assert!(
        on_disabled
            .remedy
            .command
            .as_deref()
            .unwrap()
            .contains("ami enable")
    );
    assert!(
        report.findings[0]
            .remedy
            .command
            .as_deref()
            .unwrap()
            .contains("--undo")
    );
}

#[tokio::test(start_paused = true)]
async fn images_without_a_template_tag_fail_the_template_tag_control() {
    let mut untagged = good(2);
    untagged.tags.clear();
    let report = scan(&world(vec![seed(good(1)), seed(untagged)], |b| b)).await;
    assert_eq!(failing(&report), only(ControlId::TemplateTag));
}

#[tokio::test(start_paused = true)]
async fn unsigned_retired_and_refused_registry_entries_fail_the_registry_control() {
    let cloud = baseline();
    let retired = Signing::RetiredKey {
        key: "ed25519:00000000000000aa".into(),
        publisher: "old@college.edu".into(),
    };
    let refused = Signing::Refused {
        reason: "signed with revoked key".into(),
    };
    let entries = vec![
        signed_entry(),
        RegistryEntry::new("r", "1.0.0", "a.yml", Signing::Unsigned),
        RegistryEntry::new("r", "1.1.0", "a.yml", retired),
        RegistryEntry::new("r", "1.2.0", "https://x.example/r.yml", refused),
    ];
    let report = Scanner::new(&cloud, TrustPolicy::default())
        .policy(policy())
        .registry(entries)
        .now(cloud.now())
        .scan(&[region()])
        .await;
    assert_eq!(failing(&report), only(ControlId::RegistrySignature));
    assert_eq!(report.findings.len(), 3);
    assert!(report.findings.iter().all(|f| f.region.is_none()));
    let local = report
        .findings
        .iter()
        .find(|f| f.evidence.contains("unsigned"))
        .unwrap();
    assert!(
        local
            .remedy
            .command
            .as_deref()
            .unwrap()
            .starts_with("amiref registry sign a.yml")
    );

    let none = Scanner::new(&cloud, TrustPolicy::default())
        .policy(policy())
        .now(cloud.now());
    let report = none.scan(&[region()]).await;
    let registry = report
        .controls
        .iter()
        .find(|c| c.control.id == ControlId::RegistrySignature);
    assert!(matches!(
        registry.unwrap().outcomes[0].outcome,
        Outcome::NotConfigured { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn shares_outside_the_organization_fail_and_shares_inside_do_not() {
    let stranger = AccountId::new(STRANGER).unwrap();
    let org = "arn:aws:organizations::123456789012:organization/o-abc123";
    let ou = "arn:aws:organizations::123456789012:ou/o-abc123/ou-ab12-cdef3456";
    let cloud = world(
        vec![
            seed(good(1)).launch_permission(LaunchPermission::Account(stranger.clone())),
            seed(good(2))
                .launch_permission(LaunchPermission::Organization(org.into()))
                .launch_permission(LaunchPermission::OrganizationalUnit(ou.into())),
        ],
        |b| b,
    );
    let mut in_org = policy();
    in_org.organization = Some(org.into());
    let report = scan_with(&cloud, in_org.clone(), TrustPolicy::default()).await;
    assert_eq!(failing(&report), only(ControlId::SharedOutsideOrganization));
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    let command = report.findings[0].remedy.command.as_deref().unwrap();
    assert!(
        command.contains(&format!("--account {STRANGER} --remove")),
        "{command}"
    );

    let mut member = in_org.clone();
    member.organization_accounts = vec![stranger];
    assert!(
        scan_with(&cloud, member, TrustPolicy::default())
            .await
            .findings
            .is_empty()
    );

    let mut other_org = in_org;
    other_org.organization = Some("arn:aws:organizations::111111111111:organization/o-zzz".into());
    assert_eq!(
        scan_with(&cloud, other_org, TrustPolicy::default())
            .await
            .findings
            .len(),
        2
    );

    let mut unread = policy();
    unread.read_launch_permissions = false;
    let report = scan_with(&cloud, unread, TrustPolicy::default()).await;
    assert!(report.findings.is_empty());
    assert!(matches!(
        outcome(&report, ControlId::SharedOutsideOrganization),
        Outcome::NotConfigured { .. }
    ));
    assert_eq!(report.notes.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_failed_read_leaves_its_controls_unchecked_and_the_rest_checked() {
    let cloud = baseline();
    cloud.fail_next(
        "GetSnapshotBlockPublicAccessState",
        1,
        CloudErrorKind::Unavailable,
    );
    let report = scan(&cloud).await;
    assert!(!report.is_complete());
    assert_eq!(
        report.read_failures[0].read,
        "GetSnapshotBlockPublicAccessState"
    );
    assert!(matches!(
        outcome(&report, ControlId::SnapshotsNotPublic),
        Outcome::Unchecked { .. }
    ));
    assert!(matches!(
        outcome(&report, ControlId::NotPublic),
        Outcome::Passed { .. }
    ));
}
