//! `Session::compliance` on the demo world: the session's regions, trust policy and
//! registries feed the scan, and the `compliance` section of the configuration its policy.

use crate::common;

use amiref_session::compliance::{ControlId, Outcome};
use amiref_session::{ComplianceRequest, FailureKind, SessionBuilder};
use common::{Demo, builder_with};

fn outcomes(report: &amiref_session::compliance::ComplianceReport, id: ControlId) -> Vec<&Outcome> {
    let control = report
        .controls
        .iter()
        .find(|c| c.control.id == id)
        .expect("every control");
    control.outcomes.iter().map(|o| &o.outcome).collect()
}

#[tokio::test(start_paused = true)]
async fn the_demo_is_scanned_in_every_region_with_its_trust_policy_and_registries() {
    let demo = Demo::new();
    let session = demo.session().await;
    let report = session
        .compliance(&ComplianceRequest::default())
        .await
        .expect("a report");
    assert_eq!(report.regions, session.all_regions());
    assert_eq!(report.controls.len(), ControlId::ALL.len());
    assert!(report.is_complete(), "{:?}", report.read_failures);
    // The demo configures registries: their signatures are checked.
    let registry = outcomes(&report, ControlId::RegistrySignature);
    assert!(
        matches!(
            registry[..],
            [Outcome::Passed { .. } | Outcome::Failed { .. }]
        ),
        "{registry:?}"
    );
    // The demo configures no naming convention.
    assert!(
        outcomes(&report, ControlId::NamingConvention)
            .iter()
            .all(|o| matches!(o, Outcome::NotConfigured { .. }))
    );
    for finding in &report.findings {
        assert!(!finding.evidence.is_empty() && !finding.remedy.action.is_empty());
    }
    let mut one = ComplianceRequest::default();
    one.regions = Some(vec!["us-east-1".parse().expect("a region")]);
    let report = session.compliance(&one).await.expect("a report");
    assert_eq!(report.scanned.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_compliance_section_sets_the_policy_and_a_wrong_key_is_located() {
    let demo = Demo::new();
    let config = demo.path("config/compliance.yaml");
    let base = std::fs::read_to_string(demo.path("config/demo.yaml")).expect("the demo config");
    std::fs::write(
        &config,
        format!(
            "{base}\ncompliance:\n  naming_convention: [\"cws-*\"]\n  maximum_age_days: 30\n  \
             read_launch_permissions: false\n"
        ),
    )
    .expect("written");
    let mut vars = demo.vars();
    vars.insert("AMIREF_CONFIG".into(), config.clone().into_os_string());
    let session = builder_with(&vars)
        .with_world_file(demo.path("worlds/demo.yaml"))
        .with_state_dir(demo.path("state"))
        .build()
        .await
        .expect("a session");
    let section = &session.config().config.compliance;
    let policy = section.policy();
    assert_eq!(policy.naming_patterns, ["cws-*"]);
    assert_eq!(policy.maximum_age_days, 30);
    assert!(!policy.read_launch_permissions);
    let report = session
        .compliance(&ComplianceRequest::default())
        .await
        .expect("a report");
    assert!(
        outcomes(&report, ControlId::NamingConvention)
            .iter()
            .all(|o| !matches!(o, Outcome::NotConfigured { .. }))
    );
    assert!(
        outcomes(&report, ControlId::SharedOutsideOrganization)
            .iter()
            .all(|o| matches!(o, Outcome::NotConfigured { .. }))
    );

    std::fs::write(&config, "compliance:\n  max_age: 30\n").expect("written");
    let err = SessionBuilder::from_vars(&|n| vars.get(n).cloned())
        .err()
        .expect("refused");
    assert_eq!(err.kind(), FailureKind::BadInput);
    let text = err.to_string();
    assert!(text.contains("compliance.yaml:2:"), "{text}");
    assert!(text.contains("max_age"), "{text}");
}
