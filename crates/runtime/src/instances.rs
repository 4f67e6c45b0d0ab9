//! Process definitions and instances: deploy, start, signal, cancel, retry, and their queries,
//! including the inbox (GetTaskListQuery) and the task form (GetTaskFormQuery).

use crate::{
    object, opt_text, paging, text, Answer, Caller, Extra, Fail, Indexed, Runtime, Target,
};
use baton_engine::{Engine, Event, Instance, Severity};
use baton_store::{InstanceRow, StoreError};
use serde_json::{json, Value};
use std::sync::Arc;

impl Runtime {
    pub(crate) fn deploy(&self, data: &Value) -> Answer {
        let xml = text(data, "bpmnXml")?;
        let dep = baton_engine::parse(&[("bpmnXml", xml)]).map_err(|e| {
            Fail::Field(
                "bpmnXml",
                format!("line {}, column {}: {}", e.line, e.column, e.message),
            )
        })?;
        let (engine, warnings) = Engine::new(dep).map_err(|problems| {
            let first = problems
                .iter()
                .find(|p| p.severity == Severity::Error)
                .or(problems.first());
            let msg = first
                .map(|p| match &p.element_id {
                    Some(id) => format!(
                        "line {}, column {}: {} (element {id})",
                        p.line, p.column, p.message
                    ),
                    None => format!("line {}, column {}: {}", p.line, p.column, p.message),
                })
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
            Some(_) => {
                return Err(Fail::Field(
                    "forms",
                    "forms must map form keys to form JSON".into(),
                ))
            }
        };
        let name = opt_text(data, "name")?;
        let mut warnings = warnings;
        let ((id, version), earliest) = {
            let mut store = self.writer();
            let tx = store.transaction()?;
            let r = tx.deploy(&key, name, xml, &forms, &self.now())?;
            let (timer_warnings, earliest) = self.schedule_starts(&tx, &engine, r.0, &key)?;
            warnings.extend(timer_warnings);
            tx.commit()?;
            (r, earliest)
        };
        self.wake_for(earliest.as_deref());
        self.engines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, Arc::new(engine));
        self.latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), id);
        Ok((
            "Process definition deployed".into(),
            json!({"processDefinitionId": id, "processKey": key, "version": version, "warnings": warnings}),
        ))
    }

    /// The definition a command names by `processDefinitionId`, or by `processKey` (its newest version).
    pub(crate) fn definition_id(&self, data: &Value) -> Result<i64, Fail> {
        match (data.get("processDefinitionId"), data.get("processKey")) {
            (Some(v), _) if !v.is_null() => {
                let id = v.as_i64().ok_or_else(|| {
                    Fail::Field(
                        "processDefinitionId",
                        "processDefinitionId must be an integer".into(),
                    )
                })?;
                if self
                    .engines
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .contains_key(&id)
                {
                    return Ok(id);
                }
                self.store()
                    .definition(id, false)
                    .map(|d| d.process_definition_id)
                    .map_err(|_| {
                        Fail::Field("processDefinitionId", format!("no process definition {id}"))
                    })
            }
            (_, Some(Value::String(k))) => {
                if let Some(id) = self.latest.lock().unwrap_or_else(|p| p.into_inner()).get(k) {
                    return Ok(*id);
                }
                let id = self
                    .store()
                    .latest_definition(k)
                    .map(|d| d.process_definition_id)
                    .map_err(|_| {
                        Fail::Field(
                            "processKey",
                            format!("no process definition with key '{k}'"),
                        )
                    })?;
                self.latest
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(k.clone(), id);
                Ok(id)
            }
            (_, Some(v)) if !v.is_null() => Err(Fail::Field(
                "processKey",
                "processKey must be a string".into(),
            )),
            _ => Err(Fail::Field(
                "processDefinitionId",
                "processDefinitionId or processKey is required".into(),
            )),
        }
    }

    pub(crate) fn get_definition(&self, data: &Value) -> Answer {
        let id = self.definition_id(data)?;
        let d = self.store().definition(id, true)?;
        Ok(("OK".into(), serde_json::to_value(d).unwrap_or(Value::Null)))
    }

    pub(crate) fn list_definitions(&self, data: &Value) -> Answer {
        let (page, size) = paging(data)?;
        let (items, total) = self
            .store()
            .definitions(opt_text(data, "processKey")?, page, size)?;
        Ok(("OK".into(), json!({"items": items, "totalCount": total})))
    }

    pub(crate) fn start(&self, data: &Value, caller: &Caller) -> Answer {
        let def = self.definition_id(data)?;
        let mut vars = object(data, "variables")?;
        if vars.is_empty() {
            vars = object(data, "context")?;
        }
        let business_key = opt_text(data, "businessKey")?.map(str::to_string);
        let correlation_id = opt_text(data, "correlationId")?.map(str::to_string);
        let subs = crate::events::config_subscriptions(data)?;
        let extra = if subs.is_empty() {
            Extra::None
        } else {
            // From now on steps look for subscriptions (this instance has its own).
            self.events_on
                .store(true, std::sync::atomic::Ordering::Release);
            Extra::Subscribe(subs)
        };
        let (guid, engine, inst) =
            self.start_instance(def, None, vars, business_key, correlation_id, caller, extra)?;
        Ok((
            "Process instance started".into(),
            json!({"instanceGuid": guid, "status": inst.status.as_str(), "waiting": engine.waiting(&inst)}),
        ))
    }

    /// Creates and commits a new instance of a definition, at its default start event or at
    /// `start_event` (a message or signal start). Answers its guid, engine and state.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start_instance(
        &self,
        def: i64,
        start_event: Option<&str>,
        vars: serde_json::Map<String, Value>,
        business_key: Option<String>,
        correlation_id: Option<String>,
        caller: &Caller,
        extra: Extra,
    ) -> Result<(String, Arc<Engine>, Instance), Fail> {
        let engine = self.engine(def)?;
        let (inst, effects) = engine.start_at(None, start_event, vars, &self.ctx(caller))?;
        let row = InstanceRow {
            instance_guid: uuid::Uuid::new_v4().to_string(),
            process_definition_id: def,
            status: String::new(),
            state: String::new(),
            business_key,
            correlation_id,
            started_at: self.now(),
            ended_at: None,
            rev: 0,
        };
        let guid = row.instance_guid.clone();
        let inst = self.persist(
            Target::Insert(row),
            engine.clone(),
            inst,
            effects,
            Indexed::default(),
            caller,
            extra,
        )?;
        Ok((guid, engine, inst))
    }

    /// The newest version of every deployed process key, with its engine.
    pub(crate) fn latest_engines(&self) -> Result<Vec<(i64, Arc<Engine>)>, Fail> {
        let defs = self.store().latest_definitions()?;
        defs.iter()
            .map(|d| {
                Ok((
                    d.process_definition_id,
                    self.engine(d.process_definition_id)?,
                ))
            })
            .collect()
    }

    pub(crate) fn signal(&self, data: &Value, caller: &Caller) -> Answer {
        let guid = text(data, "instanceGuid")?;
        // `callbackData` is the current name; `signalPayload` the legacy one (seed 002).
        let payload = match (data.get("callbackData"), data.get("signalPayload")) {
            (Some(v), _) if !v.is_null() => v.clone(),
            (_, Some(v)) if !v.is_null() => v.clone(),
            _ => json!({}),
        };
        if !payload.is_object() {
            let field = if data.get("callbackData").is_some_and(|v| !v.is_null()) {
                "callbackData"
            } else {
                "signalPayload"
            };
            return Err(Fail::Field(
                field,
                format!("{field} must be a JSON object (the submitted form)"),
            ));
        }
        let task_id = opt_text(data, "taskId")?.map(str::to_string);
        let s = self.step(
            guid,
            Event::CompleteTask {
                task_id: task_id.clone(),
                data: payload.clone(),
            },
            caller,
        )?;
        let task_type = s
            .before
            .iter()
            .find(|w| {
                task_id.as_deref().is_none_or(|t| t == w.task_id)
                    && (w.task_type == "userTask" || w.task_type == "receiveTask")
            })
            .map(|w| w.task_type)
            .unwrap_or("userTask");
        let result_var = if task_type == "receiveTask" {
            "lastReceiveTaskResult"
        } else {
            "lastUserTaskResult"
        };
        let vars = s.engine.variables(&s.inst);
        Ok((
            "Task completed".into(),
            json!({"instanceGuid": guid, "status": s.inst.status.as_str(), "taskType": task_type,
                   "result": vars.get(result_var).cloned().unwrap_or(payload), "waiting": s.engine.waiting(&s.inst)}),
        ))
    }

    pub(crate) fn cancel(&self, data: &Value, caller: &Caller) -> Answer {
        let guid = text(data, "instanceGuid")?;
        let reason = opt_text(data, "reason")?.map(str::to_string);
        let s = self.step(guid, Event::Cancel { reason }, caller)?;
        Ok((
            "Process instance cancelled".into(),
            json!({"instanceGuid": guid, "status": s.inst.status.as_str()}),
        ))
    }

    pub(crate) fn retry(&self, data: &Value, caller: &Caller) -> Answer {
        let guid = text(data, "instanceGuid")?;
        let variables = object(data, "variables")?;
        let s = self.step(guid, Event::Retry { variables }, caller)?;
        Ok((
            "Incident retried".into(),
            json!({"instanceGuid": guid, "status": s.inst.status.as_str(), "incidents": s.engine.incidents(&s.inst)}),
        ))
    }

    pub(crate) fn get_instance(&self, data: &Value) -> Answer {
        let guid = text(data, "instanceGuid")?;
        let row = self.instance_row(guid)?;
        let (engine, inst) = self.load(&row)?;
        let key = engine
            .deployment
            .processes
            .get(inst.process as usize)
            .map(|p| p.id.clone());
        Ok((
            "OK".into(),
            json!({"instanceGuid": guid, "processDefinitionId": row.process_definition_id, "processKey": key,
                   "status": row.status, "businessKey": row.business_key, "correlationId": row.correlation_id,
                   "variables": engine.variables(&inst), "waiting": engine.waiting(&inst),
                   "incidents": engine.incidents(&inst), "path": engine.path(&inst),
                   "startedAt": row.started_at, "endedAt": row.ended_at}),
        ))
    }

    pub(crate) fn list_instances(&self, data: &Value) -> Answer {
        let (page, size) = paging(data)?;
        let status = opt_text(data, "status")?;
        if let Some(s) = status {
            if !["RUNNING", "WAITING", "COMPLETED", "FAILED", "CANCELLED"].contains(&s) {
                return Err(Fail::Field("status", format!("status must be RUNNING, WAITING, COMPLETED, FAILED or CANCELLED, not '{s}'")));
            }
        }
        let (rows, total) =
            self.store()
                .instances(status, opt_text(data, "processKey")?, page, size)?;
        let items: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({"instanceGuid": r.instance_guid, "processDefinitionId": r.process_definition_id, "status": r.status,
                       "businessKey": r.business_key, "correlationId": r.correlation_id, "startedAt": r.started_at, "endedAt": r.ended_at})
            })
            .collect();
        Ok(("OK".into(), json!({"items": items, "totalCount": total})))
    }

    pub(crate) fn history(&self, data: &Value) -> Answer {
        let guid = text(data, "instanceGuid")?;
        self.instance_row(guid)?;
        let rows = self.store().history(guid)?;
        // Expand the rows that hold runs of element events, and number the events 1, 2, ...
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            if row.kind == crate::HISTORY_ELEMENTS {
                let list: Vec<(String, String)> = row
                    .data
                    .as_deref()
                    .and_then(|d| serde_json::from_str(d).ok())
                    .unwrap_or_default();
                for (kind, element) in list {
                    events.push(
                        json!({"at": row.at, "kind": kind, "elementId": element, "data": null}),
                    );
                }
            } else {
                events.push(json!({"at": row.at, "kind": row.kind, "elementId": row.element_id, "data": row.data}));
            }
        }
        for (i, e) in events.iter_mut().enumerate() {
            e["seq"] = json!(i + 1);
        }
        Ok(("OK".into(), Value::Array(events)))
    }

    pub(crate) fn incidents(&self, data: &Value) -> Answer {
        let open_only = match data.get("openOnly") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(Fail::Field(
                    "openOnly",
                    "openOnly must be true or false".into(),
                ))
            }
        };
        let rows = self.store().incidents(open_only)?;
        Ok((
            "OK".into(),
            json!({"items": rows, "totalCount": rows.len()}),
        ))
    }

    /// GetTaskFormQuery (seed 002): the form of the waiting userTask or form-mode receiveTask.
    pub(crate) fn task_form(&self, data: &Value) -> Answer {
        let row = match (
            opt_text(data, "instanceGuid")?,
            opt_text(data, "correlationId")?,
        ) {
            (Some(g), _) => self.instance_row(g)?,
            (None, Some(c)) => self
                .store()
                .instance_by_correlation_id(c)
                .map_err(|e| match e {
                    StoreError::NotFound(m) => Fail::Field("correlationId", m),
                    other => other.into(),
                })?,
            _ => {
                return Err(Fail::Field(
                    "instanceGuid",
                    "instanceGuid or correlationId is required".into(),
                ))
            }
        };
        let (engine, inst): (Arc<Engine>, Instance) = self.load(&row)?;
        let task_id = opt_text(data, "taskId")?;
        let waiting = engine.waiting(&inst);
        let task = waiting
            .iter()
            .filter(|w| {
                w.task_type == "userTask" || (w.task_type == "receiveTask" && w.form_key.is_some())
            })
            .find(|w| task_id.is_none_or(|t| t == w.task_id))
            .ok_or_else(|| {
                Fail::Business(format!(
                    "instance {} has no waiting form task{}",
                    row.instance_guid,
                    task_id.map(|t| format!(" '{t}'")).unwrap_or_default()
                ))
            })?;
        let def = self.store().definition(row.process_definition_id, false)?;
        let form_json = task
            .form_key
            .as_ref()
            .and_then(|k| def.forms.get(k))
            .cloned()
            .unwrap_or(Value::Null);
        Ok((
            "OK".into(),
            json!({"status": "SUCCESS", "taskType": task.task_type, "taskId": task.task_id, "formKey": task.form_key,
                   "formJson": form_json, "context": engine.variables(&inst),
                   "metadata": {"instanceGuid": row.instance_guid, "taskName": task.name, "responsibleUser": task.responsible_user,
                                "responsibleTeam": task.responsible_team}}),
        ))
    }

    /// GetTaskListQuery, the inbox: open form tasks a user may work on. A non-administrator sees
    /// their own (tasks open to everyone, assigned to them or to one of their teams); an
    /// administrator sees everything, or what `userName` / `team` may work on.
    pub(crate) fn task_list(&self, data: &Value, caller: &Caller) -> Answer {
        let (page, size) = paging(data)?;
        let user_name = opt_text(data, "userName")?;
        let team = opt_text(data, "team")?;
        let who: Option<(String, Vec<String>)> = match (&caller.user, caller.admin) {
            (Some(u), false) => Some((u.name.clone(), u.teams.clone())),
            _ => match (user_name, team) {
                (None, None) => None,
                (u, t) => {
                    let mut teams: Vec<String> = t.map(|t| vec![t.to_string()]).unwrap_or_default();
                    if let Some(u) = u {
                        let found = self.store().user(u)?;
                        if let Some(row) = found {
                            teams.extend(row.teams);
                        }
                    }
                    Some((u.unwrap_or_default().to_string(), teams))
                }
            },
        };
        let (rows, total) = self.store().user_tasks(
            who.as_ref().map(|(u, t)| (u.as_str(), t.as_slice())),
            page,
            size,
        )?;
        Ok(("OK".into(), json!({"items": rows, "totalCount": total})))
    }
}
