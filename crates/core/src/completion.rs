//! The build's completion protocol: how a build learns, through the EC2 API alone, that a
//! script it ran on an instance finished, and with which exit status.
//!
//! The build sends the template's script wrapped ([`wrap_script`]): the wrapper writes the
//! script to a private file, runs it with its output in a log on the instance, and then
//! writes one marker line with the exit status to the serial console. The build polls
//! GetConsoleOutput until it sees the marker of its own build and stage
//! ([`Completion::find`]), or its timeout passes. No inbound network, SSH key, agent or
//! instance profile is needed, so the builder's security group can refuse all ingress.
//!
//! The first line after the interpreter is a header ([`ScriptHeader`]) naming the template,
//! the build and the stage; the in-process cloud reads it to simulate the script.

use std::fmt;

/// The word every marker line starts with.
pub const MARKER: &str = "AMIREF-BUILD-DONE";

/// EC2's limit on user data: 16 KiB before base64 encoding.
pub const MAX_USER_DATA_BYTES: usize = 16 * 1024;

/// Which script of a build a wrapper runs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ScriptStage {
    /// The template's `user_data`, on the builder instance.
    Provision,
    /// The template's test script, on an instance booted from the new image.
    Test,
}

impl ScriptStage {
    /// The stage's name in headers and markers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provision => "provision",
            Self::Test => "test",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Provision, Self::Test]
            .into_iter()
            .find(|stage| stage.as_str() == s)
    }
}

impl fmt::Display for ScriptStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The header line of a wrapped script: which template, build and stage it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ScriptHeader {
    /// The template's name.
    pub template: String,
    /// The build's id.
    pub build: String,
    /// The stage.
    pub stage: ScriptStage,
}

const HEADER_PREFIX: &str = "# amiref-build ";

impl ScriptHeader {
    /// A header for `stage` of build `build` of `template`.
    pub fn new(template: impl Into<String>, build: impl Into<String>, stage: ScriptStage) -> Self {
        Self {
            template: template.into(),
            build: build.into(),
            stage,
        }
    }

    /// The header of a wrapped script, if `user_data` is one.
    pub fn parse(user_data: &str) -> Option<Self> {
        let line = user_data
            .lines()
            .take(2)
            .find_map(|l| l.strip_prefix(HEADER_PREFIX))?;
        let field = |key: &str| {
            line.split(' ')
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        };
        Some(Self {
            template: field("template")?.to_owned(),
            build: field("build")?.to_owned(),
            stage: ScriptStage::parse(field("stage")?)?,
        })
    }

    fn line(&self) -> String {
        format!(
            "{HEADER_PREFIX}template={} build={} stage={}",
            self.template, self.build, self.stage
        )
    }
}

/// Why a script cannot be wrapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WrapError {
    /// The script is not a `#!` script (cloud-config, MIME multipart, or no interpreter
    /// line): the protocol runs scripts, and cloud-init would not run a file without `#!`.
    #[error(
        "the script must start with an interpreter line such as `#!/bin/bash` (found {found:?}); cloud-config and MIME multipart user data cannot report completion"
    )]
    NotAScript {
        /// The start of its first line.
        found: String,
    },
    /// A header field holds a space or a line break.
    #[error("the {field} {value:?} must not contain whitespace")]
    BadHeaderField {
        /// `template` or `build`.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// The wrapped script is over EC2's user-data limit.
    #[error(
        "the wrapped script is {bytes} bytes, over EC2's user-data limit of {MAX_USER_DATA_BYTES} bytes"
    )]
    TooLarge {
        /// Its size.
        bytes: usize,
    },
}

/// Wraps `script` for `header`'s stage: the wrapped script runs it unchanged and then
/// reports its exit status on the serial console (see the module documentation).
pub fn wrap_script(script: &str, header: &ScriptHeader) -> Result<String, WrapError> {
    let first = script.lines().next().unwrap_or_default();
    if !first.starts_with("#!") {
        return Err(WrapError::NotAScript {
            found: first.chars().take(40).collect(),
        });
    }
    for (field, value) in [("template", &header.template), ("build", &header.build)] {
        if value.is_empty() || value.chars().any(char::is_whitespace) {
            return Err(WrapError::BadHeaderField {
                field,
                value: value.clone(),
            });
        }
    }
    let delimiter = heredoc_delimiter(script);
    let stage = header.stage;
    let marker = Completion::marker_prefix(&header.build, stage);
    let body = if script.ends_with('\n') {
        script.to_owned()
    } else {
        format!("{script}\n")
    };
    let wrapped = format!(
        "#!/bin/bash\n{header}\n\
         # The script below runs as written; its exit status then goes to the serial console,\n\
         # where the build reads it with GetConsoleOutput (amiref's completion protocol).\n\
         umask 077\n\
         mkdir -p /var/lib/amiref\n\
         cat > /var/lib/amiref/{stage}.sh <<'{delimiter}'\n\
         {body}{delimiter}\n\
         chmod 700 /var/lib/amiref/{stage}.sh\n\
         /var/lib/amiref/{stage}.sh > /var/log/amiref-{stage}.log 2>&1 < /dev/null\n\
         status=$?\n\
         rm -f /var/lib/amiref/{stage}.sh\n\
         for tty in /dev/ttyS0 /dev/console; do\n  \
         [ -w \"$tty\" ] && printf '%s\\n' \"{marker}$status\" > \"$tty\"\n\
         done\n\
         exit \"$status\"\n",
        header = header.line(),
    );
    if wrapped.len() > MAX_USER_DATA_BYTES {
        return Err(WrapError::TooLarge {
            bytes: wrapped.len(),
        });
    }
    Ok(wrapped)
}

/// A here-document delimiter that no line of `script` equals.
fn heredoc_delimiter(script: &str) -> String {
    let mut delimiter = format!("AMIREF_SCRIPT_{}", crate::token_from(&[script], 16));
    while script.lines().any(|l| l == delimiter) {
        delimiter.push('_');
    }
    delimiter
}

/// A finished script, as its marker line reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Completion {
    /// The build.
    pub build: String,
    /// The stage.
    pub stage: ScriptStage,
    /// The script's exit status (0: success).
    pub status: i32,
}

impl Completion {
    /// The completion of `stage` of `build` with exit status `status`.
    pub fn new(build: impl Into<String>, stage: ScriptStage, status: i32) -> Self {
        Self {
            build: build.into(),
            stage,
            status,
        }
    }

    fn marker_prefix(build: &str, stage: ScriptStage) -> String {
        format!("{MARKER} build={build} stage={stage} status=")
    }

    /// The marker line the wrapper writes (without the line break).
    pub fn marker_line(&self) -> String {
        format!(
            "{}{}",
            Self::marker_prefix(&self.build, self.stage),
            self.status
        )
    }

    /// Whether the script succeeded.
    pub fn succeeded(&self) -> bool {
        self.status == 0
    }

    /// The completion of `stage` of `build` in `console` output, if its marker is there.
    /// Console lines may carry a kernel prefix or a carriage return; the last marker wins.
    pub fn find(console: &str, build: &str, stage: ScriptStage) -> Option<Self> {
        let prefix = Self::marker_prefix(build, stage);
        console.lines().rev().find_map(|line| {
            let at = line.find(&prefix)?;
            let rest = line[at + prefix.len()..].trim_end();
            let digits: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '-')
                .collect();
            Some(Self::new(build, stage, digits.parse().ok()?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> ScriptHeader {
        ScriptHeader::new("python-ml", "build-1a2b", ScriptStage::Provision)
    }

    #[test]
    fn wrapped_scripts_carry_a_header_that_parses_back() {
        let wrapped = wrap_script("#!/bin/bash\necho hi\n", &header()).unwrap();
        assert!(wrapped.starts_with("#!/bin/bash\n# amiref-build "));
        assert_eq!(ScriptHeader::parse(&wrapped), Some(header()));
        assert!(wrapped.contains("echo hi\n"));
        assert_eq!(ScriptHeader::parse("#!/bin/bash\necho hi"), None);
    }

    #[test]
    fn only_interpreter_scripts_are_wrapped() {
        let err = wrap_script("#cloud-config\npackages: [git]\n", &header()).unwrap_err();
        assert!(matches!(err, WrapError::NotAScript { .. }), "{err}");
        let big = format!("#!/bin/sh\n{}", "x".repeat(MAX_USER_DATA_BYTES));
        assert!(matches!(
            wrap_script(&big, &header()),
            Err(WrapError::TooLarge { .. })
        ));
        let bad = ScriptHeader::new("python ml", "b", ScriptStage::Test);
        assert!(matches!(
            wrap_script("#!/bin/sh\n", &bad),
            Err(WrapError::BadHeaderField { .. })
        ));
    }

    #[test]
    fn the_heredoc_delimiter_never_ends_the_script_early() {
        let delimiter = heredoc_delimiter("#!/bin/sh\n");
        let script = format!("#!/bin/sh\n{delimiter}\n");
        assert_ne!(heredoc_delimiter(&script), delimiter.clone() + "x");
        assert!(!script.lines().any(|l| l == heredoc_delimiter(&script)));
    }

    #[test]
    fn markers_are_found_for_their_own_build_and_stage() {
        let done = Completion::new("build-1a2b", ScriptStage::Provision, 3);
        let console = format!(
            "[    1.0] booting\r\n[   42.1] {}\r\nlogin:",
            done.marker_line()
        );
        assert_eq!(
            Completion::find(&console, "build-1a2b", ScriptStage::Provision),
            Some(done.clone())
        );
        assert!(!done.succeeded());
        assert_eq!(
            Completion::find(&console, "build-1a2b", ScriptStage::Test),
            None
        );
        assert_eq!(
            Completion::find(&console, "build-9", ScriptStage::Provision),
            None
        );
        // The wrapper's own text names the marker without a status: not a completion.
        let wrapped = wrap_script("#!/bin/sh\n", &header()).unwrap();
        assert_eq!(
            Completion::find(&wrapped, "build-1a2b", ScriptStage::Provision),
            None
        );
    }
}
