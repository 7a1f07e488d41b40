//! The corpus of malformed templates: each `tests/malformed/NN-name.yml` must fail with
//! exactly the error in `NN-name.expected`.
//!
//! To accept new or changed messages after reviewing them:
//! `AMIREF_BLESS=1 cargo test -p amiref-template --test integration malformed::`.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::path::{Path, PathBuf};

use amiref_template::Template;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_malformed_template_gives_its_exact_error() {
    let bless = std::env::var_os("AMIREF_BLESS").is_some();
    let files = corpus();
    assert!(
        files.len() >= 30,
        "the corpus has {} templates",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let origin = file.file_name().unwrap().to_string_lossy().into_owned();
        let actual = match Template::from_yaml_str(&text, &origin) {
            Ok(_) => {
                failures.push(format!("{origin}: loaded without error"));
                continue;
            }
            Err(e) => format!("{e}\n"),
        };
        let expected_file = file.with_extension("expected");
        if bless {
            std::fs::write(&expected_file, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_file).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "{origin}:\n--- expected\n{expected}--- actual\n{actual}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} malformed templates gave another error (rerun with AMIREF_BLESS=1 to accept):\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn every_problem_has_a_location_and_the_error_lists_every_one() {
    for file in corpus() {
        let text = std::fs::read_to_string(&file).unwrap();
        let err = Template::from_yaml_str(&text, "t.yml").unwrap_err();
        let problems = err.problems();
        assert!(!problems.is_empty(), "{}", file.display());
        let shown = err.to_string();
        for p in problems {
            assert!(p.location.is_some(), "{}: {p:?}", file.display());
            let l = p.location.unwrap();
            assert!(
                shown.contains(&format!("t.yml:{}:{}: ", l.line, l.column)),
                "{}",
                file.display()
            );
        }
    }
}

#[test]
fn a_flood_of_problems_is_cut_short_and_counted() {
    let mut text =
        String::from("name: big\nuser_data: \"#!/bin/sh\"\nami_config:\n  ami_mappings:\n");
    for i in 0..300 {
        text.push_str(&format!("    us-east-{}: ami-bad{i}\n", i % 90 + 1));
    }
    // Keys repeat (us-east-1 four times): each repeat is reported, with the problems of
    // the entries kept (a malformed id, an unknown region), in text order.
    let err = Template::from_yaml_str(&text, "big.yml").unwrap_err();
    let problems = err.problems();
    assert_eq!(problems.len(), amiref_template::InvalidTemplate::MAX_LISTED);
    // 90 distinct keys of which 88 are unknown regions, 90 malformed ids, 210 repeats.
    assert_eq!(err.problem_count(), 88 + 90 + 210);
    // The first ones in the text are listed: the repeats start at line 95, past them.
    assert_eq!(problems[0].location.map(|l| l.line), Some(5));
    assert!(problems.iter().all(|p| !p.found.contains("a second time")));

    let mut text =
        String::from("name: big\nuser_data: \"#!/bin/sh\"\nami_config:\n  ami_mappings:\n");
    for i in 0..300 {
        text.push_str(&format!("    zone{i}: ami-bad{i}\n"));
    }
    let amiref_template::TemplateError::Invalid(invalid) =
        Template::from_yaml_str(&text, "big.yml").unwrap_err()
    else {
        panic!("not an invalid template");
    };
    assert_eq!(
        invalid.problems.len(),
        amiref_template::InvalidTemplate::MAX_LISTED
    );
    // Each entry has a bad region and a bad id: 600 problems in all.
    assert_eq!(
        invalid.omitted,
        600 - amiref_template::InvalidTemplate::MAX_LISTED
    );
    assert!(
        invalid
            .to_string()
            .ends_with("big.yml: and 500 more problems, not listed: fix these and check again")
    );
    assert!(invalid.problems.iter().all(|p| p.location.is_some()));
}

#[test]
fn the_errors_quoted_in_the_documentation_are_current() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/template.md");
    let doc = std::fs::read_to_string(doc_path).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
    let mut quoted = 0;
    for line in doc.lines() {
        let Some((file, _)) = line.split_once(".yml:") else {
            continue;
        };
        if !file.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        let expected = std::fs::read_to_string(dir.join(format!("{file}.expected"))).unwrap();
        assert!(
            expected.lines().any(|l| l == line),
            "docs/template.md quotes an error of {file}.yml that it no longer gives:\n{line}"
        );
        quoted += 1;
    }
    assert!(quoted >= 3, "the documentation quotes {quoted} errors");
}
