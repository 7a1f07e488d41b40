//! # amiref-yaml
//!
//! The one YAML module of amiref: every file format (templates, world files, trust
//! policies, price files, region graphs, registries and trust stores) reads its text
//! through it.
//!
//! ```
//! use amiref_yaml::{Document, Step, Target};
//!
//! let doc = Document::parse("owner: amazon\nregions: [us-east-1]\n", "t.yml")?;
//! assert_eq!(doc.value()["owner"], "amazon");
//! let at = doc.locate([Step::Key("regions"), Step::Index(0)], Target::Value).unwrap();
//! assert_eq!(at.to_string(), "2:11");
//!
//! let err = Document::parse("owner: a\nowner: b\n", "t.yml").unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "t.yml:2:1: owner: found the key `owner` a second time in one mapping \
//!      (first at line 1, column 1), expected each key once (YAML keeps only one of them)"
//! );
//! # Ok::<(), amiref_yaml::YamlError>(())
//! ```
//!
//! ## Why one module
//!
//! Each format used to read YAML its own way, and each got a different part wrong: one had
//! no locations for some errors, one echoed a megabyte value back, one ignored a second
//! document, one took seconds on a deeply nested file. One module gets each of these right
//! once, and every format reports problems the same way: `file:line:column: field: found
//! X, expected Y`.
//!
//! ## How
//!
//! The text is read once by an event parser (granit-parser, the maintained parser behind
//! serde-saphyr) into a plain tree ([`serde_json::Value`]) with the location of every key
//! and value kept beside it ([`Document`]). Typed reading ([`from_str`],
//! [`Document::deserialize`]) types the tree with serde and looks the failing field's
//! path up in the same locations; formats that check more than types do (templates,
//! registries) walk the tree and [`Document::locate`] what they refuse. Parsing is linear
//! in the size of the text, and locating linear in the length of the path.
//!
//! ## Limits
//!
//! [`Limits`] bounds the text's size, its nesting depth, its number of nodes (counting
//! what aliases repeat, so a "billion laughs" text is refused), its aliases and the
//! length of each scalar. Each is checked as the text is read, so a text over a limit is
//! refused where it goes over, with that location, after work proportional to what was
//! read up to there.
//!
//! ## What is refused
//!
//! What amiref files never need and what would make a file mean something other than it
//! reads as:
//!
//! - a second document (`---` after content), located at the second `---`;
//! - a key written twice in one mapping (YAML forbids it; many parsers silently keep the
//!   last), located at the second, naming the first;
//! - tags (`!name value`), and keys that are lists or mappings;
//! - plain numbers JSON cannot hold (beyond 64 bits, `.inf`, `.nan`): quote them to mean
//!   text;
//! - text that is not UTF-8 ([`read_text`], [`text_from_bytes`]), located at the first
//!   bad byte.
//!
//! Plain scalars are read by the YAML 1.2 core schema: `yes`, `v2.1.0` and `2024-01-01`
//! are text. Values quoted back in messages are [shortened](shorten).
//!
//! [`Document::parse_all`] goes on past the refusals that leave a usable tree (all of the
//! above but syntax errors and limits), so that a format can report them together with its
//! own checks, which [`Document::refuse`] locates the same way: every problem of a file in
//! one pass.

mod document;
mod error;
mod limits;
mod location;
mod path;
mod scalar;
mod text;
mod typed;
mod write;

pub use document::{Document, Parsed, Target};
pub use error::{TypeMismatch, YamlError};
pub use limits::Limits;
pub use location::Location;
pub use path::{FieldPath, Segment, Step};
pub use text::{SHORTENED_CHARS, read_text, shorten, text_from_bytes};
pub use typed::{from_str, from_str_with};
pub use write::{WriteError, to_string};
