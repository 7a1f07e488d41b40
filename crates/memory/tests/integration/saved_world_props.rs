//! Property: whatever a run does to a world, the world it writes (MemoryCloud::to_world)
//! loads back the same, and both go on alike: the same further calls give the same
//! answers and leave the same world.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::time::Duration;

use amiref_core::{
    AccountId, AmiId, CatalogChange, ChangeSetRequest, CopyImageRequest, CreateImageRequest,
    ImageStore, InstanceFilter, InstanceId, Instances, LaunchPermission, MarketplacePublisher,
    NAME_TAG, Parameters, Region, RunInstanceRequest,
};
use amiref_memory::MemoryCloud;
use proptest::prelude::*;

const WORLD: &str = r#"
start: 2026-11-01T09:00:00Z
caller: "123456789012"
accounts:
  - {id: "111122223333", name: community}
  - {id: "137112412989", alias: amazon}
regions:
  us-east-1:
  eu-west-1: {allowed_images: {state: audit-mode, criteria: [{image_providers: [amazon]}]}}
instance_types:
  - name: m6i.large
  - name: t4g.micro
    regions: [us-east-1]
images:
  - {name: mine-x86, architecture: x86_64, created: 2026-10-01T00:00:00Z, volume_gib: 10,
     ids: {us-east-1: ami-0000000000000a001, eu-west-1: ami-0000000000000a002}}
  - {name: community-x86, owner: "111122223333", architecture: x86_64, created: 2026-10-02T00:00:00Z,
     public: true, id: ami-0000000000000b001, region: us-east-1}
  - {name: shared-x86, owner: "111122223333", architecture: x86_64, created: 2026-10-03T00:00:00Z,
     shared_with: [{account: "123456789012"}], id: ami-0000000000000c001, region: us-east-1}
  - {name: al2023, owner: "137112412989", architecture: arm64, created: 2026-10-04T00:00:00Z,
     public: true, state: pending, available_after: 7m, id: ami-0000000000000d001, region: us-east-1}
products:
  - {product_code: code-1, product_id: prod-1, title: Product}
parameters:
  us-east-1:
    /lab/motd: hello
"#;

const ACCOUNTS: [&str; 2] = ["111122223333", "222233334444"];
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// One call a run may make; indices pick among the images and instances known so far.
#[derive(Debug, Clone)]
enum Op {
    Launch {
        image: usize,
        name: u8,
    },
    Create {
        instance: usize,
        name: u8,
    },
    Copy {
        image: usize,
        to: usize,
        token: u8,
    },
    Share {
        image: usize,
        account: usize,
        add: bool,
    },
    Tag {
        image: usize,
        value: u8,
    },
    Deprecate {
        image: usize,
        days: u8,
    },
    Deregister {
        image: usize,
        delete_snapshots: bool,
    },
    SnapshotAccess {
        image: usize,
        account: usize,
        add: bool,
    },
    ChangeSet {
        image: usize,
        token: u8,
    },
    Advance {
        seconds: u16,
    },
    Parameter {
        image: usize,
        by_other: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let i = 0..8usize;
    prop_oneof![
        (i.clone(), 0..4u8).prop_map(|(image, name)| Op::Launch { image, name }),
        (0..4usize, 0..4u8).prop_map(|(instance, name)| Op::Create { instance, name }),
        (i.clone(), 0..2usize, 0..3u8).prop_map(|(image, to, token)| Op::Copy { image, to, token }),
        (i.clone(), 0..2usize, any::<bool>()).prop_map(|(image, account, add)| Op::Share {
            image,
            account,
            add
        }),
        (i.clone(), 0..3u8).prop_map(|(image, value)| Op::Tag { image, value }),
        (i.clone(), 0..60u8).prop_map(|(image, days)| Op::Deprecate { image, days }),
        (i.clone(), any::<bool>()).prop_map(|(image, delete_snapshots)| Op::Deregister {
            image,
            delete_snapshots
        }),
        (i.clone(), 0..2usize, any::<bool>()).prop_map(|(image, account, add)| {
            Op::SnapshotAccess {
                image,
                account,
                add,
            }
        }),
        (i, 0..3u8).prop_map(|(image, token)| Op::ChangeSet { image, token }),
        (0..1200u16).prop_map(|seconds| Op::Advance { seconds }),
        (0..8usize, any::<bool>()).prop_map(|(image, by_other)| Op::Parameter { image, by_other }),
    ]
}

/// What a run knows of the world: the images and instances it can name.
#[derive(Debug, Clone)]
struct Known {
    images: Vec<(Region, AmiId)>,
    instances: Vec<(Region, InstanceId)>,
}

impl Known {
    fn start() -> Self {
        let image = |region: &str, id: &str| (region.parse().unwrap(), id.parse().unwrap());
        Self {
            images: vec![
                image("us-east-1", "ami-0000000000000a001"),
                image("eu-west-1", "ami-0000000000000a002"),
                image("us-east-1", "ami-0000000000000b001"),
                image("us-east-1", "ami-0000000000000c001"),
                image("us-east-1", "ami-0000000000000d001"),
            ],
            instances: Vec::new(),
        }
    }

    fn image(&self, i: usize) -> (Region, AmiId) {
        self.images[i % self.images.len()].clone()
    }
}

fn account(i: usize) -> AccountId {
    ACCOUNTS[i % ACCOUNTS.len()].parse().unwrap()
}

/// Makes the call; returns what it answered, as text, so two worlds can be compared.
async fn apply(cloud: &MemoryCloud, known: &mut Known, op: &Op) -> String {
    match op {
        Op::Launch { image, name } => {
            let (region, image) = known.image(*image);
            let mut request = RunInstanceRequest::new(image, "m6i.large".parse().unwrap());
            request.tags = BTreeMap::from([(NAME_TAG.to_owned(), format!("box-{name}"))]);
            request.client_token = (*name == 0).then(|| "launch-token".to_owned());
            let launched = cloud.run_instance(&region, &request).await;
            if let Ok(id) = &launched {
                known.instances.push((region, id.clone()));
            }
            format!("{launched:?}")
        }
        Op::Create { instance, name } => {
            let Some((region, instance)) = known.instances.get(*instance).cloned() else {
                return "no instance".into();
            };
            let request = CreateImageRequest::new(instance, format!("created-{name}"));
            let created = cloud.create_image(&region, &request).await;
            if let Ok(id) = &created {
                known.images.push((region, id.clone()));
            }
            format!("{created:?}")
        }
        Op::Copy { image, to, token } => {
            let (from, image) = known.image(*image);
            let to: Region = REGIONS[*to].parse().unwrap();
            let request = CopyImageRequest::new(
                from,
                image,
                to.clone(),
                format!("copy-{token}"),
                format!("t{token}"),
            );
            let copied = cloud.copy_image(&request).await;
            if let Ok(id) = &copied {
                known.images.push((to, id.clone()));
            }
            format!("{copied:?}")
        }
        Op::Share {
            image,
            account: a,
            add,
        } => {
            let (region, image) = known.image(*image);
            let permission = [LaunchPermission::Account(account(*a))];
            if *add {
                format!(
                    "{:?}",
                    cloud
                        .add_launch_permissions(&region, &image, &permission)
                        .await
                )
            } else {
                format!(
                    "{:?}",
                    cloud
                        .remove_launch_permissions(&region, &image, &permission)
                        .await
                )
            }
        }
        Op::Tag { image, value } => {
            let (region, image) = known.image(*image);
            let tags = BTreeMap::from([("Stage".to_owned(), format!("s{value}"))]);
            format!("{:?}", cloud.create_tags(&region, &image, &tags).await)
        }
        Op::Deprecate { image, days } => {
            let (region, image) = known.image(*image);
            let at = cloud.now() + chrono::Duration::days(i64::from(*days) - 30);
            format!("{:?}", cloud.enable_deprecation(&region, &image, at).await)
        }
        Op::Deregister {
            image,
            delete_snapshots,
        } => {
            let (region, image) = known.image(*image);
            format!(
                "{:?}",
                cloud
                    .deregister_image(&region, &image, *delete_snapshots)
                    .await
            )
        }
        Op::SnapshotAccess {
            image,
            account: a,
            add,
        } => {
            let (region, image) = known.image(*image);
            let snapshots: Vec<_> = cloud
                .inspect_image(&region, &image)
                .map(|i| i.snapshot_ids().cloned().collect())
                .unwrap_or_default();
            format!(
                "{:?}",
                cloud
                    .modify_snapshot_permissions(&region, &snapshots, &[account(*a)], *add)
                    .await
            )
        }
        Op::ChangeSet { image, token } => {
            let (_, image) = known.image(*image);
            let details = serde_json::json!({
                "Version": {"VersionTitle": format!("v{token}")},
                "DeliveryOptions": [{"Details": {"AmiDeliveryOptionDetails": {"AmiSource": {"AmiId": image.as_str()}}}}]
            });
            let change =
                CatalogChange::new("AddDeliveryOptions", "AmiProduct@1.0", "prod-1", details);
            let request = ChangeSetRequest::new(
                "AWSMarketplace",
                "release",
                format!("cs-{token}"),
                vec![change],
            );
            format!("{:?}", cloud.start_change_set(&request).await)
        }
        Op::Advance { seconds } => {
            tokio::time::advance(Duration::from_secs(u64::from(*seconds))).await;
            String::new()
        }
        Op::Parameter { image, by_other } => {
            let (region, image) = known.image(*image);
            let who = if *by_other {
                cloud.as_account(account(0))
            } else {
                cloud.clone()
            };
            let name = "/lab/golden".parse().unwrap();
            who.set_parameter(&region, name, image.as_str(), Some("aws:ec2:image".into()));
            String::new()
        }
    }
}

/// Everything two worlds could differ in that a caller sees, beyond the document.
async fn seen(cloud: &MemoryCloud, known: &Known) -> Vec<String> {
    let mut out = Vec::new();
    for (region, id) in &known.images {
        out.push(format!("{:?}", cloud.inspect_image(region, id)));
    }
    for region in REGIONS {
        let region: Region = region.parse().unwrap();
        out.push(format!(
            "{:?}",
            cloud
                .describe_instances(&region, &InstanceFilter::all())
                .await
        ));
        let golden = ["/lab/golden".parse().unwrap()];
        for who in [cloud.clone(), cloud.as_account(account(0))] {
            out.push(format!("{:?}", who.get_parameters(&region, &golden).await));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_saved_world_loads_back_and_goes_on_alike(
        before in proptest::collection::vec(op(), 0..14),
        after in proptest::collection::vec(op(), 0..8),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let cloud = MemoryCloud::from_world_yaml(WORLD, "props.yaml").unwrap();
            let mut known = Known::start();
            for op in &before {
                apply(&cloud, &mut known, op).await;
            }
            let saved = cloud.to_world();
            let again = MemoryCloud::from_world_yaml(&saved.to_yaml().unwrap(), "saved.yaml").unwrap();
            prop_assert_eq!(&again.to_world(), &saved);
            prop_assert_eq!(seen(&again, &known).await, seen(&cloud, &known).await);
            let mut known_again = known.clone();
            for op in &after {
                let here = apply(&cloud, &mut known, op).await;
                let there = apply(&again, &mut known_again, op).await;
                prop_assert_eq!(here, there, "{:?}", op);
            }
            prop_assert_eq!(again.to_world(), cloud.to_world());
            Ok(())
        })?;
    }
}
