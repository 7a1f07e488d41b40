//! The chain's line format: every line is one JSON object, the record (or digest) plus its
//! place in the chain, `seq` and `prev`.

use amiref_lifecycle::AuditRecord;
use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};

/// The `prev` of the first line of a log: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One line of the log.
///
/// `prev` is the SHA-256 (lowercase hex) of the previous line's bytes as they are in the
/// file, without the newline that ends it; the first line's `prev` is [`GENESIS`]. So a line
/// edited, deleted or moved breaks the link the line after it holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct ChainLine {
    /// The line's number in the chain: 1, 2, 3, … with no gaps.
    pub seq: u64,
    /// SHA-256 hex of the previous line's bytes.
    pub prev: String,
    /// What the line holds.
    #[serde(flatten)]
    pub body: LineBody,
}

/// What a line holds: an audit record, or a digest sealing the chain so far.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LineBody {
    /// An audit record, its fields beside `seq`, `prev` and `kind`.
    Record(AuditRecord),
    /// A digest record.
    Digest(Digest),
}

impl ChainLine {
    /// The record this line holds, if it is one.
    pub fn record(&self) -> Option<&AuditRecord> {
        match &self.body {
            LineBody::Record(r) => Some(r),
            LineBody::Digest(_) => None,
        }
    }

    /// The digest this line holds, if it is one.
    pub fn digest(&self) -> Option<&Digest> {
        match &self.body {
            LineBody::Digest(d) => Some(d),
            LineBody::Record(_) => None,
        }
    }
}

/// A digest: the chain's head (the `prev` of its own line, which hashes every line before
/// it), signed by the log's key when one is configured.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Digest {
    /// When it was written.
    pub time: DateTime<Utc>,
    /// Why: every N records, or a session closing its log.
    pub reason: DigestReason,
    /// The signature over the digest, absent when no signing key is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<DigestSignature>,
}

/// Why a digest was written.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DigestReason {
    /// The writer had appended its configured number of records since its last digest.
    Periodic,
    /// The writer closed the log (a session ending).
    Close,
}

/// An ed25519 signature over a digest, by a registry publisher key.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct DigestSignature {
    /// The signing key's id (`ed25519:…`).
    pub key_id: String,
    /// Who holds it, as its key file says.
    pub publisher: String,
    /// The signature, base64.
    pub ed25519: String,
}

/// Where a chain ends: the last line's number and hash.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[non_exhaustive]
pub struct ChainHead {
    /// The last line's `seq`.
    pub seq: u64,
    /// SHA-256 hex of the last line's bytes: the `prev` the next line will carry.
    pub hash: String,
}

/// SHA-256 hex of a line's bytes (without its newline).
pub fn line_hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// The head a chain line of these bytes leaves, or `None` when the bytes are not a chain
/// line (a record of the format before the chain, or garbage).
pub(crate) fn head_of(line: &[u8]) -> Option<ChainHead> {
    let seq = serde_json::from_slice::<SeqOnly>(line).ok()?.seq;
    Some(ChainHead {
        seq,
        hash: line_hash(line),
    })
}

/// Only the `seq` of a line, to find where a chain stands without parsing the whole record.
#[derive(serde::Deserialize)]
struct SeqOnly {
    seq: u64,
}
