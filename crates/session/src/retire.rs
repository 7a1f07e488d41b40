//! `ami retire`: old versions of a template's images under a retention policy, never an
//! image the session knows to be referenced (a template's mappings in the template
//! library, an entry of a configured registry, whatever its standing). Retiring takes two
//! steps (disable, then deregister after the grace period), with the defaults of the
//! configuration's `retire` section.

use std::str::FromStr;

use amiref_core::{AmiId, Region};
use amiref_lifecycle::{ProgressSink, ProtectedImages, RetentionPolicy, RetireReport, RetireSpec};
use chrono::Duration;

use crate::{Session, SessionError};

/// A tag that keeps images: `KEY` (any value) or `KEY=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TagSelector {
    /// The key.
    pub key: String,
    /// The value, when it must be this one.
    pub value: Option<String>,
}

impl FromStr for TagSelector {
    type Err = SessionError;

    /// `KEY` or `KEY=VALUE`.
    fn from_str(text: &str) -> Result<Self, SessionError> {
        let (key, value) = match text.split_once('=') {
            Some((k, v)) => (k, Some(v.to_owned())),
            None => (text, None),
        };
        if key.trim().is_empty() || key.len() > 128 {
            return Err(SessionError::InvalidInput {
                field: "tag".into(),
                found: text.to_owned(),
                expected: "KEY or KEY=VALUE, the key 1 to 128 characters".into(),
            });
        }
        Ok(Self {
            key: key.to_owned(),
            value,
        })
    }
}

/// `ami retire --template NAME --keep N`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RetireRequest {
    /// The template whose images (tagged `amiref:template`) are considered.
    pub template: String,
    /// Keep the newest N per region.
    pub keep: usize,
    /// Also keep images younger than this.
    pub max_age: Option<Duration>,
    /// Keep images carrying one of these tags.
    pub exclude_tags: Vec<TagSelector>,
    /// Where to look (the session's region when empty).
    pub regions: Vec<Region>,
    /// Protect these images too.
    pub protect: Vec<AmiId>,
    /// Retire images shared with other accounts too; only the sharing is overridden: a
    /// shared image anyone the caller can see references, uses or launched recently is kept.
    pub force_shared: bool,
    /// Keep images launched within this long (`retire.keep_launched_within` of the
    /// configuration when `None`).
    pub keep_launched_within: Option<Duration>,
    /// How long a retired image stays disabled before a later run deregisters it
    /// (`retire.grace` of the configuration when `None`, else 14 days); zero deregisters at
    /// once.
    pub grace: Option<Duration>,
    /// Act (the default is a dry run).
    pub execute: bool,
}

impl RetireRequest {
    /// A dry run keeping the newest `keep` of `template`'s images per region.
    pub fn new(template: impl Into<String>, keep: usize) -> Self {
        Self {
            template: template.into(),
            keep,
            max_age: None,
            exclude_tags: Vec::new(),
            regions: Vec::new(),
            protect: Vec::new(),
            force_shared: false,
            keep_launched_within: None,
            grace: None,
            execute: false,
        }
    }

    /// In these regions.
    #[must_use]
    pub fn regions(mut self, regions: Vec<Region>) -> Self {
        self.regions = regions;
        self
    }

    /// Act.
    #[must_use]
    pub fn execute(mut self, execute: bool) -> Self {
        self.execute = execute;
        self
    }
}

impl Session {
    /// `ami retire`: a dry run unless `execute`. Protected besides what the cloud reports
    /// in use: the images the template library's templates map, every image a configured
    /// registry's files name (an entry refused for its signature still points people at
    /// its images), and `request.protect`. Audited by the lifecycle.
    pub async fn retire_images(
        &self,
        request: &RetireRequest,
        progress: &dyn ProgressSink,
    ) -> Result<RetireReport, SessionError> {
        let policy = self.retention_policy(request)?;
        let regions = if request.regions.is_empty() {
            vec![self.region().clone()]
        } else {
            request.regions.clone()
        };
        let templates = self.templates().all()?;
        let protected = ProtectedImages::new()
            .templates(templates.iter().map(|(t, _)| t))
            .registry(self.registry_images().await?)
            .registry(request.protect.iter().cloned());
        let spec = RetireSpec::new(request.template.clone(), regions, policy)
            .protected(protected)
            .force_shared(request.force_shared)
            .execute(request.execute);
        Ok(self
            .lifecycle(progress)
            .retire(&spec, &amiref_regions::Prices::builtin())
            .await?)
    }

    /// The request's policy; what it leaves out comes from the configuration's `retire`
    /// section, else the lifecycle's defaults.
    fn retention_policy(&self, request: &RetireRequest) -> Result<RetentionPolicy, SessionError> {
        let mut policy = RetentionPolicy::keep_newest(request.keep);
        if let Some(age) = request.max_age {
            policy = policy.max_age(age);
        }
        for tag in &request.exclude_tags {
            policy = policy.exclude_tag(tag.key.clone(), tag.value.clone());
        }
        let defaults = &self.config().config.retire;
        let window = match request.keep_launched_within {
            Some(window) => Some(window),
            None => configured("retire.keep_launched_within", defaults.keep_launched_within)?,
        };
        if let Some(window) = window {
            policy = policy.keep_launched_within(window);
        }
        let grace = match request.grace {
            Some(grace) => Some(grace),
            None => configured("retire.grace", defaults.grace)?,
        };
        if let Some(grace) = grace {
            policy = policy.grace(grace);
        }
        Ok(policy)
    }

    /// Every image the configured registries' documents name, admitted or not.
    async fn registry_images(&self) -> Result<Vec<AmiId>, SessionError> {
        let mut images = Vec::new();
        for (_, source) in self.registry_settings().sources()? {
            let loaded = source.load().await.map_err(|e| SessionError::Registry {
                what: format!("registry {} (read to protect its images)", source.name()),
                source: e,
            })?;
            for parsed in &loaded.documents {
                images.extend(
                    parsed
                        .document
                        .community_amis
                        .values()
                        .flat_map(|versions| versions.values())
                        .flat_map(|entry| entry.regions.values().cloned()),
                );
            }
        }
        Ok(images)
    }
}

/// A duration of the configuration as the policy takes it.
fn configured(
    field: &str,
    duration: Option<amiref_template::HumanDuration>,
) -> Result<Option<Duration>, SessionError> {
    duration
        .map(|d| {
            Duration::from_std(d.get()).map_err(|_| SessionError::InvalidInput {
                field: field.to_owned(),
                found: d.to_string(),
                expected: "a duration such as 14d (this one is too long to count in milliseconds)"
                    .to_owned(),
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_with_or_without_a_value() {
        let t: TagSelector = "keep".parse().expect("a key");
        assert_eq!((t.key.as_str(), t.value), ("keep", None));
        let t: TagSelector = "stage=prod".parse().expect("a pair");
        assert_eq!(
            (t.key.as_str(), t.value.as_deref()),
            ("stage", Some("prod"))
        );
        assert!("=prod".parse::<TagSelector>().is_err());
    }
}
