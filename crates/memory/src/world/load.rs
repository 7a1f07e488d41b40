//! A parsed world file into a [`MemoryCloudBuilder`]: the checks of shape that serde cannot
//! make (one of two forms, not both), and the defaults the format gives.

use std::time::Duration;

use amiref_core::{
    AccountId, AllowedImagesSettings, AmiId, BlockDevice, Image, ImageState, InstanceState,
    LaunchPermission, MarketplaceProduct, Parameter, ProductCode, ProductCodeType, ProductVersion,
    RecycleBinRule, Region, RuleTag,
};

use super::file::{
    BuildEntry, ChangeSetEntry, ClientTokenEntry, Dur, ImageEntry, InstanceEntry, ParameterEntry,
    ProductCodeEntry, RecycleRuleEntry, RuleTagEntry, ScriptEntry, SnapshotEntry, TimingsEntry,
    WorldFile,
};
use crate::builder::{
    DEFAULT_CALLER, ImageSeed, InstanceLife, InstanceSeed, MemoryCloudBuilder, RunState,
    SavedParameter, SeedLaunch, SnapshotSeed,
};
use crate::knobs::Throttling;
use crate::network::StoredGroup;
use crate::state::{Account, ChangeSet, Timings};
use crate::templates::{LaunchTemplateSeed, RecipeSeed};
use crate::{BuildBehaviour, MemoryCloud, ScriptBehaviour, WorldError};

pub(crate) fn into_builder(file: WorldFile) -> Result<MemoryCloudBuilder, WorldError> {
    let caller = match file.caller {
        Some(c) => c,
        None => AccountId::new(DEFAULT_CALLER)
            .map_err(|e| WorldError::invalid("caller", e.found, e.expected))?,
    };
    let mut b = MemoryCloudBuilder::default().caller(caller.clone());
    if let Some(description) = file.description {
        b = b.description(description);
    }
    if let Some(start) = file.start {
        b = b.start(start);
    }
    for a in file.accounts {
        let mut account = Account::new(a.id);
        if let Some(name) = a.name {
            account = account.name(name);
        }
        if let Some(user) = a.user {
            account = account.user(user);
        }
        if let Some(alias) = a.alias {
            account = account.alias(alias);
        }
        if let Some(org) = a.organization {
            account = account.organization(org);
        }
        for ou in a.organizational_units {
            account = account.organizational_unit(ou);
        }
        b = b.account(account);
    }
    for (region, entry) in file.regions {
        let entry = entry.unwrap_or_default();
        if let Some(Dur(latency)) = entry.latency {
            b = b.region_latency(region.clone(), latency);
        }
        if entry.down {
            b = b.region_down(region.clone());
        }
        if let Some(allowed) = entry.allowed_images {
            b = b.allowed_images(
                region.clone(),
                AllowedImagesSettings::new(allowed.state, allowed.criteria),
            );
        }
        for (subnet, vpc) in entry.subnets {
            b = b.subnet(region.clone(), subnet, vpc);
        }
        if let Some(setting) = entry.snapshot_block_public_access {
            b = b.snapshot_block_public_access(region.clone(), setting);
        }
        for rule in entry.recycle_bin_rules {
            b = b.recycle_bin_rule(region.clone(), recycle_rule(rule));
        }
        b = if entry.block_public_access {
            b.block_public_access(region)
        } else {
            b.region(region)
        };
    }
    for t in file.instance_types {
        let archs = t
            .architectures
            .unwrap_or_else(|| t.name.architectures().to_vec());
        b = match t.regions {
            Some(regions) => b.instance_type_in(t.name, archs, regions),
            None => b.instance_type(t.name, archs),
        };
    }
    for s in file.snapshots {
        b = b.snapshot(snapshot_seed(s));
    }
    for (index, entry) in file.images.into_iter().enumerate() {
        for seed in image_seeds(index, entry, &caller)? {
            b = b.image(seed);
        }
    }
    for (template, entry) in file.builds {
        let behaviour = build_behaviour(&template, entry)?;
        b = b.build_behaviour(template, behaviour);
    }
    for g in file.security_groups {
        let group = StoredGroup {
            name: g.name,
            description: g.description,
            vpc: g.vpc.unwrap_or_else(|| MemoryCloud::default_vpc(&g.region)),
            owner: g.owner.unwrap_or_else(|| caller.clone()),
            tags: g.tags,
        };
        b = b.security_group(g.region, g.id, group);
    }
    for i in file.instances {
        b = b.instance(instance_seed(i)?);
    }
    for t in file.launch_templates {
        let owner = t.owner.unwrap_or_else(|| caller.clone());
        let mut seed = LaunchTemplateSeed::new(t.region, owner, t.name, t.image);
        if let Some(id) = t.id {
            seed = seed.id(id);
        }
        if let Some(version) = t.default_version {
            seed = seed.default_version(version);
        }
        if let Some(latest) = t.latest {
            seed = seed.latest(latest.version, latest.image);
        }
        b = b.template(seed);
    }
    for r in file.image_recipes {
        let owner = r.owner.unwrap_or_else(|| caller.clone());
        let seed = RecipeSeed::new(r.region, owner, r.name, r.version, r.parent_image);
        b = b.recipe(seed.container(r.container));
    }
    for p in file.products {
        for offer in &p.offers {
            b = b.offer(p.product_id.clone(), offer.clone());
        }
        let mut product = MarketplaceProduct::new(p.product_code, p.product_id, p.title);
        for v in p.versions {
            let mut version = ProductVersion::new(v.version);
            version.release_date = v.released;
            version.images = v.images;
            product.versions.push(version);
        }
        b = b.product(product);
    }
    for (region, parameters) in file.parameters {
        for (name, ParameterEntry(fields)) in parameters {
            let mut parameter = Parameter::new(name, fields.value);
            parameter.data_type = fields.data_type;
            if let Some(version) = fields.version {
                parameter.version = version;
            }
            parameter.last_modified = fields.last_modified;
            let history = fields
                .history
                .into_iter()
                .map(|v| {
                    let mut earlier = Parameter::new(parameter.name.clone(), v.value);
                    earlier.version = v.version;
                    earlier.data_type = v.data_type;
                    earlier.last_modified = v.last_modified;
                    earlier
                })
                .collect();
            let saved = SavedParameter {
                owner: fields.owner,
                checked: fields.checked,
                history,
            };
            b = b.saved_parameter(region.clone(), parameter, saved);
        }
    }
    b = b.timings(timings(file.timings));
    if let Some(Dur(latency)) = file.latency {
        b = b.latency(latency);
    }
    if file.throttling {
        b = b.throttling(Throttling::ec2());
    }
    let run_state = run_state(
        file.change_sets,
        file.client_tokens,
        file.ids_minted,
        &caller,
    )?;
    Ok(b.run_state(run_state))
}

fn timings(t: TimingsEntry) -> Timings {
    let mut timings = Timings::default();
    let set = |slot: &mut Duration, value: Option<Dur>| {
        if let Some(Dur(d)) = value {
            *slot = d;
        }
    };
    set(&mut timings.create_image, t.create_image);
    set(&mut timings.copy_image, t.copy_image);
    set(&mut timings.copy_image_per_gib, t.copy_image_per_gib);
    set(&mut timings.change_set_preparing, t.change_set_preparing);
    set(&mut timings.change_set_applying, t.change_set_applying);
    set(&mut timings.boot, t.boot);
    set(&mut timings.stop, t.stop);
    set(&mut timings.terminate, t.terminate);
    set(&mut timings.terminated_visible, t.terminated_visible);
    timings
}

/// The largest exit status a shell script can report (`exit` takes it modulo 256).
const MAX_EXIT_STATUS: i32 = 255;

/// A template's `builds` entry: each stage as said, or the default.
fn build_behaviour(template: &str, entry: BuildEntry) -> Result<BuildBehaviour, WorldError> {
    let defaults = BuildBehaviour::default();
    let stage = |name: &str, script: Option<ScriptEntry>, default: ScriptBehaviour| {
        let Some(script) = script else {
            return Ok(default);
        };
        let field = format!("builds.{template}.{name}");
        match (script.hangs, script.runs_for, script.exit_status) {
            (true, None, None) => Ok(ScriptBehaviour::hangs()),
            (true, _, _) => Err(WorldError::invalid(
                format!("{field}.hangs"),
                template,
                "either `hangs: true` or `runs_for` and `exit_status`, not both (a script that hangs never exits)",
            )),
            (false, _, Some(status)) if !(0..=MAX_EXIT_STATUS).contains(&status) => {
                Err(WorldError::invalid(
                    format!("{field}.exit_status"),
                    status.to_string(),
                    format!("an exit status from 0 to {MAX_EXIT_STATUS}"),
                ))
            }
            (false, runs_for, status) => Ok(ScriptBehaviour::exits_after(
                runs_for.map_or(default.runs_for.unwrap_or_default(), |Dur(d)| d),
                status.unwrap_or(0),
            )),
        }
    };
    Ok(BuildBehaviour::new(
        stage("provision", entry.provision, defaults.provision)?,
        stage("test", entry.test, defaults.test)?,
    ))
}

fn snapshot_seed(s: SnapshotEntry) -> SnapshotSeed {
    let mut seed = SnapshotSeed::new(s.id, s.region)
        .volume_permissions(s.volume_permissions)
        .public(s.public)
        .key_shared_with(s.key_shared_with)
        .tags(s.tags);
    if let Some(owner) = s.owner {
        seed = seed.owner(owner);
    }
    if let Some(until) = s.recycled_until {
        seed = seed.recycled_until(until);
    }
    seed
}

fn rule_tags(tags: Vec<RuleTagEntry>) -> Vec<RuleTag> {
    tags.into_iter()
        .map(|t| RuleTag::new(t.key, t.value))
        .collect()
}

fn recycle_rule(entry: RecycleRuleEntry) -> RecycleBinRule {
    let mut rule = RecycleBinRule::region_level(entry.id, entry.resource, entry.retention_days);
    rule.resource_tags = rule_tags(entry.resource_tags);
    rule.exclude_tags = rule_tags(entry.exclude_tags);
    rule.locked = entry.locked;
    rule
}

fn instance_seed(i: InstanceEntry) -> Result<InstanceSeed, WorldError> {
    let field = |f: &str| format!("instances[{}].{f}", i.id);
    let state = match (i.state, i.terminated) {
        (None, false) => InstanceState::Running,
        (None, true) | (Some(InstanceState::Terminated), _) => InstanceState::Terminated,
        (Some(state), false) => state,
        (Some(state), true) => {
            return Err(WorldError::invalid(
                field("terminated"),
                state.as_str(),
                "either `state` or `terminated: true`, not both",
            ));
        }
    };
    let mut seed = InstanceSeed::new(i.id, i.region, i.image, i.instance_type)
        .state(state)
        .tags(i.tags);
    if let Some(owner) = i.owner {
        seed = seed.owner(owner);
    }
    if let Some(at) = i.launch_time {
        seed = seed.launch_time(at);
    }
    if let Some(architecture) = i.architecture {
        seed = seed.architecture(architecture);
    }
    if let Some(size) = i.volume_gib {
        seed = seed.root_volume_gib(size);
    }
    if i.usage_operation.is_some() || i.platform_details.is_some() {
        seed = seed.billing(i.usage_operation, i.platform_details);
    }
    let launch = SeedLaunch {
        user_data: i.user_data,
        require_imdsv2: i.require_imdsv2,
        instance_profile: i.instance_profile,
        subnet: i.subnet,
        security_groups: i.security_groups,
    };
    let life = InstanceLife {
        next: i.next_state.map(|n| (n.at, n.state)),
        running_since: i.running_since,
        halted_at: i.halted_at,
        forget_at: i.forget_at,
    };
    Ok(seed.saved(launch, life))
}

/// The change sets, client tokens and id count of an earlier run.
fn run_state(
    change_sets: Vec<ChangeSetEntry>,
    client_tokens: Vec<ClientTokenEntry>,
    ids_minted: Option<u64>,
    caller: &AccountId,
) -> Result<RunState, WorldError> {
    let mut run = RunState {
        ids_minted: ids_minted.unwrap_or(0),
        ..RunState::default()
    };
    for c in change_sets {
        run.change_sets.push((
            c.id,
            ChangeSet {
                request: c.request,
                caller: c.caller.unwrap_or_else(|| caller.clone()),
                submitted: c.submitted,
                failure: c.failure,
                applied: c.applied,
            },
        ));
    }
    for t in client_tokens {
        let who = t.caller.unwrap_or_else(|| caller.clone());
        match (t.copy, t.request, t.instance) {
            (Some(copy), Some(request), None) => {
                run.copy_tokens
                    .push((t.region, who, t.token, request, copy));
            }
            (None, None, Some(instance)) => {
                run.run_tokens.push((t.region, who, t.token, instance));
            }
            _ => {
                return Err(WorldError::invalid(
                    format!("client_tokens[{}]", t.token),
                    t.token.as_str(),
                    "either `copy` and `request` (a CopyImage token) or `instance` (a RunInstances token)",
                ));
            }
        }
    }
    Ok(run)
}

/// One image entry becomes one seed per region it names.
fn image_seeds(
    index: usize,
    entry: ImageEntry,
    caller: &AccountId,
) -> Result<Vec<ImageSeed>, WorldError> {
    let field = |f: &str| format!("images[{index}].{f}");
    let placements: Vec<(Region, AmiId)> = match (entry.id, entry.region, entry.ids.is_empty()) {
        (Some(id), Some(region), true) => vec![(region, id)],
        (None, None, false) => entry.ids.into_iter().collect(),
        _ => {
            return Err(WorldError::invalid(
                field("id"),
                entry.name.as_str(),
                "either `id` and `region`, or `ids` (a map of region to image id), not both",
            ));
        }
    };
    let state = entry.state.unwrap_or(if entry.available_after.is_some() {
        ImageState::Pending
    } else {
        ImageState::Available
    });
    if entry.fails && entry.available_after.is_none() {
        return Err(WorldError::invalid(
            field("fails"),
            entry.name.as_str(),
            "fails: true only on a pending image with available_after (when it fails)",
        ));
    }
    if entry.available_after.is_some() && state != ImageState::Pending {
        return Err(WorldError::invalid(
            field("available_after"),
            entry.name.as_str(),
            "available_after only on a pending image",
        ));
    }
    if !entry.block_devices.is_empty() && (entry.volume_gib.is_some() || entry.encrypted) {
        return Err(WorldError::invalid(
            field("block_devices"),
            entry.name.as_str(),
            "either `block_devices` or `volume_gib` and `encrypted`, not both",
        ));
    }
    if !entry.block_devices.is_empty() && placements.len() > 1 {
        return Err(WorldError::invalid(
            field("block_devices"),
            entry.name.as_str(),
            "block_devices (whose snapshots are regional) only on an image in one region (`id` and `region`)",
        ));
    }
    let mut permissions = Vec::new();
    for (i, share) in entry.shared_with.into_iter().enumerate() {
        permissions.push(match (share.account, share.organization, share.ou) {
            (Some(a), None, None) => LaunchPermission::Account(a),
            (None, Some(o), None) => LaunchPermission::Organization(o),
            (None, None, Some(ou)) => LaunchPermission::OrganizationalUnit(ou),
            _ => {
                return Err(WorldError::invalid(
                    field(&format!("shared_with[{i}]")),
                    entry.name.as_str(),
                    "exactly one of `account`, `organization` (an ARN) or `ou` (an ARN)",
                ));
            }
        });
    }
    let owner = entry.owner.unwrap_or_else(|| caller.clone());
    let product_codes: Vec<ProductCode> = entry
        .product_codes
        .iter()
        .map(|code| match code {
            ProductCodeEntry::Marketplace(code) => ProductCode {
                code: code.clone(),
                kind: ProductCodeType::Marketplace,
            },
            ProductCodeEntry::Typed { code, kind } => ProductCode {
                code: code.clone(),
                kind: *kind,
            },
        })
        .collect();
    // Without block devices the builder mints a snapshot per image.
    let block_devices: Vec<BlockDevice> = entry
        .block_devices
        .iter()
        .map(|d| BlockDevice {
            device_name: d.device.clone(),
            snapshot_id: Some(d.snapshot.clone()),
            volume_size_gib: d.volume_gib,
            encrypted: d.encrypted,
        })
        .collect();
    let mut seeds = Vec::new();
    for (region, id) in placements {
        let mut image = Image::new(
            id,
            region,
            entry.name.clone(),
            owner.clone(),
            entry.architecture,
            entry.created,
        );
        image.description = entry.description.clone();
        image.state = state;
        image.deprecation_time = entry.deprecation_time;
        image.public = entry.public;
        image.tags = entry.tags.clone();
        image.product_codes = product_codes.clone();
        image.usage_operation = entry.usage_operation.clone();
        image.platform_details = entry.platform_details.clone();
        image.block_devices = block_devices.clone();
        image.source_image = entry.source_image.clone();
        image.source_region = entry.source_region.clone();
        image.last_launched = entry.last_launched;
        image.deregistration_protection = entry.deregistration_protection.map(|p| p.0);
        image.imds_support = entry.imds_support;
        let mut seed = ImageSeed::new(image).paid(entry.paid).fails(entry.fails);
        if let Some(until) = entry.recycled_until {
            seed = seed.recycled_until(until);
        }
        if entry.volume_gib.is_some() || entry.encrypted {
            seed = seed.root_volume(entry.volume_gib.unwrap_or(8), entry.encrypted);
        }
        for p in &permissions {
            seed = seed.launch_permission(p.clone());
        }
        if let Some(accounts) = &entry.volume_permissions {
            seed = seed.volume_permissions(accounts.iter().cloned());
        }
        seed = seed
            .public_snapshots(entry.public_snapshots)
            .key_shared_with(entry.key_shared_with.iter().cloned());
        if let Some(Dur(after)) = entry.available_after {
            seed = seed.available_after(after);
        }
        seeds.push(seed);
    }
    Ok(seeds)
}
