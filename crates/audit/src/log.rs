//! [`FileAuditLog`]: the audit sink that appends hash-chained lines to one file, shared by
//! every amiref process that writes it.
//!
//! Each append opens the file (`O_APPEND`), takes an exclusive advisory lock on it
//! (`flock`), re-reads the last line under the lock to learn the chain's head (another
//! process may have appended since), writes the new line with one `write` of the whole
//! line, syncs it to disk when the log is durable, and lets the lock go. A write that fails
//! part way is cut off again, so a line is in the file whole or not at all. A last line
//! without its newline (a writer that crashed mid-write) is moved aside to
//! `<log>.torn-<time>` with a warning before anything is appended: never glued to.

use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use amiref_lifecycle::{AuditError, AuditRecord, AuditSink};
use amiref_registry::PublisherKey;
use chrono::Utc;

use crate::line::{
    ChainHead, ChainLine, Digest, DigestReason, GENESIS, LineBody, head_of, line_hash,
};

/// How many records a writer appends between two periodic digests, unless told otherwise.
pub const DEFAULT_DIGEST_EVERY: u32 = 100;

/// Whether each line is synced to disk before the append returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// `fsync` (`sync_data`) every line before the append returns: a record an operation
    /// went ahead on survives a power cut. Real runs use this.
    #[default]
    Fsync,
    /// Leave the lines to the operating system's cache: survives a crash of amiref, not of
    /// the machine. Runs on a world (simulated clouds) use this.
    Cached,
}

/// Where a chain stands: what the last whole line of the file is.
enum Tail {
    /// The file is empty.
    Empty,
    /// The last line is a chain line.
    Chain(ChainHead),
    /// The last line is not a chain line (a record written before the chain, by the old
    /// JSON-lines sink): a chain starts after it, linked to its hash.
    Foreign(String),
}

impl Tail {
    fn next(&self) -> (u64, String) {
        match self {
            Self::Empty => (1, GENESIS.to_owned()),
            Self::Chain(head) => (head.seq + 1, head.hash.clone()),
            Self::Foreign(hash) => (1, hash.clone()),
        }
    }
}

#[derive(Debug, Default)]
struct WriterState {
    /// Records this writer appended since its last digest.
    since_digest: u32,
    /// Torn lines this writer moved aside.
    set_aside: Vec<PathBuf>,
}

/// The audit log: an [`AuditSink`] appending each record as one hash-chained JSON line,
/// with a digest (signed when a key is configured) every [`FileAuditLog::digest_every`]
/// records and when the log is closed or dropped.
///
/// ```
/// use amiref_audit::{Durability, FileAuditLog};
/// use amiref_lifecycle::{Actor, AuditOutcome, AuditRecord, AuditSink};
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("audit.jsonl");
/// let log = FileAuditLog::open(&path).unwrap().durability(Durability::Cached);
/// let actor = Actor { account: "123456789012".into(), arn: "arn:aws:iam::123456789012:user/ada".into() };
/// log.record(&AuditRecord::new(actor, "share", AuditOutcome::Succeeded)).unwrap();
/// log.close().unwrap();
/// let verified = amiref_audit::verify(&path, None).unwrap();
/// assert!(verified.is_intact());
/// assert_eq!(verified.record_count, 1);
/// ```
pub struct FileAuditLog {
    path: PathBuf,
    durability: Durability,
    digest_every: u32,
    key: Option<PublisherKey>,
    state: Mutex<WriterState>,
}

impl std::fmt::Debug for FileAuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileAuditLog")
            .field("path", &self.path)
            .field("durability", &self.durability)
            .field("digest_every", &self.digest_every)
            .field("key", &self.key.as_ref().map(PublisherKey::key_id))
            .finish_non_exhaustive()
    }
}

impl FileAuditLog {
    /// Opens (creating if needed) the log at `path`, durable ([`Durability::Fsync`]), with a
    /// digest every [`DEFAULT_DIGEST_EVERY`] records and no signing key. A torn last line is
    /// moved aside now ([`FileAuditLog::set_aside`] names where).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let log = Self {
            path: path.as_ref().to_path_buf(),
            durability: Durability::default(),
            digest_every: DEFAULT_DIGEST_EVERY,
            key: None,
            state: Mutex::new(WriterState::default()),
        };
        let mut file = log.open_locked()?;
        let (_, set_aside) = log.settle_tail(&mut file).map_err(|e| log.io(e))?;
        if let Some(path) = set_aside {
            log.lock_state()?.set_aside.push(path);
        }
        Ok(log)
    }

    /// Syncs each line to disk, or not.
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Writes a digest after every `records` records this writer appends (at least 1).
    #[must_use]
    pub fn digest_every(mut self, records: u32) -> Self {
        self.digest_every = records.max(1);
        self
    }

    /// Signs digests with `key`; without one they are written unsigned (still chained).
    #[must_use]
    pub fn signing_key(mut self, key: PublisherKey) -> Self {
        self.key = Some(key);
        self
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where torn last lines found by this writer were moved to.
    pub fn set_aside(&self) -> Vec<PathBuf> {
        self.lock_state()
            .map(|s| s.set_aside.clone())
            .unwrap_or_default()
    }

    /// Appends `record` as the chain's next line; returns the new head.
    pub fn append(&self, record: &AuditRecord) -> Result<ChainHead, AuditError> {
        let body = LineBody::Record(record.clone());
        let mut state = self.lock_state()?;
        let head = self.append_body(&mut state, |_, _| Ok(body))?;
        state.since_digest += 1;
        if state.since_digest >= self.digest_every {
            // The record is written; a digest that fails now is tried again after the next
            // record, so it does not fail the operation.
            if let Err(e) = self.append_digest(&mut state, DigestReason::Periodic) {
                tracing::warn!(log = %self.path.display(), error = %e, "could not write a periodic audit digest");
            }
        }
        Ok(head)
    }

    /// Writes a digest now, sealing every line before it.
    pub fn write_digest(&self, reason: DigestReason) -> Result<ChainHead, AuditError> {
        let mut state = self.lock_state()?;
        self.append_digest(&mut state, reason)
    }

    /// Seals what this writer appended with a closing digest (none when it appended nothing
    /// since its last digest). Dropping the log does the same, warning on failure.
    pub fn close(&self) -> Result<Option<ChainHead>, AuditError> {
        let mut state = self.lock_state()?;
        if state.since_digest == 0 {
            return Ok(None);
        }
        self.append_digest(&mut state, DigestReason::Close)
            .map(Some)
    }

    fn append_digest(
        &self,
        state: &mut WriterState,
        reason: DigestReason,
    ) -> Result<ChainHead, AuditError> {
        let time = Utc::now();
        let head = self.append_body(state, |seq, prev| {
            Ok(LineBody::Digest(Digest {
                time,
                reason,
                signature: self
                    .key
                    .as_ref()
                    .and_then(|key| crate::signing::sign(key, seq, prev, time)),
            }))
        })?;
        state.since_digest = 0;
        Ok(head)
    }

    fn lock_state(&self) -> Result<std::sync::MutexGuard<'_, WriterState>, AuditError> {
        self.state.lock().map_err(|_| AuditError::Poisoned)
    }

    fn io(&self, source: io::Error) -> AuditError {
        AuditError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// The file, opened for appending and locked exclusively until it is closed.
    fn open_locked(&self) -> Result<File, AuditError> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        file.lock().map_err(|e| self.io(e))?;
        Ok(file)
    }

    /// Appends the line `body` makes for its `seq` and `prev`, under the file's lock.
    fn append_body(
        &self,
        state: &mut WriterState,
        body: impl FnOnce(u64, &str) -> Result<LineBody, AuditError>,
    ) -> Result<ChainHead, AuditError> {
        let mut file = self.open_locked()?;
        let tail = self.settle_tail(&mut file).map_err(|e| self.io(e))?;
        if let Some(path) = tail.1 {
            state.set_aside.push(path);
        }
        let (seq, prev) = tail.0.next();
        let line = ChainLine {
            seq,
            body: body(seq, &prev)?,
            prev,
        };
        let mut bytes = serde_json::to_vec(&line)?;
        let hash = line_hash(&bytes);
        bytes.push(b'\n');
        self.write_whole(&mut file, &bytes)
            .map_err(|e| self.io(e))?;
        Ok(ChainHead { seq, hash })
    }

    /// One `write` of the whole line; on an error or a short write the file is cut back to
    /// its length before, so no part of the line stays.
    fn write_whole(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        let before = file.metadata()?.len();
        let written = match file.write(bytes) {
            Ok(n) if n == bytes.len() => Ok(()),
            Ok(n) => Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!(
                    "only {n} of the line's {} bytes were written (is the disk full?); the part written was removed",
                    bytes.len()
                ),
            )),
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            if let Err(cut) = file.set_len(before) {
                tracing::warn!(log = %self.path.display(), error = %cut, "could not remove a partly written audit line");
            }
            return Err(e);
        }
        if self.durability == Durability::Fsync {
            file.sync_data()?;
        }
        Ok(())
    }

    /// Reads where the chain stands, first moving a torn last line aside.
    fn settle_tail(&self, file: &mut File) -> io::Result<(Tail, Option<PathBuf>)> {
        let mut len = file.metadata()?.len();
        if len == 0 {
            return Ok((Tail::Empty, None));
        }
        let mut set_aside = None;
        if read_range(file, len - 1, len)? != b"\n" {
            let start = last_newline_before(file, len)?.map_or(0, |at| at + 1);
            let fragment = read_range(file, start, len)?;
            let aside = self.move_aside(&fragment)?;
            file.set_len(start)?;
            file.sync_data()?;
            tracing::warn!(
                log = %self.path.display(),
                bytes = fragment.len(),
                moved_to = %aside.display(),
                "the audit log's last line had no newline (a write cut off by a crash); it was moved aside and the chain continues from the last whole line"
            );
            set_aside = Some(aside);
            len = start;
            if len == 0 {
                return Ok((Tail::Empty, set_aside));
            }
        }
        let start = last_newline_before(file, len - 1)?.map_or(0, |at| at + 1);
        let last = read_range(file, start, len - 1)?;
        let tail = match head_of(&last) {
            Some(head) => Tail::Chain(head),
            None => Tail::Foreign(line_hash(&last)),
        };
        Ok((tail, set_aside))
    }

    /// Writes a torn fragment to a new file beside the log.
    fn move_aside(&self, fragment: &[u8]) -> io::Result<PathBuf> {
        let stamp = Utc::now().format("%Y%m%dT%H%M%S%.9fZ");
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".torn-{stamp}"));
        let aside = self.path.with_file_name(name);
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&aside)?;
        out.write_all(fragment)?;
        out.sync_all()?;
        Ok(aside)
    }
}

impl AuditSink for FileAuditLog {
    fn record(&self, record: &AuditRecord) -> Result<(), AuditError> {
        self.append(record).map(|_| ())
    }
}

impl Drop for FileAuditLog {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::warn!(log = %self.path.display(), error = %e, "could not write the closing audit digest");
        }
    }
}

/// The bytes of `file` in `start..end`.
fn read_range(file: &mut File, start: u64, end: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; usize::try_from(end - start).unwrap_or(usize::MAX)];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut buf)?;
    Ok(buf)
}

/// The offset of the last newline in `file` before `end`, reading backwards in blocks.
fn last_newline_before(file: &mut File, end: u64) -> io::Result<Option<u64>> {
    const BLOCK: u64 = 8192;
    let mut hi = end;
    while hi > 0 {
        let lo = hi.saturating_sub(BLOCK);
        let block = read_range(file, lo, hi)?;
        if let Some(at) = block.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(lo + at as u64));
        }
        hi = lo;
    }
    Ok(None)
}
