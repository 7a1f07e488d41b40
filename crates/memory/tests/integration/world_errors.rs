//! World files with mistakes are refused with the file, line, field and what was expected.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use amiref_memory::{MemoryCloud, WorldError};

const HEAD: &str = "caller: \"123456789012\"\nimages:\n";

fn load(body: &str) -> WorldError {
    MemoryCloud::from_world_yaml(&format!("{HEAD}{body}"), "worlds/broken.yaml").unwrap_err()
}

const IMAGE: &str = "  - id: ami-0123456789abcdef0
    region: us-east-1
    name: one
    architecture: x86_64
    created: 2026-01-01T00:00:00Z
";

#[test]
fn a_misspelt_field_names_its_path_and_line() {
    let err = load(&IMAGE.replace("name: one", "nmae: one"));
    let text = err.to_string();
    match err {
        WorldError::Syntax { line, message, .. } => {
            assert_eq!(line, 5, "{text}");
            assert!(message.contains("images[0]"), "{text}");
            assert!(message.contains("unknown field `nmae`"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert!(text.starts_with("worlds/broken.yaml:5:"), "{text}");
}

#[test]
fn an_invalid_id_says_what_is_expected() {
    let text = load(&IMAGE.replace("ami-0123456789abcdef0", "ami-XYZ")).to_string();
    assert!(text.contains("worlds/broken.yaml:3:"), "{text}");
    assert!(text.contains("images[0].id"), "{text}");
    assert!(
        text.contains("8 or 17 lowercase hexadecimal digits"),
        "{text}"
    );
    let text = load(&IMAGE.replace("x86_64", "sparc")).to_string();
    assert!(text.contains("images[0].architecture"), "{text}");
}

#[test]
fn a_duplicate_id_is_located_at_its_second_use() {
    let second = IMAGE.replace("name: one", "name: two");
    let err = load(&format!("{IMAGE}{second}"));
    match &err {
        WorldError::Invalid {
            line, field, found, ..
        } => {
            assert_eq!(*line, Some(8), "{err}");
            assert!(field.ends_with(".id"), "{err}");
            assert_eq!(found, "ami-0123456789abcdef0");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn references_to_missing_images_are_located() {
    let body = format!(
        "{IMAGE}products:\n  - product_code: code\n    product_id: prod-x\n    title: X\n    versions:\n      - version: 1.0.0\n        images:\n          us-east-1: ami-0000000000000dead\n"
    );
    let err = load(&body);
    let text = err.to_string();
    assert!(
        text.starts_with("worlds/broken.yaml:15: products[code].versions[1.0.0].images.us-east-1"),
        "{text}"
    );
    assert!(
        text.contains("expected an image defined in us-east-1"),
        "{text}"
    );
}

#[test]
fn placement_and_state_mistakes_are_explained() {
    let both = IMAGE.replace(
        "    region: us-east-1\n",
        "    region: us-east-1\n    ids: {us-west-2: ami-0123456789abcdef1}\n",
    );
    let text = load(&both).to_string();
    assert!(text.contains("images[0].id"), "{text}");
    assert!(text.contains("not both"), "{text}");
    let early = format!("{IMAGE}    available_after: 10m\n    state: available\n");
    assert!(
        load(&early)
            .to_string()
            .contains("available_after only on a pending image")
    );
    let bad_duration = format!("{IMAGE}    available_after: 10 minutes\n");
    let text = load(&bad_duration).to_string();
    assert!(text.contains("invalid duration \"10 minutes\""), "{text}");
    assert!(text.contains("worlds/broken.yaml:8:"), "{text}");
    let share =
        format!("{IMAGE}    shared_with:\n      - account: \"111122223333\"\n        ou: arn:x\n");
    assert!(load(&share).to_string().contains("exactly one of"));
}

#[test]
fn an_unreadable_file_names_the_path() {
    let err = MemoryCloud::from_world_file("/no/such/world.yaml").unwrap_err();
    assert!(matches!(err, WorldError::Read { .. }));
    assert!(err.to_string().contains("/no/such/world.yaml"));
}

#[tokio::test(start_paused = true)]
async fn a_world_file_loads_from_disk_with_knobs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.yaml");
    std::fs::write(
        &path,
        format!(
            "{HEAD}{IMAGE}latency: 50ms\nthrottling: true\nregions:\n  eu-west-1: {{latency: 1s}}\n  ap-south-1: {{down: true}}\n"
        ),
    )
    .unwrap();
    let cloud = MemoryCloud::world_file_builder(&path)
        .unwrap()
        .map(|b| b.page_size(10))
        .build_located()
        .unwrap();
    let started = tokio::time::Instant::now();
    let found = amiref_core::ImageCatalog::describe_images(
        &cloud,
        &"us-east-1".parse().unwrap(),
        &["ami-0123456789abcdef0".parse().unwrap()],
    )
    .await
    .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(started.elapsed(), std::time::Duration::from_millis(50));
    let started = tokio::time::Instant::now();
    amiref_core::ImageCatalog::describe_images(&cloud, &"eu-west-1".parse().unwrap(), &[])
        .await
        .unwrap();
    assert_eq!(started.elapsed(), std::time::Duration::from_millis(1050));
    let down =
        amiref_core::ImageCatalog::describe_images(&cloud, &"ap-south-1".parse().unwrap(), &[])
            .await;
    assert_eq!(
        down.unwrap_err().kind,
        amiref_core::CloudErrorKind::Unavailable
    );
}

/// docs/worlds.md's example is a world that loads, and so is every other YAML snippet.
#[test]
fn the_documented_example_loads() {
    let doc = include_str!("../../../../docs/worlds.md");
    let blocks: Vec<&str> = doc
        .split("```yaml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 3, "{} yaml blocks", blocks.len());
    for block in &blocks {
        MemoryCloud::from_world_yaml(block, "docs/worlds.md")
            .unwrap_or_else(|e| panic!("{e}\n{block}"));
    }
    let example = doc.split("## Example").nth(1).unwrap();
    let start = example.find("```yaml\n").unwrap() + "```yaml\n".len();
    let end = start + example[start..].find("```").unwrap();
    let cloud = MemoryCloud::from_world_yaml(&example[start..end], "docs/worlds.md").unwrap();
    assert_eq!(cloud.image_count(&"us-east-1".parse().unwrap()), 3);
}

#[test]
fn a_second_document_is_refused_where_it_starts() {
    let text = "start: 2026-11-01T09:00:00Z\nimages: []\n---\nstart: 2027-01-01T00:00:00Z\n";
    let err = MemoryCloud::from_world_yaml(text, "worlds/two.yaml").unwrap_err();
    assert!(
        matches!(
            err,
            WorldError::Syntax {
                line: 3,
                column: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("a second YAML document"), "{err}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the YAML error is kept"
    );
}

#[test]
fn bad_values_are_located_at_their_line_and_column() {
    let cases = [
        (
            "instances:\n  - {id: i-0123456789abcdef0, region: us-east-1, state: sleeping}\n",
            "worlds/broken.yaml:2:57: instances[0].state: found unknown variant `sleeping`, expected one of `pending`, `running`",
        ),
        (
            "timings:\n  create_image: 10 minutes\n",
            "worlds/broken.yaml:2:17: timings.create_image: found invalid duration \"10 minutes\"",
        ),
        (
            "accounts:\n  - id: 123456789012\n",
            "worlds/broken.yaml:2:9: accounts[0].id: found integer `123456789012`",
        ),
    ];
    for (text, expected) in cases {
        let err = MemoryCloud::from_world_yaml(text, "worlds/broken.yaml").unwrap_err();
        assert!(
            err.to_string().starts_with(expected),
            "{err}\nexpected {expected}"
        );
    }
}
