//! Logging set-up for amiref's executables: one place for the rules every frontend follows.
//!
//! Libraries only emit spans and events; an executable (the `amiref` launcher, an HTTP
//! service) installs a subscriber, and this module builds it so that the rules live once:
//!
//! - **Which variable.** `AMIREF_LOG` holds `tracing` filter directives (`debug`,
//!   `amiref=trace,amiref_aws=debug`, as [`EnvFilter`] reads them). When it is unset or
//!   empty, `RUST_LOG` is used, as Rust users expect; when both are set, **`AMIREF_LOG`
//!   wins** (it names this program, `RUST_LOG` may be meant for another). With neither,
//!   only errors are logged.
//! - **No wire or signing traces unless asked.** Whatever the directives say (`trace`,
//!   `aws_sigv4=trace`), the targets of [`WIRE_TARGETS`] (the AWS SDK's signing, HTTP,
//!   credential-provider and serialisation crates, and the HTTP/TLS stack under them) are
//!   capped at `info` or `warn`. They are let through only when asked for: the environment
//!   variable `AMIREF_LOG_WIRE=1` (`true`, `yes`, `on`), or [`Logging::wire`] (the
//!   launcher's `--log-wire`).
//! - **Redaction, always.** Everything the subscriber writes goes through [`Redacting`],
//!   which replaces with `[redacted]`, even when wire logging is on, the values of the
//!   `authorization`, `x-amz-security-token`, `x-amz-credential` and `x-amz-signature`
//!   headers and query parameters (any case, `-` or `_`), SigV4's `Credential=` and
//!   `Signature=`, values named as secret access keys, session or security tokens, access
//!   key ids, secret or private keys and passwords (`aws_secret_access_key = …`,
//!   `"SessionToken": "…"`, `<SecretAccessKey>…</SecretAccessKey>`), any AWS access key id
//!   (`AKIA`/`ASIA` and 16 more characters) wherever it appears, and PEM private keys.
//!
//! ```no_run
//! // In an executable's main (the launcher adds `.wire(true)` for `--log-wire`):
//! amiref_resolver::telemetry::Logging::from_env().init().ok();
//! ```

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};

use tracing::Metadata;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::{SubscriberInitExt, TryInitError};

/// amiref's own variable of filter directives; wins over [`RUST_LOG`] when both are set.
pub const AMIREF_LOG: &str = "AMIREF_LOG";
/// The Rust ecosystem's variable of filter directives, used when [`AMIREF_LOG`] is unset or
/// empty.
pub const RUST_LOG: &str = "RUST_LOG";
/// Set to `1` (`true`, `yes`, `on`) to let the SDK's wire and signing traces through.
pub const AMIREF_LOG_WIRE: &str = "AMIREF_LOG_WIRE";

/// What replaces a secret in a log line.
pub const REDACTED: &str = "[redacted]";

/// The targets (prefixes, as `tracing` matches them) whose events are capped unless wire
/// logging is on, with the most verbose level they keep.
///
/// Found by running every launcher command at `trace` against EC2's emulator: the signing
/// crate prints canonical requests (with `x-amz-security-token`) and signing keys, the
/// orchestrator prints whole requests and responses (headers, bodies with credentials from
/// STS/SSO), the credential providers print where keys came from and the keys' ids.
pub const WIRE_TARGETS: &[(&str, LevelFilter)] = &[
    // Signing: canonical requests, string to sign, signatures.
    ("aws_sigv4", LevelFilter::WARN),
    ("aws_runtime", LevelFilter::INFO),
    // The orchestrator, HTTP clients, request/response bodies and their codecs.
    ("aws_smithy_runtime", LevelFilter::INFO),
    ("aws_smithy_runtime_api", LevelFilter::INFO),
    ("aws_smithy_http", LevelFilter::INFO), // also aws_smithy_http_client
    ("aws_smithy_types", LevelFilter::INFO),
    ("aws_smithy_xml", LevelFilter::INFO),
    ("aws_smithy_json", LevelFilter::INFO),
    ("aws_smithy_query", LevelFilter::INFO),
    ("aws_smithy_cbor", LevelFilter::INFO),
    ("aws_smithy_async", LevelFilter::INFO),
    ("aws_smithy_observability", LevelFilter::INFO),
    // Credential providers (environment, profiles, SSO, STS, IMDS, ECS, processes) and
    // the credentials cache; the service clients' own events.
    ("aws_config", LevelFilter::INFO),
    ("aws_credential_types", LevelFilter::INFO),
    ("aws_types", LevelFilter::INFO),
    ("aws_sdk_", LevelFilter::INFO),
    // The HTTP and TLS stack.
    ("hyper", LevelFilter::WARN), // also hyper_util, hyper_rustls
    ("h2", LevelFilter::WARN),
    ("http", LevelFilter::WARN), // also http_body
    ("rustls", LevelFilter::WARN),
    ("tokio_rustls", LevelFilter::WARN),
    ("reqwest", LevelFilter::WARN),
    ("tower", LevelFilter::WARN),
    ("want", LevelFilter::WARN),
];

/// A logging configuration: filter directives, whether wire traces pass, and the
/// subscriber it installs (formatting to stderr through [`Redacting`]).
#[derive(Debug, Clone, Default)]
pub struct Logging {
    directives: String,
    source: Option<&'static str>,
    wire: bool,
}

impl Logging {
    /// From the process environment: [`AMIREF_LOG`], else [`RUST_LOG`]; [`AMIREF_LOG_WIRE`].
    pub fn from_env() -> Self {
        let var = |name| std::env::var(name).ok();
        Self::from_vars(
            var(AMIREF_LOG).as_deref(),
            var(RUST_LOG).as_deref(),
            var(AMIREF_LOG_WIRE).as_deref(),
        )
    }

    /// From the values of [`AMIREF_LOG`], [`RUST_LOG`] and [`AMIREF_LOG_WIRE`] (`None`:
    /// unset). An empty value counts as unset.
    pub fn from_vars(amiref_log: Option<&str>, rust_log: Option<&str>, wire: Option<&str>) -> Self {
        let given = |v: Option<&str>| {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let (directives, source) = match (given(amiref_log), given(rust_log)) {
            (Some(d), _) => (d, Some(AMIREF_LOG)),
            (None, Some(d)) => (d, Some(RUST_LOG)),
            (None, None) => (String::new(), None),
        };
        Self {
            directives,
            source,
            wire: wire.is_some_and(truthy),
        }
    }

    /// Replaces the filter directives (as [`EnvFilter`] reads them; empty: errors only).
    pub fn directives(mut self, directives: impl Into<String>) -> Self {
        self.directives = directives.into();
        self.source = None;
        self
    }

    /// Lets the wire and signing traces of [`WIRE_TARGETS`] through (`true`) or caps them
    /// (`false`). Redaction applies either way.
    pub fn wire(mut self, on: bool) -> Self {
        self.wire = on;
        self
    }

    /// Whether the wire and signing traces pass.
    pub fn wire_enabled(&self) -> bool {
        self.wire
    }

    /// The filter directives in force.
    pub fn filter_directives(&self) -> &str {
        &self.directives
    }

    /// The variable the directives came from ([`AMIREF_LOG`] or [`RUST_LOG`]), if any.
    pub fn source(&self) -> Option<&'static str> {
        self.source
    }

    /// The filter of the directives; invalid directives are reported on stderr and
    /// ignored, and without any only errors pass.
    pub fn env_filter(&self) -> EnvFilter {
        EnvFilter::builder()
            .with_default_directive(LevelFilter::ERROR.into())
            .parse_lossy(&self.directives)
    }

    /// The cap on [`WIRE_TARGETS`] (every other target passes), or `None` when wire
    /// logging is on. A second, separate filter, so that no directive, however specific,
    /// lifts it.
    pub fn wire_cap(&self) -> Option<Targets> {
        (!self.wire).then(|| {
            Targets::new()
                .with_default(LevelFilter::TRACE)
                .with_targets(WIRE_TARGETS.iter().copied())
        })
    }

    /// The subscriber: both filters, and `tracing`'s text format written to `writer`
    /// through [`Redacting`]; with `ansi`, in colour.
    pub fn subscriber<W>(
        &self,
        writer: W,
        ansi: bool,
    ) -> impl tracing::Subscriber + Send + Sync + 'static + use<W>
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        tracing_subscriber::registry()
            .with(self.env_filter())
            .with(self.wire_cap())
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(Redacting::new(writer))
                    .with_ansi(ansi),
            )
    }

    /// Installs the subscriber as the global default, writing to stderr (in colour when
    /// stderr is a terminal and `NO_COLOR` is unset), and forwards the `log` crate's
    /// records to it. Fails when a global subscriber is already set.
    pub fn init(self) -> Result<(), TryInitError> {
        let ansi =
            io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        self.subscriber(io::stderr, ansi).try_init()
    }

    /// Installs the subscriber as the global default, writing to `writer` (a file: a
    /// `Mutex<File>`), without colour.
    pub fn init_with_writer<W>(self, writer: W) -> Result<(), TryInitError>
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        self.subscriber(writer, false).try_init()
    }
}

fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

// --- the redacting writer -------------------------------------------------------------------

/// A [`MakeWriter`] whose writers pass what they are given through [`redact`].
///
/// Each writer holds back an incomplete line (and an unfinished PEM private key) until the
/// rest arrives or the writer is dropped, so a secret split across writes is still found.
#[derive(Debug, Clone)]
pub struct Redacting<M> {
    inner: M,
}

impl<M> Redacting<M> {
    /// Wraps `inner` (e.g. `std::io::stderr`, a `Mutex<File>`).
    pub fn new(inner: M) -> Self {
        Self { inner }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter::new(self.inner.make_writer())
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        RedactingWriter::new(self.inner.make_writer_for(meta))
    }
}

/// A writer that redacts secrets (see [`redact`]) before they reach `W`.
///
/// Complete lines are written as they arrive; the rest on [`flush`](Write::flush) when it
/// is safe, and on drop in any case.
#[derive(Debug)]
pub struct RedactingWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            pending: Vec::new(),
        }
    }

    /// Writes the redacted pending text that can be judged now (all of it with `all`).
    fn emit(&mut self, all: bool) -> io::Result<()> {
        let cut = if all {
            self.pending.len()
        } else {
            safe_cut(&self.pending)
        };
        if cut == 0 {
            return Ok(());
        }
        let chunk: Vec<u8> = self.pending.drain(..cut).collect();
        let text = String::from_utf8_lossy(&chunk);
        self.inner.write_all(redact(&text).as_bytes())
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        self.emit(false)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit(false)?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        // Nowhere to report a failure from a drop; the text is never written unredacted.
        let _ = self.emit(true);
        let _ = self.inner.flush();
    }
}

/// How much of `pending` can be redacted now: up to its last newline, but not into a PEM
/// private key whose end has not arrived.
fn safe_cut(pending: &[u8]) -> usize {
    let Some(last_newline) = pending.iter().rposition(|&b| b == b'\n') else {
        return 0;
    };
    let cut = last_newline + 1;
    match std::str::from_utf8(&pending[..cut]) {
        Ok(text) => match unterminated_private_key(text) {
            // Everything before the marker's line is safe.
            Some(open) => text[..open].rfind('\n').map_or(0, |i| i + 1),
            None => cut,
        },
        // Not UTF-8 (then written lossily): hold back an open key entirely.
        Err(_) => {
            let text = String::from_utf8_lossy(&pending[..cut]);
            if unterminated_private_key(&text).is_some() {
                0
            } else {
                cut
            }
        }
    }
}

// --- redaction ------------------------------------------------------------------------------

/// Names whose values are secrets, compared lower-case without `-` and `_` against the end
/// of a name (so `x-amz-security-token`, `X-Amz-Security-Token`, `aws_session_token`,
/// `SessionToken`, `proxy-authorization` all match).
const SECRET_NAMES: &[&str] = &[
    "authorization",
    "authorizationtoken", // AWS_CONTAINER_AUTHORIZATION_TOKEN
    "securitytoken",
    "sessiontoken",
    "metadatatoken", // x-aws-ec2-metadata-token (IMDSv2)
    "bearertoken",   // x-amz-sso_bearer_token
    "accesstoken",   // SSO's cached accessToken
    "refreshtoken",
    "identitytoken", // WebIdentityToken
    "idtoken",
    "clientsecret",
    "credential",
    "signature",
    "secretaccesskey",
    "accesskeyid",
    "secretkey",
    "privatekey",
    "password",
];

/// Names that are secrets only as the whole name: `"Token"` of the instance metadata and
/// container credential documents (not `client_token`, `next_token`, `copy-token`).
const EXACT_SECRET_NAMES: &[&str] = &["token", "secret"];

/// Names whose value runs to the end of the line (or the closing quote): it holds spaces.
const WHOLE_LINE_NAMES: &[&str] = &["authorization"];

/// `text` with every secret replaced by [`REDACTED`] (see the module docs for what is a
/// secret); borrowed when nothing was found.
pub fn redact(text: &str) -> Cow<'_, str> {
    let text = redact_private_keys(text);
    let mut out = String::new();
    let mut changed = false;
    for line in text.split_inclusive('\n') {
        match redact_line(line) {
            Some(redacted) => {
                out.push_str(&redacted);
                changed = true;
            }
            None => out.push_str(line),
        }
    }
    match (changed, text) {
        (false, text) => text,
        (true, _) => Cow::Owned(out),
    }
}

/// The start of the last PEM private key's BEGIN marker in `text` that has no END after it.
fn unterminated_private_key(text: &str) -> Option<usize> {
    let mut open = None;
    let mut from = 0;
    while let Some((begin, label, after)) = find_pem_begin(text, from) {
        let end_marker = format!("-----END {label}-----");
        match text[after..].find(&end_marker) {
            Some(e) => {
                open = None;
                from = after + e + end_marker.len();
            }
            None => {
                open = Some(begin);
                break;
            }
        }
    }
    open
}

/// The next `-----BEGIN … PRIVATE KEY-----` at or after `from`: its start, its label, and
/// where it ends.
fn find_pem_begin(text: &str, mut from: usize) -> Option<(usize, &str, usize)> {
    const BEGIN: &str = "-----BEGIN ";
    while let Some(i) = text.get(from..)?.find(BEGIN) {
        let start = from + i;
        let label_start = start + BEGIN.len();
        let rest = &text[label_start..];
        let label_len = rest.find("-----")?;
        let label = &rest[..label_len];
        if label.ends_with("PRIVATE KEY") && label.len() < 64 && !label.contains('\n') {
            return Some((start, label, label_start + label_len + 5));
        }
        from = label_start;
    }
    None
}

/// Every PEM private key's body replaced, ends kept (`-----BEGIN RSA PRIVATE KEY-----
/// [redacted] -----END RSA PRIVATE KEY-----`); a key without its END is redacted to the
/// end of the text.
fn redact_private_keys(text: &str) -> Cow<'_, str> {
    let Some(_) = find_pem_begin(text, 0) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    while let Some((_, label, after)) = find_pem_begin(text, from) {
        out.push_str(&text[from..after]);
        out.push(' ');
        out.push_str(REDACTED);
        let end_marker = format!("-----END {label}-----");
        match text[after..].find(&end_marker) {
            Some(e) => {
                out.push(' ');
                out.push_str(&end_marker);
                from = after + e + end_marker.len();
            }
            None => {
                if text.ends_with('\n') {
                    out.push('\n');
                }
                return Cow::Owned(out);
            }
        }
    }
    out.push_str(&text[from..]);
    Cow::Owned(out)
}

/// One line redacted, or `None` when it holds no secret. ANSI colour codes (which split
/// a name from its value) are removed from a line that needed redaction.
fn redact_line(line: &str) -> Option<String> {
    if line.contains('\x1b') {
        let plain = strip_ansi(line);
        return redact_plain(&plain);
    }
    redact_plain(line)
}

/// `line` without ANSI escape sequences (`ESC [ … final-byte`, and lone escapes).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            // Parameters and intermediates, then one final byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
    }
    out
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The byte ranges of `line` that hold secrets, in order, possibly overlapping.
fn secret_ranges(line: &str) -> Vec<(usize, usize)> {
    let bytes = line.as_bytes();
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !is_name_char(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_name_char(bytes[i]) {
            i += 1;
        }
        let name: String = line[start..i]
            .bytes()
            .filter(|b| b.is_ascii_alphanumeric())
            .map(|b| char::from(b.to_ascii_lowercase()))
            .collect();
        if let Some(secret) = SECRET_NAMES
            .iter()
            .find(|s| name.ends_with(*s))
            .or_else(|| EXACT_SECRET_NAMES.iter().find(|s| name == **s))
            && let Some(range) = value_after_name(line, i, WHOLE_LINE_NAMES.contains(secret))
        {
            ranges.push(range);
        }
    }
    ranges.extend(access_key_ids(line));
    ranges.sort_unstable();
    ranges
}

/// The value that follows a secret's name ending at `at`: after optional closing quotes
/// and spaces, a separator (`:`, `=`, `=>`, `>` of an XML tag, `%3D`/`%3A` of an encoded
/// query), optional spaces, a Debug wrapper (`Some(`, `HeaderValue { _private: H0(`) and
/// opening quotes.
fn value_after_name(line: &str, at: usize, whole_line: bool) -> Option<(usize, usize)> {
    let bytes = line.as_bytes();
    let mut i = at;
    let skip = |i: &mut usize, set: &[u8]| {
        while *i < bytes.len() && set.contains(&bytes[*i]) {
            *i += 1;
        }
    };
    skip(&mut i, b"\"'\\ \t");
    let rest = &line[i..];
    let sep_len = if rest.starts_with("=>") {
        2
    } else if rest.starts_with("::") {
        return None; // a Rust path (`signature::Foo`), not a value
    } else if rest.starts_with(':') || rest.starts_with('=') || rest.starts_with('>') {
        1
    } else if rest.len() >= 3
        && (rest.as_bytes()[..3].eq_ignore_ascii_case(b"%3D")
            || rest.as_bytes()[..3].eq_ignore_ascii_case(b"%3A"))
    {
        3
    } else {
        return None;
    };
    i += sep_len;
    skip(&mut i, b" \t");
    i += wrapper_before_quote(&bytes[i..]);
    let quoted = i < bytes.len() && matches!(bytes[i], b'"' | b'\'' | b'\\');
    skip(&mut i, b"\"'\\");
    let start = i;
    if line[start..].starts_with(REDACTED) {
        return None;
    }
    // A quoted value ends at a quote; `authorization`'s unquoted value (it holds spaces) at
    // the end of the line; any other at a space or a delimiter (`&`, also encoded).
    let bare = !quoted && !whole_line;
    let ends_at = |b: u8| match b {
        b'\r' | b'\n' => true,
        b'"' | b'\'' | b'\\' => quoted || bare,
        b',' | b';' | b'&' | b'<' | b')' | b'}' | b']' => bare,
        b => bare && b.is_ascii_whitespace(),
    };
    let mut end = start;
    while end < bytes.len() && !ends_at(bytes[end]) {
        if bare && bytes[end..].len() >= 3 && bytes[end..end + 3].eq_ignore_ascii_case(b"%26") {
            break;
        }
        end += 1;
    }
    (end > start).then_some((start, end))
}

/// The length of a Debug wrapper before a quoted value (`Some(`, http's `HeaderValue {
/// _private: H0(`), or 0: at most 48 bytes of letters, digits, `_`, spaces, `:`, `{` and
/// `(` (at least one bracket) up to a quote.
fn wrapper_before_quote(rest: &[u8]) -> usize {
    let mut bracket = false;
    for (n, &b) in rest.iter().take(48).enumerate() {
        match b {
            b'"' | b'\'' | b'\\' => return if bracket { n } else { 0 },
            b'(' | b'{' => bracket = true,
            b if b.is_ascii_alphanumeric() || matches!(b, b'_' | b' ' | b':') => {}
            _ => return 0,
        }
    }
    0
}

/// Every AWS access key id in `line`: `AKIA` (long-term) or `ASIA` (temporary) and 16
/// upper-case letters or digits.
fn access_key_ids(line: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = line.as_bytes();
    (0..bytes.len().saturating_sub(19)).filter_map(move |i| {
        let prefix = &bytes[i..i + 4];
        let body = &bytes[i + 4..i + 20];
        ((prefix == b"AKIA" || prefix == b"ASIA")
            && body
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
        .then_some((i, i + 20))
    })
}

/// `line` with its secrets replaced, or `None` when it has none.
fn redact_plain(line: &str) -> Option<String> {
    let ranges = secret_ranges(line);
    if ranges.is_empty() {
        return None;
    }
    // Overlapping ranges (a key id inside a named value) become one.
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut out = String::with_capacity(line.len());
    let mut from = 0;
    for (start, end) in merged {
        out.push_str(&line[from..start]);
        out.push_str(REDACTED);
        from = end;
    }
    out.push_str(&line[from..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const KEY_ID: &str = "AKIAAMIREFLEAKTEST01";
    const TEMP_KEY_ID: &str = "ASIAAMIREFLEAKTEST02";
    const SECRET: &str = "amirefLeakTestSecret/0123456789+ABCDEFGH";
    const TOKEN: &str = "FwoGZXIvYXdzAMIREFLEAKTOKEN//////////wEaDH+abc/def==";

    fn redacted(text: &str) -> String {
        redact(text).into_owned()
    }

    fn assert_clean(out: &str) {
        for secret in [
            KEY_ID,
            TEMP_KEY_ID,
            SECRET,
            TOKEN,
            "AMIREFLEAKTOKEN",
            "amirefLeakTest",
        ] {
            assert!(!out.contains(secret), "{secret} left in:\n{out}");
        }
        assert!(out.contains(REDACTED), "no [redacted] in:\n{out}");
    }

    #[test]
    fn text_without_secrets_is_borrowed_unchanged() {
        let line = "2026-01-01T00:00:00Z DEBUG amiref: resolving python-ml in us-east-1 \
                    signed_headers=host;x-amz-date credentials_provider=Environment\n";
        assert!(matches!(redact(line), Cow::Borrowed(l) if l == line));
        assert!(matches!(redact(""), Cow::Borrowed("")));
        // Words that end like a secret's name but have no value next to them.
        let words = "a SignatureDoesNotMatch error; loading credentials; signature::verify\n";
        assert_eq!(redact(words), words);
    }

    #[test]
    fn canonical_request_headers_are_redacted() {
        let text = format!(
            "TRACE aws_sigv4::http_request::sign: canonical_request=POST\n/\n\n\
             content-type:application/x-www-form-urlencoded\nhost:ec2.us-east-1.amazonaws.com\n\
             x-amz-date:20260101T000000Z\nx-amz-security-token:{TOKEN}\n\n\
             content-type;host;x-amz-date;x-amz-security-token\n"
        );
        let out = redact(&text);
        assert_clean(&out);
        assert!(out.contains("x-amz-security-token:[redacted]\n"), "{out}");
        assert!(out.contains("host:ec2.us-east-1.amazonaws.com"), "{out}");
        assert!(out.contains("content-type;host;x-amz-date;x-amz-security-token\n"));
    }

    #[test]
    fn authorization_headers_are_redacted_to_the_end_of_the_value() {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={KEY_ID}/20260101/us-east-1/ec2/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef"
        );
        for line in [
            format!("authorization: {auth}\n"),
            format!("Authorization:{auth}\r\n"),
            format!(
                "headers={{\"authorization\": \"{auth}\", \"x-amz-date\": \"20260101T000000Z\"}}\n"
            ),
            format!("request headers: [(\"AUTHORIZATION\", \"{auth}\")]\n"),
        ] {
            let out = redact(&line);
            assert_clean(&out);
            assert!(!out.contains("0123456789abcdef"), "{out}");
        }
        let out = redacted(&format!(
            "{{\"authorization\": \"{auth}\", \"x-amz-date\": \"20260101T000000Z\"}}"
        ));
        assert!(
            out.contains("\"x-amz-date\": \"20260101T000000Z\""),
            "{out}"
        );
        assert!(out.contains("\"authorization\": \"[redacted]\""), "{out}");
    }

    #[test]
    fn sigv4_credential_and_signature_are_redacted_anywhere() {
        let out = redacted(&format!(
            "sign: Credential={KEY_ID}/20260101/us-east-1/ec2/aws4_request, \
             SignedHeaders=host, Signature=ffee00112233\n"
        ));
        assert_clean(&out);
        assert!(out.contains("SignedHeaders=host"), "{out}");
        assert!(!out.contains("ffee00112233"), "{out}");
    }

    #[test]
    fn presigned_query_strings_are_redacted_in_any_case() {
        let enc_token = TOKEN
            .replace('/', "%2F")
            .replace('+', "%2B")
            .replace('=', "%3D");
        let url = format!(
            "https://ec2.amazonaws.com/?Action=DescribeImages&X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential={KEY_ID}%2F20260101%2Fus-east-1%2Fec2%2Faws4_request\
             &X-Amz-Date=20260101T000000Z&X-Amz-Security-Token={enc_token}\
             &X-Amz-Signature=abcdef0123&x-amz-signedheaders=host&x-amz-security-token={enc_token}\n"
        );
        let out = redact(&url);
        assert_clean(&out);
        assert!(!out.contains("abcdef0123"), "{out}");
        assert!(out.contains("Action=DescribeImages&"), "{out}");
        assert!(out.contains("&X-Amz-Date=20260101T000000Z&"), "{out}");
        assert!(out.contains("X-Amz-Security-Token=[redacted]&"), "{out}");
        // A URL inside another's query: the separators are encoded too.
        let nested = format!("next=%2F%3FX-Amz-Security-Token%3D{enc_token}%26X-Amz-Date%3D1\n");
        let out = redact(&nested);
        assert_clean(&out);
        assert!(out.contains("%26X-Amz-Date%3D1"), "{out}");
    }

    #[test]
    fn credentials_named_as_values_are_redacted_in_every_spelling() {
        for line in [
            format!("aws_secret_access_key = {SECRET}\naws_session_token={TOKEN}\n"),
            format!("AWS_SECRET_ACCESS_KEY={SECRET} AWS_SESSION_TOKEN={TOKEN}\n"),
            format!(
                "{{\"AccessKeyId\":\"{TEMP_KEY_ID}\",\"SecretAccessKey\":\"{SECRET}\",\"SessionToken\":\"{TOKEN}\"}}\n"
            ),
            format!(
                "<Credentials><AccessKeyId>{TEMP_KEY_ID}</AccessKeyId><SecretAccessKey>{SECRET}</SecretAccessKey><SessionToken>{TOKEN}</SessionToken></Credentials>\n"
            ),
            format!(
                "Credentials {{ access_key_id: \"{KEY_ID}\", secret_access_key: \"{SECRET}\", session_token: Some(\"{TOKEN}\") }}\n"
            ),
            format!(
                "body=\"{{\\\"secretAccessKey\\\": \\\"{SECRET}\\\", \\\"sessionToken\\\": \\\"{TOKEN}\\\"}}\"\n"
            ),
            format!("x_amz_security_token => {TOKEN}\n"),
            format!("X-AMZ-SECURITY-TOKEN: {TOKEN}\n"),
            format!("secret_key: {SECRET}\n"),
        ] {
            assert_clean(&redact(&line));
        }
        // Instance metadata and container credentials, SSO, web identity, IMDSv2's token.
        for line in [
            format!(
                "{{\n  \"Code\" : \"Success\",\n  \"AccessKeyId\" : \"{TEMP_KEY_ID}\",\n  \"SecretAccessKey\" : \"{SECRET}\",\n  \"Token\" : \"{TOKEN}\"\n}}\n"
            ),
            format!(
                "{{\"roleCredentials\":{{\"accessKeyId\":\"{TEMP_KEY_ID}\",\"secretAccessKey\":\"{SECRET}\",\"sessionToken\":\"{TOKEN}\"}}}}\n"
            ),
            format!(
                "x-amz-sso_bearer_token: {TOKEN}\n{{\"accessToken\": \"{TOKEN}\", \"refreshToken\": \"{SECRET}\", \"clientSecret\": \"{SECRET}\"}}\n"
            ),
            format!("Action=AssumeRoleWithWebIdentity&WebIdentityToken={TOKEN}&RoleArn=arn\n"),
            format!(
                "x-aws-ec2-metadata-token: {TOKEN}\nAWS_CONTAINER_AUTHORIZATION_TOKEN={TOKEN}\n"
            ),
        ] {
            assert_clean(&redacted(&line));
        }
        // Tokens that are not secrets keep their values.
        let tokens = "client_token=abc next_token=def amiref:copy-token=ghi\n";
        assert_eq!(redact(tokens), tokens);
        let out = redacted(&format!(
            "{{\"SessionToken\":\"{TOKEN}\",\"Expiration\":\"2026-01-01\"}}"
        ));
        assert!(out.contains("\"Expiration\":\"2026-01-01\""), "{out}");
    }

    #[test]
    fn the_sdks_own_debug_formats_are_redacted() {
        // aws-smithy-runtime's `transmitting request` (http's HeaderMap Debug), its
        // `resolved identity`, and aws-sigv4's canonical request, as printed at trace.
        let transmit = format!(
            "TRACE aws_smithy_runtime::client::orchestrator: transmitting request request=Request {{ \
             headers: Headers {{ headers: {{\"x-amz-date\": HeaderValue {{ _private: H0(\"20261201T091911Z\") }}, \
             \"authorization\": HeaderValue {{ _private: H0(\"AWS4-HMAC-SHA256 Credential={KEY_ID}/20261201/us-east-1/sts/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=f9e4e1381d9c0496\") }}, \
             \"x-amz-security-token\": HeaderValue {{ _private: H0(\"{TOKEN}\") }}, \"amz-sdk-request\": HeaderValue {{ _private: H0(\"attempt=1; max=3\") }} }} }} }}\n"
        );
        let out = redacted(&transmit);
        assert_clean(&out);
        assert!(!out.contains("f9e4e1381d9c0496"), "{out}");
        assert!(
            out.contains("\"authorization\": HeaderValue { _private: H0(\"[redacted]\") }"),
            "{out}"
        );
        assert!(
            out.contains("\"x-amz-security-token\": HeaderValue { _private: H0(\"[redacted]\") }"),
            "{out}"
        );
        assert!(
            out.contains("H0(\"20261201T091911Z\")") && out.contains("attempt=1; max=3"),
            "{out}"
        );
        let identity = format!(
            "resolved identity identity=Identity {{ data: Credentials {{ provider_name: \"EnvironmentVariable\", \
             access_key_id: \"{KEY_ID}\", secret_access_key: \"** redacted **\", expires_after: \"never\" }} }}\n"
        );
        let out = redacted(&identity);
        assert_clean(&out);
        assert!(
            out.contains("provider_name: \"EnvironmentVariable\"")
                && out.contains("expires_after: \"never\"")
        );
        assert!(
            out.contains("secret_access_key: \"[redacted]\", expires_after"),
            "{out}"
        );
    }

    #[test]
    fn access_key_ids_are_redacted_wherever_they_appear() {
        let out = redacted(&format!(
            "loaded credentials for {KEY_ID}; temporary {TEMP_KEY_ID}, encoded Credential%3D{KEY_ID}%2F\n"
        ));
        assert_clean(&out);
        assert_eq!(out.matches(REDACTED).count(), 3, "{out}");
        // Too short, or lower-case: not a key id.
        assert_eq!(
            redact("AKIA123 akiaamirefleaktest01"),
            "AKIA123 akiaamirefleaktest01"
        );
    }

    #[test]
    fn pem_private_keys_are_redacted_whole() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretbody\nmoresecret==\n\
                   -----END RSA PRIVATE KEY-----";
        let out = redacted(&format!("key loaded: {pem}\nnext line\n"));
        assert!(
            !out.contains("secretbody") && !out.contains("moresecret"),
            "{out}"
        );
        assert!(
            out.contains("-----BEGIN RSA PRIVATE KEY----- [redacted] -----END RSA PRIVATE KEY-----\nnext line\n"),
            "{out}"
        );
        // Debug-escaped, on one line; PKCS#8 and encrypted labels.
        let escaped =
            "key=\"-----BEGIN PRIVATE KEY-----\\nMIIEsecret\\n-----END PRIVATE KEY-----\\n\"";
        assert!(!redact(escaped).contains("MIIEsecret"));
        let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIEsecret\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(!redact(encrypted).contains("MIIEsecret"));
        // Without its end: redacted to the end of the text.
        let cut = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEsecret\n";
        assert_eq!(redact(cut), "-----BEGIN EC PRIVATE KEY----- [redacted]\n");
        // Public material stays.
        let public = "-----BEGIN PUBLIC KEY-----\nMFkwEwYH\n-----END PUBLIC KEY-----\n";
        assert_eq!(redact(public), public);
    }

    #[test]
    fn ansi_colours_between_a_name_and_its_value_do_not_hide_it() {
        let line = format!(
            "\x1b[2m2026-01-01\x1b[0m \x1b[35mTRACE\x1b[0m \x1b[3mx_amz_security_token\x1b[0m\x1b[2m=\x1b[0m{TOKEN} \x1b[3mkey\x1b[0m\x1b[2m=\x1b[0m{KEY_ID}\n"
        );
        let out = redact(&line);
        assert_clean(&out);
        assert!(out.contains("x_amz_security_token=[redacted]"), "{out}");
        // A coloured line without secrets keeps its colours.
        let plain = "\x1b[3mregion\x1b[0m\x1b[2m=\x1b[0mus-east-1\n";
        assert_eq!(redact(plain), plain);
    }

    #[test]
    fn redaction_is_idempotent() {
        let once = redacted(&format!("x-amz-security-token: {TOKEN} key={KEY_ID}\n"));
        assert_eq!(redact(&once), once);
    }

    /// Writes `pieces` one by one through a [`RedactingWriter`], then drops it.
    fn through_writer(pieces: &[&str]) -> String {
        let mut sink = Vec::new();
        {
            let mut w = RedactingWriter::new(&mut sink);
            for p in pieces {
                w.write_all(p.as_bytes()).unwrap();
            }
        }
        String::from_utf8(sink).unwrap()
    }

    #[test]
    fn a_token_split_across_writes_is_still_redacted() {
        let line =
            format!("x-amz-security-token:{TOKEN}\nauthorization: AWS4 Credential={KEY_ID}/x\n");
        // Every split point, of the name, the separator, the token and the key id.
        for at in 1..line.len() {
            let (a, b) = line.split_at(at);
            let out = through_writer(&[a, b]);
            assert_clean(&out);
            assert_eq!(
                out,
                "x-amz-security-token:[redacted]\nauthorization: [redacted]\n"
            );
        }
        // Byte by byte.
        let bytes: Vec<String> = line.chars().map(String::from).collect();
        let pieces: Vec<&str> = bytes.iter().map(String::as_str).collect();
        assert_clean(&through_writer(&pieces));
        // The last line without its newline comes out when the writer is dropped.
        assert_eq!(
            through_writer(&["x-amz-signature=", "abc"]),
            "x-amz-signature=[redacted]"
        );
    }

    #[test]
    fn a_private_key_split_across_lines_and_writes_is_held_until_its_end() {
        let mut sink = Vec::new();
        {
            let mut w = RedactingWriter::new(&mut sink);
            w.write_all(b"before\n-----BEGIN PRIVATE KEY-----\nMIIEsec")
                .unwrap();
            w.write_all(b"ret\nline2\n").unwrap();
            w.flush().unwrap();
            w.write_all(b"-----END PRIVATE KEY-----\nafter\n").unwrap();
        }
        let out = String::from_utf8(sink).unwrap();
        assert_eq!(
            out,
            "before\n-----BEGIN PRIVATE KEY----- [redacted] -----END PRIVATE KEY-----\nafter\n"
        );
    }

    #[test]
    fn amiref_log_wins_over_rust_log_and_empty_counts_as_unset() {
        let l = Logging::from_vars(Some("debug"), Some("trace"), None);
        assert_eq!(
            (l.filter_directives(), l.source()),
            ("debug", Some(AMIREF_LOG))
        );
        let l = Logging::from_vars(Some(" "), Some("trace"), None);
        assert_eq!(
            (l.filter_directives(), l.source()),
            ("trace", Some(RUST_LOG))
        );
        let l = Logging::from_vars(None, None, None);
        assert_eq!((l.filter_directives(), l.source()), ("", None));
        assert!(!l.wire_enabled());
        for on in ["1", "true", "YES", "on"] {
            assert!(
                Logging::from_vars(None, None, Some(on)).wire_enabled(),
                "{on}"
            );
        }
        for off in ["0", "false", "", "no"] {
            assert!(
                !Logging::from_vars(None, None, Some(off)).wire_enabled(),
                "{off}"
            );
        }
        assert!(
            Logging::from_vars(None, None, None)
                .wire(true)
                .wire_enabled()
        );
    }

    /// A `MakeWriter` into a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn log_everything(logging: &Logging) -> String {
        let buffer = Buffer::default();
        let subscriber = logging.subscriber(buffer.clone(), false);
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "aws_sigv4::http_request::sign", "canonical_request=x-amz-security-token:{TOKEN}");
            tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", "sending request authorization=AWS4 Credential={KEY_ID}/x");
            tracing::debug!(target: "hyper_util::client", "connecting");
            tracing::warn!(target: "aws_sigv4::sign", "clock skew");
            tracing::debug!(target: "amiref::resolver", key = KEY_ID, "resolving");
        });
        buffer.text()
    }

    #[test]
    fn wire_targets_are_capped_whatever_the_directives_unless_asked() {
        for directives in [
            "trace",
            "aws_sigv4=trace,aws_smithy_runtime::client=trace,trace",
        ] {
            let out = log_everything(&Logging::default().directives(directives));
            assert!(!out.contains("canonical_request"), "{out}");
            assert!(!out.contains("sending request"), "{out}");
            assert!(!out.contains("connecting"), "{out}");
            assert!(out.contains("clock skew"), "{out}");
            assert!(out.contains("resolving"), "{out}");
            assert!(!out.contains(KEY_ID), "{out}");
        }
        let out = log_everything(&Logging::default().directives("trace").wire(true));
        assert!(
            out.contains("canonical_request=x-amz-security-token:[redacted]"),
            "{out}"
        );
        assert!(
            out.contains("sending request authorization=[redacted]"),
            "{out}"
        );
        assert!(out.contains("connecting"), "{out}");
        assert_clean(&out);
        // Nothing asked: errors only.
        let out = log_everything(&Logging::default());
        assert_eq!(out, "");
    }
}
