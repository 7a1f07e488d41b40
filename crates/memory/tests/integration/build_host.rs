//! What an image build needs of the in-process cloud, on the paused clock: instances over
//! time, the serial console and simulated build scripts, security groups, SSM parameters
//! with history, image ancestry, the faults a build's tests inject, the inventory they
//! count with, and all of it surviving a saved world.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::time::Duration;

use amiref_core::completion::{Completion, ScriptHeader, ScriptStage, wrap_script};
use amiref_core::{
    AmiId, CloudErrorKind, CopyImageRequest, CreateImageRequest, ImageState, ImageStore,
    InstanceControl, InstanceFilter, InstanceId, InstanceState, Instances, ParameterName,
    ParameterStore, Parameters, PutParameterRequest, Region, RunInstanceRequest,
    SecurityGroupRequest, SecurityGroups,
};
use amiref_memory::{
    BuildBehaviour, DEFAULT_PROVISION_RUN, MemoryCloud, ScriptBehaviour, Throttling, Timings, op,
};

const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/worlds/demo.yaml"
);
/// The demo's python 2.1.0 x86_64 image in us-east-1 (the caller can launch it).
const IMAGE: &str = "ami-0123456789abcdef0";

fn east() -> Region {
    "us-east-1".parse().unwrap()
}

fn demo() -> MemoryCloud {
    MemoryCloud::from_world_file(DEMO).unwrap()
}

fn request(user_data: Option<String>) -> RunInstanceRequest {
    let mut r = RunInstanceRequest::new(IMAGE.parse().unwrap(), "m6i.large".parse().unwrap());
    r.user_data = user_data;
    r
}

fn wrapped(template: &str, build: &str, stage: ScriptStage) -> String {
    wrap_script(
        "#!/bin/bash\necho provisioning\n",
        &ScriptHeader::new(template, build, stage),
    )
    .unwrap()
}

async fn state_of(cloud: &MemoryCloud, id: &InstanceId) -> Option<InstanceState> {
    cloud
        .describe_instances(&east(), &InstanceFilter::ids([id.clone()]))
        .await
        .unwrap()
        .first()
        .map(|i| i.state)
}

async fn sleep(d: Duration) {
    tokio::time::sleep(d).await;
}

async fn console(cloud: &MemoryCloud, id: &InstanceId) -> String {
    cloud
        .console_output(&east(), id)
        .await
        .unwrap()
        .text
        .unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn instances_boot_stop_and_terminate_over_time() {
    let cloud = demo();
    let t = Timings::default();
    let id = cloud.run_instance(&east(), &request(None)).await.unwrap();
    assert_eq!(state_of(&cloud, &id).await, Some(InstanceState::Pending));
    sleep(t.boot).await;
    assert_eq!(state_of(&cloud, &id).await, Some(InstanceState::Running));

    cloud
        .stop_instances(&east(), std::slice::from_ref(&id))
        .await
        .unwrap();
    assert_eq!(state_of(&cloud, &id).await, Some(InstanceState::Stopping));
    cloud
        .stop_instances(&east(), std::slice::from_ref(&id))
        .await
        .unwrap();
    sleep(t.stop).await;
    assert_eq!(state_of(&cloud, &id).await, Some(InstanceState::Stopped));

    cloud
        .terminate_instances(&east(), std::slice::from_ref(&id))
        .await
        .unwrap();
    assert_eq!(
        state_of(&cloud, &id).await,
        Some(InstanceState::ShuttingDown)
    );
    sleep(t.terminate).await;
    assert_eq!(state_of(&cloud, &id).await, Some(InstanceState::Terminated));
    cloud
        .terminate_instances(&east(), std::slice::from_ref(&id))
        .await
        .expect("terminating a terminated instance is not an error");
    let err = cloud
        .stop_instances(&east(), std::slice::from_ref(&id))
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("IncorrectInstanceState"), "{err}");
    assert_eq!(err.kind, CloudErrorKind::InvalidRequest);

    // Terminated instances are described for an hour, then forgotten.
    sleep(t.terminated_visible - Duration::from_secs(1)).await;
    assert_eq!(state_of(&cloud, &id).await, Some(InstanceState::Terminated));
    sleep(Duration::from_secs(1)).await;
    assert_eq!(state_of(&cloud, &id).await, None);
    let err = cloud
        .terminate_instances(&east(), std::slice::from_ref(&id))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotFound);
    assert_eq!(err.code.as_deref(), Some("InvalidInstanceID.NotFound"));
}

#[tokio::test(start_paused = true)]
async fn a_request_naming_an_unknown_instance_changes_none() {
    let cloud = demo();
    let id = cloud.run_instance(&east(), &request(None)).await.unwrap();
    sleep(Timings::default().boot).await;
    let missing: InstanceId = "i-0000000000000dead".parse().unwrap();
    let err = cloud
        .stop_instances(&east(), &[id.clone(), missing.clone()])
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotFound);
    assert_eq!(state_of(&cloud, &id).await, Some(InstanceState::Running));
    let err = cloud.console_output(&east(), &missing).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InvalidInstanceID.NotFound"));
    let stranger = cloud.as_account("999988887777".parse().unwrap());
    let err = stranger
        .terminate_instances(&east(), std::slice::from_ref(&id))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind,
        CloudErrorKind::NotFound,
        "another account's instance"
    );
    let err = cloud.stop_instances(&east(), &[]).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("MissingParameter"));
}

#[tokio::test(start_paused = true)]
async fn a_pending_instance_cannot_be_stopped_but_can_be_terminated() {
    let cloud = demo();
    let id = cloud.run_instance(&east(), &request(None)).await.unwrap();
    let err = cloud
        .stop_instances(&east(), std::slice::from_ref(&id))
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("IncorrectInstanceState"));
    cloud
        .terminate_instances(&east(), std::slice::from_ref(&id))
        .await
        .unwrap();
    assert_eq!(
        state_of(&cloud, &id).await,
        Some(InstanceState::ShuttingDown)
    );
}

#[tokio::test(start_paused = true)]
async fn a_wrapped_script_reports_on_the_console_after_its_run_time() {
    let cloud = demo();
    let user_data = wrapped("unlisted-template", "build-1", ScriptStage::Provision);
    let id = cloud
        .run_instance(&east(), &request(Some(user_data)))
        .await
        .unwrap();
    let out = cloud.console_output(&east(), &id).await.unwrap();
    assert_eq!(
        out.text, None,
        "a pending instance has no console output yet"
    );
    let boot = Timings::default().boot;
    sleep(boot).await;
    let text = console(&cloud, &id).await;
    assert!(text.contains("Linux version"), "{text}");
    assert_eq!(
        Completion::find(&text, "build-1", ScriptStage::Provision),
        None
    );
    sleep(DEFAULT_PROVISION_RUN - Duration::from_secs(1)).await;
    let text = console(&cloud, &id).await;
    assert_eq!(
        Completion::find(&text, "build-1", ScriptStage::Provision),
        None,
        "not before its run time"
    );
    sleep(Duration::from_secs(1)).await;
    let out = cloud.console_output(&east(), &id).await.unwrap();
    let text = out.text.unwrap();
    let done = Completion::find(&text, "build-1", ScriptStage::Provision).unwrap();
    assert!(done.succeeded());
    assert!(text.contains(&done.marker_line()));
    assert_eq!(
        out.timestamp,
        Some(cloud.now()),
        "the marker is the newest line"
    );
    assert_eq!(
        Completion::find(&text, "build-1", ScriptStage::Test),
        None,
        "only its own stage"
    );
}

#[tokio::test(start_paused = true)]
async fn instances_without_a_header_print_only_boot_lines() {
    let cloud = demo();
    let id = cloud
        .run_instance(
            &east(),
            &request(Some("#!/bin/bash\necho hello\n".to_owned())),
        )
        .await
        .unwrap();
    sleep(Duration::from_secs(3600)).await;
    let text = console(&cloud, &id).await;
    assert!(text.contains("is up"), "{text}");
    assert!(!text.contains(amiref_core::completion::MARKER), "{text}");
}

/// A world whose templates' scripts fail, hang, or are quick.
fn scripted() -> MemoryCloud {
    let yaml = r#"
instance_types: [{name: m6i.large}]
images:
  - {id: ami-0123456789abcdef0, region: us-east-1, name: base, architecture: x86_64, created: 2026-01-01T00:00:00Z}
builds:
  breaks:
    provision: {runs_for: 2m, exit_status: 3}
  stalls:
    provision: {hangs: true}
  quick:
    provision: {runs_for: 90s}
    test: {runs_for: 20s, exit_status: 1}
"#;
    MemoryCloud::from_world_yaml(yaml, "scripted.yaml").unwrap()
}

async fn completion_after(
    cloud: &MemoryCloud,
    template: &str,
    stage: ScriptStage,
    wait: Duration,
) -> Option<Completion> {
    let id = cloud
        .run_instance(&east(), &request(Some(wrapped(template, "b-7", stage))))
        .await
        .unwrap();
    sleep(wait).await;
    Completion::find(&console(cloud, &id).await, "b-7", stage)
}

#[tokio::test(start_paused = true)]
async fn scripts_behave_per_template_as_the_world_says() {
    let cloud = scripted();
    let boot = Timings::default().boot;
    let breaks = completion_after(
        &cloud,
        "breaks",
        ScriptStage::Provision,
        boot + Duration::from_secs(120),
    )
    .await
    .unwrap();
    assert_eq!(breaks.status, 3);
    let stalls = completion_after(
        &cloud,
        "stalls",
        ScriptStage::Provision,
        Duration::from_secs(24 * 3600),
    )
    .await;
    assert_eq!(stalls, None, "a hanging script never reports");
    let quick = completion_after(
        &cloud,
        "quick",
        ScriptStage::Provision,
        boot + Duration::from_secs(90),
    )
    .await
    .unwrap();
    assert!(quick.succeeded(), "exit_status defaults to 0");
    let test = completion_after(
        &cloud,
        "quick",
        ScriptStage::Test,
        boot + Duration::from_secs(20),
    )
    .await
    .unwrap();
    assert_eq!(test.status, 1);
    let default_test = completion_after(
        &cloud,
        "breaks",
        ScriptStage::Test,
        boot + amiref_memory::DEFAULT_TEST_RUN,
    )
    .await
    .unwrap();
    assert!(
        default_test.succeeded(),
        "an unlisted stage takes the default"
    );
}

#[tokio::test(start_paused = true)]
async fn a_script_stopped_before_it_finishes_never_reports() {
    let cloud = demo();
    let id = cloud
        .run_instance(
            &east(),
            &request(Some(wrapped("t", "b-1", ScriptStage::Provision))),
        )
        .await
        .unwrap();
    sleep(Timings::default().boot + Duration::from_secs(60)).await;
    cloud
        .stop_instances(&east(), std::slice::from_ref(&id))
        .await
        .unwrap();
    sleep(Duration::from_secs(3600)).await;
    let text = console(&cloud, &id).await;
    assert_eq!(Completion::find(&text, "b-1", ScriptStage::Provision), None);
    assert!(text.contains("Powering off"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn the_builder_sets_build_behaviour_too() {
    let cloud = MemoryCloud::world_file_builder(DEMO)
        .unwrap()
        .map(|b| {
            b.build_behaviour(
                "python-ml",
                BuildBehaviour::new(
                    ScriptBehaviour::exits_after(Duration::from_secs(10), 42),
                    ScriptBehaviour::hangs(),
                ),
            )
        })
        .build_located()
        .unwrap();
    let done = completion_after(
        &cloud,
        "python-ml",
        ScriptStage::Provision,
        Timings::default().boot + Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(done.status, 42);
}

#[test]
fn build_entries_are_checked_with_their_line() {
    let base = "builds:\n  t:\n";
    for (body, field, expected) in [
        (
            "    provision: {hangs: true, runs_for: 1m}\n",
            "builds.t.provision.hangs",
            "not both",
        ),
        (
            "    test: {exit_status: 300}\n",
            "builds.t.test.exit_status",
            "from 0 to 255",
        ),
    ] {
        let err = MemoryCloud::from_world_yaml(&format!("{base}{body}"), "b.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("b.yaml:"), "{err}");
        assert!(err.contains(field) && err.contains(expected), "{err}");
    }
    let err = MemoryCloud::from_world_yaml(
        "builds:\n  t:\n    provision: {runs_for: 1m, exitstatus: 1}\n",
        "b.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("b.yaml:3:"), "{err}");
    assert!(err.contains("exitstatus"), "{err}");
    let err =
        MemoryCloud::from_world_yaml("builds:\n  t:\n    provision: {runs_for: soon}\n", "b.yaml")
            .unwrap_err()
            .to_string();
    assert!(err.contains("duration"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn launches_are_checked_against_the_network() {
    let subnet: amiref_core::SubnetId = "subnet-0aaaaaaaaaaaaaaa1".parse().unwrap();
    let vpc: amiref_core::VpcId = "vpc-0bbbbbbbbbbbbbbb1".parse().unwrap();
    let cloud = MemoryCloud::world_file_builder(DEMO)
        .unwrap()
        .map(|b| b.subnet(east(), subnet.clone(), vpc.clone()))
        .build_located()
        .unwrap();
    let mut r = request(None);
    r.subnet = Some("subnet-0000000000000dead".parse().unwrap());
    let err = cloud.run_instance(&east(), &r).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InvalidSubnetID.NotFound"));
    let mut r = request(None);
    r.security_groups = vec!["sg-0000000000000dead".parse().unwrap()];
    let err = cloud.run_instance(&east(), &r).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InvalidGroup.NotFound"));
    assert_eq!(err.kind, CloudErrorKind::NotFound);

    // A group of the default VPC cannot go with a subnet of another VPC.
    let group = cloud
        .create_security_group(&east(), &SecurityGroupRequest::new("builder", "a build"))
        .await
        .unwrap();
    let mut r = request(None);
    r.subnet = Some(subnet.clone());
    r.security_groups = vec![group.clone()];
    let err = cloud.run_instance(&east(), &r).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InvalidParameter"), "{err}");

    let mut r = request(None);
    r.security_groups = vec![group.clone()];
    r.require_imdsv2 = true;
    r.instance_profile = Some("amiref-builder".to_owned());
    let id = cloud.run_instance(&east(), &r).await.unwrap();
    let settings = cloud.launch_settings(&east(), &id).unwrap();
    assert!(settings.require_imdsv2);
    assert_eq!(settings.instance_profile.as_deref(), Some("amiref-builder"));
    assert_eq!(settings.subnet, MemoryCloud::default_subnet(&east()));
    assert_eq!(settings.security_groups, [group]);
}

#[tokio::test(start_paused = true)]
async fn security_groups_are_created_found_and_deleted_as_ec2_does() {
    let cloud = demo();
    let tags = BTreeMap::from([("amiref:build-id".to_owned(), "b-1".to_owned())]);
    let mut req = SecurityGroupRequest::new("amiref-build-b-1", "the build's group");
    req.tags = tags.clone();
    let id = cloud.create_security_group(&east(), &req).await.unwrap();
    let err = cloud
        .create_security_group(&east(), &req)
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::InvalidRequest);
    assert_eq!(err.code.as_deref(), Some("InvalidGroup.Duplicate"));
    for bad in ["default", "sg-mine"] {
        let err = cloud
            .create_security_group(&east(), &SecurityGroupRequest::new(bad, "x"))
            .await
            .unwrap_err();
        assert_eq!(err.code.as_deref(), Some("InvalidParameterValue"), "{bad}");
    }
    let mut other_vpc = SecurityGroupRequest::new("x", "y");
    other_vpc.vpc = Some("vpc-0000000000000dead".parse().unwrap());
    let err = cloud
        .create_security_group(&east(), &other_vpc)
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InvalidVpcID.NotFound"));

    let by_build = BTreeMap::from([("amiref:build-id".to_owned(), Some("b-1".to_owned()))]);
    let found = cloud
        .describe_security_groups(&east(), &by_build)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (&found[0].id, found[0].name.as_str()),
        (&id, "amiref-build-b-1")
    );
    assert_eq!(found[0].vpc, Some(MemoryCloud::default_vpc(&east())));
    let any = BTreeMap::from([("amiref:build-id".to_owned(), None)]);
    assert_eq!(
        cloud
            .describe_security_groups(&east(), &any)
            .await
            .unwrap()
            .len(),
        1
    );
    let all = cloud
        .describe_security_groups(&east(), &BTreeMap::new())
        .await
        .unwrap();
    assert!(
        all.iter().any(|g| g.name == "default"),
        "the default group is described"
    );

    let mut launch = request(None);
    launch.security_groups = vec![id.clone()];
    let instance = cloud.run_instance(&east(), &launch).await.unwrap();
    let err = cloud.delete_security_group(&east(), &id).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("DependencyViolation"));
    assert_eq!(err.kind, CloudErrorKind::InvalidRequest);
    cloud
        .terminate_instances(&east(), &[instance])
        .await
        .unwrap();
    let err = cloud.delete_security_group(&east(), &id).await.unwrap_err();
    assert_eq!(
        err.code.as_deref(),
        Some("DependencyViolation"),
        "shutting down still uses it"
    );
    sleep(Timings::default().terminate).await;
    cloud.delete_security_group(&east(), &id).await.unwrap();
    let err = cloud.delete_security_group(&east(), &id).await.unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotFound);
    assert_eq!(err.code.as_deref(), Some("InvalidGroup.NotFound"));
    let err = cloud
        .delete_security_group(&east(), &MemoryCloud::default_security_group(&east()))
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("CannotDelete"));
}

fn pname(name: &str) -> ParameterName {
    name.parse().unwrap()
}

fn put(name: &str, value: &str, data_type: Option<&str>, overwrite: bool) -> PutParameterRequest {
    let mut r = PutParameterRequest::image(pname(name), &IMAGE.parse::<AmiId>().unwrap());
    r.value = value.to_owned();
    r.data_type = data_type.map(str::to_owned);
    r.overwrite = overwrite;
    r
}

#[tokio::test(start_paused = true)]
async fn parameters_keep_their_versions() {
    let cloud = demo();
    let name = "/amiref/python-ml/2.1.0/x86_64";
    let image = Some(amiref_core::EC2_IMAGE_DATA_TYPE);
    assert_eq!(
        cloud
            .put_parameter(&east(), &put(name, IMAGE, image, false))
            .await
            .unwrap(),
        1
    );
    let err = cloud
        .put_parameter(&east(), &put(name, IMAGE, image, false))
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("ParameterAlreadyExists"));
    sleep(Duration::from_secs(60)).await;
    let v2 = cloud
        .put_parameter(&east(), &put(name, IMAGE, image, true))
        .await
        .unwrap();
    assert_eq!(v2, 2, "the same value again is a new version");
    let history = cloud
        .parameter_history(&east(), &pname(name))
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|p| p.version).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(history[0].last_modified < history[1].last_modified);
    let got = cloud.get_parameters(&east(), &[pname(name)]).await.unwrap();
    assert_eq!(
        got[&pname(name)].version,
        2,
        "GetParameters reads the same store"
    );

    // SSM keeps the last 100 versions.
    let text = "/amiref/notes";
    for n in 0..105 {
        cloud
            .put_parameter(&east(), &put(text, &format!("v{n}"), None, true))
            .await
            .unwrap();
    }
    let history = cloud
        .parameter_history(&east(), &pname(text))
        .await
        .unwrap();
    assert_eq!(history.len(), 100);
    assert_eq!(
        (history[0].version, history[99].version),
        (6, 105),
        "oldest first"
    );
    assert_eq!(history[99].value, "v104");

    let err = cloud
        .parameter_history(&east(), &pname("/amiref/none"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::NotFound);
    assert_eq!(err.code.as_deref(), Some("ParameterNotFound"));
}

#[tokio::test(start_paused = true)]
async fn image_parameters_must_name_an_image_the_caller_can_launch() {
    let cloud = demo();
    let image = Some(amiref_core::EC2_IMAGE_DATA_TYPE);
    for value in ["ami-0000000000000dead", "not-an-image"] {
        let err = cloud
            .put_parameter(&east(), &put("/amiref/x", value, image, true))
            .await
            .unwrap_err();
        assert_eq!(err.kind, CloudErrorKind::InvalidRequest, "{value}");
        assert_eq!(err.code.as_deref(), Some("ValidationException"));
    }
    assert!(
        cloud
            .parameter_history(&east(), &pname("/amiref/x"))
            .await
            .is_err(),
        "nothing was stored"
    );
    // An image another region holds is not an image of this one.
    let err = cloud
        .put_parameter(
            &"eu-central-1".parse().unwrap(),
            &put("/amiref/x", IMAGE, image, true),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("ValidationException"));
    // A text parameter cannot become an image parameter.
    cloud
        .put_parameter(&east(), &put("/amiref/t", IMAGE, None, false))
        .await
        .unwrap();
    let err = cloud
        .put_parameter(&east(), &put("/amiref/t", IMAGE, image, true))
        .await
        .unwrap_err();
    assert_eq!(err.code.as_deref(), Some("ValidationException"));
    for reserved in ["/aws/mine", "/ssm-x/y", "AWSx"] {
        let err = cloud
            .put_parameter(&east(), &put(reserved, "v", None, true))
            .await
            .unwrap_err();
        assert_eq!(
            err.code.as_deref(),
            Some("ValidationException"),
            "{reserved}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn parameters_are_listed_by_path_and_deleted() {
    let cloud = demo();
    for name in [
        "/amiref/python-ml/2.1.0/x86_64",
        "/amiref/python-ml/latest/x86_64",
        "/amiref/python-mlx/latest/x86_64",
        "/amiref/python-ml",
    ] {
        cloud
            .put_parameter(&east(), &put(name, "v", None, true))
            .await
            .unwrap();
    }
    let found = cloud
        .parameters_by_path(&east(), &pname("/amiref/python-ml"))
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        [
            "/amiref/python-ml/2.1.0/x86_64",
            "/amiref/python-ml/latest/x86_64"
        ],
        "recursive, children only, sorted"
    );
    cloud.reset_counters();
    cloud
        .parameters_by_path(&east(), &pname("/nothing"))
        .await
        .unwrap();
    assert_eq!(cloud.counters().operation(op::GET_PARAMETERS_BY_PATH), 1);
    let name = pname("/amiref/python-ml/latest/x86_64");
    cloud.delete_parameter(&east(), &name).await.unwrap();
    let err = cloud.delete_parameter(&east(), &name).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("ParameterNotFound"));
    assert!(
        cloud
            .get_parameters(&east(), &[name])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(start_paused = true)]
async fn ssm_calls_draw_from_ssms_bucket() {
    let cloud = demo();
    let mut throttling = Throttling::ec2();
    throttling.parameters = amiref_memory::RateLimit::new(2, 0.001);
    cloud.set_throttling(Some(throttling));
    for n in 0..2 {
        cloud
            .put_parameter(&east(), &put(&format!("/t/{n}"), "v", None, true))
            .await
            .unwrap();
    }
    let err = cloud
        .parameters_by_path(&east(), &pname("/t"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, CloudErrorKind::Throttled);
    // EC2's buckets are untouched.
    cloud
        .describe_security_groups(&east(), &BTreeMap::new())
        .await
        .unwrap();
}

/// Launch, wait until running, stop, image: what a build's capture does.
async fn captured(cloud: &MemoryCloud, tags: &BTreeMap<String, String>) -> (InstanceId, AmiId) {
    let id = cloud.run_instance(&east(), &request(None)).await.unwrap();
    sleep(Timings::default().boot).await;
    cloud
        .stop_instances(&east(), std::slice::from_ref(&id))
        .await
        .unwrap();
    sleep(Timings::default().stop).await;
    let mut create = CreateImageRequest::new(id.clone(), "amiref-python-ml-b-1");
    create.tags = tags.clone();
    let image = cloud.create_image(&east(), &create).await.unwrap();
    (id, image)
}

#[tokio::test(start_paused = true)]
async fn images_record_their_ancestry_and_launches() {
    let cloud = demo();
    let tags = BTreeMap::from([("amiref:build-id".to_owned(), "b-1".to_owned())]);
    let launched_at = cloud.now();
    let (_, image) = captured(&cloud, &tags).await;
    let created = cloud.inspect_image(&east(), &image).unwrap();
    assert_eq!(created.source_image, Some(IMAGE.parse().unwrap()));
    assert_eq!(created.source_region, Some(east()));
    let snapshots: Vec<_> = created.snapshot_ids().cloned().collect();
    assert_eq!(cloud.snapshot_tags(&east(), &snapshots[0]), Some(tags));
    let base = cloud
        .inspect_image(&east(), &IMAGE.parse().unwrap())
        .unwrap();
    assert_eq!(base.last_launched, Some(launched_at));

    sleep(Timings::default().create_image).await;
    let west: Region = "us-west-2".parse().unwrap();
    let copy = cloud
        .copy_image(&CopyImageRequest::new(
            east(),
            image.clone(),
            west.clone(),
            "copy",
            "t-1",
        ))
        .await
        .unwrap();
    let copied = cloud.inspect_image(&west, &copy).unwrap();
    assert_eq!(
        (copied.source_image, copied.source_region),
        (Some(image.clone()), Some(east()))
    );

    cloud.deregister_image(&east(), &image, true).await.unwrap();
    assert!(!cloud.snapshot_exists(&east(), &snapshots[0]));
}

#[tokio::test(start_paused = true)]
async fn injected_faults_reach_every_stage() {
    let cloud = demo();
    cloud.fail_next_images(op::CREATE_IMAGE, 1);
    let (_, image) = captured(&cloud, &BTreeMap::new()).await;
    assert_eq!(
        cloud.inspect_image(&east(), &image).unwrap().state,
        ImageState::Pending
    );
    sleep(Timings::default().create_image).await;
    assert_eq!(
        cloud.inspect_image(&east(), &image).unwrap().state,
        ImageState::Failed
    );

    cloud.fail_next_launches(1);
    let dead = cloud.run_instance(&east(), &request(None)).await.unwrap();
    let fine = cloud.run_instance(&east(), &request(None)).await.unwrap();
    sleep(Timings::default().boot).await;
    assert_eq!(
        state_of(&cloud, &dead).await,
        Some(InstanceState::ShuttingDown)
    );
    assert_eq!(state_of(&cloud, &fine).await, Some(InstanceState::Running));
    sleep(Timings::default().terminate).await;
    assert_eq!(
        state_of(&cloud, &dead).await,
        Some(InstanceState::Terminated)
    );

    for operation in [
        op::STOP_INSTANCES,
        op::TERMINATE_INSTANCES,
        op::GET_CONSOLE_OUTPUT,
        op::CREATE_SECURITY_GROUP,
        op::PUT_PARAMETER,
    ] {
        cloud.fail_next(operation, 1, CloudErrorKind::Unavailable);
    }
    let ids = [fine.clone()];
    assert!(cloud.stop_instances(&east(), &ids).await.is_err());
    assert!(cloud.terminate_instances(&east(), &ids).await.is_err());
    assert!(cloud.console_output(&east(), &fine).await.is_err());
    let group = SecurityGroupRequest::new("g", "d");
    assert!(cloud.create_security_group(&east(), &group).await.is_err());
    assert!(
        cloud
            .put_parameter(&east(), &put("/a/b", "v", None, true))
            .await
            .is_err()
    );
    assert_eq!(state_of(&cloud, &fine).await, Some(InstanceState::Running));
    cloud
        .stop_instances(&east(), &ids)
        .await
        .expect("one fault, one call");
}

#[tokio::test(start_paused = true)]
async fn the_inventory_counts_what_an_account_holds() {
    let cloud = demo();
    let before = cloud.inventory(&east());
    let (instance, image) = captured(&cloud, &BTreeMap::new()).await;
    let group = cloud
        .create_security_group(&east(), &SecurityGroupRequest::new("g", "d"))
        .await
        .unwrap();
    cloud
        .put_parameter(&east(), &put("/inv/p", "v", None, true))
        .await
        .unwrap();
    let during = cloud.inventory(&east());
    assert_eq!(during.instances.get(&InstanceState::Stopped), Some(&1));
    assert_eq!(during.image_count(), before.image_count() + 1);
    assert_eq!(during.snapshots, before.snapshots + 1);
    assert_eq!(during.security_groups, before.security_groups + 1);
    assert_eq!(during.parameters, before.parameters + 1);
    assert_ne!(during.live(), before.live());

    cloud
        .terminate_instances(&east(), &[instance])
        .await
        .unwrap();
    sleep(Timings::default().terminate).await;
    cloud.delete_security_group(&east(), &group).await.unwrap();
    cloud.deregister_image(&east(), &image, true).await.unwrap();
    cloud
        .delete_parameter(&east(), &pname("/inv/p"))
        .await
        .unwrap();
    let after = cloud.inventory(&east());
    assert_eq!(after.live(), before.live(), "nothing left behind");
    assert_eq!(after.instances.get(&InstanceState::Terminated), Some(&1));
}

#[tokio::test(start_paused = true)]
async fn a_saved_world_resumes_a_build_where_it_was() {
    let cloud = demo();
    let tags = BTreeMap::from([("amiref:build-id".to_owned(), "b-9".to_owned())]);
    let mut group = SecurityGroupRequest::new("amiref-b-9", "build");
    group.tags = tags.clone();
    let group = cloud.create_security_group(&east(), &group).await.unwrap();
    let mut launch = request(Some(wrapped("python-ml", "b-9", ScriptStage::Provision)));
    launch.security_groups = vec![group.clone()];
    launch.require_imdsv2 = true;
    launch.tags = tags.clone();
    let builder = cloud.run_instance(&east(), &launch).await.unwrap();
    let (stopped, image) = captured(&cloud, &tags).await;
    cloud
        .put_parameter(&east(), &put("/amiref/n", "1", None, true))
        .await
        .unwrap();
    cloud
        .put_parameter(&east(), &put("/amiref/n", "2", None, true))
        .await
        .unwrap();

    // Another process loads what this one saved.
    let saved = cloud.to_world();
    let text = saved.to_yaml().unwrap();
    let resumed = MemoryCloud::from_world_yaml(&text, "saved").unwrap();
    assert_eq!(resumed.to_world(), saved, "a saved world loads as it was");
    assert_eq!(resumed.inventory(&east()), cloud.inventory(&east()));
    assert_eq!(
        resumed.launch_settings(&east(), &builder),
        cloud.launch_settings(&east(), &builder)
    );
    assert_eq!(
        state_of(&resumed, &stopped).await,
        Some(InstanceState::Stopped)
    );
    let history = resumed
        .parameter_history(&east(), &pname("/amiref/n"))
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|p| p.value.as_str()).collect::<Vec<_>>(),
        ["1", "2"]
    );
    let by_tag = BTreeMap::from([("amiref:build-id".to_owned(), Some("b-9".to_owned()))]);
    let groups = resumed
        .describe_security_groups(&east(), &by_tag)
        .await
        .unwrap();
    assert_eq!(groups.iter().map(|g| &g.id).collect::<Vec<_>>(), [&group]);
    let tagged = resumed
        .describe_instances(
            &east(),
            &InstanceFilter::all().tag("amiref:build-id", Some("b-9".to_owned())),
        )
        .await
        .unwrap();
    assert_eq!(tagged.iter().map(|i| &i.id).collect::<Vec<_>>(), [&builder]);

    // The clock goes on: the image becomes available, the script finishes.
    sleep(DEFAULT_PROVISION_RUN).await;
    assert_eq!(
        resumed.inspect_image(&east(), &image).unwrap().state,
        ImageState::Available
    );
    let text = console(&resumed, &builder).await;
    assert!(
        Completion::find(&text, "b-9", ScriptStage::Provision).is_some(),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn world_files_declare_subnets_and_groups() {
    let yaml = r#"
instance_types: [{name: m6i.large}]
images:
  - {id: ami-0123456789abcdef0, region: us-east-1, name: base, architecture: x86_64, created: 2026-01-01T00:00:00Z}
regions:
  us-east-1:
    subnets:
      subnet-0aaaaaaaaaaaaaaa1: vpc-0bbbbbbbbbbbbbbb1
security_groups:
  - {id: sg-0ccccccccccccccc1, region: us-east-1, name: lab, description: the lab's, vpc: vpc-0bbbbbbbbbbbbbbb1}
"#;
    let cloud = MemoryCloud::from_world_yaml(yaml, "net.yaml").unwrap();
    let mut r = request(None);
    r.subnet = Some("subnet-0aaaaaaaaaaaaaaa1".parse().unwrap());
    r.security_groups = vec!["sg-0ccccccccccccccc1".parse().unwrap()];
    cloud.run_instance(&east(), &r).await.unwrap();
    let bad = yaml.replace("vpc: vpc-0bbbbbbbbbbbbbbb1}", "vpc: vpc-0dddddddddddddddd}");
    let err = MemoryCloud::from_world_yaml(&bad, "net.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("net.yaml:10:")
            && err.contains("security_groups[sg-0ccccccccccccccc1].vpc"),
        "{err}"
    );
}

#[test]
fn saved_worlds_of_before_this_change_still_load() {
    // A state file written before instances had launch settings, groups or history.
    let old = r#"
start: 2026-11-01T10:00:00Z
instance_types: [{name: m6i.large, architectures: [x86_64]}]
images:
  - {id: ami-0123456789abcdef0, region: us-east-1, name: base, architecture: x86_64, created: 2026-01-01T00:00:00Z}
instances:
  - {id: i-0123456789abcdef0, region: us-east-1, image: ami-0123456789abcdef0, instance_type: m6i.large, state: stopped}
parameters:
  us-east-1:
    /lab/motd: {value: hi, version: 3}
ids_minted: 7
timings: {create_image: 5m, copy_image: 2m, copy_image_per_gib: 6s, change_set_preparing: 1m, change_set_applying: 30m}
"#;
    let cloud = MemoryCloud::from_world_yaml(old, "old-state").unwrap();
    let inventory = cloud.inventory(&east());
    assert_eq!(inventory.instances.get(&InstanceState::Stopped), Some(&1));
    assert_eq!(inventory.parameters, 1);
}
