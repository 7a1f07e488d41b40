//! The HTTPS source against a local server on 127.0.0.1: TLS with a self-signed certificate
//! made by the test, ETag and 304s, outages, truncated bodies, and the last good copy.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amiref_registry::{
    Freshness, HttpSource, KeyStatus, Layer, LoadError, Registry, RegistrySource, TrustStore,
};
use common::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// What the server answers to the next request.
enum Reply {
    Ok {
        etag: &'static str,
        body: String,
    },
    NotModified,
    /// Declares `body.len() * 2` bytes and sends `body`, then closes.
    Truncated {
        body: String,
    },
    Status(u16),
}

/// A one-request-per-connection HTTP/1.1 server on 127.0.0.1 that answers from a script.
struct Server {
    addr: SocketAddr,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(tls: Option<TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let replies: Arc<Mutex<VecDeque<Reply>>> = Arc::default();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let (r, q) = (replies.clone(), requests.clone());
        let task = tokio::spawn(async move {
            // Bounded: a test makes only a handful of requests.
            for _ in 0..32 {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (r, q) = (r.clone(), q.clone());
                match &tls {
                    Some(acceptor) => {
                        if let Ok(s) = acceptor.accept(stream).await {
                            answer(s, r, q).await;
                        }
                    }
                    None => answer(stream, r, q).await,
                }
            }
        });
        Self {
            addr,
            replies,
            requests,
            task,
        }
    }

    fn push(&self, reply: Reply) {
        self.replies.lock().unwrap().push_back(reply);
    }

    fn last_request(&self) -> String {
        self.requests
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or_default()
            .to_ascii_lowercase()
    }
}

async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<String>>>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    requests
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).into_owned());
    let reply = replies
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Reply::Status(500));
    let response = match reply {
        Reply::Ok { etag, body } => format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/yaml\r\nETag: {etag}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        Reply::NotModified => "HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n".to_owned(),
        Reply::Truncated { body } => format!(
            "HTTP/1.1 200 OK\r\nETag: \"t\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len() * 2
        ),
        Reply::Status(code) => {
            format!("HTTP/1.1 {code} Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        }
    };
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
}

/// A self-signed certificate for 127.0.0.1, and a TLS acceptor serving it.
fn tls() -> (String, TlsAcceptor) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .unwrap();
    (certified.cert.pem(), TlsAcceptor::from(Arc::new(config)))
}

fn registry_text(image: &str) -> String {
    let k = key(1);
    signed(
        document(vec![(
            "python-ml",
            "2.1.0",
            entry("us-east-1", image, Some((4.8, 23)), None),
        )]),
        "remote",
        &k,
    )
    .to_yaml_string()
    .unwrap()
}

fn image_of(fetched: &amiref_registry::Fetched) -> String {
    fetched.registry.document.community_amis["python-ml"]["2.1.0"].regions[&region("us-east-1")]
        .to_string()
}

#[tokio::test]
async fn https_with_etags_304s_outages_and_truncated_bodies() {
    let (pem, acceptor) = tls();
    let server = Server::start(Some(acceptor)).await;
    let cache = tempfile::tempdir().unwrap();
    let url = format!("https://127.0.0.1:{}/community.yml", server.addr.port());
    let source = HttpSource::builder(&url)
        .cache_dir(cache.path())
        .add_root_certificate_pem(pem.as_bytes())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    // 200: downloaded and cached with its ETag.
    server.push(Reply::Ok {
        etag: "\"v1\"",
        body: registry_text("ami-11111111"),
    });
    let f = source.fetch().await.unwrap();
    assert_eq!(f.freshness, Freshness::Downloaded);
    assert_eq!(image_of(&f), "ami-11111111");
    assert!(!server.last_request().contains("if-none-match"));

    // 304: the conditional request carries the ETag; the cached copy is used.
    server.push(Reply::NotModified);
    let f = source.fetch().await.unwrap();
    assert_eq!(f.freshness, Freshness::NotModified);
    assert!(
        server.last_request().contains("if-none-match: \"v1\""),
        "{}",
        server.last_request()
    );
    assert_eq!(image_of(&f), "ami-11111111");

    // A new version replaces the cache.
    server.push(Reply::Ok {
        etag: "\"v2\"",
        body: registry_text("ami-22222222"),
    });
    assert_eq!(image_of(&source.fetch().await.unwrap()), "ami-22222222");

    // A truncated body, an invalid body and a 500 never replace the last good copy.
    server.push(Reply::Truncated {
        body: registry_text("ami-33333333"),
    });
    let f = source.fetch().await.unwrap();
    assert!(
        matches!(&f.freshness, Freshness::Stale { reason } if reason.contains("cut off")),
        "{:?}",
        f.freshness
    );
    assert_eq!(image_of(&f), "ami-22222222");
    assert!(f.warning.unwrap().contains("last good copy"));

    server.push(Reply::Ok {
        etag: "\"v3\"",
        body: "community_amis: [not, a, registry".into(),
    });
    let f = source.fetch().await.unwrap();
    assert!(
        matches!(&f.freshness, Freshness::Stale { reason } if reason.contains("invalid")),
        "{:?}",
        f.freshness
    );
    assert_eq!(image_of(&f), "ami-22222222");

    server.push(Reply::Status(500));
    let f = source.fetch().await.unwrap();
    assert!(matches!(&f.freshness, Freshness::Stale { reason } if reason.contains("500")));
    // The ETag sent is still the last good copy's.
    assert!(server.last_request().contains("if-none-match: \"v2\""));

    // An outage: the server is gone.
    server.task.abort();
    let _ = server.task.await;
    let f = source.fetch().await.unwrap();
    assert!(matches!(f.freshness, Freshness::Stale { .. }));
    assert_eq!(image_of(&f), "ami-22222222");

    // Through the registry: the warning reaches the load report, and entries still verify.
    let reg = Registry::builder()
        .community(RegistrySource::Http(source.clone()))
        .trust_store(trust(&[&key(1)]))
        .now(now())
        .build()
        .await
        .unwrap();
    assert_eq!(
        reg.best("python-ml", &region("us-east-1"), &[])
            .unwrap()
            .image
            .as_str(),
        "ami-22222222"
    );
    assert!(
        reg.report()
            .warnings
            .iter()
            .any(|w| w.contains("last good copy")),
        "{:?}",
        reg.report()
    );
    let _ = Layer::Community;

    // The cached copy is re-verified against this load's trust stores: a key revoked since
    // the copy was cached (here by a second store; the first still lists it active) is
    // refused.
    let reg = Registry::builder()
        .community(RegistrySource::Http(source.clone()))
        .trust_store(trust(&[&key(1)]))
        .trust_store(TrustStore::new().with_key(
            "revoked",
            key(1).verifying_key(),
            KeyStatus::Revoked,
        ))
        .now(now())
        .build()
        .await
        .unwrap();
    assert!(reg.entries().is_empty());
    assert!(
        reg.report().refused[0].reason.contains("revoked"),
        "{:?}",
        reg.report()
    );

    // With no cache, an outage is an error, or a warning when sources may be skipped.
    let empty = tempfile::tempdir().unwrap();
    let uncached = HttpSource::builder(&url)
        .cache_dir(empty.path())
        .add_root_certificate_pem(pem.as_bytes())
        .build()
        .unwrap();
    assert!(matches!(
        uncached.fetch().await,
        Err(LoadError::Unreachable { .. })
    ));
    let reg = Registry::builder()
        .community(RegistrySource::Http(uncached))
        .skip_unavailable_sources(true)
        .build()
        .await
        .unwrap();
    assert!(reg.entries().is_empty());
    assert_eq!(reg.report().warnings.len(), 1);
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let (_pem, acceptor) = tls();
    let server = Server::start(Some(acceptor)).await;
    server.push(Reply::Ok {
        etag: "\"v1\"",
        body: registry_text("ami-11111111"),
    });
    let source = HttpSource::builder(format!("https://127.0.0.1:{}/c.yml", server.addr.port()))
        .build()
        .unwrap();
    match source.fetch().await {
        Err(LoadError::Unreachable { message, .. }) => {
            assert!(message.to_lowercase().contains("certificate"), "{message}")
        }
        other => panic!("expected a TLS failure, got {other:?}"),
    }
}

#[tokio::test]
async fn plain_http_needs_the_test_only_opt_in() {
    let err = HttpSource::builder("http://127.0.0.1:9/c.yml")
        .build()
        .unwrap_err();
    assert!(matches!(err, LoadError::BadSource { .. }), "{err}");
    assert!(HttpSource::builder("ftp://example/c.yml").build().is_err());

    let server = Server::start(None).await;
    server.push(Reply::Ok {
        etag: "\"p\"",
        body: registry_text("ami-11111111"),
    });
    let source = HttpSource::builder(format!("http://127.0.0.1:{}/c.yml", server.addr.port()))
        .allow_plain_http_for_tests(true)
        .build()
        .unwrap();
    let f = source.fetch().await.unwrap();
    assert_eq!(f.freshness, Freshness::Downloaded);
    // Without a cache directory nothing is kept, so a 304 cannot be used.
    server.push(Reply::NotModified);
    assert!(source.fetch().await.is_err());
}
