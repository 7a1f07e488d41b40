//! Where registry documents come from: a file, a directory of files, or an HTTPS URL.

use std::path::{Path, PathBuf};

use crate::document::ParsedRegistry;
use crate::error::LoadError;
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

async fn load_file(path: &Path) -> Result<ParsedRegistry, LoadError> {
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|source| LoadError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
    ParsedRegistry::from_yaml_str(&text, &path.display().to_string())
}

/// Writes `bytes` to `path` through a temporary file in the same directory, so a reader
/// never sees half a file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    let io = |source| LoadError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
