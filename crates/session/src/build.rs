//! `amiref build`: a template's image built, tested and distributed, with the options of
//! the configuration's `build` section; and `build --cleanup`, which removes expired
//! leftovers of any build; `amiref refresh`, which rebuilds the images that went stale.

use amiref_build::refresh::{RefreshOutcome, RefreshSpec, Refresher};
use amiref_build::{
    BuildEventSink, BuildOptions, BuildOutcome, BuildSpec, Builder, CleanupReport,
    distribute::{DistributeSpec, RegistryTarget},
};
use amiref_core::{Architecture, LaunchPermission, Region};
use amiref_lifecycle::NoProgress;

use crate::{Session, SessionError};

/// `amiref build TEMPLATE`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BuildRequest {
    /// The template: a name in the template directories, or a file path.
    pub template: String,
    /// The regions; the first is where the image is built. `None`: the session's region,
    /// then the configuration's `build.regions`.
    pub regions: Option<Vec<Region>>,
    /// The version to build as (the template's `version` when `None`).
    pub version: Option<String>,
    /// The architectures (one image each); empty: the one the resolver chooses.
    pub architectures: Vec<Architecture>,
    /// Whether the SSM `latest` parameters move to this build (default true).
    pub promote: bool,
    /// Plan only: the stages, regions, estimated time and cost; change nothing.
    pub dry_run: bool,
}

impl BuildRequest {
    /// Build `template` with the configuration's defaults.
    pub fn new(template: impl Into<String>) -> Self {
        Self {
            template: template.into(),
            regions: None,
            version: None,
            architectures: Vec::new(),
            promote: true,
            dry_run: false,
        }
    }

    /// In these regions (the first is where it is built).
    #[must_use]
    pub fn regions(mut self, regions: Vec<Region>) -> Self {
        self.regions = Some(regions);
        self
    }

    /// As this version.
    #[must_use]
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// For these architectures.
    #[must_use]
    pub fn architectures(mut self, architectures: Vec<Architecture>) -> Self {
        self.architectures = architectures;
        self
    }

    /// Whether `latest` moves to this build.
    #[must_use]
    pub fn promote(mut self, promote: bool) -> Self {
        self.promote = promote;
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
    /// `amiref build`: base, provision, capture, test, distribute and clean up, resumed
    /// after the last stage an earlier run completed (on any host), audited; a dry run
    /// plans and estimates.
    pub async fn build(
        &self,
        request: &BuildRequest,
        events: &dyn BuildEventSink,
    ) -> Result<BuildOutcome, SessionError> {
        let template = self.template(&request.template)?;
        let regions = match &request.regions {
            Some(regions) => regions.clone(),
            None => self.build_regions(),
        };
        let mut spec = BuildSpec::new(template, regions)
            .architectures(request.architectures.iter().copied())
            .options(self.build_options())
            .distribution(self.distribution(request.promote)?)
            .dry_run(request.dry_run);
        if let Some(version) = &request.version {
            spec = spec.version(version.clone());
        }
        let lifecycle = self.lifecycle(&NoProgress);
        let builder = Builder::new(&lifecycle, self.resolver()).events(events);
        Ok(builder.run(&spec).await?)
    }

    /// `amiref build --cleanup`: removes the expired leftovers of any build in `regions`
    /// (the session's region and the configuration's `build.regions` when empty).
    pub async fn sweep_builds(
        &self,
        regions: &[Region],
        events: &dyn BuildEventSink,
    ) -> Result<CleanupReport, SessionError> {
        let regions = if regions.is_empty() {
            self.build_regions()
        } else {
            regions.to_vec()
        };
        let lifecycle = self.lifecycle(&NoProgress);
        let builder = Builder::new(&lifecycle, self.resolver()).events(events);
        Ok(builder.sweep(&regions, &self.build_options()).await?)
    }

    /// The session's region, then the configuration's `build.regions`.
    pub(crate) fn build_regions(&self) -> Vec<Region> {
        let mut regions = vec![self.region().clone()];
        for region in &self.config().config.build.regions {
            if !regions.contains(region) {
                regions.push(region.clone());
            }
        }
        regions
    }

    /// The configuration's `build` section as the build's options.
    pub(crate) fn build_options(&self) -> BuildOptions {
        let build = &self.config().config.build;
        let mut options = BuildOptions::default();
        options.subnet = build.subnet.clone();
        options.security_group = build.security_group.clone();
        options.vpc = build.vpc.clone();
        options.instance_profile = build.instance_profile.clone();
        options.provision_timeout = build.provision_timeout.map(|d| d.get());
        if let Some(expiry) = build.leftover_expiry {
            options.leftover_expiry = expiry.get();
        }
        options
    }

    /// How builds distribute: shares, SSM parameters and the registry entry from the
    /// configuration. The regions are the build's.
    pub(crate) fn distribution(&self, promote: bool) -> Result<DistributeSpec, SessionError> {
        let build = &self.config().config.build;
        let shares = build
            .share_with
            .iter()
            .cloned()
            .map(LaunchPermission::Account)
            .collect();
        let mut spec = DistributeSpec::new(Vec::new()).share_with(shares);
        if build.ssm_parameters.unwrap_or(true) {
            spec = spec.publish_parameters(promote);
        }
        if let Some(name) = &build.registry {
            let community = self.config().config.communities.get(name).ok_or_else(|| {
                self.name_config(SessionError::NotConfigured {
                    what: format!("the community {name:?} that build.registry names"),
                    setting: format!("communities.{name}"),
                    config: None,
                })
            })?;
            spec = spec.registry(RegistryTarget::new(&community.registry, &community.key));
        }
        Ok(spec)
    }
}

/// `amiref refresh [TEMPLATE…]`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RefreshRequest {
    /// The templates (names or paths); empty: every template in the template directories.
    pub templates: Vec<String>,
    /// The regions; the first is where images are checked and rebuilt. `None`: the
    /// session's region, then the configuration's `build.regions`.
    pub regions: Option<Vec<Region>>,
    /// Also build templates that have no image yet.
    pub build_missing: bool,
    /// Say what would be rebuilt and why; change nothing.
    pub dry_run: bool,
}

impl Session {
    /// `amiref refresh`: rebuilds the stale images (a newer base, a changed template, too
    /// old), promotes them, deprecates what they replace after the grace period and applies
    /// the retention policy (`build.refresh` of the configuration).
    pub async fn refresh(
        &self,
        request: &RefreshRequest,
        events: &dyn BuildEventSink,
    ) -> Result<RefreshOutcome, SessionError> {
        let templates = self.templates_or_all(&request.templates)?;
        let regions = match &request.regions {
            Some(regions) => regions.clone(),
            None => self.build_regions(),
        };
        let policy = &self.config().config.build.refresh;
        let mut spec = RefreshSpec::new(templates, regions)
            .options(self.build_options())
            .distribution(self.distribution(true)?)
            .build_missing(request.build_missing)
            .dry_run(request.dry_run);
        if let Some(days) = policy.grace_period_days {
            spec = spec.grace(std::time::Duration::from_secs(u64::from(days) * 86_400));
        }
        if let Some(keep) = policy.keep_versions {
            spec = spec.keep(keep as usize);
        }
        let lifecycle = self.lifecycle(&NoProgress);
        let builder = Builder::new(&lifecycle, self.resolver()).events(events);
        Ok(Refresher::new(&builder).run(&spec).await?)
    }
}
