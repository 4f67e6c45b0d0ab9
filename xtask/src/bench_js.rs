//! `cargo xtask bench --javascript [--spiff] [--reps R] [--instances N]`: the four shared bench
//! models with their script tasks in rhai and in JavaScript, and (with `--spiff`) SpiffWorkflow's
//! harness on its own Python variant, interleaved in one run; medians (min-max) and the ratios.
//!
//! The JavaScript variant is not a file of the shared folder (its `models/js` is bpmn-engine's
//! dialect: `environment.variables`, `next()`). It is written here, into a temporary folder, from
//! the shared rhai variant by the generator's own rule for a dialect (`DIALECTS` in
//! `models/gen_models.py`): the graph, element ids and flows stay as they are and only the
//! dialect changes, to
//!
//! | dialect field | rhai (shared) | JavaScript (here) |
//! |---|---|---|
//! | `fmt` (scriptFormat) | `rhai` | `javascript` |
//! | `inc` | `counter = counter + 1;` | the same text |
//! | `flag(i)` | `let b<i> = 1;` | `b<i> = 1;` (a `let` would stay local in JavaScript) |
//! | `cond_lt100` | `counter < 100` | the same text, `language="javascript"` |
//!
//! wait1 has no script, so its two variants are the same file: it runs once, as rhai.

use crate::bench::{json_scalar, median_range};
use crate::{baton, baton_cmd};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One model: instances per run for rhai and for JavaScript (each sized for a few seconds in
/// release on the 2-core dev machine), and the check of the last instance's variables.
struct Model {
    name: &'static str,
    rhai: u64,
    javascript: u64,
    /// Variable and value the last instance must end with; par10 sums b1..b10 instead.
    expect: Option<(&'static str, u64)>,
}

const MODELS: &[Model] = &[
    Model {
        name: "seq10",
        rhai: 200_000,
        javascript: 50_000,
        expect: Some(("counter", 10)),
    },
    Model {
        name: "par10",
        rhai: 50_000,
        javascript: 20_000,
        expect: None,
    },
    Model {
        name: "loop100",
        rhai: 5_000,
        javascript: 2_000,
        expect: Some(("counter", 100)),
    },
    Model {
        name: "wait1",
        rhai: 300_000,
        javascript: 0,
        expect: Some(("counter", 1)),
    },
];

/// Where SpiffWorkflow's harness runs from (`scripts/setup.sh` in the shared folder makes it).
const SPIFF_PYTHON: &str = "/tmp/bench-venv/bin/python";

pub(crate) struct Flags {
    pub javascript: bool,
    pub spiff: bool,
    pub reps: usize,
    /// One instance count for every Baton run (the defaults are per model and language).
    pub instances: Option<u64>,
}

/// The JavaScript variant of a shared rhai model, by the rule in the module comment. Fails
/// when the shared model no longer has the shape the rule expects.
pub(crate) fn javascript_variant(rhai: &str, model: &str) -> Result<String> {
    let scripts = rhai.matches("scriptFormat=\"rhai\"").count();
    let want = match model {
        "seq10" | "par10" => 10,
        "loop100" => 1,
        _ => 0,
    };
    if scripts != want {
        bail!("{model}: {scripts} rhai script tasks, expected {want} (the shared model changed)");
    }
    let mut js = rhai
        .replace("scriptFormat=\"rhai\"", "scriptFormat=\"javascript\"")
        .replace("<bpmn:script>let ", "<bpmn:script>");
    if model == "loop100" {
        let plain = "<bpmn:conditionExpression xsi:type=\"bpmn:tFormalExpression\">";
        if js.matches(plain).count() != 1 {
            bail!("loop100: expected one condition without a language (the shared model changed)");
        }
        js = js.replace(
            plain,
            "<bpmn:conditionExpression xsi:type=\"bpmn:tFormalExpression\" language=\"javascript\">",
        );
    }
    if js.contains("<bpmn:script>let ") || js.contains("\"rhai\"") {
        bail!("{model}: rhai left in the JavaScript variant");
    }
    Ok(js)
}

/// Checks a `baton bench --json` answer: COMPLETED and the model's expected variables.
fn check(json: &str, m: &Model) -> Result<f64> {
    let state = json_scalar(json, "state").unwrap_or("?");
    if state != "COMPLETED" {
        bail!("{}: the last instance ended {state}:\n{json}", m.name);
    }
    let last = json
        .find("\"lastVariables\"")
        .map(|i| &json[i..])
        .unwrap_or("");
    // What a user task was completed with is kept under `lastUserTaskResult` (not merged over
    // the process variables): wait1's counter is there.
    let last = match last.find("\"lastUserTaskResult\"") {
        Some(i) if m.name == "wait1" => &last[i..],
        _ => last,
    };
    let num = |k: &str| json_scalar(last, k).and_then(|v| v.parse::<u64>().ok());
    match m.expect {
        Some((var, want)) if num(var) != Some(want) => {
            bail!("{}: {var}={:?}, expected {want}:\n{json}", m.name, num(var))
        }
        None if (1..=10)
            .map(|i| num(&format!("b{i}")).unwrap_or(0))
            .sum::<u64>()
            != 10 =>
        {
            bail!("{}: b1..b10 do not sum to 10:\n{json}", m.name)
        }
        _ => {}
    }
    json_scalar(json, "instancesPerSecond")
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("{}: no instancesPerSecond in:\n{json}", m.name))
}

fn run_baton(file: &Path, m: &Model, n: u64, peers: &Path) -> Result<f64> {
    let mut c = baton_cmd("release");
    c.arg("bench")
        .arg(file)
        .args(["--instances", &n.to_string(), "--json", "--engine-only"]);
    if m.name == "wait1" {
        c.arg("--scenario")
            .arg(peers.join("baton/wait1.scenario.json"));
    } else {
        c.args(["--vars", r#"{"counter":0}"#]);
    }
    let out = c.output().context("could not start baton bench")?;
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "baton bench {} failed ({}):\n{json}{}",
            file.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    check(&json, m)
}

/// SpiffWorkflow's instance count for `model`, from the shared `scripts/peers.conf`.
fn spiff_instances(peers: &Path, model: &str) -> Result<u64> {
    let conf = std::fs::read_to_string(peers.join("scripts/peers.conf"))
        .context("reading scripts/peers.conf")?;
    conf.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == "spiffworkflow" && f[1] == model)
        .and_then(|f| f[2].parse().ok())
        .with_context(|| format!("no spiffworkflow line for {model} in scripts/peers.conf"))
}

/// One run of SpiffWorkflow's harness (it asserts every instance's result itself).
fn run_spiff(peers: &Path, model: &str, n: u64) -> Result<(f64, String)> {
    let out = Command::new(SPIFF_PYTHON)
        .current_dir(peers)
        .arg("python/bench_spiff.py")
        .args([model, &n.to_string()])
        .output()
        .context("could not start SpiffWorkflow's harness")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text.lines().find(|l| l.starts_with("RESULT"));
    let field = |k: &str| {
        line.and_then(|l| {
            l.split_whitespace()
                .find_map(|f| f.strip_prefix(k).map(str::to_string))
        })
    };
    match (out.status.success(), field("inst_per_s=")) {
        (true, Some(rate)) => Ok((
            rate.parse().context("inst_per_s")?,
            field("peer=").unwrap_or_default(),
        )),
        _ => bail!(
            "SpiffWorkflow {model} failed ({}):\n{text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn cell(s: &mut [f64]) -> String {
    if s.is_empty() {
        return "—".into();
    }
    let (m, lo, hi) = median_range(s);
    if s.len() == 1 {
        format!("{m:.0}")
    } else {
        format!("{m:.0} ({lo:.0}–{hi:.0})")
    }
}

fn ratio(a: &mut [f64], b: &mut [f64]) -> String {
    if a.is_empty() || b.is_empty() {
        return "—".into();
    }
    format!("{:.2}", median_range(a).0 / median_range(b).0)
}

pub(crate) fn bench_languages(peers: &Path, flags: &Flags) -> Result<()> {
    if flags.reps == 0 {
        bail!("--reps must be 1 or more");
    }
    let spiff = flags.spiff && Path::new(SPIFF_PYTHON).exists();
    if flags.spiff && !spiff {
        println!("SpiffWorkflow skipped: {SPIFF_PYTHON} not found (run the shared folder's scripts/setup.sh)");
    }
    let dir = std::env::temp_dir().join(format!("baton-bench-js-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = measure(peers, flags, spiff, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(peers: &Path, flags: &Flags, spiff: bool, dir: &Path) -> Result<()> {
    // (rhai, javascript, spiff) samples per model.
    let mut samples: Vec<[Vec<f64>; 3]> = MODELS.iter().map(|_| Default::default()).collect();
    let mut files: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
    for m in MODELS {
        let rhai = peers.join(format!("models/rhai/{}.bpmn", m.name));
        let js = if flags.javascript && m.javascript > 0 {
            let text = std::fs::read_to_string(&rhai)
                .with_context(|| format!("reading {}", rhai.display()))?;
            let path = dir.join(format!("{}.bpmn", m.name));
            std::fs::write(&path, javascript_variant(&text, m.name)?)?;
            Some(path)
        } else {
            None
        };
        files.push((rhai, js));
    }
    let mut spiff_label = String::from("SpiffWorkflow");
    let load_before = load();
    for rep in 1..=flags.reps {
        for (i, m) in MODELS.iter().enumerate() {
            let (rhai, js) = &files[i];
            let n = flags.instances.unwrap_or(m.rhai);
            eprintln!("==> rep {rep}: {} rhai, {n} instances", m.name);
            samples[i][0].push(run_baton(rhai, m, n, peers)?);
            if let Some(js) = js {
                let n = flags.instances.unwrap_or(m.javascript);
                eprintln!("==> rep {rep}: {} javascript, {n} instances", m.name);
                samples[i][1].push(run_baton(js, m, n, peers)?);
            }
            if spiff {
                let n = spiff_instances(peers, m.name)?;
                eprintln!("==> rep {rep}: {} SpiffWorkflow, {n} instances", m.name);
                let (rate, label) = run_spiff(peers, m.name, n)?;
                samples[i][2].push(rate);
                if !label.is_empty() {
                    spiff_label = label;
                }
            }
        }
    }
    println!(
        "\n{} rep(s), interleaved; instances/s, median (min–max); load average {load_before} before, {} after",
        flags.reps,
        load()
    );
    println!("baton: {}", baton("release").display());
    println!("\n| model | rhai | JavaScript | JavaScript ÷ rhai | {spiff_label} | JavaScript ÷ {spiff_label} | rhai ÷ {spiff_label} |");
    println!("|---|---|---|---:|---|---:|---:|");
    for (m, [r, j, s]) in MODELS.iter().zip(samples.iter_mut()) {
        let js_cell = if m.javascript == 0 && flags.javascript {
            "(no script: same model as rhai)".to_string()
        } else {
            cell(j)
        };
        println!(
            "| {} | {} | {js_cell} | {} | {} | {} | {} |",
            m.name,
            cell(r),
            ratio(j, r),
            cell(s),
            ratio(j, s),
            ratio(r, s)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_javascript_variant_changes_only_the_dialect() {
        let rhai = r#"<bpmn:scriptTask id="t1" scriptFormat="rhai">
      <bpmn:script>let b1 = 1;</bpmn:script>
    </bpmn:scriptTask>"#
            .repeat(10);
        let js = javascript_variant(&rhai, "par10").unwrap();
        assert_eq!(js.matches("scriptFormat=\"javascript\"").count(), 10);
        assert!(js.contains("<bpmn:script>b1 = 1;</bpmn:script>"), "{js}");
        // A shared model of another shape is refused, not measured wrongly.
        assert!(javascript_variant(&rhai, "loop100").is_err());
        let loop100 = r#"<bpmn:scriptTask id="inc" scriptFormat="rhai"><bpmn:script>counter = counter + 1;</bpmn:script></bpmn:scriptTask>
<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">counter &lt; 100</bpmn:conditionExpression>"#;
        let js = javascript_variant(loop100, "loop100").unwrap();
        assert!(
            js.contains(r#"language="javascript">counter &lt; 100<"#),
            "{js}"
        );
    }
}
