//! The calls a scan makes per region do not grow with the images: one paginated listing
//! (a page per 1000 images) and a fixed set of batched reads. Counted by the in-process
//! cloud, so this is exact, not timed.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use amiref_compliance::{CompliancePolicy, Scanner};
use amiref_core::{AccountId, AmiId, Architecture, Image, Region};
use amiref_memory::{DEFAULT_CALLER, ImageSeed, InstanceSeed, MemoryCloud, op};
use amiref_strategies::TrustPolicy;
use chrono::{Duration, TimeZone, Utc};

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

/// `per_region` own images in each region (one deprecated and in use), and an instance of
/// a stranger's public image: every read of the scan has something to do.
fn world(per_region: u32) -> MemoryCloud {
    let start = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let me = AccountId::new(DEFAULT_CALLER).unwrap();
    let stranger = AccountId::new("999988887777").unwrap();
    let mut builder = MemoryCloud::builder()
        .start(start)
        .instance_type("t3.micro".parse().unwrap(), [Architecture::X86_64]);
    let mut n = 0u64;
    let mut next = || {
        n += 1;
        n
    };
    for name in REGIONS {
        let region: Region = name.parse().unwrap();
        let id = |k: u64| -> AmiId { format!("ami-{k:017x}").parse().unwrap() };
        let image = |k: u64, owner: &AccountId| {
            Image::new(
                id(k),
                region.clone(),
                format!("img-{k}"),
                owner.clone(),
                Architecture::X86_64,
                start - Duration::days(5),
            )
        };
        let first = next();
        let mut deprecated = image(first, &me);
        deprecated.deprecation_time = Some(start - Duration::days(1));
        builder = builder.image(ImageSeed::new(deprecated));
        for _ in 1..per_region {
            builder = builder.image(ImageSeed::new(image(next(), &me)));
        }
        let theirs = next();
        let mut public = image(theirs, &stranger);
        public.public = true;
        builder = builder.image(ImageSeed::new(public));
        for (k, used) in [first, theirs].into_iter().enumerate() {
            let instance = format!("i-{:017x}", next() * 10 + k as u64)
                .parse()
                .unwrap();
            builder = builder.instance(InstanceSeed::new(
                instance,
                region.clone(),
                id(used),
                "t3.micro".parse().unwrap(),
            ));
        }
        builder =
            builder.launch_template(region.clone(), me.clone(), format!("lt-{name}"), id(first));
    }
    builder.build().unwrap()
}

/// Calls per (operation, region) of one scan.
async fn calls(
    per_region: u32,
    read_launch_permissions: bool,
) -> BTreeMap<(String, Option<Region>), u64> {
    let cloud = world(per_region);
    let regions: Vec<Region> = REGIONS.iter().map(|r| r.parse().unwrap()).collect();
    let mut policy = CompliancePolicy::default();
    policy.read_launch_permissions = read_launch_permissions;
    cloud.reset_counters();
    let report = Scanner::new(&cloud, TrustPolicy::default())
        .policy(policy)
        .now(cloud.now())
        .scan(&regions)
        .await;
    assert!(report.is_complete(), "{:?}", report.read_failures);
    assert_eq!(report.scanned[0].own_image_count, per_region as usize);
    cloud
        .counters()
        .iter()
        .map(|(o, r, n)| ((o.to_owned(), r.cloned()), n))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn calls_per_region_do_not_grow_with_the_images() {
    let few = calls(20, false).await;
    let many = calls(900, false).await;
    assert_eq!(few, many, "the same calls for 20 and 900 images a region");
    for region in REGIONS {
        let region: Region = region.parse().unwrap();
        let of = |o: &str| {
            few.get(&(o.to_owned(), Some(region.clone())))
                .copied()
                .unwrap_or(0)
        };
        // The listing, and the stranger's image in use described by id.
        assert_eq!(of(op::DESCRIBE_IMAGES), 2, "{few:?}");
        for once in [
            op::DESCRIBE_INSTANCES,
            op::DESCRIBE_LAUNCH_TEMPLATE_VERSIONS,
            op::DESCRIBE_IMAGE_REFERENCES,
            op::GET_SNAPSHOT_BLOCK_PUBLIC_ACCESS_STATE,
            op::GET_IMAGE_BLOCK_PUBLIC_ACCESS_STATE,
            op::GET_ALLOWED_IMAGES_SETTINGS,
            op::DESCRIBE_SNAPSHOTS,
        ] {
            assert_eq!(of(once), 1, "{once}: {few:?}");
        }
        assert_eq!(of(op::DESCRIBE_IMAGE_ATTRIBUTE), 0);
        let in_region: u64 = few
            .iter()
            .filter(|((_, r), _)| r.as_ref() == Some(&region))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(in_region, 9, "{few:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn more_than_a_page_of_images_adds_a_listing_call_per_page_only() {
    let many = calls(2500, false).await;
    let region: Region = REGIONS[0].parse().unwrap();
    // Three pages of 1000, and the image in use.
    assert_eq!(many[&(op::DESCRIBE_IMAGES.to_owned(), Some(region))], 4);
}

#[tokio::test(start_paused = true)]
async fn launch_permissions_are_the_one_read_made_per_image() {
    let counted = calls(30, true).await;
    let region: Region = REGIONS[0].parse().unwrap();
    assert_eq!(
        counted[&(op::DESCRIBE_IMAGE_ATTRIBUTE.to_owned(), Some(region))],
        30
    );
}
