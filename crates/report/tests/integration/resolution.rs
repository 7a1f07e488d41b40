//! The resolver's answers on the demo world, as people and scripts read them: the mission's
//! transcript lines, and documents valid against their schemas.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::sync::Arc;

use amiref_memory::MemoryCloud;
use amiref_report::schema::validate;
use amiref_report::{ErrorReport, OutputMode, PreviewReport, Printer};
use amiref_resolver::{Resolution, ResolveOptions, Resolver, TrustPolicy};
use amiref_template::Template;
use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn resolver() -> Resolver {
    let cloud = Arc::new(
        MemoryCloud::from_world_file(format!("{ROOT}/examples/worlds/demo.yaml")).unwrap(),
    );
    let clock = Arc::clone(&cloud);
    Resolver::builder()
        .cloud(cloud)
        .trust_policy(demo_trust())
        .clock(Arc::new(move || clock.now()))
        .build()
        .unwrap()
}

/// The demo's trust (examples/worlds/demo.trust.yaml): Marketplace sellers and the
/// community's named owner besides the defaults.
fn demo_trust() -> TrustPolicy {
    TrustPolicy::default()
        .with_trusted(amiref_core::Owner::AwsMarketplace)
        .with_named_owner(
            "prism-community",
            [amiref_core::AccountId::new("111122223333").unwrap()],
        )
}

fn python_ml() -> Template {
    Template::load_file(format!("{ROOT}/examples/templates/python-ml.yml")).unwrap()
}

fn strict() -> Template {
    Template::from_yaml_str(
        "name: strict\ninstance_type: m6i.large\nami_config:\n  strategy: ami_required\n  \
         ami_mappings:\n    us-east-1: ami-0123456789abcdef0\n  fallback_strategy: error\n",
        "strict.yml",
    )
    .unwrap()
}

fn json_of(printer_out: &str) -> Value {
    let doc: Value = serde_json::from_str(printer_out).unwrap();
    validate(&doc).unwrap_or_else(|v| panic!("{v}\n{printer_out}"));
    doc
}

#[tokio::test(start_paused = true)]
async fn a_resolution_reads_as_the_transcript_and_validates_as_json() {
    let r: Resolution = resolver()
        .resolve(&python_ml(), &"us-east-1".parse().unwrap())
        .await
        .unwrap();

    let (printer, captured) = Printer::capture(OutputMode::Human);
    assert_eq!(printer.report(&r), 0);
    let out = captured.stdout();
    for expected in [
        "🔍 Resolving AMI for template: python-ml in us-east-1\n",
        "✅ Found optimized AMI: ami-0123456789abcdef0 (cws-python-ml-2.1.0-x86_64) by direct mapping\n",
        "Method: direct mapping · x86_64 on m6i.large · ~30 seconds to launch\n",
        "Chain:\n",
        "  2. Direct mapping ✅ ",
    ] {
        assert!(out.contains(expected), "{expected:?} missing from:\n{out}");
    }

    let (printer, captured) = Printer::capture(OutputMode::Json);
    printer.report(&r);
    let doc = json_of(&captured.stdout());
    assert_eq!(doc["schema"], "amiref/resolution/v1");
    assert_eq!(doc["result"]["method"], "direct_mapping");
    assert_eq!(doc["result"]["estimate"]["launch_time_secs"], 30);
    assert_eq!(doc["result"]["chain"][1]["tier"], "direct_mapping");
}

#[tokio::test(start_paused = true)]
async fn no_way_to_launch_shows_the_chain_and_is_a_no_image_document() {
    let error = resolver()
        .resolve(&strict(), &"eu-west-1".parse().unwrap())
        .await
        .unwrap_err();
    let failure = ErrorReport::from(&error);

    let (printer, captured) = Printer::capture(OutputMode::Human);
    assert_eq!(printer.fail::<Resolution>(&failure), 1);
    assert!(captured.stdout().starts_with("❌ No way to launch:\n  1. "));
    assert_eq!(
        captured.stderr(),
        "error: no way to launch strict in eu-west-1 (ami_required): every tier above gave nothing\n"
    );

    let (printer, captured) = Printer::capture(OutputMode::Json);
    printer.fail::<Resolution>(&failure);
    let doc = json_of(&captured.stdout());
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["kind"], "no_image");
    assert_eq!(doc["error"]["details"]["region"], "eu-west-1");
    assert!(
        doc["error"]["details"]["chain"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );
}

#[tokio::test(start_paused = true)]
async fn the_preview_reads_as_the_mission_and_validates_as_json() {
    let template = python_ml();
    let preview = resolver()
        .preview(
            &template,
            &"us-east-1".parse().unwrap(),
            &ResolveOptions::default(),
        )
        .await;
    let report = PreviewReport::new(&preview, &template);

    let (printer, captured) = Printer::capture(OutputMode::Human);
    assert_eq!(printer.report(&report), 0);
    let out = captured.stdout();
    for expected in [
        "🔍 AMI Resolution Preview: python-ml in us-east-1\n",
        "Strategy: ami_preferred (fallback: script_provisioning)\n",
        "Primary: ami-0123456789abcdef0 (us-east-1) ✅",
        "  2. Direct mapping ✅",
        "Estimated Launch Time: 30 seconds\n",
        "Cost Comparison:\n",
        "AMI Launch (direct mapping): $0.096/hour on m6i.large + 30s setup ($0.0008 setup cost)  ← chosen",
        "Script Launch: $0.0816/hour on m7g.large + 6min setup ($0.0082 setup cost)",
        "🧪 Dry run: nothing copied or launched.\n",
    ] {
        assert!(out.contains(expected), "{expected:?} missing from:\n{out}");
    }

    let (printer, captured) = Printer::capture(OutputMode::Json);
    printer.report(&report);
    let doc = json_of(&captured.stdout());
    assert_eq!(doc["result"]["fallback_strategy"], "script_provisioning");
    assert_eq!(doc["result"]["resolution"]["method"], "direct_mapping");
    let setup = &doc["result"]["comparison"][0]["estimate"]["setup_cost_usd"];
    assert!(
        setup.to_string().len() <= "0.000800".len(),
        "money rounded to micro-dollars: {setup}"
    );
}
