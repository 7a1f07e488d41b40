//! Opening the registries a session reads (community tier, `ami list`), verified against
//! their trust store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use amiref_core::Cloud;
use amiref_registry::{HttpSource, Registry, RegistrySource, TrustStore};
use chrono::{DateTime, Utc};

use crate::SessionError;

/// One registry source as a person wrote it: an https:// URL (cached under the state
/// home), else a file or directory.
pub(crate) fn source(text: &str, state_home: Option<&Path>) -> Result<RegistrySource, SessionError> {
    let what = || format!("registry {text:?}");
    if let Some(rest) = text.strip_prefix("https://") {
        let _ = rest;
        let mut b = HttpSource::builder(text);
        if let Some(home) = state_home {
            b = b.cache_dir(home.join("registry-cache"));
        }
        return b
            .build()
            .map(RegistrySource::Http)
            .map_err(|source| SessionError::Registry { what: what(), source });
    }
    if text.contains("://") {
        return Err(SessionError::Invalid(format!(
            "{}: found a {} URL, expected an https:// URL, a file or a directory (registries are fetched over TLS only)",
            what(),
            text.split("://").next().unwrap_or_default()
        )));
    }
    Ok(RegistrySource::path(text))
}

/// The trust store for `sources`: the one named, else `trust.yml` beside the first file
/// source.
fn trust_store_path(sources: &[String], keys: Option<&Path>) -> Option<PathBuf> {
    keys.map(Path::to_path_buf).or_else(|| {
        let first = sources.iter().find(|s| !s.contains("://"))?;
        let p = Path::new(first);
        let dir = if p.is_dir() { p } else { p.parent()? };
        Some(dir.join("trust.yml"))
    })
}

/// The registry over `sources`, or `None` when there are none.
pub(crate) async fn open(
    sources: &[String],
    keys: Option<&Path>,
    state_home: Option<&Path>,
    cloud: &dyn Cloud,
    now: Option<DateTime<Utc>>,
) -> Result<Option<Arc<Registry>>, SessionError> {
    if sources.is_empty() {
        return Ok(None);
    }
    let keys = trust_store_path(sources, keys).ok_or_else(|| {
        SessionError::Invalid(
            "registries need a trust store: set `registry_keys:` in the configuration file or $AMIREF_TRUST_STORE".into(),
        )
    })?;
    let store = TrustStore::load_file(&keys).map_err(|source| SessionError::Registry {
        what: format!("registry keys {}", keys.display()),
        source,
    })?;
    let caller = cloud
        .caller()
        .await
        .map_err(|e| SessionError::cloud("who is calling (for the registries' sharing policies)", e))?;
    let mut builder = Registry::builder()
        .trust_store(store)
        .caller(caller)
        .skip_unavailable_sources(true);
    if let Some(now) = now {
        builder = builder.now(now);
    }
    for text in sources {
        builder = builder.community(source(text, state_home)?);
    }
    let registry = builder.build().await.map_err(|source| SessionError::Registry {
        what: "registries".into(),
        source,
    })?;
    Ok(Some(Arc::new(registry)))
}
