//! Where reports, failures, narration and progress go, per output mode.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use crate::report::{ErrorKind, ErrorReport, Report, exit};
use crate::{Human, Stream};

/// How a command prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OutputMode {
    /// Lines for people on stdout; narration with it; progress and errors on stderr.
    #[default]
    Human,
    /// Exactly one JSON document on stdout, success or failure; narration and progress
    /// as human lines on stderr.
    Json,
    /// One JSON document per line on stdout: each progress event as it happens, then the
    /// result (or the failure) as the last line; narration on stderr.
    JsonLines,
}

impl OutputMode {
    /// The `--output` values: `human` (also `table`, the launcher's old name), `json`,
    /// `jsonl`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "human" | "table" | "text" => Some(Self::Human),
            "json" => Some(Self::Json),
            "jsonl" | "json-lines" | "jsonlines" => Some(Self::JsonLines),
            _ => None,
        }
    }
}

/// The JSON document every command prints: `{"schema": "amiref/<kind>/v1", "ok": ...,
/// "result": ..., "error": ...}`. `ok` is true exactly when there is no `error`; `result`
/// is there whenever the command got as far as a report (also beside an error, when the
/// report itself records the failure).
#[derive(Debug, Serialize)]
pub struct Document<'a, T: Serialize> {
    /// `amiref/<kind>/v1`.
    pub schema: String,
    /// Whether the command succeeded.
    pub ok: bool,
    /// The report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'a T>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a ErrorReport>,
}

/// The schema name of a report kind: `amiref/resolution/v1`.
pub fn schema_id(kind: &str) -> String {
    format!("amiref/{kind}/v1")
}

type Sink = Arc<Mutex<dyn Write + Send>>;

/// Prints a command's output in one [`OutputMode`] (ripgrep's printer model: one data model,
/// a printer per format).
///
/// A command makes one `Printer`, narrates with [`Printer::say`] as it goes, feeds progress
/// to it (it is a `ProgressSink`), and ends with exactly one [`Printer::report`] or
/// [`Printer::fail`], whose return value is its exit code. Writes to a closed pipe are
/// dropped quietly (`amiref ... | head`).
///
/// ```
/// use amiref_report::{OutputMode, Printer};
/// let (printer, captured) = Printer::capture(OutputMode::Json);
/// printer.say("🔍 Resolving...");
/// let code = printer.fail_as(
///     "resolution",
///     &amiref_report::ErrorReport::new(amiref_report::ErrorKind::NoImage, "nothing fits"),
/// );
/// assert_eq!(code, 1);
/// let doc: serde_json::Value = serde_json::from_str(&captured.stdout()).unwrap();
/// assert_eq!(doc["schema"], "amiref/resolution/v1");
/// assert_eq!(doc["ok"], false);
/// assert_eq!(captured.stderr(), "🔍 Resolving...\n");
/// ```
#[derive(Clone)]
pub struct Printer {
    mode: OutputMode,
    out: Sink,
    err: Sink,
    /// The last progress lines written for people: a poll that says the same again (a
    /// change set still `APPLYING`) is not repeated.
    last_progress: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer").field("mode", &self.mode).finish()
    }
}

impl Printer {
    /// A printer on the process's stdout and stderr.
    pub fn stdio(mode: OutputMode) -> Self {
        Self::to_writers(mode, std::io::stdout(), std::io::stderr())
    }

    /// A printer on other writers.
    pub fn to_writers(
        mode: OutputMode,
        out: impl Write + Send + 'static,
        err: impl Write + Send + 'static,
    ) -> Self {
        Self {
            mode,
            out: Arc::new(Mutex::new(out)),
            err: Arc::new(Mutex::new(err)),
            last_progress: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// A printer into memory, and what it printed (for tests).
    pub fn capture(mode: OutputMode) -> (Self, Captured) {
        let captured = Captured::default();
        let printer = Self::to_writers(
            mode,
            SharedBuffer(Arc::clone(&captured.out)),
            SharedBuffer(Arc::clone(&captured.err)),
        );
        (printer, captured)
    }

    /// The mode.
    pub fn mode(&self) -> OutputMode {
        self.mode
    }

    /// Whether output is for people.
    pub fn is_human(&self) -> bool {
        self.mode == OutputMode::Human
    }

    /// Prints the command's result and returns the exit code: 0, or the code of the
    /// report's own [`Report::failure`] (printed beside it: `error: ...` on stderr for
    /// people, `"ok": false` with both `result` and `error` in JSON).
    pub fn report<R: Report>(&self, report: &R) -> u8 {
        let failure = report.failure();
        match self.mode {
            OutputMode::Human => {
                let mut human = Human::new();
                report.human(&mut human);
                self.write_human(&human, Stream::Out);
                if let Some(f) = &failure {
                    self.write_failure(f);
                }
            }
            OutputMode::Json | OutputMode::JsonLines => {
                let written = result_value(report).and_then(|json| {
                    self.write_document(&Document {
                        schema: schema_id(R::KIND),
                        ok: failure.is_none(),
                        result: Some(&json),
                        error: failure.as_ref(),
                    })
                });
                if let Err(e) = written {
                    return self.fail_as(
                        R::KIND,
                        &ErrorReport::new(
                            ErrorKind::Internal,
                            format!("cannot write the {} report as JSON: {e}", R::KIND),
                        ),
                    );
                }
            }
        }
        failure.map_or(exit::OK, |f| f.exit_code)
    }

    /// Prints why a command that would have given an `R` failed; returns the exit code.
    pub fn fail<R: Report>(&self, error: &ErrorReport) -> u8 {
        self.fail_as(R::KIND, error)
    }

    /// [`Printer::fail`] for a report kind named by text.
    pub fn fail_as(&self, kind: &str, error: &ErrorReport) -> u8 {
        match self.mode {
            OutputMode::Human => self.write_failure(error),
            OutputMode::Json | OutputMode::JsonLines => {
                let document: Document<'_, ()> = Document {
                    schema: schema_id(kind),
                    ok: false,
                    result: None,
                    error: Some(error),
                };
                // An ErrorReport always serialises (its details are already a Value).
                let _ = self.write_document(&document);
            }
        }
        error.exit_code
    }

    /// A line telling people what is happening (`🔍 Resolving AMI for template: ...`): on
    /// stdout for people, on stderr in the JSON modes so stdout stays one document.
    pub fn say(&self, line: impl AsRef<str>) {
        let mut human = Human::new();
        human.text(line);
        self.narrate(&human);
    }

    /// Lines rendered elsewhere (a report's fragment, shown before the command is done):
    /// stdout lines on stdout for people and on stderr in the JSON modes; stderr lines on
    /// stderr.
    pub fn narrate(&self, human: &Human) {
        let out = if self.is_human() {
            Stream::Out
        } else {
            Stream::Err
        };
        self.write_human(human, out);
    }

    /// A note for people on stderr in every mode (a prompt's echo, a warning about the
    /// output itself).
    pub fn note(&self, line: impl AsRef<str>) {
        let mut human = Human::new();
        human.err(line);
        self.write_human(&human, Stream::Err);
    }

    /// A progress event: one JSON line on stdout in [`OutputMode::JsonLines`]
    /// (`{"schema": "amiref/progress/v1", "ok": true, "result": {"event": ...}}`), else a
    /// human line on stderr.
    pub fn progress_json<P: Report>(&self, event: &P) {
        match self.mode {
            OutputMode::JsonLines => {
                // A progress event that cannot be written is dropped: the result says how
                // the operation ended.
                let _ = result_value(event).and_then(|json| {
                    self.write_document(&Document {
                        schema: schema_id(P::KIND),
                        ok: true,
                        result: Some(&json),
                        error: None,
                    })
                });
            }
            OutputMode::Human | OutputMode::Json => {
                let mut human = Human::new();
                event.human(&mut human);
                let lines: Vec<String> = human.all().iter().map(|(_, l)| l.clone()).collect();
                let mut last = self.last_progress.lock().unwrap_or_else(|p| p.into_inner());
                if *last != lines {
                    self.write_human(&human, Stream::Err);
                    *last = lines;
                }
            }
        }
    }

    fn write_human(&self, human: &Human, out_stream: Stream) {
        for (stream, line) in human.all() {
            let sink = match (stream, out_stream) {
                (Stream::Out, Stream::Out) => &self.out,
                _ => &self.err,
            };
            write_line(sink, line);
        }
    }

    fn write_failure(&self, error: &ErrorReport) {
        if let Some(human) = &error.human {
            self.write_human(human, Stream::Out);
            return;
        }
        let prefix = if error.kind == ErrorKind::Aborted {
            "aborted"
        } else {
            "error"
        };
        let mut human = Human::new();
        human.err(format!("{prefix}: {}", error.message));
        self.write_human(&human, Stream::Err);
    }

    fn write_document<T: Serialize>(&self, document: &T) -> Result<(), serde_json::Error> {
        let text = match self.mode {
            OutputMode::JsonLines => serde_json::to_string(document)?,
            _ => serde_json::to_string_pretty(document)?,
        };
        write_line(&self.out, &text);
        Ok(())
    }
}

/// A report's JSON form as a value, its money rounded to micro-dollars whatever type the
/// report keeps it in ([`crate::units::round_money`]). Keys of the result come out in name
/// order.
fn result_value<R: Report>(report: &R) -> Result<serde_json::Value, serde_json::Error> {
    let mut value = serde_json::to_value(report.to_json())?;
    crate::units::round_money(&mut value);
    Ok(value)
}

/// Writes one line; a closed pipe or a full disk cannot be reported anywhere, so it is
/// dropped (the exit code still says how the command ended).
fn write_line(sink: &Sink, line: &str) {
    let mut w = sink.lock().unwrap_or_else(PoisonError::into_inner);
    let _ = writeln!(w, "{line}").and_then(|()| w.flush());
}

/// What a [`Printer::capture`] printer printed.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
}

impl Captured {
    /// Stdout so far.
    pub fn stdout(&self) -> String {
        read(&self.out)
    }

    /// Stderr so far.
    pub fn stderr(&self) -> String {
        read(&self.err)
    }
}

fn read(buffer: &Mutex<Vec<u8>>) -> String {
    String::from_utf8_lossy(&buffer.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
}

struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
