//! Field paths: which node of a document a location or an error is about.

use std::fmt;

/// One step down a document: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A list index (0-based).
    Index(usize),
}

/// A borrowed [`Segment`], for walking a path without building one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// A mapping key.
    Key(&'a str),
    /// A list index (0-based).
    Index(usize),
}

impl<'a> From<&'a Segment> for Step<'a> {
    fn from(segment: &'a Segment) -> Self {
        match segment {
            Segment::Key(k) => Step::Key(k),
            Segment::Index(i) => Step::Index(*i),
        }
    }
}

impl<'a> From<&'a str> for Step<'a> {
    fn from(key: &'a str) -> Self {
        Step::Key(key)
    }
}

impl From<usize> for Step<'_> {
    fn from(index: usize) -> Self {
        Step::Index(index)
    }
}

/// A path from the top of a document down to one node, printed the way messages show it:
/// `ami_config.ami_mappings.us-east-1`, `images[3].id`, `templates["v2.1.0"]` (a key that
/// is not a plain word is quoted).
///
/// ```
/// use amiref_yaml::{FieldPath, Segment};
///
/// let path: FieldPath = [Segment::Key("versions".into()), Segment::Key("2.1.0".into()), Segment::Index(0)]
///     .into_iter()
///     .collect();
/// assert_eq!(path.to_string(), r#"versions["2.1.0"][0]"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The top of the document (printed as the empty string).
    pub fn root() -> Self {
        Self::default()
    }

    /// The segments, top first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether this is the top of the document.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// This path with `segment` appended.
    #[must_use]
    pub fn join(mut self, segment: Segment) -> Self {
        self.0.push(segment);
        self
    }

    /// Appends `segment`.
    pub fn push(&mut self, segment: Segment) {
        self.0.push(segment);
    }

    /// The path as [`Step`]s, for [`Document::locate`](crate::Document::locate).
    pub fn steps(&self) -> impl Iterator<Item = Step<'_>> + '_ {
        self.0.iter().map(Step::from)
    }
}

impl FromIterator<Segment> for FieldPath {
    fn from_iter<I: IntoIterator<Item = Segment>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl From<Vec<Segment>> for FieldPath {
    fn from(segments: Vec<Segment>) -> Self {
        Self(segments)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for segment in &self.0 {
            write_step(f, Step::from(segment), first)?;
            first = false;
        }
        Ok(())
    }
}

/// Writes one step of a path; `first` says whether a key needs no dot before it.
pub(crate) fn write_step(out: &mut impl fmt::Write, step: Step<'_>, first: bool) -> fmt::Result {
    match step {
        Step::Index(i) => write!(out, "[{i}]"),
        Step::Key(key) if is_plain(key) => {
            if !first {
                out.write_char('.')?;
            }
            out.write_str(key)
        }
        Step::Key(key) => write!(out, "[{key:?}]"),
    }
}

/// Whether a key prints without quotes: letters, digits, `_` and `-`.
fn is_plain(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_plain_keys_dotted_and_others_quoted() {
        let path: FieldPath = [
            Segment::Key("a".into()),
            Segment::Index(2),
            Segment::Key("b c".into()),
            Segment::Key("d".into()),
        ]
        .into_iter()
        .collect();
        assert_eq!(path.to_string(), r#"a[2]["b c"].d"#);
        assert_eq!(FieldPath::root().to_string(), "");
        assert_eq!(FieldPath::root().join(Segment::Index(0)).to_string(), "[0]");
    }
}
