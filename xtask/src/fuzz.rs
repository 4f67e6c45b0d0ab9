//! `cargo xtask fuzz [TARGET] [--seconds N]` and the short pass `cargo xtask test` runs.
//!
//! The targets live in fuzz/ (a cargo-fuzz crate outside the workspace; fuzz/README.md). They
//! need a nightly toolchain and cargo-fuzz: both are installed here when missing (rustup,
//! `cargo install cargo-fuzz`), so a fresh machine needs no setup step.
//!
//! Each run reads, besides its living corpus (fuzz/corpus/TARGET, not committed), the seeds
//! committed in fuzz/seeds/TARGET, the reproducers in fuzz/regressions/TARGET, and seeds
//! gathered now into fuzz/target/seeds/TARGET from bpmn-templates/, tests/scenarios/ and, when
//! it is there, ../shared/corpora (never copied into the repository). A crash leaves its input
//! in fuzz/artifacts/TARGET/ and fails the command.

use super::{cargo_bin_dir, have_program, root, run, Planned};
use crate::http_client::json_string;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The targets, in the order they run.
pub const TARGETS: &[&str] = &["bpmn", "scenario", "script", "doors", "webhook_signatures"];

/// The cargo-fuzz release these targets are built with.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Seconds per target: `cargo xtask fuzz` (the long run) and the short pass in `cargo xtask test`.
const LONG_SECONDS: u64 = 600;
const SHORT_SECONDS: u64 = 20;

/// Seed files larger than this are left out: libFuzzer mutates slowly on big inputs, and the
/// readers' behaviour on size is covered by their own limits' tests.
const MAX_SEED_BYTES: u64 = 64 * 1024;

struct Options {
    target: Option<String>,
    seconds: u64,
    /// The short pass: a scratch corpus instead of the living one, and no shared corpora, so
    /// that it costs the same on every machine.
    short: bool,
}

fn usage() -> String {
    format!(
        "usage: cargo xtask fuzz [TARGET] [--seconds N]\n  TARGET: one of {} (default: all, in turn)\n  --seconds N: how long each target runs (default {LONG_SECONDS})",
        TARGETS.join(", ")
    )
}

fn options(args: &[String]) -> Result<Options> {
    let mut o = Options {
        target: None,
        seconds: LONG_SECONDS,
        short: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                let n = it.next().context("--seconds needs a number")?;
                o.seconds =
                    n.parse().ok().filter(|n| *n > 0).with_context(|| {
                        format!("--seconds: '{n}' is not a whole number above 0")
                    })?;
            }
            "--short" => {
                o.seconds = SHORT_SECONDS;
                o.short = true;
            }
            "-h" | "--help" => bail!("{}", usage()),
            t if TARGETS.contains(&t) && o.target.is_none() => o.target = Some(t.to_string()),
            other => bail!("unknown argument {other}\n{}", usage()),
        }
    }
    Ok(o)
}

/// `cargo xtask fuzz [TARGET] [--seconds N]`: every target (or one) for N seconds each.
pub fn fuzz(args: &[String]) -> Result<()> {
    let o = options(args)?;
    ensure_tools()?;
    let targets: Vec<&str> = match &o.target {
        Some(t) => vec![t.as_str()],
        None => TARGETS.to_vec(),
    };
    run(
        &mut cargo_fuzz(&["build", "--sanitizer", "none", "--debug-assertions"]),
        "cargo fuzz build (nightly, debug assertions on)",
    )?;
    let mut failed = Vec::new();
    for t in &targets {
        let seeds = gather_seeds(t, !o.short)?;
        let what = format!("fuzz {t} for {} s", o.seconds);
        if let Err(e) = run(&mut fuzz_run(t, &seeds, o.seconds, o.short), &what) {
            eprintln!("{e:#}");
            failed.push(*t);
        }
    }
    if !failed.is_empty() {
        bail!(
            "fuzzing found a problem in: {} (the input is under fuzz/artifacts/<target>/; keep it in fuzz/regressions/<target>/ with the fix)",
            failed.join(", ")
        );
    }
    eprintln!("==> fuzz: no crash, hang or leak of panic text found");
    Ok(())
}

/// The short pass of every target that `cargo xtask test` runs: `cargo xtask fuzz --short`
/// (SHORT_SECONDS each), skipped only where no nightly toolchain can be installed.
pub fn short_pass() -> (String, Planned) {
    let name = format!(
        "fuzz: {SHORT_SECONDS} s on each of {} targets (nightly, cargo-fuzz)",
        TARGETS.len()
    );
    if !have_program("rustup") {
        return (
            name,
            Planned::Skip(
                "no rustup to install the nightly toolchain the fuzz targets need".into(),
            ),
        );
    }
    let me = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("cargo-xtask"));
    let mut c = Command::new(me);
    c.current_dir(root()).args(["fuzz", "--short"]);
    (name, Planned::Run(c))
}

/// A nightly toolchain (rustup) and cargo-fuzz, installed when missing.
fn ensure_tools() -> Result<()> {
    if !have_program("rustup") {
        bail!("the fuzz targets need a nightly toolchain, installed through rustup; rustup was not found (https://rustup.rs)");
    }
    let nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !nightly {
        run(
            Command::new("rustup").args([
                "toolchain",
                "install",
                "nightly",
                "--profile",
                "minimal",
            ]),
            "rustup toolchain install nightly --profile minimal",
        )?;
    }
    let have_fuzz = Command::new("rustup")
        .args(["run", "nightly", "cargo", "fuzz", "--version"])
        .env("PATH", path_with_cargo_bin())
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_fuzz {
        run(
            Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args([
                "install",
                "cargo-fuzz",
                "--version",
                CARGO_FUZZ_VERSION,
                "--locked",
            ]),
            &format!("cargo install cargo-fuzz --version {CARGO_FUZZ_VERSION} --locked"),
        )?;
    }
    Ok(())
}

/// PATH with cargo's bin folder in front (a fresh shell may not have it).
fn path_with_cargo_bin() -> std::ffi::OsString {
    let mut dirs: Vec<PathBuf> = cargo_bin_dir().into_iter().collect();
    if let Some(p) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(dirs).unwrap_or_default()
}

/// `cargo fuzz ARGS` on the nightly toolchain, at the root. The variables cargo set for this
/// stable xtask are removed, so that nightly's cargo and rustc build the targets.
fn cargo_fuzz(args: &[&str]) -> Command {
    let mut c = Command::new("rustup");
    c.current_dir(root())
        .args(["run", "nightly", "cargo", "fuzz"])
        .args(args)
        .env("PATH", path_with_cargo_bin());
    for var in [
        "CARGO",
        "RUSTC",
        "RUSTDOC",
        "RUSTUP_TOOLCHAIN",
        "CARGO_TARGET_DIR",
    ] {
        c.env_remove(var);
    }
    // Two build jobs at most: the machines this runs on are shared.
    c.env("CARGO_BUILD_JOBS", "2");
    c
}

/// Per target: the largest input libFuzzer builds, and the time after which one input counts
/// as a hang (a script's own time limit is 2 s; a request runs at most a few scripts).
fn limits(target: &str) -> (usize, u64) {
    match target {
        "bpmn" => (64 * 1024, 20),
        "doors" => (16 * 1024, 20),
        "scenario" => (8 * 1024, 20),
        _ => (4 * 1024, 10),
    }
}

/// `cargo fuzz run` of one target. The first folder receives what the run adds: the living
/// corpus (fuzz/corpus/TARGET), or for the short pass a scratch folder emptied first (a grown
/// corpus would take longer to replay than the pass lasts).
fn fuzz_run(target: &str, seeds: &Path, seconds: u64, short: bool) -> Command {
    let fuzz = root().join("fuzz");
    let corpus = if short {
        let scratch = fuzz.join("target/short-corpus").join(target);
        let _ = std::fs::remove_dir_all(&scratch);
        scratch
    } else {
        fuzz.join("corpus").join(target)
    };
    let _ = std::fs::create_dir_all(&corpus);
    let mut dirs = vec![corpus, seeds.to_path_buf()];
    for kept in ["seeds", "regressions"] {
        let d = fuzz.join(kept).join(target);
        if d.is_dir() {
            dirs.push(d);
        }
    }
    let (max_len, timeout) = limits(target);
    let mut args: Vec<String> = vec![
        "run".into(),
        "--sanitizer".into(),
        "none".into(),
        "--debug-assertions".into(),
        target.into(),
    ];
    args.extend(dirs.iter().map(|d| d.display().to_string()));
    args.push("--".into());
    args.extend([
        format!("-max_total_time={seconds}"),
        format!("-max_len={max_len}"),
        format!("-timeout={timeout}"),
        "-rss_limit_mb=2048".into(),
        "-print_final_stats=1".into(),
    ]);
    let dict = fuzz.join("dict").join(format!("{target}.dict"));
    if dict.is_file() {
        args.push(format!("-dict={}", dict.display()));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    cargo_fuzz(&refs)
}

// ---------------------------------------------------------------------------------------------
// Seeds gathered at run time

/// Fills fuzz/target/seeds/TARGET (emptied first) from the templates, the scenarios and (with
/// `shared`) the shared corpora; answers the folder.
fn gather_seeds(target: &str, shared_too: bool) -> Result<PathBuf> {
    let out = root().join("fuzz/target/seeds").join(target);
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let templates = root().join("bpmn-templates");
    let shared = root().join("../shared/corpora");
    let models = || {
        let mut m = files_under(&templates, &[".bpmn"]);
        if shared_too {
            m.extend(files_under(&shared, &[".bpmn", ".xml"]));
        }
        m
    };
    let mut n = 0usize;
    let mut put = |bytes: Vec<u8>| -> Result<()> {
        n += 1;
        let file = out.join(format!("seed-{n:05}"));
        std::fs::write(&file, bytes).with_context(|| format!("cannot write {}", file.display()))
    };
    match target {
        "bpmn" => {
            for f in models() {
                put(std::fs::read(&f)?)?;
            }
        }
        "scenario" => {
            let mut found = files_under(&templates, &[".scenario.json"]);
            found.extend(files_under(&root().join("tests/scenarios"), &[".json"]));
            for f in found {
                put(std::fs::read(&f)?)?;
            }
        }
        "script" => {
            for f in models() {
                let text = String::from_utf8_lossy(&std::fs::read(&f)?).into_owned();
                for s in scripts_in(&text) {
                    put(s.into_bytes())?;
                }
            }
        }
        "doors" => {
            // Each template deployed, then started, through the administrator's door.
            for f in files_under(&templates, &[".bpmn"]) {
                let xml = String::from_utf8_lossy(&std::fs::read(&f)?).into_owned();
                let deploy = format!(
                    "0{{\"cmd\": \"DeployProcessDefinitionCommand\", \"data\": {{\"bpmnXml\": {}}}}}",
                    json_string(&xml)
                );
                let start = "2{\"$type\": \"StartProcessInstanceCommand\", \"processDefinitionId\": 2, \"variables\": {\"amount\": 10}}";
                put(format!("{deploy}\n--- next request ---\n{start}").into_bytes())?;
            }
        }
        _ => {}
    }
    eprintln!(
        "==> fuzz {target}: {n} seeds gathered from bpmn-templates{}",
        if shared_too && shared.is_dir() {
            " and ../shared/corpora"
        } else {
            " (../shared/corpora not read)"
        }
    );
    Ok(out)
}

/// Files under `dir` (recursively) whose names end with one of `endings`, no larger than
/// MAX_SEED_BYTES, sorted.
fn files_under(dir: &Path, endings: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                todo.push(p);
            } else if meta.len() <= MAX_SEED_BYTES
                && endings.iter().any(|end| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.ends_with(end))
                })
            {
                found.push(p);
            }
        }
    }
    found.sort();
    found
}

/// The scripts and expressions of a BPMN text: the bodies of `<script>`,
/// `<conditionExpression>`, `<loopCardinality>` and `<completionCondition>`, and the values of
/// ServerScript properties, with XML's five entities read.
fn scripts_in(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tag in [
        "script",
        "conditionExpression",
        "loopCardinality",
        "completionCondition",
    ] {
        let mut rest = xml;
        while let Some(open) = find_open(rest, tag) {
            let after = &rest[open..];
            let Some(gt) = after.find('>') else { break };
            let body = &after[gt + 1..];
            let Some(close) = body.find("</") else { break };
            let text = unescape(body[..close].trim());
            if !text.is_empty() && text.len() <= 4096 {
                out.push(text);
            }
            rest = &body[close..];
        }
    }
    let mut rest = xml;
    while let Some(i) = rest.find("name=\"ServerScript\"") {
        rest = &rest[i..];
        let Some(v) = rest.find("value=") else { break };
        let quoted = &rest[v + 6..];
        let Some(q) = quoted.chars().next() else {
            break;
        };
        let Some(end) = quoted[1..].find(q) else {
            break;
        };
        out.push(unescape(&quoted[1..1 + end]));
        rest = &quoted[1 + end..];
    }
    out
}

/// Where the next start tag `<tag ...>` or `<prefix:tag ...>` begins in `text`.
fn find_open(text: &str, tag: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find('<') {
        let at = from + i;
        let name: String = text[at + 1..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
            .collect();
        if name.rsplit(':').next() == Some(tag) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#10;", "\n")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_scripts_and_conditions() {
        let xml = r#"<bpmn:scriptTask id="T"><bpmn:script>a &amp;&amp; b</bpmn:script></bpmn:scriptTask>
<bpmn:sequenceFlow id="F"><bpmn:conditionExpression xsi:type="x">${x &gt; 1}</bpmn:conditionExpression></bpmn:sequenceFlow>
<custom:property name="ServerScript" value='#{a: "b"}'/><bpmn:scriptTaskX/>"#;
        assert_eq!(scripts_in(xml), ["a && b", "${x > 1}", "#{a: \"b\"}"]);
    }

    #[test]
    fn json_strings_escape_what_json_needs() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\u0001""#);
    }

    #[test]
    fn options_read_target_and_seconds() {
        let o = options(&["doors".into(), "--seconds".into(), "5".into()]).unwrap();
        assert_eq!((o.target.as_deref(), o.seconds), (Some("doors"), 5));
        assert!(options(&["nope".into()]).is_err());
        assert!(options(&["--seconds".into(), "0".into()]).is_err());
    }
}
