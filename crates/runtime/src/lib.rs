//! The command bus: every operation is a named command with a JSON `data` object, dispatched by
//! one function over the engine and the store.
//!
//! Each command that changes an instance follows one path: load the instance's state, apply one
//! engine event, then write the new state, its callback registry rows and its history in ONE
//! transaction, and only then answer. Nothing is acknowledged before it is committed.
//!
//! This is the first slice of issue 3: process definitions, instances and callbacks on the bus.
//! Users and tokens in the database, messages and the crash test come next.

pub mod http;

use baton_engine::{parse, Clock, CommandError, Ctx, Effect, Engine, Event, Instance, User};
use baton_store::{Durability, InstanceRow, Store, StoreError};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The wall clock, for `serve` and the desktop app (simulations use the engine's VirtualClock).
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// A field-level validation error, as the seed 000 envelope shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The answer of every command (the `/api/v1/execute` envelope).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reply {
    pub is_successful: bool,
    pub message: String,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub data: Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Reply {
    fn ok(message: &str, data: Value) -> Reply {
        Reply { is_successful: true, message: message.into(), data, errors: Vec::new() }
    }
    fn fail(message: impl Into<String>) -> Reply {
        Reply { is_successful: false, message: message.into(), data: Value::Null, errors: Vec::new() }
    }
    fn invalid(field: &str, message: impl Into<String>) -> Reply {
        Reply {
            is_successful: false,
            message: "Validation failed".into(),
            data: Value::Null,
            errors: vec![FieldError { field: field.into(), message: message.into() }],
        }
    }
}

/// Why a command could not run, before it becomes a `Reply`.
enum Fail {
    Field(&'static str, String),
    Business(String),
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Fail {
        match e {
            StoreError::NotFound(m) => Fail::Business(m),
            other => Fail::Business(other.to_string()),
        }
    }
}

type Outcome = Result<(String, Value), Fail>;

/// Who runs a command.
pub struct Caller<'a> {
    pub user: Option<&'a User>,
    /// Check ResponsibleUser / ResponsibleTeam (off for administrators and the desktop owner).
    pub enforce_access: bool,
}

pub struct Runtime {
    store: Mutex<Store>,
    engines: Mutex<HashMap<i64, Arc<Engine>>>,
    clock: Arc<dyn Clock>,
}

fn text<'a>(data: &'a Value, field: &'static str) -> Result<&'a str, Fail> {
    match data.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(Fail::Field(field, format!("{field} is required"))),
        Some(_) => Err(Fail::Field(field, format!("{field} must be a string"))),
    }
}

fn object(data: &Value, field: &'static str) -> Result<Map<String, Value>, Fail> {
    match data.get(field) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(Fail::Field(field, format!("{field} must be a JSON object"))),
    }
}

impl Runtime {
    /// Opens the database at `path` (created if missing).
    pub fn open(path: &Path, durability: Durability, clock: Arc<dyn Clock>) -> Result<Runtime, StoreError> {
        Ok(Runtime { store: Mutex::new(Store::open(path, durability)?), engines: Mutex::new(HashMap::new()), clock })
    }

    /// Runs one command or query. With a user, ResponsibleUser / ResponsibleTeam are enforced.
    /// Never panics on bad input: every failure is a `Reply`.
    pub fn execute(&self, cmd: &str, data: &Value, user: Option<&User>) -> Reply {
        self.execute_as(cmd, data, &Caller { user, enforce_access: user.is_some() })
    }

    /// Runs a command for a caller; an administrator acts with `enforce_access: false`.
    pub fn execute_as(&self, cmd: &str, data: &Value, caller: &Caller) -> Reply {
        let user = caller;
        let result = match cmd {
            "DeployProcessDefinitionCommand" => self.deploy(data),
            "GetProcessDefinitionByIdQuery" => self.get_definition(data),
            "GetProcessDefinitionListQuery" => self.list_definitions(data),
            "StartProcessInstanceCommand" => self.start(data, user),
            "SignalProcessInstanceCommand" => self.signal(data, user),
            "ReturnCallbackCommand" => self.return_callback(data, user),
            "CancelProcessInstanceCommand" => self.cancel(data, user),
            "GetProcessInstanceByIdQuery" => self.get_instance(data),
            "GetCallbackRegistryListQuery" => self.callbacks(data),
            "GetProcessInstanceListQuery" => self.list_instances(data),
            "GetInstanceHistoryQuery" => self.history(data),
            "RetryIncidentCommand" => self.retry(data, user),
            "GetTaskFormQuery" => self.task_form(data),
            "GetTaskListQuery" => self.task_list(data),
            "CorrelateMessageCommand" => self.correlate(data, user),
            "BroadcastSignalCommand" => self.broadcast(data, user),
            other => return Reply::invalid("cmd", format!("unknown command '{other}'")),
        };
        match result {
            Ok((message, data)) => Reply::ok(&message, data),
            Err(Fail::Field(f, m)) => Reply::invalid(f, m),
            Err(Fail::Business(m)) => Reply::fail(m),
        }
    }

    fn now(&self) -> String {
        self.clock.now().to_string()
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        // A poisoned lock only means another command panicked mid-way; SQLite rolled its
        // transaction back, so the data is consistent and the store can be used again.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn engine(&self, definition_id: i64) -> Result<Arc<Engine>, Fail> {
        if let Some(e) = self.engines.lock().unwrap_or_else(|p| p.into_inner()).get(&definition_id) {
            return Ok(e.clone());
        }
        let def = self.store().definition(definition_id, true)?;
        let xml = def.bpmn_xml.unwrap_or_default();
        let dep = parse(&[(def.process_key.as_str(), xml.as_str())]).map_err(|e| Fail::Business(e.to_string()))?;
        let (engine, _) = Engine::new(dep).map_err(|p| Fail::Business(format!("stored definition is invalid: {:?}", p.first())))?;
        let engine = Arc::new(engine);
        self.engines.lock().unwrap_or_else(|p| p.into_inner()).insert(definition_id, engine.clone());
        Ok(engine)
    }

    fn deploy(&self, data: &Value) -> Outcome {
        let xml = text(data, "bpmnXml")?;
        let dep = parse(&[("bpmnXml", xml)])
            .map_err(|e| Fail::Field("bpmnXml", format!("line {}, column {}: {}", e.line, e.column, e.message)))?;
        let (engine, warnings) = Engine::new(dep).map_err(|problems| {
            let first = problems.iter().find(|p| p.severity == baton_engine::Severity::Error).or(problems.first());
            let msg = first
                .map(|p| format!("line {}, column {}: {}", p.line, p.column, p.message))
                .unwrap_or_else(|| "invalid model".into());
            Fail::Field("bpmnXml", msg)
        })?;
        let key = engine
            .deployment
            .processes
            .iter()
            .find(|p| p.is_executable)
            .map(|p| p.id.clone())
            .ok_or_else(|| Fail::Field("bpmnXml", "no executable process".into()))?;
        let forms = match data.get("forms") {
            None | Some(Value::Null) => json!({}),
            Some(v @ Value::Object(_)) => v.clone(),
            Some(_) => return Err(Fail::Field("forms", "forms must map form keys to form JSON".into())),
        };
        let name = data.get("name").and_then(Value::as_str);
        let mut store = self.store();
        let tx = store.transaction()?;
        let (id, version) = tx.deploy(&key, name, xml, &forms, &self.now())?;
        tx.commit()?;
        drop(store);
        self.engines.lock().unwrap_or_else(|p| p.into_inner()).insert(id, Arc::new(engine));
        Ok((
            "Process definition deployed".into(),
            json!({"processDefinitionId": id, "processKey": key, "version": version, "warnings": warnings}),
        ))
    }

    fn definition_id(&self, data: &Value) -> Result<i64, Fail> {
        match (data.get("processDefinitionId"), data.get("processKey")) {
            (Some(v), _) if !v.is_null() => v
                .as_i64()
                .ok_or_else(|| Fail::Field("processDefinitionId", "processDefinitionId must be an integer".into()))
                .and_then(|id| {
                    self.store()
                        .definition(id, false)
                        .map(|d| d.process_definition_id)
                        .map_err(|_| Fail::Field("processDefinitionId", format!("no process definition {id}")))
                }),
            (_, Some(Value::String(k))) => self
                .store()
                .latest_definition(k)
                .map(|d| d.process_definition_id)
                .map_err(|_| Fail::Field("processKey", format!("no process definition with key '{k}'"))),
            _ => Err(Fail::Field("processDefinitionId", "processDefinitionId or processKey is required".into())),
        }
    }

    fn get_definition(&self, data: &Value) -> Outcome {
        let id = self.definition_id(data)?;
        let d = self.store().definition(id, true)?;
        Ok(("OK".into(), serde_json::to_value(d).unwrap_or(Value::Null)))
    }

    fn list_definitions(&self, data: &Value) -> Outcome {
        let page = data.get("pageNumber").and_then(Value::as_i64).unwrap_or(1);
        let size = data.get("pageSize").and_then(Value::as_i64).unwrap_or(20);
        let (items, total) = self.store().definitions(data.get("processKey").and_then(Value::as_str), page, size)?;
        Ok(("OK".into(), json!({"items": items, "totalCount": total})))
    }

    fn start(&self, data: &Value, user: &Caller) -> Outcome {
        let def = self.definition_id(data)?;
        let mut vars = object(data, "variables")?;
        if vars.is_empty() {
            vars = object(data, "context")?;
        }
        let engine = self.engine(def)?;
        let ctx = Ctx { clock: &*self.clock, user: user.user, enforce_access: user.enforce_access };
        let (inst, effects) = engine.start(None, vars, &ctx).map_err(|e| Fail::Business(e.to_string()))?;
        let guid = uuid::Uuid::new_v4().to_string();
        let now = self.now();
        let row = InstanceRow {
            instance_guid: guid.clone(),
            process_definition_id: def,
            status: inst.status.as_str().into(),
            state: serde_json::to_string(&inst).map_err(|e| Fail::Business(e.to_string()))?,
            business_key: data.get("businessKey").and_then(Value::as_str).map(str::to_string),
            correlation_id: data.get("correlationId").and_then(Value::as_str).map(str::to_string),
            started_at: now.clone(),
            ended_at: inst.status.is_ended().then(|| now.clone()),
        };
        let mut store = self.store();
        let tx = store.transaction()?;
        tx.insert_instance(&row)?;
        record_effects(&tx, &guid, &inst, &effects, &now)?;
        tx.commit()?;
        Ok((
            "Process instance started".into(),
            json!({"instanceGuid": guid, "status": inst.status.as_str(), "waiting": engine.waiting(&inst)}),
        ))
    }

    /// Loads an instance, applies one event, commits the new state with its effects.
    fn step(&self, guid: &str, event: Event, user: &Caller) -> Result<(Arc<Engine>, Instance), Fail> {
        let row = self.store().instance(guid).map_err(|_| Fail::Field("instanceGuid", format!("no process instance '{guid}'")))?;
        let engine = self.engine(row.process_definition_id)?;
        let mut inst: Instance = serde_json::from_str(&row.state).map_err(|e| Fail::Business(format!("stored state unreadable: {e}")))?;
        let ctx = Ctx { clock: &*self.clock, user: user.user, enforce_access: user.enforce_access };
        let effects = engine.apply(&mut inst, event, &ctx).map_err(|e| match e {
            CommandError::Forbidden(m) => Fail::Business(m),
            other => Fail::Business(other.to_string()),
        })?;
        let now = self.now();
        let state = serde_json::to_string(&inst).map_err(|e| Fail::Business(e.to_string()))?;
        let mut store = self.store();
        let tx = store.transaction()?;
        tx.update_instance(guid, inst.status.as_str(), &state, inst.status.is_ended().then_some(now.as_str()))?;
        record_effects(&tx, guid, &inst, &effects, &now)?;
        tx.commit()?;
        Ok((engine, inst))
    }

    fn signal(&self, data: &Value, user: &Caller) -> Outcome {
        let guid = text(data, "instanceGuid")?;
        // `callbackData` is the current name; `signalPayload` the legacy one (seed 002).
        let payload = match (data.get("callbackData"), data.get("signalPayload")) {
            (Some(v), _) if !v.is_null() => v.clone(),
            (_, Some(v)) if !v.is_null() => v.clone(),
            _ => json!({}),
        };
        let task_id = data.get("taskId").and_then(Value::as_str).map(str::to_string);
        let before = self.store().instance(guid).ok();
        let (engine, inst) = self.step(guid, Event::CompleteTask { task_id: task_id.clone(), data: payload.clone() }, user)?;
        let task_type = before
            .and_then(|r| serde_json::from_str::<Instance>(&r.state).ok())
            .and_then(|old| {
                engine.waiting(&old).into_iter().find(|w| task_id.as_deref().is_none_or(|t| t == w.task_id)).map(|w| w.task_type)
            })
            .unwrap_or("userTask");
        let result_var = if task_type == "receiveTask" { "lastReceiveTaskResult" } else { "lastUserTaskResult" };
        let vars = engine.variables(&inst);
        Ok((
            "Task completed".into(),
            json!({"instanceGuid": guid, "status": inst.status.as_str(), "taskType": task_type,
                   "result": vars.get(result_var).cloned().unwrap_or(payload), "waiting": engine.waiting(&inst)}),
        ))
    }

    fn return_callback(&self, data: &Value, user: &Caller) -> Outcome {
        let key = text(data, "correlationKey")?;
        let result = data.get("result").cloned().unwrap_or(json!({}));
        let row = self
            .store()
            .pending_callback(key)?
            .ok_or_else(|| Fail::Business(format!("no pending callback for correlation key '{key}' (unknown, already completed or expired)")))?;
        let guid = row.parent_instance_id.clone();
        let (_, inst) = self.step(&guid, Event::Callback { correlation_key: key.into(), data: result }, user)?;
        Ok((
            "Callback processed".into(),
            json!({"instanceGuid": guid, "status": inst.status.as_str(), "callbackStatus": "Completed"}),
        ))
    }

    fn cancel(&self, data: &Value, user: &Caller) -> Outcome {
        let guid = text(data, "instanceGuid")?;
        let reason = data.get("reason").and_then(Value::as_str).map(str::to_string);
        let (_, inst) = self.step(guid, Event::Cancel { reason }, user)?;
        Ok(("Process instance cancelled".into(), json!({"instanceGuid": guid, "status": inst.status.as_str()})))
    }

    fn get_instance(&self, data: &Value) -> Outcome {
        let guid = text(data, "instanceGuid")?;
        let row = self.store().instance(guid).map_err(|_| Fail::Field("instanceGuid", format!("no process instance '{guid}'")))?;
        let engine = self.engine(row.process_definition_id)?;
        let inst: Instance = serde_json::from_str(&row.state).map_err(|e| Fail::Business(format!("stored state unreadable: {e}")))?;
        let key = engine.deployment.processes.get(inst.process as usize).map(|p| p.id.clone());
        Ok((
            "OK".into(),
            json!({"instanceGuid": guid, "processDefinitionId": row.process_definition_id, "processKey": key,
                   "status": row.status, "variables": engine.variables(&inst), "waiting": engine.waiting(&inst),
                   "incidents": engine.incidents(&inst), "startedAt": row.started_at, "endedAt": row.ended_at}),
        ))
    }

    fn list_instances(&self, data: &Value) -> Outcome {
        let page = data.get("pageNumber").and_then(Value::as_i64).unwrap_or(1);
        let size = data.get("pageSize").and_then(Value::as_i64).unwrap_or(20);
        let (rows, total) = self.store().instances(
            data.get("status").and_then(Value::as_str),
            data.get("processKey").and_then(Value::as_str),
            page,
            size,
        )?;
        let items: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({"instanceGuid": r.instance_guid, "processDefinitionId": r.process_definition_id, "status": r.status,
                       "businessKey": r.business_key, "correlationId": r.correlation_id, "startedAt": r.started_at, "endedAt": r.ended_at})
            })
            .collect();
        Ok(("OK".into(), json!({"items": items, "totalCount": total})))
    }

    fn history(&self, data: &Value) -> Outcome {
        let guid = text(data, "instanceGuid")?;
        self.store().instance(guid).map_err(|_| Fail::Field("instanceGuid", format!("no process instance '{guid}'")))?;
        Ok(("OK".into(), json!(self.store().history(guid)?)))
    }

    fn retry(&self, data: &Value, user: &Caller) -> Outcome {
        let guid = text(data, "instanceGuid")?;
        let variables = object(data, "variables")?;
        let (_, inst) = self.step(guid, Event::Retry { variables }, user)?;
        Ok(("Incident retried".into(), json!({"instanceGuid": guid, "status": inst.status.as_str()})))
    }

    fn load(&self, row: &InstanceRow) -> Result<(Arc<Engine>, Instance), Fail> {
        let engine = self.engine(row.process_definition_id)?;
        let inst: Instance = serde_json::from_str(&row.state).map_err(|e| Fail::Business(format!("stored state unreadable: {e}")))?;
        Ok((engine, inst))
    }

    /// GetTaskFormQuery (seed 002): the form of the waiting userTask or form-mode receiveTask.
    fn task_form(&self, data: &Value) -> Outcome {
        let row = match (data.get("instanceGuid").and_then(Value::as_str), data.get("correlationId").and_then(Value::as_str)) {
            (Some(g), _) => self.store().instance(g).map_err(|_| Fail::Field("instanceGuid", format!("no process instance '{g}'")))?,
            (None, Some(c)) => self.store().instance_by_correlation_id(c).map_err(|e| Fail::Field("correlationId", e.to_string()))?,
            _ => return Err(Fail::Field("instanceGuid", "instanceGuid or correlationId is required".into())),
        };
        let (engine, inst) = self.load(&row)?;
        let task_id = data.get("taskId").and_then(Value::as_str);
        let waiting = engine.waiting(&inst);
        let task = waiting
            .iter()
            .filter(|w| w.task_type == "userTask" || (w.task_type == "receiveTask" && w.form_key.is_some()))
            .find(|w| task_id.is_none_or(|t| t == w.task_id))
            .ok_or_else(|| Fail::Business(format!("instance {} has no waiting form task{}", row.instance_guid, task_id.map(|t| format!(" '{t}'")).unwrap_or_default())))?;
        let def = self.store().definition(row.process_definition_id, false)?;
        let form_json = task.form_key.as_ref().and_then(|k| def.forms.get(k)).cloned().unwrap_or(Value::Null);
        Ok((
            "OK".into(),
            json!({"status": "SUCCESS", "taskType": task.task_type, "taskId": task.task_id, "formKey": task.form_key,
                   "formJson": form_json, "context": engine.variables(&inst),
                   "metadata": {"instanceGuid": row.instance_guid, "taskName": task.name, "responsibleUser": task.responsible_user,
                                "responsibleTeam": task.responsible_team}}),
        ))
    }

    /// GetTaskListQuery: open form tasks a user (or team) may work on.
    fn task_list(&self, data: &Value) -> Outcome {
        let user = data.get("userName").and_then(Value::as_str);
        let team = data.get("team").and_then(Value::as_str);
        let mut items = Vec::new();
        // Bind first: a guard in the `for` expression would be held through the loop body.
        let rows = self.store().open_instances()?;
        for row in rows {
            let Ok((engine, inst)) = self.load(&row) else { continue };
            for w in engine.waiting(&inst) {
                if !(w.task_type == "userTask" || (w.task_type == "receiveTask" && w.form_key.is_some())) {
                    continue;
                }
                let listed = |v: &Option<String>, who: &str| v.as_deref().is_some_and(|l| l.split(',').any(|x| x.trim() == who));
                let open_to_all = w.responsible_user.is_none() && w.responsible_team.is_none();
                let mine = user.is_some_and(|u| listed(&w.responsible_user, u)) || team.is_some_and(|t| listed(&w.responsible_team, t));
                if open_to_all || mine || (user.is_none() && team.is_none()) {
                    items.push(json!({"instanceGuid": row.instance_guid, "taskId": w.task_id, "taskType": w.task_type, "name": w.name,
                                      "formKey": w.form_key, "responsibleUser": w.responsible_user, "responsibleTeam": w.responsible_team}));
                }
            }
        }
        let total = items.len();
        Ok(("OK".into(), json!({"items": items, "totalCount": total})))
    }

    /// CorrelateMessageCommand: the first waiting instance that accepts the message.
    fn correlate(&self, data: &Value, user: &Caller) -> Outcome {
        let name = text(data, "messageName")?;
        let key = data.get("correlationKey").and_then(Value::as_str).map(str::to_string);
        let variables = object(data, "variables")?;
        // Bind first: a guard in the `for` expression would be held through the loop body.
        let rows = self.store().open_instances()?;
        for row in rows {
            let event = Event::Message { name: name.into(), correlation_key: key.clone(), variables: variables.clone() };
            if let Ok((_, inst)) = self.step(&row.instance_guid, event, user) {
                return Ok((
                    "Message correlated".into(),
                    json!({"correlated": true, "buffered": false, "instanceGuid": row.instance_guid, "status": inst.status.as_str()}),
                ));
            }
        }
        // Buffering with ttlSeconds arrives with the message buffer table.
        Ok(("No instance waits for this message".into(), json!({"correlated": false, "buffered": false})))
    }

    /// BroadcastSignalCommand: every waiting instance that listens for the signal.
    fn broadcast(&self, data: &Value, user: &Caller) -> Outcome {
        let name = text(data, "signalName")?;
        let variables = object(data, "variables")?;
        let mut resumed = Vec::new();
        // Bind first: a guard in the `for` expression would be held through the loop body.
        let rows = self.store().open_instances()?;
        for row in rows {
            let event = Event::Signal { name: name.into(), variables: variables.clone() };
            if self.step(&row.instance_guid, event, user).is_ok() {
                resumed.push(row.instance_guid);
            }
        }
        Ok(("Signal broadcast".into(), json!({"instances": resumed})))
    }

    fn callbacks(&self, data: &Value) -> Outcome {
        let rows = self.store().callbacks(
            data.get("status").and_then(Value::as_str),
            data.get("instanceGuid").and_then(Value::as_str),
        )?;
        Ok(("OK".into(), json!(rows)))
    }
}

/// Writes what an engine step produced: callback rows and history, in the caller's transaction.
fn record_effects(tx: &baton_store::Tx, guid: &str, inst: &Instance, effects: &[Effect], now: &str) -> Result<(), Fail> {
    for e in effects {
        match e {
            Effect::CallbackRegistered { task_id, correlation_key, message, timeout_minutes, webhook_url, .. } => {
                let state = serde_json::to_string(inst).ok();
                tx.register_callback(
                    guid,
                    task_id,
                    correlation_key.as_deref(),
                    message.as_deref(),
                    webhook_url.as_deref(),
                    *timeout_minutes,
                    state.as_deref(),
                    now,
                )?;
            }
            Effect::CallbackCompleted { task_id, result, .. } => {
                tx.close_callback(guid, task_id, "Completed", Some(&result.to_string()), now)?;
            }
            Effect::CallbackClosed { task_id, status, .. } => {
                let status = if *status == "Expired" { "Expired" } else { "Failed" };
                tx.close_callback(guid, task_id, status, None, now)?;
            }
            _ => {}
        }
        let kind = serde_json::to_value(e).ok().and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_string));
        tx.history(guid, now, kind.as_deref().unwrap_or("effect"), None, serde_json::to_string(e).ok().as_deref())?;
    }
    Ok(())
}

/// Opens a runtime on the system clock with full durability (convenience for binaries).
pub fn open_default(path: &Path) -> Result<Runtime, StoreError> {
    Runtime::open(path, Durability::Full, Arc::new(SystemClock))
}
