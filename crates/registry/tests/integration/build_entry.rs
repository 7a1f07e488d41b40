//! A build's entry: planned and signed, written once, unchanged on a re-run, replaced by a
//! rebuild; and the measured figures, which must add up.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use amiref_core::{AccountId, AmiId, Architecture, Region};
use amiref_registry::{
    BuildEntry, BuildEntryChange, ParsedRegistry, PublisherKey, Ratings, ScanStatus,
    SignatureCheck, Verification, WrittenEntry,
};
use common::*;

const OWNER: &str = "111122223333";

fn images(pairs: &[(&str, &str)]) -> BTreeMap<Region, AmiId> {
    pairs.iter().map(|(r, i)| (region(r), ami(i))).collect()
}

fn build(images: BTreeMap<Region, AmiId>, architecture: Architecture) -> BuildEntry {
    let mut verification = Verification::new(true, ScanStatus::NotRun).measured(630.0, 150.0);
    verification.tested_at = Some(now());
    BuildEntry::new(
        "python-ml",
        "2.1.0",
        architecture,
        AccountId::new(OWNER).unwrap(),
        images,
        now(),
        verification,
    )
}

fn two_regions() -> BTreeMap<Region, AmiId> {
    images(&[
        ("us-east-1", "ami-0123456789abcdef0"),
        ("us-west-2", "ami-0fedcba9876543210"),
    ])
}

fn write(entry: BuildEntry, file: &Path, key: &PublisherKey) -> WrittenEntry {
    entry.plan(file, key).unwrap().apply().unwrap()
}

fn read(path: &Path) -> ParsedRegistry {
    ParsedRegistry::load_file(path).unwrap()
}

#[test]
fn a_build_entry_is_signed_lists_every_region_and_carries_the_measured_figures() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("builds.yml");
    let key = key(7);

    let plan = build(two_regions(), Architecture::X86_64)
        .plan(&file, &key)
        .unwrap();
    assert!(!file.exists(), "planning writes nothing");
    let written = plan.apply().unwrap();
    assert_eq!(written.change, BuildEntryChange::Created);
    assert_eq!(written.version, "2.1.0");

    let parsed = read(&file);
    let entry = &parsed.document.community_amis["python-ml"]["2.1.0"];
    assert_eq!(entry.regions, two_regions());
    assert_eq!(entry.owner.as_ref().unwrap().as_str(), OWNER);
    assert_eq!(
        entry.creator,
        key.publisher(),
        "the key's holder by default"
    );
    assert_eq!(entry.created_at, Some(now()));
    let v = entry.verification.as_ref().unwrap();
    assert!(v.tested);
    assert_eq!(v.script_ready_secs, Some(630.0));
    assert_eq!(v.image_ready_secs, Some(150.0));
    assert_eq!(v.speedup, Some(4.2));
    assert!(
        parsed.entry_problems.is_empty(),
        "{:?}",
        parsed.entry_problems
    );
    assert!(matches!(
        trust(&[&key]).verify("python-ml", "2.1.0", entry),
        SignatureCheck::Valid { .. }
    ));
    assert!(matches!(
        trust(&[&common::key(8)]).verify("python-ml", "2.1.0", entry),
        SignatureCheck::UnknownKey(_)
    ));
}

#[test]
fn planning_the_same_entry_again_is_unchanged_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("builds.yml");
    let key = key(7);
    write(build(two_regions(), Architecture::X86_64), &file, &key);
    let before = std::fs::read_to_string(&file).unwrap();
    let modified = std::fs::metadata(&file).unwrap().modified().unwrap();

    let again = write(build(two_regions(), Architecture::X86_64), &file, &key);
    assert_eq!(again.change, BuildEntryChange::Unchanged);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        modified
    );
}

#[test]
fn a_rebuild_replaces_the_images_and_keeps_ratings_and_sharing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("builds.yml");
    let key = key(7);
    write(build(two_regions(), Architecture::X86_64), &file, &key);
    // Users rated it; the publisher re-signs by hand, as `registry sign` does.
    let mut parsed = read(&file);
    let entry = parsed
        .document
        .community_amis
        .get_mut("python-ml")
        .unwrap()
        .get_mut("2.1.0")
        .unwrap();
    entry.ratings = Some(Ratings::new(4.5, 10, 300));
    entry.verification.as_mut().unwrap().security_scan = ScanStatus::Passed;
    parsed.sign("python-ml", "2.1.0", &key).unwrap();
    parsed.save_file(&file).unwrap();

    let rebuilt = images(&[("us-east-1", "ami-0aaaabbbbccccdddd")]);
    let written = write(build(rebuilt.clone(), Architecture::X86_64), &file, &key);
    assert_eq!(
        written.change,
        BuildEntryChange::Replaced {
            previous: two_regions()
        }
    );
    let entry = &read(&file).document.community_amis["python-ml"]["2.1.0"];
    assert_eq!(entry.regions, rebuilt, "only the new build's images");
    assert_eq!(entry.ratings, Some(Ratings::new(4.5, 10, 300)));
    assert_eq!(
        entry.verification.as_ref().unwrap().security_scan,
        ScanStatus::NotRun,
        "a scan of the old images says nothing of the new ones"
    );
}

#[test]
fn another_architecture_of_a_listed_version_gets_its_own_version() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("builds.yml");
    let key = key(7);
    write(build(two_regions(), Architecture::X86_64), &file, &key);
    let arm = images(&[("us-east-1", "ami-0aaaabbbbccccdddd")]);
    let written = write(build(arm.clone(), Architecture::Arm64), &file, &key);
    assert_eq!(written.version, "2.1.0+arm64");
    let parsed = read(&file);
    let versions = &parsed.document.community_amis["python-ml"];
    assert_eq!(versions["2.1.0"].regions, two_regions(), "x86_64 untouched");
    assert_eq!(versions["2.1.0+arm64"].regions, arm);
    assert_eq!(versions["2.1.0+arm64"].architecture, Architecture::Arm64);
}

#[test]
fn a_version_owned_by_another_account_is_refused_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("builds.yml");
    let key = key(7);
    write(build(two_regions(), Architecture::X86_64), &file, &key);
    let before = std::fs::read_to_string(&file).unwrap();
    let mut other = build(two_regions(), Architecture::X86_64);
    other.owner = AccountId::new("999988887777").unwrap();
    let err = other.plan(&file, &key).unwrap_err();
    assert!(err.to_string().contains("owned by 111122223333"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
}

#[test]
fn measured_figures_are_written_only_from_measurements() {
    let v = Verification::new(true, ScanStatus::NotRun).measured(600.0, 0.0);
    assert_eq!(
        (v.script_ready_secs, v.image_ready_secs, v.speedup),
        (None, None, None),
        "no time is no measurement"
    );
    let v = Verification::new(true, ScanStatus::NotRun).measured(f64::NAN, 10.0);
    assert_eq!(v.speedup, None);
    let v = Verification::new(true, ScanStatus::NotRun).measured(100.0, 30.0);
    assert_eq!(v.speedup, Some(3.33));
}

fn problems_of(verification: &str) -> Vec<String> {
    let yaml = format!(
        "schema_version: 1\ncommunity_amis:\n  web:\n    1.0.0:\n      creator: me\n      regions: {{ us-east-1: ami-0123456789abcdef0 }}\n      verification:\n{verification}"
    );
    let parsed = ParsedRegistry::from_yaml_str(&yaml, "r.yml").unwrap();
    parsed.problems().map(ToString::to_string).collect()
}

#[test]
fn figures_that_do_not_add_up_refuse_the_entry_with_their_path() {
    assert!(
        problems_of(
            "        script_ready_secs: 600\n        image_ready_secs: 120\n        speedup: 5\n"
        )
        .is_empty()
    );
    assert!(
        problems_of("        tested: true\n").is_empty(),
        "old entries without figures read"
    );

    let wrong = problems_of(
        "        script_ready_secs: 600\n        image_ready_secs: 120\n        speedup: 9\n",
    );
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert!(wrong[0].contains("verification.speedup"), "{}", wrong[0]);
    assert!(wrong[0].contains("= 5"), "{}", wrong[0]);

    let alone = problems_of("        speedup: 4.2\n");
    assert_eq!(alone.len(), 1, "{alone:?}");
    assert!(alone[0].contains("without both times"), "{}", alone[0]);

    let negative = problems_of("        image_ready_secs: -3\n");
    assert_eq!(negative.len(), 1, "{negative:?}");
    assert!(
        negative[0].contains("verification.image_ready_secs"),
        "{}",
        negative[0]
    );
}

#[test]
fn a_key_that_is_not_the_files_signer_still_signs_a_new_entry() {
    // A second publisher's build of another template lands beside the first's.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("builds.yml");
    write(build(two_regions(), Architecture::X86_64), &file, &key(7));
    let other: PublisherKey = key(9);
    let mut entry = build(
        images(&[("eu-west-1", "ami-0aaaabbbbccccdddd")]),
        Architecture::X86_64,
    );
    entry.template = "r-research".into();
    entry.plan(&file, &other).unwrap().apply().unwrap();
    let parsed = read(&file);
    assert_eq!(parsed.document.entry_count(), 2);
    assert_eq!(parsed.document.publishers.len(), 2);
}
