//! Answers: every body is the document `amiref --output json` prints (`amiref-report`'s
//! envelope, `{"schema": "amiref/<kind>/v1", "ok", "result", "error"}`), and the status
//! says the same as its `ok` and its error's kind.

use amiref_report::{ErrorKind, ErrorReport, OutputMode, Printer, Report, message_with_causes};
use amiref_session::{FailureKind, SessionError};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A status and a JSON document.
#[derive(Debug)]
pub(crate) struct Reply {
    status: StatusCode,
    body: String,
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body,
        )
            .into_response()
    }
}

impl Reply {
    /// `report`'s document, with `status`; a report that records a failure of its own (a
    /// preview with nothing to launch) has `"ok": false` and its failure's status.
    pub(crate) fn report<R: Report>(status: StatusCode, report: &R) -> Self {
        let failure = report.failure();
        let (printer, captured) = Printer::capture(OutputMode::Json);
        printer.report(report);
        Self {
            status: failure.map_or(status, |f| status_of_kind(f.kind)),
            body: captured.stdout(),
        }
    }

    /// The document of a request that failed before its report.
    pub(crate) fn failure(kind: &str, status: StatusCode, error: &ErrorReport) -> Self {
        let (printer, captured) = Printer::capture(OutputMode::Json);
        printer.fail_as(kind, error);
        Self {
            status,
            body: captured.stdout(),
        }
    }

    /// A request that is not what the endpoint takes: 400 and what was expected.
    pub(crate) fn bad_request(kind: &str, message: impl Into<String>) -> Self {
        Self::failure(
            kind,
            StatusCode::BAD_REQUEST,
            &ErrorReport::new(ErrorKind::InvalidInput, message)
                .exit_code(FailureKind::BadInput.exit_code()),
        )
    }

    /// A session error as the launcher reports it (`amiref-report`'s `ErrorReport` of a
    /// `SessionError`), with the status of its cause (see [`status_of`]).
    pub(crate) fn session_error(kind: &str, e: &SessionError) -> Self {
        let mut report = ErrorReport::from(e);
        if let SessionError::TemplateNotFound { name, .. } = e {
            // The library's wording offers file paths, and names this host's directories.
            report.message = format!("no template named {name:?}: GET /v1/templates lists them");
        }
        Self::failure(kind, status_of(e), &report)
    }

    /// The operation ran but its change could not be saved: it is lost.
    pub(crate) fn unsaved(kind: &str, e: &SessionError) -> Self {
        Self::failure(
            kind,
            StatusCode::INTERNAL_SERVER_ERROR,
            &ErrorReport::new(
                ErrorKind::Io,
                format!(
                    "the world's state could not be saved, so this request's change is lost: {}",
                    message_with_causes(e)
                ),
            ),
        )
    }
}

/// The status of a session error:
///
/// - 404 a template that is not in the template directories;
/// - 400 a value of the request that is not valid (a region, a name);
/// - 409 a decision the request did not make (a copy it did not approve);
/// - 422 nothing can be launched (the resolver tried every tier the template allows);
/// - 502 the cloud failed or refused;
/// - 500 the service's own files (configuration, world, state, templates, registries,
///   audit log) or the service itself.
fn status_of(e: &SessionError) -> StatusCode {
    use SessionError as E;
    match e {
        E::TemplateNotFound { .. } => StatusCode::NOT_FOUND,
        E::Template(_)
        | E::Registry { .. }
        | E::RegistrySource(_)
        | E::Config(_)
        | E::NotConfigured { .. }
        | E::World(_)
        | E::TrustPolicy { .. }
        | E::Prices(_)
        | E::Build(_)
        | E::Audit(_)
        | E::Runtime(_) => StatusCode::INTERNAL_SERVER_ERROR,
        E::Resolve(_) => StatusCode::UNPROCESSABLE_ENTITY,
        E::Cloud { .. } => StatusCode::BAD_GATEWAY,
        E::Lifecycle(_) if e.kind() != FailureKind::BadInput => StatusCode::BAD_GATEWAY,
        other => match other.kind() {
            FailureKind::BadInput => StatusCode::BAD_REQUEST,
            FailureKind::Declined => StatusCode::CONFLICT,
            // An image operation's refusal (an instance gone, a community share).
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        },
    }
}

/// The status of a report's own failure, by its kind.
fn status_of_kind(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Usage | ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorKind::Aborted => StatusCode::CONFLICT,
        ErrorKind::Cloud | ErrorKind::Lifecycle => StatusCode::BAD_GATEWAY,
        ErrorKind::NoImage | ErrorKind::PartialFailure | ErrorKind::InvalidTemplate => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
