//! The `Instances` suite: launching, and EC2's refusals.

use amiref_core::{Architecture, CloudErrorKind, Instances, RunInstanceRequest};

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
