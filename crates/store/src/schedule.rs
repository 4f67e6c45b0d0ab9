//! The durable timer table and the recurring jobs (schema v4), and the incidents of timer start
//! events (schema v17).
//!
//! One table holds everything that must happen at a time: the earliest BPMN timer of each
//! instance (`instance`), the next firing of each timer start event of a deployed definition
//! (`start`), and the next run of each active recurring job (`job`). The scheduler asks for the
//! earliest `due_at` and sleeps until then; firing a row and writing its successor happen in
//! the same transaction as the step they cause.
//!
//! A start row whose firing failed counts its `failures` and keeps its `last_error`; while it
//! waits for its next attempt, `planned_at` keeps the due time of the repetition it stands for
//! (so a cycle keeps its phase). After its last attempt the row leaves the table and a
//! `start_incidents` row (an incident with no instance) keeps what is needed to put it back.

use crate::{Result, Store, Tx};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

/// One due-or-future timer.
#[derive(Debug, Clone, PartialEq)]
pub struct TimerRow {
    pub id: i64,
    /// `instance`, `start` or `job`.
    pub kind: String,
    pub instance_guid: Option<String>,
    pub definition_id: Option<i64>,
    pub element_id: Option<String>,
    pub job_id: Option<i64>,
    pub due_at: String,
    /// How many times a start timer's cycle has fired.
    pub fired: i64,
    /// A start row: its failed attempts since it last fired (0 for the other kinds).
    pub failures: i64,
    /// A start row: the error of its last failed attempt, in words fit to show.
    pub last_error: Option<String>,
    /// A start row waiting for another attempt: the due time of the repetition it stands for
    /// (`due_at` is when it is tried again).
    pub planned_at: Option<String>,
}

fn timer_row(r: &rusqlite::Row) -> rusqlite::Result<TimerRow> {
    Ok(TimerRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        instance_guid: r.get(2)?,
        definition_id: r.get(3)?,
        element_id: r.get(4)?,
        job_id: r.get(5)?,
        due_at: r.get(6)?,
        fired: r.get(7)?,
        failures: r.get(8)?,
        last_error: r.get(9)?,
        planned_at: r.get(10)?,
    })
}

const TIMER_COLUMNS: &str =
    "id, kind, instance_guid, definition_id, element_id, job_id, due_at, fired,
     failures, last_error, planned_at";

/// An incident of a timer start event: it failed its last attempt to start an instance and
/// stopped firing. It belongs to the definition's start event, not to an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct StartIncidentRow {
    /// Numbered with the instances' incidents (one list, no id twice).
    pub id: i64,
    pub definition_id: i64,
    pub process_key: String,
    pub element_id: String,
    pub message: String,
    /// The error of the last attempt (also inside `message`).
    pub last_error: String,
    /// The due time of the repetition that failed, and how many times the cycle had fired:
    /// what a retry goes on from.
    pub due_at: String,
    pub fired: i64,
    /// Attempts made before it stopped.
    pub failures: i64,
    pub created_at: String,
    pub resolved_at: Option<String>,
    /// `retried` or `replaced` (a newer version was deployed) once resolved.
    pub resolution: Option<String>,
}

fn start_incident_row(r: &rusqlite::Row) -> rusqlite::Result<StartIncidentRow> {
    Ok(StartIncidentRow {
        id: r.get(0)?,
        definition_id: r.get(1)?,
        process_key: r.get(2)?,
        element_id: r.get(3)?,
        message: r.get(4)?,
        last_error: r.get(5)?,
        due_at: r.get(6)?,
        fired: r.get(7)?,
        failures: r.get(8)?,
        created_at: r.get(9)?,
        resolved_at: r.get(10)?,
        resolution: r.get(11)?,
    })
}

const START_INCIDENT_SELECT: &str =
    "SELECT i.id, i.definition_id, d.process_key, i.element_id, i.message, i.last_error,
        i.due_at, i.fired, i.failures, i.created_at, i.resolved_at, i.resolution
     FROM start_incidents i JOIN definitions d ON d.id = i.definition_id";

/// A recurring job as stored; `config` is the JSON of its execution fields.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub id: i64,
    pub name: String,
    pub cron_expression: String,
    pub time_zone: String,
    pub execution_type: i64,
    pub config: String,
    pub is_active: bool,
    pub misfire_policy: String,
    pub overlap_policy: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub last_run_at: Option<String>,
    /// From the timer table: when it runs next (None when inactive or never again).
    pub next_run_at: Option<String>,
}

fn job_row(r: &rusqlite::Row) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        id: r.get(0)?,
        name: r.get(1)?,
        cron_expression: r.get(2)?,
        time_zone: r.get(3)?,
        execution_type: r.get(4)?,
        config: r.get(5)?,
        is_active: r.get(6)?,
        misfire_policy: r.get(7)?,
        overlap_policy: r.get(8)?,
        created_by: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
        last_run_at: r.get(12)?,
        next_run_at: r.get(13)?,
    })
}

const JOB_SELECT: &str = "SELECT j.id, j.name, j.cron_expression, j.time_zone, j.execution_type, j.config, j.is_active,
        j.misfire_policy, j.overlap_policy, j.created_by, j.created_at, j.updated_at, j.last_run_at, t.due_at
     FROM recurring_jobs j LEFT JOIN timers t ON t.kind = 'job' AND t.job_id = j.id";

/// The fields a job is created or updated with.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub name: &'a str,
    pub cron_expression: &'a str,
    pub time_zone: &'a str,
    pub execution_type: i64,
    pub config: &'a str,
    pub is_active: bool,
    pub misfire_policy: &'a str,
    pub overlap_policy: &'a str,
}

/// One run of a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRow {
    pub id: i64,
    pub job_id: i64,
    /// `schedule`, `misfire` (a late run after Baton was closed), `manual` or `queued`.
    pub trigger: String,
    pub scheduled_for: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// `Running`, `Succeeded`, `Failed`, `Skipped` or `Interrupted`.
    pub status: String,
    pub result: Option<String>,
    pub error: Option<String>,
}

impl Store {
    /// Timers due at or before `now`, earliest first.
    pub fn due_timers(&self, now: &str, limit: i64) -> Result<Vec<TimerRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {TIMER_COLUMNS} FROM timers WHERE due_at <= ?1 ORDER BY due_at, id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![now, limit], timer_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The earliest due time of all timers (an index lookup, whatever the table holds).
    pub fn next_due(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT MIN(due_at) FROM timers")?
            .query_row([], |r| r.get(0))?)
    }

    pub fn timer_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM timers", [], |r| r.get(0))?)
    }

    pub fn timer(&self, id: i64) -> Result<Option<TimerRow>> {
        Ok(self
            .conn
            .prepare_cached(&format!("SELECT {TIMER_COLUMNS} FROM timers WHERE id = ?1"))?
            .query_row(params![id], timer_row)
            .optional()?)
    }

    /// Every timer of a kind (tests and the instance view).
    /// A page of pending timers, earliest first, optionally of one kind or one instance, and
    /// how many match in all.
    /// A viewer (None: everything) sees the timers of the instances they may read, and every
    /// start and job timer.
    pub fn timers(
        &self,
        kind: Option<&str>,
        guid: Option<&str>,
        viewer: Option<&crate::Viewer>,
        page: i64,
        size: i64,
    ) -> Result<(Vec<TimerRow>, i64)> {
        let (size, offset) = crate::page_window(page, size);
        let scope = self.scope(viewer)?;
        let filter = format!(
            "(?5 IS NULL OR kind = ?5) AND (?6 IS NULL OR instance_guid = ?6)
             AND (instance_guid IS NULL OR {})",
            crate::access::readable("instance_guid")
        );
        let total: i64 = self.conn.query_row(
            &format!("SELECT COUNT(*) FROM timers WHERE {filter}"),
            params![scope.all, scope.user, scope.teams, scope.tasks, kind, guid],
            |r| r.get(0),
        )?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {TIMER_COLUMNS} FROM timers WHERE {filter} ORDER BY due_at, id LIMIT ?7 OFFSET ?8"
        ))?;
        let rows = stmt.query_map(
            params![
                scope.all,
                scope.user,
                scope.teams,
                scope.tasks,
                kind,
                guid,
                size,
                offset
            ],
            timer_row,
        )?;
        Ok((rows.collect::<rusqlite::Result<_>>()?, total))
    }

    /// The incidents of timer start events (only open ones, or all), oldest first.
    pub fn start_incidents(&self, open_only: bool) -> Result<Vec<StartIncidentRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{START_INCIDENT_SELECT} WHERE (NOT ?1 OR i.resolved_at IS NULL) ORDER BY i.id"
        ))?;
        let rows = stmt.query_map(params![open_only], start_incident_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The open incident of a definition's timer start event, if it has one.
    pub fn start_incident(
        &self,
        definition_id: i64,
        element_id: &str,
    ) -> Result<Option<StartIncidentRow>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "{START_INCIDENT_SELECT} WHERE i.definition_id = ?1 AND i.element_id = ?2 AND i.resolved_at IS NULL"
            ))?
            .query_row(params![definition_id, element_id], start_incident_row)
            .optional()?)
    }

    pub fn job(&self, id: i64) -> Result<Option<JobRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("{JOB_SELECT} WHERE j.id = ?1"),
                params![id],
                job_row,
            )
            .optional()?)
    }

    pub fn jobs(&self) -> Result<Vec<JobRow>> {
        let mut stmt = self.conn.prepare(&format!("{JOB_SELECT} ORDER BY j.id"))?;
        let rows = stmt.query_map([], job_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A job's runs, newest first.
    pub fn job_runs(&self, job_id: i64, limit: i64) -> Result<Vec<RunRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, job_id, trigger, scheduled_for, started_at, finished_at, status, result, error
             FROM recurring_job_runs WHERE job_id = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![job_id, limit], |r| {
            Ok(RunRow {
                id: r.get(0)?,
                job_id: r.get(1)?,
                trigger: r.get(2)?,
                scheduled_for: r.get(3)?,
                started_at: r.get(4)?,
                finished_at: r.get(5)?,
                status: r.get(6)?,
                result: r.get(7)?,
                error: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl Tx<'_> {
    /// Sets (or, with None, removes) an instance's timer row: its earliest pending BPMN timer.
    pub fn set_instance_timer(&self, guid: &str, due: Option<&str>) -> Result<()> {
        match due {
            Some(due) => self
                .tx
                .prepare_cached(
                    "INSERT INTO timers (kind, instance_guid, due_at) VALUES ('instance', ?1, ?2)
                     ON CONFLICT (instance_guid) WHERE kind = 'instance' DO UPDATE SET due_at = excluded.due_at",
                )?
                .execute(params![guid, due])?,
            None => self.tx.prepare_cached("DELETE FROM timers WHERE kind = 'instance' AND instance_guid = ?1")?.execute(params![guid])?,
        };
        Ok(())
    }

    /// Sets (or removes) the next firing of a timer start event. A row set here starts with
    /// no failures (it fired, or it was deployed or retried).
    pub fn set_start_timer(
        &self,
        definition_id: i64,
        element_id: &str,
        due: Option<&str>,
        fired: i64,
    ) -> Result<()> {
        match due {
            Some(due) => self.tx.execute(
                "INSERT INTO timers (kind, definition_id, element_id, due_at, fired) VALUES ('start', ?1, ?2, ?3, ?4)
                 ON CONFLICT (definition_id, element_id) WHERE kind = 'start' DO UPDATE SET due_at = excluded.due_at,
                     fired = excluded.fired, failures = 0, last_error = NULL, planned_at = NULL",
                params![definition_id, element_id, due, fired],
            )?,
            None => self.tx.execute(
                "DELETE FROM timers WHERE kind = 'start' AND definition_id = ?1 AND element_id = ?2",
                params![definition_id, element_id],
            )?,
        };
        Ok(())
    }

    /// Moves a timer start event's row to another attempt at `retry_at`, keeping the due time
    /// of the repetition it stands for. With `failure` (the attempt's failures so far and its
    /// error) the attempt counts; without (it was only put off, e.g. by the start rate) it
    /// does not. Answers whether the row still exists (a deploy may have replaced it).
    pub fn retry_start_timer(
        &self,
        definition_id: i64,
        element_id: &str,
        retry_at: &str,
        failure: Option<(i64, &str)>,
    ) -> Result<bool> {
        let (failures, error) = failure.unzip();
        Ok(self.tx.execute(
            "UPDATE timers SET planned_at = COALESCE(planned_at, due_at), due_at = ?3,
                 failures = COALESCE(?4, failures), last_error = COALESCE(?5, last_error)
             WHERE kind = 'start' AND definition_id = ?1 AND element_id = ?2",
            params![definition_id, element_id, retry_at, failures, error],
        )? > 0)
    }

    /// A timer start event failed its last attempt: its row leaves the timer table and it gets
    /// an incident (one open at a time: a second one replaces the first's words). The id is
    /// drawn from the instances' incidents' sequence, so one list never shows an id twice.
    /// Answers the incident's id; None, and nothing written, when the row is gone (a new
    /// version replaced the start event while the attempt ran).
    #[allow(clippy::too_many_arguments)]
    pub fn open_start_incident(
        &self,
        definition_id: i64,
        element_id: &str,
        message: &str,
        last_error: &str,
        due_at: &str,
        fired: i64,
        failures: i64,
        at: &str,
    ) -> Result<Option<i64>> {
        let removed = self.tx.execute(
            "DELETE FROM timers WHERE kind = 'start' AND definition_id = ?1 AND element_id = ?2",
            params![definition_id, element_id],
        )?;
        if removed == 0 {
            return Ok(None);
        }
        let open: Option<i64> = self
            .tx
            .query_row(
                "SELECT id FROM start_incidents WHERE definition_id = ?1 AND element_id = ?2 AND resolved_at IS NULL",
                params![definition_id, element_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = open {
            self.tx.execute(
                "UPDATE start_incidents SET message = ?2, last_error = ?3, due_at = ?4, fired = ?5, failures = ?6 WHERE id = ?1",
                params![id, message, last_error, due_at, fired, failures],
            )?;
            return Ok(Some(id));
        }
        // SQLite numbers AUTOINCREMENT rows past `sqlite_sequence`, which may be written:
        // taking the next number there keeps it from the instances' incidents.
        self.tx.execute(
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'incidents', 0
             WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'incidents')",
            [],
        )?;
        self.tx.execute(
            "UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT MAX(id) FROM incidents), 0),
                 COALESCE((SELECT MAX(id) FROM start_incidents), 0)) + 1 WHERE name = 'incidents'",
            [],
        )?;
        let id: i64 = self.tx.query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'incidents'",
            [],
            |r| r.get(0),
        )?;
        self.tx.execute(
            "INSERT INTO start_incidents (id, definition_id, element_id, message, last_error, due_at, fired, failures, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![id, definition_id, element_id, message, last_error, due_at, fired, failures, at],
        )?;
        Ok(Some(id))
    }

    /// Resolves the open incident of a timer start event (`resolution`: `retried`); answers it
    /// as it was, or None when there was none.
    pub fn resolve_start_incident(
        &self,
        definition_id: i64,
        element_id: &str,
        resolution: &str,
        at: &str,
    ) -> Result<Option<StartIncidentRow>> {
        let row = self
            .tx
            .prepare_cached(&format!(
                "{START_INCIDENT_SELECT} WHERE i.definition_id = ?1 AND i.element_id = ?2 AND i.resolved_at IS NULL"
            ))?
            .query_row(params![definition_id, element_id], start_incident_row)
            .optional()?;
        if let Some(r) = &row {
            self.tx.execute(
                "UPDATE start_incidents SET resolved_at = ?2, resolution = ?3 WHERE id = ?1",
                params![r.id, at, resolution],
            )?;
        }
        Ok(row)
    }

    /// Resolves as `replaced` the open start incidents of every version of `process_key` but
    /// `keep` (a new version replaces the old one's timer start events). Answers how many.
    pub fn replace_start_incidents(&self, process_key: &str, keep: i64, at: &str) -> Result<usize> {
        Ok(self.tx.execute(
            "UPDATE start_incidents SET resolved_at = ?3, resolution = 'replaced'
             WHERE resolved_at IS NULL AND definition_id <> ?2
               AND definition_id IN (SELECT id FROM definitions WHERE process_key = ?1)",
            params![process_key, keep, at],
        )?)
    }

    /// Removes the start timers of every version of `process_key` but `keep` (a new version
    /// replaces the old one's timer start events, as in Camunda).
    pub fn drop_start_timers(&self, process_key: &str, keep: i64) -> Result<usize> {
        Ok(self.tx.execute(
            "DELETE FROM timers WHERE kind = 'start' AND definition_id <> ?2
               AND definition_id IN (SELECT id FROM definitions WHERE process_key = ?1)",
            params![process_key, keep],
        )?)
    }

    /// Sets (or removes) a job's next run.
    pub fn set_job_timer(&self, job_id: i64, due: Option<&str>) -> Result<()> {
        match due {
            Some(due) => self.tx.execute(
                "INSERT INTO timers (kind, job_id, due_at) VALUES ('job', ?1, ?2)
                 ON CONFLICT (job_id) WHERE kind = 'job' DO UPDATE SET due_at = excluded.due_at",
                params![job_id, due],
            )?,
            None => self.tx.execute(
                "DELETE FROM timers WHERE kind = 'job' AND job_id = ?1",
                params![job_id],
            )?,
        };
        Ok(())
    }

    pub fn insert_job(&self, job: &NewJob, created_by: Option<&str>, at: &str) -> Result<i64> {
        self.tx.execute(
            "INSERT INTO recurring_jobs (name, cron_expression, time_zone, execution_type, config, is_active,
                 misfire_policy, overlap_policy, created_by, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
            params![
                job.name,
                job.cron_expression,
                job.time_zone,
                job.execution_type,
                job.config,
                job.is_active,
                job.misfire_policy,
                job.overlap_policy,
                created_by,
                at
            ],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Replaces a job's fields; answers whether it exists.
    pub fn update_job(&self, id: i64, job: &NewJob, at: &str) -> Result<bool> {
        Ok(self.tx.execute(
            "UPDATE recurring_jobs SET name = ?2, cron_expression = ?3, time_zone = ?4, execution_type = ?5, config = ?6,
                 is_active = ?7, misfire_policy = ?8, overlap_policy = ?9, updated_at = ?10 WHERE id = ?1",
            params![
                id,
                job.name,
                job.cron_expression,
                job.time_zone,
                job.execution_type,
                job.config,
                job.is_active,
                job.misfire_policy,
                job.overlap_policy,
                at
            ],
        )? > 0)
    }

    /// Deletes a job with its timer and runs; answers whether it existed.
    pub fn delete_job(&self, id: i64) -> Result<bool> {
        self.tx.execute(
            "DELETE FROM timers WHERE kind = 'job' AND job_id = ?1",
            params![id],
        )?;
        self.tx.execute(
            "DELETE FROM recurring_job_runs WHERE job_id = ?1",
            params![id],
        )?;
        Ok(self
            .tx
            .execute("DELETE FROM recurring_jobs WHERE id = ?1", params![id])?
            > 0)
    }

    /// Opens a run (status `Running`, or `Skipped` with a reason) and answers its id.
    pub fn open_run(
        &self,
        job_id: i64,
        trigger: &str,
        scheduled_for: Option<&str>,
        status: &str,
        error: Option<&str>,
        at: &str,
    ) -> Result<i64> {
        let finished = (status != "Running").then_some(at);
        self.tx.execute(
            "INSERT INTO recurring_job_runs (job_id, trigger, scheduled_for, started_at, finished_at, status, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![job_id, trigger, scheduled_for, at, finished, status, error],
        )?;
        if status == "Running" {
            self.tx.execute(
                "UPDATE recurring_jobs SET last_run_at = ?2 WHERE id = ?1",
                params![job_id, at],
            )?;
        }
        Ok(self.tx.last_insert_rowid())
    }

    pub fn finish_run(
        &self,
        run_id: i64,
        status: &str,
        result: Option<&str>,
        error: Option<&str>,
        at: &str,
    ) -> Result<()> {
        self.tx.execute(
            "UPDATE recurring_job_runs SET status = ?2, result = ?3, error = ?4, finished_at = ?5 WHERE id = ?1",
            params![run_id, status, result, error, at],
        )?;
        Ok(())
    }

    /// Runs left `Running` by a process that stopped: marked `Interrupted` at start.
    pub fn interrupt_runs(&self, at: &str) -> Result<usize> {
        Ok(self.tx.execute(
            "UPDATE recurring_job_runs SET status = 'Interrupted', finished_at = ?1,
                 error = 'Baton stopped while this run was under way' WHERE status = 'Running'",
            params![at],
        )?)
    }
}
