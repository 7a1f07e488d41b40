//! The controls as data: what each checks, the public framework it comes from, and how
//! bad a failure of it is.

use std::fmt;
use std::str::FromStr;

/// How bad a finding is, in Security Hub's scale (lowest first, so `>=` means "at least as
/// bad").
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Severity {
    /// Worth knowing; nothing is exposed.
    Low,
    /// A weakness to fix in the normal course of work.
    Medium,
    /// A weakness to fix soon.
    High,
    /// Something is exposed now.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Self; 4] = [Self::Low, Self::Medium, Self::High, Self::Critical];

    /// The name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity name that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {found:?}: expected one of low, medium, high, critical")]
#[non_exhaustive]
pub struct UnknownSeverity {
    /// What was given.
    pub found: String,
}

impl FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownSeverity {
                found: s.to_owned(),
            })
    }
}

/// Which control, by a stable id scripts may branch on.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[non_exhaustive]
pub enum ControlId {
    /// CIS 2.1.1: images follow the naming convention.
    #[serde(rename = "cis-2.1.1")]
    NamingConvention,
    /// CIS 2.1.2: images are encrypted.
    #[serde(rename = "cis-2.1.2")]
    Encrypted,
    /// CIS 2.1.3: only approved images are used.
    #[serde(rename = "cis-2.1.3")]
    Approved,
    /// CIS 2.1.4: images are not older than the maximum age.
    #[serde(rename = "cis-2.1.4")]
    MaximumAge,
    /// CIS 2.1.5: images are not public.
    #[serde(rename = "cis-2.1.5")]
    NotPublic,
    /// Security Hub EC2.1: snapshots are not publicly restorable.
    #[serde(rename = "securityhub-ec2.1")]
    SnapshotsNotPublic,
    /// Images require IMDSv2 (`ImdsSupport: v2.0`), so instances launched from them pass
    /// Security Hub EC2.8.
    #[serde(rename = "image-imdsv2")]
    ImdsV2,
    /// Block public access for AMIs is on in the region.
    #[serde(rename = "image-block-public-access")]
    BlockPublicAccess,
    /// Allowed AMIs is enabled and agrees with the trust policy.
    #[serde(rename = "allowed-amis")]
    AllowedAmis,
    /// No deprecated or disabled image is still in use.
    #[serde(rename = "amiref-deprecated-in-use")]
    DeprecatedInUse,
    /// Every image says which template it was built from.
    #[serde(rename = "amiref-template-tag")]
    TemplateTag,
    /// Registry entries are signed with active keys.
    #[serde(rename = "amiref-registry-signature")]
    RegistrySignature,
    /// No image is shared outside the organization.
    #[serde(rename = "amiref-shared-outside-organization")]
    SharedOutsideOrganization,
}

impl ControlId {
    /// Every control, in report order.
    pub const ALL: [Self; 13] = [
        Self::NamingConvention,
        Self::Encrypted,
        Self::Approved,
        Self::MaximumAge,
        Self::NotPublic,
        Self::SnapshotsNotPublic,
        Self::ImdsV2,
        Self::BlockPublicAccess,
        Self::AllowedAmis,
        Self::DeprecatedInUse,
        Self::TemplateTag,
        Self::RegistrySignature,
        Self::SharedOutsideOrganization,
    ];

    /// The stable id (`cis-2.1.1`, `securityhub-ec2.1`, ...).
    pub fn as_str(self) -> &'static str {
        self.control().id_text
    }

    /// The control's definition.
    pub fn control(self) -> Control {
        CATALOG[self as usize]
    }
}

impl fmt::Display for ControlId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The public framework a control comes from.
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
pub enum Framework {
    /// CIS Amazon Web Services Compute Services Benchmark (v1.0.0, section 2.1, "Amazon
    /// Machine Images (AMI)").
    CisAwsComputeServices,
    /// AWS Security Hub's controls (the AWS Foundational Security Best Practices standard).
    SecurityHub,
    /// The Amazon EC2 User Guide's guidance (no numbered control).
    Ec2UserGuide,
    /// amiref's own.
    Amiref,
}

/// One control: what it checks, where it comes from, how bad a failure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Control {
    /// Its id.
    pub id: ControlId,
    /// What it asks, as the framework words it.
    pub title: &'static str,
    /// The framework.
    pub framework: Framework,
    /// The framework's own reference: `CIS 2.1.1`, `Security Hub EC2.1`, a guide's section.
    pub reference: &'static str,
    /// The severity of each finding.
    pub severity: Severity,
    #[serde(skip)]
    id_text: &'static str,
}

const fn control(
    id: ControlId,
    id_text: &'static str,
    title: &'static str,
    framework: Framework,
    reference: &'static str,
    severity: Severity,
) -> Control {
    Control {
        id,
        title,
        framework,
        reference,
        severity,
        id_text,
    }
}

/// Every control, indexed by `ControlId as usize` (the order of [`ControlId::ALL`]).
const CATALOG: [Control; 13] = [
    control(
        ControlId::NamingConvention,
        "cis-2.1.1",
        "Ensure consistent naming convention is used for organizational AMIs",
        Framework::CisAwsComputeServices,
        "CIS AWS Compute Services Benchmark 2.1.1",
        Severity::Low,
    ),
    control(
        ControlId::Encrypted,
        "cis-2.1.2",
        "Ensure Amazon Machine Images (AMIs) are encrypted",
        Framework::CisAwsComputeServices,
        "CIS AWS Compute Services Benchmark 2.1.2",
        Severity::Medium,
    ),
    control(
        ControlId::Approved,
        "cis-2.1.3",
        "Ensure only approved Amazon Machine Images (AMIs) are used",
        Framework::CisAwsComputeServices,
        "CIS AWS Compute Services Benchmark 2.1.3",
        Severity::High,
    ),
    control(
        ControlId::MaximumAge,
        "cis-2.1.4",
        "Ensure images (AMIs) are not older than the maximum age (90 days by default)",
        Framework::CisAwsComputeServices,
        "CIS AWS Compute Services Benchmark 2.1.4",
        Severity::Medium,
    ),
    control(
        ControlId::NotPublic,
        "cis-2.1.5",
        "Ensure images are not publicly available",
        Framework::CisAwsComputeServices,
        "CIS AWS Compute Services Benchmark 2.1.5",
        Severity::Critical,
    ),
    control(
        ControlId::SnapshotsNotPublic,
        "securityhub-ec2.1",
        "Amazon EBS snapshots should not be publicly restorable",
        Framework::SecurityHub,
        "AWS Security Hub EC2.1",
        Severity::Critical,
    ),
    control(
        ControlId::ImdsV2,
        "image-imdsv2",
        "Images should require IMDSv2 (ImdsSupport v2.0), so that instances launched from \
         them use IMDSv2",
        Framework::SecurityHub,
        "AWS Security Hub EC2.8 (EC2 instances should use IMDSv2), applied at the image",
        Severity::Medium,
    ),
    control(
        ControlId::BlockPublicAccess,
        "image-block-public-access",
        "Block public access for AMIs should be enabled in every region",
        Framework::Ec2UserGuide,
        "Amazon EC2 User Guide: Understand block public access for AMIs",
        Severity::High,
    ),
    control(
        ControlId::AllowedAmis,
        "allowed-amis",
        "Allowed AMIs should be enabled, and allow what the trust policy trusts and no more",
        Framework::Ec2UserGuide,
        "Amazon EC2 User Guide: Control the discovery and use of AMIs with Allowed AMIs",
        Severity::Medium,
    ),
    control(
        ControlId::DeprecatedInUse,
        "amiref-deprecated-in-use",
        "Deprecated or disabled images should not be in use",
        Framework::Amiref,
        "amiref",
        Severity::High,
    ),
    control(
        ControlId::TemplateTag,
        "amiref-template-tag",
        "Images should carry the template they were built from (tag amiref:template)",
        Framework::Amiref,
        "amiref",
        Severity::Low,
    ),
    control(
        ControlId::RegistrySignature,
        "amiref-registry-signature",
        "Registry entries should be signed with an active key",
        Framework::Amiref,
        "amiref",
        Severity::Medium,
    ),
    control(
        ControlId::SharedOutsideOrganization,
        "amiref-shared-outside-organization",
        "Images should not be shared outside the organization",
        Framework::Amiref,
        "amiref",
        Severity::High,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_is_indexed_by_id_and_ids_match_their_json() {
        for id in ControlId::ALL {
            let c = id.control();
            assert_eq!(c.id, id);
            let json = serde_json::to_value(id).unwrap();
            assert_eq!(json, serde_json::json!(c.id_text), "{id:?}");
        }
    }

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Critical > Severity::High);
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        assert!("severe".parse::<Severity>().is_err());
    }
}
