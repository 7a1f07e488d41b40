//! Issue 15 in process: resolutions, `ami test --all-regions` and `ami copy` while the cloud
//! answers with faults: `cargo bench -p amiref --bench faults`.
//!
//! The cloud is the demo world (`examples/worlds/demo.yaml`, with every default commercial
//! region it does not define added, empty, so "all regions" is the 17 regions it is on AWS),
//! every call taking 50 ms (the latency knob). Each command runs through a fresh
//! [`Session`] over that cloud, as each launcher process does (nothing cached), on tokio's
//! paused clock: the figures are the simulated time the command took, latencies and every
//! back-off pause included, the CPU's own time not. Randomness is seeded, so a run repeats
//! exactly (on one commit).
//!
//! The fault set-ups (a fresh world each):
//! - `none`: no faults (the reference every answer is checked against);
//! - `seeded 30%`: a layer beneath the session's cloud answers a seeded 30% of calls, after
//!   the latency, with a fault (half `Throttled` as EC2's `RequestLimitExceeded`, half
//!   `Unavailable`), as scripts/faultproxy.py does in front of moto;
//! - `fail_next bursts`: before each command, the world's `fail_next` knob makes the next 3
//!   DescribeImages, 2 GetParameters, 1 GetCallerIdentity and 2 CopyImage calls fail
//!   (throttled, unavailable, throttled, throttled);
//! - `tight buckets`: the world's `Throttling` knob with buckets far smaller than EC2's (4
//!   calls, refilled at 2 per second, per account and region; CopyImage 2 at 0.2 per
//!   second), so a command's own burst of calls is throttled, and commands in a row drain
//!   the buckets further;
//! - `30% + sa-east-1 down`: seeded 30%, and the region sa-east-1 (one of us-east-1's
//!   cross-region fallbacks, and one of the 17) answers every call `Unavailable`
//!   (`set_region_down`). Its row in `ami test` must say unavailable; the others must match.
//!
//! The commands:
//! - 20 single resolutions in us-east-1, going round the demo templates
//!   (`examples/templates/*.yml`); each must give the answer the same template gave with no
//!   faults (the image id, or "no image" for a template that has none there);
//! - `ami test python-ml --all-regions` (`Session::availability` over the 17 regions):
//!   each region's row (status and image) must match the fault-free row;
//! - `ami copy` (`Session::copy_image`) of the community's cws-python-ml 2.1.0 x86_64
//!   image from us-east-1 to eu-central-1 (a 5-minute copy in the world's time): afterwards
//!   exactly one image in eu-central-1 must have it as its source.
//!
//! Beside the faults it injected, it lists the regions `ami test`'s report itself names as
//! having answered with faults (`RegionAvailability::faults`).
//!
//! It prints the figures as a Markdown table (docs/performance.md, "Under faults") and
//! exits 1 when an answer differs from the fault-free one or a copy is not made exactly
//! once. The time goals of issue 15 are reported as met or not; they do not change the
//! exit status.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use amiref::ResolveOptions;
use amiref_core::{
    AmiId, Cloud, CloudError, CloudErrorKind, ImageCatalog, ImageFilter, ImageState, Owner, Region,
};
use amiref_layers::{Call, Layer, Layered};
use amiref_lifecycle::{MemoryAuditSink, NoProgress};
use amiref_memory::{MemoryCloud, RateLimit, Throttling, op};
use amiref_session::{Availability, CopyRequest, Session, SessionBuilder};
use amiref_template::Template;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

const LATENCY: Duration = Duration::from_millis(50);
const RUNS: usize = 20;
const SEED: u64 = 15;
const FAULT_RATE: f64 = 0.3;
const HOME: &str = "us-east-1";
const DOWN: &str = "sa-east-1";
const COPY_TO: &str = "eu-central-1";
/// The community's cws-python-ml 2.1.0 x86_64 image in us-east-1 (demo world).
const COPY_SOURCE: &str = "ami-0123456789abcdef0";
const ALL_REGIONS_TEMPLATE: &str = "python-ml";

/// A layer that answers a seeded share of calls with a fault instead of making them.
struct SeededFaults {
    rate: f64,
    latency: Duration,
    rng: Mutex<ChaCha8Rng>,
    /// Faults injected, per region ("global" for calls without one: STS, the Marketplace).
    injected: Mutex<BTreeMap<String, u64>>,
}

impl SeededFaults {
    fn new(rate: f64, seed: u64) -> Self {
        Self {
            rate,
            latency: LATENCY,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
            injected: Mutex::new(BTreeMap::new()),
        }
    }

    /// The next call's fault, if it gets one.
    fn draw(&self) -> Option<CloudErrorKind> {
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        if rng.r#gen::<f64>() >= self.rate {
            return None;
        }
        Some(if rng.gen_bool(0.5) {
            CloudErrorKind::Throttled
        } else {
            CloudErrorKind::Unavailable
        })
    }

    /// The faults injected since the last call, per region (and forgets them).
    fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.injected.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Layer for SeededFaults {
    fn around<'a, T, F, Fut>(
        &'a self,
        call: Call<'a>,
        mut attempt: F,
    ) -> impl Future<Output = Result<T, CloudError>> + Send + 'a
    where
        T: Send + 'a,
        F: FnMut() -> Fut + Send + 'a,
        Fut: Future<Output = Result<T, CloudError>> + Send + 'a,
    {
        let fault = self.draw();
        async move {
            let Some(kind) = fault else {
                return attempt().await;
            };
            // A fault is an answer too: it costs the round trip.
            tokio::time::sleep(self.latency).await;
            let region = call
                .region
                .map_or_else(|| "global".to_owned(), Region::to_string);
            *self
                .injected
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(region)
                .or_default() += 1;
            let code = match kind {
                CloudErrorKind::Throttled => "RequestLimitExceeded",
                _ => "Unavailable",
            };
            let mut error =
                CloudError::new(kind, call.operation.method(), "injected fault").with_code(code);
            if let Some(region) = call.region {
                error = error.in_region(region);
            }
            Err(error)
        }
    }
}

/// The fault set-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    None,
    Seeded,
    Bursts,
    Buckets,
    SeededRegionDown,
}

impl Setup {
    const ALL: [Self; 5] = [
        Self::None,
        Self::Seeded,
        Self::Bursts,
        Self::Buckets,
        Self::SeededRegionDown,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Seeded => "seeded 30%",
            Self::Bursts => "fail_next bursts",
            Self::Buckets => "tight buckets",
            Self::SeededRegionDown => "30% + sa-east-1 down",
        }
    }
}

/// A world under one set-up, and the cloud sessions are given.
struct Bench {
    setup: Setup,
    world: Arc<MemoryCloud>,
    faults: Option<Arc<Layered<SeededFaults, Arc<MemoryCloud>>>>,
    cloud: Arc<dyn Cloud>,
    trust: PathBuf,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The demo world with every default commercial region it lacks added, empty.
fn demo_world() -> MemoryCloud {
    let path = root().join("examples/worlds/demo.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let missing: String = amiref_regions::commercial_regions()
        .filter(|r| !r.opt_in && !text.contains(&format!("\n  {}:", r.code)))
        .map(|r| format!("  {}:\n", r.code))
        .collect();
    let text = text.replacen("\nregions:\n", &format!("\nregions:\n{missing}"), 1);
    MemoryCloud::from_world_yaml(&text, &path.display().to_string()).unwrap()
}

impl Bench {
    fn new(setup: Setup) -> Self {
        let world = Arc::new(demo_world());
        world.set_latency(LATENCY);
        match setup {
            Setup::Buckets => world.set_throttling(Some(Throttling {
                non_mutating: RateLimit::new(4, 2.0),
                mutating: RateLimit::new(4, 2.0),
                copy_image: RateLimit::new(2, 0.2),
                parameters: RateLimit::new(4, 2.0),
            })),
            Setup::SeededRegionDown => world.set_region_down(&DOWN.parse().unwrap(), true),
            _ => {}
        }
        let faults = matches!(setup, Setup::Seeded | Setup::SeededRegionDown)
            .then(|| Arc::new(SeededFaults::new(FAULT_RATE, SEED).over(world.clone())));
        let cloud: Arc<dyn Cloud> = match &faults {
            Some(f) => f.clone(),
            None => world.clone(),
        };
        Self {
            setup,
            world,
            faults,
            cloud,
            trust: root().join("examples/worlds/demo.trust.yaml"),
        }
    }

    /// A fresh session, as a new launcher process has.
    async fn session(&self) -> Session {
        SessionBuilder::new()
            .with_cloud(self.cloud.clone())
            .with_region(HOME.parse().unwrap())
            .with_trust_policy_file(&self.trust)
            .with_audit(Arc::new(MemoryAuditSink::new()))
            .build()
            .await
            .unwrap()
    }

    /// Arms the per-command knobs of the set-up.
    fn arm(&self) {
        if self.setup == Setup::Bursts {
            self.world
                .fail_next(op::DESCRIBE_IMAGES, 3, CloudErrorKind::Throttled);
            self.world
                .fail_next(op::GET_PARAMETERS, 2, CloudErrorKind::Unavailable);
            self.world
                .fail_next(op::GET_CALLER_IDENTITY, 1, CloudErrorKind::Throttled);
            self.world
                .fail_next(op::COPY_IMAGE, 2, CloudErrorKind::Throttled);
        }
    }

    /// The faults the seeded layer injected since the last call, per region (the knobs'
    /// faults are not told apart from the world's other answers, so none are listed).
    fn take_faults(&self) -> BTreeMap<String, u64> {
        self.faults
            .as_ref()
            .map(|f| f.layer().take())
            .unwrap_or_default()
    }
}

/// What a resolution chose, to compare with the fault-free one.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Image(AmiId),
    NoImage,
}

struct Resolved {
    template: String,
    secs: f64,
    answer: Answer,
    /// A "no image" that a tier cut off by faults contributed to.
    cut_off: bool,
}

async fn resolve_once(bench: &Bench, template: &Template) -> Resolved {
    bench.arm();
    let session = bench.session().await;
    let start = Instant::now();
    let result = session
        .resolve(template, None, &ResolveOptions::default())
        .await;
    let secs = start.elapsed().as_secs_f64();
    let (answer, cut_off) = match &result {
        Ok(r) => (Answer::Image(r.image.id.clone()), false),
        Err(e) => (Answer::NoImage, e.is_transient()),
    };
    Resolved {
        template: template.name.clone(),
        secs,
        answer,
        cut_off,
    }
}

/// A region's row of `ami test`, without the reasons (which name the faults).
fn row_key(a: &Availability) -> String {
    match a {
        Availability::Available { image, .. } => format!("available {image}"),
        Availability::CrossRegionCopy {
            image,
            source_region,
            ..
        } => format!("copy {image} from {source_region}"),
        Availability::ScriptFallback { base_image, .. } => format!("script on {base_image}"),
        Availability::Unavailable { .. } => "unavailable".to_owned(),
        _ => format!("{a:?}"),
    }
}

struct AllRegions {
    secs: f64,
    rows: BTreeMap<String, String>,
    faults: BTreeMap<String, u64>,
    /// The regions the report itself says answered with faults: throttled and unavailable
    /// answers, and whether the region was given up.
    reported: BTreeMap<String, (u64, u64, bool)>,
}

async fn all_regions(bench: &Bench, template: &Template) -> AllRegions {
    bench.arm();
    let session = bench.session().await;
    let regions = session.all_regions();
    bench.take_faults();
    let start = Instant::now();
    let report = session.availability(template, &regions).await;
    let secs = start.elapsed().as_secs_f64();
    AllRegions {
        secs,
        rows: report
            .regions
            .iter()
            .map(|r| (r.region.to_string(), row_key(&r.availability)))
            .collect(),
        faults: bench.take_faults(),
        reported: report
            .regions
            .iter()
            .filter_map(|r| {
                let f = r.faults.as_ref()?;
                Some((
                    r.region.to_string(),
                    (f.throttled_count, f.unavailable_count, f.given_up),
                ))
            })
            .collect(),
    }
}

struct Copied {
    secs: f64,
    outcome: String,
    images_made: usize,
    copy_attempts: u64,
}

async fn copy_once(bench: &Bench) -> Copied {
    bench.arm();
    let session = bench.session().await;
    let source: AmiId = COPY_SOURCE.parse().unwrap();
    let to: Region = COPY_TO.parse().unwrap();
    let before = bench.world.counters().operation(op::COPY_IMAGE);
    bench.take_faults();
    let start = Instant::now();
    let result = session
        .copy_image(
            &CopyRequest::new(source.clone(), vec![to.clone()]),
            &NoProgress,
        )
        .await;
    let secs = start.elapsed().as_secs_f64();
    let injected: u64 = bench.take_faults().values().sum();
    let outcome = match &result {
        Ok(report) => format!("{:?}", report.regions.first().map(|r| &r.outcome)),
        Err(e) => format!("error: {e}"),
    };
    // Every copy of the source in the destination, whatever its state, asked of the world
    // itself (no faults).
    let filter = ImageFilter::owned_by([Owner::Me])
        .include_disabled(true)
        .states([
            ImageState::Available,
            ImageState::Pending,
            ImageState::Failed,
        ]);
    let images = bench.world.search_images(&to, &filter).await.unwrap();
    let images_made = images
        .iter()
        .filter(|i| i.source_image.as_ref() == Some(&source))
        .count();
    Copied {
        secs,
        outcome,
        images_made,
        copy_attempts: bench.world.counters().operation(op::COPY_IMAGE) - before + injected,
    }
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

struct Figures {
    setup: Setup,
    resolutions: Vec<Resolved>,
    all_regions: AllRegions,
    copy: Copied,
    calls: u64,
    injected: u64,
}

async fn run(setup: Setup, templates: &[Template], python_ml: &Template) -> Figures {
    let bench = Bench::new(setup);
    let mut resolutions = Vec::new();
    let mut injected = 0;
    for i in 0..RUNS {
        resolutions.push(resolve_once(&bench, &templates[i % templates.len()]).await);
        injected += bench.take_faults().values().sum::<u64>();
    }
    let all_regions = all_regions(&bench, python_ml).await;
    injected += all_regions.faults.values().sum::<u64>();
    let copy = copy_once(&bench).await;
    Figures {
        setup,
        resolutions,
        all_regions,
        copy,
        calls: bench.world.counters().total(),
        injected,
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("examples/templates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    paths.sort();
    let templates: Vec<Template> = paths
        .iter()
        .map(|p| Template::load_file(p).unwrap())
        .collect();
    let python_ml = templates
        .iter()
        .find(|t| t.name == ALL_REGIONS_TEMPLATE)
        .unwrap()
        .clone();
    let wall = std::time::Instant::now();
    let figures: Vec<Figures> = Setup::ALL
        .iter()
        .map(|&s| runtime.block_on(run(s, &templates, &python_ml)))
        .collect();
    let wall = wall.elapsed();
    std::process::exit(report(&figures, wall));
}

/// Prints the table and the mismatches; the exit status.
fn report(figures: &[Figures], wall: Duration) -> i32 {
    let reference = &figures[0];
    let expected: BTreeMap<&str, &Answer> = reference
        .resolutions
        .iter()
        .map(|r| (r.template.as_str(), &r.answer))
        .collect();
    let mut failed = false;
    println!(
        "| faults | resolutions right | median | slowest | `ami test --all-regions` (rows right) | faults injected in it, per region | regions the report names with faults (throttled + unavailable; given up) | `ami copy` | images made (CopyImage attempts) | calls that reached the world (+ faults injected instead) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for f in figures {
        let times: Vec<f64> = f.resolutions.iter().map(|r| r.secs).collect();
        let right = f
            .resolutions
            .iter()
            .filter(|r| expected.get(r.template.as_str()) == Some(&&r.answer))
            .count();
        for r in &f.resolutions {
            if expected.get(r.template.as_str()) != Some(&&r.answer) {
                failed = true;
                println!(
                    "MISMATCH ({}): {} gave {:?}, without faults {:?} (cut off by faults: {})",
                    f.setup.name(),
                    r.template,
                    r.answer,
                    expected.get(r.template.as_str()),
                    r.cut_off
                );
            }
        }
        let mut rows_right = 0;
        for (region, row) in &f.all_regions.rows {
            let want = reference.all_regions.rows.get(region);
            let down = f.setup == Setup::SeededRegionDown && region == DOWN;
            if (down && row == "unavailable") || (!down && want == Some(row)) {
                rows_right += 1;
            } else {
                failed = true;
                println!(
                    "MISMATCH ({}): ami test row {region}: {row}, without faults {want:?}",
                    f.setup.name()
                );
            }
        }
        if f.copy.images_made != 1 {
            failed = true;
            println!(
                "MISMATCH ({}): the copy made {} images ({})",
                f.setup.name(),
                f.copy.images_made,
                f.copy.outcome
            );
        }
        let faulted: Vec<String> = f
            .all_regions
            .faults
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        let reported: Vec<String> = f
            .all_regions
            .reported
            .iter()
            .map(|(r, (t, u, given_up))| {
                format!("{r} {t}+{u}{}", if *given_up { " given up" } else { "" })
            })
            .collect();
        println!(
            "| {} | {right}/{} | {:.2} s | {:.2} s | {:.2} s ({rows_right}/{}) | {} | {} | {:.1} s | {} ({}) | {} (+{}) |",
            f.setup.name(),
            f.resolutions.len(),
            median(&times),
            times.iter().copied().fold(0.0, f64::max),
            f.all_regions.secs,
            f.all_regions.rows.len(),
            if faulted.is_empty() {
                "-".to_owned()
            } else {
                faulted.join(", ")
            },
            if reported.is_empty() {
                "-".to_owned()
            } else {
                reported.join(", ")
            },
            f.copy.secs,
            f.copy.images_made,
            f.copy.copy_attempts,
            f.calls,
            f.injected,
        );
    }
    println!();
    for f in &figures[1..] {
        let times: Vec<f64> = f.resolutions.iter().map(|r| r.secs).collect();
        let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
        println!(
            "{}: median < 1 s {}; slowest < 5 s {}; ami test --all-regions < 5 s {}; one copy {}",
            f.setup.name(),
            verdict(median(&times) < 1.0),
            verdict(times.iter().all(|t| *t < 5.0)),
            verdict(f.all_regions.secs < 5.0),
            verdict(f.copy.images_made == 1),
        );
    }
    let cut_off: usize = figures
        .iter()
        .flat_map(|f| &f.resolutions)
        .filter(|r| r.cut_off)
        .count();
    println!(
        "\n{} resolutions per set-up, {} set-ups; 'no image' answers with a tier cut off by faults: {cut_off}; \
         simulated time on tokio's paused clock, {} ms per call; {:.1} s of wall time in all",
        RUNS,
        figures.len(),
        LATENCY.as_millis(),
        wall.as_secs_f64()
    );
    i32::from(failed)
}
