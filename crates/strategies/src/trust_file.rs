//! Reading a trust policy from its file.
//!
//! ```yaml
//! trusted_owners: [self, amazon, "111122223333"]
//! named_owners:
//!   prism-community: ["444455556666"]
//! registry_publishers_may_vouch: false
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use amiref_core::Owner;
use amiref_yaml::{Document, FieldPath, Limits, Segment, Target, YamlError};

use crate::TrustPolicy;

/// What a trust policy file holds, said with every refusal of one.
pub const TRUST_POLICY_FORMAT: &str = "a trust policy: `trusted_owners: [self, amazon, ...]`, \
     `named_owners: {name: [account ids]}` and optionally \
     `registry_publishers_may_vouch: true|false`";

/// A trust policy file that could not be read or was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustFileError {
    /// The file could not be read.
    #[error("cannot read trust policy {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The text is not a trust policy: every problem found, each located.
    #[error("{}", Listed(problems))]
    Invalid {
        /// The file or other origin of the text.
        origin: String,
        /// Every problem, in text order (at least one).
        problems: Vec<YamlError>,
    },
}

/// Problems one per line, each followed by what a policy file holds.
struct Listed<'a>(&'a [YamlError]);

impl fmt::Display for Listed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
            if let Some(help) = help(problem) {
                write!(f, " ({help})")?;
            }
        }
        write!(f, "; expected {TRUST_POLICY_FORMAT}")
    }
}

/// Advice for a problem people often make.
fn help(problem: &YamlError) -> Option<&'static str> {
    let in_owners = problem.path().segments().first().is_some_and(|s| {
        *s == Segment::Key("trusted_owners".into()) || *s == Segment::Key("named_owners".into())
    });
    (in_owners && problem.found().starts_with("integer"))
        .then_some("write account ids in quotes: YAML reads bare digits as a number")
}

impl TrustPolicy {
    /// Reads a trust policy from YAML text; `origin` names it in errors and becomes the
    /// policy's [`origin`](TrustPolicy::origin).
    ///
    /// Problems of the YAML (a duplicate key, a second document...), of its shape (an
    /// unknown field, an owner that is not one) and of its meaning (a named owner trusted
    /// but never defined) are reported together, each at its line and column.
    ///
    /// ```
    /// use amiref_strategies::TrustPolicy;
    ///
    /// let policy = TrustPolicy::from_yaml_str("trusted_owners: [self, amazon]\n", "trust.yml")?;
    /// assert_eq!(policy.origin.as_deref(), Some("trust.yml"));
    ///
    /// let err = TrustPolicy::from_yaml_str("trusted_owners: [self, amazn]\n", "trust.yml")
    ///     .unwrap_err()
    ///     .to_string();
    /// assert!(err.starts_with("trust.yml:1:24: trusted_owners[1]: found the named owner `amazn`"), "{err}");
    /// # Ok::<(), amiref_strategies::TrustFileError>(())
    /// ```
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<TrustPolicy, TrustFileError> {
        let invalid = |problems| TrustFileError::Invalid {
            origin: origin.to_owned(),
            problems,
        };
        let parsed =
            Document::parse_all(text, origin, &Limits::DEFAULT).map_err(|e| invalid(vec![e]))?;
        let (doc, mut problems) = (parsed.document, parsed.problems);
        if doc.value().is_null() && problems.is_empty() {
            let root = FieldPath::root();
            let found = "an empty file";
            problems.push(doc.refuse(&root, Target::Value, found, TRUST_POLICY_FORMAT));
        }
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let policy: TrustPolicy = doc.deserialize().map_err(|e| invalid(vec![e]))?;
        let undefined = undefined_named_owners(&doc, &policy);
        if !undefined.is_empty() {
            return Err(invalid(undefined));
        }
        Ok(policy.with_origin(origin))
    }

    /// Reads a trust policy file (format: [`TrustPolicy::from_yaml_str`]); a file that is
    /// not UTF-8 is refused at its first bad byte.
    pub fn load_file(path: impl AsRef<Path>) -> Result<TrustPolicy, TrustFileError> {
        let path = path.as_ref();
        let text = amiref_yaml::read_text(path).map_err(|e| match e {
            YamlError::Io { source, .. } => TrustFileError::Read {
                path: path.to_owned(),
                source,
            },
            other => TrustFileError::Invalid {
                origin: path.display().to_string(),
                problems: vec![other],
            },
        })?;
        Self::from_yaml_str(&text, &path.display().to_string())
    }
}

/// A named owner in `trusted_owners` that `named_owners` does not define stands for no
/// account: trusting it does nothing, and is most likely a typo.
fn undefined_named_owners(doc: &Document, policy: &TrustPolicy) -> Vec<YamlError> {
    let Some(written) = doc.value()["trusted_owners"].as_array() else {
        return Vec::new();
    };
    policy
        .trusted_owners
        .iter()
        .filter_map(|owner| match owner {
            Owner::Named(name) if !policy.named_owners.contains_key(name) => Some(name),
            _ => None,
        })
        .map(|name| {
            let index = written
                .iter()
                .position(|w| w.as_str() == Some(name.as_str()));
            let path = FieldPath::root()
                .join(Segment::Key("trusted_owners".into()))
                .join(Segment::Index(index.unwrap_or_default()));
            doc.refuse(
                &path,
                Target::Value,
                format!("the named owner `{name}`, which named_owners does not define"),
                format!(
                    "\"self\", \"amazon\", \"aws-marketplace\", an account id, or a name that \
                     named_owners maps to accounts (`named_owners: {{{name}: [\"111122223333\"]}}`)"
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        match TrustPolicy::from_yaml_str(text, "trust.yml") {
            Err(TrustFileError::Invalid { problems, .. }) => {
                problems.iter().map(ToString::to_string).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_policy_reads_and_names_its_file() {
        let text = "trusted_owners: [self, \"111122223333\"]\nnamed_owners:\n  lab: [\"444455556666\"]\nregistry_publishers_may_vouch: true\n";
        let policy = TrustPolicy::from_yaml_str(text, "trust.yml").unwrap();
        assert_eq!(policy.trusted_owners.len(), 2);
        assert_eq!(policy.named_owners["lab"].len(), 1);
        assert!(policy.registry_publishers_may_vouch);
        assert_eq!(policy.origin.as_deref(), Some("trust.yml"));
    }

    #[test]
    fn problems_are_located_and_name_the_format() {
        let err = TrustPolicy::from_yaml_str("trusted_owners: [self]\ntrusted: []\n", "trust.yml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("trust.yml:2:1: trusted: found unknown field `trusted`, expected one of `trusted_owners`, `named_owners`, `registry_publishers_may_vouch`; expected a trust policy: `trusted_owners: [self, amazon, ...]`"),
            "{err}"
        );
        let err = TrustPolicy::from_yaml_str("named_owners:\n  lab: [111122223333]\n", "trust.yml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "trust.yml:2:9: named_owners.lab[0]: found integer `111122223333`, expected a \
                 string (write account ids in quotes: YAML reads bare digits as a number); \
                 expected a trust policy"
            ),
            "{err}"
        );
    }

    #[test]
    fn yaml_problems_are_reported_together() {
        let found = problems("trusted_owners: [self]\ntrusted_owners: [amazon]\n---\nx: 1\n");
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with(
                "trust.yml:2:1: trusted_owners: found the key `trusted_owners` a second time"
            ),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("trust.yml:3:1: found a second YAML document"),
            "{found:?}"
        );
    }

    #[test]
    fn a_named_owner_trusted_but_never_defined_is_refused_at_its_place() {
        let found = problems(
            "trusted_owners: [self, prism, lab]\nnamed_owners:\n  lab: [\"111122223333\"]\n",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("trust.yml:1:24: trusted_owners[1]: found the named owner `prism`, which named_owners does not define"), "{found:?}");
    }

    #[test]
    fn empty_unreadable_and_non_utf8_files_are_refused() {
        assert_eq!(
            problems("# nothing\n")[0],
            format!("trust.yml:1:1: found an empty file, expected {TRUST_POLICY_FORMAT}")
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trust.yml");
        std::fs::write(&path, b"trusted_owners: [s\xe9lf]\n").unwrap();
        let err = TrustPolicy::load_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("trust.yml:1:19: found the byte 0xe9, which is not UTF-8"),
            "{err}"
        );
        let missing = TrustPolicy::load_file(dir.path().join("none.yml")).unwrap_err();
        assert!(matches!(missing, TrustFileError::Read { .. }), "{missing}");
        std::fs::write(&path, "trusted_owners: [amazon]\n").unwrap();
        let policy = TrustPolicy::load_file(&path).unwrap();
        assert_eq!(policy.origin, Some(path.display().to_string()));
    }

    #[test]
    fn the_demo_worlds_policy_reads() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/worlds/demo.trust.yaml"
        );
        let policy = TrustPolicy::load_file(path).unwrap();
        assert!(policy.named_owners.contains_key("prism-community"));
    }
}
