//! Refreshing images that went stale: a newer base, a changed template, or age.
//!
//! [`Refresher::refresh`] checks each template's current image (per architecture, in the
//! home region: the caller's newest available image tagged `amiref:template=<name>` whose
//! build reached `tested` or `distributed`) and calls it stale when
//!
//! 1. the template's base image resolves now to another image than the image's
//!    `amiref:base-image` (a new base release: security patches),
//! 2. the template's [build fingerprint](amiref_template::Template::build_fingerprint)
//!    differs from the image's `amiref:build-fingerprint` (`user_data`, the base image
//!    choice, `build.test` or an instance type changed), or
//! 3. the image is older than the template's `build.max_age` (90 days by default, as CIS's
//!    compute benchmark asks).
//!
//! A template without an image is *missing*, not stale; it is built only when the spec asks
//! ([`RefreshSpec::build_missing`]). Each stale image is rebuilt through the [`Builder`]
//! (the whole pipeline: base, provision, capture, test, distribute; up to
//! [`RefreshSpec::concurrency`] at once), promoted (the
//! distribution publishes SSM `latest` and writes the registry entry), and the image it
//! replaces, with its copies in every region, is deprecated at now + the grace period. Then
//! the retention policy keeps the newest images of each template and retires older ones
//! through the lifecycle's safe retire, which refuses images still in use.
//!
//! A dry run ([`Refresher::plan`]) makes the same checks with read-only calls and says
//! what would be rebuilt and why.
//!
//! # Versions
//!
//! A rebuild keeps the template's version. When the template's inputs changed, the build's
//! id ([`BuildId`]) is new anyway. When only the base or the age changed, the inputs are
//! those of the image it replaces, so the rebuild *replaces* that build
//! ([`BuildSpec::replacing`]): its id succeeds the replaced build's
//! ([`BuildId::succeeding`]), the new image is a new build (not the old one resumed), and a
//! re-run of an interrupted refresh resumes the same rebuild. The version's SSM parameter,
//! `latest` and the registry entry then name the new image; the old one stays launchable
//! until its deprecation.

mod check;
mod report;

use std::time::Duration;

use amiref_core::{Architecture, Image, ImageFilter, Region};
use amiref_lifecycle::{
    DeprecateSpec, FlatSnapshotPrice, LifecycleError, ProtectedImages, RetentionPolicy, RetireSpec,
    SnapshotPrices,
};
use amiref_template::Template;
use chrono::{DateTime, Utc};
use futures::StreamExt;

pub use report::{
    Action, CurrentImage, Rebuilt, RefreshFailure, RefreshOutcome, RefreshPlan, RefreshReport,
    StaleReason, TemplateCheck, Verdict,
};

use crate::distribute::DistributeSpec;
use crate::spec::{BuildOptions, BuildSpec};
use crate::tags::TAG_BUILD_ID;
use crate::{BuildId, Builder};

/// How long a replaced image stays launchable before its deprecation takes effect, by
/// default: 14 days, for launch templates and pinned ids to move to the new image.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// How many images of each template and architecture the retention policy keeps per
/// region, by default: the new one, the one it replaced (in its grace period) and one more
/// to roll back to.
pub const DEFAULT_KEEP: usize = 3;

/// The fewest images retention may keep: the new one and the one in its grace period.
pub const MIN_KEEP: usize = 2;

/// How many rebuilds run at once, by default. Each holds a builder (then a tester)
/// instance; copies share the lifecycle's copy limits whatever this is.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// What to refresh, where, and how.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RefreshSpec {
    /// The validated templates to check.
    pub templates: Vec<Template>,
    /// The regions: images are checked and built in the first, and distributed to all.
    pub regions: Vec<Region>,
    /// The builds' options (from the configuration).
    pub options: BuildOptions,
    /// How a rebuilt image is distributed; its SSM parameters, when published, are always
    /// promoted (`latest` moves to the rebuilt image).
    pub distribution: DistributeSpec,
    /// How long a replaced image stays undeprecated.
    pub grace: Duration,
    /// Images kept per region and architecture by the retention policy (at least
    /// [`MIN_KEEP`]).
    pub keep: usize,
    /// Also build templates that have no image yet.
    pub build_missing: bool,
    /// How many rebuilds run at once (at least one).
    pub concurrency: usize,
    /// Check and plan only: no change.
    pub dry_run: bool,
}

impl RefreshSpec {
    /// A refresh of `templates` built in `regions` (the first is home), publishing and
    /// promoting SSM parameters, with the default grace and retention.
    pub fn new(templates: Vec<Template>, regions: Vec<Region>) -> Self {
        Self {
            templates,
            distribution: DistributeSpec::new(regions.clone()).publish_parameters(true),
            regions,
            options: BuildOptions::default(),
            grace: DEFAULT_GRACE,
            keep: DEFAULT_KEEP,
            build_missing: false,
            concurrency: DEFAULT_CONCURRENCY,
            dry_run: false,
        }
    }

    /// The same refresh, running up to `concurrency` rebuilds at once.
    #[must_use]
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// The same refresh with these build options.
    #[must_use]
    pub fn options(mut self, options: BuildOptions) -> Self {
        self.options = options;
        self
    }

    /// The same refresh, distributing as `distribution` says (parameters promoted).
    #[must_use]
    pub fn distribution(mut self, distribution: DistributeSpec) -> Self {
        self.distribution = distribution;
        self
    }

    /// The same refresh with this grace period.
    #[must_use]
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The same refresh, keeping `keep` images per region and architecture.
    #[must_use]
    pub fn keep(mut self, keep: usize) -> Self {
        self.keep = keep;
        self
    }

    /// The same refresh, building templates that have no image, or not.
    #[must_use]
    pub fn build_missing(mut self, build_missing: bool) -> Self {
        self.build_missing = build_missing;
        self
    }

    /// The same refresh, as a dry run or not.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    fn home(&self) -> Result<&Region, RefreshError> {
        self.regions.first().ok_or_else(|| RefreshError::Invalid {
            field: "regions",
            found: "none".to_owned(),
            expected: "at least one region; the first is where images are checked and built"
                .to_owned(),
        })
    }

    fn validate(&self) -> Result<(), RefreshError> {
        self.home()?;
        if self.keep < MIN_KEEP {
            return Err(RefreshError::Invalid {
                field: "keep",
                found: self.keep.to_string(),
                expected: format!(
                    "at least {MIN_KEEP}: the new image and the one in its grace period"
                ),
            });
        }
        let mut names = std::collections::BTreeSet::new();
        if let Some(twice) = self.templates.iter().find(|t| !names.insert(&t.name)) {
            return Err(RefreshError::Invalid {
                field: "templates",
                found: format!("{} given twice", twice.name),
                expected: "each template once".to_owned(),
            });
        }
        Ok(())
    }

    /// The build of `template` this refresh runs.
    fn build_spec(
        &self,
        template: &Template,
        architecture: Option<Architecture>,
        version: Option<&str>,
    ) -> BuildSpec {
        let mut distribution = self.distribution.clone();
        if let Some(parameters) = distribution.parameters.as_mut() {
            parameters.promote = true;
        }
        let mut spec = BuildSpec::new(template.clone(), self.regions.clone())
            .options(self.options.clone())
            .distribution(distribution)
            .architectures(architecture);
        if let Some(version) = version {
            spec = spec.version(version);
        }
        spec
    }
}

/// What one rebuild did, merged into the report in the plan's order.
#[derive(Default)]
struct Rebuilds {
    rebuilt: Vec<Rebuilt>,
    failed: Vec<RefreshFailure>,
    deprecated: Vec<amiref_lifecycle::DeprecateReport>,
    deprecate_errors: Vec<String>,
}

/// A refresh that could not start; per-template problems are in its report instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The spec does not make sense; nothing was looked at or changed.
    #[error("invalid {field}: {found}: expected {expected}")]
    Invalid {
        /// The field at fault.
        field: &'static str,
        /// What was given.
        found: String,
        /// What a valid value looks like.
        expected: String,
    },
    /// A template's images could not be listed, so nothing about it can be decided.
    #[error("listing the images of template {template} in {region}: {source}")]
    Lookup {
        /// The template.
        template: String,
        /// The region.
        region: Region,
        /// The lifecycle's error.
        #[source]
        source: Box<LifecycleError>,
    },
}

/// Refreshes stale images with one builder: its lifecycle (cloud, clock, audit, copy
/// limits) and resolver (trust rules), and its events.
pub struct Refresher<'a> {
    builder: &'a Builder<'a>,
    prices: &'a dyn SnapshotPrices,
}

impl std::fmt::Debug for Refresher<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresher")
            .field("builder", self.builder)
            .finish_non_exhaustive()
    }
}

/// The flat standard snapshot price, for what retention saves when no table is given.
static FLAT_PRICE: FlatSnapshotPrice =
    FlatSnapshotPrice(amiref_lifecycle::STANDARD_SNAPSHOT_USD_PER_GB_MONTH);

impl<'a> Refresher<'a> {
    /// Refreshes with `builder`; retention's savings at the standard snapshot price.
    pub fn new(builder: &'a Builder<'a>) -> Self {
        Self {
            builder,
            prices: &FLAT_PRICE,
        }
    }

    /// Prices retention's savings with `prices` (such as `amiref_regions::Prices`).
    #[must_use]
    pub fn prices(mut self, prices: &'a dyn SnapshotPrices) -> Self {
        self.prices = prices;
        self
    }

    /// A dry run plans ([`RefreshOutcome::Planned`]); anything else refreshes.
    pub async fn run(&self, spec: &RefreshSpec) -> Result<RefreshOutcome, RefreshError> {
        if spec.dry_run {
            self.plan(spec).await.map(RefreshOutcome::Planned)
        } else {
            self.refresh(spec).await.map(RefreshOutcome::Refreshed)
        }
    }

    /// Checks every template with read-only calls (image listings, the base image's
    /// resolution) and says what a refresh would build and why. Changes nothing.
    pub async fn plan(&self, spec: &RefreshSpec) -> Result<RefreshPlan, RefreshError> {
        spec.validate()?;
        let home = spec.home()?.clone();
        let now = self.builder.lifecycle.now();
        let mut checks = Vec::new();
        for template in &spec.templates {
            checks.extend(self.check_template(spec, template, &home, now).await?);
        }
        Ok(RefreshPlan {
            checked_at: now,
            home,
            regions: spec.regions.clone(),
            checks,
            grace_seconds: spec.grace.as_secs(),
            keep: spec.keep,
            dry_run: spec.dry_run,
        })
    }

    /// Checks every template, rebuilds and promotes the stale ones (and the missing ones
    /// when asked), deprecates what they replace at now + grace, and applies the retention
    /// policy to every template whose rebuild did not fail. One template's failure does not
    /// stop the others: the report lists it.
    pub async fn refresh(&self, spec: &RefreshSpec) -> Result<RefreshReport, RefreshError> {
        let mut plan = self.plan(spec).await?;
        plan.dry_run = false;
        let mut report = RefreshReport {
            plan: plan.clone(),
            rebuilt: Vec::new(),
            failed: Vec::new(),
            deprecated: Vec::new(),
            deprecate_errors: Vec::new(),
            retention: Vec::new(),
            retention_errors: Vec::new(),
        };
        let rebuilds = futures::stream::iter(plan.builds().map(|check| async move {
            let mut done = Rebuilds::default();
            self.rebuild(spec, check, &mut done).await;
            done
        }))
        .buffered(spec.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
        for done in rebuilds {
            report.rebuilt.extend(done.rebuilt);
            report.failed.extend(done.failed);
            report.deprecated.extend(done.deprecated);
            report.deprecate_errors.extend(done.deprecate_errors);
        }
        for template in &spec.templates {
            let failed = report.failed.iter().any(|f| f.template == template.name);
            if !failed {
                self.retain(spec, template, &mut report).await;
            }
        }
        Ok(report)
    }

    /// The checks of one template: one per architecture it has images for, or one
    /// `Missing`.
    async fn check_template(
        &self,
        spec: &RefreshSpec,
        template: &Template,
        home: &Region,
        now: DateTime<Utc>,
    ) -> Result<Vec<TemplateCheck>, RefreshError> {
        let lookup = |source| RefreshError::Lookup {
            template: template.name.clone(),
            region: home.clone(),
            source: Box::new(source),
        };
        let built = check::built_images(self.builder.lifecycle, &template.name, home)
            .await
            .map_err(lookup)?;
        if built.is_empty() {
            let plan = if spec.build_missing {
                Action::Build {
                    version: template.version.clone(),
                    replaces: None,
                    previous: None,
                    deprecate_at: None,
                }
            } else {
                Action::Keep
            };
            return Ok(vec![TemplateCheck {
                template: template.name.clone(),
                architecture: None,
                current: None,
                verdict: Verdict::Missing,
                plan,
            }]);
        }
        let mut checks = Vec::new();
        for (architecture, images) in &built {
            let current = check::current_image(&images[0]);
            let build_spec = spec.build_spec(template, Some(*architecture), None);
            let (verdict, base) = check::verdict(
                self.builder.resolver,
                &build_spec,
                home,
                *architecture,
                &current,
                now,
            )
            .await;
            let plan = match (&verdict, base) {
                (Verdict::Stale { .. }, Some(_)) => Action::Build {
                    version: template.version.clone(),
                    replaces: replaced_build(template, *architecture, home, images, &current),
                    previous: Some(current.image.clone()),
                    deprecate_at: Some(now + chrono_duration(spec.grace)),
                },
                _ => Action::Keep,
            };
            checks.push(TemplateCheck {
                template: template.name.clone(),
                architecture: Some(*architecture),
                current: Some(current),
                verdict,
                plan,
            });
        }
        Ok(checks)
    }

    /// Builds one check's image; on success deprecates what it replaces.
    async fn rebuild(&self, spec: &RefreshSpec, check: &TemplateCheck, report: &mut Rebuilds) {
        let Action::Build {
            version,
            previous,
            replaces,
            ..
        } = &check.plan
        else {
            return;
        };
        let Some(template) = spec.templates.iter().find(|t| t.name == check.template) else {
            return;
        };
        let mut build = spec.build_spec(template, check.architecture, version.as_deref());
        if let Some(replaced) = replaces {
            build = build.replacing(replaced.clone());
        }
        match self.builder.build(&build).await {
            Ok(built) => {
                for image in built.images {
                    report.rebuilt.push(Rebuilt {
                        template: template.name.clone(),
                        previous: previous.clone(),
                        built: image,
                    });
                }
                if let Some(current) = &check.current {
                    self.deprecate(spec, current, report).await;
                }
            }
            Err(e) => report.failed.push(RefreshFailure {
                template: template.name.clone(),
                architecture: check.architecture,
                error: e.to_string(),
            }),
        }
    }

    /// Deprecates the replaced image and its copies in every region at now + grace. An
    /// image already deprecated sooner keeps its earlier time.
    async fn deprecate(&self, spec: &RefreshSpec, replaced: &CurrentImage, report: &mut Rebuilds) {
        let lifecycle = self.builder.lifecycle;
        let at = lifecycle.now() + chrono_duration(spec.grace);
        for region in &spec.regions {
            let images = match self.copies_of(region, replaced).await {
                Ok(images) => images,
                Err(e) => {
                    report.deprecate_errors.push(format!(
                        "finding the copies of {} in {region}: {e}",
                        replaced.image
                    ));
                    continue;
                }
            };
            for image in images {
                if image.deprecation_time.is_some_and(|t| t <= at) {
                    continue;
                }
                let deprecation = DeprecateSpec::at(region.clone(), image.id.clone(), at);
                match lifecycle.deprecate(&deprecation).await {
                    Ok(done) => report.deprecated.push(done),
                    Err(e) => report
                        .deprecate_errors
                        .push(format!("deprecating {} in {region}: {e}", image.id)),
                }
            }
        }
    }

    /// The replaced image's copies in `region` (the image itself at home): the images of
    /// its build.
    async fn copies_of(
        &self,
        region: &Region,
        replaced: &CurrentImage,
    ) -> Result<Vec<Image>, LifecycleError> {
        let lifecycle = self.builder.lifecycle;
        match &replaced.build {
            Some(build) => {
                let filter = ImageFilter::default().tag(TAG_BUILD_ID, Some(build.to_string()));
                Ok(lifecycle
                    .own_images(region, filter)
                    .await?
                    .into_iter()
                    .filter(|i| i.is_available())
                    .collect())
            }
            // An image without a build id has no copies to find by it: the image alone
            // (found only in its own region).
            None => {
                use amiref_core::ImageCatalog;
                lifecycle
                    .cloud()
                    .describe_images(region, std::slice::from_ref(&replaced.image))
                    .await
                    .map_err(|e| {
                        LifecycleError::cloud(
                            format!("describing {} in {region}", replaced.image),
                            e,
                        )
                    })
            }
        }
    }

    /// Applies the retention policy to `template`'s images in every region: the newest
    /// `keep` per architecture are kept, older ones retired unless something protects them
    /// (in use, mapped by a template, shared).
    async fn retain(&self, spec: &RefreshSpec, template: &Template, report: &mut RefreshReport) {
        let architectures = report
            .plan
            .checks
            .iter()
            .filter(|c| c.template == template.name)
            .count()
            .max(1);
        let policy = RetentionPolicy::keep_newest(spec.keep * architectures);
        let retire = RetireSpec::new(template.name.clone(), spec.regions.clone(), policy)
            .protected(ProtectedImages::new().templates(&spec.templates))
            .execute(true);
        match self.builder.lifecycle.retire(&retire, self.prices).await {
            Ok(retired) => report.retention.push(retired),
            Err(e) => report
                .retention_errors
                .push(format!("retention of {}: {e}", template.name)),
        }
    }
}

/// The build a rebuild of `template` for `architecture` replaces (see the module's
/// "Versions"): `None` when the template's inputs changed, so the rebuild's id is new
/// anyway; else the current image's build, which the rebuild's id succeeds.
fn replaced_build(
    template: &Template,
    architecture: Architecture,
    home: &Region,
    existing: &[Image],
    current: &CurrentImage,
) -> Option<BuildId> {
    let fingerprint = template.build_fingerprint().to_string();
    let would_be = BuildId::derive(
        &template.name,
        template.version.as_deref(),
        &fingerprint,
        architecture,
        home,
    );
    let taken = existing
        .iter()
        .any(|i| i.tag(TAG_BUILD_ID) == Some(would_be.as_str()));
    if !taken {
        return None;
    }
    // The newest build in the line that replaced it, so that a later refresh succeeds
    // the build it really replaces.
    current.build.clone().or(Some(would_be))
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
