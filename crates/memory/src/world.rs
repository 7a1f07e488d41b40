//! World files: the YAML format of `examples/worlds/*.yaml`, read into a
//! [`MemoryCloudBuilder`]. The only module that knows YAML.
//!
//! Shape errors (syntax, unknown fields, invalid ids) come from the parser with their line,
//! column and field path; errors of meaning (a duplicate id, a product naming a missing
//! image) come from the builder and are located at the line where the offending value is
//! written. docs/worlds.md describes the format field by field.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use amiref_core::{
    AccountId, AllowedImagesSettings, AllowedImagesState, AmiId, Architecture, Image,
    ImageCriterion, ImageState, InstanceId, InstanceType, LaunchPermission, MarketplaceProduct,
    Parameter, ParameterName, ProductCode, ProductCodeType, ProductVersion, Region,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::builder::{DEFAULT_CALLER, ImageSeed, InstanceSeed, MemoryCloudBuilder};
use crate::knobs::Throttling;
use crate::state::{Account, Timings};
use crate::{MemoryCloud, WorldError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorldFile {
    #[serde(default)]
    #[allow(dead_code)] // for people reading the file
    description: Option<String>,
    #[serde(default)]
    start: Option<DateTime<Utc>>,
    #[serde(default)]
    caller: Option<AccountId>,
    #[serde(default)]
    accounts: Vec<AccountEntry>,
    #[serde(default)]
    regions: BTreeMap<Region, Option<RegionEntry>>,
    #[serde(default)]
    instance_types: Vec<InstanceTypeEntry>,
    #[serde(default)]
    images: Vec<ImageEntry>,
    #[serde(default)]
    instances: Vec<InstanceEntry>,
    #[serde(default)]
    launch_templates: Vec<LaunchTemplateEntry>,
    #[serde(default)]
    products: Vec<ProductEntry>,
    #[serde(default)]
    parameters: BTreeMap<Region, BTreeMap<ParameterName, ParameterEntry>>,
    #[serde(default)]
    timings: TimingsEntry,
    #[serde(default)]
    latency: Option<Dur>,
    #[serde(default)]
    throttling: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountEntry {
    id: AccountId,
    #[serde(default)]
    #[allow(dead_code)] // for people reading the file
    name: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    alias: Option<String>,
    #[serde(default)]
    organization: Option<String>,
    #[serde(default)]
    organizational_units: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionEntry {
    #[serde(default)]
    block_public_access: bool,
    #[serde(default)]
    latency: Option<Dur>,
    #[serde(default)]
    down: bool,
    #[serde(default)]
    allowed_images: Option<AllowedImagesEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowedImagesEntry {
    state: AllowedImagesState,
    #[serde(default)]
    criteria: Vec<ImageCriterion>,
}

/// A parameter: its value alone (a `text` parameter), or a mapping.
#[derive(Debug)]
struct ParameterEntry(ParameterFields);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParameterFields {
    value: String,
    #[serde(default)]
    data_type: Option<String>,
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    last_modified: Option<DateTime<Utc>>,
}

impl<'de> Deserialize<'de> for ParameterEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ParameterEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a parameter value, or a mapping with `value` and optionally `data_type` (text or aws:ec2:image), `version`, `last_modified`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ParameterEntry(ParameterFields {
                    value: v.to_owned(),
                    data_type: None,
                    version: None,
                    last_modified: None,
                }))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                ParameterFields::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(ParameterEntry)
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstanceTypeEntry {
    name: InstanceType,
    #[serde(default)]
    architectures: Option<Vec<Architecture>>,
    #[serde(default)]
    regions: Option<Vec<Region>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageEntry {
    #[serde(default)]
    id: Option<AmiId>,
    #[serde(default)]
    region: Option<Region>,
    #[serde(default)]
    ids: BTreeMap<Region, AmiId>,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    owner: Option<AccountId>,
    architecture: Architecture,
    created: DateTime<Utc>,
    #[serde(default)]
    state: Option<ImageState>,
    #[serde(default)]
    available_after: Option<Dur>,
    #[serde(default)]
    deprecation_time: Option<DateTime<Utc>>,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    shared_with: Vec<ShareEntry>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    product_codes: Vec<String>,
    #[serde(default)]
    paid: bool,
    #[serde(default)]
    usage_operation: Option<String>,
    #[serde(default)]
    platform_details: Option<String>,
    #[serde(default)]
    volume_gib: Option<u32>,
    #[serde(default)]
    encrypted: bool,
    #[serde(default)]
    volume_permissions: Option<Vec<AccountId>>,
    #[serde(default)]
    public_snapshots: bool,
    #[serde(default)]
    key_shared_with: Vec<AccountId>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareEntry {
    #[serde(default)]
    account: Option<AccountId>,
    #[serde(default)]
    organization: Option<String>,
    #[serde(default)]
    ou: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstanceEntry {
    id: InstanceId,
    region: Region,
    image: AmiId,
    instance_type: InstanceType,
    #[serde(default)]
    owner: Option<AccountId>,
    #[serde(default)]
    terminated: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LaunchTemplateEntry {
    name: String,
    region: Region,
    image: AmiId,
    #[serde(default)]
    owner: Option<AccountId>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductEntry {
    product_code: String,
    product_id: String,
    title: String,
    #[serde(default)]
    versions: Vec<VersionEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionEntry {
    version: String,
    #[serde(default)]
    released: Option<DateTime<Utc>>,
    #[serde(default)]
    images: BTreeMap<Region, AmiId>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimingsEntry {
    #[serde(default)]
    create_image: Option<Dur>,
    #[serde(default)]
    copy_image: Option<Dur>,
    #[serde(default)]
    copy_image_per_gib: Option<Dur>,
    #[serde(default)]
    change_set_preparing: Option<Dur>,
    #[serde(default)]
    change_set_applying: Option<Dur>,
}

/// A duration written `500ms`, `90s`, `10m`, `1h30m`, `2d`.
#[derive(Debug, Clone, Copy)]
struct Dur(Duration);

const DURATION_EXPECTED: &str =
    "a duration such as \"500ms\", \"90s\", \"10m\", \"1h30m\" or \"2d\" (units d, h, m, s, ms)";

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text).map(Dur).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid duration {text:?}: expected {DURATION_EXPECTED}"
            ))
        })
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let part = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            "d" => Duration::from_secs(n.checked_mul(86_400)?),
            _ => return None,
        };
        total = total.checked_add(part)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

impl MemoryCloud {
    /// Loads a world file (see docs/worlds.md).
    pub fn from_world_file(path: impl AsRef<Path>) -> Result<Self, WorldError> {
        Self::world_file_builder(path)?.build_located()
    }

    /// Loads a world from YAML text; `origin` names it in errors (a file name).
    pub fn from_world_yaml(text: &str, origin: &str) -> Result<Self, WorldError> {
        Self::world_yaml_builder(text, origin)?.build_located()
    }

    /// Reads a world file into a builder, so that knobs can be set before building.
    pub fn world_file_builder(path: impl AsRef<Path>) -> Result<WorldBuilder, WorldError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| WorldError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::world_yaml_builder(&text, &path.display().to_string())
    }

    /// Reads YAML text into a builder, so that knobs can be set before building.
    pub fn world_yaml_builder(text: &str, origin: &str) -> Result<WorldBuilder, WorldError> {
        let file: WorldFile =
            serde_yaml::from_str(text).map_err(|e| syntax_error(&e, text, origin))?;
        let builder = into_builder(file).map_err(|e| locate(e, text, origin))?;
        Ok(WorldBuilder {
            builder,
            text: text.to_owned(),
            origin: origin.to_owned(),
        })
    }
}

/// A world read from text, not yet built: set knobs on it, then build.
#[derive(Debug, Clone)]
#[must_use]
pub struct WorldBuilder {
    builder: MemoryCloudBuilder,
    text: String,
    origin: String,
}

impl WorldBuilder {
    /// Changes the builder (set latency, throttling, more images...).
    pub fn map(mut self, f: impl FnOnce(MemoryCloudBuilder) -> MemoryCloudBuilder) -> Self {
        self.builder = f(self.builder);
        self
    }

    /// Builds the world; errors of meaning are located in the text.
    pub fn build_located(self) -> Result<MemoryCloud, WorldError> {
        let Self {
            builder,
            text,
            origin,
        } = self;
        builder.build().map_err(|e| locate(e, &text, &origin))
    }
}

fn syntax_error(error: &serde_yaml::Error, text: &str, origin: &str) -> WorldError {
    let (line, column) = error.location().map_or((0, 0), |l| (l.line(), l.column()));
    let message = error.to_string();
    // serde_yaml appends " at line L column C"; the location is given separately.
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    };
    let (line, column, message) = refine_value_error(text, line, column, message);
    WorldError::Syntax {
        origin: origin.to_owned(),
        line,
        column,
        message,
    }
}

/// serde_yaml places an error raised by a value's own validation (an invalid id, a bad
/// duration) at the start of the enclosing mapping, with that mapping's path. When the
/// message quotes the offending value, find it at or after that line and point at it,
/// adding its key to the path: `images[0].id` at the id's line rather than `images[0]`.
fn refine_value_error(
    text: &str,
    line: usize,
    column: usize,
    message: String,
) -> (usize, usize, String) {
    let quoted = message
        .split_once(" \"")
        .and_then(|(_, rest)| rest.split_once("\":"))
        .map(|(value, _)| value.replace("\\\"", "\""));
    let Some(value) = quoted.filter(|v| !v.is_empty()) else {
        return (line, column, message);
    };
    let found = text
        .lines()
        .enumerate()
        .skip(line.saturating_sub(1))
        .find_map(|(i, l)| l.find(value.as_str()).map(|c| (i + 1, c + 1, l)));
    let Some((value_line, value_column, source_line)) = found else {
        return (line, column, message);
    };
    let key = source_line
        .trim_start()
        .trim_start_matches("- ")
        .split_once(':')
        .map(|(k, _)| k.trim().to_owned())
        .filter(|k| !k.is_empty() && !k.contains(' ') && !k.contains(value.as_str()));
    let message = match (key, message.split_once(": ")) {
        (Some(key), Some((path, rest))) if !path.contains(' ') && !path.ends_with(&key) => {
            format!("{path}.{key}: {rest}")
        }
        _ => message,
    };
    (value_line, value_column, message)
}

/// Gives an error of meaning the origin and the line its value is written on (the last
/// occurrence for duplicates, which is the one at fault).
fn locate(error: WorldError, text: &str, origin: &str) -> WorldError {
    match error {
        WorldError::Invalid {
            field,
            found,
            expected,
            line,
            ..
        } => {
            // Search from the top-level section the field belongs to (`parameters:` for
            // `parameters.us-east-1...`), so that a value written in several sections (an
            // image id, say) is found where the faulty one is.
            let section = field
                .split(['.', '['])
                .next()
                .map(|key| format!("{key}:"))
                .and_then(|key| text.lines().position(|l| l.starts_with(key.as_str())))
                .unwrap_or(0);
            let duplicate = expected.contains("once") || expected.contains("unique");
            let find_from = |start: usize| {
                let mut lines = text
                    .lines()
                    .enumerate()
                    .skip(start)
                    .filter(|(_, l)| !found.is_empty() && l.contains(found.as_str()))
                    .map(|(i, _)| i + 1);
                if duplicate {
                    lines.last()
                } else {
                    lines.next()
                }
            };
            let found_line = find_from(section).or_else(|| find_from(0));
            WorldError::Invalid {
                origin: origin.to_owned(),
                line: found_line.or(line),
                field,
                found,
                expected,
            }
        }
        other => other,
    }
}

fn into_builder(file: WorldFile) -> Result<MemoryCloudBuilder, WorldError> {
    let caller = match file.caller {
        Some(c) => c,
        None => AccountId::new(DEFAULT_CALLER)
            .map_err(|e| WorldError::invalid("caller", e.found, e.expected))?,
    };
    let mut b = MemoryCloudBuilder::default().caller(caller.clone());
    if let Some(start) = file.start {
        b = b.start(start);
    }
    for a in file.accounts {
        let mut account = Account::new(a.id);
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
    for (index, entry) in file.images.into_iter().enumerate() {
        for seed in image_seeds(index, entry, &caller)? {
            b = b.image(seed);
        }
    }
    for i in file.instances {
        let mut seed = InstanceSeed::new(i.id, i.region, i.image, i.instance_type);
        if let Some(owner) = i.owner {
            seed = seed.owner(owner);
        }
        if i.terminated {
            seed = seed.terminated();
        }
        b = b.instance(seed);
    }
    for t in file.launch_templates {
        b = b.launch_template(
            t.region,
            t.owner.unwrap_or_else(|| caller.clone()),
            t.name,
            t.image,
        );
    }
    for p in file.products {
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
            b = b.parameter(region.clone(), parameter);
        }
    }
    let mut timings = Timings::default();
    let t = file.timings;
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
    b = b.timings(timings);
    if let Some(Dur(latency)) = file.latency {
        b = b.latency(latency);
    }
    if file.throttling {
        b = b.throttling(Throttling::ec2());
    }
    Ok(b)
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
    if entry.available_after.is_some() && state != ImageState::Pending {
        return Err(WorldError::invalid(
            field("available_after"),
            entry.name.as_str(),
            "available_after only on a pending image",
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
        .map(|code| ProductCode {
            code: code.clone(),
            kind: ProductCodeType::Marketplace,
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
        // The snapshot id is left to the builder, which mints a fresh one per image.
        image.block_devices = Vec::new();
        let mut seed = ImageSeed::new(image).paid(entry.paid);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        for bad in ["", "10", "m", "10x", "1h-3m"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
