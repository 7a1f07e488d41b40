//! The launcher end to end on AWS's API, against moto's EC2 emulator: `--endpoint-url`,
//! `--profile`, `ami resolve`, `ami test --all-regions`, `launch` (RunInstances) and a
//! cross-region copy.
//!
//! scripts/test starts moto seeded with amiref-testkit's standard fixture (the same images
//! in every region; moto's account is 123456789012) and exports `AMIREF_TEST_EC2_ENDPOINT`.
//! Under `CI=true` a missing endpoint fails these tests; elsewhere they are skipped with a
//! printed reason. moto's state is shared by every test (and by amiref-aws's suites), so
//! what a test creates carries a name of its own, and searches are narrowed by owner.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use serde_json::Value;

use common::{json_lines, launcher, success_json, write};

/// The fixture's community publisher, whose python images are public in every region.
const COMMUNITY: &str = "111122223333";
/// The fixture's python 2.1.0 x86_64 image: the newest 2.x of the community's.
const PYTHON_210_X86: &str = "ami-0f1a00000000000a1";

/// The emulator's endpoint, or `None` when the launcher's moto tests may skip.
fn endpoint() -> Option<String> {
    common::moto_endpoint("the launcher's moto tests")
}

/// A name no other test (of this or an earlier run against the same emulator) uses.
fn unique(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!(
        "awscli-{what}-{}-{millis}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The launcher with moto's credentials and nothing from the user's own AWS setup: no
/// profile, region or endpoint from the environment, no shared config files, no instance
/// metadata service.
fn amiref(dir: &Path) -> Command {
    let mut cmd = launcher();
    cmd.current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        )
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("AMIREF_AUDIT_LOG", dir.join("audit.jsonl"))
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env_remove("AMIREF_CONFIG")
        .env_remove("AMIREF_REGISTRIES")
        .env_remove("AMIREF_TEMPLATES")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_SESSION_TOKEN")
        // The default policy trusts the caller and Amazon only; the fixture's community
        // account publishes the images these tests resolve, so a policy names it.
        .env(
            "AMIREF_TRUST",
            write(
                dir,
                "trust.yaml",
                &format!("trusted_owners: [self, amazon, \"{COMMUNITY}\"]\n"),
            ),
        );
    cmd
}

/// The launcher on moto in `region`.
fn on_moto(dir: &Path, endpoint: &str, region: &str) -> Command {
    let mut cmd = amiref(dir);
    cmd.args(["--endpoint-url", endpoint, "--region", region]);
    cmd
}

/// The launcher on moto in `region`, printing JSON.
fn on_moto_json(dir: &Path, endpoint: &str, region: &str) -> Command {
    let mut cmd = on_moto(dir, endpoint, region);
    cmd.args(["--output", "json"]);
    cmd
}

/// `launch TEMPLATE NAME --yes` on moto in `region`, which must succeed: its JSON report.
fn launch_json(dir: &Path, endpoint: &str, region: &str, template: &Path, name: &str) -> Value {
    success_json(
        on_moto_json(dir, endpoint, region)
            .arg("launch")
            .arg(template)
            .args([name, "--yes"]),
    )
}

/// A template that finds the community's python 2.x by search, and nothing else.
fn python_template(dir: &Path) -> PathBuf {
    write(
        dir,
        "python.yml",
        &format!(
            r#"name: moto-python
version: 2.1.0
instance_types:
  x86_64: t3.micro
  arm64: t4g.micro
ami_config:
  strategy: ami_required
  ami_search:
    owner: "{COMMUNITY}"
    name_pattern: "fixture-python-*"
    version_constraint: ">=2.0.0, <3"
    architecture: [x86_64]
  fallback_strategy: error
"#
        ),
    )
}

/// A new image of the caller's, under a name nothing else has, in `region` only: an
/// instance launched there by the launcher, then imaged. Returns its id and name.
fn image_only_in(endpoint: &str, dir: &Path, region: &str) -> (String, String) {
    let python = python_template(dir);
    let report = launch_json(dir, endpoint, region, &python, &unique("source"));
    let instance = report["instance"].as_str().unwrap().to_owned();
    let name = unique("image");
    (create_image(endpoint, region, &instance, &name), name)
}

/// Images `instance` as `name` with the SDK directly (no tags: moto refuses CreateImage's
/// snapshot tags, which amiref's own CreateImage sends), returning the image's id.
fn create_image(endpoint: &str, region: &str, instance: &str, name: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_owned()))
            .credentials_provider(aws_credential_types::Credentials::new(
                "testing", "testing", None, None, "static",
            ))
            .endpoint_url(endpoint)
            .load()
            .await;
        let made = aws_sdk_ec2::Client::new(&config)
            .create_image()
            .instance_id(instance)
            .name(name)
            .no_reboot(true)
            .send()
            .await
            .unwrap();
        made.image_id().unwrap().to_owned()
    })
}

/// The launcher with AWS's config and credentials files, and no credentials from the
/// environment: what it uses comes from the profile it is given.
fn with_profile_files(dir: &Path, config: &Path, credentials: &Path) -> Command {
    let mut cmd = amiref(dir);
    cmd.env("AWS_CONFIG_FILE", config)
        .env("AWS_SHARED_CREDENTIALS_FILE", credentials)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    cmd
}

#[test]
fn endpoint_url_resolves_a_template_by_search() {
    let Some(ep) = endpoint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let template = python_template(dir.path());
    // Global options before the subcommand...
    let v = success_json(
        on_moto_json(dir.path(), &ep, "us-east-1")
            .args(["ami", "resolve"])
            .arg(&template),
    );
    assert_eq!(v["method"], "dynamic_search", "{v}");
    assert_eq!(v["image"]["id"], PYTHON_210_X86);
    assert_eq!(v["region"], "us-east-1");
    assert_eq!(v["instance_type"], "t3.micro");

    // ...or after it, as the AWS CLI accepts them; human output names the tier.
    amiref(dir.path())
        .args(["ami", "resolve"])
        .arg(&template)
        .args(["--region", "eu-west-1", "--endpoint-url", &ep])
        .assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "Found optimized AMI: {PYTHON_210_X86} (fixture-python-2.1.0-x86_64) by dynamic search"
        )))
        .stdout(predicates::str::contains("in eu-west-1"));
}

#[test]
fn a_profile_gives_the_region_and_credentials() {
    let Some(ep) = endpoint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let template = python_template(dir.path());
    let config = write(
        dir.path(),
        "aws-config",
        "[profile research]\nregion = eu-north-1\n",
    );
    let credentials = write(
        dir.path(),
        "aws-credentials",
        "[research]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    );
    let v = success_json(
        with_profile_files(dir.path(), &config, &credentials)
            .args(["ami", "resolve"])
            .arg(&template)
            .args(["--profile", "research", "--endpoint-url", &ep])
            .args(["--output", "json"]),
    );
    assert_eq!(v["region"], "eu-north-1", "{v}");
    assert_eq!(v["image"]["id"], PYTHON_210_X86);

    // A profile that does not exist is an error, not a silent fallback to another one.
    with_profile_files(dir.path(), &config, &credentials)
        .args(["--profile", "no-such-profile", "--endpoint-url", &ep])
        .args(["--region", "us-east-1", "ami", "resolve"])
        .arg(&template)
        .assert()
        .code(1);
}

#[test]
fn ami_test_all_regions_covers_every_default_commercial_region() {
    let Some(ep) = endpoint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let template = python_template(dir.path());
    let v = success_json(
        amiref(dir.path())
            .args(["--endpoint-url", &ep, "--output", "json"])
            .args(["ami", "test"])
            .arg(&template)
            .arg("--all-regions"),
    );
    let expected: Vec<String> = amiref_regions::commercial_regions()
        .filter(|r| !r.opt_in)
        .map(|r| r.code.to_string())
        .collect();
    assert!(expected.len() >= 15, "{expected:?}");
    assert!(
        !expected.iter().any(|r| r == "af-south-1"),
        "opt-in left out"
    );
    let rows = v["regions"].as_array().unwrap();
    let tested: Vec<&str> = rows.iter().map(|r| r["region"].as_str().unwrap()).collect();
    assert_eq!(tested, expected, "{v}");
    for row in rows {
        // moto holds the fixture in every region, so each finds the image where it is.
        assert_eq!(row["status"], "available", "{row}");
        assert_eq!(row["image"], PYTHON_210_X86, "{row}");
    }
    assert_eq!(v["counts"]["unavailable"], 0);
}

#[test]
fn launch_runs_an_instance_of_the_resolved_image() {
    let Some(ep) = endpoint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let template = python_template(dir.path());
    let name = unique("launch");
    let v = launch_json(dir.path(), &ep, "us-west-2", &template, &name);
    assert!(v["instance"].as_str().unwrap().starts_with("i-"), "{v}");
    assert_eq!(v["instance_name"], name.as_str());
    assert_eq!(v["image"], PYTHON_210_X86);
    assert_eq!(v["launched"]["instance_type"], "t3.micro");
    assert_eq!(v["launched"]["runs_user_data"], false);
    assert_eq!(v.get("copied_image"), None, "{v}");
}

#[test]
fn a_cross_region_copy_is_made_then_launched() {
    let Some(ep) = endpoint() else { return };
    let dir = tempfile::tempdir().unwrap();
    // An image of the caller's that exists only in us-west-2. (The fixture's images are in
    // every region, so none of them can be the source of a cross-region copy.)
    let (source, image_name) = image_only_in(&ep, dir.path(), "us-west-2");

    let template = write(
        dir.path(),
        "xr.yml",
        &format!(
            r#"name: moto-cross-region
version: 1.0.0
instance_type: t3.micro
ami_config:
  strategy: ami_required
  ami_search:
    owner: self
    name_pattern: "{image_name}"
    architecture: [x86_64]
  fallback_strategy: cross_region
"#
        ),
    );
    // Without --yes and without a terminal, the copy is refused (exit 3), nothing made.
    on_moto(dir.path(), &ep, "us-east-1")
        .arg("launch")
        .arg(&template)
        .arg(unique("refused"))
        .assert()
        .code(3);

    let name = unique("copied");
    let v = launch_json(dir.path(), &ep, "us-east-1", &template, &name);
    assert_eq!(v["plan"]["choice"]["method"], "cross_region", "{v}");
    assert_eq!(
        v["plan"]["choice"]["copy"]["source_image"],
        source.as_str(),
        "{v}"
    );
    let copied = v["copied_image"].as_str().unwrap();
    assert_eq!(v["image"], copied);
    assert_eq!(v["region"], "us-east-1");
    assert!(v["instance"].as_str().unwrap().starts_with("i-"));

    // The copy is now in us-east-1 itself: the next resolution finds it by search there,
    // so a second launch never copies again.
    let v = success_json(
        on_moto_json(dir.path(), &ep, "us-east-1")
            .args(["ami", "resolve"])
            .arg(&template),
    );
    assert_eq!(v["method"], "dynamic_search", "{v}");
    assert_eq!(v["image"]["id"], copied);
}

#[test]
fn lifecycle_commands_run_on_aws_and_are_audited() {
    let Some(ep) = endpoint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = image_only_in(&ep, dir.path(), "us-west-2");
    let copy = |expected: &str| {
        let out = on_moto(dir.path(), &ep, "us-west-2")
            .args([
                "--output",
                "jsonl",
                "ami",
                "copy",
                &image,
                "--to",
                "eu-west-1",
            ])
            .assert()
            .success()
            .get_output()
            .clone();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // JSON lines: progress events, then the result.
        let last = text.lines().last().unwrap_or_default();
        let v: Value = serde_json::from_str(last).unwrap();
        let region = &v["result"]["regions"][0];
        assert_eq!(region["region"], "eu-west-1", "{text}");
        assert_eq!(region["outcome"], expected, "{text}");
        region["image"].as_str().unwrap().to_owned()
    };
    let first = copy("copied");
    // A repeat finds the copy it made (by its provenance tag) and never makes a second.
    assert_eq!(copy("existing"), first);

    on_moto(dir.path(), &ep, "us-west-2")
        .args(["ami", "share", &image, "--account", "444455556666"])
        .assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "granted on {image} in us-west-2: account 444455556666"
        )));

    // Every change is in the audit log, with the caller as STS names it.
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    // The log is a hash chain of records and digests (docs/audit.md): the records here.
    let records: Vec<_> = json_lines(&audit)
        .into_iter()
        .filter(|line| line["kind"] == "record")
        .collect();
    let operations: Vec<&str> = records
        .iter()
        .map(|r| r["operation"].as_str().unwrap())
        .collect();
    assert!(operations.contains(&"share"), "{audit}");
    assert!(operations.iter().any(|o| o.contains("copy")), "{audit}");
    for r in &records {
        assert_eq!(r["actor"]["account"], "123456789012", "{r}");
    }
}

#[test]
fn registry_listing_runs_on_aws() {
    let Some(ep) = endpoint() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("moto.key");
    let trust = dir.path().join("trust.yml");
    amiref(dir.path())
        .args(["registry", "keygen", "--publisher", "moto@test", "--out"])
        .arg(&key)
        .arg("--trust-store")
        .arg(&trust)
        .assert()
        .success();
    // A registry of the fixture's community image, shared with moto's account, signed.
    let registry = write(
        dir.path(),
        "registry.yml",
        &format!(
            "schema_version: 1\nsharing:\n  accounts: [\"123456789012\"]\ncommunity_amis:\n  python-ml:\n    v2.1.0:\n      creator: moto@test\n      regions: {{us-west-2: {PYTHON_210_X86}}}\n      owner: \"{COMMUNITY}\"\n"
        ),
    );
    amiref(dir.path())
        .args(["registry", "sign"])
        .arg(&registry)
        .arg("--key")
        .arg(&key)
        .assert()
        .success();
    let v = success_json(
        amiref(dir.path())
            .args(["--endpoint-url", &ep, "--output", "json"])
            .arg("--image-registry")
            .arg(&registry)
            .arg("--image-registry-keys")
            .arg(&trust)
            .args(["ami", "list", "--template", "python-ml"]),
    );
    // The caller's identity (STS) admits the entry its sharing policy names.
    let region = &v["regions"][0];
    assert_eq!(region["region"], "us-west-2", "{v}");
    assert_eq!(region["images"][0]["image"], PYTHON_210_X86, "{v}");
    assert_eq!(
        region["images"][0]["signer"]["publisher"], "moto@test",
        "{v}"
    );
}
