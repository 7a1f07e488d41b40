//! A session on a world: the in-process cloud a world file describes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use amiref_core::Cloud;
use amiref_memory::MemoryCloud;
use chrono::{DateTime, Utc};

use crate::SessionError;

/// The world a session runs on, and where its state and audit records are kept.
pub(crate) struct WorldSession {
    path: PathBuf,
    cloud: Arc<MemoryCloud>,
    state_dir: PathBuf,
}

impl WorldSession {
    /// Opens the world `path` describes. `state_dir` is where its state lives (else a
    /// directory under `state_home` keyed by the world file).
    pub(crate) fn open(
        path: &Path,
        state_dir: Option<&Path>,
        state_home: Option<&Path>,
    ) -> Result<Self, SessionError> {
        let cloud = MemoryCloud::from_world_file(path).map_err(|e| SessionError::World {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "world".into());
        let state_dir = state_dir
            .map(Path::to_path_buf)
            .or_else(|| state_home.map(|h| h.join("worlds").join(&stem)))
            .ok_or_else(|| SessionError::World {
                path: path.to_owned(),
                message: "no state directory: set --state, $AMIREF_STATE_DIR or $HOME".into(),
            })?;
        Ok(Self {
            path: path.to_owned(),
            cloud: Arc::new(cloud),
            state_dir,
        })
    }

    /// The cloud, as the ports.
    pub(crate) fn cloud(&self) -> Arc<dyn Cloud> {
        self.cloud.clone()
    }

    /// The in-process cloud itself.
    pub(crate) fn memory(&self) -> &Arc<MemoryCloud> {
        &self.cloud
    }

    /// The world's time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.cloud.now()
    }

    /// The world file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Where the world's audit records go: never the real audit log.
    pub(crate) fn audit_path(&self) -> PathBuf {
        self.state_dir.join("audit.jsonl")
    }
}

impl WorldSession {
    /// Saves the world's state for the next session.
    pub(crate) fn save(&self) -> Result<(), SessionError> {
        // Filled in with amiref-memory's state store.
        let _ = (&self.path, &self.state_dir);
        Ok(())
    }
}
