//! [`verify`]: checks a log's chain and its digests' signatures, after CloudTrail's log file
//! integrity validation.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};

use amiref_lifecycle::AuditRecord;
use amiref_registry::{SignatureCheck, TrustStore};

use crate::error::ReadError;
use crate::line::{ChainHead, ChainLine, GENESIS, LineBody, line_hash};

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Verification {
    /// The log checked.
    pub path: PathBuf,
    /// Lines read (a torn last line included).
    pub line_count: u64,
    /// Audit records in the chain.
    pub record_count: u64,
    /// Lines before the chain's first line that are records of the format before the chain
    /// (unchained: they cannot be checked).
    pub unchained_line_count: u64,
    /// Each digest's signature check, in order.
    pub digests: Vec<DigestCheck>,
    /// Where the chain ends, when it has a line.
    pub head: Option<ChainHead>,
    /// Records after the last digest: not sealed by a signature yet (a session still
    /// running, or one that stopped before closing its log; or the tail after them was cut
    /// off, which only a copy of the log kept elsewhere can show).
    pub unsealed_record_count: u64,
    /// Whether digests were checked against a trust store. Without one, every digest counts
    /// as unchecked and only the chain is verified.
    pub signatures_checked: bool,
    /// The first break in the chain, if any.
    pub problem: Option<ChainProblem>,
}

impl Verification {
    /// Whether the chain is unbroken and, when a trust store was given, every digest is
    /// signed by a key in it that is not revoked.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none() && self.digests.iter().all(|d| d.status.is_acceptable())
    }

    /// The digests whose signatures fail.
    pub fn bad_digests(&self) -> impl Iterator<Item = &DigestCheck> {
        self.digests.iter().filter(|d| !d.status.is_acceptable())
    }
}

/// The first place a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChainProblem {
    /// The line was changed after it was written: its hash is not the `prev` the next line
    /// holds (or the next line's `prev` was changed), or it is no longer a chain line.
    Edited {
        /// The line's number in the file (1-based).
        line: u64,
        /// Its `seq`, when it still has one.
        seq: Option<u64>,
        /// What does not match.
        reason: String,
    },
    /// Records are missing: the line's `seq` skips numbers that appear nowhere in the file.
    Deleted {
        /// The line after the gap.
        line: u64,
        /// The first missing `seq`.
        seq: u64,
        /// How many are missing from it on.
        missing_count: u64,
    },
    /// A record is out of its place: the `seq` expected here is further on in the file.
    Reordered {
        /// The line where another `seq` was expected.
        line: u64,
        /// The `seq` expected there.
        seq: u64,
        /// The line holding it.
        found_at_line: u64,
    },
    /// The log ends inside a line (no newline): cut off, by a crash or by hand.
    Truncated {
        /// The cut line.
        line: u64,
        /// Its bytes.
        byte_count: u64,
    },
}

impl std::fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Edited { line, seq, reason } => {
                write!(f, "line {line}")?;
                if let Some(seq) = seq {
                    write!(f, " (seq {seq})")?;
                }
                write!(f, " was edited: {reason}")
            }
            Self::Deleted {
                line,
                seq,
                missing_count: 1,
            } => write!(f, "record seq {seq} was deleted (before line {line})"),
            Self::Deleted {
                line,
                seq,
                missing_count,
            } => write!(
                f,
                "records seq {seq} to {} were deleted (before line {line})",
                seq + missing_count - 1
            ),
            Self::Reordered {
                line,
                seq,
                found_at_line,
            } => write!(
                f,
                "records were reordered: line {line} should hold seq {seq}, which is at line {found_at_line}"
            ),
            Self::Truncated { line, byte_count } => write!(
                f,
                "the log was truncated: line {line} ({byte_count} bytes) ends without a newline"
            ),
        }
    }
}

/// One digest's signature check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct DigestCheck {
    /// The digest's line in the file.
    pub line: u64,
    /// Its `seq`.
    pub seq: u64,
    /// What the check found.
    pub status: DigestStatus,
}

/// What a digest's signature check found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DigestStatus {
    /// Signed by a trusted key over exactly this chain head and time.
    Valid {
        /// The key.
        key_id: String,
        /// Its holder, as the trust store names it.
        publisher: String,
        /// Whether the key has been rotated out (its signatures still count).
        retired: bool,
    },
    /// Not checked: no trust store was given.
    NotChecked {
        /// The key it claims, when signed.
        key_id: Option<String>,
    },
    /// No signature, where a trust store asks for one.
    Unsigned,
    /// Signed by a key the trust store does not hold.
    UnknownKey {
        /// The key it claims.
        key_id: String,
    },
    /// Signed by a revoked key.
    RevokedKey {
        /// The key.
        key_id: String,
    },
    /// The signature does not match: the digest (or the chain before it) was forged.
    Invalid {
        /// The key it claims.
        key_id: String,
    },
    /// Not a well-formed signature.
    Malformed {
        /// Why.
        reason: String,
    },
}

impl DigestStatus {
    /// Whether the digest counts as sound.
    pub fn is_acceptable(&self) -> bool {
        matches!(self, Self::Valid { .. } | Self::NotChecked { .. })
    }

    fn from_check(check: SignatureCheck) -> Self {
        match check {
            SignatureCheck::Valid {
                key,
                publisher,
                retired,
            } => Self::Valid {
                key_id: key.to_string(),
                publisher,
                retired,
            },
            SignatureCheck::Unsigned => Self::Unsigned,
            SignatureCheck::UnknownKey(key_id) => Self::UnknownKey { key_id },
            SignatureCheck::RevokedKey(key) => Self::RevokedKey {
                key_id: key.to_string(),
            },
            SignatureCheck::Invalid(key) => Self::Invalid {
                key_id: key.to_string(),
            },
            SignatureCheck::Malformed(reason) => Self::Malformed { reason },
            other => Self::Malformed {
                reason: other.to_string(),
            },
        }
    }
}

/// What one line says about the chain.
struct Facts {
    seq: Option<u64>,
    prev: Option<String>,
    hash: String,
    /// Why the line is not a chain line, when it is not.
    unparsed: Option<String>,
    is_record: bool,
    /// Whether the line is an audit record of the format before the chain (no `seq`).
    legacy: bool,
}

/// Checks the log at `path`: every line links to the one before, `seq` runs without gaps,
/// the file ends on a whole line, and (when `trust` is given) every digest is signed by a
/// key it trusts. Reports the first break, not just that there is one.
pub fn verify(path: &Path, trust: Option<&TrustStore>) -> Result<Verification, ReadError> {
    let file = std::fs::File::open(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut reader = BufReader::new(file);
    let mut facts = Vec::new();
    let mut digests = Vec::new();
    let mut torn = None;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| ReadError::Io {
                path: path.to_owned(),
                source,
            })?;
        if n == 0 {
            break;
        }
        let line_no = facts.len() as u64 + 1;
        if buf.last() != Some(&b'\n') {
            torn = Some(ChainProblem::Truncated {
                line: line_no,
                byte_count: buf.len() as u64,
            });
            break;
        }
        let bytes = &buf[..buf.len() - 1];
        let hash = line_hash(bytes);
        match serde_json::from_slice::<ChainLine>(bytes) {
            Ok(line) => {
                if let LineBody::Digest(digest) = &line.body {
                    let status = match (trust, &digest.signature) {
                        (None, signature) => DigestStatus::NotChecked {
                            key_id: signature.as_ref().map(|s| s.key_id.clone()),
                        },
                        (Some(_), None) => DigestStatus::Unsigned,
                        (Some(trust), Some(signature)) => {
                            DigestStatus::from_check(crate::signing::check(
                                trust,
                                signature,
                                line.seq,
                                &line.prev,
                                digest.time,
                            ))
                        }
                    };
                    digests.push(DigestCheck {
                        line: line_no,
                        seq: line.seq,
                        status,
                    });
                }
                facts.push(Facts {
                    seq: Some(line.seq),
                    prev: Some(line.prev),
                    hash,
                    unparsed: None,
                    is_record: matches!(line.body, LineBody::Record(_)),
                    legacy: false,
                });
            }
            Err(e) => facts.push(Facts {
                seq: None,
                prev: None,
                hash,
                unparsed: Some(e.to_string()),
                is_record: false,
                legacy: serde_json::from_slice::<AuditRecord>(bytes).is_ok(),
            }),
        }
    }
    let unchained = facts.iter().take_while(|f| f.legacy).count();
    let problem = first_break(&facts, unchained).or(torn);
    let chain = &facts[unchained..];
    let last_digest = chain
        .iter()
        .rposition(|f| f.seq.is_some() && !f.is_record && f.unparsed.is_none());
    let unsealed_records = chain[last_digest.map_or(0, |at| at + 1)..]
        .iter()
        .filter(|f| f.is_record)
        .count() as u64;
    Ok(Verification {
        path: path.to_owned(),
        line_count: facts.len() as u64
            + u64::from(matches!(problem, Some(ChainProblem::Truncated { .. }))),
        record_count: chain.iter().filter(|f| f.is_record).count() as u64,
        unchained_line_count: unchained as u64,
        digests,
        head: chain.last().and_then(|f| {
            f.seq.map(|seq| ChainHead {
                seq,
                hash: f.hash.clone(),
            })
        }),
        unsealed_record_count: unsealed_records,
        signatures_checked: trust.is_some(),
        problem,
    })
}

/// The first break in the chain that starts at `facts[start]`.
fn first_break(facts: &[Facts], start: usize) -> Option<ChainProblem> {
    let mut expected = 1;
    let mut previous_hash = match start {
        0 => GENESIS.to_owned(),
        n => facts[n - 1].hash.clone(),
    };
    for (index, fact) in facts.iter().enumerate().skip(start) {
        let line = index as u64 + 1;
        let (Some(seq), Some(prev)) = (fact.seq, &fact.prev) else {
            return Some(ChainProblem::Edited {
                line,
                seq: None,
                reason: format!(
                    "it is not a chain line ({})",
                    fact.unparsed.as_deref().unwrap_or("no seq")
                ),
            });
        };
        if seq != expected {
            let later = facts[index + 1..]
                .iter()
                .position(|f| f.seq == Some(expected))
                .map(|at| index + 1 + at);
            return Some(match later {
                Some(at) => ChainProblem::Reordered {
                    line,
                    seq: expected,
                    found_at_line: at as u64 + 1,
                },
                None if seq > expected => ChainProblem::Deleted {
                    line,
                    seq: expected,
                    missing_count: seq - expected,
                },
                None => ChainProblem::Reordered {
                    line,
                    seq: expected,
                    found_at_line: facts[..index]
                        .iter()
                        .position(|f| f.seq == Some(seq))
                        .map_or(line, |at| at as u64 + 1),
                },
            });
        }
        if *prev != previous_hash {
            return Some(match index.checked_sub(1) {
                Some(before) if before >= start => ChainProblem::Edited {
                    line: before as u64 + 1,
                    seq: facts[before].seq,
                    reason: format!(
                        "its SHA-256 is not the prev line {line} holds (or that line's prev was changed)"
                    ),
                },
                _ => ChainProblem::Edited {
                    line,
                    seq: Some(seq),
                    reason: "its prev does not link it to the start of the chain".to_owned(),
                },
            });
        }
        expected = seq + 1;
        previous_hash = fact.hash.clone();
    }
    None
}
