//! The real `amiref-http` binary on 127.0.0.1 and an OS-assigned port, over the demo world,
//! with its state directory, HOME and XDG directories in a temporary directory of its own,
//! and an HTTP client for it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

/// The demo world.
pub(crate) const WORLD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/worlds/demo.yaml");

/// The demo templates.
pub(crate) const TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");

/// A running service; stopped (killed) when dropped.
pub(crate) struct Server {
    child: Child,
    // Kept open: the service's stdout stays a pipe someone reads from.
    _stdout: BufReader<ChildStdout>,
    /// `http://127.0.0.1:PORT`, from the service's first line.
    pub(crate) url: String,
    dir: TempDir,
    client: reqwest::Client,
}

/// A status and the JSON document of a reply.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) doc: Value,
}

impl Answer {
    /// The error message of a failure document.
    pub(crate) fn message(&self) -> &str {
        self.doc["error"]["message"].as_str().unwrap_or_default()
    }
}

impl Server {
    /// A service on the demo world, in a new temporary directory.
    pub(crate) fn start(args: &[&str]) -> Self {
        Self::start_in(tempfile::tempdir().expect("a temporary directory"), args)
    }

    /// A service on the demo world whose state and home are in `dir` (a service started
    /// again on the same directory finds the world as the last one left it).
    pub(crate) fn start_in(dir: TempDir, args: &[&str]) -> Self {
        let home = dir.path();
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home.join("stderr.log"))
            .expect("the service's log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_amiref-http"))
            .args(["--world", WORLD, "--templates", TEMPLATES])
            .args(["--listen", "127.0.0.1:0"])
            .arg("--state-dir")
            .arg(home.join("state"))
            .args(args)
            .env_clear()
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_STATE_HOME", home.join("xdg-state"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("amiref-http starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut first = String::new();
        let read = stdout.read_line(&mut first);
        let url = first.trim().to_owned();
        if read.is_err() || !url.starts_with("http://127.0.0.1:") {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(home.join("stderr.log")).unwrap_or_default();
            panic!("amiref-http did not say where it listens: {first:?}; stderr:\n{log}");
        }
        Self {
            child,
            _stdout: stdout,
            url,
            dir,
            client: reqwest::Client::new(),
        }
    }

    /// Stops the service and gives its directory back (to start another on it).
    pub(crate) fn stop(mut self) -> TempDir {
        self.kill();
        let placeholder = tempfile::tempdir().expect("a temporary directory");
        std::mem::replace(&mut self.dir, placeholder)
    }

    /// The state directory.
    pub(crate) fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Everything the saved world files of the state directory say, as one text.
    pub(crate) fn saved_world(&self) -> String {
        saved_world(&self.state_dir())
    }

    /// `GET path`.
    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.send(self.client.get(format!("{}{path}", self.url)))
            .await
    }

    /// `POST path` with `body` as it is.
    pub(crate) async fn post(&self, path: &str, body: &str) -> Answer {
        let request = self
            .client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body.to_owned());
        self.send(request).await
    }

    /// `method path`, without a body.
    pub(crate) async fn call(&self, method: reqwest::Method, path: &str) -> Answer {
        let request = self.client.request(method, format!("{}{path}", self.url));
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the service answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        let doc = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "status {status}: the body is not JSON ({e}): {text}\nstderr:\n{}",
                self.log()
            )
        });
        Answer {
            status,
            headers,
            doc,
        }
    }

    /// What the service wrote on stderr so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The saved world files of `state`, as one text (empty when nothing was saved).
fn saved_world(state: &Path) -> String {
    let Ok(entries) = std::fs::read_dir(state) else {
        return String::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect()
}
