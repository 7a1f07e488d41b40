//! The session layer's reports: launching (`launch`), availability (`ami test`), images
//! made through the session (`ami create`, `create-multi`, `publish`), the registry's
//! (`ami list`, `ami rate`, `registry verify`, `ami share --community`), worlds (`world
//! show`, `world reset`), and why a session operation failed.
//!
//! Session types that serialise fully typed are their own JSON; those holding a lifecycle
//! type get a view built from this crate's lifecycle views.

use amiref_core::Region;
use amiref_session::{
    Availability, AvailabilityReport, CommunityShareReport, CreateImageReport, CreateMultiReport,
    FailureKind, ImageListReport, LaunchChoice, LaunchPlan, LaunchReport, ListedImage,
    PassedOverReason, PublicOutcome, PublishOutcome, Question, RateReport, RegistryImage,
    SessionError, Signer, VerifyReport, VersionSource, WorldReport, WorldResetReport,
};
use schemars::JsonSchema;
use serde::Serialize;

use crate::lifecycle::{
    CopyJson, CreatedImageJson, PublishJson, ShareJson, copy_failure, copy_lines, created_line,
    publish_failure, publish_lines, share_lines,
};
use crate::resolution::{
    copy_required_line, method_title, resolution_lines, resolving_line, speedup_line,
};
use crate::schema::string_enum;
use crate::units::{duration, usd};
use crate::{ErrorKind, ErrorReport, Human, Report};

// ---- launch -------------------------------------------------------------------------

fn passed_over_why(reason: PassedOverReason, chosen: &LaunchChoice) -> String {
    match reason {
        PassedOverReason::TemplatePutsScriptFirst => {
            "the template puts the script first (ami_fallback)".to_owned()
        }
        PassedOverReason::ScriptRequested => {
            "script provisioning was requested (--prefer-script)".to_owned()
        }
        PassedOverReason::ChosenIsCheaper => format!(
            "{} costs less (batch workload)",
            method_title(&chosen.method)
        ),
        _ => format!(
            "{} is usable sooner (interactive workload)",
            method_title(&chosen.method)
        ),
    }
}

/// What a launch plan says before anything is asked or done: the resolution's lines, then
/// the way passed over and why (or the speed-up over the script), then the copy to make.
/// The launcher prints these before its questions; the `launch_plan` report ends with them.
pub fn launch_plan_lines(plan: &LaunchPlan) -> Vec<String> {
    let mut lines = vec![resolving_line(&plan.template, &plan.region)];
    lines.extend(resolution_lines(&plan.resolution));
    let choice = &plan.choice;
    match &plan.passed_over {
        Some(p) if plan.questions.contains(&Question::KeepScript) => {
            lines.push(format!(
                "⚠️  Script provisioning requested ({} estimated)",
                duration(choice.launch_time())
            ));
            lines.push(format!(
                "🔍 AMI available: {} ({})",
                p.choice.image,
                duration(p.choice.launch_time())
            ));
        }
        Some(p) => {
            let copy = p
                .choice
                .copy
                .as_ref()
                .map(|c| format!(" from {}, {}", c.source_region, usd(c.total_cost_usd())))
                .unwrap_or_default();
            lines.push(format!(
                "ℹ️  Alternative: {} by {} ({}{copy}); {}",
                p.choice.image,
                method_title(&p.choice.method),
                duration(p.choice.launch_time()),
                passed_over_why(p.reason, choice)
            ));
        }
        None => {
            let script = std::time::Duration::from_secs(plan.script_time_secs);
            if choice.copy.is_none()
                && choice.method.uses_image()
                && let Some(line) = speedup_line(&plan.resolution.estimate, script)
            {
                lines.push(line);
            }
        }
    }
    if let Some(copy) = &choice.copy {
        lines.push(copy_required_line(copy));
    }
    lines
}

/// `🔄 Copying SRC from A to B...`: what the launcher says once a copy is approved.
pub fn copying_line(copy: &amiref_resolver::CopyPlan) -> String {
    format!(
        "🔄 Copying {} from {} to {}...",
        copy.source_image, copy.source_region, copy.destination_region
    )
}

/// `launch --dry-run` (`amiref/launch_plan/v1`): the plan, and what it would launch.
impl Report for LaunchPlan {
    const KIND: &'static str = "launch_plan";
    type Json = LaunchPlan;

    fn to_json(&self) -> LaunchPlan {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        out.extend(launch_plan_lines(self));
        let script = if self.choice.runs_user_data {
            " with user_data"
        } else {
            ""
        };
        out.line(format!(
            "🧪 Dry run: would launch {} on {} from {}{script}; nothing copied or launched.",
            self.instance_name, self.choice.instance_type, self.choice.image
        ));
    }
}

/// `launch` (`amiref/launch/v1`). For people, what happened after the plan's lines (which
/// the launcher printed before asking): the copy, the launch.
impl Report for LaunchReport {
    const KIND: &'static str = "launch";
    type Json = LaunchReport;

    fn to_json(&self) -> LaunchReport {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        if let Some(copy) = &self.copied_image {
            out.line(format!("✅ Copied: {copy} is available in {}", self.region));
        }
        out.line(if self.launched.runs_user_data {
            "🚀 Launching with script provisioning..."
        } else {
            "🚀 Launching with pre-built environment..."
        });
        out.line(format!(
            "✅ Launched {} ({}) in {}",
            self.instance, self.instance_name, self.region
        ));
    }
}

// ---- availability -------------------------------------------------------------------

/// `ami test` (`amiref/availability/v1`): one line per region, then the counts. A region
/// where nothing can be launched makes it a `partial_failure`.
impl Report for AvailabilityReport {
    const KIND: &'static str = "availability";
    type Json = AvailabilityReport;

    fn to_json(&self) -> AvailabilityReport {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        out.line(format!(
            "🧪 Testing AMI availability for template: {}",
            self.template
        ));
        out.blank();
        for row in &self.regions {
            let region = &row.region;
            out.line(match &row.availability {
                Availability::Available { image, .. } => {
                    format!("✅ {region}: {image} (available)")
                }
                Availability::CrossRegionCopy {
                    image,
                    source_region,
                    ..
                } => format!(
                    "✅ {region}: {image} (cross-region copy available from {source_region})"
                ),
                Availability::ScriptFallback { base_image, .. } => format!(
                    "❌ {region}: No AMI available (fallback: script provisioning on {base_image})"
                ),
                Availability::Unavailable { reason, .. } => {
                    format!("💥 {region}: failed ({reason})")
                }
                other => format!("{region}: {other:?}"),
            });
            if let Some(f) = &row.faults {
                let given_up = if f.given_up {
                    "; given up for the rest of the command"
                } else {
                    ""
                };
                out.line(format!(
                    "   🌩️  answered with faults: {} unavailable, {} throttled{given_up}",
                    f.unavailable_count, f.throttled_count
                ));
            }
        }
        let c = &self.counts;
        out.blank();
        out.line(format!(
            "{} available, {} cross-region copy, {} script fallback, {} failed; {} regions in {} ms{}",
            c.available,
            c.cross_region_copy,
            c.script_fallback,
            c.unavailable,
            self.regions.len(),
            self.elapsed_ms,
            if self.simulated_time {
                " (world time)"
            } else {
                ""
            }
        ));
        if c.with_faults_count > 0 {
            out.line(format!(
                "{} regions answered with faults, {} given up",
                c.with_faults_count, c.given_up_count
            ));
        }
    }

    fn failure(&self) -> Option<ErrorReport> {
        let failed = self.counts.unavailable;
        (failed > 0).then(|| {
            ErrorReport::new(
                ErrorKind::PartialFailure,
                format!(
                    "{} cannot be launched in {failed} of {} regions",
                    self.template,
                    self.regions.len()
                ),
            )
        })
    }
}

// ---- images through the session ------------------------------------------------------

/// Making an image public, in one region.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PublicJson {
    /// `shared`, `failed` (the image stays private) or `planned` (a dry run).
    #[schemars(schema_with = "public_status_schema")]
    pub status: &'static str,
    /// For `shared`: the share.
    pub share: Option<ShareJson>,
    /// For `failed`: the region and why.
    pub region: Option<Region>,
    /// For `failed`: why.
    pub error: Option<String>,
}

fn public_status_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    string_enum(
        "Whether making the image public worked",
        &["shared", "failed", "planned"],
    )
}

impl From<&PublicOutcome> for PublicJson {
    fn from(p: &PublicOutcome) -> Self {
        let mut json = Self {
            status: "planned",
            share: None,
            region: None,
            error: None,
        };
        match p {
            PublicOutcome::Shared { report } => {
                json.status = "shared";
                json.share = Some(report.to_json());
            }
            PublicOutcome::Failed { region, error } => {
                json.status = "failed";
                json.region = Some(region.clone());
                json.error = Some(error.clone());
            }
            _ => {}
        }
        json
    }
}

fn public_lines(p: &PublicOutcome, out: &mut Human) {
    match p {
        PublicOutcome::Shared { report } => share_lines(report, out),
        PublicOutcome::Failed { region, error } => {
            out.line(format!(
                "{:<16} not made public (the image stays private): {error}",
                region.as_str()
            ));
        }
        _ => {
            out.line("dry run: would make it public once made");
        }
    }
}

fn public_failure(public: &[&PublicOutcome]) -> Option<ErrorReport> {
    let failed: Vec<String> = public
        .iter()
        .filter_map(|p| match p {
            PublicOutcome::Failed { region, error } => Some(format!("{region}: {error}")),
            _ => None,
        })
        .collect();
    (!failed.is_empty()).then(|| {
        ErrorReport::new(
            ErrorKind::PartialFailure,
            format!(
                "the image was made but not made public in {}",
                failed.join("; ")
            ),
        )
    })
}

/// An image made through the session (`amiref/image_create/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CreateImageJson {
    /// The instance imaged.
    pub instance: amiref_session::InstanceSummary,
    /// The image.
    pub image: CreatedImageJson,
    /// Making it public, when asked.
    pub public: Option<PublicJson>,
}

/// `ami create`.
impl Report for CreateImageReport {
    const KIND: &'static str = "image_create";
    type Json = CreateImageJson;

    fn to_json(&self) -> CreateImageJson {
        CreateImageJson {
            instance: self.instance.clone(),
            image: CreatedImageJson::new(&self.created, &self.spec),
            public: self.public.as_ref().map(Into::into),
        }
    }

    fn human(&self, out: &mut Human) {
        out.line(created_line(&self.created, &self.spec));
        if let Some(p) = &self.public {
            public_lines(p, out);
        }
    }

    fn failure(&self) -> Option<ErrorReport> {
        public_failure(&self.public.iter().collect::<Vec<_>>())
    }
}

/// An image made, then copied (`amiref/image_create_multi/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CreateMultiJson {
    /// The instance imaged.
    pub instance: amiref_session::InstanceSummary,
    /// The image in the instance's region.
    pub created: CreatedImageJson,
    /// The copies; `null` in a dry run that would create the image.
    pub copies: Option<CopyJson>,
    /// Making it public, per region, when asked.
    pub public: Vec<PublicJson>,
}

/// `ami create-multi`. A region whose copy failed makes it a `partial_failure`.
impl Report for CreateMultiReport {
    const KIND: &'static str = "image_create_multi";
    type Json = CreateMultiJson;

    fn to_json(&self) -> CreateMultiJson {
        CreateMultiJson {
            instance: self.instance.clone(),
            created: CreatedImageJson::new(&self.result.created, &self.spec),
            copies: self.result.copies.as_ref().map(Into::into),
            public: self.public.iter().map(Into::into).collect(),
        }
    }

    fn human(&self, out: &mut Human) {
        let created = &self.result.created;
        out.line(match &created.image {
            Some(_) => created_line(created, &self.spec),
            None => format!(
                "dry run: would create {:?} in {}, then copy it to other regions",
                self.spec.name, self.spec.region
            ),
        });
        if let Some(copies) = &self.result.copies {
            copy_lines(copies, out, true);
        }
        for p in &self.public {
            public_lines(p, out);
        }
    }

    fn failure(&self) -> Option<ErrorReport> {
        self.result
            .copies
            .as_ref()
            .and_then(copy_failure)
            .or_else(|| public_failure(&self.public.iter().collect::<Vec<_>>()))
    }
}

/// A publication through the session (`amiref/image_publish/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PublishOutcomeJson {
    /// The publication.
    #[serde(flatten)]
    pub publish: PublishJson,
    /// Where the version title came from.
    pub version_from: VersionSource,
}

/// `ami publish`. A change set that failed is a `lifecycle` failure beside its report.
impl Report for PublishOutcome {
    const KIND: &'static str = "image_publish";
    type Json = PublishOutcomeJson;

    fn to_json(&self) -> PublishOutcomeJson {
        PublishOutcomeJson {
            publish: PublishJson::new(&self.report, &self.spec),
            version_from: self.version_from,
        }
    }

    fn human(&self, out: &mut Human) {
        publish_lines(&self.report, &self.spec, out);
    }

    fn failure(&self) -> Option<ErrorReport> {
        publish_failure(&self.report)
    }
}

// ---- the registry through the session -----------------------------------------------

fn signer_text(signer: &Signer) -> String {
    match signer {
        Signer::Signed {
            key_id,
            publisher,
            retired: false,
        } => format!("signed by {publisher} ({key_id})"),
        Signer::Signed {
            key_id, publisher, ..
        } => format!("signed by {publisher} ({key_id}, a RETIRED key)"),
        _ => "UNSIGNED".to_owned(),
    }
}

fn scan_text(scan: amiref_registry::ScanStatus) -> &'static str {
    match scan {
        amiref_registry::ScanStatus::Passed => "scan passed",
        amiref_registry::ScanStatus::Failed => "scan FAILED",
        amiref_registry::ScanStatus::Pending => "scan pending",
        _ => "no scan",
    }
}

fn registry_line(template: &str, r: &RegistryImage) -> String {
    let name = format!("{template} {}", r.version);
    let figures = &r.ranked_by.score.rating;
    let rating = match figures.average {
        Some(average) => format!("⭐ {average:.1}/5 ({} reviews)", figures.reviews),
        None => "⭐ unrated".to_owned(),
    };
    format!(
        "  {}  {name:<26} {:<7} ({})  {rating}  {}, {}  [{}]",
        r.image,
        r.architecture.as_str(),
        match r.layer {
            amiref_session::RegistryLayer::Institutional => "institutional",
            _ => "community",
        },
        if r.tested { "tested" } else { "untested" },
        scan_text(r.security_scan),
        signer_text(&r.signer)
    )
}

/// `ami list --template NAME` (`amiref/image_list/v1`): per region, the registries'
/// entries best first, then the caller's own images.
impl Report for ImageListReport {
    const KIND: &'static str = "image_list";
    type Json = ImageListReport;

    fn to_json(&self) -> ImageListReport {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        out.line(format!("📋 Available AMIs for template: {}", self.template));
        if self.regions.is_empty() {
            out.line(if self.registries_configured {
                "   (none in the registries or among your images)"
            } else {
                "   (none among your images; no registry is configured)"
            });
        }
        for region in &self.regions {
            out.blank();
            out.line(format!("Region: {}", region.region));
            for image in &region.images {
                out.line(match image {
                    ListedImage::Registry(r) => registry_line(&self.template, r),
                    ListedImage::Yours(own) => format!(
                        "  {}  {:<26} {:<7} (yours)  {}",
                        own.image,
                        format!("{} {}", self.template, own.version.as_deref().unwrap_or("")),
                        own.architecture.as_str(),
                        own.state
                    ),
                    other => format!("  {other:?}"),
                });
            }
        }
        if !self.refused.is_empty() {
            out.blank();
        }
        for r in &self.refused {
            out.line(format!(
                "❌ refused: {} {} ({}): {}",
                r.template, r.version, r.source, r.reason
            ));
        }
        for w in &self.warnings {
            out.line(format!("⚠️  {w}"));
        }
        for f in &self.failed_regions {
            out.line(format!(
                "⚠️  {}: your images not listed: {}",
                f.region, f.error
            ));
        }
    }
}

/// `ami rate` (`amiref/rate/v1`).
impl Report for RateReport {
    const KIND: &'static str = "rate";
    type Json = RateReport;

    fn to_json(&self) -> RateReport {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        let stars = usize::from(self.stars.min(5));
        let replaced = self
            .replaced_stars
            .map(|s| format!(", replacing your {s}"))
            .unwrap_or_default();
        out.line(format!(
            "⭐ Rated {} {}: {}{}{replaced} (kept in {}; ranks above every registry source)",
            self.template,
            self.version,
            "★".repeat(stars),
            "☆".repeat(5 - stars),
            self.file.display()
        ));
    }
}

/// `registry verify` (`amiref/registry_verification/v1`). Any refused entry is a
/// `registry` failure beside the report.
impl Report for VerifyReport {
    const KIND: &'static str = "registry_verification";
    type Json = VerifyReport;

    fn to_json(&self) -> VerifyReport {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        for e in &self.admitted {
            out.line(format!(
                "✅ {} {} — {}",
                e.template,
                e.version,
                signer_text(&e.signer)
            ));
        }
        if self.restricted > 0 {
            out.line(format!(
                "ℹ️  {} entr{} restricted by a sharing policy (verified, not listed)",
                self.restricted,
                if self.restricted == 1 { "y" } else { "ies" }
            ));
        }
        for r in &self.refused {
            out.line(format!(
                "❌ {} {} ({}): {}",
                r.template, r.version, r.source, r.reason
            ));
            for p in &r.problems {
                let at = match (p.line, p.column) {
                    (Some(l), Some(c)) => format!(":{l}:{c}"),
                    _ => String::new(),
                };
                out.line(format!(
                    "   {}{at}: {}: found {}, expected {}",
                    p.origin, p.path, p.found, p.expected
                ));
            }
        }
        for w in &self.warnings {
            out.line(format!("⚠️  {w}"));
        }
    }

    fn failure(&self) -> Option<ErrorReport> {
        let refused = self.refused.len();
        (refused > 0).then(|| {
            ErrorReport::new(
                ErrorKind::Registry,
                format!(
                    "{refused} entr{} would be refused by readers",
                    if refused == 1 { "y" } else { "ies" }
                ),
            )
        })
    }
}

/// `ami share --community` (`amiref/community_share/v1`).
impl Report for CommunityShareReport {
    const KIND: &'static str = "community_share";
    type Json = CommunityShareReport;

    fn to_json(&self) -> CommunityShareReport {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        let e = &self.entry;
        let verb = if self.dry_run {
            "dry run: would share"
        } else {
            "✅ shared"
        };
        out.line(format!(
            "{verb} {} with the {} community: {} {} in {}, signed by {} ({})",
            e.image, self.community, e.template, e.version, e.region, e.publisher, e.key_id
        ));
        share_lines(&self.launch_permissions, out);
        out.line(if self.written {
            format!("   written to {}", e.registry.display())
        } else {
            format!("   not written to {}", e.registry.display())
        });
        out.extend(self.warnings.iter().map(|w| format!("⚠️  {w}")));
    }
}

// ---- failures ----------------------------------------------------------------------

/// A session operation that failed: the kind follows the error (a template, a registry,
/// the resolver, the lifecycle, the cloud), the exit code the session's
/// [`FailureKind`] (bad input 2, failed 1, declined 3); `no_image` keeps the resolver's
/// chain, an invalid template its problems.
impl From<&SessionError> for ErrorReport {
    fn from(e: &SessionError) -> Self {
        let report = match e {
            SessionError::Resolve(resolve) => ErrorReport::from(resolve),
            SessionError::Template(template) => ErrorReport::from(template),
            SessionError::Lifecycle(lifecycle) => ErrorReport::from(lifecycle),
            SessionError::ImageBuild(build) => ErrorReport::from(&**build),
            SessionError::CommunityShareRefused(refusal) => {
                ErrorReport::from_error(ErrorKind::Registry, e).details(refusal)
            }
            SessionError::TemplateNotFound { .. } => {
                ErrorReport::from_error(ErrorKind::InvalidTemplate, e)
            }
            SessionError::Registry { .. } | SessionError::RegistrySource(_) => {
                ErrorReport::from_error(ErrorKind::Registry, e)
            }
            SessionError::Cloud { .. } => ErrorReport::from_error(ErrorKind::Cloud, e),
            SessionError::Audit(_) | SessionError::Runtime(_) | SessionError::LaunchLog(_) => {
                ErrorReport::from_error(ErrorKind::Io, e)
            }
            other => {
                let kind = match other.kind() {
                    FailureKind::BadInput => ErrorKind::InvalidInput,
                    FailureKind::Declined => ErrorKind::Aborted,
                    _ => ErrorKind::Lifecycle,
                };
                ErrorReport::from_error(kind, other)
            }
        };
        report.exit_code(e.kind().exit_code())
    }
}

// ---- worlds ------------------------------------------------------------------------

/// `world show` (`amiref/world/v1`): where the world's state is and what the caller has
/// in it, then the whole world in the world-file format. For people the summary is YAML
/// comments above the document, so that the output loads as a world file itself.
impl Report for WorldReport {
    const KIND: &'static str = "world";
    type Json = WorldReport;

    fn to_json(&self) -> WorldReport {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        let mut summary = Human::new();
        world_summary(self, &mut summary);
        for line in summary.lines(crate::Stream::Out) {
            out.line(if line.is_empty() {
                "#".to_owned()
            } else {
                format!("# {line}")
            });
        }
        // JSON is YAML too: should the YAML writer refuse the document, it still loads.
        let document = self
            .world
            .to_yaml()
            .unwrap_or_else(|_| self.world.to_json());
        out.text(document.trim_end());
    }
}

/// The lines of `world show` above the world document.
fn world_summary(report: &WorldReport, out: &mut Human) {
    out.line(format!("🌍 World {}", report.world_file.display()));
    out.line(format!(
        "   state: {} ({})",
        report.state_dir.display(),
        if report.saved {
            "saved"
        } else {
            "nothing saved yet: as the world file describes it"
        }
    ));
    out.line(format!("   audit log: {}", report.audit_log.display()));
    out.line(format!(
        "   time: {}",
        report
            .now
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ));
    if report.regions.is_empty() {
        out.line("   (no instances or images of yours)");
    }
    for region in &report.regions {
        out.blank();
        out.line(format!("Region: {}", region.region));
        for i in &region.instances {
            out.line(format!(
                "  {}  {:<20} {} on {} from {}, launched {}",
                i.instance.id,
                i.instance.name.as_deref().unwrap_or("(no name)"),
                i.instance.state,
                i.instance_type,
                i.image,
                i.launch_time
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        for image in &region.images {
            out.line(format!(
                "  {}  {:<20} {} {}",
                image.image,
                image.name,
                image.version.as_deref().unwrap_or("-"),
                image.state
            ));
        }
    }
}

/// `world reset` (`amiref/world_reset/v1`).
impl Report for WorldResetReport {
    const KIND: &'static str = "world_reset";
    type Json = WorldResetReport;

    fn to_json(&self) -> WorldResetReport {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        out.line(if self.removed {
            format!(
                "🧹 World {}: its saved state and audit log are removed ({}); the next command starts from the world file",
                self.world_file.display(),
                self.state_dir.display()
            )
        } else {
            format!(
                "🧹 World {}: nothing to remove ({} holds no state)",
                self.world_file.display(),
                self.state_dir.display()
            )
        });
    }
}
