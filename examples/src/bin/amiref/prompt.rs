//! The launcher's answers to the session's questions: terminal prompts on stderr (default
//! no), `--yes` for every question, and no answer at all when stdin is not a terminal (the
//! session then declines, exit 3, rather than leaving the command waiting).

use std::io::{BufRead, IsTerminal, Write};

use amiref::CopyPlan;
use amiref_report::session::copying_line;
use amiref_report::{Printer, units};
use amiref_session::{Answer, Decisions, LaunchChoice, LaunchPlan};

/// Prompts on the terminal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prompt<'a> {
    /// `--yes`: every question answered yes without asking.
    pub(crate) assume_yes: bool,
    /// Where to say what an answer sets going.
    pub(crate) printer: &'a Printer,
}

impl Prompt<'_> {
    /// Asks `question` (default no). With `--yes` the answer is yes and is echoed; without
    /// a terminal nobody can answer.
    fn ask(&self, question: &str) -> Answer {
        let mut err = std::io::stderr().lock();
        if self.assume_yes {
            let _ = writeln!(err, "{question} [y/N]: y (--yes)");
            return Answer::Yes;
        }
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            let _ = writeln!(
                err,
                "{question} [y/N]: stdin is not a terminal; rerun with --yes to accept"
            );
            return Answer::CannotAsk;
        }
        let _ = write!(err, "{question} [y/N]: ");
        let _ = err.flush();
        let mut answer = String::new();
        match stdin.lock().read_line(&mut answer) {
            Ok(_) if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES") => Answer::Yes,
            Ok(_) => Answer::No,
            Err(_) => Answer::CannotAsk,
        }
    }
}

impl Decisions for Prompt<'_> {
    fn approve_copy(&self, _plan: &LaunchPlan, copy: &CopyPlan) -> Answer {
        let answer = self.ask(&format!(
            "Copy {} from {} to {} ({}, {})?",
            copy.source_image,
            copy.source_region,
            copy.destination_region,
            units::short_duration(copy.estimated_duration),
            units::usd(copy.total_cost_usd())
        ));
        if answer == Answer::Yes {
            self.printer.say(copying_line(copy));
        }
        answer
    }

    fn keep_script(&self, _plan: &LaunchPlan, faster: &LaunchChoice) -> Answer {
        self.ask(&format!(
            "Continue with script provisioning instead of {} ({})?",
            faster.image,
            units::duration(faster.launch_time())
        ))
    }
}
