//! A world keeps its state between commands (`--state DIR`), `world show` prints it in the
//! world-file format and `world reset` starts over; and the planning document's walk, one
//! command after another on the demo world: launch, image the instance by its name, share
//! the image with a community, list the template's images, test it everywhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use predicates::prelude::*;
use serde_json::Value;

use common::{Sandbox, success_json, templates_dir};

/// The demo world's caller (the lab) and a colleague's account.
const LAB: &str = "123456789012";
const COLLEAGUE: &str = "210987654321";

/// A sandbox configured as a lab would be: the example templates, the `prism` community
/// (its registry shared with the lab and a colleague, signed with a key of its own), read
/// back as a registry.
fn lab_sandbox() -> Sandbox {
    let s = Sandbox::empty();
    let key = s.path().join("prism.key");
    let trust = s.path().join("trust.yml");
    s.amiref()
        .args(["registry", "keygen", "--publisher", "prism@lab", "--out"])
        .arg(&key)
        .arg("--trust-store")
        .arg(&trust)
        .assert()
        .success();
    let registry = s.write(
        "prism.yml",
        &format!(
            "schema_version: 1\nsharing:\n  accounts: [\"{LAB}\", \"{COLLEAGUE}\"]\ncommunity_amis: {{}}\n"
        ),
    );
    s.config(&format!(
        "templates: [{:?}]\nregistries: [{:?}]\nregistry_keys: {:?}\ncommunities:\n  prism:\n    registry: {:?}\n    key: {:?}\n",
        templates_dir().display().to_string(),
        registry.display().to_string(),
        trust.display().to_string(),
        registry.display().to_string(),
        key.display().to_string(),
    ));
    s
}

fn json(cmd: &mut assert_cmd::Command) -> Value {
    success_json(cmd.args(["--output", "json"]))
}

#[test]
fn the_planning_walk_runs_command_after_command() {
    let s = lab_sandbox();
    let launched = json(s.on_demo().args(["launch", "python-ml", "my-research"]));
    let instance = launched["instance"].as_str().unwrap().to_owned();

    // The instance is found by its name, in the state the launch left.
    let created = json(
        s.on_demo()
            .args(["ami", "create", "python-ml", "my-research"])
            .args(["--name", "Python ML v2.2.0"]),
    );
    assert_eq!(created["instance"]["id"], instance.as_str(), "{created}");
    assert_eq!(created["image"]["name"], "Python ML v2.2.0", "{created}");
    assert_eq!(
        created["image"]["tags"]["amiref:template"], "python-ml",
        "{created}"
    );
    let image = created["image"]["image"].as_str().unwrap().to_owned();

    // Template from the image's tag, version from its name, audience from the registry.
    let shared = json(
        s.on_demo()
            .args(["ami", "share", &image, "--community", "prism"]),
    );
    assert_eq!(shared["entry"]["template"], "python-ml", "{shared}");
    assert_eq!(shared["entry"]["version"], "v2.2.0", "{shared}");
    assert_eq!(shared["version_from"], "image_name", "{shared}");
    assert_eq!(shared["written"], true, "{shared}");
    assert!(shared.to_string().contains(COLLEAGUE), "{shared}");

    // The new entry and the lab's own image are listed where the image is.
    s.on_demo()
        .args(["ami", "list", "--template", "python-ml"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Region: us-east-1"))
        .stdout(predicate::str::contains(&image))
        .stdout(predicate::str::contains("2.2.0"));

    // The template resolves in every region of the world.
    let tested = json(
        s.on_demo()
            .args(["ami", "test", "python-ml", "--all-regions"]),
    );
    assert_eq!(tested["regions"].as_array().unwrap().len(), 10, "{tested}");
    assert_eq!(tested["counts"]["unavailable"], 0, "{tested}");
}

#[test]
fn a_world_remembers_until_it_is_reset() {
    let s = common::Sandbox::new();
    let shown = |s: &Sandbox| {
        let out = s.on_demo().args(["world", "show"]).assert().success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let before = shown(&s);
    assert!(before.contains("ami-0f00dfeed0000cafe"), "{before}");
    assert!(!before.contains("remembered"), "{before}");
    s.on_demo()
        .args(["launch", "python-ml", "remembered"])
        .assert()
        .success();
    let after = shown(&s);
    assert!(
        after.contains("remembered"),
        "the launch was forgotten:\n{after}"
    );
    // The world's time went on, and the document loads as a world.
    let world = s.write("saved.yaml", &after);
    s.amiref()
        .arg("--world")
        .arg(&world)
        .arg("--state")
        .arg(s.path().join("other-state"))
        .args(["world", "show"])
        .assert()
        .success()
        .stdout(predicate::str::contains("remembered"));
    // In JSON, the same document as the result.
    let doc = json(s.on_demo().args(["world", "show"]));
    assert!(doc.to_string().contains("remembered"));

    s.on_demo().args(["world", "reset"]).assert().success();
    assert_eq!(shown(&s), before);
}
