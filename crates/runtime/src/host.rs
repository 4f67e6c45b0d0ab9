//! The host: one runtime with everything around it, started from one config and stopped by
//! one call. `baton serve` and the desktop app both run a `Host`; neither wires parts by hand.
//!
//! `Host::start` takes the database's lock file (one Baton per database), opens the store,
//! sets up the administrator's token, lends the command bus to scripts, serves the HTTP doors
//! on a tokio runtime of its own (its own threads, so it runs the same inside an app that has a
//! tokio runtime of its own), then starts the scheduler (which first delivers what the outbox
//! still holds from the last run) and the delivery sender. Pending work is recovered after the
//! doors are open: a row that cannot be delivered never delays or stops a start.
//! `Host::shutdown` stops in the reverse order: the listener first (requests under way finish
//! and are answered, event streams end), then the scheduler and the sender (joined), then the
//! async runtime; the lock is released last. Every acknowledged command was committed before
//! its answer, so nothing acknowledged is lost, and what was still due (timers, deliveries)
//! stays in the database for the next start.

use crate::http::{app_with, AppOptions, AppState};
use crate::{
    Bootstrap, Caller, Code, Error, InstanceChange, Reply, Runtime, SchedulerHandle, SenderHandle,
};
use baton_store::Durability;
use serde_json::{json, Value};
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

pub use crate::http::UiAssets;

/// How long `shutdown` waits for requests under way before it drops their connections.
pub const GRACE: Duration = Duration::from_secs(10);

/// What a host runs on.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The SQLite file (created with its folders when missing).
    pub db: PathBuf,
    /// Where the HTTP doors listen, e.g. "127.0.0.1:7410"; port 0 takes any free port. None: no
    /// HTTP listener (the desktop app calls `execute` directly).
    pub listen: Option<String>,
    /// The administrator's bearer token. None: keep the tokens the database has, or make one on
    /// a first start (`Bootstrap::NewToken`).
    pub token: Option<String>,
    pub durability: Durability,
    /// The web UI to serve at `/`.
    pub ui: Option<UiAssets>,
    /// How deeply commands queued with `doCmd` may nest (`baton serve`: BATON_DOCMD_DEPTH);
    /// a deeper one fails with `commandFailed` instead of running.
    pub command_depth: u32,
    /// The `environment` event payloads name (`baton serve`: BATON_ENVIRONMENT).
    pub environment: crate::Environment,
}

impl HostConfig {
    /// A database with full durability, no listener, no token given, no web UI.
    pub fn new(db: impl Into<PathBuf>) -> HostConfig {
        HostConfig {
            db: db.into(),
            listen: None,
            token: None,
            durability: Durability::Full,
            ui: None,
            command_depth: crate::queued::DEFAULT_DEPTH,
            environment: crate::Environment::Sandbox,
        }
    }
}

/// Why a host could not start. Each names the file or the address.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("{}: cannot create the folder: {source}", path.display())]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: another Baton is using this database (its lock file {} is held{}); stop it first, or choose another database", db.display(), lock.display(), owner.as_deref().map(|p| format!(" by process {p}")).unwrap_or_default())]
    Locked {
        db: PathBuf,
        lock: PathBuf,
        owner: Option<String>,
    },
    #[error("{}: cannot use the lock file: {source}", lock.display())]
    LockFile {
        lock: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Database { path: PathBuf, message: String },
    #[error("{}: cannot set up the administrator: {message}", path.display())]
    Bootstrap { path: PathBuf, message: String },
    #[error("cannot listen on {address}: {source}")]
    Address {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    AsyncRuntime(std::io::Error),
    /// A given administrator token too short to be a secret (`--token a`).
    #[error("token: an administrator's token must be at least {MIN_TOKEN_CHARS} characters (this one has {0}); leave it out to have one generated")]
    WeakToken(usize),
}

/// The shortest administrator token `HostConfig::token` accepts: anything shorter is guessable.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The HTTP side: its tokio runtime, the stop signal, and word when the server has ended.
struct Server {
    tokio: tokio::runtime::Runtime,
    stop: tokio::sync::watch::Sender<bool>,
    /// In a mutex only so that `Host` is `Sync`: a shell may share it between threads.
    ended: Mutex<mpsc::Receiver<()>>,
}

/// A running Baton: the runtime, its threads and (optionally) its HTTP doors.
pub struct Host {
    runtime: Arc<Runtime>,
    bootstrap: Bootstrap,
    address: Option<SocketAddr>,
    server: Option<Server>,
    scheduler: Option<SchedulerHandle>,
    sender: Option<SenderHandle>,
    /// Held (locked) while the host runs; dropped last, after the runtime.
    _lock: File,
}

/// The lock file beside a database: `baton.db` -> `baton.db.lock`.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    db.with_file_name(name)
}

/// Takes the database's lock, or says who holds it. The lock is the operating system's
/// (`flock` on Unix, `LockFileEx` on Windows): it goes away with the process, even a killed one.
fn take_lock(db: &Path) -> Result<File, HostError> {
    use std::io::{Read, Seek, Write};
    let lock = lock_path(db);
    let io = |source| HostError::LockFile {
        lock: lock.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut owner = String::new();
            let _ = file.read_to_string(&mut owner);
            let owner = owner.trim();
            return Err(HostError::Locked {
                db: db.to_path_buf(),
                lock,
                owner: (!owner.is_empty() && owner.len() < 32).then(|| owner.to_string()),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    // Who holds it, for the message a second start shows (best effort).
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(file, "{}", std::process::id());
    let _ = file.flush();
    Ok(file)
}

impl Host {
    /// Starts everything `config` asks for; see the module's documentation for the order.
    pub fn start(config: HostConfig) -> Result<Host, HostError> {
        let HostConfig {
            db,
            listen,
            token,
            durability,
            ui,
            command_depth,
            environment,
        } = config;
        let token = token.filter(|t| !t.trim().is_empty());
        if let Some(t) = &token {
            let chars = t.trim().chars().count();
            if chars < MIN_TOKEN_CHARS {
                return Err(HostError::WeakToken(chars));
            }
        }
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| HostError::Folder {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let lock = take_lock(&db)?;
        // Bound before the database opens: a taken port fails fast and touches nothing.
        let listener = match &listen {
            Some(address) => {
                let bind = || -> std::io::Result<std::net::TcpListener> {
                    let l = std::net::TcpListener::bind(address.as_str())?;
                    l.set_nonblocking(true)?;
                    Ok(l)
                };
                Some(bind().map_err(|source| HostError::Address {
                    address: address.clone(),
                    source,
                })?)
            }
            None => None,
        };
        let address = listener.as_ref().and_then(|l| l.local_addr().ok());
        // The outbox is left for the scheduler's thread: pending work is recovered once the
        // doors are open, and a row that cannot be delivered never stops a start.
        let runtime =
            Runtime::opened(&db, durability, Arc::new(crate::SystemClock)).map_err(|e| {
                HostError::Database {
                    path: db.clone(),
                    message: e.to_string(),
                }
            })?;
        runtime.set_command_depth(command_depth);
        runtime.set_environment(environment);
        let bootstrap =
            runtime
                .bootstrap(token.as_deref())
                .map_err(|message| HostError::Bootstrap {
                    path: db.clone(),
                    message,
                })?;
        let runtime = Arc::new(runtime);
        // Scripts may call doQuery / doCmd on this host's command bus.
        runtime.lend_bus_to_scripts();
        let server = match listener {
            Some(listener) => Some(serve(runtime.clone(), listener, ui)?),
            None => None,
        };
        // Timers and recurring jobs that fell due while Baton was closed fire now; so do the
        // deliveries and outbox rows still pending from the last run.
        let scheduler = crate::spawn_scheduler(runtime.clone());
        let sender = crate::spawn_sender(runtime.clone());
        Ok(Host {
            runtime,
            bootstrap,
            address,
            server,
            scheduler: Some(scheduler),
            sender: Some(sender),
            _lock: lock,
        })
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Where the HTTP doors listen (the real port when the config asked for port 0).
    pub fn address(&self) -> Option<SocketAddr> {
        self.address
    }

    /// What the start did about the administrator's token.
    pub fn bootstrap(&self) -> &Bootstrap {
        &self.bootstrap
    }

    /// Runs `{"cmd": NAME, "data": {...}}` as the local owner (the desktop user) and answers
    /// the `/api/v1/execute` envelope. A request without a command answers a field error.
    pub fn execute(&self, request: &Value) -> Value {
        let reply = self.reply(request);
        serde_json::to_value(reply).unwrap_or_else(|e| {
            let e = Error::internal(format!("the answer could not be written: {e}"));
            json!(Reply::failed(e))
        })
    }

    fn reply(&self, request: &Value) -> Reply {
        let Some(cmd) = request.get("cmd").and_then(Value::as_str) else {
            return Reply::failed(Error::field(
                "cmd",
                "the request needs \"cmd\" (the command name) and \"data\"".into(),
            ));
        };
        let data = match request.get("data") {
            None | Some(Value::Null) => json!({}),
            Some(d) => d.clone(),
        };
        // The desktop owner may act as a user (the task inbox): `actAs` names them.
        let caller = match request.get("actAs") {
            None | Some(Value::Null) => Caller::owner(),
            Some(Value::String(name)) if !name.trim().is_empty() => {
                match self.runtime.acting_as(&Caller::owner(), name) {
                    Ok(c) => c,
                    Err(e) => {
                        let field = Error::field("actAs", e.to_string());
                        let mut e = Error::from(e);
                        if !e.is(Code::Internal) {
                            e.fields = field.fields;
                        }
                        return Reply::failed(e);
                    }
                }
            }
            Some(_) => {
                return Reply::failed(Error::field("actAs", "actAs must be a user name".into()))
            }
        };
        self.runtime.execute_as(cmd, &data, &caller)
    }

    /// A receiver of every instance change committed from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<InstanceChange> {
        self.runtime.subscribe_changes()
    }

    /// A receiver of every request the webhook door answers from now on.
    pub fn subscribe_webhook_requests(
        &self,
    ) -> tokio::sync::broadcast::Receiver<crate::WebhookRequestEvent> {
        self.runtime.subscribe_webhook_requests()
    }

    /// A receiver of every recurring job run that starts or ends from now on.
    pub fn subscribe_job_runs(&self) -> tokio::sync::broadcast::Receiver<crate::JobRunEvent> {
        self.runtime.subscribe_job_runs()
    }

    /// Stops the listener (requests under way finish and are answered), the scheduler and the
    /// sender, joins their threads and releases the database. Returns when all of it is done.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.stop.send(true);
            let ended = server
                .ended
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .recv_timeout(GRACE);
            if ended.is_err() {
                tracing::warn!(
                    "requests still open after {} s are dropped",
                    GRACE.as_secs()
                );
            }
            // Dropping a tokio runtime blocks, which tokio refuses inside an async context (a
            // shell may call this from one): drop it on a thread of its own.
            let tokio = server.tokio;
            let _ = std::thread::Builder::new()
                .name("baton-http-stop".into())
                .spawn(move || tokio.shutdown_timeout(GRACE))
                .map(|t| t.join());
        }
        if let Some(s) = self.scheduler.take() {
            s.stop();
        }
        if let Some(s) = self.sender.take() {
            s.stop();
        }
        // The runtime (the database's connections) and then the lock go with the fields, in
        // their declaration order.
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How many async workers the HTTP doors get: one fewer than the machine's cores, and at least
/// one. Every write waits for the group commit's writer, a thread of its own that is the serial
/// part of the durable path; a worker per core made the workers and the writer take turns on
/// the same cores. On 2 cores one worker answered 2-9% more webhook requests a second with 5-10%
/// less CPU a request than two (BENCHMARKS.md, thirteenth pass). `TOKIO_WORKER_THREADS` (tokio's
/// own setting) overrides it.
fn http_workers() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    workers_for(std::env::var("TOKIO_WORKER_THREADS").ok().as_deref(), cores)
}

/// `http_workers` for a setting (a count above 0 wins; anything else is ignored) and a number
/// of cores.
fn workers_for(setting: Option<&str>, cores: usize) -> usize {
    let given = setting
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0);
    given.unwrap_or_else(|| cores.saturating_sub(1).max(1))
}

/// Starts the HTTP doors on a tokio runtime of their own.
fn serve(
    runtime: Arc<Runtime>,
    listener: std::net::TcpListener,
    ui: Option<UiAssets>,
) -> Result<Server, HostError> {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(http_workers())
        .thread_name("baton-http")
        .enable_all()
        .build()
        .map_err(HostError::AsyncRuntime)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (ended_tx, ended) = mpsc::channel();
    let options = AppOptions {
        ui,
        stop: Some(stopped.clone()),
    };
    let router = app_with(Arc::new(AppState { runtime }), options);
    let mut stopped = stopped;
    tokio.spawn(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!("cannot listen: {e}");
                let _ = ended_tx.send(());
                return;
            }
        };
        // The socket's address reaches the webhook doors (allowedIPs) through ConnectInfo.
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, service)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("the HTTP server stopped: {e}");
        }
        let _ = ended_tx.send(());
    });
    Ok(Server {
        tokio,
        stop,
        ended: Mutex::new(ended),
    })
}

#[cfg(test)]
mod tests {
    use super::workers_for;

    #[test]
    fn the_doors_leave_the_writer_a_core_unless_told_otherwise() {
        assert_eq!(workers_for(None, 2), 1);
        assert_eq!(workers_for(None, 8), 7);
        assert_eq!(workers_for(None, 1), 1, "at least one");
        assert_eq!(workers_for(None, 0), 1, "at least one");
        assert_eq!(workers_for(Some("3"), 2), 3, "the setting wins");
        assert_eq!(workers_for(Some(" 4 "), 2), 4);
        for ignored in ["0", "-1", "many", ""] {
            assert_eq!(workers_for(Some(ignored), 4), 3, "{ignored:?} is ignored");
        }
    }
}
