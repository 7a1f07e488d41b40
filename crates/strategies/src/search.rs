//! Tier 2, dynamic search: the newest image of trusted owners that matches `ami_search`.

use std::collections::BTreeMap;

use amiref_core::{
    AccountId, AllowedImagesSettings, Image, ImageFilter, Owner, ResolutionMethod, wildcard_match,
};
use amiref_template::AmiSearch;
use async_trait::async_trait;
use chrono::{DateTime, NaiveTime, Utc};
use semver::Version;

use crate::strategy::{
    allowed_images_verdict, satisfies_allowed_images, unreadable_allowed_images,
};
use crate::trust::SearchOwners;
use crate::version::{best_first, image_version, matches_version_tag};
use crate::{
    ArchChoice, Attempt, Context, Found, FoundVia, Missing, NoMatch, NotSearched, Ranking,
    RejectionCount, SearchFind, SearchRejection, Skip, Strategy, StrategyError, TrustPolicy,
};

/// Searches the region for the newest image matching `ami_config.ami_search`.
///
/// Owners are required (named owners are mapped by the trust policy; none at all is
/// refused), so a stranger's newer image with a matching name is never a candidate, and
/// each result's owner is checked again in case a backend ignored the owner filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct DynamicSearch;

#[async_trait]
impl Strategy for DynamicSearch {
    fn tier(&self) -> ResolutionMethod {
        ResolutionMethod::DynamicSearch
    }

    fn applies(&self, cx: &Context<'_>) -> bool {
        template_search(cx).is_some()
    }

    async fn attempt(&self, cx: &Context<'_>) -> Attempt {
        let Some(search) = template_search(cx) else {
            return Attempt::Skipped(Skip::not_asked(Missing::Search));
        };
        match search_region(cx, search, false).await {
            Ok(Ok(mut found)) => Attempt::Found(Box::new(found.swap_remove(0))),
            Ok(Err(reason)) => Attempt::Skipped(reason),
            Err(e) => Attempt::Failed(e),
        }
    }

    async fn ranked(&self, cx: &Context<'_>) -> Ranking {
        let Some(search) = template_search(cx) else {
            return Ranking::Skipped(Skip::not_asked(Missing::Search));
        };
        match search_region(cx, search, true).await {
            Ok(Ok(found)) => Ranking::Found(found),
            Ok(Err(reason)) => Ranking::Skipped(reason),
            Err(e) => Ranking::Failed(e),
        }
    }
}

fn template_search<'a>(cx: &Context<'a>) -> Option<&'a AmiSearch> {
    cx.template
        .ami_config
        .as_ref()
        .and_then(|c| c.ami_search.as_ref())
}

/// Runs `search` in `cx.region`: the best image (or, with `all`, every acceptable one, best
/// first), each with its choice and why; or why nothing fits.
///
/// The owners are the search's, narrowed by the trust policy (a template can only narrow
/// it); the call goes out at once, and the caller, the launch region's choices and the
/// Allowed AMIs setting are awaited only to judge its answer.
pub(crate) async fn search_region(
    cx: &Context<'_>,
    search: &AmiSearch,
    all: bool,
) -> Result<Result<Vec<Found>, Skip>, StrategyError> {
    let resolved = cx.trust.resolve_owners(&search.all_owners())?;
    // An account id the policy trusts only as `self` may be the caller's: it is searched
    // at once, beside the others, and judged when the caller's identity arrives (its images
    // are dropped unless it is the caller's), so that the search costs one round trip. A
    // search none of whose owners can be trusted is refused without a call.
    let provisional = cx.trust.search_owners_provisionally(&resolved)?;
    let archs: Vec<_> = cx
        .architectures
        .iter()
        .copied()
        .filter(|a| search.architectures().is_empty() || search.architectures().contains(a))
        .collect();
    if archs.is_empty() {
        return Ok(Err(Skip::NoSearchArchitecture));
    }
    let mut filter = ImageFilter::owned_by(provisional)
        .architectures(archs)
        .include_deprecated(search.include_deprecated);
    if let Some(p) = &search.name_pattern {
        filter = filter.name(p.clone());
    }
    for (k, v) in &search.required_tags {
        filter = filter.tag(k.clone(), Some(v.clone()));
    }
    let images = cx.cloud.search_images(cx.region, &filter).await?;
    let caller = cx.facts.caller().await;
    let SearchOwners { owners, refused } = cx.trust.search_owners(&resolved, caller.as_ref())?;
    let choices = cx.facts.choices().await;
    let allowed = cx.facts.allowed_images(cx.region).await;
    let mut warnings = Vec::new();
    let settings = match &allowed {
        Ok(s) => Some(s.as_ref()),
        Err(e) => {
            warnings.push(unreadable_allowed_images(cx.region, e));
            None
        }
    };
    let criteria = Criteria {
        search,
        owners: &owners,
        caller: caller.as_ref(),
        choices: &choices.list,
        now: cx.now,
        allowed: settings,
    };
    let not_searched = (!refused.is_empty()).then(|| NotSearched {
        owners: refused,
        policy: cx.trust.summary(),
    });
    let ranked = if all {
        select_ranked(&images, &criteria)
    } else {
        select(&images, &criteria).map(|s| vec![s])
    };
    Ok(match ranked {
        Ok(selections) => {
            // A version read from a name is only worth showing when the search asked for
            // one (otherwise it may be a kernel's, as in Amazon Linux names).
            let asked = search.version_tag.is_some() || search.version_constraint.is_some();
            let found = selections
                .into_iter()
                .map(|sel| {
                    let via = FoundVia::DynamicSearch(SearchFind {
                        version: sel
                            .version
                            .as_ref()
                            .filter(|_| asked)
                            .map(ToString::to_string),
                        matching: sel.matching,
                        candidates: images.len(),
                        owners: owners.clone(),
                        not_searched: not_searched.clone(),
                    });
                    let mut w = warnings.clone();
                    if let Some(settings) = settings {
                        allowed_images_verdict(
                            settings,
                            sel.image,
                            caller.as_ref(),
                            cx.now,
                            cx.region,
                            &mut w,
                        );
                    }
                    Found::new(sel.image.clone(), sel.choice.clone(), via).with_warnings(w)
                })
                .collect();
            Ok(found)
        }
        Err(rejections) => {
            let choice_notes = if rejections.count(SearchRejection::Unlaunchable) > 0 {
                choices.notes.clone()
            } else {
                Vec::new()
            };
            Err(Skip::NoMatch(Box::new(NoMatch {
                owners: owners.clone(),
                region: cx.region.clone(),
                rejected: rejections.counts(),
                not_searched,
                choice_notes,
                allowed_images_enabled: settings.is_some_and(|s| s.restricts()),
            })))
        }
    })
}

/// What a search asks of each candidate, beyond what the cloud's filter already checked.
#[derive(Debug, Clone, Copy)]
pub struct Criteria<'a> {
    /// The search.
    pub search: &'a AmiSearch,
    /// Its owners, named owners already mapped to accounts and narrowed by the trust policy.
    pub owners: &'a [Owner],
    /// The caller's account, for `self`.
    pub caller: Option<&'a AccountId>,
    /// The launch region's choices, best first.
    pub choices: &'a [ArchChoice],
    /// The time deprecation is judged at.
    pub now: DateTime<Utc>,
    /// The region's Allowed AMIs setting, where it could be read.
    pub allowed: Option<&'a AllowedImagesSettings>,
}

/// The winner of a selection.
#[derive(Debug, Clone)]
pub struct Selection<'i, 'c> {
    /// The image.
    pub image: &'i Image,
    /// Its version, if it has one.
    pub version: Option<Version>,
    /// The architecture and instance type it launches on.
    pub choice: &'c ArchChoice,
    /// How many candidates passed every check.
    pub matching: usize,
}

/// Why no candidate passed, counted per reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rejections(BTreeMap<SearchRejection, usize>);

impl Rejections {
    fn add(&mut self, why: SearchRejection) {
        *self.0.entry(why).or_default() += 1;
    }

    /// How many candidates were rejected for `why`.
    pub fn count(&self, why: SearchRejection) -> usize {
        self.0.get(&why).copied().unwrap_or(0)
    }

    /// Every reason with its count, in the reasons' order.
    pub fn counts(&self) -> Vec<RejectionCount> {
        self.0
            .iter()
            .map(|(&reason, &count)| RejectionCount { reason, count })
            .collect()
    }
}

/// Whether one candidate passes every check; its version and choice slot if so.
fn admit(
    image: &Image,
    criteria: &Criteria<'_>,
    min_date: Option<DateTime<Utc>>,
    rejections: &mut Rejections,
) -> Option<(Option<Version>, usize)> {
    let search = criteria.search;
    if !TrustPolicy::owned_by_any(image, criteria.owners, criteria.caller) {
        rejections.add(SearchRejection::Untrusted);
        return None;
    }
    if !image.is_available() {
        rejections.add(SearchRejection::NotAvailable);
        return None;
    }
    if !search.include_deprecated && image.is_deprecated_at(criteria.now) {
        rejections.add(SearchRejection::Deprecated);
        return None;
    }
    if let Some(p) = &search.name_pattern
        && !wildcard_match(p, &image.name)
    {
        rejections.add(SearchRejection::NameMismatch);
        return None;
    }
    if !search
        .required_tags
        .iter()
        .all(|(k, v)| image.tag(k) == Some(v.as_str()))
    {
        rejections.add(SearchRejection::MissingTags);
        return None;
    }
    if min_date.is_some_and(|d| image.creation_date < d) {
        rejections.add(SearchRejection::TooOld);
        return None;
    }
    if let Some(tag) = &search.version_tag
        && !matches_version_tag(image, tag)
    {
        rejections.add(SearchRejection::OtherVersionTag);
        return None;
    }
    let version = image_version(image);
    if let Some(req) = &search.version_constraint
        && !version.as_ref().is_some_and(|v| req.matches(v))
    {
        rejections.add(SearchRejection::OutsideVersionConstraint);
        return None;
    }
    if let Some(settings) = criteria.allowed
        && settings.restricts()
        && !satisfies_allowed_images(settings, image, criteria.caller, criteria.now)
    {
        rejections.add(SearchRejection::BlockedByAllowedImages);
        return None;
    }
    let Some(slot) = criteria
        .choices
        .iter()
        .position(|c| c.architecture == image.architecture)
    else {
        rejections.add(SearchRejection::Unlaunchable);
        return None;
    };
    Some((version, slot))
}

fn min_date(search: &AmiSearch) -> Option<DateTime<Utc>> {
    search
        .min_creation_date
        .map(|d| d.and_time(NaiveTime::MIN).and_utc())
}

/// Chooses the best of `images` for `criteria` in one pass (no sort), so a choice among
/// 100,000 candidates costs one version parse per image.
///
/// Every candidate must belong to one of the owners, be available, not be deprecated
/// (unless the search includes deprecated images), match the name pattern, carry the
/// required tags, be no older than `min_creation_date`, match `version_tag` and satisfy
/// `version_constraint`, not be blocked by the account's Allowed AMIs, and have an
/// architecture the template can launch. Among those, the architecture is the first of
/// `choices` that has any, and within it candidates are ordered by version, creation date
/// and name.
pub fn select<'i, 'c>(
    images: &'i [Image],
    criteria: &Criteria<'c>,
) -> Result<Selection<'i, 'c>, Rejections> {
    let min_date = min_date(criteria.search);
    let mut rejections = Rejections::default();
    // Best candidate per choice index, with its parsed version.
    let mut best: Vec<Option<(Option<Version>, &'i Image)>> = vec![None; criteria.choices.len()];
    let mut matching = 0;
    for image in images {
        let Some((version, slot)) = admit(image, criteria, min_date, &mut rejections) else {
            continue;
        };
        matching += 1;
        let candidate = (version, image);
        let replace = match &best[slot] {
            None => true,
            Some(current) => best_first(&candidate, current).is_lt(),
        };
        if replace {
            best[slot] = Some(candidate);
        }
    }
    // The first choice (best architecture) that has any candidate wins.
    let winner = best
        .into_iter()
        .enumerate()
        .find_map(|(i, b)| b.map(|b| (i, b)));
    match winner {
        Some((i, (version, image))) => Ok(Selection {
            image,
            version,
            choice: &criteria.choices[i],
            matching,
        }),
        None => Err(rejections),
    }
}

/// Every candidate that [`select`] would accept, best first in its order (architecture,
/// then version, creation date and name): what the cross-region tier walks to find the best
/// image it can copy.
pub fn select_ranked<'i, 'c>(
    images: &'i [Image],
    criteria: &Criteria<'c>,
) -> Result<Vec<Selection<'i, 'c>>, Rejections> {
    let min_date = min_date(criteria.search);
    let mut rejections = Rejections::default();
    let mut admitted: Vec<(usize, (Option<Version>, &'i Image))> = images
        .iter()
        .filter_map(|image| {
            admit(image, criteria, min_date, &mut rejections)
                .map(|(version, slot)| (slot, (version, image)))
        })
        .collect();
    if admitted.is_empty() {
        return Err(rejections);
    }
    admitted.sort_by(|(sa, a), (sb, b)| sa.cmp(sb).then_with(|| best_first(a, b)));
    let matching = admitted.len();
    Ok(admitted
        .into_iter()
        .map(|(slot, (version, image))| Selection {
            image,
            version,
            choice: &criteria.choices[slot],
            matching,
        })
        .collect())
}
