//! A tier that could not be carried out: the error it returns, and the record a report
//! keeps of it.

use std::fmt;
use std::sync::Arc;

use amiref_core::{CloudError, CloudErrorKind, Region, RegistryError};

use crate::TrustError;

/// A tier that could not be carried out: the cloud or the registry failed, the template
/// asks for something the trust policy refuses, or a caller's own tier failed. Each variant
/// keeps its cause ([`std::error::Error::source`]); [`TierFailure`] is what a report keeps.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StrategyError {
    /// A call to the cloud failed.
    #[error("{0}")]
    Cloud(#[from] CloudError),
    /// The registry could not answer.
    #[error("{0}")]
    Registry(#[from] RegistryError),
    /// The trust policy refuses the search.
    #[error("{0}")]
    Trust(#[from] TrustError),
    /// A caller's own tier failed.
    #[error("{0}")]
    Other(Arc<dyn std::error::Error + Send + Sync>),
}

impl StrategyError {
    /// A caller's tier failed with `error`.
    pub fn other(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Other(Arc::new(error))
    }

    /// Whether trying again may end otherwise: everything but a refusal by the trust
    /// policy, which fails the same way until the policy or the template changes.
    pub fn is_transient(&self) -> bool {
        !matches!(self, Self::Trust(_))
    }
}

impl PartialEq for StrategyError {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Cloud(a), Self::Cloud(b)) => a == b,
            (Self::Registry(a), Self::Registry(b)) => a == b,
            (Self::Trust(a), Self::Trust(b)) => a == b,
            (Self::Other(a), Self::Other(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// A failed call to a cloud as a report records it: [`CloudError`] with every fact kept.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct CloudFailure {
    /// The class of failure.
    pub kind: CloudErrorKind,
    /// The operation that failed, as AWS names it (`DescribeImages`).
    pub operation: String,
    /// The region the call went to, if it went to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// The service's error code, if it gave one (`UnauthorizedOperation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What the cloud said.
    pub message: String,
}

impl From<&CloudError> for CloudFailure {
    fn from(e: &CloudError) -> Self {
        Self {
            kind: e.kind,
            operation: e.operation.to_owned(),
            region: e.region.clone(),
            code: e.code.clone(),
            message: e.message.clone(),
        }
    }
}

impl fmt::Display for CloudFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.operation)?;
        if let Some(r) = &self.region {
            write!(f, " in {r}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(c) = &self.code {
            write!(f, " ({c})")?;
        }
        Ok(())
    }
}

impl std::error::Error for CloudFailure {}

/// How a registry failed to answer.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RegistryFailureKind {
    /// No source could be read, and no cached copy exists.
    Unavailable,
    /// A source was read but its content is not acceptable.
    Invalid,
}

/// A registry that could not answer, as a report records it.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct RegistryFailure {
    /// How it failed.
    pub kind: RegistryFailureKind,
    /// The source that failed (a path or URL).
    pub source_name: String,
    /// Why.
    pub message: String,
}

impl From<&RegistryError> for RegistryFailure {
    fn from(e: &RegistryError) -> Self {
        let (kind, source_name, message) = match e {
            RegistryError::Invalid {
                source_name,
                message,
            } => (RegistryFailureKind::Invalid, source_name, message),
            RegistryError::Unavailable {
                source_name,
                message,
            } => (RegistryFailureKind::Unavailable, source_name, message),
            // A kind this crate does not know yet: unavailable is the safe reading (the
            // tier is retried rather than trusted).
            #[allow(unreachable_patterns)]
            other => {
                return Self {
                    kind: RegistryFailureKind::Unavailable,
                    source_name: String::new(),
                    message: other.to_string(),
                };
            }
        };
        Self {
            kind,
            source_name: source_name.clone(),
            message: message.clone(),
        }
    }
}

impl fmt::Display for RegistryFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.kind {
            RegistryFailureKind::Invalid => "invalid",
            RegistryFailureKind::Unavailable => "unavailable",
        };
        write!(
            f,
            "registry {} is {state}: {}",
            self.source_name, self.message
        )
    }
}

/// Why a tier could not be carried out, as a report records it (a chain entry, a warning):
/// the facts of the [`StrategyError`], serialisable.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TierFailure {
    /// A call to the cloud failed.
    Cloud {
        /// The failed call.
        error: CloudFailure,
    },
    /// The registry could not answer.
    Registry {
        /// What the registry said.
        error: RegistryFailure,
    },
    /// The trust policy refuses what the template asks.
    Trust {
        /// The refusal.
        refusal: TrustError,
    },
    /// A caller's own tier failed.
    Other {
        /// Its error, as text (the caller's error type is not known here).
        message: String,
    },
}

impl TierFailure {
    /// Whether trying again may end otherwise (see [`StrategyError::is_transient`]).
    pub fn is_transient(&self) -> bool {
        !matches!(self, Self::Trust { .. })
    }
}

impl From<&StrategyError> for TierFailure {
    fn from(e: &StrategyError) -> Self {
        match e {
            StrategyError::Cloud(e) => Self::Cloud { error: e.into() },
            StrategyError::Registry(e) => Self::Registry { error: e.into() },
            StrategyError::Trust(e) => Self::Trust { refusal: e.clone() },
            StrategyError::Other(e) => Self::Other {
                message: e.to_string(),
            },
        }
    }
}

impl fmt::Display for TierFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cloud { error } => error.fmt(f),
            Self::Registry { error } => error.fmt(f),
            Self::Trust { refusal } => refusal.fmt(f),
            Self::Other { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for TierFailure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_keeps_the_cloud_error_as_its_source_and_in_its_record() {
        let region: Region = "us-east-1".parse().unwrap();
        let cloud = CloudError::new(CloudErrorKind::AccessDenied, "DescribeImages", "denied")
            .in_region(&region)
            .with_code("UnauthorizedOperation");
        let e = StrategyError::from(cloud.clone());
        let source = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<CloudError>());
        assert_eq!(source, Some(&cloud));
        let record = TierFailure::from(&e);
        assert_eq!(record.to_string(), cloud.to_string());
        assert!(record.is_transient());
        let json = serde_json::to_string(&record).unwrap();
        assert!(json.contains(r#""kind":"access_denied""#), "{json}");
        assert_eq!(serde_json::from_str::<TierFailure>(&json).unwrap(), record);
    }
}
