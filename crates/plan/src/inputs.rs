//! What the planner is given: templates with their measured times, launch records, usage
//! files and the images a cloud already holds.

use std::time::Duration;

use amiref_build::Measured;
use amiref_build::tags::{TAG_IMAGE_READY_SECONDS, TAG_SCRIPT_READY_SECONDS};
use amiref_core::{AmiId, CloudError, Image, ImageStore, ImageUsage, Region};
use amiref_registry::Verification;
use amiref_template::Template;
use chrono::{DateTime, Utc};
use futures::StreamExt;

use crate::{LaunchLogContents, UsageFile};

/// Where a measured pair of times comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum MeasurementSource {
    /// The signed registry entry's `verification`, as the build wrote it.
    RegistryVerification,
    /// The tags amiref-build put on this image ([`TAG_SCRIPT_READY_SECONDS`],
    /// [`TAG_IMAGE_READY_SECONDS`]).
    ImageTags {
        /// The image.
        image: AmiId,
    },
}

/// Times to ready measured by a build (amiref-build's [`Measured`]: the script's
/// provisioning on the builder, the image's test on the tester), and where they were read.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MeasuredTimes {
    /// The two times.
    pub measured: Measured,
    /// Where they were read.
    pub source: MeasurementSource,
}

impl MeasuredTimes {
    /// A measured pair.
    pub fn new(measured: Measured, source: MeasurementSource) -> Self {
        Self { measured, source }
    }

    /// The pair an image's build tags record, when it carries both as seconds.
    pub fn from_image_tags(image: &Image) -> Option<Self> {
        let tag = |key| image.tag(key).and_then(|v| v.trim().parse::<f64>().ok());
        let measured = Measured::new(
            duration(tag(TAG_SCRIPT_READY_SECONDS)?)?,
            duration(tag(TAG_IMAGE_READY_SECONDS)?)?,
        );
        let source = MeasurementSource::ImageTags {
            image: image.id.clone(),
        };
        Some(Self::new(measured, source))
    }

    /// The pair a registry entry's verification records, when it holds both.
    pub fn from_verification(verification: &Verification) -> Option<Self> {
        let measured = Measured::new(
            duration(verification.script_ready_secs?)?,
            duration(verification.image_ready_secs?)?,
        );
        Some(Self::new(measured, MeasurementSource::RegistryVerification))
    }
}

/// Seconds as a duration, when they are a finite amount, 0 or more.
fn duration(seconds: f64) -> Option<Duration> {
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// A template to plan for, with what is known of its times beyond the template itself.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TemplateInput {
    /// The template.
    pub template: Template,
    /// Times its registry entry records ([`MeasuredTimes::from_verification`]); when absent
    /// the planner looks at its images' tags, then the launch log, then estimates.
    pub measured: Option<MeasuredTimes>,
}

impl TemplateInput {
    /// A template with nothing measured.
    pub fn new(template: Template) -> Self {
        Self {
            template,
            measured: None,
        }
    }

    /// With times its registry entry records.
    #[must_use]
    pub fn with_measured(mut self, measured: MeasuredTimes) -> Self {
        self.measured = Some(measured);
        self
    }
}

/// What EC2 says of an image the cloud already holds: the image (with `last_launched`,
/// EC2's LastLaunchedTime) and what references it (instances and launch templates, as
/// DescribeImageReferences answers), or why that could not be asked.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ImageSignal {
    /// The image.
    pub image: Image,
    /// What still uses it, or the error that kept the planner from knowing.
    pub usage: Result<ImageUsage, CloudError>,
}

impl ImageSignal {
    /// An image and its usage.
    pub fn new(image: Image, usage: Result<ImageUsage, CloudError>) -> Self {
        Self { image, usage }
    }

    /// The template the image was built from (its `amiref:template` tag).
    pub fn template(&self) -> Option<&str> {
        self.image.tag(amiref_lifecycle::tags::TAG_TEMPLATE)
    }
}

/// Asks `store` what uses each image, at most `concurrency` questions at a time (at least
/// one), and returns the signals in the images' order. A failed question is kept in the
/// signal (such an image is never proposed for retirement).
pub async fn image_signals(
    store: &dyn ImageStore,
    images: Vec<Image>,
    concurrency: usize,
) -> Vec<ImageSignal> {
    futures::stream::iter(images)
        .map(|image| async move {
            let usage = store.image_usage(&image.region, &image.id).await;
            ImageSignal::new(image, usage)
        })
        .buffered(concurrency.max(1))
        .collect()
        .await
}

/// Everything a plan is computed from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PlanInputs {
    /// The time the plan is made at: the launch log's window ends here.
    pub now: DateTime<Utc>,
    /// The regions to plan for (the matrix's columns); empty: every region the launch
    /// records, usage files and images name.
    pub regions: Vec<Region>,
    /// The templates (the matrix's rows, one per architecture).
    pub templates: Vec<TemplateInput>,
    /// The launch log's records (and its bad lines, reported in the plan's notes).
    pub launch_log: LaunchLogContents,
    /// Usage files, later ones over earlier ones.
    pub usage: Vec<UsageFile>,
    /// Images the cloud holds for the templates, with what uses them.
    pub images: Vec<ImageSignal>,
}

impl PlanInputs {
    /// No templates, launches, usage or images yet, at `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now,
            regions: Vec::new(),
            templates: Vec::new(),
            launch_log: LaunchLogContents::default(),
            usage: Vec::new(),
            images: Vec::new(),
        }
    }

    /// Plans for these regions only.
    #[must_use]
    pub fn regions(mut self, regions: impl IntoIterator<Item = Region>) -> Self {
        self.regions = regions.into_iter().collect();
        self
    }

    /// Adds a template.
    #[must_use]
    pub fn template(mut self, template: TemplateInput) -> Self {
        self.templates.push(template);
        self
    }

    /// With the launch log's contents.
    #[must_use]
    pub fn launch_log(mut self, contents: LaunchLogContents) -> Self {
        self.launch_log = contents;
        self
    }

    /// Adds a usage file.
    #[must_use]
    pub fn usage(mut self, file: UsageFile) -> Self {
        self.usage.push(file);
        self
    }

    /// Adds images the cloud holds.
    #[must_use]
    pub fn images(mut self, images: impl IntoIterator<Item = ImageSignal>) -> Self {
        self.images.extend(images);
        self
    }
}
