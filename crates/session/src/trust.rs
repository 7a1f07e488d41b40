//! Reading the trust policy file.

use std::path::Path;

use amiref_strategies::TrustPolicy;

use crate::SessionError;

/// The trust policy in `path`, with its origin set so that refusals name the file.
pub(crate) fn load_trust_policy(path: &Path) -> Result<TrustPolicy, SessionError> {
    let text = std::fs::read_to_string(path).map_err(|e| SessionError::TrustPolicy {
        path: path.to_owned(),
        message: format!("cannot read it: {e}"),
    })?;
    let policy: TrustPolicy = serde_yaml::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!("line {} column {}: ", l.line(), l.column()))
            .unwrap_or_default();
        SessionError::TrustPolicy {
            path: path.to_owned(),
            message: format!(
                "{at}{e}; expected a trust policy: `trusted_owners: [self, amazon, ...]`, \
                 `named_owners: {{name: [account ids]}}` and optionally \
                 `registry_publishers_may_vouch: true|false`"
            ),
        }
    })?;
    Ok(policy.with_origin(path.display().to_string()))
}
