//! What a request may name, checked before any session is opened: template names,
//! instance names, regions, query parameters and JSON bodies. Each refusal says what was
//! expected.

use std::path::PathBuf;

use amiref_core::Region;
use amiref_session::{Session, SessionError};
use amiref_template::Template;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query};
use serde::de::DeserializeOwned;

use crate::reply::Reply;

/// The longest template name taken (a file name in a template directory).
const TEMPLATE_NAME_MAX: usize = 128;

/// The longest instance name: EC2's limit on a tag value (the `Name` tag).
const INSTANCE_NAME_MAX: usize = 256;

/// A template name as the URL gives it: a file name in a template directory, never a
/// path (`GET /v1/templates/..%2Fsecret` reads nothing outside them).
pub(crate) fn template_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if first_ok && name.len() <= TEMPLATE_NAME_MAX && name.chars().all(allowed) {
        Ok(())
    } else {
        Err(format!(
            "invalid template name {:?}: expected a name of up to {TEMPLATE_NAME_MAX} letters, digits, `-`, `_` and `.`, starting with a letter or digit (GET /v1/templates lists them)",
            shorten(name)
        ))
    }
}

/// The template `name` names: `<name>.yml` or `<name>.yaml` in the first of the session's
/// template directories that has one (never a path: the library's `template` would also
/// take one). Errors are boxed here and below: a `SessionError` is large to move around.
pub(crate) fn find_template(session: &Session, name: &str) -> Result<Template, Box<SessionError>> {
    let dirs = session.templates().dirs();
    let file = dirs
        .iter()
        .flat_map(|dir| ["yml", "yaml"].map(|ext| dir.join(format!("{name}.{ext}"))))
        .find(|file| file.is_file());
    match file {
        Some(file) => Template::load_file(file).map_err(|e| Box::new(SessionError::from(e))),
        None => Err(Box::new(SessionError::TemplateNotFound {
            name: name.to_owned(),
            searched: dirs.iter().map(PathBuf::clone).collect(),
        })),
    }
}

/// An instance name (its `Name` tag): one line, not blank, at most 256 characters.
pub(crate) fn instance_name(name: &str) -> Result<(), String> {
    let problem = if name.trim().is_empty() {
        Some("is empty")
    } else if name.trim() != name {
        Some("has leading or trailing spaces")
    } else if name.chars().any(char::is_control) {
        Some("has control characters")
    } else if name.chars().count() > INSTANCE_NAME_MAX {
        Some("is too long")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(format!(
            "invalid instance name {:?}: it {problem}; expected one line of 1 to {INSTANCE_NAME_MAX} characters without leading or trailing spaces",
            shorten(name)
        )),
    }
}

/// The region `name` names, if any, checked against the region catalog (with a "did you
/// mean"); `what` says where it came from (`query parameter \`region\``).
pub(crate) fn region(name: Option<&str>, what: &str) -> Result<Option<Region>, Box<SessionError>> {
    name.map(|name| amiref_session::check_region(name, what).map_err(Box::new))
        .transpose()
}

/// A JSON request body as `T`, or what was expected: `shape` shows the body taken.
pub(crate) fn json_body<T: DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(format!(
            "the request has no body: expected a JSON object {shape}"
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "a body of the wrong shape",
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "a body that is not JSON"
            }
            serde_json::error::Category::Io => "a body that could not be read",
        };
        format!("{what}: {e}; expected a JSON object {shape}")
    })
}

/// At most 80 characters of what a request sent, for echoing it in an error.
fn shorten(text: &str) -> String {
    const SHOWN: usize = 80;
    if text.chars().count() <= SHOWN {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(SHOWN).collect();
        short.push('…');
        short
    }
}

/// The template name of the path and the `?region=R` query, checked (400 otherwise).
pub(crate) fn name_and_region(
    kind: &str,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<crate::routes::RegionQuery>, QueryRejection>,
) -> Result<(String, Option<amiref_core::Region>), Reply> {
    let (name, query) = name_and_query(kind, name, query, "region")?;
    Ok((name, region_of(kind, &query)?))
}

/// The region a `?region=R` query names, if any, checked (400 with a did-you-mean).
pub(crate) fn region_of(
    kind: &str,
    query: &crate::routes::RegionQuery,
) -> Result<Option<amiref_core::Region>, Reply> {
    region(query.region.as_deref(), "query parameter `region`")
        .map_err(|e| Reply::session_error(kind, &e))
}

/// The template name of the path and the query, checked; `takes` names the query
/// parameters the endpoint takes.
pub(crate) fn name_and_query<T>(
    kind: &str,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<T>, QueryRejection>,
    takes: &str,
) -> Result<(String, T), Reply> {
    let Path(name) = name.map_err(|e| Reply::bad_request(kind, e.body_text()))?;
    template_name(&name).map_err(|message| Reply::bad_request(kind, message))?;
    Ok((name, query_or_400(kind, query, takes)?))
}

/// The query, or 400 with the parameters the endpoint takes.
pub(crate) fn query_or_400<T>(
    kind: &str,
    query: Result<Query<T>, QueryRejection>,
    takes: &str,
) -> Result<T, Reply> {
    query.map(|Query(q)| q).map_err(|e| {
        Reply::bad_request(
            kind,
            format!("{}; query parameters taken: {takes}", e.body_text()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_names_are_file_names_never_paths() {
        assert!(template_name("python-ml").is_ok());
        assert!(template_name("r_research.v2").is_ok());
        for bad in [
            "",
            "../etc/passwd",
            "/etc/passwd",
            ".hidden",
            "a/b",
            "a b",
            "é",
        ] {
            assert!(template_name(bad).is_err(), "{bad:?}");
        }
        assert!(template_name(&"a".repeat(129)).is_err());
    }

    #[test]
    fn instance_names_are_one_line_of_at_most_256_characters() {
        assert!(instance_name("my-research").is_ok());
        assert!(instance_name(&"é".repeat(256)).is_ok());
        for bad in ["", "  ", " x", "x\n", "a\u{7}b"] {
            assert!(instance_name(bad).is_err(), "{bad:?}");
        }
        let long = instance_name(&"x".repeat(257)).unwrap_err();
        assert!(long.contains("too long") && long.contains('…'), "{long}");
    }

    #[test]
    fn a_body_error_says_what_was_expected() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Body {
            name: String,
        }
        let shape = r#"{"name": "..."}"#;
        let e = json_body::<Body>(b"", shape).unwrap_err();
        assert!(e.contains("no body"), "{e}");
        let e = json_body::<Body>(b"{", shape).unwrap_err();
        assert!(e.starts_with("a body that is not JSON"), "{e}");
        let e = json_body::<Body>(b"{}", shape).unwrap_err();
        assert!(
            e.contains("missing field `name`") && e.ends_with(shape),
            "{e}"
        );
    }
}
