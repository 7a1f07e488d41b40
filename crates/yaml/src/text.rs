//! Getting text to parse, and quoting values back in messages.

use std::borrow::Cow;
use std::path::Path;

use crate::{Location, YamlError};

/// How many characters of a value a message quotes.
pub const SHORTENED_CHARS: usize = 60;

/// `text` as a message may quote it: whole when it is at most [`SHORTENED_CHARS`]
/// characters, else its first [`SHORTENED_CHARS`] characters and `…`. A message about a
/// 1 MB value stays one line long.
///
/// ```
/// use amiref_yaml::shorten;
///
/// assert_eq!(shorten("ami-1"), "ami-1");
/// let long = "x".repeat(1_000_000);
/// assert_eq!(shorten(&long).chars().count(), 61);
/// assert!(shorten(&long).ends_with('…'));
/// ```
pub fn shorten(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(SHORTENED_CHARS) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
    }
}

/// `bytes` as text, or [`YamlError::NotUtf8`] at the line and column of the first byte
/// that is not UTF-8. `origin` names the text in the error.
///
/// ```
/// use amiref_yaml::text_from_bytes;
///
/// let err = text_from_bytes(b"name: ok\nowner: caf\xe9\n", "t.yml").unwrap_err();
/// assert_eq!(err.to_string(), "t.yml:2:11: found the byte 0xe9, which is not UTF-8, expected UTF-8 text");
/// ```
pub fn text_from_bytes<'a>(bytes: &'a [u8], origin: &str) -> Result<&'a str, YamlError> {
    std::str::from_utf8(bytes).map_err(|e| not_utf8(bytes, e.valid_up_to(), origin))
}

/// Reads a file as UTF-8 text: [`YamlError::Io`] when it cannot be read,
/// [`YamlError::NotUtf8`] (located) when it is not text. The origin of the text is the
/// path as displayed.
pub fn read_text(path: impl AsRef<Path>) -> Result<String, YamlError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| YamlError::Io {
        path: path.to_owned(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        not_utf8(
            e.as_bytes(),
            e.utf8_error().valid_up_to(),
            &path.display().to_string(),
        )
    })
}

/// The error for `bytes`, valid UTF-8 up to `valid`.
fn not_utf8(bytes: &[u8], valid: usize, origin: &str) -> YamlError {
    YamlError::NotUtf8 {
        origin: origin.to_owned(),
        location: Location::of_valid_prefix(&bytes[..valid]),
        byte: bytes.get(valid).copied().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortening_cuts_at_a_character_boundary() {
        let text = "é".repeat(100);
        let short = shorten(&text);
        assert_eq!(short.chars().count(), SHORTENED_CHARS + 1);
        assert_eq!(
            shorten(&"é".repeat(SHORTENED_CHARS)),
            "é".repeat(SHORTENED_CHARS)
        );
    }

    #[test]
    fn the_first_bad_byte_is_located_by_characters() {
        let err = text_from_bytes("é\nab\u{e9}c\n".as_bytes(), "t").map(|_| ());
        assert!(err.is_ok());
        let err = text_from_bytes(b"\xc3\xa9\nab\xffc", "t").unwrap_err();
        let at = err.location().unwrap();
        assert_eq!((at.line, at.column, at.offset), (2, 3, 5));
    }

    #[test]
    fn read_text_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.yml");
        std::fs::write(&path, b"a: \xff\n").unwrap();
        let err = read_text(&path).unwrap_err();
        assert!(
            err.to_string().ends_with(
                "bad.yml:1:4: found the byte 0xff, which is not UTF-8, expected UTF-8 text"
            ),
            "{err}"
        );
        let err = read_text(dir.path().join("none.yml")).unwrap_err();
        assert!(matches!(err, YamlError::Io { .. }), "{err}");
    }
}
