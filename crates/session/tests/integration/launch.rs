//! The session as a library, on the demo world: plan, launch, availability.

use std::path::{Path, PathBuf};

use amiref_core::ResolutionMethod;
use amiref_lifecycle::NoProgress;
use amiref_session::{
    Answer, Decisions, LaunchChoice, LaunchPlan, LaunchRequest, Policy, Question, Session,
    SessionBuilder,
};
use amiref_strategies::CopyPlan;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

async fn demo_session(state: &Path, region: &str) -> Session {
    SessionBuilder::new()
        .with_world_file(examples().join("worlds/demo.yaml"))
        .with_state_dir(state)
        .with_template_dirs(vec![examples().join("templates")])
        .with_region_name(region, "test")
        .expect("a region")
        .build()
        .await
        .expect("the demo session")
}

/// The plan of launching `template` as `name` in the session's region.
async fn plan(session: &Session, template: &str, name: &str) -> LaunchPlan {
    let template = session.template(template).expect("a demo template");
    session
        .plan_launch(&LaunchRequest::new(template, name))
        .await
        .expect("a plan")
}

#[tokio::test(start_paused = true)]
async fn a_launch_in_region_boots_the_mapped_image_with_the_standard_tags() {
    let state = tempfile::tempdir().expect("tempdir");
    let session = demo_session(state.path(), "us-east-1").await;
    let plan = plan(&session, "python-ml", "my-research").await;
    assert!(plan.choice.method.uses_image(), "{:?}", plan.choice);
    assert!(plan.questions.is_empty(), "{:?}", plan.questions);
    let report = session
        .launch(&plan, &Policy::default(), &NoProgress)
        .await
        .expect("launched");
    assert_eq!(report.image, plan.choice.image);
    assert_eq!(report.instance_name, "my-research");
}

/// Records what it was asked.
struct Refuse;
impl Decisions for Refuse {
    fn approve_copy(&self, _: &LaunchPlan, _: &CopyPlan) -> Answer {
        Answer::No
    }
    fn keep_script(&self, _: &LaunchPlan, _: &LaunchChoice) -> Answer {
        Answer::CannotAsk
    }
}

#[tokio::test(start_paused = true)]
async fn a_declined_copy_launches_nothing() {
    let state = tempfile::tempdir().expect("tempdir");
    let session = demo_session(state.path(), "ap-south-1").await;
    // r-research falls back across regions; ap-south-1 has none of its images.
    let plan = plan(&session, "r-research", "far-away").await;
    assert_eq!(
        plan.choice.method,
        ResolutionMethod::CrossRegion,
        "{:?}",
        plan.choice
    );
    assert!(plan.questions.contains(&Question::ApproveCopy));
    let err = session
        .launch(&plan, &Refuse, &NoProgress)
        .await
        .expect_err("declined");
    assert_eq!(err.kind(), amiref_session::FailureKind::Declined);
    let instances = session
        .cloud()
        .describe_instances(
            session.region(),
            &amiref_core::InstanceFilter::named("far-away"),
        )
        .await
        .expect("described");
    assert!(instances.is_empty(), "{instances:?}");
}

#[tokio::test(start_paused = true)]
async fn availability_has_a_row_per_region_asked() {
    let state = tempfile::tempdir().expect("tempdir");
    let session = demo_session(state.path(), "us-east-1").await;
    let template = session.template("python-ml").expect("python-ml");
    let regions = session.all_regions();
    let report = session.availability(&template, &regions).await;
    assert_eq!(report.regions.len(), regions.len());
    let c = report.counts;
    assert_eq!(
        c.available + c.cross_region_copy + c.script_fallback + c.unavailable,
        regions.len()
    );
    assert!(report.simulated_time);
}

#[test]
fn a_misspelt_region_is_refused_with_a_suggestion() {
    let err = SessionBuilder::new()
        .with_region_name("eu-wst-1", "--region")
        .err()
        .expect("refused");
    assert_eq!(err.kind(), amiref_session::FailureKind::BadInput);
    assert!(err.to_string().contains("did you mean eu-west-1"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_launch_and_ami_copy_of_the_same_image_share_one_copy() {
    let state = tempfile::tempdir().expect("tempdir");
    let session = demo_session(state.path(), "ap-south-1").await;
    let plan = plan(&session, "r-research", "far-away").await;
    let copy = plan
        .choice
        .copy
        .clone()
        .expect("ap-south-1 resolves by a copy");
    let approve = Policy {
        approve_copies: true,
        ..Policy::default()
    };
    let launched = session
        .launch(&plan, &approve, &NoProgress)
        .await
        .expect("launched");
    let copied = launched.copied_image.clone().expect("a copy");
    assert_eq!(launched.image, copied);
    let again = session
        .copy_image(
            &amiref_session::CopyRequest::new(
                copy.source_image.clone(),
                vec![copy.destination_region.clone()],
            )
            .source_region(copy.source_region.clone()),
            &NoProgress,
        )
        .await
        .expect("copied");
    assert_eq!(
        again.regions.first().and_then(|r| r.image()),
        Some(&copied),
        "{again:?}"
    );
}

/// A service runs operations on spawned tasks: the session is shared between them, and
/// every operation's future can be sent to another thread.
#[allow(dead_code, clippy::let_underscore_future)]
fn operations_can_run_on_spawned_tasks(session: &'static Session, plan: &'static LaunchPlan) {
    fn send<T: Send>(_: T) {}
    fn shared<T: Send + Sync>() {}
    shared::<Session>();
    let template = session.template("python-ml").expect("a template");
    send(session.plan_launch(Box::leak(Box::new(LaunchRequest::new(
        template.clone(),
        "x",
    )))));
    send(session.launch(plan, &Policy::default(), &NoProgress));
    send(session.availability(Box::leak(Box::new(template)), &[]));
    send(session.list_images("python-ml"));
    send(session.verify_registries(None));
    send(session.world_show());
    let image: amiref_core::AmiId = "ami-0123456789abcdef0".parse().expect("an id");
    send(session.share_with_community(
        Box::leak(Box::new(amiref_session::CommunityShareRequest::new(
            image.clone(),
            "c",
        ))),
        &NoProgress,
    ));
    send(session.publish_image(
        Box::leak(Box::new(amiref_session::PublishRequest::new(image.clone()))),
        &NoProgress,
    ));
    let instance = amiref_session::InstanceRef::parse("x");
    let create = amiref_session::CreateImageRequest::new(
        session.template("python-ml").expect("a template"),
        instance,
    );
    send(session.create_image(Box::leak(Box::new(create)), &NoProgress));
    send(session.copy_image(
        Box::leak(Box::new(amiref_session::CopyRequest::new(
            image.clone(),
            vec![],
        ))),
        &NoProgress,
    ));
    send(session.share_image(
        Box::leak(Box::new(amiref_session::ShareRequest::grant(
            image.clone(),
            amiref_session::Grantees::new().public(true),
        ))),
        &NoProgress,
    ));
    send(
        session.deprecate_image(Box::leak(Box::new(amiref_session::DeprecateRequest::undo(
            image,
        )))),
    );
    send(session.retire_images(
        Box::leak(Box::new(amiref_session::RetireRequest::new("python-ml", 1))),
        &NoProgress,
    ));
    let target =
        amiref_session::ImageRequest::new("ami-0123456789abcdef0".parse().expect("an image id"));
    send(
        session.protect_image(Box::leak(Box::new(amiref_session::ProtectRequest::new(
            target.clone(),
            amiref_session::ProtectionChange::Off,
        )))),
    );
    send(session.disable_image(Box::leak(Box::new(target.clone()))));
    send(session.enable_image(Box::leak(Box::new(target))));
    send(
        session.rate_entry(Box::leak(Box::new(amiref_session::RateRequest::new(
            "t", "1.0.0", 5,
        )))),
    );
}

#[tokio::test(start_paused = true)]
async fn a_launch_preview_resolves_as_the_plan_would() {
    let state = tempfile::tempdir().expect("tempdir");
    let session = demo_session(state.path(), "us-east-1").await;
    let template = session.template("python-ml").expect("a demo template");
    let request = LaunchRequest::new(template, "r");
    let preview = session.preview_launch(&request).await;
    let plan = session.plan_launch(&request).await.expect("a plan");
    let resolution = preview.resolution.expect("a resolution");
    assert_eq!(resolution.image.id, plan.choice.image);
    assert_eq!(preview.strategy, amiref_template::AmiStrategy::AmiPreferred);
    // The script preferred: the template's script first, as the plan does it.
    let preferred = session.preview_launch(&request.prefer_script(true)).await;
    assert_eq!(
        preferred.strategy,
        amiref_template::AmiStrategy::AmiFallback
    );
    let resolution = preferred.resolution.expect("a resolution");
    assert_eq!(resolution.method, ResolutionMethod::ScriptProvisioning);
}
