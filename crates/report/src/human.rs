//! The human form of a report: lines for stdout, and diagnostics for stderr.

use crate::sanitize::sanitize;

/// Which stream a human line goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The report itself.
    Out,
    /// Diagnostics about it (a template's problems, warnings that are not the result).
    Err,
}

/// The lines a report renders to. Every line is [`sanitize`]d as it is added: a renderer
/// may put names and reasons from input into its lines and no control character of theirs
/// reaches the terminal; it cannot forget to.
///
/// ```
/// use amiref_report::{Human, Stream};
/// let mut out = Human::new();
/// out.line(format!("✅ Found {}", "evil\u{1b}[2J"));
/// out.blank();
/// out.err("1 problem");
/// assert_eq!(out.lines(Stream::Out).collect::<Vec<_>>(), ["✅ Found evil\\x1b[2J", ""]);
/// ```
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Human {
    lines: Vec<(Stream, String)>,
}

impl Human {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A line of the report (stdout). A `\n` in it is escaped, not a line break: a line is
    /// one line; use [`Human::text`] for text of several lines.
    pub fn line(&mut self, line: impl AsRef<str>) -> &mut Self {
        self.push(Stream::Out, line.as_ref());
        self
    }

    /// An empty line (stdout).
    pub fn blank(&mut self) -> &mut Self {
        self.push(Stream::Out, "");
        self
    }

    /// Each line of `text` (stdout), e.g. an error message with a `help:` line.
    pub fn text(&mut self, text: impl AsRef<str>) -> &mut Self {
        for line in text.as_ref().split('\n') {
            self.push(Stream::Out, line.strip_suffix('\r').unwrap_or(line));
        }
        self
    }

    /// Lines (stdout).
    pub fn extend<I: IntoIterator<Item = S>, S: AsRef<str>>(&mut self, lines: I) -> &mut Self {
        for line in lines {
            self.push(Stream::Out, line.as_ref());
        }
        self
    }

    /// A diagnostic (stderr); several lines if `text` has several.
    pub fn err(&mut self, text: impl AsRef<str>) -> &mut Self {
        for line in text.as_ref().split('\n') {
            self.push(Stream::Err, line.strip_suffix('\r').unwrap_or(line));
        }
        self
    }

    fn push(&mut self, stream: Stream, line: &str) {
        self.lines.push((stream, sanitize(line).into_owned()));
    }

    /// The lines of one stream, in order.
    pub fn lines(&self, stream: Stream) -> impl Iterator<Item = &str> {
        self.lines
            .iter()
            .filter(move |(s, _)| *s == stream)
            .map(|(_, l)| l.as_str())
    }

    /// Every line with its stream, in the order added.
    pub fn all(&self) -> &[(Stream, String)] {
        &self.lines
    }

    /// The stdout lines joined, each ending in a newline (for tests and previews).
    pub fn stdout_text(&self) -> String {
        self.lines(Stream::Out).flat_map(|l| [l, "\n"]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_splits_lines_and_line_does_not() {
        let mut h = Human::new();
        h.text("a\nb\r\n").line("c\nd").err("e\nf");
        assert_eq!(
            h.lines(Stream::Out).collect::<Vec<_>>(),
            ["a", "b", "", "c\\nd"]
        );
        assert_eq!(h.lines(Stream::Err).collect::<Vec<_>>(), ["e", "f"]);
        assert_eq!(h.stdout_text(), "a\nb\n\nc\\nd\n");
    }
}
