//! `amiref registry ...` (keys, signing, verifying registry files) and the registry's part of
//! the `ami` group: `ami list`, `ami rate`, and sharing an image into a community registry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use amiref_core::{AmiId, Owner, Region};
use amiref_registry::{
    Entry, HttpSource, KeyStatus, ParsedRegistry, PublisherKey, RatingsOverlay, Registry,
    RegistrySource, ScanStatus, TrustPolicy, TrustStore, Verification,
};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use crate::output::{EXIT_FAILED, Failure, json, say};
use crate::{GlobalArgs, Output, cloud};

/// The demo trust store, used when none is given.
const DEFAULT_TRUST_STORE: &str = "examples/registry/trust.yml";
/// The demo community registry, used when no registry is given.
const DEFAULT_COMMUNITY: &str = "examples/registry/community.yml";
/// The demo institutional registry, used when no registry is given.
const DEFAULT_INSTITUTIONAL: &str = "examples/registry/institutional.yml";

/// Registry keys and files.
#[derive(Debug, Subcommand)]
pub(crate) enum RegistryCommand {
    /// Make a publisher key pair: the secret key file, and the public half added to a trust
    /// store.
    Keygen {
        /// Who holds the key (a person, group or address).
        #[arg(long)]
        publisher: String,
        /// Where to write the secret key (refused if it exists, unless --force).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Add the public half to this trust store (created if missing).
        #[arg(long, value_name = "FILE")]
        trust_store: Option<PathBuf>,
        /// Overwrite an existing key file.
        #[arg(long)]
        force: bool,
    },
    /// Sign a registry file's entries in place (all, or one with --template and --version).
    Sign {
        /// The registry file.
        file: PathBuf,
        /// The secret key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Only this template's entries.
        #[arg(long)]
        template: Option<String>,
        /// Only this version (with --template).
        #[arg(long, requires = "template")]
        version: Option<String>,
    },
    /// Verify registry files against a trust store: every problem, located. Exits 1 when any
    /// entry would be refused.
    Verify {
        /// Registry files or directories.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Write a signed entry for an image into a registry file (what `ami share --community`
    /// does).
    Share(CommunityShareArgs),
}

/// The trust store and policy options.
#[derive(Debug, Clone, Args)]
pub(crate) struct TrustArgs {
    /// The trust store of publisher keys.
    #[arg(long, value_name = "FILE", env = "AMIREF_TRUST_STORE", default_value = DEFAULT_TRUST_STORE)]
    trust_store: PathBuf,
    /// Admit unsigned entries (they are marked UNSIGNED).
    #[arg(long)]
    allow_unsigned: bool,
    /// Refuse entries not marked tested.
    #[arg(long)]
    require_tested: bool,
    /// Refuse entries whose security scan has not passed.
    #[arg(long)]
    require_scan: bool,
}

impl TrustArgs {
    fn policy(&self) -> TrustPolicy {
        TrustPolicy::new()
            .allow_unsigned(self.allow_unsigned)
            .require_tested(self.require_tested)
            .require_security_scan(self.require_scan)
    }

    fn store(&self) -> Result<TrustStore, Failure> {
        TrustStore::load_file(&self.trust_store).map_err(|e| Failure::Failed(e.to_string()))
    }
}

/// Where registry entries come from.
#[derive(Debug, Clone, Args)]
pub(crate) struct SourceArgs {
    /// Community registries: files, directories or https:// URLs (repeatable)
    /// [default: examples/registry/community.yml].
    #[arg(long = "registry", value_name = "SOURCE")]
    community: Vec<String>,
    /// Institutional registries, ranked above the community's (repeatable)
    /// [default: examples/registry/institutional.yml when no source is given].
    #[arg(long, value_name = "SOURCE")]
    institutional: Vec<String>,
    /// Where remote registries are cached.
    #[arg(long, value_name = "DIR", env = "AMIREF_REGISTRY_CACHE")]
    cache_dir: Option<PathBuf>,
    /// Your own ratings file [default: $AMIREF_RATINGS, else ~/.amiref/ratings.yml].
    #[arg(long, value_name = "FILE")]
    ratings: Option<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
}

/// The registry's commands in the `ami` group.
#[derive(Debug, Subcommand)]
pub(crate) enum AmiRegistryCommand {
    /// List a template's images per region: registry entries (with ratings, verification and
    /// signer) and your own images.
    List {
        /// The template name.
        #[arg(long)]
        template: String,
        #[command(flatten)]
        sources: SourceArgs,
    },
    /// Rate a registry entry; kept in your local ratings file, which ranks above the sources.
    Rate {
        /// The template name.
        template: String,
        /// The entry's version.
        version: String,
        /// 1 to 5 stars.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
        stars: u8,
        /// A review, for people.
        #[arg(long)]
        review: Option<String>,
        /// The ratings file [default: $AMIREF_RATINGS, else ~/.amiref/ratings.yml].
        #[arg(long, value_name = "FILE")]
        ratings: Option<PathBuf>,
    },
}

/// `registry share`: an image into a community registry file, as a signed entry.
#[derive(Debug, Clone, Args)]
pub(crate) struct CommunityShareArgs {
    /// The image (yours, in the global --region).
    pub(crate) image: AmiId,
    /// The community registry: a file, or a name (NAME.yml in the current directory). Created
    /// if missing.
    #[arg(long, value_name = "NAME|FILE", requires_all = ["template", "version", "key"])]
    pub(crate) community: String,
    #[command(flatten)]
    pub(crate) entry: CommunityEntryArgs,
}

/// What a community entry says beyond the image; also flattened into `ami share`, where
/// `--community` selects it.
#[derive(Debug, Clone, Args)]
pub(crate) struct CommunityEntryArgs {
    /// The template the image is for (with --community).
    #[arg(long)]
    pub(crate) template: Option<String>,
    /// The entry's version: semver, +arm64 for another architecture's build (with --community).
    #[arg(long)]
    pub(crate) version: Option<String>,
    /// The publisher's secret key file (with --community).
    #[arg(long, value_name = "FILE")]
    pub(crate) key: Option<PathBuf>,
    /// What is in it [default: the image's description] (with --community).
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// Mark the image tested (with --community).
    #[arg(long)]
    pub(crate) tested: bool,
    /// The security scan's outcome (with --community).
    #[arg(long, value_enum, default_value_t = ScanArg::NotRun)]
    pub(crate) scan: ScanArg,
}

/// `--scan` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScanArg {
    /// No scan was run.
    NotRun,
    /// Scanning.
    Pending,
    /// The scan passed.
    Passed,
    /// The scan failed (such an entry is always refused by readers).
    Failed,
}

impl From<ScanArg> for ScanStatus {
    fn from(s: ScanArg) -> Self {
        match s {
            ScanArg::NotRun => ScanStatus::NotRun,
            ScanArg::Pending => ScanStatus::Pending,
            ScanArg::Passed => ScanStatus::Passed,
            ScanArg::Failed => ScanStatus::Failed,
        }
    }
}

/// Runs `amiref registry ...`.
pub(crate) fn run(cmd: RegistryCommand, global: &GlobalArgs) -> ExitCode {
    let result = match cmd {
        RegistryCommand::Keygen {
            publisher,
            out,
            trust_store,
            force,
        } => keygen(&publisher, &out, trust_store.as_deref(), force, global),
        RegistryCommand::Sign {
            file,
            key,
            template,
            version,
        } => sign(&file, &key, template.as_deref(), version.as_deref(), global),
        RegistryCommand::Verify { files, trust } => {
            with_runtime(global, |_| verify(&files, &trust, global))
        }
        RegistryCommand::Share(args) => with_runtime(global, |_| {
            share(&args.image, &args.community, &args.entry, global)
        }),
    };
    result.unwrap_or_else(Failure::report)
}

/// Runs the registry's `ami` commands, inside the `ami` group's runtime.
pub(crate) async fn run_ami(
    cmd: AmiRegistryCommand,
    global: &GlobalArgs,
) -> Result<ExitCode, Failure> {
    match cmd {
        AmiRegistryCommand::List { template, sources } => list(&template, &sources, global).await,
        AmiRegistryCommand::Rate {
            template,
            version,
            stars,
            review,
            ratings,
        } => rate(&template, &version, stars, review, ratings, global),
    }
}

/// Shares `image` into the community registry `community`: `ami share IMAGE --community
/// NAME ...`. Starts its own runtime, so call it outside one.
pub(crate) fn run_share_image(
    image: &AmiId,
    community: &str,
    entry: &CommunityEntryArgs,
    global: &GlobalArgs,
) -> ExitCode {
    with_runtime(global, |_| share(image, community, entry, global)).unwrap_or_else(Failure::report)
}

fn with_runtime<F, Fut>(global: &GlobalArgs, f: F) -> Result<ExitCode, Failure>
where
    F: FnOnce(&tokio::runtime::Runtime) -> Fut,
    Fut: std::future::Future<Output = Result<ExitCode, Failure>>,
{
    let runtime = cloud::runtime(global)?;
    let fut = f(&runtime);
    runtime.block_on(fut)
}

fn failed(e: impl std::fmt::Display) -> Failure {
    Failure::Failed(e.to_string())
}

fn keygen(
    publisher: &str,
    out: &Path,
    trust_store: Option<&Path>,
    force: bool,
    global: &GlobalArgs,
) -> Result<ExitCode, Failure> {
    if out.exists() && !force {
        return Err(Failure::Failed(format!(
            "{} exists; pass --force to replace it (entries signed with it stop verifying once it is gone from trust stores)",
            out.display()
        )));
    }
    let key = PublisherKey::generate_random(publisher);
    write_private(out, key.to_secret_yaml().as_bytes())?;
    if let Some(path) = trust_store {
        let mut store = if path.exists() {
            TrustStore::load_file(path).map_err(failed)?
        } else {
            TrustStore::new()
        };
        store.insert(publisher, key.verifying_key(), KeyStatus::Active);
        store.save_file(path).map_err(failed)?;
    }
    let info = key.info();
    if global.output == Output::Json {
        json(
            &json!({ "key_id": info.key_id, "publisher": info.publisher, "public_key": info.public_key,
                      "secret_key_file": out, "trust_store": trust_store }),
        );
    } else {
        say(format!("🔑 Key {} for {publisher}", info.key_id));
        say(format!(
            "   secret key: {} (keep it private)",
            out.display()
        ));
        say(format!("   public key: {}", info.public_key));
        if let Some(p) = trust_store {
            say(format!("   added to trust store {}", p.display()));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let io = |e: std::io::Error| failed(format!("cannot write {}: {e}", path.display()));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    std::io::Write::write_all(&mut file, bytes).map_err(io)
}

fn sign(
    file: &Path,
    key_file: &Path,
    template: Option<&str>,
    version: Option<&str>,
    global: &GlobalArgs,
) -> Result<ExitCode, Failure> {
    let key = PublisherKey::load_file(key_file).map_err(failed)?;
    let mut parsed = ParsedRegistry::load_file(file).map_err(failed)?;
    let targets: Vec<(String, String)> = parsed
        .document
        .community_amis
        .iter()
        .filter(|(t, _)| template.is_none_or(|want| want == t.as_str()))
        .flat_map(|(t, versions)| versions.keys().map(move |v| (t.clone(), v.clone())))
        .filter(|(_, v)| version.is_none_or(|want| want == v))
        .collect();
    if targets.is_empty() {
        return Err(Failure::Failed(format!(
            "no entry in {} matches{}{}",
            file.display(),
            template
                .map(|t| format!(" template {t}"))
                .unwrap_or_default(),
            version.map(|v| format!(" version {v}")).unwrap_or_default()
        )));
    }
    for (t, v) in &targets {
        parsed.sign(t, v, &key).map_err(failed)?;
    }
    parsed.save_file(file).map_err(failed)?;
    if global.output == Output::Json {
        json(&json!({ "file": file, "key_id": key.key_id().to_string(),
                      "signed": targets.iter().map(|(t, v)| json!({"template": t, "version": v})).collect::<Vec<_>>() }));
    } else {
        say(format!(
            "✍️  Signed {} entr{} in {} with {} ({})",
            targets.len(),
            if targets.len() == 1 { "y" } else { "ies" },
            file.display(),
            key.key_id(),
            key.publisher()
        ));
        for problem in parsed.problems() {
            say(format!("⚠️  signed, but readers will refuse it: {problem}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn verify(
    files: &[PathBuf],
    trust: &TrustArgs,
    global: &GlobalArgs,
) -> Result<ExitCode, Failure> {
    let store = trust.store()?;
    let mut builder = Registry::builder()
        .trust_store(store)
        .policy(trust.policy());
    for f in files {
        builder = builder.community(RegistrySource::path(f));
    }
    // Sharing policies are not a verification matter: list what a caller in every listed
    // organization would see by not filtering on identity here.
    let registry = builder.build().await.map_err(failed)?;
    let report = registry.report();
    if global.output == Output::Json {
        json(&json!({
            "ok": report.refused.is_empty(),
            "admitted": registry.entries().iter().map(|e| json!({
                "template": e.template, "version": e.version_text, "source": e.source,
                "provenance": e.provenance.to_string(),
            })).collect::<Vec<_>>(),
            "refused": report.refused.iter().map(|r| json!({
                "template": r.template, "version": r.version, "source": r.source, "reason": r.reason,
                "problems": r.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "not_shared_with_unknown_caller": report.not_shared,
            "warnings": report.warnings,
        }));
    } else {
        for e in registry.entries() {
            say(format!(
                "✅ {} {} — {}",
                e.template, e.version_text, e.provenance
            ));
        }
        if report.not_shared > 0 {
            say(format!(
                "ℹ️  {} entr{} restricted by a sharing policy (verified, not listed)",
                report.not_shared,
                if report.not_shared == 1 { "y" } else { "ies" }
            ));
        }
        for r in &report.refused {
            say(format!("❌ {r}"));
        }
        for w in &report.warnings {
            say(format!("⚠️  {w}"));
        }
    }
    Ok(if report.refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

fn ratings_path(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(|| {
            std::env::var_os("AMIREF_RATINGS")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".amiref/ratings.yml")))
        .unwrap_or_else(|| PathBuf::from("ratings.yml"))
}

fn rate(
    template: &str,
    version: &str,
    stars: u8,
    review: Option<String>,
    ratings: Option<PathBuf>,
    global: &GlobalArgs,
) -> Result<ExitCode, Failure> {
    let path = ratings_path(ratings);
    let mut overlay = RatingsOverlay::load_file(&path).map_err(failed)?;
    overlay
        .rate(template, version, stars, review.clone(), chrono::Utc::now())
        .map_err(failed)?;
    overlay.save_file(&path).map_err(failed)?;
    if global.output == Output::Json {
        json(
            &json!({ "template": template, "version": version, "stars": stars, "review": review, "file": path }),
        );
    } else {
        say(format!(
            "⭐ Rated {template} {version}: {}{} (kept in {}; ranks above every registry source)",
            "★".repeat(usize::from(stars)),
            "☆".repeat(usize::from(5 - stars.min(5))),
            path.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn source_of(text: &str, cache_dir: Option<&Path>) -> Result<RegistrySource, Failure> {
    if text.starts_with("https://") || text.starts_with("http://") {
        let mut b = HttpSource::builder(text);
        let cache = cache_dir.map(Path::to_path_buf).or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".amiref/registry-cache"))
        });
        if let Some(dir) = cache {
            b = b.cache_dir(dir);
        }
        return b.build().map(RegistrySource::Http).map_err(failed);
    }
    Ok(RegistrySource::path(text))
}

async fn list(
    template: &str,
    sources: &SourceArgs,
    global: &GlobalArgs,
) -> Result<ExitCode, Failure> {
    let opened = cloud::open(global).await?;
    let caller = opened.cloud.caller().await.map_err(failed)?;
    let (community, institutional) =
        if sources.community.is_empty() && sources.institutional.is_empty() {
            if global.cloud.image_registry.is_empty() {
                (
                    vec![DEFAULT_COMMUNITY.to_owned()],
                    vec![DEFAULT_INSTITUTIONAL.to_owned()],
                )
            } else {
                // The registries the resolver was given (`--image-registry`).
                (global.cloud.image_registry.clone(), Vec::new())
            }
        } else {
            (sources.community.clone(), sources.institutional.clone())
        };
    let mut builder = Registry::builder()
        .trust_store(sources.trust.store()?)
        .policy(sources.trust.policy())
        .caller(caller.clone())
        .overlay(RatingsOverlay::load_file(&ratings_path(sources.ratings.clone())).map_err(failed)?)
        .skip_unavailable_sources(true);
    if let Some(world) = &opened.world {
        builder = builder.now(world.now());
    }
    for s in &institutional {
        builder = builder.institutional(source_of(s, sources.cache_dir.as_deref())?);
    }
    for s in &community {
        builder = builder.community(source_of(s, sources.cache_dir.as_deref())?);
    }
    let registry = builder.build().await.map_err(failed)?;

    // Registry entries, per region.
    let mut rows: BTreeMap<Region, Vec<serde_json::Value>> = BTreeMap::new();
    for e in registry.entries_for(template) {
        for (region, image) in &e.entry.regions {
            let ratings = e.entry.ratings.as_ref();
            let verification = e
                .entry
                .verification
                .clone()
                .unwrap_or_else(|| Verification::new(false, ScanStatus::NotRun));
            rows.entry(region.clone()).or_default().push(json!({
                "image": image, "kind": e.layer.to_string(), "version": e.version_text,
                "architecture": e.entry.architecture, "description": e.entry.description,
                "rating": ratings.map(|r| r.average), "reviews": ratings.map(|r| r.reviews),
                "score": e.score.total, "tested": verification.tested,
                "security_scan": verification.security_scan, "provenance": e.provenance.to_string(),
                "owner": e.entry.owner,
            }));
        }
    }
    // The caller's own images tagged with the template.
    let regions = cloud::all_regions(&opened);
    for region in &regions {
        let filter = amiref_core::ImageFilter::owned_by([Owner::Me]);
        let images = match opened.cloud.search_images(region, &filter).await {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(%region, error = %e, "cannot list own images");
                continue;
            }
        };
        for image in images {
            let tagged = ["amiref:template", "Application"]
                .iter()
                .any(|k| image.tags.get(*k).is_some_and(|v| v == template));
            if tagged {
                rows.entry(region.clone()).or_default().push(json!({
                    "image": image.id, "kind": "yours", "version": image.tags.get("Version"),
                    "architecture": image.architecture, "description": image.name,
                    "state": image.state,
                }));
            }
        }
    }
    let report = registry.report();
    if global.output == Output::Json {
        json(&json!({
            "template": template,
            "regions": rows,
            "refused": report.refused.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "warnings": report.warnings,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    say(format!("📋 Available AMIs for template: {template}"));
    if rows.is_empty() {
        say("   (none in the registries or among your images)");
    }
    for (region, list) in &rows {
        say("");
        say(format!("Region: {region}"));
        for r in list {
            let name = format!("{} {}", template, r["version"].as_str().unwrap_or(""));
            let mut line = format!(
                "  {}  {:<26} {:<7} ({})",
                r["image"].as_str().unwrap_or(""),
                name,
                r["architecture"].as_str().unwrap_or(""),
                r["kind"].as_str().unwrap_or("")
            );
            if let Some(avg) = r["rating"].as_f64() {
                line.push_str(&format!("  ⭐ {avg:.1}/5 ({} reviews)", r["reviews"]));
            } else if r["kind"] != "yours" {
                line.push_str("  ⭐ unrated");
            }
            if r["kind"] != "yours" {
                let scan = r["security_scan"].as_str().unwrap_or("not_run");
                line.push_str(&format!(
                    "  {}{}",
                    if r["tested"] == true {
                        "tested"
                    } else {
                        "untested"
                    },
                    match scan {
                        "passed" => ", scan passed",
                        "failed" => ", scan FAILED",
                        "pending" => ", scan pending",
                        _ => ", no scan",
                    }
                ));
                line.push_str(&format!("  [{}]", r["provenance"].as_str().unwrap_or("")));
            } else if let Some(state) = r["state"].as_str() {
                line.push_str(&format!("  {state}"));
            }
            say(line);
        }
    }
    if !report.refused.is_empty() {
        say("");
        for r in &report.refused {
            say(format!("❌ refused: {r}"));
        }
    }
    for w in &report.warnings {
        say(format!("⚠️  {w}"));
    }
    Ok(ExitCode::SUCCESS)
}

fn community_path(name: &str) -> PathBuf {
    let p = PathBuf::from(name);
    if p.extension().is_some() || name.contains(std::path::MAIN_SEPARATOR) {
        p
    } else {
        PathBuf::from(format!("{name}.yml"))
    }
}

async fn share(
    image_id: &AmiId,
    community: &str,
    args: &CommunityEntryArgs,
    global: &GlobalArgs,
) -> Result<ExitCode, Failure> {
    let required = |value: Option<&str>, flag: &str| {
        value
            .map(str::to_owned)
            .ok_or_else(|| Failure::Failed(format!("{flag} is required with --community")))
    };
    let template = required(args.template.as_deref(), "--template")?;
    let version = required(args.version.as_deref(), "--version")?;
    let key_path = args
        .key
        .clone()
        .ok_or_else(|| Failure::Failed("--key is required with --community".into()))?;
    let key = PublisherKey::load_file(&key_path).map_err(failed)?;
    let opened = cloud::open(global).await?;
    let region = opened.region.clone();
    let caller = opened.cloud.caller().await.map_err(failed)?;
    let images = opened
        .cloud
        .describe_images(&region, std::slice::from_ref(image_id))
        .await
        .map_err(failed)?;
    let Some(image) = images.into_iter().next() else {
        return Err(Failure::Failed(format!(
            "{} does not exist in {region} (or is not visible to {}); an entry names an image in a region where it exists",
            image_id, caller.account
        )));
    };
    if image.owner != caller.account {
        return Err(Failure::Failed(format!(
            "{} is owned by {}, not by you ({}): share only your own images",
            image.id, image.owner, caller.account
        )));
    }
    if image.state != amiref_core::ImageState::Available {
        return Err(Failure::Failed(format!(
            "{} is {}, not available",
            image.id, image.state
        )));
    }
    let path = community_path(community);
    let mut parsed = if path.exists() {
        ParsedRegistry::load_file(&path).map_err(failed)?
    } else {
        ParsedRegistry::from_document(
            amiref_registry::RegistryDocument::new(),
            &path.display().to_string(),
        )
    };
    // The same version already listed (another region of one build): add this region.
    let existing = parsed
        .document
        .community_amis
        .get(&template)
        .and_then(|v| v.get(&version))
        .cloned();
    let mut entry = match existing {
        Some(e) if e.architecture != image.architecture => {
            return Err(Failure::Failed(format!(
                "{} {} is {} in {}, but {} is {}: use another version such as {}+{}",
                template,
                version,
                e.architecture,
                path.display(),
                image.id,
                image.architecture,
                version,
                image.architecture
            )));
        }
        Some(e) if e.owner.as_ref().is_some_and(|o| o != &image.owner) => {
            return Err(Failure::Failed(format!(
                "{} {} in {} is owned by another account",
                template,
                version,
                path.display()
            )));
        }
        Some(e) => e,
        None => Entry::new(key.publisher(), image.architecture, BTreeMap::new()),
    };
    entry.regions.insert(region.clone(), image.id.clone());
    entry.owner = Some(image.owner.clone());
    entry.description = args
        .description
        .clone()
        .or_else(|| image.description.clone())
        .unwrap_or(entry.description);
    if entry.created_at.is_none() {
        entry.created_at = Some(image.creation_date);
    }
    let mut verification = entry
        .verification
        .clone()
        .unwrap_or_else(|| Verification::new(false, ScanStatus::NotRun));
    verification.tested |= args.tested;
    if args.scan != ScanArg::NotRun {
        verification.security_scan = args.scan.into();
    }
    entry.verification = Some(verification);
    parsed
        .insert_signed(&template, &version, entry, &key)
        .map_err(failed)?;
    if let Some(problems) = parsed
        .entry_problems
        .get(&(template.clone(), version.clone()))
    {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(Failure::Failed(format!(
            "the entry would be refused by readers:\n  {}",
            list.join("\n  ")
        )));
    }
    parsed.save_file(&path).map_err(failed)?;
    if global.output == Output::Json {
        json(
            &json!({ "image": image.id, "region": region, "template": template, "version": version,
                      "registry": path, "key_id": key.key_id().to_string() }),
        );
    } else {
        say(format!(
            "✅ {} shared with the {} community: {} {} in {region}, signed by {} ({})",
            image.id,
            path.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("registry"),
            template,
            version,
            key.publisher(),
            key.key_id()
        ));
        say(format!("   written to {}", path.display()));
    }
    Ok(ExitCode::SUCCESS)
}
