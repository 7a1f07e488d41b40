//! Which architectures a template may launch on, on which instance type, best first.

use std::collections::{BTreeMap, BTreeSet};

use amiref_core::{Architecture, InstanceType};
use amiref_template::Template;

use crate::{ChoiceNote, Choices};

/// An architecture the template can launch on, with the instance type it would use there.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct ArchChoice {
    /// The image architecture.
    pub architecture: Architecture,
    /// The instance type an image of this architecture launches on.
    pub instance_type: InstanceType,
    /// Its on-demand price, USD per hour, where the price table knows it.
    pub hourly_price_usd: Option<f64>,
}

impl ArchChoice {
    /// A choice with a known or unknown price.
    pub fn new(
        architecture: Architecture,
        instance_type: InstanceType,
        hourly_price_usd: Option<f64>,
    ) -> Self {
        Self {
            architecture,
            instance_type,
            hourly_price_usd,
        }
    }
}

/// The size used with `instance_family_preference` when the template names no default type.
const DEFAULT_SIZE: &str = "large";

/// The instance types used for an architecture when a template names no instance type, no
/// `instance_types` and no `instance_family_preference`: general purpose, current
/// generation first, each with a price in the built-in table, in the order tried (the first
/// the region offers wins).
pub const DEFAULT_INSTANCE_TYPES: &[(Architecture, &[&str])] = &[
    (
        Architecture::X86_64,
        &["m7i.large", "m6i.large", "m5.large"],
    ),
    (Architecture::Arm64, &["m7g.large", "m6g.large"]),
];

/// An architecture the template allows, with the instance types it may launch on for it, in
/// the template's order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArchCandidates {
    /// The image architecture.
    pub architecture: Architecture,
    /// Instance types for it, best first; the first one the region offers is used.
    pub types: Vec<InstanceType>,
}

/// The architectures `template` allows, each with its instance types in order of preference,
/// before any region says what it offers.
///
/// - **Allowed architectures:** `ami_search.architecture` when given, else the keys of
///   `instance_types`, else what the default `instance_type` runs, else x86_64 and arm64.
///   `only` narrows further.
/// - **Instance types per architecture:** `instance_types[arch]`; else each family of
///   `instance_family_preference` that runs `arch`, in the default type's size (`large`
///   when there is none); then the default `instance_type` if it runs `arch`. A template that
///   names no type, no `instance_types` and no family gets [`DEFAULT_INSTANCE_TYPES`]. An
///   architecture left with no type is dropped: an arm64 image is never paired with an
///   x86_64 type.
pub fn architecture_candidates(
    template: &Template,
    only: Option<Architecture>,
) -> Vec<ArchCandidates> {
    let config = template.ami_config.as_ref();
    let mut allowed: Vec<Architecture> = config
        .and_then(|c| c.ami_search.as_ref())
        .map(|s| s.architectures().to_vec())
        .unwrap_or_default();
    if allowed.is_empty() {
        allowed = template.instance_types.keys().copied().collect();
    }
    if allowed.is_empty() {
        allowed = match &template.instance_type {
            Some(t) => t
                .architectures()
                .iter()
                .copied()
                .filter(|a| *a != Architecture::I386)
                .collect(),
            None => vec![Architecture::X86_64, Architecture::Arm64],
        };
    }
    if let Some(only) = only {
        allowed.retain(|a| *a == only);
    }
    allowed.sort();
    allowed.dedup();

    let families: &[String] = config
        .map(|c| c.instance_family_preference.as_slice())
        .unwrap_or_default();
    let names_no_type = template.instance_type.is_none()
        && template.instance_types.is_empty()
        && families.is_empty();
    let size = template
        .instance_type
        .as_ref()
        .map_or(DEFAULT_SIZE, |t| t.size());
    allowed
        .into_iter()
        .filter_map(|arch| {
            let mut types: Vec<InstanceType> = Vec::new();
            if let Some(t) = template.instance_types.get(&arch) {
                types.push(t.clone());
            } else if names_no_type {
                types.extend(
                    DEFAULT_INSTANCE_TYPES
                        .iter()
                        .filter(|(a, _)| *a == arch)
                        .flat_map(|(_, names)| names.iter())
                        .filter_map(|n| InstanceType::new(*n).ok()),
                );
            } else {
                types.extend(families.iter().filter_map(|f| {
                    InstanceType::new(format!("{f}.{size}"))
                        .ok()
                        .filter(|t| t.runs(arch))
                }));
                types.extend(template.instance_type.clone().filter(|t| t.runs(arch)));
            }
            types.retain(|t| t.runs(arch));
            let mut seen = std::collections::BTreeSet::new();
            types.retain(|t| seen.insert(t.clone()));
            (!types.is_empty()).then_some(ArchCandidates {
                architecture: arch,
                types,
            })
        })
        .collect()
}

/// What a region says about instance types: which architectures each runs
/// (`DescribeInstanceTypes`) and which it offers (`DescribeInstanceTypeOfferings`). `None`
/// for a question the region could not answer: then the type's name decides, and the region
/// is assumed to offer it.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct RegionTypes<'a> {
    /// The architectures of each known type; a type absent from it is unknown in the region.
    pub architectures: Option<&'a BTreeMap<InstanceType, Vec<Architecture>>>,
    /// The types the region offers.
    pub offered: Option<&'a BTreeSet<InstanceType>>,
}

impl<'a> RegionTypes<'a> {
    /// A region's answers, either of which may be missing.
    pub fn new(
        architectures: Option<&'a BTreeMap<InstanceType, Vec<Architecture>>>,
        offered: Option<&'a BTreeSet<InstanceType>>,
    ) -> Self {
        Self {
            architectures,
            offered,
        }
    }
}

/// The choices `candidates` leave in a region: per architecture, the first instance type
/// that runs it and that the region offers, ordered `preferred` first, then by hourly price
/// (`price`), then x86_64 before arm64. The notes say what was passed over.
pub fn launchable_choices(
    candidates: &[ArchCandidates],
    region: RegionTypes<'_>,
    preferred: Option<Architecture>,
    price: &dyn Fn(&InstanceType) -> Option<f64>,
) -> Choices {
    let mut notes = Vec::new();
    let mut list: Vec<ArchChoice> = candidates
        .iter()
        .filter_map(|c| {
            let arch = c.architecture;
            c.types.iter().find_map(|t| {
                let runs = match region.architectures {
                    Some(map) => map.get(t).map(|archs| archs.contains(&arch)),
                    None => Some(t.runs(arch)),
                };
                let offered = region.offered.is_none_or(|o| o.contains(t));
                match (runs, offered) {
                    (Some(true), true) => Some(ArchChoice::new(arch, t.clone(), price(t))),
                    (Some(false), _) => {
                        notes.push(ChoiceNote::DoesNotRun {
                            instance_type: t.clone(),
                            architecture: arch,
                        });
                        None
                    }
                    _ => {
                        notes.push(ChoiceNote::NotOffered {
                            instance_type: t.clone(),
                        });
                        None
                    }
                }
            })
        })
        .collect();
    list.sort_by(|a, b| {
        let pref = |c: &ArchChoice| Some(c.architecture) != preferred;
        pref(a)
            .cmp(&pref(b))
            .then_with(|| {
                let pa = a.hourly_price_usd.unwrap_or(f64::INFINITY);
                let pb = b.hourly_price_usd.unwrap_or(f64::INFINITY);
                pa.total_cmp(&pb)
            })
            .then_with(|| a.architecture.cmp(&b.architecture))
    });
    Choices { list, notes }
}

/// The architectures `template` may launch on, each with its instance type, best first,
/// judged by instance type names alone (no region asked): [`architecture_candidates`], then
/// [`launchable_choices`] with the first type of each architecture.
pub fn architecture_choices(
    template: &Template,
    only: Option<Architecture>,
    price: &dyn Fn(&InstanceType) -> Option<f64>,
) -> Vec<ArchChoice> {
    let preferred = template
        .ami_config
        .as_ref()
        .and_then(|c| c.preferred_architecture);
    launchable_choices(
        &architecture_candidates(template, only),
        RegionTypes::default(),
        preferred,
        price,
    )
    .list
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Templates built from JSON: these tests need the shape, not the loader's checks.
    fn template(json: &str) -> Template {
        match serde_json::from_str(json) {
            Ok(t) => t,
            Err(e) => panic!("bad test template: {e}"),
        }
    }

    fn price(t: &InstanceType) -> Option<f64> {
        match t.as_str() {
            "m6i.large" => Some(0.096),
            "t4g.large" => Some(0.0672),
            "m7g.large" => Some(0.0816),
            _ => None,
        }
    }

    #[test]
    fn families_match_the_architecture_and_arm_wins_on_price() {
        let t = template(
            r#"{"name":"t","instance_type":"m6i.large",
                "ami_config":{"ami_search":{"owner":"amazon","architecture":["x86_64","arm64"]},
                "instance_family_preference":["t4g","m6i"]}}"#,
        );
        let c = architecture_choices(&t, None, &price);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].architecture, Architecture::Arm64);
        assert_eq!(c[0].instance_type.as_str(), "t4g.large");
        assert_eq!(c[1].instance_type.as_str(), "m6i.large");
    }

    #[test]
    fn preferred_architecture_beats_price_and_no_type_means_dropped() {
        let t = template(
            r#"{"name":"t","instance_type":"m6i.large",
                "ami_config":{"ami_search":{"owner":"amazon","architecture":["x86_64","arm64"]},
                "preferred_architecture":"x86_64"}}"#,
        );
        // No family runs arm64 and m6i.large does not: arm64 is dropped.
        let c = architecture_choices(&t, None, &price);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].architecture, Architecture::X86_64);

        let t = template(
            r#"{"name":"t","instance_types":{"x86_64":"m6i.large","arm64":"m7g.large"},
                "ami_config":{"preferred_architecture":"x86_64"}}"#,
        );
        let c = architecture_choices(&t, None, &price);
        assert_eq!(c[0].architecture, Architecture::X86_64);
        assert_eq!(c[1].instance_type.as_str(), "m7g.large");
        let only = architecture_choices(&t, Some(Architecture::Arm64), &price);
        assert_eq!(only.len(), 1);
    }

    #[test]
    fn no_type_at_all_gets_the_documented_defaults() {
        let t = template(r#"{"name":"t"}"#);
        let c = architecture_candidates(&t, None);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].types[0].as_str(), "m7i.large");
        assert_eq!(c[1].types[0].as_str(), "m7g.large");
        assert_eq!(architecture_choices(&t, None, &price).len(), 2);
    }

    #[test]
    fn the_region_must_offer_the_type_and_the_next_family_is_tried() {
        let t = template(
            r#"{"name":"t","instance_type":"m6i.large",
                "ami_config":{"ami_search":{"owner":"amazon","architecture":["x86_64","arm64"]},
                "instance_family_preference":["m7g","t4g","m6i"]}}"#,
        );
        let c = architecture_candidates(&t, None);
        let offered: BTreeSet<InstanceType> = ["t4g.large", "m6i.large"]
            .iter()
            .map(|s| InstanceType::new(*s).unwrap())
            .collect();
        let choices = launchable_choices(
            &c,
            RegionTypes {
                architectures: None,
                offered: Some(&offered),
            },
            None,
            &price,
        );
        assert_eq!(choices.list[0].instance_type.as_str(), "t4g.large");
        assert!(
            choices
                .notes
                .iter()
                .any(|n| n.to_string().contains("m7g.large is not offered"))
        );
        // A region offering no Graviton type leaves x86_64 alone.
        let offered: BTreeSet<InstanceType> = [InstanceType::new("m6i.large").unwrap()].into();
        let choices = launchable_choices(
            &c,
            RegionTypes {
                architectures: None,
                offered: Some(&offered),
            },
            None,
            &price,
        );
        assert_eq!(choices.list.len(), 1);
        assert_eq!(choices.list[0].architecture, Architecture::X86_64);
    }
}
