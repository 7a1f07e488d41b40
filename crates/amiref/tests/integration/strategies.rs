//! Every strategy x fallback combination on the demo world, with the expected chain.
#![allow(clippy::unwrap_used)]

use crate::common;

use amiref::{Outcome, Resolution};
use amiref_core::ResolutionMethod;
use common::{demo, python_ml, resolver};

/// What a chain entry must be. `Unneeded`: not tried, or ran concurrently and not used.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    F,
    S,
    N,
    Unneeded,
}
use Want::*;

/// (strategy, fallback, user_data, chain, method or `None` for an error, alternative)
type NoImageCase = (
    &'static str,
    &'static str,
    bool,
    [Want; 6],
    Option<ResolutionMethod>,
    Option<ResolutionMethod>,
);

/// (strategy, fallback, chain, method, alternative)
type ImageCase = (
    &'static str,
    &'static str,
    [Want; 6],
    ResolutionMethod,
    Option<ResolutionMethod>,
);

fn check_chain(case: &str, chain: &[amiref::ChainEntry], want: [Want; 6]) {
    let tiers = [
        ResolutionMethod::DirectMapping,
        ResolutionMethod::DynamicSearch,
        ResolutionMethod::CommunityRegistry,
        ResolutionMethod::Marketplace,
        ResolutionMethod::CrossRegion,
        ResolutionMethod::ScriptProvisioning,
    ];
    // python-ml names no SSM parameter: the first tier always skips, without a call.
    assert_eq!(chain.len(), 7, "{case}: {chain:#?}");
    assert_eq!(chain[0].tier, ResolutionMethod::SsmParameter, "{case}");
    assert!(
        matches!(chain[0].outcome, Outcome::Skipped { .. }),
        "{case}"
    );
    for ((entry, tier), want) in chain[1..].iter().zip(tiers).zip(want) {
        assert_eq!(entry.tier, tier, "{case}");
        let ok = match want {
            F => matches!(entry.outcome, Outcome::Found(_)),
            S => matches!(entry.outcome, Outcome::Skipped { .. }),
            N => matches!(entry.outcome, Outcome::NotTried { .. }),
            Unneeded => matches!(entry.outcome, Outcome::NotTried { .. }) || !entry.used,
        };
        assert!(ok, "{case}: {tier} expected {want:?}, got {entry:#?}");
    }
}

/// Checks what a case found: its method, its chain and the alternative it offers.
fn check_found(
    case: &str,
    r: &Resolution,
    method: ResolutionMethod,
    chain: [Want; 6],
    alternative: Option<ResolutionMethod>,
) {
    assert_eq!(r.method, method, "{case}: {r:#?}");
    check_chain(case, &r.chain, chain);
    assert_eq!(
        r.alternative.as_ref().map(|a| a.method.clone()),
        alternative,
        "{case}"
    );
}

/// Where nothing is in the region: ap-south-1 (the community's image is in ap-southeast-1,
/// its first fallback; Amazon's base images are everywhere).
#[tokio::test(start_paused = true)]
async fn no_image_in_region_every_combination() {
    use ResolutionMethod::*;
    // (strategy, fallback, user_data, chain, method or None for an error, alternative)
    let cases: &[NoImageCase] = &[
        (
            "ami_preferred",
            "script_provisioning",
            true,
            [S, S, S, S, N, F],
            Some(ScriptProvisioning),
            None,
        ),
        (
            "ami_preferred",
            "error",
            true,
            [S, S, S, S, N, N],
            None,
            None,
        ),
        // Interactive: the script (6 min) is usable before a 30 GiB copy (17.5 min).
        (
            "ami_preferred",
            "cross_region",
            true,
            [S, S, S, S, F, F],
            Some(ScriptProvisioning),
            Some(CrossRegion),
        ),
        (
            "ami_preferred",
            "cross_region",
            false,
            [S, S, S, S, F, S],
            Some(CrossRegion),
            None,
        ),
        (
            "ami_required",
            "error",
            true,
            [S, S, S, S, N, N],
            None,
            None,
        ),
        (
            "ami_required",
            "cross_region",
            true,
            [S, S, S, S, F, N],
            Some(CrossRegion),
            None,
        ),
        (
            "ami_fallback",
            "script_provisioning",
            true,
            [S, S, S, S, N, F],
            Some(ScriptProvisioning),
            None,
        ),
        (
            "ami_fallback",
            "error",
            true,
            [S, S, S, S, N, F],
            Some(ScriptProvisioning),
            None,
        ),
        (
            "ami_fallback",
            "cross_region",
            true,
            [S, S, S, S, F, F],
            Some(ScriptProvisioning),
            Some(CrossRegion),
        ),
    ];
    let cloud = demo();
    let region = "ap-south-1".parse().unwrap();
    for (strategy, fallback, user_data, chain, method, alternative) in cases {
        let case = format!("{strategy}/{fallback}/user_data={user_data}");
        let t = python_ml(strategy, fallback, *user_data);
        let resolver = resolver(&cloud);
        match (resolver.resolve(&t, &region).await, method) {
            (Ok(r), Some(m)) => {
                check_found(&case, &r, m.clone(), *chain, alternative.clone());
                assert_eq!(r.runs_user_data, *m == ScriptProvisioning, "{case}");
                if *m == CrossRegion {
                    let plan = r.copy_plan.as_ref().expect("a copy plan");
                    assert_eq!(plan.source_region.as_str(), "ap-southeast-1");
                    assert_eq!(plan.source_image.as_str(), "ami-0a5e123456789def0");
                    assert_eq!(plan.size_gib, 30);
                    assert!(plan.transfer_cost_usd > 0.0);
                }
            }
            (Err(e), None) => check_chain(&case, e.chain(), *chain),
            (other, _) => panic!("{case}: unexpected {other:#?}"),
        }
    }
}

/// Where the direct mapping is good: us-east-1.
#[tokio::test(start_paused = true)]
async fn image_in_region_every_combination() {
    use ResolutionMethod::*;
    let cases: &[ImageCase] = &[
        (
            "ami_preferred",
            "script_provisioning",
            [F, N, N, N, N, N],
            DirectMapping,
            None,
        ),
        (
            "ami_preferred",
            "error",
            [F, N, N, N, N, N],
            DirectMapping,
            None,
        ),
        (
            "ami_preferred",
            "cross_region",
            [F, N, N, N, Unneeded, N],
            DirectMapping,
            None,
        ),
        (
            "ami_required",
            "error",
            [F, N, N, N, N, N],
            DirectMapping,
            None,
        ),
        (
            "ami_required",
            "cross_region",
            [F, N, N, N, Unneeded, N],
            DirectMapping,
            None,
        ),
        (
            "ami_fallback",
            "script_provisioning",
            [F, N, N, N, N, F],
            ScriptProvisioning,
            Some(DirectMapping),
        ),
        (
            "ami_fallback",
            "error",
            [F, N, N, N, N, F],
            ScriptProvisioning,
            Some(DirectMapping),
        ),
        (
            "ami_fallback",
            "cross_region",
            [F, N, N, N, F, F],
            ScriptProvisioning,
            Some(DirectMapping),
        ),
    ];
    let cloud = demo();
    let region = "us-east-1".parse().unwrap();
    for (strategy, fallback, chain, method, alternative) in cases {
        let case = format!("{strategy}/{fallback}");
        let t = python_ml(strategy, fallback, true);
        let r = resolver(&cloud)
            .resolve(&t, &region)
            .await
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        check_found(&case, &r, method.clone(), *chain, alternative.clone());
        if *method == DirectMapping {
            assert_eq!(r.image.id.as_str(), "ami-0123456789abcdef0");
            assert_eq!(r.instance_type.as_str(), "m6i.large");
            assert_eq!(r.estimate.launch_time.as_secs(), 30);
        } else {
            assert_eq!(r.estimate.launch_time.as_secs(), 360);
            assert_eq!(
                r.alternative.as_ref().unwrap().image.id.as_str(),
                "ami-0123456789abcdef0"
            );
        }
    }
}

/// A template cannot say `ami_required` with a script fallback (the loader refuses it), but
/// a caller can impose `ami_required` on any template: the script is still never run.
#[tokio::test(start_paused = true)]
async fn imposed_ami_required_never_runs_the_script() {
    let cloud = demo();
    let t = python_ml("ami_preferred", "script_provisioning", true);
    let options =
        amiref::ResolveOptions::default().strategy(amiref_template::AmiStrategy::AmiRequired);
    let err = resolver(&cloud)
        .resolve_with(&t, &"ap-south-1".parse().unwrap(), &options)
        .await
        .unwrap_err();
    check_chain("imposed ami_required", err.chain(), [S, S, S, S, N, N]);
    assert!(
        err.chain()[6]
            .reason()
            .contains("never falls back to a script")
    );
    let found = resolver(&cloud)
        .resolve_with(&t, &"us-east-1".parse().unwrap(), &options)
        .await
        .unwrap();
    assert_eq!(found.method, ResolutionMethod::DirectMapping);
}

/// Batch work weighs cost: the script is still cheaper than a 30 GiB copy, so it wins; with
/// no script, the copy is planned from the nearest region that has the image.
#[tokio::test(start_paused = true)]
async fn batch_workload_weighs_cost() {
    let cloud = demo();
    let region = "ap-south-1".parse().unwrap();
    let r = common::resolver_with(&cloud, |b| b.workload(amiref::Workload::Batch))
        .resolve(&python_ml("ami_preferred", "cross_region", true), &region)
        .await
        .unwrap();
    assert_eq!(r.method, ResolutionMethod::ScriptProvisioning);
    let alt = r.alternative.unwrap();
    let copy_cost = alt.estimate.copy_cost_usd.unwrap() + alt.estimate.setup_cost_usd.unwrap();
    assert!(r.estimate.setup_cost_usd.unwrap() < copy_cost);
    // Batch copies come from where transfer costs least, interactive ones from the nearest
    // region (ap-southeast-1, first in ap-south-1's fallback list).
    let plan = alt.copy_plan.unwrap();
    let interactive = resolver(&cloud)
        .resolve(&python_ml("ami_preferred", "cross_region", false), &region)
        .await
        .unwrap();
    let nearest = interactive.copy_plan.unwrap();
    assert_eq!(nearest.source_region.as_str(), "ap-southeast-1");
    assert!(plan.total_cost_usd() <= nearest.total_cost_usd());
}

/// `ami_fallback` imposed on a template without a script (`launch --prefer-script`): the
/// script tier cannot succeed, so the image is used, with a warning saying why.
#[tokio::test(start_paused = true)]
async fn imposed_ami_fallback_without_a_script_uses_the_image() {
    let cloud = demo();
    let t = python_ml("ami_preferred", "error", false);
    let options =
        amiref::ResolveOptions::default().strategy(amiref_template::AmiStrategy::AmiFallback);
    let r = resolver(&cloud)
        .resolve_with(&t, &"us-east-1".parse().unwrap(), &options)
        .await
        .unwrap();
    assert_eq!(r.method, ResolutionMethod::DirectMapping);
    assert!(!r.runs_user_data);
    assert!(
        r.warnings.iter().any(|w| w
            .to_string()
            .contains("script provisioning is not possible (the template has no user_data")
            && matches!(
                w,
                amiref::Warning::ScriptNotPossible {
                    because: amiref::Skip::NotAsked {
                        missing: amiref::strategies::Missing::UserData
                    }
                }
            )),
        "{:?}",
        r.warnings
    );
}
