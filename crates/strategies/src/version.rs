//! Versions of images, read from their `Version` tag or their name.

use std::cmp::Ordering;

use amiref_core::Image;
use semver::Version;

/// Reads a version the way people write them: `2.1.0`, `v2.1.0`, `2.1` (as `2.1.0`), `2`.
pub fn parse_lenient(text: &str) -> Option<Version> {
    let t = text.trim();
    let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
    if let Ok(v) = Version::parse(t) {
        return Some(v);
    }
    let parts: Vec<&str> = t.split('.').collect();
    if parts.is_empty()
        || parts.len() > 2
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let padded = if parts.len() == 1 {
        format!("{t}.0.0")
    } else {
        format!("{t}.0")
    };
    Version::parse(&padded).ok()
}

/// The image's version: its `Version` (or `version`) tag, else the last part of its name
/// (split on `-` and spaces) that reads as a version with at least one dot, so that the
/// `64` of `x86_64` or a bare build number is not taken for a version.
pub fn image_version(image: &Image) -> Option<Version> {
    if let Some(tag) = image.tag("Version").or_else(|| image.tag("version")) {
        return parse_lenient(tag);
    }
    image
        .name
        .split(['-', ' '])
        .rev()
        .filter(|part| part.contains('.'))
        .find_map(parse_lenient)
}

/// Whether the image carries exactly `wanted` as its version: its `Version` tag equal to it
/// (a leading `v` ignored on both sides), or, without a tag, its name containing it.
pub fn matches_version_tag(image: &Image, wanted: &str) -> bool {
    let norm = |s: &str| s.trim().trim_start_matches(['v', 'V']).to_owned();
    match image.tag("Version").or_else(|| image.tag("version")) {
        Some(tag) => norm(tag) == norm(wanted),
        None => image.name.contains(wanted) || image.name.contains(&norm(wanted)),
    }
}

/// The order of candidates, best first: higher version (an image without one last), then
/// newer creation date, then the name (descending, so `-b` beats `-a` of the same day).
pub fn best_first(a: &(Option<Version>, &Image), b: &(Option<Version>, &Image)) -> Ordering {
    b.0.cmp(&a.0)
        .then_with(|| b.1.creation_date.cmp(&a.1.creation_date))
        .then_with(|| b.1.name.cmp(&a.1.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use amiref_core::Architecture;

    fn image(name: &str, tag: Option<&str>) -> Image {
        let mut i = Image::new(
            "ami-12345678".parse().unwrap(),
            "us-east-1".parse().unwrap(),
            name,
            "123456789012".parse().unwrap(),
            Architecture::X86_64,
            chrono::DateTime::UNIX_EPOCH,
        );
        if let Some(t) = tag {
            i.tags.insert("Version".into(), t.into());
        }
        i
    }

    #[test]
    fn versions_from_tags_and_names() {
        assert_eq!(parse_lenient("v2.1"), Some(Version::new(2, 1, 0)));
        assert_eq!(parse_lenient("3"), Some(Version::new(3, 0, 0)));
        assert_eq!(parse_lenient("x86"), None);
        assert_eq!(
            image_version(&image("cws-python-ml-2.1.0-x86_64", None)),
            Some(Version::new(2, 1, 0))
        );
        assert_eq!(
            image_version(&image("anything", Some("v1.4.2"))),
            Some(Version::new(1, 4, 2))
        );
        assert!(matches_version_tag(&image("a", Some("2.1.0")), "v2.1.0"));
        assert!(matches_version_tag(&image("ml-v2.1.0", None), "v2.1.0"));
        assert!(!matches_version_tag(&image("ml-v2.0.0", None), "v2.1.0"));
    }
}
