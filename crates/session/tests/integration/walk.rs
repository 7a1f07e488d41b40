//! The mission's walk on the demo world, through the session API alone, each step a new
//! session on the state the previous one saved: launch, image the instance by its name,
//! share the image with the prism community, list the template's images, test it across
//! regions, publish it.

use crate::common;

use amiref_core::{LaunchPermission, ResolutionMethod};
use amiref_lifecycle::{ImageOutcome, NoProgress};
use amiref_session::{
    Availability, CommunityShareRequest, CreateImageRequest, InstanceRef, LaunchRequest,
    ListedImage, Policy, PublicOutcome, PublishRequest, Signer, VersionSource,
};
use common::{COMMUNITY_ACCOUNT, Demo, UNIVERSITY_ORG};

#[tokio::test(start_paused = true)]
async fn the_walk_from_launch_to_publish_persists_between_sessions() {
    let demo = Demo::new();
    demo.share_community_with_university();

    // `launch python-ml my-research`
    let session = demo.session().await;
    let template = session.template("python-ml").expect("python-ml");
    let plan = session
        .plan_launch(&LaunchRequest::new(template.clone(), "my-research"))
        .await
        .expect("a plan");
    assert_eq!(
        plan.choice.method,
        ResolutionMethod::DirectMapping,
        "{:?}",
        plan.choice
    );
    let launched = session
        .launch(&plan, &Policy::default(), &NoProgress)
        .await
        .expect("launched");
    session.finish().await.expect("saved");

    // `ami create python-ml my-research --name "Python ML v2.2.0" --public`
    let session = demo.session().await;
    let request = CreateImageRequest::new(template.clone(), InstanceRef::parse("my-research"))
        .name("Python ML v2.2.0")
        .public(true);
    let created = session
        .create_image(&request, &NoProgress)
        .await
        .expect("imaged");
    // The instance the previous session launched, found by its Name tag.
    assert_eq!(created.instance.id, launched.instance);
    assert_eq!(created.created.outcome, ImageOutcome::Created);
    assert_eq!(
        created
            .created
            .tags
            .get("amiref:template")
            .map(String::as_str),
        Some("python-ml")
    );
    let image = created.created.image.clone().expect("an image");
    assert!(
        matches!(&created.public, Some(PublicOutcome::Shared { report }) if report.changed == [LaunchPermission::Public]),
        "{:?}",
        created.public
    );
    session.finish().await.expect("saved");

    // `ami share AMI --community prism`
    let session = demo.session().await;
    let shared = session
        .share_with_community(
            &CommunityShareRequest::new(image.clone(), "prism"),
            &NoProgress,
        )
        .await
        .expect("shared with the community");
    assert!(shared.written);
    assert_eq!(shared.entry.version, "v2.2.0");
    assert_eq!(shared.version_from, VersionSource::ImageName);
    assert_eq!(shared.entry.template, "python-ml");
    let mut granted = shared.launch_permissions.changed.clone();
    granted.sort();
    assert_eq!(
        granted,
        [
            LaunchPermission::Account(COMMUNITY_ACCOUNT.parse().expect("an account")),
            LaunchPermission::Organization(UNIVERSITY_ORG.to_owned())
        ]
    );
    assert!(shared.warnings.is_empty(), "{:?}", shared.warnings);
    let registry_text =
        std::fs::read_to_string(demo.path("registry/community.yml")).expect("the registry");
    assert!(registry_text.contains("v2.2.0:"), "{registry_text}");
    session.finish().await.expect("saved");

    // `ami list --template python-ml`
    let session = demo.session().await;
    let listing = session.list_images("python-ml").await;
    assert!(listing.registries_configured);
    assert!(listing.refused.is_empty(), "{:?}", listing.refused);
    assert!(
        listing.failed_regions.is_empty(),
        "{:?}",
        listing.failed_regions
    );
    let us_east_1 = listing
        .regions
        .iter()
        .find(|r| r.region.as_str() == "us-east-1")
        .expect("us-east-1 listed");
    let ours_in_registry = us_east_1.images.iter().any(|i| {
        matches!(i, ListedImage::Registry(r) if r.image == image
            && r.version == "v2.2.0"
            && matches!(&r.signer, Signer::Signed { publisher, .. } if publisher.contains("cws-community")))
    });
    assert!(ours_in_registry, "{:#?}", us_east_1.images);
    let ours = us_east_1
        .images
        .iter()
        .find_map(|i| match i {
            ListedImage::Yours(own) if own.image == image => Some(own),
            _ => None,
        })
        .expect("our own image listed");
    assert_eq!(ours.version.as_deref(), template.version.as_deref());
    assert!(ours.public);
    // The community's published entries are there too, with the figures they rank by.
    let community_versions: Vec<&str> = us_east_1
        .images
        .iter()
        .filter_map(|i| match i {
            ListedImage::Registry(r) => Some(r.version.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        community_versions.contains(&"v2.1.0"),
        "{community_versions:?}"
    );
    session.finish().await.expect("saved");

    // `ami test python-ml --all-regions`
    let session = demo.session().await;
    let regions = session.all_regions();
    let tested = session.availability(&template, &regions).await;
    assert_eq!(tested.regions.len(), regions.len());
    let east = tested
        .regions
        .iter()
        .find(|r| r.region.as_str() == "us-east-1")
        .expect("us-east-1 tested");
    assert!(
        matches!(east.availability, Availability::Available { .. }),
        "{east:?}"
    );
    session.finish().await.expect("saved");

    // `ami publish AMI --marketplace --price 0.05`, the rest from the publishing profile.
    let session = demo.session().await;
    let published = session
        .publish_image(&PublishRequest::new(image.clone()).price(0.05), &NoProgress)
        .await
        .expect("submitted");
    assert!(published.report.change_set_id.is_some());
    assert_eq!(published.spec.product_id, "prod-cwspyml2x7k4q");
    assert_eq!(published.spec.version, "2.2.0");
    assert_eq!(published.version_from, VersionSource::ImageName);
    let pricing = published.spec.pricing.as_ref().expect("priced");
    assert_eq!(pricing.offer_id, "offer-cwspyml2x7k4q");
    assert!((pricing.usd_per_hour - 0.05).abs() < 1e-12);
    session.finish().await.expect("saved");

    // Every mutating step is in the world's own audit log, none in the user's.
    let operations: Vec<String> = demo
        .audit_records()
        .iter()
        .map(|r| r["operation"].as_str().unwrap_or_default().to_owned())
        .collect();
    for op in [
        "launch",
        "create_image",
        "share",
        "share_community",
        "publish",
    ] {
        assert!(
            operations.iter().any(|o| o == op),
            "{op} not in {operations:?}"
        );
    }
    assert!(!demo.path("home/.local/state/amiref/audit.jsonl").exists());
}
