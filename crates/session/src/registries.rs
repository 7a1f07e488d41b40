//! The registries a session reads (the community tier, `ami list`, `registry verify`),
//! verified against their trust store, with the caller's own ratings above them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use amiref_core::{CallerIdentity, Cloud};
use amiref_registry::{EntryPolicy, Layer, RatingsOverlay, Registry, RegistrySource, TrustStore};
use chrono::{DateTime, Utc};

use crate::SessionError;

/// What the configuration says about registries.
#[derive(Debug, Clone, Default)]
pub(crate) struct RegistrySettings {
    pub(crate) community: Vec<String>,
    pub(crate) institutional: Vec<String>,
    pub(crate) trust_store: Option<PathBuf>,
    pub(crate) policy: EntryPolicy,
    pub(crate) ratings: Option<PathBuf>,
    pub(crate) cache_dir: Option<PathBuf>,
}

/// The configured registries, opened: the registry as the caller sees it (sharing
/// policies applied, the caller's ratings above the sources).
#[derive(Debug, Clone)]
pub(crate) struct Registries {
    pub(crate) registry: Arc<Registry>,
}

/// One source as a person wrote it: an https:// URL (cached under `cache_dir`), a file or
/// a directory.
fn source(text: &str, cache_dir: Option<&Path>) -> Result<RegistrySource, SessionError> {
    let source = RegistrySource::parse(text).map_err(SessionError::RegistrySource)?;
    Ok(match cache_dir {
        Some(dir) => source.with_cache_dir(dir),
        None => source,
    })
}

impl RegistrySettings {
    /// Sources as a person wrote them, parsed (remote ones cached like the configured).
    pub(crate) fn parse_sources(
        &self,
        texts: &[String],
        layer: Layer,
    ) -> Result<Vec<(Layer, RegistrySource)>, SessionError> {
        texts
            .iter()
            .map(|t| Ok((layer, source(t, self.cache_dir.as_deref())?)))
            .collect()
    }

    /// The configured sources, institutional first.
    pub(crate) fn sources(&self) -> Result<Vec<(Layer, RegistrySource)>, SessionError> {
        let mut sources = self.parse_sources(&self.institutional, Layer::Institutional)?;
        sources.extend(self.parse_sources(&self.community, Layer::Community)?);
        Ok(sources)
    }

    /// The trust store, which must be named: trust is never implied by where a registry
    /// sits.
    pub(crate) fn load_trust(&self) -> Result<TrustStore, SessionError> {
        let path = self
            .trust_store
            .as_deref()
            .ok_or_else(|| SessionError::NotConfigured {
                what: "the trust store the registries' entries are signed against".into(),
                setting: "`registry_keys:` (or $AMIREF_TRUST_STORE)".into(),
                config: None,
            })?;
        TrustStore::load_file(path).map_err(|source| SessionError::Registry {
            what: format!("registry keys {}", path.display()),
            source,
        })
    }

    /// The registries, or `None` when none are configured. Asks the cloud who is calling,
    /// for the registries' sharing policies.
    pub(crate) async fn open(
        &self,
        cloud: &dyn Cloud,
        now: Option<DateTime<Utc>>,
    ) -> Result<Option<Registries>, SessionError> {
        let sources = self.sources()?;
        if sources.is_empty() {
            return Ok(None);
        }
        let trust = self.load_trust()?;
        let caller = cloud.caller().await.map_err(|e| {
            SessionError::cloud("who is calling (for the registries' sharing policies)", e)
        })?;
        let overlay = match &self.ratings {
            Some(path) => {
                RatingsOverlay::load_file(path).map_err(|source| SessionError::Registry {
                    what: format!("ratings {}", path.display()),
                    source,
                })?
            }
            None => RatingsOverlay::new(),
        };
        let opened = Opened {
            caller: Some(caller),
            overlay: Some(overlay),
            now,
            skip_unavailable: true,
        };
        let registry = build(&sources, &trust, &self.policy, opened).await?;
        Ok(Some(Registries {
            registry: Arc::new(registry),
        }))
    }
}

/// How a registry is opened besides its sources and trust.
#[derive(Debug, Default)]
pub(crate) struct Opened {
    /// Who is asking, for sharing policies; without one, entries a policy restricts are
    /// verified but not listed.
    pub(crate) caller: Option<CallerIdentity>,
    /// The caller's ratings.
    pub(crate) overlay: Option<RatingsOverlay>,
    /// The time entries are judged at (a world's), else the wall clock.
    pub(crate) now: Option<DateTime<Utc>>,
    /// Go on without a source that cannot be read (warned), rather than fail.
    pub(crate) skip_unavailable: bool,
}

/// A registry over `sources`.
pub(crate) async fn build(
    sources: &[(Layer, RegistrySource)],
    trust: &TrustStore,
    policy: &EntryPolicy,
    opened: Opened,
) -> Result<Registry, SessionError> {
    let mut builder = Registry::builder()
        .trust_store(trust.clone())
        .entry_policy(policy.clone())
        .skip_unavailable_sources(opened.skip_unavailable);
    if let Some(caller) = opened.caller {
        builder = builder.caller(caller);
    }
    if let Some(overlay) = opened.overlay {
        builder = builder.overlay(overlay);
    }
    if let Some(now) = opened.now {
        builder = builder.now(now);
    }
    for (layer, source) in sources {
        builder = match layer {
            Layer::Institutional => builder.institutional(source.clone()),
            _ => builder.community(source.clone()),
        };
    }
    builder
        .build()
        .await
        .map_err(|source| SessionError::Registry {
            what: "registries".into(),
            source,
        })
}
