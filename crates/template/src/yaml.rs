//! The template's use of amiref-yaml: problems of the YAML itself as template
//! [`Problem`]s, and locations as template [`Location`]s.
//!
//! The text is parsed once ([`amiref_yaml::Document::parse_all`]); every problem found
//! afterwards is located in that same parse, in time linear in its path's length.

use amiref_yaml::{Document, Limits, Step, YamlError};

pub(crate) use amiref_yaml::Target;

use crate::{FieldPath, Location, Problem, ProblemKind, Segment};

/// A template's text, parsed.
pub(crate) struct Parsed {
    /// The document, as far as it could be read.
    pub(crate) document: Document,
    /// Problems of the YAML that still left a document to check (a duplicate key, a
    /// tag...).
    pub(crate) problems: Vec<Problem>,
    /// Where the document holds a stand-in `null` for a value the YAML problems refused
    /// (a number too large, an alias): checks there would report consequences.
    pub(crate) stand_ins: Vec<FieldPath>,
}

/// Parses a template's text, or gives the one problem that left no document (see
/// [`problem`]).
pub(crate) fn parse(text: &str, origin: &str) -> Result<Parsed, YamlError> {
    let parsed = Document::parse_all(text, origin, &Limits::DEFAULT)?;
    let stand_ins = parsed
        .problems
        .iter()
        .filter(|e| {
            matches!(
                e,
                YamlError::Number { .. }
                    | YamlError::TooManyAliases { .. }
                    | YamlError::RecursiveAlias { .. }
            )
        })
        .map(|e| path(&e.path()))
        .collect();
    Ok(Parsed {
        problems: parsed.problems.iter().map(problem).collect(),
        document: parsed.document,
        stand_ins,
    })
}

/// A problem of the YAML as a template problem.
pub(crate) fn problem(error: &YamlError) -> Problem {
    let path = path(&error.path());
    let expected = match error {
        YamlError::SecondDocument { .. } => "one template per file".to_owned(),
        _ => error.expected(),
    };
    let mut problem = Problem::new(ProblemKind::Syntax, path, error.found(), expected);
    problem.location = error.location().map(location);
    problem
}

/// Where the key or value at `path` is written, or else the key of its nearest ancestor
/// in the text (a missing field is reported where the mapping that lacks it is named).
pub(crate) fn locate_nearest(doc: &Document, path: &FieldPath, target: Target) -> Location {
    location(doc.locate_nearest(path.segments().iter().map(step), target))
}

fn path(path: &amiref_yaml::FieldPath) -> FieldPath {
    path.segments()
        .iter()
        .fold(FieldPath::root(), |path, segment| match segment {
            amiref_yaml::Segment::Key(k) => path.key(k.as_str()),
            amiref_yaml::Segment::Index(i) => path.index(*i),
        })
}

fn step(segment: &Segment) -> Step<'_> {
    match segment {
        Segment::Key(k) => Step::Key(k),
        Segment::Index(i) => Step::Index(*i),
    }
}

fn location(l: amiref_yaml::Location) -> Location {
    Location {
        line: l.line,
        column: l.column,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Location {
        Location { line, column }
    }

    const TEXT: &str = "\
name: demo
ami_config:
  ami_search:
    owner: \"Prism Community\"
    architecture: [x86_64, arm64]
  ami_mappings: {us-east-1: ami-1, eu-west-1: ami-2}
";

    #[test]
    fn locates_keys_values_and_the_nearest_ancestor() {
        let parsed = parse(TEXT, "t.yml").unwrap();
        assert!(parsed.problems.is_empty());
        let doc = parsed.document;
        let p = |s: &str| s.parse::<FieldPath>().unwrap();
        let loc = |s: &str, target| locate_nearest(&doc, &p(s), target);
        assert_eq!(loc("name", Target::Key), at(1, 1));
        assert_eq!(loc("name", Target::Value), at(1, 7));
        assert_eq!(
            loc("ami_config.ami_search.architecture[1]", Target::Value),
            at(5, 28)
        );
        assert_eq!(
            loc("ami_config.ami_mappings.eu-west-1", Target::Key),
            at(6, 36)
        );
        // Missing: the key of the nearest ancestor written.
        assert_eq!(loc("ami_config.ami_search.owners", Target::Value), at(3, 3));
        assert_eq!(loc("nothing", Target::Key), at(1, 1));
    }

    #[test]
    fn yaml_problems_become_located_syntax_problems_with_their_field() {
        let problems = parse("a: 1\nb:\n  c: 2\n  c: 3\nd: !x y\n", "t.yml")
            .unwrap()
            .problems;
        let shown: Vec<(String, Option<Location>)> = problems
            .iter()
            .map(|p| (p.path.to_string(), p.location))
            .collect();
        assert_eq!(
            shown,
            [
                ("b.c".to_owned(), Some(at(4, 3))),
                ("d".to_owned(), Some(at(5, 4)))
            ]
        );
        assert!(problems.iter().all(|p| p.kind == ProblemKind::Syntax));
        let big = parse("a: 123456789012345678901234\n", "t.yml").unwrap();
        assert_eq!(big.stand_ins, ["a".parse::<FieldPath>().unwrap()]);
        let fatal = parse("a: [1, 2\nb: 3\n", "t.yml").map(|_| ()).unwrap_err();
        assert!(problem(&fatal).location.is_some());
    }
}
