//! Progress of long operations: one spinner line per region (a build: per stage) on a
//! terminal, otherwise what the printer does with it (a line on stderr, or a JSON line on
//! stdout with `--output jsonl`). The text of each line is amiref-report's.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use amiref_build::{BuildEvent, BuildEventSink};
use amiref_lifecycle::{ProgressEvent, ProgressSink};
use amiref_report::build::{build_event_line, build_event_log_line};
use amiref_report::{OutputMode, Printer, ProgressLine, progress_line, sanitize};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Where progress goes for one command.
pub(crate) struct Progress<'a> {
    printer: &'a Printer,
    bars: Option<Bars>,
}

/// Spinners on stderr, one per key (a region, a build's stage).
struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl<'a> Progress<'a> {
    /// Spinners when people read a terminal, else the printer.
    pub(crate) fn new(printer: &'a Printer) -> Self {
        Self {
            printer,
            bars: Bars::for_terminal(printer),
        }
    }
}

/// A spinner's line: the key, then the message.
const SPINNER: &str = "{spinner} {prefix:<16} {wide_msg}";
/// A running script's line: how much of its timeout has passed.
const RUNNING: &str = "{spinner} {prefix:<16} [{bar:20}] {wide_msg}";

impl Bars {
    /// Bars when people read a terminal.
    fn for_terminal(printer: &Printer) -> Option<Self> {
        (printer.is_human() && std::io::stderr().is_terminal()).then(|| Self {
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
        })
    }

    /// The bar of `key`, shown as `label`; made on first use.
    fn bar(&self, key: &str, label: &str) -> ProgressBar {
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        bars.entry(key.to_owned())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                set_style(&bar, SPINNER);
                bar.set_prefix(sanitize(label).into_owned());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    }
}

fn set_style(bar: &ProgressBar, template: &str) {
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
}

impl ProgressSink for Progress<'_> {
    fn emit(&self, event: ProgressEvent) {
        let Some(bars) = &self.bars else {
            self.printer.emit(event);
            return;
        };
        show(bars, &progress_line(&event));
    }
}

/// A lifecycle event on its region's spinner.
fn show(bars: &Bars, line: &ProgressLine) {
    let bar = bars.bar(&line.key, &line.key);
    say(&bar, &line.message, line.finished);
}

/// A bar's message, and whether it is the last.
fn say(bar: &ProgressBar, message: &str, finished: bool) {
    let message = sanitize(message).into_owned();
    if finished {
        bar.finish_with_message(message);
    } else {
        bar.set_message(message);
    }
}

impl Drop for Bars {
    /// Ends every spinner so that the result starts on a line of its own.
    fn drop(&mut self) {
        let all = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        for bar in all.values().filter(|b| !b.is_finished()) {
            bar.finish();
        }
    }
}

/// Where a build's progress goes: a bar per stage on a terminal (a bar per region while
/// copying; a running script's bar fills towards its timeout), else the printer (a line
/// on stderr, or an `amiref/build_event/v1` line with `--output jsonl`).
pub(crate) struct BuildProgress<'a> {
    printer: &'a Printer,
    bars: Option<Bars>,
    /// Several builds run at once (one per architecture): each line names its build.
    concurrent: bool,
}

impl<'a> BuildProgress<'a> {
    /// Bars when people read a terminal, else the printer.
    pub(crate) fn new(printer: &'a Printer) -> Self {
        Self {
            printer,
            bars: Bars::for_terminal(printer),
            concurrent: false,
        }
    }

    /// The same, for builds that run at once when `concurrent`.
    pub(crate) fn concurrent(mut self, concurrent: bool) -> Self {
        self.concurrent = concurrent;
        self
    }
}

/// The lifecycle's events outside a build (`plan --apply`'s copies) on the same bars.
impl ProgressSink for BuildProgress<'_> {
    fn emit(&self, event: ProgressEvent) {
        let Some(bars) = &self.bars else {
            self.printer.emit(event);
            return;
        };
        show(bars, &progress_line(&event));
    }
}

impl BuildEventSink for BuildProgress<'_> {
    fn emit(&self, event: BuildEvent) {
        let Some(bars) = &self.bars else {
            match build_event_log_line(&event, true) {
                // Concurrent builds' lines for people name their build; JSON lines do.
                Some(line) if self.concurrent && self.printer.mode() != OutputMode::JsonLines => {
                    self.printer.note(line);
                }
                Some(_) | None => self.printer.progress_json(&event),
            }
            return;
        };
        let line = build_event_line(&event);
        // Each build has its own bars.
        let build = line.build.as_ref().map_or("", |b| b.as_str());
        let bar = bars.bar(
            &format!("{build} {}", line.key),
            &line.label(self.concurrent),
        );
        if let Some((elapsed, timeout)) = line.running {
            if bar.length() != Some(timeout) {
                set_style(&bar, RUNNING);
                bar.set_length(timeout);
            }
            bar.set_position(elapsed);
        }
        say(&bar, &line.message, line.finished);
    }
}
