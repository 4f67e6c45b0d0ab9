//! Process definitions and instances: deploy, start, signal, cancel, retry, and their queries,
//! including the inbox (GetTaskListQuery) and the task form (GetTaskFormQuery).

use crate::commands::{self as c, input, output, FieldError, Problem, ProblemsData};
use crate::{Answer, Caller, Error, Extra, Indexed, Runtime, Target};
use baton_engine::{Engine, Event, Instance, Severity};
use baton_store::{InstanceRow, StoreError};
use serde_json::{json, Value};
use std::sync::Arc;

/// A model that could not be deployed or read: the first error in `errors` (as before), and
/// every problem in `data.problems` so an editor can mark each element.
fn invalid_model(message: String, problems: Vec<Problem>) -> Error {
    let data = serde_json::to_value(ProblemsData { problems }).unwrap_or(Value::Null);
    Error::fields(
        vec![FieldError {
            field: "bpmnXml".into(),
            message,
        }],
        data,
    )
}

/// A text that is not BPMN (malformed XML, not a definitions file, ...).
fn unreadable_model(e: &baton_engine::ParseError) -> Error {
    invalid_model(
        format!("line {}, column {}: {}", e.line, e.column, e.message),
        vec![Problem::from(e)],
    )
}

impl Runtime {
    pub(crate) fn deploy(&self, data: &Value) -> Answer {
        let data: c::DeployProcessDefinitionInput = input(data)?;
        let xml = data.bpmn_xml.as_str();
        let dep = baton_engine::parse(&[("bpmnXml", xml)]).map_err(|e| unreadable_model(&e))?;
        let (engine, warnings) = self.build_engine(dep).map_err(|problems| {
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
            invalid_model(msg, problems.iter().map(Problem::from).collect())
        })?;
        let key = engine
            .deployment
            .processes
            .iter()
            .find(|p| p.is_executable)
            .map(|p| p.id.clone())
            .ok_or_else(|| {
                invalid_model(
                    "no executable process".into(),
                    warnings.iter().map(Problem::from).collect(),
                )
            })?;
        let forms = Value::Object(data.forms.unwrap_or_default());
        let name = data.name.as_deref();
        let mut warnings = warnings;
        let (id, version) =
            self.commit_definition(&key, name, xml, &forms, engine, &mut warnings)?;
        output(
            "Process definition deployed",
            &c::DeployProcessDefinitionOutput {
                process_definition_id: id,
                process_key: key,
                version,
                warnings: warnings.iter().map(Problem::from).collect(),
            },
        )
    }

    /// Stores a definition of `key` (the next version), schedules its timer start events
    /// (their warnings added to `warnings`) and makes its engine the latest for the key.
    /// Answers its id and version.
    pub(crate) fn commit_definition(
        &self,
        key: &str,
        name: Option<&str>,
        xml: &str,
        forms: &Value,
        engine: Engine,
        warnings: &mut Vec<baton_engine::Problem>,
    ) -> Result<(i64, i64), Error> {
        let ((id, version), earliest) = {
            let mut store = self.writer();
            let tx = store.transaction()?;
            let r = tx.deploy(key, name, xml, forms, &self.now())?;
            let (timer_warnings, earliest) = self.schedule_starts(&tx, &engine, r.0, key)?;
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
            .insert(key.to_string(), id);
        Ok((id, version))
    }

    /// ValidateProcessDefinitionQuery: what `baton lint --json` says about a model text, without
    /// deploying it. A text that is not BPMN is a field error on `bpmnXml` with its line and
    /// column, and `data.problems` holding the same.
    pub(crate) fn validate(&self, data: &Value) -> Answer {
        let data: c::ValidateProcessDefinitionInput = input(data)?;
        let report = c::lint_with("bpmnXml", &data.bpmn_xml, &self.limits())
            .map_err(|e| unreadable_model(&e))?;
        let errors = report
            .problems
            .iter()
            .filter(|p| p.severity == c::Severity::Error)
            .count();
        let warnings = report.problems.len() - errors;
        let message = if report.problems.is_empty() {
            "No problems".to_string()
        } else {
            format!("{errors} error(s), {warnings} warning(s)")
        };
        output(message, &report)
    }

    /// The definition a command names by `processDefinitionId`, or by `processKey` (its newest version).
    pub(crate) fn definition_id(&self, data: &Value) -> Result<i64, Error> {
        let r: c::DefinitionRef = input(data)?;
        self.resolve_definition(r.process_definition_id, r.process_key.as_deref())
    }

    /// The definition `id` names, or else the newest version of `key`.
    pub(crate) fn resolve_definition(
        &self,
        id: Option<i64>,
        key: Option<&str>,
    ) -> Result<i64, Error> {
        match (id, key) {
            (Some(id), _) => {
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
                    .map_err(|e| {
                        Error::lookup(
                            e,
                            "processDefinitionId",
                            format!("no process definition {id}"),
                        )
                    })
            }
            (None, Some(k)) => {
                if let Some(id) = self.latest.lock().unwrap_or_else(|p| p.into_inner()).get(k) {
                    return Ok(*id);
                }
                let id = self
                    .store()
                    .latest_definition(k)
                    .map(|d| d.process_definition_id)
                    .map_err(|e| {
                        Error::lookup(
                            e,
                            "processKey",
                            format!("no process definition with key '{k}'"),
                        )
                    })?;
                self.latest
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(k.to_string(), id);
                Ok(id)
            }
            (None, None) => Err(Error::field(
                "processDefinitionId",
                "processDefinitionId or processKey is required".into(),
            )),
        }
    }

    pub(crate) fn get_definition(&self, data: &Value) -> Answer {
        let id = self.definition_id(data)?;
        let d = self.store().definition(id, true)?;
        output("OK", &c::ProcessDefinition::from(d))
    }

    pub(crate) fn list_definitions(&self, data: &Value) -> Answer {
        let data: c::GetProcessDefinitionListInput = input(data)?;
        let (items, total) = self.store().definitions(
            data.process_key.as_deref(),
            data.page_number.unwrap_or(1),
            data.page_size.unwrap_or(20),
        )?;
        output(
            "OK",
            &c::Page {
                items: items
                    .into_iter()
                    .map(c::ProcessDefinitionSummary::from)
                    .collect(),
                total_count: total,
            },
        )
    }

    pub(crate) fn start(&self, data: &Value, caller: &Caller) -> Answer {
        crate::ready(self.start_in(crate::Wait::Thread, data, caller))
    }

    /// `start`, waiting for its commit as `wait` says.
    pub(crate) async fn start_in(
        &self,
        wait: crate::Wait,
        data: &Value,
        caller: &Caller,
    ) -> Answer {
        let data: c::StartProcessInstanceInput = input(data)?;
        let def =
            self.resolve_definition(data.process_definition_id, data.process_key.as_deref())?;
        let vars = match data.variables {
            Some(v) if !v.is_empty() => v,
            _ => data.context.unwrap_or_default(),
        };
        let config = json!({"config": data.config});
        let subs = crate::events::config_subscriptions(&config)?;
        self.check_outbound_subscriptions(&subs, caller)?;
        let extra = if subs.is_empty() {
            Extra::None
        } else {
            // From now on steps look for subscriptions (this instance has its own).
            self.events_on
                .store(true, std::sync::atomic::Ordering::Release);
            Extra::Subscribe(subs)
        };
        let (guid, engine, inst) = self
            .start_process_instance_in(
                wait,
                def,
                None,
                None,
                vars,
                data.business_key,
                data.correlation_id,
                caller,
                extra,
            )
            .await?;
        output(
            "Process instance started",
            &c::StartProcessInstanceOutput {
                instance_guid: guid,
                status: inst.status.as_str().into(),
                waiting: c::waiting(engine.waiting(&inst)),
            },
        )
    }

    /// Creates and commits a new instance of a definition's `process` (None: its default one),
    /// at its default start event or at `start_event` (a message or signal start). Answers its
    /// guid, engine and state.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start_process_instance(
        &self,
        def: i64,
        process: Option<&str>,
        start_event: Option<&str>,
        vars: serde_json::Map<String, Value>,
        business_key: Option<String>,
        correlation_id: Option<String>,
        caller: &Caller,
        extra: Extra,
    ) -> Result<(String, Arc<Engine>, Instance), Error> {
        crate::ready(self.start_process_instance_in(
            crate::Wait::Thread,
            def,
            process,
            start_event,
            vars,
            business_key,
            correlation_id,
            caller,
            extra,
        ))
    }

    /// `start_process_instance`, waiting for its commit as `wait` says.
    #[allow(clippy::too_many_arguments)]
    async fn start_process_instance_in(
        &self,
        wait: crate::Wait,
        def: i64,
        process: Option<&str>,
        start_event: Option<&str>,
        vars: serde_json::Map<String, Value>,
        business_key: Option<String>,
        correlation_id: Option<String>,
        caller: &Caller,
        extra: Extra,
    ) -> Result<(String, Arc<Engine>, Instance), Error> {
        let engine = self.engine(def)?;
        let vars = crate::correlation::initiated_by(vars, caller);
        // On an async worker, a start whose script runs long is computed again on a blocking
        // thread (`inline`).
        let (inst, effects) = crate::inline::compute(|| {
            engine.start_at(process, start_event, vars, &self.ctx(caller))
        })??;
        // Every top-level start counts against its key's rate (engine_limits); counted once the
        // start is computed, so an attempt thrown away counts nothing.
        self.admit_start(def)?;
        let row = InstanceRow {
            // Time-ordered (UUID v7): new instances' index entries land next to each other,
            // so a group commit touches a few index pages instead of one per instance.
            instance_guid: uuid::Uuid::now_v7().to_string(),
            process_definition_id: def,
            status: String::new(),
            state: String::new(),
            business_key,
            correlation_id,
            started_at: self.now(),
            ended_at: None,
            rev: 0,
            started_by: caller.user.as_ref().map(|u| u.name.clone()),
        };
        let guid = row.instance_guid.clone();
        let inst = self
            .persist_in(
                wait,
                Target::Insert(row),
                engine.clone(),
                inst,
                effects,
                Indexed::default(),
                caller,
                extra,
            )
            .await?;
        Ok((guid, engine, inst))
    }

    /// The newest version of every deployed process key, with its engine.
    pub(crate) fn latest_engines(&self) -> Result<Vec<(i64, Arc<Engine>)>, Error> {
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
        crate::ready(self.signal_in(crate::Wait::Thread, data, caller))
    }

    /// `signal`, waiting for its commit as `wait` says.
    pub(crate) async fn signal_in(
        &self,
        wait: crate::Wait,
        data: &Value,
        caller: &Caller,
    ) -> Answer {
        let data: c::SignalProcessInstanceInput = input(data)?;
        let guid = data.instance_guid.as_str();
        // Whoever may read the instance may try; the engine then holds them to the task's
        // ResponsibleUser / ResponsibleTeam.
        self.check_read(caller, guid)?;
        // `callbackData` is the current name; `signalPayload` the legacy one (seed 002).
        let (field, payload) = match (data.callback_data, data.signal_payload) {
            (Some(v), _) => ("callbackData", v),
            (None, Some(v)) => ("signalPayload", v),
            (None, None) => ("callbackData", json!({})),
        };
        if !payload.is_object() {
            return Err(Error::field(
                field,
                format!("{field} must be a JSON object (the submitted form)"),
            ));
        }
        // Seed 002: a webhook-mode receive task is completed by ReturnCallbackCommand only.
        // The task is resolved here and named in the step, so the step cannot reach another.
        let task_id = crate::correlation::form_task(self, guid, data.task_id)?;
        let event = Event::CompleteTask {
            task_id: task_id.clone(),
            data: payload.clone(),
        };
        let s = self.step_in(wait, guid, event, caller, Extra::None).await?;
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
        output(
            "Task completed",
            &c::SignalProcessInstanceOutput {
                instance_guid: guid.to_string(),
                status: s.inst.status.as_str().into(),
                task_type: task_type.into(),
                result: vars.get(result_var).cloned().unwrap_or(payload),
                waiting: c::waiting(s.engine.waiting(&s.inst)),
            },
        )
    }

    pub(crate) fn cancel(&self, data: &Value, caller: &Caller) -> Answer {
        let data: c::CancelProcessInstanceInput = input(data)?;
        let guid = data.instance_guid.as_str();
        self.check_act(caller, guid, "cancel")?;
        let s = self.step(
            guid,
            Event::Cancel {
                reason: data.reason,
            },
            caller,
        )?;
        output(
            "Process instance cancelled",
            &c::CancelProcessInstanceOutput {
                instance_guid: guid.to_string(),
                status: s.inst.status.as_str().into(),
            },
        )
    }

    pub(crate) fn retry(&self, data: &Value, caller: &Caller) -> Answer {
        let data: c::RetryIncidentInput = input(data)?;
        let variables = data.variables.unwrap_or_default();
        let guid = data.instance_guid.filter(|g| !g.trim().is_empty());
        let guid = match (guid, data.process_definition_id, data.element_id) {
            (Some(guid), None, None) => guid,
            // The incident of a timer start event (see `schedule::start_failures`).
            (None, Some(def), Some(element)) => {
                let (guid, engine, inst) =
                    self.retry_start_incident(def, &element, variables, caller)?;
                return output(
                    "Incident retried",
                    &c::RetryIncidentOutput {
                        instance_guid: guid,
                        status: inst.status.as_str().into(),
                        incidents: c::incidents(engine.incidents(&inst)),
                    },
                );
            }
            (None, None, None) => {
                return Err(Error::field(
                    "instanceGuid",
                    "instanceGuid is required".into(),
                ))
            }
            (None, None, Some(_)) => return Err(Error::field(
                "processDefinitionId",
                "processDefinitionId is required with elementId (the timer start event whose incident is retried)".into(),
            )),
            (None, Some(_), None) => return Err(Error::field(
                "elementId",
                "elementId is required with processDefinitionId (the timer start event whose incident is retried)".into(),
            )),
            (Some(_), _, _) => return Err(Error::field(
                "instanceGuid",
                "give instanceGuid (an instance's incidents) or processDefinitionId and elementId (a timer start event's incident), not both".into(),
            )),
        };
        let guid = guid.as_str();
        self.check_act(caller, guid, "retry")?;
        // An internal incident (a step that failed inside Baton) is retried by `isolation`.
        let s = match self.retry_stopped(guid, &variables, caller)? {
            Some(s) => s,
            None => self.step(guid, Event::Retry { variables }, caller)?,
        };
        output(
            "Incident retried",
            &c::RetryIncidentOutput {
                instance_guid: guid.to_string(),
                status: s.inst.status.as_str().into(),
                incidents: c::incidents(s.engine.incidents(&s.inst)),
            },
        )
    }

    pub(crate) fn get_instance(&self, data: &Value, caller: &Caller) -> Answer {
        let data: c::InstanceRef = input(data)?;
        let guid = data.instance_guid.as_str();
        let row = self.readable_row(caller, guid)?;
        let (engine, inst) = self.load(&row)?;
        let key = engine
            .deployment
            .processes
            .get(inst.process as usize)
            .map(|p| p.id.clone());
        output(
            "OK",
            &c::ProcessInstance {
                instance_guid: guid.to_string(),
                process_definition_id: row.process_definition_id,
                process_key: key,
                status: row.status,
                business_key: row.business_key,
                correlation_id: row.correlation_id,
                variables: engine.variables(&inst),
                waiting: c::waiting(engine.waiting(&inst)),
                incidents: c::incidents(
                    self.with_internal_incident(guid, engine.incidents(&inst))?,
                ),
                path: crate::walked::walked(&self.store(), guid)?,
                started_at: row.started_at,
                ended_at: row.ended_at,
            },
        )
    }

    /// GetProcessInstanceListQuery: the instances the caller may read, newest first.
    pub(crate) fn list_instances(&self, data: &Value, caller: &Caller) -> Answer {
        let data: c::GetProcessInstanceListInput = input(data)?;
        let status = data.status.as_deref();
        if let Some(s) = status {
            if !["RUNNING", "WAITING", "COMPLETED", "FAILED", "CANCELLED"].contains(&s) {
                return Err(Error::field("status", format!("status must be RUNNING, WAITING, COMPLETED, FAILED or CANCELLED, not '{s}'")));
            }
        }
        let (rows, total) = self.store().instances(
            status,
            data.process_key.as_deref(),
            self.viewer_of(caller).as_ref(),
            data.page_number.unwrap_or(1),
            data.page_size.unwrap_or(20),
        )?;
        output(
            "OK",
            &c::Page {
                items: rows.iter().map(c::ProcessInstanceSummary::from).collect(),
                total_count: total,
            },
        )
    }

    pub(crate) fn history(&self, data: &Value, caller: &Caller) -> Answer {
        let data: c::InstanceRef = input(data)?;
        let guid = data.instance_guid.as_str();
        self.readable_row(caller, guid)?;
        let rows = self.store().history(guid)?;
        // The store expands rows that hold a whole step into one entry per event; number
        // them 1, 2, ...
        let mut events: Vec<c::HistoryEntry> = rows
            .into_iter()
            .map(|row| c::HistoryEntry {
                at: row.at,
                kind: row.kind,
                element_id: row.element_id,
                data: row.data,
                seq: 0,
            })
            .collect();
        for (i, e) in events.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        output("OK", &c::GetInstanceHistoryOutput(events))
    }

    /// GetIncidentListQuery: the incidents of the instances the caller may read, and those of
    /// timer start events (anyone's: start timers are listed for everyone), by id.
    pub(crate) fn incidents(&self, data: &Value, caller: &Caller) -> Answer {
        let open_only = match data.get("openOnly") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(Error::field(
                    "openOnly",
                    "openOnly must be true or false".into(),
                ))
            }
        };
        let rows = self
            .store()
            .incidents(open_only, self.viewer_of(caller).as_ref())?;
        let mut items: Vec<Value> = rows
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()
            .map_err(|e| Error::internal(format!("an incident could not be written: {e}")))?;
        let starts = self.start_incident_items(open_only)?;
        if !starts.is_empty() {
            items.extend(starts);
            items.sort_by_key(|i| i["id"].as_i64());
        }
        Ok((
            "OK".into(),
            json!({"items": items, "totalCount": items.len()}),
        ))
    }

    /// GetTaskFormQuery (seed 002): the form of the waiting userTask or form-mode receiveTask,
    /// with the instance's variables, for a caller who may read the instance and work on the
    /// task (its ResponsibleUser / ResponsibleTeam, as for submitting it). "Auth: Optional": a
    /// caller without a token loads, by instanceGuid, a form whose task has neither, while
    /// `publicForms` is on (docs/security.md "Public forms"). A failure still answers `data`
    /// with a `status` (`access::form_failure`).
    pub(crate) fn task_form(&self, data: &Value, caller: &Caller) -> Answer {
        self.load_task_form(data, caller)
            .map_err(crate::access::form_failure)
    }

    fn load_task_form(&self, data: &Value, caller: &Caller) -> Answer {
        let data: c::GetTaskFormInput = input(data)?;
        let anonymous = caller.user.is_none() && !caller.admin;
        self.check_anonymous_form(
            caller,
            data.instance_guid.is_none() && data.correlation_id.is_some(),
        )?;
        let row = match (
            data.instance_guid.as_deref(),
            data.correlation_id.as_deref(),
        ) {
            (Some(g), _) if anonymous => {
                self.readable_row(caller, g).map_err(|e| match e.code {
                    crate::Code::NotFound => self.no_public_form(g),
                    _ => e,
                })?
            }
            (Some(g), _) => self.readable_row(caller, g)?,
            (None, Some(c)) => {
                let missing = || {
                    Error::no_such(
                        "correlationId",
                        format!("no process instance with correlation id '{c}'"),
                    )
                };
                let row = self
                    .store()
                    .instance_by_correlation_id(c)
                    .map_err(|e| match e {
                        StoreError::NotFound(_) => missing(),
                        other => other.into(),
                    })?;
                // An instance the caller may not read is answered as no instance at all.
                if self.check_read(caller, &row.instance_guid).is_err() {
                    return Err(missing());
                }
                row
            }
            _ => {
                return Err(Error::field(
                    "instanceGuid",
                    "instanceGuid or correlationId is required".into(),
                ))
            }
        };
        let (engine, inst): (Arc<Engine>, Instance) = self.load(&row)?;
        let task_id = data.task_id.as_deref();
        let waiting = engine.waiting(&inst);
        let forms: Vec<_> = waiting
            .iter()
            .filter(|w| {
                w.task_type == "userTask" || (w.task_type == "receiveTask" && w.form_key.is_some())
            })
            .filter(|w| task_id.is_none_or(|t| t == w.task_id))
            .collect();
        let allowed = |w: &baton_engine::Waiting| {
            Self::may_load_form(
                caller,
                w.responsible_user.as_deref(),
                w.responsible_team.as_deref(),
            )
        };
        // Without a taskId, the first form this caller may work on (parallel tasks may be for
        // different people); the first of all only to say why it is refused.
        let task = match (forms.iter().copied().find(|w| allowed(w)), forms.first()) {
            (Some(t), _) => t,
            (None, Some(t)) => {
                return Err(self.form_refused(
                    caller,
                    &row.instance_guid,
                    &t.task_id,
                    t.responsible_user.as_deref(),
                    t.responsible_team.as_deref(),
                ))
            }
            (None, None) => {
                return Err(Error::rejected(format!(
                    "instance {} has no waiting form task{}",
                    row.instance_guid,
                    task_id.map(|t| format!(" '{t}'")).unwrap_or_default()
                )))
            }
        };
        let def = self.store().definition(row.process_definition_id, false)?;
        let form_json = task
            .form_key
            .as_ref()
            .and_then(|k| def.forms.get(k))
            .cloned()
            .unwrap_or(Value::Null);
        output(
            "OK",
            &c::GetTaskFormOutput {
                status: "SUCCESS".into(),
                task_type: task.task_type.into(),
                task_id: task.task_id.clone(),
                form_key: task.form_key.clone(),
                form_json,
                context: engine.variables(&inst),
                metadata: c::TaskFormMetadata {
                    instance_guid: row.instance_guid.clone(),
                    task_name: task.name.clone(),
                    responsible_user: task.responsible_user.clone(),
                    responsible_team: task.responsible_team.clone(),
                },
            },
        )
    }

    /// CallbackRegistry rows as GetCallbackRegistryListQuery answers them. `ParentProcessState`
    /// keeps seed 002's name and type (a serialised snapshot) but holds only what a reader of
    /// the instance may see anyway: `{"status", "variables"}` as they were when the task began
    /// waiting, never the engine's whole state (token positions, scopes, the model's
    /// fingerprint). Null when the stored snapshot cannot be read.
    pub(crate) fn callback_entries(
        &self,
        rows: Vec<baton_store::CallbackRow>,
    ) -> Result<Vec<c::CallbackRegistryEntry>, Error> {
        let mut engines: std::collections::HashMap<String, Option<Arc<Engine>>> =
            std::collections::HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let engine = match engines.get(&row.parent_instance_id) {
                Some(e) => e.clone(),
                None => {
                    let def = self
                        .store()
                        .instance(&row.parent_instance_id)
                        .ok()
                        .map(|r| r.process_definition_id);
                    let e = def.and_then(|d| self.engine(d).ok());
                    engines.insert(row.parent_instance_id.clone(), e.clone());
                    e
                }
            };
            let snapshot = row.parent_process_state.as_deref().and_then(|state| {
                let inst: Instance = serde_json::from_str(state).ok()?;
                let engine = engine.as_ref()?;
                engine.check_state(&inst).ok()?;
                let view =
                    json!({"status": inst.status.as_str(), "variables": engine.variables(&inst)});
                Some(view.to_string())
            });
            let mut entry = c::CallbackRegistryEntry::from(row);
            entry.parent_process_state = snapshot;
            out.push(entry);
        }
        Ok(out)
    }

    /// GetTaskListQuery, the inbox: open form tasks a user may work on. A non-administrator sees
    /// their own (tasks open to everyone, assigned to them or to one of their teams); an
    /// administrator sees everything, or what `userName` / `team` may work on.
    pub(crate) fn task_list(&self, data: &Value, caller: &Caller) -> Answer {
        let data: c::GetTaskListInput = input(data)?;
        let (page, size) = (data.page_number.unwrap_or(1), data.page_size.unwrap_or(20));
        let user_name = data.user_name.as_deref();
        let team = data.team.as_deref();
        let who: Option<(String, Vec<String>)> = match (&caller.user, caller.admin) {
            (Some(u), false) => Some((u.name.clone(), u.teams.clone())),
            // Nobody signed in: the tasks open to everyone.
            (None, false) => Some((String::new(), Vec::new())),
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
            data.assignee.as_deref(),
            page,
            size,
        )?;
        output(
            "OK",
            &c::Page {
                items: rows.into_iter().map(c::TaskItem::from).collect(),
                total_count: total,
            },
        )
    }
}
