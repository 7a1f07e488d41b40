//! A session on a world: the in-process cloud a world file describes, its state kept
//! between sessions by amiref-memory's [`WorldState`] (a locked state directory, saved
//! atomically), its audit records in that directory, never in the real audit log.
//! `world show` and `world reset` are here too.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use amiref_core::{Cloud, ImageFilter, InstanceFilter, InstanceType, Owner, Region};
use amiref_memory::{MemoryCloud, WorldState};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::instance::InstanceSummary;
use crate::list::OwnImage;
use crate::{Session, SessionError};

/// Where a world's state lives: the directory named, else the default under the state
/// home (amiref-memory's `world_state_dir`: `worlds/<stem>-<hash of its path>`).
#[derive(Debug, Clone, Default)]
pub(crate) struct StateLocation {
    pub(crate) dir: Option<PathBuf>,
    /// The session's state home (`crate::config::default_state_home`).
    pub(crate) state_home: Option<PathBuf>,
}

impl StateLocation {
    fn dir_for(&self, world: &Path) -> Result<PathBuf, SessionError> {
        match (&self.dir, &self.state_home) {
            (Some(dir), _) => Ok(dir.clone()),
            (None, Some(home)) => Ok(amiref_memory::world_state_dir(home, world)?),
            (None, None) => Err(amiref_memory::StateError::NoStateHome.into()),
        }
    }

    /// Opens (and locks) the state of `world`, waiting for another command that holds it.
    async fn open(&self, world: &Path) -> Result<WorldState, SessionError> {
        let dir = self.dir_for(world)?;
        if let Some(state) = WorldState::try_open(world, Some(&dir))? {
            return Ok(state);
        }
        tracing::info!(state = %dir.display(), "another command holds the world; waiting for it");
        let world = world.to_owned();
        tokio::task::spawn_blocking(move || WorldState::open(&world, Some(&dir)))
            .await
            .map_err(|e| SessionError::Runtime(std::io::Error::other(e)))?
            .map_err(SessionError::from)
    }
}

/// The world a session runs on, and its open (locked) state.
pub(crate) struct WorldSession {
    state: WorldState,
    cloud: Arc<MemoryCloud>,
}

impl WorldSession {
    /// Opens the world `path` describes, as the last session left it.
    pub(crate) async fn open(path: &Path, location: &StateLocation) -> Result<Self, SessionError> {
        let state = location.open(path).await?;
        let cloud = state.load()?;
        Ok(Self {
            state,
            cloud: Arc::new(cloud),
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

    /// Where the world's audit records go: never the real audit log.
    pub(crate) fn audit_path(&self) -> PathBuf {
        self.state.audit_path()
    }

    pub(crate) fn launch_log_path(&self) -> PathBuf {
        self.state.launch_log_path()
    }

    /// Saves the world's state for the next session.
    pub(crate) fn save(&self) -> Result<(), SessionError> {
        Ok(self.state.save(&self.cloud)?)
    }
}

/// One instance of the caller's in a world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct WorldInstance {
    /// The instance.
    #[serde(flatten)]
    pub instance: InstanceSummary,
    /// The image it was launched from.
    pub image: amiref_core::AmiId,
    /// Its instance type.
    pub instance_type: InstanceType,
    /// When it was launched.
    pub launch_time: DateTime<Utc>,
}

/// A region of a world: the caller's instances and images there.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct WorldRegion {
    /// The region.
    pub region: Region,
    /// The caller's instances, by id.
    pub instances: Vec<WorldInstance>,
    /// The caller's images, newest first.
    pub images: Vec<OwnImage>,
}

/// `world show`: where a world's state is, what the caller has in it, and the whole world
/// as it is now in the world-file format.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct WorldReport {
    /// The world file.
    pub world_file: PathBuf,
    /// The state directory.
    pub state_dir: PathBuf,
    /// Whether a state has been saved (else the world is as its file describes it).
    pub saved: bool,
    /// The world's audit log.
    pub audit_log: PathBuf,
    /// The world's time now.
    pub now: DateTime<Utc>,
    /// The regions where the caller has instances or images, in region order.
    pub regions: Vec<WorldRegion>,
    /// The whole world as it is now, in the world-file format (docs/worlds.md): its time
    /// now is its `start`, and loading it gives the same world.
    #[schemars(with = "serde_json::Value")]
    pub world: amiref_memory::WorldDocument,
}

/// `world reset`: what was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct WorldResetReport {
    /// The world file.
    pub world_file: PathBuf,
    /// The state directory.
    pub state_dir: PathBuf,
    /// Whether there was a saved state or an audit log to remove.
    pub removed: bool,
}

/// Removes the saved state and audit log of `world`, waiting for a command that holds it.
/// Works when the saved state no longer loads (the world file changed): that is what it
/// is for.
pub(crate) async fn reset(
    world: &Path,
    location: &StateLocation,
) -> Result<WorldResetReport, SessionError> {
    let state = location.open(world).await?;
    let removed = state.reset()?;
    Ok(WorldResetReport {
        world_file: world.to_owned(),
        state_dir: state.dir().to_owned(),
        removed,
    })
}

impl Session {
    /// The whole world as it is now, in the world-file format (loading its text gives the
    /// same world): what `world show` prints in full. `None` when not on a world.
    pub fn world_document(&self) -> Option<amiref_memory::WorldDocument> {
        self.world().map(|w| w.to_world())
    }

    /// `world show`: the world's state directory and the caller's instances and images in
    /// every region it defines. `None` when the session is not on a world.
    pub async fn world_show(&self) -> Result<Option<WorldReport>, SessionError> {
        let Some(world) = self.world_session() else {
            return Ok(None);
        };
        let images = ImageFilter::owned_by([Owner::Me]).include_deprecated(true);
        let mut regions = Vec::new();
        for region in world.memory().regions() {
            let instances = self
                .cloud()
                .describe_instances(&region, &InstanceFilter::all())
                .await
                .map_err(|e| SessionError::cloud(format!("listing instances in {region}"), e))?;
            let mut own: Vec<OwnImage> = self
                .cloud()
                .search_images(&region, &images)
                .await
                .map_err(|e| SessionError::cloud(format!("listing images in {region}"), e))?
                .into_iter()
                .map(OwnImage::from)
                .collect();
            if instances.is_empty() && own.is_empty() {
                continue;
            }
            own.sort_by(|a, b| {
                b.created
                    .cmp(&a.created)
                    .then_with(|| a.image.cmp(&b.image))
            });
            regions.push(WorldRegion {
                instances: instances
                    .iter()
                    .map(|i| WorldInstance {
                        instance: InstanceSummary::from(i),
                        image: i.image.clone(),
                        instance_type: i.instance_type.clone(),
                        launch_time: i.launch_time,
                    })
                    .collect(),
                images: own,
                region,
            });
        }
        regions.sort_by(|a, b| a.region.cmp(&b.region));
        Ok(Some(WorldReport {
            world_file: world.state.world_file().to_owned(),
            state_dir: world.state.dir().to_owned(),
            saved: world.state.is_saved(),
            audit_log: world.audit_path(),
            now: world.now(),
            regions,
            world: world.memory().to_world(),
        }))
    }
}
