//! Whether one entry may be used: its signature against the trust store, then the entry
//! policy. The same judgement serves loading a registry and checking, before it is saved,
//! that an entry `ami share --community` writes would be admitted by its readers.

use crate::model::{Entry, ScanStatus};
use crate::policy::EntryPolicy;
use crate::registry::Provenance;
use crate::trust::{SignatureCheck, TrustStore};

/// Who vouches for `entry` as `template` `version`, or why it is refused (for a person).
pub(crate) fn admit(
    trust: &TrustStore,
    policy: &EntryPolicy,
    template: &str,
    version: &str,
    entry: &Entry,
) -> Result<Provenance, String> {
    let provenance = match trust.verify(template, version, entry) {
        SignatureCheck::Valid {
            key,
            publisher,
            retired,
        } => Provenance::Signed {
            key,
            publisher,
            retired,
        },
        SignatureCheck::Unsigned if policy.allow_unsigned => Provenance::Unsigned,
        SignatureCheck::Unsigned => {
            return Err("it is unsigned, and the policy requires signatures".into());
        }
        other => return Err(other.to_string()),
    };
    match policy_refusal(policy, entry) {
        Some(reason) => Err(reason),
        None => Ok(provenance),
    }
}

fn policy_refusal(policy: &EntryPolicy, entry: &Entry) -> Option<String> {
    let verification = entry.verification.as_ref();
    let scan = verification.map_or(ScanStatus::NotRun, |v| v.security_scan);
    if scan == ScanStatus::Failed {
        return Some("its security scan failed".into());
    }
    if policy.require_tested && !verification.is_some_and(|v| v.tested) {
        return Some("it is not marked tested, and the policy requires tested images".into());
    }
    if policy.require_security_scan && scan != ScanStatus::Passed {
        return Some(
            "its security scan has not passed, and the policy requires a passed scan".into(),
        );
    }
    None
}
