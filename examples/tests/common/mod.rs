//! What the launcher's end-to-end tests share: the binary, the repository's paths, temp
//! files, and reading the JSON it prints.
//!
//! Each test file keeps its own `amiref()` builder: the environment a test clears, and the
//! folder it runs from, belong to its scenario.

// Every test binary includes this module and uses a subset of it.
#![allow(dead_code)]

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
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The launcher binary, with nothing set.
pub(crate) fn launcher() -> Command {
    Command::cargo_bin("amiref").unwrap()
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
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Runs `cmd`, which must succeed, and returns its stdout as one JSON document.
pub(crate) fn success_json(cmd: &mut Command) -> Value {
    stdout_json(cmd.assert().success().get_output())
}

/// Each line of `text` as a JSON document (progress events, audit records).
pub(crate) fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
