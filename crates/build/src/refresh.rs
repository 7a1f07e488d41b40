//! Refreshing images that went stale: a newer base, a changed template, or age.
