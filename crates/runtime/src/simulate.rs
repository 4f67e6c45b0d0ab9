//! Simulation on the runtime: what `baton simulate`, `baton test` and `baton bench` run.
//!
//! A [`Simulation`] is a [`Runtime`] over a database in memory (see
//! [`Runtime::open_in_memory`]) on a [`VirtualClock`]. It deploys the model files, creates the
//! scenario's users, starts an instance and applies each scenario step as the command the
//! durable runtime runs for it, acting as the step's user:
//!
//! | step          | command                                                   |
//! |---------------|-----------------------------------------------------------|
//! | `complete`    | SignalProcessInstanceCommand                              |
//! | `callback`    | ReturnCallbackCommand                                     |
//! | `message`     | CorrelateMessageCommand                                   |
//! | `signal`      | BroadcastSignalCommand                                    |
//! | `cancel`      | CancelProcessInstanceCommand                              |
//! | `setVariables`| one step of the instance (the event webhook apps use)     |
//! | `advance`     | the clock moves, firing what falls due in order            |
//!
//! So a simulated run and a served one share one implementation of correlation, buffering,
//! duplicates and timers. The report and the `expect` checks read GetProcessInstanceByIdQuery
//! (path from the history, variables, waits, incidents).

use crate::{Caller, Error, Extra, Reply, Runtime};
use baton_engine::sim::{json_equal, Action, Expect, Scenario, Step};
use baton_engine::{Clock, Event, User, VirtualClock};
use jiff::Timestamp;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A fresh name for an in-memory database, unique in this process.
pub(crate) fn memory_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "baton-sim-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// One deployment on an in-memory runtime with a virtual clock.
pub struct Simulation {
    rt: Arc<Runtime>,
    clock: Arc<VirtualClock>,
    definition: i64,
    /// The process to start (None: the deployment's default).
    process: Option<String>,
    /// Whether the scenario lists users: then steps are held to ResponsibleUser / Team.
    enforce: bool,
    /// Who starts the instance (`startedBy`); None: the owner.
    started_by: Option<String>,
}

/// A model file: its name (for messages) and its text.
pub type ModelFile<'a> = (&'a str, &'a str);

impl Simulation {
    /// Opens the runtime, deploys `files` (more than one when a call activity calls into
    /// another file) and creates the scenario's users. `process` overrides the scenario's.
    pub fn new(
        files: &[ModelFile],
        scenario: &Scenario,
        process: Option<&str>,
    ) -> Result<Simulation, String> {
        Simulation::with_settings(files, scenario, process, &crate::EngineSettings::default())
    }

    /// [`Simulation::new`] under other engine limits (`--limits`): the model is deployed and
    /// runs under them, as on a server configured with them.
    pub fn with_settings(
        files: &[ModelFile],
        scenario: &Scenario,
        process: Option<&str>,
        settings: &crate::EngineSettings,
    ) -> Result<Simulation, String> {
        let (rt, clock) = open(scenario, settings)?;
        let process = process.or(scenario.process.as_deref()).map(str::to_string);
        let definition = match files {
            [(_, xml)] => {
                let data = rt.run(
                    "DeployProcessDefinitionCommand",
                    json!({ "bpmnXml": xml }),
                    &Caller::owner(),
                )?;
                data["processDefinitionId"]
                    .as_i64()
                    .ok_or("the deployment answered no processDefinitionId")?
            }
            _ => rt.deploy_files(files, process.as_deref()).map_err(public)?,
        };
        let sim = Simulation {
            rt,
            clock,
            definition,
            process,
            enforce: scenario.users.is_some(),
            started_by: scenario.started_by.clone(),
        };
        sim.create_users(scenario)?;
        Ok(sim)
    }

    /// One model deployed as DeployProcessDefinitionCommand deploys it, its failure kept as
    /// that command's error (field `bpmnXml`, line and column): what a simulation session and
    /// RunScenarioQuery start from.
    pub(crate) fn deploying(xml: &str, scenario: &Scenario) -> Result<Simulation, Error> {
        let (rt, clock) =
            open(scenario, &crate::EngineSettings::default()).map_err(Error::internal)?;
        let (_, data) = rt.deploy(&json!({ "bpmnXml": xml }))?;
        let definition = data["processDefinitionId"]
            .as_i64()
            .ok_or_else(|| Error::internal("the deployment answered no processDefinitionId"))?;
        let sim = Simulation {
            rt,
            clock,
            definition,
            process: scenario.process.clone(),
            enforce: scenario.users.is_some(),
            started_by: scenario.started_by.clone(),
        };
        sim.create_users(scenario)
            .map_err(|e| Error::field("users", e))?;
        Ok(sim)
    }

    /// The definition the simulation deployed.
    pub(crate) fn definition_id(&self) -> i64 {
        self.definition
    }

    /// When the earliest timer (or job run) falls due, if any is scheduled.
    pub fn next_timer(&self) -> Option<Timestamp> {
        let due = self.rt.store().next_due().ok().flatten()?;
        crate::schedule::parse_due(&due).ok()
    }

    /// The runtime under the simulation (for commands a scenario has no step for).
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.rt
    }

    /// The users the scenario lists, with their teams, and any other user a step acts as
    /// (with no team).
    fn create_users(&self, scenario: &Scenario) -> Result<(), String> {
        let mut users: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        if let Some(listed) = &scenario.users {
            for (name, teams) in listed {
                users.insert(name, teams.clone());
            }
            let actors = scenario.steps.iter().filter_map(|s| s.user.as_ref());
            for u in actors.chain(&scenario.started_by) {
                users.entry(u).or_default();
            }
        }
        for (name, teams) in users {
            self.create_user(name, &teams, scenario.roles.get(name).map(String::as_str))?;
        }
        Ok(())
    }

    /// Creates user `name` with `teams` (and a role, when the scenario gives one).
    fn create_user(&self, name: &str, teams: &[String], role: Option<&str>) -> Result<(), String> {
        self.rt
            .run(
                "CreateUserCommand",
                json!({"userName": name, "teams": teams, "role": role}),
                &Caller::owner(),
            )
            .map(drop)
            .map_err(|e| format!("users.{name}: {e}"))
    }

    /// Who runs a step: the named user (held to the task's rules when the scenario lists
    /// users), or nobody signed in.
    fn caller(&self, user: Option<&str>) -> Result<Caller, String> {
        match (user, self.enforce) {
            (None, true) => Ok(Caller::anonymous()),
            (None, false) => Ok(Caller::owner()),
            (Some(name), true) => {
                let owner = Caller::owner();
                let caller = match self.rt.acting_as(&owner, name) {
                    // A user the scenario does not list acts with no team, as `create_users`
                    // makes them; a session learns its steps one at a time, so here.
                    Err(crate::access::ActAsError::NoSuchUser(_)) => {
                        self.create_user(name, &[], None)?;
                        self.rt.acting_as(&owner, name)
                    }
                    other => other,
                };
                caller.map_err(|e| format!("user '{name}': {e}"))
            }
            // No users listed: the name is `currentUser` in scripts, no rule is checked.
            (Some(name), false) => Ok(Caller {
                user: Some(User {
                    name: name.to_string(),
                    teams: Vec::new(),
                }),
                admin: true,
            }),
        }
    }

    /// Starts an instance; answers its guid.
    pub fn start(&self, variables: Map<String, Value>) -> Result<String, String> {
        // The scenario's `startedBy` starts it (scripts see them as `InitiatedBy`), else the
        // owner.
        let starter = match &self.started_by {
            Some(name) => self.caller(Some(name))?,
            None => Caller::owner(),
        };
        match &self.process {
            None => {
                let data = self.rt.run(
                    "StartProcessInstanceCommand",
                    json!({"processDefinitionId": self.definition, "variables": variables}),
                    &starter,
                )?;
                Ok(data["instanceGuid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string())
            }
            Some(p) => self
                .rt
                .start_process(self.definition, p, variables, &starter)
                .map_err(public),
        }
    }

    /// Applies one step to instance `guid`. `Err` carries the message a scenario author sees:
    /// the runtime's answer, saying where the instance stands when it has ended.
    pub fn step(&self, guid: &str, step: &Step) -> Result<(), String> {
        self.apply(guid, step).map_err(|e| match self.status(guid) {
            Ok(s) if stopped(&s) && !e.contains(&s) => format!("{e} (the instance is {s})"),
            _ => e,
        })
    }

    fn apply(&self, guid: &str, step: &Step) -> Result<(), String> {
        let caller = self.caller(step.user.as_deref())?;
        let rt = &self.rt;
        match &step.action {
            Action::Complete { task, data } => rt
                .run(
                    "SignalProcessInstanceCommand",
                    json!({"instanceGuid": guid, "taskId": task, "callbackData": data}),
                    &caller,
                )
                .map(drop)
                .map_err(|e| match self.status(guid) {
                    Ok(s) if stopped(&s) => {
                        format!("task '{task}' is not waiting: the instance is {s}")
                    }
                    _ => e,
                }),
            Action::Callback { key, data } => {
                let reply = rt.execute_as(
                    "ReturnCallbackCommand",
                    &json!({"correlationKey": key, "result": data}),
                    &caller,
                );
                // A duplicate is acknowledged (a gateway retrying is not an error), but it
                // resumed nothing: the step did not do what it says.
                if reply.is_successful && reply.data["duplicate"] == true {
                    return Err(reply.message);
                }
                reply.into_result().map(drop)
            }
            Action::Message { name, key, data } => {
                let answer = rt.run(
                    "CorrelateMessageCommand",
                    json!({"messageName": name, "correlationKey": key, "variables": data}),
                    &caller,
                )?;
                if answer["correlated"] == true {
                    return Ok(());
                }
                Err(match key {
                    Some(k) => {
                        format!("no instance waits for message '{name}' with correlation key '{k}'")
                    }
                    None => format!("no instance waits for message '{name}'"),
                })
            }
            Action::Signal { name, data } => {
                let answer = rt.run(
                    "BroadcastSignalCommand",
                    json!({"signalName": name, "variables": data}),
                    &caller,
                )?;
                let none = |f: &str| answer[f].as_array().is_none_or(Vec::is_empty);
                if none("instances") && none("started") {
                    return Err(format!("no instance waits for signal '{name}'"));
                }
                Ok(())
            }
            Action::Advance(span) => self.advance(*span),
            Action::Cancel => rt
                .run(
                    "CancelProcessInstanceCommand",
                    json!({ "instanceGuid": guid }),
                    &caller,
                )
                .map(drop),
            Action::SetVariables(vars) => rt
                .step(
                    guid,
                    Event::SetVariables {
                        variables: vars.clone(),
                    },
                    &caller,
                )
                .map(drop)
                .map_err(public),
        }
    }

    /// Moves the clock by `span`, firing every timer, timer start and job run that falls due
    /// on the way at its own time, earliest first.
    pub fn advance(&self, span: jiff::Span) -> Result<(), String> {
        let now = self.clock.now();
        let target = now
            .to_zoned(jiff::tz::TimeZone::UTC)
            .checked_add(span)
            .map(|z| z.timestamp())
            .map_err(|e| format!("cannot advance the clock by {span}: {e}"))?;
        let report = self.rt.advance(&self.clock, target);
        if report.failed > 0 {
            return Err(format!(
                "{} timer(s) could not fire before {target} (see the instance's incidents)",
                report.failed
            ));
        }
        Ok(())
    }

    /// The virtual clock's time.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Runs the steps in order. A step with `expectError` must fail with that text and the run
    /// goes on; any other failure stops the run. Returns the first failure.
    pub fn run_steps(&self, guid: &str, steps: &[Step]) -> Result<(), String> {
        for s in steps {
            match (&s.expect_error, self.step(guid, s)) {
                (None, Ok(())) => {}
                (None, Err(e)) => return Err(format!("step {}: {e}", s.index)),
                (Some(want), Ok(())) => {
                    return Err(format!(
                        "step {} expected an error containing '{want}', but it succeeded",
                        s.index
                    ))
                }
                (Some(want), Err(e)) => {
                    if !e.contains(want.as_str()) {
                        return Err(format!(
                            "step {} expected an error containing '{want}', but the error was '{e}'",
                            s.index
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The instance's status (one row read).
    pub fn status(&self, guid: &str) -> Result<String, String> {
        self.rt.instance_row(guid).map(|r| r.status).map_err(public)
    }

    /// What GetProcessInstanceByIdQuery answers for `guid`.
    pub fn instance(&self, guid: &str) -> Result<Value, String> {
        self.rt.run(
            "GetProcessInstanceByIdQuery",
            json!({ "instanceGuid": guid }),
            &Caller::owner(),
        )
    }

    /// The report `baton simulate` prints (API.md shape): state, path, variables, waiting,
    /// incidents, error.
    pub fn report(&self, guid: &str, error: Option<&str>) -> Value {
        let inst = match self.instance(guid) {
            Ok(v) => v,
            Err(e) => {
                let error = error.map_or(e.clone(), |x| format!("{x}; {e}"));
                return json!({"state": null, "path": [], "variables": {}, "waiting": [],
                    "incidents": [], "error": error});
            }
        };
        let waiting: Vec<Value> = list(&inst["waiting"])
            .iter()
            .map(|w| {
                let mut m = Map::new();
                for k in ["taskId", "taskType", "elementId"] {
                    m.insert(k.into(), w[k].clone());
                }
                for k in ["name", "correlationKey", "formKey", "due"] {
                    if !w[k].is_null() {
                        m.insert(k.into(), w[k].clone());
                    }
                }
                Value::Object(m)
            })
            .collect();
        json!({
            "state": inst["status"],
            "path": inst["path"],
            "variables": inst["variables"],
            "waiting": waiting,
            "incidents": inst["incidents"],
            "error": error,
        })
    }

    /// Checks a scenario's expectations against instance `guid`; each failure is one sentence.
    pub fn check(&self, guid: &str, expect: &Expect) -> Vec<String> {
        match self.instance(guid) {
            Ok(inst) => check(&inst, expect),
            Err(e) => vec![e],
        }
    }
}

/// An in-memory runtime on a virtual clock at the scenario's start time.
fn open(
    scenario: &Scenario,
    settings: &crate::EngineSettings,
) -> Result<(Arc<Runtime>, Arc<VirtualClock>), String> {
    let start = scenario.clock.unwrap_or_else(VirtualClock::default_start);
    let clock = Arc::new(VirtualClock::new(start));
    let rt = Runtime::open_in_memory(clock.clone())
        .map_err(|e| format!("cannot open the in-memory store: {e}"))?;
    rt.use_engine_settings(settings.clone());
    // One author: scenario users are held to the tasks' rules, not to who sees which
    // instance.
    rt.open_instances_to_all();
    let rt = Arc::new(rt);
    rt.lend_bus_to_scripts();
    Ok((rt, clock))
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// The instance takes no step in this state: ended, or FAILED until its incident is retried.
fn stopped(status: &str) -> bool {
    matches!(status, "COMPLETED" | "CANCELLED" | "FAILED")
}

/// A failure as the scenario author reads it (the public text of the error).
fn public(e: Error) -> String {
    Reply::failed(e).into_result().err().unwrap_or_default()
}

/// `expect` against a GetProcessInstanceByIdQuery answer.
fn check(inst: &Value, expect: &Expect) -> Vec<String> {
    let mut fails = Vec::new();
    let status = inst["status"].as_str().unwrap_or_default();
    let waiting: Vec<&str> = list(&inst["waiting"])
        .iter()
        .filter_map(|w| w["taskId"].as_str())
        .collect();
    let path: Vec<&str> = list(&inst["path"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if let Some(state) = &expect.state {
        if !state.eq_ignore_ascii_case(status) {
            let at = if waiting.is_empty() {
                String::new()
            } else {
                format!(" at {}", waiting.join(", "))
            };
            let why = list(&inst["incidents"])
                .first()
                .map(|i| {
                    format!(
                        " ({}: {})",
                        i["elementId"].as_str().unwrap_or_default(),
                        i["message"].as_str().unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            fails.push(format!(
                "expected state {}, got {status}{at}{why}",
                state.to_uppercase()
            ));
        }
    }
    if let Some(vars) = &expect.variables {
        for (k, want) in vars {
            match inst["variables"].get(k) {
                None => fails.push(format!(
                    "expected variable '{k}' = {want}, but it is not set"
                )),
                Some(got) if !json_equal(got, want) => {
                    fails.push(format!("expected variable '{k}' = {want}, got {got}"))
                }
                _ => {}
            }
        }
    }
    for v in &expect.visits {
        if !path.contains(&v.as_str()) {
            fails.push(format!(
                "expected the instance to pass '{v}', but it never did"
            ));
        }
    }
    for v in &expect.never {
        if path.contains(&v.as_str()) {
            fails.push(format!(
                "expected the instance never to pass '{v}', but it did"
            ));
        }
    }
    if let Some(want) = &expect.waiting {
        let mut a: Vec<&str> = waiting.clone();
        let mut b: Vec<&str> = want.iter().map(String::as_str).collect();
        a.sort_unstable();
        b.sort_unstable();
        if a != b {
            fails.push(format!(
                "expected waiting [{}], got [{}]",
                b.join(", "),
                a.join(", ")
            ));
        }
    }
    fails
}

impl Runtime {
    /// Runs a command and answers its `data`, or its failure as one line.
    fn run(&self, cmd: &str, data: Value, caller: &Caller) -> Result<Value, String> {
        self.execute_as(cmd, &data, caller).into_result()
    }

    /// Deploys model files that belong together (a call activity calling into another file)
    /// as one definition keyed by the process to start. The definition row keeps the first
    /// file's text; the engine built from all of them stays cached for the runtime's life,
    /// which is the simulation's.
    fn deploy_files(&self, files: &[ModelFile], process: Option<&str>) -> Result<i64, Error> {
        let dep = baton_engine::parse(files).map_err(|e| {
            Error::field(
                "bpmnXml",
                format!("line {}, column {}: {}", e.line, e.column, e.message),
            )
        })?;
        let (engine, _) = self.build_engine(dep).map_err(|problems| {
            let first = problems
                .iter()
                .find(|p| p.severity == baton_engine::Severity::Error)
                .map(|p| p.message.clone())
                .unwrap_or_else(|| "invalid model".into());
            Error::field("bpmnXml", first)
        })?;
        let key = match process {
            Some(p) => p.to_string(),
            None => engine
                .deployment
                .processes
                .iter()
                .find(|p| p.is_executable)
                .map(|p| p.id.clone())
                .ok_or_else(|| Error::field("bpmnXml", "no executable process".into()))?,
        };
        let xml = files.first().map(|f| f.1).unwrap_or_default();
        let (id, _) =
            self.commit_definition(&key, None, xml, &json!({}), engine, &mut Vec::new())?;
        Ok(id)
    }

    /// Starts `process` of a definition (StartProcessInstanceCommand starts its default
    /// process); the same write path as every start.
    fn start_process(
        &self,
        def: i64,
        process: &str,
        vars: Map<String, Value>,
        caller: &Caller,
    ) -> Result<String, Error> {
        let (guid, _, _) = self.start_process_instance(
            def,
            Some(process),
            None,
            vars,
            None,
            None,
            caller,
            Extra::None,
        )?;
        Ok(guid)
    }
}
