//! Whether a region code names a region AWS has, for `ami_mappings`: the catalog of
//! `amiref-regions` answers, so that a new region needs one change in one place.

/// Whether `code` is a region that exists.
pub(crate) fn is_known(code: &str) -> bool {
    amiref_regions::find(code).is_some()
}

/// Every known region code, for suggestions.
pub(crate) fn known_codes() -> Vec<&'static str> {
    amiref_regions::catalog()
        .iter()
        .map(|r| r.code.as_str())
        .collect()
}
