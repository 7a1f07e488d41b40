//! The session's reports on the demo world, as people and scripts read them.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::path::{Path, PathBuf};

use amiref_lifecycle::NoProgress;
use amiref_report::schema::validate;
use amiref_report::session::launch_plan_lines;
use amiref_report::{ErrorReport, OutputMode, Printer, Report};
use amiref_session::{LaunchRequest, Policy, Session, SessionBuilder};
use serde_json::Value;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

async fn demo(state: &Path, region: &str) -> Session {
    SessionBuilder::new()
        .with_world_file(examples().join("worlds/demo.yaml"))
        .with_state_dir(state)
        .with_template_dirs(vec![examples().join("templates")])
        .with_registries(vec![
            examples()
                .join("registry/community.yml")
                .display()
                .to_string(),
        ])
        .with_registry_keys(examples().join("registry/trust.yml"))
        .with_region_name(region, "test")
        .unwrap()
        .build()
        .await
        .unwrap()
}

/// Prints `report` both ways: the human stdout, and the JSON document (checked against its
/// schema).
fn both<R: Report>(report: &R) -> (String, Value) {
    let (printer, captured) = Printer::capture(OutputMode::Human);
    printer.report(report);
    let human = captured.stdout();
    let (printer, captured) = Printer::capture(OutputMode::Json);
    printer.report(report);
    let doc: Value = serde_json::from_str(&captured.stdout()).unwrap();
    validate(&doc).unwrap_or_else(|v| panic!("{v}"));
    (human, doc)
}

fn contains_all(text: &str, expected: &[&str]) {
    for e in expected {
        assert!(text.contains(e), "{e:?} missing from:\n{text}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_launch_plans_then_reports_as_the_mission_shows() {
    let state = tempfile::tempdir().unwrap();
    let session = demo(state.path(), "us-east-1").await;
    let template = session.template("python-ml").unwrap();
    let plan = session
        .plan_launch(&LaunchRequest::new(template, "my-research"))
        .await
        .unwrap();

    let lines = launch_plan_lines(&plan).join("\n");
    contains_all(
        &lines,
        &[
            "🔍 Resolving AMI for template: python-ml in us-east-1",
            "✅ Found optimized AMI: ami-0123456789abcdef0 (cws-python-ml-2.1.0-x86_64) by direct mapping",
            "📈 Performance: 12.0x faster launch (30s vs 6min)",
        ],
    );
    let (human, doc) = both(&plan);
    assert!(human.ends_with(
        "🧪 Dry run: would launch my-research on m6i.large from ami-0123456789abcdef0; nothing copied or launched.\n"
    ));
    assert_eq!(doc["schema"], "amiref/launch_plan/v1");

    let report = session
        .launch(&plan, &Policy::default(), &NoProgress)
        .await
        .unwrap();
    let (human, doc) = both(&report);
    assert!(human.starts_with("🚀 Launching with pre-built environment...\n✅ Launched i-"));
    assert!(human.ends_with(" (my-research) in us-east-1\n"), "{human}");
    assert_eq!(doc["result"]["instance_name"], "my-research");
}

#[tokio::test(start_paused = true)]
async fn availability_counts_every_region() {
    let state = tempfile::tempdir().unwrap();
    let session = demo(state.path(), "us-east-1").await;
    let template = session.template("python-ml").unwrap();
    let regions = ["us-east-1".parse().unwrap(), "eu-west-1".parse().unwrap()];
    let report = session.availability(&template, &regions).await;
    let (human, doc) = both(&report);
    contains_all(
        &human,
        &[
            "🧪 Testing AMI availability for template: python-ml\n\n",
            "✅ us-east-1: ami-0123456789abcdef0 (available)",
            "❌ eu-west-1: No AMI available (fallback: script provisioning on ",
            "1 available, 0 cross-region copy, 1 script fallback, 0 failed; 2 regions in ",
        ],
    );
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["result"]["regions"][0]["status"], "available");
}

#[tokio::test(start_paused = true)]
async fn a_region_with_nothing_to_launch_fails_the_test() {
    let state = tempfile::tempdir().unwrap();
    let session = demo(state.path(), "us-east-1").await;
    let template = amiref_template::Template::from_yaml_str(
        "name: strict\ninstance_type: m6i.large\nami_config:\n  strategy: ami_required\n  \
         ami_mappings:\n    us-east-1: ami-0123456789abcdef0\n  fallback_strategy: error\n",
        "strict.yml",
    )
    .unwrap();
    let regions = ["us-east-1".parse().unwrap(), "eu-west-1".parse().unwrap()];
    let report = session.availability(&template, &regions).await;
    let (printer, captured) = Printer::capture(OutputMode::Json);
    assert_eq!(printer.report(&report), 1);
    let doc: Value = serde_json::from_str(&captured.stdout()).unwrap();
    validate(&doc).unwrap();
    assert_eq!(doc["error"]["kind"], "partial_failure");
    assert_eq!(doc["result"]["regions"][1]["status"], "unavailable");
}

#[tokio::test(start_paused = true)]
async fn the_listing_shows_ratings_and_signers() {
    let state = tempfile::tempdir().unwrap();
    let session = demo(state.path(), "us-east-1").await;
    let listing = session.list_images("python-ml").await;
    let (human, doc) = both(&listing);
    contains_all(
        &human,
        &[
            "📋 Available AMIs for template: python-ml",
            "Region: ",
            "⭐ ",
        ],
    );
    assert_eq!(doc["result"]["template"], "python-ml");
}

#[tokio::test(start_paused = true)]
async fn verification_lists_each_entry() {
    let state = tempfile::tempdir().unwrap();
    let session = demo(state.path(), "us-east-1").await;
    let report = session.verify_registries(None).await.unwrap();
    let (human, doc) = both(&report);
    assert!(human.contains("✅ python-ml "), "{human}");
    assert_eq!(doc["ok"], report.refused.is_empty());
}

#[tokio::test(start_paused = true)]
async fn session_errors_keep_their_kind_and_exit_code() {
    let state = tempfile::tempdir().unwrap();
    let session = demo(state.path(), "us-east-1").await;
    let missing = session.template("no-such-template").unwrap_err();
    let report = ErrorReport::from(&missing);
    assert_eq!(report.kind, amiref_report::ErrorKind::InvalidTemplate);
    assert_eq!(report.exit_code, missing.kind().exit_code());
    let (printer, captured) = Printer::capture(OutputMode::Json);
    printer.fail::<amiref_session::LaunchReport>(&report);
    let doc: Value = serde_json::from_str(&captured.stdout()).unwrap();
    validate(&doc).unwrap();
    assert!(
        doc["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("template \"no-such-template\" not found"))
    );
}

#[test]
fn keygen_and_sign_report_what_they_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("lab.key");
    let store = dir.path().join("trust.yml");
    let made = amiref_registry::Keygen::new("lab@example.edu", &key)
        .trust_store(&store)
        .run_with(&mut <rand_chacha::ChaCha20Rng as rand::SeedableRng>::seed_from_u64(7))
        .unwrap();
    let (human, doc) = both(&made);
    assert!(human.starts_with("🔑 Key ed25519:"), "{human}");
    assert!(human.contains("(created)"), "{human}");
    assert_eq!(doc["result"]["trust_store_created"], true);

    let again = amiref_registry::Keygen::new("lab@example.edu", &key)
        .run()
        .unwrap_err();
    let (printer, captured) = Printer::capture(OutputMode::Json);
    assert_eq!(
        printer.fail::<amiref_registry::KeygenReport>(&ErrorReport::from(&again)),
        1
    );
    let doc: Value = serde_json::from_str(&captured.stdout()).unwrap();
    validate(&doc).unwrap();
    assert_eq!(doc["error"]["kind"], "invalid_input");

    let registry = dir.path().join("community.yml");
    std::fs::copy(examples().join("registry/community.yml"), &registry).unwrap();
    let signed = amiref_registry::SignRequest::new(&registry, &key)
        .run()
        .unwrap();
    let (human, doc) = both(&signed);
    assert!(human.starts_with("✍️  Signed "), "{human}");
    assert!(!doc["result"]["signed"].as_array().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_world_shows_its_state_and_what_you_launched() {
    let state = tempfile::tempdir().unwrap();
    let session = demo(state.path(), "us-east-1").await;
    let template = session.template("python-ml").unwrap();
    let plan = session
        .plan_launch(&LaunchRequest::new(template, "shown"))
        .await
        .unwrap();
    session
        .launch(&plan, &Policy::default(), &NoProgress)
        .await
        .unwrap();
    let world = session.world_show().await.unwrap().unwrap();
    let (human, doc) = both(&world);
    contains_all(
        &human,
        &["🌍 World ", "   state: ", "Region: us-east-1", " shown "],
    );
    assert_eq!(doc["schema"], "amiref/world/v1");
}
