//! A running world written back as a world file: [`MemoryCloud::to_world`].
//!
//! Everything a later run needs is written, in the world file's own syntax: the world's
//! time now as its `start`, images as they are now (created, copied, shared, tagged,
//! deprecated, pending with the time they have left), every snapshot with its permissions,
//! instances with their tags and launch times, parameters, products with the versions
//! change sets added, change sets still in flight, client tokens, and how many ids have
//! been minted, so loading the document gives the same world and the same next ids.

use std::collections::{BTreeMap, HashMap};

use amiref_core::{
    AccountId, AllowedImagesState, AmiId, Architecture, InstanceState, InstanceType,
    LaunchPermission, ProductCodeType, Region, SnapshotId,
};
use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::file::{
    AccountEntry, AllowedImagesEntry, BlockDeviceEntry, BuildEntry, ChangeSetEntry,
    ClientTokenEntry, Dur, ImageEntry, InstanceEntry, InstanceTypeEntry, LatestVersionEntry,
    LaunchTemplateEntry, NextStateEntry, ParameterEntry, ParameterFields, ProductCodeEntry,
    ProductEntry, ProtectionEntry, RecipeEntry, RecycleRuleEntry, RegionEntry, RuleTagEntry,
    ScriptEntry, SecurityGroupEntry, ShareEntry, SnapshotEntry, TimingsEntry, VersionEntry,
    VersionFields, WorldFile,
};
use crate::knobs::Knobs;
use crate::state::{RegionState, Snapshot, StoredImage, WorldData};
use crate::{BuildBehaviour, MemoryCloud, ScriptBehaviour, WorldError};

/// A whole world as a world file (docs/worlds.md): what [`MemoryCloud::to_world`] gives.
/// Loading its text back ([`MemoryCloud::from_world_yaml`]) gives the same world.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use amiref_memory::MemoryCloud;
/// let cloud = MemoryCloud::from_world_file("../../examples/worlds/demo.yaml")?;
/// let saved = cloud.to_world();
/// let again = MemoryCloud::from_world_yaml(&saved.to_yaml()?, "saved")?;
/// assert_eq!(again.to_world(), saved);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WorldDocument(pub(super) WorldFile);

impl WorldDocument {
    /// The document as YAML, in the world file's format.
    pub fn to_yaml(&self) -> Result<String, WorldError> {
        amiref_yaml::to_string(&self.0).map_err(|source| WorldError::Write {
            source: Box::new(source),
        })
    }

    /// The document as pretty-printed JSON (JSON is YAML, so this loads as a world too).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.0).unwrap_or_default()
    }
}

impl serde::Serialize for WorldDocument {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl MemoryCloud {
    /// The whole world as it is now, in the world file's format: its time now is the
    /// document's `start`, so a world loaded from it continues where this one is.
    ///
    /// Test knobs that world files do not describe (per-operation latency, injected
    /// faults, counters, page size) are not part of it.
    pub fn to_world(&self) -> WorldDocument {
        let now = Instant::now();
        self.settle(now);
        let knobs = self.knobs();
        let world = self.read();
        WorldDocument(world_file(&world, &knobs, now))
    }
}

fn world_file(world: &WorldData, knobs: &Knobs, now: Instant) -> WorldFile {
    let caller = &world.caller;
    let owner = |account: &AccountId| (account != caller).then(|| account.clone());
    let due = pending_due(world);
    let mut images = Vec::new();
    let mut snapshots = Vec::new();
    let mut instances = Vec::new();
    let mut launch_templates = Vec::new();
    let mut image_recipes = Vec::new();
    let mut client_tokens = Vec::new();
    for (region, state) in &world.regions {
        let mut stored: Vec<&StoredImage> = state.images.values().collect();
        stored.sort_by(|a, b| a.image.id.cmp(&b.image.id));
        for s in stored {
            let left = due
                .get(&(region, &s.image.id))
                .map(|at| Dur(at.saturating_duration_since(now)));
            images.push(image_entry(s, left, &owner));
        }
        let now_utc = world.now_utc(now);
        let recycled = state.recycle_bin.images.values();
        for (s, until) in recycled.filter(|(_, until)| *until > now_utc) {
            let mut entry = image_entry(s, None, &owner);
            entry.recycled_until = Some(*until);
            images.push(entry);
        }
        snapshots.extend(snapshot_entries(region, state, now_utc, &owner));
        for r in &state.image_recipes {
            image_recipes.push(RecipeEntry {
                name: r.name.clone(),
                version: r.version.clone(),
                region: region.clone(),
                parent_image: r.parent_image.clone(),
                owner: owner(&r.owner),
                container: r.container,
            });
        }
        for (id, i) in &state.instances {
            instances.push(InstanceEntry {
                id: id.clone(),
                region: region.clone(),
                image: i.image.clone(),
                instance_type: i.instance_type.clone(),
                owner: owner(&i.owner),
                state: (i.state != InstanceState::Running).then_some(i.state),
                terminated: false,
                launch_time: Some(i.launch_time),
                tags: i.tags.clone(),
                architecture: Some(i.architecture),
                volume_gib: Some(i.root_volume_gib),
                usage_operation: i.usage_operation.clone(),
                platform_details: i.platform_details.clone(),
                user_data: i.launch.user_data.clone(),
                require_imdsv2: i.launch.require_imdsv2,
                instance_profile: i.launch.instance_profile.clone(),
                subnet: (i.launch.subnet != MemoryCloud::default_subnet(region))
                    .then(|| i.launch.subnet.clone()),
                security_groups: i.launch.security_groups.clone(),
                next_state: i.next.map(|(at, state)| NextStateEntry { state, at }),
                running_since: i.running_since,
                halted_at: i.halted_at,
                forget_at: i.forget_at,
            });
        }
        for t in &state.launch_templates {
            launch_templates.push(LaunchTemplateEntry {
                name: t.name.clone(),
                region: region.clone(),
                image: t.default_image.clone(),
                owner: owner(&t.owner),
                id: Some(t.id.clone()),
                default_version: (t.default_version != 1).then_some(t.default_version),
                latest: t
                    .latest
                    .as_ref()
                    .map(|(version, image)| LatestVersionEntry {
                        version: *version,
                        image: image.clone(),
                    }),
            });
        }
        client_tokens.extend(client_token_entries(region, state, &owner));
    }
    WorldFile {
        description: world.description.clone(),
        start: Some(world.now_utc(now)),
        caller: Some(caller.clone()),
        accounts: account_entries(world),
        regions: region_entries(world, knobs),
        instance_types: instance_type_entries(world),
        images,
        snapshots,
        instances,
        launch_templates,
        image_recipes,
        products: product_entries(world),
        parameters: parameter_entries(world),
        builds: world
            .builds
            .iter()
            .map(|(template, b)| (template.clone(), build_entry(b)))
            .collect(),
        security_groups: group_entries(world, &owner),
        change_sets: world
            .change_sets
            .iter()
            .map(|(id, c)| ChangeSetEntry {
                id: id.clone(),
                caller: owner(&c.caller),
                submitted: c.submitted,
                request: c.request.clone(),
                failure: c.failure.clone(),
                applied: c.applied,
            })
            .collect(),
        client_tokens,
        ids_minted: Some(world.next_id),
        timings: TimingsEntry {
            create_image: Some(Dur(world.timings.create_image)),
            copy_image: Some(Dur(world.timings.copy_image)),
            copy_image_per_gib: Some(Dur(world.timings.copy_image_per_gib)),
            change_set_preparing: Some(Dur(world.timings.change_set_preparing)),
            change_set_applying: Some(Dur(world.timings.change_set_applying)),
            boot: Some(Dur(world.timings.boot)),
            stop: Some(Dur(world.timings.stop)),
            terminate: Some(Dur(world.timings.terminate)),
            terminated_visible: Some(Dur(world.timings.terminated_visible)),
        },
        latency: (!knobs.latency.is_zero()).then_some(Dur(knobs.latency)),
        throttling: knobs.throttling.is_some(),
    }
}

/// When each pending image becomes available (the soonest, should one be scheduled
/// twice).
fn pending_due(world: &WorldData) -> HashMap<(&Region, &AmiId), Instant> {
    let mut due: HashMap<(&Region, &AmiId), Instant> = HashMap::new();
    for std::cmp::Reverse((at, region, id)) in &world.pending {
        let slot = due.entry((region, id)).or_insert(*at);
        *slot = (*slot).min(*at);
    }
    due
}

fn image_entry(
    s: &StoredImage,
    available_after: Option<Dur>,
    owner: &impl Fn(&AccountId) -> Option<AccountId>,
) -> ImageEntry {
    let i = &s.image;
    let pending = i.state == amiref_core::ImageState::Pending;
    ImageEntry {
        id: Some(i.id.clone()),
        region: Some(i.region.clone()),
        ids: BTreeMap::new(),
        name: i.name.clone(),
        description: i.description.clone(),
        owner: owner(&i.owner),
        architecture: i.architecture,
        created: i.creation_date,
        state: (!i.is_available()).then_some(i.state),
        available_after: available_after.filter(|_| pending),
        deprecation_time: i.deprecation_time,
        public: s.launch_permissions.contains(&LaunchPermission::Public),
        shared_with: s
            .launch_permissions
            .iter()
            .filter_map(|p| match p {
                LaunchPermission::Account(a) => Some(ShareEntry {
                    account: Some(a.clone()),
                    organization: None,
                    ou: None,
                }),
                LaunchPermission::Organization(o) => Some(ShareEntry {
                    account: None,
                    organization: Some(o.clone()),
                    ou: None,
                }),
                LaunchPermission::OrganizationalUnit(ou) => Some(ShareEntry {
                    account: None,
                    organization: None,
                    ou: Some(ou.clone()),
                }),
                _ => None,
            })
            .collect(),
        tags: i.tags.clone(),
        product_codes: i
            .product_codes
            .iter()
            .map(|p| match p.kind {
                ProductCodeType::Marketplace => ProductCodeEntry::Marketplace(p.code.clone()),
                kind => ProductCodeEntry::Typed {
                    code: p.code.clone(),
                    kind,
                },
            })
            .collect(),
        paid: false,
        usage_operation: i.usage_operation.clone(),
        platform_details: i.platform_details.clone(),
        volume_gib: None,
        encrypted: false,
        // Every snapshot is written with its permissions in `snapshots`.
        block_devices: i
            .block_devices
            .iter()
            .filter_map(|d| {
                Some(BlockDeviceEntry {
                    device: d.device_name.clone(),
                    snapshot: d.snapshot_id.clone()?,
                    volume_gib: d.volume_size_gib,
                    encrypted: d.encrypted,
                })
            })
            .collect(),
        volume_permissions: None,
        public_snapshots: false,
        key_shared_with: Vec::new(),
        fails: s.fails && pending,
        source_image: i.source_image.clone(),
        source_region: i.source_region.clone(),
        last_launched: i.last_launched,
        deregistration_protection: i.deregistration_protection.map(ProtectionEntry),
        imds_support: i.imds_support,
        recycled_until: None,
    }
}

fn script_entry(script: ScriptBehaviour) -> ScriptEntry {
    match script.runs_for {
        Some(d) => ScriptEntry {
            runs_for: Some(Dur(d)),
            exit_status: Some(script.exit_status),
            hangs: false,
        },
        None => ScriptEntry {
            runs_for: None,
            exit_status: None,
            hangs: true,
        },
    }
}

fn build_entry(behaviour: &BuildBehaviour) -> BuildEntry {
    BuildEntry {
        provision: Some(script_entry(behaviour.provision)),
        test: Some(script_entry(behaviour.test)),
    }
}

fn group_entries(
    world: &WorldData,
    owner: &impl Fn(&AccountId) -> Option<AccountId>,
) -> Vec<SecurityGroupEntry> {
    world
        .regions
        .iter()
        .flat_map(|(region, state)| {
            state
                .security_groups
                .iter()
                .map(move |(id, g)| SecurityGroupEntry {
                    id: id.clone(),
                    region: region.clone(),
                    name: g.name.clone(),
                    description: g.description.clone(),
                    vpc: Some(g.vpc.clone()),
                    owner: owner(&g.owner),
                    tags: g.tags.clone(),
                })
        })
        .collect()
}

/// A snapshot as the world file writes it; `recycled_until` for one in the Recycle Bin.
fn snapshot_entry(
    id: &SnapshotId,
    region: &Region,
    s: &Snapshot,
    owner: &impl Fn(&AccountId) -> Option<AccountId>,
    recycled_until: Option<DateTime<Utc>>,
) -> SnapshotEntry {
    SnapshotEntry {
        id: id.clone(),
        region: region.clone(),
        owner: owner(&s.owner),
        volume_permissions: s.create_volume_permissions.iter().cloned().collect(),
        public: s.public,
        key_shared_with: s.key_users.iter().cloned().collect(),
        tags: s.tags.clone(),
        recycled_until,
    }
}

/// The region's snapshots, then those its Recycle Bin still keeps at `now`.
fn snapshot_entries<'a>(
    region: &'a Region,
    state: &'a RegionState,
    now: DateTime<Utc>,
    owner: &'a impl Fn(&AccountId) -> Option<AccountId>,
) -> impl Iterator<Item = SnapshotEntry> + 'a {
    let mut ids: Vec<_> = state.snapshots.keys().collect();
    ids.sort();
    let live = ids.into_iter().filter_map(move |id| {
        let s = state.snapshots.get(id)?;
        Some(snapshot_entry(id, region, s, owner, None))
    });
    let recycled = state
        .recycle_bin
        .snapshots
        .iter()
        .filter(move |(_, (_, until))| *until > now)
        .map(move |(id, (s, until))| snapshot_entry(id, region, s, owner, Some(*until)));
    live.chain(recycled)
}

/// A region's Recycle Bin rules as the world file writes them.
fn rule_entries(rules: &[amiref_core::RecycleBinRule]) -> Vec<RecycleRuleEntry> {
    let tags = |tags: &[amiref_core::RuleTag]| {
        tags.iter()
            .map(|t| RuleTagEntry {
                key: t.key.clone(),
                value: t.value.clone(),
            })
            .collect()
    };
    rules
        .iter()
        .map(|r| RecycleRuleEntry {
            id: r.id.clone(),
            resource: r.resource,
            retention_days: r.retention_days,
            resource_tags: tags(&r.resource_tags),
            exclude_tags: tags(&r.exclude_tags),
            locked: r.locked,
        })
        .collect()
}

fn client_token_entries<'a>(
    region: &'a Region,
    state: &'a RegionState,
    owner: &'a impl Fn(&AccountId) -> Option<AccountId>,
) -> Vec<ClientTokenEntry> {
    let mut out: Vec<ClientTokenEntry> = state
        .copy_tokens
        .iter()
        .map(|((who, token), (request, copy))| ClientTokenEntry {
            region: region.clone(),
            caller: owner(who),
            token: token.clone(),
            copy: Some(copy.clone()),
            request: Some(request.clone()),
            instance: None,
        })
        .chain(
            state
                .run_tokens
                .iter()
                .map(|((who, token), instance)| ClientTokenEntry {
                    region: region.clone(),
                    caller: owner(who),
                    token: token.clone(),
                    copy: None,
                    request: None,
                    instance: Some(instance.clone()),
                }),
        )
        .collect();
    // Hash maps hold them in no order; a document is written the same way every time.
    out.sort_by(|a, b| {
        (&a.caller, &a.token, &a.copy, &a.instance).cmp(&(
            &b.caller,
            &b.token,
            &b.copy,
            &b.instance,
        ))
    });
    out
}

/// Every account the world describes, and every owner an alias is known for.
fn account_entries(world: &WorldData) -> Vec<AccountEntry> {
    let mut ids: Vec<&AccountId> = world.accounts.keys().collect();
    ids.extend(world.aliases.values().flatten());
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .map(|id| {
            let account = world.accounts.get(id);
            AccountEntry {
                id: id.clone(),
                name: account.and_then(|a| a.name.clone()),
                user: account.map(|a| a.user.clone()).filter(|u| u != "amiref"),
                alias: world.alias_of(id),
                organization: account.and_then(|a| a.organization.clone()),
                organizational_units: account
                    .map(|a| a.organizational_units.clone())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// Every region the world holds, or that a knob names, with its settings.
fn region_entries(world: &WorldData, knobs: &Knobs) -> BTreeMap<Region, Option<RegionEntry>> {
    let mut regions: Vec<&Region> = world.regions.keys().collect();
    regions.extend(knobs.region_latency.keys());
    regions.extend(knobs.regions_down.iter());
    regions.sort();
    regions.dedup();
    regions
        .into_iter()
        .map(|region| {
            let state = world.regions.get(region);
            let allowed = state
                .map(|s| &s.allowed_images)
                .filter(|a| a.state != AllowedImagesState::Disabled || !a.criteria.is_empty());
            let entry = RegionEntry {
                block_public_access: state.is_some_and(|s| s.block_public_access),
                latency: knobs.region_latency.get(region).copied().map(Dur),
                down: knobs.regions_down.contains(region),
                allowed_images: allowed.map(|a| AllowedImagesEntry {
                    state: a.state,
                    criteria: a.criteria.clone(),
                }),
                subnets: state.map(|s| s.subnets.clone()).unwrap_or_default(),
                snapshot_block_public_access: state
                    .map(|s| s.snapshot_block_public_access)
                    .filter(|s| *s != amiref_core::SnapshotBlockPublicAccess::Unblocked),
                recycle_bin_rules: state
                    .map(|s| rule_entries(&s.recycle_bin.rules))
                    .unwrap_or_default(),
            };
            (region.clone(), Some(entry))
        })
        .collect()
}

/// Instance types offered everywhere, then those offered in some regions, grouped by the
/// architectures they run.
fn instance_type_entries(world: &WorldData) -> Vec<InstanceTypeEntry> {
    let mut out: Vec<InstanceTypeEntry> = world
        .instance_types
        .iter()
        .map(|(name, archs)| InstanceTypeEntry {
            name: name.clone(),
            architectures: Some(archs.clone()),
            regions: None,
        })
        .collect();
    let mut regional: BTreeMap<(&InstanceType, &Vec<Architecture>), Vec<Region>> = BTreeMap::new();
    for (region, types) in &world.regional_instance_types {
        for (name, archs) in types {
            regional
                .entry((name, archs))
                .or_default()
                .push(region.clone());
        }
    }
    out.extend(
        regional
            .into_iter()
            .map(|((name, archs), regions)| InstanceTypeEntry {
                name: name.clone(),
                architectures: Some(archs.clone()),
                regions: Some(regions),
            }),
    );
    out
}

fn product_entries(world: &WorldData) -> Vec<ProductEntry> {
    world
        .products
        .values()
        .map(|p| ProductEntry {
            product_code: p.product_code.clone(),
            product_id: p.product_id.clone(),
            title: p.title.clone(),
            offers: world
                .offers
                .iter()
                .filter(|(_, product)| **product == p.product_id)
                .map(|(offer, _)| offer.clone())
                .collect(),
            versions: p
                .versions
                .iter()
                .map(|v| VersionEntry {
                    version: v.version.clone(),
                    released: v.release_date,
                    images: v.images.clone(),
                })
                .collect(),
        })
        .collect()
}

fn parameter_entries(
    world: &WorldData,
) -> BTreeMap<Region, BTreeMap<amiref_core::ParameterName, ParameterEntry>> {
    world
        .regions
        .iter()
        .filter(|(_, state)| !state.parameters.is_empty())
        .map(|(region, state)| {
            let parameters = state
                .parameters
                .iter()
                .map(|(name, stored)| {
                    let p = &stored.parameter;
                    let fields = ParameterFields {
                        value: p.value.clone(),
                        data_type: p.data_type.clone(),
                        version: Some(p.version),
                        last_modified: p.last_modified,
                        owner: stored
                            .owner
                            .as_ref()
                            .filter(|o| **o != world.caller)
                            .cloned(),
                        // SSM checked it when it was put; what it names may be gone since.
                        checked: passes_checks(state, p),
                        history: stored
                            .history
                            .iter()
                            .map(|v| VersionFields {
                                version: v.version,
                                value: v.value.clone(),
                                data_type: v.data_type.clone(),
                                last_modified: v.last_modified,
                            })
                            .collect(),
                    };
                    (name.clone(), ParameterEntry(fields))
                })
                .collect();
            (region.clone(), parameters)
        })
        .collect()
}

/// Whether a parameter passes the checks a world file's parameters get (a known data
/// type; an image parameter naming an image of its region).
fn passes_checks(state: &RegionState, parameter: &amiref_core::Parameter) -> bool {
    match parameter.data_type.as_deref() {
        None | Some("text") => true,
        Some(crate::IMAGE_DATA_TYPE) => {
            AmiId::new(parameter.value.as_str()).is_ok_and(|id| state.images.contains_key(&id))
        }
        Some(_) => false,
    }
}
