//! Building, planning and refreshing through the session, on copies of the demo world and
//! configuration: what the launcher's `build`, `plan` and `refresh` run.

use crate::common;

use amiref_build::{BuildOutcome, NoEvents, refresh::RefreshOutcome};
use amiref_core::{ParameterName, ParameterStore, Region};
use amiref_lifecycle::NoProgress;
use amiref_session::{
    BuildRequest, FailureKind, LaunchRequest, PlanRequest, Policy, RefreshRequest, Session,
};
use common::Demo;

fn region(name: &str) -> Region {
    name.parse().expect("a region")
}

async fn built(session: &Session, request: &BuildRequest) -> amiref_build::BuildReport {
    match session.build(request, &NoEvents).await.expect("built") {
        BuildOutcome::Built(report) => report,
        other => panic!("expected a build, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_build_is_distributed_published_and_resumed_by_the_next_session() {
    let demo = Demo::new();
    let session = demo.session().await;
    let request =
        BuildRequest::new("python-ml").regions(vec![region("us-east-1"), region("us-west-2")]);

    let planned = session
        .build(&request.clone().dry_run(true), &NoEvents)
        .await
        .expect("a plan");
    assert!(matches!(planned, BuildOutcome::Planned(_)), "{planned:?}");

    let world = session.world().expect("a world").clone();
    let before: Vec<_> = ["us-east-1", "us-west-2"]
        .into_iter()
        .map(|r| (region(r), world.inventory(&region(r)).live()))
        .collect();
    let report = built(&session, &request).await;
    let image = &report.images[0];
    assert_eq!(
        image.distribution.images.len(),
        2,
        "{:?}",
        image.distribution
    );
    for (r, before) in &before {
        let live = world.inventory(r).live();
        assert_eq!(
            live.instances, before.instances,
            "{r}: no builder or tester left"
        );
        assert_eq!(
            live.security_groups, before.security_groups,
            "{r}: no group left"
        );
    }
    let arch = image.tested.architecture;
    let latest: ParameterName = format!("/amiref/python-ml/latest/{arch}")
        .parse()
        .expect("a name");
    let history = world
        .parameter_history(&region("us-west-2"), &latest)
        .await
        .expect("latest is published in every region");
    assert_eq!(
        history.last().map(|p| p.value.as_str()),
        image
            .distribution
            .images
            .get(&region("us-west-2"))
            .map(|i| i.as_str())
    );
    session.finish().await.expect("saved");

    // Another session (another process, any host) finds the build done from the tags.
    let again = demo.session().await;
    let second = built(&again, &request).await;
    assert_eq!(second.images[0].tested.image, image.tested.image);
    assert!(
        second.images[0].stages.iter().any(|s| s.resumed),
        "{second:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_script_is_a_failed_build_that_leaves_nothing() {
    let demo = Demo::new();
    let session = demo.session().await;
    let home = region("us-east-1");
    let before = session.world().expect("a world").inventory(&home).live();
    let error = session
        .build(
            &BuildRequest::new("jupyter-quickstart").regions(vec![home.clone()]),
            &NoEvents,
        )
        .await
        .expect_err("the demo's jupyter-quickstart provisioning exits 1");
    assert_eq!(error.kind(), FailureKind::Failed, "{error}");
    assert!(error.to_string().contains("provision"), "{error}");
    let after = session.world().expect("a world").inventory(&home).live();
    assert_eq!(after, before, "nothing is left behind");
}

#[tokio::test(start_paused = true)]
async fn launches_feed_the_planner_and_refresh_finds_fresh_images_fresh() {
    let demo = Demo::new();
    let session = demo.session().await;
    let home = region("us-east-1");
    let report = built(
        &session,
        &BuildRequest::new("python-ml").regions(vec![home.clone()]),
    )
    .await;
    let tested = &report.images[0].tested;
    let (image, arch) = (tested.image.clone(), tested.architecture);
    for i in 0..3 {
        let template = session.template("python-ml").expect("python-ml");
        let plan = session
            .plan_launch(&LaunchRequest::new(template, format!("research-{i}")))
            .await
            .expect("a launch plan");
        session
            .launch(&plan, &Policy::default(), &NoProgress)
            .await
            .expect("launched");
    }
    let log = session.launch_log().expect("a launch log on a world");
    let records = amiref_plan::LaunchLog::read(log).expect("readable");
    assert_eq!(records.records.len(), 3, "one record per launch");

    let mut request = PlanRequest::default();
    request.templates = vec!["python-ml".into()];
    request.regions = Some(vec![home.clone(), region("us-west-2")]);
    let plan = session.plan_prebuilds(&request).await.expect("a plan");
    let home_cells = || {
        plan.rows
            .iter()
            .filter(|r| r.template == "python-ml")
            .flat_map(|r| {
                r.cells
                    .iter()
                    .filter(|c| c.region == home)
                    .map(move |c| (r, c))
            })
    };
    let launches: f64 = home_cells().map(|(_, c)| c.monthly_launch_count).sum();
    assert!(launches > 0.0, "the launch log is read: {plan:?}");
    let (_, cell) = home_cells()
        .find(|(r, _)| r.architecture == arch)
        .expect("a row for the built architecture");
    assert_eq!(
        cell.present_image.as_ref(),
        Some(&image),
        "the built image is seen: {cell:?}"
    );

    let mut refresh = RefreshRequest::default();
    refresh.templates = vec!["python-ml".into()];
    refresh.regions = Some(vec![home]);
    refresh.dry_run = true;
    let RefreshOutcome::Planned(checks) =
        session.refresh(&refresh, &NoEvents).await.expect("checked")
    else {
        panic!("a dry run plans");
    };
    assert_eq!(
        checks.builds().count(),
        0,
        "a fresh image is not rebuilt: {checks:?}"
    );
}
