//! # amiref-compliance
//!
//! Which of an account's images are public, unencrypted, too old, from untrusted owners,
//! unsigned in the registry, or deprecated but still in use: every control of
//! [`ControlId::ALL`] over the account's images in each region and the images its
//! instances and launch templates use, with the public framework each comes from (CIS AWS
//! Compute Services Benchmark 2.1.1–2.1.5, AWS Security Hub EC2.1 and EC2.8, the EC2 User
//! Guide's block public access and Allowed AMIs) and amiref's own.
//!
//! A [`Scanner`] reads each region with **one paginated image listing and a fixed number of
//! batched reads**, whatever the number of images (the calls per region do not grow with
//! the images; the one exception, launch permissions, which EC2 reads one image at a time,
//! is [`CompliancePolicy::read_launch_permissions`]). Each [`Finding`] names the resource,
//! region, control, severity, evidence and remedy (an amiref command where one exists).
//! [`render_html`] makes the self-contained HTML page.
//!
//! ```
//! use amiref_compliance::{ControlId, Scanner};
//! use amiref_strategies::TrustPolicy;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cloud = amiref_memory::MemoryCloud::builder().build()?;
//! let report = Scanner::new(&cloud, TrustPolicy::default())
//!     .scan(&["us-east-1".parse()?])
//!     .await;
//! assert_eq!(report.controls.len(), ControlId::ALL.len());
//! # Ok(()) }
//! ```

mod control;
mod html;
mod judge;
mod policy;
mod report;
mod scan;

use amiref_core::{Cloud, Region};
use amiref_strategies::TrustPolicy;
use chrono::{DateTime, Utc};

pub use control::{Control, ControlId, Framework, Severity, UnknownSeverity};
pub use html::render_html;
pub use judge::TEMPLATE_TAG;
pub use policy::{CompliancePolicy, DEFAULT_MAXIMUM_AGE_DAYS, RegistryEntry, Signing};
pub use report::{
    ComplianceReport, ControlSummary, Finding, Outcome, ReadFailure, RegionScan, Remedy, Resource,
    ScopeOutcome,
};

use judge::{Judge, Verdict};
use report::ReadFailure as Failure;

/// Scans regions of one account against every control.
pub struct Scanner<'a> {
    cloud: &'a dyn Cloud,
    trust: TrustPolicy,
    policy: CompliancePolicy,
    registry: Option<Vec<RegistryEntry>>,
    now: Option<DateTime<Utc>>,
}

impl<'a> Scanner<'a> {
    /// A scanner over `cloud` whose approved owners are `trust`'s, with the default
    /// policy, no registry, and the wall clock.
    pub fn new(cloud: &'a dyn Cloud, trust: TrustPolicy) -> Self {
        Self {
            cloud,
            trust,
            policy: CompliancePolicy::default(),
            registry: None,
            now: None,
        }
    }

    /// Judges by `policy`.
    #[must_use]
    pub fn policy(mut self, policy: CompliancePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The registries' entries (what signed entries vouch for, and whose signatures are
    /// checked). Without this the registry control is not configured.
    #[must_use]
    pub fn registry(mut self, entries: Vec<RegistryEntry>) -> Self {
        self.registry = Some(entries);
        self
    }

    /// Judges ages and deprecations at `now` (a world's clock) instead of the wall clock.
    #[must_use]
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = Some(now);
        self
    }

    /// Every control over `regions`, read concurrently.
    pub async fn scan(&self, regions: &[Region]) -> ComplianceReport {
        let now = self.now.unwrap_or_else(Utc::now);
        let (caller, facts) = futures::join!(
            self.cloud.caller(),
            futures::future::join_all(regions.iter().map(|r| scan::read_region(
                self.cloud,
                &self.policy,
                r.clone(),
                now
            )),)
        );
        let mut read_failures = Vec::new();
        let caller = caller
            .map_err(|e| {
                read_failures.push(Failure {
                    region: None,
                    read: "GetCallerIdentity".into(),
                    error: e.to_string(),
                });
            })
            .ok();
        let judge = Judge {
            policy: &self.policy,
            trust: &self.trust,
            caller: caller.as_ref(),
            registry: self.registry.as_deref(),
            now,
        };
        let mut per_region: Vec<(Option<Region>, Vec<Verdict>)> = Vec::new();
        let mut scanned = Vec::new();
        for f in &facts {
            per_region.push((Some(f.region.clone()), judge.region(f)));
            scanned.push(region_scan(f));
            read_failures.extend(f.failures.iter().cloned());
        }
        per_region.push((None, vec![judge.registry()]));
        let (controls, findings) = summarize(per_region);
        ComplianceReport {
            generated_at: now,
            account: caller.map(|c| c.account),
            regions: regions.to_vec(),
            controls,
            findings,
            scanned,
            read_failures,
            notes: self.notes(),
        }
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.policy.read_launch_permissions {
            notes.push(
                "launch permissions were not read (compliance.read_launch_permissions: \
                 false): images shared with accounts, organizations or OUs are not seen; \
                 public images are (cis-2.1.5)"
                    .to_owned(),
            );
        }
        notes
    }
}

fn region_scan(facts: &scan::RegionFacts) -> RegionScan {
    RegionScan {
        region: Some(facts.region.clone()),
        own_image_count: facts.own.as_ref().map_or(0, |m| m.len()),
        used_image_count: facts.used_foreign.as_ref().map_or(0, |m| m.len()),
        instance_count: facts.instances.as_ref().map_or(0, Vec::len),
        launch_template_version_count: facts.templates.as_ref().map_or(0, Vec::len),
    }
}

/// Each control with its outcome per scope (in [`ControlId::ALL`] order), and every
/// finding, worst first.
fn summarize(
    per_region: Vec<(Option<Region>, Vec<Verdict>)>,
) -> (Vec<ControlSummary>, Vec<Finding>) {
    let mut controls: Vec<ControlSummary> = ControlId::ALL
        .iter()
        .map(|id| ControlSummary {
            control: id.control(),
            outcomes: Vec::new(),
        })
        .collect();
    let mut findings = Vec::new();
    for (region, verdicts) in per_region {
        for v in verdicts {
            controls[v.control as usize].outcomes.push(ScopeOutcome {
                region: region.clone(),
                outcome: v.outcome,
            });
            findings.extend(v.findings);
        }
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.control.cmp(&b.control))
            .then(a.region.cmp(&b.region))
            .then(a.resource.cmp(&b.resource))
    });
    (controls, findings)
}
