//! The build's mutating calls, each audited, and the tags its temporary resources carry.

use std::collections::BTreeMap;
use std::time::Duration;

use amiref_core::{
    AmiId, CloudErrorKind, ImageStore, Instance, InstanceControl, InstanceFilter, InstanceId,
    InstanceState, Instances, Region, RunInstanceRequest, SecurityGroupId, SecurityGroupRequest,
    SecurityGroups,
};
use amiref_layers::{Acceptance, WaitError, Waiter};
use amiref_lifecycle::tags::TAG_MANAGED_BY;
use amiref_lifecycle::{Actor, AuditOutcome, AuditRecord, Lifecycle};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::BuildId;
use crate::error::StageError;
use crate::tags::{TAG_BUILD_ID, TAG_BUILD_ROLE, TAG_EXPIRES};

/// The value of [`TAG_EXPIRES`] on a kept image: it never expires (EC2's API has no call in
/// amiref's ports to remove a tag, so the tag is overwritten).
pub(crate) const NEVER: &str = "never";

/// The tags every resource of `build` carries: its id, its role, `managed-by`, and when it
/// becomes a leftover.
pub(crate) fn temporary_tags(
    build: &BuildId,
    role: &str,
    expires: DateTime<Utc>,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_BUILD_ID.to_owned(), build.to_string()),
        (TAG_BUILD_ROLE.to_owned(), role.to_owned()),
        (TAG_MANAGED_BY.to_owned(), "amiref".to_owned()),
        (TAG_EXPIRES.to_owned(), expires_value(expires)),
    ])
}

/// [`TAG_EXPIRES`]'s value for `at`: RFC 3339, whole seconds, UTC.
pub(crate) fn expires_value(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Whether a resource with these tags expired before `now`. A missing or unreadable
/// expiry, or [`NEVER`], never expires: a sweep removes only what says it may.
pub(crate) fn is_expired(tags: &BTreeMap<String, String>, now: DateTime<Utc>) -> bool {
    tags.get(TAG_EXPIRES)
        .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
        .is_some_and(|at| at.with_timezone(&Utc) <= now)
}

/// The build's audited calls on one lifecycle's cloud.
pub(crate) struct Calls<'l, 'c> {
    pub(crate) lifecycle: &'l Lifecycle<'c>,
}

impl Calls<'_, '_> {
    async fn actor(&self) -> Result<Actor, StageError> {
        Ok(Actor::from(self.lifecycle.caller().await?))
    }

    /// Makes one mutating call written ahead: `operation`'s intent is recorded first (when
    /// that fails the call is not made), then the call, then its outcome, naming the
    /// resource `made` says the call produced.
    async fn written_ahead<T, Fut>(
        &self,
        operation: &str,
        region: &Region,
        target: Option<String>,
        details: serde_json::Value,
        call: impl FnOnce() -> Fut,
        made: impl FnOnce(&T) -> Option<String>,
    ) -> Result<T, StageError>
    where
        Fut: std::future::Future<Output = Result<T, StageError>>,
    {
        let mut record = AuditRecord::new(self.actor().await?, operation, AuditOutcome::Intended)
            .region(region)
            .details(details);
        if let Some(target) = target {
            record = record.target(target);
        }
        let intent = self.lifecycle.intend(record)?;
        let result = call().await;
        let (intent, outcome) = match &result {
            Ok(value) => (
                match made(value) {
                    Some(target) => intent.target(target),
                    None => intent,
                },
                AuditOutcome::Succeeded,
            ),
            Err(e) => (
                intent,
                AuditOutcome::Failed {
                    error: e.to_string(),
                },
            ),
        };
        self.lifecycle.conclude(intent, outcome)?;
        result
    }

    /// Launches an instance (idempotent by the request's client token).
    pub(crate) async fn run_instance(
        &self,
        region: &Region,
        request: &RunInstanceRequest,
    ) -> Result<InstanceId, StageError> {
        let details = json!({
            "image": request.image,
            "instance_type": request.instance_type,
            "client_token": request.client_token,
            "require_imdsv2": request.require_imdsv2,
            "subnet": request.subnet,
            "security_groups": request.security_groups,
            "instance_profile": request.instance_profile,
            "tags": request.tags,
        });
        let call = || async {
            self.lifecycle
                .cloud()
                .run_instance(region, request)
                .await
                .map_err(|e| StageError::cloud(format!("launching from {}", request.image), e))
        };
        self.written_ahead("run_instance", region, None, details, call, |id| {
            Some(id.to_string())
        })
        .await
    }

    /// Starts stopping an instance.
    pub(crate) async fn stop(&self, region: &Region, id: &InstanceId) -> Result<(), StageError> {
        let call = || async {
            self.lifecycle
                .cloud()
                .stop_instances(region, std::slice::from_ref(id))
                .await
                .map_err(|e| StageError::cloud(format!("stopping {id}"), e))
        };
        let target = Some(id.to_string());
        self.written_ahead("stop_instances", region, target, json!({}), call, |_| None)
            .await
    }

    /// Starts terminating instances.
    pub(crate) async fn terminate(
        &self,
        region: &Region,
        ids: &[InstanceId],
    ) -> Result<(), StageError> {
        let call = || async {
            self.lifecycle
                .cloud()
                .terminate_instances(region, ids)
                .await
                .map_err(|e| StageError::cloud(format!("terminating {ids:?}"), e))
        };
        let details = json!({ "instances": ids });
        self.written_ahead("terminate_instances", region, None, details, call, |_| None)
            .await
    }

    /// Creates a security group.
    pub(crate) async fn create_group(
        &self,
        region: &Region,
        request: &SecurityGroupRequest,
    ) -> Result<SecurityGroupId, StageError> {
        let call = || async {
            self.lifecycle
                .cloud()
                .create_security_group(region, request)
                .await
                .map_err(|e| {
                    StageError::cloud(format!("creating security group {}", request.name), e)
                })
        };
        let details = json!({ "name": request.name, "vpc": request.vpc, "tags": request.tags });
        self.written_ahead("create_security_group", region, None, details, call, |id| {
            Some(id.to_string())
        })
        .await
    }

    /// Deletes a security group; one already gone counts as deleted.
    pub(crate) async fn delete_group(
        &self,
        region: &Region,
        id: &SecurityGroupId,
    ) -> Result<(), StageError> {
        let call = || async {
            match self
                .lifecycle
                .cloud()
                .delete_security_group(region, id)
                .await
            {
                Err(e) if e.kind == CloudErrorKind::NotFound => Ok(()),
                other => other.map_err(|e| StageError::cloud(format!("deleting {id}"), e)),
            }
        };
        let target = Some(id.to_string());
        self.written_ahead(
            "delete_security_group",
            region,
            target,
            json!({}),
            call,
            |_| None,
        )
        .await
    }

    /// Tags an image.
    pub(crate) async fn tag_image(
        &self,
        region: &Region,
        image: &AmiId,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), StageError> {
        let call = || async {
            self.lifecycle
                .cloud()
                .create_tags(region, image, tags)
                .await
                .map_err(|e| StageError::cloud(format!("tagging {image}"), e))
        };
        let target = Some(image.to_string());
        let details = json!({ "tags": tags });
        self.written_ahead("create_tags", region, target, details, call, |_| None)
            .await
    }

    /// Deregisters an image and deletes its snapshots; one already gone counts as removed.
    pub(crate) async fn deregister(
        &self,
        region: &Region,
        image: &AmiId,
    ) -> Result<(), StageError> {
        let call = || async {
            match self
                .lifecycle
                .cloud()
                .deregister_image(region, image, true)
                .await
            {
                Err(e) if e.kind == CloudErrorKind::NotFound => Ok(()),
                other => other.map_err(|e| StageError::cloud(format!("deregistering {image}"), e)),
            }
        };
        let target = Some(image.to_string());
        let details = json!({ "delete_snapshots": true });
        self.written_ahead("deregister_image", region, target, details, call, |_| None)
            .await
    }

    /// The instances in `region` passing `filter`.
    pub(crate) async fn instances(
        &self,
        region: &Region,
        filter: &InstanceFilter,
    ) -> Result<Vec<Instance>, StageError> {
        self.lifecycle
            .cloud()
            .describe_instances(region, filter)
            .await
            .map_err(|e| StageError::cloud(format!("describing instances in {region}"), e))
    }

    /// Waits until every one of `ids` is `wanted`. One that goes away (shutting down,
    /// terminated) while another state is wanted fails the wait.
    pub(crate) async fn wait_instances(
        &self,
        region: &Region,
        ids: &[InstanceId],
        wanted: InstanceState,
        poll: Duration,
        timeout: Duration,
    ) -> Result<(), StageError> {
        if ids.is_empty() {
            return Ok(());
        }
        let filter = InstanceFilter::ids(ids.iter().cloned());
        let cloud = self.lifecycle.cloud();
        let mut errors = 0;
        let waited = Waiter::fixed(poll, timeout)
            .wait(
                || cloud.describe_instances(region, &filter),
                |answer, _| match answer {
                    Ok(found) => {
                        errors = 0;
                        let unexpected = found.iter().find(|i| {
                            i.state != wanted
                                && wanted != InstanceState::Terminated
                                && i.state.is_gone()
                        });
                        if let Some(i) = unexpected {
                            return Acceptance::Failure(StageError::Instance {
                                instance: i.id.clone(),
                                region: region.clone(),
                                what: format!(
                                    "went {} while waiting for it to be {wanted}",
                                    i.state
                                ),
                            });
                        }
                        // An instance EC2 no longer lists is long terminated.
                        let all_there = found.iter().all(|i| i.state == wanted);
                        let none_missing = wanted == InstanceState::Terminated
                            || ids.iter().all(|id| found.iter().any(|i| &i.id == id));
                        if all_there && none_missing {
                            Acceptance::Success(())
                        } else {
                            Acceptance::Retry
                        }
                    }
                    Err(e) if e.is_retryable() && errors < 5 => {
                        errors += 1;
                        Acceptance::Retry
                    }
                    Err(e) => Acceptance::Failure(StageError::cloud(
                        format!("describing {ids:?} while waiting for {wanted}"),
                        e,
                    )),
                },
            )
            .await;
        waited.map_err(|e| match e {
            WaitError::Failed(e) => e,
            _ => StageError::Instance {
                instance: ids[0].clone(),
                region: region.clone(),
                what: format!("not {wanted} after {} s", timeout.as_secs()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a time")
            .with_timezone(&Utc)
    }

    #[test]
    fn only_a_passed_readable_expiry_expires() {
        let now = at("2026-11-01T12:00:00Z");
        let tags = |v: &str| BTreeMap::from([(TAG_EXPIRES.to_owned(), v.to_owned())]);
        assert!(is_expired(&tags("2026-11-01T11:59:59Z"), now));
        assert!(is_expired(&tags("2026-11-01T12:00:00Z"), now));
        assert!(!is_expired(&tags("2026-11-01T12:00:01Z"), now));
        assert!(!is_expired(&tags(NEVER), now));
        assert!(!is_expired(&tags("tomorrow"), now));
        assert!(!is_expired(&BTreeMap::new(), now));
    }

    #[test]
    fn temporary_tags_name_the_build_role_and_expiry() {
        let build = BuildId::parse("bld-0123456789abcdef").expect("an id");
        let tags = temporary_tags(&build, "builder", at("2026-11-01T18:00:00Z"));
        assert_eq!(tags[TAG_BUILD_ID], "bld-0123456789abcdef");
        assert_eq!(tags[TAG_BUILD_ROLE], "builder");
        assert_eq!(tags[TAG_EXPIRES], "2026-11-01T18:00:00Z");
        assert_eq!(tags[TAG_MANAGED_BY], "amiref");
    }
}
