//! From the plain tree that [`crate::yaml`] parses to the typed [`Template`], collecting
//! every problem instead of stopping at the first.
//!
//! serde's derived `Deserialize` stops at the first error and says little about what was
//! expected, so templates are decoded here by hand, field by field. The derived impls stay
//! for serialization and for reading documents this crate wrote itself; tests check that
//! both readings agree, and that the field lists here match the types (through the
//! generated JSON Schema).

use std::collections::BTreeMap;
use std::str::FromStr;

use amiref_core::{AmiId, Architecture, InstanceType, Owner, ParameterName, ParseError, Region};
use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::validate::{
    BUILD_TIMEOUT_BOUND, DurationBound, FALLBACK_TIMEOUT_BOUND, MAX_AGE_BOUND,
    PROVISIONING_TIME_BOUND, TEST_TIMEOUT_BOUND, unknown_region,
};
use crate::yaml::Target;
use crate::{
    AmiConfig, AmiSearch, AmiStrategy, BaseImage, BuildConfig, DURATION_EXPECTED, FallbackStrategy,
    FieldPath, HumanDuration, MarketplaceSearch, OneOrMany, Problem, ProblemKind, Template,
};

/// The fields of a template, in the order the documentation lists them.
pub(crate) const TEMPLATE_FIELDS: &[&str] = &[
    "name",
    "category",
    "description",
    "version",
    "instance_type",
    "instance_types",
    "base_image",
    "provisioning_time",
    "ami_config",
    "user_data",
    "build",
];

/// The fields of `build`.
pub(crate) const BUILD_FIELDS: &[&str] = &[
    "test",
    "timeout",
    "test_timeout",
    "instance_types",
    "max_age",
];

/// The fields of `ami_config`.
pub(crate) const AMI_CONFIG_FIELDS: &[&str] = &[
    "strategy",
    "ssm_parameter",
    "ssm_parameters",
    "ami_mappings",
    "ami_search",
    "marketplace_search",
    "fallback_strategy",
    "fallback_timeout",
    "preferred_architecture",
    "instance_family_preference",
];

/// The fields of `ami_search` (and `base_image`).
pub(crate) const AMI_SEARCH_FIELDS: &[&str] = &[
    "owner",
    "owners",
    "name_pattern",
    "version_tag",
    "version_constraint",
    "architecture",
    "min_creation_date",
    "required_tags",
    "include_deprecated",
];

/// The fields of `base_image`: `ssm_parameter`, or those of a search (never both).
pub(crate) const BASE_IMAGE_FIELDS: &[&str] = &[
    "ssm_parameter",
    "owner",
    "owners",
    "name_pattern",
    "version_tag",
    "version_constraint",
    "architecture",
    "min_creation_date",
    "required_tags",
    "include_deprecated",
];

/// The fields of `marketplace_search`.
pub(crate) const MARKETPLACE_FIELDS: &[&str] = &["product_code", "version_constraint"];

/// Where each kind of mapping lives (described, and as paths), to tell a person who put a
/// field at the wrong level where it belongs.
const HOMES: &[(&str, &[&str], &[&str])] = &[
    ("the top level of the template", &[""], TEMPLATE_FIELDS),
    ("ami_config", &["ami_config"], AMI_CONFIG_FIELDS),
    ("build", &["build"], BUILD_FIELDS),
    (
        "ami_config.ami_search (or base_image)",
        &["ami_config.ami_search", "base_image"],
        AMI_SEARCH_FIELDS,
    ),
    ("base_image", &["base_image"], &["ssm_parameter"]),
    (
        "ami_config.marketplace_search",
        &["ami_config.marketplace_search"],
        MARKETPLACE_FIELDS,
    ),
];

pub(crate) const STRATEGY_NAMES: &[&str] = &["ami_preferred", "ami_required", "ami_fallback"];
pub(crate) const FALLBACK_NAMES: &[&str] = &["script_provisioning", "error", "cross_region"];
const ARCHITECTURE_NAMES: &[&str] = &["x86_64", "arm64", "i386", "x86_64_mac", "arm64_mac"];
const SEMVER_EXPECTED: &str =
    "a semver range such as \">=2.0.0\" or \">=2.1, <3\" (comparisons joined by commas)";
const DATE_EXPECTED: &str = "a date written YYYY-MM-DD, such as \"2024-01-01\"";

/// A problem and whether it points at a key or at a value in the text.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub(crate) problem: Problem,
    pub(crate) target: Target,
    /// Where to point in the text when not at the problem's own path (e.g. a missing
    /// field is reported at the field that requires it).
    pub(crate) anchor: Option<FieldPath>,
}

/// Decodes a template, recording every problem. Fields that fail to decode are left at
/// their defaults, so that the rest can still be checked; `failed` remembers them, so
/// that later checks do not report consequences of a problem already reported.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    pub(crate) findings: Vec<Finding>,
    pub(crate) failed: Vec<FieldPath>,
}

impl Decoder {
    fn report(&mut self, target: Target, problem: Problem) {
        self.failed.push(problem.path.clone());
        self.findings.push(Finding {
            problem,
            target,
            anchor: None,
        });
    }

    /// Decodes the document: `None` when it is not a mapping at all.
    pub(crate) fn template(&mut self, doc: &Value) -> Option<Template> {
        let root = FieldPath::root();
        let obj = self.mapping(doc, &root, TEMPLATE_FIELDS, "the top level of the template")?;
        let name = match obj.get("name") {
            Some((v, path)) => self.text(v, &path).unwrap_or_default(),
            None => {
                self.report(
                    Target::Value,
                    Problem::new(
                        ProblemKind::MissingField,
                        root.key("name"),
                        "no `name`",
                        "a `name` field: the template's name, unique within its directory (e.g. `name: python-ml`)",
                    ),
                );
                String::new()
            }
        };
        Some(Template {
            name,
            category: obj.optional("category", |v, p| self.text(v, p)),
            description: obj.optional("description", |v, p| self.text(v, p)),
            version: obj.optional("version", |v, p| self.text(v, p)),
            instance_type: obj.optional("instance_type", |v, p| self.instance_type(v, p)),
            instance_types: obj
                .optional("instance_types", |v, p| self.instance_types(v, p))
                .unwrap_or_default(),
            base_image: obj.optional("base_image", |v, p| self.base_image(v, p)),
            provisioning_time: obj.optional("provisioning_time", |v, p| {
                self.duration(v, p, &PROVISIONING_TIME_BOUND)
            }),
            ami_config: obj.optional("ami_config", |v, p| self.ami_config(v, p)),
            user_data: obj.optional("user_data", |v, p| self.text(v, p)),
            build: obj.optional("build", |v, p| self.build(v, p)),
        })
    }

    fn build(&mut self, v: &Value, path: &FieldPath) -> Option<BuildConfig> {
        let obj = self.mapping(v, path, BUILD_FIELDS, "build")?;
        Some(BuildConfig {
            test: obj.optional("test", |v, p| self.text(v, p)),
            timeout: obj.optional("timeout", |v, p| self.duration(v, p, &BUILD_TIMEOUT_BOUND)),
            test_timeout: obj.optional("test_timeout", |v, p| {
                self.duration(v, p, &TEST_TIMEOUT_BOUND)
            }),
            instance_types: obj
                .optional("instance_types", |v, p| self.instance_types(v, p))
                .unwrap_or_default(),
            max_age: obj.optional("max_age", |v, p| self.duration(v, p, &MAX_AGE_BOUND)),
        })
    }

    fn ami_config(&mut self, v: &Value, path: &FieldPath) -> Option<AmiConfig> {
        let obj = self.mapping(v, path, AMI_CONFIG_FIELDS, "ami_config")?;
        Some(AmiConfig {
            strategy: obj
                .optional("strategy", |v, p| {
                    self.choice(v, p, STRATEGY_NAMES, |s| match s {
                        "ami_preferred" => Some(AmiStrategy::AmiPreferred),
                        "ami_required" => Some(AmiStrategy::AmiRequired),
                        "ami_fallback" => Some(AmiStrategy::AmiFallback),
                        _ => None,
                    })
                })
                .unwrap_or_default(),
            ssm_parameter: obj.optional("ssm_parameter", |v, p| self.parameter(v, p)),
            ssm_parameters: obj
                .optional("ssm_parameters", |v, p| {
                    self.map(v, p, Self::region_key, Self::parameter)
                })
                .unwrap_or_default(),
            ami_mappings: obj
                .optional("ami_mappings", |v, p| {
                    self.map(v, p, Self::region_key, |d, v, p| {
                        d.parsed(v, p, |s| AmiId::new(s))
                    })
                })
                .unwrap_or_default(),
            ami_search: obj.optional("ami_search", |v, p| self.ami_search(v, p)),
            marketplace_search: obj
                .optional("marketplace_search", |v, p| self.marketplace_search(v, p)),
            fallback_strategy: obj
                .optional("fallback_strategy", |v, p| {
                    self.choice(v, p, FALLBACK_NAMES, |s| match s {
                        "script_provisioning" => Some(FallbackStrategy::ScriptProvisioning),
                        "error" => Some(FallbackStrategy::Error),
                        "cross_region" => Some(FallbackStrategy::CrossRegion),
                        _ => None,
                    })
                })
                .unwrap_or_default(),
            fallback_timeout: obj.optional("fallback_timeout", |v, p| {
                self.duration(v, p, &FALLBACK_TIMEOUT_BOUND)
            }),
            preferred_architecture: obj.optional("preferred_architecture", |v, p| {
                self.architecture_value(v, p)
            }),
            instance_family_preference: obj
                .optional("instance_family_preference", |v, p| {
                    self.list(v, p, |d, v, p| d.text(v, p))
                })
                .unwrap_or_default(),
        })
    }

    /// `base_image`: `{ssm_parameter: NAME}`, or a search.
    fn base_image(&mut self, v: &Value, path: &FieldPath) -> Option<BaseImage> {
        if !v.is_object() {
            let expected = format!(
                "a mapping: `ssm_parameter: NAME` (an SSM parameter whose value is the image id), or a search with the fields {}",
                AMI_SEARCH_FIELDS.join(", ")
            );
            self.wrong_type(v, path, expected);
            return None;
        }
        let obj = self.mapping(v, path, BASE_IMAGE_FIELDS, "base_image")?;
        let Some((value, parameter_path)) = obj.get("ssm_parameter") else {
            return Some(BaseImage::Search(self.search_fields(&obj)));
        };
        let parameter = self.parameter(value, &parameter_path);
        let search_keys: Vec<String> = AMI_SEARCH_FIELDS
            .iter()
            .filter(|f| obj.map.contains_key(**f))
            .map(|f| format!("`{f}`"))
            .collect();
        if !search_keys.is_empty() {
            self.report(
                Target::Key,
                Problem::new(
                    ProblemKind::Conflict,
                    path.clone(),
                    format!("`ssm_parameter` together with the search fields {}", search_keys.join(", ")),
                    "either `ssm_parameter` (an SSM parameter whose value is the image id) or a search (`owner`, `name_pattern`, ...), not both in one base_image",
                )
                .with_help("the parameter names the image itself, so the search would never be used: keep one of the two"),
            );
            return None;
        }
        parameter.map(|ssm_parameter| BaseImage::Parameter { ssm_parameter })
    }

    fn ami_search(&mut self, v: &Value, path: &FieldPath) -> Option<AmiSearch> {
        let obj = self.mapping(v, path, AMI_SEARCH_FIELDS, "ami_config.ami_search")?;
        Some(self.search_fields(&obj))
    }

    /// The fields of a search (`ami_search`, or a `base_image` search).
    fn search_fields(&mut self, obj: &Fields<'_>) -> AmiSearch {
        AmiSearch {
            owner: obj.optional("owner", |v, p| self.owner(v, p)),
            owners: obj
                .optional("owners", |v, p| self.list(v, p, Self::owner))
                .unwrap_or_default(),
            name_pattern: obj.optional("name_pattern", |v, p| self.text(v, p)),
            version_tag: obj.optional("version_tag", |v, p| self.text(v, p)),
            version_constraint: obj.optional("version_constraint", |v, p| self.semver(v, p)),
            architecture: obj
                .optional("architecture", |v, p| match v {
                    Value::Array(_) => self
                        .list(v, p, Self::architecture_value)
                        .map(OneOrMany::Many),
                    _ => self.architecture_value(v, p).map(OneOrMany::One),
                })
                .unwrap_or_default(),
            min_creation_date: obj.optional("min_creation_date", |v, p| {
                self.parsed(v, p, |s| {
                    NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .map_err(|_| ParseError::new("date", s, DATE_EXPECTED))
                })
            }),
            required_tags: obj
                .optional("required_tags", |v, p| {
                    self.map(v, p, |_, k, _| Some(k.to_owned()), Self::text)
                })
                .unwrap_or_default(),
            include_deprecated: obj
                .optional("include_deprecated", |v, p| self.boolean(v, p))
                .unwrap_or_default(),
        }
    }

    fn marketplace_search(&mut self, v: &Value, path: &FieldPath) -> Option<MarketplaceSearch> {
        let obj = self.mapping(v, path, MARKETPLACE_FIELDS, "ami_config.marketplace_search")?;
        let product_code = match obj.get("product_code") {
            Some((v, p)) => self.text(v, &p),
            None => {
                self.report(
                    Target::Key,
                    Problem::new(
                        ProblemKind::MissingField,
                        path.key("product_code"),
                        "no `product_code`",
                        "the AWS Marketplace product code to search (e.g. `product_code: cws-python-ml-community`)",
                    ),
                );
                None
            }
        };
        let version_constraint = obj.optional("version_constraint", |v, p| self.semver(v, p));
        Some(MarketplaceSearch {
            product_code: product_code?,
            version_constraint,
        })
    }

    // ---- shapes ----------------------------------------------------------------------

    /// A mapping with these fields; unknown keys are reported with a suggestion.
    fn mapping<'v>(
        &mut self,
        v: &'v Value,
        path: &FieldPath,
        fields: &'static [&'static str],
        here: &str,
    ) -> Option<Fields<'v>> {
        let Value::Object(map) = v else {
            let expected = format!("a mapping with the fields of {here}: {}", fields.join(", "));
            self.wrong_type(v, path, expected);
            return None;
        };
        for key in map.keys() {
            if !fields.contains(&key.as_str()) {
                let mut problem = Problem::new(
                    ProblemKind::UnknownField,
                    path.key(key.as_str()),
                    format!("unknown field `{key}`"),
                    format!("one of the fields of {here}: {}", fields.join(", ")),
                );
                let (help, mut homes) = suggest_field(key, fields, here);
                if let Some(close) = closest(key, fields) {
                    homes.push(path.key(close));
                }
                if let Some(help) = help {
                    problem = problem.with_help(help);
                }
                self.report(Target::Key, problem);
                // The field was meant as another (misspelled, or at another level): rules
                // about that one stay silent, rather than report its absence.
                self.failed.extend(homes);
            }
        }
        Some(Fields {
            map,
            path: path.clone(),
        })
    }

    fn list<T>(
        &mut self,
        v: &Value,
        path: &FieldPath,
        mut item: impl FnMut(&mut Self, &Value, &FieldPath) -> Option<T>,
    ) -> Option<Vec<T>> {
        let Value::Array(items) = v else {
            self.wrong_type(v, path, "a list, such as `[a, b]` or one `- item` per line");
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, v) in items.iter().enumerate() {
            match item(self, v, &path.index(i)) {
                Some(x) => out.push(x),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn map<K: Ord, T>(
        &mut self,
        v: &Value,
        path: &FieldPath,
        mut key: impl FnMut(&mut Self, &str, &FieldPath) -> Option<K>,
        mut value: impl FnMut(&mut Self, &Value, &FieldPath) -> Option<T>,
    ) -> Option<BTreeMap<K, T>> {
        let Value::Object(entries) = v else {
            self.wrong_type(v, path, "a mapping of `key: value` lines");
            return None;
        };
        // The entries that decoded are kept, so that the checks of the whole map still see
        // them: one bad entry does not hide the problems of the others.
        let mut out = BTreeMap::new();
        for (k, v) in entries {
            let p = path.key(k.as_str());
            let k = key(self, k, &p);
            let v = value(self, v, &p);
            if let (Some(k), Some(v)) = (k, v) {
                out.insert(k, v);
            }
        }
        Some(out)
    }

    // ---- leaves ----------------------------------------------------------------------

    fn text(&mut self, v: &Value, path: &FieldPath) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.wrong_type(v, path, "text");
                None
            }
        }
    }

    fn parsed<T>(
        &mut self,
        v: &Value,
        path: &FieldPath,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Option<T> {
        let Value::String(s) = v else {
            // Parse the number's text to learn what was expected, then report the shape.
            let expected = match parse("") {
                Err(e) => e.expected.to_owned(),
                Ok(_) => "text".to_owned(),
            };
            self.wrong_type(v, path, expected);
            return None;
        };
        match parse(s) {
            Ok(x) => Some(x),
            Err(e) => {
                self.report(
                    Target::Value,
                    Problem::new(
                        ProblemKind::InvalidValue,
                        path.clone(),
                        quote(s),
                        e.expected,
                    ),
                );
                None
            }
        }
    }

    fn instance_type(&mut self, v: &Value, path: &FieldPath) -> Option<InstanceType> {
        self.parsed(v, path, |s| InstanceType::new(s))
    }

    /// An instance type per architecture (`{x86_64: m6i.large, arm64: m7g.large}`).
    fn instance_types(
        &mut self,
        v: &Value,
        path: &FieldPath,
    ) -> Option<BTreeMap<Architecture, InstanceType>> {
        self.map(
            v,
            path,
            |d, k, kp| d.architecture(k, kp, Target::Key),
            Self::instance_type,
        )
    }

    fn owner(&mut self, v: &Value, path: &FieldPath) -> Option<Owner> {
        if let Value::Number(n) = v {
            let digits = n.to_string();
            let problem = Problem::new(
                ProblemKind::WrongType,
                path.clone(),
                format!("the number `{digits}`"),
                "an owner written as text",
            )
            .with_help(format!(
                "write account ids in quotes (`\"{digits}\"`): YAML reads bare digits as a number and drops leading zeros"
            ));
            self.report(Target::Value, problem);
            return None;
        }
        self.parsed(v, path, |s| Owner::new(s))
    }

    fn parameter(&mut self, v: &Value, path: &FieldPath) -> Option<ParameterName> {
        self.parsed(v, path, |s| ParameterName::new(s))
    }

    fn region_key(&mut self, key: &str, path: &FieldPath) -> Option<Region> {
        match Region::new(key) {
            Ok(r) => match unknown_region(key, path.clone()) {
                Some(problem) => {
                    self.report(Target::Key, problem);
                    None
                }
                None => Some(r),
            },
            Err(e) => {
                self.report(
                    Target::Key,
                    Problem::new(
                        ProblemKind::InvalidValue,
                        path.clone(),
                        quote(key),
                        e.expected,
                    ),
                );
                None
            }
        }
    }

    fn architecture(&mut self, s: &str, path: &FieldPath, target: Target) -> Option<Architecture> {
        match Architecture::from_str(s) {
            Ok(a) => Some(a),
            Err(e) => {
                let mut problem = Problem::new(
                    ProblemKind::InvalidValue,
                    path.clone(),
                    quote(s),
                    e.expected,
                );
                if let Some(close) = closest(s, ARCHITECTURE_NAMES) {
                    problem = problem.with_help(format!("did you mean `{close}`?"));
                }
                self.report(target, problem);
                None
            }
        }
    }

    fn architecture_value(&mut self, v: &Value, path: &FieldPath) -> Option<Architecture> {
        match v {
            Value::String(s) => self.architecture(s, path, Target::Value),
            _ => {
                self.wrong_type(
                    v,
                    path,
                    "an architecture: x86_64, arm64, i386, x86_64_mac or arm64_mac",
                );
                None
            }
        }
    }

    fn duration(
        &mut self,
        v: &Value,
        path: &FieldPath,
        bound: &DurationBound,
    ) -> Option<HumanDuration> {
        let Value::String(s) = v else {
            self.wrong_type(v, path, DURATION_EXPECTED);
            return None;
        };
        match s.parse::<HumanDuration>() {
            Ok(d) => Some(d),
            Err(e) if e.too_large => {
                // Well-formed, but past any bound: said as the bound, as validation says
                // it for a duration that fits.
                self.report(Target::Value, bound.problem(path.clone(), quote(s)));
                None
            }
            Err(_) => {
                self.report(
                    Target::Value,
                    Problem::new(
                        ProblemKind::InvalidValue,
                        path.clone(),
                        quote(s),
                        DURATION_EXPECTED,
                    ),
                );
                None
            }
        }
    }

    fn semver(&mut self, v: &Value, path: &FieldPath) -> Option<semver::VersionReq> {
        let Value::String(s) = v else {
            self.wrong_type(v, path, SEMVER_EXPECTED);
            return None;
        };
        match semver::VersionReq::parse(s) {
            Ok(r) => Some(r),
            Err(e) => {
                let problem = Problem::new(
                    ProblemKind::InvalidValue,
                    path.clone(),
                    quote(s),
                    SEMVER_EXPECTED,
                )
                .with_help(format!("the semver parser says: {e}"));
                self.report(Target::Value, problem);
                None
            }
        }
    }

    fn boolean(&mut self, v: &Value, path: &FieldPath) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            _ => {
                self.wrong_type(v, path, "`true` or `false`");
                None
            }
        }
    }

    fn choice<T>(
        &mut self,
        v: &Value,
        path: &FieldPath,
        names: &[&str],
        pick: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let expected = format!(
            "one of {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let Value::String(s) = v else {
            self.wrong_type(v, path, expected);
            return None;
        };
        let picked = pick(s);
        if picked.is_none() {
            let mut problem =
                Problem::new(ProblemKind::InvalidValue, path.clone(), quote(s), expected);
            if let Some(close) = closest(s, names) {
                problem = problem.with_help(format!("did you mean `{close}`?"));
            }
            self.report(Target::Value, problem);
        }
        picked
    }

    fn wrong_type(&mut self, v: &Value, path: &FieldPath, expected: impl Into<String>) {
        let expected = expected.into();
        let mut problem = Problem::new(ProblemKind::WrongType, path.clone(), describe(v), expected);
        match v {
            Value::Number(_) | Value::Bool(_) => {
                problem = problem.with_help(format!(
                    "YAML reads `{v}` as a {}; write it in quotes (`\"{v}\"`) if it is text",
                    if v.is_boolean() { "boolean" } else { "number" }
                ));
            }
            Value::Null => {
                problem = problem.with_help("give the field a value, or remove it");
            }
            _ => {}
        }
        self.report(Target::Value, problem);
    }
}

/// A mapping being decoded, with the path to it.
struct Fields<'v> {
    map: &'v Map<String, Value>,
    path: FieldPath,
}

impl<'v> Fields<'v> {
    fn get(&self, name: &str) -> Option<(&'v Value, FieldPath)> {
        self.map.get(name).map(|v| (v, self.path.key(name)))
    }

    /// Decodes an optional field when present.
    fn optional<T>(
        &self,
        name: &str,
        decode: impl FnOnce(&Value, &FieldPath) -> Option<T>,
    ) -> Option<T> {
        let (v, path) = self.get(name)?;
        decode(v, &path)
    }
}

/// A value as a person would name it in "found ...".
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "an empty value".to_owned(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
        Value::String(s) => quote(s),
        Value::Array(a) if a.is_empty() => "an empty list".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a mapping".to_owned(),
    }
}

/// Text quoted for a message, shortened when long.
pub(crate) fn quote(s: &str) -> String {
    // Shortened as every file format shortens what it echoes.
    format!("{:?}", amiref_yaml::shorten(s))
}

/// The candidate closest to `given`, when one is close enough to be a likely typo.
pub(crate) fn closest<'a>(given: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let normal = |s: &str| s.to_ascii_lowercase().replace(['-', ' '], "_");
    let given_n = normal(given);
    if let Some(same) = candidates.iter().find(|c| normal(c) == given_n) {
        return Some(same);
    }
    if given_n.len() >= 3
        && let Some(longer) = candidates.iter().find(|c| normal(c).starts_with(&given_n))
    {
        return Some(longer);
    }
    let limit = (given.chars().count() / 3).clamp(1, 3);
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&given_n, &normal(c)), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "did you mean" for an unknown field, or where the field belongs when it is a field of
/// another level (a common indentation mistake), with the paths where it belongs.
fn suggest_field(key: &str, fields: &[&str], here: &str) -> (Option<String>, Vec<FieldPath>) {
    if let Some(close) = closest(key, fields) {
        return (Some(format!("did you mean `{close}`?")), Vec::new());
    }
    let homes: Vec<_> = HOMES
        .iter()
        .filter(|(home, _, fields)| *home != here && fields.contains(&key))
        .collect();
    let paths = homes
        .iter()
        .flat_map(|(_, paths, _)| paths.iter())
        .map(|p| p.parse::<FieldPath>().unwrap_or_default().key(key))
        .collect();
    let help = (!homes.is_empty()).then(|| {
        let names: Vec<&str> = homes.iter().map(|(home, _, _)| *home).collect();
        format!(
            "`{key}` is a field of {}: check its indentation",
            names.join(" and of ")
        )
    });
    (help, paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written decoder knows exactly the fields the types (and so the schema) have.
    #[test]
    fn field_lists_match_the_types() {
        let schema = crate::json_schema();
        let fields = |props: &Value| -> Vec<String> {
            let mut names: Vec<String> = props.as_object().unwrap().keys().cloned().collect();
            names.sort();
            names
        };
        let sorted = |list: &[&str]| -> Vec<String> {
            let mut names: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
            names.sort();
            names
        };
        assert_eq!(fields(&schema["properties"]), sorted(TEMPLATE_FIELDS));
        let defs = &schema["$defs"];
        assert_eq!(
            fields(&defs["AmiConfig"]["properties"]),
            sorted(AMI_CONFIG_FIELDS)
        );
        assert_eq!(
            fields(&defs["AmiSearch"]["properties"]),
            sorted(AMI_SEARCH_FIELDS)
        );
        assert_eq!(
            fields(&defs["MarketplaceSearch"]["properties"]),
            sorted(MARKETPLACE_FIELDS)
        );
        assert_eq!(
            fields(&defs["BuildConfig"]["properties"]),
            sorted(BUILD_FIELDS)
        );
        let variants = defs["BaseImage"]["anyOf"].as_array().unwrap();
        assert_eq!(fields(&variants[0]["properties"]), ["ssm_parameter"]);
        assert_eq!(variants[1]["$ref"], "#/$defs/AmiSearch");
        let mut base_image = vec!["ssm_parameter".to_owned()];
        base_image.extend(sorted(AMI_SEARCH_FIELDS));
        base_image.sort();
        assert_eq!(sorted(BASE_IMAGE_FIELDS), base_image);
        let consts = |def: &str| -> Vec<String> {
            let mut names: Vec<String> = defs[def]["oneOf"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["const"].as_str().unwrap().to_owned())
                .collect();
            names.sort();
            names
        };
        assert_eq!(consts("AmiStrategy"), sorted(STRATEGY_NAMES));
        assert_eq!(consts("FallbackStrategy"), sorted(FALLBACK_NAMES));
        assert_eq!(consts("Architecture"), sorted(ARCHITECTURE_NAMES));
    }

    #[test]
    fn suggestions_catch_typos_case_and_prefixes_but_not_strangers() {
        assert_eq!(closest("strateg", AMI_CONFIG_FIELDS), Some("strategy"));
        assert_eq!(closest("AMI-Search", AMI_CONFIG_FIELDS), Some("ami_search"));
        assert_eq!(closest("arm", ARCHITECTURE_NAMES), Some("arm64"));
        assert_eq!(closest("zebra", AMI_CONFIG_FIELDS), None);
        assert_eq!(
            suggest_field("user_data", AMI_CONFIG_FIELDS, "ami_config").1,
            vec!["user_data".parse::<FieldPath>().unwrap()]
        );
    }

    #[test]
    fn every_problem_in_a_template_is_collected() {
        let doc = serde_json::json!({
            "name": 1,
            "ami_config": {"strategy": "x", "ami_mappings": {"Bad": "ami-1"}, "typo": 1},
        });
        let mut d = Decoder::default();
        let t = d.template(&doc).unwrap();
        let mut paths: Vec<String> = d
            .findings
            .iter()
            .map(|f| f.problem.path.to_string())
            .collect();
        paths.sort();
        assert_eq!(
            paths,
            [
                "ami_config.ami_mappings.Bad", // the region key
                "ami_config.ami_mappings.Bad", // and the AMI id
                "ami_config.strategy",
                "ami_config.typo",
                "name",
            ]
        );
        assert_eq!(t.name, "", "a failed field is left at its default");
    }
}
