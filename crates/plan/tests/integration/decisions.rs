//! The planner's decisions on small cases whose figures are computed by hand in the
//! comments.
//!
//! Shared figures (the built-in tables): m6i.large $0.096 an hour in every region; EBS
//! snapshot storage $0.05 per GiB-month in us-east-1, eu-west-1 and ap-south-1, $0.068 in
//! sa-east-1; transfer out of us-east-1 $0.02 per GiB (to us-east-2 $0.01). The template's
//! script takes 30 min and an image 30 s, so a launch from an image saves
//! 1770 s = 0.4916667 h. The image is 8 GiB (the default). A copy takes 2 min + 8/2 min
//! = 6 min = 0.1 h. The model refreshes once a month (R = 1) and captures in 10 min, so a
//! build's instance time is 1800 + 30 + 600 s = 0.675 h.
#![allow(clippy::unwrap_used)]

use crate::common;

use amiref_core::{Architecture, ImageUsage, InstanceId};
use amiref_plan::{
    Decision, ImageSignal, LaunchSource, PlanAction, PlanInputs, SizeSource, TimeSource, plan,
};
use common::{image, monthly_model, now, region, template, usage};

const SAVED_HOURS: f64 = 1770.0 / 3600.0;

#[test]
fn one_busy_region_builds_here() {
    let inputs = PlanInputs::new(now())
        .template(template("python-ml", "30m"))
        .usage(usage(&[("python-ml", "us-east-1", 200.0)]));
    let plan = plan(&inputs, &monthly_model());
    let cell = plan
        .cell("python-ml", Architecture::X86_64, &region("us-east-1"))
        .unwrap();
    assert_eq!(cell.decision, Decision::BuildHere);
    // saving: 200 x 0.4916667 h x $0.096 = $9.44
    assert_usd!(cell.saving_usd_per_month, 9.44);
    // cost: 8 GiB x $0.05 = $0.40 storage + 1 refresh x $0.096 x 0.675 h = $0.0648 build
    assert_usd!(cell.cost_usd_per_month, 0.4648);
    assert_eq!(
        cell.launches_source,
        LaunchSource::UsageFile {
            origin: "usage.yml".into(),
            line: 0
        }
    );
    let row = plan.row("python-ml", Architecture::X86_64).unwrap();
    assert_eq!(row.home, Some(region("us-east-1")));
    assert_eq!(row.script_time.source, TimeSource::TemplateProvisioningTime);
    assert_eq!(row.image_time.source, TimeSource::ModelDefault);
    assert_eq!(row.image_size.source, SizeSource::ModelDefault);
    assert_eq!(
        plan.actions(),
        [PlanAction::Build {
            template: "python-ml".into(),
            architecture: Architecture::X86_64,
            region: region("us-east-1"),
        }]
    );
}

#[test]
fn busy_regions_copy_quiet_ones_copy_on_demand_idle_ones_run_the_script() {
    // A researcher's waiting hour is valued at $2, so each saved hour is worth
    // $0.096 + $2 = $2.096.
    let model = monthly_model().with_waiting_hour_usd(2.0);
    let inputs = PlanInputs::new(now())
        .template(template("python-ml", "30m"))
        .usage(usage(&[
            ("python-ml", "us-east-1", 200.0),
            ("python-ml", "eu-west-1", 50.0),
            ("python-ml", "ap-south-1", 0.5),
            ("python-ml", "sa-east-1", 0.0),
        ]));
    let plan = plan(&inputs, &model);
    let at = |r: &str| {
        plan.cell("python-ml", Architecture::X86_64, &region(r))
            .unwrap()
            .clone()
    };
    let rate = 2.096;

    // us-east-1, most launches: build. 200 x 0.4916667 x 2.096 = $206.106667; cost as
    // above, $0.4648 (the build's instance time is priced at the instance price alone).
    let home = at("us-east-1");
    assert_eq!(home.decision, Decision::BuildHere);
    assert_usd!(home.saving_usd_per_month, 200.0 * SAVED_HOURS * rate);
    assert_usd!(home.saving_usd_per_month, 206.106_666_667);
    assert_usd!(home.cost_usd_per_month, 0.4648);

    // eu-west-1, 50 launches. Kept copy from us-east-1 (the only holder on its walk):
    // saving 50 x 0.4916667 x 2.096 = $51.526667; cost 8 x $0.05 storage + 8 x $0.02
    // transfer = $0.56; net $50.966667. On demand: 1 copy (min(50, 1)), saving
    // (24.583333 - 0.1) x 2.096 = $51.317067, cost $0.16 + $0.40 = $0.56, net $50.757067.
    // The kept copy wins.
    let eu = at("eu-west-1");
    assert_eq!(
        eu.decision,
        Decision::CopyFromNearest {
            source: region("us-east-1")
        }
    );
    assert_usd!(eu.saving_usd_per_month, 51.526_666_667);
    assert_usd!(eu.cost_usd_per_month, 0.56);

    // ap-south-1, 0.5 launches. Its walk reaches us-east-1 (its third fallback) before
    // eu-west-1. Kept copy: saving 0.5 x 0.4916667 x 2.096 = $0.515267, cost $0.56: net
    // -$0.044733. On demand: 0.5 copies, saving (0.2458333 - 0.5 x 0.1) x 2.096 =
    // $0.410467, cost 0.5 x $0.16 + 0.5 x $0.40 = $0.28: net $0.130467. On demand wins.
    let ap = at("ap-south-1");
    assert_eq!(
        ap.decision,
        Decision::OnDemandCopy {
            source: region("us-east-1")
        }
    );
    assert_usd!(ap.saving_usd_per_month, 0.410_466_667);
    assert_usd!(ap.cost_usd_per_month, 0.28);
    assert_usd!(ap.prebuilt_saving_usd_per_month, 0.515_266_667);
    assert_usd!(ap.prebuilt_cost_usd_per_month, 0.56);

    // sa-east-1, no launches: a kept copy costs 8 x $0.068 + 8 x $0.02 = $0.704 for
    // nothing; on demand makes no copy (net 0, not above 0): the script.
    let sa = at("sa-east-1");
    assert_eq!(sa.decision, Decision::Script);
    assert_usd!(sa.saving_usd_per_month, 0.0);
    assert_usd!(sa.cost_usd_per_month, 0.0);
    assert_usd!(sa.prebuilt_cost_usd_per_month, 0.704);

    // Totals: savings 206.106667 + 51.526667 + 0.410467 = $258.0438; costs
    // 0.4648 + 0.56 + 0.28 = $1.3048.
    assert_usd!(plan.totals.saving_usd_per_month, 258.043_8);
    assert_usd!(plan.totals.cost_usd_per_month, 1.3048);
    assert_eq!(
        (
            plan.totals.build_count,
            plan.totals.copy_count,
            plan.totals.on_demand_count,
            plan.totals.script_count
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(
        plan.actions(),
        [
            PlanAction::Build {
                template: "python-ml".into(),
                architecture: Architecture::X86_64,
                region: region("us-east-1"),
            },
            PlanAction::Copy {
                template: "python-ml".into(),
                architecture: Architecture::X86_64,
                from: region("us-east-1"),
                to: region("eu-west-1"),
            },
        ]
    );
}

#[test]
fn a_template_whose_savings_do_not_cover_a_build_is_left_to_the_script() {
    // 1 launch: saving 1 x 0.4916667 x $0.096 = $0.0472 against the build's $0.4648.
    let inputs = PlanInputs::new(now())
        .template(template("tiny", "30m"))
        .usage(usage(&[("tiny", "us-east-1", 1.0)]));
    let plan = plan(&inputs, &monthly_model());
    let cell = plan
        .cell("tiny", Architecture::X86_64, &region("us-east-1"))
        .unwrap();
    assert_eq!(cell.decision, Decision::Script);
    assert_usd!(cell.prebuilt_saving_usd_per_month, 0.0472);
    assert_usd!(cell.prebuilt_cost_usd_per_month, 0.4648);
    assert_eq!(plan.row("tiny", Architecture::X86_64).unwrap().home, None);
    assert!(plan.actions().is_empty());
}

#[test]
fn a_cheap_home_is_kept_when_the_copies_pay_for_it() {
    // us-east-1 has the most launches (6) but alone nets 6 x 0.4916667 x 0.096 - 0.4648 =
    // $0.2832 - $0.4648 = -$0.1816; us-east-2 (5 launches) copies: saving $0.236,
    // cost 8 x $0.05 + 8 x $0.01 = $0.48, net -$0.244; on demand: 1 copy, saving
    // (2.4583333 - 0.1) x 0.096 = $0.2264, cost $0.08 + $0.40 = $0.48, net -$0.2536.
    // Together negative: nothing is built.
    let inputs = PlanInputs::new(now())
        .template(template("edge", "30m"))
        .usage(usage(&[
            ("edge", "us-east-1", 6.0),
            ("edge", "us-east-2", 5.0),
        ]));
    let lean = plan(&inputs, &monthly_model());
    assert!(
        lean.rows[0]
            .cells
            .iter()
            .all(|c| c.decision == Decision::Script)
    );

    // With 20 launches in us-east-1: 20 x 0.4916667 x 0.096 = $0.944 - $0.4648 = $0.4792
    // net; us-east-2 still loses alone (-$0.244 copy, -$0.2536 on demand), so it runs the
    // script while us-east-1 builds.
    let inputs = PlanInputs::new(now())
        .template(template("edge", "30m"))
        .usage(usage(&[
            ("edge", "us-east-1", 20.0),
            ("edge", "us-east-2", 5.0),
        ]));
    let plan = plan(&inputs, &monthly_model());
    let east2 = plan
        .cell("edge", Architecture::X86_64, &region("us-east-2"))
        .unwrap();
    assert_eq!(east2.decision, Decision::Script);
    assert_usd!(east2.prebuilt_cost_usd_per_month, 0.48);
    assert_usd!(plan.totals.net_usd_per_month, 0.4792);
}

#[test]
fn the_configured_home_builds_even_with_fewer_launches() {
    let model = monthly_model().with_home_region(region("eu-west-1"));
    let inputs = PlanInputs::new(now())
        .template(template("python-ml", "30m"))
        .usage(usage(&[
            ("python-ml", "us-east-1", 200.0),
            ("python-ml", "eu-west-1", 50.0),
        ]));
    let plan = plan(&inputs, &model);
    let east = plan
        .cell("python-ml", Architecture::X86_64, &region("us-east-1"))
        .unwrap();
    // us-east-1 copies from eu-west-1 (on its walk: us-east-2, us-west-2, us-west-1, then
    // their fallbacks; eu-west-1 is the only holder). Cost: 8 x $0.05 + 8 x $0.02 = $0.56.
    assert_eq!(
        east.decision,
        Decision::CopyFromNearest {
            source: region("eu-west-1")
        }
    );
    assert_usd!(east.cost_usd_per_month, 0.56);
    let home = plan
        .cell("python-ml", Architecture::X86_64, &region("eu-west-1"))
        .unwrap();
    assert_eq!(home.decision, Decision::BuildHere);
}

#[test]
fn existing_images_skip_actions_and_unused_ones_in_script_cells_are_retired() {
    let home_image = image("ami-00000000000000001", "python-ml", "us-east-1", 10);
    let idle = image("ami-00000000000000002", "python-ml", "sa-east-1", 10);
    let used = image("ami-00000000000000003", "python-ml", "eu-central-1", 10);
    let mut in_use = ImageUsage::default();
    in_use
        .instances
        .push(InstanceId::new("i-0123456789abcdef0").unwrap());
    in_use.launch_templates.push("lt-lab".into());
    let inputs = PlanInputs::new(now())
        .template(template("python-ml", "30m"))
        .usage(usage(&[("python-ml", "us-east-1", 200.0)]))
        .images([
            ImageSignal::new(home_image, Ok(ImageUsage::default())),
            ImageSignal::new(idle, Ok(ImageUsage::default())),
            ImageSignal::new(used, Ok(in_use)),
        ]);
    let plan = plan(&inputs, &monthly_model());
    let row = plan.row("python-ml", Architecture::X86_64).unwrap();
    // The largest image sets the size: 10 GiB.
    assert_eq!(row.image_size.size_gib, 10);
    assert_eq!(
        plan.regions,
        [
            region("eu-central-1"),
            region("sa-east-1"),
            region("us-east-1")
        ]
    );
    // sa-east-1, no launches: a kept copy of 10 GiB costs 10 x $0.068 storage + 10 x $0.02
    // transfer = $0.88 a month for nothing.
    let idle = plan
        .retire
        .iter()
        .find(|p| p.region == region("sa-east-1"))
        .unwrap();
    assert_usd!(idle.cost_usd_per_month, 0.88);
    assert_usd!(idle.benefit_usd_per_month, 0.0);
    assert_eq!(idle.blocked, None);
    let used = plan
        .retire
        .iter()
        .find(|p| p.region == region("eu-central-1"))
        .unwrap();
    assert!(used.blocked.is_some());
    // No build (us-east-1 has its image), no copy, one retirement (the unused image).
    assert_eq!(
        plan.actions(),
        [PlanAction::Retire {
            template: "python-ml".into(),
            image: "ami-00000000000000002".parse().unwrap(),
            region: region("sa-east-1"),
        }]
    );
}

#[test]
fn build_tags_are_the_measured_times() {
    let mut tagged = image("ami-00000000000000001", "python-ml", "us-east-1", 8);
    tagged
        .tags
        .insert("amiref:script-ready-seconds".into(), "600".into());
    tagged
        .tags
        .insert("amiref:image-ready-seconds".into(), "60".into());
    let inputs = PlanInputs::new(now())
        .template(template("python-ml", "30m"))
        .usage(usage(&[("python-ml", "us-east-1", 100.0)]))
        .images([ImageSignal::new(tagged, Ok(ImageUsage::default()))]);
    let plan = plan(&inputs, &monthly_model());
    let row = plan.row("python-ml", Architecture::X86_64).unwrap();
    assert_eq!(row.script_time.ready_secs, 600.0);
    assert_eq!(row.image_time.ready_secs, 60.0);
    assert!(matches!(
        row.script_time.source,
        TimeSource::Measured { .. }
    ));
    // saving: 100 x (540 s = 0.15 h) x $0.096 = $1.44
    let cell = &row.cells[0];
    assert_usd!(cell.saving_usd_per_month, 1.44);
}

#[test]
fn each_partition_builds_its_own_home() {
    // Copies never leave a partition: cn-north-1 cannot copy from us-east-1, so it is
    // weighed as a home of its own. 100 launches: saving 100 x 0.4916667 x $0.096 = $4.72;
    // cost 8 x $0.06 (China's estimated storage) + $0.0648 = $0.5448.
    let inputs = PlanInputs::new(now())
        .template(template("python-ml", "30m"))
        .usage(usage(&[
            ("python-ml", "us-east-1", 100.0),
            ("python-ml", "cn-north-1", 100.0),
        ]));
    let plan = plan(&inputs, &monthly_model());
    let china = plan
        .cell("python-ml", Architecture::X86_64, &region("cn-north-1"))
        .unwrap();
    assert_eq!(china.decision, Decision::BuildHere);
    assert_usd!(china.saving_usd_per_month, 4.72);
    assert_usd!(china.cost_usd_per_month, 0.5448);
    let builds: Vec<_> = plan
        .actions()
        .into_iter()
        .filter(|a| matches!(a, PlanAction::Build { .. }))
        .collect();
    assert_eq!(builds.len(), 2);
}

#[test]
fn images_in_use_or_of_unknown_use_are_proposed_but_kept() {
    // The on-demand case above (ap-south-1, 0.5 launches, a waiting hour at $2), with an
    // image there that EC2 says was launched 3 days ago, and one in sa-east-1 (script)
    // whose references could not be asked.
    let model = monthly_model().with_waiting_hour_usd(2.0);
    let mut recent = image("ami-00000000000000004", "python-ml", "ap-south-1", 8);
    recent.last_launched = Some(now() - chrono::TimeDelta::days(3));
    let unknown = image("ami-00000000000000005", "python-ml", "sa-east-1", 8);
    let throttled = amiref_core::CloudError::new(
        amiref_core::CloudErrorKind::Throttled,
        "DescribeImageReferences",
        "Rate exceeded",
    );
    let inputs = PlanInputs::new(now())
        .template(template("python-ml", "30m"))
        .usage(usage(&[
            ("python-ml", "us-east-1", 200.0),
            ("python-ml", "ap-south-1", 0.5),
            ("python-ml", "sa-east-1", 0.0),
        ]))
        .images([
            ImageSignal::new(recent, Ok(ImageUsage::default())),
            ImageSignal::new(unknown, Err(throttled)),
        ]);
    let plan = plan(&inputs, &model);
    let blocks: Vec<_> = plan.retire.iter().map(|p| p.blocked.clone()).collect();
    assert!(matches!(
        blocks[..],
        [
            Some(amiref_plan::RetireBlock::LaunchedRecently { .. }),
            Some(amiref_plan::RetireBlock::UsageUnknown { .. })
        ]
    ));
    assert!(
        !plan
            .actions()
            .iter()
            .any(|a| matches!(a, PlanAction::Retire { .. }))
    );
    assert_eq!(plan.totals.retire_count, 2);
}

#[test]
fn templates_without_a_script_are_left_out() {
    let bare = amiref_template::Template::from_yaml_str(
        "name: bare\nami_config:\n  fallback_strategy: error\n  ami_mappings:\n    us-east-1: ami-0123456789abcdef0\n",
        "bare.yml",
    )
    .unwrap();
    let inputs = PlanInputs::new(now())
        .template(amiref_plan::TemplateInput::new(bare))
        .usage(usage(&[("bare", "us-east-1", 500.0)]));
    let plan = plan(&inputs, &monthly_model());
    assert!(plan.rows.is_empty());
    assert_eq!(plan.skipped.len(), 1);
    assert_eq!(plan.skipped[0].template, "bare");
    assert!(
        plan.notes.iter().any(|n| n.contains("bare")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn registry_verification_is_the_measured_times_and_unpriced_types_are_noted() {
    let mut verification =
        amiref_registry::Verification::new(true, amiref_registry::ScanStatus::Passed);
    verification.script_ready_secs = Some(900.0);
    verification.image_ready_secs = Some(45.0);
    let measured = amiref_plan::MeasuredTimes::from_verification(&verification).unwrap();
    // An instance type the built-in table does not price: instance time counts as $0.
    let yaml = "name: gpu\ninstance_type: p5.48xlarge\nuser_data: |\n  #!/bin/sh\n  true\n";
    let template = amiref_template::Template::from_yaml_str(yaml, "gpu.yml").unwrap();
    let inputs = PlanInputs::new(now())
        .template(amiref_plan::TemplateInput::new(template).with_measured(measured))
        .usage(usage(&[("gpu", "us-east-1", 10.0)]));
    // With a waiting hour at $30: 10 x (855 s = 0.2375 h) x $30 = $71.25.
    let plan = plan(&inputs, &monthly_model().with_waiting_hour_usd(30.0));
    let row = plan.row("gpu", Architecture::X86_64).unwrap();
    assert_eq!(
        row.script_time.source,
        TimeSource::Measured {
            from: amiref_plan::MeasurementSource::RegistryVerification
        }
    );
    assert_eq!(row.cells[0].hourly_price_usd, None);
    assert_usd!(row.cells[0].saving_usd_per_month, 71.25);
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("no price for p5.48xlarge in us-east-1")),
        "{:?}",
        plan.notes
    );
}
