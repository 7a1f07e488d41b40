//! Where something is in a text: line, column and byte offset.

use std::fmt;

/// A position in a YAML text.
///
/// `line` and `column` are 1-based and count characters (what an editor shows);
/// `offset` counts bytes from the start of the text (what a program slices with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// 0-based byte offset.
    pub offset: usize,
}

impl Location {
    /// The start of a text: line 1, column 1.
    pub const START: Location = Location {
        line: 1,
        column: 1,
        offset: 0,
    };

    /// The line and column of byte `offset` in `text` (clamped to the text's end, and moved
    /// back to the start of a character it falls inside). Linear in `offset`.
    ///
    /// ```
    /// use amiref_yaml::Location;
    ///
    /// let at = Location::of_offset("a: 1\nbé: 2\n", 9);
    /// assert_eq!((at.line, at.column), (2, 4));
    /// ```
    pub fn of_offset(text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        Self::of_valid_prefix(&text.as_bytes()[..offset])
    }

    /// The location just after `prefix`, which must be valid UTF-8 up to its end (as the
    /// prefix of a text before its first bad byte is).
    pub(crate) fn of_valid_prefix(prefix: &[u8]) -> Location {
        let line_start = prefix
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let line = 1 + prefix.iter().filter(|b| **b == b'\n').count();
        // Characters are counted by their first bytes (anything but 0b10xx_xxxx).
        let column = 1 + prefix[line_start..]
            .iter()
            .filter(|b| (**b & 0xC0) != 0x80)
            .count();
        Location {
            line,
            column,
            offset: prefix.len(),
        }
    }
}

impl fmt::Display for Location {
    /// `line:column`, the form that follows a file name in messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}
