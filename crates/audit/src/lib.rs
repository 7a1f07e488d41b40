//! # amiref-audit
//!
//! amiref's audit trail as a file that proves itself, after CloudTrail's log file integrity
//! validation:
//!
//! - **A chain.** [`FileAuditLog`] appends every [`amiref_lifecycle::AuditRecord`] as one
//!   JSON line carrying `seq` (1, 2, 3, …) and `prev`, the SHA-256 of the previous line's
//!   bytes ([`ChainLine`]). Several processes extend one chain: each append takes an
//!   advisory lock on the file and re-reads its last line under it.
//! - **Whole lines.** A line is written with one `write` on a file opened for appending and
//!   synced before the operation goes on ([`Durability`]); a failed write is cut back off.
//!   A torn last line left by a crash is moved aside to `<log>.torn-<time>`, never glued to.
//! - **Signed digests.** Every N records, and when a writer closes, a digest line seals the
//!   chain head, signed with an ed25519 registry key ([`load_signing_key`]) when one is
//!   configured; without one digests are written unsigned, still chained, and [`verify`]
//!   says so.
//! - **Verification.** [`verify`] reports intact, or the first line edited, deleted,
//!   reordered or truncated ([`ChainProblem`]), and every digest's signature check.
//! - **Reading back.** [`read`] with an [`AuditQuery`] (time range, template, image,
//!   operation) for `amiref audit show`.
//!
//! docs/audit.md describes the format, the fsync policy, and shipping the file to a central
//! store with a log agent.

mod error;
mod line;
mod log;
mod query;
mod signing;
mod verify;

pub use error::ReadError;
pub use line::{
    ChainHead, ChainLine, Digest, DigestReason, DigestSignature, GENESIS, LineBody, line_hash,
};
pub use log::{DEFAULT_DIGEST_EVERY, Durability, FileAuditLog};
pub use query::{AuditQuery, ShownRecord, read};
pub use signing::{DIGEST_TEMPLATE, SigningKeyError, load_signing_key};
pub use verify::{ChainProblem, DigestCheck, DigestStatus, Verification, verify};
