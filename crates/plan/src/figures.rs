//! A row's figures: instance type, times to ready and image size, each with its source.

use std::collections::BTreeMap;

use amiref_core::{Architecture, Image, InstanceType, ResolutionMethod};
use amiref_template::Template;

use crate::demand::ReadySamples;
use crate::{
    ImageSignal, LaunchMethod, MeasuredTimes, PlanModel, SizeFigure, SizeSource, TemplateInput,
    TimeFigure, TimeSource,
};

/// The architecture a template's launches use when nothing says: its preferred one, else
/// what its instance type runs, else its only per-architecture type, else x86_64.
pub(crate) fn default_architecture(template: &Template) -> Architecture {
    let preferred = template
        .ami_config
        .as_ref()
        .and_then(|c| c.preferred_architecture);
    let of_type = template.instance_type.as_ref().map(|t| {
        let runs = t.architectures();
        if runs.contains(&Architecture::X86_64) {
            Architecture::X86_64
        } else {
            runs.first().copied().unwrap_or(Architecture::X86_64)
        }
    });
    preferred
        .or(of_type)
        .or_else(|| template.instance_types.keys().next().copied())
        .unwrap_or(Architecture::X86_64)
}

/// The instance type for `arch`: the template's type for it, else its default type if that
/// runs `arch`.
pub(crate) fn instance_type(template: &Template, arch: Architecture) -> Option<InstanceType> {
    template
        .instance_types
        .get(&arch)
        .cloned()
        .or_else(|| template.instance_type.clone().filter(|t| t.runs(arch)))
}

/// The script's and the image's time to ready: measured by the build (registry entry,
/// else the newest image's tags), else the launch log's medians, else the estimates.
pub(crate) fn times(
    input: &TemplateInput,
    arch: Architecture,
    images: &[&ImageSignal],
    ready: &ReadySamples,
    model: &PlanModel,
) -> (TimeFigure, TimeFigure) {
    let measured = input.measured.clone().or_else(|| {
        let mut tagged: Vec<&Image> = images.iter().map(|s| &s.image).collect();
        tagged.sort_by(|a, b| b.creation_date.cmp(&a.creation_date).then(a.id.cmp(&b.id)));
        tagged.into_iter().find_map(MeasuredTimes::from_image_tags)
    });
    if let Some(m) = measured {
        let figure = |d: std::time::Duration| TimeFigure {
            ready_secs: d.as_secs_f64(),
            source: TimeSource::Measured {
                from: m.source.clone(),
            },
        };
        return (
            figure(m.measured.script_ready),
            figure(m.measured.image_ready),
        );
    }
    let template = &input.template;
    let median = |method| {
        ready
            .get(&(template.name.clone(), arch, method))
            .map(|samples| TimeFigure {
                ready_secs: median_of(samples),
                source: TimeSource::LaunchLogMedian {
                    samples_count: samples.len(),
                },
            })
    };
    let script = median(LaunchMethod::Script).unwrap_or_else(|| TimeFigure {
        ready_secs: model.estimates.script_time(template).as_secs_f64(),
        source: if template.provisioning_time.is_some() {
            TimeSource::TemplateProvisioningTime
        } else {
            TimeSource::ModelDefault
        },
    });
    let image = median(LaunchMethod::Image).unwrap_or_else(|| TimeFigure {
        ready_secs: model
            .estimates
            .image_launch_time(&ResolutionMethod::DirectMapping)
            .as_secs_f64(),
        source: TimeSource::ModelDefault,
    });
    (script, image)
}

/// The median of non-empty samples (the mean of the middle two for an even count).
fn median_of(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// The size of the template's largest image of the architecture, else the default.
pub(crate) fn image_size(images: &[&ImageSignal], model: &PlanModel) -> SizeFigure {
    images
        .iter()
        .map(|s| (s.image.total_volume_size_gib(), &s.image.id))
        .filter(|(size, _)| *size > 0)
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(a.1)))
        .map_or(
            SizeFigure {
                size_gib: model.estimates.default_image_size_gib,
                source: SizeSource::ModelDefault,
            },
            |(size_gib, image)| SizeFigure {
                size_gib,
                source: SizeSource::LargestImage {
                    image: image.clone(),
                },
            },
        )
}

/// The images of each template and architecture, by template name.
pub(crate) fn images_by_row(
    images: &[ImageSignal],
) -> BTreeMap<(&str, Architecture), Vec<&ImageSignal>> {
    let mut by_row: BTreeMap<(&str, Architecture), Vec<&ImageSignal>> = BTreeMap::new();
    for signal in images {
        if let Some(template) = signal.template() {
            by_row
                .entry((template, signal.image.architecture))
                .or_default()
                .push(signal);
        }
    }
    by_row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median_of(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median_of(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
