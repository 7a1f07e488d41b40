//! EC2's rules for the tags a request applies (TagSpecifications, CreateTags).

use std::collections::BTreeMap;

use amiref_core::{CloudError, Region};

use crate::cloud::ec2_error;

/// EC2's limit on tags per resource.
const MAX_TAGS: usize = 50;
/// EC2's limits on a tag key's and value's length, in characters.
const MAX_KEY: usize = 128;
const MAX_VALUE: usize = 256;

/// Refuses tags EC2 refuses: more than 50, an empty or over-long key, an over-long value,
/// or a key in AWS's reserved `aws:` namespace.
pub(crate) fn check_tags(
    op: &'static str,
    region: &Region,
    tags: &BTreeMap<String, String>,
) -> Result<(), CloudError> {
    if tags.len() > MAX_TAGS {
        return Err(ec2_error::invalid(
            op,
            region,
            "TagLimitExceeded",
            format!(
                "{} tags, more than the {MAX_TAGS} a resource may carry",
                tags.len()
            ),
        ));
    }
    for (key, value) in tags {
        let problem = if key.is_empty() || key.chars().count() > MAX_KEY {
            Some(format!(
                "a tag key must be 1 to {MAX_KEY} characters, not {key:?}"
            ))
        } else if value.chars().count() > MAX_VALUE {
            Some(format!(
                "the value of tag {key:?} is over {MAX_VALUE} characters"
            ))
        } else if key.to_ascii_lowercase().starts_with("aws:") {
            Some(format!(
                "Tag keys starting with 'aws:' are reserved for internal use ({key:?})"
            ))
        } else {
            None
        };
        if let Some(message) = problem {
            return Err(ec2_error::invalid(
                op,
                region,
                "InvalidParameterValue",
                message,
            ));
        }
    }
    Ok(())
}
