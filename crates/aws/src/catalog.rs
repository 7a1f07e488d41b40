//! [`ImageCatalog`] on DescribeImages, and snapshot access on DescribeSnapshots.

use std::collections::{BTreeMap, BTreeSet};

use amiref_core::{
    AmiId, CloudError, CloudErrorKind, Image, ImageCatalog, ImageFilter, ImageState, Owner, Region,
    SnapshotId,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::Filter;
use chrono::Utc;

use crate::{AwsCloud, error, mapping};

/// The largest page DescribeImages returns.
pub(crate) const PAGE_SIZE: i32 = 1000;

/// The most values EC2 accepts in one filter.
pub(crate) const FILTER_VALUES: usize = 200;

const DESCRIBE_IMAGES: &str = "DescribeImages";
const DESCRIBE_SNAPSHOTS: &str = "DescribeSnapshots";

/// An EC2 filter with one or more values.
pub(crate) fn filter(name: impl Into<String>, values: impl IntoIterator<Item = String>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().collect()))
        .build()
}

/// The filters that require every tag of `tags`: `tag:KEY` with the value, or (`None`) the
/// key with any value. Images, instances and security groups are filtered alike.
pub(crate) fn tag_filters(tags: &BTreeMap<String, Option<String>>) -> Vec<Filter> {
    let mut filters = Vec::new();
    let mut any_value_keys = Vec::new();
    for (key, value) in tags {
        match value {
            Some(value) => filters.push(filter(format!("tag:{key}"), [value.clone()])),
            None => any_value_keys.push(key.clone()),
        }
    }
    // One `tag-key` filter with several values would mean "any of these keys"; every key is
    // required, so each one past the first becomes `tag:KEY` matching any value.
    let mut keys = any_value_keys.into_iter();
    if let Some(first) = keys.next() {
        filters.push(filter("tag-key", [first]));
    }
    for key in keys {
        filters.push(filter(format!("tag:{key}"), ["*".to_owned()]));
    }
    filters
}

/// The owners of `filter` as EC2 names them, refusing what a search must never send.
fn ec2_owners(region: &Region, filter: &ImageFilter) -> Result<Vec<String>, CloudError> {
    let refuse = |message: String| {
        Err(
            CloudError::new(CloudErrorKind::InvalidRequest, DESCRIBE_IMAGES, message)
                .in_region(region),
        )
    };
    if filter.owners.is_empty() {
        return refuse(
            "a search must name at least one owner: a search by name alone lets anyone who \
             publishes a matching public image win it"
                .to_owned(),
        );
    }
    if let Some(named) = filter.owners.iter().find(|o| !o.is_ec2_owner()) {
        return refuse(format!(
            "owner {named:?} is a named owner: a trust policy must map it to account ids \
             before a search"
        ));
    }
    Ok(filter
        .owners
        .iter()
        .map(|o| Owner::as_str(o).to_owned())
        .collect())
}

/// The server-side filters that express `filter` (owners go in their own parameter).
pub(crate) fn ec2_filters(filter: &ImageFilter) -> Vec<Filter> {
    let mut filters = Vec::new();
    if let Some(name) = &filter.name_pattern {
        filters.push(self::filter("name", [name.clone()]));
    }
    if !filter.architectures.is_empty() {
        filters.push(self::filter(
            "architecture",
            filter.architectures.iter().map(|a| a.as_str().to_owned()),
        ));
    }
    let states: Vec<String> = if filter.states.is_empty() {
        vec!["available".to_owned()]
    } else {
        filter
            .states
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect()
    };
    filters.push(self::filter("state", states));
    filters.extend(tag_filters(&filter.tags));
    if let Some(code) = &filter.product_code {
        filters.push(self::filter("product-code", [code.clone()]));
    }
    filters
}

impl AwsCloud {
    /// Describes images by id in batches, disabled ones too when `include_disabled`.
    ///
    /// EC2 leaves disabled images out of every DescribeImages answer unless asked
    /// (IncludeDisabled), by id too, and so does amiref-memory: [`ImageCatalog::describe_images`]
    /// does not ask. Deregistering a disabled image must still learn its snapshots.
    pub(crate) async fn describe_by_id(
        &self,
        region: &Region,
        ids: &[AmiId],
        include_disabled: bool,
    ) -> Result<Vec<Image>, CloudError> {
        let mut seen = BTreeSet::new();
        let unique: Vec<String> = ids
            .iter()
            .filter(|id| seen.insert(id.as_str()))
            .map(|id| id.as_str().to_owned())
            .collect();
        if unique.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.clients.ec2(region);
        // The `image-id` filter rather than `ImageIds`: an id that no longer exists is then
        // absent from the answer instead of failing the batch (InvalidAMIID.NotFound), and
        // the answer can be paged at the largest size (MaxResults excludes ImageIds).
        let batches = unique.chunks(FILTER_VALUES).map(|chunk| {
            client
                .describe_images()
                .filters(filter("image-id", chunk.iter().cloned()))
                .include_deprecated(true)
                .set_include_disabled(include_disabled.then_some(true))
                .max_results(PAGE_SIZE)
                .into_paginator()
                .items()
                .send()
                .try_collect()
        });
        let answers = futures::future::try_join_all(batches)
            .await
            .map_err(|e| error::from_sdk(DESCRIBE_IMAGES, Some(region), e))?;
        let mut images = mapping::images_from_ec2(region, answers.iter().flatten());
        // Emulators (moto) ignore IncludeDisabled.
        if !include_disabled {
            images.retain(|i| i.state != ImageState::Disabled);
        }
        Ok(images)
    }
}

#[async_trait]
impl ImageCatalog for AwsCloud {
    #[tracing::instrument(skip(self, ids), fields(region = %region, ids = ids.len()))]
    async fn describe_images(
        &self,
        region: &Region,
        ids: &[AmiId],
    ) -> Result<Vec<Image>, CloudError> {
        self.describe_by_id(region, ids, false).await
    }

    #[tracing::instrument(skip(self, filter), fields(region = %region))]
    async fn search_images(
        &self,
        region: &Region,
        filter: &ImageFilter,
    ) -> Result<Vec<Image>, CloudError> {
        let owners = ec2_owners(region, filter)?;
        let raw = self
            .clients
            .ec2(region)
            .describe_images()
            .set_owners(Some(owners))
            .set_filters(Some(ec2_filters(filter)))
            .include_deprecated(filter.include_deprecated)
            .set_include_disabled(filter.include_disabled.then_some(true))
            .max_results(PAGE_SIZE)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| error::from_sdk(DESCRIBE_IMAGES, Some(region), e))?;
        let mut images = mapping::images_from_ec2(region, raw.iter());
        // EC2 returns an owner's own deprecated images whatever IncludeDeprecated says; the
        // filter's meaning is "not deprecated now", so that is checked here too.
        if !filter.include_deprecated {
            let now = Utc::now();
            images.retain(|i| !i.is_deprecated_at(now));
        }
        // Emulators (moto) ignore IncludeDisabled; a filter's `states` alone never lets a
        // disabled image in.
        if !filter.include_disabled {
            images.retain(|i| i.state != ImageState::Disabled);
        }
        tracing::debug!(found = images.len(), "searched images");
        Ok(images)
    }

    #[tracing::instrument(skip(self, snapshots), fields(region = %region, snapshots = snapshots.len()))]
    async fn can_create_volumes(
        &self,
        region: &Region,
        snapshots: &[SnapshotId],
    ) -> Result<BTreeMap<SnapshotId, bool>, CloudError> {
        let asked: BTreeSet<&SnapshotId> = snapshots.iter().collect();
        if asked.is_empty() {
            return Ok(BTreeMap::new());
        }
        let ids: Vec<String> = asked.iter().map(|s| s.as_str().to_owned()).collect();
        let client = self.clients.ec2(region);
        // DescribeSnapshots lists exactly the snapshots the caller may create volumes from:
        // its own (implicit permission), public ones (group `all`) and those whose owner
        // granted the caller's account create-volume permission. No OwnerIds and no
        // RestorableByUserIds, which would narrow that set (`self` leaves out public ones).
        // DescribeSnapshotAttribute would need one call per snapshot and answers only the
        // snapshot's owner, not an account an image was shared with. The `snapshot-id`
        // filter rather than `SnapshotIds`: a snapshot the caller cannot see is then absent
        // instead of failing the batch (InvalidSnapshot.NotFound), and pages can be sized.
        let batches = ids.chunks(FILTER_VALUES).map(|chunk| {
            client
                .describe_snapshots()
                .filters(filter("snapshot-id", chunk.iter().cloned()))
                .max_results(PAGE_SIZE)
                .into_paginator()
                .items()
                .send()
                .try_collect()
        });
        let answers = futures::future::try_join_all(batches)
            .await
            .map_err(|e| error::from_sdk(DESCRIBE_SNAPSHOTS, Some(region), e))?;
        let visible: BTreeSet<&str> = answers
            .iter()
            .flatten()
            .filter_map(|s| s.snapshot_id())
            .collect();
        Ok(asked
            .into_iter()
            .map(|s| (s.clone(), visible.contains(s.as_str())))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amiref_core::Architecture;

    fn pairs(filters: &[Filter]) -> Vec<(String, Vec<String>)> {
        filters
            .iter()
            .map(|f| (f.name().unwrap_or_default().to_owned(), f.values().to_vec()))
            .collect()
    }

    #[test]
    fn every_field_becomes_a_server_filter() {
        let f = ImageFilter::owned_by([Owner::Me])
            .name("cws-*")
            .architectures([Architecture::X86_64, Architecture::Arm64])
            .tag("team", Some("hpc".into()))
            .tag("approved", None)
            .tag("audited", None)
            .states([ImageState::Available, ImageState::Pending])
            .product_code("abc");
        let got = pairs(&ec2_filters(&f));
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                ("name".into(), s(&["cws-*"])),
                ("architecture".into(), s(&["x86_64", "arm64"])),
                ("state".into(), s(&["available", "pending"])),
                ("tag:team".into(), s(&["hpc"])),
                ("tag-key".into(), s(&["approved"])),
                ("tag:audited".into(), s(&["*"])),
                ("product-code".into(), s(&["abc"])),
            ]
        );
        let plain = pairs(&ec2_filters(&ImageFilter::owned_by([Owner::Amazon])));
        assert_eq!(plain, vec![("state".into(), s(&["available"]))]);
    }

    #[test]
    fn owners_are_required_and_must_be_ec2_owners() {
        let r: Region = "us-east-1".parse().unwrap();
        let err = ec2_owners(&r, &ImageFilter::default()).unwrap_err();
        assert_eq!(err.kind, CloudErrorKind::InvalidRequest);
        let named = ImageFilter::owned_by([Owner::Named("prism-community".into())]);
        let err = ec2_owners(&r, &named).unwrap_err();
        assert!(err.message.contains("prism-community"), "{err}");
        let ok = ImageFilter::owned_by([Owner::Me, Owner::Amazon]);
        assert_eq!(ec2_owners(&r, &ok).unwrap(), vec!["self", "amazon"]);
    }
}
