//! The build endpoints (docs/http.md): a build's dry run and the pre-build plan. Both only
//! read: builds run from the launcher or a scheduled job, never from a request.

use amiref_build::{BuildOutcome, NoEvents};
use amiref_plan::Plan;
use amiref_report::Report;
use amiref_session::{BuildRequest, PlanRequest, Session};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use crate::checks;
use crate::checks::{name_and_region, query_or_400, region_of};
use crate::reply::Reply;
use crate::routes::{RegionQuery, Shared};
use crate::service::Access;

/// `GET /v1/templates/{name}/build-plan?region=R`: the dry run of `amiref build` (the
/// stages, regions, estimated time and cost; no change). Builds themselves belong to the
/// launcher or a scheduled job, not to a request.
pub(crate) async fn build_plan(
    State(service): Shared,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<RegionQuery>, QueryRejection>,
) -> Reply {
    const KIND: &str = BuildOutcome::KIND;
    let (name, region) = match name_and_region(KIND, name, query) {
        Ok(checked) => checked,
        Err(reply) => return reply,
    };
    service
        .run(KIND, Access::Read, async move |session: &Session| {
            // Found in the template directories, never read from a path a request names.
            checks::find_template(session, &name)?;
            let file = session.templates().find_named(&name)?;
            let mut request = BuildRequest::new(file.display().to_string()).dry_run(true);
            if let Some(region) = region {
                request = request.regions(vec![region]);
            }
            let planned = session.build(&request, &NoEvents).await?;
            Ok(Reply::report(StatusCode::OK, &planned))
        })
        .await
}

/// `GET /v1/plan?region=R`: the pre-build plan over every template (reads only).
pub(crate) async fn prebuild_plan(
    State(service): Shared,
    query: Result<Query<RegionQuery>, QueryRejection>,
) -> Reply {
    const KIND: &str = Plan::KIND;
    let query = match query_or_400(KIND, query, "region") {
        Ok(query) => query,
        Err(reply) => return reply,
    };
    let region = match region_of(KIND, &query) {
        Ok(region) => region,
        Err(reply) => return reply,
    };
    service
        .run(KIND, Access::Read, async move |session: &Session| {
            let mut request = PlanRequest::default();
            request.regions = region.map(|r| vec![r]);
            let plan = session.plan_prebuilds(&request).await?;
            Ok(Reply::report(StatusCode::OK, &plan))
        })
        .await
}
