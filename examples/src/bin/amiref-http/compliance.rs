//! `GET /v1/compliance`: the compliance report (docs/http.md, docs/compliance.md). It only
//! reads.

use amiref_report::Report;
use amiref_report::compliance::ComplianceOutcome;
use amiref_session::compliance::Severity;
use amiref_session::{ComplianceRequest, Session, check_regions};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::checks::query_or_400;
use crate::reply::Reply;
use crate::routes::Shared;
use crate::service::Access;

/// `?regions=R1,R2&fail_on=high&launch_permissions=false`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ComplianceQuery {
    regions: Option<String>,
    fail_on: Option<Severity>,
    launch_permissions: Option<bool>,
}

/// `GET /v1/compliance?regions=R1,R2&fail_on=SEVERITY&launch_permissions=BOOL`: every
/// control over the account's images and what uses them (`amiref/compliance/v1`). 200
/// with the report; 422 (`partial_failure`, the report beside it) when a finding is at or
/// above `fail_on` or a read failed.
pub(crate) async fn compliance(
    State(service): Shared,
    query: Result<Query<ComplianceQuery>, QueryRejection>,
) -> Reply {
    const KIND: &str = ComplianceOutcome::KIND;
    let query = match query_or_400(KIND, query, "regions, fail_on, launch_permissions") {
        Ok(query) => query,
        Err(reply) => return reply,
    };
    let mut request = ComplianceRequest::default();
    if let Some(list) = &query.regions {
        match check_regions(std::slice::from_ref(list), "query parameter `regions`") {
            Ok(regions) => request.regions = Some(regions),
            Err(e) => return Reply::session_error(KIND, &e),
        }
    }
    request.read_launch_permissions = query.launch_permissions;
    let fail_on = query.fail_on;
    service
        .run(KIND, Access::Read, async move |session: &Session| {
            let report = session.compliance(&request).await?;
            let outcome = ComplianceOutcome::new(report, fail_on);
            Ok(Reply::report(StatusCode::OK, &outcome))
        })
        .await
}
