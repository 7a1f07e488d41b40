//! Why a YAML text was refused, and where.

use std::fmt;
use std::path::PathBuf;

use crate::{FieldPath, Location};

/// A YAML text that could not be read, or was refused: every variant but [`Io`] says
/// where (origin, line, column, byte offset) and, for problems of a node, which field.
///
/// Its message reads `origin:line:column: field: found X, expected Y`; the parts are
/// also available one by one ([`found`], [`expected`], [`location`], [`path`]) for
/// callers that fold them into problems of their own. Values quoted in a message are
/// [shortened](crate::shorten).
///
/// [`Io`]: YamlError::Io
/// [`found`]: YamlError::found
/// [`expected`]: YamlError::expected
/// [`location`]: YamlError::location
/// [`path`]: YamlError::path
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum YamlError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A byte that is not UTF-8.
    NotUtf8 {
        /// The file or other origin of the text.
        origin: String,
        /// Where the first bad byte is.
        location: Location,
        /// The bad byte.
        byte: u8,
    },
    /// Text that is not YAML.
    Syntax {
        /// The file or other origin of the text.
        origin: String,
        /// Where the parser stopped.
        location: Location,
        /// The flow collection (`[` or `{`) the parser was inside, when it was opened on an
        /// earlier line: often the one left unclosed.
        inside: Option<(char, Location)>,
        /// The parser's error.
        #[source]
        source: Box<granit_parser::ScanError>,
    },
    /// A text longer than [`Limits::max_bytes`](crate::Limits::max_bytes).
    TooLarge {
        /// The file or other origin of the text.
        origin: String,
        /// Where the limit falls in the text.
        location: Location,
        /// The text's length in bytes.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Mappings or lists nested deeper than [`Limits::max_depth`](crate::Limits::max_depth).
    TooDeep {
        /// The file or other origin of the text.
        origin: String,
        /// Where the first node over the limit starts.
        location: Location,
        /// The limit.
        limit: usize,
    },
    /// More nodes than [`Limits::max_nodes`](crate::Limits::max_nodes).
    TooManyNodes {
        /// The file or other origin of the text.
        origin: String,
        /// Where the first node over the limit starts.
        location: Location,
        /// The limit.
        limit: usize,
    },
    /// More aliases than [`Limits::max_aliases`](crate::Limits::max_aliases) (with a
    /// limit of 0: any alias).
    TooManyAliases {
        /// The file or other origin of the text.
        origin: String,
        /// Where the first alias over the limit is.
        location: Location,
        /// Which field it stands for.
        path: FieldPath,
        /// The limit.
        limit: usize,
    },
    /// A scalar longer than [`Limits::max_scalar_bytes`](crate::Limits::max_scalar_bytes).
    ScalarTooLong {
        /// The file or other origin of the text.
        origin: String,
        /// Where the scalar starts.
        location: Location,
        /// Which field it is.
        path: FieldPath,
        /// Its length in bytes.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A key written twice in one mapping (YAML forbids it; many parsers keep the last).
    DuplicateKey {
        /// The file or other origin of the text.
        origin: String,
        /// Where the second one is.
        location: Location,
        /// The key's path.
        path: FieldPath,
        /// Where the first one is.
        first: Location,
    },
    /// A second document (`---` after content): one file holds one document.
    SecondDocument {
        /// The file or other origin of the text.
        origin: String,
        /// Where the second document starts.
        location: Location,
    },
    /// A tag (`!name value`): no amiref file uses them, and a tag would make a value mean
    /// something other than what it reads as.
    Tag {
        /// The file or other origin of the text.
        origin: String,
        /// Where the tagged node starts.
        location: Location,
        /// Which field it is.
        path: FieldPath,
        /// The tag as written (shortened).
        tag: String,
    },
    /// A mapping key that is a list or a mapping.
    ComplexKey {
        /// The file or other origin of the text.
        origin: String,
        /// Where the key starts.
        location: Location,
        /// The path of the mapping holding it.
        path: FieldPath,
        /// `"a list"` or `"a mapping"`.
        kind: &'static str,
    },
    /// A plain scalar that reads as a number JSON cannot hold: an integer beyond 64 bits,
    /// `.inf` or `.nan`.
    Number {
        /// The file or other origin of the text.
        origin: String,
        /// Where the number is.
        location: Location,
        /// Which field it is.
        path: FieldPath,
        /// The number as written (shortened).
        text: String,
        /// Why it cannot be held.
        why: &'static str,
    },
    /// An alias to a node that is not complete where it is used (it contains the alias).
    RecursiveAlias {
        /// The file or other origin of the text.
        origin: String,
        /// Where the alias is.
        location: Location,
        /// Which field it stands for.
        path: FieldPath,
    },
    /// A well-formed document whose value is not of the type wanted.
    Type(Box<TypeMismatch>),
    /// A value the file format refuses, found by the format's own checks after typing
    /// (made with [`Document::refuse`](crate::Document::refuse)).
    Refused {
        /// The file or other origin of the text.
        origin: String,
        /// Where the key or value is.
        location: Location,
        /// Which field.
        path: FieldPath,
        /// What was found.
        found: String,
        /// What would have been accepted.
        expected: String,
    },
}

/// A value not of the type wanted, and where it is: see [`YamlError::Type`].
#[derive(Debug)]
#[non_exhaustive]
pub struct TypeMismatch {
    /// The file or other origin of the text.
    pub origin: String,
    /// Where the value (or, for an unknown field, the key) is.
    pub location: Location,
    /// Which field.
    pub path: FieldPath,
    /// What was found (shortened).
    pub found: String,
    /// What would have been accepted.
    pub expected: String,
    /// The typing error.
    pub source: serde_json::Error,
}

impl YamlError {
    /// The file or other origin of the text (the path, for [`YamlError::Io`]).
    pub fn origin(&self) -> String {
        match self {
            Self::Io { path, .. } => path.display().to_string(),
            Self::NotUtf8 { origin, .. }
            | Self::Syntax { origin, .. }
            | Self::TooLarge { origin, .. }
            | Self::TooDeep { origin, .. }
            | Self::TooManyNodes { origin, .. }
            | Self::TooManyAliases { origin, .. }
            | Self::ScalarTooLong { origin, .. }
            | Self::DuplicateKey { origin, .. }
            | Self::SecondDocument { origin, .. }
            | Self::Tag { origin, .. }
            | Self::ComplexKey { origin, .. }
            | Self::Number { origin, .. }
            | Self::RecursiveAlias { origin, .. }
            | Self::Refused { origin, .. } => origin.clone(),
            Self::Type(t) => t.origin.clone(),
        }
    }

    /// Where in the text; `None` only for [`YamlError::Io`].
    pub fn location(&self) -> Option<Location> {
        match self {
            Self::Io { .. } => None,
            Self::NotUtf8 { location, .. }
            | Self::Syntax { location, .. }
            | Self::TooLarge { location, .. }
            | Self::TooDeep { location, .. }
            | Self::TooManyNodes { location, .. }
            | Self::TooManyAliases { location, .. }
            | Self::ScalarTooLong { location, .. }
            | Self::DuplicateKey { location, .. }
            | Self::SecondDocument { location, .. }
            | Self::Tag { location, .. }
            | Self::ComplexKey { location, .. }
            | Self::Number { location, .. }
            | Self::RecursiveAlias { location, .. }
            | Self::Refused { location, .. } => Some(*location),
            Self::Type(t) => Some(t.location),
        }
    }

    /// The field the problem is about; the root for problems of the text as a whole.
    pub fn path(&self) -> FieldPath {
        match self {
            Self::TooManyAliases { path, .. }
            | Self::ScalarTooLong { path, .. }
            | Self::DuplicateKey { path, .. }
            | Self::Tag { path, .. }
            | Self::ComplexKey { path, .. }
            | Self::Number { path, .. }
            | Self::RecursiveAlias { path, .. }
            | Self::Refused { path, .. } => path.clone(),
            Self::Type(t) => t.path.clone(),
            _ => FieldPath::root(),
        }
    }

    /// What the text has.
    pub fn found(&self) -> String {
        match self {
            Self::Io { source, .. } => format!("an unreadable file ({source})"),
            Self::NotUtf8 { byte, .. } => format!("the byte 0x{byte:02x}, which is not UTF-8"),
            Self::Syntax {
                source,
                inside: Some((bracket, at)),
                ..
            } => format!(
                "invalid YAML ({}) inside the `{bracket}` opened at line {}, column {}",
                source.info(),
                at.line,
                at.column
            ),
            Self::Syntax { source, .. } => format!("invalid YAML ({})", source.info()),
            Self::TooLarge { bytes, .. } => format!("{bytes} bytes of text"),
            Self::TooDeep { limit, .. } => {
                format!("mappings or lists nested more than {limit} deep")
            }
            Self::TooManyNodes { limit, .. } => {
                format!("more than {limit} values (counting those aliases repeat)")
            }
            Self::TooManyAliases { limit: 0, .. } => "an alias (`*name`)".to_owned(),
            Self::TooManyAliases { limit, .. } => format!("more than {limit} aliases"),
            Self::ScalarTooLong { bytes, .. } => format!("a value of {bytes} bytes"),
            Self::DuplicateKey { path, first, .. } => format!(
                "the key `{}` a second time in one mapping (first at line {}, column {})",
                last_key(path),
                first.line,
                first.column
            ),
            Self::SecondDocument { .. } => "a second YAML document (after `---`)".to_owned(),
            Self::Tag { tag, .. } => format!("a YAML tag (`{tag}`)"),
            Self::ComplexKey { kind, .. } => format!("{kind} as a key"),
            Self::Number { text, why, .. } => format!("the number {text}, {why}"),
            Self::RecursiveAlias { .. } => "an alias to a node that contains it".to_owned(),
            Self::Type(t) => t.found.clone(),
            Self::Refused { found, .. } => found.clone(),
        }
    }

    /// What would have been accepted.
    pub fn expected(&self) -> String {
        match self {
            Self::Io { .. } => "a readable file".to_owned(),
            Self::NotUtf8 { .. } => "UTF-8 text".to_owned(),
            Self::Syntax { .. } => "well-formed YAML: check the indentation, quotes and \
                                    brackets here and just before"
                .to_owned(),
            Self::TooLarge { limit, .. } => format!("at most {limit} bytes"),
            Self::TooDeep { limit, .. } => format!("at most {limit} levels of nesting"),
            Self::TooManyNodes { limit, .. } => format!("at most {limit} values"),
            Self::TooManyAliases { limit: 0, .. } => {
                "values written out in full (this file takes no anchors or aliases)".to_owned()
            }
            Self::TooManyAliases { limit, .. } => format!("at most {limit} aliases"),
            Self::ScalarTooLong { limit, .. } => format!("at most {limit} bytes per value"),
            Self::DuplicateKey { .. } => "each key once (YAML keeps only one of them)".to_owned(),
            Self::SecondDocument { .. } => "one document per file".to_owned(),
            Self::Tag { .. } => "a plain value: these files use no tags".to_owned(),
            Self::ComplexKey { .. } => "a text key".to_owned(),
            Self::Number { why, .. } if why.starts_with("too") => {
                "a number that fits in 64 bits, or text in quotes".to_owned()
            }
            Self::Number { .. } => "a finite number, or text in quotes".to_owned(),
            Self::RecursiveAlias { .. } => {
                "an alias to a node completed before it (`&name` ... then `*name`)".to_owned()
            }
            Self::Type(t) => t.expected.clone(),
            Self::Refused { expected, .. } => expected.clone(),
        }
    }
}

fn last_key(path: &FieldPath) -> String {
    match path.segments().last() {
        Some(crate::Segment::Key(k)) => crate::shorten(k).into_owned(),
        Some(crate::Segment::Index(i)) => i.to_string(),
        None => String::new(),
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Self::Io { path, source } = self {
            return write!(f, "cannot read {}: {source}", path.display());
        }
        f.write_str(&self.origin())?;
        if let Some(location) = self.location() {
            write!(f, ":{location}")?;
        }
        let path = self.path();
        if !path.is_root() {
            write!(f, ": {path}")?;
        }
        write!(f, ": found {}, expected {}", self.found(), self.expected())
    }
}
