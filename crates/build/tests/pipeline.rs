//! A build on the in-process cloud: every stage, what it leaves, and what it measured.

mod common;

use amiref_build::{Builder, Stage, tags};
use amiref_core::ImageState;
use common::*;

#[tokio::test(start_paused = true)]
async fn a_build_runs_every_stage_and_leaves_only_its_images() {
    let cloud = world(succeeding());
    let before = live(&cloud, "us-east-1");
    let host = Host::new(&cloud);
    let lifecycle = host.lifecycle();
    let builder = Builder::new(&lifecycle, &host.resolver);
    let report = builder
        .build(&spec(&["us-east-1", "eu-west-1"]))
        .await
        .expect("the build succeeds");
    let image = &report.images[0];
    let stages: Vec<Stage> = image.stages.iter().map(|s| s.stage).collect();
    assert_eq!(
        stages,
        [
            Stage::Provision,
            Stage::Capture,
            Stage::Test,
            Stage::Distribute
        ]
    );
    assert!(image.stages.iter().all(|s| !s.resumed));
    println!("{image:#?}");
    let after = live(&cloud, "us-east-1");
    assert_eq!(after.live_instances(), before.live_instances(), "{after:?}");
    assert_eq!(after.security_groups, before.security_groups);
    assert_eq!(after.image_count(), before.image_count() + 1);
    let made = cloud
        .inspect_image(&region("us-east-1"), &image.tested.image)
        .expect("the image");
    assert_eq!(made.state, ImageState::Available);
    assert_eq!(
        made.tag(tags::TAG_BUILD_STAGE),
        Some(tags::STAGE_DISTRIBUTED)
    );
}
