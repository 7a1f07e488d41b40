//! What a resolution learns once: the caller, what the launch region can run, and each
//! region's Allowed AMIs setting, asked together with the tiers' own calls.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use amiref_core::{
    AccountId, AllowedImagesSettings, Architecture, CloudError, InstanceType, Region,
};
use amiref_strategies::{
    ArchCandidates, ChoiceNote, Choices, Facts, RegionTypes, launchable_choices,
};
use async_trait::async_trait;
use tokio::sync::OnceCell;

use crate::resolver::Inner;

/// What a region said about a set of instance types; `None` for a question it could not
/// answer (the type names decide then), with the error for the chain.
#[derive(Debug, Clone, Default)]
pub(crate) struct RegionTypesAnswer {
    architectures: Option<BTreeMap<InstanceType, Vec<Architecture>>>,
    offered: Option<BTreeSet<InstanceType>>,
    errors: Vec<ChoiceNote>,
}

/// The facts of one resolution, on the resolver's caches: the caller once per resolver,
/// instance types and Allowed AMIs per region for the positive TTL, every question asked
/// once however many tiers await it.
pub(crate) struct ResolutionFacts<'a> {
    inner: &'a Inner,
    launch_region: &'a Region,
    candidates: Vec<ArchCandidates>,
    preferred: Option<Architecture>,
    needs_caller: bool,
    choices: OnceCell<Arc<Choices>>,
    errors: OnceCell<Vec<ChoiceNote>>,
    /// Each region's Allowed AMIs answer for this resolution: the resolver's cache keeps
    /// only successes, so an error is kept here, and the question asked once.
    allowed: Mutex<HashMap<Region, Arc<OnceCell<AllowedAnswer>>>>,
}

type AllowedAnswer = Result<Arc<AllowedImagesSettings>, CloudError>;

impl<'a> ResolutionFacts<'a> {
    pub(crate) fn new(
        inner: &'a Inner,
        launch_region: &'a Region,
        candidates: Vec<ArchCandidates>,
        preferred: Option<Architecture>,
        needs_caller: bool,
    ) -> Self {
        Self {
            inner,
            launch_region,
            candidates,
            preferred,
            needs_caller,
            choices: OnceCell::new(),
            errors: OnceCell::new(),
            allowed: Mutex::new(HashMap::new()),
        }
    }

    /// What the launch region could not tell about instance types (for the warnings).
    pub(crate) fn errors(&self) -> Vec<ChoiceNote> {
        self.errors.get().cloned().unwrap_or_default()
    }

    /// The architectures the template allows, before the region answers.
    pub(crate) fn architectures(&self) -> Vec<Architecture> {
        self.candidates.iter().map(|c| c.architecture).collect()
    }

    /// Asks every question of the launch region at once; awaited beside the tiers so that
    /// none of them waits for an answer it could have had already.
    pub(crate) async fn warm(&self) {
        // The answers are kept by the caches; an error is each tier's to report.
        let _ = futures::join!(
            self.caller(),
            self.choices(),
            self.allowed_images(self.launch_region)
        );
    }

    async fn region_types(&self) -> Arc<RegionTypesAnswer> {
        let mut types: Vec<InstanceType> = self
            .candidates
            .iter()
            .flat_map(|c| c.types.iter().cloned())
            .collect();
        types.sort();
        types.dedup();
        let key = (self.launch_region.clone(), types.clone());
        let cloud = &self.inner.cloud;
        let region = self.launch_region;
        let ttl = self.inner.positive_ttl;
        let (answer, _) = self
            .inner
            .region_types
            .get_or_compute(
                key,
                |a: &Arc<RegionTypesAnswer>| a.errors.is_empty().then_some(ttl),
                || async {
                    let (archs, offered) = futures::join!(
                        cloud.architectures(region, &types),
                        cloud.offered_instance_types(region, &types)
                    );
                    let mut answer = RegionTypesAnswer::default();
                    match archs {
                        Ok(a) => answer.architectures = Some(a),
                        Err(e) => answer.errors.push(ChoiceNote::ArchitecturesUnreadable {
                            region: region.clone(),
                            error: (&e).into(),
                        }),
                    }
                    match offered {
                        Ok(o) => answer.offered = Some(o),
                        Err(e) => answer.errors.push(ChoiceNote::OfferingsUnreadable {
                            region: region.clone(),
                            error: (&e).into(),
                        }),
                    }
                    Arc::new(answer)
                },
            )
            .await;
        answer
    }
}

#[async_trait]
impl Facts for ResolutionFacts<'_> {
    async fn caller(&self) -> Option<AccountId> {
        if !self.needs_caller {
            return None;
        }
        let cloud = &self.inner.cloud;
        match self
            .inner
            .caller
            .get_or_try_init(|| async { cloud.caller().await.map(|c| c.account) })
            .await
        {
            Ok(account) => Some(account.clone()),
            Err(e) => {
                tracing::warn!(error = %e, "caller identity unavailable: images owned by self are not trusted");
                None
            }
        }
    }

    async fn choices(&self) -> Arc<Choices> {
        self.choices
            .get_or_init(|| async {
                let answer = self.region_types().await;
                let prices = &self.inner.model.instance_prices;
                let region = self.launch_region;
                let mut choices = launchable_choices(
                    &self.candidates,
                    RegionTypes::new(answer.architectures.as_ref(), answer.offered.as_ref()),
                    self.preferred,
                    &|t| prices.hourly(region, t),
                );
                choices.notes.extend(answer.errors.iter().cloned());
                let _ = self.errors.set(answer.errors.clone());
                Arc::new(choices)
            })
            .await
            .clone()
    }

    async fn allowed_images(
        &self,
        region: &Region,
    ) -> Result<Arc<AllowedImagesSettings>, CloudError> {
        let cell = self
            .allowed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(region.clone())
            .or_default()
            .clone();
        let cloud = &self.inner.cloud;
        let ttl = self.inner.positive_ttl;
        cell.get_or_init(|| async {
            let (answer, _) = self
                .inner
                .allowed_images
                .get_or_compute(
                    region.clone(),
                    |a: &AllowedAnswer| a.is_ok().then_some(ttl),
                    || async { cloud.allowed_images_settings(region).await.map(Arc::new) },
                )
                .await;
            answer
        })
        .await
        .clone()
    }
}
