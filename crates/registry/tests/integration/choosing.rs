//! Layers and precedence, sharing policies, scoring, and the local ratings overlay.
#![allow(clippy::unwrap_used)]

use crate::common;

use amiref_core::{AccountId, Architecture, CallerIdentity, ImageRegistry};
use amiref_registry::{
    EntryPolicy, Layer, LocalRating, ParsedRegistry, RateError, RatingsOverlay, Registry,
    RegistrySource, SELF_RATER, Scoring, SharingPolicy,
};
use chrono::Duration;
use common::*;

fn images(reg: &Registry, template: &str, region_code: &str) -> Vec<String> {
    reg.candidates(template, &region(region_code), &[])
        .iter()
        .map(|c| c.image.to_string())
        .collect()
}

#[test]
fn institutional_entries_rank_above_community_ones_and_shadow_the_same_version() {
    let community_key = key(1);
    let university_key = key(2);
    let community = signed(
        document(vec![
            (
                "python-ml",
                "2.1.0",
                entry("us-east-1", "ami-11111111", Some((4.9, 500)), Some(now())),
            ),
            (
                "python-ml",
                "2.2.0",
                entry("us-east-1", "ami-22222222", Some((4.9, 500)), Some(now())),
            ),
        ]),
        "community.yml",
        &community_key,
    );
    let institutional = signed(
        document(vec![
            (
                "python-ml",
                "v2.1.0",
                entry("us-east-1", "ami-33333333", Some((3.0, 5)), None),
            ),
            (
                "python-ml",
                "2.0.0",
                entry("us-east-1", "ami-44444444", None, None),
            ),
        ]),
        "university.yml",
        &university_key,
    );
    let reg = build(
        vec![
            (Layer::Community, community),
            (Layer::Institutional, institutional),
        ],
        trust(&[&community_key, &university_key]),
        EntryPolicy::new(),
    );
    // Institutional first, whatever the scores (3.0 from 5 reviews ranks below the unrated
    // 2.0.0's prior of 3.5); community 2.1.0 is shadowed by the institutional v2.1.0.
    assert_eq!(
        images(&reg, "python-ml", "us-east-1"),
        ["ami-44444444", "ami-33333333", "ami-22222222"]
    );
    assert_eq!(reg.report().shadowed.len(), 1);
    assert!(reg.report().shadowed[0].contains("community.yml"));
}

#[tokio::test]
async fn a_version_twice_in_one_layer_is_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let k = key(1);
    let a = signed(
        document(vec![(
            "r-research",
            "1.5.0",
            entry("us-east-1", "ami-11111111", None, None),
        )]),
        "a.yml",
        &k,
    );
    let b = signed(
        document(vec![
            (
                "r-research",
                "v1.5.0",
                entry("us-east-1", "ami-22222222", None, None),
            ),
            (
                "r-research",
                "1.4.0",
                entry("us-east-1", "ami-33333333", None, None),
            ),
        ]),
        "b.yml",
        &k,
    );
    a.save_file(&dir.path().join("a.yml")).unwrap();
    b.save_file(&dir.path().join("b.yaml")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a registry").unwrap();
    let reg = Registry::builder()
        .community(RegistrySource::directory(dir.path()))
        .trust_store(trust(&[&k]))
        .now(now())
        .build()
        .await
        .unwrap();
    assert_eq!(images(&reg, "r-research", "us-east-1"), ["ami-33333333"]);
    assert_eq!(reg.report().refused.len(), 2, "{:?}", reg.report());
    assert!(reg.report().refused[0].reason.contains("more than once"));
}

#[test]
fn sharing_policies_are_checked_against_the_caller() {
    let k = key(1);
    let org = "arn:aws:organizations::210987654321:organization/o-a1b2c3d4e5";
    let ou = "arn:aws:organizations::210987654321:ou/o-a1b2c3d4e5/ou-ab12-research";
    let mut by_account = entry("us-east-1", "ami-11111111", None, None);
    let mut p = SharingPolicy::default();
    p.accounts.push(AccountId::new("123456789012").unwrap());
    by_account.sharing = Some(p);
    let mut by_org = entry("us-east-1", "ami-22222222", None, None);
    let mut p = SharingPolicy::default();
    p.organizations.push(org.into());
    by_org.sharing = Some(p);
    let mut by_ou = entry("us-east-1", "ami-33333333", None, None);
    let mut p = SharingPolicy::default();
    p.organizational_units.push(ou.into());
    by_ou.sharing = Some(p);
    let open = entry("us-east-1", "ami-44444444", None, None);
    let doc = || {
        document(vec![
            ("t", "1.0.0", by_account.clone()),
            ("t", "1.1.0", by_org.clone()),
            ("t", "1.2.0", by_ou.clone()),
            ("t", "1.3.0", open.clone()),
        ])
    };
    let visible = |caller: Option<CallerIdentity>| {
        let mut b = Registry::builder()
            .trust_store(trust(&[&k]))
            .now(now())
            .document(Layer::Institutional, signed(doc(), "u.yml", &k));
        if let Some(c) = caller {
            b = b.caller(c);
        }
        let reg = b.build_from_documents();
        let mut v = images(&reg, "t", "us-east-1");
        v.sort();
        v
    };
    let mut lab = CallerIdentity::new(
        AccountId::new("123456789012").unwrap(),
        "arn:aws:iam::123456789012:user/alice",
    );
    assert_eq!(visible(Some(lab.clone())), ["ami-11111111", "ami-44444444"]);
    lab.organization = Some(org.into());
    lab.organizational_units.push(ou.into());
    assert_eq!(
        visible(Some(lab)),
        [
            "ami-11111111",
            "ami-22222222",
            "ami-33333333",
            "ami-44444444"
        ]
    );
    let stranger = CallerIdentity::new(
        AccountId::new("999988887777").unwrap(),
        "arn:aws:iam::999988887777:root",
    );
    assert_eq!(visible(Some(stranger)), ["ami-44444444"]);
    assert_eq!(
        visible(None),
        ["ami-44444444"],
        "an unknown caller sees only open entries"
    );

    // A document-wide policy applies to entries without their own.
    let mut d = document(vec![("t", "1.3.0", open.clone())]);
    let mut p = SharingPolicy::default();
    p.organizations.push(org.into());
    d.sharing = Some(p);
    let reg = build(
        vec![(Layer::Institutional, signed(d, "u.yml", &k))],
        trust(&[&k]),
        EntryPolicy::new(),
    );
    assert!(images(&reg, "t", "us-east-1").is_empty());
    assert_eq!(reg.report().not_shared, 1);
}

#[test]
fn five_stars_from_one_review_does_not_beat_four_point_eight_from_two_hundred() {
    let k = key(1);
    let reg = build(
        vec![(
            Layer::Community,
            signed(
                document(vec![
                    (
                        "t",
                        "1.0.0",
                        entry("us-east-1", "ami-11111111", Some((5.0, 1)), Some(now())),
                    ),
                    (
                        "t",
                        "1.1.0",
                        entry("us-east-1", "ami-22222222", Some((4.8, 200)), Some(now())),
                    ),
                ]),
                "c.yml",
                &k,
            ),
        )],
        trust(&[&k]),
        EntryPolicy::new(),
    );
    let c = reg.candidates("t", &region("us-east-1"), &[]);
    assert_eq!(c[0].image.as_str(), "ami-22222222");
    assert!(c[0].entry.score.rating.bayesian > 4.6);
    assert!(c[1].entry.score.rating.bayesian < 3.7);
    let explanation = c[0].to_registry_candidate().explanation;
    assert!(
        explanation.contains("4.8 from 200 reviews"),
        "{explanation}"
    );
}

#[test]
fn missing_ratings_score_as_the_prior_without_panicking() {
    let s = Scoring::default();
    assert_eq!(s.bayesian_rating(None), 3.5);
    let e = entry("us-east-1", "ami-11111111", None, None);
    let score = s.score(&e, &[], now());
    assert!(score.total.is_finite() && score.total > 0.0);
    assert!(
        score.explanation.contains("no reviews"),
        "{}",
        score.explanation
    );
    assert!(
        score.explanation.contains("no date"),
        "{}",
        score.explanation
    );
    // Degenerate weights do not divide by zero.
    let mut zero = Scoring::default();
    zero.prior_reviews = 0.0;
    zero.half_life_days = 0.0;
    assert!(zero.score(&e, &[], now()).total.is_finite());
}

#[test]
fn recency_and_verification_break_equal_ratings_and_version_breaks_equal_scores() {
    let s = Scoring::default();
    let fresh = entry(
        "us-east-1",
        "ami-11111111",
        Some((4.5, 50)),
        Some(now() - Duration::days(10)),
    );
    let old = entry(
        "us-east-1",
        "ami-22222222",
        Some((4.5, 50)),
        Some(now() - Duration::days(400)),
    );
    assert!(s.score(&fresh, &[], now()).total > s.score(&old, &[], now()).total);
    let half = s.score(&old, &[], now() - Duration::days(400) + Duration::days(180));
    assert!((half.recency.value - 0.5).abs() < 1e-9);

    let mut verified = fresh.clone();
    verified.verification = Some(amiref_registry::Verification::new(
        true,
        amiref_registry::ScanStatus::Passed,
    ));
    assert!(s.score(&verified, &[], now()).total > s.score(&fresh, &[], now()).total);

    let k = key(1);
    let reg = build(
        vec![(
            Layer::Community,
            signed(
                document(vec![
                    ("t", "1.9.0", entry("us-east-1", "ami-11111111", None, None)),
                    (
                        "t",
                        "1.10.0",
                        entry("us-east-1", "ami-22222222", None, None),
                    ),
                ]),
                "c.yml",
                &k,
            ),
        )],
        trust(&[&k]),
        EntryPolicy::new(),
    );
    assert_eq!(
        images(&reg, "t", "us-east-1"),
        ["ami-22222222", "ami-11111111"],
        "semver order, not text order"
    );
}

#[tokio::test]
async fn lookups_filter_by_architecture_and_never_offer_another_regions_image() {
    let k = key(1);
    let mut arm = entry("us-east-1", "ami-22222222", None, None);
    arm.architecture = Architecture::Arm64;
    let reg = build(
        vec![(
            Layer::Community,
            signed(
                document(vec![
                    ("t", "1.0.0", entry("us-east-1", "ami-11111111", None, None)),
                    ("t", "1.0.0+arm64", arm),
                ]),
                "c.yml",
                &k,
            ),
        )],
        trust(&[&k]),
        EntryPolicy::new(),
    );
    let arm_only =
        ImageRegistry::candidates(&reg, "t", &region("us-east-1"), &[Architecture::Arm64])
            .await
            .unwrap();
    assert_eq!(arm_only.len(), 1);
    assert_eq!(arm_only[0].image.as_str(), "ami-22222222");
    assert_eq!(arm_only[0].signed_by.as_deref(), Some(k.key_id().as_str()));
    assert!(
        ImageRegistry::candidates(&reg, "t", &region("eu-west-1"), &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        ImageRegistry::candidates(&reg, "nope", &region("us-east-1"), &[])
            .await
            .unwrap()
            .is_empty()
    );
}

fn two_versions(k: &amiref_registry::PublisherKey) -> ParsedRegistry {
    signed(
        document(vec![
            (
                "t",
                "1.0.0",
                entry("us-east-1", "ami-11111111", Some((4.6, 20)), Some(now())),
            ),
            (
                "t",
                "v1.1.0",
                entry("us-east-1", "ami-22222222", Some((4.4, 20)), Some(now())),
            ),
        ]),
        "c.yml",
        k,
    )
}

fn with_overlay(k: &amiref_registry::PublisherKey, overlay: RatingsOverlay) -> Registry {
    Registry::builder()
        .trust_store(trust(&[k]))
        .now(now())
        .overlay(overlay)
        .document(Layer::Community, two_versions(k))
        .build_from_documents()
}

#[test]
fn local_ratings_layer_above_the_sources_one_per_rater() {
    let k = key(1);
    let reg = with_overlay(&k, RatingsOverlay::new());
    assert_eq!(
        images(&reg, "t", "us-east-1"),
        ["ami-11111111", "ami-22222222"]
    );

    // One rater's ten ratings of a version are one opinion: each replaces the last.
    let mut overlay = RatingsOverlay::new();
    for stars in [5, 1, 1, 1, 1, 1, 1, 1, 1, 1] {
        overlay
            .rate(
                &reg,
                "t",
                "v1.0.0",
                LocalRating::new(SELF_RATER, stars, now()),
            )
            .unwrap();
    }
    let one = with_overlay(&k, overlay.clone());
    assert_eq!(
        images(&one, "t", "us-east-1"),
        ["ami-11111111", "ami-22222222"]
    );
    let score = &one
        .best("t", &region("us-east-1"), &[])
        .unwrap()
        .entry
        .score;
    assert_eq!((score.rating.local_reviews, score.rating.reviews), (1, 21));
    assert_eq!(score.rating.local_average, Some(1.0));
    assert_eq!(score.rating.published_average, Some(4.6));
    assert!(
        score.explanation.contains("21 reviews, 1 of them local"),
        "{}",
        score.explanation
    );

    // Ten raters do move the ranking.
    for i in 0..10 {
        let rated = overlay
            .rate(
                &reg,
                "t",
                "1.0.0",
                LocalRating::new(format!("rater-{i}"), 1, now()),
            )
            .unwrap();
        assert_eq!(rated.version, "1.0.0");
        assert!(rated.replaced.is_none());
    }
    let again = overlay
        .rate(
            &reg,
            "t",
            "1.0.0",
            LocalRating::new("rater-3", 2, now()).with_review("better"),
        )
        .unwrap();
    assert_eq!(again.replaced.map(|r| r.stars), Some(1));
    assert_eq!(overlay.local("t", &"1.0.0".parse().unwrap()).len(), 11);
    let many = with_overlay(&k, overlay.clone());
    assert_eq!(
        images(&many, "t", "us-east-1"),
        ["ami-22222222", "ami-11111111"]
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ratings.yml");
    overlay.save_file(&path).unwrap();
    assert_eq!(RatingsOverlay::load_file(&path).unwrap(), overlay);
    assert_eq!(
        RatingsOverlay::load_file(&dir.path().join("absent.yml")).unwrap(),
        RatingsOverlay::new()
    );
}

#[test]
fn ratings_of_what_no_registry_offers_are_refused_with_a_suggestion() {
    let k = key(1);
    let reg = with_overlay(&k, RatingsOverlay::new());
    let mut overlay = RatingsOverlay::new();
    let rating = |stars| LocalRating::new(SELF_RATER, stars, now());
    let err = overlay.rate(&reg, "tt", "1.0.0", rating(4)).unwrap_err();
    assert!(
        matches!(&err, RateError::UnknownTemplate { suggestion: Some(s), .. } if s == "t"),
        "{err}"
    );
    let err = overlay.rate(&reg, "t", "1.1.1", rating(4)).unwrap_err();
    match &err {
        RateError::UnknownVersion {
            known, suggestion, ..
        } => {
            assert_eq!(known, &["v1.1.0", "1.0.0"]);
            assert_eq!(suggestion.as_deref(), Some("v1.1.0"));
        }
        other => panic!("{other}"),
    }
    assert!(
        err.to_string().contains("did you mean \"v1.1.0\"?"),
        "{err}"
    );
    assert!(matches!(
        overlay.rate(&reg, "t", "1.0.0", rating(6)),
        Err(RateError::Stars { stars: 6 })
    ));
    assert!(matches!(
        overlay.rate(&reg, "t", "latest", rating(5)),
        Err(RateError::InvalidVersion { .. })
    ));
    assert!(matches!(
        overlay.rate(&reg, "t", "1.0.0", LocalRating::new(" ", 5, now())),
        Err(RateError::EmptyRater)
    ));
    assert_eq!(
        overlay,
        RatingsOverlay::new(),
        "nothing refused was recorded"
    );

    // A version the overlay file rates but no source offers is reported, not used.
    let stray = RatingsOverlay::from_yaml_str(
        "schema_version: 1\nratings:\n  t:\n    9.9.9:\n      - stars: 1\n        rated_at: 2026-11-01T00:00:00Z\n",
        "ratings.yml",
    )
    .unwrap();
    let reg = with_overlay(&k, stray);
    assert!(
        reg.report().warnings.iter().any(|w| w.contains("t 9.9.9")),
        "{:?}",
        reg.report().warnings
    );
}

#[test]
fn an_overlay_file_rating_a_version_twice_by_one_rater_is_refused_located() {
    let text = "schema_version: 1
ratings:
  t:
    1.0.0:
      - stars: 4
        rated_at: 2026-11-01T00:00:00Z
      - rater: alice
        stars: 2
        rated_at: 2026-11-01T00:00:00Z
    v1.0.0:
      - stars: 9
        rated_at: 2026-11-02T00:00:00Z
";
    let err = RatingsOverlay::from_yaml_str(text, "ratings.yml").unwrap_err();
    let problems = err.problems();
    assert_eq!(problems.len(), 3, "{err}");
    // v1.0.0 is 1.0.0 spelled again; its rating is out of range and is self's second.
    assert!(
        problems
            .iter()
            .any(|p| p.found.contains("the same version as")),
        "{err}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.path.ends_with("[0].stars") && p.line == Some(11)),
        "{err}"
    );
    let second = problems
        .iter()
        .find(|p| p.found.contains("a second rating"))
        .unwrap();
    assert_eq!(second.line, Some(11), "{err}");
    assert!(second.expected.contains("one rating per rater and version"));
}

#[test]
fn parsed_documents_reject_nothing_good() {
    // A registry with no entries is valid and empty.
    let parsed = ParsedRegistry::from_yaml_str("schema_version: 1\n", "empty.yml").unwrap();
    assert_eq!(parsed.document.entry_count(), 0);
}

#[test]
fn the_explanation_states_every_part_of_the_score() {
    let k = key(1);
    let mut e = entry(
        "us-east-1",
        "ami-11111111",
        Some((4.8, 23)),
        Some(now() - Duration::hours(402)),
    );
    e.verification = Some(amiref_registry::Verification::new(
        true,
        amiref_registry::ScanStatus::Passed,
    ));
    let reg = build(
        vec![(
            Layer::Community,
            signed(document(vec![("python-ml", "v2.1.0", e)]), "c.yml", &k),
        )],
        trust(&[&k]),
        EntryPolicy::new(),
    );
    let c = reg
        .best("python-ml", &region("us-east-1"), &[])
        .unwrap()
        .to_registry_candidate();
    assert!((c.score - 0.913).abs() < 0.001, "{}", c.explanation);
    assert!(
        c.explanation.ends_with(
            "score 0.913 = 0.60×rating 4.41 (4.8 from 23 reviews, prior 3.5 worth 10)/5 + 0.25×recency 0.94 (17 days old, half-life 180 days) + 0.15×verification 1.0 (tested, scan passed)"
        ),
        "{}",
        c.explanation
    );
    assert!(
        c.explanation
            .starts_with("community layer; signed by publisher-1 (ed25519:"),
        "{}",
        c.explanation
    );
}
