//! Recurring jobs (seed 000): a cron expression in a time zone, and what to run.
//!
//! Execution types: 0 runs one bus command (`commandName`, `commandData`); 1 runs a command
//! chain (`commandChain`: `[{commandName, commandData}]`), where a string `"$previous"` or
//! `"$previous.a.b"` anywhere in a step's data is replaced by the previous step's result (or a
//! field of it); 2 runs rhai `executionCode` (it sees `job` and `now()`; its value is the
//! result); 3 starts a process (`processDefinitionId` or `processKey`, `variables`).
//!
//! Jobs run with administrator rights, so only administrators create, change, run or delete
//! them. Every run is recorded (trigger, status, result or error) whether it succeeds or not;
//! a failing run never changes the schedule.
//!
//! Policies: `misfirePolicy` `fireOnce` (default: a run missed while Baton was closed runs
//! once when it opens) or `skip` (it is recorded as Skipped); `overlapPolicy` `skip` (default:
//! a run due while the previous one is still under way is recorded as Skipped) or `queue` (it
//! runs right after, once however many were due).

use crate::commands::{self as c, input, output};
use crate::schedule::{due_text, parse_due};
use crate::{object, opt_text, text, Answer, Caller, Error, Runtime};
use baton_engine::cron::Cron;
use baton_engine::model::Language;
use baton_engine::script::{ScriptHost, ScriptInput};
use baton_store::{JobRow, NewJob, TimerRow};
use jiff::Timestamp;
use serde_json::{json, Map, Value};

/// A run is late (a misfire) when it starts more than this after its due time.
const MISFIRE_GRACE: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);
/// Runs kept in the answer of GetRecurringJobRunListQuery by default.
const DEFAULT_RUNS: i64 = 50;

/// A run that was claimed (its row is `Running`) and is to be carried out.
#[derive(Clone, Copy)]
pub(crate) struct Claim {
    job_id: i64,
    run_id: i64,
}

/// The fields of a job once validated.
struct Valid {
    name: String,
    cron: Cron,
    zone_name: String,
    zone: jiff::tz::TimeZone,
    execution_type: i64,
    config: Map<String, Value>,
    is_active: bool,
    misfire: String,
    overlap: String,
}

fn zone(name: &str) -> Result<jiff::tz::TimeZone, Error> {
    jiff::tz::TimeZone::get(name).map_err(|_| {
        Error::field("timeZone", format!("'{name}' is not a known time zone; use an IANA name such as Europe/London, Africa/Lagos or UTC"))
    })
}

fn job_id(data: &Value) -> Result<i64, Error> {
    match data.get("id") {
        Some(v) => v
            .as_i64()
            .filter(|n| *n > 0)
            .ok_or_else(|| Error::field("id", "id must be a whole number".into())),
        None => Err(Error::field("id", "id is required".into())),
    }
}

impl Runtime {
    fn validate_job(&self, data: &Value) -> Result<Valid, Error> {
        let name = text(data, "name")?.trim().to_string();
        let expr = text(data, "cronExpression")?;
        let cron = Cron::parse(expr).map_err(|e| Error::field("cronExpression", e.0))?;
        let zone_name = opt_text(data, "timeZone")?
            .unwrap_or("UTC")
            .trim()
            .to_string();
        let zone = zone(&zone_name)?;
        let (execution_type, config) = self.validate_execution(data)?;
        let is_active = match data.get("isActive") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(Error::field(
                    "isActive",
                    "isActive must be true or false".into(),
                ))
            }
        };
        let misfire = opt_text(data, "misfirePolicy")?
            .unwrap_or("fireOnce")
            .to_string();
        if !["fireOnce", "skip"].contains(&misfire.as_str()) {
            return Err(Error::field(
                "misfirePolicy",
                format!("misfirePolicy must be fireOnce or skip, not '{misfire}'"),
            ));
        }
        let overlap = opt_text(data, "overlapPolicy")?
            .unwrap_or("skip")
            .to_string();
        if !["skip", "queue"].contains(&overlap.as_str()) {
            return Err(Error::field(
                "overlapPolicy",
                format!("overlapPolicy must be skip or queue, not '{overlap}'"),
            ));
        }
        Ok(Valid {
            name,
            cron,
            zone_name,
            zone,
            execution_type,
            config,
            is_active,
            misfire,
            overlap,
        })
    }

    /// The execution fields shared by recurring jobs and incoming webhooks: `executionType` and
    /// the fields of that type, as stored in `config`.
    pub(crate) fn validate_execution(
        &self,
        data: &Value,
    ) -> Result<(i64, Map<String, Value>), Error> {
        let execution_type = match data.get("executionType") {
            Some(v) => v.as_i64().filter(|t| (0..=3).contains(t)).ok_or_else(|| {
                Error::field("executionType", "executionType must be 0 (command), 1 (command chain), 2 (code) or 3 (start a process)".into())
            })?,
            None => return Err(Error::field("executionType", "executionType is required: 0 (command), 1 (command chain), 2 (code) or 3 (start a process)".into())),
        };
        let mut config = Map::new();
        match execution_type {
            0 => {
                let cmd = self.job_command(data, "commandName")?;
                config.insert("commandName".into(), json!(cmd));
                config.insert(
                    "commandData".into(),
                    Value::Object(object(data, "commandData")?),
                );
            }
            1 => {
                let Some(Value::Array(steps)) = data.get("commandChain") else {
                    return Err(Error::field(
                        "commandChain",
                        "commandChain must be a list of {commandName, commandData} steps".into(),
                    ));
                };
                if steps.is_empty() {
                    return Err(Error::field(
                        "commandChain",
                        "commandChain has no steps".into(),
                    ));
                }
                let mut chain = Vec::new();
                for (i, step) in steps.iter().enumerate() {
                    let cmd = self.job_command(step, "commandName").map_err(|e| {
                        if e.fields.is_empty() {
                            return e;
                        }
                        let m = e.line();
                        Error::field("commandChain", format!("step {}: {m}", i + 1))
                    })?;
                    let data = object(step, "commandData").map_err(|_| {
                        Error::field(
                            "commandChain",
                            format!("step {}: commandData must be a JSON object", i + 1),
                        )
                    })?;
                    chain.push(json!({"commandName": cmd, "commandData": data}));
                }
                config.insert("commandChain".into(), Value::Array(chain));
            }
            2 => {
                let code = text(data, "executionCode")?;
                // rhai or JavaScript, by the rule of docs/scripting.md.
                if let Err(e) = ScriptHost::single_as(code, &Language::Detect) {
                    let at = match (e.line, e.column) {
                        (Some(l), Some(c)) => format!("line {l}, column {c}: "),
                        _ => String::new(),
                    };
                    return Err(Error::field("executionCode", format!("{at}{}", e.message)));
                }
                config.insert("executionCode".into(), json!(code));
            }
            _ => {
                let id = data.get("processDefinitionId").filter(|v| !v.is_null());
                let key = opt_text(data, "processKey")?;
                match (id, key) {
                    (Some(v), _) => {
                        let id = v.as_i64().ok_or_else(|| {
                            Error::field(
                                "processDefinitionId",
                                "processDefinitionId must be a whole number".into(),
                            )
                        })?;
                        let found = self.store().definition(id, false);
                        found.map_err(|e| {
                            Error::lookup(
                                e,
                                "processDefinitionId",
                                format!("no process definition {id}"),
                            )
                        })?;
                        config.insert("processDefinitionId".into(), json!(id));
                    }
                    (None, Some(k)) => {
                        let found = self.store().definitions(Some(k), 1, 1)?.1;
                        if found == 0 {
                            return Err(Error::no_such(
                                "processKey",
                                format!("no process definition with key '{k}' is deployed"),
                            ));
                        }
                        config.insert("processKey".into(), json!(k));
                    }
                    (None, None) => {
                        return Err(Error::field(
                            "processDefinitionId",
                            "processDefinitionId or processKey is required to start a process"
                                .into(),
                        ))
                    }
                }
                config.insert(
                    "variables".into(),
                    Value::Object(object(data, "variables")?),
                );
            }
        }
        Ok((execution_type, config))
    }

    /// A command a job may run: a known bus command, and not one that manages jobs.
    fn job_command<'a>(&self, data: &'a Value, field: &'static str) -> Result<&'a str, Error> {
        let cmd = text(data, field)?;
        if crate::bus::handler(cmd).is_none() {
            return Err(Error::field(field, format!("unknown command '{cmd}'")));
        }
        Ok(cmd)
    }

    /// The next run after now of a valid, active job.
    fn next_run(&self, v: &Valid) -> Option<String> {
        v.is_active
            .then(|| v.cron.next_after(self.clock.now(), &v.zone))
            .flatten()
            .map(due_text)
    }

    fn save(&self, id: Option<i64>, v: &Valid, caller: &Caller) -> Result<i64, Error> {
        let config = Value::Object(v.config.clone()).to_string();
        let next = self.next_run(v);
        let now = self.now();
        let (name, created_by) = (v.name.clone(), caller.user.as_ref().map(|u| u.name.clone()));
        let (expr, zone, et, active, misfire, overlap) = (
            v.cron.as_str().to_string(),
            v.zone_name.clone(),
            v.execution_type,
            v.is_active,
            v.misfire.clone(),
            v.overlap.clone(),
        );
        let wake = next.clone();
        let id = self.write(move |tx| {
            let job = NewJob {
                name: &name,
                cron_expression: &expr,
                time_zone: &zone,
                execution_type: et,
                config: &config,
                is_active: active,
                misfire_policy: &misfire,
                overlap_policy: &overlap,
            };
            let id = match id {
                Some(id) => {
                    if !tx.update_job(id, &job, &now)? {
                        return Err(Error::no_such("id", format!("no recurring job {id}")));
                    }
                    id
                }
                None => tx.insert_job(&job, created_by.as_deref(), &now)?,
            };
            tx.set_job_timer(id, next.as_deref())?;
            Ok(id)
        })?;
        self.wake_for(wake.as_deref());
        Ok(id)
    }

    fn job_row(&self, data: &Value) -> Result<JobRow, Error> {
        let id = job_id(data)?;
        let found = self.store().job(id)?;
        found.ok_or_else(|| Error::no_such("id", format!("no recurring job {id}")))
    }

    /// CreateRecurringJobCommand.
    pub(crate) fn create_job(&self, data: &Value, caller: &Caller) -> Answer {
        let v = self.validate_job(data)?;
        let id = self.save(None, &v, caller)?;
        let job = self
            .store()
            .job(id)?
            .ok_or_else(|| Error::internal("the job vanished"))?;
        Ok((
            "Recurring job created".into(),
            json!({"id": id, "nextRunAt": job.next_run_at, "job": view(&job, true)}),
        ))
    }

    /// UpdateRecurringJobCommand: the fields given replace the job's; the schedule restarts
    /// from now.
    pub(crate) fn update_job(&self, data: &Value) -> Answer {
        let job = self.job_row(data)?;
        let mut merged = match view(&job, true) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        drop_replaced_execution_fields(&mut merged, data);
        if let Value::Object(given) = data {
            for (k, v) in given {
                merged.insert(k.clone(), v.clone());
            }
        }
        let v = self.validate_job(&Value::Object(merged))?;
        let owner = Caller {
            user: job.created_by.map(|n| baton_engine::User {
                name: n,
                teams: Vec::new(),
            }),
            admin: true,
        };
        self.save(Some(job.id), &v, &owner)?;
        let job = self.job_row(data)?;
        Ok((
            "Recurring job updated".into(),
            json!({"id": job.id, "nextRunAt": job.next_run_at, "job": view(&job, true)}),
        ))
    }

    /// GetRecurringJobByIdQuery: everything, `executionCode` included.
    pub(crate) fn get_job(&self, data: &Value) -> Answer {
        let job = self.job_row(data)?;
        Ok(("OK".into(), view(&job, true)))
    }

    /// GetRecurringJobListQuery: without `executionCode` (seed 000), with `nextRunAt`.
    pub(crate) fn list_jobs(&self, data: &Value) -> Answer {
        let active = match data.get("isActive") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(Error::field(
                    "isActive",
                    "isActive must be true or false".into(),
                ))
            }
        };
        let jobs = self.store().jobs()?;
        let items: Vec<Value> = jobs
            .iter()
            .filter(|j| active.is_none_or(|a| j.is_active == a))
            .map(|j| view(j, false))
            .collect();
        Ok((
            "OK".into(),
            json!({"items": items, "totalCount": items.len()}),
        ))
    }

    /// DeleteRecurringJobCommand: the job, its schedule and its run history.
    pub(crate) fn delete_job(&self, data: &Value) -> Answer {
        let id = job_id(data)?;
        let existed = self.write(move |tx| Ok(tx.delete_job(id)?))?;
        if !existed {
            return Err(Error::no_such("id", format!("no recurring job {id}")));
        }
        Ok(("Recurring job deleted".into(), json!({"id": id})))
    }

    /// GetRecurringJobRunListQuery: a job's runs, newest first.
    pub(crate) fn job_runs(&self, data: &Value) -> Answer {
        let job = self.job_row(data)?;
        let limit = match data.get("count") {
            None | Some(Value::Null) => DEFAULT_RUNS,
            Some(v) => v
                .as_i64()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| {
                    Error::field(
                        "count",
                        "count must be a whole number from 1 to 1000".into(),
                    )
                })?,
        };
        let runs = self.store().job_runs(job.id, limit)?;
        let items: Vec<Value> = runs
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
                v["result"] = r
                    .result
                    .as_deref()
                    .and_then(|t| serde_json::from_str(t).ok())
                    .unwrap_or(Value::Null);
                v
            })
            .collect();
        Ok((
            "OK".into(),
            json!({"items": items, "totalCount": items.len()}),
        ))
    }

    /// GetCronPreviewQuery: the next `count` run times of an expression in a time zone.
    pub(crate) fn cron_preview(&self, data: &Value) -> Answer {
        let data: c::GetCronPreviewInput = input(data)?;
        let expr = data.cron_expression.as_str();
        let cron = Cron::parse(expr).map_err(|e| Error::field("cronExpression", e.0))?;
        let zone_name = data.time_zone.as_deref().unwrap_or("UTC");
        let tz = zone(zone_name)?;
        let count = data.count.unwrap_or(5);
        let from = match data.from.as_deref() {
            Some(t) => t.parse::<Timestamp>().map_err(|e| {
                Error::field(
                    "from",
                    format!("'{t}' is not an RFC 3339 time with an offset: {e}"),
                )
            })?,
            None => self.clock.now(),
        };
        let runs = cron.upcoming(from, &tz, count as usize);
        let next_run_times: Vec<String> = runs.iter().map(|t| format!("{t}")).collect();
        let local_times: Vec<String> = runs
            .iter()
            .map(|t| {
                t.to_zoned(tz.clone())
                    .strftime("%Y-%m-%dT%H:%M:%S%:z")
                    .to_string()
            })
            .collect();
        output(
            "OK",
            &c::GetCronPreviewOutput {
                cron_expression: expr.to_string(),
                time_zone: zone_name.to_string(),
                next_run_times,
                local_times,
            },
        )
    }

    /// ExecuteRecurringJobCommand: runs the job now and answers the run. A job with a run
    /// under way is not started twice.
    pub(crate) fn execute_job(&self, data: &Value) -> Answer {
        let job = self.job_row(data)?;
        {
            let mut running = self.running_jobs.lock().unwrap_or_else(|p| p.into_inner());
            if running.contains_key(&job.id) {
                return Err(Error::conflict(format!(
                    "recurring job {} is already running; try again when its run has finished",
                    job.id
                )));
            }
            running.insert(job.id, false);
        }
        let now = self.now();
        let id = job.id;
        let opened =
            self.write(move |tx| Ok(tx.open_run(id, "manual", None, "Running", None, &now)?));
        let run_id = match opened {
            Ok(r) => r,
            Err(e) => {
                self.running_jobs
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
                return Err(e);
            }
        };
        self.publish_job_run(id, run_id, "Running");
        self.run_claim(Claim { job_id: id, run_id });
        let runs = self.store().job_runs(id, 1000)?;
        let run = runs
            .into_iter()
            .find(|r| r.id == run_id)
            .ok_or_else(|| Error::internal("the run vanished"))?;
        let result: Value = run
            .result
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(Value::Null);
        if run.status == "Succeeded" {
            Ok((
                "Recurring job executed".into(),
                json!({"runId": run_id, "status": run.status, "result": result}),
            ))
        } else {
            Err(Error::rejected(format!(
                "recurring job {id} failed (run {run_id}): {}",
                run.error.unwrap_or_default()
            )))
        }
    }

    /// A job's timer fell due: apply the misfire and overlap policies, record the run, move the
    /// timer to the next run time after now, all in one transaction. Answers the run to carry
    /// out, if any.
    pub(crate) fn claim_scheduled(
        &self,
        row: &TimerRow,
        now: Timestamp,
    ) -> Result<Option<Claim>, Error> {
        let id = row.job_id.unwrap_or_default();
        let job = self.store().job(id)?;
        let Some(job) = job.filter(|j| j.is_active) else {
            self.write(move |tx| Ok(tx.set_job_timer(id, None)?))?;
            return Ok(None);
        };
        let cron = Cron::parse(&job.cron_expression).map_err(|e| Error::internal(e.0))?;
        let tz = zone(&job.time_zone)?;
        let due = parse_due(&row.due_at)?;
        let next = cron.next_after(now.max(due), &tz).map(due_text);
        let late = now.duration_since(due) > MISFIRE_GRACE;
        let (status, trigger, error): (&str, &str, Option<String>) = {
            let mut running = self.running_jobs.lock().unwrap_or_else(|p| p.into_inner());
            if late && job.misfire_policy == "skip" {
                (
                    "Skipped",
                    "misfire",
                    Some(format!(
                        "due at {} while Baton was not running; misfirePolicy is skip",
                        row.due_at
                    )),
                )
            } else if let Some(queued) = running.get_mut(&id) {
                if job.overlap_policy == "queue" {
                    *queued = true;
                    ("Queued", "schedule", None)
                } else {
                    (
                        "Skipped",
                        "schedule",
                        Some("the previous run was still under way; overlapPolicy is skip".into()),
                    )
                }
            } else {
                running.insert(id, false);
                ("Running", if late { "misfire" } else { "schedule" }, None)
            }
        };
        let at = self.now();
        let scheduled = row.due_at.clone();
        let wake = next.clone();
        let status_owned = status.to_string();
        let written = self.write(move |tx| {
            tx.set_job_timer(id, next.as_deref())?;
            if status_owned == "Queued" {
                return Ok(None);
            }
            Ok(Some(tx.open_run(
                id,
                trigger,
                Some(&scheduled),
                &status_owned,
                error.as_deref(),
                &at,
            )?))
        });
        self.wake_for(wake.as_deref());
        if let Ok(Some(run_id)) = written {
            self.publish_job_run(id, run_id, status);
        }
        match written {
            Ok(Some(run_id)) if status == "Running" => Ok(Some(Claim { job_id: id, run_id })),
            Ok(_) => Ok(None),
            Err(e) => {
                if status == "Running" {
                    self.running_jobs
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&id);
                }
                Err(e)
            }
        }
    }

    /// Carries out a claimed run and records how it ended; then the queued run, if one waits.
    pub(crate) fn run_claim(&self, claim: Claim) {
        let mut run_id = claim.run_id;
        loop {
            // Bind first: a reader guard in the match scrutinee would live through the run.
            let found = self.store().job(claim.job_id);
            let outcome = match found {
                // A run that panics (a bug) ends Failed like any other, with a reference to
                // the log where the panic's text is.
                Ok(Some(job)) => crate::isolation::guard("the job run", || {
                    self.panics.hit(crate::PanicSite::JobRun);
                    Ok(self.perform(&job))
                })
                .unwrap_or_else(|e| {
                    Err(format!(
                        "the run failed unexpectedly ({})",
                        e.public().message
                    ))
                }),
                Ok(None) => Err("the job was deleted".into()),
                // The run's record shows a reference, the log the detail.
                Err(e) => Err(Error::from(e).public().message),
            };
            let at = self.now();
            let (status, result, error) = match outcome {
                Ok(v) => ("Succeeded", Some(v.to_string()), None),
                Err(e) => ("Failed", None, Some(e)),
            };
            if status == "Failed" {
                tracing::warn!(
                    job = claim.job_id,
                    run = run_id,
                    "recurring job failed: {}",
                    error.as_deref().unwrap_or_default()
                );
            }
            let finished = self.write(move |tx| {
                Ok(tx.finish_run(run_id, status, result.as_deref(), error.as_deref(), &at)?)
            });
            if finished.is_ok() {
                self.publish_job_run(claim.job_id, run_id, status);
            }
            let again = {
                let mut running = self.running_jobs.lock().unwrap_or_else(|p| p.into_inner());
                match running.get_mut(&claim.job_id) {
                    Some(queued) if *queued => {
                        *queued = false;
                        true
                    }
                    _ => {
                        running.remove(&claim.job_id);
                        false
                    }
                }
            };
            if !again {
                break;
            }
            let (id, at) = (claim.job_id, self.now());
            match self.write(move |tx| Ok(tx.open_run(id, "queued", None, "Running", None, &at)?)) {
                Ok(r) => {
                    run_id = r;
                    self.publish_job_run(id, run_id, "Running");
                }
                Err(_) => {
                    self.running_jobs
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&claim.job_id);
                    break;
                }
            }
        }
    }

    /// What a job does; `Ok` holds its result.
    fn perform(&self, job: &JobRow) -> Result<Value, String> {
        let config: Value = serde_json::from_str(&job.config)
            .map_err(|e| format!("stored job configuration is unreadable: {e}"))?;
        let run =
            |cmd: &str, data: &Value| self.execute_as(cmd, data, &Caller::owner()).into_result();
        match job.execution_type {
            0 => run(
                config["commandName"].as_str().unwrap_or_default(),
                &config["commandData"],
            ),
            1 => self
                .run_chain(&config["commandChain"], |data| data.clone())
                .map_err(|e| e.message),
            2 => {
                let job_vars = json!({"id": job.id, "name": job.name, "cronExpression": job.cron_expression, "timeZone": job.time_zone, "lastRunAt": job.last_run_at});
                self.run_code(
                    config["executionCode"].as_str().unwrap_or_default(),
                    "job",
                    job_vars,
                )
                .map_err(|e| e.message)
            }
            _ => {
                let mut data = json!({"variables": config["variables"]});
                if let Some(id) = config.get("processDefinitionId") {
                    data["processDefinitionId"] = id.clone();
                } else {
                    data["processKey"] = config["processKey"].clone();
                }
                run("StartProcessInstanceCommand", &data)
            }
        }
    }

    /// Execution type 1 (jobs and webhooks): runs the steps in order, each step's data first
    /// passed through `prepare`, then `$previous` replaced by the previous step's result; stops
    /// at the first step that fails, naming it.
    pub(crate) fn run_chain(
        &self,
        chain: &Value,
        prepare: impl Fn(&Value) -> Value,
    ) -> Result<Value, Error> {
        let mut previous = Value::Null;
        let mut steps = Vec::new();
        for (i, step) in chain.as_array().into_iter().flatten().enumerate() {
            let cmd = step["commandName"].as_str().unwrap_or_default();
            let data = substitute(&prepare(&step["commandData"]), &previous);
            previous = self
                .execute_as(cmd, &data, &Caller::owner())
                .into_error()
                .map_err(|e| {
                    Error::answered(
                        e.code,
                        format!("step {} ({cmd}) failed: {}", i + 1, e.message),
                    )
                })?;
            steps.push(json!({"commandName": cmd, "result": previous}));
        }
        Ok(json!({"steps": steps, "result": previous}))
    }

    /// Execution type 2 (jobs and webhooks): runs `code` (rhai or JavaScript, by the rule of
    /// docs/scripting.md) with `name` bound to `value` and
    /// `now()` on the runtime's clock; answers its value and the variables it wrote.
    pub(crate) fn run_code(&self, code: &str, name: &str, value: Value) -> Result<Value, Error> {
        // The script limits an administrator set (engine_limits), as in every engine.
        let limits = self.limits();
        let mut host = ScriptHost::with_limits(limits.script_operations, limits.script_time)
            .with_memory(limits.script_memory);
        let source = baton_engine::model::Source {
            text: code.to_string(),
            id: 0,
            span: Default::default(),
        };
        if let Some((_, e)) = host
            .compile_with_languages(&[source], &[Language::Detect])
            .into_iter()
            .next()
        {
            return Err(Error::rejected(e.message));
        }
        let mut vars = Map::new();
        vars.insert(name.into(), value);
        let input = ScriptInput {
            lookup: &|n| vars.get(n).cloned(),
            all: &|| vars.clone(),
            form_data: None,
            current_user: None,
            now: self.clock.now(),
        };
        let out = host.run(0, &input).map_err(|e| {
            Error::rejected(match (e.line, e.column) {
                (Some(l), Some(c)) => format!("line {l}, column {c}: {}", e.message),
                _ => e.message,
            })
        })?;
        let written: Map<String, Value> = out.writes.into_iter().collect();
        Ok(json!({"value": out.value, "variables": written}))
    }

    /// At open: runs left `Running` by a process that stopped are marked Interrupted.
    pub(crate) fn recover_jobs(&self) {
        let at = self.now();
        if let Err(e) = self.write(move |tx| Ok(tx.interrupt_runs(&at)?)) {
            tracing::warn!("could not mark interrupted job runs: {}", e.line());
        }
    }
}

/// Before an update's fields are laid over the stored ones: a new execution type drops the old
/// type's fields, and a `processKey` replaces a `processDefinitionId` (jobs and webhooks).
pub(crate) fn drop_replaced_execution_fields(stored: &mut Map<String, Value>, given: &Value) {
    if given
        .get("executionType")
        .is_some_and(|t| Some(t) != stored.get("executionType"))
    {
        for k in [
            "commandName",
            "commandData",
            "commandChain",
            "executionCode",
            "processDefinitionId",
            "processKey",
            "variables",
        ] {
            stored.remove(k);
        }
    }
    if given.get("processKey").is_some_and(|v| !v.is_null()) {
        stored.remove("processDefinitionId");
    }
}

/// A job as the queries show it.
fn view(job: &JobRow, with_code: bool) -> Value {
    let mut v = json!({
        "id": job.id,
        "name": job.name,
        "cronExpression": job.cron_expression,
        "timeZone": job.time_zone,
        "executionType": job.execution_type,
        "isActive": job.is_active,
        "misfirePolicy": job.misfire_policy,
        "overlapPolicy": job.overlap_policy,
        "createdBy": job.created_by,
        "createdAt": job.created_at,
        "updatedAt": job.updated_at,
        "lastRunAt": job.last_run_at,
        "nextRunAt": job.next_run_at,
    });
    show_execution_fields(&mut v, &job.config, with_code);
    v
}

/// Adds a stored execution configuration's fields to a query answer; `executionCode` only when
/// asked (single-item queries show it, lists never do: seed 000) (jobs and webhooks).
pub(crate) fn show_execution_fields(view: &mut Value, config: &str, with_code: bool) {
    if let Ok(Value::Object(config)) = serde_json::from_str::<Value>(config) {
        for (k, val) in config {
            if k != "executionCode" || with_code {
                view[k] = val;
            }
        }
    }
}

/// Replaces `"$previous"` and `"$previous.path.to.field"` strings with the previous step's
/// result (or that field of it; list items by index), anywhere in `data`.
fn substitute(data: &Value, previous: &Value) -> Value {
    substitute_var(data, "$previous", previous)
}

/// Replaces `"{name}"` and `"{name}.path.to.field"` strings with `value` (or that field of it).
pub(crate) fn substitute_var(data: &Value, name: &str, value: &Value) -> Value {
    match data {
        Value::String(s) if s == name => value.clone(),
        Value::String(s)
            if s.len() > name.len() + 1
                && s.starts_with(name)
                && s[name.len()..].starts_with('.') =>
        {
            let mut at = value;
            for part in s[name.len() + 1..].split('.') {
                at = match at {
                    Value::Object(m) => m.get(part).unwrap_or(&Value::Null),
                    Value::Array(a) => part
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| a.get(i))
                        .unwrap_or(&Value::Null),
                    _ => &Value::Null,
                };
            }
            at.clone()
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), substitute_var(v, name, value)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| substitute_var(v, name, value)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::substitute;
    use serde_json::json;

    #[test]
    fn previous_results_are_substituted_by_path() {
        let prev = json!({"instanceGuid": "g-1", "waiting": [{"taskId": "Review"}]});
        let data = json!({"instanceGuid": "$previous.instanceGuid", "taskId": "$previous.waiting.0.taskId", "all": "$previous", "x": ["$previous.nope", 3]});
        assert_eq!(
            substitute(&data, &prev),
            json!({"instanceGuid": "g-1", "taskId": "Review", "all": prev, "x": [null, 3]})
        );
    }
}
