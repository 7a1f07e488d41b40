//! The example templates load, and survive YAML and JSON round trips with their meaning
//! (and fingerprint) intact.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::path::PathBuf;

use amiref_template::{AmiStrategy, FallbackStrategy, Template, TemplateSet};

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/templates")
}

fn examples() -> TemplateSet {
    match TemplateSet::load_dir(examples_dir()) {
        Ok(set) => set,
        Err(e) => panic!("the example templates must be valid:\n{e}"),
    }
}

#[test]
fn every_example_is_valid_and_they_cover_every_strategy_and_fallback() {
    let set = examples();
    assert!(set.len() >= 5, "{} templates", set.len());
    for name in ["python-ml", "r-research"] {
        assert!(set.get(name).is_some(), "{name} missing");
    }
    let configs: Vec<_> = set.iter().filter_map(|t| t.ami_config.as_ref()).collect();
    for strategy in [
        AmiStrategy::AmiPreferred,
        AmiStrategy::AmiRequired,
        AmiStrategy::AmiFallback,
    ] {
        assert!(
            configs.iter().any(|c| c.strategy == strategy),
            "{strategy:?} unused"
        );
    }
    for fallback in [
        FallbackStrategy::ScriptProvisioning,
        FallbackStrategy::Error,
        FallbackStrategy::CrossRegion,
    ] {
        assert!(
            configs.iter().any(|c| c.fallback_strategy == fallback),
            "{fallback:?} unused"
        );
    }
}

#[test]
fn python_ml_matches_the_mission() {
    let set = examples();
    let t = set.get("python-ml").unwrap();
    let config = t.ami_config.as_ref().unwrap();
    let regions: Vec<_> = config.ami_mappings.keys().map(|r| r.as_str()).collect();
    assert_eq!(regions, ["eu-west-1", "us-east-1", "us-west-2"]);
    assert!(config.marketplace_search.is_some());
    assert_eq!(
        config.fallback_strategy,
        FallbackStrategy::ScriptProvisioning
    );
    assert!(t.user_data.is_some());
    assert_eq!(
        config.ami_search.as_ref().unwrap().all_owners()[0].as_str(),
        "prism-community"
    );
}

#[test]
fn an_example_finds_its_image_and_its_base_image_by_ssm_parameter() {
    let set = examples();
    let t = set.get("golden-python-ml").unwrap();
    let config = t.ami_config.as_ref().unwrap();
    assert_eq!(
        config.ssm_parameter.as_ref().unwrap().as_str(),
        "/golden/python-ml/x86_64"
    );
    let eu: amiref_core::Region = "eu-west-1".parse().unwrap();
    assert_eq!(
        config.ssm_parameter_in(&eu).unwrap().as_str(),
        "/golden/eu/python-ml/x86_64"
    );
    assert_eq!(
        t.base_image.as_ref().unwrap().parameter().unwrap().as_str(),
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    );
    // Another example keeps a search base image.
    assert!(
        set.iter()
            .any(|t| t.base_image.as_ref().is_some_and(|b| b.search().is_some()))
    );
}

#[test]
fn yaml_round_trip_keeps_meaning() {
    for t in examples().iter() {
        let text = t.to_yaml_string();
        let again = Template::from_yaml_str(&text, "round-trip.yml")
            .unwrap_or_else(|e| panic!("{} did not read back:\n{e}\n---\n{text}", t.name));
        assert_eq!(&again, t);
        assert_eq!(again.fingerprint(), t.fingerprint());
    }
}

#[test]
fn json_round_trip_keeps_meaning() {
    for t in examples().iter() {
        let json = serde_json::to_string_pretty(t).unwrap();
        // serde's own reading and the validating loader (JSON is YAML) agree.
        let by_serde: Template = serde_json::from_str(&json).unwrap();
        assert_eq!(&by_serde, t);
        let by_loader = Template::from_yaml_str(&json, "round-trip.json")
            .unwrap_or_else(|e| panic!("{} did not read back:\n{e}", t.name));
        assert_eq!(&by_loader, t);
    }
}

#[test]
fn serde_and_the_loader_read_the_examples_alike() {
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let by_loader = Template::load_file(&path).unwrap();
        let by_serde: Template = amiref_yaml::from_str(&text, &path.display().to_string()).unwrap();
        assert_eq!(by_loader, by_serde, "{}", path.display());
    }
}
