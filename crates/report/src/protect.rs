//! `ami protect`, `ami disable`, `ami enable`: what changed on one image (or would, or was
//! already so).

use amiref_core::{AmiId, DeregistrationProtection, ImageState, Region};
use amiref_lifecycle::{ChangeOutcome, DisableReport, EnableReport, ProtectReport};
use chrono::SecondsFormat;
use schemars::JsonSchema;
use serde::Serialize;

use crate::lifecycle::{PermissionJson, describe_permissions};
use crate::{Human, Report};

/// `ami-… ("name") in region`.
fn subject(image: &AmiId, name: &str, region: &Region) -> String {
    format!("{image} ({name:?}) in {region}")
}

/// A deregistration protection for people.
fn protection_words(protection: Option<DeregistrationProtection>) -> String {
    match protection {
        None | Some(DeregistrationProtection::Disabled) => "off".to_owned(),
        Some(DeregistrationProtection::Enabled { cooldown: false }) => "on".to_owned(),
        Some(DeregistrationProtection::Enabled { cooldown: true }) => {
            "on, with the 24-hour cooldown".to_owned()
        }
        Some(DeregistrationProtection::CoolingDown { until }) => format!(
            "cooling down: still protected until {}",
            until.to_rfc3339_opts(SecondsFormat::Secs, true)
        ),
        Some(other) => format!("{other:?}"),
    }
}

/// The line of a change: `SUBJECT: WHAT STATE` done, `SUBJECT: WHAT already STATE`, or a
/// dry run's `dry run: SUBJECT: WHAT would be STATE`.
fn change_line(outcome: ChangeOutcome, subject: &str, what: &str, state: &str) -> String {
    match outcome {
        ChangeOutcome::Changed => format!("{subject}: {what}{state}"),
        ChangeOutcome::Planned => format!("dry run: {subject}: {what}would be {state}"),
        _ => format!("{subject}: {what}already {state}"),
    }
}

/// `ami protect` (`amiref/image_protect/v1`): the protection before and after.
impl Report for ProtectReport {
    const KIND: &'static str = "image_protect";
    type Json = ProtectReport;

    fn to_json(&self) -> ProtectReport {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        out.line(change_line(
            self.outcome,
            &subject(&self.image, &self.name, &self.region),
            "deregistration protection ",
            &protection_words(self.after),
        ));
    }
}

/// A disabling (`amiref/image_disable/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DisableJson {
    /// The region.
    pub region: Region,
    /// The image.
    pub image: AmiId,
    /// Its name.
    pub name: String,
    /// What happened.
    pub outcome: ChangeOutcome,
    /// Its state before.
    pub state_before: ImageState,
    /// The launch permissions EC2 removed (or would) on disabling; `ami enable` does not
    /// restore them (the audit trail records them).
    pub launch_permissions_removed: Vec<PermissionJson>,
    /// Whether nothing was changed (a dry run).
    pub dry_run: bool,
}

/// `ami disable`.
impl Report for DisableReport {
    const KIND: &'static str = "image_disable";
    type Json = DisableJson;

    fn to_json(&self) -> DisableJson {
        DisableJson {
            region: self.region.clone(),
            image: self.image.clone(),
            name: self.name.clone(),
            outcome: self.outcome,
            state_before: self.state_before,
            launch_permissions_removed: self
                .launch_permissions_removed
                .iter()
                .map(Into::into)
                .collect(),
            dry_run: self.dry_run,
        }
    }

    fn human(&self, out: &mut Human) {
        out.line(change_line(
            self.outcome,
            &subject(&self.image, &self.name, &self.region),
            "",
            "disabled",
        ));
        if self.outcome != ChangeOutcome::Unchanged {
            out.line(format!(
                "no new launches; launch permissions {}: {} (ami enable {} brings the image \
                 back, private)",
                if self.outcome == ChangeOutcome::Planned {
                    "it would remove"
                } else {
                    "removed"
                },
                describe_permissions(&self.launch_permissions_removed),
                self.image
            ));
        }
    }
}

/// `ami enable` (`amiref/image_enable/v1`).
impl Report for EnableReport {
    const KIND: &'static str = "image_enable";
    type Json = EnableReport;

    fn to_json(&self) -> EnableReport {
        self.clone()
    }

    fn human(&self, out: &mut Human) {
        let subject = subject(&self.image, &self.name, &self.region);
        let retirement = if self.removed_tags.is_empty() {
            String::new()
        } else {
            format!(
                "; its pending retirement cancelled (tag {} removed)",
                self.removed_tags.join(", ")
            )
        };
        out.line(match self.outcome {
            ChangeOutcome::Changed => format!("{subject}: available{retirement}"),
            ChangeOutcome::Planned => {
                format!("dry run: {subject}: would be available{retirement}")
            }
            _ => format!("{subject}: already available, with no pending retirement"),
        });
        out.extend(self.notes.iter().map(|n| format!("note: {n}")));
    }
}

#[cfg(test)]
mod tests {
    use amiref_core::LaunchPermission;
    use chrono::{TimeZone, Utc};

    use super::*;

    fn text(report: &impl Report) -> String {
        let mut out = Human::new();
        report.human(&mut out);
        out.stdout_text()
    }

    #[test]
    fn protection_reads_as_on_off_or_cooling_down() {
        assert_eq!(protection_words(None), "off");
        assert_eq!(
            protection_words(Some(DeregistrationProtection::Enabled { cooldown: true })),
            "on, with the 24-hour cooldown"
        );
        let until = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
        assert_eq!(
            protection_words(Some(DeregistrationProtection::CoolingDown { until })),
            "cooling down: still protected until 2026-11-02T09:00:00Z"
        );
    }

    #[test]
    fn a_disabling_lists_the_permissions_it_removes() {
        let report: DisableReport = serde_json::from_value(serde_json::json!({
            "region": "us-east-1", "image": "ami-00000000000000001", "name": "v1",
            "outcome": "planned", "state_before": "available",
            "launch_permissions_removed": [{"account": "210987654321"}], "dry_run": true
        }))
        .expect("a report");
        assert_eq!(
            report.launch_permissions_removed,
            vec![LaunchPermission::Account("210987654321".parse().unwrap())]
        );
        let text = text(&report);
        assert!(
            text.starts_with(
                "dry run: ami-00000000000000001 (\"v1\") in us-east-1: would be disabled\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("launch permissions it would remove: account 210987654321"),
            "{text}"
        );
        let json = serde_json::to_value(report.to_json()).expect("JSON");
        assert_eq!(
            json["launch_permissions_removed"][0],
            serde_json::json!({"kind": "account", "id": "210987654321"})
        );
    }

    #[test]
    fn an_enabling_says_the_retirement_is_cancelled_and_the_image_private() {
        let report: EnableReport = serde_json::from_value(serde_json::json!({
            "region": "us-east-1", "image": "ami-00000000000000001", "name": "v1",
            "outcome": "changed", "state_before": "disabled",
            "removed_tags": ["amiref:retire-after"],
            "notes": [amiref_lifecycle::ENABLE_KEEPS_IMAGE_PRIVATE], "dry_run": false
        }))
        .expect("a report");
        let text = text(&report);
        assert!(
            text.contains(
                "available; its pending retirement cancelled (tag amiref:retire-after removed)"
            ),
            "{text}"
        );
        assert!(text.contains("note: EC2 does not restore"), "{text}");
    }
}
