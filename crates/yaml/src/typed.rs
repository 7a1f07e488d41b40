//! Typed reading: a document as a serde type, with the type's errors located.

use serde::de::DeserializeOwned;

use crate::{Document, FieldPath, Limits, Segment, Target, TypeMismatch, YamlError, shorten};

/// Reads `text` as a `T` (default [`Limits`]); `origin` names it in errors.
///
/// A text that is not YAML, or that YAML refuses, fails as [`Document::parse`] does; a
/// document of the wrong shape fails with [`YamlError::Type`] at the offending field:
/// its value for a wrong value, its key for an unknown field, the mapping for a missing
/// one.
///
/// ```
/// #[derive(serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Prices { as_of: String, price: std::collections::BTreeMap<String, f64> }
///
/// let err = amiref_yaml::from_str::<Prices>("as_of: today\nprice:\n  t3.micro: cheap\n", "p.yml")
///     .map(|_| ())
///     .unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "p.yml:3:13: price[\"t3.micro\"]: found string \"cheap\", expected f64"
/// );
/// ```
pub fn from_str<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, YamlError> {
    from_str_with(text, origin, &Limits::DEFAULT)
}

/// [`from_str`] within `limits`.
pub fn from_str_with<T: DeserializeOwned>(
    text: &str,
    origin: &str,
    limits: &Limits,
) -> Result<T, YamlError> {
    Document::parse_with(text, origin, limits)?.deserialize()
}

impl Document {
    /// The document as a `T`, or [`YamlError::Type`] located at the offending field.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, YamlError> {
        // Tracking the path costs an allocation per key, so it is paid only to explain a
        // failure.
        if let Ok(typed) = T::deserialize(self.value()) {
            return Ok(typed);
        }
        let error = match serde_path_to_error::deserialize::<_, T>(self.value()) {
            Ok(typed) => return Ok(typed),
            Err(error) => error,
        };
        let mut path: FieldPath = error
            .path()
            .iter()
            .filter_map(|s| match s {
                serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
                serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let source = error.into_inner();
        let message = source.to_string();
        let (found, expected) = split_message(&message);
        let target = match backticked(&message, "unknown field `") {
            // serde names an unknown field's mapping; point at the field's key.
            Some(field) => {
                if path.segments().last() != Some(&Segment::Key(field.to_owned())) {
                    path.push(Segment::Key(field.to_owned()));
                }
                Target::Key
            }
            None if message.starts_with("missing field `") => Target::Key,
            None => Target::Value,
        };
        Err(YamlError::Type(Box::new(TypeMismatch {
            origin: self.origin().to_owned(),
            location: self.locate_nearest(path.steps(), target),
            path,
            found,
            expected,
            source,
        })))
    }
}

/// The text between `prefix` and the next backtick of `message`.
fn backticked<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    message.strip_prefix(prefix)?.split('`').next()
}

/// Splits serde's messages (and those of types' own `Deserialize`) into what was found and
/// what was expected, the found part [shortened](shorten) so that a huge value is not
/// echoed.
pub(crate) fn split_message(message: &str) -> (String, String) {
    let message = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .unwrap_or(message);
    if let Some(field) = backticked(message, "missing field `") {
        return (
            format!("no field `{}`", shorten(field)),
            format!("the required field `{field}`"),
        );
    }
    if let Some(field) = backticked(message, "unknown field `") {
        let expected = message
            .split_once("expected ")
            .map_or_else(|| "no other fields".to_owned(), |(_, e)| e.to_owned());
        return (format!("unknown field `{}`", shorten(field)), expected);
    }
    for separator in [", expected ", ": expected "] {
        if let Some((found, expected)) = message.rsplit_once(separator) {
            return (shorten_found(found), expected.to_owned());
        }
    }
    (
        shorten_found(message),
        "a value of the form the file's documentation gives".to_owned(),
    )
}

/// A found part of a message, its quoted value shortened: `string "aaaa…"`.
fn shorten_found(found: &str) -> String {
    match (found.find('"'), found.rfind('"')) {
        (Some(open), Some(close)) if close > open => {
            let inner = &found[open + 1..close];
            format!(
                "{}\"{}\"{}",
                &found[..open],
                shorten(inner),
                shorten(&found[close + 1..])
            )
        }
        _ => shorten(found).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_into_found_and_expected() {
        assert_eq!(
            split_message("invalid type: integer `3`, expected a string"),
            ("integer `3`".to_owned(), "a string".to_owned())
        );
        assert_eq!(
            split_message("missing field `as_of`"),
            (
                "no field `as_of`".to_owned(),
                "the required field `as_of`".to_owned()
            )
        );
        assert_eq!(
            split_message("unknown field `colour`, expected `name` or `size`"),
            (
                "unknown field `colour`".to_owned(),
                "`name` or `size`".to_owned()
            )
        );
        let long = format!(
            "invalid value: string \"{}\", expected an id",
            "x".repeat(10_000)
        );
        let (found, _) = split_message(&long);
        assert!(found.len() < 100, "{found}");
        assert!(
            found.starts_with("string \"xxx") && found.ends_with("…\""),
            "{found}"
        );
    }
}
