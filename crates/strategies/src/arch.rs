//! Which architectures a template may launch on, on which instance type, best first.

use amiref_core::{Architecture, InstanceType};
use amiref_template::Template;

/// An architecture the template can launch on, with the instance type it would use there.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// The architectures `template` may launch on, each with its instance type, best first.
///
/// - **Allowed architectures:** `ami_search.architecture` when given, else the keys of
///   `instance_types`, else what the default `instance_type` runs. `only` narrows further.
/// - **Instance type per architecture:** `instance_types[arch]`; else the first family of
///   `instance_family_preference` that runs `arch`, in the default type's size (`large` when
///   there is none); else the default `instance_type` if it runs `arch`. An architecture no
///   type runs is dropped: an arm64 image is never paired with an x86_64 type.
/// - **Order:** `preferred_architecture` first; then the lower hourly price (`price`); then
///   x86_64 before arm64, so that with no preference and no prices the result is stable.
pub fn architecture_choices(
    template: &Template,
    only: Option<Architecture>,
    price: &dyn Fn(&InstanceType) -> Option<f64>,
) -> Vec<ArchChoice> {
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
            // No type at all: both common architectures, each on its preferred family.
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
    let size = template
        .instance_type
        .as_ref()
        .map_or(DEFAULT_SIZE, |t| t.size());

    let mut choices: Vec<ArchChoice> = allowed
        .into_iter()
        .filter_map(|arch| {
            let instance_type = template
                .instance_types
                .get(&arch)
                .cloned()
                .or_else(|| {
                    families.iter().find_map(|f| {
                        InstanceType::new(format!("{f}.{size}"))
                            .ok()
                            .filter(|t| t.runs(arch))
                    })
                })
                .or_else(|| template.instance_type.clone().filter(|t| t.runs(arch)))
                .filter(|t| t.runs(arch))?;
            let hourly = price(&instance_type);
            Some(ArchChoice::new(arch, instance_type, hourly))
        })
        .collect();

    let preferred = config.and_then(|c| c.preferred_architecture);
    choices.sort_by(|a, b| {
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
    choices
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
}
