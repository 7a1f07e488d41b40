//! What the template's `build:` block means once its defaults are applied: the test
//! script, the timeouts, the builder's instance type and the image's maximum age.

use std::time::Duration;

use amiref_core::{Architecture, InstanceType};

use crate::Template;

/// The `provisioning_time` a template that gives none is assumed to take, as the
/// resolver's estimates assume it.
pub const DEFAULT_PROVISIONING_TIME: Duration = Duration::from_secs(6 * 60);

/// How many times `provisioning_time` the builder may run before the build gives up, when
/// `build.timeout` is absent: room for a slower mirror or a cold cache.
pub const PROVISION_TIMEOUT_FACTOR: u32 = 3;

/// The shortest derived provisioning timeout: a short estimate must not make a build
/// fail on an ordinary boot (instance start, cloud-init, package metadata).
pub const MIN_PROVISION_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The longest `build.timeout` a template may give: 72 hours (three times the longest
/// `provisioning_time`).
pub const MAX_BUILD_TIMEOUT: Duration = Duration::from_secs(72 * 60 * 60);

/// How long the test may take when `build.test_timeout` is absent.
pub const DEFAULT_TEST_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// The longest `build.test_timeout` a template may give: 24 hours.
pub const MAX_TEST_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The age past which `amiref refresh` rebuilds an image when `build.max_age` is absent:
/// 90 days, the CIS compute benchmark's bound on an image's age.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(90 * 24 * 60 * 60);

/// The longest `build.max_age` a template may give: 3650 days.
pub const MAX_MAX_AGE: Duration = Duration::from_secs(3650 * 24 * 60 * 60);

impl Template {
    /// The `build.test` script run on an instance booted from a new image; `None`: the
    /// template gives none (the build's default test: the image boots and reports ready).
    pub fn test_script(&self) -> Option<&str> {
        self.build.as_ref().and_then(|b| b.test.as_deref())
    }

    /// How long provisioning may take: `build.timeout`, else
    /// [`PROVISION_TIMEOUT_FACTOR`] × `provisioning_time` (default
    /// [`DEFAULT_PROVISIONING_TIME`]), at least [`MIN_PROVISION_TIMEOUT`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// let t = amiref_template::Template::from_yaml_str(
    ///     "name: x\nprovisioning_time: 20m\nuser_data: \"#!/bin/sh\\n\"\n",
    ///     "x.yml",
    /// )?;
    /// assert_eq!(t.provision_timeout(), Duration::from_secs(60 * 60));
    /// # Ok::<(), amiref_template::TemplateError>(())
    /// ```
    pub fn provision_timeout(&self) -> Duration {
        if let Some(timeout) = self.build.as_ref().and_then(|b| b.timeout) {
            return timeout.get();
        }
        let estimate = self
            .provisioning_time
            .map_or(DEFAULT_PROVISIONING_TIME, |d| d.get());
        estimate
            .saturating_mul(PROVISION_TIMEOUT_FACTOR)
            .max(MIN_PROVISION_TIMEOUT)
    }

    /// Whether the template writes `build.timeout` (rather than deriving it), so that a
    /// configuration's timeout may take its place.
    pub fn provision_timeout_written(&self) -> bool {
        self.build.as_ref().is_some_and(|b| b.timeout.is_some())
    }

    /// How long the test may take: `build.test_timeout`, else [`DEFAULT_TEST_TIMEOUT`].
    pub fn test_timeout(&self) -> Duration {
        self.build
            .as_ref()
            .and_then(|b| b.test_timeout)
            .map_or(DEFAULT_TEST_TIMEOUT, |d| d.get())
    }

    /// The age past which a refresh rebuilds the image: `build.max_age`, else
    /// [`DEFAULT_MAX_AGE`].
    pub fn max_age(&self) -> Duration {
        self.build
            .as_ref()
            .and_then(|b| b.max_age)
            .map_or(DEFAULT_MAX_AGE, |d| d.get())
    }

    /// The builder's and tester's instance type for `architecture` when `build.instance_types`
    /// names one; `None`: the template's own choice for the architecture.
    pub fn builder_instance_type(&self, architecture: Architecture) -> Option<&InstanceType> {
        self.build
            .as_ref()
            .and_then(|b| b.instance_types.get(&architecture))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BuildConfig, HumanDuration};

    fn minutes(m: u64) -> Duration {
        Duration::from_secs(m * 60)
    }

    #[test]
    fn the_provisioning_timeout_is_derived_with_a_floor_unless_written() {
        let mut t = Template::new("x");
        assert_eq!(t.provision_timeout(), MIN_PROVISION_TIMEOUT, "3 × 6m < 30m");
        t.provisioning_time = Some(HumanDuration::from(minutes(15)));
        assert_eq!(t.provision_timeout(), minutes(45));
        assert!(!t.provision_timeout_written());
        t.build = Some(BuildConfig {
            timeout: Some(HumanDuration::from(minutes(5))),
            ..BuildConfig::default()
        });
        assert_eq!(t.provision_timeout(), minutes(5), "written: no floor");
        assert!(t.provision_timeout_written());
    }

    #[test]
    fn defaults_apply_without_a_build_block() {
        let t = Template::new("x");
        assert_eq!(t.test_timeout(), DEFAULT_TEST_TIMEOUT);
        assert_eq!(t.max_age(), Duration::from_secs(90 * 86_400));
        assert_eq!(t.test_script(), None);
        assert_eq!(t.builder_instance_type(Architecture::Arm64), None);
    }
}
