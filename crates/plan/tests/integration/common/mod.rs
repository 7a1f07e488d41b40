//! Fixtures shared by the planner's tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::time::Duration;

use amiref_core::{AccountId, AmiId, Architecture, BlockDevice, Image, Region};
use amiref_plan::{PlanModel, TemplateInput, UsageEntry, UsageFile};
use amiref_template::Template;
use chrono::{DateTime, Utc};

/// The plan's clock.
pub fn now() -> DateTime<Utc> {
    "2026-12-01T00:00:00Z".parse().unwrap()
}

pub fn region(code: &str) -> Region {
    code.parse().unwrap()
}

/// A template on m6i.large ($0.096 an hour in the built-in table) whose script takes
/// `provisioning` (an image launches in the model's 30 s).
pub fn template(name: &str, provisioning: &str) -> TemplateInput {
    let yaml = format!(
        "name: {name}\ninstance_type: m6i.large\nprovisioning_time: {provisioning}\nuser_data: |\n  #!/bin/sh\n  echo provision\n"
    );
    TemplateInput::new(Template::from_yaml_str(&yaml, &format!("{name}.yml")).unwrap())
}

/// The default model with a refresh every 730 hours (exactly one a month), so the hand
/// computations need no 730/720 factor.
pub fn monthly_model() -> PlanModel {
    PlanModel::default().with_refresh_every(Duration::from_secs(730 * 3600))
}

/// A usage file with `(template, region, launches per month)` entries.
pub fn usage(entries: &[(&str, &str, f64)]) -> UsageFile {
    UsageFile::new(
        "usage.yml",
        entries
            .iter()
            .map(|(t, r, n)| UsageEntry::new(*t, region(r), *n))
            .collect(),
    )
}

/// An available x86_64 image of `template` in `region`, of `size_gib`.
pub fn image(id: &str, template: &str, region_code: &str, size_gib: u32) -> Image {
    let mut image = Image::new(
        AmiId::new(id).unwrap(),
        region(region_code),
        format!("{template}-1"),
        AccountId::new("111122223333").unwrap(),
        Architecture::X86_64,
        "2026-11-01T00:00:00Z".parse().unwrap(),
    );
    image
        .tags
        .insert("amiref:template".to_owned(), template.to_owned());
    image.block_devices.push(BlockDevice {
        device_name: "/dev/xvda".to_owned(),
        snapshot_id: None,
        volume_size_gib: Some(size_gib),
        encrypted: false,
    });
    image
}

/// Whether two money figures agree to a millionth of a dollar.
pub fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() < 1e-6
}

/// Asserts two money figures agree to a millionth of a dollar.
#[macro_export]
macro_rules! assert_usd {
    ($actual:expr, $expected:expr) => {
        assert!(
            $crate::common::close($actual, $expected),
            "{} = {}, expected {}",
            stringify!($actual),
            $actual,
            $expected
        )
    };
}
