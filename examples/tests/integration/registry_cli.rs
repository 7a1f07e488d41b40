//! The registry commands end to end: keygen, share an image with a community, verify (and
//! catch tampering), re-sign, `ami list` on the demo registries, `ami rate` moving the
//! ranking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

use common::cases::{LAB_IMAGE, STRANGERS_IMAGE};
use common::{Sandbox, repo_root, success_json, templates_dir};

/// The demo registries and their trust store, as global options.
fn demo_registries(cmd: &mut Command) -> &mut Command {
    let registry = repo_root().join("examples/registry");
    cmd.arg("--image-registry")
        .arg(registry.join("community.yml"))
        .arg("--image-registry")
        .arg(registry.join("institutional.yml"))
        .arg("--image-registry-keys")
        .arg(registry.join("trust.yml"))
}

/// A sandbox whose configuration names the `lab` community: `lab.yml` (shared with the
/// lab itself and a colleague) signed with `lab.key`, whose public half is in `trust.yml`.
struct Lab {
    sandbox: Sandbox,
    key: PathBuf,
    trust: PathBuf,
    registry: PathBuf,
}

impl Lab {
    fn new() -> Self {
        let sandbox = Sandbox::empty();
        let key = sandbox.path().join("lab.key");
        let trust = sandbox.path().join("trust.yml");
        let registry = sandbox.write(
            "lab.yml",
            "schema_version: 1\nsharing:\n  accounts: [\"123456789012\", \"210987654321\"]\ncommunity_amis: {}\n",
        );
        sandbox.config(&format!(
            "templates: [{:?}]\nregistry_keys: {:?}\ncommunities:\n  lab:\n    registry: {:?}\n    key: {:?}\n",
            templates_dir().display().to_string(),
            trust.display().to_string(),
            registry.display().to_string(),
            key.display().to_string(),
        ));
        Self {
            sandbox,
            key,
            trust,
            registry,
        }
    }

    /// `ami share IMAGE --community lab` as genomics-pipeline 1.0.0, tested and scanned.
    fn share(&self, image: &str) -> Command {
        let mut cmd = self.sandbox.on_demo();
        cmd.args(["ami", "share", image, "--community", "lab"])
            .args(["--template", "genomics-pipeline", "--version", "1.0.0"])
            .args(["--tested", "--scan", "passed"]);
        cmd
    }

    fn verify(&self) -> assert_cmd::assert::Assert {
        self.sandbox
            .amiref()
            .args(["registry", "verify"])
            .arg(&self.registry)
            .assert()
    }

    fn keygen(&self) -> Command {
        let mut cmd = self.sandbox.amiref();
        cmd.args(["registry", "keygen", "--publisher", "alice@lab", "--out"])
            .arg(&self.key);
        cmd
    }
}

#[test]
fn keygen_share_verify_tamper_and_resign() {
    let lab = Lab::new();
    lab.keygen()
        .arg("--trust-store")
        .arg(&lab.trust)
        .assert()
        .success()
        .stdout(predicate::str::contains("ed25519:"));
    // keygen refuses to overwrite a key.
    lab.keygen().assert().code(1);
    // The lab's own image, signed into the community's registry, and launch permission
    // for whom its sharing policy names.
    lab.share(LAB_IMAGE)
        .assert()
        .success()
        .stdout(predicate::str::contains("lab community"))
        .stdout(predicate::str::contains("210987654321"));
    // Again: the same region of the same build is rewritten, not added twice.
    lab.share(LAB_IMAGE).assert().success();
    // Someone else's image is refused.
    lab.share(STRANGERS_IMAGE)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "not shared with the lab community",
        ));
    // Verified whoever reads it; listed only for the accounts its sharing policy names.
    lab.verify().success().stdout(predicate::str::contains(
        "1 entry restricted by a sharing policy (verified, not listed)",
    ));
    let text = std::fs::read_to_string(&lab.registry).unwrap();
    std::fs::write(&lab.registry, text.replace("tested: true", "tested: false")).unwrap();
    lab.verify()
        .code(1)
        .stdout(predicate::str::contains("does not match the entry"));
    lab.sandbox
        .amiref()
        .args(["registry", "sign"])
        .arg(&lab.registry)
        .arg("--key")
        .arg(&lab.key)
        .assert()
        .success();
    lab.verify().success();
}

/// The x86_64 registry entries `ami list` shows in us-east-1, best first.
fn listed(s: &Sandbox) -> Vec<Value> {
    let v = success_json(demo_registries(&mut s.on_demo()).args([
        "--output",
        "json",
        "ami",
        "list",
        "--template",
        "python-ml",
    ]));
    let region = v["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["region"] == "us-east-1")
        .unwrap_or_else(|| panic!("no us-east-1 in {v}"))
        .clone();
    region["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["architecture"] == "x86_64" && i["kind"] == "registry")
        .cloned()
        .collect()
}

fn versions(listed: &[Value]) -> Vec<&str> {
    listed
        .iter()
        .map(|i| i["version"].as_str().unwrap())
        .collect()
}

fn rate(s: &Sandbox, stars: &str) -> Command {
    let mut cmd = s.on_demo();
    demo_registries(&mut cmd).args(["ami", "rate", "python-ml", "v2.1.0", "--stars", stars]);
    cmd
}

#[test]
fn ami_list_shows_the_demo_registries_and_rate_counts_in_the_ranking() {
    let s = Sandbox::new();
    let before = listed(&s);
    assert_eq!(versions(&before), ["v2.1.0", "v2.0.5"]);
    rate(&s, "1")
        .args(["--review", "crashes"])
        .assert()
        .success();
    // Rating again replaces the rating: one rater, one rating.
    rate(&s, "1").assert().success();
    let after = listed(&s);
    let rating = |l: &[Value]| l[0]["ranked_by"]["score"]["rating"].clone();
    assert_eq!(rating(&after)["local_reviews"], 1, "{after:?}");
    assert_eq!(rating(&after)["local_average"], 1.0);
    let total = |l: &[Value]| l[0]["ranked_by"]["score"]["total"].as_f64().unwrap();
    assert!(total(&after) < total(&before), "{after:?}");
    rate(&s, "6").assert().code(2);
    // The ratings live in the sandbox's state, nowhere else.
    assert!(ratings_in(s.path()));

    demo_registries(&mut s.on_demo())
        .args(["ami", "list", "--template", "r-research"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Region: eu-west-1"))
        .stdout(predicate::str::contains("ami-0abcd1234567890e1"))
        .stdout(predicate::str::contains("⭐ 4.6/5"));
}

/// Whether a ratings file was written under `dir`.
fn ratings_in(dir: &Path) -> bool {
    fn walk(dir: &Path) -> bool {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let p = e.path();
                if p.is_dir() {
                    walk(&p)
                } else {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().contains("ratings"))
                }
            })
    }
    walk(dir)
}
