//! The registry commands end to end: keygen, share into a community file, verify (and catch
//! tampering), re-sign, `ami list` on the demo registries, `ami rate` moving the ranking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

use common::{DEMO_WORLD as WORLD, launcher, repo_root, success_json};

/// The launcher, run from the repository root, keeping its ratings in `ratings`, with no
/// region, trust or log settings leaking in from the environment.
fn amiref(ratings: &Path) -> Command {
    let mut cmd = launcher();
    cmd.current_dir(repo_root())
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AMIREF_TRUST")
        .env_remove("AMIREF_TRUST_STORE")
        .env_remove("AMIREF_LOG")
        .env("AMIREF_RATINGS", ratings);
    cmd
}

/// `GROUP share IMAGE --community REGISTRY` on the demo world (`ami share` and `registry
/// share` are the same command).
fn share_into(ratings: &Path, group: &str, image: &str, registry: &Path) -> Command {
    let mut cmd = amiref(ratings);
    cmd.args(["--world", WORLD, group, "share", image, "--community"])
        .arg(registry);
    cmd
}

/// The lab's own image in the demo world.
const LAB_IMAGE: &str = "ami-0f00dfeed0000cafe";

/// `GROUP share` of the lab's image as genomics-pipeline 1.0.0, tested and scanned, signed
/// with `key`.
fn share_lab_image(ratings: &Path, group: &str, registry: &Path, key: &Path) -> Command {
    let mut cmd = share_into(ratings, group, LAB_IMAGE, registry);
    cmd.args([
        "--template",
        "genomics-pipeline",
        "--version",
        "1.0.0",
        "--key",
    ])
    .arg(key)
    .args(["--tested", "--scan", "passed"]);
    cmd
}

#[test]
fn keygen_share_verify_tamper_and_resign() {
    let dir = tempfile::tempdir().unwrap();
    let ratings = dir.path().join("ratings.yml");
    let key = dir.path().join("lab.key");
    let trust = dir.path().join("trust.yml");
    let registry = dir.path().join("lab.yml");
    amiref(&ratings)
        .args(["registry", "keygen", "--publisher", "alice@lab", "--out"])
        .arg(&key)
        .arg("--trust-store")
        .arg(&trust)
        .assert()
        .success()
        .stdout(predicate::str::contains("ed25519:"));
    // keygen refuses to overwrite a key.
    amiref(&ratings)
        .args(["registry", "keygen", "--publisher", "alice@lab", "--out"])
        .arg(&key)
        .assert()
        .code(1);
    // The lab's own image, signed into a new registry file.
    share_lab_image(&ratings, "registry", &registry, &key)
        .assert()
        .success()
        .stdout(predicate::str::contains("shared with the lab community"));
    // The same through the `ami` group (the mission's `ami share AMI --community NAME`):
    // another region of the build would extend the entry; here the same region is rewritten.
    share_lab_image(&ratings, "ami", &registry, &key)
        .assert()
        .success();
    share_into(&ratings, "ami", LAB_IMAGE, &registry)
        .assert()
        .code(2);
    // Someone else's image is refused.
    share_into(&ratings, "registry", "ami-0123456789abcdef0", &registry)
        .args(["--template", "python-ml", "--version", "2.1.0", "--key"])
        .arg(&key)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not by you"));
    let verify = |cmd: &mut Command| {
        cmd.args(["registry", "verify"])
            .arg(&registry)
            .arg("--trust-store")
            .arg(&trust)
            .assert()
    };
    verify(&mut amiref(&ratings))
        .success()
        .stdout(predicate::str::contains(
            "genomics-pipeline 1.0.0 — signed by alice@lab",
        ));
    let text = std::fs::read_to_string(&registry).unwrap();
    std::fs::write(&registry, text.replace("tested: true", "tested: false")).unwrap();
    verify(&mut amiref(&ratings))
        .code(1)
        .stdout(predicate::str::contains("does not match the entry"));
    amiref(&ratings)
        .args(["registry", "sign"])
        .arg(&registry)
        .arg("--key")
        .arg(&key)
        .assert()
        .success();
    verify(&mut amiref(&ratings)).success();
}

#[test]
fn ami_list_shows_the_demo_registries_and_rate_moves_the_ranking() {
    let dir = tempfile::tempdir().unwrap();
    let ratings = dir.path().join("ratings.yml");
    let list = |ratings: &Path| {
        let v = success_json(amiref(ratings).args([
            "--world",
            WORLD,
            "--output",
            "json",
            "ami",
            "list",
            "--template",
            "python-ml",
        ]));
        v["regions"]["us-east-1"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["architecture"] == "x86_64")
            .map(|r| r["version"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(list(&ratings), ["v2.1.0", "v2.0.5"]);
    for _ in 0..20 {
        amiref(&ratings)
            .args([
                "ami",
                "rate",
                "python-ml",
                "v2.1.0",
                "--stars",
                "1",
                "--review",
                "crashes",
            ])
            .assert()
            .success();
    }
    assert_eq!(list(&ratings), ["v2.0.5", "v2.1.0"]);
    amiref(&ratings)
        .args(["ami", "rate", "python-ml", "v2.1.0", "--stars", "6"])
        .assert()
        .code(2);

    amiref(&ratings)
        .args(["--world", WORLD, "ami", "list", "--template", "r-research"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Region: eu-west-1"))
        .stdout(predicate::str::contains("ami-0abcd1234567890e1"))
        .stdout(predicate::str::contains("⭐ 4.6/5"));
}
