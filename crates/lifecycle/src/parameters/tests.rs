//! Publishing and rolling back image parameters on the in-process cloud, paused clock.
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use amiref_core::{AccountId, Image, Parameters};
use amiref_memory::{ImageSeed, MemoryCloud, op};
use chrono::{TimeZone, Utc};

use super::*;
use crate::{AuditOutcome, MemoryAuditSink};

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
const V1_EAST: &str = "ami-0aaaaaaaaaaaaaaa1";
const V1_WEST: &str = "ami-0bbbbbbbbbbbbbbb1";
const V2_EAST: &str = "ami-0aaaaaaaaaaaaaaa2";
const V2_WEST: &str = "ami-0bbbbbbbbbbbbbbb2";

fn region(code: &str) -> Region {
    code.parse().unwrap()
}

fn ami(id: &str) -> AmiId {
    id.parse().unwrap()
}

fn name(text: &str) -> ParameterName {
    text.parse().unwrap()
}

fn seed(id: &str, region_code: &str) -> ImageSeed {
    let me: AccountId = "123456789012".parse().unwrap();
    let created = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    ImageSeed::new(Image::new(
        ami(id),
        region(region_code),
        format!("python-ml-{id}"),
        me,
        Architecture::X86_64,
        created,
    ))
}

fn world() -> MemoryCloud {
    MemoryCloud::builder()
        .caller("123456789012".parse().unwrap())
        .region(region(WEST))
        .images([
            seed(V1_EAST, EAST),
            seed(V1_WEST, WEST),
            seed(V2_EAST, EAST),
            seed(V2_WEST, WEST),
        ])
        .build()
        .unwrap()
}

fn images(east: &str, west: &str) -> BTreeMap<Region, AmiId> {
    BTreeMap::from([(region(EAST), ami(east)), (region(WEST), ami(west))])
}

fn spec(version: &str, east: &str, west: &str) -> PublishParametersSpec {
    PublishParametersSpec::new(
        "python-ml",
        version,
        Architecture::X86_64,
        images(east, west),
    )
}

async fn value(cloud: &MemoryCloud, region_code: &str, parameter: &str) -> Option<Parameter> {
    cloud
        .get_parameters(&region(region_code), &[name(parameter)])
        .await
        .unwrap()
        .remove(&name(parameter))
}

fn puts(cloud: &MemoryCloud) -> u64 {
    cloud.counters().operation(op::PUT_PARAMETER)
}

#[test]
fn names_follow_the_layout_and_refuse_what_ssm_would() {
    let names =
        ImageParameterNames::new("/amiref", "python-ml", "2.1.0", Architecture::Arm64).unwrap();
    assert_eq!(names.version.as_str(), "/amiref/python-ml/2.1.0/arm64");
    assert_eq!(names.latest.as_str(), "/amiref/python-ml/latest/arm64");

    let refused = |prefix: &str, template: &str, version: &str| {
        ImageParameterNames::new(prefix, template, version, Architecture::X86_64)
            .unwrap_err()
            .to_string()
    };
    let space = refused("/amiref", "Python ML", "2.1.0");
    assert!(
        space.contains("template name") && space.contains("\"Python ML\""),
        "{space}"
    );
    let plus = refused("/amiref", "python-ml", "2.1.0+arm64");
    assert!(
        plus.contains("template version") && plus.contains("'+'"),
        "{plus}"
    );
    let latest = refused("/amiref", "python-ml", "latest");
    assert!(latest.contains("other than `latest`"), "{latest}");
    for reserved in ["/aws/images", "/AWSome", "/ssm", "/Ssm-things"] {
        let e = refused(reserved, "python-ml", "2.1.0");
        assert!(
            e.contains("parameter prefix") && e.contains("aws"),
            "{reserved}: {e}"
        );
    }
    for bad in ["amiref", "/amiref/", "/ami ref", "/a//b", ""] {
        let e = refused(bad, "python-ml", "2.1.0");
        assert!(e.contains("parameter prefix"), "{bad}: {e}");
    }
    let deep = format!("/{}", ["x"; 13].join("/"));
    let too_deep = refused(&deep, "python-ml", "2.1.0");
    assert!(
        too_deep.contains("parameter name") && too_deep.contains("15 levels"),
        "{too_deep}"
    );
    assert!(
        ImageParameterNames::new(
            "/golden/images",
            "web_2",
            "v1.0.0-rc.1",
            Architecture::X86_64
        )
        .is_ok()
    );
}

#[tokio::test(start_paused = true)]
async fn publishing_writes_the_version_in_every_region_and_latest_only_on_promote() {
    let cloud = world();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);

    let report = lc
        .publish_parameters(&spec("1.0.0", V1_EAST, V1_WEST))
        .await
        .unwrap();
    assert!(!report.has_failures(), "{report:#?}");
    assert_eq!(report.regions.len(), 2);
    for r in &report.regions {
        assert_eq!(r.writes.len(), 1, "no latest without promote: {r:?}");
        assert_eq!(
            r.writes[0].outcome,
            ParameterOutcome::Written { version: 1 }
        );
    }
    let east = value(&cloud, EAST, "/amiref/python-ml/1.0.0/x86_64")
        .await
        .unwrap();
    assert_eq!(east.value, V1_EAST);
    assert_eq!(east.data_type.as_deref(), Some(EC2_IMAGE_DATA_TYPE));
    assert_eq!(
        value(&cloud, WEST, "/amiref/python-ml/1.0.0/x86_64")
            .await
            .unwrap()
            .value,
        V1_WEST
    );
    assert!(
        value(&cloud, EAST, "/amiref/python-ml/latest/x86_64")
            .await
            .is_none()
    );

    let promoted = lc
        .publish_parameters(&spec("1.0.0", V1_EAST, V1_WEST).promote(true))
        .await
        .unwrap();
    for r in &promoted.regions {
        assert_eq!(
            r.writes[0].outcome,
            ParameterOutcome::Unchanged { version: 1 }
        );
        assert_eq!(r.writes[1].name.as_str(), "/amiref/python-ml/latest/x86_64");
        assert_eq!(
            r.writes[1].outcome,
            ParameterOutcome::Written { version: 1 }
        );
    }
    let all = audit.records();
    // Each write is written ahead: an intent, then its outcome under the same operation id.
    let intents: Vec<_> = all
        .iter()
        .filter(|r| r.outcome == AuditOutcome::Intended)
        .collect();
    assert_eq!(intents.len(), 4, "one intent per parameter written");
    for intent in &intents {
        let concluded = all
            .iter()
            .filter(|r| r.operation_id == intent.operation_id)
            .map(|r| &r.outcome)
            .collect::<Vec<_>>();
        assert_eq!(
            concluded,
            [&AuditOutcome::Intended, &AuditOutcome::Succeeded]
        );
    }
    let records: Vec<_> = all
        .into_iter()
        .filter(|r| r.operation_id.is_none())
        .collect();
    assert_eq!(records.len(), 2 + 4, "one record per parameter per run");
    assert!(
        records
            .iter()
            .all(|r| r.operation == "put_parameter" && r.region.is_some())
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| r.outcome == AuditOutcome::Unchanged)
            .count(),
        2
    );
}

#[tokio::test(start_paused = true)]
async fn a_rerun_writes_nothing_and_a_new_version_moves_latest_with_its_history() {
    let cloud = world();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    lc.publish_parameters(&spec("1.0.0", V1_EAST, V1_WEST).promote(true))
        .await
        .unwrap();
    let before = puts(&cloud);

    let again = lc
        .publish_parameters(&spec("1.0.0", V1_EAST, V1_WEST).promote(true))
        .await
        .unwrap();
    assert_eq!(puts(&cloud), before, "no PutParameter on a re-run");
    assert!(
        again
            .writes()
            .all(|w| matches!(w.outcome, ParameterOutcome::Unchanged { version: 1 }))
    );

    let v2 = lc
        .publish_parameters(&spec("2.0.0", V2_EAST, V2_WEST).promote(true))
        .await
        .unwrap();
    let east = &v2.regions[0];
    assert_eq!(east.region, region(EAST));
    assert_eq!(
        east.writes[0].outcome,
        ParameterOutcome::Written { version: 1 }
    );
    assert_eq!(
        east.writes[1].outcome,
        ParameterOutcome::Written { version: 2 }
    );
    assert_eq!(east.writes[1].previous.as_deref(), Some(V1_EAST));
    let history = cloud
        .parameter_history(&region(EAST), &name("/amiref/python-ml/latest/x86_64"))
        .await
        .unwrap();
    let values: Vec<&str> = history.iter().map(|p| p.value.as_str()).collect();
    assert_eq!(values, [V1_EAST, V2_EAST]);
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_reads_but_writes_nothing_and_is_audited_as_planned() {
    let cloud = world();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let report = lc
        .publish_parameters(&spec("1.0.0", V1_EAST, V1_WEST).promote(true).dry_run(true))
        .await
        .unwrap();
    assert!(report.dry_run);
    assert!(
        report
            .writes()
            .all(|w| w.outcome == ParameterOutcome::Planned)
    );
    assert_eq!(puts(&cloud), 0);
    assert!(
        value(&cloud, EAST, "/amiref/python-ml/1.0.0/x86_64")
            .await
            .is_none()
    );
    let records = audit.records();
    assert_eq!(records.len(), 4);
    assert!(
        records
            .iter()
            .all(|r| r.dry_run && r.outcome == AuditOutcome::Planned)
    );
}

#[tokio::test(start_paused = true)]
async fn a_text_parameter_in_the_way_is_refused_with_what_to_do() {
    let cloud = world();
    let audit = MemoryAuditSink::new();
    let east = region(EAST);
    cloud.set_parameter(&east, name("/amiref/python-ml/1.0.0/x86_64"), V1_EAST, None);
    let report = Lifecycle::new(&cloud, &audit)
        .publish_parameters(&spec("1.0.0", V1_EAST, V1_WEST))
        .await
        .unwrap();
    let ParameterOutcome::Failed { error } = &report.regions[0].writes[0].outcome else {
        panic!("{report:#?}");
    };
    assert!(
        error.contains("text parameter") && error.contains("delete-parameter"),
        "{error}"
    );
    assert_eq!(
        puts(&cloud),
        1,
        "only the other region's parameter was written"
    );
    assert!(!report.regions[1].writes[0].failed());
}

#[tokio::test(start_paused = true)]
async fn a_region_that_fails_is_reported_and_the_others_complete() {
    let cloud = world();
    let audit = MemoryAuditSink::new();
    cloud.set_region_down(&region(WEST), true);
    let report = Lifecycle::new(&cloud, &audit)
        .publish_parameters(&spec("1.0.0", V1_EAST, V1_WEST).promote(true))
        .await
        .unwrap();
    assert!(report.has_failures());
    let (east, west) = (&report.regions[0], &report.regions[1]);
    assert!(east.writes.iter().all(|w| !w.failed()), "{east:?}");
    assert!(west.writes.iter().all(ParameterWrite::failed), "{west:?}");
    let ParameterOutcome::Failed { error } = &west.writes[0].outcome else {
        unreachable!()
    };
    assert!(error.contains(WEST), "{error}");
    let failed = audit
        .records()
        .into_iter()
        .filter(|r| matches!(r.outcome, AuditOutcome::Failed { .. }))
        .count();
    assert_eq!(failed, 2, "each failed write is audited");

    cloud.set_region_down(&region(WEST), false);
    let resumed = Lifecycle::new(&cloud, &audit)
        .publish_parameters(&spec("1.0.0", V1_EAST, V1_WEST).promote(true))
        .await
        .unwrap();
    assert!(!resumed.has_failures());
    assert!(
        resumed.regions[0]
            .writes
            .iter()
            .all(|w| matches!(w.outcome, ParameterOutcome::Unchanged { .. }))
    );
    assert!(
        resumed.regions[1]
            .writes
            .iter()
            .all(|w| matches!(w.outcome, ParameterOutcome::Written { .. }))
    );
}

#[tokio::test(start_paused = true)]
async fn rollback_returns_latest_to_its_previous_image_or_a_named_version() {
    let cloud = world();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let both = vec![region(EAST), region(WEST)];
    let latest = "/amiref/python-ml/latest/x86_64";

    // Before anything was promoted there is nothing to roll back to.
    let nothing = lc
        .rollback_latest(&RollbackSpec::new(
            "python-ml",
            Architecture::X86_64,
            both.clone(),
            RollbackTarget::Previous,
        ))
        .await
        .unwrap();
    assert!(nothing.has_failures());
    assert!(
        nothing.regions[0]
            .error
            .as_deref()
            .unwrap()
            .contains("nothing was promoted")
    );

    lc.publish_parameters(&spec("1.0.0", V1_EAST, V1_WEST).promote(true))
        .await
        .unwrap();
    let only_one = lc
        .rollback_latest(&RollbackSpec::new(
            "python-ml",
            Architecture::X86_64,
            both.clone(),
            RollbackTarget::Previous,
        ))
        .await
        .unwrap();
    assert!(
        only_one.regions[0]
            .error
            .as_deref()
            .unwrap()
            .contains("no earlier image")
    );

    lc.publish_parameters(&spec("2.0.0", V2_EAST, V2_WEST).promote(true))
        .await
        .unwrap();
    let planned = lc
        .rollback_latest(
            &RollbackSpec::new(
                "python-ml",
                Architecture::X86_64,
                both.clone(),
                RollbackTarget::Previous,
            )
            .dry_run(true),
        )
        .await
        .unwrap();
    assert!(
        planned
            .writes()
            .all(|w| w.outcome == ParameterOutcome::Planned)
    );
    assert_eq!(value(&cloud, EAST, latest).await.unwrap().value, V2_EAST);

    let back = lc
        .rollback_latest(&RollbackSpec::new(
            "python-ml",
            Architecture::X86_64,
            both.clone(),
            RollbackTarget::Previous,
        ))
        .await
        .unwrap();
    assert!(!back.has_failures(), "{back:#?}");
    assert_eq!(value(&cloud, EAST, latest).await.unwrap().value, V1_EAST);
    assert_eq!(value(&cloud, WEST, latest).await.unwrap().value, V1_WEST);

    let to_v2 = RollbackSpec::new(
        "python-ml",
        Architecture::X86_64,
        both.clone(),
        RollbackTarget::Version {
            version: "2.0.0".into(),
        },
    );
    lc.rollback_latest(&to_v2).await.unwrap();
    assert_eq!(value(&cloud, WEST, latest).await.unwrap().value, V2_WEST);
    let before = puts(&cloud);
    let again = lc.rollback_latest(&to_v2).await.unwrap();
    assert_eq!(
        puts(&cloud),
        before,
        "rolling back to a version is idempotent"
    );
    assert!(
        again
            .writes()
            .all(|w| matches!(w.outcome, ParameterOutcome::Unchanged { .. }))
    );

    let never = lc
        .rollback_latest(&RollbackSpec::new(
            "python-ml",
            Architecture::X86_64,
            both,
            RollbackTarget::Version {
                version: "9.9.9".into(),
            },
        ))
        .await
        .unwrap();
    assert!(
        never.regions[1]
            .error
            .as_deref()
            .unwrap()
            .contains("never published")
    );
}

#[tokio::test(start_paused = true)]
async fn unpublishing_deletes_a_version_but_not_the_one_latest_holds() {
    let cloud = world();
    let audit = MemoryAuditSink::new();
    let lc = Lifecycle::new(&cloud, &audit);
    let both = vec![region(EAST), region(WEST)];
    lc.publish_parameters(&spec("1.0.0", V1_EAST, V1_WEST))
        .await
        .unwrap();
    lc.publish_parameters(&spec("2.0.0", V2_EAST, V2_WEST).promote(true))
        .await
        .unwrap();

    let held = lc
        .unpublish_parameters(&UnpublishSpec::new(
            "python-ml",
            "2.0.0",
            Architecture::X86_64,
            both.clone(),
        ))
        .await
        .unwrap();
    assert!(held.has_failures());
    assert!(
        held.regions
            .iter()
            .all(|r| matches!(r.outcome, UnpublishOutcome::Refused { .. }))
    );

    let v1 = UnpublishSpec::new("python-ml", "1.0.0", Architecture::X86_64, both);
    let planned = lc
        .unpublish_parameters(&v1.clone().dry_run(true))
        .await
        .unwrap();
    assert_eq!(planned.regions[0].image(), Some(ami(V1_EAST)));
    assert!(
        value(&cloud, EAST, "/amiref/python-ml/1.0.0/x86_64")
            .await
            .is_some()
    );
    assert_eq!(cloud.counters().operation(op::DELETE_PARAMETER), 0);

    let deleted = lc.unpublish_parameters(&v1).await.unwrap();
    assert!(!deleted.has_failures(), "{deleted:#?}");
    assert_eq!(deleted.regions[1].image(), Some(ami(V1_WEST)));
    assert!(
        value(&cloud, WEST, "/amiref/python-ml/1.0.0/x86_64")
            .await
            .is_none()
    );

    let again = lc.unpublish_parameters(&v1).await.unwrap();
    assert!(
        again
            .regions
            .iter()
            .all(|r| r.outcome == UnpublishOutcome::Absent)
    );
    assert_eq!(cloud.counters().operation(op::DELETE_PARAMETER), 2);
    let refusals = audit
        .records()
        .into_iter()
        .filter(|r| r.operation == "delete_parameter")
        .filter(|r| matches!(r.outcome, AuditOutcome::Refused { .. }))
        .count();
    assert_eq!(refusals, 2);
}
