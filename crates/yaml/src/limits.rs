//! Resource limits of a parse.

/// How much a parse may take in before it refuses the text.
///
/// Every limit is checked while the text is read, so a text over a limit is refused at
/// the point where it goes over, after work proportional to what was read up to there,
/// never to the whole text. The defaults are far above what any amiref file needs and low
/// enough that no file can make a parse slow or large.
///
/// ```
/// use amiref_yaml::{Document, Limits};
///
/// let limits = Limits { max_depth: 2, ..Limits::default() };
/// let err = Document::parse_with("a: {b: {c: 1}}\n", "deep.yml", &limits).unwrap_err();
/// assert_eq!(err.to_string(), "deep.yml:1:8: found mappings or lists nested more than 2 deep, expected at most 2 levels of nesting");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest text, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of mappings and lists (the top-level mapping is depth 1).
    pub max_depth: usize,
    /// Most nodes (scalars, mappings, lists), counting again those an alias repeats: this
    /// is what stops a "billion laughs" text.
    pub max_nodes: usize,
    /// Most aliases (`*name`); `0` refuses aliases altogether.
    pub max_aliases: usize,
    /// Longest scalar (a key or a value), in bytes.
    pub max_scalar_bytes: usize,
}

impl Limits {
    /// The defaults: 16 MiB of text, 64 levels, a million nodes, 1,000 aliases, 1 MiB
    /// scalars.
    pub const DEFAULT: Limits = Limits {
        max_bytes: 16 << 20,
        max_depth: 64,
        max_nodes: 1_000_000,
        max_aliases: 1_000,
        max_scalar_bytes: 1 << 20,
    };

    /// The defaults, with aliases refused: for files whose entries are signed or compared
    /// one by one, where an alias would make two entries share what looks like their own
    /// text.
    #[must_use]
    pub const fn without_aliases(self) -> Limits {
        Limits {
            max_aliases: 0,
            ..self
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
