//! The launch records amiref writes: one JSON object a line, appended on every launch.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use amiref_core::{Architecture, Region};
use chrono::{DateTime, Utc};

/// How a launch got its software: from a pre-built image, or by running the template's
/// script at first boot.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LaunchMethod {
    /// A pre-built image (in the region, or copied there for the launch).
    Image,
    /// The template's `user_data` script on its base image.
    Script,
}

/// One launch of a template, as amiref records it.
///
/// The JSON form is one line of the [`LaunchLog`]; fields it does not know are ignored, so
/// records a newer amiref writes still read:
///
/// ```
/// use amiref_plan::{LaunchMethod, LaunchRecord};
///
/// let line = r#"{"template":"python-ml","region":"us-east-1","architecture":"x86_64","time":"2026-11-30T09:00:00Z","method":"script","ready_secs":412.5}"#;
/// let record: LaunchRecord = serde_json::from_str(line).unwrap();
/// assert_eq!(record.method, LaunchMethod::Script);
/// assert_eq!(record.ready().unwrap().as_secs(), 412);
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct LaunchRecord {
    /// The template's name.
    pub template: String,
    /// Where it was launched.
    pub region: Region,
    /// The architecture of what was launched.
    pub architecture: Architecture,
    /// When the launch was asked for.
    pub time: DateTime<Utc>,
    /// Image or script.
    pub method: LaunchMethod,
    /// Measured time from the launch request to a ready instance, in seconds, when the
    /// launcher waited for readiness; absent otherwise (never an estimate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_secs: Option<f64>,
}

impl LaunchRecord {
    /// A record with no measured time to ready.
    pub fn new(
        template: impl Into<String>,
        region: Region,
        architecture: Architecture,
        time: DateTime<Utc>,
        method: LaunchMethod,
    ) -> Self {
        Self {
            template: template.into(),
            region,
            architecture,
            time,
            method,
            ready_secs: None,
        }
    }

    /// With a measured time to ready.
    #[must_use]
    pub fn with_ready(mut self, ready: Duration) -> Self {
        self.ready_secs = Some(ready.as_secs_f64());
        self
    }

    /// The measured time to ready, when it is a usable duration.
    pub fn ready(&self) -> Option<Duration> {
        self.ready_secs
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
    }
}

/// A launch log could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchLogError {
    /// Opening or creating the file (or its directory) failed.
    #[error("cannot open the launch log {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Reading it failed part way.
    #[error("cannot read the launch log {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Appending a record failed.
    #[error("cannot append to the launch log {}: {source}", path.display())]
    Append {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A record could not be written as JSON (a time out of JSON's range).
    #[error("cannot write a launch record as JSON: {source}")]
    Encode {
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

/// A line of a launch log that is not a launch record. Reading goes on past it: a log
/// whose writer died mid-line still tells about every other launch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BadLine {
    /// The log file.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column where the problem is, 0 when unknown.
    pub column: usize,
    /// What is wrong, and what was expected.
    pub message: String,
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// What a launch log holds: its records in file order and the lines that are not records.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct LaunchLogContents {
    /// The records, in the order they were written.
    pub records: Vec<LaunchRecord>,
    /// Lines that could not be read as records.
    pub bad_lines: Vec<BadLine>,
}

/// An append-only JSON-lines file of [`LaunchRecord`]s, private to its owner (mode 0600
/// on Unix).
///
/// Each record is written as one line with one `write` call on a file opened for
/// appending, so records from processes that launch at the same time do not interleave
/// (POSIX appends of a line this size land whole on local file systems).
///
/// ```
/// use amiref_plan::{LaunchLog, LaunchMethod, LaunchRecord};
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("launches.jsonl");
/// let log = LaunchLog::open(&path).unwrap();
/// let at = "2026-11-30T09:00:00Z".parse().unwrap();
/// let record = LaunchRecord::new(
///     "python-ml",
///     "us-east-1".parse().unwrap(),
///     amiref_core::Architecture::X86_64,
///     at,
///     LaunchMethod::Image,
/// );
/// log.append(&record).unwrap();
/// let contents = LaunchLog::read(&path).unwrap();
/// assert_eq!(contents.records, [record]);
/// assert!(contents.bad_lines.is_empty());
/// ```
#[derive(Debug)]
pub struct LaunchLog {
    path: PathBuf,
    file: File,
}

impl LaunchLog {
    /// Opens the log for appending, creating it (and its directory) when missing. A new
    /// file is created with mode 0600 and an existing one is set to 0600: launch records
    /// say who launched what, where and when.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LaunchLogError> {
        let path = path.as_ref().to_path_buf();
        let open_error = |source| LaunchLogError::Open {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(open_error)?;
        }
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(open_error)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(open_error)?;
        }
        Ok(Self { path, file })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as one line.
    pub fn append(&self, record: &LaunchRecord) -> Result<(), LaunchLogError> {
        let mut line =
            serde_json::to_vec(record).map_err(|source| LaunchLogError::Encode { source })?;
        line.push(b'\n');
        (&self.file)
            .write_all(&line)
            .and_then(|()| (&self.file).flush())
            .map_err(|source| LaunchLogError::Append {
                path: self.path.clone(),
                source,
            })
    }

    /// Reads every record of the log at `path`; lines that are not records (a torn last
    /// line, a hand edit) are listed in [`LaunchLogContents::bad_lines`], blank lines are
    /// skipped.
    pub fn read(path: impl AsRef<Path>) -> Result<LaunchLogContents, LaunchLogError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| LaunchLogError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = BufReader::new(file);
        let mut contents = LaunchLogContents::default();
        let mut bytes = Vec::new();
        for line in 1.. {
            bytes.clear();
            let n =
                reader
                    .read_until(b'\n', &mut bytes)
                    .map_err(|source| LaunchLogError::Read {
                        path: path.to_path_buf(),
                        source,
                    })?;
            if n == 0 {
                break;
            }
            match parse_line(&bytes) {
                Ok(Some(record)) => contents.records.push(record),
                Ok(None) => {}
                Err((column, message)) => contents.bad_lines.push(BadLine {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message,
                }),
            }
        }
        Ok(contents)
    }
}

/// One line: a record, nothing (blank), or the column and message of what is wrong.
fn parse_line(bytes: &[u8]) -> Result<Option<LaunchRecord>, (usize, String)> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        (
            e.valid_up_to() + 1,
            "found a byte that is not UTF-8, expected a JSON launch record".to_owned(),
        )
    })?;
    let text = text.trim_end_matches(['\n', '\r']);
    if text.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text).map(Some).map_err(|e| {
        (
            e.column(),
            format!(
                "{e}; expected a launch record: {{\"template\", \"region\", \"architecture\", \"time\" (RFC 3339), \"method\" (image or script), optional \"ready_secs\"}}"
            ),
        )
    })
}
