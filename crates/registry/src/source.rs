//! Where registry documents come from: a file, a directory of files, or an HTTPS URL.

use std::path::{Path, PathBuf};

use crate::document::ParsedRegistry;
use crate::error::{LoadError, SourceError};
use crate::files::{self, Access};
use crate::http::HttpSource;

/// One source of registry documents.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RegistrySource {
    /// One YAML file.
    File(PathBuf),
    /// Every `*.yml` / `*.yaml` file in a directory (not recursive), in name order.
    Directory(PathBuf),
    /// A URL, fetched with conditional requests and cached on disk.
    Http(HttpSource),
}

/// What loading a source produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Loaded {
    /// The documents read.
    pub documents: Vec<ParsedRegistry>,
    /// Things a person should know (a stale copy was used).
    pub warnings: Vec<String>,
}

impl RegistrySource {
    /// Reads a registry source as a person writes it (`--registry`, `--image-registry`):
    /// an `https://` URL, or else a path (a directory when it is one, a file otherwise).
    ///
    /// Every other scheme is refused, `http://` included: a registry fetched in the clear
    /// can be withheld or replaced by anyone on the path. So is `file://` (give the path
    /// itself) and an empty text. A URL's cache directory is set with
    /// [`RegistrySource::with_cache_dir`].
    ///
    /// ```
    /// use amiref_registry::{RegistrySource, SourceError};
    ///
    /// assert!(matches!(
    ///     RegistrySource::parse("https://example.org/community.yml"),
    ///     Ok(RegistrySource::Http(_))
    /// ));
    /// assert!(matches!(
    ///     RegistrySource::parse("examples/registry/community.yml"),
    ///     Ok(RegistrySource::File(_))
    /// ));
    /// assert!(matches!(
    ///     RegistrySource::parse("http://example.org/community.yml"),
    ///     Err(SourceError::PlainHttp { .. })
    /// ));
    /// ```
    pub fn parse(text: &str) -> Result<Self, SourceError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(SourceError::Empty);
        }
        let Some(scheme) = url_scheme(trimmed) else {
            return Ok(Self::path(trimmed));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "https" => HttpSource::builder(trimmed)
                .build()
                .map(Self::Http)
                .map_err(|source| SourceError::Url {
                    text: trimmed.to_owned(),
                    source,
                }),
            "http" => Err(SourceError::PlainHttp {
                text: trimmed.to_owned(),
            }),
            "file" => Err(SourceError::FileUrl {
                text: trimmed.to_owned(),
            }),
            _ => Err(SourceError::UnsupportedScheme {
                text: trimmed.to_owned(),
                scheme: scheme.to_owned(),
            }),
        }
    }

    /// The same source, caching remote copies under `dir` (no effect on a file or a
    /// directory).
    #[must_use]
    pub fn with_cache_dir(self, dir: impl Into<PathBuf>) -> Self {
        match self {
            Self::Http(source) => Self::Http(source.with_cache_dir(dir)),
            other => other,
        }
    }

    /// A file source.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self::File(path.into())
    }

    /// A directory source.
    pub fn directory(path: impl Into<PathBuf>) -> Self {
        Self::Directory(path.into())
    }

    /// A file or directory source, whichever `path` is.
    pub fn path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        if path.is_dir() {
            Self::Directory(path)
        } else {
            Self::File(path)
        }
    }

    /// The source's name, for reports.
    pub fn name(&self) -> String {
        match self {
            Self::File(p) | Self::Directory(p) => p.display().to_string(),
            Self::Http(h) => h.url().to_owned(),
        }
    }

    /// Reads the source.
    pub async fn load(&self) -> Result<Loaded, LoadError> {
        match self {
            Self::File(path) => Ok(Loaded {
                documents: vec![load_file(path).await?],
                warnings: Vec::new(),
            }),
            Self::Directory(dir) => {
                let mut names = Vec::new();
                let mut read = tokio::fs::read_dir(dir)
                    .await
                    .map_err(|source| LoadError::Io {
                        action: "list",
                        path: dir.clone(),
                        source,
                    })?;
                loop {
                    match read.next_entry().await {
                        Ok(Some(item)) => {
                            let path = item.path();
                            let yaml = path.extension().is_some_and(|e| e == "yml" || e == "yaml");
                            if yaml && path.is_file() {
                                names.push(path);
                            }
                        }
                        Ok(None) => break,
                        Err(source) => {
                            return Err(LoadError::Io {
                                action: "list",
                                path: dir.clone(),
                                source,
                            });
                        }
                    }
                }
                names.sort();
                let mut documents = Vec::with_capacity(names.len());
                for path in &names {
                    documents.push(load_file(path).await?);
                }
                Ok(Loaded {
                    documents,
                    warnings: Vec::new(),
                })
            }
            Self::Http(source) => {
                let fetched = source.fetch().await?;
                Ok(Loaded {
                    documents: vec![fetched.registry],
                    warnings: fetched.warning.into_iter().collect(),
                })
            }
        }
    }
}

/// The scheme of `text` when it starts like a URL (`scheme://`), per RFC 3986: a letter,
/// then letters, digits, `+`, `-` or `.`.
fn url_scheme(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

async fn load_file(path: &Path) -> Result<ParsedRegistry, LoadError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|source| LoadError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
    let origin = path.display().to_string();
    let text = crate::yaml::text_from_bytes(bytes, &origin, "registry")?;
    ParsedRegistry::from_yaml_str(&text, &origin)
}

/// Writes `bytes` to `path` through a temporary file in the same directory, so a reader
/// never sees half a file (see [`crate::files`]).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    files::replace(path, bytes, Access::Default).map_err(|source| LoadError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    })
}
