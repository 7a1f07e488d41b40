//! Signing a registry file in place: every entry, a template's, or one version.
#![allow(clippy::unwrap_used)]

use crate::common;

use amiref_registry::{EntryPolicy, Layer, ParsedRegistry, SignFileError, SignRequest};
use common::*;

#[test]
fn a_file_is_signed_in_place_whole_or_by_template_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lab.yml");
    let key_file = dir.path().join("lab.key");
    let k = key(1);
    std::fs::write(&key_file, k.to_secret_yaml()).unwrap();
    let unsigned = document(vec![
        (
            "t",
            "v1.0.0",
            entry("us-east-1", "ami-11111111", None, None),
        ),
        ("t", "1.1.0", entry("us-east-1", "ami-22222222", None, None)),
        ("u", "2.0.0", entry("us-east-1", "ami-33333333", None, None)),
    ]);
    ParsedRegistry::from_document(unsigned, "lab.yml")
        .save_file(&file)
        .unwrap();
    let admitted = || {
        let parsed = ParsedRegistry::load_file(&file).unwrap();
        let reg = build(
            vec![(Layer::Community, parsed)],
            trust(&[&k]),
            EntryPolicy::new(),
        );
        let mut v: Vec<String> = reg
            .entries()
            .iter()
            .map(|e| format!("{} {}", e.template, e.version_text))
            .collect();
        v.sort();
        v
    };
    assert!(admitted().is_empty());

    // One version, in another spelling than the file's.
    let mut one = SignRequest::new(&file, &key_file);
    one.template = Some("t".into());
    one.version = Some("1.0.0".into());
    let report = one.run().unwrap();
    assert_eq!(report.signed.len(), 1);
    assert_eq!(report.signed[0].version, "v1.0.0");
    assert_eq!(report.key_id, k.key_id());
    assert_eq!(admitted(), ["t v1.0.0"]);

    let mut template = SignRequest::new(&file, &key_file);
    template.template = Some("t".into());
    assert_eq!(template.run().unwrap().signed.len(), 2);
    assert_eq!(admitted(), ["t 1.1.0", "t v1.0.0"]);

    assert_eq!(
        SignRequest::new(&file, &key_file)
            .run()
            .unwrap()
            .signed
            .len(),
        3
    );
    assert_eq!(admitted().len(), 3);

    // A signed entry that does not add up is signed, and its problems are reported.
    let mut parsed = ParsedRegistry::load_file(&file).unwrap();
    let versions = parsed.document.community_amis.get_mut("u").unwrap();
    versions.get_mut("2.0.0").unwrap().creator = " ".into();
    parsed.save_file(&file).unwrap();
    let mut u = SignRequest::new(&file, &key_file);
    u.template = Some("u".into());
    let report = u.run().unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].path.ends_with("creator"));

    let mut none = SignRequest::new(&file, &key_file);
    none.template = Some("nope".into());
    let err = none.run().unwrap_err();
    assert!(matches!(err, SignFileError::NoMatch { .. }), "{err}");
    assert!(err.to_string().contains("template nope"), "{err}");
    let err = SignRequest::new(&file, dir.path().join("absent.key"))
        .run()
        .unwrap_err();
    assert!(matches!(err, SignFileError::Key(_)), "{err}");
}
