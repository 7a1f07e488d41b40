//! What to build: the template, where, for which architectures, and the options the
//! configuration gives.

use std::time::Duration;

use amiref_core::{Architecture, InstanceType, Region, SecurityGroupId, SubnetId, VpcId};
use amiref_template::Template;

use crate::BuildId;
use crate::distribute::DistributeSpec;
use crate::error::BuildError;

/// The test a build runs on an instance booted from its new image when the template gives
/// none: the image boots and reports ready.
pub const DEFAULT_TEST_SCRIPT: &str = "#!/bin/sh\ntrue\n";

/// How long the test may take when neither the template nor the configuration says.
pub const DEFAULT_TEST_TIMEOUT: Duration = amiref_template::DEFAULT_TEST_TIMEOUT;
/// How long a build's temporary resources live before a sweep may remove them, by default.
pub const DEFAULT_LEFTOVER_EXPIRY: Duration = Duration::from_secs(6 * 60 * 60);

/// One build: a template, the regions (the first is where it is built), the architectures,
/// and the options.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BuildSpec {
    /// The validated template.
    pub template: Template,
    /// The version the image is built as; `None`: the template's own `version`.
    pub version: Option<String>,
    /// The regions: the image is built, tested in the first, and copied to the others.
    pub regions: Vec<Region>,
    /// The architectures to build (one image each); empty: the one the resolver chooses for
    /// the template in the home region.
    pub architectures: Vec<Architecture>,
    /// Options from the configuration.
    pub options: BuildOptions,
    /// How the tested image is distributed: sharing, encryption, SSM parameters, the
    /// registry entry. Its regions and dry run are the build's.
    pub distribution: DistributeSpec,
    /// Plan only: look, estimate, change nothing.
    pub dry_run: bool,
    /// The build this one replaces with the same inputs (a refresh after a new base image,
    /// or for age): the new build's id is [`BuildId::succeeding`] it, so the template keeps
    /// its version and the new image is a new build, not the old one resumed.
    pub replaces: Option<BuildId>,
}

impl BuildSpec {
    /// A build of `template` in `regions` (the first is where it is built) with default
    /// options, on the architecture the resolver chooses.
    pub fn new(template: Template, regions: Vec<Region>) -> Self {
        Self {
            template,
            version: None,
            regions,
            architectures: Vec::new(),
            options: BuildOptions::default(),
            distribution: DistributeSpec::new(Vec::new()),
            dry_run: false,
            replaces: None,
        }
    }

    /// The same build, as a rebuild replacing the build `replaced` (see
    /// [`BuildSpec::replaces`]).
    #[must_use]
    pub fn replacing(mut self, replaced: BuildId) -> Self {
        self.replaces = Some(replaced);
        self
    }

    /// The same build, as version `version`.
    #[must_use]
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// The same build, for these architectures.
    #[must_use]
    pub fn architectures(mut self, architectures: impl IntoIterator<Item = Architecture>) -> Self {
        self.architectures = architectures.into_iter().collect();
        self
    }

    /// The same build with these options.
    #[must_use]
    pub fn options(mut self, options: BuildOptions) -> Self {
        self.options = options;
        self
    }

    /// The same build, distributed as `distribution` says (its regions and dry run are
    /// replaced by the build's).
    #[must_use]
    pub fn distribution(mut self, distribution: DistributeSpec) -> Self {
        self.distribution = distribution;
        self
    }

    /// The same build, as a dry run or not.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// One entry per image to build: each architecture asked for, or `None` (the one the
    /// resolver chooses) when none was.
    pub(crate) fn architecture_choices(&self) -> Vec<Option<Architecture>> {
        if self.architectures.is_empty() {
            vec![None]
        } else {
            self.architectures.iter().copied().map(Some).collect()
        }
    }

    /// The region the image is built and tested in: the first.
    pub fn home(&self) -> Result<&Region, BuildError> {
        self.regions.first().ok_or_else(|| BuildError::Invalid {
            field: "regions",
            found: "none".to_owned(),
            expected: "at least one region; the first is where the image is built".to_owned(),
        })
    }

    /// The version the image is built as: the spec's, else the template's.
    pub fn effective_version(&self) -> Option<&str> {
        self.version.as_deref().or(self.template.version.as_deref())
    }

    /// The template's test script, or [`DEFAULT_TEST_SCRIPT`].
    pub fn test_script(&self) -> &str {
        self.template.test_script().unwrap_or(DEFAULT_TEST_SCRIPT)
    }

    /// How long provisioning may take: the template's `build.timeout`, else the
    /// configuration's, else the template's derived timeout (three times its
    /// `provisioning_time`, at least 30 minutes: `Template::provision_timeout`).
    pub fn provision_timeout(&self) -> Duration {
        match self.options.provision_timeout {
            Some(configured) if !self.template.provision_timeout_written() => configured,
            _ => self.template.provision_timeout(),
        }
    }

    /// How long the test may take: the template's `build.test_timeout`, else the
    /// configuration's, else [`DEFAULT_TEST_TIMEOUT`].
    pub fn test_timeout(&self) -> Duration {
        let written = self.template.build.as_ref().and_then(|b| b.test_timeout);
        written
            .map(|d| d.get())
            .or(self.options.test_timeout)
            .unwrap_or(DEFAULT_TEST_TIMEOUT)
    }
}

/// Options of a build, from the configuration's `build` section.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BuildOptions {
    /// The instance type for the builder and the tester instead of the template's
    /// (`build.instance_types`, else its instance type for the architecture).
    pub instance_type: Option<InstanceType>,
    /// The subnet builder and test instances launch into (default: the default VPC's).
    pub subnet: Option<SubnetId>,
    /// A security group for builder and test instances; `None`: a temporary group with no
    /// inbound rule, made for the build and deleted after it.
    pub security_group: Option<SecurityGroupId>,
    /// The VPC the temporary group is made in (default: the region's default VPC).
    pub vpc: Option<VpcId>,
    /// The IAM instance profile the instances run as (name or ARN); none by default.
    pub instance_profile: Option<String>,
    /// The longest provisioning may take when the template says nothing.
    pub provision_timeout: Option<Duration>,
    /// The longest the test may take when the template says nothing.
    pub test_timeout: Option<Duration>,
    /// How long temporary resources live before a sweep may remove them. Must exceed the
    /// time a build can take (the stages' timeouts together), so that no sweep removes a
    /// running build's resources.
    pub leftover_expiry: Duration,
    /// Time between two reads of an instance's serial console.
    pub console_poll: Duration,
    /// Time between two looks at instances being stopped or terminated.
    pub instance_poll: Duration,
    /// How long a stop or termination may take.
    pub instance_timeout: Duration,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            instance_type: None,
            subnet: None,
            security_group: None,
            vpc: None,
            instance_profile: None,
            provision_timeout: None,
            test_timeout: None,
            leftover_expiry: DEFAULT_LEFTOVER_EXPIRY,
            console_poll: Duration::from_secs(15),
            instance_poll: Duration::from_secs(15),
            instance_timeout: Duration::from_secs(20 * 60),
        }
    }
}
