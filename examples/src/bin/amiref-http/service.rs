//! Where requests run: one session per request, one request at a time.
//!
//! A world's state lives in its state directory, held under an exclusive file lock by the
//! session that opened it. A service that kept one session open for its whole life would
//! hold that lock for its whole life: every `amiref --world` command on the same world
//! would wait for the service to stop, and the service would never see what they changed.
//! So each request builds its own session, which locks the state directory and loads the
//! world as the last request (or command) left it; a request that changes the world
//! (`Access::Change`) saves it with [`Session::finish`] before it answers, and the session
//! is dropped, releasing the lock. Two requests at once take turns: an in-process lock
//! (`turn`) orders them, held until the request's work is over even when its client has
//! gone away, so no change is made on a world that misses the one before it; the file
//! lock does the same against other processes.
//!
//! On a world, sessions run on the paused clock `SessionBuilder::runtime` gives (a
//! simulated 17-minute copy completes at once). That runtime is not the server's: each
//! request's session runs on a runtime of its own, on a blocking thread, while the
//! server's runtime keeps real time for its connections.

use std::sync::Arc;

use amiref_report::{ErrorKind, ErrorReport};
use amiref_session::{Session, SessionBuilder, SessionError};
use axum::http::StatusCode;
use tokio::sync::Mutex;

use crate::reply::Reply;

/// Whether a request changes the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// It only reads: its session is dropped without saving.
    Read,
    /// It may change the world: its session's state is saved before the answer, also
    /// when the operation failed part-way (a copy made before a failed launch stays).
    Change,
}

/// The sessions' configuration, and the turn requests take.
pub(crate) struct Service {
    builder: SessionBuilder,
    turn: Arc<Mutex<()>>,
}

impl Service {
    /// A service over sessions of `builder`, checked by building one: a world, a state
    /// directory or a configuration that does not load stops the service before it
    /// listens.
    pub(crate) async fn start(builder: SessionBuilder) -> Result<Self, String> {
        let checking = builder.clone();
        let describe = |e: SessionError| amiref_report::message_with_causes(&e);
        tokio::task::spawn_blocking(move || {
            let runtime = checking.runtime().map_err(describe)?;
            runtime.block_on(async move { checking.build().await.map(drop).map_err(describe) })
        })
        .await
        .map_err(|e| format!("checking the configuration: {e}"))??;
        Ok(Self {
            builder,
            turn: Arc::new(Mutex::new(())),
        })
    }

    /// Runs `op` in a session of its own, after the requests before it; `kind` is the
    /// report kind of the endpoint, for the document of a session that cannot be built.
    pub(crate) async fn run<F>(&self, kind: &'static str, access: Access, op: F) -> Reply
    where
        F: AsyncFnOnce(&Session) -> Result<Reply, Box<SessionError>> + Send + 'static,
    {
        let turn = Arc::clone(&self.turn).lock_owned().await;
        let builder = self.builder.clone();
        let work = tokio::task::spawn_blocking(move || {
            // Held until the work is done, whether or not anyone still waits for it.
            let _turn = turn;
            in_session(builder, kind, access, op)
        });
        match work.await {
            Ok(reply) => reply,
            Err(e) => Reply::failure(
                kind,
                StatusCode::INTERNAL_SERVER_ERROR,
                &ErrorReport::new(
                    ErrorKind::Internal,
                    format!("the request's work failed: {e}"),
                ),
            ),
        }
    }
}

/// Builds a session, runs `op` in it and, for a change, saves the world.
fn in_session<F>(builder: SessionBuilder, kind: &'static str, access: Access, op: F) -> Reply
where
    F: AsyncFnOnce(&Session) -> Result<Reply, Box<SessionError>>,
{
    let runtime = match builder.runtime() {
        Ok(runtime) => runtime,
        Err(e) => return Reply::session_error(kind, &e),
    };
    runtime.block_on(async move {
        let session = match builder.build().await {
            Ok(session) => session,
            Err(e) => return Reply::session_error(kind, &e),
        };
        let reply = op(&session)
            .await
            .unwrap_or_else(|e| Reply::session_error(kind, &e));
        match access {
            // Dropped without finish: nothing is kept, and the lock is released.
            Access::Read => reply,
            Access::Change => match session.finish().await {
                Ok(()) => reply,
                Err(e) => Reply::unsaved(kind, &e),
            },
        }
    })
}
