//! The writes of one engine step: what is made before the step joins a group commit
//! (`Prepared`), and what `write_step` writes inside it (state, effects, history, indexes).

use crate::{callback_notify, events, queued, Caller, Error, Extra, Indexed, Target};
use baton_engine::{Effect, Engine, Instance};
use baton_store::{InstanceRow, StepEvent, StepRow, Tx};
use serde_json::{Map, Value};

/// What `write_step` wrote: whether the outbox got rows, the earliest timer due and the delivery
/// due it wrote (to wake the scheduler and the sender).
pub(crate) type Written = (bool, Option<String>, Option<String>);

/// What a step writes that does not depend on its transaction: the serialised state, the
/// indexes after the step, the variables it changed and its history row.
pub(crate) struct Prepared {
    state: String,
    after: Indexed,
    change: Option<Value>,
    history: Option<StepRow>,
}

impl Prepared {
    pub(crate) fn of(
        engine: &Engine,
        inst: &Instance,
        effects: &[Effect],
        guid: &str,
        now: &str,
        before: &Indexed,
    ) -> Result<Prepared, Error> {
        let state = serde_json::to_string(inst).map_err(|e| Error::internal(e.to_string()))?;
        let after = Indexed::of(engine, inst, guid, now);
        let change = variable_changes(&before.vars, &after.vars);
        // One entry per step with every variable it changed, before the step's element events
        // (for a new instance: the variables it starts with); the step is one history row.
        let mut history = Vec::with_capacity(effects.len() + 1);
        if let Some(change) = &change {
            history.push(StepEvent {
                kind: "variablesChanged",
                element_id: None,
                data: Some(change.to_string()),
            });
        }
        history_events(effects, &mut history);
        Ok(Prepared {
            state,
            after,
            change,
            history: StepRow::of(&history)?,
        })
    }
}

/// The writes of one step, inside the group commit's savepoint for it. `prepared` was made
/// from `inst` and `effects`. `stopped`: the instance may have an open internal incident (see
/// `isolation`): then the store is asked, and while it is open the instance stays `FAILED`
/// unless this step retries it (`Extra::Retry`) or ends the instance, which resolve it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_step(
    tx: &Tx,
    target: &Target,
    engine: &Engine,
    inst: &Instance,
    effects: &[Effect],
    before: &Indexed,
    prepared: &Prepared,
    caller: &Caller,
    extra: &Extra,
    now: &str,
    events: Option<crate::Environment>,
    stopped: bool,
) -> Result<Written, Error> {
    let guid = target.guid().to_string();
    let rev = queued::next_rev(match &target {
        Target::Update { rev, .. } => Some(*rev),
        Target::Insert(_) => None,
    });
    if let Extra::Receipt {
        message_id,
        outcome,
    } = extra
    {
        if !tx.record_receipt(message_id, outcome, now)? {
            return Err(Error::duplicate(format!(
                "duplicate messageId '{message_id}'"
            )));
        }
    }
    // A buffered entry is consumed by the step that applies it, before anything is written.
    if let Extra::Claim { buffer_id } = extra {
        if !tx.claim_buffered(*buffer_id, &guid, now)? {
            return Err(Error::duplicate(format!(
                "buffered entry {buffer_id} was already taken or its TTL ran out"
            )));
        }
    }
    let Prepared {
        state,
        after,
        change,
        history,
    } = prepared;
    let ended = inst.status.is_ended().then_some(now);
    let stopped = stopped && tx.has_internal_incident(&guid)?;
    let retry = matches!(extra, Extra::Retry);
    let status = if stopped && !retry && ended.is_none() {
        "FAILED"
    } else {
        inst.status.as_str()
    };
    if stopped && (retry || ended.is_some()) {
        tx.resolve_internal_incident(&guid, now)?;
    }
    match target {
        Target::Insert(row) => {
            let row = InstanceRow {
                status: inst.status.as_str().into(),
                state: state.clone(),
                ended_at: ended.map(str::to_string),
                ..row.clone()
            };
            tx.insert_instance(&row)?;
        }
        Target::Update { rev, .. } => tx.update_instance(&guid, *rev, status, state, ended)?,
    }
    if let Extra::Hook {
        number_request: true,
        ..
    } = extra
    {
        tx.number_request(&guid)?;
    }
    if let Extra::Subscribe(subs) = extra {
        for (url, events, secret) in subs {
            tx.insert_event_subscription(url, events, None, Some(&guid), secret, now)?;
        }
    }
    let (queued, notified) = record_effects(tx, engine, &guid, state, effects, now)?;
    let queued = queued | queued::record(tx, &guid, rev, caller, effects, now)?;
    if let Some(row) = &history {
        tx.history_row(&guid, now, row)?;
    }
    if let Extra::Hook { acted, element, .. } = extra {
        tx.history(&guid, now, "actedBy", element.as_deref(), Some(acted))?;
    }
    // Events out, in this same transaction: a committed step has its deliveries, a rolled-back
    // one has none.
    let sent = if let Some(environment) = events {
        let step = events::StepEvents {
            engine,
            inst,
            guid: &guid,
            before,
            after,
            change: change.as_ref(),
            effects,
            now,
            environment,
        };
        events::enqueue(tx, &step)?.then(|| now.to_string())
    } else {
        None
    };
    // A callback notification (`WebhookUrl`) wakes the sender as any delivery does.
    let sent = sent.or_else(|| notified.then(|| now.to_string()));
    if after.subs != before.subs {
        tx.replace_subscriptions(&guid, &after.subs)?;
    }
    // The stored inbox rows are those of `before`: the write of the state it was read from
    // wrote them, and the revision check above proved nobody wrote since.
    let (gone, added, reassigned) = after.task_changes(before);
    if !gone.is_empty() || !added.is_empty() || !reassigned.is_empty() {
        tx.change_user_tasks(&guid, &gone, &added, &reassigned)?;
    }
    if before.incidents {
        let still = engine.incidents(inst);
        let open: Vec<&str> = still.iter().map(|i| i.element_id.as_str()).collect();
        tx.resolve_incidents(&guid, &open, now)?;
    }
    let mut wake = None;
    if after.timer != before.timer || matches!(extra, Extra::Timers | Extra::Retry) {
        tx.set_instance_timer(&guid, after.timer.as_deref())?;
        wake = after.timer.clone();
    }
    if let Extra::StartTimer {
        definition_id,
        element_id,
        next,
        fired,
    } = extra
    {
        tx.set_start_timer(*definition_id, element_id, next.as_deref(), *fired)?;
        wake = match (wake, next.clone()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok((queued, wake, sent))
}

/// What a step changed in the process-level variables: `{"changed": {name: value}, "removed":
/// [names]}`, or None when nothing changed.
fn variable_changes(before: &Map<String, Value>, after: &Map<String, Value>) -> Option<Value> {
    let changed: Map<String, Value> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let removed: Vec<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    (!changed.is_empty() || !removed.is_empty())
        .then(|| serde_json::json!({"changed": changed, "removed": removed}))
}

/// The history events of a step's effects, in order (see `baton_store::StepEvent`).
fn history_events<'a>(effects: &'a [Effect], history: &mut Vec<StepEvent<'a>>) {
    for e in effects {
        let (element, data) = match e {
            Effect::ElementEntered { element_id }
            | Effect::ElementCompleted { element_id }
            | Effect::ElementCancelled { element_id } => (Some(element_id.as_str()), None),
            Effect::TaskWaiting { task_id, .. }
            | Effect::CallbackRegistered { task_id, .. }
            | Effect::CallbackCompleted { task_id, .. }
            | Effect::CallbackClosed { task_id, .. }
            | Effect::TaskAssigned { task_id, .. } => {
                (Some(task_id.as_str()), serde_json::to_string(e).ok())
            }
            Effect::TimerScheduled { element_id, .. }
            | Effect::MessageThrown { element_id, .. }
            | Effect::SignalThrown { element_id, .. }
            | Effect::IncidentRaised { element_id, .. }
            | Effect::AttemptFailed { element_id, .. }
            | Effect::CommandQueued { element_id, .. } => {
                (Some(element_id.as_str()), serde_json::to_string(e).ok())
            }
            Effect::Ended { .. } => (None, serde_json::to_string(e).ok()),
        };
        history.push(StepEvent {
            kind: e.kind(),
            element_id: element,
            data,
        });
    }
}

/// Writes what an engine step produced besides its history: callback rows (with the
/// notification of a completed callback's `WebhookUrl`, see `callback_notify`), incidents and
/// outbox rows, in the caller's transaction. Answers whether anything went to the outbox, and
/// whether a callback notification was written.
fn record_effects(
    tx: &Tx,
    engine: &Engine,
    guid: &str,
    state: &str,
    effects: &[Effect],
    now: &str,
) -> Result<(bool, bool), Error> {
    let (mut queued, mut notified) = (false, false);
    for e in effects {
        match e {
            Effect::CallbackRegistered {
                task_id,
                correlation_key,
                message,
                form,
                timeout_minutes,
                webhook_url,
            } => {
                tx.register_callback(
                    guid,
                    task_id,
                    correlation_key.as_deref(),
                    message.as_deref(),
                    form.as_deref(),
                    webhook_url.as_deref(),
                    *timeout_minutes,
                    Some(state),
                    now,
                )?;
            }
            Effect::CallbackCompleted {
                task_id,
                correlation_key,
                result,
            } => {
                let url = tx.complete_callback(guid, task_id, &result.to_string(), now)?;
                if let Some(Some(url)) = url {
                    let done = callback_notify::Completed {
                        guid,
                        task_id,
                        correlation_key: correlation_key.as_deref(),
                        result,
                        at: now,
                    };
                    // The task's own secret, when it names one (`WebhookSecretName`).
                    let secret = engine.deployment.node_by_id(task_id).and_then(|n| {
                        engine
                            .deployment
                            .node(n)
                            .spec
                            .webhook_secret_name
                            .as_deref()
                    });
                    callback_notify::enqueue(tx, &url, &done, secret)?;
                    notified = true;
                }
            }
            Effect::CallbackClosed {
                task_id, status, ..
            } => {
                let status = if *status == "Expired" {
                    "Expired"
                } else {
                    "Failed"
                };
                tx.close_callback(guid, task_id, status, None, now)?;
            }
            Effect::IncidentRaised {
                element_id,
                message,
            } => tx.open_incident(guid, element_id, message, now)?,
            Effect::MessageThrown { .. } | Effect::SignalThrown { .. } => {
                let data = serde_json::to_string(e).ok();
                tx.enqueue(Some(guid), e.kind(), data.as_deref().unwrap_or("{}"), now)?;
                queued = true;
            }
            _ => {}
        }
    }
    Ok((queued, notified))
}
