//! The owner/name index narrows a search by its pattern's literal prefix: it must never
//! lose an image that EC2's wildcard matching would return.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeSet;

use amiref_core::{
    AccountId, Architecture, Image, ImageCatalog, ImageFilter, Owner, Region, wildcard_match,
};
use amiref_memory::{ImageSeed, MemoryCloud};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn indexed_search_equals_brute_force(
        names in proptest::collection::btree_set("[ab.\\-]{0,6}", 0..30),
        pattern in "[ab.\\-*?]{0,5}",
    ) {
        let me: AccountId = "123456789012".parse().unwrap();
        let region: Region = "us-east-1".parse().unwrap();
        let seeds = names.iter().enumerate().map(|(i, name)| {
            ImageSeed::new(Image::new(
                format!("ami-0{i:016x}").parse().unwrap(),
                region.clone(),
                name.clone(),
                me.clone(),
                Architecture::X86_64,
                "2026-01-01T00:00:00Z".parse().unwrap(),
            ))
        });
        let cloud = MemoryCloud::builder().caller(me.clone()).images(seeds).build().unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let found = rt
            .block_on(cloud.search_images(&region, &ImageFilter::owned_by([Owner::Me]).name(pattern.clone())))
            .unwrap();
        let got: BTreeSet<String> = found.into_iter().map(|i| i.name).collect();
        let want: BTreeSet<String> = names.iter().filter(|n| wildcard_match(&pattern, n)).cloned().collect();
        prop_assert_eq!(got, want);
    }
}
