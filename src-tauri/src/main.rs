//! Baton's desktop shell: one Tauri window over the runtime's `Host`, started in-process.
//!
//! The host owns everything that runs (store, command bus, webhook listener on 127.0.0.1,
//! scheduler, delivery sender); this file only starts it from a `HostConfig`, hands the UI the
//! `execute` command, the `webhook` command (a request to the webhook doors, in-process: see
//! webhook.rs), the file commands of files.rs (a diagram given on the command line, the
//! scenarios beside a diagram file), the `instance-changed`, `webhook-request` and `job-run`
//! events, and shuts the host down when the app exits.
//! See docs/desktop.md, "Desktop shell".

// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use baton_runtime::host::{Host, HostConfig, HostError};
use baton_runtime::{Bootstrap, Error, Reply};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use tauri::{Emitter, Manager, RunEvent};
use tokio::sync::broadcast::error::RecvError;

mod files;
mod webhook;

/// The webhook listener's usual address; another free port is taken when it is in use.
const DEFAULT_LISTEN: &str = "127.0.0.1:7410";

/// The running host, or why there is none: it could not start (another Baton holds the
/// database, say) or the app is closing. Commands hold a read lock while they run, side by side
/// (the bus groups their writes into shared commits); shutdown takes the write lock, so it waits
/// for the commands in flight and no command starts after it. A host that could not start
/// still opens the window: every command answers why, and the UI shows it.
struct HostCell(RwLock<Result<Host, String>>);

/// The seed-000 envelope for a host that could not start: the owner is told why (it is their
/// own machine: a locked or unreadable database file), as an internal failure.
fn failure(message: &str) -> Value {
    json!({"isSuccessful": false, "message": message, "data": null, "errors": [], "code": "INTERNAL"})
}

/// A command whose thread stopped (a bug): a reference to the log, never the panic text.
fn stopped(e: tauri::Error) -> Value {
    let reply = Reply::failed(Error::internal(format!(
        "the command stopped unexpectedly: {e}"
    )));
    serde_json::to_value(reply).unwrap_or_else(|_| failure("internal error"))
}

/// `{cmd, data}` in, the same envelope as `POST /api/v1/execute` out, run as the local owner.
/// The bus call is blocking (SQLite), so it runs on a blocking thread, never on the event loop.
#[tauri::command]
async fn execute(app: tauri::AppHandle, request: Value) -> Value {
    on_host(app, move |host| match host {
        Ok(host) => host.execute(&request),
        Err(why) => failure(why),
    })
    .await
    .unwrap_or_else(stopped)
}

/// Runs `f` on a blocking thread with the host (or why there is none) under the read lock.
async fn on_host(
    app: tauri::AppHandle,
    f: impl FnOnce(Result<&Host, &String>) -> Value + Send + 'static,
) -> Result<Value, tauri::Error> {
    tauri::async_runtime::spawn_blocking(move || {
        let cell = app.state::<HostCell>();
        let host = cell
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(host.as_ref())
    })
    .await
}

/// `{path, headers, body}` in, `{status, body}` out: the request the webhook listener would get
/// from 127.0.0.1, handed to the runtime's webhook door in-process (the window cannot reach
/// the listener: its CSP allows only IPC). Same checks and request log as over HTTP.
#[tauri::command]
async fn webhook(app: tauri::AppHandle, request: Value) -> Value {
    on_host(app, move |host| match host {
        Ok(host) => webhook::send(host.runtime(), &request),
        Err(why) => webhook::answer(503, failure(why)),
    })
    .await
    .unwrap_or_else(|e| webhook::answer(500, stopped(e)))
}

/// Where the listener binds: BATON_LISTEN if set ("off" for no listener), else 127.0.0.1:7410.
fn listen_address() -> Option<String> {
    match std::env::var("BATON_LISTEN") {
        Ok(v) if v.trim().eq_ignore_ascii_case("off") => None,
        Ok(v) if !v.trim().is_empty() => Some(v.trim().to_string()),
        _ => Some(DEFAULT_LISTEN.to_string()),
    }
}

fn config(db: &Path, listen: Option<String>) -> HostConfig {
    HostConfig {
        db: db.to_path_buf(),
        listen,
        token: None,
        durability: baton_store::Durability::Full,
        // The window has the UI built in (frontendDist); the listener serves webhooks and the API.
        ui: None,
        command_depth: baton_runtime::DEFAULT_COMMAND_DEPTH,
        // A desktop is a place to try processes out: its events say so.
        environment: baton_runtime::Environment::Sandbox,
    }
}

/// Starts the host on the usual port, or on any free loopback port when that one is taken.
fn start_host(db: &Path) -> Result<Host, HostError> {
    let wanted = listen_address();
    match Host::start(config(db, wanted.clone())) {
        Err(HostError::Address { address, source })
            if wanted.as_deref() == Some(DEFAULT_LISTEN) =>
        {
            tracing::warn!(
                "cannot listen on {address} ({source}); taking any free port on 127.0.0.1"
            );
            Host::start(config(db, Some("127.0.0.1:0".into())))
        }
        started => started,
    }
}

/// Says where the data and the listener are, once, on stderr (the app's log).
fn announce(host: &Host, db: &Path) {
    eprintln!("Baton: database {}", db.display());
    match host.address() {
        Some(addr) => eprintln!("Baton: webhook listener and API on http://{addr}/"),
        None => eprintln!("Baton: no HTTP listener (BATON_LISTEN=off)"),
    }
    match host.bootstrap() {
        Bootstrap::NewToken(t) => {
            eprintln!("Baton: admin token for the HTTP API (shown once): {t}")
        }
        Bootstrap::Given | Bootstrap::Existing => {}
    }
}

/// Forwards every committed instance change to the window as `instance-changed`, every
/// request the webhook door answered as `webhook-request` (the window is the owner's, who may
/// read the request log), and every job run that starts or ends as `job-run`.
fn forward_changes(app: &tauri::AppHandle, host: &Host) {
    forward(app, host.subscribe_webhook_requests(), "webhook-request");
    forward(app, host.subscribe_job_runs(), "job-run");
    forward(app, host.subscribe(), "instance-changed");
}

/// Emits everything `rx` receives to the window as `event`. A burst that outran the window
/// loses its oldest items; later ones still come, and the views reload what they show on the
/// next one.
fn forward<T: Clone + serde::Serialize + Send + 'static>(
    app: &tauri::AppHandle,
    mut rx: tokio::sync::broadcast::Receiver<T>,
    event: &'static str,
) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(item) => {
                    if let Err(e) = app.emit(event, &item) {
                        tracing::warn!("{event} not delivered to the window: {e}");
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!("{n} {event} events were dropped before the window saw them")
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
}

/// Ctrl-C or SIGTERM (a terminal, a session manager, the WebDriver test ending) ends the app
/// through the same exit path as closing the window, so the host is shut down.
fn exit_on_signals(app: &tauri::AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        app.exit(0);
    });
}

fn shutdown(app: &tauri::AppHandle) {
    let Some(cell) = app.try_state::<HostCell>() else {
        return;
    };
    let closing = Err("Baton is closing; the command was not run".to_string());
    let host = std::mem::replace(
        &mut *cell
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
        closing,
    );
    if let Ok(host) = host {
        host.shutdown();
        eprintln!("Baton: stopped");
    }
}

fn init_logging() {
    let filter = std::env::var("BATON_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "warn,baton_runtime=info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}

fn database_path(app: &tauri::AppHandle) -> Result<PathBuf, String> {
    if let Some(db) = std::env::var_os("BATON_DB").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(db));
    }
    app.path()
        .app_data_dir()
        .map(|dir| dir.join("baton.db"))
        .map_err(|e| format!("no app-data folder for the database: {e}"))
}

fn main() {
    init_logging();
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_fs::init())
        // Keeps what the user picked in a dialog reachable after a restart (recent files);
        // it adds nothing the user did not pick.
        .plugin(tauri_plugin_persisted_scope::init())
        .invoke_handler(tauri::generate_handler![
            execute,
            webhook,
            files::scenario_files,
            files::launch_file
        ])
        .setup(|app| {
            let handle = app.handle();
            files::take_launch_arg(handle, std::env::args_os().skip(1));
            exit_on_signals(handle);
            let host = database_path(handle).and_then(|db| {
                let host = start_host(&db).map_err(|e| format!("Baton could not start: {e}"))?;
                announce(&host, &db);
                Ok(host)
            });
            match &host {
                Ok(host) => forward_changes(handle, host),
                Err(why) => eprintln!("{why}"),
            }
            app.manage(HostCell(RwLock::new(host)));
            Ok(())
        })
        // The same path as in build.rs: tauri.conf.json is at the repository root.
        .build(tauri::generate_context!("../tauri.conf.json"));
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Baton could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            shutdown(handle);
        }
    });
}
