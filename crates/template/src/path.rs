//! Field paths: where in a template a problem is, as a person reads it
//! (`ami_config.ami_search.owner`, `ami_config.instance_family_preference[2]`).

use std::fmt;

/// One step of a [`FieldPath`]: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Segment {
    /// A mapping key (a field name, or a key of a map field such as a region code).
    Key(String),
    /// A position in a list, from 0.
    Index(usize),
}

/// The path from the top of a template to a field or value.
///
/// Displayed with `.` between keys and `[i]` for list positions; the empty path (the whole
/// document) displays as nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The path of the whole document.
    pub fn root() -> Self {
        Self::default()
    }

    /// This path extended by a key.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.into()));
        Self(segments)
    }

    /// This path extended by a list position.
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Self(segments)
    }

    /// The steps of the path.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether this is the path of the whole document.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path one step up (the root's parent is the root).
    pub fn parent(&self) -> Self {
        let mut segments = self.0.clone();
        segments.pop();
        Self(segments)
    }

    /// Whether `self` is `other` or lies on the same branch as it (one is a prefix of the
    /// other).
    pub fn overlaps(&self, other: &FieldPath) -> bool {
        let n = self.0.len().min(other.0.len());
        self.0[..n] == other.0[..n]
    }
}

/// Parses the displayed form back, for tests and tools: `a.b[2].c`.
impl std::str::FromStr for FieldPath {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut path = FieldPath::root();
        for part in s.split('.').filter(|p| !p.is_empty()) {
            let (key, indexes) = part.split_once('[').unwrap_or((part, ""));
            if !key.is_empty() {
                path = path.key(key);
            }
            for index in indexes.split('[') {
                if let Ok(i) = index.trim_end_matches(']').parse() {
                    path = path.index(i);
                }
            }
        }
        Ok(path)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(k) if i == 0 => f.write_str(k)?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_and_parses() {
        let p = FieldPath::root()
            .key("ami_config")
            .key("instance_family_preference")
            .index(2);
        assert_eq!(p.to_string(), "ami_config.instance_family_preference[2]");
        assert_eq!(p.to_string().parse::<FieldPath>().unwrap(), p);
        assert_eq!(FieldPath::root().to_string(), "");
        assert!(p.overlaps(&p.parent()) && p.parent().overlaps(&p));
        assert!(!p.overlaps(&FieldPath::root().key("name")));
    }
}
