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

use crate::{opt_text, text, Answer, Caller, Code, Door, Error, Extra, Runtime};
use base64::Engine as _;
use baton_engine::{Engine, Event, Instance, User};
use baton_store::{UserRow, WebhookAppRow};
use serde_json::{json, Map, Value};

mod actions;

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
            Error::field(
                field,
                format!("{field} must be a {kind} identifier ({kind}:... in base64)"),
            )
        })
}

fn int(input: &Value, field: &str) -> Result<Option<i64>, Error> {
    match input.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().filter(|n| *n >= 1).map(Some).ok_or_else(|| {
            Error::field(field, format!("{field} must be a whole number, 1 or more"))
        }),
    }
}

/// The typed parameter array (`textValue`, `numericValue`, `dateTimeValue`, `fileValue`) as
/// variables.
fn parameters(input: &Value) -> Result<Map<String, Value>, Error> {
    let list = match input.get("parameters") {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(Error::field(
                "parameters",
                "parameters must be an array of {name, textValue | numericValue | dateTimeValue | fileValue}".into(),
            ))
        }
    };
    let mut vars = Map::new();
    for (i, p) in list.iter().enumerate() {
        let name = match p.get("name") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => {
                return Err(Error::field(
                    "parameters",
                    format!("parameters[{i}].name is required"),
                ))
            }
        };
        let given: Vec<&str> = ["textValue", "numericValue", "dateTimeValue", "fileValue"]
            .into_iter()
            .filter(|k| p.get(*k).is_some_and(|v| !v.is_null()))
            .collect();
        let [kind] = given.as_slice() else {
            return Err(Error::field("parameters", format!(
                "parameters[{i}] ({name}) needs exactly one of textValue, numericValue, dateTimeValue, fileValue"
            )));
        };
        let v = &p[*kind];
        let value = match *kind {
            "textValue" => match v {
                Value::String(_) => v.clone(),
                _ => {
                    return Err(Error::field(
                        "parameters",
                        format!("parameters[{i}].textValue must be a string"),
                    ))
                }
            },
            "numericValue" => match v {
                Value::Number(_) => v.clone(),
                _ => {
                    return Err(Error::field(
                        "parameters",
                        format!("parameters[{i}].numericValue must be a number"),
                    ))
                }
            },
            "dateTimeValue" => match v.as_str().map(str::parse::<jiff::Timestamp>) {
                Some(Ok(t)) => Value::String(t.to_string()),
                _ => {
                    return Err(Error::field(
                        "parameters",
                        format!("parameters[{i}].dateTimeValue must be an RFC 3339 date and time"),
                    ))
                }
            },
            _ => match v {
                Value::Object(f) if f.get("name").is_some_and(Value::is_string) => v.clone(),
                _ => {
                    return Err(Error::field(
                        "parameters",
                        format!("parameters[{i}].fileValue must be an object with at least a name"),
                    ))
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

/// A fresh application token: the secret part of its URL.
fn new_token() -> String {
    format!("wh_{}", uuid::Uuid::new_v4().simple())
}

/// The `id` of an application command.
fn app_id(data: &Value) -> Result<i64, Error> {
    data.get("id")
        .and_then(Value::as_i64)
        .ok_or_else(|| Error::field("id", "id is required (an integer)".into()))
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
        let token = new_token();
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

    /// `RegenerateIncomingWebhookApplicationTokenCommand {id}`: a new token for the same app (id,
    /// name and settings stay); the old URL answers 404 from the commit on.
    pub(crate) fn regenerate_hook_app_token(&self, data: &Value) -> Answer {
        let id = app_id(data)?;
        let token = new_token();
        let mut store = self.writer();
        let tx = store.transaction()?;
        let found = tx.set_webhook_app_token(id, &crate::access::hash(&token))?;
        tx.commit()?;
        if !found {
            return Err(Error::not_found(format!(
                "no incoming webhook application {id}"
            )));
        }
        Ok((
            "Incoming webhook application token regenerated".into(),
            json!({"id": id, "token": token, "url": format!("/hooks/{token}")}),
        ))
    }

    pub(crate) fn delete_hook_app(&self, data: &Value) -> Answer {
        let id = app_id(data)?;
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
            let mut error = json!({"message": message, "code": e.code});
            if let Some(f) = e.fields.first() {
                error["field"] = json!(f.field);
            }
            HookAnswer {
                status: e.code.http_status(Door::HookApp),
                body: json!({ "errors": [error] }),
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
            _ => return Err(Error::field("operation", "operation is required".into())),
        };
        let input = match payload.get("args").and_then(|a| a.get("input")) {
            Some(v @ Value::Object(_)) => v,
            _ => {
                return Err(Error::field(
                    "args.input",
                    "args.input is required (an object with the operation's fields)".into(),
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
            "cancelAction" => self.hook_cancel_action(app, input)?,
            "assignAction" => self.hook_assign_action(app, input)?,
            "cancelActionAssignment" => self.hook_cancel_assignment(app, input)?,
            other => {
                return Err(Error::field("operation", format!(
                    "unknown operation '{other}' (createRequest, updateRequestDataset, cancelRequest, completeAction, cancelAction, assignAction, cancelActionAssignment)"
                )))
            }
        };
        out["clientMutationId"] = cmid;
        Ok(out)
    }

    /// Who runs the operation, and the delegator when in delegation mode.
    fn hook_caller(
        &self,
        app: &WebhookAppRow,
        input: &Value,
        delegation: bool,
    ) -> Result<(Caller, Option<UserRow>), Error> {
        let by_name = match input.get("onBehalfOfUserName") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(self.hook_user_named("onBehalfOfUserName", s)?),
            Some(_) => {
                return Err(Error::field(
                    "onBehalfOfUserName",
                    "onBehalfOfUserName must be a string".into(),
                ))
            }
        };
        let by_id = match input.get("onBehalfOf") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(self.hook_user_id("onBehalfOf", s)?),
            Some(_) => {
                return Err(Error::field(
                    "onBehalfOf",
                    "onBehalfOf must be a string (User:N in base64)".into(),
                ))
            }
        };
        let delegator = match (by_name, by_id) {
            (Some(a), Some(b)) if a.user_name != b.user_name => {
                return Err(Error::field(
                    "onBehalfOf",
                    format!(
                        "onBehalfOf names user '{}' but onBehalfOfUserName names '{}': give one, or both for the same user",
                        b.user_name, a.user_name
                    ),
                ))
            }
            (a, b) => a.or(b),
        };
        if delegator.is_some() && !delegation {
            return Err(Error::rejected(
                "delegation mode (onBehalfOf / onBehalfOfUserName) is not supported for this operation",
            ));
        }
        let app_self = self.hook_app_self(app)?;
        let Some(row) = delegator else {
            return Ok((app_self, None));
        };
        let delegate = user_caller(&row);
        // Delegation narrows, never widens: the app may act for another user only within what
        // it may do itself (its impersonated user's rights; the owner's without one).
        if delegate.admin && !app_self.admin {
            return Err(Error::forbidden(format!(
                "this application acts as {}, who is not an administrator: it may not act on behalf of administrator '{}'",
                app_self.name(),
                row.user_name
            )));
        }
        Ok((delegate, Some(row)))
    }

    /// What the application itself may do: its impersonated user, else the owner.
    fn hook_app_self(&self, app: &WebhookAppRow) -> Result<Caller, Error> {
        match &app.impersonate_user_name {
            Some(name) => Ok(user_caller(
                &self.hook_user_named("impersonateUserName", name)?,
            )),
            None => Ok(Caller::owner()),
        }
    }

    /// A user named by a `...UserName` field.
    fn hook_user_named(&self, field: &str, name: &str) -> Result<UserRow, Error> {
        self.store()
            .user(name)?
            .ok_or_else(|| Error::no_such(field, format!("{field}: no user named '{name}'")))
    }

    /// A user named by an id field: `User:N` in base64 (or plain), N the user's stable number
    /// (GetUserListQuery's `id`); a name after `User:` is accepted too, as earlier versions
    /// answered.
    fn hook_user_id(&self, field: &str, raw: &str) -> Result<UserRow, Error> {
        let rest = decode_id(field, raw, "User")?;
        let found = match rest.parse::<i64>() {
            Ok(n) => self.store().user_by_id(n)?,
            Err(_) => self.store().user(&rest)?,
        };
        found.ok_or_else(|| {
            Error::no_such(
                field,
                format!("{field}: no user with id User:{rest} ({raw})"),
            )
        })
    }

    /// The instance a request number (`requestNumber` / `number`) or `id` names, and its number.
    fn hook_request(&self, input: &Value, number_field: &str) -> Result<(String, i64), Error> {
        let (number, field) = match (int(input, number_field)?, input.get("id")) {
            (Some(n), _) => (n, number_field),
            (None, Some(Value::String(id))) => {
                let n = decode_id("id", id, "Request")?.parse().map_err(|_| {
                    Error::field("id", "id must name a request number (Request:N)".into())
                })?;
                (n, "id")
            }
            _ => {
                return Err(Error::field(
                    number_field,
                    format!("{number_field} or id is required"),
                ))
            }
        };
        let guid = self
            .store()
            .request_by_number(number)?
            .ok_or_else(|| Error::no_such(field, format!("{field}: no request number {number}")))?;
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

    /// The open action named by `requestNumber` + `actionNumber` or by `id`.
    fn hook_action(&self, input: &Value) -> Result<Action, Error> {
        let (req, act, field) = match (int(input, "requestNumber")?, int(input, "actionNumber")?) {
            (Some(r), Some(a)) => (r, a, "actionNumber"),
            _ => match input.get("id") {
                Some(Value::String(id)) => {
                    let plain = decode_id("id", id, "Action")?;
                    let parsed = plain
                        .split_once("---")
                        .and_then(|(r, a)| Some((r.parse().ok()?, a.parse().ok()?)));
                    let (r, a) = parsed.ok_or_else(|| {
                        Error::field("id", "id must be Action:REQUEST---ACTION".into())
                    })?;
                    (r, a, "id")
                }
                _ => {
                    let missing = if int(input, "requestNumber")?.is_none() {
                        "requestNumber"
                    } else {
                        "actionNumber"
                    };
                    return Err(Error::field(
                        missing,
                        format!("{missing} is required (requestNumber and actionNumber, or id)"),
                    ));
                }
            },
        };
        let req_field = if field == "id" { "id" } else { "requestNumber" };
        let guid = self.store().request_by_number(req)?.ok_or_else(|| {
            Error::no_such(req_field, format!("{req_field}: no request number {req}"))
        })?;
        let row = self.instance_row(&guid)?;
        let (engine, inst) = self.load(&row)?;
        self.number_actions(&guid, &engine, &inst)?;
        let numbers = self.store().action_numbers(&guid)?;
        let task_id = numbers
            .iter()
            .find(|(_, n)| *n == act)
            .map(|(t, _)| t.clone())
            .ok_or_else(|| {
                Error::no_such(
                    field,
                    format!("{field}: request {req} has no action number {act}"),
                )
            })?;
        let task = form_tasks(&engine, &inst)
            .into_iter()
            .find(|w| w.task_id == task_id)
            .ok_or_else(|| {
                Error::field(
                    field,
                    format!(
                        "{field}: action {act} of request {req} (task '{task_id}') is not open: it was completed or cancelled, or the request ended"
                    ),
                )
                .with_code(Code::Rejected)
            })?;
        Ok(Action {
            guid,
            req,
            act,
            task,
            field,
        })
    }

    /// Refuses a request the acting user may not read as a missing one, named by the field
    /// that named it.
    fn hook_read(&self, caller: &Caller, a: &Action) -> Result<(), Error> {
        self.check_read(caller, &a.guid).map_err(|e| {
            if e.is(Code::NotFound) {
                let field = if a.field == "id" {
                    "id"
                } else {
                    "requestNumber"
                };
                Error::no_such(field, format!("{field}: no request number {}", a.req))
            } else {
                e
            }
        })
    }

    fn hook_create_request(&self, app: &WebhookAppRow, input: &Value) -> Result<Value, Error> {
        if !matches!(
            input.get("isTest"),
            None | Some(Value::Null) | Some(Value::Bool(_))
        ) {
            return Err(Error::field(
                "isTest",
                "isTest must be true or false".into(),
            ));
        }
        let def = self.hook_process(input)?;
        let vars = parameters(input)?;
        let (caller, delegator) = self.hook_caller(app, input, true)?;
        // The request number is written in the start's own transaction.
        let extra = acted(app, "createRequest", None, delegator.as_ref());
        let (guid, engine, inst) =
            self.start_process_instance(def, None, None, vars, None, None, &caller, extra)?;
        let number = self.store().request_number(&guid)?;
        let number =
            number.ok_or_else(|| Error::internal(format!("request {guid} has no number")))?;
        self.number_actions(&guid, &engine, &inst)?;
        let mut out = json!({"requestId": b64(&format!("Request:{number}")), "number": number,
                  "instanceGuid": guid, "status": inst.status.as_str(),
                  "processId": b64(&format!("Process:{def}"))});
        on_behalf(&mut out, delegator.as_ref());
        Ok(out)
    }

    /// The process `processId` (`Process:N`, N a process definition id) or `processName` (a
    /// process key, else a deployed name; its newest version or `processVersion`) names. Both
    /// may be given when they agree.
    fn hook_process(&self, input: &Value) -> Result<i64, Error> {
        let version = int(input, "processVersion")?;
        let name = match input.get("processName") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(_) => {
                return Err(Error::field(
                    "processName",
                    "processName must be a process name (a string)".into(),
                ))
            }
        };
        let id = match input.get("processId") {
            None | Some(Value::Null) => None,
            Some(Value::String(raw)) => Some(
                decode_id("processId", raw, "Process")?
                    .parse::<i64>()
                    .map_err(|_| {
                        Error::field(
                            "processId",
                            "processId must be Process:N (N a process definition id), in base64"
                                .into(),
                        )
                    })?,
            ),
            Some(_) => {
                return Err(Error::field(
                    "processId",
                    "processId must be a string (Process:N in base64)".into(),
                ))
            }
        };
        let Some(id) = id else {
            let name = name.ok_or_else(|| {
                Error::field(
                    "processName",
                    "processName is required (or processId)".into(),
                )
            })?;
            return self.process_by_name(&name, version);
        };
        let def = self.store().definition(id, false).map_err(|e| {
            Error::lookup(
                e,
                "processId",
                format!("processId: no process with id Process:{id}"),
            )
        })?;
        if let Some(n) = name.filter(|n| *n != def.process_key && Some(n) != def.name.as_ref()) {
            return Err(Error::field(
                "processName",
                format!(
                    "processName '{n}' is not the process processId names ('{}')",
                    def.process_key
                ),
            ));
        }
        if let Some(v) = version.filter(|v| *v != def.version) {
            return Err(Error::field(
                "processVersion",
                format!(
                    "processVersion {v} is not the version processId names ({})",
                    def.version
                ),
            ));
        }
        Ok(id)
    }

    /// A process by its key, else by its deployed name; its newest version or `version`.
    fn process_by_name(&self, name: &str, version: Option<i64>) -> Result<i64, Error> {
        let defs = self.store().latest_definitions()?;
        let newest = defs
            .iter()
            .find(|d| d.process_key == name)
            .or_else(|| defs.iter().find(|d| d.name.as_deref() == Some(name)))
            .ok_or_else(|| Error::no_such("processName", format!("no process named '{name}'")))?;
        let Some(v) = version else {
            return Ok(newest.process_definition_id);
        };
        let found = self.store().definition_version(&newest.process_key, v)?;
        found.ok_or_else(|| {
            Error::no_such(
                "processVersion",
                format!("process '{name}' has no version {v}"),
            )
        })
    }

    fn hook_update_dataset(&self, app: &WebhookAppRow, input: &Value) -> Result<Value, Error> {
        let (guid, number) = self.hook_request(input, "number")?;
        let vars = parameters(input)?;
        if vars.is_empty() {
            return Err(Error::field(
                "parameters",
                "parameters is required (at least one)".into(),
            ));
        }
        let (caller, _) = self.hook_caller(app, input, false)?;
        if !caller.admin {
            return Err(Error::forbidden(format!(
                "updateRequestDataset needs system access: {} is not an administrator",
                caller.name()
            )));
        }
        let event = Event::SetVariables { variables: vars };
        let extra = acted(app, "updateRequestDataset", None, None);
        let s = self.step_with(&guid, event, &caller, extra)?;
        self.number_actions(&guid, &s.engine, &s.inst)?;
        Ok(json!({"number": number, "id": b64(&format!("Request:{number}"))}))
    }

    fn hook_cancel_request(&self, app: &WebhookAppRow, input: &Value) -> Result<Value, Error> {
        let (guid, number) = self.hook_request(input, "number")?;
        let (caller, delegator) = self.hook_caller(app, input, true)?;
        // The same rule as CancelProcessInstanceCommand: whoever started it, a teammate or an
        // administrator.
        self.check_act(&caller, &guid, "cancel")?;
        let event = Event::Cancel {
            reason: Some("cancelled by an incoming webhook application".into()),
        };
        let extra = acted(app, "cancelRequest", None, delegator.as_ref());
        let s = self.step_with(&guid, event, &caller, extra)?;
        let mut out = json!({"number": number, "id": b64(&format!("Request:{number}")),
                  "status": s.inst.status.as_str()});
        on_behalf(&mut out, delegator.as_ref());
        Ok(out)
    }

    fn hook_complete_action(&self, app: &WebhookAppRow, input: &Value) -> Result<Value, Error> {
        let (caller, delegator) = self.hook_caller(app, input, true)?;
        let a = self.hook_action(input)?;
        // A task of a request the acting user may not read is answered as a missing one.
        self.hook_read(&caller, &a)?;
        if delegator.is_some() {
            // The delegate is held to the task by the step; the application must be allowed
            // it too, so that a delegate's teams never open a task the application could not.
            let own = self.hook_app_self(app)?;
            if !own.admin && !may_take(own.user.as_ref(), &a.task) {
                return Err(Error::forbidden(format!(
                    "this application acts as {}, who may not work on action {} of request {} (task '{}'): it may not complete it on anyone's behalf",
                    own.name(),
                    a.act,
                    a.req,
                    a.task.task_id
                )));
            }
        }
        // Seed 003: the parameters are the request's data (process variables), and the task's
        // result too (a plain submission sets no variables, seed 002).
        let variables = parameters(input)?;
        let event = Event::CompleteTaskWithVariables {
            task_id: Some(a.task.task_id.clone()),
            data: Value::Object(variables.clone()),
            variables,
        };
        let task = a.task.task_id.as_str();
        let extra = acted(app, "completeAction", Some(task), delegator.as_ref());
        let s = self.step_with(&a.guid, event, &caller, extra)?;
        self.number_actions(&a.guid, &s.engine, &s.inst)?;
        let mut out = a.answer();
        out["activityName"] = json!(a.task.name.clone().unwrap_or(a.task.task_id.clone()));
        out["requestStatus"] = json!(s.inst.status.as_str());
        on_behalf(&mut out, delegator.as_ref());
        Ok(out)
    }
}

/// An open action: its request, numbers and task, and the field that named it.
struct Action {
    guid: String,
    req: i64,
    act: i64,
    task: baton_engine::Waiting,
    /// `actionNumber` or `id`.
    field: &'static str,
}

impl Action {
    /// The fields every action operation answers.
    fn answer(&self) -> Value {
        json!({"requestNumber": self.req, "number": self.act,
               "id": b64(&format!("Action:{}---{}", self.req, self.act))})
    }
}

fn user_caller(row: &UserRow) -> Caller {
    Caller {
        user: Some(User {
            name: row.user_name.clone(),
            teams: row.teams.clone(),
        }),
        admin: row.is_admin,
    }
}

/// `onBehalfOf` (`User:N` in base64) and `onBehalfOfUserName`: null outside delegation mode.
fn on_behalf(out: &mut Value, delegator: Option<&UserRow>) {
    out["onBehalfOf"] = json!(delegator.map(|d| b64(&format!("User:{}", d.id))));
    out["onBehalfOfUserName"] = json!(delegator.map(|d| &d.user_name));
}

/// What a hook operation's step writes besides its own events: who acted (an `actedBy` history
/// event, in the step's transaction) on `element` when on a task, and, for createRequest, the
/// request's number. The actor is the delegate, else the impersonated user, else the
/// application itself, by name.
fn acted(
    app: &WebhookAppRow,
    op: &str,
    element: Option<&str>,
    delegator: Option<&UserRow>,
) -> Extra {
    let (actor, kind) = match (delegator, &app.impersonate_user_name) {
        (Some(d), _) => (d.user_name.clone(), "user"),
        (None, Some(u)) => (u.clone(), "user"),
        (None, None) => (app.name.clone(), "application"),
    };
    let data = json!({"operation": op, "actor": actor, "actorType": kind,
        "application": {"id": app.id, "name": app.name},
        "impersonateUserName": app.impersonate_user_name,
        "onBehalfOfUserName": delegator.map(|d| &d.user_name)});
    Extra::Hook {
        number_request: op == "createRequest",
        acted: data.to_string(),
        element: element.map(str::to_string),
    }
}
