//! A timer start event whose start fails: attempts with a back-off, then an incident of the start
//! event (docs/scheduling.md "When a timer start event fails" says it for users).
//!
//! A start fails when Baton cannot start the instance at all: its first step panics (a bug),
//! the stored definition cannot be read, the disk refuses the write. (A script that throws in
//! the first step is not such a failure: the instance starts and holds an incident at the
//! script task, like any instance.)
//!
//! - Each failed attempt counts on the start event's timer row (`failures`; GetTimerListQuery
//!   shows the attempts left as `retries` and the error as `lastError`, as Camunda shows a
//!   job's retries and exception message). The error is in words fit to show: an internal
//!   failure is only "internal error; reference R", the reference of the log line that holds
//!   the detail.
//! - The start event's `failedJobRetryTimeCycle` says how many attempts and how far apart
//!   (`baton_engine::retry`); without it, 3 attempts, the second a minute after the first fails,
//!   the third 5 minutes after the second. The repetition keeps its phase: the row remembers
//!   the due time it stands for, and a later success goes on from there.
//! - After the last attempt the row leaves the timer table (the start event stops firing) and
//!   the start event gets an incident with no instance: GetIncidentListQuery lists it with
//!   `kind: "timerStart"`, `processDefinitionId`, `processKey` and `elementId`.
//! - RetryIncidentCommand with `processDefinitionId` and `elementId` (administrators, as for
//!   deploying) resolves it and makes one attempt at once, in the command, answering the
//!   instance it started. Before that attempt the row is put back a minute ahead with one
//!   attempt left, so a stop in between loses nothing; if the attempt fails, the incident opens
//!   again with the new error.
//! - Deploying a new version of the process resolves it as `replaced` (the new version's timer
//!   start events replace the old one's).
//! - A start put off by the start rate (`RATE_LIMITED`) is not a failure: it is tried again a
//!   minute later and the attempt does not count.

use super::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// How long a retried incident's row is put off, should Baton stop before its attempt ends.
const RETRY_FALLBACK: jiff::SignedDuration = jiff::SignedDuration::from_mins(1);

impl Runtime {
    /// A timer start event's attempt (its row as fired) failed with `e`: counts it and tries
    /// again after the back-off, or after the last attempt opens the start event's incident.
    /// Answers `e` as callers may see it (an internal error is logged under the reference its
    /// stored words name).
    pub(crate) fn start_failed(&self, row: &TimerRow, now: Timestamp, e: Error) -> Error {
        let e = e.public();
        let error = e.line();
        let def = row.definition_id.unwrap_or_default();
        let element = row.element_id.clone().unwrap_or_default();
        let failures = row.failures + 1;
        let cycle = self.start_retry(def, &element);
        let outcome = if failures < i64::from(cycle.attempts()) {
            let later = due_text(now + cycle.wait_after(failures));
            tracing::warn!(
                definition = def,
                element = %element,
                attempt = failures,
                "a timer start event could not start an instance: {error}; trying again at {later}"
            );
            let (el, err) = (element.clone(), error.clone());
            self.write(move |tx| {
                tx.retry_start_timer(def, &el, &later, Some((failures, &err)))?;
                Ok(())
            })
        } else {
            let planned = row.planned_at.clone().unwrap_or_else(|| row.due_at.clone());
            let message = format!(
                "Timer start event '{element}' stopped after {failures} failed attempts to start an instance; the last one failed with: {error}. RetryIncidentCommand with this processDefinitionId and elementId tries it again; deploying a new version replaces it"
            );
            let (el, err, fired, at) = (element.clone(), error.clone(), row.fired, self.now());
            let opened = self.write(move |tx| {
                Ok(tx.open_start_incident(
                    def, &el, &message, &err, &planned, fired, failures, &at,
                )?)
            });
            if let Ok(Some(id)) = opened {
                tracing::warn!(
                    definition = def,
                    element = %element,
                    incident = id,
                    "a timer start event failed {failures} times and stopped firing: {error}; it has an incident"
                );
            }
            opened.map(|_| ())
        };
        if let Err(w) = outcome {
            tracing::error!(
                definition = def,
                element = %element,
                "and its failure could not be recorded: {}",
                w.line()
            );
        }
        e
    }

    /// How timer start event `element` of definition `def` is tried again: its model's cycle,
    /// or the default when the definition cannot be read (which may be why it failed).
    pub(crate) fn start_retry(&self, def: i64, element: &str) -> RetryCycle {
        self.engine(def)
            .map(|e| e.start_retry(element))
            .unwrap_or_default()
    }

    /// RetryIncidentCommand on the incident of timer start event `element` of definition
    /// `def`: resolves it and makes one attempt now, starting the instance with `variables`.
    /// Answers the instance; if the attempt fails, the incident is open again (with the new
    /// error) and the failure is answered.
    pub(crate) fn retry_start_incident(
        &self,
        def: i64,
        element: &str,
        variables: Map<String, Value>,
        caller: &Caller,
    ) -> Result<(String, Arc<Engine>, Instance), Error> {
        if !caller.admin {
            return Err(Error::forbidden(format!(
                "retrying the incident of a timer start event needs an administrator; {} is not one",
                caller.name()
            )));
        }
        let now = self.clock.now();
        // If Baton stops before the attempt below is done, the scheduler makes it then.
        let fallback = due_text(now + RETRY_FALLBACK);
        let last_try = i64::from(self.start_retry(def, element).attempts()) - 1;
        let (el, at, later) = (element.to_string(), self.now(), fallback.clone());
        let incident = self.write(move |tx| {
            let Some(incident) = tx.resolve_start_incident(def, &el, "retried", &at)? else {
                return Ok(None);
            };
            tx.set_start_timer(def, &el, Some(&incident.due_at), incident.fired)?;
            let last = Some((last_try, incident.last_error.as_str()));
            tx.retry_start_timer(def, &el, &later, last)?;
            Ok(Some(incident))
        })?;
        let Some(incident) = incident else {
            return Err(Error::no_such(
                "elementId",
                format!(
                    "timer start event '{element}' of process definition {def} has no open incident"
                ),
            ));
        };
        tracing::info!(
            definition = def,
            element,
            incident = incident.id,
            "the incident of a timer start event is retried"
        );
        let row = TimerRow {
            id: 0,
            kind: "start".into(),
            instance_guid: None,
            definition_id: Some(def),
            element_id: Some(element.to_string()),
            job_id: None,
            due_at: fallback,
            fired: incident.fired,
            failures: last_try,
            last_error: Some(incident.last_error),
            planned_at: Some(incident.due_at),
        };
        let attempt = catch_unwind(AssertUnwindSafe(|| self.fire_start(&row, now, variables)))
            .unwrap_or_else(|panic| {
                Err(Error::internal(format!(
                    "firing it panicked: {}",
                    crate::isolation::panic_text(&*panic)
                )))
            });
        match attempt {
            Ok(Some(started)) => Ok(started),
            Ok(None) => Err(Error::rejected(format!(
                "a newer version of process definition {def} replaced timer start event '{element}'"
            ))),
            // Put off, not failed: the row is tried a minute from now.
            Err(e) if e.is(Code::RateLimited) => Err(e),
            Err(e) => Err(self.start_failed(&row, now, e)),
        }
    }

    /// The incidents of timer start events as GetIncidentListQuery lists them: no
    /// `instanceGuid`, and `kind`, `processDefinitionId`, `processKey`, `attempts` and
    /// `resolution` beside the fields of an instance's incident.
    pub(crate) fn start_incident_items(&self, open_only: bool) -> Result<Vec<Value>, Error> {
        let rows = self.store().start_incidents(open_only)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "instanceGuid": null,
                    "elementId": r.element_id,
                    "message": r.message,
                    "createdAt": r.created_at,
                    "resolvedAt": r.resolved_at,
                    "kind": "timerStart",
                    "processDefinitionId": r.definition_id,
                    "processKey": r.process_key,
                    "attempts": r.failures,
                    "resolution": r.resolution,
                })
            })
            .collect())
    }
}
