//! Registry sources as people write them, and the same entry served by two sources.
#![allow(clippy::unwrap_used)]

use crate::common;

use amiref_registry::{EntryPolicy, Layer, RegistrySource, SourceError};
use common::*;

#[test]
fn one_parser_reads_paths_directories_and_https_urls() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("community.yml");
    std::fs::write(&file, "schema_version: 1\n").unwrap();
    let as_text = |p: &std::path::Path| p.display().to_string();
    assert!(matches!(
        RegistrySource::parse(&as_text(&file)).unwrap(),
        RegistrySource::File(p) if p == file
    ));
    assert!(matches!(
        RegistrySource::parse(&as_text(dir.path())).unwrap(),
        RegistrySource::Directory(p) if p == dir.path()
    ));
    // A path that does not exist yet is a file (reading it says it is missing).
    assert!(matches!(
        RegistrySource::parse("missing.yml").unwrap(),
        RegistrySource::File(_)
    ));
    let https = RegistrySource::parse("https://registry.example.org/community.yml").unwrap();
    assert_eq!(https.name(), "https://registry.example.org/community.yml");
    assert!(matches!(
        RegistrySource::parse("HTTPS://registry.example.org/c.yml").unwrap(),
        RegistrySource::Http(_)
    ));
}

#[test]
fn plain_http_other_schemes_and_nothing_are_refused_with_a_reason() {
    let refused = |text: &str| RegistrySource::parse(text).unwrap_err();
    let err = refused("http://registry.example.org/community.yml");
    assert!(matches!(err, SourceError::PlainHttp { .. }), "{err}");
    assert!(err.to_string().contains("use https://"), "{err}");
    let err = refused("s3://bucket/community.yml");
    assert!(
        matches!(&err, SourceError::UnsupportedScheme { scheme, .. } if scheme == "s3"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("expected a file, a directory or an https:// URL")
    );
    let err = refused("file:///srv/registry/community.yml");
    assert!(matches!(err, SourceError::FileUrl { .. }), "{err}");
    assert!(matches!(refused("  "), SourceError::Empty));
    assert!(matches!(refused("https://"), SourceError::Url { .. }));
}

#[tokio::test]
async fn an_identical_signed_entry_from_two_sources_counts_once() {
    let k = key(1);
    let doc = || {
        document(vec![(
            "python-ml",
            "2.1.0",
            entry("us-east-1", "ami-11111111", Some((4.5, 10)), Some(now())),
        )])
    };
    let mirror_a = signed(doc(), "https://a.example.org/community.yml", &k);
    let mirror_b = signed(doc(), "https://b.example.org/community.yml", &k);
    let reg = build(
        vec![(Layer::Community, mirror_a), (Layer::Community, mirror_b)],
        trust(&[&k]),
        EntryPolicy::new(),
    );
    assert_eq!(reg.entries().len(), 1, "{:?}", reg.report());
    assert!(
        reg.report().refused.is_empty(),
        "{:?}",
        reg.report().refused
    );
    let copies = &reg.report().identical_copies;
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0].kept, "https://a.example.org/community.yml");
    assert_eq!(copies[0].dropped, "https://b.example.org/community.yml");
    assert_eq!(reg.entries()[0].source, copies[0].kept);

    // The same content signed by two trusted publishers is still one entry.
    let other = key(2);
    let reg = build(
        vec![
            (Layer::Community, signed(doc(), "a.yml", &k)),
            (Layer::Community, signed(doc(), "b.yml", &other)),
        ],
        trust(&[&k, &other]),
        EntryPolicy::new(),
    );
    assert_eq!(reg.entries().len(), 1);

    // A signed copy is preferred to an unsigned one of the same content.
    let unsigned = amiref_registry::ParsedRegistry::from_document(doc(), "a.yml");
    let reg = build(
        vec![
            (Layer::Community, unsigned),
            (Layer::Community, signed(doc(), "b.yml", &k)),
        ],
        trust(&[&k]),
        EntryPolicy::new().allow_unsigned(true),
    );
    assert_eq!(reg.entries().len(), 1);
    assert_eq!(reg.entries()[0].source, "b.yml");
}

#[test]
fn entries_that_differ_are_still_refused_everywhere() {
    let k = key(1);
    let with = |reviews| {
        document(vec![(
            "python-ml",
            "2.1.0",
            entry(
                "us-east-1",
                "ami-11111111",
                Some((4.5, reviews)),
                Some(now()),
            ),
        )])
    };
    // Three copies, two identical and one with another review count: a conflict.
    let reg = build(
        vec![
            (Layer::Community, signed(with(10), "a.yml", &k)),
            (Layer::Community, signed(with(10), "b.yml", &k)),
            (Layer::Community, signed(with(11), "c.yml", &k)),
        ],
        trust(&[&k]),
        EntryPolicy::new(),
    );
    assert!(reg.entries().is_empty());
    assert_eq!(reg.report().refused.len(), 3);
    assert!(reg.report().refused[0].reason.contains("differently"));
    assert!(reg.report().identical_copies.is_empty());

    // Two spellings of one version are two signed messages: a conflict, as before.
    let spelled = document(vec![(
        "python-ml",
        "v2.1.0",
        entry("us-east-1", "ami-11111111", Some((4.5, 10)), Some(now())),
    )]);
    let reg = build(
        vec![
            (Layer::Community, signed(with(10), "a.yml", &k)),
            (Layer::Community, signed(spelled, "b.yml", &k)),
        ],
        trust(&[&k]),
        EntryPolicy::new(),
    );
    assert!(reg.entries().is_empty());
}
