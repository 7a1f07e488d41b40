//! [`Parameters`] on SSM GetParameters.

use std::collections::{BTreeMap, BTreeSet};

use amiref_core::{CloudError, Parameter, ParameterName, Parameters, Region};
use async_trait::async_trait;
use aws_sdk_ssm::types as ssm;
use chrono::{DateTime, Utc};

use crate::{AwsCloud, error};

/// The most names one GetParameters call takes.
pub(crate) const NAMES_PER_CALL: usize = 10;

const GET_PARAMETERS: &str = "GetParameters";

/// One SSM parameter as amiref's, or `None` for one amiref does not read: a `SecureString`
/// (read without decryption its value is ciphertext, and an image parameter is never one:
/// SSM's `aws:ec2:image` data type requires `String`), or one with a name SSM itself would
/// not issue.
pub(crate) fn parameter_from_ssm(p: &ssm::Parameter) -> Option<Parameter> {
    if p.r#type() == Some(&ssm::ParameterType::SecureString) {
        tracing::debug!(name = p.name(), "leaving out a SecureString parameter");
        return None;
    }
    let name = ParameterName::new(p.name()?).ok()?;
    let mut out = Parameter::new(name, p.value().unwrap_or_default());
    out.data_type = p.data_type().map(str::to_owned);
    out.version = p.version();
    out.last_modified = p
        .last_modified_date()
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()));
    Some(out)
}

#[async_trait]
impl Parameters for AwsCloud {
    #[tracing::instrument(skip(self, names), fields(region = %region, names = names.len()))]
    async fn get_parameters(
        &self,
        region: &Region,
        names: &[ParameterName],
    ) -> Result<BTreeMap<ParameterName, Parameter>, CloudError> {
        let unique: Vec<String> = names
            .iter()
            .map(ParameterName::as_str)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(str::to_owned)
            .collect();
        if unique.is_empty() {
            return Ok(BTreeMap::new());
        }
        let client = self.clients.ssm(region);
        // Batches of ten (SSM's limit), all at once. Names that do not exist, or that the
        // caller may not read, come back in InvalidParameters and are simply absent.
        let batches = unique.chunks(NAMES_PER_CALL).map(|chunk| {
            client
                .get_parameters()
                .set_names(Some(chunk.to_vec()))
                .with_decryption(false)
                .send()
        });
        let answers = futures::future::try_join_all(batches)
            .await
            .map_err(|e| error::from_sdk(GET_PARAMETERS, Some(region), e))?;
        let invalid: usize = answers.iter().map(|a| a.invalid_parameters().len()).sum();
        if invalid > 0 {
            tracing::debug!(invalid, "parameters SSM does not have (or will not show)");
        }
        Ok(answers
            .iter()
            .flat_map(|a| a.parameters())
            .filter_map(parameter_from_ssm)
            .map(|p| (p.name.clone(), p))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_keep_their_facts_and_secrets_are_left_out() {
        let p = ssm::Parameter::builder()
            .name("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")
            .r#type(ssm::ParameterType::String)
            .value("ami-0123456789abcdef0")
            .data_type("aws:ec2:image")
            .version(191)
            .last_modified_date(aws_smithy_types::DateTime::from_secs(1_790_810_907))
            .build();
        let got = parameter_from_ssm(&p).unwrap();
        assert_eq!(got.value, "ami-0123456789abcdef0");
        assert_eq!(got.data_type.as_deref(), Some("aws:ec2:image"));
        assert_eq!(got.version, 191);
        assert_eq!(
            got.last_modified.map(|t| t.timestamp()),
            Some(1_790_810_907)
        );
        let secret = ssm::Parameter::builder()
            .name("/golden/token")
            .r#type(ssm::ParameterType::SecureString)
            .value("AQICAHh...ciphertext")
            .build();
        assert!(parameter_from_ssm(&secret).is_none());
    }
}
