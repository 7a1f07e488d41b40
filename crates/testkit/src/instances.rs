//! The `Instances` suite: launching, EC2's refusals, and finding instances by id, Name tag
//! and state.

use amiref_core::{
    Architecture, CloudErrorKind, Instance, InstanceFilter, InstanceId, InstanceState, Instances,
    NAME_TAG, RunInstanceRequest,
};

use crate::fixture::keys::*;
use crate::report::{Failure, ensure};
use crate::{Capabilities, Fixture, Report};

/// Runs every launch check against `instances`, seeded with `fixture`.
pub async fn run(instances: &dyn Instances, fixture: &Fixture, caps: &Capabilities) -> Report {
    let mut r = Report::new("instances");
    let type_for = |arch: Architecture| {
        fixture
            .instance_types
            .iter()
            .find(|(_, archs)| archs.contains(&arch))
            .map(|(t, _)| t.clone())
            .ok_or_else(|| Failure(format!("the fixture has no instance type for {arch}")))
    };

    r.check("launches_an_available_image", async {
        let request =
            RunInstanceRequest::new(fixture.id(MINE_X86)?, type_for(Architecture::X86_64)?);
        instances.run_instance(&fixture.region, &request).await?;
        Ok(())
    })
    .await;

    r.check_if(
        caps.launch_validation,
        "launch_validation",
        "refuses_an_architecture_mismatch",
        async {
            let request =
                RunInstanceRequest::new(fixture.id(MINE_ARM)?, type_for(Architecture::X86_64)?);
            match instances.run_instance(&fixture.region, &request).await {
                Err(e) if e.kind == CloudErrorKind::InvalidRequest => {
                    ensure!(
                        e.code.as_deref() == Some("InvalidParameterValue"),
                        "refused with code {:?}, EC2 says InvalidParameterValue",
                        e.code
                    );
                    Ok(())
                }
                Err(e) => Err(Failure(format!("refused with the wrong kind: {e}"))),
                Ok(id) => Err(Failure(format!(
                    "an arm64 image was launched on an x86_64 type as {id}"
                ))),
            }
        },
    )
    .await;

    r.check("refuses_a_missing_image", async {
        let request = RunInstanceRequest::new(
            fixture.missing_image.clone(),
            type_for(Architecture::X86_64)?,
        );
        match instances.run_instance(&fixture.region, &request).await {
            Err(e) if e.kind == CloudErrorKind::NotFound => Ok(()),
            Err(e) => Err(Failure(format!("refused with the wrong kind: {e}"))),
            Ok(id) => Err(Failure(format!("a missing image was launched as {id}"))),
        }
    })
    .await;

    r.check_if(
        caps.launch_validation && caps.pending_states,
        "launch_validation",
        "refuses_a_pending_image",
        async {
            let request = RunInstanceRequest::new(
                fixture.id(PYTHON_220_PENDING)?,
                type_for(Architecture::X86_64)?,
            );
            match instances.run_instance(&fixture.region, &request).await {
                Err(_) => Ok(()),
                Ok(id) => Err(Failure(format!("a pending image was launched as {id}"))),
            }
        },
    )
    .await;

    // Launches an x86_64 instance of the fixture's named `name` (unique to the run).
    let launch_named = async |name: &str| -> Result<(InstanceId, RunInstanceRequest), Failure> {
        let mut request =
            RunInstanceRequest::new(fixture.id(MINE_X86)?, type_for(Architecture::X86_64)?);
        request
            .tags
            .insert(NAME_TAG.to_owned(), fixture.unique_name(name));
        let id = instances.run_instance(&fixture.region, &request).await?;
        Ok((id, request))
    };
    let ids = |found: &[Instance]| found.iter().map(|i| i.id.to_string()).collect::<Vec<_>>();

    r.check("describes_a_launched_instance_by_its_name", async {
        let (id, request) = launch_named("described").await?;
        let name = fixture.unique_name("described");
        let found = instances
            .describe_instances(&fixture.region, &InstanceFilter::named(name.as_str()))
            .await?;
        ensure!(
            ids(&found) == [id.to_string()],
            "a search by the Name tag {name} answered {:?}, not {id}",
            ids(&found)
        );
        let i = &found[0];
        ensure!(
            i.name() == Some(name.as_str()),
            "its name is {:?}",
            i.name()
        );
        ensure!(
            i.region == fixture.region,
            "it is described in {}",
            i.region
        );
        ensure!(i.image == request.image, "its image is {}", i.image);
        ensure!(
            i.instance_type == request.instance_type,
            "its instance type is {}",
            i.instance_type
        );
        ensure!(
            matches!(i.state, InstanceState::Pending | InstanceState::Running),
            "a new instance is {}",
            i.state
        );
        ensure!(
            i.architecture.is_none_or(|a| a == Architecture::X86_64),
            "an instance of an x86_64 image runs {:?}",
            i.architecture
        );
        Ok(())
    })
    .await;

    r.check("describes_by_id_leaving_out_missing_ids", async {
        let (id, _) = launch_named("by-id").await?;
        let missing: InstanceId = "i-0000000000000dead"
            .parse()
            .map_err(|e| Failure(format!("{e}")))?;
        let found = instances
            .describe_instances(&fixture.region, &InstanceFilter::ids([id.clone(), missing]))
            .await?;
        ensure!(
            ids(&found) == [id.to_string()],
            "asked for {id} and a missing id, answered {:?}",
            ids(&found)
        );
        Ok(())
    })
    .await;

    r.check("name_and_state_filters_narrow_the_answer", async {
        let (first, _) = launch_named("pair-a").await?;
        let (second, _) = launch_named("pair-b").await?;
        let mut both = vec![first.to_string(), second.to_string()];
        both.sort();
        let pair = fixture.unique_name("pair-*");
        let found = instances
            .describe_instances(&fixture.region, &InstanceFilter::named(pair.as_str()))
            .await?;
        ensure!(
            ids(&found) == both,
            "the pattern {pair} answered {:?}, not {both:?} in id order",
            ids(&found)
        );
        let one = InstanceFilter::named(fixture.unique_name("pair-a"));
        let found = instances.describe_instances(&fixture.region, &one).await?;
        ensure!(
            ids(&found) == [first.to_string()],
            "one name answered {:?}",
            ids(&found)
        );
        let live = one
            .clone()
            .in_states([InstanceState::Pending, InstanceState::Running]);
        let found = instances.describe_instances(&fixture.region, &live).await?;
        ensure!(
            ids(&found) == [first.to_string()],
            "a live instance is absent from live states: {:?}",
            ids(&found)
        );
        let gone = one
            .clone()
            .in_states([InstanceState::Terminated, InstanceState::Stopped]);
        let found = instances.describe_instances(&fixture.region, &gone).await?;
        ensure!(
            found.is_empty(),
            "a running instance is described as gone: {:?}",
            ids(&found)
        );
        let everything = instances
            .describe_instances(&fixture.region, &InstanceFilter::all())
            .await?;
        ensure!(
            [&first, &second]
                .iter()
                .all(|id| everything.iter().any(|i| i.id == **id)),
            "the whole region's answer lacks {first} or {second}"
        );
        let elsewhere = instances
            .describe_instances(&fixture.other_region, &one)
            .await?;
        ensure!(
            elsewhere.is_empty(),
            "an instance of {} is described in {}: {:?}",
            fixture.region,
            fixture.other_region,
            ids(&elsewhere)
        );
        Ok(())
    })
    .await;

    r.check_if(
        caps.client_tokens,
        "client_tokens",
        "launch_is_idempotent_by_client_token",
        async {
            let mut request =
                RunInstanceRequest::new(fixture.id(MINE_X86)?, type_for(Architecture::X86_64)?);
            request.client_token = Some(fixture.unique_name("launch"));
            let first = instances.run_instance(&fixture.region, &request).await?;
            let second = instances.run_instance(&fixture.region, &request).await?;
            ensure!(
                first == second,
                "one client token launched {first} and {second}"
            );
            Ok(())
        },
    )
    .await;

    r
}
