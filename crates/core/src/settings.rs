//! Account settings that bound which images may be used: EC2's Allowed AMIs.

use chrono::{DateTime, Utc};

use crate::{AccountId, Image, wildcard_match};

/// The state of the account's Allowed AMIs setting in a region (`GetAllowedImagesSettings`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AllowedImagesState {
    /// No restriction (EC2's default).
    #[default]
    Disabled,
    /// Only images matching a criterion (and the account's own) are discoverable and usable.
    Enabled,
    /// Nothing is restricted; EC2 reports on each image whether it would be allowed.
    AuditMode,
}

impl AllowedImagesState {
    /// EC2's name: `disabled`, `enabled`, `audit-mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Enabled => "enabled",
            Self::AuditMode => "audit-mode",
        }
    }
}

/// One criterion of the Allowed AMIs setting. An image matches it when it passes every
/// condition the criterion sets (an unset condition passes everything).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ImageCriterion {
    /// Allowed providers: `amazon` (Amazon and verified providers), `aws-marketplace`,
    /// `aws-backup-vault`, 12-digit account ids, or `none` (only the account's own images).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_providers: Vec<String>,
    /// Allowed image names, with EC2's `*` and `?` wildcards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_names: Vec<String>,
    /// Allowed AWS Marketplace product codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marketplace_product_codes: Vec<String>,
    /// At most this many days since the image was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_days_since_created: Option<u32>,
    /// At most this many days since the image was deprecated (0: no deprecated image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_days_since_deprecated: Option<u32>,
}

impl ImageCriterion {
    /// Allows these providers (`amazon`, `aws-marketplace`, `aws-backup-vault`, account ids,
    /// `none`).
    #[must_use]
    pub fn with_providers(
        mut self,
        providers: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.image_providers = providers.into_iter().map(Into::into).collect();
        self
    }

    /// Allows these image names (`*` and `?` wildcards).
    #[must_use]
    pub fn with_names(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.image_names = names.into_iter().map(Into::into).collect();
        self
    }

    /// Allows these Marketplace product codes.
    #[must_use]
    pub fn with_product_codes(
        mut self,
        codes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.marketplace_product_codes = codes.into_iter().map(Into::into).collect();
        self
    }

    /// Allows images created at most `days` ago.
    #[must_use]
    pub fn created_within_days(mut self, days: u32) -> Self {
        self.maximum_days_since_created = Some(days);
        self
    }

    /// Allows images deprecated at most `days` ago (0: no deprecated image).
    #[must_use]
    pub fn deprecated_within_days(mut self, days: u32) -> Self {
        self.maximum_days_since_deprecated = Some(days);
        self
    }

    /// Whether `image` passes every condition of this criterion at `now`.
    pub fn matches(&self, image: &Image, now: DateTime<Utc>) -> bool {
        let provider_ok = self.image_providers.is_empty()
            || self.image_providers.iter().any(|p| match p.as_str() {
                "amazon" | "aws-marketplace" | "aws-backup-vault" => {
                    image.owner_alias.as_deref() == Some(p.as_str())
                }
                "none" => false,
                account => image.owner.as_str() == account,
            });
        let name_ok = self.image_names.is_empty()
            || self
                .image_names
                .iter()
                .any(|n| wildcard_match(n, &image.name));
        let code_ok = self.marketplace_product_codes.is_empty()
            || image
                .product_codes
                .iter()
                .any(|c| self.marketplace_product_codes.contains(&c.code));
        let days_since = |t: DateTime<Utc>| (now - t).num_days();
        let created_ok = self
            .maximum_days_since_created
            .is_none_or(|max| days_since(image.creation_date) <= i64::from(max));
        let deprecated_ok = self.maximum_days_since_deprecated.is_none_or(|max| {
            match image.deprecation_time.filter(|t| *t <= now) {
                None => true,
                Some(t) => max > 0 && days_since(t) <= i64::from(max),
            }
        });
        provider_ok && name_ok && code_ok && created_ok && deprecated_ok
    }
}

/// The account's Allowed AMIs setting in one region.
///
/// ```
/// use amiref_core::{AllowedImagesSettings, AllowedImagesState, ImageCriterion};
///
/// let amazon_only = ImageCriterion::default().with_providers(["amazon"]);
/// let settings = AllowedImagesSettings::new(AllowedImagesState::Enabled, vec![amazon_only]);
/// assert!(settings.restricts());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct AllowedImagesSettings {
    /// Whether the criteria apply.
    pub state: AllowedImagesState,
    /// The criteria: an image matching any one is allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub criteria: Vec<ImageCriterion>,
    /// Who manages the setting (`account`, `declarative-policy`), where EC2 says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
}

impl AllowedImagesSettings {
    /// A setting in `state` with `criteria`.
    pub fn new(state: AllowedImagesState, criteria: Vec<ImageCriterion>) -> Self {
        Self {
            state,
            criteria,
            managed_by: None,
        }
    }

    /// Whether the setting blocks images (state `enabled`).
    pub fn restricts(&self) -> bool {
        self.state == AllowedImagesState::Enabled
    }

    /// Whether `image` satisfies the criteria, as EC2 decides it: the caller's own images
    /// always do; any other must match at least one criterion. The state is not consulted
    /// (in audit mode this says what enabling would do).
    pub fn allows(&self, image: &Image, caller: Option<&AccountId>, now: DateTime<Utc>) -> bool {
        caller == Some(&image.owner) || self.criteria.iter().any(|c| c.matches(image, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Architecture, ProductCode, ProductCodeType};
    use chrono::TimeZone;

    fn image(owner: &str, alias: Option<&str>, name: &str, created_days_ago: i64) -> Image {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let mut i = Image::new(
            "ami-12345678".parse().unwrap(),
            "us-east-1".parse().unwrap(),
            name,
            AccountId::new(owner).unwrap(),
            Architecture::X86_64,
            now - chrono::Duration::days(created_days_ago),
        );
        i.owner_alias = alias.map(str::to_owned);
        i
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn conditions_of_one_criterion_all_apply_and_criteria_are_alternatives() {
        let c = ImageCriterion::default()
            .with_providers(["amazon"])
            .with_names(["al2023-ami-*"])
            .created_within_days(300);
        let lab = ImageCriterion::default().with_providers(["111111111111"]);
        let s = AllowedImagesSettings::new(AllowedImagesState::Enabled, vec![c, lab]);
        let me = AccountId::new("999999999999").unwrap();
        assert!(s.allows(
            &image("137112412989", Some("amazon"), "al2023-ami-1", 10),
            None,
            now()
        ));
        assert!(!s.allows(
            &image("137112412989", Some("amazon"), "al2023-ami-1", 400),
            None,
            now()
        ));
        assert!(!s.allows(
            &image("137112412989", Some("amazon"), "ubuntu", 10),
            None,
            now()
        ));
        assert!(s.allows(&image("111111111111", None, "anything", 4000), None, now()));
        assert!(!s.allows(&image("222222222222", None, "al2023-ami-1", 1), None, now()));
        // The caller's own images are never restricted.
        assert!(s.allows(&image("999999999999", None, "mine", 4000), Some(&me), now()));
    }

    #[test]
    fn none_allows_only_own_images_and_deprecation_and_codes_count() {
        let none = ImageCriterion::default().with_providers(["none"]);
        let s = AllowedImagesSettings::new(AllowedImagesState::Enabled, vec![none]);
        assert!(!s.allows(&image("137112412989", Some("amazon"), "x", 1), None, now()));

        let c = ImageCriterion::default()
            .with_product_codes(["abc"])
            .deprecated_within_days(0);
        let s = AllowedImagesSettings::new(AllowedImagesState::Enabled, vec![c]);
        let mut i = image("679593333241", Some("aws-marketplace"), "x", 1);
        assert!(!s.allows(&i, None, now()));
        i.product_codes.push(ProductCode {
            code: "abc".into(),
            kind: ProductCodeType::Marketplace,
        });
        assert!(s.allows(&i, None, now()));
        i.deprecation_time = Some(now() - chrono::Duration::days(1));
        assert!(!s.allows(&i, None, now()));
        i.deprecation_time = Some(now() + chrono::Duration::days(1));
        assert!(s.allows(&i, None, now()));
    }
}
