//! Properties of the retention policy over random sets of versions.

use amiref_core::{Architecture, Image};
use amiref_lifecycle::{
    Decision, FlatSnapshotPrice, KeepReason, Lifecycle, MemoryAuditSink, RetentionPolicy,
    RetireSpec, tags,
};
use amiref_memory::ImageSeed;
use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;

use crate::{me, region};

fn plan(ages_days: &[u32], keep: Option<usize>, max_age_days: Option<u32>) -> Vec<(u32, Decision)> {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let seeds = ages_days.iter().enumerate().map(|(i, age)| {
        let mut image = Image::new(
            format!("ami-{:017x}", i + 1).parse().unwrap(),
            region("us-east-1"),
            format!("python-ml build {i}"),
            me(),
            Architecture::X86_64,
            start - Duration::days(i64::from(*age)) - Duration::seconds(i as i64),
        );
        image
            .tags
            .insert(tags::TAG_TEMPLATE.into(), "python-ml".into());
        ImageSeed::new(image)
    });
    let cloud = crate::world().start(start).images(seeds).build().unwrap();
    let mut policy = match (keep, max_age_days) {
        (Some(n), _) => RetentionPolicy::keep_newest(n),
        (None, Some(d)) => RetentionPolicy::younger_than(Duration::days(i64::from(d))),
        (None, None) => unreachable!(),
    };
    if let (Some(_), Some(d)) = (keep, max_age_days) {
        policy = policy.max_age(Duration::days(i64::from(d)));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let report = runtime.block_on(async {
        let audit = MemoryAuditSink::new();
        let clock = cloud.clone();
        Lifecycle::new(&cloud, &audit)
            .clock(move || clock.now())
            .retire(
                &RetireSpec::new("python-ml", vec![region("us-east-1")], policy),
                &FlatSnapshotPrice::default(),
            )
            .await
            .unwrap()
    });
    report
        .entries
        .into_iter()
        .map(|e| {
            let index: usize = e
                .name
                .trim_start_matches("python-ml build ")
                .parse()
                .unwrap();
            (ages_days[index], e.decision)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_policy_keeps_what_it_promises(
        ages in proptest::collection::vec(0u32..400, 1..12),
        keep in proptest::option::of(0usize..5),
        max_age in proptest::option::of(1u32..365),
    ) {
        prop_assume!(keep.is_some() || max_age.is_some());
        let decisions = plan(&ages, keep, max_age);
        prop_assert_eq!(decisions.len(), ages.len());
        // Entries come newest first; the newest is always kept.
        let newest_kept = matches!(decisions[0].1, Decision::Keep { .. });
        prop_assert!(newest_kept, "the newest was not kept");
        for (rank, (age, decision)) in decisions.iter().enumerate() {
            let young = max_age.is_some_and(|m| age < &m);
            let among_newest = keep.is_some_and(|n| rank < n);
            match decision {
                Decision::Disable { .. } => {
                    prop_assert!(!young, "retired an image younger than the limit");
                    prop_assert!(!among_newest, "retired one of the newest N");
                    prop_assert!(rank > 0);
                }
                Decision::Keep { reason: KeepReason::Minimum } => prop_assert_eq!(rank, 0),
                Decision::Keep { .. } => prop_assert!(young || among_newest || rank == 0),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }
}
