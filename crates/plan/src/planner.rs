//! The decisions: for each template and architecture, where to build, where to keep
//! copies, where to leave it to on-demand copies, and where to the script.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use amiref_core::{AmiId, Architecture, Image, ImageState, Partition, Region};
use chrono::{DateTime, Utc};

use crate::demand::{self, CellKey, Demand, Launches};
use crate::figures;
use crate::{
    Decision, ImageSignal, LaunchSource, ModelInputs, Plan, PlanCell, PlanInputs, PlanModel,
    PlanRow, PlanTotals, RetireBlock, RetireProposal, SkippedTemplate, TemplateInput,
};

/// Makes the plan. Deterministic: the same inputs give the same plan, rows and regions
/// sorted, whatever the order of the inputs.
pub fn plan(inputs: &PlanInputs, model: &PlanModel) -> Plan {
    let (planned, skipped) = buildable(&inputs.templates);
    let known: BTreeMap<&str, Architecture> = planned
        .iter()
        .map(|(name, t)| (*name, figures::default_architecture(&t.template)))
        .collect();
    let Demand {
        launches,
        ready,
        mut notes,
    } = demand::demand(inputs, model, &known);
    let images = figures::images_by_row(&inputs.images);
    let regions = columns(inputs, &launches, &images, &known);
    let walks = Walks::new(&regions, model);
    let mut rows = Vec::new();
    for (arch_name, input) in row_keys(&planned, &known, &launches, &images) {
        let (name, arch) = arch_name;
        let row_images = images.get(&(name, arch)).map_or(&[][..], Vec::as_slice);
        let row = RowPlanner {
            model,
            now: inputs.now,
            regions: &regions,
            walks: &walks,
            launches: &launches,
        }
        .plan_row(input, arch, row_images, &ready);
        notes.extend(price_note(&row));
        rows.push(row);
    }
    let retire = retire_proposals(&rows, &images, model, inputs.now);
    let totals = totals(&rows, &retire);
    Plan {
        generated_at: inputs.now,
        regions,
        rows,
        retire,
        totals,
        model: model_inputs(model),
        skipped,
        notes,
    }
}

/// A note when instance time counts as $0 somewhere in the row: no instance type for the
/// architecture, or no price for it in some regions.
fn price_note(row: &PlanRow) -> Option<String> {
    let Some(instance_type) = &row.instance_type else {
        return Some(format!(
            "{} ({}): no instance type for the architecture; instance time counts as $0",
            row.template, row.architecture
        ));
    };
    let unpriced: Vec<&str> = row
        .cells
        .iter()
        .filter(|c| c.hourly_price_usd.is_none())
        .map(|c| c.region.as_str())
        .collect();
    (!unpriced.is_empty()).then(|| {
        format!(
            "{} ({}): no price for {instance_type} in {}; instance time counts as $0 there",
            row.template,
            row.architecture,
            unpriced.join(", ")
        )
    })
}

/// The templates a build can make (they have a script), by name (the last of a name
/// wins), and those left out.
fn buildable(
    templates: &[TemplateInput],
) -> (BTreeMap<&str, &TemplateInput>, Vec<SkippedTemplate>) {
    let mut planned = BTreeMap::new();
    let mut skipped = BTreeMap::new();
    for input in templates {
        let name = input.template.name.as_str();
        if input
            .template
            .user_data
            .as_deref()
            .is_some_and(|u| !u.trim().is_empty())
        {
            planned.insert(name, input);
            skipped.remove(name);
        } else {
            planned.remove(name);
            skipped.insert(
                name,
                SkippedTemplate {
                    template: name.to_owned(),
                    reason: "no user_data: there is nothing to build an image from".to_owned(),
                },
            );
        }
    }
    (planned, skipped.into_values().collect())
}

/// The plan's regions: those asked for, else every region launches or images name; sorted.
fn columns(
    inputs: &PlanInputs,
    launches: &HashMap<CellKey, Launches>,
    images: &BTreeMap<(&str, Architecture), Vec<&ImageSignal>>,
    known: &BTreeMap<&str, Architecture>,
) -> Vec<Region> {
    let set: BTreeSet<Region> = if inputs.regions.is_empty() {
        let of_images = images
            .iter()
            .filter(|((t, _), _)| known.contains_key(t))
            .flat_map(|(_, signals)| signals.iter().map(|s| s.image.region.clone()));
        launches
            .keys()
            .map(|(_, _, r)| r.clone())
            .chain(of_images)
            .collect()
    } else {
        inputs.regions.iter().cloned().collect()
    };
    set.into_iter().collect()
}

/// The rows: each template's default architecture, and every architecture launches or
/// images name for it; sorted by template, then architecture.
fn row_keys<'a>(
    planned: &BTreeMap<&'a str, &'a TemplateInput>,
    known: &BTreeMap<&str, Architecture>,
    launches: &HashMap<CellKey, Launches>,
    images: &BTreeMap<(&str, Architecture), Vec<&ImageSignal>>,
) -> Vec<((&'a str, Architecture), &'a TemplateInput)> {
    let mut keys: BTreeSet<(&'a str, Architecture)> = BTreeSet::new();
    for (name, _) in planned.iter() {
        keys.insert((name, known[name]));
    }
    let mut add = |template: &str, arch: Architecture| {
        if let Some((name, _)) = planned.get_key_value(template) {
            keys.insert((name, arch));
        }
    };
    for (template, arch, _) in launches.keys() {
        add(template, *arch);
    }
    for (template, arch) in images.keys() {
        add(template, *arch);
    }
    keys.into_iter().map(|key| (key, planned[key.0])).collect()
}

/// For each region of the plan, the plan's regions on its fallback walk, nearest first (as
/// column indices).
struct Walks(Vec<Vec<usize>>);

impl Walks {
    fn new(regions: &[Region], model: &PlanModel) -> Self {
        let index: HashMap<&Region, usize> =
            regions.iter().enumerate().map(|(i, r)| (r, i)).collect();
        let options = amiref_regions::WalkOptions::new();
        Self(
            regions
                .iter()
                .map(|r| {
                    model
                        .graph
                        .walk(r, &options)
                        .iter()
                        .filter_map(|w| index.get(w).copied())
                        .collect()
                })
                .collect(),
        )
    }
}

/// What an option saves and costs per month.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Money {
    saving: f64,
    cost: f64,
}

impl Money {
    const ZERO: Self = Self {
        saving: 0.0,
        cost: 0.0,
    };
    fn net(self) -> f64 {
        self.saving - self.cost
    }
}

/// The figures shared by every cell of a row.
struct RowFigures {
    /// Hours a launch from an image saves over the script (0 when it saves none).
    saved_hours: f64,
    /// Instance hours of one build beyond the price: script + image + capture.
    build_hours: f64,
    /// GiB.
    size: f64,
    /// Hours of a cross-region copy.
    copy_hours: f64,
    /// Refreshes per month.
    refreshes: f64,
}

struct RowPlanner<'a> {
    model: &'a PlanModel,
    now: DateTime<Utc>,
    regions: &'a [Region],
    walks: &'a Walks,
    launches: &'a HashMap<CellKey, Launches>,
}

impl RowPlanner<'_> {
    fn plan_row(
        &self,
        input: &TemplateInput,
        arch: Architecture,
        images: &[&ImageSignal],
        ready: &demand::ReadySamples,
    ) -> PlanRow {
        let template = &input.template;
        let instance_type = figures::instance_type(template, arch);
        let (script_time, image_time) = figures::times(input, arch, images, ready, self.model);
        let image_size = figures::image_size(images, self.model);
        let copy_time = self.model.copy_time(image_size.size_gib);
        let row = RowFigures {
            saved_hours: (script_time.ready_secs - image_time.ready_secs).max(0.0) / 3600.0,
            build_hours: (script_time.ready_secs
                + image_time.ready_secs
                + self.model.capture_time.as_secs_f64())
                / 3600.0,
            size: image_size.size_gib as f64,
            copy_hours: copy_time.as_secs_f64() / 3600.0,
            refreshes: self.model.refreshes_per_month(),
        };
        let mut cells: Vec<PlanCell> = self
            .regions
            .iter()
            .map(|region| {
                let key = (template.name.clone(), arch, region.clone());
                let (monthly_launch_count, launches_source) = self
                    .launches
                    .get(&key)
                    .map_or((0.0, LaunchSource::None), |l| {
                        (l.per_month, l.source.clone())
                    });
                PlanCell {
                    region: region.clone(),
                    monthly_launch_count,
                    launches_source,
                    decision: Decision::Script,
                    saving_usd_per_month: 0.0,
                    cost_usd_per_month: 0.0,
                    prebuilt_saving_usd_per_month: 0.0,
                    prebuilt_cost_usd_per_month: 0.0,
                    hourly_price_usd: instance_type
                        .as_ref()
                        .and_then(|t| self.model.estimates.instance_prices.hourly(region, t)),
                    present_image: present_image(images, region, self.now),
                }
            })
            .collect();
        let home = self.decide(&template.name, &row, &mut cells);
        PlanRow {
            template: template.name.clone(),
            architecture: arch,
            instance_type,
            home,
            script_time,
            image_time,
            image_size,
            copy_time_secs: copy_time.as_secs_f64(),
            cells,
        }
    }

    /// Decides every cell, partition by partition (copies never cross one); returns the
    /// home of the first partition that builds.
    fn decide(&self, template: &str, row: &RowFigures, cells: &mut [PlanCell]) -> Option<Region> {
        let mut by_partition: BTreeMap<Partition, Vec<usize>> = BTreeMap::new();
        for (i, region) in self.regions.iter().enumerate() {
            by_partition.entry(region.partition()).or_default().push(i);
        }
        let configured = self.model.configured_home(template);
        let mut home = None;
        for members in by_partition.values() {
            if let Some(built) = self.decide_partition(configured, row, cells, members) {
                home = home.or(Some(built));
            }
        }
        home
    }

    /// One partition: the home builds, then the other regions by launches (most first)
    /// take the best of a copy from the nearest holder, an on-demand copy, or the script.
    /// When the partition's net saving is not above 0, every cell goes to the script.
    fn decide_partition(
        &self,
        configured: Option<&Region>,
        row: &RowFigures,
        cells: &mut [PlanCell],
        members: &[usize],
    ) -> Option<Region> {
        let mut order = members.to_vec();
        order.sort_by(|&a, &b| {
            cells[b]
                .monthly_launch_count
                .total_cmp(&cells[a].monthly_launch_count)
                .then(a.cmp(&b))
        });
        let home = configured
            .and_then(|c| members.iter().copied().find(|&i| &self.regions[i] == c))
            .or_else(|| {
                order
                    .first()
                    .copied()
                    .filter(|&i| cells[i].monthly_launch_count > 0.0)
            });
        let mut holders: Vec<usize> = Vec::new();
        let mut net = 0.0;
        if let Some(h) = home {
            let money = self.build_here(row, &cells[h]);
            set(&mut cells[h], Decision::BuildHere, money, money);
            holders.push(h);
            net += money.net();
        }
        for &i in order.iter().filter(|&&i| Some(i) != home) {
            let source = self.walks.0[i]
                .iter()
                .copied()
                .find(|s| holders.contains(s));
            let (decision, chosen, prebuilt) = match source {
                Some(s) => self.copy_or_on_demand(row, &cells[i], &self.regions[s]),
                None => {
                    let build = self.build_here(row, &cells[i]);
                    if build.net() > 0.0 {
                        (Decision::BuildHere, build, build)
                    } else {
                        (Decision::Script, Money::ZERO, build)
                    }
                }
            };
            if decision.keeps_image() {
                holders.push(i);
            }
            net += chosen.net();
            set(&mut cells[i], decision, chosen, prebuilt);
        }
        if net <= 0.0 {
            for &i in members {
                cells[i].decision = Decision::Script;
                cells[i].saving_usd_per_month = 0.0;
                cells[i].cost_usd_per_month = 0.0;
            }
            return None;
        }
        home.map(|h| self.regions[h].clone())
    }

    /// Building and refreshing here: the launches' saving, against snapshot storage and a
    /// build's instance time at every refresh.
    fn build_here(&self, row: &RowFigures, cell: &PlanCell) -> Money {
        let price = cell.hourly_price_usd.unwrap_or(0.0);
        let storage = self.storage_per_month(row, &cell.region);
        Money {
            saving: self.saving(row, cell, cell.monthly_launch_count),
            cost: storage + row.refreshes * price * row.build_hours,
        }
    }

    /// The best of a kept copy from `source`, an on-demand copy from it, and the script;
    /// with the kept copy's figures as the pre-built alternative.
    fn copy_or_on_demand(
        &self,
        row: &RowFigures,
        cell: &PlanCell,
        source: &Region,
    ) -> (Decision, Money, Money) {
        let transfer = row.size
            * self
                .model
                .estimates
                .region_prices
                .transfer_per_gb(source, &cell.region);
        let storage = self.storage_per_month(row, &cell.region);
        let launches = cell.monthly_launch_count;
        let copy = Money {
            saving: self.saving(row, cell, launches),
            cost: storage + row.refreshes * transfer,
        };
        // At most one copy per launch and per image version; each makes its launch wait
        // the copy, and is stored for the part of the month its version is current.
        let copies = launches.min(row.refreshes);
        let rate = cell.hourly_price_usd.unwrap_or(0.0) + self.model.waiting_hour_usd;
        let on_demand = Money {
            saving: (launches * row.saved_hours - copies * row.copy_hours) * rate,
            cost: copies * transfer + copies / row.refreshes * storage,
        };
        let source = source.clone();
        if copy.net() > on_demand.net().max(0.0) {
            (Decision::CopyFromNearest { source }, copy, copy)
        } else if on_demand.net() > 0.0 {
            (Decision::OnDemandCopy { source }, on_demand, copy)
        } else {
            (Decision::Script, Money::ZERO, copy)
        }
    }

    /// `launches` × saved hours × (instance price + waiting hour).
    fn saving(&self, row: &RowFigures, cell: &PlanCell, launches: f64) -> f64 {
        let rate = cell.hourly_price_usd.unwrap_or(0.0) + self.model.waiting_hour_usd;
        launches * row.saved_hours * rate
    }

    /// Size × snapshot storage per GiB-month in the region.
    fn storage_per_month(&self, row: &RowFigures, region: &Region) -> f64 {
        row.size
            * self
                .model
                .estimates
                .region_prices
                .snapshot_storage_per_gb_month(region)
    }
}

/// Records a cell's decision, its figures and the pre-built alternative's.
fn set(cell: &mut PlanCell, decision: Decision, chosen: Money, prebuilt: Money) {
    cell.decision = decision;
    cell.saving_usd_per_month = chosen.saving;
    cell.cost_usd_per_month = chosen.cost;
    cell.prebuilt_saving_usd_per_month = prebuilt.saving;
    cell.prebuilt_cost_usd_per_month = prebuilt.cost;
}

/// Whether an image is one the plan counts as held: available and not deprecated at `now`.
fn is_current(image: &Image, now: DateTime<Utc>) -> bool {
    image.state == ImageState::Available && !image.is_deprecated_at(now)
}

/// The newest current image of the row in `region`.
fn present_image(images: &[&ImageSignal], region: &Region, now: DateTime<Utc>) -> Option<AmiId> {
    images
        .iter()
        .map(|s| &s.image)
        .filter(|i| &i.region == region && is_current(i, now))
        .max_by(|a, b| a.creation_date.cmp(&b.creation_date).then(b.id.cmp(&a.id)))
        .map(|i| i.id.clone())
}

/// Existing current images in cells the plan leaves to the script or to on-demand copies.
fn retire_proposals(
    rows: &[PlanRow],
    images: &BTreeMap<(&str, Architecture), Vec<&ImageSignal>>,
    model: &PlanModel,
    now: DateTime<Utc>,
) -> Vec<RetireProposal> {
    let period = chrono::Duration::from_std(model.refresh_every).unwrap_or_default();
    let mut proposals = Vec::new();
    for row in rows {
        let Some(signals) = images.get(&(row.template.as_str(), row.architecture)) else {
            continue;
        };
        for signal in signals.iter().filter(|s| is_current(&s.image, now)) {
            let image = &signal.image;
            let Some(cell) = row.cells.iter().find(|c| c.region == image.region) else {
                continue;
            };
            if cell.decision.keeps_image() {
                continue;
            }
            let recent = image.last_launched.filter(|at| {
                matches!(cell.decision, Decision::OnDemandCopy { .. }) && *at > now - period
            });
            let blocked = match (&signal.usage, recent) {
                (Err(e), _) => Some(RetireBlock::UsageUnknown {
                    message: e.to_string(),
                }),
                (Ok(usage), _) if !usage.is_unused() => Some(RetireBlock::Referenced {
                    instances_count: usage.instances.len(),
                    launch_templates: usage.launch_templates.clone(),
                }),
                (Ok(_), Some(at)) => Some(RetireBlock::LaunchedRecently { at }),
                (Ok(_), None) => None,
            };
            proposals.push(RetireProposal {
                template: row.template.clone(),
                architecture: row.architecture,
                region: image.region.clone(),
                image: image.id.clone(),
                decision: cell.decision.clone(),
                benefit_usd_per_month: cell.prebuilt_saving_usd_per_month,
                cost_usd_per_month: cell.prebuilt_cost_usd_per_month,
                blocked,
            });
        }
    }
    proposals.sort_by(|a, b| {
        (&a.template, &a.region, &a.image).cmp(&(&b.template, &b.region, &b.image))
    });
    proposals
}

/// Sums over every cell, in row and region order.
fn totals(rows: &[PlanRow], retire: &[RetireProposal]) -> PlanTotals {
    let mut t = PlanTotals::default();
    for cell in rows.iter().flat_map(|r| &r.cells) {
        t.saving_usd_per_month += cell.saving_usd_per_month;
        t.cost_usd_per_month += cell.cost_usd_per_month;
        match cell.decision {
            Decision::BuildHere => t.build_count += 1,
            Decision::CopyFromNearest { .. } => t.copy_count += 1,
            Decision::OnDemandCopy { .. } => t.on_demand_count += 1,
            Decision::Script => t.script_count += 1,
        }
    }
    t.net_usd_per_month = t.saving_usd_per_month - t.cost_usd_per_month;
    t.retire_count = retire.len();
    t.retire_cost_usd_per_month = retire.iter().map(|p| p.cost_usd_per_month).sum();
    t
}

/// The model as the plan states it.
fn model_inputs(model: &PlanModel) -> ModelInputs {
    let e = &model.estimates;
    let days = |d: std::time::Duration| d.as_secs_f64() / 86_400.0;
    ModelInputs {
        waiting_hour_usd: model.waiting_hour_usd,
        refresh_every_days: days(model.refresh_every),
        capture_time_secs: model.capture_time.as_secs_f64(),
        window_days: days(model.window),
        minimum_span_days: days(model.minimum_span),
        default_script_time_secs: e.default_script_time.as_secs_f64(),
        image_launch_secs: e
            .image_launch_time(&amiref_core::ResolutionMethod::DirectMapping)
            .as_secs_f64(),
        copy_overhead_secs: e.copy_overhead.as_secs_f64(),
        copy_secs_per_gib: 60.0 / e.copy_gib_per_minute.max(f64::MIN_POSITIVE),
        default_image_size_gib: e.default_image_size_gib,
        instance_prices_as_of: e.instance_prices.as_of.clone(),
        region_prices_as_of: e.region_prices.as_of().to_owned(),
        stated: model.stated_inputs(),
    }
}
