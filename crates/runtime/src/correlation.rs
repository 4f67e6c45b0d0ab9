//! Correlation: callbacks by key (seed 002), messages by name and key, signals by name; the
//! buffer for what arrives before anything waits; duplicates; and the outbox that carries thrown
//! messages and signals to other instances after the throwing step committed.
//!
//! The rules (docs/runtime.md and docs/commands.md say them for users):
//! - ReturnCallbackCommand resumes the receive task whose CallbackRegistry row is Pending for the
//!   key (webhook mode; a form-mode row on the same key is completed by a form submission and
//!   is skipped). A key whose newest webhook row is Completed is a duplicate: answered with
//!   `duplicate: true`, the instance is not resumed again; with a result other than the one
//!   applied it is also a conflict (`conflict: true`, kept in the instance's history as
//!   `callbackConflict`, shown on its CallbackRegistry row). No row at all: a business error,
//!   unless `ttlSeconds` > 0 buffers the callback until a receive task registers that key.
//! - SignalProcessInstanceCommand never completes a webhook-mode receive task (`form_task`);
//!   it says to use ReturnCallbackCommand with the task's key.
//! - A start by a signed-in user holds `InitiatedBy` = their name (`initiated_by`).
//! - CorrelateMessageCommand reaches the oldest instance subscribed to the message name whose
//!   key matches (a missing key on either side matches any). With no subscriber it is buffered
//!   for `ttlSeconds`, or discarded when that is 0. A `messageId` seen before is a duplicate.
//! - A buffered entry is delivered after the step that opens a matching wait committed, by the
//!   same functions as a live one (`callback_to`, `offer_message`), as its own step claiming the
//!   entry: see `buffered`. Past its TTL it is Expired and never delivered.
//! - BroadcastSignalCommand reaches every subscribed instance.

use crate::commands::{self as c, input, output};
use crate::{
    buffered, opt_text, Answer, Caller, Code, Error, Extra, Runtime, Stepped, KEPT_CHANGING,
};
use baton_engine::{Engine, Event, Instance};
use baton_store::BufferedRow;
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering;

fn expires_at(now: &str, ttl: i64) -> Result<String, Error> {
    let now: jiff::Timestamp = now
        .parse()
        .map_err(|e| Error::internal(format!("clock: {e}")))?;
    let at = now
        .checked_add(jiff::SignedDuration::from_secs(ttl))
        .map_err(|_| Error::field("ttlSeconds", "ttlSeconds is too large".into()))?;
    Ok(format!("{at:.6}"))
}

impl Runtime {
    pub(crate) fn return_callback(&self, data: &Value, caller: &Caller) -> Answer {
        crate::ready(self.return_callback_in(crate::Wait::Thread, data, caller))
    }

    /// `return_callback`, its step waiting for its commit as `wait` says.
    pub(crate) async fn return_callback_in(
        &self,
        wait: crate::Wait,
        data: &Value,
        caller: &Caller,
    ) -> Answer {
        let data: c::ReturnCallbackInput = input(data)?;
        let key = data.correlation_key.as_str();
        let result = data.result.unwrap_or(json!({}));
        let ttl = data.ttl_seconds.unwrap_or(0);
        let pending = self.store().pending_callback(key)?;
        // Only a form-mode task waits on this key: it takes a form submission, not a callback.
        if let Some(row) = pending.as_ref().filter(|r| r.form_key.is_some()) {
            let latest = self.store().latest_callback(key)?;
            return match latest {
                Some(done) if done.status == "Completed" => self.duplicate_callback(key, done, &result),
                _ => Err(Error::rejected(format!(
                    "no task waits for a webhook callback with correlation key '{key}': task {} of instance {} waits on that key for a form submission (SignalProcessInstanceCommand)",
                    row.callback_task_id, row.parent_instance_id
                ))),
            };
        }
        if let Some(row) = pending {
            let guid = row.parent_instance_id;
            let delivered = self
                .callback_to_in(wait, &guid, key, result.clone(), caller, Extra::None)
                .await?;
            let s = match delivered {
                Callback::Stepped(s) => s,
                Callback::Duplicate(row) => return self.duplicate_callback(key, row, &result),
            };
            return output(
                "Callback processed",
                &c::ReturnCallbackOutput {
                    instance_guid: Some(guid),
                    status: Some(s.inst.status.as_str().into()),
                    callback_status: "Completed".into(),
                    buffer_id: None,
                    expires_at: None,
                    duplicate: false,
                    conflict: None,
                },
            );
        }
        let latest = self.store().latest_callback(key)?;
        match latest {
            Some(row) if row.status == "Completed" => self.duplicate_callback(key, row, &result),
            Some(row) if ttl == 0 => Err(Error::rejected(format!(
                "the callback for correlation key '{key}' is {} (task {} of instance {}); nothing waits for it",
                row.status, row.callback_task_id, row.parent_instance_id
            ))),
            None if ttl == 0 => Err(Error::not_found(format!(
                "no pending callback for correlation key '{key}'; send ttlSeconds to keep it until a receive task registers that key"
            ))),
            _ => {
                let now = self.now();
                let expires = expires_at(&now, ttl)?;
                let mut entry = BufferedRow {
                    id: 0,
                    kind: "callback".into(),
                    name: None,
                    correlation_key: Some(key.into()),
                    payload: buffered::keep(&result, caller),
                    message_id: None,
                    status: "Buffered".into(),
                    instance_guid: None,
                    created_at: now,
                    expires_at: expires,
                };
                let (k, payload, created, expires) = (
                    key.to_string(),
                    entry.payload.clone(),
                    entry.created_at.clone(),
                    entry.expires_at.clone(),
                );
                entry.id = self.write(move |tx| {
                    Ok(tx.buffer(
                        "callback",
                        None,
                        Some(&k),
                        &payload,
                        None,
                        &created,
                        &expires,
                    )?)
                })?;
                self.look_again(&entry);
                output(
                    "Callback buffered until a receive task registers its key",
                    &c::ReturnCallbackOutput {
                        instance_guid: None,
                        status: None,
                        callback_status: "Buffered".into(),
                        buffer_id: Some(entry.id),
                        expires_at: Some(entry.expires_at),
                        duplicate: false,
                        conflict: None,
                    },
                )
            }
        }
    }

    /// The one way a callback reaches the instance that waits on its key, live or buffered: a
    /// step in its own transaction, as `caller`, with `extra`'s exactly-once bookkeeping (a
    /// buffered entry's claim). A racing delivery of the same key that won makes it a
    /// duplicate.
    pub(crate) fn callback_to(
        &self,
        guid: &str,
        key: &str,
        data: Value,
        caller: &Caller,
        extra: Extra,
    ) -> Result<Callback, Error> {
        crate::ready(self.callback_to_in(crate::Wait::Thread, guid, key, data, caller, extra))
    }

    /// `callback_to`, its step waiting for its commit as `wait` says.
    async fn callback_to_in(
        &self,
        wait: crate::Wait,
        guid: &str,
        key: &str,
        data: Value,
        caller: &Caller,
        extra: Extra,
    ) -> Result<Callback, Error> {
        let event = Event::Callback {
            correlation_key: key.into(),
            data,
        };
        match self.step_in(wait, guid, event, caller, extra).await {
            Ok(s) => Ok(Callback::Stepped(s)),
            Err(e) if !e.is(Code::Internal) => {
                // Bind first: a guard in the match scrutinee would live through the arms.
                let latest = self.store().latest_callback(key)?;
                match latest {
                    Some(r) if r.status == "Completed" && r.parent_instance_id == guid => {
                        Ok(Callback::Duplicate(r))
                    }
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// After an entry was kept: an instance whose wait committed in between gets it now.
    fn look_again(&self, entry: &BufferedRow) {
        if let Err(e) = self.kept(entry) {
            tracing::warn!(
                buffer = entry.id,
                "a buffered entry was not delivered: {}",
                e.line()
            );
        }
    }

    /// The answer to a callback for a key whose webhook-mode task was completed already: it is
    /// not applied. A result other than the applied one (`ResultData`) is a conflict: answered
    /// with `conflict: true` and kept in the instance's history as `callbackConflict` (which the
    /// CallbackRegistry list reads back). An identical repeat is a plain duplicate.
    fn duplicate_callback(
        &self,
        key: &str,
        row: baton_store::CallbackRow,
        result: &Value,
    ) -> Answer {
        let status = self.instance_row(&row.parent_instance_id)?.status;
        let conflict = is_conflict(&row, result);
        let completed = row.completed_at.clone().unwrap_or_default();
        let message = if conflict {
            let now = self.now();
            let (k, kept, result) = (key.to_string(), row.clone(), result.clone());
            self.write(move |tx| keep_conflict(tx, &k, &kept, &result, &now))?;
            format!(
                "Conflicting duplicate callback: '{key}' was already completed at {completed} with another result; this result was not applied and is kept in the instance history ({CONFLICT})"
            )
        } else {
            format!(
                "Duplicate callback: '{key}' was already completed at {completed}; the instance was not resumed again"
            )
        };
        output(
            message,
            &c::ReturnCallbackOutput {
                instance_guid: Some(row.parent_instance_id),
                status: Some(status),
                callback_status: "Completed".into(),
                buffer_id: None,
                expires_at: None,
                duplicate: true,
                conflict: conflict.then_some(true),
            },
        )
    }

    /// Marks CallbackRegistry entries that received conflicting duplicates (`ConflictCount`,
    /// `LastConflictAt`, `ConflictingResult`), from the instances' `callbackConflict` history.
    fn mark_conflicts(&self, entries: &mut [c::CallbackRegistryEntry]) -> Result<(), Error> {
        let mut seen: std::collections::HashMap<String, Vec<(String, Value)>> =
            std::collections::HashMap::new();
        for entry in entries.iter_mut().filter(|e| e.status == "Completed") {
            if !seen.contains_key(&entry.parent_instance_id) {
                let rows = self.store().callback_conflicts(&entry.parent_instance_id)?;
                let rows = rows
                    .into_iter()
                    .filter_map(|(at, data)| Some((at, serde_json::from_str(&data).ok()?)))
                    .collect();
                seen.insert(entry.parent_instance_id.clone(), rows);
            }
            let mine: Vec<&(String, Value)> = seen[&entry.parent_instance_id]
                .iter()
                .filter(|(_, d)| d["callbackId"].as_i64() == Some(entry.id))
                .collect();
            if let Some((at, data)) = mine.last() {
                entry.conflict_count = Some(mine.len() as i64);
                entry.last_conflict_at = Some(at.clone());
                entry.conflicting_result = Some(data["result"].to_string());
            }
        }
        Ok(())
    }

    /// CorrelateMessageCommand.
    pub(crate) fn correlate(&self, data: &Value, caller: &Caller) -> Answer {
        let data: c::CorrelateMessageInput = input(data)?;
        let name = data.message_name.as_str();
        let key = data.correlation_key;
        let variables = data.variables.unwrap_or_default();
        let message_id = data.message_id.as_deref();
        let ttl = data.ttl_seconds.unwrap_or(0);
        // A repeated messageId answers what the first delivery answered, marked as a duplicate.
        let duplicate = |message_id: &str| -> Result<Option<(String, Value)>, Error> {
            let Some(outcome) = self.store().receipt(message_id)? else {
                return Ok(None);
            };
            let first: c::CorrelateMessageOutput =
                serde_json::from_str(&outcome).unwrap_or_default();
            let answer = output(
                format!("Duplicate message: messageId '{message_id}' was already received; nothing was delivered again"),
                &c::CorrelateMessageOutput { duplicate: true, ..first },
            )?;
            Ok(Some(answer))
        };
        // What a receipt keeps: the answer without `status` and `duplicate`.
        let receipt = |answer: &c::CorrelateMessageOutput| -> String {
            let mut v = serde_json::to_value(answer).unwrap_or(json!({}));
            if let Some(m) = v.as_object_mut() {
                m.remove("duplicate");
                m.remove("status");
            }
            v.to_string()
        };
        if let Some(id) = message_id {
            if let Some(answer) = duplicate(id)? {
                return Ok(answer);
            }
        }
        let subscribers = self.store().subscribers("message", name, key.as_deref())?;
        let extra = |guid: &str| match message_id {
            Some(id) => Extra::Receipt {
                message_id: id.to_string(),
                outcome: receipt(&c::CorrelateMessageOutput {
                    correlated: true,
                    instance_guid: Some(guid.to_string()),
                    ..Default::default()
                }),
            },
            None => Extra::None,
        };
        match self.offer_message(&subscribers, name, &key, &variables, caller, &extra) {
            Ok(Some((guid, s))) => {
                return output(
                    "Message correlated",
                    &c::CorrelateMessageOutput {
                        correlated: true,
                        instance_guid: Some(guid),
                        status: Some(s.inst.status.as_str().into()),
                        ..Default::default()
                    },
                )
            }
            Ok(None) => {}
            // A twin with the same messageId committed first.
            Err(e)
                if !e.is(Code::Internal)
                    && message_id
                        .is_some_and(|id| self.store().receipt(id).ok().flatten().is_some()) =>
            {
                return duplicate(message_id.unwrap_or_default())?
                    .ok_or_else(|| Error::conflict(KEPT_CHANGING));
            }
            Err(e) => return Err(e),
        }
        // A message start event of a deployed process (its newest version) starts an instance.
        for (def, engine) in self.latest_engines()? {
            if let Some((_, start)) = engine.starts_on("message", name).into_iter().next() {
                let outcome = receipt(&c::CorrelateMessageOutput {
                    correlated: true,
                    started: Some(true),
                    process_definition_id: Some(def),
                    ..Default::default()
                });
                let extra = match message_id {
                    Some(id) => Extra::Receipt {
                        message_id: id.to_string(),
                        outcome,
                    },
                    None => Extra::None,
                };
                let (guid, _, inst) = match self.start_process_instance(
                    def,
                    None,
                    Some(&start),
                    variables.clone(),
                    None,
                    key.clone(),
                    caller,
                    extra,
                ) {
                    Ok(r) => r,
                    Err(e)
                        if !e.is(Code::Internal)
                            && message_id.is_some_and(|id| {
                                self.store().receipt(id).ok().flatten().is_some()
                            }) =>
                    {
                        return duplicate(message_id.unwrap_or_default())?
                            .ok_or_else(|| Error::conflict(KEPT_CHANGING));
                    }
                    Err(e) => return Err(e),
                };
                return output(
                    "Message started a process instance",
                    &c::CorrelateMessageOutput {
                        correlated: true,
                        started: Some(true),
                        instance_guid: Some(guid),
                        status: Some(inst.status.as_str().into()),
                        ..Default::default()
                    },
                );
            }
        }
        let now = self.now();
        let (message, mut answer) = if ttl > 0 {
            (
                "Message buffered: no instance waits for it yet",
                c::CorrelateMessageOutput {
                    buffered: true,
                    expires_at: Some(expires_at(&now, ttl)?),
                    ..Default::default()
                },
            )
        } else {
            (
                "No instance waits for this message; it was discarded (ttlSeconds 0)",
                c::CorrelateMessageOutput::default(),
            )
        };
        let mut kept = None;
        {
            let mut store = self.writer();
            let tx = store.transaction()?;
            if let Some(id) = message_id {
                if !tx.record_receipt(id, &receipt(&answer), &now)? {
                    drop(tx);
                    drop(store);
                    return duplicate(id)?.ok_or_else(|| Error::conflict(KEPT_CHANGING));
                }
            }
            if let Some(expires) = &answer.expires_at {
                let mut entry = BufferedRow {
                    id: 0,
                    kind: "message".into(),
                    name: Some(name.into()),
                    correlation_key: key.clone(),
                    payload: buffered::keep(&Value::Object(variables), caller),
                    message_id: message_id.map(str::to_string),
                    status: "Buffered".into(),
                    instance_guid: None,
                    created_at: now.clone(),
                    expires_at: expires.clone(),
                };
                entry.id = tx.buffer(
                    "message",
                    Some(name),
                    key.as_deref(),
                    &entry.payload,
                    message_id,
                    &now,
                    expires,
                )?;
                answer.buffer_id = Some(entry.id);
                kept = Some(entry);
            }
            tx.commit()?;
        }
        if let Some(entry) = &kept {
            self.look_again(entry);
        }
        output(message, &answer)
    }

    /// The one way a message reaches a subscribed instance, live or buffered: offered to
    /// `guids` in order, each try a step in its own transaction, as `caller`, with the
    /// exactly-once bookkeeping `extra` gives for that instance (a live message's `messageId`
    /// receipt, a buffered entry's claim). An instance that refuses it, or no longer waits for
    /// it, passes it to the next. Answers the instance that took it; stops at any other
    /// failure (a duplicate included).
    pub(crate) fn offer_message(
        &self,
        guids: &[String],
        name: &str,
        key: &Option<String>,
        variables: &Map<String, Value>,
        caller: &Caller,
        extra: &dyn Fn(&str) -> Extra,
    ) -> Result<Option<(String, Stepped)>, Error> {
        for guid in guids {
            let event = Event::Message {
                name: name.into(),
                correlation_key: key.clone(),
                variables: variables.clone(),
            };
            match self.step_with(guid, event, caller, extra(guid)) {
                Ok(s) => return Ok(Some((guid.clone(), s))),
                // The subscription closed in between, or the instance refused: try the next one.
                Err(e)
                    if matches!(
                        e.code,
                        Code::Rejected | Code::Forbidden | Code::Invalid | Code::NotFound
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// BroadcastSignalCommand: every instance that listens for the signal.
    pub(crate) fn broadcast(&self, data: &Value, caller: &Caller) -> Answer {
        let data: c::BroadcastSignalInput = input(data)?;
        let name = data.signal_name.as_str();
        let variables = data.variables.unwrap_or_default();
        let resumed = self.signal_all(name, &variables, caller, None);
        let started = self.signal_starts(name, &variables, caller);
        output(
            "Signal broadcast",
            &c::BroadcastSignalOutput {
                instances: resumed,
                started,
            },
        )
    }

    /// Starts an instance of every deployed process (newest version) with a signal start event
    /// for `name`.
    fn signal_starts(
        &self,
        name: &str,
        variables: &serde_json::Map<String, Value>,
        caller: &Caller,
    ) -> Vec<String> {
        let mut started = Vec::new();
        for (def, engine) in self.latest_engines().unwrap_or_default() {
            for (_, start) in engine.starts_on("signal", name) {
                match self.start_process_instance(
                    def,
                    None,
                    Some(&start),
                    variables.clone(),
                    None,
                    None,
                    caller,
                    Extra::None,
                ) {
                    Ok((guid, _, _)) => started.push(guid),
                    Err(_) => tracing::info!(
                        definition = def,
                        start,
                        "a signal start event could not start"
                    ),
                }
            }
        }
        started
    }

    fn signal_all(
        &self,
        name: &str,
        variables: &serde_json::Map<String, Value>,
        caller: &Caller,
        except: Option<&str>,
    ) -> Vec<String> {
        let mut resumed = Vec::new();
        let subscribers = self
            .store()
            .subscribers("signal", name, None)
            .unwrap_or_default();
        for guid in subscribers
            .into_iter()
            .filter(|g| Some(g.as_str()) != except)
        {
            let event = Event::Signal {
                name: name.into(),
                variables: variables.clone(),
            };
            if self.step(&guid, event, caller).is_ok() {
                resumed.push(guid);
            }
        }
        resumed
    }

    /// GetCallbackRegistryListQuery: the rows of the instances the caller may read, each
    /// `ParentProcessState` reduced to a snapshot (`callback_entries`).
    pub(crate) fn callbacks(&self, data: &Value, caller: &Caller) -> Answer {
        let data: c::GetCallbackRegistryListInput = input(data)?;
        let status = data.status.as_deref();
        if let Some(s) = status {
            if !["Pending", "Completed", "Failed", "Expired"].contains(&s) {
                return Err(Error::field(
                    "status",
                    format!("status must be Pending, Completed, Failed or Expired, not '{s}'"),
                ));
            }
        }
        let filter = baton_store::CallbackFilter {
            status,
            instance: data.instance_guid.as_deref(),
            key_contains: data.correlation_key.as_deref(),
            process_key: data.process_key.as_deref(),
        };
        let paged = data.page_number.is_some() || data.page_size.is_some();
        let page = paged.then(|| (data.page_number.unwrap_or(1), data.page_size.unwrap_or(20)));
        let (rows, total) =
            self.store()
                .callback_page(&filter, self.viewer_of(caller).as_ref(), page)?;
        let mut entries = self.callback_entries(rows)?;
        self.mark_conflicts(&mut entries)?;
        let answer = if paged {
            c::GetCallbackRegistryListOutput::Page(c::Page {
                items: entries,
                total_count: total,
            })
        } else {
            c::GetCallbackRegistryListOutput::All(entries)
        };
        output("OK", &answer)
    }

    /// GetMessageBufferListQuery: buffered, correlated and expired messages and callbacks.
    pub(crate) fn buffer_list(&self, data: &Value, caller: &Caller) -> Answer {
        let status = opt_text(data, "status")?;
        if let Some(s) = status {
            if !["Buffered", "Correlated", "Expired"].contains(&s) {
                return Err(Error::field(
                    "status",
                    format!("status must be Buffered, Correlated or Expired, not '{s}'"),
                ));
            }
        }
        let now = self.now();
        self.write(move |tx| Ok(tx.expire_buffer(&now)?))?;
        let rows: Vec<BufferedRow> = self
            .store()
            .buffered(status, self.viewer_of(caller).as_ref())?
            .into_iter()
            .map(buffered::shown)
            .collect();
        Ok((
            "OK".into(),
            json!({"items": rows, "totalCount": rows.len()}),
        ))
    }

    /// Delivers the outbox: thrown signals to every other subscribed instance, thrown messages
    /// to the first other subscriber, commands queued by scripts (see `queued`). At least once:
    /// a row is marked delivered after its delivery committed, so a crash in between delivers it
    /// again on the next start (a queued command's recorded key stops it running twice). The
    /// first call after start also delivers what the buffer owes (`Runtime::deliver_buffered`).
    pub(crate) fn deliver_outbox(&self) {
        // Once after start: buffered entries whose wait committed before a stop (`buffered`).
        self.deliver_buffered_once();
        if self.delivering.swap(true, Ordering::AcqRel) {
            return; // the outer delivery loop picks up what nested commands queue
        }
        let system = Caller::owner();
        for _ in 0..10_000 {
            // A stopping scheduler leaves the rest pending for the next start (every row is
            // committed; delivering it later loses nothing).
            if self.wake.stopping() {
                break;
            }
            let rows = match self.store().pending_outbox(100) {
                Ok(r) if !r.is_empty() => r,
                _ => break,
            };
            for row in rows {
                if row.event == crate::queued::EVENT {
                    self.run_queued(&row);
                    continue;
                }
                let effect: Value = serde_json::from_str(&row.payload).unwrap_or(json!({}));
                let name = effect["name"].as_str().unwrap_or_default().to_string();
                let variables = effect["variables"].as_object().cloned().unwrap_or_default();
                let error = match row.event.as_str() {
                    "signalThrown" => {
                        self.signal_all(&name, &variables, &system, row.instance_guid.as_deref());
                        self.signal_starts(&name, &variables, &system);
                        None
                    }
                    "messageThrown" => {
                        let key = effect["correlationKey"].as_str().map(str::to_string);
                        let subscribers = self
                            .store()
                            .subscribers("message", &name, key.as_deref())
                            .unwrap_or_default();
                        let delivered = subscribers
                            .into_iter()
                            .filter(|g| Some(g.as_str()) != row.instance_guid.as_deref())
                            .any(|g| {
                                let event = Event::Message {
                                    name: name.clone(),
                                    correlation_key: key.clone(),
                                    variables: variables.clone(),
                                };
                                self.step(&g, event, &system).is_ok()
                            });
                        (!delivered).then(|| format!("no instance waits for message '{name}'"))
                    }
                    other => Some(format!("unknown outbox event '{other}'")),
                };
                let now = self.now();
                let id = row.id;
                // Undeliverable messages are kept as failed attempts, not retried in a loop.
                let marked = self
                    .write(move |tx| Ok(tx.outbox_attempt(id, &now, error.as_deref(), true)?));
                if let Err(e) = marked {
                    tracing::warn!(outbox = row.id, "could not mark the outbox row: {e}");
                }
            }
            self.outbox_batch_done();
        }
        self.delivering.store(false, Ordering::Release);
    }
}

/// Whether a buffered entry could be for this instance: it waits on a webhook-mode receive task
/// with a correlation key, or on a message.
pub(crate) fn may_drain(engine: &Engine, inst: &Instance) -> bool {
    if inst.status.is_ended() {
        return false;
    }
    engine.waiting(inst).iter().any(|w| {
        w.task_type == "receiveTask" && w.form_key.is_none() && w.correlation_key.is_some()
    }) || engine
        .subscriptions(inst)
        .iter()
        .any(|s| s.kind == "message")
}

/// The history kind that keeps a conflicting duplicate callback.
const CONFLICT: &str = "callbackConflict";

/// Whether a duplicate callback's result differs from the one applied to `row` (`ResultData`).
pub(crate) fn is_conflict(row: &baton_store::CallbackRow, result: &Value) -> bool {
    let applied: Option<Value> = row
        .result_data
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok());
    applied.as_ref() != Some(result)
}

/// Keeps a conflicting duplicate's payload in the instance's history (`callbackConflict`, which
/// the CallbackRegistry list reads back), in the caller's transaction. Live and buffered
/// duplicates both come here.
pub(crate) fn keep_conflict(
    tx: &baton_store::Tx,
    key: &str,
    row: &baton_store::CallbackRow,
    result: &Value,
    now: &str,
) -> Result<(), Error> {
    let kept = json!({
        "callbackId": row.id,
        "correlationKey": key,
        "result": result,
    });
    tx.history(
        &row.parent_instance_id,
        now,
        CONFLICT,
        Some(&row.callback_task_id),
        Some(&kept.to_string()),
    )?;
    tracing::warn!(
        instance = %row.parent_instance_id,
        key,
        "a duplicate callback carried a different result; it was not applied"
    );
    Ok(())
}

/// The task a SignalProcessInstanceCommand completes (seed 002): the named one, or the only
/// waiting userTask / receiveTask. A receive task in webhook mode (no form, a correlation key)
/// is refused: ReturnCallbackCommand with its key completes it. A receive task with neither a
/// form nor a key (nothing can call it back) still takes a signal. The answer names the task,
/// so the step completes exactly the task checked here whatever happens in between; an ended
/// instance, or one whose state cannot be read, is left to the step's own answer.
pub(crate) fn form_task(
    rt: &Runtime,
    guid: &str,
    task_id: Option<String>,
) -> Result<Option<String>, Error> {
    // The state this runtime committed last, when it has it: no read and no parse. A cached
    // state may be behind the stored one, so only its "go ahead" is taken as it is (the step
    // checks its task again on the state it applies to); a refusal is decided on the stored
    // state.
    let cached = rt.hot().peek(guid);
    if let Some((definition_id, inst)) = cached {
        let engine = rt.engine(definition_id)?;
        if let Ok(task) = decide_form_task(&engine, &inst, task_id.clone()) {
            return Ok(task);
        }
    }
    let row = rt.instance_row(guid)?;
    // A state that cannot be read is the step's to report (it raises the incident); that
    // step fails before it could complete anything.
    let Ok((engine, inst)) = rt.load(&row) else {
        return Ok(task_id);
    };
    decide_form_task(&engine, &inst, task_id)
}

/// `form_task`'s rule on one state of the instance.
fn decide_form_task(
    engine: &baton_engine::Engine,
    inst: &baton_engine::Instance,
    task_id: Option<String>,
) -> Result<Option<String>, Error> {
    if inst.status.is_ended() {
        return Ok(task_id);
    }
    let waiting: Vec<_> = engine
        .waiting(inst)
        .into_iter()
        .filter(|w| w.task_type == "userTask" || w.task_type == "receiveTask")
        .collect();
    let refuse = |w: &baton_engine::Waiting| -> Result<(), Error> {
        match (&w.correlation_key, &w.form_key) {
            (Some(key), None) if w.task_type == "receiveTask" => Err(Error::rejected(format!(
                "task '{}' is a receive task in webhook mode (no form) waiting for correlation key '{key}': only ReturnCallbackCommand with correlationKey '{key}' completes it; SignalProcessInstanceCommand submits forms (userTask, receiveTask with a form)",
                w.task_id
            ))),
            _ => Ok(()),
        }
    };
    match task_id {
        Some(id) => {
            if let Some(w) = waiting.iter().find(|w| w.task_id == id) {
                refuse(w)?;
            }
            Ok(Some(id))
        }
        None => match waiting.as_slice() {
            [one] => {
                refuse(one)?;
                Ok(Some(one.task_id.clone()))
            }
            [] => Err(Error::rejected("no task is waiting")),
            many => Err(Error::rejected(format!(
                "{} tasks are waiting ({}); say which one with taskId",
                many.len(),
                many.iter()
                    .map(|w| w.task_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        },
    }
}

/// The variable that holds who started an instance (seed 000's process authorization reads
/// it with `execution.getVariable('InitiatedBy')`).
pub(crate) const INITIATED_BY: &str = "InitiatedBy";

/// A start's variables with `InitiatedBy`: the signed-in caller's user name, always (a value
/// the start's variables carry is replaced, so nobody starts as someone else). A start without
/// a user (the desktop owner, the CLI, and Baton's own starts: timer start events, incoming
/// webhooks' execution code, jobs, thrown signals) keeps the value its variables carry, if
/// any, and otherwise has none.
pub(crate) fn initiated_by(
    mut vars: serde_json::Map<String, Value>,
    caller: &Caller,
) -> serde_json::Map<String, Value> {
    if let Some(user) = &caller.user {
        vars.insert(INITIATED_BY.into(), Value::String(user.name.clone()));
    }
    vars
}

/// How a callback delivery ended.
pub(crate) enum Callback {
    Stepped(Stepped),
    /// A delivery of the same key completed the task first: this one is a duplicate.
    Duplicate(baton_store::CallbackRow),
}
