//! The behaviour every file format relies on: limits, refusals, locations, messages.

use amiref_yaml::{
    Document, FieldPath, Limits, Location, Segment, Step, Target, YamlError, from_str, read_text,
    shorten,
};
use proptest::prelude::*;
use serde_json::json;

fn at(line: usize, column: usize) -> (usize, usize) {
    (line, column)
}

fn line_column(location: Option<Location>) -> (usize, usize) {
    let l = location.expect("a location");
    (l.line, l.column)
}

/// About `bytes` of text nested as deep as it goes: flow lists, flow mappings, block
/// mappings.
fn nested(bytes: usize) -> [String; 3] {
    let flow_lists = "[".repeat(bytes);
    let flow_maps = "{a: ".repeat(bytes / 4);
    let mut block = String::new();
    let mut depth = 0;
    while block.len() < bytes {
        block.push_str(&" ".repeat(2 * depth));
        block.push_str("a:\n");
        depth += 1;
    }
    [flow_lists, flow_maps, block]
}

#[test]
fn a_megabyte_of_nesting_is_refused_where_it_goes_too_deep() {
    let limit = Limits::DEFAULT.max_depth;
    let megabyte = nested(1 << 20);
    let two_megabytes = nested(2 << 20);
    // Flow collections are refused at the parser's own limit (255 levels, which it reaches
    // before handing out the first of them), block ones at ours.
    let refused_at = ["deep.yml:1:256:", "deep.yml:1:1021:", "deep.yml:65:129:"];
    for ((text, twice), at) in megabyte.iter().zip(&two_megabytes).zip(refused_at) {
        assert!(text.len() >= 1 << 20);
        let err = Document::parse(text, "deep.yml").unwrap_err();
        let YamlError::TooDeep {
            location, limit: l, ..
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!(*l, limit);
        assert!(err.to_string().starts_with(at), "{err}");
        assert!(
            err.to_string()
                .contains("expected at most 64 levels of nesting"),
            "{err}"
        );
        // The size-independent measure of the work done: the text is refused where it
        // goes over the limit, within its first few kilobytes, and a text twice as long
        // is refused at the same place: what is read is bounded by the limit, not by the
        // size of the text. (Time is measured in `benches/parse.rs`.)
        assert!(location.offset < 5_000, "{err}");
        let again = Document::parse(twice, "deep.yml").unwrap_err();
        assert_eq!(again.location(), Some(*location), "{again}");
    }
}

#[test]
fn each_limit_is_refused_with_a_location() {
    let small = Limits {
        max_bytes: 100,
        max_depth: 3,
        max_nodes: 5,
        max_aliases: 1,
        max_scalar_bytes: 8,
    };
    let err = Document::parse_with(&"a: 1\n".repeat(30), "t", &small).unwrap_err();
    assert!(
        matches!(err, YamlError::TooLarge { bytes: 150, .. }),
        "{err}"
    );
    assert_eq!(line_column(err.location()), at(21, 1));
    let err = Document::parse_with("[1, 2, 3, 4, 5]", "t", &small).unwrap_err();
    assert!(matches!(err, YamlError::TooManyNodes { .. }), "{err}");
    assert_eq!(line_column(err.location()), at(1, 14));
    let err = Document::parse_with("a: 123456789\n", "t", &small).unwrap_err();
    assert!(
        matches!(err, YamlError::ScalarTooLong { bytes: 9, .. }),
        "{err}"
    );
    assert_eq!(err.path().to_string(), "a");
    let aliases = Limits {
        max_nodes: 100,
        ..small
    };
    let err = Document::parse_with("a: &x 1\nb: *x\nc: *x\n", "t", &aliases).unwrap_err();
    assert!(matches!(err, YamlError::TooManyAliases { .. }), "{err}");
    assert_eq!(line_column(err.location()), at(3, 4));
}

#[test]
fn aliases_count_what_they_repeat() {
    // Each line doubles the previous: a "billion laughs" in a few hundred bytes.
    let mut text = String::from("a0: &a0 [x, x]\n");
    for i in 1..40 {
        text.push_str(&format!("a{i}: &a{i} [*a{}, *a{}]\n", i - 1, i - 1));
    }
    let limits = Limits {
        max_nodes: 10_000,
        ..Limits::DEFAULT
    };
    let err = Document::parse_with(&text, "laughs.yml", &limits).unwrap_err();
    assert!(matches!(err, YamlError::TooManyNodes { .. }), "{err}");
    // Refused at the first alias that would go over, not at the end.
    assert_eq!(err.location().map(|l| l.line), Some(13), "{err}");
    // Within the limit an alias repeats its anchor's value, located where it is written.
    let doc = Document::parse("base: &b {x: 1}\ncopy: *b\n", "t").unwrap();
    assert_eq!(doc.value()["copy"], json!({"x": 1}));
    let copy = doc
        .locate(["copy"], Target::Value)
        .map(|l| (l.line, l.column));
    assert_eq!(copy, Some(at(2, 7)));
}

#[test]
fn aliases_can_be_refused_each_with_its_location() {
    let limits = Limits::DEFAULT.without_aliases();
    let parsed = Document::parse_all("a: &x 1\nb: *x\nc: [*x]\n", "t", &limits).unwrap();
    let found: Vec<(String, (usize, usize))> = parsed
        .problems
        .iter()
        .map(|p| (p.path().to_string(), line_column(p.location())))
        .collect();
    assert_eq!(
        found,
        [("b".to_owned(), at(2, 4)), ("c[0]".to_owned(), at(3, 5))]
    );
    assert!(
        parsed.problems[0]
            .to_string()
            .contains("found an alias (`*name`)"),
        "{}",
        parsed.problems[0]
    );
}

#[test]
fn duplicate_keys_are_refused_at_the_second_naming_the_first() {
    let err = Document::parse("a: 1\nb:\n  c: 2\n  c: 3\n", "t.yml").unwrap_err();
    assert!(matches!(err, YamlError::DuplicateKey { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "t.yml:4:3: b.c: found the key `c` a second time in one mapping (first at line 3, \
         column 3), expected each key once (YAML keeps only one of them)"
    );
    // In flow style too, and the first entry is the one kept.
    let parsed = Document::parse_all("{a: 1, a: 2}", "t", &Limits::DEFAULT).unwrap();
    assert_eq!(parsed.problems.len(), 1);
    assert_eq!(parsed.document.value(), &json!({"a": 1}));
}

#[test]
fn a_second_document_is_refused_at_its_start() {
    for (text, line) in [
        ("a: 1\n---\nb: 2\n", 2),
        ("---\na: 1\n--- \nb: 2\n", 3),
        ("a: 1\n...\n---\nb: 2\n", 3),
        ("# only\n---\n---\n", 3),
    ] {
        let err = Document::parse(text, "two.yml").unwrap_err();
        assert!(
            matches!(err, YamlError::SecondDocument { .. }),
            "{text:?}: {err}"
        );
        assert_eq!(line_column(err.location()), at(line, 1), "{text:?}");
        assert!(
            err.to_string().contains("expected one document per file"),
            "{err}"
        );
    }
    // One explicit document, or none, is fine.
    assert_eq!(
        Document::parse("---\na: 1\n", "t").unwrap().value(),
        &json!({"a": 1})
    );
    assert_eq!(Document::parse("", "t").unwrap().value(), &json!(null));
    assert_eq!(
        Document::parse("# nothing\n", "t").unwrap().value(),
        &json!(null)
    );
}

#[test]
fn tags_and_complex_keys_are_refused_and_the_rest_still_read() {
    let parsed = Document::parse_all(
        "a: !secret x\n? [k, l]\n: 1\n? {m: n}\n: 2\nb: !!str 3\nc: ok\n",
        "t",
        &Limits::DEFAULT,
    )
    .unwrap();
    let found: Vec<String> = parsed.problems.iter().map(|p| p.found()).collect();
    assert_eq!(
        found,
        [
            "a YAML tag (`!secret`)",
            "a list as a key",
            "a mapping as a key",
            "a YAML tag (`!!str`)"
        ]
    );
    assert_eq!(line_column(parsed.problems[0].location()), at(1, 4));
    assert_eq!(
        parsed.document.value(),
        &json!({"a": "x", "b": 3, "c": "ok"})
    );
}

#[test]
fn numbers_json_cannot_hold_are_refused() {
    let err = Document::parse("a: 123456789012345678901234\n", "t").unwrap_err();
    assert_eq!(
        err.expected(),
        "a number that fits in 64 bits, or text in quotes"
    );
    let err = Document::parse("a: [.inf]\n", "t").unwrap_err();
    assert_eq!(err.path().to_string(), "a[0]");
    assert_eq!(err.expected(), "a finite number, or text in quotes");
    let doc = Document::parse("a: \"123456789012345678901234\"\nb: '.inf'\n", "t").unwrap();
    assert_eq!(doc.value()["b"], ".inf");
}

#[test]
fn syntax_errors_are_located() {
    let err = Document::parse("a: [1, 2\nb: 3\n", "t.yml").unwrap_err();
    assert!(matches!(err, YamlError::Syntax { .. }), "{err}");
    assert!(err.location().is_some());
    assert!(err.to_string().starts_with("t.yml:"), "{err}");
    let err = Document::parse("a: b: c\n", "t.yml").unwrap_err();
    assert_eq!(line_column(err.location()), at(1, 5), "{err}");
}

#[test]
fn text_that_is_not_utf8_is_refused_at_its_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.yml");
    std::fs::write(&path, b"name: demo\ndescription: caf\xe9 cr\xe8me\n").unwrap();
    let err = read_text(&path).unwrap_err();
    assert!(
        matches!(err, YamlError::NotUtf8 { byte: 0xe9, .. }),
        "{err}"
    );
    let l = err.location().unwrap();
    assert_eq!((l.line, l.column, l.offset), (2, 17, 27));
    assert!(err.to_string().contains("latin1.yml:2:17:"), "{err}");
}

#[test]
fn long_values_are_shortened_in_messages() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Image {
        id: u32,
    }
    let huge = "x".repeat(1 << 20);
    let err = from_str::<Image>(&format!("id: \"{huge}\"\n"), "t.yml").unwrap_err();
    let message = err.to_string();
    assert!(message.len() < 200, "{} bytes", message.len());
    assert!(
        message.contains(&format!("\"{}\"", shorten(&huge))),
        "{message}"
    );
    assert_eq!(line_column(err.location()), at(1, 5));
    let err = Document::parse(&format!("{huge}: 1\n{huge}: 2\n"), "t").unwrap_err();
    assert!(err.to_string().len() < 300, "{}", err.to_string().len());
}

const TEXT: &str = "\
name: demo
ami_config:
  ami_search:
    owner: \"Prism Community\"
    architecture: [x86_64, arm64]
  ami_mappings: {us-east-1: ami-1, eu-west-1: ami-2}
  steps:
    - first
    - run: second
";

#[test]
fn locates_keys_and_values_in_block_and_flow_style() {
    let doc = Document::parse(TEXT, "t.yml").unwrap();
    let loc = |path: &[Step<'_>], target| {
        doc.locate(path.iter().copied(), target)
            .map(|l| (l.line, l.column))
    };
    use Step::{Index, Key};
    assert_eq!(loc(&[Key("name")], Target::Key), Some(at(1, 1)));
    assert_eq!(loc(&[Key("name")], Target::Value), Some(at(1, 7)));
    let owner = [Key("ami_config"), Key("ami_search"), Key("owner")];
    assert_eq!(loc(&owner, Target::Value), Some(at(4, 12)));
    let arch = [
        Key("ami_config"),
        Key("ami_search"),
        Key("architecture"),
        Index(1),
    ];
    assert_eq!(loc(&arch, Target::Value), Some(at(5, 28)));
    let mapping = [Key("ami_config"), Key("ami_mappings"), Key("eu-west-1")];
    assert_eq!(loc(&mapping, Target::Key), Some(at(6, 36)));
    assert_eq!(loc(&mapping, Target::Value), Some(at(6, 47)));
    let run = [Key("ami_config"), Key("steps"), Index(1), Key("run")];
    assert_eq!(loc(&run, Target::Value), Some(at(9, 12)));
    // A list item has no key: its value is the answer.
    let item = [Key("ami_config"), Key("steps"), Index(0)];
    assert_eq!(loc(&item, Target::Key), Some(at(8, 7)));
    assert_eq!(loc(&[Key("ami_config"), Key("nothing")], Target::Key), None);
    assert_eq!(loc(&[Key("name"), Key("deeper")], Target::Key), None);
    // The nearest located ancestor of a missing field: the mapping's key.
    let missing = [Key("ami_config"), Key("ami_search"), Key("name_pattern")];
    let nearest = doc.locate_nearest(missing.iter().copied(), Target::Key);
    assert_eq!((nearest.line, nearest.column), at(3, 3));
    // Byte offsets are those of the text.
    let l = doc.locate(owner.iter().copied(), Target::Value).unwrap();
    assert_eq!(&TEXT[l.offset..l.offset + 6], "\"Prism");
}

#[test]
fn typed_errors_point_at_the_offending_field() {
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Policy {
        trusted_owners: Vec<String>,
        #[serde(default)]
        named_owners: std::collections::BTreeMap<String, Vec<u64>>,
    }
    let text = "trusted_owners: [self]\nnamed_owners:\n  lab: [1, two]\n";
    let err = from_str::<Policy>(text, "p.yml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "p.yml:3:12: named_owners.lab[1]: found string \"two\", expected u64"
    );
    let err = from_str::<Policy>("trusted_owners: []\ncolour: red\n", "p.yml").unwrap_err();
    assert_eq!(line_column(err.location()), at(2, 1));
    assert_eq!(
        err.path(),
        FieldPath::from(vec![Segment::Key("colour".into())])
    );
    let err = from_str::<Policy>("named_owners: {}\n", "p.yml").unwrap_err();
    assert_eq!(err.found(), "no field `trusted_owners`");
    assert_eq!(line_column(err.location()), at(1, 1));
}

#[test]
fn written_yaml_reads_back_the_same() {
    let value = json!({
        "s": "true", "n": "12", "f": 4.8, "i": 3, "v": "2.1.0", "z": "~", "e": "",
        "multi": "line one\nline two\n", "colon": "a: b", "hash": "# not a comment",
        "nested": {"k": ["a", "b", null, false]}, "empty": {}, "none": []
    });
    let text = amiref_yaml::to_string(&value).unwrap();
    let doc = Document::parse(&text, "t.yml").unwrap();
    assert_eq!(doc.value(), &value, "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, rng_seed: proptest::test_runner::RngSeed::Fixed(11), ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_any_text(text in "\\PC{0,200}") {
        let _ = Document::parse(&text, "any.yml");
    }

    #[test]
    fn parse_never_panics_on_yaml_like_text(text in "[-:\\[\\]{}&*!|>'\" \n#?,a-c0-9.~]{0,200}") {
        let small = Limits { max_depth: 4, max_nodes: 50, max_aliases: 2, ..Limits::DEFAULT };
        if let Err(e) = Document::parse_with(&text, "any.yml", &small) {
            // Every refusal is located within the text.
            let l = e.location().expect("located");
            prop_assert!(l.offset <= text.len());
            prop_assert!(l.line >= 1 && l.column >= 1);
        }
    }

    #[test]
    fn written_values_read_back(value in json_value()) {
        let text = amiref_yaml::to_string(&value).unwrap();
        let doc = Document::parse(&text, "t").map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(doc.value(), &value, "{}", text);
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(|b| json!(b)),
        any::<i64>().prop_map(|i| json!(i)),
        "[ -~\n]{0,12}".prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map("[a-z ]{1,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn a_syntax_error_names_the_bracket_it_is_inside() {
    let err = Document::parse("a: 1\nb: [x, y\nc: 2\n", "t.yml").unwrap_err();
    assert!(
        err.found()
            .ends_with("inside the `[` opened at line 2, column 4"),
        "{err}"
    );
    // Not when the bracket is on the line of the error.
    let err = Document::parse("a: [1, 2}\n", "t.yml").unwrap_err();
    assert!(!err.found().contains("inside"), "{err}");
}

#[test]
fn an_empty_value_is_located_where_it_would_be_written() {
    let doc = Document::parse("a:\nb: {c: }\nd:\n  - \n", "t").unwrap();
    let loc = |path: &[Step<'_>]| {
        doc.locate(path.iter().copied(), Target::Value)
            .map(|l| (l.line, l.column))
    };
    assert_eq!(loc(&[Step::Key("a")]), Some(at(1, 3)));
    assert_eq!(loc(&[Step::Key("b"), Step::Key("c")]), Some(at(2, 7)));
    assert_eq!(loc(&[Step::Key("d"), Step::Index(0)]), Some(at(4, 5)));
}
