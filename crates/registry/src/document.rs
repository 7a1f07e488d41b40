//! Reading a registry file: typing it, then checking that each entry adds up.
//!
//! A file that does not type (a wrong field, a bad AMI id) is refused whole, with every
//! problem located. An entry that types but does not add up (a version that is not semver,
//! two spellings of one version, a rating out of range, one AMI id in two regions) is
//! refused alone, so that one bad entry from a stranger cannot hide the good ones; its
//! problems are kept for `registry verify` and the load report.

use std::collections::BTreeMap;

use crate::error::{LoadError, Problem, SignError};
use crate::model::{Entry, RegistryDocument, SCHEMA_VERSION, Verification, round_speedup};
use crate::trust::PublisherKey;
use crate::yaml::{LocatedDocument, Segment, format_path, to_yaml_string};

const WHAT: &str = "registry";

/// A registry file, typed, with the problems of each entry that does not add up.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ParsedRegistry {
    /// Where it came from.
    pub origin: String,
    /// The document as written.
    pub document: RegistryDocument,
    /// Per (template, version as written): why that entry is refused. Entries not listed
    /// add up.
    pub entry_problems: BTreeMap<(String, String), Vec<Problem>>,
}

impl ParsedRegistry {
    /// Reads registry text; `origin` names it in problems.
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Self, LoadError> {
        let located = LocatedDocument::parse(text, origin, WHAT)?;
        let document: RegistryDocument = located.deserialize(WHAT)?;
        if document.schema_version != SCHEMA_VERSION {
            return Err(LoadError::Invalid {
                origin: origin.to_owned(),
                what: WHAT,
                problems: vec![located.problem(
                    "schema_version",
                    document.schema_version.to_string(),
                    format!("{SCHEMA_VERSION}, the registry format this version of amiref reads"),
                )],
            });
        }
        let entry_problems = check_entries(&document, &|path, found, expected| {
            located.problem(path, found, expected)
        });
        Ok(Self {
            origin: origin.to_owned(),
            document,
            entry_problems,
        })
    }

    /// A document built in memory (benchmarks, `ami share`), checked the same way; problems
    /// carry paths but no lines.
    pub fn from_document(document: RegistryDocument, origin: &str) -> Self {
        let entry_problems = check_entries(&document, &|path, found, expected| {
            Problem::new(origin, path, found, expected)
        });
        Self {
            origin: origin.to_owned(),
            document,
            entry_problems,
        }
    }

    /// Signs every entry with `key`, and lists the key among the document's publishers.
    pub fn sign_all(&mut self, key: &PublisherKey) -> Result<(), SignError> {
        for (template, versions) in &mut self.document.community_amis {
            for (version, entry) in versions.iter_mut() {
                key.sign_entry(template, version, entry)?;
            }
        }
        self.announce(key);
        Ok(())
    }

    /// Signs the entry `template` `version` with `key`.
    pub fn sign(
        &mut self,
        template: &str,
        version: &str,
        key: &PublisherKey,
    ) -> Result<(), SignError> {
        let entry = self
            .document
            .community_amis
            .get_mut(template)
            .and_then(|v| v.get_mut(version))
            .ok_or_else(|| SignError::NoSuchEntry {
                template: template.to_owned(),
                version: version.to_owned(),
            })?;
        key.sign_entry(template, version, entry)?;
        self.announce(key);
        Ok(())
    }

    /// Adds or replaces `template` `version`, signed with `key`, and re-checks the document.
    pub fn insert_signed(
        &mut self,
        template: &str,
        version: &str,
        mut entry: Entry,
        key: &PublisherKey,
    ) -> Result<(), SignError> {
        key.sign_entry(template, version, &mut entry)?;
        self.document
            .community_amis
            .entry(template.to_owned())
            .or_default()
            .insert(version.to_owned(), entry);
        self.announce(key);
        let origin = self.origin.clone();
        self.entry_problems = check_entries(&self.document, &|path, found, expected| {
            Problem::new(&origin, path, found, expected)
        });
        Ok(())
    }

    fn announce(&mut self, key: &PublisherKey) {
        let info = key.info();
        if !self
            .document
            .publishers
            .iter()
            .any(|p| p.key_id == info.key_id)
        {
            self.document.publishers.push(info);
        }
    }

    /// The document as YAML.
    pub fn to_yaml_string(&self) -> Result<String, LoadError> {
        to_yaml_string(&self.document).map_err(|message| LoadError::Invalid {
            origin: self.origin.clone(),
            what: WHAT,
            problems: vec![Problem::new(
                &self.origin,
                "",
                message,
                "a document that can be written",
            )],
        })
    }

    /// Writes the document to `path`, atomically.
    pub fn save_file(&self, path: &std::path::Path) -> Result<(), LoadError> {
        crate::source::write_atomically(path, self.to_yaml_string()?.as_bytes())
    }

    /// Reads a registry file.
    pub fn load_file(path: &std::path::Path) -> Result<Self, LoadError> {
        let text = crate::yaml::read_text(path, WHAT)?;
        Self::from_yaml_str(&text, &path.display().to_string())
    }

    /// Every problem, entry by entry.
    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.entry_problems.values().flatten()
    }
}

/// Parses a version as the registry writes it: semver, with an optional leading `v`.
pub fn parse_version(text: &str) -> Result<semver::Version, semver::Error> {
    semver::Version::parse(text.strip_prefix('v').unwrap_or(text))
}

/// The path of an entry's field.
pub(crate) fn entry_path(template: &str, version: &str, field: &[&str]) -> String {
    let mut segments = vec![
        Segment::Key("community_amis".into()),
        Segment::Key(template.into()),
        Segment::Key(version.into()),
    ];
    segments.extend(field.iter().map(|f| Segment::Key((*f).into())));
    format_path(&segments)
}

fn valid_template_name(name: &str) -> bool {
    name.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.len() <= 128
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.'
        })
}

type MakeProblem<'a> = dyn Fn(&str, String, String) -> Problem + 'a;

fn check_entries(
    document: &RegistryDocument,
    problem: &MakeProblem<'_>,
) -> BTreeMap<(String, String), Vec<Problem>> {
    let mut out: BTreeMap<(String, String), Vec<Problem>> = BTreeMap::new();
    for (template, versions) in &document.community_amis {
        let mut seen: BTreeMap<semver::Version, &str> = BTreeMap::new();
        for (version, entry) in versions {
            let key = (template.clone(), version.clone());
            let mut add = |p: Problem| out.entry(key.clone()).or_default().push(p);
            if !valid_template_name(template) {
                add(problem(
                    &format_path(&[
                        Segment::Key("community_amis".into()),
                        Segment::Key(template.clone()),
                    ]),
                    format!("template name {template:?}"),
                    "a template name of lowercase letters, digits, '-', '_' and '.'".into(),
                ));
            }
            match parse_version(version) {
                Ok(parsed) => {
                    if let Some(first) = seen.insert(parsed, version) {
                        let p = problem(
                            &entry_path(template, version, &[]),
                            format!("version {version:?}, the same version as {first:?}"),
                            "each version of a template once".into(),
                        );
                        add(p.clone());
                        out.entry((template.clone(), first.to_owned()))
                            .or_default()
                            .push(p);
                    }
                }
                Err(e) => add(problem(
                    &entry_path(template, version, &[]),
                    format!("version {version:?} ({e})"),
                    "a semantic version such as \"2.1.0\" or \"v2.1.0\"".into(),
                )),
            }
            for p in check_entry(template, version, entry, problem) {
                out.entry(key.clone()).or_default().push(p);
            }
        }
    }
    out
}

fn check_entry(
    template: &str,
    version: &str,
    entry: &Entry,
    problem: &MakeProblem<'_>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if entry.creator.trim().is_empty() {
        problems.push(problem(
            &entry_path(template, version, &["creator"]),
            "an empty creator".into(),
            "who built the image".into(),
        ));
    }
    if entry.regions.is_empty() {
        problems.push(problem(
            &entry_path(template, version, &["regions"]),
            "no regions".into(),
            "at least one `region: ami-id`".into(),
        ));
    }
    let mut regions_of_image: BTreeMap<&str, &str> = BTreeMap::new();
    for (region, ami) in &entry.regions {
        if let Some(first) = regions_of_image.insert(ami.as_str(), region.as_str()) {
            problems.push(problem(
                &entry_path(template, version, &["regions", region.as_str()]),
                format!("{ami} in {region}, already listed in {first}"),
                "a different image id in each region (an AMI id belongs to one region)".into(),
            ));
        }
    }
    if let Some(ratings) = &entry.ratings {
        if !(ratings.average.is_finite() && (0.0..=5.0).contains(&ratings.average)) {
            problems.push(problem(
                &entry_path(template, version, &["ratings", "average"]),
                ratings.average.to_string(),
                "an average from 0 to 5 stars".into(),
            ));
        } else if ratings.reviews == 0 && ratings.average != 0.0 {
            problems.push(problem(
                &entry_path(template, version, &["ratings", "reviews"]),
                format!("0 reviews with an average of {}", ratings.average),
                "at least one review behind a non-zero average".into(),
            ));
        } else if ratings.reviews > 0 && ratings.average < 1.0 {
            problems.push(problem(
                &entry_path(template, version, &["ratings", "average"]),
                format!("{} from {} reviews", ratings.average, ratings.reviews),
                "an average of 1 to 5 stars, since every review gives at least 1".into(),
            ));
        }
    }
    if let Some(verification) = &entry.verification {
        problems.extend(check_measured(template, version, verification, problem));
    }
    if let Some(sharing) = &entry.sharing
        && sharing.accounts.is_empty()
        && sharing.organizations.is_empty()
        && sharing.organizational_units.is_empty()
    {
        problems.push(problem(
                &entry_path(template, version, &["sharing"]),
                "an empty sharing policy".into(),
                "at least one account, organization or organizational unit (leave `sharing` out to share with everyone)".into(),
            ));
    }
    problems
}

/// The measured figures add up: positive finite times, and a speedup only with both times,
/// equal to their ratio (to the two decimals entries write).
fn check_measured(
    template: &str,
    version: &str,
    verification: &Verification,
    problem: &MakeProblem<'_>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let path = |field: &str| entry_path(template, version, &["verification", field]);
    let times = [
        ("script_ready_secs", verification.script_ready_secs),
        ("image_ready_secs", verification.image_ready_secs),
    ];
    for (field, seconds) in times {
        if let Some(s) = seconds
            && !(s.is_finite() && s > 0.0)
        {
            problems.push(problem(
                &path(field),
                s.to_string(),
                "a measured time: a positive number of seconds".into(),
            ));
        }
    }
    let Some(speedup) = verification.speedup else {
        return problems;
    };
    match (verification.script_ready_secs, verification.image_ready_secs) {
        (Some(script), Some(image)) if problems.is_empty() => {
            let ratio = round_speedup(script / image);
            if (speedup - ratio).abs() > 0.011 {
                problems.push(problem(
                    &path("speedup"),
                    format!("{speedup} with times of {script} s and {image} s"),
                    format!("their ratio, script_ready_secs / image_ready_secs = {ratio}"),
                ));
            }
        }
        (Some(_), Some(_)) => {}
        _ => problems.push(problem(
            &path("speedup"),
            format!("a speedup of {speedup} without both times"),
            "a speedup only beside the measured script_ready_secs and image_ready_secs it is the ratio of".into(),
        )),
    }
    problems
}
