//! Round trips and calls of a cold resolution through the AWS adapter (`AwsCloud`), against
//! moto behind a proxy that delays every request by 50 ms:
//! `cargo bench -p amiref --features aws --bench aws_round_trips`.
//!
//! Needs the emulator: `scripts/moto install`, `cargo run -p amiref-aws --example
//! moto_fixture -- target/moto/amis.json`, `eval "$(scripts/moto start target/moto/amis.json)"`
//! (which exports `AMIREF_TEST_EC2_ENDPOINT`). Without that variable it says so and exits
//! successfully. Like every bench it never runs under `cargo test`.
//!
//! The proxy listens on 127.0.0.1 only and forwards only to a loopback emulator; it reads
//! each HTTP/1.1 request whole (head and `Content-Length` body, both bounded), notes its
//! operation and region, holds it 50 ms, then forwards it; answers flow back at once. So
//! every call costs 50 ms plus moto's own time, and a chain of calls that wait for each
//! other costs 50 ms per link. Each scenario is also timed straight against moto (no proxy)
//! to tell moto's own time apart.
//!
//! What it reports, per scenario (see `support::scenario`), concurrent tiers against the
//! serial baseline (`concurrent_tiers(false)`), each on a fresh resolver (caller identity and
//! facts cold; the SDK clients and their connections warm), in pairs of runs, one straight
//! to moto and one through the proxy:
//! - the round trips on the critical path: (time through the proxy - time straight to moto)
//!   / 50 ms, the median of the pairs. moto's own time is in both and cancels out; each call
//!   that waited for another adds 50 ms. The goals are checked on it, to the nearest round
//!   trip (it is measured, not counted);
//! - the waves the proxy saw the requests arrive in: a request opens a new wave when it
//!   arrives at least 50 ms after the first request of the current one (it could have
//!   waited for an answer then). A wave may hold a call the resolution did not wait for
//!   (sent just as the answer was decided, then dropped), so it is reported, not judged;
//! - the requests per operation and per region, concurrent against serial: the difference
//!   is what the concurrent resolver asked speculatively.
//!
//! The clients keep amiref-aws's retry policy. moto answers GetAllowedImagesSettings with an
//! HTTP 500 (it does not implement it); the adapter sends that call once (it is advisory to a
//! resolution), and the resolver warns that the setting could not be read.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use amiref::{AwsCloud, Resolver};
use amiref_core::{
    AmiId, CreateImageRequest, ImageCatalog, ImageStore, Instances, Parameters, Region,
    ResolutionMethod, RunInstanceRequest,
};
use amiref_template::Template;

const LATENCY: Duration = Duration::from_millis(50);
const ENDPOINT_VAR: &str = "AMIREF_TEST_EC2_ENDPOINT";
const RUNS: usize = 7;

/// The delaying proxy.
mod proxy {
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::Semaphore;
    use tokio::time::Instant;

    /// At most this many client connections at once (more wait to be accepted).
    const MAX_CONNECTIONS: usize = 128;
    /// A request head larger than this is refused (the SDK's are a few KiB).
    const MAX_HEAD: usize = 64 * 1024;
    /// A request body larger than this is refused.
    const MAX_BODY: usize = 8 * 1024 * 1024;
    /// A connection idle this long is closed.
    const IDLE: Duration = Duration::from_secs(600);

    /// One request the proxy forwarded.
    #[derive(Debug, Clone)]
    pub(crate) struct Request {
        /// When its head had arrived.
        pub(crate) at: Instant,
        /// The operation (`Action=`, `X-Amz-Target`, or the path).
        pub(crate) operation: String,
        /// The region of its signature's credential scope.
        pub(crate) region: String,
    }

    /// A proxy on 127.0.0.1 that holds every request `delay` before forwarding it.
    pub(crate) struct DelayProxy {
        pub(crate) addr: SocketAddr,
        log: Arc<Mutex<Vec<Request>>>,
        task: tokio::task::JoinHandle<()>,
    }

    impl DelayProxy {
        /// Starts the proxy in front of `upstream`, which must be a loopback address.
        pub(crate) async fn start(upstream: SocketAddr, delay: Duration) -> std::io::Result<Self> {
            if !upstream.ip().is_loopback() {
                return Err(std::io::Error::other(format!(
                    "the proxy forwards only to a loopback emulator, not {upstream}"
                )));
            }
            let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
            let addr = listener.local_addr()?;
            let log = Arc::new(Mutex::new(Vec::new()));
            let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
            let task = tokio::spawn({
                let log = log.clone();
                async move {
                    loop {
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            return;
                        };
                        let Ok((client, _)) = listener.accept().await else {
                            continue;
                        };
                        let log = log.clone();
                        tokio::spawn(async move {
                            let _permit = permit;
                            if let Err(e) = serve(client, upstream, delay, &log).await {
                                eprintln!("proxy: connection ended: {e}");
                            }
                        });
                    }
                }
            });
            Ok(Self { addr, log, task })
        }

        /// The requests forwarded since the last call (and forgets them).
        pub(crate) fn take(&self) -> Vec<Request> {
            std::mem::take(&mut *self.log.lock().unwrap_or_else(PoisonError::into_inner))
        }
    }

    impl Drop for DelayProxy {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    fn invalid(why: impl Into<String>) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, why.into())
    }

    async fn serve(
        client: TcpStream,
        upstream: SocketAddr,
        delay: Duration,
        log: &Mutex<Vec<Request>>,
    ) -> std::io::Result<()> {
        client.set_nodelay(true)?;
        let server = TcpStream::connect(upstream).await?;
        server.set_nodelay(true)?;
        let (mut from_client, mut to_client) = client.into_split();
        let (mut from_server, mut to_server) = server.into_split();
        // Answers go back as they come.
        let back = tokio::spawn(async move {
            let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
            let _ = to_client.shutdown().await;
        });
        let result = async {
            let mut buf: Vec<u8> = Vec::new();
            let mut chunk = vec![0u8; 16 * 1024];
            loop {
                // One request: its head...
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    if buf.len() > MAX_HEAD {
                        return Err(invalid("request head too large"));
                    }
                    let n = tokio::time::timeout(IDLE, from_client.read(&mut chunk))
                        .await
                        .map_err(|_| invalid("idle"))??;
                    if n == 0 {
                        return Ok(());
                    }
                    buf.extend_from_slice(&chunk[..n]);
                };
                let at = Instant::now();
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let header = |name: &str| {
                    head.lines().skip(1).find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.trim()
                            .eq_ignore_ascii_case(name)
                            .then(|| v.trim().to_owned())
                    })
                };
                if header("transfer-encoding").is_some() {
                    return Err(invalid("chunked requests are not supported"));
                }
                let length: usize = match header("content-length") {
                    Some(v) => v.parse().map_err(|_| invalid("bad content-length"))?,
                    None => 0,
                };
                if length > MAX_BODY {
                    return Err(invalid("request body too large"));
                }
                // ...and its body.
                while buf.len() < head_end + length {
                    let n = tokio::time::timeout(IDLE, from_client.read(&mut chunk))
                        .await
                        .map_err(|_| invalid("idle"))??;
                    if n == 0 {
                        return Err(invalid("request cut short"));
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let request: Vec<u8> = buf.drain(..head_end + length).collect();
                let body = String::from_utf8_lossy(&request[head_end..]);
                let operation = header("x-amz-target")
                    .and_then(|t| t.rsplit('.').next().map(str::to_owned))
                    .or_else(|| {
                        body.split('&')
                            .find_map(|kv| kv.strip_prefix("Action="))
                            .map(str::to_owned)
                    })
                    .unwrap_or_else(|| head.split_whitespace().nth(1).unwrap_or("?").to_owned());
                let region = header("authorization")
                    .and_then(|a| {
                        let scope = a.split("Credential=").nth(1)?;
                        scope.split('/').nth(2).map(str::to_owned)
                    })
                    .unwrap_or_default();
                log.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Request {
                        at,
                        operation,
                        region,
                    });
                tokio::time::sleep_until(at + delay).await;
                to_server.write_all(&request).await?;
            }
        }
        .await;
        let _ = to_server.shutdown().await;
        if result.is_err() {
            back.abort();
        } else {
            let _ = back.await;
        }
        result
    }
}

/// The emulator's endpoint, or `None` with the reason printed.
fn endpoint() -> Option<String> {
    match std::env::var(ENDPOINT_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            println!(
                "skipping: {ENDPOINT_VAR} is not set. Start moto first: `scripts/moto install`, \
                 `cargo run -p amiref-aws --example moto_fixture -- target/moto/amis.json`, \
                 `eval \"$(scripts/moto start target/moto/amis.json)\"`"
            );
            None
        }
    }
}

/// The loopback address of an `http://127.0.0.1:PORT` endpoint.
fn loopback(url: &str) -> Result<SocketAddr, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// endpoints can be proxied"))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let authority = authority.replace("localhost", "127.0.0.1");
    let addr: SocketAddr = authority
        .parse()
        .map_err(|e| format!("{url}: not host:port ({e})"))?;
    if addr.ip().is_loopback() {
        Ok(addr)
    } else {
        Err(format!(
            "{url}: the proxy forwards only to a loopback emulator"
        ))
    }
}

/// An `AwsCloud` on `url`, with amiref-aws's retry and timeout policy.
async fn cloud(url: &str) -> AwsCloud {
    AwsCloud::builder()
        .region("us-east-1".parse().expect("a region"))
        .endpoint_url(url)
        .static_credentials("testing", "testing")
        .build()
        .await
}

/// One scenario through the adapter.
struct Scenario {
    name: &'static str,
    region: Region,
    template: Template,
    method: ResolutionMethod,
    goal: Option<usize>,
}

/// Seeds moto (straight, not through the proxy) with the lab's image where the scenarios
/// need it: RunInstances on the region's Amazon Linux 2023 image, then CreateImage, named
/// for this run so that runs never see each other's images. Returns the scenarios, or why
/// they cannot run.
async fn seed(cloud: &AwsCloud) -> Result<Vec<Scenario>, String> {
    use support::scenario::*;
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let mut images: BTreeMap<&str, AmiId> = BTreeMap::new();
    for region_name in [MAPPED, SEARCHED, SCRIPTED, COPIED] {
        let region: Region = region_name.parse().unwrap();
        let names = [
            support::al2023_parameter("x86_64"),
            support::al2023_parameter("arm64"),
        ];
        let parameters = cloud
            .get_parameters(&region, &names)
            .await
            .map_err(|e| format!("GetParameters in {region}: {e}"))?;
        let mut ids = Vec::new();
        for name in &names {
            let p = parameters.get(name).ok_or_else(|| {
                format!("moto has no {name} in {region} (it serves AWS's public parameters from its own data)")
            })?;
            ids.push(
                p.value
                    .parse::<AmiId>()
                    .map_err(|e| format!("{name}: {e}"))?,
            );
        }
        let found = cloud
            .describe_images(&region, &ids)
            .await
            .map_err(|e| format!("DescribeImages in {region}: {e}"))?;
        if found.len() != ids.len() {
            return Err(format!(
                "the images AWS's public AL2023 parameters name in {region} are not in moto's EC2: \
                 start moto with the fixture of `cargo run -p amiref-aws --example moto_fixture`"
            ));
        }
        if region_name == MAPPED || region_name == SEARCHED {
            let instance = cloud
                .run_instance(
                    &region,
                    &RunInstanceRequest::new(ids[0].clone(), "m6i.large".parse().unwrap()),
                )
                .await
                .map_err(|e| format!("RunInstances in {region}: {e}"))?;
            let image = cloud
                .create_image(
                    &region,
                    &CreateImageRequest::new(instance, format!("cws-python-ml-{run}-2.1.0-x86_64")),
                )
                .await
                .map_err(|e| format!("CreateImage in {region}: {e}"))?;
            images.insert(region_name, image);
        }
    }
    let template = |owner: &str, cross_region: bool| {
        let (fallback, script) = if cross_region {
            ("cross_region", "")
        } else {
            (
                "script_provisioning",
                "user_data: |\n  #!/bin/bash\n  dnf install -y python3.12\n",
            )
        };
        Template::from_yaml_str(
            &format!(
                r#"name: python-ml-{run}
instance_types:
  x86_64: m6i.large
  arm64: m7g.large
ami_config:
  ami_mappings:
    {MAPPED}: {mapped}
  ami_search:
    owner: "{owner}"
    name_pattern: "cws-python-ml-{run}-*"
    version_constraint: ">=2.0.0, <3"
    architecture: [x86_64, arm64]
  fallback_strategy: {fallback}
  preferred_architecture: arm64
{script}"#,
                mapped = images[MAPPED],
            ),
            "bench.yml",
        )
        .unwrap()
    };
    Ok(vec![
        Scenario {
            name: "(a) mapping hit",
            region: MAPPED.parse().unwrap(),
            template: template("self", false),
            method: ResolutionMethod::DirectMapping,
            goal: Some(1),
        },
        Scenario {
            name: "(b) search hit (owner: self)",
            region: SEARCHED.parse().unwrap(),
            template: template("self", false),
            method: ResolutionMethod::DynamicSearch,
            goal: Some(1),
        },
        Scenario {
            name: "(c) script provisioning (default base image: public AL2023 parameter)",
            region: SCRIPTED.parse().unwrap(),
            template: template("self", false),
            method: ResolutionMethod::ScriptProvisioning,
            goal: Some(2),
        },
        Scenario {
            name: "(b') search hit, owner the lab's account id (trusted through self)",
            region: SEARCHED.parse().unwrap(),
            template: template(support::LAB, false),
            method: ResolutionMethod::DynamicSearch,
            goal: None,
        },
        Scenario {
            name: "(d) cross-region copy (fallback_strategy: cross_region)",
            region: COPIED.parse().unwrap(),
            template: template("self", true),
            method: ResolutionMethod::CrossRegion,
            goal: None,
        },
    ])
}

/// One cold resolution on a fresh resolver over `cloud`.
async fn resolve_once(cloud: &AwsCloud, s: &Scenario, concurrent: bool) -> Duration {
    let resolver = Resolver::builder()
        .cloud(Arc::new(cloud.clone()))
        .concurrent_tiers(concurrent)
        .build()
        .unwrap();
    let start = Instant::now();
    let r = resolver
        .resolve(&s.template, &s.region)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", s.name));
    let elapsed = start.elapsed();
    assert_eq!(r.method, s.method, "{}: {:#?}", s.name, r.chain);
    elapsed
}

/// The waves of `requests` (see the module docs), each as operation counts.
fn waves(requests: &[proxy::Request]) -> Vec<BTreeMap<String, usize>> {
    let mut sorted: Vec<&proxy::Request> = requests.iter().collect();
    sorted.sort_by_key(|r| r.at);
    let mut out: Vec<BTreeMap<String, usize>> = Vec::new();
    let mut opened = None;
    for r in sorted {
        if opened.is_none_or(|t| r.at.duration_since(t) >= LATENCY) {
            opened = Some(r.at);
            out.push(BTreeMap::new());
        }
        if let Some(wave) = out.last_mut() {
            *wave.entry(r.operation.clone()).or_insert(0) += 1;
        }
    }
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn show(m: &BTreeMap<String, usize>) -> String {
    m.iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() {
    let Some(url) = endpoint() else { return };
    let upstream = match loopback(&url) {
        Ok(a) => a,
        Err(why) => {
            println!("skipping: {why}");
            return;
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let ok = rt.block_on(async {
        let proxy = proxy::DelayProxy::start(upstream, LATENCY).await.unwrap();
        let straight = cloud(&url).await;
        let delayed = cloud(&format!("http://{}", proxy.addr)).await;
        let scenarios = match seed(&straight).await {
            Ok(s) => s,
            Err(why) => {
                println!("skipping: cannot seed the emulator: {why}");
                return true;
            }
        };
        println!(
            "## cold resolutions through AwsCloud, moto at {url} behind a proxy holding each request {} ms",
            LATENCY.as_millis()
        );
        println!(
            "(fresh resolver each time: caller identity and facts cold; SDK clients and connections warm; median of {RUNS})"
        );
        // Warm the SDK clients and connections of every region (not measured).
        for s in &scenarios {
            for concurrent in [true, false] {
                resolve_once(&straight, s, concurrent).await;
                resolve_once(&delayed, s, concurrent).await;
            }
        }
        proxy.take();
        let mut ok = true;
        for s in &scenarios {
            println!("{} in {}:", s.name, s.region);
            let mut counts: Vec<BTreeMap<String, (usize, usize)>> = Vec::new();
            for concurrent in [true, false] {
                let mut through = Vec::new();
                let mut direct = Vec::new();
                let mut differences = Vec::new();
                let mut wave_counts = BTreeSet::new();
                let mut per_run: Vec<BTreeMap<String, usize>> = Vec::new();
                let mut seen = Vec::new();
                let mut last = Vec::new();
                for _ in 0..RUNS {
                    let d = resolve_once(&straight, s, concurrent).await;
                    proxy.take();
                    let t = resolve_once(&delayed, s, concurrent).await;
                    let requests = proxy.take();
                    through.push(t);
                    direct.push(d);
                    differences.push(t.as_secs_f64() - d.as_secs_f64());
                    let w = waves(&requests);
                    wave_counts.insert(w.len());
                    let mut ops = BTreeMap::new();
                    for r in &requests {
                        *ops.entry(r.operation.clone()).or_insert(0) += 1;
                    }
                    per_run.push(ops);
                    seen = w;
                    last = requests;
                }
                differences.sort_by(f64::total_cmp);
                let trips = differences[differences.len() / 2] / LATENCY.as_secs_f64();
                let (t, d) = (median(through), median(direct));
                let label = if concurrent {
                    "concurrent"
                } else {
                    "serial baseline"
                };
                let goal = match (concurrent, s.goal) {
                    (true, Some(g)) => {
                        // Measured, so judged to the nearest round trip.
                        let met = trips < g as f64 + 0.5;
                        ok &= met;
                        format!(" [goal <= {g}: {}]", if met { "met" } else { "MISSED" })
                    }
                    (true, None) => " (reported, no goal)".to_owned(),
                    (false, _) => String::new(),
                };
                let waves_seen: Vec<String> = wave_counts.iter().map(ToString::to_string).collect();
                println!(
                    "  {label}: {trips:.2} round trips on the critical path{goal} = (through the proxy - straight to moto) / {} ms, median of {RUNS} pairs; {:.1} ms through the proxy = {:.2}x the delay, {:.1} ms straight (medians); requests sent in {} wave(s)",
                    LATENCY.as_millis(),
                    t.as_secs_f64() * 1e3,
                    t.as_secs_f64() / LATENCY.as_secs_f64(),
                    d.as_secs_f64() * 1e3,
                    waves_seen.join(" or ")
                );
                let by_wave: Vec<String> = seen
                    .iter()
                    .enumerate()
                    .map(|(k, w)| format!("wave {}: {}", k + 1, show(w)))
                    .collect();
                println!("    requests by wave (last run): {}", by_wave.join("; "));
                let mut regions: BTreeMap<&str, usize> = BTreeMap::new();
                for r in &last {
                    *regions.entry(r.region.as_str()).or_insert(0) += 1;
                }
                let regions: Vec<String> =
                    regions.iter().map(|(r, n)| format!("{r} {n}")).collect();
                println!("    requests by region (last run): {}", regions.join(", "));
                // Per operation, the fewest and most requests of a run.
                let mut range: BTreeMap<String, (usize, usize)> = BTreeMap::new();
                let all_ops: BTreeSet<String> =
                    per_run.iter().flat_map(|m| m.keys().cloned()).collect();
                for op in all_ops {
                    let n: Vec<usize> = per_run
                        .iter()
                        .map(|m| m.get(&op).copied().unwrap_or(0))
                        .collect();
                    let lo = n.iter().min().copied().unwrap_or(0);
                    let hi = n.iter().max().copied().unwrap_or(0);
                    range.insert(op, (lo, hi));
                }
                counts.push(range);
            }
            let ops: BTreeSet<&String> = counts[0].keys().chain(counts[1].keys()).collect();
            let shown = |(lo, hi): (usize, usize)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                }
            };
            let list: Vec<String> = ops
                .iter()
                .map(|op| {
                    let c = counts[0].get(*op).copied().unwrap_or((0, 0));
                    let b = counts[1].get(*op).copied().unwrap_or((0, 0));
                    let extra = if c.1 > b.1 {
                        format!(" (+{} speculative)", shown((c.0.saturating_sub(b.1), c.1 - b.1)))
                    } else {
                        String::new()
                    };
                    format!("{op} {}/{}{extra}", shown(c), shown(b))
                })
                .collect();
            let total = |m: &BTreeMap<String, (usize, usize)>| {
                let lo: usize = m.values().map(|r| r.0).sum();
                let hi: usize = m.values().map(|r| r.1).sum();
                shown((lo, hi))
            };
            println!(
                "  requests per resolution, concurrent/serial (fewest-most of {RUNS} runs): {}/{} in all: {}",
                total(&counts[0]),
                total(&counts[1]),
                list.join(", ")
            );
        }
        println!();
        ok
    });
    if !ok {
        eprintln!("some goals were MISSED");
        std::process::exit(1);
    }
}
