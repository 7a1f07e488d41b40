//! How a failed SDK call becomes an [`amiref_core::CloudError`].
//!
//! The SDK reports failures in five shapes ([`SdkError`]); EC2, STS and the Marketplace
//! Catalog name their errors with codes. Both are folded into the closed set of
//! [`CloudErrorKind`]s so that callers branch on meaning, never on strings. The service's
//! code is kept on the error for people and logs.

use std::error::Error as StdError;

use amiref_core::{CloudError, CloudErrorKind, Region};
use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Error codes meaning "slow down".
const THROTTLING: &[&str] = &[
    "RequestLimitExceeded",
    "LimitExceededException",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
    "EC2ThrottledException",
    "PriorRequestNotComplete",
    "BandwidthLimitExceeded",
    // SSM: more concurrent updates of one parameter than it accepts.
    "TooManyUpdates",
];

/// Error codes meaning the credentials are missing, expired or wrong.
const BAD_CREDENTIALS: &[&str] = &[
    "AuthFailure",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidAccessKeyId",
    "MissingAuthenticationToken",
    "InvalidToken",
    "InvalidSecurity",
];

/// Error codes meaning the caller lacks a permission.
const DENIED: &[&str] = &[
    "UnauthorizedOperation",
    "AccessDenied",
    "AccessDeniedException",
    "OptInRequired",
    "Blocked",
];

/// Error codes meaning the request itself is wrong.
const INVALID: &[&str] = &[
    "InvalidParameter",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "MissingParameter",
    "UnknownParameter",
    "ValidationException",
    "ValidationError",
    "InvalidFilter",
    "InvalidRequest",
    "InvalidInstanceType",
    "InvalidAMIName.Duplicate",
    "InvalidUserID.Malformed",
    "InvalidPaginationToken",
    "InvalidNextToken",
    "InvalidInput",
    "DryRunOperation",
    // EC2: a security group name already taken in the VPC; a group still in use.
    "InvalidGroup.Duplicate",
    "InvalidGroup.InUse",
    "DependencyViolation",
    // SSM: a name that exists (PutParameter without Overwrite), and malformed parameters.
    "ParameterAlreadyExists",
    "HierarchyLevelLimitExceededException",
    "HierarchyTypeMismatchException",
    "ParameterPatternMismatchException",
    "UnsupportedParameterType",
    "InvalidKeyId",
];

/// Error codes meaning the operation is refused for this resource as it is now.
const NOT_PERMITTED: &[&str] = &[
    "OperationNotPermitted",
    "IncorrectState",
    "IncorrectInstanceState",
    "InvalidState",
    "InvalidSnapshot.InUse",
    "UnsupportedOperation",
    "Unsupported",
    "ConflictException",
    "ResourceInUseException",
    // EC2: a VPC's default security group.
    "CannotDelete",
];

/// Error codes meaning the service failed on its side.
const UNAVAILABLE: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "InternalServiceError",
    "InternalServerException",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "Unavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    "InsufficientInstanceCapacity",
];

/// The kind of failure an AWS error code stands for, or `None` for an unknown code.
pub(crate) fn kind_of_code(code: &str) -> Option<CloudErrorKind> {
    let kind = if THROTTLING.contains(&code) {
        CloudErrorKind::Throttled
    } else if BAD_CREDENTIALS.contains(&code) {
        CloudErrorKind::InvalidCredentials
    } else if DENIED.contains(&code) {
        CloudErrorKind::AccessDenied
    } else if code.ends_with(".NotFound")
        || code.ends_with("NotFoundException")
        || code == "NoSuchEntity"
        || code == "ParameterNotFound"
        || code == "ParameterVersionNotFound"
        || code == "InvalidAMIID.Unavailable"
    {
        CloudErrorKind::NotFound
    } else if code.ends_with(".Malformed") || INVALID.contains(&code) {
        CloudErrorKind::InvalidRequest
    } else if code.ends_with("LimitExceeded") || code.contains("QuotaExceeded") {
        CloudErrorKind::LimitExceeded
    } else if NOT_PERMITTED.contains(&code) {
        CloudErrorKind::NotPermitted
    } else if UNAVAILABLE.contains(&code) {
        CloudErrorKind::Unavailable
    } else {
        return None;
    };
    Some(kind)
}

/// Whether anything in `err`'s source chain is a failure to load credentials.
fn is_credentials_failure(err: &(dyn StdError + 'static)) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if e.downcast_ref::<CredentialsError>().is_some() {
            return true;
        }
        current = e.source();
    }
    false
}

/// `err` and its sources, each as it displays itself, joined by `: `. (Not the SDK's
/// `DisplayErrorContext`, which ends with the Debug form of the raw response.)
fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut current = err.source();
    while let Some(e) = current {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        current = e.source();
    }
    text
}

/// Maps a failed SDK call of `operation` (in `region`, when it went to one) to a
/// [`CloudError`].
pub(crate) fn from_sdk<E>(
    operation: &'static str,
    region: Option<&Region>,
    err: SdkError<E, HttpResponse>,
) -> CloudError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let detail = chain(&err);
    let mut mapped = match &err {
        SdkError::ConstructionFailure(_) => {
            if is_credentials_failure(&err) {
                CloudError::new(CloudErrorKind::InvalidCredentials, operation, detail)
            } else {
                CloudError::new(CloudErrorKind::InvalidRequest, operation, detail)
            }
        }
        SdkError::TimeoutError(_) => CloudError::new(
            CloudErrorKind::Unavailable,
            operation,
            format!("no answer in time: {detail}"),
        ),
        SdkError::DispatchFailure(_) => {
            if is_credentials_failure(&err) {
                CloudError::new(CloudErrorKind::InvalidCredentials, operation, detail)
            } else {
                CloudError::new(
                    CloudErrorKind::Unavailable,
                    operation,
                    format!("the request could not be sent: {detail}"),
                )
            }
        }
        SdkError::ResponseError(response) => {
            let status = response.raw().status().as_u16();
            let kind = if status >= 500 {
                CloudErrorKind::Unavailable
            } else {
                CloudErrorKind::Service
            };
            CloudError::new(kind, operation, format!("HTTP {status}: {detail}"))
        }
        SdkError::ServiceError(service) => {
            let inner = service.err();
            let status = service.raw().status().as_u16();
            let code = inner.code().map(str::to_owned);
            let kind = code
                .as_deref()
                .and_then(kind_of_code)
                .unwrap_or(if status >= 500 {
                    CloudErrorKind::Unavailable
                } else if status == 429 {
                    CloudErrorKind::Throttled
                } else if status == 403 {
                    CloudErrorKind::AccessDenied
                } else {
                    CloudErrorKind::Service
                });
            let message = inner
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("HTTP {status}: {detail}"));
            let e = CloudError::new(kind, operation, message);
            match code {
                Some(code) => e.with_code(code),
                None => e,
            }
        }
        // SdkError is non-exhaustive: a future shape is reported, never hidden.
        _ => CloudError::new(CloudErrorKind::Service, operation, detail),
    };
    if let Some(region) = region {
        mapped = mapped.in_region(region);
    }
    mapped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        use CloudErrorKind::*;
        for (code, kind) in [
            ("RequestLimitExceeded", Throttled),
            ("LimitExceededException", Throttled),
            ("ThrottlingException", Throttled),
            ("UnauthorizedOperation", AccessDenied),
            ("AccessDeniedException", AccessDenied),
            ("ExpiredToken", InvalidCredentials),
            ("AuthFailure", InvalidCredentials),
            ("InvalidAMIID.NotFound", NotFound),
            ("InvalidSnapshot.NotFound", NotFound),
            ("ResourceNotFoundException", NotFound),
            ("InvalidAMIID.Malformed", InvalidRequest),
            ("InvalidParameterValue", InvalidRequest),
            ("ResourceLimitExceeded", LimitExceeded),
            ("InstanceLimitExceeded", LimitExceeded),
            ("InvalidSnapshot.InUse", NotPermitted),
            ("OperationNotPermitted", NotPermitted),
            ("InternalError", Unavailable),
            ("Unavailable", Unavailable),
            ("InvalidGroup.Duplicate", InvalidRequest),
            ("DependencyViolation", InvalidRequest),
            ("InvalidGroup.NotFound", NotFound),
            ("InvalidInstanceID.NotFound", NotFound),
            ("ParameterNotFound", NotFound),
            ("ParameterAlreadyExists", InvalidRequest),
            ("ParameterLimitExceeded", LimitExceeded),
            ("ParameterMaxVersionLimitExceeded", LimitExceeded),
            ("HierarchyLevelLimitExceededException", InvalidRequest),
            ("TooManyUpdates", Throttled),
            ("InternalServerError", Unavailable),
            ("CannotDelete", NotPermitted),
            // The Recycle Bin's codes.
            ("ResourceNotFoundException", NotFound),
            ("ServiceQuotaExceededException", LimitExceeded),
            ("ConflictException", NotPermitted),
            ("ValidationException", InvalidRequest),
            ("InternalServerException", Unavailable),
        ] {
            assert_eq!(kind_of_code(code), Some(kind), "{code}");
        }
        assert_eq!(kind_of_code("SomethingNew"), None);
    }
}
