//! Project tasks: `cargo xtask run`, `cargo xtask test`, `cargo xtask bench`, `cargo xtask bench-peers`,
//! `cargo xtask bench-durable`, `cargo xtask bench-timers`.
//!
//! `test` is the one command CI runs (.ci/run): every test the project has, from a clean clone
//! on a Debian 12 machine that has Rust, Node 20 and Python 3.11 and nothing else. Whatever the
//! tests need beyond that (Chromium, the WebKitGTK build stack, Xvfb, WebKitWebDriver,
//! tauri-driver) is installed by `ensure_system_deps`, so a fresh machine needs no manual setup
//! step and the README's quick start stays two commands.
//!
//! Only std and anyhow: this crate is built before anything else, on every CI run.

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
  bench [--instances N] release build, `baton bench` on the four shared bench models, a table
  bench-durable [--reps N] [--instances N]
                        release build, `baton bench --durable` on seq10 and wait1, sync full
                        and normal, 1 and 16 clients, SQLite's own commit rate probed in each
                        run; medians (min-max) and the ratio
  bench-timers [--reps N] [--timers N] [--idle-timers M] [--idle-seconds K] [--sync full|normal]
                        release build, `baton bench --timers` (default 10,000 timers due at
                        the same second, then 100,000 future timers idle for 60 s, sync full,
                        16 clients), SQLite's own commit rate probed in each run; medians
                        (min-max) and the ratio
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

/// What the tests need beyond Rust, Node and Python, on Debian 12: Chromium for the Playwright
/// tests of the web UI; a C toolchain, pkg-config and the WebKitGTK 4.1 stack for building the
/// Tauri shell (Tauri's documented Linux prerequisites); Xvfb and WebKitWebDriver for driving
/// the shell. tauri-driver comes from crates.io (`ensure_tauri_driver`).
/// (No OpenSSL: nothing in the desktop build links it.)
const SYSTEM_DEPS: &[SystemDep] = &[
    dep(Probe::Program("chromium"), "chromium", Need::Browser),
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

// ---------------------------------------------------------------------------------------------
// cargo xtask bench, bench-peers

fn peers_dir() -> Option<PathBuf> {
    let p = root().join("../shared/bench-peers");
    p.is_dir().then(|| p.canonicalize().unwrap_or(p))
}

/// The text of a scalar field in the flat JSON that `baton bench --json` prints. Enough for the
/// table; the first match is the top-level field because `lastVariables` comes last.
fn json_scalar<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let at = json.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = json[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = rest.find([',', '}', '\n']).unwrap_or(rest.len());
    Some(rest[..end].trim().trim_matches('"'))
}

/// A bench model, its instance count (sized for a few seconds in release on the dev machine)
/// and the variable of the last instance that proves the work was done.
struct BenchModel {
    name: &'static str,
    instances: u64,
    expect: Option<(&'static str, &'static str)>,
}

const BENCH_MODELS: &[BenchModel] = &[
    BenchModel {
        name: "seq10",
        instances: 200_000,
        expect: Some(("counter", "10")),
    },
    BenchModel {
        name: "par10",
        instances: 50_000,
        expect: None,
    },
    BenchModel {
        name: "loop100",
        instances: 5_000,
        expect: Some(("counter", "100")),
    },
    BenchModel {
        name: "wait1",
        instances: 300_000,
        expect: Some(("counter", "1")),
    },
];

fn bench(args: &[String]) -> Result<()> {
    let instances: Option<u64> = match args {
        [] => None,
        [flag, n] if flag == "--instances" => Some(
            n.parse()
                .with_context(|| format!("--instances {n}: not a number"))?,
        ),
        _ => bail!("usage: cargo xtask bench [--instances N]"),
    };
    let Some(peers) = peers_dir() else {
        println!("skipped: ../shared/bench-peers not found (the bench models live there)");
        return Ok(());
    };
    run(
        cargo().args(["build", "--release", "-p", "baton"]),
        "cargo build --release -p baton",
    )?;
    let mut rows = Vec::new();
    for m in BENCH_MODELS {
        let (model, check) = (m.name, m.expect);
        let n = instances.unwrap_or(m.instances).to_string();
        let mut c = baton_cmd("release");
        c.arg("bench")
            .arg(peers.join(format!("models/rhai/{model}.bpmn")))
            .args(["--instances", &n, "--json"]);
        if model == "wait1" {
            c.arg("--scenario")
                .arg(peers.join("baton/wait1.scenario.json"));
        } else {
            c.args(["--vars", r#"{"counter":0}"#]);
        }
        eprintln!("==> baton bench {model} --instances {n}");
        let out = c
            .output()
            .with_context(|| format!("could not start baton bench {model}"))?;
        let json = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            bail!(
                "baton bench {model} failed ({}):\n{}{}",
                out.status,
                json,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let field = |k| json_scalar(&json, k).unwrap_or("?").to_string();
        let state = field("state");
        let verdict = match check {
            _ if state != "COMPLETED" => format!("ended {state}"),
            None => "ok".to_string(),
            Some((var, want)) => {
                let last = json
                    .find("\"lastVariables\"")
                    .map(|i| &json[i..])
                    .unwrap_or("");
                match json_scalar(last, var) {
                    Some(got) if got == want => "ok".to_string(),
                    got => format!("{var}={} expected {want}", got.unwrap_or("missing")),
                }
            }
        };
        let rate: f64 = field("instancesPerSecond").parse().unwrap_or(f64::NAN);
        let secs: f64 = field("seconds").parse().unwrap_or(f64::NAN);
        rows.push((model, field("instances"), secs, rate, verdict));
    }
    println!("\n| model   | instances |  seconds | instances/s | check |");
    println!("|---------|----------:|---------:|------------:|-------|");
    for (model, n, secs, rate, verdict) in &rows {
        println!("| {model:<7} | {n:>9} | {secs:>8.2} | {rate:>11.0} | {verdict} |");
    }
    if rows.iter().any(|r| r.4 != "ok") {
        bail!("a bench model did not end as expected (see the check column)");
    }
    Ok(())
}

/// Median and range of a sample, for the tables.
fn median_range(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn bench_durable(args: &[String]) -> Result<()> {
    let mut reps = 3usize;
    let mut instances = 3000usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next().with_context(|| format!("{a} needs a value"))?;
        match a.as_str() {
            "--reps" => reps = v.parse().with_context(|| format!("--reps {v}"))?,
            "--instances" => instances = v.parse().with_context(|| format!("--instances {v}"))?,
            _ => bail!("usage: cargo xtask bench-durable [--reps N] [--instances N]"),
        }
    }
    let Some(peers) = peers_dir() else {
        println!("skipped: ../shared/bench-peers not found (the bench models live there)");
        return Ok(());
    };
    run(
        cargo().args(["build", "--release", "-p", "baton"]),
        "cargo build --release -p baton",
    )?;
    let dir = std::env::temp_dir().join(format!("baton-bench-durable-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let configs: Vec<(&str, &str, usize)> = ["wait1", "seq10"]
        .into_iter()
        .flat_map(|m| {
            ["full", "normal"]
                .into_iter()
                .flat_map(move |s| [1usize, 16].into_iter().map(move |c| (m, s, c)))
        })
        .collect();
    // (inst/s, sqlite commits/s, ratio) per config, round-robin over the reps.
    let mut samples: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); configs.len()];
    for rep in 0..reps {
        for (i, (model, sync, clients)) in configs.iter().enumerate() {
            let db = dir.join(format!("{model}-{sync}-{clients}-{rep}.db"));
            let mut c = baton_cmd("release");
            c.arg("bench")
                .arg(peers.join(format!("models/rhai/{model}.bpmn")))
                .args(["--instances", &instances.to_string(), "--json", "--durable"])
                .arg(&db)
                .args([
                    "--sync",
                    sync,
                    "--clients",
                    &clients.to_string(),
                    "--probe-seconds",
                    "2",
                ]);
            if *model == "wait1" {
                c.arg("--scenario")
                    .arg(peers.join("baton/wait1.scenario.json"));
            } else {
                c.args(["--vars", r#"{"counter":0}"#]);
            }
            eprintln!(
                "==> {model} sync={sync} clients={clients} (rep {})",
                rep + 1
            );
            let out = c.output().context("could not start baton bench")?;
            let json = String::from_utf8_lossy(&out.stdout).into_owned();
            if !out.status.success() || json_scalar(&json, "state") != Some("COMPLETED") {
                bail!(
                    "baton bench {model} failed ({}):\n{json}{}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let num = |k| {
                json_scalar(&json, k)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(f64::NAN)
            };
            samples[i].push((
                num("instancesPerSecond"),
                num("sqliteCommitsPerSecond"),
                num("ratioToSqliteCommits"),
            ));
            for ext in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("\n| model | sync | clients | durable inst/s | SQLite 1-row commits/s | inst/s ÷ commits/s |");
    println!("|---|---|---:|---|---|---:|");
    for ((model, sync, clients), s) in configs.iter().zip(samples) {
        let pick =
            |f: fn(&(f64, f64, f64)) -> f64| median_range(&mut s.iter().map(f).collect::<Vec<_>>());
        let (a, a0, a1) = pick(|x| x.0);
        let (b, b0, b1) = pick(|x| x.1);
        let (r, _, _) = pick(|x| x.2);
        println!("| {model} | {sync} | {clients} | {a:.0} ({a0:.0}–{a1:.0}) | {b:.0} ({b0:.0}–{b1:.0}) | {r:.2} |");
    }
    Ok(())
}

/// `cargo xtask bench-timers`: the scheduler's burst and idle figures, medians of R runs.
fn bench_timers(args: &[String]) -> Result<()> {
    const USAGE: &str = "usage: cargo xtask bench-timers [--reps N] [--timers N] [--idle-timers M] [--idle-seconds K] [--sync full|normal]";
    let mut reps = 3usize;
    let mut timers = 10_000usize;
    let mut idle_timers = 100_000usize;
    let mut idle_seconds = 60.0f64;
    let mut sync = "full".to_string();
    let clients = 16usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it
            .next()
            .with_context(|| format!("{a} needs a value; {USAGE}"))?;
        match a.as_str() {
            "--reps" => reps = v.parse().with_context(|| format!("--reps {v}"))?,
            "--timers" => timers = v.parse().with_context(|| format!("--timers {v}"))?,
            "--idle-timers" => {
                idle_timers = v.parse().with_context(|| format!("--idle-timers {v}"))?
            }
            "--idle-seconds" => {
                idle_seconds = v.parse().with_context(|| format!("--idle-seconds {v}"))?
            }
            "--sync" if v == "full" || v == "normal" => sync = v.clone(),
            "--sync" => bail!("--sync must be full or normal, not '{v}'"),
            _ => bail!("{USAGE}"),
        }
    }
    if reps == 0 {
        bail!("--reps must be 1 or more");
    }
    if !(idle_seconds.is_finite() && idle_seconds >= 0.0) {
        bail!("--idle-seconds must be 0 (no idle measurement) or more, not {idle_seconds}");
    }
    run(
        cargo().args(["build", "--release", "-p", "baton"]),
        "cargo build --release -p baton",
    )?;
    let dir = std::env::temp_dir().join(format!("baton-bench-timers-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    const FIELDS: &[&str] = &[
        "firedPerSecond",
        "fireSeconds",
        "sqliteCommitsPerSecond",
        "ratioToSqliteCommits",
        "createdPerSecond",
        "idleCpuSeconds",
        "idleCpuPercent",
        "idleWakeups",
        "nextDueMicros",
        "idleSeconds",
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); FIELDS.len()];
    for rep in 0..reps {
        let db = dir.join(format!("timers-{rep}.db"));
        let mut c = baton_cmd("release");
        c.args(["bench", "--timers", &timers.to_string(), "--durable"])
            .arg(&db)
            .args([
                "--sync",
                &sync,
                "--clients",
                &clients.to_string(),
                "--probe-seconds",
                "2",
                "--json",
            ]);
        if idle_seconds > 0.0 {
            c.args([
                "--idle-timers",
                &idle_timers.to_string(),
                "--idle-seconds",
                &idle_seconds.to_string(),
            ]);
        }
        eprintln!(
            "==> baton bench --timers {timers} --idle-timers {idle_timers} --idle-seconds {idle_seconds} --sync {sync} (rep {})",
            rep + 1
        );
        let out = c.output().context("could not start baton bench --timers")?;
        let json = String::from_utf8_lossy(&out.stdout).into_owned();
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
        }
        let all_fired = json_scalar(&json, "completed") == Some(&timers.to_string())
            && json_scalar(&json, "timersLeft") == Some("0");
        if !out.status.success() || !all_fired {
            let _ = std::fs::remove_dir_all(&dir);
            bail!(
                "baton bench --timers failed ({}):\n{json}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for (k, s) in FIELDS.iter().zip(samples.iter_mut()) {
            // "null" (CPU time unknown on this platform) stays NaN and shows as n/a.
            s.push(
                json_scalar(&json, k)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(f64::NAN),
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut stats = samples.into_iter().map(|mut s| median_range(&mut s));
    let mut next = || stats.next().unwrap_or((f64::NAN, f64::NAN, f64::NAN));
    let (fired, fired0, fired1) = next();
    let (secs, secs0, secs1) = next();
    let (probe, probe0, probe1) = next();
    let (ratio, ratio0, ratio1) = next();
    let (created, created0, created1) = next();
    let (cpu, cpu0, cpu1) = next();
    let (pct, pct0, pct1) = next();
    let (wakes, wakes0, wakes1) = next();
    let (lookup, lookup0, lookup1) = next();
    let (window, _, _) = next();
    let shown = |v: f64, digits: usize| {
        if v.is_nan() {
            "n/a".to_string()
        } else {
            format!("{v:.digits$}")
        }
    };
    println!("\n{reps} runs, sync {sync}, {clients} clients; medians (min-max)\n");
    println!("| timers due at once | time to fire all (s) | fired/s | SQLite 1-row commits/s | fired/s ÷ commits/s | created/s |");
    println!("|---:|---|---|---|---|---|");
    println!(
        "| {timers} | {secs:.2} ({secs0:.2}-{secs1:.2}) | {fired:.0} ({fired0:.0}-{fired1:.0}) | {probe:.0} ({probe0:.0}-{probe1:.0}) | {ratio:.2} ({ratio0:.2}-{ratio1:.2}) | {created:.0} ({created0:.0}-{created1:.0}) |"
    );
    if idle_seconds <= 0.0 {
        println!("\n(idle cost not measured: --idle-seconds 0)");
        return Ok(());
    }
    println!("\n| future timers | idle window (s) | process CPU (s) | CPU % of one core | scheduler wake-ups | earliest-due lookup (µs) |");
    println!("|---:|---:|---|---|---|---|");
    println!(
        "| {idle_timers} | {window:.1} | {} ({}-{}) | {} ({}-{}) | {wakes:.0} ({wakes0:.0}-{wakes1:.0}) | {lookup:.1} ({lookup0:.1}-{lookup1:.1}) |",
        shown(cpu, 4),
        shown(cpu0, 4),
        shown(cpu1, 4),
        shown(pct, 4),
        shown(pct0, 4),
        shown(pct1, 4),
    );
    Ok(())
}

fn bench_peers(args: &[String]) -> Result<()> {
    let Some(peers) = peers_dir() else {
        println!("skipped: ../shared/bench-peers not found");
        return Ok(());
    };
    let filter = match args {
        [] => ".".to_string(),
        [f] => f.clone(),
        _ => bail!(
            "usage: cargo xtask bench-peers [LABEL-REGEX]   (REPS and OUT from the environment)"
        ),
    };
    run(
        cargo().args(["build", "--release", "-p", "baton"]),
        "cargo build --release -p baton",
    )?;
    // REPS and OUT go through untouched; shown with the script's own defaults so the log says
    // where the rows went.
    let reps = std::env::var("REPS").unwrap_or_else(|_| "3".into());
    let out =
        std::env::var("OUT").unwrap_or_else(|_| peers.join("results/raw").display().to_string());
    let script = peers.join("scripts/run_peers.sh");
    let shown = format!(
        "cd {} && BATON={} REPS={reps} OUT={} {} {}",
        peers.display(),
        baton("release").display(),
        quote(&out),
        script.display(),
        quote(&filter)
    );
    println!("{shown}");
    run(
        Command::new(&script)
            .current_dir(&peers)
            .arg(&filter)
            .env("BATON", baton("release"))
            .env("REPS", &reps)
            .env("OUT", &out),
        &format!("run_peers.sh {}", quote(&filter)),
    )?;
    println!(
        "rows appended to {out}/peers.tsv; medians: python3 {}/scripts/summarize.py {out} {out}/summary.md",
        peers.display()
    );
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
        "bench" => bench(rest),
        "bench-peers" => bench_peers(rest),
        "bench-durable" => bench_durable(rest),
        "bench-timers" => bench_timers(rest),
        "bench-ui" => bench_ui(rest),
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
    run(&mut c, "the designer and instance-list benchmarks (Chromium)")
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
    fn bench_json_fields_are_read_from_the_top_level() {
        let json = r#"{"instances":5,"seconds":0.25,"instancesPerSecond":20.0,"state":"COMPLETED","lastVariables":{"state":"x","counter":10}}"#;
        assert_eq!(json_scalar(json, "instances"), Some("5"));
        assert_eq!(json_scalar(json, "instancesPerSecond"), Some("20.0"));
        assert_eq!(json_scalar(json, "state"), Some("COMPLETED"));
        let last = &json[json.find("\"lastVariables\"").unwrap()..];
        assert_eq!(json_scalar(last, "counter"), Some("10"));
        let pretty = "{\n  \"state\": \"WAITING\",\n  \"seconds\": 1\n}";
        assert_eq!(json_scalar(pretty, "state"), Some("WAITING"));
        assert_eq!(json_scalar(pretty, "seconds"), Some("1"));
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
