//! What a reader requires of an entry before using it.

/// The reader's policy for registry entries.
///
/// The default is strict about signatures (an unsigned entry is refused) and lenient about
/// verification; institutions tighten it with [`TrustPolicy::require_tested`] and
/// [`TrustPolicy::require_security_scan`]. An entry whose scan *failed* is refused under
/// every policy: a known-bad image is never a candidate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrustPolicy {
    /// Accept entries with no signature, marked as unsigned.
    pub allow_unsigned: bool,
    /// Refuse entries not marked `tested: true`.
    pub require_tested: bool,
    /// Refuse entries whose security scan did not pass.
    pub require_security_scan: bool,
}

impl TrustPolicy {
    /// The default policy: signatures required, verification not.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accept unsigned entries (marked so).
    #[must_use]
    pub fn allow_unsigned(mut self, allow: bool) -> Self {
        self.allow_unsigned = allow;
        self
    }

    /// Require `tested: true`.
    #[must_use]
    pub fn require_tested(mut self, require: bool) -> Self {
        self.require_tested = require;
        self
    }

    /// Require `security_scan: passed`.
    #[must_use]
    pub fn require_security_scan(mut self, require: bool) -> Self {
        self.require_security_scan = require;
        self
    }
}
