//! How a suite reports: every check runs, and the report lists what passed, what was skipped
//! (and which capability was missing) and what failed (and why).

use std::fmt;
use std::future::Future;

use amiref_core::{CloudError, CloudErrorKind};

/// Why a check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl From<CloudError> for Failure {
    fn from(e: CloudError) -> Self {
        Self(format!("unexpected error: {e} (kind {:?})", e.kind))
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The result of one check.
pub type CheckResult = Result<(), Failure>;

/// Passes when `result` is an error of `kind`; `what` names the call in the failure.
pub(crate) fn expect_kind<T: std::fmt::Debug>(
    result: Result<T, amiref_core::CloudError>,
    kind: CloudErrorKind,
    what: &str,
) -> Result<(), Failure> {
    match result {
        Err(e) if e.kind == kind => Ok(()),
        Err(e) => Err(Failure(format!("{what}: expected {kind:?}, got {e}"))),
        Ok(v) => Err(Failure(format!("{what}: expected {kind:?}, got Ok({v:?})"))),
    }
}

/// Fails the check with a message unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::report::Failure(format!($($fmt)+)));
        }
    };
}
pub(crate) use ensure;

/// What became of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// It passed.
    Passed {
        /// The check.
        check: &'static str,
    },
    /// It did not run: the backend lacks a capability it needs.
    Skipped {
        /// The check.
        check: &'static str,
        /// The missing capability.
        because: &'static str,
    },
    /// It failed.
    Failed {
        /// The check.
        check: &'static str,
        /// Why.
        message: String,
    },
}

/// What a suite found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    suite: &'static str,
    outcomes: Vec<Outcome>,
}

impl Report {
    pub(crate) fn new(suite: &'static str) -> Self {
        Self {
            suite,
            outcomes: Vec::new(),
        }
    }

    /// Runs `check` if `capable`, otherwise records it as skipped for lack of `capability`.
    pub(crate) async fn check_if(
        &mut self,
        capable: bool,
        capability: &'static str,
        check: &'static str,
        body: impl Future<Output = CheckResult>,
    ) {
        if capable {
            self.check(check, body).await;
        } else {
            self.outcomes.push(Outcome::Skipped {
                check,
                because: capability,
            });
        }
    }

    /// Runs a check every backend must pass.
    pub(crate) async fn check(
        &mut self,
        check: &'static str,
        body: impl Future<Output = CheckResult>,
    ) {
        self.outcomes.push(match body.await {
            Ok(()) => Outcome::Passed { check },
            Err(Failure(message)) => Outcome::Failed { check, message },
        });
    }

    /// Appends another suite's outcomes (a suite made of sub-suites).
    pub(crate) fn merge(&mut self, other: Report) {
        self.outcomes.extend(other.outcomes);
    }

    /// The suite's name.
    pub fn suite(&self) -> &'static str {
        self.suite
    }

    /// Every outcome, in the order the checks ran.
    pub fn outcomes(&self) -> &[Outcome] {
        &self.outcomes
    }

    /// The checks that passed.
    pub fn passed(&self) -> Vec<&'static str> {
        self.outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Passed { check } => Some(*check),
                _ => None,
            })
            .collect()
    }

    /// The checks that were skipped, with the capability each lacked.
    pub fn skipped(&self) -> Vec<(&'static str, &'static str)> {
        self.outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Skipped { check, because } => Some((*check, *because)),
                _ => None,
            })
            .collect()
    }

    /// The checks that failed, with why.
    pub fn failures(&self) -> Vec<(&'static str, &str)> {
        self.outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Failed { check, message } => Some((*check, message.as_str())),
                _ => None,
            })
            .collect()
    }

    /// Panics, listing every failed check, if any failed: the way a `#[test]` uses a suite.
    #[track_caller]
    pub fn assert_passed(&self) {
        let failures = self.failures();
        if !failures.is_empty() {
            panic!("{self}");
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "suite {}: {} passed, {} skipped, {} failed",
            self.suite,
            self.passed().len(),
            self.skipped().len(),
            self.failures().len()
        )?;
        for outcome in &self.outcomes {
            match outcome {
                Outcome::Passed { check } => writeln!(f, "  ok      {check}")?,
                Outcome::Skipped { check, because } => {
                    writeln!(f, "  skipped {check} (backend lacks `{because}`)")?;
                }
                Outcome::Failed { check, message } => writeln!(f, "  FAILED  {check}: {message}")?,
            }
        }
        Ok(())
    }
}
