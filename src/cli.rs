//! The four offline commands. Each returns the process exit code.
//!
//! `simulate`, `test` and `bench` run on the runtime over a database in memory with a virtual
//! clock (`baton_runtime::simulate`): every step is the command `serve` runs for it. `bench
//! --engine-only` measures the engine alone (`engine_only`).

pub mod durable;
mod engine_only;
pub mod serve;
pub mod timers;

use baton_engine::sim::Scenario;
use baton_engine::{parse, Engine};
use baton_runtime::commands::{Problem, Severity};
use baton_runtime::simulate::Simulation;
use baton_runtime::EngineSettings;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Why a command stopped before running anything (exit code 2).
pub(crate) struct Invalid(pub(crate) String);

pub(crate) fn read(path: &Path) -> Result<String, Invalid> {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| Invalid(format!("{}: cannot read: {e}", path.display())))
}

/// The engine limits `--limits FILE.json` gives (the defaults without it). A file that is not
/// a JSON object of known limits in range is an error naming the file and the field.
pub(crate) fn read_limits(path: Option<&Path>) -> Result<EngineSettings, Invalid> {
    let Some(path) = path else {
        return Ok(EngineSettings::default());
    };
    let text = read(path)?;
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        Invalid(format!(
            "{}: not JSON (line {}, column {}): {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    EngineSettings::from_json(&v)
        .map_err(|e| Invalid(format!("{}: {}: {}", path.display(), e.field, e.message)))
}

/// A problem as one `file:line:column: severity: element: message` line.
fn problem_line(file: &str, p: &Problem) -> String {
    let sev = match p.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    format!(
        "{file}:{}:{}: {sev}: {}: {}",
        p.line,
        p.column,
        p.element_id.as_deref().unwrap_or("-"),
        p.message
    )
}

/// Model files as read: (name, text).
type Texts = Vec<(String, String)>;

/// Parses and compiles model files into an engine; every error names file, line and column.
/// Answers the texts too (simulations deploy them on the runtime).
fn load(models: &[PathBuf], limits: &EngineSettings) -> Result<(Texts, Engine), Invalid> {
    let mut texts = Vec::new();
    for m in models {
        texts.push((m.display().to_string(), read(m)?));
    }
    let refs: Vec<(&str, &str)> = texts
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let dep = parse(&refs).map_err(|e| Invalid(e.to_string()))?;
    let file = texts.first().map(|(n, _)| n.clone()).unwrap_or_default();
    match Engine::with_limits(dep, limits.limits.clone()) {
        Ok((engine, _warnings)) => Ok((texts, engine)),
        Err(problems) => Err(Invalid(
            problems
                .iter()
                .map(Problem::from)
                .filter(|p| p.severity == Severity::Error)
                .map(|p| problem_line(&file, &p))
                .collect::<Vec<_>>()
                .join("\n"),
        )),
    }
}

/// The results of a benchmark's client threads, in order; a thread that panicked is an error.
pub(crate) fn joined<T>(
    handles: Vec<std::thread::ScopedJoinHandle<'_, Result<T, String>>>,
) -> Vec<Result<T, String>> {
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .unwrap_or_else(|_| Err("a client thread panicked".into()))
        })
        .collect()
}

pub(crate) fn parse_vars(vars: Option<&str>) -> Result<Map<String, Value>, Invalid> {
    match vars {
        None => Ok(Map::new()),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(Invalid(
                "--vars must be a JSON object such as {\"amount\": 10}".into(),
            )),
            Err(e) => Err(Invalid(format!(
                "--vars is not valid JSON (column {}): {e}",
                e.column()
            ))),
        },
    }
}

pub(crate) fn load_scenario(path: Option<&Path>) -> Result<Scenario, Invalid> {
    match path {
        None => Ok(Scenario::default()),
        Some(p) => Scenario::from_json_text(&read(p)?)
            .map_err(|e| Invalid(format!("{}: {e}", p.display()))),
    }
}

/// What a simulation or a bench runs: the model texts (checked), their engine, the scenario
/// and the start variables (the scenario's, overridden by `--vars`).
struct Prepared {
    texts: Texts,
    engine: Engine,
    scenario: Scenario,
    variables: Map<String, Value>,
    limits: EngineSettings,
}

fn prepare(
    models: &[PathBuf],
    scenario: Option<&Path>,
    vars: Option<&str>,
    limits: Option<&Path>,
) -> Result<Prepared, Invalid> {
    let limits = read_limits(limits)?;
    let (texts, engine) = load(models, &limits)?;
    let sc = load_scenario(scenario)?;
    let mut variables = sc.variables.clone();
    variables.extend(parse_vars(vars)?);
    Ok(Prepared {
        texts,
        engine,
        scenario: sc,
        variables,
        limits,
    })
}

/// The deployment of a simulation on the runtime (in memory, virtual clock).
fn simulation(
    texts: &Texts,
    sc: &Scenario,
    process: Option<&str>,
    limits: &EngineSettings,
) -> Result<Simulation, String> {
    let files: Vec<(&str, &str)> = texts
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    Simulation::with_settings(&files, sc, process, limits)
}

fn print_json(v: &Value, compact: bool) {
    use std::io::Write;
    let text = if compact {
        serde_json::to_string(v)
    } else {
        serde_json::to_string_pretty(v)
    };
    // A reader that closed early (`| head`) is not an error worth a panic.
    let _ = writeln!(
        std::io::stdout(),
        "{}",
        text.unwrap_or_else(|_| "{}".into())
    );
}

pub fn simulate(
    models: &[PathBuf],
    process: Option<&str>,
    scenario: Option<&Path>,
    vars: Option<&str>,
    compact: bool,
    limits: Option<&Path>,
) -> u8 {
    let p = match prepare(models, scenario, vars, limits) {
        Ok(x) => x,
        Err(Invalid(msg)) => {
            eprintln!("{msg}");
            return 2;
        }
    };
    if !compact {
        // Which language each script was read as, on stderr: stdout stays the JSON report.
        let files: Vec<(&str, &str)> = p
            .texts
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        if let Ok(dep) = baton_engine::parse(&files) {
            for r in baton_engine::script::languages_of(&dep) {
                eprintln!("{}", baton_engine::script::language_note(&r));
            }
        }
    }
    let sc = &p.scenario;
    let started = simulation(&p.texts, sc, process, &p.limits)
        .and_then(|sim| sim.start(p.variables.clone()).map(|guid| (sim, guid)));
    let (sim, guid) = match started {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return 2;
        }
    };
    let mut error = sim.run_steps(&guid, &sc.steps).err();
    if error.is_none() {
        if let Some(expect) = &sc.expect {
            let fails = sim.check(&guid, expect);
            if !fails.is_empty() {
                error = Some(fails.join("; "));
            }
        }
    }
    print_json(&sim.report(&guid, error.as_deref()), compact);
    match error {
        Some(e) => {
            eprintln!("{e}");
            1
        }
        None => 0,
    }
}

pub fn lint(model: &Path, compact: bool, limits: Option<&Path>) -> u8 {
    let name = model.display().to_string();
    let limits = match read_limits(limits) {
        Ok(l) => l,
        Err(Invalid(m)) => {
            eprintln!("{m}");
            return 2;
        }
    };
    let text = match read(model) {
        Ok(t) => t,
        Err(Invalid(m)) => {
            eprintln!("{m}");
            return 2;
        }
    };
    // The same report ValidateProcessDefinitionQuery answers.
    let report = match baton_runtime::commands::lint_with(&name, &text, &limits.limits) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let problems = &report.problems;
    if compact {
        print_json(&json!(report), true);
    } else {
        for p in problems {
            println!("{}", problem_line(&name, p));
        }
        // Which language each script was read as (rhai or JavaScript, docs/scripting.md).
        if let Ok(dep) = baton_engine::parse(&[(name.as_str(), text.as_str())]) {
            for r in baton_engine::script::languages_of(&dep) {
                println!("{}", baton_engine::script::language_note(&r));
            }
        }
        let errors = problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count();
        println!(
            "{name}: {} process(es), {errors} error(s), {} warning(s)",
            report.processes.len(),
            problems.len() - errors
        );
    }
    if problems.is_empty() {
        0
    } else {
        1
    }
}

/// One bench instance: start, apply the steps; answers its end state and, when `keep`, its
/// variables.
type BenchRun<'a> = dyn FnMut(bool) -> Result<(String, Option<Map<String, Value>>), String> + 'a;

pub fn bench(
    model: &Path,
    scenario: Option<&Path>,
    vars: Option<&str>,
    instances: usize,
    compact: bool,
    engine_only: bool,
    limits: Option<&Path>,
) -> u8 {
    let p = match prepare(&[model.to_path_buf()], scenario, vars, limits) {
        Ok(x) => x,
        Err(Invalid(msg)) => {
            eprintln!("{msg}");
            return 2;
        }
    };
    if instances == 0 {
        eprintln!("--instances must be at least 1");
        return 2;
    }
    let sc = &p.scenario;
    let sim;
    let mut one: Box<BenchRun> = if engine_only {
        Box::new(|keep| engine_only::run(&p.engine, sc, p.variables.clone(), keep))
    } else {
        sim = match simulation(&p.texts, sc, None, &p.limits) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("cannot start: {e}");
                return 2;
            }
        };
        let sim = &sim;
        Box::new(move |keep| {
            let guid = sim.start(p.variables.clone())?;
            sim.run_steps(&guid, &sc.steps)?;
            let vars = match keep {
                true => sim.instance(&guid)?["variables"].as_object().cloned(),
                false => None,
            };
            Ok((sim.status(&guid)?, vars))
        })
    };
    let warmup = (instances / 10).min(50);
    for _ in 0..warmup {
        if let Err(e) = one(false) {
            eprintln!("warm-up instance failed: {e}");
            return 1;
        }
    }
    let mut first_state: Option<String> = None;
    let mut last_vars = None;
    let started = Instant::now();
    for i in 0..instances {
        match one(i + 1 == instances) {
            Ok((state, vars)) => {
                match &first_state {
                    None => first_state = Some(state),
                    Some(s) if *s != state => {
                        eprintln!("instance {} ended {state}, but the first ended {s}", i + 1);
                        return 1;
                    }
                    _ => {}
                }
                if vars.is_some() {
                    last_vars = vars;
                }
            }
            Err(e) => {
                eprintln!("instance {} failed: {e}", i + 1);
                return 1;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let on = if engine_only { "engine" } else { "runtime" };
    let out = json!({
        "instances": instances,
        "seconds": secs,
        "instancesPerSecond": instances as f64 / secs,
        "state": first_state,
        "on": on,
        "lastVariables": last_vars,
    });
    if compact {
        print_json(&out, true);
    } else {
        println!(
            "{}: {instances} instances in {secs:.3} s = {:.0} instances/s on the {on}, all {}",
            model.display(),
            instances as f64 / secs,
            first_state.unwrap_or_default()
        );
    }
    0
}

fn find_scenarios(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        if path
            .to_string_lossy()
            .ends_with(baton_runtime::scenario_files::SUFFIX)
        {
            out.push(path.to_path_buf());
        }
        return;
    }
    let Ok(rd) = std::fs::read_dir(path) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for e in entries {
        find_scenarios(&e, out);
    }
}

fn run_scenario(path: &Path, limits: &EngineSettings) -> Result<usize, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let sc = Scenario::from_json_text(&text)?;
    let models = baton_runtime::scenario_files::models_of(path, &sc)?;
    let (texts, _) = load(&models, limits).map_err(|Invalid(m)| m)?;
    let sim = simulation(&texts, &sc, None, limits).map_err(|e| format!("cannot start: {e}"))?;
    let guid = sim
        .start(sc.variables.clone())
        .map_err(|e| format!("cannot start: {e}"))?;
    sim.run_steps(&guid, &sc.steps)?;
    if let Some(expect) = &sc.expect {
        let fails = sim.check(&guid, expect);
        if !fails.is_empty() {
            return Err(fails.join("; "));
        }
    }
    Ok(sc.steps.len())
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

pub fn test(paths: &[PathBuf], junit: Option<&Path>, limits: Option<&Path>) -> u8 {
    let limits = match read_limits(limits) {
        Ok(l) => l,
        Err(Invalid(m)) => {
            eprintln!("{m}");
            return 2;
        }
    };
    let roots: Vec<PathBuf> = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let mut files = Vec::new();
    for r in &roots {
        if !r.exists() {
            eprintln!("{}: no such file or folder", r.display());
            return 2;
        }
        find_scenarios(r, &mut files);
    }
    if files.is_empty() {
        eprintln!(
            "no *.scenario.json found under {}",
            roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return 2;
    }
    let (mut passed, mut failed) = (0, 0);
    let mut cases = Vec::new();
    for f in &files {
        let started = Instant::now();
        let r = run_scenario(f, &limits);
        let secs = started.elapsed().as_secs_f64();
        match &r {
            Ok(n) => {
                passed += 1;
                println!("ok   {} ({n} steps)", f.display());
            }
            Err(e) => {
                failed += 1;
                println!("FAIL {}: {e}", f.display());
            }
        }
        cases.push((f.display().to_string(), secs, r.err()));
    }
    println!("{passed} passed, {failed} failed");
    if let Some(j) = junit {
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"baton scenarios\" tests=\"{}\" failures=\"{failed}\">\n",
            cases.len()
        );
        for (name, secs, err) in &cases {
            xml += &format!(
                "  <testcase name=\"{}\" time=\"{secs:.3}\"",
                xml_escape(name)
            );
            match err {
                None => xml += "/>\n",
                Some(e) => {
                    xml += &format!("><failure message=\"{}\"/></testcase>\n", xml_escape(e))
                }
            }
        }
        xml += "</testsuite>\n";
        if let Err(e) = std::fs::write(j, xml) {
            eprintln!("{}: cannot write JUnit report: {e}", j.display());
            return 2;
        }
    }
    if failed > 0 {
        1
    } else {
        0
    }
}
