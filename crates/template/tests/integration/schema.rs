//! The checked-in JSON Schema (docs/template.schema.json) is the one the types generate,
//! and it says what the rest of the crate relies on.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::path::PathBuf;

const REGENERATE: &str = "AMIREF_BLESS=1 cargo test -p amiref-template --test integration schema:: \
     (or: cargo run -p amiref-examples --bin amiref -- template schema > docs/template.schema.json)";

fn schema_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/template.schema.json")
}

#[test]
fn checked_in_schema_is_current() {
    let generated = format!(
        "{}\n",
        serde_json::to_string_pretty(&amiref_template::json_schema()).unwrap()
    );
    if std::env::var_os("AMIREF_BLESS").is_some() {
        std::fs::write(schema_file(), &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(schema_file()).unwrap_or_default();
    let parsed: Option<serde_json::Value> = serde_json::from_str(&checked_in).ok();
    assert!(
        parsed.as_ref() == Some(&amiref_template::json_schema()),
        "docs/template.schema.json is stale: the template types changed. Regenerate it with:\n  {REGENERATE}"
    );
}

#[test]
fn schema_describes_the_format() {
    let schema = amiref_template::json_schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["required"], serde_json::json!(["name"]));
    let defs = schema["$defs"].as_object().unwrap();
    for def in [
        "AmiConfig",
        "AmiSearch",
        "MarketplaceSearch",
        "AmiId",
        "Owner",
        "HumanDuration",
    ] {
        assert!(defs.contains_key(def), "{def} missing");
    }
    let config = &defs["AmiConfig"]["properties"];
    assert_eq!(
        config["ami_search"]["$ref"], "#/$defs/AmiSearch",
        "optional fields are not nullable: the loader refuses empty values"
    );
    assert_eq!(
        defs["AmiStrategy"]["oneOf"].as_array().map(Vec::len),
        Some(3),
        "{}",
        defs["AmiStrategy"]
    );
}
