//! The benchmark commands: `bench`, `bench-durable`, `bench-timers`, `bench-peers`.

use crate::{baton, baton_cmd, cargo, quote, root, run};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Command;

pub(crate) fn peers_dir() -> Option<PathBuf> {
    let p = root().join("../shared/bench-peers");
    p.is_dir().then(|| p.canonicalize().unwrap_or(p))
}

/// The text of a scalar field in the flat JSON that `baton bench --json` prints. Enough for the
/// table; the first match is the top-level field because `lastVariables` comes last.
pub(crate) fn json_scalar<'a>(json: &'a str, key: &str) -> Option<&'a str> {
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

pub(crate) fn bench(args: &[String]) -> Result<()> {
    const USAGE: &str =
        "usage: cargo xtask bench [--instances N] [--javascript] [--spiff] [--reps R]";
    let mut flags = crate::bench_js::Flags {
        javascript: false,
        spiff: false,
        reps: 1,
        instances: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--javascript" => flags.javascript = true,
            "--spiff" => flags.spiff = true,
            "--instances" | "--reps" => {
                let v = it
                    .next()
                    .with_context(|| format!("{a} needs a value; {USAGE}"))?;
                let n: u64 = v
                    .parse()
                    .with_context(|| format!("{a} {v}: not a number"))?;
                if a == "--reps" {
                    flags.reps = n as usize;
                } else {
                    flags.instances = Some(n);
                }
            }
            _ => bail!("{USAGE}"),
        }
    }
    let instances = flags.instances;
    let Some(peers) = peers_dir() else {
        println!("skipped: ../shared/bench-peers not found (the bench models live there)");
        return Ok(());
    };
    run(
        cargo().args(["build", "--release", "-p", "baton"]),
        "cargo build --release -p baton",
    )?;
    if flags.javascript || flags.spiff || flags.reps != 1 {
        return crate::bench_js::bench_languages(&peers, &flags);
    }
    let mut rows = Vec::new();
    for m in BENCH_MODELS {
        let (model, check) = (m.name, m.expect);
        let n = instances.unwrap_or(m.instances).to_string();
        let mut c = baton_cmd("release");
        c.arg("bench")
            .arg(peers.join(format!("models/rhai/{model}.bpmn")))
            .args(["--instances", &n, "--json", "--engine-only"]);
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
                // wait1's counter is what its user task was completed with, kept under
                // `lastUserTaskResult` rather than merged over the process variables.
                let last = match last.find("\"lastUserTaskResult\"") {
                    Some(i) if model == "wait1" => &last[i..],
                    _ => last,
                };
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
pub(crate) fn median_range(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

pub(crate) fn bench_durable(args: &[String]) -> Result<()> {
    let mut reps = 3usize;
    // At 3,000 a run lasts a fifth of a second and its start-up moves it by a quarter.
    let mut instances = 20_000usize;
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
    // Clients are async tasks (`Runtime::execute_async`); 16 clients also run as 16 threads
    // on the blocking API, the shape an embedding without an async runtime has.
    let shapes = [(1usize, false), (16, false), (16, true)];
    let configs: Vec<(&str, &str, (usize, bool))> = ["wait1", "seq10"]
        .into_iter()
        .flat_map(|m| {
            ["full", "normal"]
                .into_iter()
                .flat_map(move |s| shapes.into_iter().map(move |c| (m, s, c)))
        })
        .collect();
    // (inst/s, sqlite commits/s, ratio) per config, round-robin over the reps.
    let mut samples: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); configs.len()];
    for rep in 0..reps {
        for (i, (model, sync, (clients, threads))) in configs.iter().enumerate() {
            let db = dir.join(format!("{model}-{sync}-{clients}-{threads}-{rep}.db"));
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
            if *threads {
                c.arg("--client-threads");
            }
            if *model == "wait1" {
                c.arg("--scenario")
                    .arg(peers.join("baton/wait1.scenario.json"));
            } else {
                c.args(["--vars", r#"{"counter":0}"#]);
            }
            let kind = if *threads { "threads" } else { "tasks" };
            eprintln!(
                "==> {model} sync={sync} clients={clients} {kind} (rep {})",
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
    println!("|---|---|---|---|---|---:|");
    for ((model, sync, (clients, threads)), s) in configs.iter().zip(samples) {
        let clients = match (clients, threads) {
            (1, _) => "1".to_string(),
            (n, true) => format!("{n} threads"),
            (n, false) => format!("{n} tasks"),
        };
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
pub(crate) fn bench_timers(args: &[String]) -> Result<()> {
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

pub(crate) fn bench_peers(args: &[String]) -> Result<()> {
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
        "cd {} && BATON={} BATON_BENCH_ENGINE_ONLY=1 REPS={reps} OUT={} {} {}",
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
            .env("BATON_BENCH_ENGINE_ONLY", "1")
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
