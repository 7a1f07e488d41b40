//! Refresh on the in-process cloud: exactly the stale images are rebuilt (a newer base, a
//! changed template, age), a dry run changes nothing, replaced images are deprecated after
//! the grace period, and retention retires only old images nothing uses.

use crate::common;

use std::time::Duration;

use amiref_build::refresh::{
    Action, RefreshPlan, RefreshReport, RefreshSpec, Refresher, StaleReason, Verdict,
};
use amiref_build::{Builder, tags};
use amiref_core::{
    AccountId, AmiId, Architecture, Image, Instances, ParameterName, RunInstanceRequest,
};
use amiref_lifecycle::Decision;
use amiref_memory::{ImageSeed, MemoryCloud};
use amiref_template::Template;
use common::*;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
const X86_BASE_PARAMETER: &str =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
/// The base image the demo world's parameter names in us-east-1.
const BASE: &str = "ami-0a120239800000000";
/// A newer Amazon Linux release, seeded but not yet named by the parameter.
const NEWER_BASE: &str = "ami-0a12023a800000000";

fn api_template(script: &str) -> Template {
    Template::from_yaml_str(
        &format!(
            "name: api\nversion: 2.0.0\ninstance_type: t3.micro\nuser_data: |\n  #!/bin/bash\n  {script}\n"
        ),
        "api.yml",
    )
    .expect("a valid template")
}

/// The demo world with a newer Amazon Linux 2023 release in us-east-1 (made a day after
/// the clock starts, so it is newer than anything built before), not yet published in SSM.
fn world_with_newer_base() -> MemoryCloud {
    let start = world(succeeding()).now();
    let mut newer = Image::new(
        NEWER_BASE.parse().expect("an id"),
        region("us-east-1"),
        "al2023-ami-2023.9.20261201.0-kernel-6.1-x86_64",
        AccountId::new("137112412989").expect("amazon's account"),
        Architecture::X86_64,
        start + chrono::Duration::days(1),
    );
    newer.owner_alias = Some("amazon".to_owned());
    newer.public = true;
    MemoryCloud::world_file_builder("../../examples/worlds/demo.yaml")
        .expect("the demo world")
        .map(|b| {
            // Released (available) a day after the clock starts: until then no search
            // finds it.
            b.build_behaviour("web-app", succeeding())
                .image(ImageSeed::new(newer).available_after(DAY))
        })
        .build_located()
        .expect("the demo world builds")
}

fn publish_newer_base(cloud: &MemoryCloud) {
    cloud.set_parameter(
        &region("us-east-1"),
        ParameterName::new(X86_BASE_PARAMETER).expect("a name"),
        NEWER_BASE,
        Some("aws:ec2:image".to_owned()),
    );
}

fn refresh_spec(templates: Vec<Template>) -> RefreshSpec {
    RefreshSpec::new(templates, vec![region("us-east-1"), region("eu-west-1")]).options(options())
}

async fn plan_of(host: &Host, spec: &RefreshSpec) -> RefreshPlan {
    let lifecycle = host.lifecycle();
    let builder = Builder::new(&lifecycle, &host.resolver);
    Refresher::new(&builder).plan(spec).await.expect("the plan")
}

async fn refresh(host: &Host, spec: &RefreshSpec) -> RefreshReport {
    let lifecycle = host.lifecycle();
    let builder = Builder::new(&lifecycle, &host.resolver);
    let report = Refresher::new(&builder)
        .refresh(spec)
        .await
        .expect("the refresh");
    assert!(report.complete(), "{report:#?}");
    report
}

/// Builds every template once (a refresh that builds what is missing).
async fn build_all(host: &Host, templates: Vec<Template>) -> RefreshReport {
    let report = refresh(host, &refresh_spec(templates).build_missing(true)).await;
    assert!(
        report
            .plan
            .checks
            .iter()
            .all(|c| c.verdict == Verdict::Missing),
        "{report:#?}"
    );
    report
}

/// The names of the templates a plan rebuilds, sorted.
fn rebuilt(plan: &RefreshPlan) -> Vec<&str> {
    let mut names: Vec<&str> = plan.builds().map(|c| c.template.as_str()).collect();
    names.sort_unstable();
    names
}

fn verdict_of<'p>(plan: &'p RefreshPlan, template: &str) -> &'p Verdict {
    &plan
        .checks
        .iter()
        .find(|c| c.template == template)
        .expect("a check")
        .verdict
}

#[tokio::test(start_paused = true)]
async fn a_template_without_an_image_is_missing_not_stale() {
    let cloud = world(succeeding());
    let host = Host::new(&cloud);
    let plan = plan_of(&host, &refresh_spec(vec![template()])).await;
    assert_eq!(plan.checks.len(), 1);
    assert_eq!(plan.checks[0].verdict, Verdict::Missing);
    assert_eq!(plan.checks[0].plan, Action::Keep, "not built unless asked");
    let report = build_all(&host, vec![template()]).await;
    assert_eq!(report.rebuilt.len(), 1);
    assert!(report.deprecated.is_empty(), "nothing was replaced");
}

#[tokio::test(start_paused = true)]
async fn refresh_rebuilds_exactly_the_changed_template() {
    let cloud = world(succeeding());
    let host = Host::new(&cloud);
    build_all(&host, vec![template(), api_template("echo one")]).await;
    let templates = vec![template(), api_template("echo two")];
    let spec = refresh_spec(templates);

    let plan = plan_of(&host, &spec).await;
    assert_eq!(verdict_of(&plan, "web-app"), &Verdict::Fresh);
    let Verdict::Stale { reasons } = verdict_of(&plan, "api") else {
        panic!("api is stale: {plan:#?}");
    };
    assert!(
        matches!(
            reasons.as_slice(),
            [StaleReason::Fingerprint {
                built_with: Some(_),
                ..
            }]
        ),
        "{reasons:?}"
    );
    assert_eq!(rebuilt(&plan), ["api"]);

    let images_before = live(&cloud, "us-east-1").image_count();
    let report = refresh(&host, &spec).await;
    assert_eq!(report.rebuilt.len(), 1);
    assert_eq!(report.rebuilt[0].template, "api");
    assert_eq!(
        report.rebuilt[0].built.tested.lineage.version.as_deref(),
        Some("2.0.0"),
        "a new fingerprint is a new build id: the template's version is kept"
    );
    assert_eq!(live(&cloud, "us-east-1").image_count(), images_before + 1);

    let again = plan_of(&host, &spec).await;
    assert!(
        again.builds().next().is_none(),
        "fresh after the refresh: {again:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_newer_base_image_in_ssm_makes_every_image_built_on_the_old_one_stale() {
    let cloud = world_with_newer_base();
    let host = Host::new(&cloud);
    build_all(&host, vec![template(), api_template("echo one")]).await;
    let spec = refresh_spec(vec![template(), api_template("echo one")]);
    assert!(plan_of(&host, &spec).await.builds().next().is_none());

    tokio::time::advance(DAY).await;
    publish_newer_base(&cloud);
    let plan = plan_of(&host, &spec).await;
    assert_eq!(rebuilt(&plan), ["api", "web-app"]);
    for check in &plan.checks {
        let Verdict::Stale { reasons } = &check.verdict else {
            panic!("{check:#?}");
        };
        assert_eq!(
            reasons.as_slice(),
            [StaleReason::BaseImage {
                built_from: Some(BASE.parse().expect("an id")),
                resolves_to: NEWER_BASE.parse().expect("an id"),
                resolves_to_created: reasons_created(reasons),
            }]
        );
    }

    let planned: Vec<Option<String>> = plan
        .builds()
        .map(|c| match &c.plan {
            Action::Build { version, .. } => version.clone(),
            _ => None,
        })
        .collect();
    let report = refresh(&host, &spec).await;
    assert_eq!(report.rebuilt.len(), 2);
    let built: Vec<Option<String>> = report
        .rebuilt
        .iter()
        .map(|r| r.built.tested.lineage.version.clone())
        .collect();
    assert_eq!(
        built, planned,
        "the dry run names the versions the refresh builds"
    );
    let again = plan_of(&host, &spec).await;
    assert!(
        again.builds().next().is_none(),
        "fresh on the new base: {again:#?}"
    );
    for rebuilt in &report.rebuilt {
        let image = cloud
            .inspect_image(&region("us-east-1"), &rebuilt.built.tested.image)
            .expect("the new image");
        assert_eq!(image.tag(tags::TAG_BASE_IMAGE), Some(NEWER_BASE));
        let tested = &rebuilt.built.tested;
        let template_version = [template(), api_template("echo one")]
            .into_iter()
            .find(|t| t.name == rebuilt.template)
            .and_then(|t| t.version);
        assert_eq!(
            tested.lineage.version, template_version,
            "a rebuild keeps the template's version"
        );
        assert_ne!(
            Some(tested.image.clone()),
            rebuilt.previous,
            "the same inputs make a new build, not the old one resumed"
        );
    }
}

fn reasons_created(reasons: &[StaleReason]) -> chrono::DateTime<chrono::Utc> {
    match reasons {
        [
            StaleReason::BaseImage {
                resolves_to_created,
                ..
            },
        ] => *resolves_to_created,
        _ => panic!("{reasons:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn an_image_older_than_its_maximum_age_is_rebuilt_and_a_younger_one_is_not() {
    let cloud = world(succeeding());
    let host = Host::new(&cloud);
    let monthly = api_template("echo one");
    let mut monthly = monthly;
    monthly.build =
        Some(serde_json::from_value(serde_json::json!({"max_age": "30d"})).expect("a build block"));
    build_all(&host, vec![template(), monthly.clone()]).await;
    let spec = refresh_spec(vec![template(), monthly]);

    tokio::time::advance(29 * DAY).await;
    assert!(plan_of(&host, &spec).await.builds().next().is_none());

    tokio::time::advance(2 * DAY).await;
    let plan = plan_of(&host, &spec).await;
    assert_eq!(
        rebuilt(&plan),
        ["api"],
        "30d for api, the default 90d for web-app"
    );
    assert_eq!(
        verdict_of(&plan, "api"),
        &Verdict::Stale {
            reasons: vec![StaleReason::TooOld {
                age_days: 31,
                max_age_days: 30
            }]
        }
    );
    let report = refresh(&host, &spec).await;
    assert_eq!(report.rebuilt.len(), 1);

    tokio::time::advance(60 * DAY).await;
    let plan_later = plan_of(&host, &spec).await;
    assert_eq!(
        rebuilt(&plan_later),
        ["api", "web-app"],
        "91 days for web-app, 60 for api's new image"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_changes_nothing() {
    let cloud = world_with_newer_base();
    let host = Host::new(&cloud);
    build_all(&host, vec![template()]).await;
    tokio::time::advance(DAY).await;
    publish_newer_base(&cloud);
    let before: Vec<_> = ["us-east-1", "eu-west-1"]
        .iter()
        .map(|r| live(&cloud, r))
        .collect();
    cloud.reset_counters();

    let lifecycle = host.lifecycle();
    let builder = Builder::new(&lifecycle, &host.resolver);
    let outcome = Refresher::new(&builder)
        .run(&refresh_spec(vec![template()]).dry_run(true))
        .await
        .expect("the dry run");
    let amiref_build::refresh::RefreshOutcome::Planned(plan) = outcome else {
        panic!("a dry run plans");
    };
    assert!(plan.dry_run);
    let json = serde_json::to_value(&plan).expect("JSON");
    assert_eq!(json["checks"][0]["status"], "stale");
    assert_eq!(json["checks"][0]["reasons"][0]["reason"], "base_image");
    assert_eq!(json["checks"][0]["plan"]["action"], "build");
    let schema = serde_json::to_value(schemars::schema_for!(amiref_build::refresh::RefreshReport))
        .expect("a schema");
    assert!(schema["$defs"]["RefreshPlan"].is_object(), "{schema}");
    assert_eq!(rebuilt(&plan), ["web-app"], "it says what would be rebuilt");
    let Action::Build {
        deprecate_at,
        previous,
        ..
    } = &plan.checks[0].plan
    else {
        panic!("{plan:#?}");
    };
    assert!(previous.is_some() && deprecate_at.is_some());

    let after: Vec<_> = ["us-east-1", "eu-west-1"]
        .iter()
        .map(|r| live(&cloud, r))
        .collect();
    assert_eq!(after, before);
    let counters = cloud.counters();
    assert!(counters.total() > 0, "the dry run looked");
    let mutating: Vec<_> = counters
        .iter()
        .filter(|(op, _, _)| {
            !["Describe", "Get", "Search", "List"]
                .iter()
                .any(|read| op.starts_with(read))
        })
        .collect();
    assert!(
        mutating.is_empty(),
        "a dry run made mutating calls: {mutating:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_replaced_image_is_deprecated_after_the_grace_period_in_every_region() {
    let cloud = world(succeeding());
    let host = Host::new(&cloud);
    let first = build_all(&host, vec![template()]).await;
    let old = &first.rebuilt[0].built.distribution.images;
    assert_eq!(old.len(), 2, "home and its copy");

    let mut changed = template();
    changed.user_data = Some("#!/bin/bash\ndnf install -y nginx httpd-tools\n".to_owned());
    let grace = 3 * DAY;
    let report = refresh(&host, &refresh_spec(vec![changed]).grace(grace)).await;
    assert_eq!(report.rebuilt.len(), 1);
    let deprecated: Vec<(&str, &AmiId)> = report
        .deprecated
        .iter()
        .map(|d| (d.region.as_str(), &d.image))
        .collect();
    assert_eq!(deprecated.len(), 2, "{:#?}", report.deprecated);
    for (region_code, image) in old {
        let described = cloud
            .inspect_image(region_code, image)
            .expect("still there");
        let at = described.deprecation_time.expect("a deprecation time");
        let now = cloud.now();
        assert!(at > now, "still launchable during the grace period");
        // EC2 keeps deprecation times to the minute.
        let grace_ends = now + chrono::Duration::days(3) + chrono::Duration::minutes(1);
        assert!(at <= grace_ends, "{at} > {grace_ends}");
        assert!(!described.is_deprecated_at(now));
        assert!(described.is_deprecated_at(grace_ends));
    }
    let new = &report.rebuilt[0].built.distribution.images;
    for (region_code, image) in new {
        let described = cloud
            .inspect_image(region_code, image)
            .expect("the new image");
        assert_eq!(
            described.deprecation_time, None,
            "the new image is not deprecated"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn retention_retires_only_old_images_nothing_uses() {
    let cloud = world(succeeding());
    let host = Host::new(&cloud);
    let home = region("us-east-1");
    let first = build_all(&host, vec![template()]).await;
    let oldest = first.rebuilt[0].built.tested.image.clone();
    let second_template = with_script(1);
    tokio::time::advance(DAY).await;
    let second = refresh(&host, &refresh_spec(vec![second_template]).keep(10)).await;
    let second_image = second.rebuilt[0].built.tested.image.clone();
    // Three more builds, each replacing the last: five images of web-app in all, none
    // retired while the policy keeps ten.
    let mut newest = Vec::new();
    for n in 2..=4 {
        tokio::time::advance(DAY).await;
        let report = refresh(&host, &refresh_spec(vec![with_script(n)]).keep(10)).await;
        assert!(
            report.retention[0]
                .entries
                .iter()
                .all(|e| e.decision != Decision::Retire)
        );
        newest.push(report.rebuilt[0].built.tested.image.clone());
    }
    // The oldest is in use by an instance.
    cloud
        .run_instance(
            &home,
            &RunInstanceRequest::new(oldest.clone(), "t3.micro".parse().expect("a type")),
        )
        .await
        .expect("a launch");
    let images_before = live(&cloud, "us-east-1").image_count();

    // A new build with retention down to three: the new image and the two before it stay,
    // the second is retired, the oldest is protected by its instance.
    tokio::time::advance(DAY).await;
    let report = refresh(&host, &refresh_spec(vec![with_script(5)]).keep(3)).await;
    assert_eq!(report.rebuilt.len(), 1);
    let retention = &report.retention[0];
    let at_home: Vec<_> = retention
        .entries
        .iter()
        .filter(|e| e.region == home)
        .collect();
    assert_eq!(at_home.len(), 6, "{retention:#?}");
    let decision = |image: &AmiId| {
        at_home
            .iter()
            .find(|e| &e.image == image)
            .map(|e| e.decision.clone())
            .expect("considered")
    };
    assert!(matches!(decision(&newest[2]), Decision::Keep { .. }));
    assert!(matches!(decision(&newest[1]), Decision::Keep { .. }));
    // Retired in two steps: disabled now, deregistered by a later run after the grace.
    assert!(matches!(decision(&newest[0]), Decision::Disable { .. }));
    assert!(matches!(decision(&second_image), Decision::Disable { .. }));
    assert!(
        matches!(decision(&oldest), Decision::Protected { .. }),
        "{:?}",
        decision(&oldest)
    );
    assert!(
        cloud.inspect_image(&home, &oldest).is_some(),
        "in use: kept"
    );
    assert_eq!(
        live(&cloud, "us-east-1").image_count(),
        images_before + 1,
        "one new image; the two unused old ones disabled, deregistered only after the grace"
    );
}

/// web-app with its script changed: build number `n`.
fn with_script(n: u32) -> Template {
    let mut t = template();
    t.user_data = Some(format!("#!/bin/bash\ndnf install -y nginx # {n}\n"));
    t
}

#[tokio::test(start_paused = true)]
async fn a_failed_rebuild_keeps_the_current_image_undeprecated_and_skips_its_retention() {
    let cloud = world(succeeding());
    let host = Host::new(&cloud);
    let first = build_all(&host, vec![template(), api_template("echo one")]).await;
    let api_image = first
        .rebuilt
        .iter()
        .find(|r| r.template == "api")
        .map(|r| r.built.tested.image.clone())
        .expect("api was built");
    let instances_before = live(&cloud, "us-east-1").live_instances();
    // Every launch from now on ends terminated: the rebuild cannot provision.
    cloud.fail_next_launches(100);

    let lifecycle = host.lifecycle();
    let builder = Builder::new(&lifecycle, &host.resolver);
    let report = Refresher::new(&builder)
        .refresh(&refresh_spec(vec![template(), api_template("echo two")]))
        .await
        .expect("the refresh runs");
    assert!(!report.complete());
    assert!(report.rebuilt.is_empty(), "{report:#?}");
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].template, "api");
    assert!(
        report.deprecated.is_empty(),
        "nothing replaced, nothing deprecated"
    );
    let retained: Vec<&str> = report
        .retention
        .iter()
        .map(|r| r.template.as_str())
        .collect();
    assert_eq!(
        retained,
        ["web-app"],
        "no retention for the template that failed"
    );
    let current = cloud
        .inspect_image(&region("us-east-1"), &api_image)
        .expect("the current image stays");
    assert_eq!(current.deprecation_time, None);
    assert_eq!(live(&cloud, "us-east-1").live_instances(), instances_before);
}

#[test]
fn the_refresh_report_schema_names_every_part() {
    let schema = serde_json::to_value(schemars::schema_for!(RefreshReport)).expect("a schema");
    for def in [
        "RefreshPlan",
        "TemplateCheck",
        "StaleReason",
        "Rebuilt",
        "RefreshFailure",
    ] {
        assert!(schema["$defs"][def].is_object(), "{def} missing");
    }
}

#[tokio::test(start_paused = true)]
async fn a_newer_base_image_found_by_a_search_makes_the_image_stale() {
    let cloud = world_with_newer_base();
    let host = Host::new(&cloud);
    let searched = Template::from_yaml_str(
        "name: search-base\nversion: 1.0.0\ninstance_type: t3.micro\nbase_image:\n  owner: amazon\n  name_pattern: al2023-ami-2023.*-kernel-6.1-x86_64\n  architecture: x86_64\nuser_data: |\n  #!/bin/bash\n  echo built\n",
        "search-base.yml",
    )
    .expect("a valid template");
    let first = build_all(&host, vec![searched.clone()]).await;
    let built_on = cloud
        .inspect_image(&region("us-east-1"), &first.rebuilt[0].built.tested.image)
        .and_then(|i| i.tag(tags::TAG_BASE_IMAGE).map(str::to_owned));
    assert_eq!(built_on.as_deref(), Some(BASE), "the newest release then");
    let spec = refresh_spec(vec![searched]);
    assert!(plan_of(&host, &spec).await.builds().next().is_none());

    // The newer release becomes available: the search finds it, nothing in SSM changed.
    tokio::time::advance(2 * DAY).await;
    let plan = plan_of(&host, &spec).await;
    let Verdict::Stale { reasons } = verdict_of(&plan, "search-base") else {
        panic!("{plan:#?}");
    };
    assert!(
        matches!(
            reasons.as_slice(),
            [StaleReason::BaseImage { resolves_to, .. }] if resolves_to.as_str() == NEWER_BASE
        ),
        "{reasons:?}"
    );
}
