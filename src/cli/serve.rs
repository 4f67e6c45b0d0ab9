//! `baton serve`: the runtime headless, its HTTP doors and the web UI on a loopback address by
//! default. The composition is the runtime's `Host`; this only starts it and stops it on
//! Ctrl-C (or SIGTERM).

use baton_runtime::host::{Host, HostConfig, HostError, UiAssets};
use baton_runtime::Bootstrap;
use std::path::PathBuf;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));
}

/// The web UI built into this binary, if it was built with one (see build.rs).
pub fn ui_assets() -> Option<UiAssets> {
    (!embedded::UI_FILES.is_empty()).then_some(UiAssets {
        files: embedded::UI_FILES,
    })
}

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

/// Ctrl-C, or SIGTERM on Unix (what service managers and `kill` send), caught from the moment
/// this is made: a signal that comes while the host starts stops it once it has started.
struct StopSignals {
    rt: tokio::runtime::Runtime,
    #[cfg(unix)]
    signals: (tokio::signal::unix::Signal, tokio::signal::unix::Signal),
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
}

impl StopSignals {
    fn catch() -> Result<StopSignals, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
        let _inside = rt.enter();
        #[cfg(unix)]
        let signals = {
            use tokio::signal::unix::{signal, SignalKind};
            let catch = |kind: SignalKind, name: &str| {
                signal(kind).map_err(|e| format!("cannot wait for {name}: {e}"))
            };
            (
                catch(SignalKind::interrupt(), "Ctrl-C")?,
                catch(SignalKind::terminate(), "SIGTERM")?,
            )
        };
        #[cfg(windows)]
        let ctrl_c =
            tokio::signal::windows::ctrl_c().map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
        drop(_inside);
        Ok(StopSignals {
            rt,
            #[cfg(unix)]
            signals,
            #[cfg(windows)]
            ctrl_c,
        })
    }

    /// Returns at the first of them.
    fn wait(self) {
        #[cfg(unix)]
        {
            let (mut int, mut term) = self.signals;
            self.rt.block_on(async {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            });
        }
        #[cfg(windows)]
        {
            let mut ctrl_c = self.ctrl_c;
            self.rt.block_on(async {
                ctrl_c.recv().await;
            });
        }
    }
}

/// BATON_DOCMD_DEPTH: how deeply commands queued with `doCmd` may nest (a whole number, 1 or
/// more; 16 when unset).
fn command_depth() -> Result<u32, String> {
    match std::env::var("BATON_DOCMD_DEPTH") {
        Err(_) => Ok(baton_runtime::DEFAULT_COMMAND_DEPTH),
        Ok(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                format!(
                    "BATON_DOCMD_DEPTH: '{v}' is not a whole number, 1 or more (the default is {})",
                    baton_runtime::DEFAULT_COMMAND_DEPTH
                )
            }),
    }
}

/// BATON_ENVIRONMENT: the `environment` event payloads name, `sandbox` (the default) or
/// `production`.
fn environment() -> Result<baton_runtime::Environment, String> {
    match std::env::var("BATON_ENVIRONMENT") {
        Err(_) => Ok(baton_runtime::Environment::Sandbox),
        Ok(v) => v.parse().map_err(|e| format!("BATON_ENVIRONMENT: {e}")),
    }
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
    let signals = match StopSignals::catch() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let command_depth = match command_depth() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let environment = match environment() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let db = db.unwrap_or_else(default_db);
    let config = HostConfig {
        listen: Some(listen.to_string()),
        token,
        ui: ui_assets(),
        command_depth,
        environment,
        ..HostConfig::new(&db)
    };
    let host = match Host::start(config) {
        Ok(h) => h,
        Err(e @ HostError::AsyncRuntime(_)) => {
            eprintln!("{e}");
            return 1;
        }
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    // Printed without panicking when nobody reads any more (a closed pipe is no reason to stop).
    let say = |line: String| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    say(match host.bootstrap() {
        Bootstrap::NewToken(t) => {
            format!("admin token (shown once; pass --token or BATON_TOKEN to choose one): {t}")
        }
        Bootstrap::Given => "admin token: the one given".into(),
        Bootstrap::Existing => format!(
            "tokens: those already in {} (CreateApiTokenCommand makes more)",
            db.display()
        ),
    });
    let addr = host
        .address()
        .map(|a| a.to_string())
        .unwrap_or_else(|| listen.to_string());
    say(format!(
        "baton serve: {} on http://{addr} (POST /api/v1/execute, /api/core/cmd, /api/bpm/cmd, /webhook/...)",
        db.display()
    ));
    say(format!("web UI: http://{addr}/"));
    signals.wait();
    host.shutdown();
    0
}
