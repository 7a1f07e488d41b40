//! The rules a well-formed template must also follow: values that exist, fields that agree
//! with each other, and configurations that are safe.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use amiref_core::{Architecture, InstanceType, ParameterName, Region};

use crate::decode::{Finding, closest, quote};
use crate::yaml::Target;
use crate::{
    AmiConfig, AmiSearch, AmiStrategy, BaseImage, BuildConfig, FallbackStrategy, FieldPath,
    HumanDuration, MAX_BUILD_TIMEOUT, MAX_FALLBACK_TIMEOUT, MAX_MAX_AGE, MAX_PROVISIONING_TIME,
    MAX_TEST_TIMEOUT, MarketplaceSearch, Problem, ProblemKind, Template, regions,
};

/// EC2's limit on user data, before base64 encoding.
pub(crate) const USER_DATA_MAX_BYTES: usize = 16 * 1024;

/// The first lines cloud-init recognises; anything else is not run at first boot.
const USER_DATA_HEADERS: &[&str] = &[
    "#!",
    "#cloud-config",
    "#include",
    "#cloud-boothook",
    "#part-handler",
    "#upstart-job",
    "Content-Type:",
];

/// A duration field's maximum, and why it is one.
pub(crate) struct DurationBound {
    max: Duration,
    /// What the field is, for "expected a ... of at most ...".
    noun: &'static str,
    help: &'static str,
}

pub(crate) const FALLBACK_TIMEOUT_BOUND: DurationBound = DurationBound {
    max: MAX_FALLBACK_TIMEOUT,
    noun: "deadline",
    help: "fallback_timeout bounds the search for an image before the fallback runs, which takes seconds (minutes when a tier is slow): a deadline longer than a day is a mistake (minutes are written `m`, as in `10m`)",
};

pub(crate) const BUILD_TIMEOUT_BOUND: DurationBound = DurationBound {
    max: MAX_BUILD_TIMEOUT,
    noun: "timeout",
    help: "build.timeout bounds the builder's run of user_data: three times the longest provisioning_time is the most a build may wait (minutes are written `m`, days `d`)",
};

pub(crate) const TEST_TIMEOUT_BOUND: DurationBound = DurationBound {
    max: MAX_TEST_TIMEOUT,
    noun: "timeout",
    help: "build.test_timeout bounds the test of a new image, which boots from the image and runs build.test: a test longer than a day is a mistake (minutes are written `m`)",
};

pub(crate) const MAX_AGE_BOUND: DurationBound = DurationBound {
    max: MAX_MAX_AGE,
    noun: "maximum age",
    help: "build.max_age is how old an image may grow before a refresh rebuilds it (90d by default, as CIS asks): ten years is no bound at all",
};

pub(crate) const PROVISIONING_TIME_BOUND: DurationBound = DurationBound {
    max: MAX_PROVISIONING_TIME,
    noun: "duration",
    help: "provisioning_time is how long user_data takes at first boot, for estimates: a script that runs for more than a day is a build, better captured once in an image",
};

impl DurationBound {
    /// The problem of a duration longer than the maximum; `found` is the value as quoted.
    pub(crate) fn problem(&self, path: FieldPath, found: String) -> Problem {
        Problem::new(
            ProblemKind::InvalidValue,
            path,
            format!("{found}, longer than {}", HumanDuration::from(self.max)),
            format!(
                "a {} of at most {}",
                self.noun,
                HumanDuration::from(self.max)
            ),
        )
        .with_help(self.help)
    }
}

/// The problem with `code`, a well-formed region code at `path`, when AWS has no such
/// region. The decoder asks it of every key of a map by region, so that an entry whose
/// value is also wrong reports both; the checker asks it of templates built in code.
pub(crate) fn unknown_region(code: &str, path: FieldPath) -> Option<Problem> {
    if regions::is_known(code) {
        return None;
    }
    let problem = Problem::new(
        ProblemKind::InvalidValue,
        path,
        quote(code),
        "a region AWS has, such as \"us-east-1\"",
    );
    Some(match closest(code, &regions::known_codes()) {
        Some(close) => problem.with_help(format!("did you mean `{close}`?")),
        None => problem,
    })
}

/// Checks a decoded template. `failed` lists the fields whose decoding already failed:
/// a rule that depends on one of them stays silent rather than report a consequence.
/// `written` says whether a field was present in the text (rather than defaulted).
pub(crate) struct Checker<'a> {
    pub(crate) failed: &'a [FieldPath],
    pub(crate) written: &'a dyn Fn(&FieldPath) -> bool,
    pub(crate) findings: Vec<Finding>,
}

/// Where to point for a problem, when it is not the problem's own path.
struct Report {
    target: Target,
    anchor: Option<FieldPath>,
    depends_on: Vec<FieldPath>,
}

impl Report {
    fn value() -> Self {
        Self {
            target: Target::Value,
            anchor: None,
            depends_on: Vec::new(),
        }
    }
    fn key() -> Self {
        Self {
            target: Target::Key,
            ..Self::value()
        }
    }
    fn at(mut self, anchor: FieldPath) -> Self {
        self.anchor = Some(anchor);
        self
    }
    fn needs(mut self, path: FieldPath) -> Self {
        self.depends_on.push(path);
        self
    }
}

fn p(s: &str) -> FieldPath {
    let mut path = FieldPath::root();
    for part in s.split('.') {
        path = path.key(part);
    }
    path
}

impl Checker<'_> {
    fn report(&mut self, how: Report, problem: Problem) {
        let blocked = self
            .failed
            .iter()
            .any(|f| f.overlaps(&problem.path) || how.depends_on.iter().any(|d| f.overlaps(d)));
        if !blocked {
            self.findings.push(Finding {
                problem,
                target: how.target,
                anchor: how.anchor,
            });
        }
    }

    fn written(&self, path: &FieldPath) -> bool {
        (self.written)(path)
    }

    pub(crate) fn template(&mut self, t: &Template) {
        self.name(&t.name);
        if let Some(version) = &t.version {
            let bare = version.strip_prefix('v').unwrap_or(version);
            if semver::Version::parse(bare).is_err() {
                self.report(
                    Report::value(),
                    Problem::new(
                        ProblemKind::InvalidValue,
                        p("version"),
                        quote(version),
                        "a semantic version such as \"2.1.0\" (an optional leading `v`)",
                    ),
                );
            }
        }
        self.instance_types(&t.instance_types, &p("instance_types"));
        match &t.base_image {
            Some(BaseImage::Search(search)) => self.search(search, &p("base_image")),
            Some(BaseImage::Parameter { ssm_parameter }) => {
                self.parameter(ssm_parameter, &p("base_image.ssm_parameter"));
            }
            None => {}
        }
        self.bounded(
            t.provisioning_time,
            p("provisioning_time"),
            &PROVISIONING_TIME_BOUND,
        );
        self.positive(t.provisioning_time, p("provisioning_time"), "duration");
        if let Some(user_data) = &t.user_data {
            self.user_data(user_data);
        }
        if let Some(build) = &t.build {
            self.build(t, build);
        }
        match &t.ami_config {
            Some(config) => self.ami_config(t, config),
            None => {
                if t.user_data.is_none() {
                    self.report(
                        Report::value().needs(p("ami_config")).needs(p("user_data")),
                        Problem::new(
                            ProblemKind::MissingField,
                            FieldPath::root(),
                            "neither `ami_config` nor `user_data`",
                            "`user_data` (the provisioning script), or an `ami_config` that says how to find an image",
                        )
                        .with_help("without either, a launch would boot a bare base image"),
                    );
                }
            }
        }
    }

    fn name(&mut self, name: &str) {
        let path = p("name");
        if name.trim().is_empty() {
            self.report(
                Report::value(),
                Problem::new(
                    ProblemKind::InvalidValue,
                    path,
                    quote(name),
                    "a non-empty name",
                ),
            );
        } else if name.trim() != name || name.chars().any(char::is_control) {
            self.report(
                Report::value(),
                Problem::new(
                    ProblemKind::InvalidValue,
                    path,
                    quote(name),
                    "a name on one line, without leading or trailing spaces",
                ),
            );
        }
    }

    fn user_data(&mut self, script: &str) {
        let path = p("user_data");
        if script.len() > USER_DATA_MAX_BYTES {
            self.report(
                Report::value(),
                Problem::new(
                    ProblemKind::InvalidValue,
                    path.clone(),
                    format!("a script of {} bytes", script.len()),
                    format!("at most {USER_DATA_MAX_BYTES} bytes, EC2's limit on user data"),
                )
                .with_help("download a larger script from the first lines instead"),
            );
        }
        let first = script.trim_start();
        if !USER_DATA_HEADERS.iter().any(|h| first.starts_with(h)) {
            let first_line = first.lines().next().unwrap_or_default();
            self.report(
                Report::value(),
                Problem::new(
                    ProblemKind::InvalidValue,
                    path,
                    if first_line.is_empty() {
                        "an empty script".to_owned()
                    } else {
                        format!("a script starting {}", quote(first_line))
                    },
                    "a script cloud-init runs: its first line `#!` and an interpreter (`#!/bin/bash`), `#cloud-config`, or a MIME multi-part document",
                )
                .with_help("cloud-init ignores user data without such a first line, so nothing would be provisioned"),
            );
        }
    }

    /// A duration longer than zero; `noun` says what it is.
    fn positive(&mut self, d: Option<HumanDuration>, path: FieldPath, noun: &str) {
        if d.is_some_and(|d| d.get().is_zero()) {
            self.report(
                Report::value(),
                Problem::new(
                    ProblemKind::InvalidValue,
                    path,
                    quote(&d.map(|d| d.to_string()).unwrap_or_default()),
                    format!("a {noun} longer than 0s"),
                ),
            );
        }
    }

    /// Each instance type of a map by architecture runs its architecture.
    fn instance_types(&mut self, map: &BTreeMap<Architecture, InstanceType>, path: &FieldPath) {
        for (arch, instance_type) in map {
            if !instance_type.runs(*arch) {
                self.report(
                    Report::value(),
                    Problem::new(
                        ProblemKind::Conflict,
                        path.key(arch.as_str()),
                        format!("{} under {arch}", quote(instance_type.as_str())),
                        format!("an instance type that runs {arch}"),
                    )
                    .with_help(format!(
                        "{instance_type} runs {}",
                        arch_list(instance_type.architectures())
                    )),
                );
            }
        }
    }

    /// The `build` block: a test the build can wrap, timeouts and an age within their
    /// bounds, builder instance types that run their architectures, and a `user_data` to
    /// build from.
    fn build(&mut self, t: &Template, build: &BuildConfig) {
        let base = p("build");
        if let Some(test) = &build.test {
            self.build_script(test, base.key("test"), "build.test");
            if test.len() > USER_DATA_MAX_BYTES {
                self.report(
                    Report::value(),
                    Problem::new(
                        ProblemKind::InvalidValue,
                        base.key("test"),
                        format!("a script of {} bytes", test.len()),
                        format!("at most {USER_DATA_MAX_BYTES} bytes, EC2's limit on user data (the test is the tester's user data)"),
                    ),
                );
            }
        }
        match &t.user_data {
            Some(user_data) => {
                if user_data.lines().next().is_some_and(|l| !l.starts_with("#!")) {
                    self.build_script(user_data, p("user_data"), "user_data of a template with a `build` block");
                }
            }
            None => self.report(
                Report::key().at(base.clone()).needs(p("user_data")),
                Problem::new(
                    ProblemKind::MissingField,
                    p("user_data"),
                    "a `build` block but no `user_data`",
                    "`user_data`: the `#!` script the build runs on the base image and captures",
                )
                .with_help("an image is built by running user_data once; without it there is nothing to build"),
            ),
        }
        for (value, field, bound, noun) in [
            (build.timeout, "timeout", &BUILD_TIMEOUT_BOUND, "timeout"),
            (
                build.test_timeout,
                "test_timeout",
                &TEST_TIMEOUT_BOUND,
                "timeout",
            ),
            (build.max_age, "max_age", &MAX_AGE_BOUND, "maximum age"),
        ] {
            self.positive(value, base.key(field), noun);
            self.bounded(value, base.key(field), bound);
        }
        if let (Some(timeout), Some(estimate)) = (build.timeout, t.provisioning_time)
            && timeout.get() < estimate.get()
            && !timeout.get().is_zero()
        {
            self.report(
                Report::value().needs(p("provisioning_time")),
                Problem::new(
                    ProblemKind::Conflict,
                    base.key("timeout"),
                    format!("{}, shorter than `provisioning_time: {estimate}`", quote(&timeout.to_string())),
                    format!("a timeout of at least {estimate}, the time the script is expected to take"),
                )
                .with_help("every build would time out before the script is expected to finish: raise the timeout, or remove it to use three times provisioning_time"),
            );
        }
        self.instance_types(&build.instance_types, &base.key("instance_types"));
    }

    /// A script the build wraps and runs: its first line `#!` and an interpreter. `what`
    /// names it for the message.
    fn build_script(&mut self, script: &str, path: FieldPath, what: &str) {
        let first_line = script.lines().next().unwrap_or_default();
        if first_line.starts_with("#!") {
            return;
        }
        self.report(
            Report::value(),
            Problem::new(
                ProblemKind::InvalidValue,
                path,
                if script.trim().is_empty() {
                    "an empty script".to_owned()
                } else {
                    format!("a script starting {}", quote(first_line))
                },
                format!("{what}: a script whose first line is `#!` and an interpreter (`#!/bin/bash`)"),
            )
            .with_help("the build runs the script inside a wrapper that reports its exit status on the serial console, so it must be a program, not cloud-config"),
        );
    }

    /// A duration at most `bound` allows.
    fn bounded(&mut self, d: Option<HumanDuration>, path: FieldPath, bound: &DurationBound) {
        if let Some(d) = d
            && d.get() > bound.max
        {
            self.report(Report::value(), bound.problem(path, quote(&d.to_string())));
        }
    }

    /// The keys of a map by region are regions that exist.
    fn known_regions<T>(&mut self, map: &BTreeMap<Region, T>, path: &FieldPath) {
        for region in map.keys() {
            if let Some(problem) = unknown_region(region.as_str(), path.key(region.as_str())) {
                self.report(Report::key(), problem);
            }
        }
    }

    /// A parameter name that can exist: SSM refuses to create names that start with `aws`
    /// or `ssm` (any case), so under them there are only AWS's public parameters, all in
    /// `/aws/service/`.
    fn parameter(&mut self, name: &ParameterName, path: &FieldPath) {
        let text = name.as_str();
        if text.starts_with("/aws/service/") {
            return;
        }
        let bare = text.strip_prefix('/').unwrap_or(text).to_ascii_lowercase();
        if !(bare.starts_with("aws") || bare.starts_with("ssm")) {
            return;
        }
        let mut problem = Problem::new(
            ProblemKind::InvalidValue,
            path.clone(),
            quote(text),
            "a parameter of your account (a name SSM lets you create: not starting with `aws` or `ssm`), or one of AWS's public parameters, under `/aws/service/`",
        );
        let mut levels = text.split('/').skip(1);
        let help = match (levels.next(), levels.next()) {
            (Some(first), Some(second))
                if first.eq_ignore_ascii_case("aws") && closest(second, &["service"]).is_some() =>
            {
                let rest = text.splitn(4, '/').nth(3).unwrap_or_default();
                if rest.is_empty() {
                    "AWS's public parameters are named `/aws/service/...`, such as `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64`".to_owned()
                } else {
                    format!("did you mean `/aws/service/{rest}`?")
                }
            }
            _ => "SSM reserves names that start with `aws` or `ssm` (in any case): no parameter of this name can exist".to_owned(),
        };
        problem = problem.with_help(help);
        self.report(Report::value(), problem);
    }

    fn ami_config(&mut self, t: &Template, config: &AmiConfig) {
        let base = p("ami_config");
        if let Some(name) = &config.ssm_parameter {
            self.parameter(name, &base.key("ssm_parameter"));
        }
        let per_region = base.key("ssm_parameters");
        self.known_regions(&config.ssm_parameters, &per_region);
        for (region, name) in &config.ssm_parameters {
            self.parameter(name, &per_region.key(region.as_str()));
        }
        self.known_regions(&config.ami_mappings, &base.key("ami_mappings"));
        if let Some(search) = &config.ami_search {
            self.search(search, &base.key("ami_search"));
        }
        if let Some(market) = &config.marketplace_search {
            self.marketplace(market, &base.key("marketplace_search"));
        }
        self.strategy(t, config);
        self.positive(
            config.fallback_timeout,
            base.key("fallback_timeout"),
            "deadline",
        );
        self.bounded(
            config.fallback_timeout,
            base.key("fallback_timeout"),
            &FALLBACK_TIMEOUT_BOUND,
        );
        self.architectures(t, config);
        self.families(config);
    }

    /// ami_required never runs the script; every other path to the script needs one.
    fn strategy(&mut self, t: &Template, config: &AmiConfig) {
        let strategy_path = p("ami_config.strategy");
        let fallback_path = p("ami_config.fallback_strategy");
        let fallback_written = self.written(&fallback_path);
        let (fallback_anchor, default_note) = if fallback_written {
            (fallback_path.clone(), "")
        } else if self.written(&strategy_path) {
            (
                strategy_path.clone(),
                " (the default when `fallback_strategy` is absent)",
            )
        } else {
            (
                p("ami_config"),
                " (the default when `fallback_strategy` is absent)",
            )
        };
        if config.strategy == AmiStrategy::AmiRequired
            && config.fallback_strategy == FallbackStrategy::ScriptProvisioning
        {
            self.report(
                Report::value()
                    .at(fallback_anchor.clone())
                    .needs(strategy_path.clone()),
                Problem::new(
                    ProblemKind::Conflict,
                    fallback_path.clone(),
                    format!("`script_provisioning`{default_note} with `strategy: ami_required`"),
                    "`fallback_strategy: error` or `fallback_strategy: cross_region` (or `strategy: ami_preferred` to allow the script)",
                )
                .with_help("ami_required means an image or nothing: it never runs the provisioning script"),
            );
            return;
        }
        if t.user_data.is_none() && config.script_reachable() {
            let (anchor, found) = if config.strategy == AmiStrategy::AmiFallback {
                (
                    strategy_path.clone(),
                    "`strategy: ami_fallback` (script first) but no `user_data`".to_owned(),
                )
            } else {
                (
                    fallback_anchor,
                    format!(
                        "`fallback_strategy: script_provisioning`{default_note} but no `user_data`"
                    ),
                )
            };
            self.report(
                Report::key()
                    .at(anchor)
                    .needs(strategy_path)
                    .needs(fallback_path),
                Problem::new(
                    ProblemKind::Conflict,
                    p("user_data"),
                    found,
                    "`user_data`: the script to run when no image is used",
                )
                .with_help("add `user_data`, or set `fallback_strategy: error` (or `cross_region`) so that the script is never needed"),
            );
        }
    }

    fn architectures(&mut self, t: &Template, config: &AmiConfig) {
        let allowed = config
            .ami_search
            .as_ref()
            .map(AmiSearch::architectures)
            .unwrap_or_default();
        let allowed_path = p("ami_config.ami_search.architecture");
        if let Some(preferred) = config.preferred_architecture {
            if !allowed.is_empty() && !allowed.contains(&preferred) {
                self.report(
                    Report::value().needs(allowed_path.clone()),
                    Problem::new(
                        ProblemKind::Conflict,
                        p("ami_config.preferred_architecture"),
                        format!("`{preferred}`, which `ami_search.architecture` does not allow"),
                        format!("one of the allowed architectures: {}", arch_list(allowed)),
                    )
                    .with_help(format!("add {preferred} to ami_config.ami_search.architecture, or prefer one it lists")),
                );
            } else if let Some(default_type) = &t.instance_type {
                let launchable =
                    !t.instance_types.is_empty() || !config.instance_family_preference.is_empty();
                if !launchable && !default_type.runs(preferred) {
                    self.report(
                        Report::value().needs(p("instance_type")),
                        Problem::new(
                            ProblemKind::Conflict,
                            p("ami_config.preferred_architecture"),
                            format!("`{preferred}`, but `instance_type: {default_type}` runs {}", arch_list(default_type.architectures())),
                            format!("an instance type for {preferred}"),
                        )
                        .with_help(format!("add `instance_types: {{{preferred}: ...}}` or a {preferred} family to instance_family_preference")),
                    );
                }
            }
        }
        if let Some(default_type) = &t.instance_type {
            let covered = allowed
                .iter()
                .any(|a| default_type.runs(*a) || t.instance_types.contains_key(a));
            if !allowed.is_empty() && !covered && config.instance_family_preference.is_empty() {
                self.report(
                    Report::value().needs(allowed_path),
                    Problem::new(
                        ProblemKind::Conflict,
                        p("instance_type"),
                        format!("{} (runs {})", quote(default_type.as_str()), arch_list(default_type.architectures())),
                        format!("an instance type that runs an architecture `ami_search.architecture` allows: {}", arch_list(allowed)),
                    ),
                );
            }
        }
    }

    fn families(&mut self, config: &AmiConfig) {
        let base = p("ami_config.instance_family_preference");
        let allowed = config
            .ami_search
            .as_ref()
            .map(AmiSearch::architectures)
            .unwrap_or_default();
        let mut seen = BTreeSet::new();
        for (i, family) in config.instance_family_preference.iter().enumerate() {
            let path = base.index(i);
            let as_type = InstanceType::new(format!("{family}.large"));
            let Ok(probe) = as_type
                .as_ref()
                .map_err(|_| ())
                .and_then(|t| if t.family() == family { Ok(t) } else { Err(()) })
            else {
                let mut problem = Problem::new(
                    ProblemKind::InvalidValue,
                    path,
                    quote(family),
                    "an instance family such as \"m6i\" or \"t4g\" (an instance type without its size)",
                );
                if let Ok(t) = family.parse::<InstanceType>() {
                    problem = problem.with_help(format!("did you mean `{}`?", t.family()));
                }
                self.report(Report::value(), problem);
                continue;
            };
            if !seen.insert(family.as_str()) {
                self.report(
                    Report::value(),
                    Problem::new(
                        ProblemKind::InvalidValue,
                        path,
                        format!("{} a second time", quote(family)),
                        "each family once",
                    ),
                );
                continue;
            }
            if !allowed.is_empty() && !allowed.iter().any(|a| probe.runs(*a)) {
                self.report(
                    Report::value().needs(p("ami_config.ami_search.architecture")),
                    Problem::new(
                        ProblemKind::Conflict,
                        path,
                        format!("{} (runs {})", quote(family), arch_list(probe.architectures())),
                        format!("a family that runs an architecture `ami_search.architecture` allows: {}", arch_list(allowed)),
                    ),
                );
            }
        }
    }

    fn search(&mut self, search: &AmiSearch, path: &FieldPath) {
        if search.all_owners().is_empty() {
            self.report(
                Report::key().needs(path.key("owner")).needs(path.key("owners")),
                Problem::new(
                    ProblemKind::Conflict,
                    path.clone(),
                    "a search with no `owner`",
                    "`owner` (or `owners`): the accounts whose images you trust, such as `owner: amazon`, `owner: \"111122223333\"` or a named owner such as `owner: prism-community`",
                )
                .with_help("without an owner, EC2 searches every public image, and anyone can publish one with a matching name: a stranger's newer image would be chosen (name-squatting)"),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, owner) in search.owners.iter().enumerate() {
            if !seen.insert(owner) || search.owner.as_ref() == Some(owner) {
                self.report(
                    Report::value(),
                    Problem::new(
                        ProblemKind::InvalidValue,
                        path.key("owners").index(i),
                        format!("{} a second time", quote(owner.as_str())),
                        "each owner once",
                    ),
                );
            }
        }
        if search.name_pattern.is_none() && search.required_tags.is_empty() {
            self.report(
                Report::key().needs(path.key("name_pattern")).needs(path.key("required_tags")),
                Problem::new(
                    ProblemKind::MissingField,
                    path.clone(),
                    "a search with neither `name_pattern` nor `required_tags`",
                    "`name_pattern` (e.g. \"cws-python-ml-*\") or `required_tags`, to say which of the owner's images fit",
                )
                .with_help("otherwise the owner's newest image of any kind would be chosen"),
            );
        }
        if let Some(pattern) = &search.name_pattern {
            let bad = |c: char| !(c.is_ascii_alphanumeric() || "()[] ./-'@_*?".contains(c));
            if pattern.is_empty() || pattern.len() > 128 || pattern.chars().any(bad) {
                self.report(
                    Report::value(),
                    Problem::new(
                        ProblemKind::InvalidValue,
                        path.key("name_pattern"),
                        quote(pattern),
                        "an image name pattern of 1 to 128 characters: letters, digits, spaces and ( ) [ ] . / - ' @ _, with `*` and `?` as wildcards",
                    ),
                );
            }
        }
        if let Some(tag) = &search.version_tag {
            if tag.trim().is_empty() {
                self.report(
                    Report::value(),
                    Problem::new(
                        ProblemKind::InvalidValue,
                        path.key("version_tag"),
                        quote(tag),
                        "a non-empty version such as \"v2.1.0\"",
                    ),
                );
            } else if let Some(req) = &search.version_constraint {
                let bare = tag.strip_prefix('v').unwrap_or(tag);
                if let Ok(version) = semver::Version::parse(bare)
                    && !req.matches(&version)
                {
                    self.report(
                        Report::value().needs(path.key("version_constraint")),
                        Problem::new(
                            ProblemKind::Conflict,
                            path.key("version_tag"),
                            format!("{} outside `version_constraint: \"{req}\"`", quote(tag)),
                            "a version the constraint allows (or drop one of the two)",
                        ),
                    );
                }
            }
        }
        let mut seen = BTreeSet::new();
        if let crate::OneOrMany::Many(list) = &search.architecture {
            for (i, arch) in list.iter().enumerate() {
                if !seen.insert(*arch) {
                    self.report(
                        Report::value(),
                        Problem::new(
                            ProblemKind::InvalidValue,
                            path.key("architecture").index(i),
                            format!("`{arch}` a second time"),
                            "each architecture once",
                        ),
                    );
                }
            }
        }
        for key in search.required_tags.keys() {
            if key.trim().is_empty() || key.len() > 128 {
                self.report(
                    Report::key(),
                    Problem::new(
                        ProblemKind::InvalidValue,
                        path.key("required_tags").key(key.as_str()),
                        quote(key),
                        "a tag key of 1 to 128 characters",
                    ),
                );
            }
        }
    }

    fn marketplace(&mut self, market: &MarketplaceSearch, path: &FieldPath) {
        let code = &market.product_code;
        let ok = !code.is_empty()
            && code.len() <= 255
            && code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            self.report(
                Report::value(),
                Problem::new(
                    ProblemKind::InvalidValue,
                    path.key("product_code"),
                    quote(code),
                    "an AWS Marketplace product code: letters, digits, '-' and '_'",
                ),
            );
        }
    }
}

fn arch_list(archs: &[Architecture]) -> String {
    archs
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use crate::{AmiStrategy, FallbackStrategy, ProblemKind, Template};

    fn template(text: &str) -> Template {
        Template::from_yaml_str(text, "t.yml").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn templates_can_be_built_in_code() {
        let mut t = Template::new("built");
        assert!(t.validate().is_err(), "neither ami_config nor user_data");
        t.ami_config = Some(crate::AmiConfig {
            marketplace_search: Some(crate::MarketplaceSearch::new("prod-code")),
            fallback_strategy: FallbackStrategy::Error,
            ..Default::default()
        });
        assert_eq!(t.validate(), Ok(()));
        let again = Template::from_yaml_str(&t.to_yaml_string(), "t.yml").unwrap();
        assert_eq!(again, t);
    }

    #[test]
    fn templates_built_in_code_are_checked_too() {
        let mut t = template("name: x\nuser_data: \"#!/bin/sh\\n\"\nami_config: {}\n");
        assert!(t.validate().is_ok());
        let config = t.ami_config.as_mut().unwrap();
        config.strategy = AmiStrategy::AmiRequired;
        config.fallback_strategy = FallbackStrategy::ScriptProvisioning;
        let err = t.validate().unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert_eq!(err.problems[0].kind, ProblemKind::Conflict);
        assert_eq!(
            err.problems[0].path.to_string(),
            "ami_config.fallback_strategy"
        );
        assert!(err.problems[0].location.is_none());
    }

    #[test]
    fn script_reachability_follows_strategy_and_fallback() {
        let cases = [
            ("ami_preferred", "script_provisioning", true),
            ("ami_preferred", "error", false),
            ("ami_preferred", "cross_region", false),
            ("ami_fallback", "error", true),
            ("ami_required", "error", false),
            ("ami_required", "cross_region", false),
        ];
        for (strategy, fallback, reachable) in cases {
            let t = template(&format!(
                "name: x\nuser_data: \"#!/bin/sh\\n\"\nami_config: {{strategy: {strategy}, fallback_strategy: {fallback}}}\n"
            ));
            assert_eq!(t.script_reachable(), reachable, "{strategy} {fallback}");
        }
        assert!(template("name: x\nuser_data: \"#!/bin/sh\\n\"\n").script_reachable());
    }

    #[test]
    fn a_problem_is_reported_once_not_as_a_cascade() {
        // The owner is malformed: "no owner" must not be reported as well.
        let err = Template::from_yaml_str(
            "name: x\nuser_data: \"#!/bin/sh\\n\"\nami_config:\n  ami_search:\n    owner: Not Valid\n    name_pattern: x-*\n",
            "t.yml",
        )
        .unwrap_err();
        assert_eq!(err.problems().len(), 1, "{err}");
    }

    #[test]
    fn user_data_larger_than_ec2_allows_is_refused() {
        let big = format!("#!/bin/sh\n{}\n", "x".repeat(super::USER_DATA_MAX_BYTES));
        let text = format!(
            "name: x\nuser_data: {}\n",
            serde_json::to_string(&big).unwrap()
        );
        let err = Template::from_yaml_str(&text, "t.yml").unwrap_err();
        assert!(err.to_string().contains("EC2's limit"), "{err}");
    }
}
