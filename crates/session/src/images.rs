//! Making images and moving them: `ami create` (from an instance named by its `Name` tag
//! or id, with a default name from the template, optionally public), `ami create-multi`
//! and `ami copy`, through the lifecycle's one create and copy engine.

use amiref_core::{AmiId, LaunchPermission, Region};
use amiref_lifecycle::{
    CompletionDuration, CopyReport, CopySpec, CreateImageSpec, CreatedImage, Encryption,
    MultiRegionReport, ProgressSink, RegionCopyOutcome, ShareReport, ShareSpec, TemplateLineage,
};
use amiref_template::Template;
use serde::Serialize;

use crate::instance::{InstanceRef, InstanceSummary};
use crate::{Session, SessionError};

/// The name an image of `template` gets when none is given: the template's name and
/// version (`python-ml-2.1.0`), or its name alone when it has no version.
///
/// ```
/// let yaml = "name: python-ml\nversion: v2.1.0\nuser_data: |\n  #!/bin/bash\n  echo\n";
/// let t = amiref_template::Template::from_yaml_str(yaml, "t.yml").unwrap();
/// assert_eq!(amiref_session::default_image_name(&t), "python-ml-2.1.0");
/// ```
pub fn default_image_name(template: &Template) -> String {
    match &template.version {
        Some(v) => format!("{}-{}", template.name, v.trim_start_matches('v')),
        None => template.name.clone(),
    }
}

/// `ami create`: image an instance.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CreateImageRequest {
    /// The template the instance was launched from (its lineage tags the image).
    pub template: Template,
    /// The instance: its id or its name.
    pub instance: InstanceRef,
    /// Where the instance runs (the session's region when `None`).
    pub region: Option<Region>,
    /// The image's name ([`default_image_name`] when `None`).
    pub name: Option<String>,
    /// The image's description (the template's when `None`).
    pub description: Option<String>,
    /// Make the image public once it is available (refused by EC2 where block public
    /// access for AMIs is on, and for encrypted snapshots).
    pub public: bool,
    /// Image without rebooting the instance.
    pub no_reboot: bool,
    /// Report what would be done; change nothing.
    pub dry_run: bool,
}

impl CreateImageRequest {
    /// Image `instance`, launched from `template`.
    pub fn new(template: Template, instance: InstanceRef) -> Self {
        Self {
            template,
            instance,
            region: None,
            name: None,
            description: None,
            public: false,
            no_reboot: false,
            dry_run: false,
        }
    }

    /// In this region.
    #[must_use]
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// With this name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Made public once available.
    #[must_use]
    pub fn public(mut self, public: bool) -> Self {
        self.public = public;
        self
    }

    /// Without rebooting the instance.
    #[must_use]
    pub fn no_reboot(mut self, no_reboot: bool) -> Self {
        self.no_reboot = no_reboot;
        self
    }

    /// A dry run.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// Whether making an image public worked, in one region.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PublicOutcome {
    /// Launch permission for everyone (or, in a dry run, what would be granted).
    Shared {
        /// The share.
        report: ShareReport,
    },
    /// Refused or failed; the image itself was made and stays private.
    Failed {
        /// The region.
        region: Region,
        /// Why.
        error: String,
    },
    /// A dry run that would create the image: it would be made public once made.
    Planned,
}

impl PublicOutcome {
    /// Whether the image is (or would be) public.
    pub fn is_public(&self) -> bool {
        !matches!(self, Self::Failed { .. })
    }
}

/// What `ami create` did.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct CreateImageReport {
    /// The instance imaged.
    pub instance: InstanceSummary,
    /// What was asked of the lifecycle.
    pub spec: CreateImageSpec,
    /// The image.
    pub created: CreatedImage,
    /// Making it public, when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public: Option<PublicOutcome>,
}

impl CreateImageReport {
    /// Whether everything asked was done (the image, and making it public if asked).
    pub fn is_complete(&self) -> bool {
        self.public.as_ref().is_none_or(PublicOutcome::is_public)
    }
}

/// `ami create-multi`: image an instance, then copy the image to other regions.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CreateMultiRequest {
    /// The image to make, in the instance's region.
    pub create: CreateImageRequest,
    /// The regions to have the image in (the instance's is made there, the others copied).
    pub regions: Vec<Region>,
    /// How the copies are encrypted.
    pub encryption: Encryption,
}

impl CreateMultiRequest {
    /// `create`, then copies into `regions`.
    pub fn new(create: CreateImageRequest, regions: Vec<Region>) -> Self {
        Self {
            create,
            regions,
            encryption: Encryption::AsSource,
        }
    }

    /// Encrypts the copies.
    #[must_use]
    pub fn encryption(mut self, encryption: Encryption) -> Self {
        self.encryption = encryption;
        self
    }
}

/// What `ami create-multi` did.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct CreateMultiReport {
    /// The instance imaged.
    pub instance: InstanceSummary,
    /// What was asked of the lifecycle.
    pub spec: CreateImageSpec,
    /// The image and its copies.
    pub result: MultiRegionReport,
    /// Making each region's image public, when asked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub public: Vec<PublicOutcome>,
}

impl CreateMultiReport {
    /// Whether everything asked was done: every copy, and every share if asked.
    pub fn is_complete(&self) -> bool {
        !self
            .result
            .copies
            .as_ref()
            .is_some_and(CopyReport::has_failures)
            && self.public.iter().all(PublicOutcome::is_public)
    }
}

/// `ami copy`: an image into other regions.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CopyRequest {
    /// The image.
    pub image: AmiId,
    /// Where it is (the session's region when `None`).
    pub source_region: Option<Region>,
    /// Where to copy it.
    pub destinations: Vec<Region>,
    /// The copies' name (the source's when `None`).
    pub name: Option<String>,
    /// How the copies are encrypted.
    pub encryption: Encryption,
    /// Copy the source's tags too (EC2's CopyImageTags).
    pub copy_image_tags: bool,
    /// A time-based copy completing within this long (its extra cost is in the report).
    pub completion_duration: Option<CompletionDuration>,
    /// Report what would be done; change nothing.
    pub dry_run: bool,
}

impl CopyRequest {
    /// Copy `image` into `destinations`.
    pub fn new(image: AmiId, destinations: Vec<Region>) -> Self {
        Self {
            image,
            source_region: None,
            destinations,
            name: None,
            encryption: Encryption::AsSource,
            copy_image_tags: false,
            completion_duration: None,
            dry_run: false,
        }
    }

    /// From this region.
    #[must_use]
    pub fn source_region(mut self, region: Region) -> Self {
        self.source_region = Some(region);
        self
    }

    /// Encrypted so.
    #[must_use]
    pub fn encryption(mut self, encryption: Encryption) -> Self {
        self.encryption = encryption;
        self
    }

    /// A dry run.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

impl Session {
    /// `ami create`: finds the instance (by id or `Name` tag), images it with the
    /// template's lineage tags and waits until the image is available; with `public`,
    /// then grants everyone launch permission. Idempotent (an earlier run's image of this
    /// instance under this name is reused) and audited.
    pub async fn create_image(
        &self,
        request: &CreateImageRequest,
        progress: &dyn ProgressSink,
    ) -> Result<CreateImageReport, SessionError> {
        let (instance, spec) = self.create_spec(request).await?;
        let lifecycle = self.lifecycle(progress);
        let created = lifecycle.create_image(&spec).await?;
        let public = match (request.public, &created.image) {
            (false, _) => None,
            (true, Some(image)) => Some(
                self.make_public(&spec.region, image, spec.dry_run, progress)
                    .await,
            ),
            (true, None) => Some(PublicOutcome::Planned),
        };
        Ok(CreateImageReport {
            instance,
            spec,
            created,
            public,
        })
    }

    /// `ami create-multi`: [`Session::create_image`] in the instance's region, then copies
    /// into the other regions of `request.regions` (concurrently, within the copy limits);
    /// with `public`, every region's image is made public.
    pub async fn create_multi(
        &self,
        request: &CreateMultiRequest,
        progress: &dyn ProgressSink,
    ) -> Result<CreateMultiReport, SessionError> {
        if request.regions.is_empty() {
            return Err(SessionError::InvalidInput {
                field: "regions".into(),
                found: String::new(),
                expected: "at least one region to have the image in".into(),
            });
        }
        let (instance, spec) = self.create_spec(&request.create).await?;
        let result = self
            .lifecycle(progress)
            .create_multi(&spec, &request.regions, request.encryption.clone())
            .await?;
        let mut public = Vec::new();
        if request.create.public {
            match &result.created.image {
                None => public.push(PublicOutcome::Planned),
                Some(home) => {
                    let mut images = vec![(spec.region.clone(), home.clone())];
                    if let Some(copies) = &result.copies {
                        images.extend(copies.regions.iter().filter_map(|c| match &c.outcome {
                            RegionCopyOutcome::Copied { image }
                            | RegionCopyOutcome::Existing { image } => {
                                Some((c.region.clone(), image.clone()))
                            }
                            _ => None,
                        }));
                    }
                    let shares = images.iter().map(|(region, image)| {
                        self.make_public(region, image, spec.dry_run, progress)
                    });
                    public = futures::future::join_all(shares).await;
                }
            }
        }
        Ok(CreateMultiReport {
            instance,
            spec,
            result,
            public,
        })
    }

    /// `ami copy`: the lifecycle's copy (resumable, one copy per region whoever asks,
    /// audited per region).
    pub async fn copy_image(
        &self,
        request: &CopyRequest,
        progress: &dyn ProgressSink,
    ) -> Result<CopyReport, SessionError> {
        if request.destinations.is_empty() {
            return Err(SessionError::InvalidInput {
                field: "to".into(),
                found: String::new(),
                expected: "at least one region to copy into".into(),
            });
        }
        let source = request
            .source_region
            .clone()
            .unwrap_or_else(|| self.region().clone());
        let mut spec = CopySpec::new(source, request.image.clone(), request.destinations.clone())
            .dry_run(request.dry_run)
            .encryption(request.encryption.clone())
            .copy_image_tags(request.copy_image_tags)
            .completion_duration(request.completion_duration);
        spec.name = request.name.clone();
        Ok(self.lifecycle(progress).copy_image(&spec).await?)
    }

    /// The instance a create request names, and the lifecycle's spec for it.
    async fn create_spec(
        &self,
        request: &CreateImageRequest,
    ) -> Result<(InstanceSummary, CreateImageSpec), SessionError> {
        let region = request
            .region
            .clone()
            .unwrap_or_else(|| self.region().clone());
        let name = request
            .name
            .clone()
            .unwrap_or_else(|| default_image_name(&request.template));
        // A bad name fails before the instance is looked up.
        amiref_lifecycle::validate_image_name(&name)?;
        let instance = self.find_instance(&region, &request.instance).await?;
        let mut spec = CreateImageSpec::new(
            region,
            instance.id.clone(),
            name,
            TemplateLineage::from_template(&request.template),
        )
        .no_reboot(request.no_reboot)
        .dry_run(request.dry_run);
        spec.description = request
            .description
            .clone()
            .or_else(|| request.template.description.clone());
        Ok((InstanceSummary::from(&instance), spec))
    }

    /// Grants everyone launch permission on `image`; a refusal or failure is reported, not
    /// raised (the image is made either way).
    async fn make_public(
        &self,
        region: &Region,
        image: &AmiId,
        dry_run: bool,
        progress: &dyn ProgressSink,
    ) -> PublicOutcome {
        let spec = ShareSpec::add(
            region.clone(),
            image.clone(),
            vec![LaunchPermission::Public],
        )
        .dry_run(dry_run);
        match self.lifecycle(progress).share(&spec).await {
            Ok(report) => PublicOutcome::Shared { report },
            Err(e) => PublicOutcome::Failed {
                region: region.clone(),
                error: e.to_string(),
            },
        }
    }
}
