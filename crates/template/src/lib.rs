//! # amiref-template
//!
//! The template format: a machine template with an `ami_config` block that says how to find a
//! pre-built image for it, and what to do when there is none. The format is described field
//! by field in `docs/template.md`; its JSON Schema is [`json_schema`].
//!
//! ```
//! use amiref_template::Template;
//!
//! let text = r#"
//! name: python-ml
//! ami_config:
//!   strategy: ami_preferred
//!   ami_mappings:
//!     us-east-1: ami-0123456789abcdef0
//!   ami_search:
//!     owner: "111122223333"
//!     name_pattern: "cws-python-ml-*"
//!   fallback_strategy: script_provisioning
//! user_data: |
//!   #!/bin/bash
//!   pip install torch
//! "#;
//! let template = Template::from_yaml_str(text, "python-ml.yml")?;
//! assert!(template.script_reachable());
//! println!("{}", template.fingerprint());
//! # Ok::<(), amiref_template::TemplateError>(())
//! ```
//!
//! A template may also say how `amiref build` makes its image and `amiref refresh` keeps it
//! fresh: a `build:` block ([`BuildConfig`]) with the test run on the new image, timeouts
//! (defaults applied by [`Template::provision_timeout`] and [`Template::test_timeout`]), the
//! builder's instance types and the image's maximum age ([`Template::max_age`]).
//! [`Template::build_fingerprint`] hashes what makes the image, as
//! [`Template::fingerprint`] hashes what resolution reads.
//!
//! ## Design choices
//!
//! - **Every problem at once, each located.** Loading parses the YAML into a plain tree,
//!   decodes it field by field (not with serde's derive, which stops at the first error),
//!   then checks the rules between fields. Each problem names the file, line and column,
//!   the field path, what was found and what was expected, and often a "did you mean".
//!   A rule whose input already failed to decode stays silent, so one mistake is reported
//!   once, not as a cascade.
//! - **One YAML module.** The text is read by amiref-yaml, the YAML module of every amiref
//!   file format, once: it refuses what templates never need (tags, duplicate keys,
//!   several documents, text that is not UTF-8) within resource limits, and keeps the line
//!   and column of every key and value, so each problem is located in time linear in its
//!   path's length. Problems of the YAML itself are reported with the template's own, in
//!   one pass.
//! - **Safe by construction.** A search must name the owners it trusts (a stranger's newer
//!   public image with a matching name must never win), and a template that can reach
//!   script provisioning must carry a script.
//! - **The types are the schema.** The JSON Schema is generated from the same types serde
//!   reads, and a test keeps the checked-in copy (`docs/template.schema.json`) current.

mod build;
mod decode;
mod duration;
mod error;
mod fingerprint;
mod load;
mod model;
mod path;
mod regions;
mod validate;
mod yaml;

pub use build::{
    DEFAULT_MAX_AGE, DEFAULT_PROVISIONING_TIME, DEFAULT_TEST_TIMEOUT, MAX_BUILD_TIMEOUT,
    MAX_MAX_AGE, MAX_TEST_TIMEOUT, MIN_PROVISION_TIMEOUT, PROVISION_TIMEOUT_FACTOR,
};
pub use duration::{
    DURATION_EXPECTED, DurationError, HumanDuration, MAX_FALLBACK_TIMEOUT, MAX_PROVISIONING_TIME,
};
pub use error::{InvalidTemplate, Location, Problem, ProblemKind, TemplateError};
pub use fingerprint::Fingerprint;
pub use load::TemplateSet;
pub use model::{
    AmiConfig, AmiSearch, AmiStrategy, BaseImage, BuildConfig, FallbackStrategy, MarketplaceSearch,
    OneOrMany, Template,
};
pub use path::{FieldPath, Segment};

/// The JSON Schema (draft 2020-12) of the template format, generated from the types.
///
/// Editors use it to check and complete template files; the checked-in copy is
/// `docs/template.schema.json`. Rules between fields (an owner required, no script fallback
/// with `ami_required`) are beyond what the schema can say; [`Template::from_yaml_str`]
/// checks them.
pub fn json_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(Template);
    schema.insert(
        "$id".to_owned(),
        "https://github.com/amiref/amiref/blob/main/docs/template.schema.json".into(),
    );
    schema.insert("title".to_owned(), "amiref template".into());
    let mut value = schema.to_value();
    forbid_null(&mut value);
    amiref_core::sorted_json(value)
}

/// Optional fields may be left out but not written empty: the loader refuses an empty
/// value (`ami_search:` with nothing under it is more often a mistake than a choice), so
/// the `null` that schemars allows for every `Option` is taken out again.
fn forbid_null(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let is_null = |s: &Value| s.get("type") == Some(&Value::from("null"));
            if let Some(Value::Array(any_of)) = map.get("anyOf")
                && any_of.len() == 2
                && let Some(i) = any_of.iter().position(is_null)
            {
                let kept = any_of[1 - i].clone();
                map.remove("anyOf");
                if let Value::Object(kept) = kept {
                    map.extend(kept);
                }
            }
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let single = types.remove(0);
                    map.insert("type".to_owned(), single);
                }
            }
            map.values_mut().for_each(forbid_null);
        }
        Value::Array(items) => items.iter_mut().for_each(forbid_null),
        _ => {}
    }
}
