//! The performance figures of docs/performance.md, measured in one run:
//! `cargo bench -p amiref --bench report`.
//!
//! Each scenario states what it measures and checks the goal it is held to; a goal missed
//! is printed as MISSED and makes the run exit non-zero, so the figures in the docs cannot
//! silently drift from what the code does.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amiref::{PreparedTemplate, ResolveOptions};
use amiref_core::{Architecture, Region, ResolutionMethod};
use amiref_memory::Counters;
use amiref_strategies::search;
use amiref_template::Template;

const LATENCY: Duration = Duration::from_millis(50);

fn main() {
    let mut ok = true;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    ok &= cold_resolutions(&rt);
    ok &= rt.block_on(all_regions());
    ok &= rt.block_on(twenty_templates());
    ok &= selection();
    ok &= rt.block_on(search_end_to_end());
    ok &= cache_hits();
    ok &= shared_copy();
    if !ok {
        eprintln!("some goals were MISSED");
        std::process::exit(1);
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// One cold-resolution scenario of issue 10 (see `support::scenario`).
struct Cold {
    name: &'static str,
    region: &'static str,
    template: Template,
    method: ResolutionMethod,
    /// The most round trips the concurrent resolver may take (no goal: reported only).
    goal: Option<u32>,
}

fn cold_scenarios() -> Vec<Cold> {
    use support::scenario::*;
    vec![
        Cold {
            name: "(a) mapping hit",
            region: MAPPED,
            template: support::tiers_template(false),
            method: ResolutionMethod::DirectMapping,
            goal: Some(1),
        },
        Cold {
            name: "(b) search hit (owner: self)",
            region: SEARCHED,
            template: support::tiers_template(false),
            method: ResolutionMethod::DynamicSearch,
            goal: Some(1),
        },
        Cold {
            name: "(c) script provisioning (default base image: public AL2023 parameter)",
            region: SCRIPTED,
            template: support::tiers_template(false),
            method: ResolutionMethod::ScriptProvisioning,
            goal: Some(2),
        },
        Cold {
            name: "(b') search hit, owner the lab's account id (trusted through self)",
            region: SEARCHED,
            template: support::tiers_template_owned_by(support::LAB, false),
            method: ResolutionMethod::DynamicSearch,
            goal: None,
        },
        Cold {
            name: "(d) cross-region copy (fallback_strategy: cross_region)",
            region: COPIED,
            template: support::tiers_template(true),
            method: ResolutionMethod::CrossRegion,
            goal: None,
        },
    ]
}

/// One cold resolution: a fresh world and a fresh resolver (caller identity, instance
/// types, offerings and Allowed AMIs not yet known), on whatever clock the runtime has.
async fn cold_once(s: &Cold, concurrent: bool) -> Duration {
    let cloud = support::tiers_world(LATENCY);
    let resolver = support::resolver_with(&cloud, concurrent);
    let region: Region = s.region.parse().unwrap();
    let start = tokio::time::Instant::now();
    let r = resolver
        .resolve(&s.template, &region)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", s.name));
    let elapsed = start.elapsed();
    assert_eq!(r.method, s.method, "{}: {:#?}", s.name, r.chain);
    elapsed
}

/// Calls per operation, summed over regions.
fn per_operation(c: &Counters) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (op, _, n) in c.iter() {
        *out.entry(op.to_owned()).or_insert(0) += n;
    }
    out
}

/// [`cold_once`] on tokio's paused clock, with the calls sorted by when they were made:
/// the counters are read half a latency after each multiple of it, so wave `k` holds the
/// calls made at `k` x 50 ms (each made only once the one before it answered).
async fn cold_waves(s: &Cold, concurrent: bool) -> (Duration, Vec<BTreeMap<String, u64>>) {
    let cloud = support::tiers_world(LATENCY);
    let resolver = support::resolver_with(&cloud, concurrent);
    let region: Region = s.region.parse().unwrap();
    let (template, name, method) = (s.template.clone(), s.name, s.method.clone());
    let start = tokio::time::Instant::now();
    let task = tokio::spawn(async move {
        let r = resolver
            .resolve(&template, &region)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.method, method, "{name}: {:#?}", r.chain);
        start.elapsed()
    });
    let mut seen = BTreeMap::new();
    let mut waves = Vec::new();
    let mut k = 0u32;
    while !task.is_finished() {
        tokio::time::sleep_until(start + LATENCY * (2 * k + 1) / 2).await;
        let now = per_operation(&cloud.counters());
        let wave: BTreeMap<String, u64> = now
            .iter()
            .map(|(op, n)| (op.clone(), n - seen.get(op).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect();
        waves.push(wave);
        seen = now;
        k += 1;
    }
    let elapsed = task.await.unwrap();
    while waves.last().is_some_and(BTreeMap::is_empty) {
        waves.pop();
    }
    (elapsed, waves)
}

fn sum_waves(waves: &[BTreeMap<String, u64>]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for w in waves {
        for (op, n) in w {
            *out.entry(op.clone()).or_insert(0) += n;
        }
    }
    out
}

fn show_calls(m: &BTreeMap<String, u64>) -> String {
    m.iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Round trips on the critical path of a cold resolution at 50 ms per call, concurrent
/// tiers against the serial baseline (`concurrent_tiers(false)`), and the calls each makes.
/// Round trips are exact on tokio's paused clock (elapsed / latency, the CPU's time not
/// counted); the wall time on the real clock is the median of 7.
fn cold_resolutions(rt: &tokio::runtime::Runtime) -> bool {
    let paused = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let mut ok = true;
    println!(
        "## cold resolutions, {} ms per call (fresh resolver each time: caller identity and facts cold)",
        LATENCY.as_millis()
    );
    for s in cold_scenarios() {
        let mut trips = [0.0; 2];
        let mut wall = [Duration::ZERO; 2];
        let mut calls = Vec::new();
        let mut waves = Vec::new();
        for (i, concurrent) in [true, false].into_iter().enumerate() {
            let (elapsed, w) = paused.block_on(cold_waves(&s, concurrent));
            trips[i] = elapsed.as_secs_f64() / LATENCY.as_secs_f64();
            calls.push(sum_waves(&w));
            waves.push(w);
            let runs: Vec<Duration> = (0..7)
                .map(|_| rt.block_on(cold_once(&s, concurrent)))
                .collect();
            wall[i] = median(runs);
        }
        let met = s.goal.is_none_or(|g| trips[0] <= f64::from(g) + 1e-9);
        ok &= met;
        let goal = match s.goal {
            Some(g) => format!(" [goal <= {g}: {}]", verdict(met)),
            None => " (reported, no goal)".to_owned(),
        };
        println!("{} in {}:", s.name, s.region);
        println!(
            "  concurrent: {:.2} round trips (paused clock), {:.1} ms wall = {:.2}x one call (median of 7){goal}",
            trips[0],
            wall[0].as_secs_f64() * 1e3,
            wall[0].as_secs_f64() / LATENCY.as_secs_f64()
        );
        println!(
            "  serial baseline: {:.2} round trips, {:.1} ms wall = {:.2}x one call",
            trips[1],
            wall[1].as_secs_f64() * 1e3,
            wall[1].as_secs_f64() / LATENCY.as_secs_f64()
        );
        let ops: BTreeSet<&String> = calls[0].keys().chain(calls[1].keys()).collect();
        let total = |m: &BTreeMap<String, u64>| m.values().sum::<u64>();
        let list: Vec<String> = ops
            .iter()
            .map(|op| {
                let (c, b) = (
                    calls[0].get(*op).copied().unwrap_or(0),
                    calls[1].get(*op).copied().unwrap_or(0),
                );
                let extra = if c > b {
                    format!(" (+{} speculative)", c - b)
                } else {
                    String::new()
                };
                format!("{op} {c}/{b}{extra}")
            })
            .collect();
        println!(
            "  calls, concurrent/serial: {}/{} in all: {}",
            total(&calls[0]),
            total(&calls[1]),
            list.join(", ")
        );
        for (label, w) in [("concurrent", &waves[0]), ("serial", &waves[1])] {
            let by_time: Vec<String> = w
                .iter()
                .enumerate()
                .map(|(k, calls)| {
                    format!(
                        "t={} ms: {}",
                        LATENCY.as_millis() * k as u128,
                        if calls.is_empty() {
                            "-".to_owned()
                        } else {
                            show_calls(calls)
                        }
                    )
                })
                .collect();
            println!(
                "  {label} calls by when they were made: {}",
                by_time.join("; ")
            );
        }
    }
    println!();
    ok
}

/// `ami test --all-regions`: one template, every commercial region, 50 ms per call.
async fn all_regions() -> bool {
    let (cloud, templates, regions) = support::every_region_world(1, LATENCY);
    let resolver = support::resolver(&cloud);
    let fresh = ResolveOptions::default().use_cache(false);
    // The caller's identity is fetched once per resolver: warm it.
    resolver
        .resolve_with(&templates[0], &regions[0], &fresh)
        .await
        .unwrap();
    let mut concurrent = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        let results = resolver
            .resolve_many_with(&templates, &regions, &fresh)
            .await;
        concurrent.push(start.elapsed());
        assert!(results.iter().all(|r| r.result.is_ok()));
    }
    let mut serial = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        for region in &regions {
            resolver
                .resolve_with(&templates[0], region, &fresh)
                .await
                .unwrap();
        }
        serial.push(start.elapsed());
    }
    let (c, s) = (median(concurrent), median(serial));
    let ratio = c.as_secs_f64() / LATENCY.as_secs_f64();
    let met = ratio <= 1.5;
    println!(
        "## ami test --all-regions ({} regions, {} ms per call)",
        regions.len(),
        LATENCY.as_millis()
    );
    println!(
        "concurrent (resolve_many), median of 7: {:.1} ms = {ratio:.2}x one call  [goal <= 1.5x: {}]",
        c.as_secs_f64() * 1e3,
        verdict(met)
    );
    println!(
        "serial baseline, median of 3: {:.1} ms ({:.1}x the concurrent time)",
        s.as_secs_f64() * 1e3,
        s.as_secs_f64() / c.as_secs_f64()
    );
    println!();
    met
}

/// 20 templates x every region, all direct mappings: describe calls per region.
async fn twenty_templates() -> bool {
    let (cloud, templates, regions) = support::every_region_world(20, LATENCY);
    let resolver = support::resolver(&cloud);
    // The caller's identity is fetched once per resolver: warm it (one more region's call).
    resolver.resolve(&templates[0], &regions[0]).await.unwrap();
    let resolver = resolver.clone();
    cloud.reset_counters();
    let start = Instant::now();
    let results = resolver
        .resolve_many_with(
            &templates,
            &regions,
            &ResolveOptions::default().use_cache(false),
        )
        .await;
    let elapsed = start.elapsed();
    assert!(results.iter().all(|r| r.result.is_ok()));
    let counters = cloud.counters();
    let per_region: Vec<u64> = regions
        .iter()
        .map(|r| counters.get("DescribeImages", Some(r)))
        .collect();
    let max = per_region.iter().copied().max().unwrap_or(0);
    let met = max <= 1;
    println!(
        "## 20 templates x {} regions, direct mappings",
        regions.len()
    );
    println!(
        "{} resolutions in {:.1} ms; DescribeImages per region: max {max} [goal <= 1: {}]; all calls: {}",
        results.len(),
        elapsed.as_secs_f64() * 1e3,
        verdict(met),
        counters.total()
    );
    println!();
    met
}

/// Choosing among 100,000 candidates (the selection alone): images/s and peak memory.
fn selection() -> bool {
    const N: usize = 100_000;
    let rss_before_input = support::rss_kib().unwrap_or(0);
    let images = support::candidates(N, 7);
    let rss_with_input = support::rss_kib().unwrap_or(0);
    let input = support::selection_input();
    let criteria = input.criteria();
    let reset = support::reset_peak_rss();
    let mut runs = Vec::new();
    let mut winner = None;
    for _ in 0..11 {
        let start = Instant::now();
        let sel = search::select(&images, &criteria).unwrap();
        runs.push(start.elapsed());
        winner = Some((sel.image.id.clone(), sel.matching));
    }
    let peak_during = support::peak_rss_kib().unwrap_or(0);
    let t = median(runs);
    let (id, matching) = winner.unwrap();
    let chosen = images.iter().find(|i| i.id == id).unwrap();
    let met = chosen.owner.as_str() == support::LAB;
    println!("## choosing among {N} candidate images (search::select)");
    println!(
        "median of 11: {:.2} ms = {:.1} million images/s; {matching} passed every check; winner {} ({}) [owner the lab's, never the stranger's: {}]",
        t.as_secs_f64() * 1e3,
        N as f64 / t.as_secs_f64() / 1e6,
        chosen.name,
        chosen.id,
        verdict(met)
    );
    println!(
        "memory: the {N} input images take {} KiB of RSS; peak RSS while choosing {} KiB, {} KiB above the RSS with the input loaded{}",
        rss_with_input.saturating_sub(rss_before_input),
        peak_during,
        peak_during.saturating_sub(rss_with_input),
        if reset {
            ""
        } else {
            " (peak not resettable here: includes building the input)"
        }
    );
    println!();
    met
}

/// The same choice end to end: the search tier over a 100,000-image region of the
/// in-process cloud (no latency), through the resolver.
async fn search_end_to_end() -> bool {
    use amiref_memory::{ImageSeed, MemoryCloud};
    const N: usize = 100_000;
    let images = support::candidates(N, 11);
    let cloud = Arc::new(
        MemoryCloud::builder()
            .caller(support::LAB.parse().unwrap())
            .region("us-east-1".parse().unwrap())
            .instance_type("m6i.large".parse().unwrap(), [Architecture::X86_64])
            .instance_type("m7g.large".parse().unwrap(), [Architecture::Arm64])
            .images(images.into_iter().map(ImageSeed::new))
            .build()
            .unwrap(),
    );
    let resolver = support::resolver(&cloud);
    let template = support::search_template();
    let region: Region = "us-east-1".parse().unwrap();
    let fresh = ResolveOptions::default().use_cache(false);
    resolver
        .resolve_with(&template, &region, &fresh)
        .await
        .unwrap();
    let mut runs = Vec::new();
    let mut r = None;
    for _ in 0..5 {
        let start = Instant::now();
        r = Some(
            resolver
                .resolve_with(&template, &region, &fresh)
                .await
                .unwrap(),
        );
        runs.push(start.elapsed());
    }
    let t = median(runs);
    let r = r.unwrap();
    let met = r.image.owner.as_str() == support::LAB;
    println!("## dynamic search end to end over a {N}-image region (in-process cloud, no latency)");
    println!(
        "median of 5: {:.1} ms per resolution ({:.2} million images/s); chose {} [the lab's: {}]",
        t.as_secs_f64() * 1e3,
        N as f64 / t.as_secs_f64() / 1e6,
        r.image.name,
        verdict(met)
    );
    println!();
    met
}

/// Cache hits on one core (a current-thread runtime on this thread): resolutions per
/// second through `resolve_shared` (a `PreparedTemplate`, the resolution shared) and through
/// `resolve` (hashing the template and cloning the resolution on every call), and the calls
/// to the cloud during them.
fn cache_hits() -> bool {
    const SHARED_N: u32 = 2_000_000;
    const PLAIN_N: u32 = 200_000;
    const BATCHES: usize = 5;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (cloud, templates, regions) = support::every_region_world(1, LATENCY);
        let resolver = support::resolver(&cloud);
        let prepared = PreparedTemplate::new(templates[0].clone());
        let options = ResolveOptions::default();
        resolver
            .resolve_shared(&prepared, &regions[0], &options)
            .await
            .unwrap();
        resolver.resolve(&templates[0], &regions[0]).await.unwrap();
        let calls = cloud.counters().total();
        let mut shared = Vec::new();
        let mut plain = Vec::new();
        for _ in 0..BATCHES {
            let start = Instant::now();
            for _ in 0..SHARED_N {
                std::hint::black_box(
                    resolver
                        .resolve_shared(&prepared, &regions[0], &options)
                        .await
                        .unwrap(),
                );
            }
            shared.push(start.elapsed() / SHARED_N);
            let start = Instant::now();
            for _ in 0..PLAIN_N {
                std::hint::black_box(resolver.resolve(&templates[0], &regions[0]).await.unwrap());
            }
            plain.push(start.elapsed() / PLAIN_N);
        }
        let extra = cloud.counters().total() - calls;
        let best = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
        let per_s = |d: Duration| 1.0 / d.as_secs_f64() / 1e6;
        let (s, p) = (median(shared.clone()), median(plain.clone()));
        let met_rate = per_s(s) >= 2.0;
        let met_calls = extra == 0;
        println!("## cache hits (one core: a current-thread runtime, one task)");
        println!(
            "resolve_shared (PreparedTemplate, Arc<Resolution>): {:.0} ns per hit = {:.2} million resolutions/s (median of {BATCHES} batches of {SHARED_N}; best {:.2} million/s) [goal >= 2 million/s: {}]",
            s.as_secs_f64() * 1e9,
            per_s(s),
            per_s(best(&shared)),
            verdict(met_rate)
        );
        println!(
            "resolve (hashes the template, clones the Resolution): {:.0} ns per hit = {:.2} million resolutions/s (median of {BATCHES} batches of {PLAIN_N}; best {:.2} million/s)",
            p.as_secs_f64() * 1e9,
            per_s(p),
            per_s(best(&plain))
        );
        println!(
            "cloud calls during {} hits: {extra} [goal 0: {}]",
            BATCHES as u32 * (SHARED_N + PLAIN_N),
            verdict(met_calls)
        );
        println!();
        met_rate && met_calls
    })
}

/// 100 concurrent resolutions that need the same cross-region copy, then 100 concurrent
/// executions: CopyImage calls. On tokio's paused clock (the demo's copy takes 5 minutes
/// of world time).
fn shared_copy() -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let cloud = support::demo();
        cloud.set_latency(LATENCY);
        let resolver = support::resolver(&cloud);
        let template = support::cross_region_template();
        let region: Region = "ap-south-1".parse().unwrap();
        let start = tokio::time::Instant::now();
        let resolutions =
            futures::future::join_all((0..100).map(|_| resolver.resolve(&template, &region))).await;
        let plans: Vec<_> = resolutions
            .into_iter()
            .map(|r| r.unwrap().copy_plan.unwrap())
            .collect();
        // The one copy engine, as the session layer runs it for each launch.
        let audit = amiref::lifecycle::MemoryAuditSink::new();
        let lifecycle = amiref::lifecycle::Lifecycle::new(cloud.as_ref(), &audit);
        let images_before = cloud.image_count(&region);
        let copies = futures::future::join_all(plans.iter().map(|p| {
            lifecycle.copy_to_region(&p.source_region, &p.source_image, &p.destination_region)
        }))
        .await;
        let ids: std::collections::BTreeSet<_> =
            copies.into_iter().map(|c| c.unwrap().id).collect();
        let copy_calls = cloud.counters().operation("CopyImage");
        let made = cloud.image_count(&region) - images_before;
        let met = made == 1 && ids.len() == 1;
        println!("## 100 concurrent launches needing the same cross-region copy (demo world, ap-south-1)");
        println!(
            "CopyImage calls: {copy_calls}, images made: {made}, distinct copies handed out: {} [goal exactly 1: {}]; world time until all 100 had the available copy: {:.1} min",
            ids.len(),
            verdict(met),
            start.elapsed().as_secs_f64() / 60.0
        );
        println!();
        met
    })
}
