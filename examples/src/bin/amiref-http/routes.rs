//! The endpoints (docs/http.md): each checks what the request names, then calls one
//! session operation in a session of its own.

use std::sync::Arc;

use amiref::ResolveOptions;
use amiref_core::Architecture;
use amiref_report::{ErrorKind, ErrorReport, PreviewReport, Report};
use amiref_session::{
    AvailabilityReport, FailureKind, LaunchPlan, LaunchReport, LaunchRequest, Policy, Session,
    SessionError,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Deserialize;

use crate::builds;
use crate::checks::{self, name_and_query, name_and_region, query_or_400};
use crate::compliance;
use crate::reply::Reply;
use crate::reports::TemplateList;
use crate::service::{Access, Service};

pub(crate) type Shared = State<Arc<Service>>;

/// The service's routes.
pub(crate) fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/v1/templates", get(templates))
        .route("/v1/templates/{name}/resolution", get(resolution))
        .route("/v1/templates/{name}/availability", get(availability))
        .route("/v1/templates/{name}/launches", post(launch))
        .route("/v1/templates/{name}/build-plan", get(builds::build_plan))
        .route("/v1/plan", get(builds::prebuild_plan))
        .route("/v1/compliance", get(compliance::compliance))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(service)
}

/// No query parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoQuery {}

/// `?region=R`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegionQuery {
    pub(crate) region: Option<String>,
}

/// `?approve_copy=true`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LaunchQuery {
    #[serde(default)]
    approve_copy: bool,
}

/// A launch's body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LaunchBody {
    name: String,
    region: Option<String>,
    architecture: Option<Architecture>,
    #[serde(default)]
    prefer_script: bool,
}

const LAUNCH_BODY: &str = r#"{"name": "my-instance", "region": "us-east-1" (optional), "architecture": "x86_64" or "arm64" (optional), "prefer_script": false (optional)}"#;

/// `GET /v1/templates`.
async fn templates(State(service): Shared, query: Result<Query<NoQuery>, QueryRejection>) -> Reply {
    const KIND: &str = TemplateList::KIND;
    if let Err(reply) = query_or_400(KIND, query, "none") {
        return reply;
    }
    service
        .run(KIND, Access::Read, async |session: &Session| {
            let found = session.templates().all()?;
            Ok(Reply::report(StatusCode::OK, &TemplateList::new(&found)))
        })
        .await
}

/// `GET /v1/templates/{name}/resolution?region=R`: the dry run.
async fn resolution(
    State(service): Shared,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<RegionQuery>, QueryRejection>,
) -> Reply {
    const KIND: &str = PreviewReport::KIND;
    let (name, region) = match name_and_region(KIND, name, query) {
        Ok(checked) => checked,
        Err(reply) => return reply,
    };
    service
        .run(KIND, Access::Read, async move |session: &Session| {
            let template = checks::find_template(session, &name)?;
            let options = ResolveOptions::default();
            let preview = session.preview(&template, region.as_ref(), &options).await;
            Ok(Reply::report(
                StatusCode::OK,
                &PreviewReport::new(&preview, &template),
            ))
        })
        .await
}

/// `GET /v1/templates/{name}/availability`: every region of the world.
async fn availability(
    State(service): Shared,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<NoQuery>, QueryRejection>,
) -> Reply {
    const KIND: &str = AvailabilityReport::KIND;
    let name = match name_and_query(KIND, name, query, "none") {
        Ok((name, NoQuery {})) => name,
        Err(reply) => return reply,
    };
    service
        .run(KIND, Access::Read, async move |session: &Session| {
            let template = checks::find_template(session, &name)?;
            let regions = session.all_regions();
            let report = session.availability(&template, &regions).await;
            Ok(Reply::report(StatusCode::OK, &report))
        })
        .await
}

/// `POST /v1/templates/{name}/launches?approve_copy=true`: plan, then launch; 201 and
/// the instance, or 409 when the launch needs a copy the request did not approve.
async fn launch(
    State(service): Shared,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<LaunchQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Reply {
    const KIND: &str = LaunchReport::KIND;
    let (name, query) = match name_and_query(KIND, name, query, "approve_copy") {
        Ok(checked) => checked,
        Err(reply) => return reply,
    };
    let body = match body {
        Ok(body) => body,
        // Too long (over axum's 2 MB), or cut off: said in the document, with its status.
        Err(e) => {
            let error = ErrorReport::new(ErrorKind::InvalidInput, e.body_text())
                .exit_code(FailureKind::BadInput.exit_code());
            return Reply::failure(KIND, e.status(), &error);
        }
    };
    let body: LaunchBody = match checks::json_body(&body, LAUNCH_BODY) {
        Ok(body) => body,
        Err(message) => return Reply::bad_request(KIND, message),
    };
    if let Err(message) = checks::instance_name(&body.name) {
        return Reply::bad_request(KIND, message);
    }
    let region = match checks::region(body.region.as_deref(), "body field `region`") {
        Ok(region) => region,
        Err(e) => return Reply::session_error(KIND, &e),
    };
    // A script the request asked for is kept even when an image would be usable sooner:
    // the request said so, and nobody else can be asked.
    let policy = Policy {
        approve_copies: query.approve_copy,
        keep_script: body.prefer_script,
    };
    service
        .run(KIND, Access::Change, async move |session: &Session| {
            let template = checks::find_template(session, &name)?;
            let mut request =
                LaunchRequest::new(template, body.name).prefer_script(body.prefer_script);
            if let Some(region) = region {
                request = request.region(region);
            }
            if let Some(architecture) = body.architecture {
                request = request.architecture(architecture);
            }
            let plan = session.plan_launch(&request).await?;
            let progress = amiref_report::Printer::to_writers(
                amiref_report::OutputMode::Human,
                std::io::sink(),
                std::io::stderr(),
            );
            match session.launch(&plan, &policy, &progress).await {
                Ok(report) => Ok(Reply::report(StatusCode::CREATED, &report)),
                Err(SessionError::Declined(reason)) => Ok(copy_not_approved(&plan, &reason)),
                Err(e) => Err(Box::new(e)),
            }
        })
        .await
}

/// 409: the launch needs a cross-region copy; the request may approve it.
fn copy_not_approved(plan: &LaunchPlan, reason: &str) -> Reply {
    let copy = plan.choice.copy.as_ref().or_else(|| {
        plan.passed_over
            .as_ref()
            .and_then(|p| p.choice.copy.as_ref())
    });
    let message = match copy {
        Some(c) => format!(
            "launching {} in {} needs a copy of {} from {} ({}, {}), which this request did not approve: repeat it with ?approve_copy=true to approve the copy",
            plan.template,
            plan.region,
            c.source_image,
            c.source_region,
            amiref_report::units::short_duration(c.estimated_duration),
            amiref_report::units::usd(c.total_cost_usd()),
        ),
        None => format!("launching {} in {}: {reason}", plan.template, plan.region),
    };
    let error = ErrorReport::new(ErrorKind::Aborted, message)
        .exit_code(FailureKind::Declined.exit_code())
        .details(serde_json::json!({ "approve_with": "approve_copy=true", "plan": plan }));
    Reply::failure(LaunchReport::KIND, StatusCode::CONFLICT, &error)
}

/// 404 for a path that is no endpoint.
async fn no_route(method: Method, uri: Uri) -> Reply {
    Reply::failure(
        "error",
        StatusCode::NOT_FOUND,
        &ErrorReport::new(
            ErrorKind::Usage,
            format!(
                "no endpoint {method} {}: see GET /v1/templates and docs/http.md",
                uri.path()
            ),
        ),
    )
}

/// 405 for an endpoint asked with a method it does not take.
async fn wrong_method(method: Method, uri: Uri) -> impl IntoResponse {
    let takes = if uri.path().ends_with("/launches") {
        "POST"
    } else {
        "GET"
    };
    let reply = Reply::failure(
        "error",
        StatusCode::METHOD_NOT_ALLOWED,
        &ErrorReport::new(
            ErrorKind::Usage,
            format!("{} does not take {method}: it takes {takes}", uri.path()),
        ),
    );
    ([(header::ALLOW, takes)], reply)
}
