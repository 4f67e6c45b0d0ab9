//! `baton serve`: the runtime headless, its HTTP doors on a loopback address by default.

use baton_runtime::http::{app, AppState};
use baton_runtime::Bootstrap;
use baton_store::Durability;
use std::path::PathBuf;
use std::sync::Arc;

/// The platform's app-data folder: $XDG_DATA_HOME or ~/.local/share on Linux,
/// ~/Library/Application Support on macOS, %APPDATA% on Windows.
fn default_db() -> PathBuf {
    let base = if cfg!(windows) {
        std::env::var_os("APPDATA").map(PathBuf::from)
    } else if cfg!(target_os = "macos") {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join("Library/Application Support"))
    } else {
        std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
    };
    base.unwrap_or_else(|| PathBuf::from("."))
        .join("baton")
        .join("baton.db")
}

pub fn serve(db: Option<PathBuf>, listen: &str, token: Option<String>) -> u8 {
    // Logs: BATON_LOG (or RUST_LOG) filters, e.g. BATON_LOG=baton_runtime=debug for every command.
    let filter = std::env::var("BATON_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "warn,baton_runtime=info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
    let db = db.unwrap_or_else(default_db);
    if let Some(dir) = db.parent() {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("{}: cannot create the folder: {e}", dir.display());
            return 2;
        }
    }
    let runtime = match baton_runtime::Runtime::open(
        &db,
        Durability::Full,
        Arc::new(baton_runtime::SystemClock),
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e}", db.display());
            return 2;
        }
    };
    match runtime.bootstrap(token.as_deref().filter(|t| !t.trim().is_empty())) {
        Ok(Bootstrap::NewToken(t)) => {
            println!("admin token (shown once; pass --token or BATON_TOKEN to choose one): {t}");
        }
        Ok(Bootstrap::Given) => println!("admin token: the one given"),
        Ok(Bootstrap::Existing) => println!(
            "tokens: those already in {} (CreateApiTokenCommand makes more)",
            db.display()
        ),
        Err(e) => {
            eprintln!("{}: cannot set up the administrator: {e}", db.display());
            return 2;
        }
    }
    let runtime = Arc::new(runtime);
    // Scripts may call doQuery / doCmd on this server's command bus.
    runtime.lend_bus_to_scripts();
    // Timers and recurring jobs: due rows that fell due while Baton was closed fire now.
    let _scheduler = baton_runtime::spawn_scheduler(runtime.clone());
    // Events out: deliveries still pending from the last run are sent now.
    let _sender = baton_runtime::spawn_sender(runtime.clone());
    let state = Arc::new(AppState { runtime });
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return 1;
        }
    };
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot listen on {listen}: {e}");
                return 2;
            }
        };
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| listen.to_string());
        println!(
            "baton serve: {} on http://{addr} (POST /api/v1/execute, /api/core/cmd, /api/bpm/cmd, /webhook/...)",
            db.display()
        );
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        // The socket's address reaches the webhook doors (allowedIPs) through ConnectInfo.
        let service = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        match axum::serve(listener, service)
            .with_graceful_shutdown(shutdown)
            .await
        {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("server stopped: {e}");
                1
            }
        }
    })
}
