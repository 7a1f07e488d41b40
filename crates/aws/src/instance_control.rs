//! [`InstanceControl`] on StopInstances, TerminateInstances and GetConsoleOutput.

use amiref_core::{CloudError, CloudErrorKind, ConsoleOutput, InstanceControl, InstanceId, Region};
use async_trait::async_trait;
use base64::Engine as _;
use chrono::{DateTime, Utc};

use crate::{AwsCloud, error};

const GET_CONSOLE_OUTPUT: &str = "GetConsoleOutput";

/// Whether GetConsoleOutput refused `Latest` itself: the instance type does not run on the
/// Nitro hypervisor, which alone keeps the latest serial output. EC2 answers that with
/// `UnsupportedOperation` (or a parameter error that names `Latest`); the buffered output
/// is then the best there is.
fn latest_unsupported(err: &CloudError) -> bool {
    let code = err.code.as_deref().unwrap_or_default();
    matches!(code, "UnsupportedOperation" | "Unsupported")
        || (err.kind == CloudErrorKind::InvalidRequest
            && err.message.to_ascii_lowercase().contains("latest"))
}

/// The console text GetConsoleOutput answered (base64 of the bytes the instance wrote to
/// its serial port). Bytes that are not UTF-8 (a boot loader's control codes) become U+FFFD
/// rather than failing the read: the completion marker the build looks for is ASCII.
fn decode_console(region: &Region, encoded: &str) -> Result<String, CloudError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| {
            CloudError::new(
                CloudErrorKind::Service,
                GET_CONSOLE_OUTPUT,
                format!("the console output is not base64: {e}"),
            )
            .in_region(region)
        })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

impl AwsCloud {
    /// One GetConsoleOutput call, `latest` or buffered.
    async fn get_console_output(
        &self,
        region: &Region,
        id: &InstanceId,
        latest: bool,
    ) -> Result<ConsoleOutput, CloudError> {
        let out = self
            .clients
            .ec2(region)
            .get_console_output()
            .instance_id(id.as_str())
            .latest(latest)
            .send()
            .await
            .map_err(|e| error::from_sdk(GET_CONSOLE_OUTPUT, Some(region), e))?;
        let text = match out.output() {
            // EC2 answers an empty string as well as nothing before the first output.
            Some(encoded) if !encoded.trim().is_empty() => Some(decode_console(region, encoded)?),
            _ => None,
        };
        let timestamp = out
            .timestamp()
            .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()));
        Ok(ConsoleOutput::new(text, timestamp))
    }
}

#[async_trait]
impl InstanceControl for AwsCloud {
    #[tracing::instrument(skip(self, ids), fields(region = %region, instances = ids.len()))]
    async fn stop_instances(&self, region: &Region, ids: &[InstanceId]) -> Result<(), CloudError> {
        if ids.is_empty() {
            return Ok(());
        }
        // Stopping is idempotent (a stopped instance answers its state), so retries are safe.
        self.clients
            .ec2(region)
            .stop_instances()
            .set_instance_ids(Some(ids.iter().map(|i| i.as_str().to_owned()).collect()))
            .send()
            .await
            .map_err(|e| error::from_sdk("StopInstances", Some(region), e))?;
        Ok(())
    }

    #[tracing::instrument(skip(self, ids), fields(region = %region, instances = ids.len()))]
    async fn terminate_instances(
        &self,
        region: &Region,
        ids: &[InstanceId],
    ) -> Result<(), CloudError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.clients
            .ec2(region)
            .terminate_instances()
            .set_instance_ids(Some(ids.iter().map(|i| i.as_str().to_owned()).collect()))
            .send()
            .await
            .map_err(|e| error::from_sdk("TerminateInstances", Some(region), e))?;
        Ok(())
    }

    #[tracing::instrument(skip(self), fields(region = %region, instance = %id))]
    async fn console_output(
        &self,
        region: &Region,
        id: &InstanceId,
    ) -> Result<ConsoleOutput, CloudError> {
        match self.get_console_output(region, id, true).await {
            Err(e) if latest_unsupported(&e) => {
                tracing::debug!(error = %e, "no latest console output here; reading the buffered one");
                self.get_console_output(region, id, false).await
            }
            answered => answered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> Region {
        "us-east-1".parse().unwrap()
    }

    #[test]
    fn console_text_is_decoded_and_tolerates_bytes_that_are_not_utf8() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(b"boot\xff ok\n");
        assert_eq!(
            decode_console(&region(), &encoded).unwrap(),
            "boot\u{fffd} ok\n"
        );
        let err = decode_console(&region(), "not base64!").unwrap_err();
        assert_eq!(err.kind, CloudErrorKind::Service);
        assert!(err.message.contains("base64"), "{err}");
    }

    #[test]
    fn only_a_refusal_of_latest_falls_back() {
        let unsupported = CloudError::new(CloudErrorKind::NotPermitted, GET_CONSOLE_OUTPUT, "no")
            .with_code("UnsupportedOperation");
        assert!(latest_unsupported(&unsupported));
        let named = CloudError::new(
            CloudErrorKind::InvalidRequest,
            GET_CONSOLE_OUTPUT,
            "The Latest parameter is not supported for this instance type",
        )
        .with_code("InvalidParameterValue");
        assert!(latest_unsupported(&named));
        let missing = CloudError::not_found(GET_CONSOLE_OUTPUT, "no such instance")
            .with_code("InvalidInstanceID.NotFound");
        assert!(!latest_unsupported(&missing));
        let throttled = CloudError::new(CloudErrorKind::Throttled, GET_CONSOLE_OUTPUT, "slow")
            .with_code("RequestLimitExceeded");
        assert!(!latest_unsupported(&throttled));
    }
}
