//! `amiref-http`: the workflow layer behind HTTP, a second frontend beside the `amiref`
//! launcher. It shares no code with the launcher: routes (`routes.rs`) check the request
//! and call one `amiref-session` operation each, in a session of its own (`service.rs`),
//! and every body is the JSON document the launcher prints with `--output json`
//! (`reply.rs`, through `amiref-report`). docs/http.md has the endpoints.
//!
//! `amiref-http --world FILE --templates DIR --listen 127.0.0.1:PORT` prints the address it
//! listens on as the first line of stdout (`http://127.0.0.1:PORT`, also for port 0) and
//! serves until SIGINT or SIGTERM, finishing the requests under way.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use amiref_session::SessionBuilder;
use clap::Parser;

mod builds;
mod checks;
mod compliance;
mod reply;
mod reports;
mod routes;
mod service;

/// Serve amiref's templates, resolutions, availability and launches over HTTP.
#[derive(Debug, Parser)]
#[command(name = "amiref-http", version, about)]
struct Args {
    /// The world file to run on (the in-process cloud; its state is kept in the state
    /// directory between requests and between runs).
    #[arg(long, value_name = "FILE")]
    world: PathBuf,
    /// A template directory (repeat for more; the first that has a name wins). Default:
    /// the configuration's `templates`.
    #[arg(long, value_name = "DIR")]
    templates: Vec<PathBuf>,
    /// The address to listen on; port 0 takes a free port (the first line of stdout says
    /// which).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where the world's state is kept. Default: $AMIREF_STATE_DIR, the configuration's
    /// `state_dir`, else a directory per world file under $XDG_STATE_HOME/amiref/worlds.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// The region of requests that name none. Default: $AWS_REGION, the configuration,
    /// else us-east-1.
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // $AMIREF_LOG, else $RUST_LOG, on stderr. Fails only when a subscriber is already
    // installed, which nothing before this does.
    let _ = amiref::telemetry::Logging::from_env().init();
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("amiref-http: {message}");
            ExitCode::from(amiref_report::exit::FAILED)
        }
    }
}

/// Checks the configuration by building one session, then serves on a multi-threaded
/// runtime of its own (the sessions run on theirs: see `service.rs`).
fn serve(args: Args) -> Result<(), String> {
    let builder = session_builder(&args).map_err(|e| amiref_report::message_with_causes(&e))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let service = service::Service::start(builder).await?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let bound = listener
            .local_addr()
            .map_err(|e| format!("the address listened on: {e}"))?;
        announce(bound)?;
        axum::serve(listener, routes::router(Arc::new(service)))
            .with_graceful_shutdown(stop_signal())
            .await
            .map_err(|e| format!("serving on {bound}: {e}"))
    })
}

/// The first line of stdout, which scripts and tests wait for.
fn announce(bound: SocketAddr) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "http://{bound}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the address to stdout: {e}"))
}

fn session_builder(args: &Args) -> Result<SessionBuilder, Box<amiref_session::SessionError>> {
    let mut builder = SessionBuilder::from_env()?.with_world_file(&args.world);
    if !args.templates.is_empty() {
        builder = builder.with_template_dirs(args.templates.clone());
    }
    if let Some(dir) = &args.state_dir {
        builder = builder.with_state_dir(dir);
    }
    if let Some(region) = &args.region {
        builder = builder.with_region_name(region, "--region")?;
    }
    Ok(builder)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM; a signal that cannot be listened for is never
/// awaited (the service then stops only when killed).
async fn stop_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
