//! A YAML text read once into a plain tree, with the location of every key and value.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Span, StructureStyle};
use serde_json::{Map, Value};

use crate::scalar::resolve_plain;
use crate::{FieldPath, Limits, Location, Segment, Step, YamlError, shorten};

/// Whether to locate a mapping entry's key or its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The key (`owner` in `owner: x`): for unknown fields, duplicate entries and problems
    /// about a field as a whole. For a list item or the top of the document, the value.
    Key,
    /// The value (`x`): for invalid values.
    Value,
}

/// A YAML document as a plain tree ([`serde_json::Value`]), with the location of every
/// node kept beside it.
///
/// Parsing reads the text once, in time and memory linear in its size and within the
/// [`Limits`]; [`Document::locate`] then answers in time linear in the path's length.
///
/// ```
/// use amiref_yaml::{Document, Step, Target};
///
/// let doc = Document::parse("name: demo\nregions: [us-east-1, eu-west-1]\n", "t.yml")?;
/// assert_eq!(doc.value()["regions"][1], "eu-west-1");
/// let at = doc.locate([Step::Key("regions"), Step::Index(1)], Target::Value).unwrap();
/// assert_eq!((at.line, at.column), (2, 22));
/// # Ok::<(), amiref_yaml::YamlError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Document {
    origin: String,
    value: Value,
    spans: Spans,
}

/// Where a node is, and where its children are.
#[derive(Debug, Clone)]
struct Spans {
    at: Location,
    children: Children,
}

#[derive(Debug, Clone)]
enum Children {
    None,
    Seq(Vec<Spans>),
    /// Each key's own location and its value's spans.
    Map(HashMap<String, (Location, Spans)>),
}

/// A document that parsed, and the problems found in it that did not stop the parse.
///
/// A duplicate key (the first entry is kept), a tag (ignored), a key that is a list or a
/// mapping (its entry dropped), a number JSON cannot hold (read as null), a second
/// document (not read) and, with aliases refused, an alias (read as null) are such
/// problems: reporting them together with the caller's own checks of the document gives
/// every problem of a file in one pass.
#[derive(Debug)]
#[non_exhaustive]
pub struct Parsed {
    /// The document, as far as it could be read.
    pub document: Document,
    /// The problems that did not stop the parse, in text order.
    pub problems: Vec<YamlError>,
}

impl Document {
    /// Parses `text` with the default [`Limits`], refusing it at its first problem.
    /// `origin` names the text in errors (usually the file path).
    pub fn parse(text: &str, origin: &str) -> Result<Document, YamlError> {
        Self::parse_with(text, origin, &Limits::DEFAULT)
    }

    /// Parses `text` within `limits`, refusing it at its first problem.
    pub fn parse_with(text: &str, origin: &str, limits: &Limits) -> Result<Document, YamlError> {
        let parsed = Self::parse_all(text, origin, limits)?;
        match parsed.problems.into_iter().next() {
            Some(first) => Err(first),
            None => Ok(parsed.document),
        }
    }

    /// Parses `text` within `limits`, going on past the problems that leave a usable
    /// document (see [`Parsed`]). Fails only when the text cannot be read as YAML at all
    /// (a syntax error) or goes over a limit.
    pub fn parse_all(text: &str, origin: &str, limits: &Limits) -> Result<Parsed, YamlError> {
        if text.len() > limits.max_bytes {
            return Err(YamlError::TooLarge {
                origin: origin.to_owned(),
                location: Location::of_offset(text, limits.max_bytes),
                bytes: text.len(),
                limit: limits.max_bytes,
            });
        }
        let mut builder = Builder::new(text, origin, limits);
        for next in Parser::new_from_str(text) {
            let (event, span) = next.map_err(|source| {
                let location = location_of(text, source.marker());
                let inside = builder
                    .flows
                    .last()
                    .filter(|(_, _, at)| at.line < location.line)
                    .map(|(_, bracket, at)| (*bracket, *at));
                syntax(origin, limits, location, inside, source)
            })?;
            if builder.on_event(event, &span)? == Flow::Stop {
                break;
            }
        }
        let (value, spans) = builder.root.take().unwrap_or((
            Value::Null,
            Spans {
                at: Location::START,
                children: Children::None,
            },
        ));
        Ok(Parsed {
            document: Document {
                origin: origin.to_owned(),
                value,
                spans,
            },
            problems: builder.problems,
        })
    }

    /// The file or other origin of the text.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The document as a plain tree (`null` for an empty text).
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The document as a plain tree, taken out.
    pub fn into_value(self) -> Value {
        self.value
    }

    /// Where the key or value at `path` is written, or `None` when the document has no
    /// such node. Time linear in the path's length.
    pub fn locate<'p, S: Into<Step<'p>>>(
        &self,
        path: impl IntoIterator<Item = S>,
        target: Target,
    ) -> Option<Location> {
        let (found, key, rest) = self.walk(path);
        let at = match (target, key) {
            (Target::Key, Some(key)) => key,
            _ => found.at,
        };
        rest.then_some(at)
    }

    /// Where the key or value at `path` is written or, when the document has no such
    /// node, the key of its nearest ancestor that it has (the value, for a list item or
    /// the top of the document): a missing field is reported where the mapping that
    /// lacks it is named.
    pub fn locate_nearest<'p, S: Into<Step<'p>>>(
        &self,
        path: impl IntoIterator<Item = S>,
        target: Target,
    ) -> Location {
        let (found, key, whole) = self.walk(path);
        let target = if whole { target } else { Target::Key };
        match (target, key) {
            (Target::Key, Some(key)) => key,
            _ => found.at,
        }
    }

    /// A problem the file format finds at `path` after typing (a name used but not
    /// defined, a number out of range), located at its key or value like every other
    /// problem of the document: [`YamlError::Refused`].
    ///
    /// ```
    /// use amiref_yaml::{Document, FieldPath, Segment, Target};
    ///
    /// let doc = Document::parse("stars: 9\n", "r.yml")?;
    /// let path = FieldPath::root().join(Segment::Key("stars".into()));
    /// let err = doc.refuse(&path, Target::Value, "9 stars", "1 to 5 stars");
    /// assert_eq!(err.to_string(), "r.yml:1:8: stars: found 9 stars, expected 1 to 5 stars");
    /// # Ok::<(), amiref_yaml::YamlError>(())
    /// ```
    pub fn refuse(
        &self,
        path: &FieldPath,
        target: Target,
        found: impl Into<String>,
        expected: impl Into<String>,
    ) -> YamlError {
        YamlError::Refused {
            origin: self.origin.clone(),
            location: self.locate_nearest(path.steps(), target),
            path: path.clone(),
            found: found.into(),
            expected: expected.into(),
        }
    }

    /// Walks down `path` as far as the document goes: the last node reached, its key's
    /// location when it is a mapping entry, and whether the whole path was walked.
    fn walk<'p, S: Into<Step<'p>>>(
        &self,
        path: impl IntoIterator<Item = S>,
    ) -> (&Spans, Option<Location>, bool) {
        let mut here = &self.spans;
        let mut key_at = None;
        for step in path {
            let next = match (step.into(), &here.children) {
                (Step::Key(k), Children::Map(entries)) => {
                    entries.get(k).map(|(at, spans)| (Some(*at), spans))
                }
                (Step::Index(i), Children::Seq(items)) => items.get(i).map(|s| (None, s)),
                _ => None,
            };
            match next {
                Some((key, spans)) => {
                    key_at = key;
                    here = spans;
                }
                None => return (here, key_at, false),
            }
        }
        (here, key_at, true)
    }
}

/// Whether to read on after an event.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

/// A mapping or list being read.
enum Frame {
    Map {
        at: Location,
        anchor: usize,
        nodes_before: usize,
        map: Map<String, Value>,
        spans: HashMap<String, (Location, Spans)>,
        /// The key read, waiting for its value: `None` while a key is expected; a key of
        /// `None` drops its value (a duplicate or a complex key).
        pending: Option<(Option<String>, Location)>,
    },
    Seq {
        at: Location,
        anchor: usize,
        nodes_before: usize,
        items: Vec<Value>,
        spans: Vec<Spans>,
    },
}

/// Builds the tree from parser events.
struct Builder<'a> {
    text: &'a str,
    origin: &'a str,
    limits: &'a Limits,
    stack: Vec<Frame>,
    root: Option<(Value, Spans)>,
    /// Complete anchored nodes, and how many nodes each holds.
    anchors: HashMap<usize, (Value, Spans, usize)>,
    nodes: usize,
    aliases: usize,
    documents: usize,
    /// How deep inside a complex key being skipped.
    skipping: usize,
    /// The open flow collections: depth in `stack`, bracket, where.
    flows: Vec<(usize, char, Location)>,
    problems: Vec<YamlError>,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, origin: &'a str, limits: &'a Limits) -> Self {
        Self {
            text,
            origin,
            limits,
            stack: Vec::new(),
            root: None,
            anchors: HashMap::new(),
            nodes: 0,
            aliases: 0,
            documents: 0,
            skipping: 0,
            flows: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn on_event(&mut self, event: Event<'_>, span: &Span) -> Result<Flow, YamlError> {
        let at = location_of(self.text, &span.start);
        if self.skipping > 0 {
            return self.skip(&event, at);
        }
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    self.problems.push(YamlError::SecondDocument {
                        origin: self.origin.to_owned(),
                        location: at,
                    });
                    return Ok(Flow::Stop);
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count_node(at)?;
                let at = self.empty_value_at(span, at);
                if let Some(tag) = tag {
                    let tag_at = span.tag_start.map_or(at, |m| location_of(self.text, &m));
                    self.refuse_tag(&format!("{}{}", tag.original_handle, tag.suffix), tag_at);
                }
                self.scalar(&text, style, anchor, at)?;
            }
            Event::SequenceStart(style, anchor, ref tag)
            | Event::MappingStart(style, anchor, ref tag) => {
                let is_map = matches!(event, Event::MappingStart(..));
                self.count_node(at)?;
                self.check_depth(self.stack.len() + 1, at)?;
                if let Some(tag) = tag {
                    let tag_at = span.tag_start.map_or(at, |m| location_of(self.text, &m));
                    self.refuse_tag(&format!("{}{}", tag.original_handle, tag.suffix), tag_at);
                }
                if self.expecting_key() {
                    self.refuse_complex_key(if is_map { "a mapping" } else { "a list" }, at);
                    self.skipping = 1;
                    return Ok(Flow::Go);
                }
                if style == StructureStyle::Flow {
                    let bracket = if is_map { '{' } else { '[' };
                    self.flows.push((self.stack.len(), bracket, at));
                }
                self.open(is_map, anchor, at);
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            Event::Alias(id) => self.alias(id, at)?,
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentEnd
            | Event::Comment(..) => {}
        }
        Ok(Flow::Go)
    }

    /// Reads past a complex key, then drops its value.
    fn skip(&mut self, event: &Event<'_>, at: Location) -> Result<Flow, YamlError> {
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                self.skipping += 1;
                self.check_depth(self.stack.len() + self.skipping, at)?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.skipping -= 1;
                if self.skipping == 0
                    && let Some(Frame::Map { pending, .. }) = self.stack.last_mut()
                {
                    *pending = Some((None, at));
                }
            }
            _ => {}
        }
        Ok(Flow::Go)
    }

    /// An empty value (`key:` and nothing) is a zero-length scalar at the colon; it is
    /// located just after it, where the value would be written.
    fn empty_value_at(&self, span: &Span, at: Location) -> Location {
        let empty = span.start.index() == span.end.index();
        if empty && self.text.as_bytes().get(at.offset) == Some(&b':') {
            return Location {
                column: at.column + 1,
                offset: at.offset + 1,
                ..at
            };
        }
        at
    }

    fn count_node(&mut self, at: Location) -> Result<(), YamlError> {
        self.count_nodes(1, at)
    }

    fn count_nodes(&mut self, n: usize, at: Location) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            return Err(YamlError::TooManyNodes {
                origin: self.origin.to_owned(),
                location: at,
                limit: self.limits.max_nodes,
            });
        }
        Ok(())
    }

    fn check_depth(&self, depth: usize, at: Location) -> Result<(), YamlError> {
        if depth > self.limits.max_depth {
            return Err(YamlError::TooDeep {
                origin: self.origin.to_owned(),
                location: at,
                limit: self.limits.max_depth,
            });
        }
        Ok(())
    }

    fn scalar(
        &mut self,
        text: &str,
        style: ScalarStyle,
        anchor: usize,
        at: Location,
    ) -> Result<(), YamlError> {
        if text.len() > self.limits.max_scalar_bytes {
            return Err(YamlError::ScalarTooLong {
                origin: self.origin.to_owned(),
                location: at,
                path: self.path_here(),
                bytes: text.len(),
                limit: self.limits.max_scalar_bytes,
            });
        }
        if self.expecting_key() {
            self.key(text.to_owned(), at);
            return Ok(());
        }
        let value = if style == ScalarStyle::Plain {
            resolve_plain(text).unwrap_or_else(|why| {
                self.problems.push(YamlError::Number {
                    origin: self.origin.to_owned(),
                    location: at,
                    path: self.path_here(),
                    text: shorten(text).into_owned(),
                    why,
                });
                Value::Null
            })
        } else {
            Value::String(text.to_owned())
        };
        let spans = Spans {
            at,
            children: Children::None,
        };
        if anchor != 0 {
            self.anchors
                .insert(anchor, (value.clone(), spans.clone(), 1));
        }
        self.add(value, spans);
        Ok(())
    }

    /// Takes a mapping key, refusing a duplicate (the first entry is kept).
    fn key(&mut self, key: String, at: Location) {
        let Some(Frame::Map { spans, .. }) = self.stack.last() else {
            return;
        };
        let first = spans.get(&key).map(|(first, _)| *first);
        let name = match first {
            Some(first) => {
                let path = self.path_here().join(Segment::Key(key));
                self.problems.push(YamlError::DuplicateKey {
                    origin: self.origin.to_owned(),
                    location: at,
                    path,
                    first,
                });
                None
            }
            None => Some(key),
        };
        if let Some(Frame::Map { pending, .. }) = self.stack.last_mut() {
            *pending = Some((name, at));
        }
    }

    fn alias(&mut self, id: usize, at: Location) -> Result<(), YamlError> {
        self.aliases += 1;
        if self.aliases > self.limits.max_aliases {
            let refusal = YamlError::TooManyAliases {
                origin: self.origin.to_owned(),
                location: at,
                path: self.path_here(),
                limit: self.limits.max_aliases,
            };
            if self.limits.max_aliases > 0 {
                return Err(refusal);
            }
            self.problems.push(refusal);
            self.add_or_key(Value::Null, at);
            return Ok(());
        }
        // Counted before the copy: a copy over the limit is never made.
        let Some(nodes) = self.anchors.get(&id).map(|(_, _, nodes)| *nodes) else {
            self.problems.push(YamlError::RecursiveAlias {
                origin: self.origin.to_owned(),
                location: at,
                path: self.path_here(),
            });
            self.add_or_key(Value::Null, at);
            return Ok(());
        };
        self.count_nodes(nodes, at)?;
        let Some((value, spans, _)) = self.anchors.get(&id).cloned() else {
            return Ok(());
        };
        if self.expecting_key() {
            match value {
                Value::Array(_) => self.refuse_complex_key("a list", at),
                Value::Object(_) => self.refuse_complex_key("a mapping", at),
                Value::String(s) => self.key(s, at),
                other => self.key(other.to_string(), at),
            }
            return Ok(());
        }
        // The alias is located where it is written; what it repeats, where that is.
        self.add(value, Spans { at, ..spans });
        Ok(())
    }

    /// Adds a stand-in value, or a stand-in key when a key is expected.
    fn add_or_key(&mut self, value: Value, at: Location) {
        if self.expecting_key() {
            if let Some(Frame::Map { pending, .. }) = self.stack.last_mut() {
                *pending = Some((None, at));
            }
        } else {
            self.add(
                value,
                Spans {
                    at,
                    children: Children::None,
                },
            );
        }
    }

    fn refuse_tag(&mut self, tag: &str, at: Location) {
        self.problems.push(YamlError::Tag {
            origin: self.origin.to_owned(),
            location: at,
            path: self.path_here(),
            tag: shorten(tag).into_owned(),
        });
    }

    fn refuse_complex_key(&mut self, kind: &'static str, at: Location) {
        self.problems.push(YamlError::ComplexKey {
            origin: self.origin.to_owned(),
            location: at,
            path: self.path_here(),
            kind,
        });
        if let Some(Frame::Map { pending, .. }) = self.stack.last_mut() {
            *pending = Some((None, at));
        }
    }

    fn open(&mut self, is_map: bool, anchor: usize, at: Location) {
        let nodes_before = self.nodes;
        self.stack.push(if is_map {
            Frame::Map {
                at,
                anchor,
                nodes_before,
                map: Map::new(),
                spans: HashMap::new(),
                pending: None,
            }
        } else {
            Frame::Seq {
                at,
                anchor,
                nodes_before,
                items: Vec::new(),
                spans: Vec::new(),
            }
        });
    }

    fn close(&mut self) {
        if self
            .flows
            .last()
            .is_some_and(|(depth, _, _)| *depth + 1 == self.stack.len())
        {
            self.flows.pop();
        }
        let (value, spans, anchor, nodes_before) = match self.stack.pop() {
            Some(Frame::Map {
                at,
                anchor,
                nodes_before,
                map,
                spans,
                ..
            }) => (
                Value::Object(map),
                Spans {
                    at,
                    children: Children::Map(spans),
                },
                anchor,
                nodes_before,
            ),
            Some(Frame::Seq {
                at,
                anchor,
                nodes_before,
                items,
                spans,
            }) => (
                Value::Array(items),
                Spans {
                    at,
                    children: Children::Seq(spans),
                },
                anchor,
                nodes_before,
            ),
            None => return,
        };
        if anchor != 0 {
            let nodes = self.nodes - nodes_before;
            self.anchors
                .insert(anchor, (value.clone(), spans.clone(), nodes));
        }
        self.add(value, spans);
    }

    /// Puts a complete node where it belongs: the root, a list item, a mapping value.
    fn add(&mut self, value: Value, spans: Spans) {
        match self.stack.last_mut() {
            None => self.root = Some((value, spans)),
            Some(Frame::Seq {
                items, spans: s, ..
            }) => {
                items.push(value);
                s.push(spans);
            }
            Some(Frame::Map {
                map,
                spans: s,
                pending,
                ..
            }) => {
                if let Some((Some(key), key_at)) = pending.take() {
                    s.insert(key.clone(), (key_at, spans));
                    map.insert(key, value);
                }
            }
        }
    }

    /// Whether the next node is a mapping key.
    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { pending: None, .. }))
    }

    /// The path of the node about to be read. Time linear in the depth, paid only for a
    /// problem.
    fn path_here(&self) -> FieldPath {
        let mut path = FieldPath::root();
        for frame in &self.stack {
            match frame {
                Frame::Map {
                    pending: Some((Some(key), _)),
                    ..
                } => path.push(Segment::Key(key.clone())),
                Frame::Map { .. } => {}
                Frame::Seq { items, .. } => path.push(Segment::Index(items.len())),
            }
        }
        path
    }
}

/// A parser's error as ours: the parser's own nesting limit (255 levels of flow
/// collections, reached before it hands out the first of them) is the depth limit.
fn syntax(
    origin: &str,
    limits: &Limits,
    location: Location,
    inside: Option<(char, Location)>,
    source: granit_parser::ScanError,
) -> YamlError {
    if source.info() == "recursion limit exceeded" {
        return YamlError::TooDeep {
            origin: origin.to_owned(),
            location,
            limit: limits.max_depth,
        };
    }
    YamlError::Syntax {
        origin: origin.to_owned(),
        location,
        inside,
        source: Box::new(source),
    }
}

/// The location of a parser mark: its line and column, and its byte offset (which the
/// parser gives for text read from a `&str`).
fn location_of(text: &str, marker: &granit_parser::Marker) -> Location {
    match marker.byte_offset() {
        Some(offset) => Location {
            line: marker.line(),
            column: marker.col() + 1,
            offset,
        },
        None => {
            let offset = text
                .char_indices()
                .nth(marker.index())
                .map_or(text.len(), |(i, _)| i);
            Location {
                line: marker.line(),
                column: marker.col() + 1,
                offset,
            }
        }
    }
}
