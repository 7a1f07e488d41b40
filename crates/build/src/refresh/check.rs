//! Finding a template's current images and deciding whether each is stale.

use std::collections::BTreeMap;

use amiref_core::{AmiId, Architecture, Image, ImageFilter, ImageState, Region};
use amiref_lifecycle::tags::{TAG_TEMPLATE, TAG_TEMPLATE_VERSION};
use amiref_lifecycle::{Lifecycle, LifecycleError};
use amiref_template::Template;
use chrono::{DateTime, Utc};

use super::report::{CurrentImage, StaleReason, Verdict};
use crate::BuildId;
use crate::base::resolve_base;
use crate::spec::BuildSpec;
use crate::tags::{
    STAGE_DISTRIBUTED, STAGE_TESTED, TAG_BASE_IMAGE, TAG_BUILD_FINGERPRINT, TAG_BUILD_ID,
    TAG_BUILD_STAGE,
};

const SECONDS_PER_DAY: u64 = 24 * 60 * 60;

/// The template's built images in `home`, newest first per architecture: the caller's own
/// available images tagged `amiref:template=<name>` whose build got to `tested` or
/// `distributed`. Every one of them, not only the newest, so that a version can be chosen
/// that no earlier build used.
pub(crate) async fn built_images(
    lifecycle: &Lifecycle<'_>,
    template: &str,
    home: &Region,
) -> Result<BTreeMap<Architecture, Vec<Image>>, LifecycleError> {
    let filter = ImageFilter::default().tag(TAG_TEMPLATE, Some(template.to_owned()));
    let mut by_arch: BTreeMap<Architecture, Vec<Image>> = BTreeMap::new();
    for image in lifecycle.own_images(home, filter).await? {
        let finished = matches!(
            image.tag(TAG_BUILD_STAGE),
            Some(STAGE_TESTED | STAGE_DISTRIBUTED)
        );
        if finished && image.state == ImageState::Available {
            by_arch.entry(image.architecture).or_default().push(image);
        }
    }
    for images in by_arch.values_mut() {
        images.sort_by(|a, b| {
            b.creation_date
                .cmp(&a.creation_date)
                .then_with(|| b.id.cmp(&a.id))
        });
    }
    Ok(by_arch)
}

/// What the image's tags say about how it was built.
pub(crate) fn current_image(image: &Image) -> CurrentImage {
    CurrentImage {
        image: image.id.clone(),
        build: image.tag(TAG_BUILD_ID).and_then(BuildId::parse),
        version: image.tag(TAG_TEMPLATE_VERSION).map(str::to_owned),
        created: image.creation_date,
        stage: image.tag(TAG_BUILD_STAGE).unwrap_or_default().to_owned(),
        base_image: image.tag(TAG_BASE_IMAGE).and_then(|b| b.parse().ok()),
        build_fingerprint: image.tag(TAG_BUILD_FINGERPRINT).map(str::to_owned),
    }
}

/// Whether `current`, the newest image of `spec`'s template for `architecture`, is stale
/// at `now`: its base image resolves to another image now, the template's build
/// fingerprint changed, or it is older than the template's maximum age. Also returns the
/// base image as it resolves now (`None` when it did not).
pub(crate) async fn verdict(
    resolver: &amiref_resolver::Resolver,
    spec: &BuildSpec,
    home: &Region,
    architecture: Architecture,
    current: &CurrentImage,
    now: DateTime<Utc>,
) -> (Verdict, Option<AmiId>) {
    let base = match resolve_base(resolver, spec, home, Some(architecture)).await {
        Ok(base) => base,
        Err(e) => {
            let error = format!("the base image of {} in {home}: {e}", spec.template.name);
            return (Verdict::Unchecked { error }, None);
        }
    };
    let mut reasons = Vec::new();
    if current.base_image.as_ref() != Some(&base.image.id) {
        reasons.push(StaleReason::BaseImage {
            built_from: current.base_image.clone(),
            resolves_to: base.image.id.clone(),
            resolves_to_created: base.image.creation_date,
        });
    }
    let fingerprint = spec.template.build_fingerprint().to_string();
    if current.build_fingerprint.as_deref() != Some(fingerprint.as_str()) {
        reasons.push(StaleReason::Fingerprint {
            built_with: current.build_fingerprint.clone(),
            template: fingerprint,
        });
    }
    if let Some(reason) = too_old(&spec.template, current.created, now) {
        reasons.push(reason);
    }
    let verdict = if reasons.is_empty() {
        Verdict::Fresh
    } else {
        Verdict::Stale { reasons }
    };
    (verdict, Some(base.image.id))
}

/// [`StaleReason::TooOld`] when an image made at `created` is older than the template's
/// maximum age at `now`.
fn too_old(template: &Template, created: DateTime<Utc>, now: DateTime<Utc>) -> Option<StaleReason> {
    let max_age = template.max_age();
    let age = (now - created).to_std().unwrap_or_default();
    (age > max_age).then_some(StaleReason::TooOld {
        age_days: age.as_secs() / SECONDS_PER_DAY,
        max_age_days: max_age.as_secs() / SECONDS_PER_DAY,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_counts_against_the_templates_maximum() {
        let mut t = Template::new("t");
        let now = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .expect("a time")
            .with_timezone(&Utc);
        let days = |n: i64| now - chrono::Duration::days(n);
        assert_eq!(
            too_old(&t, days(90), now),
            None,
            "90 days is not older than 90"
        );
        assert_eq!(
            too_old(&t, days(91), now),
            Some(StaleReason::TooOld {
                age_days: 91,
                max_age_days: 90
            })
        );
        t.build = Some(
            serde_json::from_value(serde_json::json!({"max_age": "30d"})).expect("a build block"),
        );
        assert!(too_old(&t, days(31), now).is_some());
        assert_eq!(
            too_old(&t, now + chrono::Duration::days(1), now),
            None,
            "clock skew"
        );
    }
}
