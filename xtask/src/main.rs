//! Project tasks: `cargo xtask run`, `cargo xtask test`, `cargo xtask bench`, `cargo xtask bench-peers`.
//!
//! `test` is the one command CI runs (.ci/run): every test the project has, from a clean clone.
//! Anything the tests need beyond Rust is installed here, so a fresh machine needs nothing else.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives one level below the root").to_path_buf()
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    eprintln!("==> {what}");
    let status = cmd.status().with_context(|| format!("could not start: {what}"))?;
    if !status.success() {
        bail!("failed: {what} ({status})");
    }
    Ok(())
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn baton(profile: &str) -> PathBuf {
    root().join("target").join(profile).join(if cfg!(windows) { "baton.exe" } else { "baton" })
}

/// System packages the tests need. Nothing yet: the engine and CLI build with Rust alone.
/// The desktop and browser issues add their apt packages here.
fn ensure_system_deps() -> Result<()> {
    Ok(())
}

fn test() -> Result<()> {
    ensure_system_deps()?;
    run(cargo().args(["test", "--workspace", "--all-targets"]), "cargo test --workspace --all-targets")?;
    run(cargo().args(["build", "-p", "baton"]), "cargo build -p baton")?;
    let b = baton("debug");
    for dir in ["bpmn-templates", "tests/scenarios"] {
        if root().join(dir).is_dir() {
            run(Command::new(&b).current_dir(root()).args(["test", dir]), &format!("baton test {dir}"))?;
        }
    }
    eprintln!("==> all tests passed");
    Ok(())
}

fn run_app() -> Result<()> {
    run(cargo().args(["build", "-p", "baton"]), "cargo build -p baton")?;
    let b = baton("debug");
    let help = Command::new(&b).arg("--help").output().context("running baton --help")?;
    if String::from_utf8_lossy(&help.stdout).contains("serve") {
        return run(Command::new(&b).current_dir(root()).arg("serve"), "baton serve");
    }
    println!(
        "Baton's desktop app and `baton serve` are not built yet. Today you can:\n  \
         target/debug/baton simulate bpmn-templates/loan-approval/LoanApprovalProcess.bpmn --scenario bpmn-templates/loan-approval/LoanApprovalProcess.scenario.json\n  \
         target/debug/baton lint bpmn-templates/payment-approval/PaymentApprovalProcess.bpmn\n  \
         target/debug/baton test bpmn-templates"
    );
    Ok(())
}

fn peers_dir() -> Option<PathBuf> {
    let p = root().join("../shared/bench-peers");
    p.is_dir().then_some(p)
}

fn bench() -> Result<()> {
    let Some(peers) = peers_dir() else {
        println!("skipped: ../shared/bench-peers not found");
        return Ok(());
    };
    run(cargo().args(["build", "--release", "-p", "baton"]), "cargo build --release -p baton")?;
    let b = baton("release");
    for (model, n) in [("seq10", "200000"), ("par10", "50000"), ("loop100", "5000"), ("wait1", "300000")] {
        let mut c = Command::new(&b);
        c.arg("bench").arg(peers.join(format!("models/rhai/{model}.bpmn"))).args(["--instances", n, "--json"]);
        if model == "wait1" {
            c.arg("--scenario").arg(peers.join("baton/wait1.scenario.json"));
        } else {
            c.args(["--vars", "{\"counter\":0}"]);
        }
        run(&mut c, &format!("baton bench {model}"))?;
    }
    Ok(())
}

fn bench_peers() -> Result<()> {
    let Some(peers) = peers_dir() else {
        println!("skipped: ../shared/bench-peers not found");
        return Ok(());
    };
    run(cargo().args(["build", "--release", "-p", "baton"]), "cargo build --release -p baton")?;
    let filter = std::env::args().nth(2).unwrap_or_else(|| ".".into());
    run(
        Command::new(peers.join("scripts/run_peers.sh")).current_dir(&peers).arg(&filter).env("BATON", baton("release")),
        &format!("BATON=target/release/baton ../shared/bench-peers/scripts/run_peers.sh '{filter}'"),
    )
}

fn main() -> Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("test") => test(),
        Some("run") => run_app(),
        Some("bench") => bench(),
        Some("bench-peers") => bench_peers(),
        _ => {
            eprintln!("usage: cargo xtask <run|test|bench|bench-peers [label-regex]>");
            std::process::exit(2);
        }
    }
}
