//! The plan for people: a text table and a self-contained HTML report.

mod html;
mod table;

pub use html::render_html;
pub use table::render_table;

use crate::{LaunchSource, RetireBlock, SizeSource, TimeFigure, TimeSource};

/// US dollars with cents: `$1234.56`, `-$0.40`.
fn usd(value: f64) -> String {
    let cents = (value * 100.0).round() / 100.0;
    if cents < 0.0 {
        format!("-${:.2}", -cents)
    } else {
        format!("${:.2}", cents.abs())
    }
}

/// Launches per month, with one decimal under 10.
fn launches(per_month: f64) -> String {
    if per_month < 10.0 {
        format!("{per_month:.1}")
    } else {
        format!("{per_month:.0}")
    }
}

/// Where a launch count comes from, in words.
fn launch_source(source: &LaunchSource) -> String {
    match source {
        LaunchSource::UsageFile { origin, line: 0 } => format!("usage file {origin}"),
        LaunchSource::UsageFile { origin, line } => format!("usage file {origin}:{line}"),
        LaunchSource::LaunchLog { records_count } => {
            format!("launch log ({records_count} records)")
        }
        LaunchSource::LastLaunched { image, at } => {
            format!(
                "EC2 LastLaunchedTime of {image} ({})",
                at.format("%Y-%m-%d")
            )
        }
        LaunchSource::None => "no launches".to_owned(),
    }
}

/// A time to ready and its source, in words.
fn time(figure: &TimeFigure) -> String {
    let source = match &figure.source {
        TimeSource::Measured { from } => match from {
            crate::MeasurementSource::RegistryVerification => "measured (registry)".to_owned(),
            crate::MeasurementSource::ImageTags { image } => format!("measured ({image} tags)"),
        },
        TimeSource::LaunchLogMedian { samples_count } => {
            format!("launch log median of {samples_count}")
        }
        TimeSource::TemplateProvisioningTime => "template provisioning_time".to_owned(),
        TimeSource::ModelDefault => "model default".to_owned(),
    };
    format!("{:.0}s, {source}", figure.ready_secs)
}

/// An image size and its source, in words.
fn size(figure: &crate::SizeFigure) -> String {
    match &figure.source {
        SizeSource::LargestImage { image } => format!("{} GiB ({image})", figure.size_gib),
        SizeSource::ModelDefault => format!("{} GiB (model default)", figure.size_gib),
    }
}

/// Why an image is kept, in words.
fn retire_block(block: &RetireBlock) -> String {
    match block {
        RetireBlock::Referenced {
            instances_count,
            launch_templates,
        } => format!(
            "used by {instances_count} instance(s) and {} launch template(s)",
            launch_templates.len()
        ),
        RetireBlock::UsageUnknown { message } => format!("usage unknown: {message}"),
        RetireBlock::LaunchedRecently { at } => format!("launched {}", at.format("%Y-%m-%d")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_rounds_to_cents_with_the_sign_first() {
        assert_eq!(usd(1234.564), "$1234.56");
        assert_eq!(usd(-0.4), "-$0.40");
        assert_eq!(usd(-0.001), "$0.00");
    }
}
