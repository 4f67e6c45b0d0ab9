//! Project tasks: `cargo xtask run`, `cargo xtask test`, `cargo xtask bench`, `cargo xtask bench-peers`,
//! `cargo xtask bench-durable`, `cargo xtask bench-timers`, `cargo xtask bench-webhook`,
//! `cargo xtask fuzz` (fuzz.rs).
//!
//! `test` is the one command CI runs (.ci/run): every test the project has, from a clean clone
//! on a Debian 12 machine that has Rust, Node 20 and Python 3.11 and nothing else. Whatever the
//! tests need beyond that (Chromium, the WebKitGTK build stack, Xvfb, WebKitWebDriver,
//! tauri-driver) is installed by `ensure_system_deps`, so a fresh machine needs no manual setup
//! step and the README's quick start stays two commands.
//!
//! Only std and anyhow: this crate is built before anything else, on every CI run.

mod bench;
mod bench_js;
mod bench_webhook;
mod fuzz;
mod http_client;
mod sign;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: cargo xtask <command>

  test                  every test (CI runs exactly this): installs missing system packages
                        (apt-get) and tauri-driver; npm ci and npm run build in ui/; cargo test
                        --workspace --all-targets; `baton test` on bpmn-templates and
                        tests/scenarios; Vitest and Playwright (Chromium) in ui/; builds the
                        desktop app and drives it under Xvfb through tauri-driver
  run [--headless] [SERVE ARGS...]
                        build the UI, then open the desktop app; without a display (or with
                        --headless) start `baton serve ARGS` and print the web UI's address
                        with the token
  bench [--instances N] [--javascript] [--spiff] [--reps R]
                        release build, `baton bench` on the four shared bench models, a table;
                        --javascript adds their JavaScript variant, --spiff SpiffWorkflow's
                        harness (from ../shared/bench-peers), interleaved R times: medians
                        (min-max) and the ratios
  bench-durable [--reps N] [--instances N]
                        release build, `baton bench --durable` on seq10 and wait1, sync full
                        and normal, 1 and 16 clients, SQLite's own commit rate probed in each
                        run; medians (min-max) and the ratio
  bench-timers [--reps N] [--timers N] [--idle-timers M] [--idle-seconds K] [--sync full|normal]
                        release build, `baton bench --timers` (default 10,000 timers due at
                        the same second, then 100,000 future timers idle for 60 s, sync full,
                        16 clients), SQLite's own commit rate probed in each run; medians
                        (min-max) and the ratio
  bench-webhook [--reps N] [--threads T] [--connections C] [--seconds S] [--instances N]
                [--order started|random]
                        release builds of baton and the shared axum echo server, then wrk
                        (default -t2 -c16 -d10s, 3 reps interleaved) on the echo and on a
                        signed Paystack-style webhook that resumes a different waiting
                        instance per request (in the order they started, or shuffled);
                        medians (min-max), the ratio, and a check that every 2xx completed
                        exactly one instance
  fuzz [TARGET] [--seconds N]
                        the cargo-fuzz targets in fuzz/ (bpmn, scenario, script, doors,
                        webhook_signatures), N seconds each (default 600); installs the nightly
                        toolchain and cargo-fuzz when missing; seeds from bpmn-templates and
                        ../shared/corpora; `test` runs each for 20 s
  bench-peers [REGEX]   release build, then ../shared/bench-peers/scripts/run_peers.sh with
                        BATON set; REPS and OUT are read from the environment
  bench-ui [--runs N]   UI build, release builds of baton and baton-desktop, then the desktop
                        app next to a browser tab (cold start, memory at rest; N runs, default
                        5) and the designer and instance-list benchmarks in Chromium";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the root")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Where cargo puts what it builds: CARGO_TARGET_DIR when set, else target/ at the root.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(d) => root().join(d),
        None => root().join("target"),
    }
}

fn baton(profile: &str) -> PathBuf {
    target_dir()
        .join(profile)
        .join(if cfg!(windows) { "baton.exe" } else { "baton" })
}

fn baton_cmd(profile: &str) -> Command {
    let mut c = Command::new(baton(profile));
    c.current_dir(root());
    c
}

/// Runs a command with inherited output; an error names the step and how it ended.
fn run(cmd: &mut Command, what: &str) -> Result<()> {
    eprintln!("==> {what}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{what}`"))?;
    if !status.success() {
        bail!("`{what}` failed ({status})");
    }
    Ok(())
}

/// One argument as a POSIX shell would need it written, for the commands the log shows.
fn quote(arg: &str) -> String {
    if arg.is_empty()
        || arg.contains(|c: char| c.is_whitespace() || "'\"$*?{}|&;<>()\\`".contains(c))
    {
        format!("'{}'", arg.replace('\'', r"'\''"))
    } else {
        arg.to_string()
    }
}

fn shell_words(args: &[String]) -> String {
    args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------------------------------------
// System packages

/// How to tell that a system dependency is already there.
enum Probe {
    /// A program on PATH.
    Program(&'static str),
    /// A C library, by its pkg-config module (what the -dev package installs).
    Library(&'static str),
}

/// What needs a dependency: a missing one that cannot be installed fails the browser tests, but
/// only skips the desktop steps (building the shell and driving it under Xvfb).
#[derive(Clone, Copy, PartialEq)]
enum Need {
    Browser,
    Desktop,
}

/// A system dependency and the Debian package that provides it.
struct SystemDep {
    probe: Probe,
    apt_package: &'static str,
    need: Need,
}

const fn dep(probe: Probe, apt_package: &'static str, need: Need) -> SystemDep {
    SystemDep {
        probe,
        apt_package,
        need,
    }
}

/// What the tests need beyond Rust, Node and Python, on Debian 12: Chromium and the sqlite3
/// shell for the Playwright tests of the web UI; a C toolchain, pkg-config and the WebKitGTK 4.1 stack for building the
/// Tauri shell (Tauri's documented Linux prerequisites); Xvfb and WebKitWebDriver for driving
/// the shell. tauri-driver comes from crates.io (`ensure_tauri_driver`).
/// (No OpenSSL: nothing in the desktop build links it.)
const SYSTEM_DEPS: &[SystemDep] = &[
    dep(Probe::Program("chromium"), "chromium", Need::Browser),
    // The delivery log's paging test writes 100,000 rows straight into the server's file.
    dep(Probe::Program("sqlite3"), "sqlite3", Need::Browser),
    dep(Probe::Program("cc"), "build-essential", Need::Desktop),
    dep(Probe::Program("pkg-config"), "pkg-config", Need::Desktop),
    dep(
        Probe::Library("webkit2gtk-4.1"),
        "libwebkit2gtk-4.1-dev",
        Need::Desktop,
    ),
    dep(Probe::Library("librsvg-2.0"), "librsvg2-dev", Need::Desktop),
    dep(
        Probe::Library("ayatana-appindicator3-0.1"),
        "libayatana-appindicator3-dev",
        Need::Desktop,
    ),
    dep(Probe::Program("Xvfb"), "xvfb", Need::Desktop),
    dep(
        Probe::Program("WebKitWebDriver"),
        "webkit2gtk-driver",
        Need::Desktop,
    ),
];

/// The tauri-driver release the desktop test is written for (its 3.x line is an alpha).
const TAURI_DRIVER_VERSION: &str = "2.1.0";

fn have_program(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

fn have_library(module: &str) -> bool {
    Command::new("pkg-config")
        .args(["--exists", module])
        .status()
        .is_ok_and(|s| s.success())
}

fn present(d: &SystemDep) -> bool {
    match d.probe {
        Probe::Program(p) => have_program(p),
        Probe::Library(m) => have_library(m),
    }
}

/// Whether the desktop steps can run here, and if not, why (shown in the summary).
type DesktopReady = std::result::Result<(), String>;

/// Installs what is missing with apt-get (as root directly, else through sudo). Returns whether
/// the desktop steps can run; fails when the browser tests' dependencies cannot be had.
fn ensure_system_deps() -> Result<DesktopReady> {
    if !cfg!(target_os = "linux") {
        eprintln!(
            "==> system packages: not managed on this OS; the browser tests use CHROMIUM or /usr/bin/chromium"
        );
        return Ok(Err(
            "the desktop is driven through WebKitGTK's WebDriver, on Linux only".into(),
        ));
    }
    let missing: Vec<&SystemDep> = SYSTEM_DEPS.iter().filter(|d| !present(d)).collect();
    if missing.is_empty() {
        eprintln!("==> system packages: all present");
    } else {
        let packages: Vec<&str> = missing.iter().map(|d| d.apt_package).collect();
        if can_apt() {
            apt_install(&packages)?;
        } else {
            let browser: Vec<&str> = missing
                .iter()
                .filter(|d| d.need == Need::Browser)
                .map(|d| d.apt_package)
                .collect();
            if !browser.is_empty() {
                bail!("missing system packages {browser:?} and no apt-get (as root or through sudo) to install them; install them by hand");
            }
            return Ok(Err(format!(
                "missing {} and no apt-get (as root or through sudo) to install them",
                packages.join(", ")
            )));
        }
        let still: Vec<&str> = SYSTEM_DEPS
            .iter()
            .filter(|d| !present(d))
            .map(|d| d.apt_package)
            .collect();
        if !still.is_empty() {
            bail!("still missing after apt-get install: {}", still.join(", "));
        }
    }
    ensure_tauri_driver()?;
    Ok(Ok(()))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// apt-get is there, and this process may run it (as root, or through sudo).
fn can_apt() -> bool {
    have_program("apt-get") && (is_root() || have_program("sudo"))
}

fn apt_install(packages: &[&str]) -> Result<()> {
    let is_root = is_root();
    let apt = |args: &[&str]| {
        let mut c = if is_root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(&mut apt(&["update"]), "apt-get update")?;
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend(packages);
    run(
        &mut apt(&install),
        &format!("apt-get install {}", packages.join(" ")),
    )
}

/// Where `cargo install` puts programs: $CARGO_HOME/bin, else ~/.cargo/bin.
fn cargo_bin_dir() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin"))
}

/// tauri-driver on PATH or in cargo's bin folder (which a fresh shell may not have on PATH).
fn tauri_driver() -> Option<PathBuf> {
    if have_program("tauri-driver") {
        return Some(PathBuf::from("tauri-driver"));
    }
    let name = if cfg!(windows) {
        "tauri-driver.exe"
    } else {
        "tauri-driver"
    };
    cargo_bin_dir()
        .map(|d| d.join(name))
        .filter(|p| p.is_file())
}

fn ensure_tauri_driver() -> Result<()> {
    if tauri_driver().is_some() {
        return Ok(());
    }
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args([
            "install",
            "tauri-driver",
            "--version",
            TAURI_DRIVER_VERSION,
            "--locked",
        ]),
        &format!("cargo install tauri-driver --version {TAURI_DRIVER_VERSION} --locked"),
    )
}

// ---------------------------------------------------------------------------------------------
// cargo xtask test

enum Outcome {
    Passed(Duration),
    Skipped(String),
    Failed(Duration),
    NotRun,
}

struct Step {
    name: String,
    outcome: Outcome,
}

fn print_summary(steps: &[Step]) {
    eprintln!("\n==> summary");
    for s in steps {
        let (mark, note) = match &s.outcome {
            Outcome::Passed(d) => ("ok     ", format!("{:.1}s", d.as_secs_f64())),
            Outcome::Skipped(why) => ("skipped", why.clone()),
            Outcome::Failed(d) => ("FAILED ", format!("{:.1}s", d.as_secs_f64())),
            Outcome::NotRun => ("not run", "an earlier step failed".to_string()),
        };
        eprintln!("    {mark}  {:<44} {note}", s.name);
    }
}

/// A step of `cargo xtask test`: a command to run, or the reason it does not apply here.
enum Planned {
    Run(Command),
    Skip(String),
}

fn ui_dir() -> PathBuf {
    root().join("ui")
}

/// npm in ui/ (npm.cmd on Windows, where npm is a batch file).
fn npm(args: &[&str]) -> Command {
    let mut c = Command::new(if cfg!(windows) { "npm.cmd" } else { "npm" });
    c.args(args).current_dir(ui_dir());
    c
}

fn exe(name: &str) -> String {
    if cfg!(windows) {
        format!("{name}.exe")
    } else {
        name.to_string()
    }
}

fn desktop_bin() -> PathBuf {
    target_dir().join("debug").join(exe("baton-desktop"))
}

fn test() -> Result<()> {
    let mut steps: Vec<Step> = Vec::new();
    // The system packages come first: the browser and desktop steps depend on what they find.
    let started = Instant::now();
    let desktop: DesktopReady = match ensure_system_deps() {
        Ok(ready) => {
            steps.push(Step {
                name: "system packages and tauri-driver".into(),
                outcome: Outcome::Passed(started.elapsed()),
            });
            ready
        }
        Err(e) => {
            steps.push(Step {
                name: "system packages and tauri-driver".into(),
                outcome: Outcome::Failed(started.elapsed()),
            });
            print_summary(&steps);
            return Err(e.context("tests failed; the output above the summary shows why"));
        }
    };

    let mut plan: Vec<(String, Planned)> = Vec::new();
    // The UI from a clean install, built before `baton` (which embeds ui/dist).
    plan.push(("npm ci (ui)".into(), Planned::Run(npm(&["ci"]))));
    plan.push((
        "npm run build (ui)".into(),
        Planned::Run(npm(&["run", "build"])),
    ));
    // The desktop shell has no tests of its own and needs WebKitGTK: it is built on its own below.
    let mut c = cargo();
    c.args([
        "test",
        "--workspace",
        "--all-targets",
        "--exclude",
        "baton-desktop",
    ]);
    plan.push((
        "cargo test --workspace --all-targets".into(),
        Planned::Run(c),
    ));
    plan.push(fuzz::short_pass());
    let mut c = cargo();
    c.args(["build", "-p", "baton"]);
    plan.push(("cargo build -p baton".into(), Planned::Run(c)));
    for dir in ["bpmn-templates", "tests/scenarios"] {
        let step = if root().join(dir).is_dir() {
            let mut c = baton_cmd("debug");
            c.args(["test", dir]);
            Planned::Run(c)
        } else {
            Planned::Skip("folder not present".into())
        };
        plan.push((format!("baton test {dir}"), step));
    }
    plan.push(("npm test (ui, Vitest)".into(), Planned::Run(npm(&["test"]))));
    let mut c = npm(&["run", "e2e"]);
    c.env("BATON_BIN", baton("debug"));
    plan.push((
        "npm run e2e (ui, Playwright + Chromium)".into(),
        Planned::Run(c),
    ));
    match &desktop {
        Ok(()) => {
            let mut c = cargo();
            c.args(["build", "-p", "baton-desktop"]);
            plan.push(("cargo build -p baton-desktop".into(), Planned::Run(c)));
            // The desktop crate's own tests (its commands' mapping on a real runtime), kept out
            // of the workspace step so that a machine without WebKitGTK still runs the rest.
            let mut c = cargo();
            c.args(["test", "-p", "baton-desktop"]);
            plan.push(("cargo test -p baton-desktop".into(), Planned::Run(c)));
            let mut c = Command::new("node");
            c.arg(root().join("tests/desktop/webdriver.mjs"))
                .current_dir(root())
                .env("BATON_DESKTOP_BIN", desktop_bin())
                .env(
                    "TAURI_DRIVER",
                    tauri_driver().unwrap_or_else(|| "tauri-driver".into()),
                );
            plan.push(("desktop under Xvfb (tauri-driver)".into(), Planned::Run(c)));
        }
        Err(why) => {
            plan.push((
                "cargo build -p baton-desktop".into(),
                Planned::Skip(why.clone()),
            ));
            plan.push((
                "cargo test -p baton-desktop".into(),
                Planned::Skip(why.clone()),
            ));
            plan.push((
                "desktop under Xvfb (tauri-driver)".into(),
                Planned::Skip(why.clone()),
            ));
        }
    }

    // Fail fast, but still list every step so the log shows what did not run.
    let mut failure: Option<anyhow::Error> = None;
    for (name, planned) in plan {
        let outcome = match (planned, &failure) {
            (_, Some(_)) => Outcome::NotRun,
            (Planned::Skip(why), None) => {
                eprintln!("==> {name}: skipped ({why})");
                Outcome::Skipped(why)
            }
            (Planned::Run(mut cmd), None) => {
                let started = Instant::now();
                match run(&mut cmd, &name) {
                    Ok(()) => Outcome::Passed(started.elapsed()),
                    Err(e) => {
                        failure = Some(e);
                        Outcome::Failed(started.elapsed())
                    }
                }
            }
        };
        steps.push(Step { name, outcome });
    }
    print_summary(&steps);
    match failure {
        Some(e) => Err(e.context("tests failed; the output above the summary shows why")),
        None => {
            eprintln!("\n==> all tests passed");
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// cargo xtask run

/// True when `baton --help` lists `serve` among its subcommands (clap's "Commands:" block).
fn has_serve(help: &str) -> bool {
    help.lines()
        .skip_while(|l| !l.trim_start().starts_with("Commands:"))
        .any(|l| l.split_whitespace().next() == Some("serve"))
}

/// `npm ci` when ui/node_modules is missing, then `npm run build`: the UI both shells show.
fn build_ui() -> Result<()> {
    if !ui_dir().join("node_modules").is_dir() {
        run(&mut npm(&["ci"]), "npm ci (ui)")?;
    }
    run(&mut npm(&["run", "build"]), "npm run build (ui)")
}

/// A window can open: Windows and macOS always, elsewhere when X11 or Wayland is there.
fn has_display() -> bool {
    let set = |v| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    cfg!(windows) || cfg!(target_os = "macos") || set("DISPLAY") || set("WAYLAND_DISPLAY")
}

/// The libraries the desktop build links that are missing here (Linux only).
fn missing_desktop_libraries() -> Vec<&'static str> {
    if !cfg!(target_os = "linux") {
        return Vec::new();
    }
    SYSTEM_DEPS
        .iter()
        .filter(|d| matches!(d.probe, Probe::Library(_)) && !present(d))
        .map(|d| d.apt_package)
        .collect()
}

fn run_app(args: &[String]) -> Result<()> {
    let headless = args.iter().any(|a| a == "--headless");
    let args: Vec<String> = args
        .iter()
        .filter(|a| *a != "--headless")
        .cloned()
        .collect();
    build_ui()?;
    if !headless && has_display() {
        let missing = missing_desktop_libraries();
        if missing.is_empty() {
            if !args.is_empty() {
                eprintln!(
                    "note: {} are arguments of `baton serve`; add --headless to start it instead of the app",
                    shell_words(&args)
                );
            }
            run(
                cargo().args(["build", "-p", "baton-desktop"]),
                "cargo build -p baton-desktop",
            )?;
            let mut c = Command::new(desktop_bin());
            c.current_dir(root());
            return run(&mut c, "target/debug/baton-desktop");
        }
        eprintln!(
            "The desktop app needs {} (`cargo xtask test` installs them with apt-get); starting `baton serve` instead.",
            missing.join(", ")
        );
    }
    run(
        cargo().args(["build", "-p", "baton"]),
        "cargo build -p baton",
    )?;
    let help = baton_cmd("debug")
        .arg("--help")
        .output()
        .context("running baton --help")?;
    if !has_serve(&String::from_utf8_lossy(&help.stdout)) {
        bail!("this build of baton has no `serve` command");
    }
    serve_with_url(&args)
}

/// What `baton serve` printed when it started, read for the address of the web UI and the token.
#[derive(Debug, Default, PartialEq)]
struct Started {
    url: Option<String>,
    token: Option<String>,
}

fn read_started(out: &str) -> Started {
    let mut s = Started::default();
    for line in out.lines() {
        if let Some(rest) = line.trim().strip_prefix("web UI: ") {
            s.url = Some(rest.trim().trim_end_matches('/').to_string() + "/");
        } else if s.url.is_none() && line.starts_with("baton serve") {
            if let Some(at) = line.find("http://") {
                let addr = line[at..].split_whitespace().next().unwrap_or_default();
                s.url = Some(addr.trim_end_matches('/').to_string() + "/");
            }
        }
        if line.starts_with("admin token (shown once") {
            s.token = line.rsplit(": ").next().map(|t| t.trim().to_string());
        }
    }
    s
}

/// The token given on the command line (`--token T`, `--token=T`) or in BATON_TOKEN.
fn given_token(args: &[String]) -> Option<String> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--token" {
            return it.next().cloned();
        }
        if let Some(t) = a.strip_prefix("--token=") {
            return Some(t.to_string());
        }
    }
    std::env::var("BATON_TOKEN").ok().filter(|t| !t.is_empty())
}

/// Starts `baton serve ARGS` and, once it listens, prints the web UI's address with the token.
/// The server writes its output to a file that this process reads back (and shows): a pipe
/// would break the server's output when Ctrl-C ends this process before the server has
/// finished shutting down.
fn serve_with_url(args: &[String]) -> Result<()> {
    use std::io::{Read, Write};
    let shown = format!("target/debug/baton serve {}", shell_words(args));
    let shown = shown.trim_end();
    eprintln!("==> {shown}");
    let log = target_dir().join(format!("xtask-serve-{}.out", std::process::id()));
    let out = std::fs::File::create(&log).with_context(|| format!("{}", log.display()))?;
    let mut reader = std::fs::File::open(&log).with_context(|| format!("{}", log.display()))?;
    // The token may be in it: on Unix the name goes away now, the open handles keep working.
    #[cfg(unix)]
    let _ = std::fs::remove_file(&log);
    let mut child = baton_cmd("debug")
        .arg("serve")
        .args(args)
        .stdout(out)
        .spawn()
        .with_context(|| format!("could not start `{shown}`"))?;
    let mut seen = String::new();
    let mut announced = false;
    let status = loop {
        let mut chunk = String::new();
        let _ = reader.read_to_string(&mut chunk);
        if !chunk.is_empty() {
            print!("{chunk}");
            let _ = std::io::stdout().flush();
            seen.push_str(&chunk);
        }
        if !announced {
            let started = read_started(&seen);
            if let Some(url) = started.url {
                announced = true;
                match started.token.or_else(|| given_token(args)) {
                    Some(t) => println!("\nOpen the web UI: {url}?token={t}\n"),
                    None => println!(
                        "\nOpen the web UI: {url} (it asks for a token this database already has)\n"
                    ),
                }
            }
        }
        if let Some(status) = child.try_wait()? {
            let mut rest = String::new();
            let _ = reader.read_to_string(&mut rest);
            print!("{rest}");
            break status;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    #[cfg(not(unix))]
    let _ = std::fs::remove_file(&log);
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

fn dispatch() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((t, rest)) => (t.as_str(), rest),
        None => ("", &[][..]),
    };
    match task {
        "test" if rest.is_empty() => test(),
        "run" => run_app(rest),
        "bench" => bench::bench(rest),
        "bench-peers" => bench::bench_peers(rest),
        "bench-durable" => bench::bench_durable(rest),
        "bench-timers" => bench::bench_timers(rest),
        "bench-webhook" => bench_webhook::bench_webhook(rest),
        "bench-ui" => bench_ui(rest),
        "fuzz" => fuzz::fuzz(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

/// `cargo xtask bench-ui`: the issue-8 figures in BENCHMARKS.md, from release builds.
fn bench_ui(args: &[String]) -> Result<()> {
    const USAGE: &str = "usage: cargo xtask bench-ui [--runs N]";
    let mut runs = 5usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                runs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| *n > 0)
                    .with_context(|| format!("--runs needs a whole number above 0\n{USAGE}"))?
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    match ensure_system_deps() {
        Ok(Ok(())) => {}
        Ok(Err(why)) => eprintln!("note: the desktop side will be skipped: {why}"),
        Err(e) => eprintln!("note: the desktop side may be skipped: {e:#}"),
    }
    build_ui()?;
    run(
        cargo().args(["build", "--release", "-p", "baton", "-p", "baton-desktop"]),
        "cargo build --release -p baton -p baton-desktop",
    )?;
    let release_baton = baton("release");
    let mut c = Command::new("node");
    c.arg(root().join("tests/bench-ui/desktop-vs-browser.mjs"))
        .current_dir(root())
        .env("BATON_BENCH_RUNS", runs.to_string())
        .env("BATON_BIN", &release_baton)
        .env(
            "BATON_DESKTOP_BIN",
            target_dir().join("release").join(exe("baton-desktop")),
        );
    if let Some(driver) = tauri_driver() {
        c.env("TAURI_DRIVER", driver);
    }
    run(&mut c, "node tests/bench-ui/desktop-vs-browser.mjs")?;
    let mut c = npm(&[
        "exec",
        "--",
        "playwright",
        "test",
        "e2e/bench-designer.spec.ts",
        "e2e/bench-runner.spec.ts",
    ]);
    c.env("BATON_BENCH", "1").env("BATON_BIN", &release_baton);
    run(
        &mut c,
        "the designer and instance-list benchmarks (Chromium)",
    )
}

/// Errors are printed as one plain chain (no backtrace, whatever RUST_BACKTRACE says): the
/// failing step's own output is already above it.
fn main() {
    if let Err(e) = dispatch() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_is_found_only_among_subcommands() {
        let help = "Run Baton; see serve docs\n\nUsage: baton <COMMAND>\n\nCommands:\n  serve     Run headless\n  test      Run scenarios\n";
        assert!(has_serve(help));
        assert!(!has_serve(
            "Mentions serve in prose\n\nCommands:\n  simulate  Run one\n"
        ));
    }

    #[test]
    fn the_web_ui_address_and_token_are_read_from_what_serve_printed() {
        let out = "admin token (shown once; pass --token or BATON_TOKEN to choose one): abc123\nbaton serve: DB on http://127.0.0.1:7410 (db: x.db)\nweb UI: http://127.0.0.1:7410/\n";
        assert_eq!(
            read_started(out),
            Started {
                url: Some("http://127.0.0.1:7410/".into()),
                token: Some("abc123".into())
            }
        );
        let older =
            "admin token: the one given\nbaton serve: DB on http://127.0.0.1:9000 (db: x.db)\n";
        assert_eq!(
            read_started(older),
            Started {
                url: Some("http://127.0.0.1:9000/".into()),
                token: None
            }
        );
        assert_eq!(
            read_started("admin token: the one given\n"),
            Started::default()
        );
    }

    #[test]
    fn a_token_given_on_the_command_line_is_found() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            given_token(&args(&["--db", "x", "--token", "t1"])),
            Some("t1".into())
        );
        assert_eq!(given_token(&args(&["--token=t2"])), Some("t2".into()));
    }

    #[test]
    fn shell_words_quotes_only_what_needs_it() {
        assert_eq!(
            shell_words(&["^(a|b)$".into(), "plain".into(), "it's".into()]),
            r"'^(a|b)$' plain 'it'\''s'"
        );
    }
}
