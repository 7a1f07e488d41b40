//! What the launcher's end-to-end tests share: the binary in a sandbox (a temporary HOME,
//! XDG directories and world state, nothing of the user's own set-up), the repository's
//! paths, and reading the JSON documents it prints.

// Every test binary includes this module and uses a subset of it.
#![allow(dead_code)]

pub(crate) mod cases;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

/// Where scripts/test's EC2 emulator (moto) answers.
pub(crate) const ENDPOINT_VAR: &str = "AMIREF_TEST_EC2_ENDPOINT";

/// The emulator's endpoint, or `None` (with the reason printed) when `tests` may skip; under
/// `CI=true` a missing emulator fails them instead.
pub(crate) fn moto_endpoint(tests: &str) -> Option<String> {
    match std::env::var(ENDPOINT_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "{ENDPOINT_VAR} is not set but CI=true: {tests} must run against moto in CI \
             (scripts/test starts the emulator)"
        ),
        _ => {
            eprintln!(
                "skipping {tests}: {ENDPOINT_VAR} is not set; run scripts/test, or \
                 `eval \"$(scripts/moto start target/moto/amis.json)\"` first"
            );
            None
        }
    }
}

/// The demo world, relative to the repository root.
pub(crate) const DEMO_WORLD: &str = "examples/worlds/demo.yaml";

/// The repository's root, where the README's commands run.
pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The example templates.
pub(crate) fn templates_dir() -> PathBuf {
    repo_root().join("examples/templates")
}

/// The launcher binary, with nothing set.
pub(crate) fn launcher() -> Command {
    Command::cargo_bin("amiref").unwrap()
}

/// Variables of the user's own set-up that no test may inherit.
const INHERITED: &[&str] = &[
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AMIREF_CONFIG",
    "AMIREF_TRUST",
    "AMIREF_TRUST_STORE",
    "AMIREF_REGISTRIES",
    "AMIREF_TEMPLATES",
    "AMIREF_AUDIT_LOG",
    "AMIREF_STATE_DIR",
    "AMIREF_RATINGS",
    "AMIREF_LOG",
    "AMIREF_LOG_WIRE",
    "RUST_LOG",
];

/// A temporary home for one test: HOME and the XDG directories point into it, so the
/// launcher's configuration, audit log, ratings and world state are the test's own.
pub(crate) struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    /// A sandbox whose configuration file names the example templates (so that
    /// `python-ml` is a template name) and nothing else.
    pub(crate) fn new() -> Self {
        let sandbox = Self::empty();
        sandbox.config(&format!(
            "templates: [{:?}]\n",
            templates_dir().display().to_string()
        ));
        sandbox
    }

    /// A sandbox with no configuration file.
    pub(crate) fn empty() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["config", "state", "cache"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Self { dir }
    }

    /// The sandbox's directory.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes the configuration file (`$XDG_CONFIG_HOME/amiref/config.yaml`).
    pub(crate) fn config(&self, yaml: &str) -> PathBuf {
        let dir = self.path().join("config/amiref");
        std::fs::create_dir_all(&dir).unwrap();
        write(&dir, "config.yaml", yaml)
    }

    /// Writes `text` to a file of the sandbox.
    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        write(self.path(), name, text)
    }

    /// The launcher, run from the repository root (as the README does), at home in the
    /// sandbox.
    pub(crate) fn amiref(&self) -> Command {
        let mut cmd = launcher();
        cmd.current_dir(repo_root())
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_STATE_HOME", self.path().join("state"))
            .env("XDG_CACHE_HOME", self.path().join("cache"))
            .env("AWS_CONFIG_FILE", self.path().join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.path().join("no-aws-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for var in INHERITED {
            cmd.env_remove(var);
        }
        cmd
    }

    /// The launcher on `world`, its state kept in the sandbox (`--state`).
    pub(crate) fn on_world(&self, world: &Path) -> Command {
        let mut cmd = self.amiref();
        cmd.arg("--world")
            .arg(world)
            .arg("--state")
            .arg(self.state_dir());
        cmd
    }

    /// The launcher on the demo world.
    pub(crate) fn on_demo(&self) -> Command {
        self.on_world(&repo_root().join(DEMO_WORLD))
    }

    /// Where the world's state is kept.
    pub(crate) fn state_dir(&self) -> PathBuf {
        self.path().join("world-state")
    }

    /// The world's audit records, none if it was never written.
    pub(crate) fn world_audit(&self) -> Vec<Value> {
        json_lines(
            &std::fs::read_to_string(self.state_dir().join("audit.jsonl")).unwrap_or_default(),
        )
    }
}

/// Writes `text` to `dir/name`, returning the path.
pub(crate) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Stdout as one JSON document; if it is not, the panic shows stdout and stderr.
pub(crate) fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Runs `cmd`, which must succeed, and returns its document's `result`.
pub(crate) fn success_json(cmd: &mut Command) -> Value {
    let doc = stdout_json(cmd.assert().success().get_output());
    assert_eq!(doc["ok"], true, "{doc}");
    doc["result"].clone()
}

/// Runs `cmd`, which must exit with `code`, and returns its whole document.
pub(crate) fn document_with_code(cmd: &mut Command, code: i32) -> Value {
    stdout_json(cmd.assert().code(code).get_output())
}

/// Each line of `text` as a JSON document (progress events, audit records).
pub(crate) fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The subcommands `amiref PATH --help` lists (without `help`).
fn subcommands(path: &[String]) -> Vec<String> {
    let output = launcher()
        .args(path)
        .arg("--help")
        .env_remove("AMIREF_LOG")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A command's line starts with two spaces; a wrapped description with more.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every leaf command of the launcher, as `ami share`, found by walking `--help`.
pub(crate) fn leaf_commands() -> BTreeSet<String> {
    fn walk(path: Vec<String>, into: &mut BTreeSet<String>) {
        let children = subcommands(&path);
        if children.is_empty() {
            into.insert(path.join(" "));
        }
        for child in children {
            let mut next = path.clone();
            next.push(child);
            walk(next, into);
        }
    }
    let mut leaves = BTreeSet::new();
    walk(Vec::new(), &mut leaves);
    leaves
}
