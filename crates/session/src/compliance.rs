//! `amiref compliance`: every control of amiref-compliance over the session's account, its
//! approved owners from the session's trust policy and its registry entries from the
//! session's registries; the organization's rules from the `compliance` section.
//!
//! Re-exports amiref-compliance, so that frontends print its report without naming the
//! crate.

pub use amiref_compliance::*;

use amiref_core::{AccountId, Region};
use amiref_registry::{Provenance, Registry};

use crate::{Session, SessionError};

/// The `compliance` section of the configuration: the organization's rules the controls
/// judge against. Every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ComplianceConfig {
    /// CIS 2.1.1: the names images must have, as EC2 wildcard patterns (`research-*`); an
    /// image matching any one passes. None: the control is not configured.
    #[serde(default)]
    pub naming_convention: Vec<String>,
    /// CIS 2.1.4: the maximum age of an image in days (default 90).
    pub maximum_age_days: Option<u32>,
    /// The organization's ARN (default: the caller's organization, where the cloud says).
    pub organization: Option<String>,
    /// Organizational unit ARNs images may be shared with, besides the organization's own.
    #[serde(default)]
    pub organizational_units: Vec<String>,
    /// The organization's accounts images may be shared with.
    #[serde(default)]
    pub organization_accounts: Vec<AccountId>,
    /// Whether to read every own image's launch permissions (one DescribeImageAttribute
    /// call per image; EC2 has no batched form) to find shares outside the organization
    /// (default true). Off, only public images are seen.
    pub read_launch_permissions: Option<bool>,
}

impl ComplianceConfig {
    /// The policy these settings make.
    pub fn policy(&self) -> CompliancePolicy {
        let mut policy = CompliancePolicy::default();
        policy.naming_patterns = self.naming_convention.clone();
        if let Some(days) = self.maximum_age_days {
            policy.maximum_age_days = days;
        }
        policy.organization = self.organization.clone();
        policy.organizational_units = self.organizational_units.clone();
        policy.organization_accounts = self.organization_accounts.clone();
        if let Some(read) = self.read_launch_permissions {
            policy.read_launch_permissions = read;
        }
        policy
    }
}

/// What `amiref compliance` scans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ComplianceRequest {
    /// The regions; `None`: every region of the session ([`Session::all_regions`]).
    pub regions: Option<Vec<Region>>,
    /// Overrides `compliance.read_launch_permissions`.
    pub read_launch_permissions: Option<bool>,
}

/// Every registry entry, admitted or refused, as compliance judges it.
fn registry_entries(registry: &Registry) -> Vec<RegistryEntry> {
    let admitted = registry.entries().iter().map(|e| {
        let signing = match &e.provenance {
            Provenance::Signed {
                key,
                publisher,
                retired: false,
            } => Signing::Signed {
                key: key.to_string(),
                publisher: publisher.clone(),
            },
            Provenance::Signed { key, publisher, .. } => Signing::RetiredKey {
                key: key.to_string(),
                publisher: publisher.clone(),
            },
            _ => Signing::Unsigned,
        };
        let mut entry = RegistryEntry::new(&e.template, &e.version_text, &e.source, signing);
        entry.images = e.entry.regions.clone();
        entry
    });
    let refused = registry.report().refused.iter().map(|r| {
        let signing = Signing::Refused {
            reason: r.reason.clone(),
        };
        RegistryEntry::new(&r.template, &r.version, &r.source, signing)
    });
    admitted.chain(refused).collect()
}

impl Session {
    /// `amiref compliance`: every control over the account's images in each region, and
    /// the images its instances and launch templates use. Reads that fail leave their
    /// controls unchecked in the report (which says which); the scan itself does not fail.
    pub async fn compliance(
        &self,
        request: &ComplianceRequest,
    ) -> Result<ComplianceReport, SessionError> {
        let regions = request
            .regions
            .clone()
            .unwrap_or_else(|| self.all_regions());
        let mut policy = self.config().config.compliance.policy();
        if let Some(read) = request.read_launch_permissions {
            policy.read_launch_permissions = read;
        }
        let mut scanner = Scanner::new(self.cloud().as_ref(), self.trust_policy().clone())
            .policy(policy)
            .now(self.now());
        if let Some(registry) = self.registry() {
            scanner = scanner.registry(registry_entries(registry));
        }
        Ok(scanner.scan(&regions).await)
    }
}
