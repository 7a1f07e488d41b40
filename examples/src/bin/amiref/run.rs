//! One command's run: the session the flags describe on the runtime it asks for, the
//! printer of the `--output` mode, and one document (or one human report) at the end.

use std::future::Future;

use amiref_report::{ErrorKind, ErrorReport, OutputMode, Printer, Report};
use amiref_session::{Session, SessionBuilder, SessionError};

use crate::flags::GlobalArgs;

/// Why a command stopped without its report: the error as every output mode prints it.
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) ErrorReport);

impl From<SessionError> for Failure {
    fn from(e: SessionError) -> Self {
        Self(ErrorReport::from(&e))
    }
}

/// What every command runs with.
pub(crate) struct Context {
    builder: Result<SessionBuilder, ErrorReport>,
    runtime: Result<tokio::runtime::Runtime, ErrorReport>,
    printer: Printer,
}

impl Context {
    /// The context the global flags describe. A flag the session refuses (an unknown
    /// region) is reported when a command asks for the session, in its document.
    pub(crate) fn new(global: &GlobalArgs) -> Self {
        let builder = global.session_builder();
        let runtime = match &builder {
            Ok(b) => b.runtime().map_err(|e| ErrorReport::from(&e)),
            // Only to print the error in the command's own document.
            Err(_) => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ErrorReport::new(ErrorKind::Internal, e.to_string())),
        };
        Self {
            builder,
            runtime,
            printer: Printer::stdio(OutputMode::from(global.output)),
        }
    }

    /// Runs the command on the runtime the session asked for (on a world, a paused clock:
    /// simulated minutes pass at once).
    pub(crate) fn block_on(&self, command: impl Future<Output = u8>) -> u8 {
        match &self.runtime {
            Ok(runtime) => runtime.block_on(command),
            Err(e) => self.printer.fail_as("error", e),
        }
    }

    /// The printer.
    pub(crate) fn printer(&self) -> &Printer {
        &self.printer
    }

    /// The session builder the flags describe, or why the flags are refused.
    pub(crate) fn builder(&self) -> Result<&SessionBuilder, Failure> {
        self.builder.as_ref().map_err(|e| Failure(e.clone()))
    }

    /// Builds the session the flags describe.
    pub(crate) async fn session(&self) -> Result<Session, Failure> {
        Ok(self.builder()?.clone().build().await?)
    }

    /// Runs `op` on the session, then ends the session (a world's state is saved, also
    /// when `op` failed part-way: what it changed stays changed), and gives what `op` gave.
    pub(crate) async fn with_session<T>(
        &self,
        op: impl AsyncFnOnce(&Session) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let session = self.session().await?;
        let result = op(&session).await;
        let saved = session.finish().await;
        let value = result?;
        saved?;
        Ok(value)
    }

    /// Prints the result, or the failure in the same document shape; the exit code.
    pub(crate) fn print<R: Report>(&self, result: Result<R, Failure>) -> u8 {
        match result {
            Ok(report) => self.printer.report(&report),
            Err(Failure(e)) => self.printer.fail::<R>(&e),
        }
    }

    /// Prints the result through a report that borrows it (`print` makes the view and
    /// prints it), or the failure as a document of `kind`; the exit code.
    pub(crate) fn print_view<T>(
        &self,
        kind: &str,
        result: Result<T, Failure>,
        print: impl FnOnce(&Printer, &T) -> u8,
    ) -> u8 {
        match result {
            Ok(value) => print(&self.printer, &value),
            Err(failure) => self.fail(kind, failure),
        }
    }

    /// Prints a failure as a document of `kind`; the exit code.
    pub(crate) fn fail(&self, kind: &str, Failure(e): Failure) -> u8 {
        self.printer.fail_as(kind, &e)
    }
}
