//! Incoming webhook applications (seed 003, docs/webhook-apps.md): an app is reached at the
//! private URL `/hooks/{token}` (the token is the secret; only its SHA-256 hash is stored) and
//! takes `{"operation": OP, "args": {"input": {...}}}`. A request is a process instance, numbered
//! 1, 2, ... per installation when the app creates it; an action is a waiting form task of a
//! request, numbered 1, 2, ... per request in the order its tasks were first seen waiting.
//!
//! Operations run as `onBehalfOfUserName` / `onBehalfOf` (delegation), else as the app's
//! `impersonateUserName`, else as the owner. Delegation never widens what the app may do: an
//! app that impersonates a non-administrator cannot act for an administrator, and a task it
//! completes for someone must be one its own user may work on. Errors answer `{"errors": [{"message"}]}`.

use crate::{opt_text, text, Answer, Caller, Door, Error, Extra, Runtime};
use base64::Engine as _;
use baton_engine::{Engine, Event, Instance, User};
use baton_store::WebhookAppRow;
use serde_json::{json, Map, Value};

/// What the door answers: an HTTP status and a JSON body.
pub struct HookAnswer {
    pub status: u16,
    pub body: Value,
}

fn errors(message: impl Into<String>) -> Value {
    json!({"errors": [{"message": message.into()}]})
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Decodes a `Kind:rest` identifier (base64, as the seed shows, or plain).
fn decode_id(field: &str, raw: &str, kind: &str) -> Result<String, Error> {
    let plain = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| raw.to_string());
    plain
        .strip_prefix(&format!("{kind}:"))
        .map(str::to_string)
        .ok_or_else(|| {
            Error::invalid(format!(
                "{field} must be a {kind} identifier ({kind}:... in base64)"
            ))
        })
}

fn int(input: &Value, field: &str) -> Result<Option<i64>, Error> {
    match input.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .filter(|n| *n >= 1)
            .map(Some)
            .ok_or_else(|| Error::invalid(format!("{field} must be a whole number, 1 or more"))),
    }
}

/// The typed parameter array (`textValue`, `numericValue`, `dateTimeValue`, `fileValue`) as
/// variables.
fn parameters(input: &Value) -> Result<Map<String, Value>, Error> {
    let list = match input.get("parameters") {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(Error::invalid(
                "parameters must be an array of {name, textValue | numericValue | dateTimeValue | fileValue}",
            ))
        }
    };
    let mut vars = Map::new();
    for (i, p) in list.iter().enumerate() {
        let name = match p.get("name") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => return Err(Error::invalid(format!("parameters[{i}].name is required"))),
        };
        let given: Vec<&str> = ["textValue", "numericValue", "dateTimeValue", "fileValue"]
            .into_iter()
            .filter(|k| p.get(*k).is_some_and(|v| !v.is_null()))
            .collect();
        let [kind] = given.as_slice() else {
            return Err(Error::invalid(format!(
                "parameters[{i}] ({name}) needs exactly one of textValue, numericValue, dateTimeValue, fileValue"
            )));
        };
        let v = &p[*kind];
        let value = match *kind {
            "textValue" => match v {
                Value::String(_) => v.clone(),
                _ => {
                    return Err(Error::invalid(format!(
                        "parameters[{i}].textValue must be a string"
                    )))
                }
            },
            "numericValue" => match v {
                Value::Number(_) => v.clone(),
                _ => {
                    return Err(Error::invalid(format!(
                        "parameters[{i}].numericValue must be a number"
                    )))
                }
            },
            "dateTimeValue" => match v.as_str().map(str::parse::<jiff::Timestamp>) {
                Some(Ok(t)) => Value::String(t.to_string()),
                _ => {
                    return Err(Error::invalid(format!(
                        "parameters[{i}].dateTimeValue must be an RFC 3339 date and time"
                    )))
                }
            },
            _ => match v {
                Value::Object(f) if f.get("name").is_some_and(Value::is_string) => v.clone(),
                _ => {
                    return Err(Error::invalid(format!(
                        "parameters[{i}].fileValue must be an object with at least a name"
                    )))
                }
            },
        };
        vars.insert(name, value);
    }
    Ok(vars)
}

/// Form tasks a request waits on (the actions that may be open).
fn form_tasks(engine: &Engine, inst: &Instance) -> Vec<baton_engine::Waiting> {
    engine
        .waiting(inst)
        .into_iter()
        .filter(|w| {
            w.task_type == "userTask" || (w.task_type == "receiveTask" && w.form_key.is_some())
        })
        .collect()
}

/// Whether `user` may work on a task assigned by ResponsibleUser / ResponsibleTeam (the
/// engine's rule: either names them; a task with neither is anyone's).
fn may_take(user: Option<&User>, task: &baton_engine::Waiting) -> bool {
    let list = |s: &Option<String>| -> Vec<String> {
        s.as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (users, teams) = (list(&task.responsible_user), list(&task.responsible_team));
    if users.is_empty() && teams.is_empty() {
        return true;
    }
    user.is_some_and(|u| users.contains(&u.name) || teams.iter().any(|t| u.teams.contains(t)))
}

impl Runtime {
    pub(crate) fn create_hook_app(&self, data: &Value) -> Answer {
        let name = text(data, "name")?;
        let description = opt_text(data, "description")?;
        let impersonate = opt_text(data, "impersonateUserName")?.filter(|s| !s.trim().is_empty());
        if let Some(u) = impersonate {
            if self.store().user(u)?.is_none() {
                return Err(Error::no_such(
                    "impersonateUserName",
                    format!("no user named '{u}'"),
                ));
            }
        }
        let token = format!("wh_{}", uuid::Uuid::new_v4().simple());
        let id = {
            let mut store = self.writer();
            let tx = store.transaction()?;
            let id = tx.insert_webhook_app(
                name,
                description,
                impersonate,
                &crate::access::hash(&token),
                &self.now(),
            )?;
            tx.commit()?;
            id
        };
        Ok((
            "Incoming webhook application created".into(),
            json!({"id": id, "name": name, "token": token, "url": format!("/hooks/{token}")}),
        ))
    }

    pub(crate) fn delete_hook_app(&self, data: &Value) -> Answer {
        let id = data
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| Error::field("id", "id is required (an integer)".into()))?;
        let mut store = self.writer();
        let tx = store.transaction()?;
        let gone = tx.delete_webhook_app(id)?;
        tx.commit()?;
        if !gone {
            return Err(Error::not_found(format!(
                "no incoming webhook application {id}"
            )));
        }
        Ok((
            "Incoming webhook application deleted".into(),
            json!({"id": id}),
        ))
    }

    pub(crate) fn list_hook_apps(&self) -> Answer {
        let rows = self.store().webhook_apps()?;
        Ok((
            "OK".into(),
            json!({"items": rows, "totalCount": rows.len()}),
        ))
    }

    /// `POST /hooks/{token}`. Failures of the operation answer 200 with `errors` (with their
    /// code), except internal ones: 500 with a reference (see `error.rs`).
    pub fn receive_hook_app(&self, token: &str, body: &[u8]) -> HookAnswer {
        let span = tracing::info_span!("hook_app");
        let _entered = span.enter();
        let failed = |e: Error| {
            let e = e.public();
            let message = if e.is(crate::Code::Conflict) {
                "the request changed meanwhile; send it again".to_string()
            } else {
                e.line()
            };
            HookAnswer {
                status: e.code.http_status(Door::HookApp),
                body: json!({"errors": [{"message": message, "code": e.code}]}),
            }
        };
        let app = match self
            .store()
            .webhook_app_by_token_hash(&crate::access::hash(token))
        {
            Ok(Some(app)) => app,
            Ok(None) => {
                return HookAnswer {
                    status: 404,
                    body: errors("no incoming webhook application at this URL"),
                }
            }
            Err(e) => return failed(e.into()),
        };
        let payload: Value = match serde_json::from_slice(body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return HookAnswer {
                    status: 400,
                    body: errors("the body must be a JSON object"),
                }
            }
            Err(e) => {
                return HookAnswer {
                    status: 400,
                    body: errors(format!("malformed JSON: {e}")),
                }
            }
        };
        match self.hook_operation(&app, &payload) {
            Ok(body) => HookAnswer { status: 200, body },
            Err(e) => failed(e),
        }
    }

    fn hook_operation(&self, app: &WebhookAppRow, payload: &Value) -> Result<Value, Error> {
        let op = match payload.get("operation") {
            Some(Value::String(s)) if !s.is_empty() => s.as_str(),
            _ => return Err(Error::invalid("operation is required")),
        };
        let input = match payload.get("args").and_then(|a| a.get("input")) {
            Some(v @ Value::Object(_)) => v,
            _ => {
                return Err(Error::invalid(
                    "args.input is required (an object with the operation's fields)",
                ))
            }
        };
        let cmid = input
            .get("clientMutationId")
            .cloned()
            .unwrap_or(Value::Null);
        let mut out = match op {
            "createRequest" => self.hook_create_request(app, input)?,
            "updateRequestDataset" => self.hook_update_dataset(app, input)?,
            "cancelRequest" => self.hook_cancel_request(app, input)?,
            "completeAction" => self.hook_complete_action(app, input)?,
            "cancelAction" | "assignAction" | "cancelActionAssignment" => {
                // Check what can be checked, then say plainly the engine cannot do it yet.
                let caller = self.hook_caller(app, input, op != "cancelActionAssignment")?;
                self.hook_action(input, &caller.0)?;
                return Err(Error::rejected(format!(
                    "{op} is not supported yet: Baton's engine has no per-task {}",
                    if op == "cancelAction" {
                        "cancel exception"
                    } else {
                        "assignee (a task's ResponsibleUser / ResponsibleTeam come from the model)"
                    }
                )));
            }
            other => {
                return Err(Error::invalid(format!(
                    "unknown operation '{other}' (createRequest, updateRequestDataset, cancelRequest, completeAction, cancelAction, assignAction, cancelActionAssignment)"
                )))
            }
        };
        out["clientMutationId"] = cmid;
        Ok(out)
    }

    /// Who runs the operation, and the delegator's name when in delegation mode.
    fn hook_caller(
        &self,
        app: &WebhookAppRow,
        input: &Value,
        delegation: bool,
    ) -> Result<(Caller, Option<String>), Error> {
        let by_name = match input.get("onBehalfOfUserName") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(Error::invalid("onBehalfOfUserName must be a string")),
        };
        let by_id = match input.get("onBehalfOf") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(decode_id("onBehalfOf", s, "User")?),
            Some(_) => return Err(Error::invalid("onBehalfOf must be a string")),
        };
        let delegator = by_name.or(by_id);
        if delegator.is_some() && !delegation {
            return Err(Error::rejected(
                "delegation mode (onBehalfOf / onBehalfOfUserName) is not supported for this operation",
            ));
        }
        let app_self = self.hook_app_self(app)?;
        let Some(name) = delegator.clone() else {
            return Ok((app_self, None));
        };
        let delegate = self.hook_user(&name)?;
        // Delegation narrows, never widens: the app may act for another user only within what
        // it may do itself (its impersonated user's rights; the owner's without one).
        if delegate.admin && !app_self.admin {
            return Err(Error::forbidden(format!(
                "this application acts as {}, who is not an administrator: it may not act on behalf of administrator '{name}'",
                app_self.name()
            )));
        }
        Ok((delegate, delegator))
    }

    /// What the application itself may do: its impersonated user, else the owner.
    fn hook_app_self(&self, app: &WebhookAppRow) -> Result<Caller, Error> {
        match &app.impersonate_user_name {
            Some(name) => self.hook_user(name),
            None => Ok(Caller::owner()),
        }
    }

    /// A user as the caller an application runs as.
    fn hook_user(&self, name: &str) -> Result<Caller, Error> {
        let row = self
            .store()
            .user(name)?
            .ok_or_else(|| Error::not_found(format!("no user named '{name}'")))?;
        Ok(Caller {
            user: Some(User {
                name: row.user_name,
                teams: row.teams,
            }),
            admin: row.is_admin,
        })
    }

    /// The instance a request number (`requestNumber` / `number`) or `id` names, and its number.
    fn hook_request(&self, input: &Value, number_field: &str) -> Result<(String, i64), Error> {
        let number = match (int(input, number_field)?, input.get("id")) {
            (Some(n), _) => n,
            (None, Some(Value::String(id))) => decode_id("id", id, "Request")?
                .parse()
                .map_err(|_| Error::invalid("id must name a request number"))?,
            _ => return Err(Error::invalid(format!("{number_field} or id is required"))),
        };
        let guid = self
            .store()
            .request_by_number(number)?
            .ok_or_else(|| Error::not_found(format!("no request number {number}")))?;
        Ok((guid, number))
    }

    /// Gives numbers to the actions a request waits on that have none yet.
    fn number_actions(&self, guid: &str, engine: &Engine, inst: &Instance) -> Result<(), Error> {
        let tasks = form_tasks(engine, inst);
        if tasks.is_empty() {
            return Ok(());
        }
        let mut store = self.writer();
        let tx = store.transaction()?;
        for t in &tasks {
            tx.number_action(guid, &t.task_id)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The open action (request guid, request number, action number, waiting task) named by
    /// `requestNumber` + `actionNumber` or by `id`.
    fn hook_action(
        &self,
        input: &Value,
        _caller: &Caller,
    ) -> Result<(String, i64, i64, baton_engine::Waiting), Error> {
        let (req, act) = match (int(input, "requestNumber")?, int(input, "actionNumber")?) {
            (Some(r), Some(a)) => (r, a),
            _ => match input.get("id") {
                Some(Value::String(id)) => {
                    let plain = decode_id("id", id, "Action")?;
                    let parsed = plain
                        .split_once("---")
                        .and_then(|(r, a)| Some((r.parse().ok()?, a.parse().ok()?)));
                    parsed.ok_or_else(|| Error::invalid("id must be Action:REQUEST---ACTION"))?
                }
                _ => {
                    let missing = if int(input, "requestNumber")?.is_none() {
                        "requestNumber"
                    } else {
                        "actionNumber"
                    };
                    return Err(Error::invalid(format!(
                        "{missing} is required (requestNumber and actionNumber, or id)"
                    )));
                }
            },
        };
        let guid = self
            .store()
            .request_by_number(req)?
            .ok_or_else(|| Error::not_found(format!("no request number {req}")))?;
        let row = self.instance_row(&guid)?;
        let (engine, inst) = self.load(&row)?;
        self.number_actions(&guid, &engine, &inst)?;
        let numbers = self.store().action_numbers(&guid)?;
        let task_id = numbers
            .iter()
            .find(|(_, n)| *n == act)
            .map(|(t, _)| t.clone())
            .ok_or_else(|| Error::not_found(format!("request {req} has no action number {act}")))?;
        let task = form_tasks(&engine, &inst)
            .into_iter()
            .find(|w| w.task_id == task_id)
            .ok_or_else(|| Error::rejected(format!("action {act} of request {req} is not open")))?;
        Ok((guid, req, act, task))
    }

    fn hook_create_request(&self, app: &WebhookAppRow, input: &Value) -> Result<Value, Error> {
        let name = match input.get("processName") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => return Err(Error::invalid("processName is required")),
        };
        let version = int(input, "processVersion")?;
        if !matches!(
            input.get("isTest"),
            None | Some(Value::Null) | Some(Value::Bool(_))
        ) {
            return Err(Error::invalid("isTest must be true or false"));
        }
        let vars = parameters(input)?;
        let (caller, delegator) = self.hook_caller(app, input, true)?;
        let def = self.process_by_name(&name, version)?;
        // The request number is written in the start's own transaction.
        let (guid, engine, inst) =
            self.start_instance(def, None, vars, None, None, &caller, Extra::NumberRequest)?;
        let number = self.store().request_number(&guid)?;
        let number =
            number.ok_or_else(|| Error::internal(format!("request {guid} has no number")))?;
        self.number_actions(&guid, &engine, &inst)?;
        Ok(
            json!({"requestId": b64(&format!("Request:{number}")), "number": number,
                  "instanceGuid": guid, "status": inst.status.as_str(),
                  "onBehalfOf": delegator.as_ref().map(|d| b64(&format!("User:{d}"))),
                  "onBehalfOfUserName": delegator}),
        )
    }

    /// A process by its key, else by its deployed name; its newest version or `version`.
    fn process_by_name(&self, name: &str, version: Option<i64>) -> Result<i64, Error> {
        let defs = self.store().latest_definitions()?;
        let newest = defs
            .iter()
            .find(|d| d.process_key == name)
            .or_else(|| defs.iter().find(|d| d.name.as_deref() == Some(name)))
            .ok_or_else(|| Error::not_found(format!("no process named '{name}'")))?;
        let Some(v) = version else {
            return Ok(newest.process_definition_id);
        };
        let found = self.store().definition_version(&newest.process_key, v)?;
        found.ok_or_else(|| Error::not_found(format!("process '{name}' has no version {v}")))
    }

    fn hook_update_dataset(&self, app: &WebhookAppRow, input: &Value) -> Result<Value, Error> {
        let (guid, number) = self.hook_request(input, "number")?;
        let vars = parameters(input)?;
        if vars.is_empty() {
            return Err(Error::invalid("parameters is required (at least one)"));
        }
        let (caller, _) = self.hook_caller(app, input, false)?;
        if !caller.admin {
            return Err(Error::forbidden(format!(
                "updateRequestDataset needs system access: {} is not an administrator",
                caller.name()
            )));
        }
        let s = self.step(&guid, Event::SetVariables { variables: vars }, &caller)?;
        self.number_actions(&guid, &s.engine, &s.inst)?;
        Ok(json!({"number": number, "id": b64(&format!("Request:{number}"))}))
    }

    fn hook_cancel_request(&self, app: &WebhookAppRow, input: &Value) -> Result<Value, Error> {
        let (guid, number) = self.hook_request(input, "number")?;
        let (caller, delegator) = self.hook_caller(app, input, true)?;
        // The same rule as CancelProcessInstanceCommand: whoever started it, a teammate or an
        // administrator.
        self.check_act(&caller, &guid, "cancel")?;
        let s = self.step(
            &guid,
            Event::Cancel {
                reason: Some("cancelled by an incoming webhook application".into()),
            },
            &caller,
        )?;
        Ok(
            json!({"number": number, "id": b64(&format!("Request:{number}")),
                  "status": s.inst.status.as_str(),
                  "onBehalfOf": delegator.as_ref().map(|d| b64(&format!("User:{d}"))),
                  "onBehalfOfUserName": delegator}),
        )
    }

    fn hook_complete_action(&self, app: &WebhookAppRow, input: &Value) -> Result<Value, Error> {
        let (caller, delegator) = self.hook_caller(app, input, true)?;
        let (guid, req, act, task) = self.hook_action(input, &caller)?;
        // A task of a request the acting user may not read is answered as a missing one.
        self.check_read(&caller, &guid)?;
        if delegator.is_some() {
            // The delegate is held to the task by the step; the application must be allowed
            // it too, so that a delegate's teams never open a task the application could not.
            let own = self.hook_app_self(app)?;
            if !own.admin && !may_take(own.user.as_ref(), &task) {
                return Err(Error::forbidden(format!(
                    "this application acts as {}, who may not work on action {act} of request {req} (task '{}'): it may not complete it on anyone's behalf",
                    own.name(),
                    task.task_id
                )));
            }
        }
        // Seed 003: the parameters are the request's data (process variables), and the task's
        // result too (a plain submission sets no variables, seed 002).
        let variables = parameters(input)?;
        let s = self.step(
            &guid,
            Event::CompleteTaskWithVariables {
                task_id: Some(task.task_id.clone()),
                data: Value::Object(variables.clone()),
                variables,
            },
            &caller,
        )?;
        self.number_actions(&guid, &s.engine, &s.inst)?;
        Ok(json!({"requestNumber": req, "number": act,
                  "activityName": task.name.clone().unwrap_or(task.task_id.clone()),
                  "id": b64(&format!("Action:{req}---{act}")),
                  "requestStatus": s.inst.status.as_str(),
                  "onBehalfOf": delegator.as_ref().map(|d| b64(&format!("User:{d}"))),
                  "onBehalfOfUserName": delegator}))
    }
}
