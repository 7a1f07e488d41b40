//! All YAML of this crate: reading text into a JSON value with the location of every node,
//! turning serde errors into located [`Problem`]s, and writing documents back out.
//!
//! Why not deserialize straight from YAML: the semantic checks (a non-semver version, a
//! rating out of range, a duplicate key) run after typing, and must still point at a line
//! and column. So the text is read once, by an event parser that records where every node
//! starts, into a [`serde_json::Value`]; types are then checked with `serde_path_to_error`,
//! whose path is looked up in the same location index.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::error::{LoadError, Problem};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// Formats a path the way errors print it: `a.b["v2.1.0"][3]`.
pub(crate) fn format_path(segments: &[Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        append_segment(&mut out, segment);
    }
    out
}

/// Appends one segment to a formatted path.
fn append_segment(out: &mut String, segment: &Segment) {
    match segment {
        Segment::Key(key) => append_key(out, key),
        Segment::Index(i) => {
            let _ = write!(out, "[{i}]");
        }
    }
}

fn append_key(out: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(key);
    } else {
        let _ = write!(out, "[{key:?}]");
    }
}

/// `base` with `key` appended.
fn with_key(base: &str, key: &str) -> String {
    let mut out = String::with_capacity(base.len() + key.len() + 4);
    out.push_str(base);
    append_key(&mut out, key);
    out
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

/// YAML text read into a JSON value, with the 1-based line and column of every node.
#[derive(Debug)]
pub(crate) struct LocatedDocument {
    origin: String,
    value: Value,
    locations: HashMap<String, (usize, usize)>,
    key_locations: HashMap<String, (usize, usize)>,
}

impl LocatedDocument {
    /// Reads `text`; `origin` names it in problems. Every syntax problem, duplicate key and
    /// alias is reported.
    pub(crate) fn parse(text: &str, origin: &str, what: &'static str) -> Result<Self, LoadError> {
        let mut builder = TreeBuilder {
            origin: origin.to_owned(),
            stack: Vec::new(),
            root: None,
            locations: HashMap::new(),
            key_locations: HashMap::new(),
            problems: Vec::new(),
        };
        let mut parser = Parser::new_from_str(text);
        if let Err(e) = parser.load(&mut builder, false) {
            builder.problems.push(
                Problem::new(origin, "", e.info().to_owned(), "well-formed YAML")
                    .at(Some(location_of(e.marker()))),
            );
        }
        if !builder.problems.is_empty() {
            return Err(LoadError::Invalid {
                origin: origin.to_owned(),
                what,
                problems: builder.problems,
            });
        }
        let Some(value) = builder.root else {
            return Err(LoadError::Invalid {
                origin: origin.to_owned(),
                what,
                problems: vec![Problem::new(
                    origin,
                    "",
                    "an empty document",
                    format!("a {what} (see docs/registry.md)"),
                )],
            });
        };
        Ok(Self {
            origin: origin.to_owned(),
            value,
            locations: builder.locations,
            key_locations: builder.key_locations,
        })
    }

    /// The document as a JSON value.
    #[cfg(test)]
    pub(crate) fn value(&self) -> &Value {
        &self.value
    }

    /// Where the node at `path` (as [`format_path`] prints it) starts, or its nearest
    /// located ancestor.
    pub(crate) fn locate(&self, path: &str) -> Option<(usize, usize)> {
        let mut p = path;
        loop {
            if let Some(loc) = self.locations.get(p) {
                return Some(*loc);
            }
            if p.is_empty() {
                return None;
            }
            // Drop the last segment: either `.key`, `["key"]` or `[n]`.
            p = match (p.rfind('.'), p.rfind('[')) {
                (Some(dot), Some(br)) => &p[..dot.max(br)],
                (Some(dot), None) => &p[..dot],
                (None, Some(br)) => &p[..br],
                (None, None) => "",
            };
        }
    }

    /// A problem at `path`, located.
    pub(crate) fn problem(
        &self,
        path: &str,
        found: impl Into<String>,
        expected: impl Into<String>,
    ) -> Problem {
        Problem::new(&self.origin, path, found, expected).at(self.locate(path))
    }

    /// Types the document as `T`, reporting a type error with its path and location.
    pub(crate) fn deserialize<T: DeserializeOwned>(
        &self,
        what: &'static str,
    ) -> Result<T, LoadError> {
        // The fast path first: tracking the path costs an allocation per key, so it is paid
        // only to explain a failure.
        if let Ok(typed) = T::deserialize(&self.value) {
            return Ok(typed);
        }
        serde_path_to_error::deserialize::<_, T>(&self.value).map_err(|e| {
            let segments: Vec<Segment> = e
                .path()
                .iter()
                .filter_map(|s| match s {
                    serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
                    serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
                    serde_path_to_error::Segment::Enum { .. }
                    | serde_path_to_error::Segment::Unknown => None,
                })
                .collect();
            let message = e.inner().to_string();
            let mut path = format_path(&segments);
            let unknown_field = backticked(&message, "unknown field `");
            // An unknown field may be reported at its parent; point at the field itself.
            if let Some(name) = unknown_field
                && segments.last() != Some(&Segment::Key(name.to_owned()))
            {
                let mut with_field = segments.clone();
                with_field.push(Segment::Key(name.to_owned()));
                path = format_path(&with_field);
            }
            let (found, expected) = split_serde_message(&message);
            let location = if unknown_field.is_some() {
                self.key_locations
                    .get(&path)
                    .copied()
                    .or_else(|| self.locate(&path))
            } else {
                self.locate(&path)
            };
            LoadError::Invalid {
                origin: self.origin.clone(),
                what,
                problems: vec![Problem::new(&self.origin, &path, found, expected).at(location)],
            }
        })
    }
}

fn backticked<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next()
}

/// Splits serde's and our value types' messages into what was found and what was expected.
fn split_serde_message(message: &str) -> (String, String) {
    let message = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .unwrap_or(message);
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return (
            format!("no field `{field}`"),
            format!("the required field `{field}`"),
        );
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        let expected = rest
            .split_once("expected ")
            .map(|(_, e)| e.to_owned())
            .unwrap_or_else(|| "no other fields".to_owned());
        return (format!("unknown field `{field}`"), expected);
    }
    for separator in [", expected ", ": expected "] {
        if let Some((found, expected)) = message.split_once(separator) {
            return (found.to_owned(), expected.to_owned());
        }
    }
    (
        message.to_owned(),
        "a value of the form given in docs/registry.md".to_owned(),
    )
}

fn location_of(marker: &Marker) -> (usize, usize) {
    (marker.line(), marker.col() + 1)
}

enum Frame {
    Map {
        path: String,
        map: Map<String, Value>,
        key: Option<String>,
    },
    Seq {
        path: String,
        items: Vec<Value>,
    },
}

struct TreeBuilder {
    origin: String,
    stack: Vec<Frame>,
    root: Option<Value>,
    locations: HashMap<String, (usize, usize)>,
    key_locations: HashMap<String, (usize, usize)>,
    problems: Vec<Problem>,
}

impl TreeBuilder {
    /// The formatted path of the node about to be added.
    fn next_path(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Map { path, key, .. }) => with_key(path, key.as_deref().unwrap_or("")),
            Some(Frame::Seq { path, items }) => {
                let mut p = path.clone();
                append_segment(&mut p, &Segment::Index(items.len()));
                p
            }
        }
    }

    /// The formatted path of the mapping key `key` about to be read.
    fn key_path(&self, key: &str) -> String {
        match self.stack.last() {
            Some(Frame::Map { path, .. }) => with_key(path, key),
            _ => key.to_owned(),
        }
    }

    fn add(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Map { map, key, .. }) => {
                if let Some(k) = key.take() {
                    map.insert(k, value);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(value),
        }
    }

    /// Whether the next scalar is a mapping key.
    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }
}

impl MarkedEventReceiver for TreeBuilder {
    fn on_event(&mut self, event: Event, marker: Marker) {
        let here = location_of(&marker);
        match event {
            Event::Scalar(text, style, _, _) => {
                if self.expecting_key() {
                    let formatted = self.key_path(&text);
                    let duplicate = matches!(self.stack.last(), Some(Frame::Map { map, .. }) if map.contains_key(&text));
                    if duplicate {
                        let first = self.key_locations.get(&formatted).copied();
                        self.problems.push(
                            Problem::new(
                                &self.origin,
                                &formatted,
                                format!(
                                    "a second `{text}`{}",
                                    first
                                        .map(|(l, c)| format!(" (first at line {l}, column {c})"))
                                        .unwrap_or_default()
                                ),
                                "each key once (a duplicate version or field)",
                            )
                            .at(Some(here)),
                        );
                    } else {
                        self.locations.insert(formatted.clone(), here);
                        self.key_locations.insert(formatted, here);
                    }
                    if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                        *key = Some(text);
                    }
                } else {
                    // A scalar is located at itself (a type error points at the value); a
                    // mapping or sequence value at its key (recorded when the key was read).
                    let path = self.next_path();
                    self.locations.insert(path, here);
                    self.add(resolve_scalar(text, style));
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if self.expecting_key() {
                    self.problems.push(
                        Problem::new(
                            &self.origin,
                            self.next_path(),
                            "a complex mapping key",
                            "a plain text key",
                        )
                        .at(Some(here)),
                    );
                }
                let path = self.next_path();
                if !matches!(self.stack.last(), Some(Frame::Map { .. })) {
                    self.locations.entry(path.clone()).or_insert(here);
                }
                let frame = if matches!(event, Event::MappingStart(..)) {
                    Frame::Map {
                        path,
                        map: Map::new(),
                        key: None,
                    }
                } else {
                    Frame::Seq {
                        path,
                        items: Vec::new(),
                    }
                };
                self.stack.push(frame);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let value = match self.stack.pop() {
                    Some(Frame::Map { map, .. }) => Value::Object(map),
                    Some(Frame::Seq { items, .. }) => Value::Array(items),
                    None => return,
                };
                self.add(value);
            }
            Event::Alias(_) => {
                self.problems.push(
                    Problem::new(
                        &self.origin,
                        self.next_path(),
                        "an alias (*name)",
                        "values written out in full: registry entries are signed one by one, so anchors and aliases are not supported",
                    )
                    .at(Some(here)),
                );
                self.add(Value::Null);
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// Resolves a scalar by the YAML 1.2 core schema: quoted scalars are strings; plain ones may
/// be null, booleans, integers or floats.
fn resolve_scalar(text: String, style: TScalarStyle) -> Value {
    if style != TScalarStyle::Plain {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(&text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::from(i);
        }
        if let Ok(u) = text.parse::<u64>() {
            return Value::from(u);
        }
    }
    if looks_like_float(digits)
        && let Some(n) = text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(text)
}

/// `[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?` or `\.[0-9]+...`: the core schema's float, without
/// `.inf`/`.nan`, which JSON cannot hold.
fn looks_like_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = all_digits(int)
        && frac.is_none_or(all_digits)
        && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok && (frac.is_some() || exponent.is_some())
}

/// Writes `value` as block-style YAML, quoting whatever would otherwise read back as another
/// type.
pub(crate) fn to_yaml_string<T: Serialize>(value: &T) -> Result<String, String> {
    let json = serde_json::to_value(value).map_err(|e| e.to_string())?;
    let yaml = json_to_yaml(&json);
    let mut out = String::new();
    let mut emitter = yaml_rust2::YamlEmitter::new(&mut out);
    emitter.dump(&yaml).map_err(|e| format!("{e:?}"))?;
    let body = out.strip_prefix("---\n").unwrap_or(&out).to_owned();
    Ok(body + "\n")
}

fn json_to_yaml(value: &Value) -> yaml_rust2::Yaml {
    use yaml_rust2::Yaml;
    match value {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Integer(i),
            None => Yaml::Real(n.to_string()),
        },
        Value::String(s) => Yaml::String(s.clone()),
        Value::Array(items) => Yaml::Array(items.iter().map(json_to_yaml).collect()),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| (written_rank(k), *k));
            let mut hash = yaml_rust2::yaml::Hash::new();
            for k in keys {
                if let Some(v) = map.get(k) {
                    hash.insert(Yaml::String(k.clone()), json_to_yaml(v));
                }
            }
            Yaml::Hash(hash)
        }
    }
}

/// The order people expect fields in (the format's own order); other keys (templates,
/// versions, regions) follow, sorted.
fn written_rank(key: &str) -> usize {
    const ORDER: [&str; 28] = [
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
        assert_eq!(p.expected, "well-formed YAML");
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
}
