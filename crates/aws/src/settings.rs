//! [`AccountSettings`] on GetAllowedImagesSettings.

use amiref_core::{
    AccountSettings, AllowedImagesSettings, AllowedImagesState, CloudError, CloudErrorKind,
    ImageCriterion, Region,
};
use async_trait::async_trait;
use aws_sdk_ec2::operation::get_allowed_images_settings::GetAllowedImagesSettingsOutput;
use aws_sdk_ec2::types as ec2;

use crate::{AwsCloud, error};

const GET_ALLOWED_IMAGES_SETTINGS: &str = "GetAllowedImagesSettings";

/// Codes with which an endpoint says it does not offer an operation at all (a partition or
/// region without Allowed AMIs, an older EC2-compatible service).
const UNSUPPORTED: &[&str] = &[
    "InvalidAction",
    "UnsupportedOperation",
    "Unsupported",
    "UnknownOperationException",
];

/// amiref's state for EC2's, or `None` for a state this version does not know.
fn state_from_ec2(state: &str) -> Option<AllowedImagesState> {
    match state {
        "disabled" => Some(AllowedImagesState::Disabled),
        "enabled" => Some(AllowedImagesState::Enabled),
        "audit-mode" => Some(AllowedImagesState::AuditMode),
        _ => None,
    }
}

/// One of EC2's criteria as amiref's (every condition EC2 names).
fn criterion_from_ec2(c: &ec2::ImageCriterion) -> ImageCriterion {
    let days = |d: Option<i32>| d.and_then(|d| u32::try_from(d).ok());
    let mut out = ImageCriterion::default();
    out.image_providers = c.image_providers().to_vec();
    out.image_names = c.image_names().to_vec();
    out.marketplace_product_codes = c.marketplace_product_codes().to_vec();
    out.maximum_days_since_created = days(
        c.creation_date_condition()
            .and_then(ec2::CreationDateCondition::maximum_days_since_created),
    );
    out.maximum_days_since_deprecated = days(
        c.deprecation_time_condition()
            .and_then(ec2::DeprecationTimeCondition::maximum_days_since_deprecated),
    );
    out
}

/// EC2's answer as amiref's settings. A state this version does not know is an error, not
/// a guess: reading it as `disabled` would let blocked images through.
pub(crate) fn settings_from_ec2(
    region: &Region,
    out: &GetAllowedImagesSettingsOutput,
) -> Result<AllowedImagesSettings, CloudError> {
    let raw = out.state().unwrap_or_default();
    let state = state_from_ec2(raw).ok_or_else(|| {
        CloudError::new(
            CloudErrorKind::Service,
            GET_ALLOWED_IMAGES_SETTINGS,
            format!(
                "EC2 answered an Allowed AMIs state amiref does not know: {raw:?} (expected \
                 disabled, enabled or audit-mode)"
            ),
        )
        .in_region(region)
    })?;
    let criteria = out
        .image_criteria()
        .iter()
        .map(criterion_from_ec2)
        .collect();
    let mut settings = AllowedImagesSettings::new(state, criteria);
    settings.managed_by = out.managed_by().map(|m| m.as_str().to_owned());
    Ok(settings)
}

/// A failed GetAllowedImagesSettings, where an endpoint without the operation becomes an
/// explicit [`CloudErrorKind::NotPermitted`] (never a silent `disabled`).
fn unsupported_is_not_permitted(region: &Region, err: CloudError) -> CloudError {
    match err.code.as_deref() {
        Some(code) if UNSUPPORTED.contains(&code) => {
            let code = code.to_owned();
            CloudError::new(
                CloudErrorKind::NotPermitted,
                GET_ALLOWED_IMAGES_SETTINGS,
                format!(
                    "the account's Allowed AMIs setting cannot be read in {region}: EC2 does \
                     not offer GetAllowedImagesSettings there ({})",
                    err.message
                ),
            )
            .in_region(region)
            .with_code(code)
        }
        _ => err,
    }
}

#[async_trait]
impl AccountSettings for AwsCloud {
    #[tracing::instrument(skip(self), fields(region = %region))]
    async fn allowed_images_settings(
        &self,
        region: &Region,
    ) -> Result<AllowedImagesSettings, CloudError> {
        // Sent once: the setting is advisory to a resolution (EC2 enforces it at launch
        // anyway), so a server error is reported at once rather than retried while every
        // tier waits for the answer.
        let out = self
            .clients
            .ec2(region)
            .get_allowed_images_settings()
            .customize()
            .config_override(crate::store::no_retries())
            .send()
            .await
            .map_err(|e| {
                unsupported_is_not_permitted(
                    region,
                    error::from_sdk(GET_ALLOWED_IMAGES_SETTINGS, Some(region), e),
                )
            })?;
        settings_from_ec2(region, &out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> Region {
        "eu-west-1".parse().unwrap()
    }

    #[test]
    fn every_condition_is_mapped() {
        let out = GetAllowedImagesSettingsOutput::builder()
            .state("audit-mode")
            .image_criteria(
                ec2::ImageCriterion::builder()
                    .image_providers("amazon")
                    .image_providers("111122223333")
                    .image_names("al2023-ami-*")
                    .marketplace_product_codes("abc123")
                    .creation_date_condition(
                        ec2::CreationDateCondition::builder()
                            .maximum_days_since_created(300)
                            .build(),
                    )
                    .deprecation_time_condition(
                        ec2::DeprecationTimeCondition::builder()
                            .maximum_days_since_deprecated(0)
                            .build(),
                    )
                    .build(),
            )
            .managed_by(ec2::ManagedBy::DeclarativePolicy)
            .build();
        let s = settings_from_ec2(&region(), &out).unwrap();
        assert_eq!(s.state, AllowedImagesState::AuditMode);
        assert_eq!(s.managed_by.as_deref(), Some("declarative-policy"));
        let c = &s.criteria[0];
        assert_eq!(c.image_providers, ["amazon", "111122223333"]);
        assert_eq!(c.image_names, ["al2023-ami-*"]);
        assert_eq!(c.marketplace_product_codes, ["abc123"]);
        assert_eq!(c.maximum_days_since_created, Some(300));
        assert_eq!(c.maximum_days_since_deprecated, Some(0));
    }

    #[test]
    fn an_unknown_state_is_an_error() {
        let out = GetAllowedImagesSettingsOutput::builder()
            .state("strict")
            .build();
        let err = settings_from_ec2(&region(), &out).unwrap_err();
        assert_eq!(err.kind, CloudErrorKind::Service);
        assert!(err.message.contains("strict"), "{err}");
    }

    #[test]
    fn an_endpoint_without_the_operation_is_not_permitted() {
        let raw = CloudError::new(CloudErrorKind::Service, GET_ALLOWED_IMAGES_SETTINGS, "no")
            .with_code("InvalidAction");
        let err = unsupported_is_not_permitted(&region(), raw);
        assert_eq!(err.kind, CloudErrorKind::NotPermitted);
        assert_eq!(err.code.as_deref(), Some("InvalidAction"));
        let denied = CloudError::new(
            CloudErrorKind::AccessDenied,
            GET_ALLOWED_IMAGES_SETTINGS,
            "no",
        )
        .with_code("UnauthorizedOperation");
        let err = unsupported_is_not_permitted(&region(), denied);
        assert_eq!(err.kind, CloudErrorKind::AccessDenied);
    }
}
