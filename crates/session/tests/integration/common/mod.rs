//! A demo setup in a temporary directory: copies of the demo configuration, templates,
//! world and registries (so nothing checked in is written), a state directory and a home
//! of its own (so nothing of the user's is read or written).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use amiref_registry::{ParsedRegistry, SharingPolicy};
use amiref_session::{Session, SessionBuilder};

/// The checked-in examples.
pub(crate) fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// The university's organization in the demo world (the lab is in it).
pub(crate) const UNIVERSITY_ORG: &str =
    "arn:aws:organizations::210987654321:organization/o-a1b2c3d4e5";
/// The demo community's publishing account.
pub(crate) const COMMUNITY_ACCOUNT: &str = "111122223333";

/// The demo, copied into a temporary directory.
pub(crate) struct Demo {
    pub(crate) dir: tempfile::TempDir,
}

impl Demo {
    /// Copies examples/{config,templates,worlds,registry} into a new temporary directory.
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for sub in ["config", "templates", "worlds", "registry"] {
            copy_dir(&examples().join(sub), &dir.path().join(sub));
        }
        std::fs::create_dir_all(dir.path().join("home")).expect("home");
        Self { dir }
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The variables a session of the demo reads: the demo configuration, and a home of
    /// the test's own.
    pub(crate) fn vars(&self) -> BTreeMap<String, OsString> {
        BTreeMap::from([
            (
                "AMIREF_CONFIG".to_owned(),
                self.path("config/demo.yaml").into_os_string(),
            ),
            ("HOME".to_owned(), self.path("home").into_os_string()),
        ])
    }

    /// A builder configured as the demo's variables say, on the demo world, keeping its
    /// state in the temporary directory.
    pub(crate) fn builder(&self) -> SessionBuilder {
        builder_with(&self.vars())
            .with_world_file(self.path("worlds/demo.yaml"))
            .with_state_dir(self.path("state"))
    }

    /// A session of [`Demo::builder`].
    pub(crate) async fn session(&self) -> Session {
        self.builder().build().await.expect("the demo session")
    }

    /// Gives the prism community's registry (the copy) a document-level sharing policy:
    /// the university's organization and the community's account. Signatures are per
    /// entry, so they stay valid.
    pub(crate) fn share_community_with_university(&self) {
        let path = self.path("registry/community.yml");
        let mut parsed = ParsedRegistry::load_file(&path).expect("the community registry");
        let mut policy = SharingPolicy::default();
        policy.organizations = vec![UNIVERSITY_ORG.to_owned()];
        policy.accounts = vec![COMMUNITY_ACCOUNT.parse().expect("an account")];
        parsed.document.sharing = Some(policy);
        parsed.save_file(&path).expect("saved");
    }

    /// Takes the document-level sharing policy off the prism community's registry (the
    /// copy): a community that names nobody to share with.
    pub(crate) fn community_names_nobody(&self) {
        let path = self.path("registry/community.yml");
        let mut parsed = ParsedRegistry::load_file(&path).expect("the community registry");
        parsed.document.sharing = None;
        parsed.save_file(&path).expect("saved");
    }

    /// The world's audit records (JSON lines in its state directory).
    pub(crate) fn audit_records(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.path("state/audit.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }
}

/// A builder configured by `vars` alone.
pub(crate) fn builder_with(vars: &BTreeMap<String, OsString>) -> SessionBuilder {
    SessionBuilder::from_vars(&|name| vars.get(name).cloned()).expect("the configuration")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a directory");
    for entry in std::fs::read_dir(from).expect("a directory to copy") {
        let entry = entry.expect("an entry");
        let path = entry.path();
        if path.is_file() {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copied");
        }
    }
}
