//! The registry's use of amiref-yaml: documents read once with every node located,
//! problems of the YAML and of typing as located registry [`Problem`]s, and documents
//! written back out in the order people expect their fields.
//!
//! Why not deserialize straight from YAML: the semantic checks (a non-semver version, a
//! rating out of range, a key listed twice) run after typing, and must still point at a
//! line and column. So the text is read once into a [`serde_json::Value`] with the
//! location of every node ([`amiref_yaml::Document`]); types are then checked with the
//! failing field's path looked up in the same locations.

use std::path::Path;

use amiref_yaml::{Document, FieldPath, Limits, Step, Target, YamlError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::ser::{SerializeMap, SerializeSeq};
use serde_json::Value;

use crate::error::{LoadError, Problem};

pub(crate) use amiref_yaml::Segment;

/// Formats a path the way errors print it: `a.b["v2.1.0"][3]`.
pub(crate) fn format_path(segments: &[Segment]) -> String {
    FieldPath::from(segments.to_vec()).to_string()
}

/// Builds a path from keys, for callers that name fields.
pub(crate) fn path_of(keys: &[&str]) -> String {
    format_path(
        &keys
            .iter()
            .map(|k| Segment::Key((*k).to_owned()))
            .collect::<Vec<_>>(),
    )
}

/// Reads a file as UTF-8 text: [`LoadError::Io`] when it cannot be read, a located
/// problem when it is not UTF-8 (at its first bad byte).
pub(crate) fn read_text(path: &Path, what: &'static str) -> Result<String, LoadError> {
    amiref_yaml::read_text(path).map_err(|e| match e {
        YamlError::Io { source, .. } => LoadError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        },
        other => invalid(&path.display().to_string(), what, vec![problem(&other)]),
    })
}

/// [`read_text`], with a missing file as `None`.
pub(crate) fn read_text_if_exists(
    path: &Path,
    what: &'static str,
) -> Result<Option<String>, LoadError> {
    match read_text(path, what) {
        Err(LoadError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        other => other.map(Some),
    }
}

/// `bytes` read from `origin` as UTF-8 text, or a problem located at the first bad byte.
pub(crate) fn text_from_bytes(
    bytes: Vec<u8>,
    origin: &str,
    what: &'static str,
) -> Result<String, LoadError> {
    String::from_utf8(bytes).map_err(|e| {
        let located = amiref_yaml::text_from_bytes(e.as_bytes(), origin).map(|_| ());
        match located {
            Err(e) => invalid(origin, what, vec![problem(&e)]),
            // Unreachable: the same bytes failed just above.
            Ok(()) => invalid(origin, what, Vec::new()),
        }
    })
}

/// YAML text read into a JSON value, with the line and column of every node.
#[derive(Debug)]
pub(crate) struct LocatedDocument {
    doc: Document,
}

impl LocatedDocument {
    /// Reads `text`; `origin` names it in problems. Every problem of the YAML that leaves a
    /// document (a duplicate key, an alias, a second document, a tag) is reported, each
    /// located; a syntax error or a text over the limits is reported alone.
    pub(crate) fn parse(text: &str, origin: &str, what: &'static str) -> Result<Self, LoadError> {
        // Registry entries are signed one by one: an alias would make two entries share
        // what looks like their own text.
        let limits = Limits::DEFAULT.without_aliases();
        let parsed = Document::parse_all(text, origin, &limits)
            .map_err(|e| invalid(origin, what, vec![problem(&e)]))?;
        if !parsed.problems.is_empty() {
            return Err(invalid(
                origin,
                what,
                parsed.problems.iter().map(problem).collect(),
            ));
        }
        if parsed.document.value().is_null() {
            return Err(invalid(
                origin,
                what,
                vec![
                    Problem::new(
                        origin,
                        "",
                        "an empty document",
                        format!("a {what} (see docs/registry.md)"),
                    )
                    .at(Some((1, 1))),
                ],
            ));
        }
        Ok(Self {
            doc: parsed.document,
        })
    }

    /// The document as a JSON value.
    #[cfg(test)]
    pub(crate) fn value(&self) -> &Value {
        self.doc.value()
    }

    /// Where the node at `path` (as [`format_path`] prints it) is written: a scalar at
    /// itself, a mapping or list at its key; a path the document lacks at its nearest
    /// ancestor's key.
    pub(crate) fn locate(&self, path: &str) -> Option<(usize, usize)> {
        let segments = parse_path(path);
        let steps = || segments.iter().map(Step::from);
        let scalar = steps()
            .try_fold(self.doc.value(), |node, step| match step {
                Step::Key(k) => node.get(k),
                Step::Index(i) => node.get(i),
            })
            .is_some_and(|node| !(node.is_object() || node.is_array()));
        let target = if scalar { Target::Value } else { Target::Key };
        let at = self.doc.locate_nearest(steps(), target);
        Some((at.line, at.column))
    }

    /// A problem at `path`, located.
    pub(crate) fn problem(
        &self,
        path: &str,
        found: impl Into<String>,
        expected: impl Into<String>,
    ) -> Problem {
        Problem::new(self.doc.origin(), path, found, expected).at(self.locate(path))
    }

    /// Types the document as `T`, reporting a type error with its path and location.
    pub(crate) fn deserialize<T: DeserializeOwned>(
        &self,
        what: &'static str,
    ) -> Result<T, LoadError> {
        self.doc
            .deserialize()
            .map_err(|e| invalid(self.doc.origin(), what, vec![problem(&e)]))
    }
}

/// The error listing `problems` of `origin`.
fn invalid(origin: &str, what: &'static str, problems: Vec<Problem>) -> LoadError {
    LoadError::Invalid {
        origin: origin.to_owned(),
        what,
        problems,
    }
}

/// A problem of amiref-yaml's as a registry problem.
fn problem(error: &YamlError) -> Problem {
    let expected = match error {
        YamlError::TooManyAliases { limit: 0, .. } => "values written out in full: registry \
            entries are signed one by one, so anchors and aliases are not supported"
            .to_owned(),
        YamlError::Type(_) if error.expected().starts_with("a value of the form") => {
            "a value of the form given in docs/registry.md".to_owned()
        }
        _ => error.expected(),
    };
    Problem::new(
        error.origin(),
        error.path().to_string(),
        error.found(),
        expected,
    )
    .at(error.location().map(|l| (l.line, l.column)))
}

/// The segments of a path [`format_path`] printed: `a.b["v2.1.0"][3]`. What does not
/// parse ends the path, so a malformed path locates at its longest readable prefix.
fn parse_path(path: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if let Some(inner) = rest.strip_prefix("[\"") {
            let Some((key, after)) = quoted_key(inner) else {
                break;
            };
            segments.push(Segment::Key(key));
            rest = after;
        } else if let Some(inner) = rest.strip_prefix('[') {
            let Some((index, after)) = inner.split_once(']') else {
                break;
            };
            let Ok(index) = index.parse() else { break };
            segments.push(Segment::Index(index));
            rest = after;
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            segments.push(Segment::Key(rest[..end].to_owned()));
            rest = &rest[end..];
        }
    }
    segments
}

/// A key as `{:?}` quoted it, up to its closing `"]`, and the text after.
fn quoted_key(text: &str) -> Option<(String, &str)> {
    let mut key = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return text[i + 1..].strip_prefix(']').map(|after| (key, after)),
            '\\' => match chars.next()?.1 {
                'n' => key.push('\n'),
                't' => key.push('\t'),
                'r' => key.push('\r'),
                '0' => key.push('\0'),
                'u' => {
                    let (_, open) = chars.next()?;
                    let hex: String = chars
                        .by_ref()
                        .map(|(_, c)| c)
                        .take_while(|c| *c != '}')
                        .collect();
                    if open != '{' {
                        return None;
                    }
                    key.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => key.push(other),
            },
            c => key.push(c),
        }
    }
    None
}

/// Writes `value` as block-style YAML, fields in the order people expect them
/// ([`written_rank`]), quoting whatever would otherwise read back as another type.
pub(crate) fn to_yaml_string<T: Serialize>(value: &T) -> Result<String, String> {
    let json = serde_json::to_value(value).map_err(|e| e.to_string())?;
    amiref_yaml::to_string(&Ranked(&json)).map_err(|e| e.to_string())
}

/// A JSON value that serializes its mappings' keys in [`written_rank`] order.
struct Ranked<'a>(&'a Value);

impl Serialize for Ranked<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Ranked(item))?;
                }
                seq.end()
            }
            Value::Object(entries) => {
                let mut keys: Vec<&String> = entries.keys().collect();
                keys.sort_by_key(|k| (written_rank(k), *k));
                let mut map = serializer.serialize_map(Some(keys.len()))?;
                for key in keys {
                    map.serialize_entry(key, &Ranked(&entries[key]))?;
                }
                map.end()
            }
            scalar => scalar.serialize(serializer),
        }
    }
}

/// The order people expect fields in (the format's own order); other keys (templates,
/// versions, regions) follow, sorted.
fn written_rank(key: &str) -> usize {
    const ORDER: [&str; 31] = [
        "schema_version",
        "keys",
        "publishers",
        "publisher",
        "public_key",
        "key_id",
        "status",
        "stars",
        "review",
        "rated_at",
        "creator",
        "description",
        "regions",
        "architecture",
        "owner",
        "verification",
        "tested",
        "security_scan",
        "performance_benchmark",
        "script_ready_secs",
        "image_ready_secs",
        "speedup",
        "tested_at",
        "ratings",
        "average",
        "reviews",
        "downloads",
        "created_at",
        "sharing",
        "signature",
        "community_amis",
    ];
    ORDER.iter().position(|k| *k == key).unwrap_or(ORDER.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_resolve_by_the_core_schema() {
        let doc = LocatedDocument::parse(
            "a: 4.8\nb: 12\nc: v2.1.0\nd: '12'\ne: true\nf: ~\ng: 2.1.0\nh: 1e3\n",
            "t.yml",
            "registry",
        )
        .unwrap();
        let v = doc.value();
        assert_eq!(v["a"], Value::from(4.8));
        assert_eq!(v["b"], Value::from(12));
        assert_eq!(v["c"], Value::from("v2.1.0"));
        assert_eq!(v["d"], Value::from("12"));
        assert_eq!(v["e"], Value::from(true));
        assert_eq!(v["f"], Value::Null);
        assert_eq!(v["g"], Value::from("2.1.0"));
        assert_eq!(v["h"], Value::from(1000.0));
    }

    #[test]
    fn nodes_are_located_and_paths_quote_dotted_keys() {
        let doc = LocatedDocument::parse(
            "top:\n  v2.1.0:\n    list:\n      - x\n      - y\n",
            "t.yml",
            "registry",
        )
        .unwrap();
        assert_eq!(doc.locate("top[\"v2.1.0\"]"), Some((2, 3)));
        assert_eq!(doc.locate("top[\"v2.1.0\"].list[1]"), Some((5, 9)));
        assert_eq!(doc.locate("top[\"v2.1.0\"].missing"), Some((2, 3)));
    }

    #[test]
    fn duplicate_keys_and_aliases_are_refused_with_locations() {
        let err = LocatedDocument::parse("a: 1\nb: &x 2\na: 3\nc: *x\n", "t.yml", "registry")
            .unwrap_err();
        let problems = err.problems();
        assert_eq!(problems.len(), 2, "{err}");
        assert_eq!(problems[0].line, Some(3));
        assert!(problems[0].found.contains("first at line 1"), "{err}");
        assert_eq!(problems[1].line, Some(4));
        assert_eq!(problems[1].path, "c");
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = LocatedDocument::parse("a: [1, 2\nb: 3\n", "t.yml", "registry").unwrap_err();
        let p = &err.problems()[0];
        assert!(p.line.is_some(), "{err}");
        assert!(p.expected.starts_with("well-formed YAML"), "{err}");
    }

    #[test]
    fn written_yaml_reads_back_the_same() {
        let value = serde_json::json!({
            "s": "true", "n": "12", "f": 4.8, "i": 3, "v": "2.1.0", "nested": {"k": ["a", "b"]}
        });
        let text = to_yaml_string(&value).unwrap();
        let doc = LocatedDocument::parse(&text, "t.yml", "registry").unwrap();
        assert_eq!(doc.value(), &value, "{text}");
    }

    #[test]
    fn a_registry_files_second_document_is_refused_at_its_start() {
        let text = "schema_version: 1\ncommunity_amis: {}\n---\nschema_version: 1\n";
        let err = crate::ParsedRegistry::from_yaml_str(text, "r.yml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "r.yml is not a valid registry (1 problem):\n  r.yml:3:1: (document): found a \
             second YAML document (after `---`), expected one document per file"
        );
    }

    #[test]
    fn a_second_document_is_refused_at_its_start() {
        let err = LocatedDocument::parse(
            "schema_version: 1\n---\nschema_version: 2\n",
            "t.yml",
            "registry",
        )
        .unwrap_err();
        let p = &err.problems()[0];
        assert_eq!((p.line, p.column), (Some(2), Some(1)), "{err}");
        assert_eq!(p.expected, "one document per file");
    }

    #[test]
    fn paths_read_back_as_they_print() {
        for segments in [
            vec![
                Segment::Key("a".into()),
                Segment::Index(3),
                Segment::Key("b".into()),
            ],
            vec![
                Segment::Key("community_amis".into()),
                Segment::Key("python-ml".into()),
                Segment::Key("v2.1.0".into()),
                Segment::Key("ratings".into()),
            ],
            vec![Segment::Key("odd \"key\"\n\u{7}".into()), Segment::Index(0)],
            vec![],
        ] {
            let printed = format_path(&segments);
            assert_eq!(parse_path(&printed), segments, "{printed}");
        }
    }

    #[test]
    fn files_that_are_not_utf8_are_refused_at_the_first_bad_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.yml");
        std::fs::write(&path, b"schema_version: 1\nx: \xff\n").unwrap();
        let err = read_text(&path, "registry").unwrap_err();
        let p = &err.problems()[0];
        assert_eq!((p.line, p.column), (Some(2), Some(4)), "{err}");
    }
}
