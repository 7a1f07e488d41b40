//! The `SecurityGroups` suite: a group is created with its tags, found by them, refused
//! twice under one name, kept while an instance uses it, and deleted.

use std::collections::BTreeMap;

use amiref_core::{Cloud, CloudErrorKind, InstanceState, SecurityGroupId, SecurityGroupRequest};

use crate::report::{Failure, ensure};
use crate::waiting::{launch_request, reaches};
use crate::{Capabilities, Fixture, Report};

/// The tag key every group this suite creates carries; its value names the group.
const GROUP_TAG: &str = "conformance-group";

fn request(fixture: &Fixture, what: &str) -> SecurityGroupRequest {
    let mut request = SecurityGroupRequest::new(fixture.unique_name(what), "a conformance check");
    request
        .tags
        .insert(GROUP_TAG.to_owned(), fixture.unique_name(what));
    request
}

fn tagged(fixture: &Fixture, what: &str) -> BTreeMap<String, Option<String>> {
    BTreeMap::from([(GROUP_TAG.to_owned(), Some(fixture.unique_name(what)))])
}

async fn ids_tagged(
    cloud: &dyn Cloud,
    fixture: &Fixture,
    what: &str,
) -> Result<Vec<SecurityGroupId>, Failure> {
    let found = cloud
        .describe_security_groups(&fixture.region, &tagged(fixture, what))
        .await?;
    Ok(found.into_iter().map(|g| g.id).collect())
}

/// Runs every security-group check against `cloud`, seeded with `fixture`.
pub async fn run(cloud: &dyn Cloud, fixture: &Fixture, caps: &Capabilities) -> Report {
    let mut r = Report::new("security groups");
    let region = &fixture.region;

    r.check("a_created_group_is_found_by_its_tags", async {
        let want = request(fixture, "found");
        let id = cloud.create_security_group(region, &want).await?;
        let found = cloud
            .describe_security_groups(region, &tagged(fixture, "found"))
            .await?;
        ensure!(
            found.iter().map(|g| &g.id).collect::<Vec<_>>() == [&id],
            "its tag found {:?}, not {id}",
            found.iter().map(|g| g.id.to_string()).collect::<Vec<_>>()
        );
        ensure!(found[0].name == want.name, "it is named {}", found[0].name);
        ensure!(
            found[0].tags == want.tags,
            "its tags are {:?}",
            found[0].tags
        );
        ensure!(found[0].vpc.is_some(), "it is in no VPC");
        let any = BTreeMap::from([(GROUP_TAG.to_owned(), None)]);
        let found = cloud.describe_security_groups(region, &any).await?;
        ensure!(
            found.iter().any(|g| g.id == id),
            "a key-only filter misses {id}"
        );
        let elsewhere = cloud
            .describe_security_groups(&fixture.other_region, &tagged(fixture, "found"))
            .await?;
        ensure!(elsewhere.is_empty(), "groups are regional: {elsewhere:?}");
        Ok(())
    })
    .await;

    r.check("a_name_is_taken_once_per_vpc", async {
        let want = request(fixture, "twice");
        cloud.create_security_group(region, &want).await?;
        match cloud.create_security_group(region, &want).await {
            Err(e) if e.kind == CloudErrorKind::InvalidRequest => {
                ensure!(
                    e.code.as_deref() == Some("InvalidGroup.Duplicate"),
                    "refused with code {:?}, EC2 says InvalidGroup.Duplicate",
                    e.code
                );
                Ok(())
            }
            Err(e) => Err(Failure(format!("refused with the wrong kind: {e}"))),
            Ok(id) => Err(Failure(format!(
                "a second group of one name was made: {id}"
            ))),
        }
    })
    .await;

    r.check("a_deleted_group_is_gone", async {
        let id = cloud
            .create_security_group(region, &request(fixture, "deleted"))
            .await?;
        cloud.delete_security_group(region, &id).await?;
        let left = ids_tagged(cloud, fixture, "deleted").await?;
        ensure!(left.is_empty(), "still described: {left:?}");
        match cloud.delete_security_group(region, &id).await {
            Err(e) if e.kind == CloudErrorKind::NotFound => Ok(()),
            Err(e) => Err(Failure(format!("deleting again: the wrong kind: {e}"))),
            Ok(()) => Err(Failure("a deleted group was deleted again".to_owned())),
        }
    })
    .await;

    r.check_if(
        caps.group_dependencies,
        "group_dependencies",
        "a_group_in_use_is_kept_until_its_instance_is_terminated",
        async {
            let id = cloud
                .create_security_group(region, &request(fixture, "in-use"))
                .await?;
            let mut launch = launch_request(fixture)?;
            launch.security_groups = vec![id.clone()];
            let instance = cloud.run_instance(region, &launch).await?;
            match cloud.delete_security_group(region, &id).await {
                Err(e) if e.kind == CloudErrorKind::InvalidRequest => ensure!(
                    e.code.as_deref() == Some("DependencyViolation"),
                    "refused with code {:?}, EC2 says DependencyViolation",
                    e.code
                ),
                Err(e) => return Err(Failure(format!("refused with the wrong kind: {e}"))),
                Ok(()) => return Err(Failure("a group in use was deleted".to_owned())),
            }
            cloud
                .terminate_instances(region, std::slice::from_ref(&instance))
                .await?;
            reaches(cloud, fixture, &instance, InstanceState::Terminated).await?;
            cloud.delete_security_group(region, &id).await?;
            Ok(())
        },
    )
    .await;

    r.check_if(
        caps.network_validation,
        "network_validation",
        "a_launch_into_an_unknown_group_is_refused",
        async {
            let mut launch = launch_request(fixture)?;
            launch.security_groups = vec![
                "sg-0000000000000dead"
                    .parse()
                    .map_err(|e| Failure(format!("{e}")))?,
            ];
            match cloud.run_instance(region, &launch).await {
                Err(e) if e.kind == CloudErrorKind::NotFound => Ok(()),
                Err(e) => Err(Failure(format!("refused with the wrong kind: {e}"))),
                Ok(id) => Err(Failure(format!("launched into no group as {id}"))),
            }
        },
    )
    .await;

    r
}
