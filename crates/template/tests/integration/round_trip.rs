//! Random valid templates survive YAML and JSON round trips with their meaning and
//! fingerprint, including text YAML would misread if it were written unquoted.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use amiref_template::{
    AmiConfig, AmiSearch, AmiStrategy, BaseImage, BuildConfig, FallbackStrategy, MarketplaceSearch,
    OneOrMany, Template,
};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngSeed};

/// Text that YAML would read as something else, or that needs quoting or escaping.
const AWKWARD: &[&str] = &[
    "plain",
    "123",
    "0123",
    "true",
    "no",
    "null",
    "~",
    "2.1",
    "1e3",
    "- x",
    "a: b",
    "#hash",
    "[x]",
    "{x}",
    "*star",
    "&amp",
    "!bang",
    "'single'",
    "\"double\"",
    "é ü 漢字",
    "trailing ",
    "%percent",
    "@at",
    "`tick`",
    "multi\nline\n",
    "",
];

fn text() -> impl Strategy<Value = String> {
    select(AWKWARD).prop_map(str::to_owned)
}

fn search() -> impl Strategy<Value = AmiSearch> {
    (
        select(
            &[
                "amazon",
                "self",
                "aws-marketplace",
                "111122223333",
                "prism-community",
            ][..],
        ),
        prop::collection::vec(select(&["012345678901", "lab-accounts"][..]), 0..2),
        select(&["cws-*", "al2023-ami-2023.*", "Deep Learning (GPU) ?"][..]),
        prop::option::of(select(&["v2.1.0", "2.1", "0123"][..])),
        prop::option::of(select(&[">=2.0.0", "^2", "~1.5, <1.9"][..])),
        prop::option::of(prop::collection::vec(
            select(&["x86_64", "arm64"][..]),
            1..2,
        )),
        prop::collection::btree_map(select(&["Project", "true", "123"][..]), text(), 0..3),
        any::<bool>(),
    )
        .prop_map(
            |(owner, owners, pattern, tag, req, arch, tags, deprecated)| {
                let mut s = AmiSearch::default();
                s.owner = Some(owner.parse().unwrap());
                s.owners = owners.iter().map(|o| o.parse().unwrap()).collect();
                s.name_pattern = Some(pattern.to_owned());
                s.version_tag = tag.map(str::to_owned);
                // A tag outside the constraint is refused; keep the pair consistent.
                s.version_constraint = req.filter(|_| tag.is_none()).map(|r| r.parse().unwrap());
                s.architecture = match arch {
                    Some(list) if list.len() == 1 => OneOrMany::One(list[0].parse().unwrap()),
                    Some(list) => {
                        OneOrMany::Many(list.iter().map(|a| a.parse().unwrap()).collect())
                    }
                    None => OneOrMany::default(),
                };
                s.required_tags = tags.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                s.include_deprecated = deprecated;
                s
            },
        )
}

/// Parameter names, some of which YAML would misread unquoted.
const PARAMETERS: &[&str] = &[
    "/golden/python-ml/x86_64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
    "true",
    "123",
    "null",
    "2.1",
    "a.b-c_d",
];

fn parameter() -> impl Strategy<Value = amiref_core::ParameterName> {
    select(PARAMETERS).prop_map(|p| p.parse().unwrap())
}

fn base_image() -> impl Strategy<Value = BaseImage> {
    prop_oneof![
        parameter().prop_map(BaseImage::from),
        search().prop_map(BaseImage::from),
    ]
}

fn build() -> impl Strategy<Value = BuildConfig> {
    (
        prop::option::of(select(
            &[
                "#!/bin/sh\ntrue\n",
                "#!/bin/bash\n# a: b\ntest -x /usr/bin/python3\n",
            ][..],
        )),
        prop::option::of(select(&["45m", "2h", "3d"][..])),
        prop::option::of(select(&["90s", "10m"][..])),
        prop::collection::btree_map(
            select(&["x86_64", "arm64"][..]),
            select(&["m7i.2xlarge"][..]),
            0..2,
        ),
        prop::option::of(select(&["30d", "90d", "1d12h"][..])),
    )
        .prop_map(|(test, timeout, test_timeout, types, max_age)| {
            let mut b = BuildConfig::default();
            b.test = test.map(str::to_owned);
            b.timeout = timeout.map(|d| d.parse().unwrap());
            b.test_timeout = test_timeout.map(|d| d.parse().unwrap());
            b.instance_types = types
                .into_iter()
                .map(|(a, i)| (a.parse().unwrap(), i.parse().unwrap()))
                .collect();
            b.max_age = max_age.map(|d| d.parse().unwrap());
            b
        })
}

fn template() -> impl Strategy<Value = Template> {
    (resolution_fields(), prop::option::of(build()))
        .prop_map(|(mut t, build)| {
            t.build = build;
            t
        })
        .prop_filter("valid templates only", |t| t.validate().is_ok())
}

fn resolution_fields() -> impl Strategy<Value = Template> {
    (
        select(&["python-ml", "123", "true", "null", "é", "a: b", "#x"][..]),
        prop::option::of(text()),
        prop::option::of(select(&["m6i.large", "g5.xlarge", "c7gn.16xlarge"][..])),
        prop::option::of(search()),
        select(&["ami_preferred", "ami_required", "ami_fallback"][..]),
        select(&["script_provisioning", "error", "cross_region"][..]),
        prop::collection::btree_map(
            select(&["us-east-1", "eu-west-1", "ap-southeast-5"][..]),
            select(&["ami-0123456789abcdef0", "ami-12345678"][..]),
            0..3,
        ),
        prop::option::of(select(&["90s", "10m", "1h30m"][..])),
        prop::option::of(select(&["cws-python-ml-community", "prod_123"][..])),
        prop::option::of(parameter()),
        prop::collection::btree_map(
            select(&["us-east-1", "eu-west-1", "ap-southeast-5"][..]),
            parameter(),
            0..3,
        ),
        prop::option::of(base_image()),
    )
        .prop_map(
            |(
                name,
                description,
                itype,
                search,
                strategy,
                fallback,
                mappings,
                timeout,
                product,
                ssm,
                ssm_per_region,
                base,
            )| {
                let mut t = Template::new(name);
                t.description = description;
                t.instance_type = itype.map(|i| i.parse().unwrap());
                t.user_data = Some("#!/bin/bash\necho 'quoted: yes' # not a comment\n".into());
                t.base_image = base;
                let mut c = AmiConfig::default();
                c.strategy = serde_json::from_value(strategy.into()).unwrap();
                c.fallback_strategy = serde_json::from_value(fallback.into()).unwrap();
                if c.strategy == AmiStrategy::AmiRequired
                    && c.fallback_strategy == FallbackStrategy::ScriptProvisioning
                {
                    c.fallback_strategy = FallbackStrategy::Error;
                }
                c.ami_search = search;
                c.ami_mappings = mappings
                    .into_iter()
                    .map(|(r, a)| (r.parse().unwrap(), a.parse().unwrap()))
                    .collect();
                c.fallback_timeout = timeout.map(|d| d.parse().unwrap());
                c.marketplace_search = product.map(MarketplaceSearch::new);
                c.ssm_parameter = ssm;
                c.ssm_parameters = ssm_per_region
                    .into_iter()
                    .map(|(r, p)| (r.parse().unwrap(), p))
                    .collect();
                t.ami_config = Some(c);
                t
            },
        )
}

proptest! {
    #![proptest_config(Config {
        cases: 256,
        rng_seed: RngSeed::Fixed(0x0a11_7e57),
        failure_persistence: None,
        ..Config::default()
    })]

    #[test]
    fn yaml_and_json_round_trips_keep_meaning(t in template()) {
        let yaml = t.to_yaml_string();
        let from_yaml = Template::from_yaml_str(&yaml, "rt.yml")
            .unwrap_or_else(|e| panic!("{e}\n---\n{yaml}"));
        prop_assert_eq!(&from_yaml, &t, "{}", yaml);
        prop_assert_eq!(from_yaml.fingerprint(), t.fingerprint());
        prop_assert_eq!(from_yaml.build_fingerprint(), t.build_fingerprint());

        let json = serde_json::to_string(&t).unwrap();
        let from_json = Template::from_yaml_str(&json, "rt.json")
            .unwrap_or_else(|e| panic!("{e}\n---\n{json}"));
        prop_assert_eq!(&from_json, &t, "{}", json);
        let by_serde: Template = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&by_serde, &t);
    }
}
