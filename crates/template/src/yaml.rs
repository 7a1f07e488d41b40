//! The one module that knows the YAML crate (serde_yaml), so that it can be swapped.
//!
//! It offers three things to the rest of the crate:
//!
//! - [`parse`]: YAML text to a plain tree ([`serde_json::Value`]), refusing what templates
//!   never need and what would make a template mean something unexpected: tags (`!foo`),
//!   duplicate keys (the YAML spec forbids them; many parsers silently keep the last),
//!   mapping keys that are lists or mappings, several documents.
//! - [`locate`]: the line and column of the key or value at a field path.
//! - [`to_string`]: a value as YAML text.
//!
//! ## Why locating works by re-reading
//!
//! serde_yaml keeps no positions in its values; it attaches one only to an error, and
//! there the position is exact: it is the parser's own mark of the node being read. So
//! [`locate`] reads the text again, walking down the field path, and raises an error on
//! purpose the moment it reaches the key or value wanted; the error's mark is the answer.
//! This uses the real parser, so block style, flow style, quoting, multi-line scalars and
//! anchors all locate correctly, where a line scanner of our own would guess. It costs one
//! parse per problem, which only happens for invalid templates, which are small.

use std::cell::{Cell, RefCell};
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::{FieldPath, Location, Segment};

/// Text that is not YAML, or YAML that templates do not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// What the text has.
    pub(crate) found: String,
    /// What it should have.
    pub(crate) expected: String,
    /// Where, when the parser knows.
    pub(crate) location: Option<Location>,
}

/// Parses YAML text into a plain tree.
pub(crate) fn parse(text: &str) -> Result<Value, SyntaxError> {
    let refusal = RefCell::new(None);
    let seed = TreeSeed { refusal: &refusal };
    seed.deserialize(serde_yaml::Deserializer::from_str(text))
        .map_err(|e| {
            let (found, expected) = refusal.borrow_mut().take().unwrap_or_else(|| {
                (
                    format!("invalid YAML ({})", without_position(&e.to_string())),
                    "well-formed YAML: check the indentation, quotes and brackets here and just before".to_owned(),
                )
            });
            let location = e.location().map(|l| Location {
                line: l.line(),
                column: l.column(),
            });
            match second_document(text) {
                Some(second) if location.is_none() => SyntaxError {
                    found: "a second YAML document (after `---`)".to_owned(),
                    expected: "one template per file".to_owned(),
                    location: Some(second),
                },
                _ => SyntaxError {
                    found,
                    expected,
                    location,
                },
            }
        })
}

/// Where a second document starts: the first `---` line after some content.
fn second_document(text: &str) -> Option<Location> {
    let mut content = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if line.starts_with("---") && content {
            return Some(Location {
                line: i + 1,
                column: 1,
            });
        }
        if !(trimmed.is_empty()
            || trimmed.starts_with('#')
            || line.starts_with("---")
            || line.starts_with('%'))
        {
            content = true;
        }
    }
    None
}

/// Whether to locate a mapping entry's key or its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The key (`owner` in `owner: x`): for unknown fields, and problems about a field as a
    /// whole.
    Key,
    /// The value (`x`): for invalid values.
    Value,
}

/// The line and column of the key or value at `path`, or `None` when the text has no such
/// path (or is not YAML).
pub(crate) fn locate(text: &str, path: &FieldPath, target: Target) -> Option<Location> {
    let hit = Cell::new(false);
    let seed = LocateSeed {
        rest: path.segments(),
        target,
        hit: &hit,
    };
    match seed.deserialize(serde_yaml::Deserializer::from_str(text)) {
        Err(e) if hit.get() => e.location().map(|l| Location {
            line: l.line(),
            column: l.column(),
        }),
        _ => None,
    }
}

/// Serializes a value as YAML.
pub(crate) fn to_string<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_yaml::to_string(value).map_err(|e| e.to_string())
}

/// Drops libyaml's " at line L column C" (and " at position N") from a message: positions
/// are reported separately, in the same form as every other problem.
fn without_position(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find(" at ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 4..];
        let skipped = skip_position(after);
        if skipped.len() == after.len() {
            out.push_str(" at ");
        }
        rest = skipped;
    }
    out.push_str(rest);
    out
}

/// `after` without a leading "line L column C" or "position N", when it has one.
fn skip_position(after: &str) -> &str {
    fn digits(s: &str) -> Option<&str> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (n > 0).then(|| &s[n..])
    }
    if let Some(s) = after.strip_prefix("line ")
        && let Some(s) = digits(s).and_then(|s| s.strip_prefix(" column "))
        && let Some(s) = digits(s)
    {
        return s;
    }
    if let Some(s) = after.strip_prefix("position ")
        && let Some(s) = digits(s)
    {
        return s;
    }
    after
}

/// Builds a [`Value`] from the YAML, refusing what templates do not accept. A refusal's
/// message goes through `refusal`, because serde_yaml decorates error messages.
#[derive(Clone, Copy)]
struct TreeSeed<'a> {
    refusal: &'a RefCell<Option<(String, String)>>,
}

impl TreeSeed<'_> {
    /// Fails the parse with a problem of our own: what was found, what was expected.
    fn refuse<T, E: de::Error>(self, found: String, expected: &str) -> Result<T, E> {
        let error = E::custom(&found);
        *self.refusal.borrow_mut() = Some((found, expected.to_owned()));
        Err(error)
    }
}

impl<'de> DeserializeSeed<'de> for TreeSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TreeSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        self.refuse(
            format!("the number {v}, too large"),
            "a number that fits in 64 bits, or text in quotes",
        )
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        self.refuse(
            format!("the number {v}, too large"),
            "a number that fits in 64 bits, or text in quotes",
        )
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        match Number::from_f64(v) {
            Some(n) => Ok(Value::Number(n)),
            None => self.refuse(
                format!("the number {v}"),
                "a finite number, or text in quotes",
            ),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Value, E> {
        self.refuse("binary data".to_owned(), "text")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Map::new();
        while let Some(key) = map.next_key_seed(KeySeed {
            tree: self,
            seen: &entries,
        })? {
            let value = map.next_value_seed(self)?;
            entries.insert(key, value);
        }
        Ok(Value::Object(entries))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<Value, A::Error> {
        self.refuse(
            "a YAML tag (`!name value`)".to_owned(),
            "a plain value: templates do not use tags",
        )
    }
}

/// Reads a mapping key as text, refusing duplicates and keys that are lists or mappings.
/// The refusal is raised while the key itself is being read, so its position is the key's.
struct KeySeed<'a> {
    tree: TreeSeed<'a>,
    seen: &'a Map<String, Value>,
}

impl KeySeed<'_> {
    fn accept<E: de::Error>(self, key: String) -> Result<String, E> {
        if self.seen.contains_key(&key) {
            return self.tree.refuse(
                format!("the key `{key}` a second time in one mapping"),
                "each key once (YAML keeps only one of them)",
            );
        }
        Ok(key)
    }
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        self.accept(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        self.accept(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        self.accept(v.to_string())
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<String, E> {
        self.accept(v.to_string())
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<String, E> {
        self.accept(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        self.accept(v.to_string())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        self.accept(v.to_owned())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        self.accept("null".to_owned())
    }
    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        self.accept("null".to_owned())
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<String, E> {
        self.tree
            .refuse("binary data as a key".to_owned(), "a text key")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        self.tree.refuse("a list as a key".to_owned(), "a text key")
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        self.tree
            .refuse("a mapping as a key".to_owned(), "a text key")
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        self.tree.refuse(
            "a YAML tag (`!name value`)".to_owned(),
            "a plain key: templates do not use tags",
        )
    }
}

/// Walks down `rest` and fails on purpose at the key or value wanted; `hit` tells the
/// caller that the failure is the answer and not a problem of the text.
#[derive(Clone, Copy)]
struct LocateSeed<'p, 'h> {
    rest: &'p [Segment],
    target: Target,
    hit: &'h Cell<bool>,
}

impl LocateSeed<'_, '_> {
    fn found<T, E: de::Error>(self) -> Result<T, E> {
        self.hit.set(true);
        Err(E::custom("located"))
    }
}

impl<'de> DeserializeSeed<'de> for LocateSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        // An empty rest means this node is the value wanted: any visit fails at its mark.
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LocateSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((first, deeper)) = self.rest.split_first() else {
            return self.found();
        };
        let mut i = 0;
        loop {
            let more = if *first == Segment::Index(i) {
                seq.next_element_seed(LocateSeed {
                    rest: deeper,
                    ..self
                })?
            } else {
                seq.next_element::<IgnoredAny>()?.map(|_| ())
            };
            if more.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((first, deeper)) = self.rest.split_first() else {
            return self.found();
        };
        let wanted = match first {
            Segment::Key(k) => Some(k.as_str()),
            Segment::Index(_) => None,
        };
        let key_is_target = deeper.is_empty() && self.target == Target::Key;
        loop {
            let probe = KeyProbe {
                fail_on: wanted.filter(|_| key_is_target),
                hit: self.hit,
            };
            let Some(key) = map.next_key_seed(probe)? else {
                return Ok(());
            };
            if wanted == Some(key.as_str()) {
                map.next_value_seed(LocateSeed {
                    rest: deeper,
                    ..self
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.scalar()
    }
}

impl LocateSeed<'_, '_> {
    /// A scalar is the answer when nothing is left to walk, else a dead end.
    fn scalar<E: de::Error>(self) -> Result<(), E> {
        if self.rest.is_empty() {
            self.found()
        } else {
            Ok(())
        }
    }
}

/// Reads a key as text, failing on purpose when it is `fail_on`, so that the error carries
/// the key's position.
struct KeyProbe<'k, 'h> {
    fail_on: Option<&'k str>,
    hit: &'h Cell<bool>,
}

impl KeyProbe<'_, '_> {
    fn check<E: de::Error>(self, key: String) -> Result<String, E> {
        if self.fail_on == Some(key.as_str()) {
            self.hit.set(true);
            return Err(E::custom("located"));
        }
        Ok(key)
    }
}

impl<'de> DeserializeSeed<'de> for KeyProbe<'_, '_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyProbe<'_, '_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        self.check(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        self.check(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        self.check(v.to_string())
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<String, E> {
        self.check(v.to_string())
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<String, E> {
        self.check(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        self.check(v.to_string())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        self.check(v.to_owned())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        self.check("null".to_owned())
    }
    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        self.check("null".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Option<Location> {
        Some(Location { line, column })
    }

    const TEXT: &str = "\
name: demo
ami_config:
  ami_search:
    owner: \"Prism Community\"
    architecture: [x86_64, arm64]
  ami_mappings: {us-east-1: ami-1, eu-west-1: ami-2}
";

    #[test]
    fn locates_keys_and_values_in_block_and_flow_style() {
        let p = |s: &str| s.parse::<FieldPath>().unwrap();
        assert_eq!(locate(TEXT, &p("name"), Target::Key), at(1, 1));
        assert_eq!(locate(TEXT, &p("name"), Target::Value), at(1, 7));
        assert_eq!(
            locate(TEXT, &p("ami_config.ami_search.owner"), Target::Value),
            at(4, 12)
        );
        assert_eq!(
            locate(
                TEXT,
                &p("ami_config.ami_search.architecture[1]"),
                Target::Value
            ),
            at(5, 28)
        );
        assert_eq!(
            locate(TEXT, &p("ami_config.ami_mappings.eu-west-1"), Target::Key),
            at(6, 36)
        );
        assert_eq!(locate(TEXT, &p("ami_config.nothing"), Target::Key), None);
        assert_eq!(locate(TEXT, &p("name.deeper"), Target::Key), None);
    }

    #[test]
    fn refuses_duplicates_tags_and_complex_keys_at_their_position() {
        let e = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e.found, "the key `a` a second time in one mapping");
        assert_eq!(e.location, at(3, 1));
        let e = parse("a: !secret x\n").unwrap_err();
        assert!(e.found.contains("tag"), "{}", e.found);
        assert_eq!(e.location, at(1, 4));
        let e = parse("? [a, b]\n: 1\n").unwrap_err();
        assert_eq!(e.found, "a list as a key");
    }

    #[test]
    fn syntax_errors_carry_a_position_but_not_in_the_message() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(!e.found.contains(" at line "), "{}", e.found);
        assert!(e.location.is_some());
    }

    #[test]
    fn keeps_plain_values() {
        let v = parse("a: 1\nb: [x, 2.5, true, null]\nc: 2024-01-01\n").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": 1, "b": ["x", 2.5, true, null], "c": "2024-01-01"})
        );
        assert_eq!(parse("").unwrap(), Value::Null);
    }
}
