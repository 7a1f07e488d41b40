//! The `InstanceControl` suite: instances boot, stop and terminate through EC2's states,
//! unknown instances are not found, the serial console shows the boot and a build's wrapped
//! script's marker, instances are found by tags, and an image of an instance records the
//! image it came from.

use std::collections::BTreeMap;
use std::time::Duration;

use amiref_core::completion::{Completion, ScriptHeader, ScriptStage, wrap_script};
use amiref_core::{
    Cloud, CloudErrorKind, CreateImageRequest, InstanceFilter, InstanceId, InstanceState,
};

use crate::report::{Failure, ensure};
use crate::waiting::{launch_request, reaches, state_of, until};
use crate::{Capabilities, Fixture, Report};

/// The tag every instance this suite launches carries, valued with the run's id.
const RUN_TAG: &str = "conformance-run";

async fn launch(
    cloud: &dyn Cloud,
    fixture: &Fixture,
    user_data: Option<String>,
) -> Result<InstanceId, Failure> {
    let mut request = launch_request(fixture)?;
    request.user_data = user_data;
    request
        .tags
        .insert(RUN_TAG.to_owned(), fixture.run_id.clone());
    Ok(cloud.run_instance(&fixture.region, &request).await?)
}

fn missing() -> Result<InstanceId, Failure> {
    "i-0000000000000dead"
        .parse()
        .map_err(|e| Failure(format!("{e}")))
}

/// Runs every instance-control check against `cloud`, seeded with `fixture`.
pub async fn run(cloud: &dyn Cloud, fixture: &Fixture, caps: &Capabilities) -> Report {
    let mut r = Report::new("instance control");
    let region = &fixture.region;

    r.check("a_launched_instance_boots_to_running", async {
        let id = launch(cloud, fixture, None).await?;
        reaches(cloud, fixture, &id, InstanceState::Running).await
    })
    .await;

    r.check("stop_then_terminate_reach_stopped_and_terminated", async {
        let id = launch(cloud, fixture, None).await?;
        reaches(cloud, fixture, &id, InstanceState::Running).await?;
        cloud
            .stop_instances(region, std::slice::from_ref(&id))
            .await?;
        reaches(cloud, fixture, &id, InstanceState::Stopped).await?;
        cloud
            .stop_instances(region, std::slice::from_ref(&id))
            .await
            .map_err(|e| Failure(format!("stopping a stopped instance failed: {e}")))?;
        cloud
            .terminate_instances(region, std::slice::from_ref(&id))
            .await?;
        reaches(cloud, fixture, &id, InstanceState::Terminated).await?;
        cloud
            .terminate_instances(region, std::slice::from_ref(&id))
            .await
            .map_err(|e| Failure(format!("terminating a terminated instance failed: {e}")))?;
        Ok(())
    })
    .await;

    r.check_if(
        caps.instance_lifecycle,
        "instance_lifecycle",
        "states_pass_through_pending_stopping_and_shutting_down",
        async {
            let id = launch(cloud, fixture, None).await?;
            let first = state_of(cloud, fixture, &id).await?;
            ensure!(
                first == Some(InstanceState::Pending),
                "a new instance is {first:?}, not pending"
            );
            reaches(cloud, fixture, &id, InstanceState::Running).await?;
            cloud
                .stop_instances(region, std::slice::from_ref(&id))
                .await?;
            let stopping = state_of(cloud, fixture, &id).await?;
            ensure!(
                stopping == Some(InstanceState::Stopping),
                "a stopped instance is {stopping:?} at once, not stopping"
            );
            cloud
                .terminate_instances(region, std::slice::from_ref(&id))
                .await?;
            let going = state_of(cloud, fixture, &id).await?;
            ensure!(
                going == Some(InstanceState::ShuttingDown),
                "a terminated instance is {going:?} at once, not shutting-down"
            );
            reaches(cloud, fixture, &id, InstanceState::Terminated).await?;
            match cloud
                .stop_instances(region, std::slice::from_ref(&id))
                .await
            {
                Err(e) if e.code.as_deref() == Some("IncorrectInstanceState") => Ok(()),
                Err(e) => Err(Failure(format!("refused with {e} (code {:?})", e.code))),
                Ok(()) => Err(Failure("a terminated instance was stopped".to_owned())),
            }
        },
    )
    .await;

    r.check("unknown_instances_are_not_found", async {
        let missing = missing()?;
        let ids = std::slice::from_ref(&missing);
        for (call, result) in [
            ("StopInstances", cloud.stop_instances(region, ids).await),
            (
                "TerminateInstances",
                cloud.terminate_instances(region, ids).await,
            ),
            (
                "GetConsoleOutput",
                cloud.console_output(region, &missing).await.map(|_| ()),
            ),
        ] {
            match result {
                Err(e) if e.kind == CloudErrorKind::NotFound => {}
                Err(e) => return Err(Failure(format!("{call} refused with the wrong kind: {e}"))),
                Ok(()) => return Err(Failure(format!("{call} of {missing} succeeded"))),
            }
        }
        Ok(())
    })
    .await;

    r.check("instances_are_found_by_tags", async {
        let id = launch(cloud, fixture, None).await?;
        let mine = InstanceFilter::all().tag(RUN_TAG, Some(fixture.run_id.clone()));
        let found = cloud.describe_instances(region, &mine).await?;
        ensure!(
            found.iter().any(|i| i.id == id),
            "the tag {RUN_TAG}={} does not find {id}",
            fixture.run_id
        );
        ensure!(
            found
                .iter()
                .all(|i| i.tags.get(RUN_TAG) == Some(&fixture.run_id)),
            "the tag filter let through untagged instances"
        );
        let other = InstanceFilter::all().tag(RUN_TAG, Some(format!("{}-not", fixture.run_id)));
        let none = cloud.describe_instances(region, &other).await?;
        ensure!(
            !none.iter().any(|i| i.id == id),
            "another tag value found {id}"
        );
        let any = InstanceFilter::all().tag(RUN_TAG, None);
        let found = cloud.describe_instances(region, &any).await?;
        ensure!(
            found.iter().any(|i| i.id == id),
            "a key-only filter misses {id}"
        );
        Ok(())
    })
    .await;

    r.check_if(
        caps.console_output,
        "console_output",
        "the_console_shows_the_boot_once_running",
        async {
            let id = launch(cloud, fixture, None).await?;
            reaches(cloud, fixture, &id, InstanceState::Running).await?;
            let text = until("console output", Duration::from_secs(600), || async {
                let out = cloud.console_output(region, &id).await?;
                Ok(out.text.filter(|t| !t.is_empty()))
            })
            .await?;
            ensure!(
                !text.contains(amiref_core::completion::MARKER),
                "a plain instance printed a build marker: {text}"
            );
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.script_completion,
        "script_completion",
        "a_wrapped_script_reports_its_exit_status",
        async {
            let build = fixture.unique_name("build");
            let header = ScriptHeader::new("conformance", build.as_str(), ScriptStage::Provision);
            let script =
                wrap_script("#!/bin/bash\ntrue\n", &header).map_err(|e| Failure(e.to_string()))?;
            let id = launch(cloud, fixture, Some(script)).await?;
            let done = until(
                "the script's marker",
                Duration::from_secs(2 * 3600),
                || async {
                    let out = cloud.console_output(region, &id).await?;
                    Ok(out
                        .text
                        .and_then(|t| Completion::find(&t, &build, ScriptStage::Provision)))
                },
            )
            .await?;
            ensure!(done.succeeded(), "`true` exited {}", done.status);
            let out = cloud.console_output(region, &id).await?;
            ensure!(
                out.timestamp.is_some(),
                "console output with text has no timestamp"
            );
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.image_ancestry,
        "image_ancestry",
        "an_image_of_an_instance_records_its_source",
        async {
            let id = launch(cloud, fixture, None).await?;
            reaches(cloud, fixture, &id, InstanceState::Running).await?;
            let mut request = CreateImageRequest::new(id.clone(), fixture.unique_name("captured"));
            request.tags = BTreeMap::from([(RUN_TAG.to_owned(), fixture.run_id.clone())]);
            let image = cloud.create_image(region, &request).await?;
            let described = cloud
                .describe_images(region, std::slice::from_ref(&image))
                .await?;
            let created = described
                .first()
                .ok_or_else(|| Failure(format!("{image} is not described")))?;
            let source = launch_request(fixture)?.image;
            ensure!(
                created.source_image.as_ref() == Some(&source),
                "its source image is {:?}, not {source}",
                created.source_image
            );
            ensure!(
                created.source_region.as_ref() == Some(region),
                "its source region is {:?}",
                created.source_region
            );
            cloud.deregister_image(region, &image, true).await?;
            Ok(())
        },
    )
    .await;

    r
}
