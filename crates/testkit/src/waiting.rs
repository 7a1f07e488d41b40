//! Waiting on a backend's clock: the new-port suites poll until a state is reached, with a
//! deadline, so one suite runs on the in-process cloud's paused clock (where waiting is
//! instant) and against an emulator or AWS in real time alike.

use std::future::Future;
use std::time::Duration;

use amiref_core::{
    Architecture, Cloud, InstanceFilter, InstanceId, InstanceState, RunInstanceRequest,
};

use crate::Fixture;
use crate::fixture::keys::MINE_X86;
use crate::report::Failure;

/// How long between two polls.
pub(crate) const POLL: Duration = Duration::from_secs(5);

/// Polls `probe` every [`POLL`] until it answers `Some`, for at most `deadline`.
pub(crate) async fn until<T, F, Fut>(
    what: &str,
    deadline: Duration,
    mut probe: F,
) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, Failure>>,
{
    let start = tokio::time::Instant::now();
    loop {
        if let Some(found) = probe().await? {
            return Ok(found);
        }
        if start.elapsed() >= deadline {
            return Err(Failure(format!("{what}: not within {deadline:?}")));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The instance's state, `None` once it is no longer described.
pub(crate) async fn state_of(
    cloud: &dyn Cloud,
    fixture: &Fixture,
    id: &InstanceId,
) -> Result<Option<InstanceState>, Failure> {
    let found = cloud
        .describe_instances(&fixture.region, &InstanceFilter::ids([id.clone()]))
        .await?;
    Ok(found.first().map(|i| i.state))
}

/// Waits until the instance is in `state` (10 minutes at most).
pub(crate) async fn reaches(
    cloud: &dyn Cloud,
    fixture: &Fixture,
    id: &InstanceId,
    state: InstanceState,
) -> Result<(), Failure> {
    until(
        &format!("{id} reaching {state}"),
        Duration::from_secs(600),
        || async move { Ok((state_of(cloud, fixture, id).await? == Some(state)).then_some(())) },
    )
    .await
}

/// A launch of the caller's own x86_64 fixture image on the fixture's x86_64 type.
pub(crate) fn launch_request(fixture: &Fixture) -> Result<RunInstanceRequest, Failure> {
    let instance_type = fixture
        .instance_types
        .iter()
        .find(|(_, archs)| archs.contains(&Architecture::X86_64))
        .map(|(t, _)| t.clone())
        .ok_or_else(|| Failure("the fixture has no x86_64 instance type".to_owned()))?;
    Ok(RunInstanceRequest::new(
        fixture.id(MINE_X86)?,
        instance_type,
    ))
}
