//! `amiref ami create|create-multi|copy|share|publish|deprecate|retire|protect|enable|
//! disable` on the demo world (and small worlds of their own), run as a user runs them.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use crate::common;

use assert_cmd::Command;
use predicates::prelude::*;

use common::cases::LAB_IMAGE;
use common::{Sandbox, json_lines, repo_root, success_json};

/// The world's audit records, without the log's signed digests.
fn audit_records(s: &Sandbox) -> Vec<serde_json::Value> {
    s.world_audit()
        .into_iter()
        .filter(|r| r["kind"] != "digest")
        .collect()
}

/// `ami publish LAB_IMAGE --marketplace FLAG` with the demo configuration, whose
/// publishing profile names the demo world's python-ml product.
fn publish_lab_image(s: &Sandbox, flag: &str) -> Command {
    let mut cmd = s.on_demo();
    cmd.arg("--config")
        .arg(repo_root().join("examples/config/demo.yaml"))
        .args(["ami", "publish", LAB_IMAGE, "--marketplace", flag]);
    cmd
}

#[test]
fn create_multi_creates_then_copies_and_audits_each_step() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["ami", "create-multi", "python-ml", "i-0123456789abcdef0"])
        .args(["--regions", "us-east-1,us-west-2,eu-west-1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("us-east-1").and(predicate::str::contains("created")))
        .stdout(predicate::str::contains("us-west-2").and(predicate::str::contains("copied")));
    // Each call written ahead: one intended image and two intended copies (the source's
    // own region needs none), each concluded under its operation id.
    let records = audit_records(&s);
    let intended = |operation: &str| -> Vec<&serde_json::Value> {
        records
            .iter()
            .filter(|r| r["operation"] == operation && r["outcome"]["status"] == "intended")
            .collect()
    };
    assert_eq!(intended("create_image").len(), 1, "{records:?}");
    assert_eq!(intended("copy_image").len(), 2, "{records:?}");
    for intent in intended("create_image")
        .into_iter()
        .chain(intended("copy_image"))
    {
        assert!(
            records
                .iter()
                .any(|r| r["operation_id"] == intent["operation_id"]
                    && r["outcome"]["status"] == "succeeded"),
            "no outcome for {intent}"
        );
    }
    let created = intended("create_image")[0];
    assert_eq!(created["actor"]["account"], "123456789012");
    assert_eq!(created["details"]["tags"]["amiref:template"], "python-ml");
}

#[test]
fn jsonl_output_prints_progress_events_then_the_result() {
    let s = Sandbox::new();
    let out = s
        .on_demo()
        .args([
            "--output",
            "jsonl",
            "ami",
            "create",
            "python-ml",
            "i-0123456789abcdef0",
        ])
        .args(["--name", "python-ml-test"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines = json_lines(&String::from_utf8(out).unwrap());
    assert_eq!(lines[0]["schema"], "amiref/progress/v1");
    assert_eq!(lines[0]["result"]["event"], "create_started");
    assert!(lines.iter().any(|l| l["result"]["event"] == "waiting"));
    let last = lines.last().unwrap();
    assert_eq!(last["ok"], true);
    assert_eq!(last["result"]["image"]["outcome"], "created");
    assert_eq!(last["result"]["image"]["name"], "python-ml-test");
    assert_eq!(last["result"]["instance"]["id"], "i-0123456789abcdef0");
}

#[test]
fn a_dry_run_changes_nothing_and_says_so() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["ami", "copy", LAB_IMAGE, "--to", "us-west-2", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("dry run: would copy"));
    assert_eq!(audit_records(&s)[0]["dry_run"], true);
}

#[test]
fn a_time_based_copy_states_its_extra_cost_and_refuses_an_odd_duration() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["ami", "copy", LAB_IMAGE, "--to", "us-west-2,eu-west-1"])
        .args(["--completion-minutes", "30", "--copy-tags", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "time-based copy, done within 30 minutes: up to $1.20 more than a standard copy (60 GiB at up to $0.02 per GiB)",
        ));
    s.on_demo()
        .args(["ami", "copy", LAB_IMAGE, "--to", "us-west-2"])
        .args(["--completion-minutes", "20"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("in steps of 15"));
}

#[test]
fn sharing_grants_snapshot_permission_and_refuses_a_strangers_image() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["ami", "share", LAB_IMAGE, "--account", "210987654321"])
        .assert()
        .success()
        .stdout(predicate::str::contains("granted"))
        .stdout(predicate::str::contains(
            "snapshot create-volume permission: 210987654321",
        ));
    s.on_demo()
        .args(["ami", "share", "ami-0123456789abcdef0", "--public"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("only the owner"));
}

#[test]
fn deprecate_takes_an_age_and_refuses_the_past() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["ami", "deprecate", LAB_IMAGE, "--at", "30d"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "deprecated at 2026-12-01T09:00:00Z",
        ));
    s.on_demo()
        .args([
            "ami",
            "deprecate",
            LAB_IMAGE,
            "--at",
            "2020-01-01T00:00:00Z",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("EC2 refuses a time in the past"));
}

#[test]
fn publish_dry_run_prints_the_change_set() {
    let s = Sandbox::new();
    // The mission's command: everything but the image and the price from the publishing
    // profile of the demo configuration.
    let published = success_json(publish_lab_image(&s, "--price").args([
        "0.05",
        "--version",
        "2.2.0",
        "--dry-run",
        "--output",
        "json",
    ]));
    let change_set = &published["change_set"];
    assert_eq!(
        change_set["ChangeSet"][0]["ChangeType"],
        "AddDeliveryOptions"
    );
    assert_eq!(
        change_set["ChangeSet"][1]["ChangeType"],
        "UpdatePricingTerms"
    );
    // Without a profile, the refusal names what is missing.
    s.on_demo()
        .args([
            "ami",
            "publish",
            LAB_IMAGE,
            "--marketplace",
            "--price",
            "0.05",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("product_id"));
}

#[test]
fn publish_follows_the_change_set_until_it_succeeds() {
    let s = Sandbox::new();
    publish_lab_image(&s, "--version")
        .args(["2.2.0", "--wait", "2h"])
        .assert()
        .success()
        .stdout(predicate::str::contains("status: succeeded"));
}

#[test]
fn retire_reports_a_template_without_images() {
    let s = Sandbox::new();
    // The demo world's images carry no amiref:template tag: none is the template's.
    s.on_demo()
        .args(["ami", "retire", "--template", "python-ml", "--keep", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "no images of template \"python-ml\"",
        ))
        .stdout(predicate::str::contains("would free 0 GiB"));
}

const RETIRE_WORLD: &str = r#"
description: four versions of python-ml, one in use
start: 2026-11-01T00:00:00Z
caller: "123456789012"
regions:
  us-east-1:
instance_types:
  - name: m6i.large
images:
  - {name: python-ml v1, id: ami-00000000000000001, region: us-east-1, architecture: x86_64, created: 2025-01-01T00:00:00Z, volume_gib: 10, tags: {"amiref:template": python-ml}}
  - {name: python-ml v2, id: ami-00000000000000002, region: us-east-1, architecture: x86_64, created: 2025-02-01T00:00:00Z, volume_gib: 10, tags: {"amiref:template": python-ml}}
  - {name: python-ml v3, id: ami-00000000000000003, region: us-east-1, architecture: x86_64, created: 2025-03-01T00:00:00Z, volume_gib: 10, tags: {"amiref:template": python-ml}}
  - {name: python-ml v4, id: ami-00000000000000004, region: us-east-1, architecture: x86_64, created: 2025-04-01T00:00:00Z, volume_gib: 10, tags: {"amiref:template": python-ml}}
instances:
  - {id: i-0aaaaaaaaaaaaaaa1, region: us-east-1, image: ami-00000000000000001, instance_type: m6i.large}
"#;

#[test]
fn retire_with_no_grace_deregisters_at_once_and_explains_every_image() {
    let s = Sandbox::new();
    let world = s.write("retire.yaml", RETIRE_WORLD);
    s.on_world(&world)
        .args(["ami", "retire", "--template", "python-ml", "--keep", "1"])
        .args([
            "--protect",
            "ami-00000000000000002",
            "--grace",
            "0",
            "--execute",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("keep: newest #1"))
        .stdout(predicate::str::contains(
            "protected: referenced by instance arn:aws:ec2:us-east-1:123456789012:instance/i-0aaaaaaaaaaaaaaa1",
        ))
        .stdout(predicate::str::contains("in use by instance i-0aaaaaaaaaaaaaaa1"))
        .stdout(predicate::str::contains("protected: listed in a registry"))
        .stdout(predicate::str::contains(
            "ami-00000000000000003  python-ml v3",
        ))
        .stdout(predicate::str::contains(
            "retired: deregistered, snapshots deleted",
        ))
        .stdout(predicate::str::contains(
            "Recycle Bin: no rule keeps the image or its snapshots: gone for good once deleted",
        ))
        .stdout(predicate::str::contains("freed 10 GiB of snapshots"));
    // Written ahead: the intent, then its outcome under the same operation id.
    let records = audit_records(&s);
    let deregistered: Vec<_> = records
        .iter()
        .filter(|r| r["operation"] == "retire" && r["target"] == "ami-00000000000000003")
        .collect();
    assert_eq!(deregistered.len(), 2, "{records:?}");
    assert_eq!(deregistered[0]["outcome"]["status"], "intended");
    assert_eq!(
        deregistered[0]["operation_id"],
        deregistered[1]["operation_id"]
    );
}

/// Seven versions of python-ml in us-east-1 on 2026-11-01, each kept or retired for a
/// reason of its own. 2.1.1 is the newest version though built first; the Recycle Bin keeps
/// the team's images 21 days (no rule keeps snapshots).
const GOVERNED_WORLD: &str = r#"
description: seven versions of python-ml, each kept or retired for a reason of its own
start: 2026-11-01T00:00:00Z
caller: "123456789012"
accounts:
  - id: "123456789012"
    name: the lab
  - id: "210987654321"
    name: a partner
regions:
  us-east-1:
    recycle_bin_rules:
      - {id: rbin-ml-images, resource: image, retention_days: 21, resource_tags: [{key: team, value: ml}]}
instance_types:
  - name: m6i.large
images:
  - {name: python-ml 2.1.1, id: ami-00000000000000211, region: us-east-1, architecture: x86_64, created: 2025-01-01T00:00:00Z, volume_gib: 10, tags: {"amiref:template": python-ml, "amiref:template-version": 2.1.1, team: ml}}
  - {name: python-ml 2.0.6, id: ami-00000000000000206, region: us-east-1, architecture: x86_64, created: 2025-06-01T00:00:00Z, volume_gib: 10, tags: {"amiref:template": python-ml, "amiref:template-version": 2.0.6, team: ml}}
  - {name: python-ml 2.0.5, id: ami-00000000000000205, region: us-east-1, architecture: x86_64, created: 2024-12-05T00:00:00Z, volume_gib: 10, deregistration_protection: enabled-without-cooldown, tags: {"amiref:template": python-ml, "amiref:template-version": 2.0.5, team: ml}}
  - {name: python-ml 2.0.4, id: ami-00000000000000204, region: us-east-1, architecture: x86_64, created: 2024-12-04T00:00:00Z, volume_gib: 10, last_launched: 2026-10-25T00:00:00Z, tags: {"amiref:template": python-ml, "amiref:template-version": 2.0.4, team: ml}}
  - {name: python-ml 2.0.3, id: ami-00000000000000203, region: us-east-1, architecture: x86_64, created: 2024-12-03T00:00:00Z, volume_gib: 10, tags: {"amiref:template": python-ml, "amiref:template-version": 2.0.3, team: ml}}
  - {name: python-ml 2.0.2, id: ami-00000000000000202, region: us-east-1, architecture: x86_64, created: 2024-12-02T00:00:00Z, volume_gib: 10, state: disabled, tags: {"amiref:template": python-ml, "amiref:template-version": 2.0.2, team: ml, "amiref:retire-after": "2026-10-20T00:00:00Z"}}
  - {name: python-ml 2.0.1, id: ami-00000000000000201, region: us-east-1, architecture: x86_64, created: 2024-12-01T00:00:00Z, volume_gib: 10, last_launched: 2026-10-20T00:00:00Z, shared_with: [{account: "210987654321"}], tags: {"amiref:template": python-ml, "amiref:template-version": 2.0.1, team: ml}}
parameters:
  us-east-1:
    /ml/python/base: {value: ami-00000000000000203, data_type: "aws:ec2:image", last_modified: 2026-10-01T00:00:00Z}
"#;

/// `ami retire --template python-ml --keep 1` on the governed world, with `args`.
fn retire_governed(s: &Sandbox, world: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = s.on_world(world);
    cmd.args(["ami", "retire", "--template", "python-ml", "--keep", "1"])
        .args(args);
    cmd
}

/// What `cmd` prints on stdout, once it succeeded.
fn stdout_of(cmd: &mut Command) -> String {
    String::from_utf8(cmd.assert().success().get_output().stdout.clone()).unwrap()
}

/// The line of `image` in `text`.
fn line_of<'t>(text: &'t str, image: &str) -> &'t str {
    text.lines()
        .find(|l| l.contains(image))
        .unwrap_or_else(|| panic!("no line for {image} in:\n{text}"))
}

#[test]
fn retire_explains_each_protection_and_what_the_recycle_bin_keeps() {
    let s = Sandbox::new();
    let world = s.write("governed.yaml", GOVERNED_WORLD);
    let text = stdout_of(&mut retire_governed(
        &s,
        &world,
        &["--keep-launched-within", "14d", "--force-shared"],
    ));
    // Ranked by version: 2.1.1 is the newest though 2.0.6 was built after it.
    assert!(
        line_of(&text, "ami-00000000000000211").contains("keep: newest #1"),
        "{text}"
    );
    assert!(
        line_of(&text, "ami-00000000000000206")
            .contains("would disable, deregister after 2026-11-15T00:00:00Z"),
        "{text}"
    );
    assert!(
        line_of(&text, "ami-00000000000000205").contains(
            "protected: deregistration protection on (ami protect ami-00000000000000205 --off to allow)"
        ),
        "{text}"
    );
    assert!(
        line_of(&text, "ami-00000000000000204")
            .contains("protected: launched 2026-10-25T00:00:00Z"),
        "{text}"
    );
    assert!(
        line_of(&text, "ami-00000000000000203").contains("protected: referenced by SSM parameter"),
        "{text}"
    );
    // Disabled by an earlier run, its grace over: deregistered now, kept by the Recycle Bin.
    assert!(
        line_of(&text, "ami-00000000000000202")
            .contains("would retire: deregister, delete snapshots"),
        "{text}"
    );
    assert!(
        text.contains(
            "Recycle Bin: image recoverable until 2026-11-22T00:00:00Z (rule rbin-ml-images, 21 days); no rule keeps the snapshots"
        ),
        "{text}"
    );
    // --force-shared overrides the sharing only: another account launched it within 30 days.
    let shared = line_of(&text, "ami-00000000000000201");
    assert!(
        shared.contains("protected: launched 2026-10-20T00:00:00Z")
            && !shared.contains("shared with"),
        "{text}"
    );
    assert!(text.contains("would free 10 GiB of snapshots"), "{text}");
    assert!(
        text.contains("would free 10 GiB more once disabled images' grace periods end"),
        "{text}"
    );
    // A dry run changes nothing: one planned record.
    let records = audit_records(&s);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["dry_run"], true);
}

#[test]
fn retire_disables_first_and_enable_cancels_the_retirement() {
    let s = Sandbox::new();
    let world = s.write("governed.yaml", GOVERNED_WORLD);
    let retired = success_json(&mut retire_governed(
        &s,
        &world,
        &["--grace", "7d", "--execute", "--output", "json"],
    ));
    let entry = |doc: &serde_json::Value, image: &str| {
        doc["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["image"] == image)
            .cloned()
            .unwrap_or_else(|| panic!("no entry for {image}: {doc}"))
    };
    let disabled = entry(&retired, "ami-00000000000000206");
    assert_eq!(disabled["decision"], "disabled");
    assert_eq!(disabled["retire_after"], "2026-11-08T00:00:00Z");
    assert_eq!(
        disabled["recycle_bin"]["image"]["recoverable_until"],
        "2026-11-29T00:00:00Z"
    );
    assert_eq!(
        entry(&retired, "ami-00000000000000202")["decision"],
        "retired"
    );
    assert_eq!(retired["grace_secs"], 7 * 24 * 3600);
    assert_eq!(retired["freed_gib"], 10);
    // 2.0.4 was launched a week ago, which keeps it only under --keep-launched-within.
    assert_eq!(
        entry(&retired, "ami-00000000000000204")["decision"],
        "disabled"
    );
    assert_eq!(retired["scheduled_gib"], 20);
    // The next run finds it disabled and waiting; the deregistered one is gone.
    let again = success_json(&mut retire_governed(&s, &world, &["--output", "json"]));
    let waiting = entry(&again, "ami-00000000000000206");
    assert_eq!(waiting["decision"], "in_grace");
    assert_eq!(waiting["state"], "disabled");
    assert!(
        !again.to_string().contains("ami-00000000000000202"),
        "{again}"
    );
    // `ami enable` brings it back and cancels the retirement...
    s.on_world(&world)
        .args(["ami", "enable", "ami-00000000000000206"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "available; its pending retirement cancelled (tag amiref:retire-after removed)",
        ))
        .stdout(predicate::str::contains("note: EC2 does not restore"));
    // ...so the policy starts over with it: disable first again.
    let fresh = success_json(&mut retire_governed(&s, &world, &["--output", "json"]));
    assert_eq!(
        entry(&fresh, "ami-00000000000000206")["decision"],
        "disable"
    );
}

#[test]
fn protection_set_by_hand_protects_from_retirement_until_its_cooldown_ends() {
    let s = Sandbox::new();
    let world = s.write("governed.yaml", GOVERNED_WORLD);
    let image = "ami-00000000000000206";
    for (args, says) in [
        (
            &["--cooldown", "--dry-run"][..],
            "dry run: ami-00000000000000206 (\"python-ml 2.0.6\") in us-east-1: deregistration protection would be on, with the 24-hour cooldown",
        ),
        (
            &["--cooldown"][..],
            "deregistration protection on, with the 24-hour cooldown",
        ),
        (&["--cooldown"][..], "deregistration protection already on"),
    ] {
        s.on_world(&world)
            .args(["ami", "protect", image])
            .args(args)
            .assert()
            .success()
            .stdout(predicate::str::contains(says));
    }
    let off = success_json(
        s.on_world(&world)
            .args(["ami", "protect", image, "--off", "--output", "json"]),
    );
    assert_eq!(off["outcome"], "changed");
    assert_eq!(off["after"]["protection"], "cooling_down");
    let text = stdout_of(&mut retire_governed(&s, &world, &[]));
    assert!(
        line_of(&text, image).contains(
            "protected: deregistration protection cooling down until 2026-11-02T00:00:00Z"
        ),
        "{text}"
    );
    let operations: Vec<String> = audit_records(&s)
        .iter()
        .filter(|r| r["target"] == image)
        .map(|r| {
            format!(
                "{} {}",
                r["operation"].as_str().unwrap(),
                r["outcome"]["status"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert!(
        operations.contains(&"protect planned".to_owned()),
        "{operations:?}"
    );
    assert!(
        operations.contains(&"protect intended".to_owned()),
        "{operations:?}"
    );
    assert!(
        operations.contains(&"protect unchanged".to_owned()),
        "{operations:?}"
    );
    assert!(
        operations.contains(&"unprotect succeeded".to_owned()),
        "{operations:?}"
    );
}

#[test]
fn disable_removes_launch_permissions_and_says_which() {
    let s = Sandbox::new();
    let world = s.write("governed.yaml", GOVERNED_WORLD);
    let image = "ami-00000000000000201";
    s.on_world(&world)
        .args(["ami", "disable", image])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "ami-00000000000000201 (\"python-ml 2.0.1\") in us-east-1: disabled",
        ))
        .stdout(predicate::str::contains(
            "launch permissions removed: account 210987654321",
        ));
    s.on_world(&world)
        .args(["ami", "disable", image])
        .assert()
        .success()
        .stdout(predicate::str::contains("already disabled"));
    let record = audit_records(&s)
        .into_iter()
        .find(|r| r["operation"] == "disable" && r["outcome"]["status"] == "succeeded")
        .expect("the disabling's outcome");
    assert_eq!(
        record["details"]["launch_permissions_removed"][0]["account"],
        "210987654321"
    );
    s.on_world(&world)
        .args(["ami", "protect", image, "--off", "--cooldown"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}
