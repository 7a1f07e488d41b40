//! Whatever text comes in, human output carries no character a terminal would obey, and
//! printable text is left as it is.

use amiref_report::{Human, is_unsafe, sanitize};
use proptest::prelude::*;

proptest! {
    #[test]
    fn no_unsafe_character_survives(text in any::<String>()) {
        let clean = sanitize(&text);
        prop_assert!(!clean.chars().any(is_unsafe), "{clean:?}");
        let mut human = Human::new();
        human.text(&text).err(&text);
        for (_, line) in human.all() {
            prop_assert!(!line.chars().any(is_unsafe), "{line:?}");
        }
    }

    #[test]
    fn safe_text_is_unchanged(text in "[^\\p{Cc}\u{061C}\u{200E}\u{200F}\u{202A}-\u{202E}\u{2066}-\u{2069}]*") {
        prop_assert_eq!(sanitize(&text), text.as_str());
    }

    #[test]
    fn escaping_is_unambiguous_for_control_characters(c in proptest::char::range('\0', '\u{9f}')) {
        prop_assume!(is_unsafe(c));
        let shown = sanitize(&c.to_string()).into_owned();
        prop_assert!(shown.starts_with('\\'), "{shown}");
        prop_assert!(shown.len() > 1);
    }
}
