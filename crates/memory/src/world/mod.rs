//! World files: the YAML format of `examples/worlds/*.yaml`, read into a
//! [`MemoryCloudBuilder`] and written from a running world ([`MemoryCloud::to_world`]). The
//! only module that knows YAML.
//!
//! Shape errors (syntax, unknown fields, invalid ids) come from the parser with their line,
//! column and field path; errors of meaning (a duplicate id, a product naming a missing
//! image) come from the builder and are located at the line where the offending value is
//! written. docs/worlds.md describes the format field by field.

mod file;
mod load;
mod locate;
mod save;

use std::path::Path;

pub use save::WorldDocument;

use crate::builder::MemoryCloudBuilder;
use crate::{MemoryCloud, WorldError};

impl MemoryCloud {
    /// Loads a world file (see docs/worlds.md).
    pub fn from_world_file(path: impl AsRef<Path>) -> Result<Self, WorldError> {
        Self::world_file_builder(path)?.build_located()
    }

    /// Loads a world from YAML text; `origin` names it in errors (a file name).
    pub fn from_world_yaml(text: &str, origin: &str) -> Result<Self, WorldError> {
        Self::world_yaml_builder(text, origin)?.build_located()
    }

    /// Reads a world file into a builder, so that knobs can be set before building.
    pub fn world_file_builder(path: impl AsRef<Path>) -> Result<WorldBuilder, WorldError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| WorldError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::world_yaml_builder(&text, &path.display().to_string())
    }

    /// Reads YAML text into a builder, so that knobs can be set before building.
    pub fn world_yaml_builder(text: &str, origin: &str) -> Result<WorldBuilder, WorldError> {
        let file: file::WorldFile =
            amiref_yaml::from_str(text, origin).map_err(locate::syntax_error)?;
        let builder = load::into_builder(file).map_err(|e| locate::locate(e, text, origin))?;
        Ok(WorldBuilder {
            builder,
            text: text.to_owned(),
            origin: origin.to_owned(),
        })
    }
}

/// A world read from text, not yet built: set knobs on it, then build.
#[derive(Debug, Clone)]
#[must_use]
pub struct WorldBuilder {
    builder: MemoryCloudBuilder,
    text: String,
    origin: String,
}

impl WorldBuilder {
    /// Changes the builder (set latency, throttling, more images...).
    pub fn map(mut self, f: impl FnOnce(MemoryCloudBuilder) -> MemoryCloudBuilder) -> Self {
        self.builder = f(self.builder);
        self
    }

    /// Builds the world; errors of meaning are located in the text.
    pub fn build_located(self) -> Result<MemoryCloud, WorldError> {
        let Self {
            builder,
            text,
            origin,
        } = self;
        builder
            .build()
            .map_err(|e| locate::locate(e, &text, &origin))
    }
}
