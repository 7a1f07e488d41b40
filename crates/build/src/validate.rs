//! Checks of a build spec before anything is looked at or changed.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::error::BuildError;
use crate::spec::BuildSpec;

/// Checks `spec`: at least one region and no region twice, a `user_data` script to build
/// from, and a leftover expiry longer than the build can take (`image_wait`: the
/// lifecycle's image wait), so no sweep removes a running build's resources.
pub(crate) fn validate(spec: &BuildSpec, image_wait: Duration) -> Result<(), BuildError> {
    spec.home()?;
    let mut seen = BTreeSet::new();
    if let Some(twice) = spec.regions.iter().find(|r| !seen.insert(*r)) {
        return Err(BuildError::Invalid {
            field: "regions",
            found: format!("{twice} given twice"),
            expected: "each region once".to_owned(),
        });
    }
    if spec
        .template
        .user_data
        .as_deref()
        .is_none_or(|u| u.trim().is_empty())
    {
        return Err(BuildError::Invalid {
            field: "user_data",
            found: format!("template {} has none", spec.template.name),
            expected: "a `#!` script: the build runs it on the base image and images the result"
                .to_owned(),
        });
    }
    let longest = spec.provision_timeout()
        + spec.test_timeout()
        + image_wait
        + 3 * spec.options.instance_timeout;
    if spec.options.leftover_expiry <= longest {
        return Err(BuildError::Invalid {
            field: "leftover_expiry",
            found: format!("{} s", spec.options.leftover_expiry.as_secs()),
            expected: format!(
                "more than the {} s a build can take (provisioning and test timeouts, the image wait, three instance waits), so that no sweep removes a running build's resources",
                longest.as_secs()
            ),
        });
    }
    Ok(())
}
