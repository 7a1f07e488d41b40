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

#[tokio::test(start_paused = true)]
async fn a_launch_in_region_boots_the_mapped_image_with_the_standard_tags() {
    let state = tempfile::tempdir().expect("tempdir");
    let session = demo_session(state.path(), "us-east-1").await;
    let template = session.template("python-ml").expect("python-ml");
    let plan = session
        .plan_launch(&LaunchRequest::new(template, "my-research"))
        .await
        .expect("a plan");
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
    let template = session.template("python-ml").expect("python-ml");
    let plan = session
        .plan_launch(&LaunchRequest::new(template, "far-away"))
        .await
        .expect("a plan");
    if plan.choice.copy.is_none() {
        // The demo world decides; this test is about copies.
        assert_ne!(plan.choice.method, ResolutionMethod::CrossRegion);
        return;
    }
    assert!(plan.questions.contains(&Question::ApproveCopy));
    let err = session
        .launch(&plan, &Refuse, &NoProgress)
        .await
        .expect_err("declined");
    assert_eq!(err.kind(), amiref_session::FailureKind::Declined);
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
