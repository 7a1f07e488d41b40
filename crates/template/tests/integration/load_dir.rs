//! Loading a directory: every file read, every failure reported, names unique.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use amiref_template::{TemplateError, TemplateSet};

const VALID: &str = "name: NAME\nuser_data: |\n  #!/bin/bash\n  echo hi\n";

fn write(dir: &std::path::Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap();
}

#[test]
fn loads_yml_and_yaml_files_only_by_name() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.yml", &VALID.replace("NAME", "alpha"));
    write(dir.path(), "b.yaml", &VALID.replace("NAME", "beta"));
    write(dir.path(), "notes.txt", "not a template");
    write(dir.path(), ".hidden.yml", "not: [valid");
    std::fs::create_dir(dir.path().join("sub.yml")).unwrap();
    let set = TemplateSet::load_dir(dir.path()).unwrap();
    assert_eq!(set.names().collect::<Vec<_>>(), ["alpha", "beta"]);
    assert_eq!(set.get("beta").unwrap().name, "beta");
    assert!(set.source("alpha").unwrap().ends_with("a.yml"));
    assert!(set.get("gamma").is_none());
    assert_eq!(set.len(), 2);
}

#[test]
fn duplicate_names_name_both_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "one.yml", &VALID.replace("NAME", "same"));
    write(dir.path(), "two.yml", &VALID.replace("NAME", "same"));
    let err = TemplateSet::load_dir(dir.path()).unwrap_err();
    let TemplateError::DuplicateName {
        name,
        first,
        second,
    } = &err
    else {
        panic!("{err}");
    };
    assert_eq!(name, "same");
    assert!(first.ends_with("one.yml") && second.ends_with("two.yml"));
    let shown = err.to_string();
    assert!(
        shown.contains("one.yml") && shown.contains("two.yml"),
        "{shown}"
    );
}

#[test]
fn every_failing_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.yml", &VALID.replace("NAME", "fine"));
    write(dir.path(), "b.yml", "name: [x]\n");
    write(dir.path(), "c.yml", &VALID.replace("NAME", "fine"));
    write(dir.path(), "d.yml", "nam: x\n");
    let err = TemplateSet::load_dir(dir.path()).unwrap_err();
    let TemplateError::Several { errors } = &err else {
        panic!("{err}");
    };
    assert_eq!(errors.len(), 3, "{err}");
    let shown = err.to_string();
    for needle in [
        "b.yml:1:7: name: found a list",
        "c.yml: template name \"fine\"",
        "d.yml:1:1: nam: found unknown field",
    ] {
        assert!(shown.contains(needle), "missing {needle:?} in:\n{shown}");
    }
}

#[test]
fn a_missing_directory_is_a_read_error() {
    let err = TemplateSet::load_dir("/nonexistent/templates").unwrap_err();
    assert!(matches!(err, TemplateError::Read { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("/nonexistent/templates: cannot read")
    );
}

#[test]
fn a_file_that_is_not_utf8_is_refused_at_its_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.yml");
    std::fs::write(&path, b"name: caf\xe9\nuser_data: |\n  #!/bin/bash\n").unwrap();
    let err = amiref_template::Template::load_file(&path).unwrap_err();
    let problems = err.problems();
    assert_eq!(problems.len(), 1, "{err}");
    assert_eq!(problems[0].kind, amiref_template::ProblemKind::Syntax);
    assert!(
        err.to_string().ends_with(
            "latin1.yml:1:10: found the byte 0xe9, which is not UTF-8, expected UTF-8 text"
        ),
        "{err}"
    );
    let missing = amiref_template::Template::load_file(dir.path().join("none.yml")).unwrap_err();
    assert!(matches!(missing, TemplateError::Read { .. }), "{missing}");
}

#[test]
fn a_deeply_nested_template_is_refused_with_a_location() {
    let mut text = String::from("name: deep\nami_config:\n");
    let mut depth = 1;
    while text.len() < 200_000 {
        text.push_str(&"  ".repeat(depth));
        text.push_str("x:\n");
        depth += 1;
    }
    let err = amiref_template::Template::from_yaml_str(&text, "deep.yml").unwrap_err();
    let problems = err.problems();
    assert_eq!(problems.len(), 1, "{err}");
    assert_eq!(problems[0].kind, amiref_template::ProblemKind::Syntax);
    // Line 1 is the top mapping (depth 1), line 3 the first under ami_config (depth 2): the
    // mapping at depth 65 starts at line 66, indented 128.
    assert_eq!(
        problems[0].location,
        Some(amiref_template::Location {
            line: 66,
            column: 129
        }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("expected at most 64 levels of nesting"),
        "{err}"
    );
}
