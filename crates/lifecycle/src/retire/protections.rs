//! What protects an image the policy would retire: everything that still depends on it, as
//! far as the caller can see, and EC2's own deregistration protection.

use std::collections::{BTreeMap, BTreeSet};

use amiref_core::{
    AmiId, DeregistrationProtection, Image, ImageGovernance, ImageReference, ImageStore,
    ImageUsage, LaunchPermission, Region,
};
use amiref_template::Template;
use chrono::{DateTime, Duration, Utc};

use super::policy::{RetentionPolicy, SHARED_LAUNCH_WINDOW_DAYS};
use crate::context::Lifecycle;

/// What protects an image the policy would retire.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "protected_because", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Protection {
    /// Instances or launch templates use it.
    InUse {
        /// What uses it.
        usage: ImageUsage,
    },
    /// A template's `ami_mappings` names it.
    MappedByTemplate {
        /// The templates.
        templates: Vec<String>,
    },
    /// A registry entry names it.
    InRegistry,
    /// Shared with other accounts, organizations or everyone (override with force).
    Shared {
        /// Its launch permissions.
        permissions: Vec<LaunchPermission>,
    },
    /// Its dependencies could not be checked, so it is not touched.
    Unchecked {
        /// Why.
        error: String,
    },
    /// EC2's deregistration protection is on (or cooling down) now: DeregisterImage would be
    /// refused, so the image is left alone (`ami protect --off` first).
    DeregistrationProtected {
        /// The image's protection.
        protection: DeregistrationProtection,
    },
    /// Resources EC2 knows reference it (DescribeImageReferences): instances, launch
    /// templates, SSM parameters, Image Builder recipes.
    Referenced {
        /// Each referencing resource.
        references: Vec<ImageReference>,
    },
    /// An instance was launched from it recently (EC2's `LastLaunchedTime`): within the
    /// policy's `keep_launched_within`, or, for an image shared with others, within
    /// [`SHARED_LAUNCH_WINDOW_DAYS`] when the policy sets none.
    RecentlyLaunched {
        /// When it was last launched.
        last_launched: DateTime<Utc>,
    },
}

/// Images that must not be retired whatever the policy says, besides what the cloud reports
/// as in use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtectedImages {
    /// Per region, per image: the templates whose `ami_mappings` name it.
    mapped: BTreeMap<(Region, AmiId), Vec<String>>,
    /// Images a registry entry names (in any region; AMI ids are unique across regions).
    registry: BTreeSet<AmiId>,
}

impl ProtectedImages {
    /// Nothing protected beyond what the cloud reports.
    pub fn new() -> Self {
        Self::default()
    }

    /// Protects every image named by these templates' `ami_mappings`.
    #[must_use]
    pub fn templates<'t>(mut self, templates: impl IntoIterator<Item = &'t Template>) -> Self {
        for t in templates {
            if let Some(config) = &t.ami_config {
                for (region, ami) in &config.ami_mappings {
                    self.mapped
                        .entry((region.clone(), ami.clone()))
                        .or_default()
                        .push(t.name.clone());
                }
            }
        }
        self
    }

    /// Protects images a registry names.
    #[must_use]
    pub fn registry(mut self, ids: impl IntoIterator<Item = AmiId>) -> Self {
        self.registry.extend(ids);
        self
    }
}

/// The references EC2 reports for a region's candidates, read in one batch; the error
/// protects every candidate when the batch could not be read.
pub(super) type References = Result<BTreeMap<AmiId, Vec<ImageReference>>, String>;

/// What the retirement of one image has to know about it beyond the image itself.
pub(super) struct Checked {
    /// Everything that protects it; empty if nothing does.
    pub(super) reasons: Vec<Protection>,
    /// Who may launch it now (recorded in the audit trail before disabling removes them).
    pub(super) permissions: Vec<LaunchPermission>,
}

impl Lifecycle<'_> {
    /// Every reference EC2 reports to any of `images` in `region`, in one batched call.
    pub(super) async fn references(&self, region: &Region, images: &[AmiId]) -> References {
        if images.is_empty() {
            return Ok(BTreeMap::new());
        }
        let found = self
            .cloud
            .image_references(region, images)
            .await
            .map_err(|e| {
                format!("could not read what references it (DescribeImageReferences): {e}")
            })?;
        let mut by_image: BTreeMap<AmiId, Vec<ImageReference>> = BTreeMap::new();
        for reference in found {
            by_image
                .entry(reference.image.clone())
                .or_default()
                .push(reference);
        }
        for refs in by_image.values_mut() {
            refs.sort();
        }
        Ok(by_image)
    }

    /// Everything that protects `image` from retirement at `now`.
    pub(super) async fn check(
        &self,
        protected: &ProtectedImages,
        policy: &RetentionPolicy,
        force_shared: bool,
        image: &Image,
        references: &References,
        now: DateTime<Utc>,
    ) -> Checked {
        let mut reasons = Vec::new();
        if let Some(protection) = image.deregistration_protection
            && protection.blocks_deregistration_at(now)
        {
            reasons.push(Protection::DeregistrationProtected { protection });
        }
        if let Some(templates) = protected
            .mapped
            .get(&(image.region.clone(), image.id.clone()))
        {
            reasons.push(Protection::MappedByTemplate {
                templates: templates.clone(),
            });
        }
        if protected.registry.contains(&image.id) {
            reasons.push(Protection::InRegistry);
        }
        match references {
            Ok(by_image) => {
                if let Some(references) = by_image.get(&image.id) {
                    reasons.push(Protection::Referenced {
                        references: references.clone(),
                    });
                }
            }
            Err(error) => reasons.push(Protection::Unchecked {
                error: error.clone(),
            }),
        }
        let (usage, permissions) = futures::join!(
            self.cloud.image_usage(&image.region, &image.id),
            self.cloud.launch_permissions(&image.region, &image.id),
        );
        match usage {
            Ok(usage) if usage.is_unused() => {}
            Ok(usage) => reasons.push(Protection::InUse { usage }),
            Err(e) => reasons.push(Protection::Unchecked {
                error: format!("could not read what uses it: {e}"),
            }),
        }
        let permissions = match permissions {
            Ok(mut permissions) => {
                if image.public && !permissions.contains(&LaunchPermission::Public) {
                    permissions.push(LaunchPermission::Public);
                }
                permissions
            }
            Err(e) => {
                reasons.push(Protection::Unchecked {
                    error: format!("could not read who it is shared with: {e}"),
                });
                return Checked {
                    reasons,
                    permissions: Vec::new(),
                };
            }
        };
        let shared = !permissions.is_empty();
        if let Some(last_launched) = image.last_launched
            && launch_window(policy, shared).is_some_and(|w| now - last_launched < w)
        {
            reasons.push(Protection::RecentlyLaunched { last_launched });
        }
        if shared && !force_shared {
            reasons.push(Protection::Shared {
                permissions: permissions.clone(),
            });
        }
        Checked {
            reasons,
            permissions,
        }
    }
}

/// How recent a launch keeps an image: the policy's window, or for a shared image the
/// shared default when the policy sets none.
fn launch_window(policy: &RetentionPolicy, shared: bool) -> Option<Duration> {
    policy
        .keep_launched_within
        .or_else(|| shared.then(|| Duration::days(SHARED_LAUNCH_WINDOW_DAYS)))
}
