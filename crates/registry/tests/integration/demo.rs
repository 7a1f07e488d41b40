//! The demo registry files in examples/registry against the demo world, and the resolver's
//! community tier choosing from them.
//!
//! `AMIREF_BLESS=1 cargo test -p amiref-registry --test integration demo::` (re-)signs the demo files with
//! the demo keys (creating the keys if missing) and rewrites the trust store.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use amiref_core::{Architecture, Cloud, ImageCatalog, ResolutionMethod};
use amiref_memory::MemoryCloud;
use amiref_registry::{
    EntryPolicy, KeyStatus, ParsedRegistry, PublisherKey, Registry, RegistrySource, TrustStore,
};
use common::region;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// (registry file, secret key file, publisher)
const SIGNED_FILES: [(&str, &str, &str); 2] = [
    (
        "community.yml",
        "demo-community.key",
        "cws-community (demo key)",
    ),
    (
        "institutional.yml",
        "demo-university.key",
        "university IT (demo key)",
    ),
];

fn bless() {
    let dir = examples().join("registry");
    let mut store = TrustStore::new();
    for (file, key_file, publisher) in SIGNED_FILES {
        let key_path = dir.join(key_file);
        let key = if key_path.exists() {
            PublisherKey::load_file(&key_path).unwrap()
        } else {
            let key = PublisherKey::generate_random(publisher);
            std::fs::write(&key_path, key.to_secret_yaml()).unwrap();
            key
        };
        let mut parsed = ParsedRegistry::load_file(&dir.join(file)).unwrap();
        parsed.document.publishers.clear();
        parsed.sign_all(&key).unwrap();
        parsed.save_file(&dir.join(file)).unwrap();
        store.insert(publisher, key.verifying_key(), KeyStatus::Active);
    }
    store.save_file(&dir.join("trust.yml")).unwrap();
}

async fn demo_registry(cloud: &MemoryCloud) -> Registry {
    static BLESSED: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("AMIREF_BLESS").is_some() {
        BLESSED.call_once(bless);
    }
    let dir = examples().join("registry");
    Registry::builder()
        .institutional(RegistrySource::file(dir.join("institutional.yml")))
        .community(RegistrySource::file(dir.join("community.yml")))
        .trust_store(TrustStore::load_file(&dir.join("trust.yml")).unwrap())
        .entry_policy(EntryPolicy::new())
        .caller_from(cloud)
        .await
        .unwrap()
        .now(cloud.now())
        .build()
        .await
        .unwrap()
}

fn world() -> MemoryCloud {
    MemoryCloud::from_world_file(examples().join("worlds/demo.yaml")).unwrap()
}

#[tokio::test(start_paused = true)]
async fn every_demo_entry_verifies_and_names_a_real_image_of_the_demo_world() {
    let cloud = world();
    let reg = demo_registry(&cloud).await;
    let report = reg.report();
    assert!(report.refused.is_empty(), "{:#?}", report.refused);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(
        reg.entries().len(),
        10,
        "every entry is admitted and visible to the lab"
    );
    for e in reg.entries() {
        assert!(matches!(
            e.provenance,
            amiref_registry::Provenance::Signed { .. }
        ));
        for (r, id) in &e.entry.regions {
            let found = cloud
                .describe_images(r, std::slice::from_ref(id))
                .await
                .unwrap();
            let image = found
                .first()
                .unwrap_or_else(|| panic!("{} {}: {id} is not in {r}", e.template, e.version_text));
            assert_eq!(image.architecture, e.entry.architecture, "{id}");
            assert_eq!(Some(&image.owner), e.entry.owner.as_ref(), "{id}");
        }
    }
    // Sharing: both demo registries are shared with the university's organization (the
    // community's file also with its publisher), so a caller outside it sees no entry: it
    // could launch none of their images anyway.
    let stranger = cloud.as_account("999988887777".parse().unwrap());
    let reg = demo_registry(&stranger).await;
    assert!(reg.entries().is_empty(), "{:#?}", reg.entries());
    assert_eq!(reg.report().not_shared, 10);
    // The community's publisher is in its audience.
    let publisher = cloud.as_account("111122223333".parse().unwrap());
    let reg = demo_registry(&publisher).await;
    assert!(
        reg.entries()
            .iter()
            .all(|e| e.layer == amiref_registry::Layer::Community)
    );
    assert_eq!(reg.report().not_shared, 2);
}

#[tokio::test(start_paused = true)]
async fn the_best_demo_entries_are_the_newest_well_rated_builds() {
    let cloud = world();
    let reg = demo_registry(&cloud).await;
    let best = |t: &str, r: &str, a: &[Architecture]| {
        reg.best(t, &region(r), a).map(|c| c.image.to_string())
    };
    assert_eq!(
        best("python-ml", "us-east-1", &[Architecture::X86_64]).as_deref(),
        Some("ami-0123456789abcdef0")
    );
    assert_eq!(
        best("python-ml", "us-west-2", &[Architecture::Arm64]).as_deref(),
        Some("ami-0abcdef123456789a")
    );
    assert_eq!(
        best("r-research", "eu-west-1", &[]).as_deref(),
        Some("ami-0abcd1234567890e1")
    );
    assert_eq!(
        best("r-research", "us-east-1", &[Architecture::X86_64]).as_deref(),
        Some("ami-0abcd1234567890ef")
    );
    assert_eq!(best("python-ml", "eu-west-1", &[]), None);
}

#[tokio::test(start_paused = true)]
async fn the_resolvers_community_tier_chooses_the_registrys_entry() {
    let cloud = Arc::new(world());
    let reg = demo_registry(&cloud).await;
    // A template with neither mappings nor a search: only the registry can name an image.
    let template = amiref_template::Template::from_yaml_str(
        "name: python-ml\ndescription: Python ML from the community registry\ninstance_type: m6i.large\nami_config:\n  strategy: ami_required\n  fallback_strategy: error\n",
        "inline.yml",
    )
    .unwrap();
    // The demo community's images are owned by 111122223333: the policy must trust it (the
    // default trusts only the caller and Amazon, and registry entries do not vouch).
    let policy = amiref::TrustPolicy::default().with_trusted(amiref_core::Owner::Account(
        amiref_core::AccountId::new("111122223333").unwrap(),
    ));
    let resolver = amiref::Resolver::builder()
        .cloud(cloud.clone() as Arc<dyn Cloud>)
        .trust_policy(policy)
        .registry(Arc::new(reg))
        .build()
        .unwrap();
    let resolution = resolver
        .resolve(&template, &region("us-east-1"))
        .await
        .unwrap();
    assert_eq!(
        resolution.method,
        ResolutionMethod::CommunityRegistry,
        "{resolution:?}"
    );
    assert_eq!(resolution.image.id.as_str(), "ami-0123456789abcdef0");
}
