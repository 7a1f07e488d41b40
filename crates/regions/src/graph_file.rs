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
use serde::Deserialize;

use crate::error::{GraphError, GraphProblem, Location};
use crate::graph::{FallbackGraph, check_edges};

/// What a graph file's lists are applied to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Base {
    /// The built-in graph: the file's lists replace the lists of the regions they name.
    #[default]
    Builtin,
    /// No edges: only the file's lists exist.
    Empty,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GraphFile {
    #[serde(default)]
    base: Base,
    #[serde(default)]
    fallbacks: Entries,
}

/// The `fallbacks:` mapping in file order, duplicates kept so that they can be refused (a
/// map would silently keep the last list).
#[derive(Debug, Default)]
struct Entries(Vec<(String, Vec<String>)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a mapping from region codes to lists of region codes")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Entries, E> {
                Ok(Entries::default())
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Entries, A::Error> {
                let mut entries: Vec<(String, Vec<String>)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value = map.next_value::<Vec<String>>()?;
                    entries.push((key, value));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

impl FallbackGraph {
    /// Reads a graph from YAML text; `origin` names it in errors (usually the file path).
    ///
    /// Every region named must be in the catalog, and every fallback in the same partition
    /// as the region it is listed under; otherwise the whole file is refused and each
    /// problem is reported with its line, column and field.
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
        let file: GraphFile = serde_yaml::from_str(text).map_err(|e| syntax(e, origin))?;
        let locator = Locator::new(text);
        let mut graph = match file.base {
            Base::Builtin => FallbackGraph::builtin(),
            Base::Empty => FallbackGraph::empty(),
        };
        let mut problems = Vec::new();
        let mut seen = std::collections::HashMap::<&str, usize>::new();
        for (from, to) in &file.fallbacks.0 {
            let field = format!("fallbacks.{from}");
            let occurrence = seen.entry(from.as_str()).or_insert(0);
            // A key not found where expected (flow style `fallbacks: {...}`) is reported
            // at the `fallbacks:` line.
            let key_at = locator
                .key(from, *occurrence)
                .or_else(|| locator.fallbacks_line());
            *occurrence += 1;
            if *occurrence > 1 {
                problems.push(GraphProblem {
                    location: Some(Location {
                        origin: origin.to_owned(),
                        line: key_at.map(|(l, _)| l),
                        column: key_at.map(|(_, c)| c),
                    }),
                    field,
                    found: format!("a second list for {from}"),
                    expected: "one list per region".to_owned(),
                });
                continue;
            }
            let codes: Vec<&str> = to.iter().map(String::as_str).collect();
            let found = check_edges(from, &field, &codes);
            if found.is_empty() {
                // Every code is catalogued, so every code parses.
                let parsed: Vec<Region> =
                    codes.iter().filter_map(|c| Region::new(*c).ok()).collect();
                if let Ok(region) = Region::new(from.as_str()) {
                    graph.insert_validated(region, parsed);
                }
                continue;
            }
            for (index, mut problem) in found {
                let line_column = match index {
                    None => key_at,
                    Some(i) => locator.item(key_at, codes[i]),
                };
                problem.location = Some(Location {
                    origin: origin.to_owned(),
                    line: line_column.map(|(l, _)| l),
                    column: line_column.map(|(_, c)| c),
                });
                problems.push(problem);
            }
        }
        if problems.is_empty() {
            Ok(graph)
        } else {
            problems.sort_by_key(|p| {
                p.location
                    .as_ref()
                    .and_then(|l| l.line)
                    .unwrap_or(usize::MAX)
            });
            Err(GraphError::Invalid { problems })
        }
    }

    /// Reads a graph from a YAML file (format: [`from_yaml_str`](Self::from_yaml_str)).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, GraphError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| GraphError::Io {
            path: path.to_owned(),
            source,
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

fn syntax(error: serde_yaml::Error, origin: &str) -> GraphError {
    let position = error.location();
    let mut message = error.to_string();
    // serde_yaml writes " at line N column M" into the message; the location says it.
    if let Some(start) = message.find(" at line ") {
        let rest = &message[start + " at line ".len()..];
        let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let line_len = digits(rest);
        if let Some(after) = rest[line_len..].strip_prefix(" column ") {
            let end = start + " at line ".len() + line_len + " column ".len() + digits(after);
            message.replace_range(start..end, "");
        }
    }
    GraphError::Syntax {
        location: Location {
            origin: origin.to_owned(),
            line: position.as_ref().map(|p| p.line()),
            column: position.as_ref().map(|p| p.column()),
        },
        message: format!(
            "{message} (expected `base: builtin|empty` and `fallbacks:` mapping each region \
             code to a list of region codes)"
        ),
    }
}

/// Finds where keys and list items of the `fallbacks:` block are written, for error
/// locations (serde_yaml gives positions only for syntax errors). Block and flow style
/// lists are found; anything it cannot find is reported without a line.
struct Locator<'a> {
    lines: Vec<&'a str>,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            lines: text.lines().collect(),
        }
    }

    /// The range of line indices inside the top-level `fallbacks:` block.
    fn block(&self) -> std::ops::Range<usize> {
        let start = self
            .lines
            .iter()
            .position(|l| l.starts_with("fallbacks:"))
            .map_or(self.lines.len(), |i| i + 1);
        let end = (start..self.lines.len())
            .find(|&i| {
                let l = self.lines[i];
                !l.is_empty() && !l.starts_with([' ', '\t', '#', '-'])
            })
            .unwrap_or(self.lines.len());
        start..end
    }

    /// (line, column) of the top-level `fallbacks:` key, 1-based.
    fn fallbacks_line(&self) -> Option<(usize, usize)> {
        self.lines
            .iter()
            .position(|l| l.starts_with("fallbacks:"))
            .map(|i| (i + 1, 1))
    }

    /// (line, column) of the `occurrence`-th (0-based) `key:` inside the block, 1-based.
    fn key(&self, key: &str, occurrence: usize) -> Option<(usize, usize)> {
        self.block()
            .filter_map(|i| {
                let line = self.lines[i];
                let trimmed = line.trim_start();
                let column = line.len() - trimmed.len();
                [
                    format!("{key}:"),
                    format!("\"{key}\":"),
                    format!("'{key}':"),
                ]
                .iter()
                .any(|k| trimmed.starts_with(k.as_str()))
                .then_some((i + 1, column + 1))
            })
            .nth(occurrence)
    }

    /// (line, column) of the list item `code` under the key at `key` (1-based), searching
    /// from the key's line to the next key of the block.
    fn item(&self, key: Option<(usize, usize)>, code: &str) -> Option<(usize, usize)> {
        let (key_line, key_column) = key?;
        let block_end = self.block().end;
        for i in (key_line - 1)..block_end {
            let line = self.lines[i];
            if i >= key_line {
                let indent = line.len() - line.trim_start().len();
                let trimmed = line.trim_start();
                if indent < key_column && !trimmed.is_empty() && !trimmed.starts_with('#') {
                    break;
                }
                if indent + 1 == key_column && !trimmed.starts_with('-') && !trimmed.is_empty() {
                    break;
                }
            }
            // On the key's own line, look after the colon only.
            let from = if i + 1 == key_line {
                line.find(':').map_or(0, |c| c + 1)
            } else {
                0
            };
            if let Some(col) = find_token(&line[from..], code) {
                return Some((i + 1, from + col + 1));
            }
        }
        key
    }
}

/// Byte offset of `token` in `haystack` as a whole word (not part of a longer code).
fn find_token(haystack: &str, token: &str) -> Option<usize> {
    if token.is_empty() {
        return None;
    }
    let is_code_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut start = 0;
    while let Some(found) = haystack[start..].find(token) {
        let at = start + found;
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + token.len()..].chars().next();
        if !before.is_some_and(is_code_char) && !after.is_some_and(is_code_char) {
            return Some(at);
        }
        start = at + token.len();
    }
    None
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
    fn flow_style_problems_point_at_the_fallbacks_line() {
        let text = "base: builtin\nfallbacks: {us-east-1: [cn-north-1]}\n";
        let ps = problems(FallbackGraph::from_yaml_str(text, "g.yaml").unwrap_err());
        assert_eq!(ps[0].location.as_ref().and_then(|l| l.line), Some(2));
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
            ("fallbacks:\n  us-east-1: [us-east-2\n", 3),
            ("base: somewhere\n", 1),
            ("fallback:\n  us-east-1: []\n", 1),
            ("fallbacks:\n  us-east-1: us-east-2\n", 2),
        ] {
            let err = FallbackGraph::from_yaml_str(text, "g.yaml").unwrap_err();
            let GraphError::Syntax { location, message } = &err else {
                panic!("{err}")
            };
            assert_eq!(location.line, Some(line), "{err}");
            assert!(err.to_string().starts_with("g.yaml:"), "{err}");
            assert!(!message.contains(&format!("at line {line} ")), "{err}");
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
            "g.yaml:4:3: fallbacks.us-east-1: found a second list for us-east-1, expected one list per region"
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
    fn find_token_matches_whole_codes_only() {
        assert_eq!(find_token("[us-east-1, us-east-12]", "us-east-1"), Some(1));
        assert_eq!(find_token("[us-east-12, us-east-1]", "us-east-1"), Some(13));
        assert_eq!(find_token("us-east-12", "us-east-1"), None);
    }
}
