//! Signatures and trust: tampering with any field is caught; unsigned, unknown, revoked and
//! rotated keys; verification policies.
#![allow(clippy::unwrap_used)]

use crate::common;

use amiref_core::{AccountId, Architecture};
use amiref_registry::{
    EntryPolicy, KeyStatus, Layer, ParsedRegistry, Provenance, Registry, ScanStatus,
    SignatureCheck, TrustStore,
};
use chrono::TimeZone;
use common::*;

type Mutation = (&'static str, fn(&mut amiref_registry::Entry));

#[test]
fn tampering_with_any_field_is_caught() {
    let k = key(1);
    let store = trust(&[&k]);
    let mut signed_entry = full_entry();
    k.sign_entry("python-ml", "v2.1.0", &mut signed_entry)
        .unwrap();
    assert!(matches!(
        store.verify("python-ml", "v2.1.0", &signed_entry),
        SignatureCheck::Valid { .. }
    ));

    let mutations: Vec<Mutation> = vec![
        ("creator", |e| e.creator.push('x')),
        ("description", |e| e.description = "Optimised".into()),
        ("regions: image", |e| {
            *e.regions.get_mut(&region("us-east-1")).unwrap() = ami("ami-0bad0bad0bad0bad0")
        }),
        ("regions: added", |e| {
            e.regions
                .insert(region("eu-west-1"), ami("ami-0bad0bad0bad0bad2"));
        }),
        ("regions: removed", |e| {
            e.regions.remove(&region("us-west-2"));
        }),
        ("architecture", |e| e.architecture = Architecture::Arm64),
        ("owner", |e| {
            e.owner = Some(AccountId::new("999988887777").unwrap())
        }),
        ("owner removed", |e| e.owner = None),
        ("verification.tested", |e| {
            e.verification.as_mut().unwrap().tested = false
        }),
        ("verification.security_scan", |e| {
            e.verification.as_mut().unwrap().security_scan = ScanStatus::Pending
        }),
        ("verification.performance_benchmark", |e| {
            e.verification.as_mut().unwrap().performance_benchmark = Some("10x".into())
        }),
        ("verification.script_ready_secs", |e| {
            e.verification.as_mut().unwrap().script_ready_secs = Some(631.0)
        }),
        ("verification.image_ready_secs", |e| {
            e.verification.as_mut().unwrap().image_ready_secs = Some(151.0)
        }),
        ("verification.speedup", |e| {
            e.verification.as_mut().unwrap().speedup = Some(4.3)
        }),
        ("verification.tested_at", |e| {
            e.verification.as_mut().unwrap().tested_at = None
        }),
        ("verification removed", |e| e.verification = None),
        ("ratings.average", |e| {
            e.ratings.as_mut().unwrap().average = 4.9
        }),
        ("ratings.reviews", |e| {
            e.ratings.as_mut().unwrap().reviews = 2300
        }),
        ("ratings.downloads", |e| {
            e.ratings.as_mut().unwrap().downloads = 1
        }),
        ("created_at", |e| {
            e.created_at = Some(chrono::Utc.with_ymd_and_hms(2026, 10, 31, 0, 0, 0).unwrap())
        }),
        ("sharing.accounts", |e| {
            e.sharing
                .as_mut()
                .unwrap()
                .accounts
                .push(AccountId::new("999988887777").unwrap())
        }),
        ("sharing.organizations", |e| {
            e.sharing.as_mut().unwrap().organizations.clear()
        }),
        ("sharing.organizational_units", |e| {
            e.sharing.as_mut().unwrap().organizational_units.clear()
        }),
        ("sharing removed", |e| e.sharing = None),
    ];
    for (name, mutate) in mutations {
        let mut tampered = signed_entry.clone();
        mutate(&mut tampered);
        assert_ne!(
            tampered, signed_entry,
            "{name}: the mutation changed nothing"
        );
        let check = store.verify("python-ml", "v2.1.0", &tampered);
        assert!(
            matches!(check, SignatureCheck::Invalid(_)),
            "{name}: {check}"
        );
    }
    // The signature cannot be moved to another template or version.
    for (template, version) in [
        ("r-research", "v2.1.0"),
        ("python-ml", "v2.1.1"),
        ("python-ml", "2.1.0"),
    ] {
        let check = store.verify(template, version, &signed_entry);
        assert!(
            matches!(check, SignatureCheck::Invalid(_)),
            "{template} {version}: {check}"
        );
    }
}

#[test]
fn tampering_in_the_yaml_text_is_refused_on_load() {
    let k = key(1);
    let mut e = full_entry();
    e.sharing = None; // shared with everyone, so no caller is needed
    let parsed = signed(document(vec![("python-ml", "v2.1.0", e)]), "c.yml", &k);
    let text = parsed.to_yaml_string().unwrap();
    // The untouched text round-trips and verifies.
    let reg = build(
        vec![(
            Layer::Community,
            ParsedRegistry::from_yaml_str(&text, "c.yml").unwrap(),
        )],
        trust(&[&k]),
        EntryPolicy::new(),
    );
    assert_eq!(reg.entries().len(), 1, "{:?}", reg.report());
    for (from, to) in [
        ("4.8", "4.9"),
        ("ami-0123456789abcdef0", "ami-0bad0bad0bad0bad0"),
        ("\"111122223333\"", "\"999988887777\""),
        ("passed", "pending"),
    ] {
        assert!(text.contains(from), "{from} not in\n{text}");
        let tampered = text.replacen(from, to, 1);
        let reg = build(
            vec![(
                Layer::Community,
                ParsedRegistry::from_yaml_str(&tampered, "c.yml").unwrap(),
            )],
            trust(&[&k]),
            EntryPolicy::new(),
        );
        assert!(reg.entries().is_empty(), "{from} -> {to} was accepted");
        let refusal = &reg.report().refused[0];
        assert!(refusal.reason.contains("does not match"), "{refusal}");
    }
}

#[test]
fn formatting_comments_and_key_order_do_not_affect_signatures() {
    let k = key(1);
    let mut e = entry("us-east-1", "ami-12345678", Some((4.5, 10)), None);
    e.regions.insert(region("us-west-2"), ami("ami-12345679"));
    let parsed = signed(document(vec![("t", "v1.0.0", e)]), "c.yml", &k);
    let sig = &parsed.document.community_amis["t"]["v1.0.0"]
        .signature
        .as_ref()
        .unwrap();
    let text = format!(
        "# a comment\nschema_version: 1\ncommunity_amis:\n  t:\n    \"v1.0.0\":   # quoted key\n      signature: {{ key_id: \"{}\", ed25519: \"{}\" }}\n      ratings: {{reviews: 10, average: 4.50}}\n      regions: {{ us-west-2: ami-12345679, us-east-1: 'ami-12345678' }}\n      architecture: x86_64\n      creator: someone\n",
        sig.key_id, sig.ed25519
    );
    let reg = build(
        vec![(
            Layer::Community,
            ParsedRegistry::from_yaml_str(&text, "c.yml").unwrap(),
        )],
        trust(&[&k]),
        EntryPolicy::new(),
    );
    assert_eq!(reg.entries().len(), 1, "{:?}\n{text}", reg.report());
}

#[test]
fn unsigned_entries_are_refused_unless_the_policy_allows_them_and_then_marked() {
    let doc = document(vec![(
        "python-ml",
        "1.0.0",
        entry("us-east-1", "ami-12345678", None, None),
    )]);
    let strict = build(
        vec![(
            Layer::Community,
            ParsedRegistry::from_document(doc.clone(), "c.yml"),
        )],
        TrustStore::new(),
        EntryPolicy::new(),
    );
    assert!(strict.entries().is_empty());
    assert!(strict.report().refused[0].reason.contains("unsigned"));

    let lenient = build(
        vec![(
            Layer::Community,
            ParsedRegistry::from_document(doc, "c.yml"),
        )],
        TrustStore::new(),
        EntryPolicy::new().allow_unsigned(true),
    );
    let best = lenient
        .best("python-ml", &region("us-east-1"), &[])
        .unwrap();
    assert_eq!(best.entry.provenance, Provenance::Unsigned);
    let c = best.to_registry_candidate();
    assert_eq!(c.signed_by, None);
    assert!(c.explanation.contains("UNSIGNED"), "{}", c.explanation);
}

#[test]
fn unknown_and_revoked_keys_are_refused_and_retired_keys_warn() {
    let old = key(1);
    let new = key(2);
    let doc = || {
        document(vec![(
            "python-ml",
            "1.0.0",
            entry("us-east-1", "ami-12345678", None, None),
        )])
    };

    let unknown = build(
        vec![(Layer::Community, signed(doc(), "c.yml", &old))],
        trust(&[&new]),
        EntryPolicy::new(),
    );
    assert!(unknown.entries().is_empty());
    assert!(
        unknown.report().refused[0]
            .reason
            .contains("not in the trust store")
    );

    let revoked_store = TrustStore::new().with_key("p", old.verifying_key(), KeyStatus::Revoked);
    let revoked = build(
        vec![(Layer::Community, signed(doc(), "c.yml", &old))],
        revoked_store,
        EntryPolicy::new(),
    );
    assert!(revoked.entries().is_empty());
    assert!(revoked.report().refused[0].reason.contains("revoked"));

    // Rotation: the old key is retired, the new one active; both verify.
    let rotated = TrustStore::new()
        .with_key("p", old.verifying_key(), KeyStatus::Retired)
        .with_key("p", new.verifying_key(), KeyStatus::Active);
    let mut old_doc = document(vec![(
        "python-ml",
        "1.0.0",
        entry("us-east-1", "ami-12345678", None, None),
    )]);
    old_doc.community_amis.get_mut("python-ml").unwrap().insert(
        "1.1.0".into(),
        entry("us-east-1", "ami-12345679", None, None),
    );
    let mut parsed = ParsedRegistry::from_document(old_doc, "c.yml");
    parsed.sign("python-ml", "1.0.0", &old).unwrap();
    parsed.sign("python-ml", "1.1.0", &new).unwrap();
    let reg = build(
        vec![(Layer::Community, parsed)],
        rotated,
        EntryPolicy::new(),
    );
    assert_eq!(reg.entries().len(), 2, "{:?}", reg.report());
    assert_eq!(reg.report().warnings.len(), 1);
    assert!(reg.report().warnings[0].contains("retired"));
    assert_ne!(old.key_id(), new.key_id());
}

#[test]
fn policies_can_require_tested_and_a_passed_scan_and_failed_scans_never_pass() {
    let k = key(1);
    let mut untested = entry("us-east-1", "ami-12345678", None, None);
    untested.verification = None;
    let mut pending = entry("us-east-1", "ami-12345679", None, None);
    pending.verification = Some(amiref_registry::Verification::new(
        true,
        ScanStatus::Pending,
    ));
    let mut failed = pending.clone();
    failed
        .regions
        .insert(region("us-east-1"), ami("ami-1234567a"));
    failed.verification.as_mut().unwrap().security_scan = ScanStatus::Failed;
    let doc = || {
        document(vec![
            ("t", "1.0.0", untested.clone()),
            ("t", "1.1.0", pending.clone()),
            ("t", "1.2.0", failed.clone()),
        ])
    };
    let versions = |policy: EntryPolicy| {
        let reg = build(
            vec![(Layer::Community, signed(doc(), "c.yml", &k))],
            trust(&[&k]),
            policy,
        );
        let mut v: Vec<String> = reg
            .entries()
            .iter()
            .map(|e| e.version_text.clone())
            .collect();
        v.sort();
        v
    };
    assert_eq!(versions(EntryPolicy::new()), ["1.0.0", "1.1.0"]);
    assert_eq!(versions(EntryPolicy::new().require_tested(true)), ["1.1.0"]);
    assert!(versions(EntryPolicy::new().require_security_scan(true)).is_empty());
}

#[test]
fn trust_store_files_check_key_ids() {
    let k = key(3);
    let text = amiref_registry::TrustStore::new()
        .with_key("p", k.verifying_key(), KeyStatus::Active)
        .to_file();
    let yaml = format!(
        "schema_version: 1\nkeys:\n  - publisher: p\n    public_key: {}\n    key_id: ed25519:0000000000000000\n",
        text.keys[0].public_key
    );
    let err = TrustStore::from_yaml_str(&yaml, "trust.yml").unwrap_err();
    let p = &err.problems()[0];
    assert_eq!(
        (p.line, p.path.as_str()),
        (Some(5), "keys[0].key_id"),
        "{err}"
    );
    assert!(p.expected.contains(k.key_id().as_str()), "{err}");

    let bad = "schema_version: 1\nkeys:\n  - publisher: p\n    public_key: notbase64!\n";
    let err = TrustStore::from_yaml_str(bad, "trust.yml").unwrap_err();
    assert_eq!(err.problems()[0].line, Some(4), "{err}");
}

#[test]
fn secret_key_files_round_trip_and_debug_hides_the_secret() {
    let k = key(4);
    let text = k.to_secret_yaml();
    let back = amiref_registry::PublisherKey::from_secret_yaml(&text, "k.yml").unwrap();
    assert_eq!(back.key_id(), k.key_id());
    let debug = format!("{k:?}");
    let secret_line = text.lines().find(|l| l.starts_with("secret_key")).unwrap();
    let secret = secret_line.split_whitespace().last().unwrap();
    assert!(!debug.contains(secret));
}

/// A trust store file listing `records` (publisher, key, status, whether to write its id).
fn store_yaml(records: &[(&str, &amiref_registry::PublisherKey, &str, bool)]) -> String {
    let mut yaml = String::from("schema_version: 1\nkeys:\n");
    for (publisher, k, status, with_id) in records {
        let public_key = TrustStore::new()
            .with_key("x", k.verifying_key(), KeyStatus::Active)
            .to_file()
            .keys[0]
            .public_key
            .clone();
        yaml.push_str(&format!(
            "  - publisher: {publisher}\n    public_key: {public_key}\n"
        ));
        if *with_id {
            yaml.push_str(&format!("    key_id: \"{}\"\n", k.key_id()));
        }
        yaml.push_str(&format!("    status: {status}\n"));
    }
    yaml
}

#[test]
fn trust_store_files_refuse_a_key_listed_twice() {
    let k = key(5);
    let other = key(6);
    // The bug this prevents: a later line re-activating a revoked key.
    for (first, second) in [
        ("revoked", "active"),
        ("active", "revoked"),
        ("active", "active"),
    ] {
        let yaml = store_yaml(&[
            ("p", &k, first, true),
            ("q", &other, "active", true),
            ("p again", &k, second, false),
        ]);
        let err = TrustStore::from_yaml_str(&yaml, "trust.yml").unwrap_err();
        assert_eq!(err.problems().len(), 1, "{err}");
        let p = &err.problems()[0];
        // The second listing's public key, at line 12 (its `public_key: ...` value).
        assert_eq!(
            (p.path.as_str(), p.line, p.column),
            ("keys[2].public_key", Some(12), Some(17)),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("trust.yml:12:17: keys[2].public_key"),
            "{text}"
        );
        assert!(text.contains(k.key_id().as_str()), "{text}");
        assert!(text.contains("first listed at line 4"), "{text}");
        assert!(text.contains(&format!("\"p again\", {second}")), "{text}");
        assert!(text.contains("each key listed once"), "{text}");
    }

    // The same public key under two ids: the id is derived from the key, so the second
    // id is refused as not the key's, and the key is still a duplicate.
    let yaml = store_yaml(&[("p", &k, "revoked", true), ("p", &k, "active", false)]).replace(
        "status: active",
        "key_id: \"ed25519:0123456789abcdef\"\n    status: active",
    );
    let err = TrustStore::from_yaml_str(&yaml, "trust.yml").unwrap_err();
    let paths: Vec<&str> = err.problems().iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["keys[1].public_key", "keys[1].key_id"], "{err}");
    assert!(err.problems().iter().all(|p| p.line.is_some()), "{err}");

    // Rotation is two keys of one publisher, not a duplicate.
    let yaml = store_yaml(&[("p", &k, "retired", true), ("p", &other, "active", true)]);
    let store = TrustStore::from_yaml_str(&yaml, "trust.yml").unwrap();
    assert_eq!(store.keys().count(), 2);
    assert_eq!(
        store.get(k.key_id().as_str()).unwrap().status,
        KeyStatus::Retired
    );
}

/// One entry, `python-ml` `1.0.0`, signed by `k`.
fn signed_doc(k: &amiref_registry::PublisherKey, origin: &str) -> ParsedRegistry {
    signed(
        document(vec![(
            "python-ml",
            "1.0.0",
            entry("us-east-1", "ami-12345678", Some((4.0, 3)), None),
        )]),
        origin,
        k,
    )
}

#[test]
fn revocation_wins_wherever_trust_comes_from_several_places() {
    let k = key(7);
    let revoked = || TrustStore::new().with_key("p", k.verifying_key(), KeyStatus::Revoked);
    let active = || TrustStore::new().with_key("p", k.verifying_key(), KeyStatus::Active);
    let retired = || TrustStore::new().with_key("p", k.verifying_key(), KeyStatus::Retired);
    let status = |s: &TrustStore| s.get(k.key_id().as_str()).unwrap().status;

    // One store, the key inserted twice, in either order.
    for (a, b) in [
        (KeyStatus::Revoked, KeyStatus::Active),
        (KeyStatus::Active, KeyStatus::Revoked),
        (KeyStatus::Retired, KeyStatus::Revoked),
    ] {
        let s = TrustStore::new()
            .with_key("p", k.verifying_key(), a)
            .with_key("q", k.verifying_key(), b);
        assert_eq!(status(&s), KeyStatus::Revoked, "{a:?} then {b:?}");
        assert_eq!(s.keys().count(), 1);
        assert_eq!(
            s.keys().next().unwrap().publisher,
            "p",
            "the first name stays"
        );
    }
    // Retired beats active, in either order.
    assert_eq!(status(&active().merged(&retired())), KeyStatus::Retired);
    assert_eq!(status(&retired().merged(&active())), KeyStatus::Retired);

    // Two stores merged, in either order.
    assert_eq!(status(&revoked().merged(&active())), KeyStatus::Revoked);
    assert_eq!(status(&active().merged(&revoked())), KeyStatus::Revoked);
    let mut s = active();
    s.merge(&revoked());
    assert_eq!(status(&s), KeyStatus::Revoked);
    // Merging does not lose keys only one store holds.
    let k2 = key(8);
    let both = revoked().merged(&trust(&[&k2]));
    assert_eq!(both.keys().count(), 2);

    // Two trust stores given to the registry, in either order, over both layers: a key
    // revoked in one is revoked for every layer, whatever the other says.
    for stores in [[revoked(), active()], [active(), revoked()]] {
        let mut b = Registry::builder().now(now());
        for s in stores {
            b = b.trust_store(s);
        }
        let reg = b
            .document(Layer::Institutional, signed_doc(&k, "i.yml"))
            .document(Layer::Community, signed_doc(&k, "c.yml"))
            .build_from_documents();
        assert!(reg.entries().is_empty(), "{:?}", reg.entries());
        assert_eq!(reg.report().refused.len(), 2);
        assert!(
            reg.report()
                .refused
                .iter()
                .all(|r| r.reason.contains("revoked")),
            "{:?}",
            reg.report()
        );
        assert!(reg.report().shadowed.is_empty());
    }

    // A trust store file's revocation, merged with another file listing the key active.
    let revoked_file = TrustStore::from_yaml_str(
        &store_yaml(&[("p", &k, "revoked", true)]),
        "institution-trust.yml",
    )
    .unwrap();
    let active_file =
        TrustStore::from_yaml_str(&store_yaml(&[("p", &k, "active", true)]), "my-trust.yml")
            .unwrap();
    let reg = Registry::builder()
        .trust_store(active_file)
        .trust_store(revoked_file)
        .document(Layer::Community, signed_doc(&k, "c.yml"))
        .now(now())
        .build_from_documents();
    assert!(reg.entries().is_empty());

    // A registry file announcing the key among its publishers does not un-revoke it: trust
    // comes from the reader's stores only.
    let parsed = signed_doc(&k, "c.yml");
    assert_eq!(parsed.document.publishers[0].key_id, k.key_id().as_str());
    let reg = build(
        vec![(Layer::Community, parsed)],
        revoked(),
        EntryPolicy::new().allow_unsigned(true),
    );
    assert!(reg.entries().is_empty(), "allow_unsigned does not admit it");
    assert!(reg.report().refused[0].reason.contains("revoked"));

    // The ratings overlay cannot carry keys, nor admit an entry a revoked key signed.
    assert!(
        amiref_registry::RatingsOverlay::from_yaml_str(
            "schema_version: 1\nkeys: []\nratings: {}\n",
            "ratings.yml"
        )
        .is_err()
    );
    let overlay = amiref_registry::RatingsOverlay::from_yaml_str(
        "schema_version: 1\nratings:\n  python-ml:\n    1.0.0:\n      - stars: 5\n        rated_at: 2026-11-01T00:00:00Z\n",
        "ratings.yml",
    )
    .unwrap();
    let reg = Registry::builder()
        .trust_store(revoked())
        .overlay(overlay)
        .document(Layer::Community, signed_doc(&k, "c.yml"))
        .now(now())
        .build_from_documents();
    assert!(reg.entries().is_empty());

    // An institutional entry a revoked key signed is refused, and so shadows nothing: the
    // community entry of the same version stands on its own (active) signature.
    let community_key = key(9);
    let reg = Registry::builder()
        .trust_store(revoked())
        .trust_store(trust(&[&community_key]))
        .document(Layer::Institutional, signed_doc(&k, "i.yml"))
        .document(Layer::Community, signed_doc(&community_key, "c.yml"))
        .now(now())
        .build_from_documents();
    let best = reg.best("python-ml", &region("us-east-1"), &[]).unwrap();
    assert_eq!(best.entry.layer, Layer::Community);
    assert!(reg.report().shadowed.is_empty());
}

#[tokio::test]
async fn retired_keys_are_used_and_say_so_active_keys_do_not_and_revoked_keys_are_never_returned() {
    use amiref_core::ImageRegistry;
    let old = key(10);
    let new = key(11);
    let mut doc = document(vec![(
        "python-ml",
        "1.0.0",
        entry("us-east-1", "ami-12345678", Some((4.0, 3)), None),
    )]);
    doc.community_amis.get_mut("python-ml").unwrap().insert(
        "1.1.0".into(),
        entry("us-east-1", "ami-12345679", Some((4.0, 3)), None),
    );
    let mut parsed = ParsedRegistry::from_document(doc, "c.yml");
    parsed.sign("python-ml", "1.0.0", &old).unwrap();
    parsed.sign("python-ml", "1.1.0", &new).unwrap();
    let registry = |old_status: KeyStatus| {
        Registry::builder()
            .trust_store(
                TrustStore::new()
                    .with_key("p", old.verifying_key(), old_status)
                    .with_key("p", new.verifying_key(), KeyStatus::Active),
            )
            .document(Layer::Community, parsed.clone())
            .now(now())
            .build_from_documents()
    };
    let by_version = |candidates: Vec<amiref_core::RegistryCandidate>| {
        let mut v: Vec<(String, bool, String)> = candidates
            .into_iter()
            .map(|c| (c.version, c.signer_retired, c.explanation))
            .collect();
        v.sort();
        v
    };

    // Retired: both returned; the old key's entry is flagged and explains why.
    let reg = registry(KeyStatus::Retired);
    let got = by_version(
        ImageRegistry::candidates(&reg, "python-ml", &region("us-east-1"), &[])
            .await
            .unwrap(),
    );
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got[0].0.as_str(), got[0].1), ("1.0.0", true));
    assert!(got[0].2.contains("RETIRED"), "{}", got[0].2);
    assert!(got[0].2.contains(old.key_id().as_str()), "{}", got[0].2);
    assert_eq!((got[1].0.as_str(), got[1].1), ("1.1.0", false));
    assert!(!got[1].2.contains("RETIRED"), "{}", got[1].2);
    assert!(matches!(
        reg.entries_for("python-ml")
            .iter()
            .find(|e| e.version_text == "1.0.0")
            .unwrap()
            .provenance,
        Provenance::Signed { retired: true, .. }
    ));
    assert!(reg.report().warnings[0].contains("retired key"));

    // Active: nothing flagged.
    let got = by_version(
        ImageRegistry::candidates(
            &registry(KeyStatus::Active),
            "python-ml",
            &region("us-east-1"),
            &[],
        )
        .await
        .unwrap(),
    );
    assert_eq!(got.iter().filter(|c| c.1).count(), 0, "{got:?}");
    assert_eq!(got.len(), 2);

    // Revoked: never returned.
    let reg = registry(KeyStatus::Revoked);
    let got = by_version(
        ImageRegistry::candidates(&reg, "python-ml", &region("us-east-1"), &[])
            .await
            .unwrap(),
    );
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].0.as_str(), got[0].1), ("1.1.0", false));
    assert!(reg.report().refused[0].reason.contains("revoked"));
}
