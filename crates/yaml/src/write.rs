//! Writing YAML.

use serde::Serialize;

/// Why a value could not be written as YAML.
#[derive(Debug, thiserror::Error)]
#[error("cannot write YAML: {source}")]
#[non_exhaustive]
pub struct WriteError {
    /// The serializer's error.
    #[source]
    pub source: serde_saphyr::ser::Error,
}

/// `value` as block-style YAML that [`Document::parse`](crate::Document::parse) reads back
/// as the same tree: text that would read as another type (`"true"`, `"12"`, `"~"`) is
/// quoted, and multi-line text is written as a literal block (`|`) where that reads back
/// the same (else quoted, with escapes). Fields are written in the order `value`
/// serializes them.
///
/// ```
/// let text = amiref_yaml::to_string(&serde_json::json!({"a": "12", "b": [1, true]}))?;
/// let back = amiref_yaml::Document::parse(&text, "back.yml").unwrap();
/// assert_eq!(back.value(), &serde_json::json!({"a": "12", "b": [1, true]}));
/// # Ok::<(), amiref_yaml::WriteError>(())
/// ```
pub fn to_string<T: Serialize>(value: &T) -> Result<String, WriteError> {
    let pretty = serde_saphyr::to_string(value).map_err(|source| WriteError { source })?;
    // The writer's block scalars do not read back the same for every text (a text of
    // only line breaks, for one): check, and write every text quoted when they do not.
    let reads_back = serde_json::to_value(value).is_ok_and(|tree| {
        crate::Document::parse(&pretty, "written").is_ok_and(|doc| doc.value() == &tree)
    });
    if reads_back {
        return Ok(pretty);
    }
    let quoted = serde_saphyr::ser_options! { prefer_block_scalars: false };
    serde_saphyr::to_string_with_options(value, quoted).map_err(|source| WriteError { source })
}
