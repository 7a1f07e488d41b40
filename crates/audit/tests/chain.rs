//! The audit chain: written, verified, tampered with in every way, torn by a crash, shared by
//! concurrent writers, and read back with filters.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::path::{Path, PathBuf};

use amiref_audit::{
    AuditQuery, ChainProblem, DigestReason, DigestStatus, Durability, FileAuditLog, read, verify,
};
use amiref_lifecycle::{Actor, AuditOutcome, AuditRecord, AuditSink};
use amiref_registry::{KeyStatus, PublisherKey, TrustStore};

fn actor() -> Actor {
    Actor {
        account: "123456789012".into(),
        arn: "arn:aws:iam::123456789012:user/ada".into(),
    }
}

fn record(operation: &str, target: &str) -> AuditRecord {
    AuditRecord::new(actor(), operation, AuditOutcome::Succeeded)
        .target(target)
        .details(serde_json::json!({ "template": "python-ml", "regions": { "eu-west-1": "ami-0000000000000e001" } }))
}

fn key() -> PublisherKey {
    PublisherKey::from_seed("audit@lab", [7; 32])
}

fn trust() -> TrustStore {
    TrustStore::new().with_key("audit@lab", key().verifying_key(), KeyStatus::Active)
}

/// A log of `n` records in a fresh directory, signed, a digest every 4 records, closed.
fn written(n: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = FileAuditLog::open(&path)
        .unwrap()
        .durability(Durability::Cached)
        .digest_every(4)
        .signing_key(key());
    for i in 0..n {
        log.record(&record("share", &format!("ami-{i:017x}")))
            .unwrap();
    }
    drop(log);
    (dir, path)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_written_log_verifies_intact_with_signed_digests() {
    let (_dir, path) = written(10);
    let v = verify(&path, Some(&trust())).unwrap();
    assert!(v.is_intact(), "{v:?}");
    assert_eq!(v.record_count, 10);
    // Digests after records 4 and 8, and the closing one after record 10.
    assert_eq!(v.digests.len(), 3);
    assert!(
        v.digests
            .iter()
            .all(|d| matches!(d.status, DigestStatus::Valid { .. }))
    );
    assert_eq!(v.unsealed_record_count, 0);
    assert_eq!(v.head.as_ref().map(|h| h.seq), Some(13));
    let all = lines(&path);
    assert!(all[0].contains(r#""seq":1,"prev":"0000"#), "{}", all[0]);
    assert!(all[4].contains(r#""kind":"digest""#), "{}", all[4]);
    assert!(all[12].contains(r#""reason":"close""#), "{}", all[12]);
}

#[test]
fn an_edited_field_is_found_at_its_line() {
    let (_dir, path) = written(6);
    let mut all = lines(&path);
    all[2] = all[2].replace("\"operation\":\"share\"", "\"operation\":\"unshare\"");
    write_lines(&path, &all);
    let v = verify(&path, Some(&trust())).unwrap();
    assert!(!v.is_intact());
    assert!(
        matches!(
            v.problem,
            Some(ChainProblem::Edited {
                line: 3,
                seq: Some(3),
                ..
            })
        ),
        "{:?}",
        v.problem
    );
}

#[test]
fn a_deleted_line_is_found() {
    let (_dir, path) = written(6);
    let mut all = lines(&path);
    all.remove(1);
    write_lines(&path, &all);
    let v = verify(&path, None).unwrap();
    assert_eq!(
        v.problem,
        Some(ChainProblem::Deleted {
            line: 2,
            seq: 2,
            missing_count: 1
        })
    );
    assert!(v.problem.unwrap().to_string().contains("seq 2 was deleted"));
}

#[test]
fn two_swapped_lines_are_reordered_not_deleted() {
    let (_dir, path) = written(6);
    let mut all = lines(&path);
    all.swap(1, 2);
    write_lines(&path, &all);
    let v = verify(&path, None).unwrap();
    assert_eq!(
        v.problem,
        Some(ChainProblem::Reordered {
            line: 2,
            seq: 2,
            found_at_line: 3
        })
    );
}

#[test]
fn a_tail_cut_inside_a_line_is_truncated_and_one_cut_at_a_line_is_unsealed() {
    let (_dir, path) = written(6);
    let text = std::fs::read(&path).unwrap();
    std::fs::write(&path, &text[..text.len() - 20]).unwrap();
    let v = verify(&path, None).unwrap();
    assert!(
        matches!(v.problem, Some(ChainProblem::Truncated { line: 8, .. })),
        "{:?}",
        v.problem
    );

    // Whole lines cut off after the last periodic digest: the chain holds, and the report
    // says which records no digest seals.
    let mut all = lines(&path);
    all.truncate(6);
    write_lines(&path, &all);
    let v = verify(&path, Some(&trust())).unwrap();
    assert!(v.problem.is_none());
    assert_eq!(v.unsealed_record_count, 1);
}

#[test]
fn a_forged_digest_fails_its_signature() {
    let (dir, path) = written(6);
    // Rewrite the log from an edited first record on, re-chaining every line and sealing
    // it with another key: the chain holds, the signatures do not.
    let forged = dir.path().join("forged.jsonl");
    {
        let log = FileAuditLog::open(&forged)
            .unwrap()
            .durability(Durability::Cached)
            .digest_every(4)
            .signing_key(PublisherKey::from_seed("audit@lab", [9; 32]));
        for i in 0..6 {
            log.record(&record("unshare", &format!("ami-{i:017x}")))
                .unwrap();
        }
    }
    let v = verify(&forged, Some(&trust())).unwrap();
    assert!(v.problem.is_none());
    assert!(!v.is_intact());
    assert!(matches!(
        v.bad_digests().next().map(|d| &d.status),
        Some(DigestStatus::UnknownKey { .. })
    ));

    // A digest's signature copied onto another head does not verify.
    let mut all = lines(&path);
    let genuine = lines(&path)[4].clone();
    let signature = &genuine[genuine.find("\"signature\"").unwrap()..];
    all[7] = format!(
        "{}{}",
        &all[7][..all[7].find("\"signature\"").unwrap()],
        signature
    );
    write_lines(&path, &all);
    let v = verify(&path, Some(&trust())).unwrap();
    assert!(matches!(
        v.bad_digests().next().map(|d| &d.status),
        Some(DigestStatus::Invalid { .. })
    ));

    // A digest stripped of its signature is refused where a trust store asks for one.
    let (_dir2, path) = written(4);
    let mut all = lines(&path);
    let at = all[4].find(",\"signature\"").unwrap();
    all[4] = format!("{}}}", &all[4][..at]);
    write_lines(&path, &all);
    let v = verify(&path, Some(&trust())).unwrap();
    assert_eq!(
        v.bad_digests().next().map(|d| &d.status),
        Some(&DigestStatus::Unsigned)
    );
    // Without a trust store only the chain is checked, and the report says so.
    let v = verify(&path, None).unwrap();
    assert!(v.is_intact());
    assert!(!v.signatures_checked);
}

#[test]
fn a_revoked_key_fails_its_digests() {
    let (_dir, path) = written(4);
    let revoked =
        TrustStore::new().with_key("audit@lab", key().verifying_key(), KeyStatus::Revoked);
    let v = verify(&path, Some(&revoked)).unwrap();
    assert!(matches!(
        v.bad_digests().next().map(|d| &d.status),
        Some(DigestStatus::RevokedKey { .. })
    ));
}

#[test]
fn a_torn_last_line_is_moved_aside_and_never_glued_to() {
    let (_dir, path) = written(3);
    // A crash in the middle of a write leaves part of a line, without its newline.
    let fragment = br#"{"seq":5,"prev":"ab","kind":"record","time":"2026-"#;
    let mut text = std::fs::read(&path).unwrap();
    text.extend_from_slice(fragment);
    std::fs::write(&path, &text).unwrap();
    assert!(matches!(
        verify(&path, None).unwrap().problem,
        Some(ChainProblem::Truncated { .. })
    ));

    let log = FileAuditLog::open(&path)
        .unwrap()
        .durability(Durability::Cached);
    let aside = log.set_aside();
    assert_eq!(aside.len(), 1);
    assert_eq!(std::fs::read(&aside[0]).unwrap(), fragment);
    log.record(&record("deprecate", "ami-0000000000000000a"))
        .unwrap();
    drop(log);
    let v = verify(&path, Some(&trust())).unwrap();
    assert!(v.problem.is_none(), "{:?}", v.problem);
    assert_eq!(v.record_count, 4);
    assert!(
        lines(&path)
            .iter()
            .all(|l| !l.contains("\"time\":\"2026-{"))
    );
}

#[test]
fn concurrent_writers_keep_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::thread::scope(|scope| {
        for writer in 0..8 {
            let path = &path;
            scope.spawn(move || {
                // A log of its own per thread: separate open files, as separate processes.
                let log = FileAuditLog::open(path)
                    .unwrap()
                    .durability(Durability::Cached)
                    .digest_every(7)
                    .signing_key(key());
                for i in 0..40 {
                    log.record(&record("share", &format!("ami-{writer:08x}{i:09x}")))
                        .unwrap();
                }
            });
        }
    });
    let v = verify(&path, Some(&trust())).unwrap();
    assert!(v.is_intact(), "{:?}", v.problem);
    assert_eq!(v.record_count, 320);
    assert_eq!(v.unsealed_record_count, 0);
}

#[test]
fn a_log_that_cannot_be_written_fails_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("logs");
    std::fs::create_dir(&sub).unwrap();
    let path = sub.join("audit.jsonl");
    let log = FileAuditLog::open(&path)
        .unwrap()
        .durability(Durability::Cached);
    log.record(&record("share", "ami-0000000000000000a"))
        .unwrap();
    // The directory goes away and a file takes its place: the path is unwritable.
    std::fs::remove_dir_all(&sub).unwrap();
    std::fs::write(&sub, "not a directory").unwrap();
    let err = log
        .record(&record("share", "ami-0000000000000000b"))
        .unwrap_err();
    assert!(err.to_string().contains("audit.jsonl"), "{err}");
    std::mem::forget(log);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_fails_the_record() {
    // /dev/full refuses every write with ENOSPC, as a full disk does.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::os::unix::fs::symlink("/dev/full", &path).unwrap();
    let log = FileAuditLog::open(&path)
        .unwrap()
        .durability(Durability::Cached);
    let err = log
        .record(&record("copy_image", "ami-0000000000000000a"))
        .unwrap_err();
    assert!(err.to_string().contains("space"), "{err}");
    std::mem::forget(log);
}

#[test]
fn records_of_the_format_before_the_chain_stay_unchained() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let old = serde_json::to_string(&record("share", "ami-0000000000000000a")).unwrap();
    std::fs::write(&path, format!("{old}\n{old}\n")).unwrap();
    let log = FileAuditLog::open(&path)
        .unwrap()
        .durability(Durability::Cached);
    log.record(&record("deprecate", "ami-0000000000000000b"))
        .unwrap();
    log.write_digest(DigestReason::Close).unwrap();
    drop(log);
    let v = verify(&path, None).unwrap();
    assert!(v.is_intact(), "{:?}", v.problem);
    assert_eq!((v.unchained_line_count, v.record_count), (2, 1));
    // `show` reads both kinds.
    assert_eq!(read(&path, &AuditQuery::all()).unwrap().len(), 3);
}

#[test]
fn show_filters_by_time_template_image_and_operation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = FileAuditLog::open(&path)
        .unwrap()
        .durability(Durability::Cached);
    let t0: chrono::DateTime<chrono::Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
    let mut early = record("share", "ami-0000000000000000a");
    early.time = t0;
    let mut late = AuditRecord::new(actor(), "copy_image", AuditOutcome::Succeeded)
        .target("ami-0000000000000000b")
        .details(serde_json::json!({ "tags": { "amiref:template": "r-base" }, "copies": [{ "image": "ami-0000000000000000c" }] }));
    late.time = t0 + chrono::Duration::days(2);
    log.record(&early).unwrap();
    log.record(&late).unwrap();
    drop(log);
    let count = |q: AuditQuery| read(&path, &q).unwrap().len();
    let mut q = AuditQuery::all();
    q.since = Some(t0 + chrono::Duration::days(1));
    assert_eq!(count(q), 1);
    let mut q = AuditQuery::all();
    q.until = Some(t0 + chrono::Duration::days(1));
    assert_eq!(count(q), 1);
    let mut q = AuditQuery::all();
    q.template = Some("r-base".into());
    assert_eq!(count(q), 1);
    let mut q = AuditQuery::all();
    q.template = Some("python-ml".into());
    assert_eq!(count(q), 1);
    let mut q = AuditQuery::all();
    q.image = Some("ami-0000000000000000c".into());
    assert_eq!(read(&path, &q).unwrap()[0].record.operation, "copy_image");
    let mut q = AuditQuery::all();
    q.operation = Some("share".into());
    assert_eq!(read(&path, &q).unwrap()[0].seq, Some(1));
}

#[test]
fn a_bad_line_is_named_by_show() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, "{\"seq\": 1,\n").unwrap();
    let err = read(&path, &AuditQuery::all()).unwrap_err();
    assert!(err.to_string().contains("line 1, column"), "{err}");
}

#[cfg(unix)]
#[test]
fn the_signing_key_must_be_private_and_present() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.key");
    let err = amiref_audit::load_signing_key(&path).unwrap_err();
    assert!(err.to_string().contains("registry keygen"), "{err}");
    std::fs::write(&path, key().to_secret_yaml()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = amiref_audit::load_signing_key(&path).unwrap_err();
    assert!(err.to_string().contains("0644"), "{err}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let loaded = amiref_audit::load_signing_key(&path).unwrap();
    assert_eq!(loaded.key_id(), key().key_id());
}
