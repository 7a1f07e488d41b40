//! The demo world loads and has the shape docs and templates rely on.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use amiref_core::{
    AccountId, AmiId, Architecture, ImageCatalog, ImageFilter, ImageState, Marketplace, Owner,
    Region,
};
use amiref_memory::MemoryCloud;

const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/worlds/demo.yaml"
);

fn r(code: &str) -> Region {
    code.parse().unwrap()
}

fn community() -> Owner {
    Owner::Account("111122223333".parse::<AccountId>().unwrap())
}

#[tokio::test(start_paused = true)]
async fn community_images_are_where_the_story_needs_them() {
    let cloud = MemoryCloud::from_world_file(DEMO).unwrap();
    let filter = ImageFilter::owned_by([community()]).name("cws-python-ml-*");
    for (region, expected) in [
        ("us-east-1", 4),
        ("us-west-2", 4),
        ("eu-west-1", 0),
        ("ap-south-1", 0),
        ("ap-southeast-1", 1),
    ] {
        let found = cloud.search_images(&r(region), &filter).await.unwrap();
        assert_eq!(found.len(), expected, "{region}: {found:#?}");
    }
    let arm = cloud
        .search_images(
            &r("us-east-1"),
            &filter.clone().architectures([Architecture::Arm64]),
        )
        .await
        .unwrap();
    assert!(arm.iter().all(|i| i.architecture == Architecture::Arm64));
    assert_eq!(arm.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn deprecated_and_pending_images_behave() {
    let cloud = MemoryCloud::from_world_file(DEMO).unwrap();
    let us_east_1 = r("us-east-1");
    let deprecated: AmiId = "ami-0200a0b1c2d3e4f50".parse().unwrap();
    let described = cloud
        .describe_images(&us_east_1, std::slice::from_ref(&deprecated))
        .await
        .unwrap();
    assert_eq!(
        described.len(),
        1,
        "deprecated images are describable by id"
    );
    let all = ImageFilter::owned_by([community()])
        .name("cws-python-ml-2.0.0-*")
        .include_deprecated(true);
    assert_eq!(
        cloud.search_images(&us_east_1, &all).await.unwrap().len(),
        1
    );
    let pending: AmiId = "ami-0220a0b1c2d3e4f50".parse().unwrap();
    let state = |c: &MemoryCloud| c.inspect_image(&us_east_1, &pending).unwrap().state;
    assert_eq!(state(&cloud), ImageState::Pending);
    tokio::time::advance(std::time::Duration::from_secs(15 * 60)).await;
    assert_eq!(state(&cloud), ImageState::Available);
}

#[tokio::test(start_paused = true)]
async fn amazon_and_marketplace_aliases_resolve() {
    let cloud = MemoryCloud::from_world_file(DEMO).unwrap();
    for region in cloud.regions() {
        let al2023 = cloud
            .search_images(
                &region,
                &ImageFilter::owned_by([Owner::Amazon]).name("al2023-ami-*-x86_64"),
            )
            .await
            .unwrap();
        assert_eq!(al2023.len(), 2, "{region}");
        assert!(
            al2023
                .iter()
                .all(|i| i.owner_alias.as_deref() == Some("amazon"))
        );
    }
    let product = cloud.product("cws-python-ml-community").await.unwrap();
    assert_eq!(product.versions.len(), 2);
    let mp = cloud
        .search_images(
            &r("us-east-1"),
            &ImageFilter::owned_by([Owner::AwsMarketplace]).product_code("cws-python-ml-community"),
        )
        .await
        .unwrap();
    assert_eq!(mp.len(), 2);
}

/// The example templates' mappings and searches find what they are meant to in the demo
/// world (python-ml's eu-west-1 mapping is deliberately stale).
#[tokio::test(start_paused = true)]
async fn example_templates_point_at_demo_images() {
    let cloud = MemoryCloud::from_world_file(DEMO).unwrap();
    for (region, id, exists) in [
        ("us-east-1", "ami-0123456789abcdef0", true),
        ("us-west-2", "ami-0fedcba9876543210", true),
        ("eu-west-1", "ami-0abcdef123456789a", false),
        ("us-east-1", "ami-0abcd1234567890ef", true),
        ("us-east-1", "ami-0a1b2c3d4e5f60718", true),
    ] {
        let id: AmiId = id.parse().unwrap();
        let found = cloud
            .describe_images(&r(region), std::slice::from_ref(&id))
            .await
            .unwrap();
        assert_eq!(found.len() == 1, exists, "{region} {id}");
    }
    let dlami = ImageFilter::owned_by([Owner::Amazon])
        .name("Deep Learning OSS Nvidia Driver AMI GPU PyTorch 2.* (Amazon Linux 2023) *")
        .architectures([Architecture::X86_64]);
    assert_eq!(
        cloud
            .search_images(&r("us-east-1"), &dlami)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        cloud
            .search_images(&r("ap-south-1"), &dlami)
            .await
            .unwrap()
            .is_empty()
    );
    let approved = ImageFilter::owned_by([Owner::Me, community()])
        .tag("Project", Some("genomics".into()))
        .tag("Approved", Some("true".into()));
    let found = cloud
        .search_images(&r("us-east-1"), &approved)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id.as_str(), "ami-0a1b2c3d4e5f60718");
    let r_images = ImageFilter::owned_by([community()]).name("cws-r-research-*");
    assert_eq!(
        cloud
            .search_images(&r("eu-west-1"), &r_images)
            .await
            .unwrap()
            .len(),
        1
    );
    let matlab = cloud.product("matlab-byol-r2024b").await.unwrap();
    assert_eq!(matlab.versions.len(), 2);
}

/// AWS's public AL2023 parameters name, in every region of the demo, the newest Amazon
/// Linux 2023 image of their architecture there: what the script tier defaults to.
#[tokio::test(start_paused = true)]
async fn al2023_parameters_name_the_newest_al2023_image_of_each_architecture() {
    use amiref_core::{ParameterName, Parameters};
    let cloud = MemoryCloud::from_world_file(DEMO).unwrap();
    assert_eq!(cloud.regions().len(), 10);
    for region in cloud.regions() {
        for (suffix, arch) in [
            ("x86_64", Architecture::X86_64),
            ("arm64", Architecture::Arm64),
        ] {
            let name: ParameterName =
                format!("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{suffix}")
                    .parse()
                    .unwrap();
            let got = cloud
                .get_parameters(&region, std::slice::from_ref(&name))
                .await
                .unwrap();
            let parameter = got
                .get(&name)
                .unwrap_or_else(|| panic!("{region}: {name} is missing"));
            assert_eq!(parameter.data_type.as_deref(), Some("aws:ec2:image"));
            let newest = cloud
                .search_images(
                    &region,
                    &ImageFilter::owned_by([Owner::Amazon])
                        .name("al2023-ami-*")
                        .architectures([arch]),
                )
                .await
                .unwrap()
                .into_iter()
                .max_by_key(|i| i.creation_date)
                .unwrap_or_else(|| panic!("{region}: no al2023 {arch} image"));
            assert_eq!(parameter.value, newest.id.as_str(), "{region} {arch}");
        }
    }
}
