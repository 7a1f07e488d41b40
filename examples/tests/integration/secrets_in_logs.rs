//! No log level prints a secret: every launcher command, at the most verbose level
//! (`AMIREF_LOG=trace RUST_LOG=trace`, then also with the SDK's wire and signing traces let
//! through by `--log-wire` and `AMIREF_LOG_WIRE=1`), with recognisable fake AWS credentials
//! in the environment, on the demo world and against moto's EC2 emulator. None of the
//! credentials (nor any AWS access key id, nor a registry secret key) may appear in stdout,
//! stderr or the audit log. Commands may fail (moto lacks some operations, the fake
//! credentials own nothing); the check is on what they print.
//!
//! The moto half needs `AMIREF_TEST_EC2_ENDPOINT` (scripts/test starts the emulator): under
//! `CI=true` it fails without it, elsewhere it is skipped with a printed reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{DEMO_WORLD, launcher, repo_root, write};

/// The fake credentials: recognisable, shaped like real ones (a long-term key id, a
/// 40-character secret, a session token with base64's `/`, `+` and `=`).
const ACCESS_KEY_ID: &str = "AKIAAMIREFLEAKTEST01";
const SECRET_ACCESS_KEY: &str = "amirefLeakTestSecret/0123456789+ABCDEFGH";
const SESSION_TOKEN: &str =
    "FwoGZXIvYXdzEAMIREFLEAKTESTTOKEN//////////wEaDH+amiref/leak/session+token==";
/// Pieces of them that survive URL-encoding and quoting: a leak of any form shows one.
const MARKERS: &[&str] = &["AMIREFLEAK", "amirefLeakTest", "LEAKTESTTOKEN"];

/// The demo world's lab image, instance and Marketplace product.
const DEMO_IMAGE: &str = "ami-0f00dfeed0000cafe";
const DEMO_INSTANCE: &str = "i-0123456789abcdef0";
const DEMO_PRODUCT: &str = "prod-cwspyml2x7k4q";
/// The moto fixture's community python 2.1.0 x86_64 image, and its publisher.
const MOTO_IMAGE: &str = "ami-0f1a00000000000a1";
const MOTO_COMMUNITY: &str = "111122223333";

/// The emulator's endpoint, or `None` when the moto half of the secrets-in-logs test may skip.
fn endpoint() -> Option<String> {
    common::moto_endpoint("the moto half of the secrets-in-logs test")
}

/// Where a command runs.
enum Cloud {
    Demo,
    Moto(String),
}

/// How verbose the log is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    /// `AMIREF_LOG=trace RUST_LOG=trace`, human output.
    Trace,
    /// That, plus `--log-wire` and `AMIREF_LOG_WIRE=1`, JSON output.
    TraceWire,
}

/// One command line, named by its subcommand path (`ami share`).
struct Invocation {
    command: &'static str,
    args: Vec<OsString>,
}

fn inv(command: &'static str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Invocation {
    let mut all: Vec<OsString> = command.split(' ').map(OsString::from).collect();
    all.extend(args.iter().map(|a| a.as_ref().to_owned()));
    Invocation { command, args: all }
}

/// A template for moto that finds the fixture's community python 2.x by search.
fn moto_template(dir: &Path) -> PathBuf {
    write(
        dir,
        "python.yml",
        &format!(
            r#"name: leak-python
version: 2.1.0
instance_types:
  x86_64: t3.micro
  arm64: t4g.micro
ami_config:
  strategy: ami_preferred
  ami_search:
    owner: "{MOTO_COMMUNITY}"
    name_pattern: "fixture-python-*"
    version_constraint: ">=2.0.0, <3"
    architecture: [x86_64]
  fallback_strategy: cross_region
"#
        ),
    )
}

/// Every command of the launcher, with arguments that make it do its work (or fail trying)
/// on `cloud`; files it reads or writes live in `dir`.
fn invocations(cloud: &Cloud, dir: &Path) -> Vec<Invocation> {
    let root = repo_root();
    let (template, image, instance): (PathBuf, &str, &str) = match cloud {
        Cloud::Demo => (
            root.join("examples/templates/python-ml.yml"),
            DEMO_IMAGE,
            DEMO_INSTANCE,
        ),
        Cloud::Moto(_) => (moto_template(dir), MOTO_IMAGE, "i-0123456789abcdef0"),
    };
    let key = dir.join("leak.key");
    let trust_store = dir.join("trust.yml");
    let registry = dir.join("community.yml");
    if !registry.exists() {
        std::fs::copy(root.join("examples/registry/community.yml"), &registry).unwrap();
    }
    let shared = dir.join("shared.yml");
    if !shared.exists() {
        write(
            dir,
            "shared.yml",
            "schema_version: 1\nsharing:\n  accounts: [\"123456789012\", \"444455556666\"]\ncommunity_amis: {}\n",
        );
    }
    // The configuration the commands read (AMIREF_CONFIG): the leak community and the
    // demo registries.
    write(
        dir,
        "config.yaml",
        &format!(
            "templates: [{:?}]\nregistries: [{:?}]\nregistry_keys: {:?}\ncommunities:\n  leak:\n    registry: {:?}\n    key: {:?}\n",
            root.join("examples/templates").display().to_string(),
            root.join("examples/registry/community.yml")
                .display()
                .to_string(),
            root.join("examples/registry/trust.yml")
                .display()
                .to_string(),
            shared.display().to_string(),
            key.display().to_string(),
        ),
    );
    let demo_key = root.join("examples/registry/demo-community.key");
    let name = format!("leak-{}", std::process::id());
    // A build runs on the demo world (its scripts' outcomes are the world's); moto runs no
    // script, so a build there would only wait for its timeout: a dry run instead.
    let build = match cloud {
        Cloud::Demo => "--no-promote",
        Cloud::Moto(_) => "--dry-run",
    };
    let html = dir.join("plan.html");
    vec![
        inv(
            "registry keygen",
            &[
                &"--publisher",
                &"leak@test",
                &"--out",
                &key,
                &"--trust-store",
                &trust_store,
                &"--force",
            ],
        ),
        inv("registry sign", &[&registry, &"--key", &key]),
        inv(
            "registry sign",
            &[&registry, &"--key", &demo_key, &"--template", &"python-ml"],
        ),
        inv(
            "registry verify",
            &[&registry, &"--image-registry-keys", &trust_store],
        ),
        inv("template validate", &[&template]),
        inv("template schema", &[]),
        inv(
            "launch",
            &[&template, &name, &"--dry-run", &"--show-ami-resolution"],
        ),
        inv("launch", &[&template, &name, &"--yes"]),
        inv("ami resolve", &[&template]),
        inv("ami test", &[&template, &"--all-regions"]),
        inv(
            "ami create",
            &[
                &template,
                &instance,
                &"--name",
                &format!("{name}-image"),
                &"--no-reboot",
            ],
        ),
        inv(
            "ami create-multi",
            &[
                &template,
                &instance,
                &"--regions",
                &"us-east-1,us-west-2",
                &"--name",
                &format!("{name}-multi"),
            ],
        ),
        inv("ami copy", &[&image, &"--to", &"us-west-2,eu-west-1"]),
        inv("ami share", &[&image, &"--account", &"444455556666"]),
        inv(
            "ami share",
            &[
                &image,
                &"--community",
                &"leak",
                &"--template",
                &"genomics-pipeline",
                &"--version",
                &"1.0.1",
            ],
        ),
        inv(
            "ami publish",
            &[
                &image,
                &"--marketplace",
                &"--product",
                &DEMO_PRODUCT,
                &"--version",
                &"9.9.9",
                &"--access-role",
                &"arn:aws:iam::123456789012:role/MarketplaceAmiIngestion",
            ],
        ),
        inv("ami deprecate", &[&image, &"--at", &"30d"]),
        inv("ami deprecate", &[&image, &"--undo"]),
        inv(
            "ami retire",
            &[&"--template", &"python-ml", &"--keep", &"1"],
        ),
        inv("ami protect", &[&image, &"--cooldown", &"--dry-run"]),
        inv("ami disable", &[&image, &"--dry-run"]),
        inv("ami enable", &[&image, &"--dry-run"]),
        inv("ami list", &[&"--template", &"python-ml"]),
        inv("ami rate", &[&"python-ml", &"v2.1.0", &"--stars", &"4"]),
        inv(
            "build",
            &[&template, &"--regions", &"us-east-1,us-west-2", &build],
        ),
        inv("build", &[&"--cleanup"]),
        inv("refresh", &[&template, &"--dry-run"]),
        inv(
            "plan",
            &[
                &template,
                &"--regions",
                &"us-east-1,us-west-2",
                &"--html",
                &html,
            ],
        ),
        inv("audit verify", &[]),
        inv("audit show", &[]),
        inv("compliance", &[&"--regions", &"us-east-1"]),
        inv("world show", &[]),
        inv("world reset", &[]),
    ]
}

/// The launcher with the fake credentials, nothing of the user's own AWS set-up, every
/// file it writes in `dir`, at `level`, on `cloud`.
fn amiref(cloud: &Cloud, level: Level, dir: &Path) -> assert_cmd::Command {
    let mut cmd = launcher();
    cmd.current_dir(repo_root())
        .timeout(Duration::from_secs(300))
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        )
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("AMIREF_CONFIG", dir.join("config.yaml"))
        .env("AMIREF_AUDIT_LOG", dir.join("audit.jsonl"))
        .env("AMIREF_RATINGS", dir.join("ratings.yml"))
        .env("AMIREF_STATE_DIR", dir.join("world-state"))
        .env("AMIREF_LOG", "trace")
        .env("RUST_LOG", "trace")
        .env_remove("AMIREF_LOG_WIRE")
        .env_remove("NO_COLOR")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AMIREF_TRUST")
        .env_remove("AMIREF_TRUST_STORE")
        .env_remove("AMIREF_REGISTRIES")
        .env_remove("AMIREF_TEMPLATES");
    match cloud {
        Cloud::Demo => cmd.arg("--world").arg(repo_root().join(DEMO_WORLD)),
        Cloud::Moto(endpoint) => cmd.args(["--endpoint-url", endpoint, "--region", "us-east-1"]),
    };
    if level == Level::TraceWire {
        cmd.env("AMIREF_LOG_WIRE", "1")
            .args(["--log-wire", "--output", "json"]);
    }
    cmd
}

/// Whether `text` holds an AWS access key id (`AKIA`/`ASIA` and 16 upper-case letters or
/// digits), anyone's.
fn has_access_key_id(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(20).any(|w| {
        (w.starts_with(b"AKIA") || w.starts_with(b"ASIA"))
            && w[4..]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    })
}

/// The registry secret keys a command must never print: the demo's, and the one `registry
/// keygen` wrote into `dir` (once it exists).
fn registry_secrets(dir: &Path) -> Vec<String> {
    let root = repo_root();
    [
        root.join("examples/registry/demo-community.key"),
        root.join("examples/registry/demo-university.key"),
        dir.join("leak.key"),
    ]
    .iter()
    .filter_map(|p| std::fs::read_to_string(p).ok())
    .filter_map(|text| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix("secret_key:"))
            .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned())
    })
    .filter(|v| v.len() >= 16)
    .collect()
}

/// Everything a secret may not be found in, spelled in every form it could take.
fn forbidden(dir: &Path) -> Vec<String> {
    let encode = |s: &str| {
        s.replace('/', "%2F")
            .replace('+', "%2B")
            .replace('=', "%3D")
    };
    let mut all: Vec<String> = [ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN]
        .iter()
        .flat_map(|s| [s.to_string(), encode(s)])
        .chain(MARKERS.iter().map(|m| m.to_string()))
        .collect();
    all.extend(registry_secrets(dir));
    all
}

/// What one scenario printed, for the checks that logging really was on.
#[derive(Default)]
struct Seen {
    stderr_lines: usize,
    redacted: usize,
    wire_lines: usize,
}

/// Runs every command on `cloud` at both levels; returns the leaks found (described) and
/// what the logs showed per level.
fn run_all(cloud: &Cloud) -> (Vec<String>, Seen, Seen) {
    let dir = tempfile::tempdir().unwrap();
    let mut leaks = Vec::new();
    let mut seen = [Seen::default(), Seen::default()];
    for level in [Level::Trace, Level::TraceWire] {
        for invocation in invocations(cloud, dir.path()) {
            let output = amiref(cloud, level, dir.path())
                .args(&invocation.args)
                .output()
                .unwrap();
            let label = format!(
                "`amiref {}` ({level:?}, exit {:?})",
                invocation
                    .args
                    .iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" "),
                output.status.code()
            );
            // A real cloud's audit log, and a world's own (in its state directory).
            let audit: String = ["audit.jsonl", "world-state/audit.jsonl"]
                .iter()
                .map(|p| std::fs::read_to_string(dir.path().join(p)).unwrap_or_default())
                .collect();
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            let forbidden = forbidden(dir.path());
            for (stream, text) in [
                ("stdout", &*stdout),
                ("stderr", &*stderr),
                ("audit log", &audit),
            ] {
                for line in text.lines() {
                    let found: Vec<&String> = forbidden
                        .iter()
                        .filter(|f| line.contains(f.as_str()))
                        .collect();
                    if !found.is_empty() || has_access_key_id(line) {
                        let shown: String = line.chars().take(600).collect();
                        leaks.push(format!("{label}: {stream}: {shown}"));
                    }
                }
            }
            let s = &mut seen[usize::from(level == Level::TraceWire)];
            s.stderr_lines += stderr.lines().count();
            s.redacted += stderr.matches("[redacted]").count();
            s.wire_lines += stderr
                .lines()
                .filter(|l| {
                    l.contains(" aws_sigv4::")
                        || l.contains(" aws_smithy_runtime::client::orchestrator:")
                })
                .count();
        }
    }
    let [trace, wire] = seen;
    (leaks, trace, wire)
}

fn assert_no_leaks(leaks: &[String]) {
    assert!(
        leaks.is_empty(),
        "{} lines printed a secret:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

#[test]
fn no_command_prints_a_secret_on_the_demo_world() {
    let (leaks, trace, wire) = run_all(&Cloud::Demo);
    assert_no_leaks(&leaks);
    // The log was on (the resolver's and lifecycle's traces), so the check meant something.
    assert!(
        trace.stderr_lines > 100 && wire.stderr_lines > 100,
        "the trace log stayed quiet"
    );
}

#[test]
fn no_command_prints_a_secret_against_the_ec2_emulator() {
    let Some(endpoint) = endpoint() else { return };
    let (leaks, trace, wire) = run_all(&Cloud::Moto(endpoint));
    assert_no_leaks(&leaks);
    // Without the wire flag the SDK's signing and wire traces stay out whatever the level;
    // with it they are there, and the credentials in them were redacted.
    assert_eq!(trace.wire_lines, 0, "wire traces at plain trace");
    assert!(trace.stderr_lines > 100, "the trace log stayed quiet");
    assert!(
        wire.wire_lines > 100,
        "--log-wire let no wire trace through"
    );
    assert!(wire.redacted > 100, "nothing was redacted with --log-wire");
}

#[test]
fn the_secrets_check_runs_every_launcher_command() {
    let leaves = common::leaf_commands();
    assert!(leaves.len() > 10, "the --help walk found {leaves:?}");
    let dir = tempfile::tempdir().unwrap();
    let covered: BTreeSet<String> = invocations(&Cloud::Demo, dir.path())
        .iter()
        .map(|i| i.command.to_owned())
        .collect();
    let missing: Vec<&String> = leaves.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "commands the secrets check does not run (add them to invocations()): {missing:?}"
    );
}
