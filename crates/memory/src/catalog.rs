//! `ImageCatalog`: DescribeImages by id and by filter, with EC2's visibility rules.

use std::collections::{BTreeMap, BTreeSet};

use amiref_core::{
    AccountId, AmiId, CloudError, CloudErrorKind, Image, ImageCatalog, ImageFilter, ImageState,
    Owner, Region, SnapshotId,
};
use async_trait::async_trait;

use crate::cloud::MemoryCloud;
use crate::knobs::op;
use crate::state::WorldData;

#[async_trait]
impl ImageCatalog for MemoryCloud {
    async fn describe_images(
        &self,
        region: &Region,
        ids: &[AmiId],
    ) -> Result<Vec<Image>, CloudError> {
        let now = self.begin(op::DESCRIBE_IMAGES, Some(region)).await?;
        let who = self.identity();
        let world = self.read();
        let now_utc = world.now_utc(now);
        let Some(state) = world.regions.get(region) else {
            return Ok(Vec::new());
        };
        let mut seen = BTreeSet::new();
        // Under an enabled Allowed AMIs setting, blocked images are not discoverable, even
        // by id; disabled images are left out too, as EC2 leaves them out without
        // IncludeDisabled (search with `ImageFilter::include_disabled` to see them).
        Ok(ids
            .iter()
            .filter(|id| seen.insert(*id))
            .filter_map(|id| state.images.get(id))
            .filter(|stored| stored.image.state != ImageState::Disabled)
            .filter_map(|stored| state.shown_to(stored, &who, now_utc))
            .collect())
    }

    async fn search_images(
        &self,
        region: &Region,
        filter: &ImageFilter,
    ) -> Result<Vec<Image>, CloudError> {
        let now = self.begin(op::DESCRIBE_IMAGES, Some(region)).await?;
        let who = self.identity();
        let found = {
            let world = self.read();
            let owners = owner_accounts(&world, &filter.owners, &who.account)
                .map_err(|e| e.in_region(region))?;
            let now_utc = world.now_utc(now);
            // EC2 shows owners their own deprecated images whatever the filter says.
            let own_filter = filter.clone().include_deprecated(true);
            match world.regions.get(region) {
                None => Vec::new(),
                Some(state) => {
                    let mut found: Vec<Image> = owners
                        .iter()
                        .flat_map(|owner| state.candidates(owner, filter.name_pattern.as_deref()))
                        .filter(|stored| {
                            let filter = if stored.image.owner == who.account {
                                &own_filter
                            } else {
                                filter
                            };
                            filter.matches_ignoring_owners(&stored.image, now_utc)
                        })
                        .filter_map(|stored| state.shown_to(stored, &who, now_utc))
                        .collect();
                    found.sort_by(|a, b| a.id.cmp(&b.id));
                    found
                }
            }
        };
        // EC2 answers a search a page at a time; every further page is another call,
        // counted and throttled like the first.
        let pages = found.len().div_ceil(self.shared.page_size).max(1);
        for _ in 1..pages {
            self.begin(op::DESCRIBE_IMAGES, Some(region)).await?;
        }
        Ok(found)
    }

    async fn can_create_volumes(
        &self,
        region: &Region,
        snapshots: &[SnapshotId],
    ) -> Result<BTreeMap<SnapshotId, bool>, CloudError> {
        // EC2 answers DescribeSnapshots a page at a time too.
        let pages = snapshots.len().div_ceil(self.shared.page_size).max(1);
        for _ in 0..pages {
            self.begin(op::DESCRIBE_SNAPSHOTS, Some(region)).await?;
        }
        let world = self.read();
        let state = world.regions.get(region);
        Ok(snapshots
            .iter()
            .map(|id| {
                let usable = state
                    .and_then(|r| r.snapshots.get(id))
                    .is_some_and(|s| s.volumes_by(&self.caller));
                (id.clone(), usable)
            })
            .collect())
    }
}

/// The accounts a search's owners stand for, as EC2 reads them for `caller`.
fn owner_accounts(
    world: &WorldData,
    owners: &[Owner],
    caller: &AccountId,
) -> Result<BTreeSet<AccountId>, CloudError> {
    if owners.is_empty() {
        return Err(CloudError::new(
            CloudErrorKind::InvalidRequest,
            op::DESCRIBE_IMAGES,
            "a search must name its owners: a search by name alone lets anyone's public image win",
        )
        .with_code("InvalidParameterCombination"));
    }
    let mut accounts = BTreeSet::new();
    for owner in owners {
        match owner {
            Owner::Me => {
                accounts.insert(caller.clone());
            }
            Owner::Account(a) => {
                accounts.insert(a.clone());
            }
            Owner::Amazon => accounts.extend(alias_accounts(world, "amazon")),
            Owner::AwsMarketplace => accounts.extend(alias_accounts(world, "aws-marketplace")),
            Owner::Named(name) => {
                return Err(CloudError::new(
                    CloudErrorKind::InvalidRequest,
                    op::DESCRIBE_IMAGES,
                    format!(
                        "owner {name:?} is a named owner, which a trust policy must map to accounts before a search"
                    ),
                )
                .with_code("InvalidUserID.Malformed"));
            }
        }
    }
    Ok(accounts)
}

fn alias_accounts<'a>(world: &'a WorldData, alias: &str) -> impl Iterator<Item = AccountId> + 'a {
    world.aliases.get(alias).into_iter().flatten().cloned()
}
