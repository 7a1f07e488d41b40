//! Text from input made safe for a terminal.
//!
//! Names, descriptions, reasons and error messages come from templates, registry files and
//! the cloud; any of them may hold terminal control sequences (`ESC [ 2 J` clears the
//! screen, `ESC ] 8` makes a link, a C1 `CSI` does the same in one byte) or bidirectional
//! overrides that make text read differently from what it is. Human output shows such
//! characters as visible escapes instead of sending them to the terminal: a person sees that
//! something odd is there, and nothing is hidden or drawn over.
//!
//! JSON output needs none of this: the JSON encoder escapes control characters itself, and
//! the values stay faithful.

use std::borrow::Cow;
use std::fmt;

/// Whether `c` must not reach a terminal as it is: C0 controls (tab and newline included:
/// one value is one line), DEL, C1 controls, and the bidirectional formatting characters
/// (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every unsafe character (see [`is_unsafe`]) written as a visible escape:
/// `\n`, `\t`, `\r`, `\x1b`, `\u{202e}`. Printable Unicode, emoji included, is kept as it
/// is. Borrows when there is nothing to escape.
///
/// ```
/// use amiref_report::sanitize;
/// assert_eq!(sanitize("ami-1 \u{1b}[2Jgone"), "ami-1 \\x1b[2Jgone");
/// assert_eq!(sanitize("café ✅"), "café ✅");
/// ```
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Like [`sanitize`], for text of several lines: keeps `\n` (dropping a `\r` before it) and
/// escapes everything else unsafe.
pub fn sanitize_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(text);
    }
    let lines: Vec<Cow<'_, str>> = text
        .split('\n')
        .map(|line| sanitize(line.strip_suffix('\r').unwrap_or(line)))
        .collect();
    Cow::Owned(lines.join("\n"))
}

fn push_escaped(out: &mut String, c: char) {
    use fmt::Write as _;
    if !is_unsafe(c) {
        out.push(c);
        return;
    }
    // Writing to a String cannot fail.
    let _ = match c {
        '\n' => out.write_str("\\n"),
        '\t' => out.write_str("\\t"),
        '\r' => out.write_str("\\r"),
        c if u32::from(c) <= 0xff => write!(out, "\\x{:02x}", u32::from(c)),
        c => write!(out, "\\u{{{:04x}}}", u32::from(c)),
    };
}

/// A value that formats as its [`sanitize`]d text: `format!("{}", Clean(&name))`.
#[derive(Debug, Clone, Copy)]
pub struct Clean<'a>(pub &'a str);

impl fmt::Display for Clean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&sanitize(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_sequences_are_shown_not_obeyed() {
        assert_eq!(sanitize("\u{1b}[31mred\u{1b}[0m"), "\\x1b[31mred\\x1b[0m");
        assert_eq!(
            sanitize("\u{1b}]8;;https://evil\u{7}link"),
            "\\x1b]8;;https://evil\\x07link"
        );
        // C1 CSI, one byte.
        assert_eq!(sanitize("a\u{9b}2Jb"), "a\\x9b2Jb");
    }

    #[test]
    fn line_breaks_and_bidi_overrides_are_escaped() {
        assert_eq!(sanitize("a\nb\tc\r"), "a\\nb\\tc\\r");
        assert_eq!(sanitize("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(sanitize("x\u{2066}y"), "x\\u{2066}y");
        assert_eq!(sanitize("\u{7f}"), "\\x7f");
    }

    #[test]
    fn printable_text_is_kept_and_borrowed() {
        for text in [
            "",
            "ami-0123 (cws-python-ml)",
            "⚠️  naïve 日本語 ✅ ⏭️",
            "a\u{200d}b",
        ] {
            assert!(
                matches!(sanitize(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }

    #[test]
    fn several_lines_keep_their_breaks_only() {
        assert_eq!(sanitize_lines("one\r\ntwo\u{1b}c"), "one\ntwo\\x1bc");
        assert!(matches!(sanitize_lines("a\nb"), Cow::Borrowed("a\nb")));
    }

    #[test]
    fn clean_formats_sanitized() {
        assert_eq!(format!("[{}]", Clean("a\u{1b}b")), "[a\\x1bb]");
    }
}
