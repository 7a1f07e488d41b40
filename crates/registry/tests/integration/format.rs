//! Reading registry files: located errors, and entries that do not add up.
#![allow(clippy::unwrap_used)]

use crate::common;

use amiref_registry::{EntryPolicy, Layer, ParsedRegistry, TrustStore};
use common::*;

const GOOD: &str = r#"schema_version: 1
community_amis:
  python-ml:
    v2.1.0:
      creator: "ml-research-group@university.edu"
      description: "Optimized Python ML with CUDA 12.0, PyTorch 2.1"
      regions:
        us-east-1: "ami-0123456789abcdef0"
        us-west-2: "ami-0fedcba9876543210"
      verification:
        tested: true
        security_scan: "passed"
        performance_benchmark: "4.2x faster than script install"
      ratings:
        average: 4.8
        reviews: 23
        downloads: 1247
  r-research:
    v1.5.0:
      creator: "stats-dept@college.edu"
      description: "R 4.3 with tidyverse, RStudio Server pre-configured"
      regions:
        us-east-1: "ami-0abcd1234567890ef"
      verification:
        tested: true
        security_scan: "passed"
"#;

#[test]
fn the_missions_example_reads_with_a_schema_version() {
    let parsed = ParsedRegistry::from_yaml_str(GOOD, "community.yml").unwrap();
    assert_eq!(parsed.document.entry_count(), 2);
    assert_eq!(parsed.problems().count(), 0);
    let e = &parsed.document.community_amis["python-ml"]["v2.1.0"];
    assert_eq!(e.ratings.as_ref().unwrap().reviews, 23);
    assert_eq!(e.architecture, amiref_core::Architecture::X86_64);
}

#[test]
fn type_errors_name_file_line_column_field_and_expectation() {
    let bad = GOOD.replace("\"ami-0fedcba9876543210\"", "\"ami-XYZ\"");
    let err = ParsedRegistry::from_yaml_str(&bad, "community.yml").unwrap_err();
    let p = &err.problems()[0];
    assert_eq!((p.line, p.column), (Some(9), Some(20)), "{err}");
    assert_eq!(
        p.path,
        r#"community_amis.python-ml["v2.1.0"].regions.us-west-2"#
    );
    assert!(p.expected.contains("ami-"), "{err}");
    let text = err.to_string();
    assert!(text.contains("community.yml:9:"), "{text}");

    let typo = GOOD.replace("downloads: 1247", "downlaods: 1247");
    let err = ParsedRegistry::from_yaml_str(&typo, "community.yml").unwrap_err();
    let p = &err.problems()[0];
    assert_eq!((p.line, p.column), (Some(17), Some(9)), "{err}");
    assert!(p.path.ends_with("ratings.downlaods"), "{err}");
    assert!(p.expected.contains("downloads"), "{err}");

    let missing = GOOD.replace("      creator: \"stats-dept@college.edu\"\n", "");
    let err = ParsedRegistry::from_yaml_str(&missing, "community.yml").unwrap_err();
    assert!(err.problems()[0].found.contains("creator"), "{err}");
    assert_eq!(err.problems()[0].line, Some(19), "{err}");

    let region = GOOD.replace("us-west-2:", "Oregon:");
    let err = ParsedRegistry::from_yaml_str(&region, "community.yml").unwrap_err();
    assert!(err.problems()[0].expected.contains("region"), "{err}");

    let version = GOOD.replace("schema_version: 1", "schema_version: 2");
    let err = ParsedRegistry::from_yaml_str(&version, "community.yml").unwrap_err();
    assert_eq!(
        (err.problems()[0].line, err.problems()[0].path.as_str()),
        (Some(1), "schema_version")
    );
}

fn refused_problems(text: &str) -> Vec<amiref_registry::Problem> {
    let parsed = ParsedRegistry::from_yaml_str(text, "community.yml").unwrap();
    parsed.problems().cloned().collect()
}

#[test]
fn entries_that_do_not_add_up_are_refused_alone_with_locations() {
    let not_semver = GOOD.replace("v1.5.0:", "latest:");
    let p = refused_problems(&not_semver);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].line, Some(19));
    assert!(p[0].expected.contains("semantic version"));

    let duplicate = GOOD.replace("  r-research:\n    v1.5.0:", "    2.1.0:");
    let p = refused_problems(&duplicate);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p.iter().all(|p| p.found.contains("same version")));

    let out_of_range = GOOD.replace("average: 4.8", "average: 5.5");
    let p = refused_problems(&out_of_range);
    assert_eq!(
        (p[0].line, p[0].path.ends_with("ratings.average")),
        (Some(15), true),
        "{p:?}"
    );

    let no_reviews = GOOD.replace("reviews: 23", "reviews: 0");
    assert!(
        refused_problems(&no_reviews)[0]
            .path
            .ends_with("ratings.reviews")
    );

    let same_image = GOOD.replace("ami-0fedcba9876543210", "ami-0123456789abcdef0");
    let p = refused_problems(&same_image);
    assert!(p[0].expected.contains("one region"), "{p:?}");
    assert_eq!(p[0].line, Some(9));

    // The good entry is still usable: one bad entry does not hide the rest.
    let reg = build(
        vec![(
            Layer::Community,
            ParsedRegistry::from_yaml_str(&out_of_range, "c.yml").unwrap(),
        )],
        TrustStore::new(),
        EntryPolicy::new().allow_unsigned(true),
    );
    assert_eq!(reg.entries().len(), 1);
    assert_eq!(reg.entries()[0].template, "r-research");
    assert_eq!(reg.report().refused.len(), 1);
    assert!(
        reg.report().refused[0].to_string().contains("c.yml:15"),
        "{}",
        reg.report().refused[0]
    );
}

#[test]
fn duplicate_keys_are_errors_with_both_lines() {
    let dup = GOOD.replace("  r-research:\n    v1.5.0:", "  python-ml:\n    v1.5.0:");
    let err = ParsedRegistry::from_yaml_str(&dup, "community.yml").unwrap_err();
    let p = &err.problems()[0];
    assert_eq!(p.line, Some(18));
    assert!(p.found.contains("first at line 3"), "{err}");
}

#[test]
fn documents_round_trip_through_yaml() {
    let parsed = ParsedRegistry::from_yaml_str(GOOD, "community.yml").unwrap();
    let text = parsed.to_yaml_string().unwrap();
    let again = ParsedRegistry::from_yaml_str(&text, "again.yml").unwrap();
    assert_eq!(again.document, parsed.document, "{text}");
}

#[test]
fn the_checked_in_json_schema_is_current() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/registry.schema.json"
    );
    let generated = serde_json::to_string_pretty(&amiref_registry::json_schema()).unwrap() + "\n";
    if std::env::var_os("AMIREF_BLESS").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    let parsed: Option<serde_json::Value> = serde_json::from_str(&checked_in).ok();
    assert!(
        parsed.as_ref() == Some(&amiref_registry::json_schema()),
        "docs/registry.schema.json is stale: run `AMIREF_BLESS=1 cargo test -p amiref-registry --test integration format::`"
    );
}

#[test]
fn tricky_strings_survive_writing_and_reading_with_their_signatures() {
    let k = key(5);
    let tricky = [
        "null",
        "~",
        "true",
        "False",
        "yes",
        "1e3",
        "0x1F",
        "0o17",
        ".inf",
        "-.5",
        "+1",
        "12",
        "0.",
        ".5",
        "1.0",
        "1_000",
        "2026-10-15",
        " leading space",
        "trailing ",
        "a: b",
        "# hash",
        "- dash",
        "[x]",
        "{y}",
        "'quote'",
        "\"dq\"",
        "multi\nline",
        "tab\there",
        "émoji 🎉",
        "*alias",
        "&anchor",
        "!tag",
        "%pct",
        "@at",
        "`tick`",
        "?q",
        "|pipe",
        ">gt",
        "back\\slash",
        "---",
        "...",
    ];
    for (i, text) in tricky.iter().enumerate() {
        let mut e = entry("us-east-1", "ami-12345678", Some((4.0, 3)), None);
        e.description = (*text).to_owned();
        e.creator = format!("{text}!");
        let parsed = signed(document(vec![("t", "1.0.0", e)]), "c.yml", &k);
        let yaml = parsed.to_yaml_string().unwrap();
        let back = ParsedRegistry::from_yaml_str(&yaml, "c.yml")
            .unwrap_or_else(|err| panic!("case {i} {text:?}: {err}\n{yaml}"));
        assert_eq!(back.document, parsed.document, "case {i} {text:?}\n{yaml}");
        let reg = build(
            vec![(Layer::Community, back)],
            trust(&[&k]),
            EntryPolicy::new(),
        );
        assert_eq!(
            reg.entries().len(),
            1,
            "case {i} {text:?}: {:?}",
            reg.report()
        );
    }
}
