//! A world that remembers: a running world written as a world file loads back the same
//! (MemoryCloud::to_world), and WorldState keeps it between commands, under a lock,
//! atomically, with its clock, refusing to mix a changed world file with an old state.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use amiref_core::{
    AccountId, AmiId, CatalogChange, ChangeSetRequest, CopyImageRequest, CreateImageRequest,
    ImageCatalog, ImageFilter, ImageState, ImageStore, InstanceFilter, InstanceState, Instances,
    LaunchPermission, MarketplacePublisher, NAME_TAG, Owner, Region, RunInstanceRequest,
};
use amiref_memory::{MemoryCloud, StateError, WorldState};

const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/worlds/demo.yaml"
);

fn r(code: &str) -> Region {
    code.parse().unwrap()
}

fn ami(id: &str) -> AmiId {
    id.parse().unwrap()
}

fn community() -> AccountId {
    "111122223333".parse().unwrap()
}

fn named(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(NAME_TAG.to_owned(), name.to_owned())])
}

/// The demo world after a morning's work: an instance launched and imaged (still
/// pending), a copy in flight, an image shared, tagged and deprecated, a snapshot
/// permission granted, a change set submitted.
async fn worked_demo() -> (MemoryCloud, AmiId, AmiId) {
    let cloud = MemoryCloud::from_world_file(DEMO).unwrap();
    let east = r("us-east-1");
    let mut launch =
        RunInstanceRequest::new(ami("ami-0123456789abcdef0"), "m6i.large".parse().unwrap());
    launch.tags = named("my-research");
    launch.client_token = Some("launch-1".into());
    let instance = cloud.run_instance(&east, &launch).await.unwrap();
    tokio::time::advance(Duration::from_secs(90)).await;
    let mut create = CreateImageRequest::new(instance, "Python ML v2.2.0");
    create.tags = BTreeMap::from([("Version".to_owned(), "v2.2.0".to_owned())]);
    let created = cloud.create_image(&east, &create).await.unwrap();
    cloud
        .add_launch_permissions(&east, &created, &[LaunchPermission::Account(community())])
        .await
        .unwrap();
    let snapshots: Vec<_> = cloud
        .inspect_image(&east, &created)
        .unwrap()
        .snapshot_ids()
        .cloned()
        .collect();
    cloud
        .modify_snapshot_permissions(&east, &snapshots, &[community()], true)
        .await
        .unwrap();
    cloud
        .enable_deprecation(&east, &created, "2027-06-01T00:00:00Z".parse().unwrap())
        .await
        .unwrap();
    let copy = CopyImageRequest::new(
        r("ap-southeast-1"),
        ami("ami-0a5e123456789def0"),
        r("ap-south-1"),
        "python-ml-copy",
        "copy-1",
    );
    let copied = cloud.copy_image(&copy).await.unwrap();
    let change = CatalogChange::new(
        "AddDeliveryOptions",
        "AmiProduct@1.0",
        "prod-cwspyml2x7k4q",
        serde_json::json!({
            "Version": {"VersionTitle": "2.2.0"},
            "DeliveryOptions": [{"Details": {"AmiDeliveryOptionDetails": {"AmiSource": {"AmiId": "ami-0123456789abcdef0"}}}}]
        }),
    );
    let request =
        ChangeSetRequest::new("AWSMarketplace", "release 2.2.0", "cs-token", vec![change]);
    cloud.start_change_set(&request).await.unwrap();
    tokio::time::advance(Duration::from_secs(60)).await;
    (cloud, created, copied)
}

/// The (region, id) of every image a world document holds.
fn image_ids(document: &amiref_memory::WorldDocument) -> Vec<(Region, AmiId)> {
    let json: serde_json::Value = serde_json::from_str(&document.to_json()).unwrap();
    json["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                r(i["region"].as_str().unwrap()),
                ami(i["id"].as_str().unwrap()),
            )
        })
        .collect()
}

/// Every image of `ids` as the world holds it.
fn images(cloud: &MemoryCloud, ids: &[(Region, AmiId)]) -> Vec<Option<amiref_core::Image>> {
    ids.iter()
        .map(|(region, id)| cloud.inspect_image(region, id))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_worked_world_loads_back_the_same() {
    let (cloud, created, copied) = worked_demo().await;
    let saved = cloud.to_world();
    let again = MemoryCloud::from_world_yaml(&saved.to_yaml().unwrap(), "saved.yaml").unwrap();
    assert_eq!(again.to_world(), saved, "{}", saved.to_yaml().unwrap());
    let from_json = MemoryCloud::from_world_yaml(&saved.to_json(), "saved.json").unwrap();
    assert_eq!(from_json.to_world(), saved);
    assert_eq!(again.now(), cloud.now());
    let ids = image_ids(&saved);
    assert!(ids.len() > 40, "{} images", ids.len());
    assert_eq!(images(&again, &ids), images(&cloud, &ids));
    for region in cloud.regions() {
        assert_eq!(
            again.image_count(&region),
            cloud.image_count(&region),
            "{region}"
        );
    }
    let my_pending = ImageFilter::owned_by([Owner::Me]).states([ImageState::Pending]);
    let community_view = |c: &MemoryCloud| c.as_account(community());
    assert_eq!(
        community_view(&again)
            .describe_images(&r("us-east-1"), std::slice::from_ref(&created))
            .await
            .unwrap(),
        community_view(&cloud)
            .describe_images(&r("us-east-1"), std::slice::from_ref(&created))
            .await
            .unwrap()
    );
    assert_eq!(
        again
            .search_images(&r("us-east-1"), &my_pending)
            .await
            .unwrap(),
        cloud
            .search_images(&r("us-east-1"), &my_pending)
            .await
            .unwrap()
    );
    let east = r("us-east-1");
    let mine = InstanceFilter::all();
    assert_eq!(
        again.describe_instances(&east, &mine).await.unwrap(),
        cloud.describe_instances(&east, &mine).await.unwrap()
    );

    // Both worlds go on alike: the image created at 90 s and the 30 GiB copy made then
    // (2 min + 30 x 6 s) become available 5 minutes later, in both; the change set
    // succeeds, a token gives back its copy, the next id is the same.
    tokio::time::advance(Duration::from_secs(3 * 60)).await;
    let states = |world: &MemoryCloud| {
        [
            world.inspect_image(&east, &created).unwrap().state,
            world
                .inspect_image(&r("ap-south-1"), &copied)
                .unwrap()
                .state,
        ]
    };
    assert_eq!(states(&cloud), [ImageState::Pending; 2]);
    assert_eq!(states(&again), [ImageState::Pending; 2]);
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(states(&cloud), [ImageState::Available; 2]);
    assert_eq!(states(&again), [ImageState::Available; 2]);
    tokio::time::advance(Duration::from_secs(30 * 60)).await;
    let copy = CopyImageRequest::new(
        r("ap-southeast-1"),
        ami("ami-0a5e123456789def0"),
        r("ap-south-1"),
        "python-ml-copy",
        "copy-1",
    );
    let next = CopyImageRequest::new(
        r("us-east-1"),
        ami("ami-0123456789abcdef0"),
        r("eu-west-1"),
        "python-ml-next",
        "copy-2",
    );
    let mut answers = Vec::new();
    for world in [&cloud, &again] {
        let status = world
            .change_set_status("AWSMarketplace", &change_set_id(world))
            .await
            .unwrap();
        answers.push((
            status,
            world.copy_image(&copy).await.unwrap(),
            world.copy_image(&next).await.unwrap(),
            world.to_world(),
        ));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].1, copied, "the token gives back the first copy");
}

fn change_set_id(cloud: &MemoryCloud) -> String {
    let json: serde_json::Value = serde_json::from_str(&cloud.to_world().to_json()).unwrap();
    json["change_sets"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test(start_paused = true)]
async fn instances_are_found_by_name_tag_and_state() {
    let cloud = MemoryCloud::from_world_file(DEMO).unwrap();
    let east = r("us-east-1");
    let launch = |name: &str| {
        let mut request =
            RunInstanceRequest::new(ami("ami-0123456789abcdef0"), "m6i.large".parse().unwrap());
        request.tags = named(name);
        request
    };
    let research = cloud
        .run_instance(&east, &launch("my-research"))
        .await
        .unwrap();
    let other = cloud
        .run_instance(&east, &launch("my-other"))
        .await
        .unwrap();
    let found = cloud
        .describe_instances(&east, &InstanceFilter::named("my-research"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let i = &found[0];
    assert_eq!(
        (
            i.id.clone(),
            i.name(),
            i.state,
            i.image.clone(),
            i.instance_type.as_str()
        ),
        (
            research.clone(),
            Some("my-research"),
            InstanceState::Pending,
            ami("ami-0123456789abcdef0"),
            "m6i.large"
        )
    );
    assert_eq!(
        i.launch_time,
        "2026-11-01T09:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    assert_eq!(i.architecture, Some(amiref_core::Architecture::X86_64));
    // It boots: pending, then running after the world's boot time.
    tokio::time::sleep(amiref_memory::Timings::default().boot).await;
    let running = InstanceFilter::named("my-research").in_states([InstanceState::Running]);
    assert_eq!(
        cloud
            .describe_instances(&east, &running)
            .await
            .unwrap()
            .len(),
        1
    );
    let both = cloud
        .describe_instances(&east, &InstanceFilter::named("my-*"))
        .await
        .unwrap();
    assert_eq!(both.iter().map(|i| &i.id).collect::<Vec<_>>(), {
        let mut ids = vec![&research, &other];
        ids.sort();
        ids
    });
    let gone = InstanceFilter::named("my-research").in_states([InstanceState::Terminated]);
    assert!(
        cloud
            .describe_instances(&east, &gone)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        cloud
            .describe_instances(&r("us-west-2"), &InstanceFilter::named("my-research"))
            .await
            .unwrap()
            .is_empty(),
        "instances are regional"
    );
    let stranger = cloud.as_account("999988887777".parse().unwrap());
    assert!(
        stranger
            .describe_instances(&east, &InstanceFilter::all())
            .await
            .unwrap()
            .is_empty(),
        "another account's instances are never described"
    );
}

/// A world file in a temporary directory, and a state directory beside it.
struct Sandbox {
    _dir: tempfile::TempDir,
    world: PathBuf,
    state: PathBuf,
}

fn sandbox(world_text: &str) -> Sandbox {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("world.yaml");
    std::fs::write(&world, world_text).unwrap();
    let state = dir.path().join("state");
    Sandbox {
        world,
        state,
        _dir: dir,
    }
}

fn demo_sandbox() -> Sandbox {
    sandbox(&std::fs::read_to_string(DEMO).unwrap())
}

/// One command: opens the state (waiting for others), loads the world on a paused clock,
/// runs `body`, saves.
fn command<T>(
    world: &Path,
    state_dir: &Path,
    body: impl AsyncFnOnce(&MemoryCloud) -> T,
) -> Result<T, StateError> {
    let state = WorldState::open(world, Some(state_dir))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let cloud = state.load()?;
        let out = body(&cloud).await;
        state.save(&cloud)?;
        Ok(out)
    })
}

fn launch_named(name: &str) -> RunInstanceRequest {
    let mut request =
        RunInstanceRequest::new(ami("ami-0123456789abcdef0"), "m6i.large".parse().unwrap());
    request.tags = named(name);
    request
}

#[test]
fn the_planning_walk_carries_from_command_to_command() {
    let s = demo_sandbox();
    let east = r("us-east-1");
    // launch python-ml my-research
    let launched = command(&s.world, &s.state, async |cloud| {
        cloud
            .run_instance(&east, &launch_named("my-research"))
            .await
            .unwrap()
    })
    .unwrap();
    // ami create python-ml my-research --name "Python ML v2.2.0": the instance by its name
    let created = command(&s.world, &s.state, async |cloud| {
        let found = cloud
            .describe_instances(
                &east,
                &InstanceFilter::named("my-research")
                    .in_states([InstanceState::Pending, InstanceState::Running]),
            )
            .await
            .unwrap();
        assert_eq!(found.iter().map(|i| &i.id).collect::<Vec<_>>(), [&launched]);
        let id = cloud
            .create_image(
                &east,
                &CreateImageRequest::new(found[0].id.clone(), "Python ML v2.2.0"),
            )
            .await
            .unwrap();
        // The command waits for the image (instant on the paused clock).
        tokio::time::sleep(Duration::from_secs(5 * 60)).await;
        id
    })
    .unwrap();
    // ami share AMI --community prism
    command(&s.world, &s.state, async |cloud| {
        assert_eq!(
            cloud.inspect_image(&east, &created).unwrap().state,
            ImageState::Available
        );
        cloud
            .add_launch_permissions(&east, &created, &[LaunchPermission::Account(community())])
            .await
            .unwrap();
    })
    .unwrap();
    // ami list: what the community now sees
    let seen = command(&s.world, &s.state, async |cloud| {
        let community = cloud.as_account(community());
        community
            .describe_images(&east, std::slice::from_ref(&created))
            .await
            .unwrap()
    })
    .unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].name, "Python ML v2.2.0");
    // ami test --all-regions: a launch of it works
    command(&s.world, &s.state, async |cloud| {
        let mut request = launch_named("test");
        request.image = created.clone();
        cloud.run_instance(&east, &request).await.unwrap();
        let ours = cloud
            .describe_instances(&east, &InstanceFilter::named("*"))
            .await
            .unwrap();
        let names: Vec<_> = ours.iter().filter_map(|i| i.name()).collect();
        assert_eq!(names.len(), 2);
        assert!(
            names.contains(&"my-research") && names.contains(&"test"),
            "{names:?}"
        );
    })
    .unwrap();
}

#[test]
fn the_worlds_time_continues_from_command_to_command() {
    let s = demo_sandbox();
    let start: chrono::DateTime<chrono::Utc> = "2026-11-01T09:00:00Z".parse().unwrap();
    let first = command(&s.world, &s.state, async |cloud| {
        assert_eq!(cloud.now(), start);
        tokio::time::sleep(Duration::from_secs(10 * 60)).await;
        cloud.now()
    })
    .unwrap();
    assert_eq!(first, start + chrono::Duration::minutes(10));
    let second = command(&s.world, &s.state, async |cloud| {
        let at_start = cloud.now();
        // 2.2.0 became available 15 minutes after the world's start, whichever command
        // was running then.
        let pending = cloud
            .inspect_image(&r("us-east-1"), &ami("ami-0220a0b1c2d3e4f50"))
            .unwrap();
        assert_eq!(pending.state, ImageState::Pending);
        tokio::time::sleep(Duration::from_secs(5 * 60)).await;
        let ready = cloud
            .inspect_image(&r("us-east-1"), &ami("ami-0220a0b1c2d3e4f50"))
            .unwrap();
        assert_eq!(ready.state, ImageState::Available);
        at_start
    })
    .unwrap();
    assert_eq!(
        second, first,
        "the second command starts where the first stopped"
    );
    let third = command(&s.world, &s.state, async |cloud| cloud.now()).unwrap();
    assert_eq!(third, first + chrono::Duration::minutes(5));
}

#[test]
fn a_second_command_waits_for_the_first() {
    let s = demo_sandbox();
    let first = WorldState::open(&s.world, Some(&s.state)).unwrap();
    assert!(
        WorldState::try_open(&s.world, Some(&s.state))
            .unwrap()
            .is_none(),
        "the state is held"
    );
    let released = Arc::new(AtomicBool::new(false));
    let waiter = {
        let (world, state, released) = (s.world.clone(), s.state.clone(), Arc::clone(&released));
        std::thread::spawn(move || {
            let second = WorldState::open(&world, Some(&state)).unwrap();
            (released.load(Ordering::SeqCst), second.is_saved())
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    assert!(!waiter.is_finished(), "the second command did not wait");
    first
        .save(&MemoryCloud::from_world_file(&s.world).unwrap())
        .unwrap();
    released.store(true, Ordering::SeqCst);
    drop(first);
    let (after_release, saw_the_save) = waiter.join().unwrap();
    assert!(
        after_release,
        "the second command got in before the first let go"
    );
    assert!(
        saw_the_save,
        "the second command does not see the first one's state"
    );
}

#[test]
fn commands_at_once_lose_nothing() {
    let s = demo_sandbox();
    let east = r("us-east-1");
    let threads: Vec<_> = (0..6)
        .map(|n| {
            let (world, state, east) = (s.world.clone(), s.state.clone(), east.clone());
            std::thread::spawn(move || {
                command(&world, &state, async |cloud| {
                    cloud
                        .run_instance(&east, &launch_named(&format!("worker-{n}")))
                        .await
                        .unwrap()
                })
                .unwrap()
            })
        })
        .collect();
    let mut launched: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    launched.sort();
    launched.dedup();
    assert_eq!(launched.len(), 6, "two commands minted one id");
    let described = command(&s.world, &s.state, async |cloud| {
        cloud
            .describe_instances(&east, &InstanceFilter::named("worker-*"))
            .await
            .unwrap()
    })
    .unwrap();
    assert_eq!(
        described.into_iter().map(|i| i.id).collect::<Vec<_>>(),
        launched
    );
}

#[test]
fn a_changed_world_file_is_not_mixed_with_its_old_state() {
    let s = demo_sandbox();
    command(&s.world, &s.state, async |cloud| {
        cloud
            .run_instance(&r("us-east-1"), &launch_named("my-research"))
            .await
            .unwrap();
    })
    .unwrap();
    let text = std::fs::read_to_string(&s.world).unwrap();
    std::fs::write(
        &s.world,
        text.replace("description: amiref demo world", "description: edited"),
    )
    .unwrap();
    let err = command(&s.world, &s.state, async |_| ()).unwrap_err();
    let StateError::WorldChanged { world_file, saved } = &err else {
        panic!("expected WorldChanged, got {err}");
    };
    assert_eq!(world_file, &s.world);
    assert!(saved.starts_with(&s.state));
    assert!(err.to_string().contains("amiref world reset"), "{err}");

    // Reset starts over from the file as it is now.
    let state = WorldState::open(&s.world, Some(&s.state)).unwrap();
    std::fs::write(state.audit_path(), "{}\n").unwrap();
    assert!(state.reset().unwrap());
    assert!(
        !state.audit_path().exists(),
        "reset keeps the old audit log"
    );
    assert!(!state.reset().unwrap(), "nothing left to reset");
    drop(state);
    let instances = command(&s.world, &s.state, async |cloud| {
        let world: serde_json::Value = serde_json::from_str(&cloud.to_world().to_json()).unwrap();
        assert_eq!(world["description"], "edited");
        cloud
            .describe_instances(&r("us-east-1"), &InstanceFilter::named("my-research"))
            .await
            .unwrap()
    })
    .unwrap();
    assert!(
        instances.is_empty(),
        "the reset world still has the old instance"
    );
}

#[test]
fn a_world_that_does_not_load_says_where() {
    let s = sandbox("start: 2026-11-01T09:00:00Z\nimages:\n  - nmae: x\n");
    let state = WorldState::open(&s.world, Some(&s.state)).unwrap();
    let err = state.load().unwrap_err();
    assert!(matches!(err, StateError::World(_)), "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("{}:3:", s.world.display())),
        "{message}"
    );
}

#[test]
fn saved_states_are_world_files_of_their_own() {
    let s = demo_sandbox();
    command(&s.world, &s.state, async |cloud| {
        cloud
            .run_instance(&r("us-east-1"), &launch_named("my-research"))
            .await
            .unwrap();
    })
    .unwrap();
    let state = WorldState::open(&s.world, Some(&s.state)).unwrap();
    let saved = state.saved_path();
    assert!(saved.starts_with(&s.state) && state.is_saved());
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.starts_with("# The saved state of the world"), "{text}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let direct = MemoryCloud::from_world_file(&saved).unwrap();
        assert_eq!(direct.to_world(), state.load().unwrap().to_world());
    });
    assert_eq!(state.audit_path(), s.state.join("audit.jsonl"));
    assert!(
        !state.audit_path().exists(),
        "the store writes no audit record itself"
    );
}
