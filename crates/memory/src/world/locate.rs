//! Where in the text a world's error is: the parser's location of a shape error, refined to
//! the offending value, and the line of an error of meaning.

use crate::WorldError;

pub(crate) fn syntax_error(error: &serde_yaml::Error, text: &str, origin: &str) -> WorldError {
    let (line, column) = error.location().map_or((0, 0), |l| (l.line(), l.column()));
    let message = error.to_string();
    // serde_yaml appends " at line L column C"; the location is given separately.
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    };
    let (line, column, message) = refine_value_error(text, line, column, message);
    WorldError::Syntax {
        origin: origin.to_owned(),
        line,
        column,
        message,
    }
}

/// serde_yaml places an error raised by a value's own validation (an invalid id, a bad
/// duration) at the start of the enclosing mapping, with that mapping's path. When the
/// message quotes the offending value, find it at or after that line and point at it,
/// adding its key to the path: `images[0].id` at the id's line rather than `images[0]`.
fn refine_value_error(
    text: &str,
    line: usize,
    column: usize,
    message: String,
) -> (usize, usize, String) {
    let quoted = message
        .split_once(" \"")
        .and_then(|(_, rest)| rest.split_once("\":"))
        .map(|(value, _)| value.replace("\\\"", "\""));
    let Some(value) = quoted.filter(|v| !v.is_empty()) else {
        return (line, column, message);
    };
    let found = text
        .lines()
        .enumerate()
        .skip(line.saturating_sub(1))
        .find_map(|(i, l)| l.find(value.as_str()).map(|c| (i + 1, c + 1, l)));
    let Some((value_line, value_column, source_line)) = found else {
        return (line, column, message);
    };
    let key = source_line
        .trim_start()
        .trim_start_matches("- ")
        .split_once(':')
        .map(|(k, _)| k.trim().to_owned())
        .filter(|k| !k.is_empty() && !k.contains(' ') && !k.contains(value.as_str()));
    let message = match (key, message.split_once(": ")) {
        (Some(key), Some((path, rest))) if !path.contains(' ') && !path.ends_with(&key) => {
            format!("{path}.{key}: {rest}")
        }
        _ => message,
    };
    (value_line, value_column, message)
}

/// Gives an error of meaning the origin and the line its value is written on (the last
/// occurrence for duplicates, which is the one at fault).
pub(crate) fn locate(error: WorldError, text: &str, origin: &str) -> WorldError {
    match error {
        WorldError::Invalid {
            field,
            found,
            expected,
            line,
            ..
        } => {
            // Search from the top-level section the field belongs to (`parameters:` for
            // `parameters.us-east-1...`), so that a value written in several sections (an
            // image id, say) is found where the faulty one is.
            let section = field
                .split(['.', '['])
                .next()
                .map(|key| format!("{key}:"))
                .and_then(|key| text.lines().position(|l| l.starts_with(key.as_str())))
                .unwrap_or(0);
            let duplicate = expected.contains("once") || expected.contains("unique");
            let find_from = |start: usize| {
                let mut lines = text
                    .lines()
                    .enumerate()
                    .skip(start)
                    .filter(|(_, l)| !found.is_empty() && l.contains(found.as_str()))
                    .map(|(i, _)| i + 1);
                if duplicate {
                    lines.last()
                } else {
                    lines.next()
                }
            };
            let found_line = find_from(section).or_else(|| find_from(0));
            WorldError::Invalid {
                origin: origin.to_owned(),
                line: found_line.or(line),
                field,
                found,
                expected,
            }
        }
        other => other,
    }
}
