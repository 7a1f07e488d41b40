//! Shared helpers of the registry tests.
#![allow(dead_code, unreachable_pub, missing_docs)]
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use amiref_core::{AccountId, AmiId, Architecture, Region};
use amiref_registry::{
    Entry, EntryPolicy, KeyStatus, Layer, ParsedRegistry, PublisherKey, Ratings, Registry,
    RegistryDocument, ScanStatus, SharingPolicy, TrustStore, Verification,
};
use chrono::{DateTime, TimeZone, Utc};

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap()
}

pub fn region(s: &str) -> Region {
    s.parse().unwrap()
}

pub fn ami(s: &str) -> AmiId {
    s.parse().unwrap()
}

pub fn key(seed: u8) -> PublisherKey {
    PublisherKey::from_seed(format!("publisher-{seed}"), [seed; 32])
}

pub fn trust(keys: &[&PublisherKey]) -> TrustStore {
    let mut store = TrustStore::new();
    for k in keys {
        store.insert(k.publisher(), k.verifying_key(), KeyStatus::Active);
    }
    store
}

/// An entry with every field set, so tampering tests can touch each one.
pub fn full_entry() -> Entry {
    let mut regions = BTreeMap::new();
    regions.insert(region("us-east-1"), ami("ami-0123456789abcdef0"));
    regions.insert(region("us-west-2"), ami("ami-0fedcba9876543210"));
    let mut e = Entry::new(
        "ml-research-group@university.edu",
        Architecture::X86_64,
        regions,
    );
    e.description = "Optimized Python ML".into();
    e.owner = Some(AccountId::new("111122223333").unwrap());
    let mut v = Verification::new(true, ScanStatus::Passed).measured(630.0, 150.0);
    v.performance_benchmark = Some("4.2x faster than script install".into());
    v.tested_at = Some(Utc.with_ymd_and_hms(2026, 10, 16, 0, 0, 0).unwrap());
    e.verification = Some(v);
    e.ratings = Some(Ratings::new(4.8, 23, 1247));
    e.created_at = Some(Utc.with_ymd_and_hms(2026, 10, 15, 14, 30, 0).unwrap());
    let mut sharing = SharingPolicy::default();
    sharing
        .accounts
        .push(AccountId::new("123456789012").unwrap());
    sharing
        .organizations
        .push("arn:aws:organizations::210987654321:organization/o-a1b2c3d4e5".into());
    sharing
        .organizational_units
        .push("arn:aws:organizations::210987654321:ou/o-a1b2c3d4e5/ou-ab12-research".into());
    e.sharing = Some(sharing);
    e
}

/// A simple entry: one region, the given ratings and creation date.
pub fn entry(
    region_code: &str,
    image: &str,
    ratings: Option<(f64, u64)>,
    created: Option<DateTime<Utc>>,
) -> Entry {
    let mut regions = BTreeMap::new();
    regions.insert(region(region_code), ami(image));
    let mut e = Entry::new("someone", Architecture::X86_64, regions);
    e.ratings = ratings.map(|(average, reviews)| Ratings::new(average, reviews, 0));
    e.created_at = created;
    e
}

pub fn document(entries: Vec<(&str, &str, Entry)>) -> RegistryDocument {
    let mut doc = RegistryDocument::new();
    for (template, version, e) in entries {
        doc.community_amis
            .entry(template.to_owned())
            .or_default()
            .insert(version.to_owned(), e);
    }
    doc
}

pub fn signed(doc: RegistryDocument, origin: &str, key: &PublisherKey) -> ParsedRegistry {
    let mut parsed = ParsedRegistry::from_document(doc, origin);
    parsed.sign_all(key).unwrap();
    parsed
}

pub fn build(
    layers: Vec<(Layer, ParsedRegistry)>,
    trust: TrustStore,
    policy: EntryPolicy,
) -> Registry {
    let mut b = Registry::builder()
        .trust_store(trust)
        .entry_policy(policy)
        .now(now());
    for (layer, parsed) in layers {
        b = b.document(layer, parsed);
    }
    b.build_from_documents()
}
