//! The checked-in schemas (docs/reports/<kind>.schema.json) are the ones the report types
//! generate, one per report kind and no other.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::collections::BTreeSet;
use std::path::PathBuf;

use amiref_report::schema::catalog;

const REGENERATE: &str = "AMIREF_BLESS=1 cargo test -p amiref-report --test integration schema::";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/reports")
}

#[test]
fn checked_in_schemas_are_current() {
    let bless = std::env::var_os("AMIREF_BLESS").is_some();
    let mut stale = Vec::new();
    for entry in catalog() {
        let path = dir().join(entry.file_name());
        if bless {
            std::fs::create_dir_all(dir()).unwrap();
            let text = format!("{}\n", serde_json::to_string_pretty(&entry.schema).unwrap());
            std::fs::write(&path, text).unwrap();
            continue;
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        let parsed: Option<serde_json::Value> = serde_json::from_str(&checked_in).ok();
        if parsed.as_ref() != Some(&entry.schema) {
            stale.push(entry.file_name());
        }
    }
    assert!(
        stale.is_empty(),
        "docs/reports: {} stale (the report types changed). Regenerate with:\n  {REGENERATE}",
        stale.join(", ")
    );
}

#[test]
fn every_schema_file_belongs_to_a_report() {
    let expected: BTreeSet<String> = catalog().iter().map(|e| e.file_name()).collect();
    let mut strays = Vec::new();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".schema.json") && !expected.contains(&name) {
            strays.push(name);
        }
    }
    assert!(
        strays.is_empty(),
        "docs/reports has schemas of no report: {strays:?} (remove them, or add the report to \
         amiref_report::schema::catalog)"
    );
}

#[test]
fn every_schema_has_the_envelope() {
    for entry in catalog() {
        let s = &entry.schema;
        assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(
            s["properties"]["schema"]["const"],
            format!("amiref/{}/v1", entry.kind)
        );
        assert_eq!(s["required"], serde_json::json!(["schema", "ok"]));
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["properties"]["error"]["$ref"], "#/$defs/ErrorReport");
        let error = &s["$defs"]["ErrorReport"];
        for key in ["kind", "message", "exit_code", "details"] {
            assert!(
                error["properties"].get(key).is_some(),
                "{}: error.{key}",
                entry.kind
            );
        }
    }
}

#[test]
fn kinds_are_unique_snake_case() {
    let kinds: Vec<&str> = catalog().iter().map(|e| e.kind).collect();
    let unique: BTreeSet<&str> = kinds.iter().copied().collect();
    assert_eq!(unique.len(), kinds.len(), "{kinds:?}");
    for kind in kinds {
        assert!(
            kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{kind}"
        );
    }
}

/// Money, time and size keys say their unit: no `estimated_duration` beside
/// `launch_time_secs`.
#[test]
fn numeric_keys_name_their_unit() {
    const UNITS: [&str; 8] = [
        "_secs",
        "_ms",
        "_minutes",
        "_days",
        "_usd",
        "_gib",
        "_usd_per_month",
        "_count",
    ];
    // `speedup`: a ratio of two times (script / image), so it has no unit.
    const UNITLESS: [&str; 5] = ["exit_code", "rank", "line", "column", "speedup"];
    let mut offenders = Vec::new();
    for entry in catalog() {
        walk(&entry.schema, &mut |key, property| {
            let numeric = property["type"] == "integer"
                || property["type"] == "number"
                || property["type"]
                    .as_array()
                    .is_some_and(|t| t.contains(&"integer".into()) || t.contains(&"number".into()))
                || property["$ref"] == "#/$defs/Usd"
                || property["anyOf"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|s| s["$ref"] == "#/$defs/Usd"));
            // Ordinals are unitless too: a line (`found_at_line`) or a chain's `seq`.
            let ordinal = key == "seq" || key.ends_with("_line");
            let named =
                UNITS.iter().any(|u| key.ends_with(u)) || UNITLESS.contains(&key) || ordinal;
            if numeric && !named && !is_count(key) {
                offenders.push(format!("{}: {key}", entry.kind));
            }
        });
    }
    assert!(
        offenders.is_empty(),
        "numbers without a unit: {offenders:?}"
    );
}

/// Counts of things and scores are plain numbers: `invalid`, `candidates`, `score`; so are
/// star ratings (0 to 5) and a score's parts (0 to 1) and weights.
fn is_count(key: &str) -> bool {
    const SCORES: [&str; 7] = [
        "average",
        "published_average",
        "local_average",
        "bayesian",
        "total",
        "value",
        "weight",
    ];
    const COUNTS: [&str; 18] = [
        "invalid",
        "failed",
        "not_shared",
        "restricted",
        "reviews",
        "published_reviews",
        "local_reviews",
        "downloads",
        "count",
        "candidates",
        "matching",
        "score",
        "stars",
        "replaced_stars",
        "available",
        "cross_region_copy",
        "script_fallback",
        "unavailable",
    ];
    COUNTS.contains(&key) || SCORES.contains(&key)
}

fn walk(value: &serde_json::Value, f: &mut impl FnMut(&str, &serde_json::Value)) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(props)) = map.get("properties") {
                for (key, property) in props {
                    f(key, property);
                }
            }
            for v in map.values() {
                walk(v, f);
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                walk(v, f);
            }
        }
        _ => {}
    }
}
