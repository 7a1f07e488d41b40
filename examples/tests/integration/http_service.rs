//! `amiref-http` end to end: the real binary over real HTTP, on the demo world
//! (examples/worlds/demo.yaml, examples/templates), each test with a service, state
//! directory and home of its own. Every endpoint, its success and its failures, and the
//! world's state kept between requests, between restarts and across requests at once.

use crate::http;

use std::sync::Arc;

use http::Server;
use serde_json::Value;

const LAUNCHES_R: &str = "/v1/templates/r-research/launches";

/// The body of a launch of an instance named `name` in `region`.
fn launch_body(name: &str, region: &str) -> String {
    serde_json::json!({ "name": name, "region": region }).to_string()
}

/// Asserts that the error message says each of `said`.
fn assert_says(a: &http::Answer, said: &[&str]) {
    for part in said {
        assert!(
            a.message().contains(part),
            "no {part:?} in: {}",
            a.message()
        );
    }
}

fn instance_id(doc: &Value) -> String {
    let id = doc["result"]["instance"].as_str().unwrap_or_default();
    assert!(id.starts_with("i-"), "no instance in {doc}");
    id.to_owned()
}

#[tokio::test]
async fn the_template_list_has_every_template_of_the_directories() {
    let s = Server::start(&[]);
    let a = s.get("/v1/templates").await;
    assert_eq!(a.status, 200, "{}", a.doc);
    assert_eq!(a.doc["schema"], "amiref/template_list/v1");
    assert_eq!(a.doc["ok"], true);
    assert_eq!(a.headers["content-type"], "application/json");
    let names: Vec<&str> = a.doc["result"]["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let files = std::fs::read_dir(http::TEMPLATES).unwrap().count();
    assert_eq!(names.len(), files, "{names:?}");
    assert!(names.is_sorted(), "{names:?}");
    assert!(names.contains(&"python-ml") && names.contains(&"r-research"));
    let python =
        &a.doc["result"]["templates"][names.iter().position(|n| *n == "python-ml").unwrap()];
    assert_eq!(python["file"], "python-ml.yml");
    assert_eq!(python["version"], "2.1.0");
    assert_eq!(python["strategy"], "ami_preferred");
}

#[tokio::test]
async fn a_resolution_is_the_dry_run_preview_in_the_region_asked() {
    let s = Server::start(&[]);
    let a = s
        .get("/v1/templates/python-ml/resolution?region=us-east-1")
        .await;
    assert_eq!(a.status, 200, "{}", a.doc);
    assert_eq!(a.doc["schema"], "amiref/preview/v1");
    let result = &a.doc["result"];
    assert_eq!(result["region"], "us-east-1");
    assert_eq!(result["template"], "python-ml");
    assert_eq!(result["resolution"]["method"], "direct_mapping");
    assert_eq!(result["resolution"]["image"]["id"], "ami-0123456789abcdef0");
    assert!(!result["tiers"].as_array().unwrap().is_empty(), "{result}");
    // A dry run: nothing was launched, nothing saved.
    assert!(!s.saved_world().contains("i-"), "a read saved the world");
}

#[tokio::test]
async fn a_resolution_without_a_region_is_in_the_services_region() {
    let s = Server::start(&["--region", "eu-west-1"]);
    let a = s.get("/v1/templates/r-research/resolution").await;
    assert_eq!(a.status, 200, "{}", a.doc);
    assert_eq!(a.doc["result"]["region"], "eu-west-1");
}

#[tokio::test]
async fn a_resolution_with_nothing_to_launch_is_422_with_its_preview() {
    let s = Server::start(&[]);
    let a = s
        .get("/v1/templates/gpu-deep-learning/resolution?region=ap-south-1")
        .await;
    assert_eq!(a.status, 422, "{}", a.doc);
    assert_eq!(a.doc["ok"], false);
    assert_eq!(a.doc["error"]["kind"], "no_image");
    assert!(a.doc["result"]["resolution"].is_null(), "{}", a.doc);
    assert!(
        a.message()
            .contains("no way to launch gpu-deep-learning in ap-south-1")
    );
}

#[tokio::test]
async fn availability_covers_every_region_of_the_world() {
    let s = Server::start(&[]);
    let a = s.get("/v1/templates/r-research/availability").await;
    assert_eq!(a.status, 200, "{}", a.doc);
    assert_eq!(a.doc["schema"], "amiref/availability/v1");
    let result = &a.doc["result"];
    let regions = result["regions"].as_array().unwrap();
    let names: Vec<&str> = regions
        .iter()
        .map(|r| r["region"].as_str().unwrap())
        .collect();
    for region in ["us-east-1", "us-east-2", "eu-west-1", "ap-south-1"] {
        assert!(names.contains(&region), "{region} missing from {names:?}");
    }
    let counted: u64 = [
        "available",
        "cross_region_copy",
        "script_fallback",
        "unavailable",
    ]
    .iter()
    .map(|k| result["counts"][k].as_u64().unwrap())
    .sum();
    assert_eq!(counted, regions.len() as u64, "{result}");
    let east2 = regions.iter().find(|r| r["region"] == "us-east-2").unwrap();
    assert_eq!(east2["status"], "cross_region_copy", "{east2}");
    assert_eq!(result["simulated_time"], true);
}

#[tokio::test]
async fn availability_with_regions_that_cannot_launch_is_422_with_every_region() {
    let s = Server::start(&[]);
    let a = s.get("/v1/templates/gpu-deep-learning/availability").await;
    assert_eq!(a.status, 422, "{}", a.doc);
    assert_eq!(a.doc["ok"], false);
    assert_eq!(a.doc["error"]["kind"], "partial_failure");
    let regions = a.doc["result"]["regions"].as_array().unwrap();
    let south = regions
        .iter()
        .find(|r| r["region"] == "ap-south-1")
        .unwrap();
    assert_eq!(south["status"], "unavailable", "{south}");
    assert!(
        regions.iter().any(|r| r["status"] == "available"),
        "{}",
        a.doc
    );
}

#[tokio::test]
async fn an_unknown_template_is_404_at_every_endpoint() {
    let s = Server::start(&[]);
    for a in [
        s.get("/v1/templates/no-such/resolution").await,
        s.get("/v1/templates/no-such/availability").await,
        s.post(
            "/v1/templates/no-such/launches",
            &launch_body("x", "us-east-1"),
        )
        .await,
    ] {
        assert_eq!(a.status, 404, "{}", a.doc);
        assert_eq!(a.doc["ok"], false);
        assert_eq!(a.doc["error"]["kind"], "invalid_template");
        assert_eq!(
            a.message(),
            "no template named \"no-such\": GET /v1/templates lists them"
        );
    }
}

#[tokio::test]
async fn a_template_name_that_is_a_path_is_refused() {
    let s = Server::start(&[]);
    let a = s
        .get("/v1/templates/..%2F..%2Fworlds%2Fdemo/resolution")
        .await;
    assert_eq!(a.status, 400, "{}", a.doc);
    assert!(
        a.message()
            .starts_with("invalid template name \"../../worlds/demo\""),
        "{}",
        a.message()
    );
    let a = s.get("/v1/templates/%2Fetc%2Fpasswd/availability").await;
    assert_eq!(a.status, 400, "{}", a.doc);
}

#[tokio::test]
async fn a_bad_region_is_400_with_did_you_mean() {
    let s = Server::start(&[]);
    let a = s
        .get("/v1/templates/python-ml/resolution?region=eu-wst-1")
        .await;
    assert_eq!(a.status, 400, "{}", a.doc);
    assert_eq!(a.doc["schema"], "amiref/preview/v1");
    assert_eq!(a.doc["error"]["kind"], "invalid_input");
    assert_says(&a, &["query parameter `region`", "did you mean eu-west-1?"]);
    let a = s.post(LAUNCHES_R, &launch_body("lab", "us-eest-2")).await;
    assert_eq!(a.status, 400, "{}", a.doc);
    assert_says(&a, &["body field `region`", "did you mean us-east-2?"]);
}

#[tokio::test]
async fn an_unknown_query_parameter_is_refused_not_ignored() {
    let s = Server::start(&[]);
    // A misspelt approval must not launch without it, nor with it.
    let a = s
        .post(
            &format!("{LAUNCHES_R}?aprove_copy=true"),
            &launch_body("lab", "us-east-2"),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.doc);
    assert_says(
        &a,
        &[
            "unknown field `aprove_copy`",
            "query parameters taken: approve_copy",
        ],
    );
    let a = s.get("/v1/templates?all=1").await;
    assert_eq!(a.status, 400, "{}", a.doc);
    let a = s
        .get("/v1/templates/python-ml/availability?region=us-east-1")
        .await;
    assert_eq!(a.status, 400, "{}", a.doc);
    let a = s
        .post(
            &format!("{LAUNCHES_R}?approve_copy=yes"),
            &launch_body("lab", "us-east-2"),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.doc);
    assert!(
        s.saved_world().is_empty(),
        "a refused request opened the world"
    );
}

#[tokio::test]
async fn a_launch_that_needs_a_copy_is_409_until_the_copy_is_approved() {
    let s = Server::start(&[]);
    let refused = s.post(LAUNCHES_R, &launch_body("lab-1", "us-east-2")).await;
    assert_eq!(refused.status, 409, "{}", refused.doc);
    assert_eq!(refused.doc["schema"], "amiref/launch/v1");
    assert_eq!(refused.doc["error"]["kind"], "aborted");
    assert_says(
        &refused,
        &["launching r-research in us-east-2 needs a copy of ami-0abcd1234567890ef from us-east-1"],
    );
    assert_says(&refused, &["?approve_copy=true"]);
    let plan = &refused.doc["error"]["details"]["plan"];
    assert_eq!(
        plan["choice"]["copy"]["destination_region"], "us-east-2",
        "{plan}"
    );
    assert!(
        !s.saved_world().contains("lab-1"),
        "a declined launch launched"
    );

    let launched = s
        .post(
            &format!("{LAUNCHES_R}?approve_copy=true"),
            &launch_body("lab-1", "us-east-2"),
        )
        .await;
    assert_eq!(launched.status, 201, "{}\n{}", launched.doc, s.log());
    assert_eq!(launched.doc["ok"], true);
    let result = &launched.doc["result"];
    let id = instance_id(&launched.doc);
    let copied = result["copied_image"].as_str().unwrap();
    assert_eq!(result["image"], copied);
    assert_ne!(copied, "ami-0abcd1234567890ef");
    assert_eq!(result["region"], "us-east-2");
    assert_eq!(result["instance_name"], "lab-1");
    // Saved before the answer: the instance and its copy are in the world's state.
    let saved = s.saved_world();
    assert!(
        saved.contains(&id) && saved.contains(copied),
        "not saved:\n{saved}"
    );
}

#[tokio::test]
async fn a_launch_in_region_is_201_without_a_copy_and_idempotent() {
    let s = Server::start(&[]);
    let body = launch_body("notebook", "us-east-1");
    let first = s.post("/v1/templates/python-ml/launches", &body).await;
    assert_eq!(first.status, 201, "{}", first.doc);
    assert!(
        first.doc["result"].get("copied_image").is_none(),
        "{}",
        first.doc
    );
    assert_eq!(first.doc["result"]["image"], "ami-0123456789abcdef0");
    // The same launch asked again (a retry after a lost answer) is the same instance.
    let again = s.post("/v1/templates/python-ml/launches", &body).await;
    assert_eq!(again.status, 201, "{}", again.doc);
    assert_eq!(instance_id(&again.doc), instance_id(&first.doc));
}

#[tokio::test]
async fn a_launch_with_nothing_to_launch_is_422() {
    let s = Server::start(&[]);
    let a = s
        .post(
            "/v1/templates/gpu-deep-learning/launches",
            &launch_body("g", "ap-south-1"),
        )
        .await;
    assert_eq!(a.status, 422, "{}", a.doc);
    assert_eq!(a.doc["error"]["kind"], "no_image");
    assert!(a.doc["error"]["details"]["chain"].is_array(), "{}", a.doc);
}

#[tokio::test]
async fn bad_launch_bodies_are_400_saying_what_was_expected() {
    let s = Server::start(&[]);
    let cases = [
        ("", "the request has no body"),
        ("{\"name\": ", "a body that is not JSON"),
        ("[1, 2]", "a body of the wrong shape"),
        ("{\"region\": \"us-east-1\"}", "missing field `name`"),
        (
            "{\"name\": 7}",
            "invalid type: integer `7`, expected a string",
        ),
        (
            "{\"name\": \"x\", \"regin\": \"us-east-1\"}",
            "unknown field `regin`",
        ),
        (
            "{\"name\": \"x\", \"architecture\": \"sparc\"}",
            "unknown variant `sparc`",
        ),
        (
            "{\"name\": \"\"}",
            "invalid instance name \"\": it is empty",
        ),
        ("{\"name\": \"a\\nb\"}", "has control characters"),
    ];
    for (body, said) in cases {
        let a = s.post(LAUNCHES_R, body).await;
        assert_eq!(a.status, 400, "{body:?}: {}", a.doc);
        assert_eq!(a.doc["schema"], "amiref/launch/v1");
        assert_eq!(a.doc["error"]["kind"], "invalid_input");
        assert!(a.message().contains(said), "{body:?}: {}", a.message());
        if !said.starts_with("invalid instance name") && !said.starts_with("has control") {
            assert!(
                a.message().contains("expected a JSON object {\"name\""),
                "{}",
                a.message()
            );
        }
    }
    let long = serde_json::json!({ "name": "x".repeat(257) }).to_string();
    let a = s.post(LAUNCHES_R, &long).await;
    assert_eq!(a.status, 400, "{}", a.doc);
    assert_says(&a, &["is too long"]);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_in_a_document() {
    let s = Server::start(&[]);
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(3 << 20));
    let a = s.post(LAUNCHES_R, &huge).await;
    assert_eq!(a.status, 413, "{}", a.doc);
    assert_eq!(a.doc["schema"], "amiref/launch/v1");
    assert_eq!(a.doc["error"]["kind"], "invalid_input");
}

#[tokio::test]
async fn a_broken_template_file_of_the_service_is_500_with_its_problems() {
    let extra = tempfile::tempdir().unwrap();
    std::fs::write(extra.path().join("broken.yml"), "name: [b]\n").unwrap();
    let dir = extra.path().to_str().unwrap();
    let s = Server::start(&["--templates", dir]);
    for a in [
        s.get("/v1/templates").await,
        s.get("/v1/templates/broken/resolution").await,
    ] {
        assert_eq!(a.status, 500, "{}", a.doc);
        assert_eq!(a.doc["error"]["kind"], "invalid_template", "{}", a.doc);
        assert_says(&a, &["broken.yml"]);
    }
    // The other templates are still served.
    let a = s.get("/v1/templates/python-ml/resolution").await;
    assert_eq!(a.status, 200, "{}", a.doc);
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let s = Server::start(&[]);
    let a = s.get("/v1/images").await;
    assert_eq!(a.status, 404, "{}", a.doc);
    assert_eq!(a.doc["schema"], "amiref/error/v1");
    assert_says(&a, &["no endpoint GET /v1/images"]);
    let a = s.call(reqwest::Method::GET, LAUNCHES_R).await;
    assert_eq!(a.status, 405, "{}", a.doc);
    assert_eq!(a.headers["allow"], "POST");
    let a = s.call(reqwest::Method::DELETE, "/v1/templates").await;
    assert_eq!(a.status, 405, "{}", a.doc);
    assert_eq!(a.headers["allow"], "GET");
}

#[tokio::test]
async fn launches_at_once_are_all_kept() {
    let s = Arc::new(Server::start(&[]));
    let names: Vec<String> = (0..6).map(|i| format!("worker-{i}")).collect();
    let mut launches = tokio::task::JoinSet::new();
    for name in &names {
        let (s, body) = (Arc::clone(&s), launch_body(name, "us-east-1"));
        launches.spawn(async move { s.post("/v1/templates/python-ml/launches", &body).await });
    }
    let mut ids = Vec::new();
    while let Some(answer) = launches.join_next().await {
        let a = answer.unwrap();
        assert_eq!(a.status, 201, "{}", a.doc);
        ids.push(instance_id(&a.doc));
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), names.len(), "{ids:?}");
    // Each request saved on the world the one before it left: none is lost.
    let saved = s.saved_world();
    for kept in ids.iter().chain(&names) {
        assert!(saved.contains(kept.as_str()), "{kept} lost");
    }
}

#[tokio::test]
async fn a_restarted_service_finds_the_world_as_it_was_left() {
    let s = Server::start(&[]);
    let body = launch_body("kept", "us-east-1");
    let first = s.post("/v1/templates/python-ml/launches", &body).await;
    assert_eq!(first.status, 201, "{}", first.doc);
    let dir = s.stop();
    let s = Server::start_in(dir, &[]);
    // The world remembers the launch's client token: the same launch is the same instance.
    let again = s.post("/v1/templates/python-ml/launches", &body).await;
    assert_eq!(again.status, 201, "{}", again.doc);
    assert_eq!(instance_id(&again.doc), instance_id(&first.doc));
    // And mints new ids where the last one stopped (a lost state would mint the same).
    let other = s
        .post(
            "/v1/templates/python-ml/launches",
            &launch_body("other", "us-east-1"),
        )
        .await;
    assert_eq!(other.status, 201, "{}", other.doc);
    assert_ne!(instance_id(&other.doc), instance_id(&first.doc));
    assert!(s.saved_world().contains("kept"));
}

#[tokio::test]
async fn a_build_plan_is_the_dry_run_of_a_build_and_changes_nothing() {
    let s = Server::start(&[]);
    let a = s
        .get("/v1/templates/python-ml/build-plan?region=us-east-1")
        .await;
    assert_eq!(a.status, 200, "{}", a.doc);
    assert_eq!(a.doc["schema"], "amiref/build/v1");
    assert_eq!(a.doc["ok"], true);
    let text = a.doc["result"].to_string();
    for stage in ["provision", "capture", "test", "distribute"] {
        assert!(text.contains(stage), "no {stage} stage in {text}");
    }
    assert!(
        !s.saved_world().contains("i-"),
        "a dry run launched nothing"
    );
    let unknown = s.get("/v1/templates/no-such/build-plan").await;
    assert_eq!(unknown.status, 404, "{}", unknown.doc);
}

#[tokio::test]
async fn the_prebuild_plan_has_a_row_for_every_template_with_a_script() {
    let s = Server::start(&[]);
    let a = s.get("/v1/plan?region=us-east-1").await;
    assert_eq!(a.status, 200, "{}", a.doc);
    assert_eq!(a.doc["schema"], "amiref/plan/v1");
    let rows = a.doc["result"]["rows"].as_array().expect("rows");
    assert!(
        rows.iter().any(|r| r["template"] == "python-ml"),
        "{}",
        a.doc
    );
    let bad = s.get("/v1/plan?region=us-esat-1").await;
    assert_eq!(bad.status, 400, "{}", bad.doc);
}
