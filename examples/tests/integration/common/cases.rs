//! Every launcher command, run to each exit code it can end with: the table that the
//! exit-code test runs for people and the JSON-contract test runs with `--output json`.
//! The cases run in order in one sandbox on the demo world (its state carries from one to
//! the next, as it does for a user), so a later case may use what an earlier one made.

use std::ffi::OsString;
use std::path::Path;

use super::{Sandbox, repo_root, templates_dir};

/// The lab's own image in the demo world (used by an instance and a launch template).
pub(crate) const LAB_IMAGE: &str = "ami-0f00dfeed0000cafe";
/// A stranger's image (the community's python-ml 2.1.0).
pub(crate) const STRANGERS_IMAGE: &str = "ami-0123456789abcdef0";
/// The demo world's running instance.
pub(crate) const INSTANCE: &str = "i-0123456789abcdef0";
/// The demo world's Marketplace product, and the role Marketplace assumes.
pub(crate) const PRODUCT: &str = "prod-cwspyml2x7k4q";
pub(crate) const ACCESS_ROLE: &str = "arn:aws:iam::123456789012:role/MarketplaceAmiIngestion";

/// `publishing.marketplace` less its `product_id`.
const PUBLISHING: &str = "publishing:\n  marketplace:\n    offer_id: offer-cwspyml2x7k4q\n    access_role_arn: arn:aws:iam::123456789012:role/MarketplaceAmiIngestion\n    instance_types: [m6i.large]\n    recommended_instance_type: m6i.large\n";

/// One command line and the exit code it must end with.
pub(crate) struct Case {
    /// The subcommand path, `ami share`.
    pub(crate) command: &'static str,
    /// Everything after the program name.
    pub(crate) args: Vec<OsString>,
    /// The exit code.
    pub(crate) code: i32,
    /// Whether it runs on the demo world (else with no world: a command needing none).
    pub(crate) on_demo: bool,
}

impl Case {
    /// The case's command line, ready to run in `sandbox`.
    pub(crate) fn command(&self, sandbox: &Sandbox) -> assert_cmd::Command {
        let mut cmd = if self.on_demo {
            sandbox.on_demo()
        } else {
            sandbox.amiref()
        };
        cmd.args(&self.args).write_stdin("");
        cmd
    }

    /// How the case reads in a failure message.
    pub(crate) fn label(&self) -> String {
        let args: Vec<_> = self.args.iter().map(|a| a.to_string_lossy()).collect();
        format!("`amiref {}` (expected exit {})", args.join(" "), self.code)
    }
}

fn case(command: &'static str, rest: &[&dyn AsRef<std::ffi::OsStr>], code: i32) -> Case {
    let rest: Vec<OsString> = rest.iter().map(|a| a.as_ref().to_owned()).collect();
    case_of(command, rest, code)
}

fn case_of(command: &'static str, rest: Vec<OsString>, code: i32) -> Case {
    let mut args: Vec<OsString> = command.split(' ').map(OsString::from).collect();
    args.extend(rest);
    Case {
        command,
        args,
        code,
        on_demo: true,
    }
}

fn without_world(mut c: Case) -> Case {
    c.on_demo = false;
    c
}

/// A template whose only way is an image in us-east-1: nothing elsewhere.
pub(crate) fn strict_template(sandbox: &Sandbox) -> std::path::PathBuf {
    sandbox.write(
        "strict.yml",
        "name: strict\ninstance_type: m6i.large\nami_config:\n  strategy: ami_required\n  ami_mappings:\n    us-east-1: ami-0123456789abcdef0\n  fallback_strategy: error\n",
    )
}

/// python-ml with a cross-region fallback and no script: ap-south-1 must copy.
pub(crate) fn cross_region_template(sandbox: &Sandbox) -> std::path::PathBuf {
    sandbox.write(
        "python-ml-xr.yml",
        r#"name: python-ml-xr
instance_types:
  x86_64: m6i.large
  arm64: m7g.large
ami_config:
  ami_search:
    owner: prism-community
    name_pattern: "cws-python-ml-*"
    version_constraint: ">=2.0.0, <3"
    architecture: [x86_64, arm64]
  fallback_strategy: cross_region
"#,
    )
}

/// Every command, to each of its exit codes, in an order that works in one sandbox. The
/// sandbox's configuration names the example templates and the `lab` community (its
/// registry shared with the lab and a colleague, signed with the key `registry keygen`
/// makes first).
pub(crate) fn cases(sandbox: &Sandbox) -> Vec<Case> {
    let dir: &Path = sandbox.path();
    let lab_registry = sandbox.write(
        "lab-community.yml",
        "schema_version: 1\nsharing:\n  accounts: [\"123456789012\", \"210987654321\"]\ncommunity_amis: {}\n",
    );
    let strict = strict_template(sandbox);
    let xr = cross_region_template(sandbox);
    let bad = sandbox.write("bad.yml", "name: [b]\n");
    let key = dir.join("lab.key");
    let trust = dir.join("trust.yml");
    let registry = dir.join("community.yml");
    if !registry.exists() {
        std::fs::copy(
            repo_root().join("examples/registry/community.yml"),
            &registry,
        )
        .unwrap();
    }
    // A publishing profile with everything but the product, which `ami publish` is given.
    sandbox.config(&format!(
        "templates: [{:?}]\ncommunities:\n  lab:\n    registry: {:?}\n    key: {:?}\n{PUBLISHING}",
        templates_dir().display().to_string(),
        lab_registry.display().to_string(),
        key.display().to_string(),
    ));
    let demo_trust = repo_root().join("examples/registry/trust.yml");
    let demo_registry = repo_root().join("examples/registry/community.yml");
    let entry = [
        &"--template" as &dyn AsRef<std::ffi::OsStr>,
        &"genomics-pipeline",
        &"--version",
        &"1.0.0",
    ];
    let demo_registries = [
        &"--image-registry" as &dyn AsRef<std::ffi::OsStr>,
        &demo_registry,
        &"--image-registry-keys",
        &demo_trust,
    ];
    let with = |first: &[&dyn AsRef<std::ffi::OsStr>], rest: &[&dyn AsRef<std::ffi::OsStr>]| {
        let mut all: Vec<OsString> = first.iter().map(|a| a.as_ref().to_owned()).collect();
        all.extend(rest.iter().map(|a| a.as_ref().to_owned()));
        all
    };
    let share_community = with(&[&LAB_IMAGE, &"--community", &"lab"], &entry);
    let share_strangers = with(&[&STRANGERS_IMAGE, &"--community", &"lab"], &entry);
    let share_unknown = with(&[&LAB_IMAGE, &"--community", &"nobody"], &entry);
    let list = with(&[&"--template", &"python-ml"], &demo_registries);
    let rate = |stars: &'static str| {
        with(
            &[&"python-ml", &"v2.1.0", &"--stars", &stars],
            &demo_registries,
        )
    };
    let publish = |rest: &[&dyn AsRef<std::ffi::OsStr>]| {
        let given: [&dyn AsRef<std::ffi::OsStr>; 6] = [
            &LAB_IMAGE,
            &"--marketplace",
            &"--version",
            &"2.2.0",
            &"--product",
            &PRODUCT,
        ];
        with(&given, rest)
    };
    let verify = |trust: &Path| with(&[&registry, &"--image-registry-keys", &trust], &[]);
    vec![
        without_world(case("template schema", &[], 0)),
        without_world(case("template schema", &[&"--no-such-option"], 2)),
        without_world(case("template validate", &[&"examples/templates"], 0)),
        without_world(case("template validate", &[&bad], 1)),
        without_world(case("template validate", &[], 2)),
        case(
            "launch",
            &[&"python-ml", &"r", &"--dry-run", &"--show-ami-resolution"],
            0,
        ),
        case("launch", &[&"python-ml", &"r", &"--dry-run"], 0),
        case("launch", &[&"python-ml", &"r"], 0),
        case("launch", &[&"no-such-template", &"r"], 2),
        case("launch", &[&strict, &"r", &"--region", &"eu-west-1"], 1),
        case("launch", &[&xr, &"r", &"--region", &"ap-south-1"], 3),
        case(
            "launch",
            &[&xr, &"r", &"--region", &"ap-south-1", &"--yes"],
            0,
        ),
        case("ami resolve", &[&"python-ml"], 0),
        case("ami resolve", &[&strict, &"--region", &"eu-west-1"], 1),
        case("ami resolve", &[&bad], 2),
        case("ami test", &[&"python-ml", &"--all-regions"], 0),
        case(
            "ami test",
            &[&strict, &"--regions", &"us-east-1,eu-west-1"],
            1,
        ),
        case("ami test", &[&"python-ml", &"--regions", &"us-eest-1"], 2),
        case_of("ami list", list, 0),
        case(
            "ami list",
            &[
                &"--template",
                &"python-ml",
                &"--image-registry",
                &"no-such.yml",
                &"--image-registry-keys",
                &demo_trust,
            ],
            2,
        ),
        case_of("ami rate", rate("4"), 0),
        case_of("ami rate", rate("6"), 2),
        case("ami rate", &[&"python-ml", &"v2.1.0", &"--stars", &"4"], 2),
        case(
            "ami create",
            &[&"python-ml", &INSTANCE, &"--name", &"python-ml-test"],
            0,
        ),
        case("ami create", &[&"python-ml", &"i-0000000000000dead"], 2),
        case("ami create", &[&"no-such-template", &INSTANCE], 2),
        case(
            "ami create-multi",
            &[
                &"python-ml",
                &INSTANCE,
                &"--regions",
                &"us-east-1,us-west-2",
                &"--name",
                &"multi",
            ],
            0,
        ),
        case(
            "ami create-multi",
            &[&"python-ml", &INSTANCE, &"--regions", &"us-eest-1"],
            2,
        ),
        case("ami copy", &[&LAB_IMAGE, &"--to", &"us-west-2"], 0),
        case(
            "ami copy",
            &[&"ami-00000000000000dea", &"--to", &"us-west-2"],
            1,
        ),
        case("ami copy", &[&LAB_IMAGE, &"--to", &"us-eest-1"], 2),
        without_world(case(
            "registry keygen",
            &[
                &"--publisher",
                &"alice@lab",
                &"--out",
                &key,
                &"--trust-store",
                &trust,
            ],
            0,
        )),
        without_world(case(
            "registry keygen",
            &[&"--publisher", &"alice@lab", &"--out", &key],
            1,
        )),
        case("ami share", &[&LAB_IMAGE, &"--account", &"210987654321"], 0),
        case("ami share", &[&STRANGERS_IMAGE, &"--public"], 1),
        case("ami share", &[&LAB_IMAGE], 2),
        case_of("ami share", share_community.clone(), 0),
        case_of("ami share", share_community, 0),
        case_of("ami share", share_strangers, 1),
        case_of("ami share", share_unknown, 1),
        case_of("ami publish", publish(&[&"--dry-run"]), 0),
        case_of(
            "ami publish",
            publish(&[&"--price", &"0.05", &"--wait", &"2h"]),
            0,
        ),
        case(
            "ami publish",
            &[&LAB_IMAGE, &"--marketplace", &"--version", &"2.2.0"],
            2,
        ),
        case("ami deprecate", &[&LAB_IMAGE, &"--at", &"30d"], 0),
        case(
            "ami deprecate",
            &[&LAB_IMAGE, &"--at", &"2020-01-01T00:00:00Z"],
            2,
        ),
        case("ami deprecate", &[&STRANGERS_IMAGE, &"--at", &"30d"], 1),
        case("ami deprecate", &[&LAB_IMAGE, &"--at", &"tomorrow-ish"], 2),
        case(
            "ami retire",
            &[&"--template", &"python-ml", &"--keep", &"1"],
            0,
        ),
        case(
            "ami retire",
            &[
                &"--template",
                &"python-ml",
                &"--keep",
                &"1",
                &"--max-age",
                &"soon",
            ],
            2,
        ),
        // Dry runs: the later cases see the demo's images as they were.
        case("ami protect", &[&LAB_IMAGE, &"--cooldown", &"--dry-run"], 0),
        case("ami protect", &[&LAB_IMAGE, &"--off", &"--cooldown"], 2),
        case("ami disable", &[&LAB_IMAGE, &"--dry-run"], 0),
        case("ami disable", &[&"ami-00000000000000bad"], 1),
        // The demo's disabled genomics-pipeline 4.3.0.
        case("ami enable", &[&"ami-0a1b2c3d4e5f60700", &"--dry-run"], 0),
        case("ami enable", &[&"not-an-image"], 2),
        without_world(case("registry sign", &[&registry, &"--key", &key], 0)),
        without_world(case(
            "registry sign",
            &[
                &registry,
                &"--key",
                &key,
                &"--template",
                &"no-such-template",
            ],
            1,
        )),
        without_world(case_of("registry verify", verify(&trust), 0)),
        without_world(case_of("registry verify", verify(&demo_trust), 1)),
        // Builds (the demo world runs jupyter-quickstart's script to exit 1; the example
        // genomics-pipeline has no user_data to build from), refresh and the planner.
        case("build", &[&"python-ml", &"--dry-run"], 0),
        case(
            "build",
            &[&"python-ml", &"--regions", &"us-east-1,us-west-2"],
            0,
        ),
        case("build", &[&"jupyter-quickstart"], 1),
        case("build", &[&"genomics-pipeline"], 2),
        case("build", &[&"python-ml", &"--regions", &"us-eest-1"], 2),
        case("build", &[&"--cleanup"], 0),
        case("refresh", &[&"python-ml", &"--dry-run"], 0),
        case("refresh", &[&"python-ml"], 0),
        case("refresh", &[&"no-such-template"], 2),
        case(
            "plan",
            &[&"python-ml", &"--regions", &"us-east-1,us-west-2"],
            0,
        ),
        case("plan", &[&"python-ml", &"--usage", &"no-such-usage.yml"], 2),
        // The audit log of the world's changes so far, and a compliance check of it.
        case("audit verify", &[], 0),
        case("audit verify", &[&"no-such-audit.jsonl"], 1),
        case("audit show", &[&"--operation", &"share"], 0),
        case("audit show", &[&"--since", &"yesterday"], 2),
        case("compliance", &[&"--regions", &"us-east-1"], 0),
        case("compliance", &[&"--fail-on", &"high"], 4),
        case("compliance", &[&"--fail-on", &"bogus"], 2),
        case("world show", &[], 0),
        without_world(case("world show", &[], 2)),
        case("world reset", &[], 0),
        without_world(case("world reset", &[], 2)),
    ]
}
