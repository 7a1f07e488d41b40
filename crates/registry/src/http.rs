//! The HTTPS source: conditional requests (ETag / If-None-Match), an on-disk cache, and the
//! last good copy when the source is unreachable.
//!
//! A copy is "good" when it parses as a registry document; only then does it replace the
//! cached one, so an outage, an error page or a truncated body never overwrites a working
//! copy. The cached copy is re-verified like any other on every load (signatures are
//! checked on admission, not on download), so a tampered cache file gains nothing.

use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use crate::document::ParsedRegistry;
use crate::error::LoadError;
use crate::source::write_atomically;

/// The most a registry body may be; larger answers are refused.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// A registry served over HTTPS.
#[derive(Debug, Clone)]
pub struct HttpSource {
    url: String,
    cache_dir: Option<PathBuf>,
    client: reqwest::Client,
}

/// Builds an [`HttpSource`].
#[derive(Debug)]
pub struct HttpSourceBuilder {
    url: String,
    cache_dir: Option<PathBuf>,
    timeout: Duration,
    roots: Vec<Vec<u8>>,
    allow_plain_http: bool,
}

/// What a fetch produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Fetched {
    /// The registry.
    pub registry: ParsedRegistry,
    /// How fresh it is.
    pub freshness: Freshness,
    /// A warning for people, when the copy is stale.
    pub warning: Option<String>,
}

/// Where a fetched registry came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Freshness {
    /// Downloaded now (200).
    Downloaded,
    /// The cached copy, confirmed current by the server (304).
    NotModified,
    /// The cached copy, because the source could not give a good one.
    Stale {
        /// Why.
        reason: String,
    },
}

impl HttpSource {
    /// A builder for `url`.
    pub fn builder(url: impl Into<String>) -> HttpSourceBuilder {
        HttpSourceBuilder {
            url: url.into(),
            cache_dir: None,
            timeout: Duration::from_secs(30),
            roots: Vec::new(),
            allow_plain_http: false,
        }
    }

    /// The same source, caching copies under `dir`.
    #[must_use]
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn cache_paths(&self) -> Option<(PathBuf, PathBuf)> {
        let dir = self.cache_dir.as_ref()?;
        let name = &hex::encode(Sha256::digest(self.url.as_bytes()))[..24];
        Some((
            dir.join(format!("{name}.yml")),
            dir.join(format!("{name}.etag")),
        ))
    }

    fn cached(&self) -> Option<(String, Option<String>)> {
        let (body, etag) = self.cache_paths()?;
        let text = std::fs::read_to_string(body).ok()?;
        let etag = std::fs::read_to_string(etag).ok().filter(|e| !e.is_empty());
        Some((text, etag))
    }

    fn stale(
        &self,
        cached: Option<(String, Option<String>)>,
        reason: String,
    ) -> Result<Fetched, LoadError> {
        let Some((text, _)) = cached else {
            return Err(LoadError::Unreachable {
                url: self.url.clone(),
                message: reason,
            });
        };
        let registry = ParsedRegistry::from_yaml_str(&text, &format!("{} (cached)", self.url))?;
        let warning = format!(
            "registry {} could not be refreshed ({reason}); using the last good copy",
            self.url
        );
        tracing::warn!(url = %self.url, %reason, "using the cached registry");
        Ok(Fetched {
            registry,
            freshness: Freshness::Stale { reason },
            warning: Some(warning),
        })
    }

    /// Fetches the registry, falling back to the last good copy.
    #[tracing::instrument(skip(self), fields(url = %self.url))]
    pub async fn fetch(&self) -> Result<Fetched, LoadError> {
        let cached = self.cached();
        let mut request = self.client.get(&self.url);
        if let Some((_, Some(etag))) = &cached {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag.as_str());
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return self.stale(cached, describe(&e)),
        };
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            let Some((text, _)) = &cached else {
                return Err(LoadError::Unreachable {
                    url: self.url.clone(),
                    message:
                        "the server answered 304 Not Modified to a request without a cached copy"
                            .into(),
                });
            };
            tracing::debug!(url = %self.url, "registry not modified");
            return Ok(Fetched {
                registry: ParsedRegistry::from_yaml_str(text, &format!("{} (cached)", self.url))?,
                freshness: Freshness::NotModified,
                warning: None,
            });
        }
        if !status.is_success() {
            return self.stale(cached, format!("HTTP {status}"));
        }
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match read_limited(response).await {
            Ok(b) => b,
            Err(reason) => return self.stale(cached, reason),
        };
        let text = match String::from_utf8(body) {
            Ok(t) => t,
            Err(_) => return self.stale(cached, "the body is not UTF-8".into()),
        };
        let registry = match ParsedRegistry::from_yaml_str(&text, &self.url) {
            Ok(r) => r,
            Err(e) if cached.is_some() => {
                return self.stale(cached, format!("the new copy is invalid: {e}"));
            }
            Err(e) => return Err(e),
        };
        if let Some((body_path, etag_path)) = self.cache_paths() {
            // A cache that cannot be written costs only a future refetch.
            let written = write_atomically(&body_path, text.as_bytes())
                .and_then(|()| write_atomically(&etag_path, etag.unwrap_or_default().as_bytes()));
            if let Err(e) = written {
                tracing::warn!(url = %self.url, error = %e, "could not cache the registry");
            }
        }
        Ok(Fetched {
            registry,
            freshness: Freshness::Downloaded,
            warning: None,
        })
    }
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(format!("the body is larger than {MAX_BODY_BYTES} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(format!("the body was cut off: {}", describe(&e))),
        }
    }
}

/// An error with its causes, which reqwest keeps in its source chain.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl HttpSourceBuilder {
    /// Cache copies under `dir`.
    #[must_use]
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Give up on a request after `timeout` (default 30 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Also trust this PEM root certificate (a private CA, or a test's self-signed one).
    #[must_use]
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots.push(pem.into());
        self
    }

    /// Allow `http://` URLs. Only for tests against a local server: a registry fetched
    /// in the clear can be withheld or replaced by anyone on the path (signatures still
    /// protect each entry, but not the set of entries).
    #[must_use]
    pub fn allow_plain_http_for_tests(mut self, allow: bool) -> Self {
        self.allow_plain_http = allow;
        self
    }

    /// Builds the source.
    pub fn build(self) -> Result<HttpSource, LoadError> {
        let bad = |message: String| LoadError::BadSource {
            source_name: self.url.clone(),
            message,
        };
        let parsed = reqwest::Url::parse(&self.url).map_err(|e| bad(format!("not a URL: {e}")))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_plain_http => {}
            other => return Err(bad(format!("scheme {other:?}; expected \"https\""))),
        }
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .https_only(!self.allow_plain_http)
            .user_agent(concat!("amiref-registry/", env!("CARGO_PKG_VERSION")));
        for pem in &self.roots {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| bad(format!("bad root certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let client = builder
            .build()
            .map_err(|e| bad(format!("cannot build an HTTP client: {e}")))?;
        Ok(HttpSource {
            url: self.url,
            cache_dir: self.cache_dir,
            client,
        })
    }
}
