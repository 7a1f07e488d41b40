//! The registry commands end to end: keygen, share into a community file, verify (and catch
//! tampering), re-sign, `ami list` on the demo registries, `ami rate` moving the ranking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn amiref(ratings: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("amiref").unwrap();
    cmd.current_dir(root())
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AMIREF_TRUST")
        .env_remove("AMIREF_TRUST_STORE")
        .env_remove("AMIREF_LOG")
        .env("AMIREF_RATINGS", ratings);
    cmd
}

const WORLD: &str = "examples/worlds/demo.yaml";

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
    amiref(&ratings)
        .args([
            "--world",
            WORLD,
            "registry",
            "share",
            "ami-0f00dfeed0000cafe",
            "--community",
        ])
        .arg(&registry)
        .args([
            "--template",
            "genomics-pipeline",
            "--version",
            "1.0.0",
            "--key",
        ])
        .arg(&key)
        .args(["--tested", "--scan", "passed"])
        .assert()
        .success()
        .stdout(predicate::str::contains("shared with the lab community"));
    // The same through the `ami` group (the mission's `ami share AMI --community NAME`):
    // another region of the build would extend the entry; here the same region is rewritten.
    amiref(&ratings)
        .args([
            "--world",
            WORLD,
            "ami",
            "share",
            "ami-0f00dfeed0000cafe",
            "--community",
        ])
        .arg(&registry)
        .args([
            "--template",
            "genomics-pipeline",
            "--version",
            "1.0.0",
            "--key",
        ])
        .arg(&key)
        .args(["--tested", "--scan", "passed"])
        .assert()
        .success();
    amiref(&ratings)
        .args([
            "--world",
            WORLD,
            "ami",
            "share",
            "ami-0f00dfeed0000cafe",
            "--community",
        ])
        .arg(&registry)
        .assert()
        .code(2);
    // Someone else's image is refused.
    amiref(&ratings)
        .args([
            "--world",
            WORLD,
            "registry",
            "share",
            "ami-0123456789abcdef0",
            "--community",
        ])
        .arg(&registry)
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
    let list = |ratings: &std::path::Path| {
        let out = amiref(ratings)
            .args([
                "--world",
                WORLD,
                "--output",
                "json",
                "ami",
                "list",
                "--template",
                "python-ml",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
