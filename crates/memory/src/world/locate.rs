//! Where in the text a world's error is: amiref-yaml's location of a shape error (at the
//! offending value, or key for an unknown field), and the line of an error of meaning.

use crate::WorldError;

/// A text that is not YAML of the world's shape, located by amiref-yaml.
pub(crate) fn syntax_error(error: amiref_yaml::YamlError) -> WorldError {
    let (line, column) = error.location().map_or((0, 0), |l| (l.line, l.column));
    let path = error.path();
    let what = format!("found {}, expected {}", error.found(), error.expected());
    let message = if path.is_root() {
        what
    } else {
        format!("{path}: {what}")
    };
    WorldError::Syntax {
        origin: error.origin(),
        line,
        column,
        message,
        source: Box::new(error),
    }
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
