//! `ami protect`, `ami enable`, `ami disable`: keeping one image safe by hand. Each is
//! idempotent (an image already as asked is reported unchanged), has a dry run, and is
//! written ahead to the audit trail by the lifecycle.

use amiref_core::{AmiId, Region};
use amiref_lifecycle::{
    DisableReport, EnableReport, ImageSpec, NoProgress, ProtectReport, ProtectSpec,
};

use crate::{Session, SessionError};

/// What `ami protect` does to an image's deregistration protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtectionChange {
    /// Turn it on; with `cooldown`, turning it off later keeps the image protected for 24
    /// hours more.
    On {
        /// EC2's cooldown.
        cooldown: bool,
    },
    /// Turn it off (an image protected with the cooldown stays protected 24 hours more).
    Off,
}

/// One image, in a region: what `ami enable` and `ami disable` act on, and `ami protect`
/// too.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ImageRequest {
    /// The image.
    pub image: AmiId,
    /// Where it is (the session's region when `None`).
    pub region: Option<Region>,
    /// Report what would be done; change nothing.
    pub dry_run: bool,
}

impl ImageRequest {
    /// Act on `image` in the session's region.
    pub fn new(image: AmiId) -> Self {
        Self {
            image,
            region: None,
            dry_run: false,
        }
    }

    /// In this region.
    #[must_use]
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// A dry run.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// `ami protect IMAGE [--off] [--cooldown]`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProtectRequest {
    /// The image.
    pub target: ImageRequest,
    /// On or off.
    pub change: ProtectionChange,
}

impl ProtectRequest {
    /// Change `target`'s deregistration protection so.
    pub fn new(target: ImageRequest, change: ProtectionChange) -> Self {
        Self { target, change }
    }
}

impl Session {
    /// `ami protect`: turns the image's deregistration protection on or off.
    pub async fn protect_image(
        &self,
        request: &ProtectRequest,
    ) -> Result<ProtectReport, SessionError> {
        let target = self.image_spec(&request.target);
        let lifecycle = self.lifecycle(&NoProgress);
        Ok(match request.change {
            ProtectionChange::On { cooldown } => {
                let spec = ProtectSpec::new(target.region, target.image)
                    .cooldown(cooldown)
                    .dry_run(target.dry_run);
                lifecycle.protect(&spec).await?
            }
            ProtectionChange::Off => lifecycle.unprotect(&target).await?,
        })
    }

    /// `ami disable`: no new launches from the image, its launch permissions removed (the
    /// report and the audit trail list them).
    pub async fn disable_image(
        &self,
        request: &ImageRequest,
    ) -> Result<DisableReport, SessionError> {
        let spec = self.image_spec(request);
        Ok(self.lifecycle(&NoProgress).disable(&spec).await?)
    }

    /// `ami enable`: a disabled image available again (private), and a pending retirement
    /// (`amiref:retire-after`) cancelled.
    pub async fn enable_image(&self, request: &ImageRequest) -> Result<EnableReport, SessionError> {
        let spec = self.image_spec(request);
        Ok(self.lifecycle(&NoProgress).enable(&spec).await?)
    }

    /// The request's image, in its region or else the session's.
    fn image_spec(&self, request: &ImageRequest) -> ImageSpec {
        let region = request.region.as_ref().unwrap_or_else(|| self.region());
        ImageSpec::new(region.clone(), request.image.clone()).dry_run(request.dry_run)
    }
}
