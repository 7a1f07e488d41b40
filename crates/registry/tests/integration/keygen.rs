//! Making publisher key pairs: the secret is created new with mode 0600, never through a
//! symbolic link, replaced atomically when asked, and only once the trust store is known
//! to be valid; nothing is left half-written after an error.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use amiref_registry::{Keygen, KeygenError, Overwrite, PublisherKey, TrustStore};
use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Makes a key at `secret`, then fails to replace it with `trust` as the trust store, and
/// checks the old key is still there.
fn replacing_fails_and_keeps_the_old_key(secret: &Path, trust: &Path) {
    Keygen::new("alice@lab", secret)
        .run_with(&mut rng(1))
        .unwrap();
    let old = std::fs::read(secret).unwrap();
    Keygen::new("alice@lab", secret)
        .trust_store(trust)
        .overwrite(Overwrite::Replace)
        .run_with(&mut rng(2))
        .unwrap_err();
    assert_eq!(std::fs::read(secret).unwrap(), old, "the old key stays");
}

#[test]
fn the_secret_is_created_private_and_its_public_half_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("keys/alice.key");
    let trust = dir.path().join("trust.yml");
    let report = Keygen::new("alice@lab", &secret)
        .trust_store(&trust)
        .run_with(&mut rng(1))
        .unwrap();
    assert_eq!(mode(&secret), 0o600);
    assert!(!report.replaced);
    assert!(report.trust_store.as_ref().unwrap().created);
    let key = PublisherKey::load_file(&secret).unwrap();
    assert_eq!(key.key_id(), report.key_id);
    assert_eq!(key.publisher(), "alice@lab");
    let store = TrustStore::load_file(&trust).unwrap();
    assert_eq!(
        store.get(report.key_id.as_str()).unwrap().publisher,
        "alice@lab"
    );
    // The directory made for the key is the owner's alone, and nothing else is left.
    assert_eq!(mode(&dir.path().join("keys")), 0o700);
    assert_eq!(names(&dir.path().join("keys")), ["alice.key"]);
    assert_eq!(names(dir.path()), ["keys", "trust.yml"]);

    // A second key goes into the same store (rotation), which now holds both.
    let second = Keygen::new("alice@lab", dir.path().join("alice-2.key"))
        .trust_store(&trust)
        .run_with(&mut rng(2))
        .unwrap();
    assert!(!second.trust_store.unwrap().created);
    assert_eq!(TrustStore::load_file(&trust).unwrap().keys().count(), 2);
}

#[test]
fn an_existing_key_is_refused_unless_replaced_and_replacing_is_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("alice.key");
    let first = Keygen::new("alice@lab", &secret)
        .run_with(&mut rng(1))
        .unwrap();
    let before = std::fs::read(&secret).unwrap();
    let err = Keygen::new("alice@lab", &secret)
        .run_with(&mut rng(2))
        .unwrap_err();
    assert!(matches!(err, KeygenError::Exists { .. }), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(std::fs::read(&secret).unwrap(), before);

    // Replacing renames a new file over the old one: a reader holding the old file still
    // reads the old key (the inode is not rewritten in place), and the new one is 0600.
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let old_handle = std::fs::File::open(&secret).unwrap();
    let replaced = Keygen::new("alice@lab", &secret)
        .overwrite(Overwrite::Replace)
        .run_with(&mut rng(2))
        .unwrap();
    assert!(replaced.replaced);
    assert_ne!(replaced.key_id, first.key_id);
    assert_eq!(mode(&secret), 0o600);
    assert_eq!(
        std::io::read_to_string(old_handle).unwrap().as_bytes(),
        before
    );
    assert_eq!(
        PublisherKey::load_file(&secret).unwrap().key_id(),
        replaced.key_id
    );
    assert_eq!(
        names(dir.path()),
        ["alice.key"],
        "no temporary file is left"
    );
}

#[test]
fn a_symbolic_link_at_the_key_path_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("precious.txt");
    std::fs::write(&target, "do not touch").unwrap();
    let link = dir.path().join("alice.key");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let dangling = dir.path().join("dangling.key");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    for overwrite in [Overwrite::Refuse, Overwrite::Replace] {
        for path in [&link, &dangling] {
            let err = Keygen::new("alice@lab", path)
                .overwrite(overwrite)
                .run_with(&mut rng(1))
                .unwrap_err();
            assert!(matches!(err, KeygenError::Symlink { .. }), "{err}");
        }
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "do not touch");
    assert!(!dir.path().join("nowhere").exists());
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        names(dir.path()),
        ["alice.key", "dangling.key", "precious.txt"]
    );
}

#[test]
fn an_invalid_trust_store_is_found_before_any_secret_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.yml");
    std::fs::write(
        &trust,
        "schema_version: 1\nkeys: [{publisher: x, public_key: nope}]\n",
    )
    .unwrap();
    let before = std::fs::read(&trust).unwrap();
    let secret = dir.path().join("alice.key");
    let err = Keygen::new("alice@lab", &secret)
        .trust_store(&trust)
        .run_with(&mut rng(1))
        .unwrap_err();
    assert!(matches!(err, KeygenError::TrustStore(_)), "{err}");
    assert!(err.to_string().contains("keys[0].public_key"), "{err}");
    assert!(!secret.exists());
    assert_eq!(std::fs::read(&trust).unwrap(), before);

    // Replacing an existing key against an invalid store leaves the old key in place.
    replacing_fails_and_keeps_the_old_key(&secret, &trust);
    assert_eq!(names(dir.path()), ["alice.key", "trust.yml"]);
}

#[test]
fn a_trust_store_that_cannot_be_written_leaves_no_secret_behind() {
    let dir = tempfile::tempdir().unwrap();
    // The trust store's directory is a dangling link: reading the store finds no file (a
    // new store), but it cannot be written, whoever runs the test (root included).
    std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("gone")).unwrap();
    let trust = dir.path().join("gone/trust.yml");
    let secret = dir.path().join("alice.key");
    let err = Keygen::new("alice@lab", &secret)
        .trust_store(&trust)
        .run_with(&mut rng(1))
        .unwrap_err();
    assert!(matches!(err, KeygenError::Io(_)), "{err}");
    assert!(!secret.exists(), "the secret made for it is removed again");

    replacing_fails_and_keeps_the_old_key(&secret, &trust);
    assert_eq!(names(dir.path()), ["alice.key", "gone"]);
}

#[test]
fn an_empty_publisher_or_a_directory_at_the_key_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = Keygen::new(" ", dir.path().join("k"))
        .run_with(&mut rng(1))
        .unwrap_err();
    assert!(matches!(err, KeygenError::EmptyPublisher), "{err}");
    let err = Keygen::new("alice", dir.path())
        .overwrite(Overwrite::Replace)
        .run_with(&mut rng(1))
        .unwrap_err();
    assert!(matches!(err, KeygenError::NotAFile { .. }), "{err}");
}
