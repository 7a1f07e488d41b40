//! The exit codes of every command, per the documented table (`amiref --help`): 0 done,
//! 1 the command ran and failed, 2 bad input or usage, 3 a decision was declined or could
//! not be asked. Every command runs to each code it can end with (tests/common/cases.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use predicates::prelude::*;

use common::Sandbox;
use common::cases::{INSTANCE, LAB_IMAGE, cases};

#[test]
fn every_command_ends_with_its_documented_exit_code() {
    let sandbox = Sandbox::new();
    let mut wrong = Vec::new();
    for case in cases(&sandbox) {
        let output = case.command(&sandbox).output().unwrap();
        if output.status.code() != Some(case.code) {
            wrong.push(format!(
                "{}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
                case.label(),
                output.status.code(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn every_command_is_run_to_success_and_to_failure() {
    let sandbox = Sandbox::new();
    let mut codes: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
    for case in cases(&sandbox) {
        codes.entry(case.command).or_default().insert(case.code);
    }
    let leaves = common::leaf_commands();
    assert!(leaves.len() > 15, "the --help walk found {leaves:?}");
    for leaf in &leaves {
        let seen = codes.get(leaf.as_str());
        assert!(
            seen.is_some_and(|c| c.contains(&0) && c.len() > 1),
            "{leaf}: the table runs it to {seen:?}; it needs a success and a failure"
        );
    }
    // Declined decisions exist and are tested.
    assert!(codes.values().any(|c| c.contains(&3)));
}

#[test]
fn usage_errors_exit_2() {
    let s = Sandbox::new();
    s.amiref().arg("no-such-command").assert().code(2);
    s.amiref().args(["launch", "python-ml"]).assert().code(2);
    s.amiref()
        .args(["--output", "yaml", "template", "schema"])
        .assert()
        .code(2);
    // AWS options make no sense on a world.
    s.on_demo()
        .args(["ami", "resolve", "python-ml"])
        .args(["--endpoint-url", "http://127.0.0.1:1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--endpoint-url is for AWS and cannot be used with --world",
        ));
}

#[test]
fn a_misspelt_region_exits_2_with_did_you_mean_wherever_it_is_given() {
    let s = Sandbox::new();
    let did_you_mean = || predicate::str::contains("did you mean us-east-1?");
    for args in [
        &["--region", "us-eest-1", "ami", "resolve", "python-ml"][..],
        &[
            "ami",
            "test",
            "python-ml",
            "--regions",
            "eu-west-1,us-eest-1",
        ],
        &["ami", "copy", LAB_IMAGE, "--to", "us-eest-1"],
        &[
            "ami",
            "create-multi",
            "python-ml",
            INSTANCE,
            "--regions",
            "us-eest-1",
        ],
        &[
            "ami",
            "retire",
            "--template",
            "python-ml",
            "--keep",
            "1",
            "--regions",
            "us-eest-1",
        ],
        &[
            "ami",
            "copy",
            LAB_IMAGE,
            "--to",
            "us-west-2",
            "--kms-key",
            "us-eest-1=k",
        ],
        &[
            "--region",
            "us-eest-1",
            "launch",
            "python-ml",
            "x",
            "--dry-run",
        ],
    ] {
        s.on_demo()
            .args(args)
            .assert()
            .code(2)
            .stderr(did_you_mean());
    }
    s.on_demo()
        .env("AWS_REGION", "us-eest-1")
        .args(["ami", "resolve", "python-ml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("AWS_REGION").and(did_you_mean()));
}
