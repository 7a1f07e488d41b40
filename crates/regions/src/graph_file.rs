//! Reading a fallback graph from YAML, with errors that point at the line.
//!
//! ```yaml
//! # Start from the built-in graph (the default) or from no edges at all.
//! base: builtin
//! fallbacks:
//!   eu-west-3: [eu-west-2, eu-central-1]
//!   ap-southeast-5:
//!     - ap-southeast-1
//!     - ap-southeast-3
//!   sa-east-1: []          # never fall back from São Paulo
//! ```

use std::path::Path;

use amiref_core::Region;
use amiref_yaml::{Document, Limits, Step, Target, YamlError, shorten};
use serde_json::{Map, Value};

use crate::error::{GraphError, GraphProblem, Location};
use crate::graph::{FallbackGraph, check_edges};

/// What a graph file holds, said in every message about its shape.
const FORMAT: &str = "a fallback graph: `base: builtin|empty` and `fallbacks:` mapping each \
                      region code to a list of region codes";

/// The field name of problems about the file as a whole.
const TOP: &str = "(top level)";

impl FallbackGraph {
    /// Reads a graph from YAML text; `origin` names it in errors (usually the file path).
    ///
    /// Every region named must be in the catalog, and every fallback in the same partition
    /// as the region it is listed under; otherwise the whole file is refused and each
    /// problem (of the YAML, of the file's shape, of its regions) is reported at once with
    /// its line, column and field. Text that is not YAML at all, or is over the limits of
    /// [`amiref_yaml::Limits`], is a [`GraphError::Syntax`].
    ///
    /// ```
    /// use amiref_regions::FallbackGraph;
    ///
    /// let graph = FallbackGraph::from_yaml_str(
    ///     "fallbacks:\n  eu-west-3: [eu-west-2, eu-central-1]\n",
    ///     "fallback.yaml",
    /// )?;
    /// assert_eq!(graph.fallbacks(&"eu-west-3".parse()?).len(), 2);
    ///
    /// let err = FallbackGraph::from_yaml_str("fallbacks:\n  eu-west-3: [eu-west-9]\n", "fallback.yaml")
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("fallback.yaml:2:15: fallbacks.eu-west-3[0]"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Self, GraphError> {
        let parsed = Document::parse_all(text, origin, &Limits::DEFAULT).map_err(syntax)?;
        let mut reader = Reader {
            doc: &parsed.document,
            problems: parsed.problems.iter().map(yaml_problem).collect(),
        };
        let graph = reader.graph();
        let mut problems = reader.problems;
        if problems.is_empty() {
            return Ok(graph);
        }
        problems.sort_by_key(|p| {
            p.location.as_ref().map_or((usize::MAX, usize::MAX), |l| {
                (l.line.unwrap_or(usize::MAX), l.column.unwrap_or(0))
            })
        });
        Err(GraphError::Invalid { problems })
    }

    /// Reads a graph from a YAML file (format: [`from_yaml_str`](Self::from_yaml_str)). A
    /// file that is not UTF-8 is refused at its first bad byte.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, GraphError> {
        let path = path.as_ref();
        let text = amiref_yaml::read_text(path).map_err(|e| match e {
            YamlError::Io { source, .. } => GraphError::Io {
                path: path.to_owned(),
                source,
            },
            other => syntax(other),
        })?;
        Self::from_yaml_str(&text, &path.display().to_string())
    }
}

impl FallbackGraph {
    /// The whole graph as a file [`from_yaml_str`](Self::from_yaml_str) reads back
    /// unchanged (`base: empty`, every list written out): a starting point for a
    /// hand-edited graph.
    pub fn to_yaml_string(&self) -> String {
        let mut out = String::from("base: empty\nfallbacks:\n");
        for (region, fallbacks) in self.iter() {
            let list: Vec<&str> = fallbacks.iter().map(Region::as_str).collect();
            out.push_str(&format!("  {region}: [{}]\n", list.join(", ")));
        }
        out
    }
}

/// Text that could not be read as YAML at all.
fn syntax(error: YamlError) -> GraphError {
    GraphError::Syntax {
        location: Location {
            origin: error.origin(),
            line: error.location().map(|l| l.line),
            column: error.location().map(|l| l.column),
        },
        message: format!(
            "found {}, expected {} ({FORMAT})",
            error.found(),
            error.expected()
        ),
    }
}

/// A problem of the YAML that still left a document to read.
fn yaml_problem(error: &YamlError) -> GraphProblem {
    let path = error.path();
    GraphProblem {
        location: Some(Location {
            origin: error.origin(),
            line: error.location().map(|l| l.line),
            column: error.location().map(|l| l.column),
        }),
        field: if path.is_root() {
            TOP.to_owned()
        } else {
            path.to_string()
        },
        found: error.found(),
        expected: error.expected(),
    }
}

/// Reads the tree of a graph file, collecting every problem.
struct Reader<'a> {
    doc: &'a Document,
    problems: Vec<GraphProblem>,
}

impl Reader<'_> {
    fn graph(&mut self) -> FallbackGraph {
        let root = match self.doc.value() {
            Value::Null => return FallbackGraph::builtin(),
            Value::Object(root) => root,
            other => {
                self.problem(&[], Target::Value, TOP, describe(other), FORMAT);
                return FallbackGraph::builtin();
            }
        };
        for key in root
            .keys()
            .filter(|k| !matches!(k.as_str(), "base" | "fallbacks"))
        {
            let found = format!("unknown field `{}`", shorten(key));
            self.problem(&[Step::Key(key)], Target::Key, key, found, FORMAT);
        }
        let mut graph = match root.get("base") {
            None | Some(Value::Null) => FallbackGraph::builtin(),
            Some(Value::String(s)) if s == "builtin" => FallbackGraph::builtin(),
            Some(Value::String(s)) if s == "empty" => FallbackGraph::empty(),
            Some(other) => {
                let found = describe(other);
                let expected = "`builtin` (the built-in graph, the file's lists replacing \
                                those of the regions they name) or `empty` (no edges but the \
                                file's)";
                self.problem(&[Step::Key("base")], Target::Value, "base", found, expected);
                FallbackGraph::builtin()
            }
        };
        match root.get("fallbacks") {
            None | Some(Value::Null) => {}
            Some(Value::Object(entries)) => self.fallbacks(entries, &mut graph),
            Some(other) => {
                let found = describe(other);
                let expected = "a mapping from region codes to lists of region codes";
                let path = [Step::Key("fallbacks")];
                self.problem(&path, Target::Value, "fallbacks", found, expected);
            }
        }
        graph
    }

    /// Checks every list and puts the valid ones in `graph`.
    fn fallbacks(&mut self, entries: &Map<String, Value>, graph: &mut FallbackGraph) {
        for (from, to) in entries {
            let from_code = shorten(from);
            let field = format!("fallbacks.{from_code}");
            let key_path = [Step::Key("fallbacks"), Step::Key(from)];
            let Some(codes) = self.codes(to, &key_path, &field) else {
                continue;
            };
            let shortened: Vec<_> = codes.iter().map(|c| shorten(c)).collect();
            let listed: Vec<&str> = shortened.iter().map(|c| c.as_ref()).collect();
            let found = check_edges(&from_code, &field, &listed);
            if found.is_empty() {
                // Every code is catalogued, so every code parses.
                let parsed: Vec<Region> =
                    codes.iter().filter_map(|c| Region::new(*c).ok()).collect();
                if let Ok(region) = Region::new(from.as_str()) {
                    graph.insert_validated(region, parsed);
                }
                continue;
            }
            for (index, problem) in found {
                let at = match index {
                    None => self.doc.locate_nearest(key_path, Target::Key),
                    Some(i) => self.doc.locate_nearest(
                        key_path.into_iter().chain([Step::Index(i)]),
                        Target::Value,
                    ),
                };
                self.problems.push(self.located(problem, at));
            }
        }
    }

    /// The codes of one list, or `None` (and a problem per thing wrong) when it is not a
    /// list of text.
    fn codes<'v>(
        &mut self,
        to: &'v Value,
        key_path: &[Step<'_>; 2],
        field: &str,
    ) -> Option<Vec<&'v str>> {
        let Value::Array(items) = to else {
            let expected = "a list of region codes (`[]` for none)";
            self.problem(key_path, Target::Value, field, describe(to), expected);
            return None;
        };
        let mut codes = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(code) => codes.push(code.as_str()),
                other => {
                    let path: Vec<Step<'_>> =
                        key_path.iter().copied().chain([Step::Index(i)]).collect();
                    let item_field = format!("{field}[{i}]");
                    self.problem(
                        &path,
                        Target::Value,
                        &item_field,
                        describe(other),
                        "a region code",
                    );
                }
            }
        }
        (codes.len() == items.len()).then_some(codes)
    }

    fn problem(
        &mut self,
        path: &[Step<'_>],
        target: Target,
        field: &str,
        found: impl Into<String>,
        expected: impl Into<String>,
    ) {
        let at = self.doc.locate_nearest(path.iter().copied(), target);
        let problem = GraphProblem {
            location: None,
            field: shorten(field).into_owned(),
            found: found.into(),
            expected: expected.into(),
        };
        self.problems.push(self.located(problem, at));
    }

    fn located(&self, mut problem: GraphProblem, at: amiref_yaml::Location) -> GraphProblem {
        problem.location = Some(Location {
            origin: self.doc.origin().to_owned(),
            line: Some(at.line),
            column: Some(at.column),
        });
        problem
    }
}

/// A value as a message shows it: text quoted (and shortened), anything else by kind.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_owned(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("{:?}", shorten(s)),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a mapping".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::GraphProblem;
    use crate::graph::WalkOptions;

    fn r(code: &str) -> Region {
        code.parse().unwrap()
    }

    fn problems(err: GraphError) -> Vec<GraphProblem> {
        match err {
            GraphError::Invalid { problems } => problems,
            other => panic!("expected Invalid, got {other}"),
        }
    }

    #[test]
    fn overrides_builtin_by_default() {
        let text = "fallbacks:\n  eu-west-3: [eu-west-2, eu-central-1]\n  sa-east-1: []\n";
        let g = FallbackGraph::from_yaml_str(text, "graph.yaml").unwrap();
        assert_eq!(
            g.fallbacks(&r("eu-west-3")),
            [r("eu-west-2"), r("eu-central-1")]
        );
        assert!(g.fallbacks(&r("sa-east-1")).is_empty());
        assert_eq!(
            g.fallbacks(&r("us-east-1")),
            FallbackGraph::builtin().fallbacks(&r("us-east-1"))
        );
    }

    #[test]
    fn empty_base_has_only_the_file_edges() {
        let text = "base: empty\nfallbacks:\n  us-east-1:\n    - us-east-2\n  us-east-2:\n    - us-east-1\n";
        let g = FallbackGraph::from_yaml_str(text, "graph.yaml").unwrap();
        assert_eq!(g.iter().count(), 2);
        assert_eq!(
            g.walk(&r("us-east-1"), &WalkOptions::new()),
            [r("us-east-2")]
        );
    }

    #[test]
    fn unknown_and_cross_partition_regions_are_located() {
        let text = "\
base: builtin
fallbacks:
  eu-west-3:
    - eu-west-2
    - eu-wst-1
  us-east-1: [us-east-2, cn-north-1]
  mars-north-1: [us-east-1]
";
        let ps = problems(FallbackGraph::from_yaml_str(text, "graph.yaml").unwrap_err());
        let summary: Vec<String> = ps.iter().map(|p| p.to_string()).collect();
        assert_eq!(ps.len(), 3, "{summary:#?}");
        assert_eq!(
            summary[0],
            "graph.yaml:5:7: fallbacks.eu-west-3[1]: found \"eu-wst-1\", expected a region in the catalog as of 2026-11-25 (did you mean \"eu-west-1\"?)"
        );
        assert!(
            summary[1].starts_with(
                "graph.yaml:6:26: fallbacks.us-east-1[1]: found cn-north-1 (partition aws-cn)"
            ),
            "{}",
            summary[1]
        );
        assert!(
            summary[2]
                .starts_with("graph.yaml:7:3: fallbacks.mars-north-1: found \"mars-north-1\""),
            "{}",
            summary[2]
        );
    }

    #[test]
    fn flow_style_problems_point_at_the_code() {
        let text = "base: builtin\nfallbacks: {us-east-1: [cn-north-1]}\n";
        let ps = problems(FallbackGraph::from_yaml_str(text, "g.yaml").unwrap_err());
        let l = ps[0].location.as_ref().unwrap();
        assert_eq!((l.line, l.column), (Some(2), Some(25)), "{}", ps[0]);
    }

    #[test]
    fn malformed_codes_are_problems_not_syntax_errors() {
        let text = "fallbacks:\n  us-east-1: [\"US East\"]\n";
        let ps = problems(FallbackGraph::from_yaml_str(text, "g.yaml").unwrap_err());
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].location.as_ref().and_then(|l| l.line), Some(2));
    }

    #[test]
    fn syntax_errors_have_a_location() {
        for (text, line) in [
            ("fallbacks:\n  us-east-1: [us-east-2\n", 2),
            ("fallbacks: [\n", 1),
            ("base: a: b\n", 1),
        ] {
            let err = FallbackGraph::from_yaml_str(text, "g.yaml").unwrap_err();
            let GraphError::Syntax { location, message } = &err else {
                panic!("{err}")
            };
            assert_eq!(location.line, Some(line), "{err}");
            assert!(err.to_string().starts_with("g.yaml:"), "{err}");
            assert!(message.contains("`base: builtin|empty`"), "{err}");
        }
    }

    #[test]
    fn shape_errors_are_located_problems() {
        for (text, line, column) in [
            ("base: somewhere\n", 1, 7),
            ("fallback:\n  us-east-1: []\n", 1, 1),
            ("fallbacks:\n  us-east-1: us-east-2\n", 2, 14),
            ("fallbacks: [us-east-1]\n", 1, 12),
            ("- a\n", 1, 1),
        ] {
            let ps = problems(FallbackGraph::from_yaml_str(text, "g.yaml").unwrap_err());
            assert_eq!(ps.len(), 1, "{ps:?}");
            let l = ps[0].location.as_ref().unwrap();
            assert_eq!(
                (l.line, l.column),
                (Some(line), Some(column)),
                "{text:?}: {}",
                ps[0]
            );
        }
    }

    #[test]
    fn from_file_reads_and_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fallback.yaml");
        std::fs::write(&path, "fallbacks:\n  eu-west-3: [eu-west-9]\n").unwrap();
        let err = FallbackGraph::from_file(&path).unwrap_err();
        assert!(err.to_string().contains("fallback.yaml:2:"), "{err}");
        let missing = FallbackGraph::from_file(dir.path().join("nope.yaml")).unwrap_err();
        assert!(matches!(missing, GraphError::Io { .. }), "{missing}");
    }

    #[test]
    fn a_region_listed_twice_is_refused_at_its_second_list() {
        let text =
            "fallbacks:\n  us-east-1: [us-east-2]\n  eu-west-1: []\n  us-east-1: [us-west-2]\n";
        let ps = problems(FallbackGraph::from_yaml_str(text, "g.yaml").unwrap_err());
        assert_eq!(ps.len(), 1);
        assert_eq!(
            ps[0].to_string(),
            "g.yaml:4:3: fallbacks.us-east-1: found the key `us-east-1` a second time in one mapping (first at line 2, column 3), expected each key once (YAML keeps only one of them)"
        );
    }

    #[test]
    fn empty_files_mean_the_builtin_graph() {
        for text in ["", "# nothing\n", "fallbacks:\n", "base: builtin\n"] {
            let g = FallbackGraph::from_yaml_str(text, "g.yaml").unwrap();
            assert_eq!(g, FallbackGraph::builtin(), "{text:?}");
        }
        let g = FallbackGraph::from_yaml_str("base: empty\n", "g.yaml").unwrap();
        assert_eq!(g.iter().count(), 0);
    }

    #[test]
    fn to_yaml_string_round_trips() {
        let builtin = FallbackGraph::builtin();
        let text = builtin.to_yaml_string();
        assert!(
            text.contains("  us-east-1: [us-east-2, us-west-2, us-west-1]\n"),
            "{text}"
        );
        assert_eq!(
            FallbackGraph::from_yaml_str(&text, "dump.yaml").unwrap(),
            builtin
        );
    }

    #[test]
    fn yaml_shape_and_region_problems_are_reported_together() {
        let text = "\
base: somewhere
colour: blue
fallbacks:
  us-east-1: [us-east-2, 7]
  eu-west-1: us-east-1
  eu-west-3: [eu-wst-2]
  eu-west-3: []
";
        let ps = problems(FallbackGraph::from_yaml_str(text, "g.yaml").unwrap_err());
        let summary: Vec<String> = ps.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            summary,
            [
                "g.yaml:1:7: base: found \"somewhere\", expected `builtin` (the built-in graph, the file's lists replacing those of the regions they name) or `empty` (no edges but the file's)",
                "g.yaml:2:1: colour: found unknown field `colour`, expected a fallback graph: `base: builtin|empty` and `fallbacks:` mapping each region code to a list of region codes",
                "g.yaml:4:26: fallbacks.us-east-1[1]: found the number 7, expected a region code",
                "g.yaml:5:14: fallbacks.eu-west-1: found \"us-east-1\", expected a list of region codes (`[]` for none)",
                "g.yaml:6:15: fallbacks.eu-west-3[0]: found \"eu-wst-2\", expected a region in the catalog as of 2026-11-25 (did you mean \"eu-west-2\"?)",
                "g.yaml:7:3: fallbacks.eu-west-3: found the key `eu-west-3` a second time in one mapping (first at line 6, column 3), expected each key once (YAML keeps only one of them)",
            ],
            "{summary:#?}"
        );
    }

    #[test]
    fn a_second_document_and_non_utf8_files_are_located() {
        let ps = problems(
            FallbackGraph::from_yaml_str("fallbacks: {}\n---\nbase: empty\n", "g.yaml")
                .unwrap_err(),
        );
        assert_eq!(
            ps[0].to_string(),
            "g.yaml:2:1: (top level): found a second YAML document (after `---`), expected one document per file"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.yaml");
        std::fs::write(&path, b"fallbacks:\n  us-east-1: [\xff]\n").unwrap();
        let err = FallbackGraph::from_file(&path).unwrap_err();
        let GraphError::Syntax { location, message } = &err else {
            panic!("{err}")
        };
        assert_eq!(
            (location.line, location.column),
            (Some(2), Some(15)),
            "{err}"
        );
        assert!(message.contains("not UTF-8"), "{err}");
    }

    #[test]
    fn long_values_are_shortened() {
        let long = "x".repeat(100_000);
        let text = format!("fallbacks:\n  {long}: [{long}]\n");
        let err = FallbackGraph::from_yaml_str(&text, "g.yaml").unwrap_err();
        assert!(
            err.to_string().len() < 1_000,
            "{} bytes",
            err.to_string().len()
        );
    }
}
