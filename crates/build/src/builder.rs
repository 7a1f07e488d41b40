//! [`Builder`]: runs builds stage by stage, resuming from the cloud's tags, and cleans up.

use std::future::Future;

use amiref_core::{Architecture, Region};
use amiref_lifecycle::{Lifecycle, TemplateLineage};
use amiref_resolver::Resolver;

use crate::base::{Base, resolve_base};
use crate::cleanup::{CleanupReport, clean_up_build, sweep};
use crate::distribute::{Distributed, distribute};
use crate::error::{BuildError, StageError};
use crate::events::{BuildEvent, BuildEventSink, NoEvents, Stage};
use crate::report::{BuildOutcome, BuildReport, BuiltImage, StageRecord};
use crate::run::Run;
use crate::spec::{BuildOptions, BuildSpec};
use crate::state::{BuildState, ImageProgress, script_ready_of};
use crate::tags::{ROLE_BUILDER, ROLE_TESTER};
use crate::{BuildId, TestedImage};

/// Builds images from templates on one lifecycle's cloud, resolving base images with one
/// resolver (its trust rules, registry and estimate model).
///
/// A build keeps no local state: what it made is tagged with its [`BuildId`], so a re-run on
/// any host resumes after the last completed stage, and [`Builder::abandon`] or a
/// [`Builder::sweep`] on any host removes what it left.
pub struct Builder<'a> {
    pub(crate) lifecycle: &'a Lifecycle<'a>,
    pub(crate) resolver: &'a Resolver,
    pub(crate) events: &'a dyn BuildEventSink,
}

impl std::fmt::Debug for Builder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("lifecycle", self.lifecycle)
            .finish_non_exhaustive()
    }
}

/// A stage's failure, before the clean-up that follows it.
type Failure = (Stage, StageError);

impl<'a> Builder<'a> {
    /// Builds on `lifecycle`'s cloud (its retries, audit sink, copy limits, waits and
    /// clock), resolving base images with `resolver`. No events.
    pub fn new(lifecycle: &'a Lifecycle<'a>, resolver: &'a Resolver) -> Self {
        Self {
            lifecycle,
            resolver,
            events: &NoEvents,
        }
    }

    /// Reports progress to `events`.
    #[must_use]
    pub fn events(mut self, events: &'a dyn BuildEventSink) -> Self {
        self.events = events;
        self
    }

    /// Carries out `spec`: a dry run plans ([`BuildOutcome::Planned`]), anything else builds.
    pub async fn run(&self, spec: &BuildSpec) -> Result<BuildOutcome, BuildError> {
        if spec.dry_run {
            self.plan(spec).await.map(BuildOutcome::Planned)
        } else {
            self.build(spec).await.map(BuildOutcome::Built)
        }
    }

    /// Builds `spec`'s template for each of its architectures (concurrently): sweeps
    /// expired leftovers in its regions, then base, provision, capture, test, distribute
    /// and clean up, each stage skipped when an earlier run completed it.
    ///
    /// On a failure everything the build made that is not a tested image is removed, and
    /// the error names the stage and what was cleaned up. When several architectures are
    /// built, each runs to its end and the first failure is returned.
    pub async fn build(&self, spec: &BuildSpec) -> Result<BuildReport, BuildError> {
        self.validate(spec)?;
        let swept = self.sweep(&spec.regions, &spec.options).await?;
        let architectures = spec.architecture_choices();
        let built =
            futures::future::join_all(architectures.into_iter().map(|a| self.build_one(spec, a)))
                .await;
        let mut images = Vec::new();
        for one in built {
            images.push(one?);
        }
        Ok(BuildReport {
            template: spec.template.name.clone(),
            version: spec.effective_version().map(str::to_owned),
            swept,
            images,
        })
    }

    /// Removes the expired leftovers of any build in `regions` (`amiref build --cleanup`):
    /// instances, temporary security groups and untested images whose `amiref:expires`
    /// has passed. Tested images are never touched.
    pub async fn sweep(
        &self,
        regions: &[Region],
        options: &BuildOptions,
    ) -> Result<CleanupReport, BuildError> {
        sweep(self.lifecycle, self.events, options, regions).await
    }

    /// Removes everything of `build` in `region` that is not a tested image, expired or
    /// not: what to call after interrupting a build that should not be resumed.
    pub async fn abandon(
        &self,
        build: &BuildId,
        region: &Region,
        options: &BuildOptions,
    ) -> CleanupReport {
        clean_up_build(self.lifecycle, self.events, options, build, region, true).await
    }

    /// The base stage and the run every later stage shares.
    pub(crate) async fn prepare(
        &self,
        spec: &'a BuildSpec,
        architecture: Option<Architecture>,
    ) -> Result<Run<'a>, BuildError> {
        let home = spec.home()?.clone();
        let base: Base = resolve_base(self.resolver, spec, &home, architecture)
            .await
            .map_err(|cause| BuildError::Base {
                template: spec.template.name.clone(),
                region: home.clone(),
                cause: Box::new(cause),
            })?;
        let version = spec.effective_version().map(str::to_owned);
        let fingerprint = spec.template.build_fingerprint().to_string();
        let derived = BuildId::derive(
            &spec.template.name,
            version.as_deref(),
            &fingerprint,
            base.architecture,
            &home,
        );
        let build = match &spec.replaces {
            Some(replaced) => derived.succeeding(replaced),
            None => derived,
        };
        let lineage = TemplateLineage::new(
            spec.template.name.clone(),
            version,
            spec.template.fingerprint().to_string(),
        );
        Ok(Run {
            lifecycle: self.lifecycle,
            events: self.events,
            spec,
            home,
            build,
            base,
            lineage,
            build_fingerprint: fingerprint,
        })
    }

    async fn build_one(
        &self,
        spec: &'a BuildSpec,
        architecture: Option<Architecture>,
    ) -> Result<BuiltImage, BuildError> {
        let run = self.prepare(spec, architecture).await?;
        let mut stages = Vec::new();
        let outcome = self.stages(&run, &mut stages).await;
        match outcome {
            Ok((tested, distribution, cleanup)) => Ok(BuiltImage {
                tested,
                stages,
                distribution,
                cleanup,
            }),
            Err((stage, cause)) => {
                run.events.emit(BuildEvent::Failed {
                    build: run.build.clone(),
                    stage,
                    error: cause.to_string(),
                });
                let cleanup = clean_up_build(
                    self.lifecycle,
                    self.events,
                    &spec.options,
                    &run.build,
                    &run.home,
                    true,
                )
                .await;
                Err(BuildError::Stage {
                    build: run.build.clone(),
                    stage,
                    cause: Box::new(cause),
                    cleanup,
                })
            }
        }
    }

    /// Provision, capture, test, distribute and clean up, from where an earlier run left.
    async fn stages(
        &self,
        run: &Run<'_>,
        records: &mut Vec<StageRecord>,
    ) -> Result<(TestedImage, Distributed, CleanupReport), Failure> {
        let state = BuildState::read(run.lifecycle, &run.build, &run.home)
            .await
            .map_err(|e| (Stage::Provision, e))?;
        let tested = match state.image() {
            Some((image, progress)) if progress >= ImageProgress::Tested => {
                match run.tested_from_tags(image) {
                    Some(tested) => {
                        let evidence = format!("image {} is tagged tested", image.id);
                        for stage in [Stage::Provision, Stage::Capture, Stage::Test] {
                            records.push(resumed(run, stage, &evidence));
                        }
                        tested
                    }
                    None => self.run_from_capture(run, &state, image, records).await?,
                }
            }
            Some((image, _)) => self.run_from_capture(run, &state, image, records).await?,
            None => self.run_from_provision(run, &state, records).await?,
        };
        let distribute = timed(
            run,
            Stage::Distribute,
            records,
            self.distribute(run, &tested),
        );
        let cleanup = clean_up_build(
            self.lifecycle,
            self.events,
            &run.spec.options,
            &run.build,
            &run.home,
            false,
        );
        // The instances are already terminating: waiting for them and deleting the group
        // overlaps the copies.
        let (distributed, cleanup) = futures::join!(distribute, cleanup);
        Ok((tested, distributed?, cleanup))
    }

    /// A build with no image yet: provision (or pick up the earlier run's builder),
    /// capture, test.
    async fn run_from_provision(
        &self,
        run: &Run<'_>,
        state: &BuildState,
        records: &mut Vec<StageRecord>,
    ) -> Result<TestedImage, Failure> {
        let group = run.group(state).await.map_err(|e| (Stage::Provision, e))?;
        let (builder, script_ready) =
            timed(run, Stage::Provision, records, run.provision(state, &group)).await?;
        let image = timed(
            run,
            Stage::Capture,
            records,
            run.capture(&builder, script_ready),
        )
        .await?;
        // The image is available: the builder is done with.
        self.terminate_quietly(run, &builder.id).await;
        let tested = timed(
            run,
            Stage::Test,
            records,
            run.test(state, &group, &image, &builder.image, script_ready),
        )
        .await?;
        self.terminate_testers(run).await;
        Ok(tested)
    }

    /// A build whose image an earlier run captured: finish the capture if it is pending,
    /// then test.
    async fn run_from_capture(
        &self,
        run: &Run<'_>,
        state: &BuildState,
        image: &amiref_core::Image,
        records: &mut Vec<StageRecord>,
    ) -> Result<TestedImage, Failure> {
        let evidence = format!("image {} was captured", image.id);
        records.push(resumed(run, Stage::Provision, &evidence));
        let unreadable = |what: &str| {
            (
                Stage::Capture,
                StageError::Resume {
                    what: format!("image {} {what}", image.id),
                },
            )
        };
        let script_ready =
            script_ready_of(image).ok_or_else(|| unreadable("has no script-ready time tag"))?;
        let base = image
            .tag(crate::tags::TAG_BASE_IMAGE)
            .and_then(|b| b.parse().ok())
            .unwrap_or_else(|| run.base.image.id.clone());
        let id = if image.state == amiref_core::ImageState::Pending {
            let builder = image_source(image)
                .ok_or_else(|| unreadable("does not name the instance it was made from"))?;
            timed(
                run,
                Stage::Capture,
                records,
                run.image_of(&builder, &base, script_ready),
            )
            .await?
        } else {
            records.push(resumed(run, Stage::Capture, &evidence));
            image.id.clone()
        };
        for builder in state.live(ROLE_BUILDER) {
            self.terminate_quietly(run, &builder.id).await;
        }
        let group = run.group(state).await.map_err(|e| (Stage::Test, e))?;
        let tested = timed(
            run,
            Stage::Test,
            records,
            run.test(state, &group, &id, &base, script_ready),
        )
        .await?;
        self.terminate_testers(run).await;
        Ok(tested)
    }

    async fn distribute(
        &self,
        run: &Run<'_>,
        tested: &TestedImage,
    ) -> Result<Distributed, StageError> {
        let mut spec = run.spec.distribution.clone();
        spec.regions = run.spec.regions.clone();
        spec.dry_run = false;
        let cloud: &dyn amiref_core::Cloud = *run.lifecycle.cloud().inner();
        let progress = crate::events::StageProgress {
            sink: self.events,
            build: run.build.clone(),
            stage: Stage::Distribute,
        };
        let lifecycle = run.lifecycle.reporting_to(&progress);
        let distributed = distribute(&lifecycle, cloud, &spec, tested).await?;
        if distributed.complete() {
            Ok(distributed)
        } else {
            Err(StageError::Incomplete {
                distributed: Box::new(distributed),
            })
        }
    }

    /// Starts terminating an instance the build no longer needs; the final clean-up waits
    /// for it and reports a failure.
    async fn terminate_quietly(&self, run: &Run<'_>, instance: &amiref_core::InstanceId) {
        if let Err(e) = run
            .calls()
            .terminate(&run.home, std::slice::from_ref(instance))
            .await
        {
            tracing::debug!(%instance, error = %e, "terminating early failed; the clean-up retries");
        }
    }

    async fn terminate_testers(&self, run: &Run<'_>) {
        if let Ok(state) = BuildState::read(run.lifecycle, &run.build, &run.home).await {
            for tester in state.live(ROLE_TESTER) {
                self.terminate_quietly(run, &tester.id).await;
            }
        }
    }

    fn validate(&self, spec: &BuildSpec) -> Result<(), BuildError> {
        crate::validate::validate(spec, self.lifecycle.waits().timeout)
    }
}

/// The builder instance an image was made from, as its tag says.
fn image_source(image: &amiref_core::Image) -> Option<amiref_core::InstanceId> {
    image
        .tag(amiref_lifecycle::tags::TAG_SOURCE_INSTANCE)
        .and_then(|i| i.parse().ok())
}

/// A stage found done.
fn resumed(run: &Run<'_>, stage: Stage, evidence: &str) -> StageRecord {
    run.events.emit(BuildEvent::StageResumed {
        build: run.build.clone(),
        stage,
        evidence: evidence.to_owned(),
    });
    StageRecord::resumed(stage)
}

/// Runs one stage, with its events and its time.
async fn timed<T>(
    run: &Run<'_>,
    stage: Stage,
    records: &mut Vec<StageRecord>,
    work: impl Future<Output = Result<T, StageError>>,
) -> Result<T, Failure> {
    run.events.emit(BuildEvent::StageStarted {
        build: run.build.clone(),
        stage,
    });
    let started = run.lifecycle.now();
    let result = work.await;
    let elapsed = (run.lifecycle.now() - started).to_std().unwrap_or_default();
    match result {
        Ok(value) => {
            run.events.emit(BuildEvent::StageFinished {
                build: run.build.clone(),
                stage,
                elapsed_secs: elapsed.as_secs(),
            });
            records.push(StageRecord::ran(stage, elapsed));
            Ok(value)
        }
        Err(e) => Err((stage, e)),
    }
}
