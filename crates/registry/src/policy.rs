//! What a reader requires of an entry before using it.

/// The reader's policy for registry entries: whether an entry must be signed, tested and
/// scanned to be admitted.
///
/// Not to be confused with the resolver's owner trust policy (`amiref::TrustPolicy`, in
/// amiref-strategies), which decides whose images may be launched at all; an admitted entry's
/// image still has to pass that one.
///
/// The default is strict about signatures (an unsigned entry is refused) and lenient about
/// verification; institutions tighten it with [`EntryPolicy::require_tested`] and
/// [`EntryPolicy::require_security_scan`]. An entry whose scan *failed* is refused under
/// every policy: a known-bad image is never a candidate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryPolicy {
    /// Accept entries with no signature, marked as unsigned.
    pub allow_unsigned: bool,
    /// Refuse entries not marked `tested: true`.
    pub require_tested: bool,
    /// Refuse entries whose security scan did not pass.
    pub require_security_scan: bool,
}

impl EntryPolicy {
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
