//! The canonical form an entry is signed over: JSON with sorted keys and no whitespace,
//! naming the template and version, behind a domain prefix.
//!
//! The template and version are part of what is signed so that a signature cannot be moved
//! to another template or version; the prefix so that no other message a publisher's key
//! signs can be mistaken for an entry. The signature itself is left out. Keys are sorted
//! here, by this crate, rather than by relying on `serde_json`'s map order, which a
//! feature elsewhere in a build (`preserve_order`) could change.

use serde_json::Value;

use crate::model::{Entry, SCHEMA_VERSION};

/// What every signed message starts with.
pub const DOMAIN: &str = "amiref-registry/entry/v1\n";

/// The bytes a publisher signs for `entry` as `template` `version`.
pub fn entry_message(template: &str, version: &str, entry: &Entry) -> Result<Vec<u8>, String> {
    let mut entry_value = serde_json::to_value(entry).map_err(|e| e.to_string())?;
    if let Value::Object(fields) = &mut entry_value {
        fields.remove("signature");
    }
    let envelope = serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "template": template,
        "version": version,
        "entry": entry_value,
    });
    let mut out = String::from(DOMAIN);
    write_canonical(&envelope, &mut out);
    Ok(out.into_bytes())
}

/// Writes `value` in canonical JSON (see [`amiref_core::write_canonical_json`]).
pub use amiref_core::write_canonical_json as write_canonical;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_at_every_level() {
        let v = serde_json::json!({"b": 1, "a": {"z": [true, null], "y": "x"}});
        let mut out = String::new();
        write_canonical(&v, &mut out);
        assert_eq!(out, r#"{"a":{"y":"x","z":[true,null]},"b":1}"#);
    }
}
