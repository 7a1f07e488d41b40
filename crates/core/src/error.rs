//! Errors of this crate: parsing a value type, and a failed call to a cloud.

use crate::Region;

/// A value that did not parse into one of the validated types.
///
/// It names the kind of value, the text that was given and what was expected, so a caller
/// can surface it to a person without adding anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {found:?}: expected {expected}")]
#[non_exhaustive]
pub struct ParseError {
    /// The kind of value, e.g. `"AMI id"`.
    pub kind: &'static str,
    /// The text that was given.
    pub found: String,
    /// What a valid value looks like.
    pub expected: &'static str,
}

impl ParseError {
    /// A parse error for `kind`, given `found`, expecting `expected`.
    pub fn new(kind: &'static str, found: impl Into<String>, expected: &'static str) -> Self {
        Self {
            kind,
            found: found.into(),
            expected,
        }
    }
}

/// What went wrong in a call to a cloud, as a closed set callers can branch on.
///
/// Retry policy is decided from this: only [`CloudErrorKind::Throttled`] and
/// [`CloudErrorKind::Unavailable`] are ever safe to retry, and only for idempotent calls.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CloudErrorKind {
    /// The caller exceeded a request rate (EC2 `RequestLimitExceeded`).
    Throttled,
    /// The caller may not do this (`UnauthorizedOperation`, `AccessDenied`).
    AccessDenied,
    /// The credentials have expired or are not valid.
    InvalidCredentials,
    /// The named resource does not exist (`InvalidAMIID.NotFound`).
    NotFound,
    /// The request was malformed (`InvalidAMIID.Malformed`, bad parameter).
    InvalidRequest,
    /// The operation is not allowed on this resource in its current state, e.g. copying a
    /// paid Marketplace image or an encrypted image shared from another account.
    NotPermitted,
    /// The region or service did not answer, or answered with a 5xx.
    Unavailable,
    /// A deadline passed before the operation finished.
    Timeout,
    /// A quota or limit was reached (`ResourceLimitExceeded`).
    LimitExceeded,
    /// Anything else the service said.
    Service,
    /// amiref gave the region up for the rest of the command after repeated faults there
    /// (its circuit is open, see `amiref_layers::Circuit`): the call was not made. Not
    /// retryable: it fails the same way until the command ends.
    RegionGivenUp,
}

impl CloudErrorKind {
    /// Whether an idempotent call that failed this way may be tried again.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Throttled | Self::Unavailable)
    }
}

/// A failed call to a cloud, with the operation and region it happened in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation}{}: {message}{}", region.as_ref().map(|r| format!(" in {r}")).unwrap_or_default(), code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
#[non_exhaustive]
pub struct CloudError {
    /// The class of failure.
    pub kind: CloudErrorKind,
    /// The operation that failed, as AWS names it (`DescribeImages`).
    pub operation: &'static str,
    /// The region the call went to, if it went to one.
    pub region: Option<Region>,
    /// The service's error code, if it gave one (`InvalidAMIID.NotFound`).
    pub code: Option<String>,
    /// A message for a person. Never contains credentials.
    pub message: String,
}

impl CloudError {
    /// A new error of `kind` in `operation`.
    pub fn new(kind: CloudErrorKind, operation: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            operation,
            region: None,
            code: None,
            message: message.into(),
        }
    }

    /// The same error, noting the region the call went to.
    #[must_use]
    pub fn in_region(mut self, region: &Region) -> Self {
        self.region = Some(region.clone());
        self
    }

    /// The same error, noting the service's error code.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Shorthand for a [`CloudErrorKind::NotFound`] error.
    pub fn not_found(operation: &'static str, message: impl Into<String>) -> Self {
        Self::new(CloudErrorKind::NotFound, operation, message)
    }

    /// Whether the call may be tried again (see [`CloudErrorKind::is_retryable`]).
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_operation_region_and_code() {
        let region: Region = "us-east-1".parse().unwrap();
        let err = CloudError::not_found("DescribeImages", "ami-12345678 does not exist")
            .in_region(&region)
            .with_code("InvalidAMIID.NotFound");
        assert_eq!(
            err.to_string(),
            "DescribeImages in us-east-1: ami-12345678 does not exist (InvalidAMIID.NotFound)"
        );
        assert!(!err.is_retryable());
        assert!(CloudErrorKind::Throttled.is_retryable());
    }
}
