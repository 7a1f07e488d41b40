//! `ami share IMAGE --community NAME`: the two halves of sharing with a community, together
//! or not at all. The community (`communities.NAME` in the configuration) names its
//! registry file and the key that signs its entries; the registry's `sharing` policy names
//! who gets launch permission. The image is checked, the signed entry planned (amiref-
//! registry), the launch permissions granted (the lifecycle's share), then the entry
//! written. A refusal says everything that is missing; every outcome is audited.

use std::fmt;
use std::path::PathBuf;

use amiref_core::{AmiId, Architecture, Image, Region};
use amiref_lifecycle::tags::{TAG_TEMPLATE, TAG_TEMPLATE_VERSION};
use amiref_lifecycle::{Actor, AuditOutcome, AuditRecord, ProgressSink, ShareReport, ShareSpec};
use amiref_registry::{CommunityShare, PublisherKey, ScanStatus, SharePlan};
use serde::Serialize;

use crate::{Session, SessionError};

/// `ami share IMAGE --community NAME`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CommunityShareRequest {
    /// The image (the caller's, available).
    pub image: AmiId,
    /// Where it is (the session's region when `None`).
    pub region: Option<Region>,
    /// The community, as the configuration names it (`communities.NAME`).
    pub community: String,
    /// The template the image is for (the image's `amiref:template` tag when `None`).
    pub template: Option<String>,
    /// The entry's version (when `None`: a version in the image's name, else its
    /// `amiref:template-version` tag; `+ARCH` is added for other architectures than
    /// x86_64, as registries spell them).
    pub version: Option<String>,
    /// What is in it (the image's description when `None`).
    pub description: Option<String>,
    /// Mark the image tested.
    pub tested: bool,
    /// The security scan's outcome (the entry's, else not run, when `None`).
    pub security_scan: Option<ScanStatus>,
    /// Check and plan everything; grant and write nothing.
    pub dry_run: bool,
}

impl CommunityShareRequest {
    /// Share `image` with `community`.
    pub fn new(image: AmiId, community: impl Into<String>) -> Self {
        Self {
            image,
            region: None,
            community: community.into(),
            template: None,
            version: None,
            description: None,
            tested: false,
            security_scan: None,
            dry_run: false,
        }
    }

    /// In this region.
    #[must_use]
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// As this template's entry.
    #[must_use]
    pub fn template(mut self, template: impl Into<String>) -> Self {
        self.template = Some(template.into());
        self
    }

    /// As this version.
    #[must_use]
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// A dry run.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// Where the entry's version came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VersionSource {
    /// The request named it.
    Given,
    /// The image's name holds it (`Python ML v2.2.0`).
    ImageName,
    /// The image's `amiref:template-version` tag.
    TemplateVersionTag,
}

/// Why a community share was refused (nothing was granted or written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RefusalReason {
    /// The configuration has no such community.
    UnknownCommunity {
        /// The communities it has.
        configured: Vec<String>,
        /// The configuration file, when there is one.
        config: Option<PathBuf>,
    },
    /// The image is not visible in the region.
    ImageNotFound,
    /// Nothing says which template the image is for.
    NoTemplate,
    /// Nothing says which version the image is.
    NoVersion,
    /// The community's signing key cannot be read.
    Key {
        /// The key file.
        path: PathBuf,
        /// Why.
        error: String,
    },
    /// The registry names nobody to grant launch permission to.
    NoAudience {
        /// What the registry lacks, and what to do.
        message: String,
    },
    /// The image or the entry cannot be shared (not the caller's, not available, another
    /// architecture or owner under that version, an entry readers would refuse, an
    /// unreadable registry).
    NotShareable {
        /// Why, and what to do.
        message: String,
    },
}

impl fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownCommunity { configured, config } => write!(
                f,
                "no community of that name is configured (set `communities.NAME: {{registry: FILE, key: FILE}}` in {}; configured: {})",
                config
                    .as_ref()
                    .map_or_else(|| "the configuration file".to_owned(), |p| p.display().to_string()),
                if configured.is_empty() { "none".to_owned() } else { configured.join(", ") }
            ),
            Self::ImageNotFound => f.write_str(
                "the image does not exist in the region or is not visible to you (an entry names an image where it exists)",
            ),
            Self::NoTemplate => f.write_str(
                "the image has no amiref:template tag (it was not made by `ami create`): name the template",
            ),
            Self::NoVersion => f.write_str(
                "neither the image's name nor an amiref:template-version tag holds a version: name the version",
            ),
            Self::Key { path, error } => {
                write!(f, "the community's key {} cannot be read: {error}", path.display())
            }
            Self::NoAudience { message } | Self::NotShareable { message } => f.write_str(message),
        }
    }
}

/// A refused community share: every reason found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct CommunityRefusal {
    /// The community.
    pub community: String,
    /// The image.
    pub image: AmiId,
    /// Its region.
    pub region: Region,
    /// Why, each with what to do.
    pub reasons: Vec<RefusalReason>,
}

impl fmt::Display for CommunityRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} in {} was not shared with the {} community (nothing was granted or written):",
            self.image, self.region, self.community
        )?;
        for reason in &self.reasons {
            write!(f, "\n  - {reason}")?;
        }
        Ok(())
    }
}

/// What a community share did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct CommunityShareReport {
    /// The community.
    pub community: String,
    /// The entry: template, version, registry file, key, how it changed, the signed entry
    /// and the launch permissions its registry implies.
    pub entry: CommunityShare,
    /// Where the version came from.
    pub version_from: VersionSource,
    /// The launch permissions granted (or, in a dry run, that would be).
    pub launch_permissions: ShareReport,
    /// Whether the entry was written to the registry file.
    pub written: bool,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Things to know: the key is not in the session's trust store, so readers using it
    /// refuse the entry.
    pub warnings: Vec<String>,
}

/// What is known about the share once the image and the configuration were read.
struct Checked {
    image: Image,
    template: String,
    version: String,
    version_from: VersionSource,
    key: PublisherKey,
    registry: PathBuf,
}

impl Session {
    /// `ami share IMAGE --community NAME`: grants the launch permissions the community's
    /// registry defines (its `sharing` policy) and writes the signed entry, or refuses
    /// with every reason ([`SessionError::CommunityShareRefused`]) before changing
    /// anything. Audited as `share_community` (the grant also as the lifecycle's `share`).
    pub async fn share_with_community(
        &self,
        request: &CommunityShareRequest,
        progress: &dyn ProgressSink,
    ) -> Result<CommunityShareReport, SessionError> {
        let region = request
            .region
            .clone()
            .unwrap_or_else(|| self.region().clone());
        let caller = self
            .cloud()
            .caller()
            .await
            .map_err(|e| SessionError::cloud("who is sharing (for the audit record)", e))?;
        let base = |outcome: AuditOutcome, details: serde_json::Value| {
            let mut record = AuditRecord::new(Actor::from(&caller), "share_community", outcome)
                .region(&region)
                .target(&request.image)
                .dry_run(request.dry_run)
                .details(details);
            record.time = self.now();
            record
        };
        let audit = |outcome: AuditOutcome, details: serde_json::Value| {
            self.audit().record(&base(outcome, details))
        };
        let refuse = |reasons: Vec<RefusalReason>| {
            let refusal = CommunityRefusal {
                community: request.community.clone(),
                image: request.image.clone(),
                region: region.clone(),
                reasons,
            };
            let details =
                serde_json::json!({ "community": request.community, "reasons": refusal.reasons });
            match audit(
                AuditOutcome::Refused {
                    reason: refusal.to_string(),
                },
                details,
            ) {
                Ok(()) => SessionError::CommunityShareRefused(Box::new(refusal)),
                Err(e) => SessionError::Audit(e),
            }
        };

        let checked = self
            .check_community_share(request, &region)
            .await?
            .map_err(&refuse)?;
        let mut share = amiref_registry::ShareRequest::new(
            checked.image.clone(),
            caller.clone(),
            checked.template.clone(),
            checked.version.clone(),
            checked.key.clone(),
        )
        .tested(request.tested);
        if let Some(d) = &request.description {
            share = share.description(d.clone());
        }
        if let Some(scan) = request.security_scan {
            share = share.security_scan(scan);
        }
        let plan: SharePlan = share.plan(&checked.registry).map_err(|e| {
            refuse(vec![RefusalReason::NotShareable {
                message: e.to_string(),
            }])
        })?;
        let permissions = match plan.share().launch_permissions() {
            Ok(p) => p.to_vec(),
            Err(none) => {
                return Err(refuse(vec![RefusalReason::NoAudience {
                    message: none.to_string(),
                }]));
            }
        };
        let warnings = self.trust_warnings(&checked.key);
        let spec = ShareSpec::add(region.clone(), checked.image.id.clone(), permissions)
            .dry_run(request.dry_run);
        // Grant first: an entry must never point readers at an image they cannot launch.
        let lifecycle = self.lifecycle(progress);
        let granted = lifecycle.share(&spec).await?;
        let details = |entry: &CommunityShare| {
            serde_json::json!({
                "community": request.community,
                "registry": entry.registry,
                "template": entry.template,
                "version": entry.version,
                "key_id": entry.key_id.to_string(),
                "change": entry.change,
                "launch_permissions": granted.changed,
            })
        };
        let (entry, written) = if request.dry_run {
            audit(AuditOutcome::Planned, details(plan.share()))?;
            (plan.share().clone(), false)
        } else {
            let planned = plan.share().clone();
            // Written ahead: the entry is not written unless its intent is on record.
            let intent = lifecycle.intend(base(AuditOutcome::Intended, details(&planned)))?;
            match plan.apply() {
                Ok(entry) => {
                    lifecycle.conclude(intent.details(details(&entry)), AuditOutcome::Succeeded)?;
                    (entry, true)
                }
                Err(source) => {
                    let error = format!("launch permissions granted, entry not written: {source}");
                    lifecycle.conclude(intent, AuditOutcome::Failed { error })?;
                    return Err(SessionError::CommunityEntryNotWritten {
                        community: request.community.clone(),
                        image: checked.image.id.clone(),
                        source: Box::new(source),
                    });
                }
            }
        };
        Ok(CommunityShareReport {
            community: request.community.clone(),
            entry,
            version_from: checked.version_from,
            launch_permissions: granted,
            written,
            dry_run: request.dry_run,
            warnings,
        })
    }

    /// Everything a share needs before the registry is read, or every reason it cannot be
    /// had. A failing cloud call is an error, not a refusal.
    async fn check_community_share(
        &self,
        request: &CommunityShareRequest,
        region: &Region,
    ) -> Result<Result<Checked, Vec<RefusalReason>>, SessionError> {
        let mut reasons = Vec::new();
        let communities = &self.config().config.communities;
        let community = communities.get(&request.community);
        if community.is_none() {
            reasons.push(RefusalReason::UnknownCommunity {
                configured: communities.keys().cloned().collect(),
                config: self.config().path.clone(),
            });
        }
        let key = community.and_then(|c| match PublisherKey::load_file(&c.key) {
            Ok(key) => Some(key),
            Err(e) => {
                reasons.push(RefusalReason::Key {
                    path: c.key.clone(),
                    error: e.to_string(),
                });
                None
            }
        });
        let image = self
            .cloud()
            .describe_images(region, std::slice::from_ref(&request.image))
            .await
            .map_err(|e| {
                SessionError::cloud(format!("describing {} in {region}", request.image), e)
            })?
            .into_iter()
            .next();
        let Some(image) = image else {
            reasons.push(RefusalReason::ImageNotFound);
            return Ok(Err(reasons));
        };
        let template = request
            .template
            .clone()
            .or_else(|| image.tags.get(TAG_TEMPLATE).cloned());
        if template.is_none() {
            reasons.push(RefusalReason::NoTemplate);
        }
        let version = entry_version(request.version.as_deref(), &image);
        if version.is_none() {
            reasons.push(RefusalReason::NoVersion);
        }
        match (community, key, template, version) {
            (Some(c), Some(key), Some(template), Some((version, version_from)))
                if reasons.is_empty() =>
            {
                Ok(Ok(Checked {
                    image,
                    template,
                    version,
                    version_from,
                    key,
                    registry: c.registry.clone(),
                }))
            }
            _ => Ok(Err(reasons)),
        }
    }

    /// A warning when readers using this session's trust store would not trust `key`.
    fn trust_warnings(&self, key: &PublisherKey) -> Vec<String> {
        let Ok(trust) = self.registry_settings().load_trust() else {
            return vec![format!(
                "no trust store is configured, so this session cannot tell whether readers trust the key {} ({})",
                key.key_id(),
                key.publisher()
            )];
        };
        let trusted = trust.get(key.key_id().as_str()).is_some_and(|k| {
            k.key == key.verifying_key() && k.status == amiref_registry::KeyStatus::Active
        });
        if trusted {
            Vec::new()
        } else {
            vec![format!(
                "the key {} ({}) is not an active key of the trust store: readers using it will refuse the entry (add the key with `registry keygen --trust-store` or by hand)",
                key.key_id(),
                key.publisher()
            )]
        }
    }
}

/// The entry's version and where it came from: given, else [`image_version`] as
/// `vMAJOR.MINOR.PATCH`, with `+ARCH` for an architecture other than x86_64.
fn entry_version(given: Option<&str>, image: &Image) -> Option<(String, VersionSource)> {
    if let Some(v) = given {
        return Some((v.to_owned(), VersionSource::Given));
    }
    let (core, from) = image_version(image)?;
    let suffix = match image.architecture {
        Architecture::X86_64 => String::new(),
        other => format!("+{other}"),
    };
    Some((format!("v{core}{suffix}"), from))
}

/// The version an image is, as `MAJOR.MINOR.PATCH`: the first in its name, else in its
/// `amiref:template-version` tag.
pub(crate) fn image_version(image: &Image) -> Option<(String, VersionSource)> {
    if let Some(v) = version_in(&image.name) {
        return Some((v, VersionSource::ImageName));
    }
    let tag = image.tags.get(TAG_TEMPLATE_VERSION)?;
    Some((version_in(tag)?, VersionSource::TemplateVersionTag))
}

/// The first `MAJOR.MINOR.PATCH` in `text` that is not part of a longer run of digits and
/// dots (`Python ML v2.2.0` → `2.2.0`, `python-ml-2.1.0` → `2.1.0`).
fn version_in(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let is_part = |b: u8| b.is_ascii_digit() || b == b'.';
    let mut start = 0;
    while start < bytes.len() {
        if !bytes[start].is_ascii_digit() || (start > 0 && is_part(bytes[start - 1])) {
            start += 1;
            continue;
        }
        let end = (start..bytes.len())
            .find(|&i| !is_part(bytes[i]))
            .unwrap_or(bytes.len());
        let run = text[start..end].trim_end_matches('.');
        let parts: Vec<&str> = run.split('.').collect();
        if parts.len() == 3 && parts.iter().all(|p| !p.is_empty()) {
            return semver::Version::parse(run).ok().map(|v| v.to_string());
        }
        start = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_found_in_names() {
        assert_eq!(version_in("Python ML v2.2.0").as_deref(), Some("2.2.0"));
        assert_eq!(version_in("python-ml-2.1.0").as_deref(), Some("2.1.0"));
        assert_eq!(version_in("2.1.0").as_deref(), Some("2.1.0"));
        assert_eq!(
            version_in("build 12 of 3.4.5 (r2)").as_deref(),
            Some("3.4.5")
        );
        assert_eq!(version_in("release 1.2.3.4"), None);
        assert_eq!(version_in("python 3.12"), None);
        assert_eq!(version_in("no version"), None);
    }
}
