//! Launches per month for each template, architecture and region, from the three sources
//! in their order of trust: usage files, the launch log, EC2's LastLaunchedTime.

use std::collections::{BTreeMap, HashMap};

use amiref_core::{Architecture, Region};
use chrono::{DateTime, Utc};

use crate::model::HOURS_PER_MONTH;
use crate::{LaunchMethod, LaunchSource, PlanInputs, PlanModel};

/// A template, architecture and region.
pub(crate) type CellKey = (String, Architecture, Region);

/// Launches per month of one cell and where the count comes from.
#[derive(Debug, Clone)]
pub(crate) struct Launches {
    pub(crate) per_month: f64,
    pub(crate) source: LaunchSource,
}

/// The measured times to ready the launch log holds for one template, architecture and
/// method, in seconds.
pub(crate) type ReadySamples = HashMap<(String, Architecture, LaunchMethod), Vec<f64>>;

/// Every cell's launches, the log's measured times, and notes on what was ignored.
pub(crate) struct Demand {
    pub(crate) launches: HashMap<CellKey, Launches>,
    pub(crate) ready: ReadySamples,
    pub(crate) notes: Vec<String>,
}

/// Counts launches. `known` answers a template name with its default architecture, for
/// the templates being planned.
pub(crate) fn demand(
    inputs: &PlanInputs,
    model: &PlanModel,
    known: &BTreeMap<&str, Architecture>,
) -> Demand {
    let window_start = inputs.now - chrono::Duration::from_std(model.window).unwrap_or_default();
    let mut launches = HashMap::new();
    let (ready, mut notes) = from_log(inputs, model, known, window_start, &mut launches);
    notes.extend(from_usage(inputs, known, &mut launches));
    from_last_launched(inputs, model, known, window_start, &mut launches);
    Demand {
        launches,
        ready,
        notes,
    }
}

/// The log's records in the window, spread over the window (or the time since the log's
/// first record, at least the minimum span), as launches per month.
fn from_log(
    inputs: &PlanInputs,
    model: &PlanModel,
    known: &BTreeMap<&str, Architecture>,
    window_start: DateTime<Utc>,
    launches: &mut HashMap<CellKey, Launches>,
) -> (ReadySamples, Vec<String>) {
    let log = &inputs.launch_log;
    let mut notes: Vec<String> = log.bad_lines.iter().map(|b| b.to_string()).collect();
    let Some(first) = log.records.iter().map(|r| r.time).min() else {
        return (ReadySamples::new(), notes);
    };
    let since = first.max(window_start);
    let span_hours = ((inputs.now - since).num_seconds().max(0) as f64 / 3600.0)
        .max(model.minimum_span.as_secs_f64() / 3600.0);
    let mut counts: HashMap<CellKey, usize> = HashMap::new();
    let mut ready = ReadySamples::new();
    let mut unknown = 0usize;
    for record in log.records.iter().filter(|r| r.time >= window_start) {
        if !known.contains_key(record.template.as_str()) {
            unknown += 1;
            continue;
        }
        *counts
            .entry((
                record.template.clone(),
                record.architecture,
                record.region.clone(),
            ))
            .or_default() += 1;
        if let Some(secs) = record.ready().map(|d| d.as_secs_f64()) {
            ready
                .entry((record.template.clone(), record.architecture, record.method))
                .or_default()
                .push(secs);
        }
    }
    if unknown > 0 {
        notes.push(format!(
            "{unknown} launch record(s) in the window name templates not being planned; not counted"
        ));
    }
    for (key, n) in counts {
        let per_month = n as f64 * HOURS_PER_MONTH / span_hours;
        let source = LaunchSource::LaunchLog { records_count: n };
        launches.insert(key, Launches { per_month, source });
    }
    (ready, notes)
}

/// Usage file entries, over the log's counts for the cells they name.
fn from_usage(
    inputs: &PlanInputs,
    known: &BTreeMap<&str, Architecture>,
    launches: &mut HashMap<CellKey, Launches>,
) -> Vec<String> {
    let mut notes = Vec::new();
    for file in &inputs.usage {
        for entry in &file.usage {
            let Some(default_arch) = known.get(entry.template.as_str()) else {
                let at = match entry.line {
                    0 => file.origin.clone(),
                    line => format!("{}:{line}", file.origin),
                };
                notes.push(format!(
                    "{at}: the usage file names the template `{}`, which is not being planned",
                    entry.template
                ));
                continue;
            };
            let arch = entry.architecture.unwrap_or(*default_arch);
            let key = (entry.template.clone(), arch, entry.region.clone());
            let source = LaunchSource::UsageFile {
                origin: file.origin.clone(),
                line: entry.line,
            };
            let per_month = entry.launches_per_month;
            launches.insert(key, Launches { per_month, source });
        }
    }
    notes
}

/// One launch per window for an image EC2 says was launched in the window, where neither
/// the usage files nor the log count any.
fn from_last_launched(
    inputs: &PlanInputs,
    model: &PlanModel,
    known: &BTreeMap<&str, Architecture>,
    window_start: DateTime<Utc>,
    launches: &mut HashMap<CellKey, Launches>,
) {
    let per_month = HOURS_PER_MONTH / (model.window.as_secs_f64() / 3600.0);
    let mut signals: Vec<_> = inputs
        .images
        .iter()
        .filter_map(|s| Some((s.template()?, &s.image, s.image.last_launched?)))
        .filter(|(t, _, at)| known.contains_key(t) && *at >= window_start)
        .collect();
    // The most recent launch names the source when a cell has several images.
    signals.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.id.cmp(&b.1.id)));
    for (template, image, at) in signals {
        let key = (
            template.to_owned(),
            image.architecture,
            image.region.clone(),
        );
        launches.entry(key).or_insert_with(|| Launches {
            per_month,
            source: LaunchSource::LastLaunched {
                image: image.id.clone(),
                at,
            },
        });
    }
}
