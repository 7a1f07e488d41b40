//! SSM parameters as image sources (`ami_config.ssm_parameter`, `ssm_parameters`,
//! `base_image: {ssm_parameter: ...}`) and the maxima of durations: what is accepted, and
//! what is refused, with the exact location and message.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::time::Duration;

use amiref_core::{ParameterName, Region};
use amiref_template::{
    AmiConfig, AmiSearch, BaseImage, FallbackStrategy, HumanDuration, MAX_FALLBACK_TIMEOUT,
    MAX_PROVISIONING_TIME, ProblemKind, Template,
};

const SCRIPT: &str = "user_data: |\n  #!/bin/bash\n  echo provisioning\n";
const AL2023: &str = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

fn load(text: &str) -> Template {
    Template::from_yaml_str(text, "t.yml").unwrap_or_else(|e| panic!("{e}\n---\n{text}"))
}

/// The error's lines (problems and their help), as the launcher prints them.
fn error(text: &str) -> Vec<String> {
    match Template::from_yaml_str(text, "t.yml") {
        Ok(_) => panic!("loaded without error:\n{text}"),
        Err(e) => e.to_string().lines().map(str::to_owned).collect(),
    }
}

fn name(s: &str) -> ParameterName {
    ParameterName::new(s).unwrap()
}

fn region(s: &str) -> Region {
    s.parse().unwrap()
}

// ---- ami_config.ssm_parameter and ssm_parameters ------------------------------------

#[test]
fn a_parameter_for_every_region_and_overrides_per_region() {
    let t = load(&format!(
        "name: x\nami_config:\n  ssm_parameter: /golden/python-ml/x86_64\n  ssm_parameters:\n    eu-west-1: /golden/eu/python-ml/x86_64\n    ap-south-1: golden-flat-name\n{SCRIPT}"
    ));
    let config = t.ami_config.as_ref().unwrap();
    assert_eq!(
        config.ssm_parameter.as_ref().unwrap().as_str(),
        "/golden/python-ml/x86_64"
    );
    assert_eq!(config.ssm_parameters.len(), 2);
    let in_region = |r: &str| config.ssm_parameter_in(&region(r)).map(|n| n.as_str());
    assert_eq!(in_region("us-east-1"), Some("/golden/python-ml/x86_64"));
    assert_eq!(in_region("eu-west-1"), Some("/golden/eu/python-ml/x86_64"));
    assert_eq!(in_region("ap-south-1"), Some("golden-flat-name"));

    // Per region only: no parameter elsewhere.
    let t = load(&format!(
        "name: x\nami_config:\n  ssm_parameters: {{eu-west-1: /golden/eu}}\n{SCRIPT}"
    ));
    let config = t.ami_config.unwrap();
    assert_eq!(config.ssm_parameter_in(&region("us-east-1")), None);
    assert_eq!(
        config.ssm_parameter_in(&region("eu-west-1")),
        Some(&name("/golden/eu"))
    );
}

#[test]
fn aws_public_parameters_are_accepted_as_sources() {
    let t = load(&format!(
        "name: x\nami_config:\n  ssm_parameter: /aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id\n  fallback_strategy: error\n{SCRIPT}"
    ));
    assert!(t.ami_config.unwrap().ssm_parameter.is_some());
}

#[test]
fn a_malformed_parameter_name_is_located_at_its_value() {
    assert_eq!(
        error(&format!(
            "name: x\nami_config:\n  ssm_parameter: /golden/python ml\n{SCRIPT}"
        )),
        [
            "t.yml:3:18: ami_config.ssm_parameter: found \"/golden/python ml\", expected an SSM parameter name: letters, digits, '_', '.', '-', levels separated by '/' with a leading '/', at most 15 levels and 2048 characters, e.g. \"/golden/python-ml/x86_64\""
        ]
    );
    let lines = error(&format!(
        "name: x\nami_config:\n  ssm_parameters:\n    us-east-1: [/golden/x]\n{SCRIPT}"
    ));
    assert!(
        lines[0].starts_with(
            "t.yml:4:16: ami_config.ssm_parameters.us-east-1: found a list, expected an SSM parameter name"
        ),
        "{lines:?}"
    );
    let deep = "/a".repeat(16);
    let lines = error(&format!(
        "name: x\nami_config:\n  ssm_parameter: {deep}\n{SCRIPT}"
    ));
    assert!(
        lines[0].starts_with("t.yml:3:18: ami_config.ssm_parameter: found \"/a/a/a"),
        "{lines:?}"
    );
}

#[test]
fn ssm_parameters_keys_are_known_regions_with_a_suggestion() {
    assert_eq!(
        error(&format!(
            "name: x\nami_config:\n  ssm_parameters:\n    us-wset-2: /golden/x\n{SCRIPT}"
        )),
        [
            "t.yml:4:5: ami_config.ssm_parameters.us-wset-2: found \"us-wset-2\", expected a region AWS has, such as \"us-east-1\"",
            "  help: did you mean `us-west-2`?",
        ]
    );
    assert_eq!(
        error(&format!(
            "name: x\nami_config:\n  ssm_parameters:\n    Mars: /golden/x\n{SCRIPT}"
        )),
        [
            "t.yml:4:5: ami_config.ssm_parameters.Mars: found \"Mars\", expected an AWS region code such as \"us-east-1\" (lowercase words joined by '-', ending in a number)",
        ]
    );
}

#[test]
fn names_ssm_reserves_are_refused_unless_aws_public() {
    for reserved in [
        "/aws/golden",
        "/AWS/service/golden",
        "/ssm/golden",
        "awsGolden",
        "SSM-golden",
        "/awsome/x",
    ] {
        let lines = error(&format!(
            "name: x\nami_config:\n  ssm_parameter: {reserved}\n{SCRIPT}"
        ));
        assert!(
            lines[0].starts_with(&format!(
                "t.yml:3:18: ami_config.ssm_parameter: found \"{reserved}\", expected a parameter of your account (a name SSM lets you create: not starting with `aws` or `ssm`), or one of AWS's public parameters, under `/aws/service/`"
            )),
            "{lines:?}"
        );
    }
    assert_eq!(
        error(&format!(
            "name: x\nbase_image: {{ssm_parameter: /aws/services/x}}\n{SCRIPT}"
        ))[1],
        "  help: did you mean `/aws/service/x`?"
    );
    assert_eq!(
        error(&format!(
            "name: x\nami_config: {{ssm_parameter: /ssm/x}}\n{SCRIPT}"
        ))[1],
        "  help: SSM reserves names that start with `aws` or `ssm` (in any case): no parameter of this name can exist"
    );
    // Names that merely contain the words are the caller's own.
    for own in ["/golden/aws/x", "/team-ssm/x", "/a/ssm", "/golden/awsome"] {
        load(&format!(
            "name: x\nami_config:\n  ssm_parameter: {own}\n{SCRIPT}"
        ));
    }
}

#[test]
fn ssm_fields_at_the_wrong_level_say_where_they_belong() {
    let lines = error(&format!("name: x\nssm_parameter: /golden/x\n{SCRIPT}"));
    assert_eq!(
        lines[1],
        "  help: `ssm_parameter` is a field of ami_config and of base_image: check its indentation"
    );
    assert!(lines[0].starts_with("t.yml:2:1: ssm_parameter: found unknown field"));
    let lines = error(&format!(
        "name: x\nami_config:\n  ssm_paramter: /golden/x\n{SCRIPT}"
    ));
    assert_eq!(lines[1], "  help: did you mean `ssm_parameter`?");
}

// ---- base_image ---------------------------------------------------------------------

#[test]
fn base_image_is_a_parameter_or_a_search() {
    let t = load(&format!(
        "name: x\nbase_image:\n  ssm_parameter: {AL2023}\n{SCRIPT}"
    ));
    let base = t.base_image.as_ref().unwrap();
    assert_eq!(base.parameter(), Some(&name(AL2023)));
    assert_eq!(base.search(), None);
    assert_eq!(base, &BaseImage::from(name(AL2023)));

    let t = load(&format!(
        "name: x\nbase_image:\n  owner: amazon\n  name_pattern: al2023-ami-*\n{SCRIPT}"
    ));
    let base = t.base_image.as_ref().unwrap();
    assert_eq!(base.parameter(), None);
    let search = base.search().unwrap();
    assert_eq!(search.name_pattern.as_deref(), Some("al2023-ami-*"));
    assert_eq!(base, &BaseImage::from(search.clone()));
}

#[test]
fn base_image_combining_a_parameter_and_a_search_is_refused() {
    assert_eq!(
        error(&format!(
            "name: x\nbase_image:\n  ssm_parameter: {AL2023}\n  owner: amazon\n{SCRIPT}"
        )),
        [
            "t.yml:2:1: base_image: found `ssm_parameter` together with the search fields `owner`, expected either `ssm_parameter` (an SSM parameter whose value is the image id) or a search (`owner`, `name_pattern`, ...), not both in one base_image",
            "  help: the parameter names the image itself, so the search would never be used: keep one of the two",
        ]
    );
    // serde's reading (for documents this crate wrote) refuses it too.
    let text = format!("name: x\nbase_image:\n  ssm_parameter: {AL2023}\n  owner: amazon\n");
    assert!(amiref_yaml::from_str::<Template>(&text, "t.yml").is_err());
    // And the search rules do not also fire on the search half.
    assert_eq!(
        error(&format!(
            "name: x\nbase_image: {{ssm_parameter: {AL2023}, required_tags: {{a: b}}, include_deprecated: true}}\n{SCRIPT}"
        ))
        .len(),
        2
    );
}

#[test]
fn base_image_parameter_names_are_validated_and_located() {
    assert_eq!(
        error(&format!(
            "name: x\nbase_image:\n  ssm_parameter: no spaces allowed\n{SCRIPT}"
        )),
        [
            "t.yml:3:18: base_image.ssm_parameter: found \"no spaces allowed\", expected an SSM parameter name: letters, digits, '_', '.', '-', levels separated by '/' with a leading '/', at most 15 levels and 2048 characters, e.g. \"/golden/python-ml/x86_64\""
        ]
    );
    assert_eq!(
        error(&format!("name: x\nbase_image:\n  ssm_parameter:\n{SCRIPT}"))[0],
        "t.yml:3:17: base_image.ssm_parameter: found an empty value, expected an SSM parameter name: letters, digits, '_', '.', '-', levels separated by '/' with a leading '/', at most 15 levels and 2048 characters, e.g. \"/golden/python-ml/x86_64\""
    );
    let lines = error(&format!("name: x\nbase_image: {AL2023}\n{SCRIPT}"));
    assert!(
        lines[0].starts_with("t.yml:2:13: base_image: found \"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-defau…\", expected a mapping: `ssm_parameter: NAME` (an SSM parameter whose value is the image id), or a search with the fields owner, owners,"),
        "{lines:?}"
    );
    let lines = error(&format!(
        "name: x\nbase_image:\n  ssm_parameter: {AL2023}\n  ssm_parameters: {{}}\n{SCRIPT}"
    ));
    assert!(
        lines[0].starts_with("t.yml:4:3: base_image.ssm_parameters: found unknown field `ssm_parameters`, expected one of the fields of base_image: ssm_parameter, owner, owners,"),
        "{lines:?}"
    );
    assert_eq!(lines[1], "  help: did you mean `ssm_parameter`?");
}

#[test]
fn base_image_searches_keep_the_owner_rules() {
    assert_eq!(
        error(&format!(
            "name: x\nbase_image:\n  name_pattern: al2023-ami-*\n{SCRIPT}"
        ))[0],
        "t.yml:2:1: base_image: found a search with no `owner`, expected `owner` (or `owners`): the accounts whose images you trust, such as `owner: amazon`, `owner: \"111122223333\"` or a named owner such as `owner: prism-community`"
    );
    assert_eq!(
        error(&format!(
            "name: x\nbase_image:\n  owner: 111122223333\n  name_pattern: al2023-ami-*\n{SCRIPT}"
        ))[0],
        "t.yml:3:10: base_image.owner: found the number `111122223333`, expected an owner written as text"
    );
    // Named owners stay allowed (a trust policy maps them).
    load(&format!(
        "name: x\nbase_image:\n  owner: prism-community\n  name_pattern: cws-base-*\n{SCRIPT}"
    ));
    // An unknown field of a search base image lists the parameter among the fields.
    let lines = error(&format!(
        "name: x\nbase_image:\n  owner: amazon\n  name_patern: al2023-*\n{SCRIPT}"
    ));
    assert!(
        lines[0].contains("expected one of the fields of base_image: ssm_parameter, owner,"),
        "{lines:?}"
    );
    assert_eq!(lines[1], "  help: did you mean `name_pattern`?");
}

#[test]
fn templates_built_in_code_with_parameters_validate_and_round_trip() {
    let mut t = Template::new("built");
    t.user_data = Some("#!/bin/bash\n".into());
    t.base_image = Some(name(AL2023).into());
    let mut config = AmiConfig::default();
    config.ssm_parameter = Some(name("/golden/python-ml/x86_64"));
    config
        .ssm_parameters
        .insert(region("eu-west-1"), name("/golden/eu/python-ml"));
    config.fallback_strategy = FallbackStrategy::ScriptProvisioning;
    t.ami_config = Some(config);
    assert_eq!(t.validate(), Ok(()));

    let yaml = t.to_yaml_string();
    assert!(yaml.contains(&format!("ssm_parameter: {AL2023}")), "{yaml}");
    assert_eq!(load(&yaml), t);
    let json = serde_json::to_string(&t).unwrap();
    assert_eq!(serde_json::from_str::<Template>(&json).unwrap(), t);
    assert_eq!(load(&json), t);
    assert_eq!(
        amiref_yaml::from_str::<Template>(&yaml, "t.yml").unwrap(),
        t
    );

    // Code-built templates get the same checks, without locations.
    let config = t.ami_config.as_mut().unwrap();
    config.ssm_parameters.insert(region("eu-wst-1"), name("/x"));
    config.ssm_parameter = Some(name("/aws/golden"));
    let err = t.validate().unwrap_err();
    let paths: Vec<String> = err.problems.iter().map(|p| p.path.to_string()).collect();
    assert_eq!(
        paths,
        [
            "ami_config.ssm_parameter",
            "ami_config.ssm_parameters.eu-wst-1"
        ]
    );
    assert!(err.problems.iter().all(|p| p.location.is_none()));
}

#[test]
fn the_new_fields_leave_existing_fingerprints_and_documents_alone() {
    let mut search = AmiSearch::default();
    search.owner = Some("amazon".parse().unwrap());
    search.name_pattern = Some("al2023-*".into());
    let mut t = Template::new("x");
    t.user_data = Some("#!/bin/bash\n".into());
    t.base_image = Some(BaseImage::Search(search));
    t.ami_config = Some(AmiConfig::default());
    let yaml = t.to_yaml_string();
    assert!(!yaml.contains("ssm_parameter"), "{yaml}");
    let json = serde_json::to_value(&t).unwrap();
    assert_eq!(
        json["base_image"],
        serde_json::json!({"owner": "amazon", "name_pattern": "al2023-*"}),
        "a search base image is written as before"
    );
    assert!(json["ami_config"].get("ssm_parameters").is_none());
}

// ---- durations ----------------------------------------------------------------------

#[test]
fn the_maxima_are_a_day() {
    assert_eq!(MAX_FALLBACK_TIMEOUT, Duration::from_secs(86_400));
    assert_eq!(MAX_PROVISIONING_TIME, Duration::from_secs(86_400));
}

#[test]
fn durations_up_to_the_maxima_are_accepted() {
    for d in ["24h", "23h59m59s", "1440m", "86400s"] {
        let t = load(&format!(
            "name: x\nprovisioning_time: {d}\nami_config:\n  fallback_timeout: {d}\n{SCRIPT}"
        ));
        assert!(
            t.provisioning_time.unwrap().get() <= MAX_PROVISIONING_TIME,
            "{d}"
        );
        let timeout = t.ami_config.unwrap().fallback_timeout.unwrap().get();
        assert!(timeout <= MAX_FALLBACK_TIMEOUT, "{d}");
    }
}

#[test]
fn a_fallback_timeout_over_a_day_is_located_and_explained() {
    for (written, shown) in [
        ("24h0m1s", "24h1s"),
        ("48h", "48h"),
        ("1441m", "24h1m"),
        ("\"3000000000000000h\"", "3000000000000000h"),
        ("18446744073709551615s", "5124095576030431h15s"),
    ] {
        assert_eq!(
            error(&format!(
                "name: x\nami_config:\n  fallback_timeout: {written}\n{SCRIPT}"
            )),
            [
                format!(
                    "t.yml:3:21: ami_config.fallback_timeout: found \"{shown}\", longer than 24h, expected a deadline of at most 24h"
                ),
                "  help: fallback_timeout bounds the search for an image before the fallback runs, which takes seconds (minutes when a tier is slow): a deadline longer than a day is a mistake (minutes are written `m`, as in `10m`)".to_owned(),
            ],
            "{written}"
        );
    }
}

#[test]
fn a_provisioning_time_over_a_day_is_located_and_explained() {
    assert_eq!(
        error(&format!("name: x\nprovisioning_time: 25h\n{SCRIPT}")),
        [
            "t.yml:2:20: provisioning_time: found \"25h\", longer than 24h, expected a duration of at most 24h",
            "  help: provisioning_time is how long user_data takes at first boot, for estimates: a script that runs for more than a day is a build, better captured once in an image",
        ]
    );
}

#[test]
fn durations_too_large_to_count_are_the_same_located_error() {
    // Past u64 seconds: parsing (checked arithmetic) refuses; the loader says it as the
    // bound, at the value, with the text as written.
    for huge in [
        "99999999999999999999h",
        "5124095576030432h",
        "5124095576030431h15m",
        "18446744073709551616s",
    ] {
        let lines = error(&format!(
            "name: x\nprovisioning_time: {huge}\nami_config:\n  fallback_timeout: {huge}\n{SCRIPT}"
        ));
        assert_eq!(
            lines[0],
            format!(
                "t.yml:2:20: provisioning_time: found \"{huge}\", longer than 24h, expected a duration of at most 24h"
            )
        );
        assert_eq!(
            lines[2],
            format!(
                "t.yml:4:21: ami_config.fallback_timeout: found \"{huge}\", longer than 24h, expected a deadline of at most 24h"
            )
        );
    }
}

#[test]
fn code_built_durations_past_the_maxima_are_refused_not_overflowed() {
    let mut t = Template::new("x");
    t.user_data = Some("#!/bin/bash\n".into());
    t.provisioning_time = Some(HumanDuration::from(Duration::MAX));
    let mut config = AmiConfig::default();
    config.fallback_timeout = Some(HumanDuration::from(Duration::from_secs(u64::MAX)));
    t.ami_config = Some(config);
    let err = t.validate().unwrap_err();
    let found: Vec<(&str, String)> = err
        .problems
        .iter()
        .map(|p| (p.found.as_str(), p.path.to_string()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "\"5124095576030431h15s\", longer than 24h",
                "provisioning_time".to_owned()
            ),
            (
                "\"5124095576030431h15s\", longer than 24h",
                "ami_config.fallback_timeout".to_owned()
            ),
        ]
    );
    assert!(
        err.problems
            .iter()
            .all(|p| p.kind == ProblemKind::InvalidValue)
    );
    // Writing such a template out does not panic either (and reads back refused).
    let yaml = t.to_yaml_string();
    assert!(Template::from_yaml_str(&yaml, "t.yml").is_err());
}
