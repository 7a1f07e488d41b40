//! Progress of long operations: one spinner line per region on a terminal, otherwise what
//! the printer does with it (a line on stderr, or a JSON line on stdout with `--output
//! jsonl`). The text of each line is amiref-report's.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use amiref_lifecycle::{ProgressEvent, ProgressSink};
use amiref_report::{Printer, progress_line, sanitize};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Where progress goes for one command.
pub(crate) struct Progress<'a> {
    printer: &'a Printer,
    bars: Option<Bars>,
}

/// Spinners on stderr, one per region.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl<'a> Progress<'a> {
    /// Spinners when people read a terminal, else the printer.
    pub(crate) fn new(printer: &'a Printer) -> Self {
        let bars = (printer.is_human() && std::io::stderr().is_terminal()).then(|| Bars {
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
        });
        Self { printer, bars }
    }
}

impl Bars {
    fn bar(&self, key: &str) -> ProgressBar {
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        bars.entry(key.to_owned())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix:<16} {wide_msg}")
                {
                    bar.set_style(style);
                }
                bar.set_prefix(sanitize(key).into_owned());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    }
}

impl ProgressSink for Progress<'_> {
    fn emit(&self, event: ProgressEvent) {
        let Some(bars) = &self.bars else {
            self.printer.emit(event);
            return;
        };
        let line = progress_line(&event);
        let bar = bars.bar(&line.key);
        let message = sanitize(&line.message).into_owned();
        if line.finished {
            bar.finish_with_message(message);
        } else {
            bar.set_message(message);
        }
    }
}

impl Drop for Progress<'_> {
    /// Ends every spinner so that the result starts on a line of its own.
    fn drop(&mut self) {
        if let Some(bars) = &self.bars {
            let all = bars.bars.lock().unwrap_or_else(|p| p.into_inner());
            for bar in all.values().filter(|b| !b.is_finished()) {
                bar.finish();
            }
        }
    }
}
