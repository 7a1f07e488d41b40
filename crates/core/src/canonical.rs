//! Canonical JSON: the one byte form of a value that hashes and signatures are taken over.

use serde_json::Value;

/// Appends `value` to `out` as JSON with object keys sorted by their UTF-8 bytes at every
/// level and no whitespace.
///
/// Keys are sorted here rather than by relying on `serde_json`'s map order, which a feature
/// elsewhere in a build (`preserve_order`) could change. Template fingerprints and registry
/// signatures are both taken over this form, so it must never change for a given value.
///
/// ```
/// let v = serde_json::json!({"b": 1, "a": {"z": [true, null], "y": "x"}});
/// let mut out = String::new();
/// amiref_core::write_canonical_json(&v, &mut out);
/// assert_eq!(out, r#"{"a":{"y":"x","z":[true,null]},"b":1}"#);
/// ```
pub fn write_canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical_json(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The same value with object keys in sorted order at every level, so that printing it
/// (pretty or not) gives the same text in every build, whether or not a crate elsewhere in
/// the build turned on `serde_json`'s `preserve_order` feature.
///
/// ```
/// let v = amiref_core::sorted_json(serde_json::json!({"b": 1, "a": {"d": 2, "c": 3}}));
/// assert_eq!(v.to_string(), r#"{"a":{"c":3,"d":2},"b":1}"#);
/// ```
pub fn sorted_json(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted_json(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted_json).collect()),
        scalar => scalar,
    }
}
