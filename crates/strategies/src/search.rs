//! Tier 2, dynamic search: the newest image of trusted owners that matches `ami_search`.

use std::collections::BTreeMap;

use amiref_core::{AccountId, Image, ImageFilter, Owner, wildcard_match};
use amiref_template::AmiSearch;
use async_trait::async_trait;
use chrono::{DateTime, NaiveTime, Utc};
use semver::Version;

use crate::version::{best_first, image_version, matches_version_tag};
use crate::{ArchChoice, Attempt, Context, Strategy, StrategyError, Tier, TrustPolicy};

/// Searches the region for the newest image matching `ami_config.ami_search`.
///
/// Owners are required (named owners are mapped by the trust policy; none at all is
/// refused), so a stranger's newer image with a matching name is never a candidate, and
/// each result's owner is checked again in case a backend ignored the owner filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct DynamicSearch;

#[async_trait]
impl Strategy for DynamicSearch {
    fn tier(&self) -> Tier {
        Tier::DynamicSearch
    }

    async fn attempt(&self, cx: &Context<'_>) -> Attempt {
        let Some(search) = cx
            .template
            .ami_config
            .as_ref()
            .and_then(|c| c.ami_search.as_ref())
        else {
            return Attempt::skipped("the template has no ami_search");
        };
        match search_region(cx, search).await {
            Ok(Ok((image, choice, reason))) => Attempt::found(image, choice, reason),
            Ok(Err(reason)) => Attempt::Skipped(reason),
            Err(e) => Attempt::Failed(e),
        }
    }
}

/// Runs `search` in `cx.region`: the image, its choice and why; or why nothing fits.
pub(crate) async fn search_region(
    cx: &Context<'_>,
    search: &AmiSearch,
) -> Result<Result<(Image, ArchChoice, String), String>, StrategyError> {
    let owners = cx.trust.resolve_owners(&search.all_owners())?;
    let archs: Vec<_> = cx
        .choices
        .iter()
        .map(|c| c.architecture)
        .filter(|a| search.architectures().is_empty() || search.architectures().contains(a))
        .collect();
    if archs.is_empty() {
        return Ok(Err(
            "no architecture allowed by ami_search runs on the template's instance types".into(),
        ));
    }
    let mut filter = ImageFilter::owned_by(owners.clone())
        .architectures(archs)
        .include_deprecated(search.include_deprecated);
    if let Some(p) = &search.name_pattern {
        filter = filter.name(p.clone());
    }
    for (k, v) in &search.required_tags {
        filter = filter.tag(k.clone(), Some(v.clone()));
    }
    let images = cx.cloud.search_images(cx.region, &filter).await?;
    let criteria = Criteria {
        search,
        owners: &owners,
        caller: cx.caller,
        choices: cx.choices,
        now: cx.now,
    };
    Ok(match select(&images, &criteria) {
        Ok(sel) => {
            // A version read from a name is only worth showing when the search asked for
            // one (otherwise it may be a kernel's, as in Amazon Linux names).
            let asked = search.version_tag.is_some() || search.version_constraint.is_some();
            let version = sel
                .version
                .as_ref()
                .filter(|_| asked)
                .map(|v| format!(" version {v},"))
                .unwrap_or_default();
            let reason = format!(
                "{} ({}):{version} newest of {} match(es) among {} candidate(s) of {}; {}",
                sel.image.id,
                sel.image.name,
                sel.matching,
                images.len(),
                owners_text(&owners),
                crate::strategy::describe_choice(sel.choice)
            );
            Ok((sel.image.clone(), sel.choice.clone(), reason))
        }
        Err(rejections) => Err(format!(
            "no image of {} in {} matches: {}",
            owners_text(&owners),
            cx.region,
            rejections
        )),
    })
}

fn owners_text(owners: &[Owner]) -> String {
    owners
        .iter()
        .map(Owner::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a search asks of each candidate, beyond what the cloud's filter already checked.
#[derive(Debug, Clone, Copy)]
pub struct Criteria<'a> {
    /// The search.
    pub search: &'a AmiSearch,
    /// Its owners, named owners already mapped to accounts.
    pub owners: &'a [Owner],
    /// The caller's account, for `self`.
    pub caller: Option<&'a AccountId>,
    /// The template's architectures, best first.
    pub choices: &'a [ArchChoice],
    /// The time deprecation is judged at.
    pub now: DateTime<Utc>,
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
pub struct Rejections(BTreeMap<&'static str, usize>);

impl Rejections {
    fn add(&mut self, why: &'static str) {
        *self.0.entry(why).or_default() += 1;
    }

    /// How many candidates were rejected for `why`.
    pub fn count(&self, why: &str) -> usize {
        self.0.get(why).copied().unwrap_or(0)
    }
}

impl std::fmt::Display for Rejections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no candidates");
        }
        let parts: Vec<String> = self.0.iter().map(|(k, n)| format!("{n} {k}")).collect();
        f.write_str(&parts.join(", "))
    }
}

/// Chooses the best of `images` for `criteria` in one pass (no sort), so a choice among
/// 100,000 candidates costs one version parse per image.
///
/// Every candidate must belong to one of the owners, be available, not be deprecated
/// (unless the search includes deprecated images), match the name pattern, carry the
/// required tags, be no older than `min_creation_date`, match `version_tag` and satisfy
/// `version_constraint`, and have an architecture the template can launch. Among those, the
/// architecture is the first of `choices` that has any, and within it candidates are ordered
/// by version, creation date and name.
pub fn select<'i, 'c>(
    images: &'i [Image],
    criteria: &Criteria<'c>,
) -> Result<Selection<'i, 'c>, Rejections> {
    let search = criteria.search;
    let min_date = search
        .min_creation_date
        .map(|d| d.and_time(NaiveTime::MIN).and_utc());
    let mut rejections = Rejections::default();
    // Best candidate per choice index, with its parsed version.
    let mut best: Vec<Option<(Option<Version>, &'i Image)>> = vec![None; criteria.choices.len()];
    let mut matching = 0;
    for image in images {
        if !TrustPolicy::owned_by_any(image, criteria.owners, criteria.caller) {
            rejections.add("owned by someone else");
            continue;
        }
        if !image.is_available() {
            rejections.add("not available");
            continue;
        }
        if !search.include_deprecated && image.is_deprecated_at(criteria.now) {
            rejections.add("deprecated");
            continue;
        }
        if let Some(p) = &search.name_pattern
            && !wildcard_match(p, &image.name)
        {
            rejections.add("name does not match");
            continue;
        }
        if !search
            .required_tags
            .iter()
            .all(|(k, v)| image.tag(k) == Some(v.as_str()))
        {
            rejections.add("missing required tags");
            continue;
        }
        if min_date.is_some_and(|d| image.creation_date < d) {
            rejections.add("older than min_creation_date");
            continue;
        }
        if let Some(tag) = &search.version_tag
            && !matches_version_tag(image, tag)
        {
            rejections.add("other version than version_tag");
            continue;
        }
        let version = image_version(image);
        if let Some(req) = &search.version_constraint
            && !version.as_ref().is_some_and(|v| req.matches(v))
        {
            rejections.add("outside version_constraint");
            continue;
        }
        let Some(slot) = criteria
            .choices
            .iter()
            .position(|c| c.architecture == image.architecture)
        else {
            rejections.add("architecture the instance types cannot run");
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
