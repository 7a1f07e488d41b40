//! The launcher's resolution commands end to end on the demo world: `launch` (the README's
//! main command, the copy and prefer-script prompts), `ami resolve`, `ami test`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use predicates::prelude::*;

use common::cases::{cross_region_template, strict_template};
use common::{DEMO_WORLD as WORLD, Sandbox, document_with_code, success_json};

#[test]
fn the_readme_command_prints_the_resolution_preview() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["launch", "examples/templates/python-ml.yml", "my-research"])
        .args(["--dry-run", "--show-ami-resolution"])
        .assert()
        .success()
        .stdout(predicate::str::contains("🔍 AMI Resolution Preview: python-ml in us-east-1"))
        .stdout(predicate::str::contains("Strategy: ami_preferred (fallback: script_provisioning)"))
        .stdout(predicate::str::contains(
            "Primary: ami-0123456789abcdef0 (us-east-1) ✅",
        ))
        .stdout(predicate::str::contains("  2. Direct mapping ✅"))
        .stdout(predicate::str::contains("  3. Dynamic search ✅ (not needed)"))
        .stdout(predicate::str::contains("  7. Script provisioning ✅ (not needed)"))
        .stdout(predicate::str::contains("Estimated Launch Time: 30 seconds"))
        .stdout(predicate::str::contains("Cost Comparison:"))
        .stdout(predicate::str::contains(
            "AMI Launch (direct mapping): $0.096/hour on m6i.large + 30s setup ($0.0008 setup cost)  ← chosen",
        ))
        .stdout(predicate::str::contains(
            "Script Launch: $0.0816/hour on m7g.large + 6min setup ($0.0082 setup cost)",
        ))
        .stdout(predicate::str::contains("nothing copied or launched"));
}

#[test]
fn global_options_are_accepted_after_the_subcommand_and_json_is_machine_readable() {
    let s = Sandbox::new();
    let v = success_json(s.amiref().args([
        "launch",
        "python-ml",
        "my-research",
        "--dry-run",
        "--show-ami-resolution",
        "--world",
        WORLD,
        "--region",
        "eu-west-1",
        "--output",
        "json",
    ]));
    let p = &v;
    assert_eq!(p["region"], "eu-west-1");
    // The stale eu-west-1 mapping and the stranger's look-alikes: script provisioning.
    assert_eq!(p["resolution"]["method"], "script_provisioning");
    assert_eq!(p["tiers"][0]["outcome"]["kind"], "skipped");
    assert_eq!(p["resolution"]["image"]["owner_alias"], "amazon");
}

#[test]
fn launch_uses_the_image_and_reports_the_speedup() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["launch", "python-ml", "my-research"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "✅ Found optimized AMI: ami-0123456789abcdef0 (cws-python-ml-2.1.0-x86_64) by direct mapping",
        ))
        .stdout(predicate::str::contains(
            "📈 Performance: 12.0x faster launch (30s vs 6min)",
        ))
        .stdout(predicate::str::contains("🚀 Launching with pre-built environment..."))
        .stdout(predicate::str::is_match(r"✅ Launched i-[0-9a-f]+ \(my-research\) in us-east-1").unwrap());
}

#[test]
fn the_default_region_comes_from_the_environment() {
    let s = Sandbox::new();
    s.on_demo()
        .env("AWS_DEFAULT_REGION", "us-west-2")
        .args(["ami", "resolve", "python-ml"])
        .assert()
        .success()
        .stdout(predicate::str::contains("in us-west-2"))
        .stdout(predicate::str::contains("ami-0fedcba9876543210"));
    s.on_demo()
        .env("AWS_DEFAULT_REGION", "us-west-2")
        .env("AWS_REGION", "eu-west-1")
        .args(["ami", "resolve", "python-ml"])
        .assert()
        .success()
        .stdout(predicate::str::contains("in eu-west-1"));
}

#[test]
fn a_cross_region_copy_asks_first_and_is_refused_without_a_terminal() {
    let s = Sandbox::new();
    let t = cross_region_template(&s);
    s.on_demo()
        .args(["--region", "ap-south-1", "launch"])
        .arg(&t)
        .arg("my-research")
        .write_stdin("")
        .assert()
        .code(3)
        .stdout(predicate::str::contains("❌ No AMI in ap-south-1"))
        .stdout(predicate::str::contains(
            "✅ Found AMI in ap-southeast-1: ami-0a5e123456789def0",
        ))
        .stdout(predicate::str::contains(
            "📋 Cross-region copy required (17min + $4.20)",
        ))
        .stdout(predicate::str::contains("Launched").not())
        .stderr(predicate::str::contains(
            "stdin is not a terminal; rerun with --yes",
        ));
}

#[test]
fn with_yes_the_copy_is_made_then_launched() {
    let s = Sandbox::new();
    let t = cross_region_template(&s);
    s.on_demo()
        .args(["--region", "ap-south-1", "launch", "--yes"])
        .arg(&t)
        .arg("my-research")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "🔄 Copying ami-0a5e123456789def0 from ap-southeast-1 to ap-south-1...",
        ))
        .stdout(
            predicate::str::is_match(r"✅ Copied: ami-[0-9a-f]+ is available in ap-south-1")
                .unwrap(),
        )
        .stdout(predicate::str::contains("✅ Launched"));
}

#[test]
fn a_dry_run_with_a_copy_plans_it_without_asking() {
    let s = Sandbox::new();
    let t = cross_region_template(&s);
    s.on_demo()
        .args(["--region", "ap-south-1", "launch", "--dry-run"])
        .arg(&t)
        .arg("my-research")
        .write_stdin("")
        .assert()
        .success()
        .stdout(predicate::str::contains("📋 Cross-region copy required"))
        .stdout(predicate::str::contains("nothing copied or launched"));
}

#[test]
fn prefer_script_offers_the_faster_image() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["launch", "python-ml", "r", "--prefer-script"])
        .write_stdin("")
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "⚠️  Script provisioning requested (6 minutes estimated)",
        ))
        .stdout(predicate::str::contains(
            "🔍 AMI available: ami-0123456789abcdef0 (30 seconds)",
        ))
        .stderr(predicate::str::contains(
            "Continue with script provisioning instead of ami-0123456789abcdef0 (30 seconds)? [y/N]",
        ));
    s.on_demo()
        .args(["launch", "python-ml", "r", "--prefer-script", "--yes"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "🚀 Launching with script provisioning...",
        ));
}

#[test]
fn ami_resolve_explains_the_chain_and_prints_json() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["ami", "resolve", "python-ml", "--region", "ap-south-1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Method: script provisioning"))
        .stdout(predicate::str::contains(
            "  2. Direct mapping ⏭️ ami_mappings has no entry for ap-south-1",
        ))
        .stdout(predicate::str::contains(
            "  6. Cross-region copy (not tried: fallback_strategy is script_provisioning)",
        ));
    let v = success_json(
        s.on_demo()
            .args(["--output", "json", "ami", "resolve", "python-ml"]),
    );
    assert_eq!(v["method"], "direct_mapping");
    assert_eq!(v["chain"][1]["tier"], "direct_mapping");
    assert_eq!(v["estimate"]["launch_time_secs"], 30);
}

#[test]
fn ami_test_reports_every_region() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["ami", "test", "python-ml", "--all-regions"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "✅ us-east-1: ami-0123456789abcdef0 (available)",
        ))
        .stdout(predicate::str::contains(
            "❌ eu-west-1: No AMI available (fallback: script provisioning",
        ))
        .stdout(predicate::str::contains(
            "5 available, 0 cross-region copy, 5 script fallback, 0 failed; 10 regions",
        ));
    let t = cross_region_template(&s);
    s.on_demo()
        .args(["ami", "test", "--regions", "ap-south-1,us-east-1"])
        .arg(&t)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "✅ ap-south-1: ami-0a5e123456789def0 (cross-region copy available from ap-southeast-1)",
        ));
}

#[test]
fn a_failed_region_makes_ami_test_exit_1() {
    let s = Sandbox::new();
    let doc = document_with_code(
        s.on_demo()
            .args([
                "--output",
                "json",
                "ami",
                "test",
                "--regions",
                "us-east-1,eu-west-1",
            ])
            .arg(strict_template(&s)),
        1,
    );
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["kind"], "partial_failure");
    let v = &doc["result"];
    assert_eq!(v["regions"][0]["status"], "available");
    assert_eq!(v["regions"][1]["status"], "unavailable");
    assert_eq!(v["counts"]["unavailable"], 1);
}

#[test]
fn errors_are_clear() {
    let s = Sandbox::new();
    // AWS options make no sense on a world: a usage error rather than a silent ignore.
    s.on_demo()
        .args(["launch", "python-ml", "x"])
        .args(["--endpoint-url", "http://127.0.0.1:1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--endpoint-url is for AWS and cannot be used with --world",
        ));
    // Bad input: a template not found, a region not in the catalog.
    s.on_demo()
        .args(["launch", "no-such-template", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "template \"no-such-template\" not found",
        ));
    s.on_demo()
        .args(["--region", "moon-1", "ami", "resolve", "python-ml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--region: found \"moon-1\", expected an AWS region code",
        ));
}

#[test]
fn the_community_tier_reads_a_signed_registry() {
    let s = Sandbox::new();
    let path = s.write(
        "python-ml.yml",
        "name: python-ml\ninstance_types:\n  x86_64: m6i.large\nami_config:\n  fallback_strategy: error\n",
    );
    s.on_demo()
        .args(["--image-registry", "examples/registry/community.yml"])
        .args(["--image-registry-keys", "examples/registry/trust.yml"])
        .args(["ami", "resolve"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "✅ Found optimized AMI: ami-0123456789abcdef0 (cws-python-ml-2.1.0-x86_64) by community registry",
        ))
        .stdout(predicate::str::contains("signed by ed25519:"))
        .stdout(predicate::str::contains(
            "  5. Marketplace (not needed: Community registry found an image)",
        ));
    // Without a registry, the same template has no way to launch.
    s.on_demo()
        .args(["ami", "resolve"])
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "no community registry is configured",
        ));
}

#[test]
fn a_script_chosen_over_a_copy_names_the_copy_it_passed_over() {
    let s = Sandbox::new();
    let mut text = std::fs::read_to_string(cross_region_template(&s)).unwrap();
    text.push_str("user_data: |\n  #!/bin/bash\n  echo provision\n");
    let path = s.write("xr-script.yml", &text);
    s.on_demo()
        .args(["--region", "ap-south-1", "launch", "--dry-run"])
        .arg(&path)
        .arg("r")
        .assert()
        .success()
        .stdout(predicate::str::contains("📦 Base image:"))
        .stdout(predicate::str::contains(
            "ℹ️  Alternative: ami-0a5e123456789def0 by cross-region copy (17.5 minutes from ap-southeast-1, $4.20); script provisioning is usable sooner (interactive workload)",
        ))
        .stdout(predicate::str::contains("with user_data; nothing copied or launched"));
}

#[test]
fn an_architecture_can_be_imposed() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["ami", "resolve", "python-ml", "--architecture", "arm64"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ami-0123456789abcdef0 is x86_64, which none of the template's instance types offered in us-east-1 runs: m7g.large (arm64)"))
        .stdout(predicate::str::contains(
            "✅ Found optimized AMI: ami-0123456789abcdef1 (cws-python-ml-2.1.0-arm64) by dynamic search",
        ))
        .stdout(predicate::str::contains("arm64 on m7g.large"));
}

/// The golden-image template reads the platform's SSM parameter where it exists, and
/// provisions on AWS's public Amazon Linux 2023 parameter where it does not.
#[test]
fn the_golden_template_resolves_through_its_ssm_parameter() {
    let s = Sandbox::new();
    s.on_demo()
        .args(["ami", "resolve", "examples/templates/golden-python-ml.yml"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "✅ Found optimized AMI: ami-0f00dfeed0000cafe (my-python-ml-custom-2026-10-15) by SSM parameter",
        ))
        .stdout(predicate::str::contains(
            "1. SSM parameter ✅ SSM parameter /golden/python-ml/x86_64 in us-east-1",
        ));
    s.on_demo()
        .args(["--region", "eu-west-1", "ami", "resolve"])
        .arg("examples/templates/golden-python-ml.yml")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "SSM parameter /golden/eu/python-ml/x86_64 does not exist in eu-west-1",
        ))
        .stdout(predicate::str::contains(
            "from SSM parameter /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
        ));
}
