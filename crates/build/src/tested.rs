//! What a build hands to distribution: an image that passed its test, with what was measured.

use std::time::Duration;

use amiref_core::{AmiId, Architecture, Region};
use amiref_lifecycle::TemplateLineage;
use chrono::{DateTime, Utc};

use crate::BuildId;

/// Times measured during a build, both from launch to the completion marker on the serial
/// console.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct Measured {
    /// The builder instance, launched from the base image, running the template's
    /// `user_data`: what a launch that provisions by script waits. JSON:
    /// `script_ready_secs`.
    #[serde(rename = "script_ready_secs", with = "seconds")]
    #[schemars(with = "f64")]
    pub script_ready: Duration,
    /// An instance launched from the new image running `build.test`: what a launch from the
    /// pre-built image waits. JSON: `image_ready_secs`.
    #[serde(rename = "image_ready_secs", with = "seconds")]
    #[schemars(with = "f64")]
    pub image_ready: Duration,
}

impl Measured {
    /// Both figures.
    pub fn new(script_ready: Duration, image_ready: Duration) -> Self {
        Self {
            script_ready,
            image_ready,
        }
    }

    /// How many times faster the image is ready than the script: `script_ready /
    /// image_ready` (infinite when the image took no measurable time).
    pub fn ratio(&self) -> f64 {
        self.script_ready.as_secs_f64() / self.image_ready.as_secs_f64()
    }
}

/// Durations as seconds (a float) in JSON, the form reports use.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

/// An image a build captured and tested, in the build's home region.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct TestedImage {
    /// The build that made it.
    pub build: BuildId,
    /// The region it was built in (the first region of the build).
    pub region: Region,
    /// The image.
    pub image: AmiId,
    /// Its architecture.
    pub architecture: Architecture,
    /// The template, version and template fingerprint it was built from.
    pub lineage: TemplateLineage,
    /// The build fingerprint (user data, base image choice, test, instance types).
    pub build_fingerprint: String,
    /// The base image the builder booted.
    pub base_image: AmiId,
    /// What the build measured.
    pub measured: Measured,
    /// When the test passed.
    pub tested_at: DateTime<Utc>,
}
