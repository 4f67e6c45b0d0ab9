//! Versioned schema migrations. Version N is `MIGRATIONS[N - 1]`; `PRAGMA user_version` records
//! the last one applied. Append new migrations; never edit one that has shipped.

use crate::{Result, StoreError};
use rusqlite::Connection;

/// The schema version this build writes (`PRAGMA user_version` after migrating).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const MIGRATIONS: &[&str] = &[
    // 1: definitions, instances, the callback registry, history, users, teams and tokens.
    "
    CREATE TABLE definitions (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        process_key TEXT NOT NULL,
        version     INTEGER NOT NULL,
        name        TEXT,
        bpmn_xml    TEXT NOT NULL,
        forms       TEXT NOT NULL DEFAULT '{}',
        deployed_at TEXT NOT NULL,
        UNIQUE (process_key, version)
    );
    CREATE TABLE instances (
        guid           TEXT PRIMARY KEY,
        definition_id  INTEGER NOT NULL REFERENCES definitions (id),
        status         TEXT NOT NULL CHECK (status IN ('RUNNING', 'WAITING', 'COMPLETED', 'FAILED', 'CANCELLED')),
        state          TEXT NOT NULL,
        business_key   TEXT,
        correlation_id TEXT,
        started_at     TEXT NOT NULL,
        ended_at       TEXT
    );
    CREATE INDEX instances_status ON instances (status);
    CREATE INDEX instances_correlation ON instances (correlation_id);
    CREATE TABLE callback_registry (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        parent_instance_id   TEXT NOT NULL REFERENCES instances (guid),
        callback_task_id     TEXT NOT NULL,
        correlation_key      TEXT,
        callback_type        TEXT NOT NULL DEFAULT 'External',
        status               TEXT NOT NULL CHECK (status IN ('Pending', 'Completed', 'Failed', 'Expired')),
        parent_process_state TEXT,
        result_data          TEXT,
        completed_at         TEXT,
        webhook_url          TEXT,
        message_ref          TEXT,
        timeout_minutes      REAL,
        created_at           TEXT NOT NULL
    );
    CREATE INDEX callback_key ON callback_registry (correlation_key, status);
    CREATE TABLE history (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        instance_guid TEXT NOT NULL REFERENCES instances (guid),
        at            TEXT NOT NULL,
        kind          TEXT NOT NULL,
        element_id    TEXT,
        data          TEXT
    );
    CREATE INDEX history_instance ON history (instance_guid, seq);
    CREATE TABLE users (
        name       TEXT PRIMARY KEY,
        is_admin   INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE team_members (
        team      TEXT NOT NULL,
        user_name TEXT NOT NULL REFERENCES users (name),
        PRIMARY KEY (team, user_name)
    );
    CREATE TABLE api_tokens (
        token_hash TEXT PRIMARY KEY,
        user_name  TEXT NOT NULL REFERENCES users (name),
        label      TEXT,
        created_at TEXT NOT NULL
    );
    ",
    // 2: what correlation, the inbox, incidents, outbound effects and concurrent writers need.
    "
    ALTER TABLE instances ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE subscriptions (
        instance_guid   TEXT NOT NULL REFERENCES instances (guid),
        kind            TEXT NOT NULL CHECK (kind IN ('message', 'signal')),
        name            TEXT NOT NULL,
        correlation_key TEXT,
        element_id      TEXT NOT NULL
    );
    CREATE INDEX subscriptions_name ON subscriptions (kind, name, correlation_key);
    CREATE INDEX subscriptions_instance ON subscriptions (instance_guid);
    CREATE TABLE user_tasks (
        instance_guid    TEXT NOT NULL REFERENCES instances (guid),
        task_id          TEXT NOT NULL,
        task_type        TEXT NOT NULL,
        name             TEXT,
        form_key         TEXT,
        responsible_user TEXT,
        responsible_team TEXT,
        created_at       TEXT NOT NULL,
        PRIMARY KEY (instance_guid, task_id)
    );
    CREATE TABLE message_buffer (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        kind            TEXT NOT NULL CHECK (kind IN ('message', 'callback')),
        name            TEXT,
        correlation_key TEXT,
        payload         TEXT NOT NULL,
        message_id      TEXT,
        status          TEXT NOT NULL CHECK (status IN ('Buffered', 'Correlated', 'Expired')),
        instance_guid   TEXT,
        created_at      TEXT NOT NULL,
        expires_at      TEXT NOT NULL,
        correlated_at   TEXT
    );
    CREATE INDEX message_buffer_open ON message_buffer (status, kind, name, correlation_key);
    CREATE TABLE message_receipts (
        message_id    TEXT PRIMARY KEY,
        outcome       TEXT NOT NULL,
        received_at   TEXT NOT NULL
    );
    CREATE TABLE incidents (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        instance_guid TEXT NOT NULL REFERENCES instances (guid),
        element_id    TEXT NOT NULL,
        message       TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        resolved_at   TEXT
    );
    CREATE INDEX incidents_instance ON incidents (instance_guid, resolved_at);
    CREATE TABLE outbox (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        instance_guid TEXT REFERENCES instances (guid),
        event         TEXT NOT NULL,
        payload       TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        attempts      INTEGER NOT NULL DEFAULT 0,
        delivered_at  TEXT,
        last_error    TEXT
    );
    CREATE INDEX outbox_pending ON outbox (delivered_at, id);
    ALTER TABLE api_tokens ADD COLUMN revoked_at TEXT;
    ",
    // v3: the form of a form-mode receive task, so ReturnCallbackCommand (webhook mode) tells
    // the two modes apart when they share a correlation key.
    "ALTER TABLE callback_registry ADD COLUMN form_key TEXT;",
    // v4: one durable timer table for BPMN timers (an instance's earliest timer), timer start
    // events of deployed definitions and recurring jobs; the jobs and their runs.
    "
    CREATE TABLE recurring_jobs (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        name            TEXT NOT NULL,
        cron_expression TEXT NOT NULL,
        time_zone       TEXT NOT NULL DEFAULT 'UTC',
        execution_type  INTEGER NOT NULL CHECK (execution_type BETWEEN 0 AND 3),
        config          TEXT NOT NULL,
        is_active       INTEGER NOT NULL DEFAULT 1,
        misfire_policy  TEXT NOT NULL DEFAULT 'fireOnce' CHECK (misfire_policy IN ('fireOnce', 'skip')),
        overlap_policy  TEXT NOT NULL DEFAULT 'skip' CHECK (overlap_policy IN ('skip', 'queue')),
        created_by      TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        last_run_at     TEXT
    );
    CREATE TABLE recurring_job_runs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id        INTEGER NOT NULL REFERENCES recurring_jobs (id) ON DELETE CASCADE,
        trigger       TEXT NOT NULL CHECK (trigger IN ('schedule', 'misfire', 'manual', 'queued')),
        scheduled_for TEXT,
        started_at    TEXT NOT NULL,
        finished_at   TEXT,
        status        TEXT NOT NULL CHECK (status IN ('Running', 'Succeeded', 'Failed', 'Skipped', 'Interrupted')),
        result        TEXT,
        error         TEXT
    );
    CREATE INDEX recurring_job_runs_job ON recurring_job_runs (job_id, id);
    CREATE TABLE timers (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        kind          TEXT NOT NULL CHECK (kind IN ('instance', 'start', 'job')),
        instance_guid TEXT REFERENCES instances (guid),
        definition_id INTEGER REFERENCES definitions (id),
        element_id    TEXT,
        job_id        INTEGER REFERENCES recurring_jobs (id) ON DELETE CASCADE,
        due_at        TEXT NOT NULL,
        fired         INTEGER NOT NULL DEFAULT 0,
        CHECK ((kind = 'instance') = (instance_guid IS NOT NULL)),
        CHECK ((kind = 'start') = (definition_id IS NOT NULL AND element_id IS NOT NULL)),
        CHECK ((kind = 'job') = (job_id IS NOT NULL))
    );
    CREATE UNIQUE INDEX timers_instance ON timers (instance_guid) WHERE kind = 'instance';
    CREATE UNIQUE INDEX timers_start ON timers (definition_id, element_id) WHERE kind = 'start';
    CREATE UNIQUE INDEX timers_job ON timers (job_id) WHERE kind = 'job';
    CREATE INDEX timers_due ON timers (due_at);
    ",
    // v5: incoming webhooks: their configurations and every request received (the inspector).
    "
    CREATE TABLE webhook_configs (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        name           TEXT NOT NULL,
        key            TEXT UNIQUE,
        url            TEXT UNIQUE,
        execution_type INTEGER NOT NULL CHECK (execution_type BETWEEN 0 AND 3),
        config         TEXT NOT NULL,
        allowed_ips    TEXT NOT NULL DEFAULT '[]',
        verification   TEXT NOT NULL,
        is_active      INTEGER NOT NULL DEFAULT 1,
        created_by     TEXT,
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL,
        CHECK (key IS NOT NULL OR url IS NOT NULL)
    );
    CREATE TABLE webhook_requests (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        config_id   INTEGER REFERENCES webhook_configs (id) ON DELETE SET NULL,
        received_at TEXT NOT NULL,
        method      TEXT NOT NULL,
        path        TEXT NOT NULL,
        headers     TEXT NOT NULL DEFAULT '{}',
        query       TEXT NOT NULL DEFAULT '{}',
        body        TEXT NOT NULL DEFAULT '',
        remote_addr TEXT NOT NULL,
        trigger     TEXT NOT NULL DEFAULT 'live' CHECK (trigger IN ('live', 'replay')),
        replay_of   INTEGER,
        verdict     TEXT NOT NULL,
        status_code INTEGER,
        outcome     TEXT,
        error       TEXT
    );
    CREATE INDEX webhook_requests_config ON webhook_requests (config_id, id);
    ",
    // v6: events out: subscriptions (all events, one definition, one instance), named secrets,
    // custom webhooks fired when an instance enters a state, and the delivery log.
    "
    CREATE TABLE event_subscriptions (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        url           TEXT NOT NULL,
        events        TEXT NOT NULL DEFAULT '[\"*\"]',
        process_key   TEXT,
        instance_guid TEXT,
        secret        TEXT NOT NULL,
        is_active     INTEGER NOT NULL DEFAULT 1,
        created_at    TEXT NOT NULL
    );
    CREATE INDEX event_subscriptions_instance ON event_subscriptions (instance_guid);
    CREATE TABLE secrets (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE custom_webhooks (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        name        TEXT NOT NULL,
        url         TEXT NOT NULL,
        method      TEXT NOT NULL DEFAULT 'POST' CHECK (method IN ('POST', 'PUT', 'PATCH')),
        state_names TEXT NOT NULL DEFAULT '[]',
        headers     TEXT NOT NULL DEFAULT '{}',
        transform   TEXT,
        process_key TEXT,
        created_at  TEXT NOT NULL
    );
    CREATE TABLE deliveries (
        id                TEXT PRIMARY KEY,
        subscription_id   INTEGER,
        custom_webhook_id INTEGER,
        event_name        TEXT NOT NULL,
        payload           TEXT NOT NULL,
        url               TEXT NOT NULL,
        status            TEXT NOT NULL CHECK (status IN ('Pending', 'Delivered', 'Failed')),
        attempts          INTEGER NOT NULL DEFAULT 0,
        next_attempt_at   TEXT,
        last_status_code  INTEGER,
        last_error        TEXT,
        created_at        TEXT NOT NULL,
        delivered_at      TEXT
    );
    CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
    ",
    // v7: incoming webhook applications (seed 003): the private-URL apps (token stored as a
    // SHA-256 hash), request numbers (a per-installation sequence) and action numbers (per
    // request, in the order its tasks were first seen waiting).
    "
    CREATE TABLE webhook_apps (
        id                    INTEGER PRIMARY KEY AUTOINCREMENT,
        name                  TEXT NOT NULL,
        description           TEXT,
        impersonate_user_name TEXT,
        token_hash            TEXT NOT NULL UNIQUE,
        created_at            TEXT NOT NULL,
        is_active             INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE request_numbers (
        instance_guid TEXT PRIMARY KEY,
        number        INTEGER NOT NULL UNIQUE
    );
    CREATE TABLE action_numbers (
        instance_guid TEXT NOT NULL,
        task_id       TEXT NOT NULL,
        number        INTEGER NOT NULL,
        PRIMARY KEY (instance_guid, task_id),
        UNIQUE (instance_guid, number)
    );
    ",
    // v8: a resume closes its task's Pending callback row by instance and task
    // (`Tx::close_callback`); without this index that UPDATE scanned every callback ever
    // registered, so each resume cost time in proportion to the table.
    "CREATE INDEX IF NOT EXISTS callback_task ON callback_registry (parent_instance_id, callback_task_id);",
    // v9: the write path, made cheaper without changing what is stored or allowed.
    // - A CHECK of `x IN (three or more values)` makes SQLite build a temporary table on every
    //   insert and update of the row; the same CHECK written as `x = a OR x = b ...` does not.
    //   Only the text of the constraints changes (SQLite documents editing the schema text for
    //   changes that leave the stored rows as they are); `writable_schema = RESET` reloads it.
    // - history.seq loses AUTOINCREMENT: every insert read and rewrote the table's counter in
    //   sqlite_sequence. History rows are never deleted, so a new seq is still larger than every
    //   earlier one.
    // - The correlation-id index only holds instances that have one.
    "
    DROP INDEX instances_correlation;
    CREATE INDEX instances_correlation ON instances (correlation_id) WHERE correlation_id IS NOT NULL;
    DELETE FROM sqlite_sequence WHERE name = 'history';
    PRAGMA writable_schema = ON;
    UPDATE sqlite_schema SET sql = replace(sql,
        'CHECK (status IN (''RUNNING'', ''WAITING'', ''COMPLETED'', ''FAILED'', ''CANCELLED''))',
        'CHECK (status = ''RUNNING'' OR status = ''WAITING'' OR status = ''COMPLETED'' OR status = ''FAILED'' OR status = ''CANCELLED'')')
        WHERE type = 'table' AND name = 'instances';
    UPDATE sqlite_schema SET sql = replace(sql,
        'CHECK (status IN (''Pending'', ''Completed'', ''Failed'', ''Expired''))',
        'CHECK (status = ''Pending'' OR status = ''Completed'' OR status = ''Failed'' OR status = ''Expired'')')
        WHERE type = 'table' AND name = 'callback_registry';
    UPDATE sqlite_schema SET sql = replace(sql,
        'CHECK (status IN (''Buffered'', ''Correlated'', ''Expired''))',
        'CHECK (status = ''Buffered'' OR status = ''Correlated'' OR status = ''Expired'')')
        WHERE type = 'table' AND name = 'message_buffer';
    UPDATE sqlite_schema SET sql = replace(sql,
        'CHECK (kind IN (''instance'', ''start'', ''job''))',
        'CHECK (kind = ''instance'' OR kind = ''start'' OR kind = ''job'')')
        WHERE type = 'table' AND name = 'timers';
    UPDATE sqlite_schema SET sql = replace(sql,
        'CHECK (status IN (''Pending'', ''Delivered'', ''Failed''))',
        'CHECK (status = ''Pending'' OR status = ''Delivered'' OR status = ''Failed'')')
        WHERE type = 'table' AND name = 'deliveries';
    UPDATE sqlite_schema SET sql = replace(sql,
        'seq           INTEGER PRIMARY KEY AUTOINCREMENT',
        'seq           INTEGER PRIMARY KEY')
        WHERE type = 'table' AND name = 'history';
    PRAGMA writable_schema = RESET;
    ",
    // v10: who started an instance (the user behind the command; NULL for the owner, the
    // scheduler and instances started before this version): a non-administrator reads and acts
    // on the instances they or a teammate started (docs/runtime.md "Who sees what").
    "
    ALTER TABLE instances ADD COLUMN started_by TEXT;
    CREATE INDEX instances_started_by ON instances (started_by) WHERE started_by IS NOT NULL;
    ",
    // v11: abuse limits.
    // - The request log keeps bodies of accepted requests only: `size` is what arrived (bytes),
    //   `stored_bytes` what the row holds, so that the size retention sums an index, not the
    //   rows. Rows refused before this version lose the bodies they kept.
    // - `settings`: what an administrator set (log retention, rate limits, outbound URLs), as
    //   JSON values by name.
    // - `outbound_checked`: URLs a non-administrator gave (`config.subscriptions`); the sender
    //   checks where they resolve on every attempt.
    "
    ALTER TABLE webhook_requests ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE webhook_requests ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;
    UPDATE webhook_requests SET size = length(CAST(body AS BLOB));
    UPDATE webhook_requests SET body = '' WHERE verdict <> 'accepted';
    UPDATE webhook_requests SET stored_bytes = length(CAST(body AS BLOB))
        + length(CAST(headers AS BLOB)) + length(CAST(query AS BLOB)) + length(CAST(path AS BLOB))
        + COALESCE(length(CAST(outcome AS BLOB)), 0) + COALESCE(length(CAST(error AS BLOB)), 0);
    CREATE INDEX webhook_requests_bytes ON webhook_requests (id, stored_bytes);
    CREATE TABLE settings (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE outbound_checked (
        url   TEXT PRIMARY KEY,
        since TEXT NOT NULL
    );
    ",
    // v12: events out carry a number per instance (seed 004 receivers order by it): the last
    // number each instance used, and on each delivery its instance and its event's number.
    "
    CREATE TABLE event_sequences (
        instance_guid TEXT PRIMARY KEY,
        last          INTEGER NOT NULL
    ) WITHOUT ROWID;
    ALTER TABLE deliveries ADD COLUMN instance_guid TEXT;
    ALTER TABLE deliveries ADD COLUMN sequence INTEGER;
    CREATE INDEX deliveries_instance ON deliveries (instance_guid, sequence)
        WHERE instance_guid IS NOT NULL;
    ",
    // v13: users get a stable number (seed 003 addresses them as `User:42`): given when the user
    // is created, never reused, kept across restarts and copies of the file. Users that exist
    // now are numbered in the order they were created.
    "
    CREATE TABLE user_ids (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        user_name TEXT NOT NULL UNIQUE REFERENCES users (name)
    );
    INSERT INTO user_ids (user_name) SELECT name FROM users ORDER BY created_at, name;
    ",
    // v14: incoming webhooks are idempotent by the sender's id (Standard Webhooks `webhook-id`,
    // Stripe's and Paystack's event ids). `webhook_seen` holds each id a configuration handled,
    // with the request that handled it; its key makes a second claim of the same id fail inside
    // the claiming transaction. Its rows leave with their request's (the log's retention). The
    // log shows each request's id (`sender_id`) and, for a repeat, the first request
    // (`duplicate_of`).
    "
    ALTER TABLE webhook_requests ADD COLUMN sender_id TEXT;
    ALTER TABLE webhook_requests ADD COLUMN duplicate_of INTEGER;
    CREATE TABLE webhook_seen (
        config_id  INTEGER NOT NULL,
        sender_id  TEXT NOT NULL,
        request_id INTEGER NOT NULL,
        PRIMARY KEY (config_id, sender_id)
    ) WITHOUT ROWID;
    CREATE INDEX webhook_seen_request ON webhook_seen (request_id);
    ",
    // v15: who holds a waiting form task (seed 003's assignAction), so that the task list shows
    // and filters it without reading instance states. Tasks assigned before this version show
    // their assignee from their next step on.
    "
    ALTER TABLE user_tasks ADD COLUMN assignee TEXT;
    ",
    // v16: the start of the receiver's answer to a delivery's last attempt (its first 2 KiB,
    // as text), shown beside its status code. Rows attempted before this version have none.
    "
    ALTER TABLE deliveries ADD COLUMN last_response TEXT;
    ",
    // v17: a timer start event whose start fails is tried again after a back-off, then stops
    // with an incident. Its timer row counts the failed attempts and keeps the last error
    // (shown), and while it waits for another attempt the due time of the repetition it stands
    // for. `start_incidents` holds the incidents of timer start events (they have no instance):
    // at most one open per start event, with what a retry goes on from. Their ids are drawn
    // from the instances' incidents' sequence (one list, no id twice).
    "
    ALTER TABLE timers ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE timers ADD COLUMN last_error TEXT;
    ALTER TABLE timers ADD COLUMN planned_at TEXT;
    CREATE TABLE start_incidents (
        id            INTEGER PRIMARY KEY,
        definition_id INTEGER NOT NULL REFERENCES definitions (id),
        element_id    TEXT NOT NULL,
        message       TEXT NOT NULL,
        last_error    TEXT NOT NULL,
        due_at        TEXT NOT NULL,
        fired         INTEGER NOT NULL,
        failures      INTEGER NOT NULL,
        created_at    TEXT NOT NULL,
        resolved_at   TEXT,
        resolution    TEXT
    );
    CREATE UNIQUE INDEX start_incidents_open ON start_incidents (definition_id, element_id)
        WHERE resolved_at IS NULL;
    ",
    // v18: the name of the secret that signs a delivery, when it is not the one its kind of
    // delivery uses (a receive task's `WebhookSecretName` for its callback notification).
    "
    ALTER TABLE deliveries ADD COLUMN secret_name TEXT;
    ",
    // v19: a user's role (seed 000's `GetUserRoleQuery`), a word such as MANAGER; none by
    // default.
    "
    ALTER TABLE users ADD COLUMN role TEXT;
    ",
];

/// Brings a database up to the newest schema, one transaction per migration.
pub(crate) fn apply(conn: &mut Connection) -> Result<()> {
    apply_up_to(conn, MIGRATIONS.len())
}

/// Applies the migrations up to version `last`.
fn apply_up_to(conn: &mut Connection, last: usize) -> Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let supported = MIGRATIONS.len() as i64;
    if current > supported {
        return Err(StoreError::TooNew {
            found: current,
            supported,
        });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(last)
        .skip(current as usize)
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(conn: &Connection, table: &str) -> String {
        conn.query_row(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .unwrap()
    }

    #[test]
    fn version_13_numbers_existing_users_in_creation_order() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply_up_to(&mut conn, 12).unwrap();
        conn.execute_batch(
            "INSERT INTO users (name, is_admin, created_at) VALUES ('zoe', 0, 't1'), ('amy', 1, 't2'), ('bob', 0, 't1');",
        )
        .unwrap();
        apply(&mut conn).unwrap();
        let ids: Vec<(i64, String)> = conn
            .prepare("SELECT id, user_name FROM user_ids ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let names: Vec<(i64, &str)> = ids.iter().map(|(i, n)| (*i, n.as_str())).collect();
        assert_eq!(names, [(1, "bob"), (2, "zoe"), (3, "amy")]);
    }

    #[test]
    fn version_11_keeps_accepted_bodies_and_sizes_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v10.db");
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        apply_up_to(&mut conn, 10).unwrap();
        conn.execute_batch(
            "INSERT INTO webhook_requests (id, received_at, method, path, headers, query, body, remote_addr, verdict, status_code, outcome)
                 VALUES (1, 't1', 'POST', '/webhook/a', '{}', '{}', 'junk junk', '1.2.3.4', 'notFound', 404, NULL),
                        (2, 't2', 'POST', '/webhook/b', '{}', '{}', '{\"ok\":1}', '1.2.3.4', 'accepted', 200, '{}'),
                        (3, 't3', 'POST', '/webhook/b', '{}', '{}', 'x', '1.2.3.4', 'badSignature', 401, NULL);",
        )
        .unwrap();
        apply(&mut conn).unwrap();
        drop(conn);
        let conn = Connection::open(&path).unwrap();
        let rows: Vec<(i64, String, i64, i64)> = conn
            .prepare("SELECT id, body, size, stored_bytes FROM webhook_requests ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows[0], (1, String::new(), 9, 4 + 10));
        assert_eq!(rows[1], (2, "{\"ok\":1}".to_string(), 8, 8 + 4 + 10 + 2));
        assert_eq!(rows[2], (3, String::new(), 1, 4 + 10));
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        // The size retention sums the index, not the rows.
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT SUM(stored_bytes) FROM webhook_requests",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("webhook_requests_bytes"), "{plan}");
        conn.execute("INSERT INTO settings (name, value) VALUES ('a', '1')", [])
            .unwrap();
        conn.execute(
            "INSERT INTO outbound_checked (url, since) VALUES ('http://x/', 't')",
            [],
        )
        .unwrap();
    }

    #[test]
    fn version_9_keeps_every_row_and_every_rule_with_cheaper_constraints() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v8.db");
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        apply_up_to(&mut conn, 8).unwrap();
        conn.execute_batch(
            "INSERT INTO definitions (process_key, version, bpmn_xml, deployed_at) VALUES ('P', 1, '<x/>', 't');
             INSERT INTO instances (guid, definition_id, status, state, correlation_id, started_at)
                 VALUES ('g1', 1, 'WAITING', '{}', 'C-1', 't'), ('g2', 1, 'COMPLETED', '{}', NULL, 't');
             INSERT INTO history (instance_guid, at, kind) VALUES ('g1', 't', 'a'), ('g1', 't', 'b');",
        )
        .unwrap();
        assert!(schema_of(&conn, "history").contains("AUTOINCREMENT"));
        apply(&mut conn).unwrap();
        // The migrating connection itself writes with the new constraint (no temporary table).
        let ops: Vec<String> = conn
            .prepare("EXPLAIN UPDATE instances SET status = 'FAILED' WHERE guid = 'g2'")
            .unwrap()
            .query_map([], |r| r.get(1))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(!ops.iter().any(|o| o == "OpenEphemeral"), "{ops:?}");
        drop(conn);
        // A fresh connection reads the edited schema from the file.
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        for table in [
            "instances",
            "callback_registry",
            "message_buffer",
            "timers",
            "deliveries",
        ] {
            // An IN list of two values is compared in place; three or more were the cost.
            let sql = schema_of(&conn, table);
            for list in sql.split(" IN (").skip(1) {
                let items = list.split(')').next().unwrap().matches(',').count() + 1;
                assert!(items <= 2, "{table}: {sql}");
            }
            assert!(sql.contains(" OR "), "{table}: {sql}");
        }
        assert!(!schema_of(&conn, "history").contains("AUTOINCREMENT"));
        // The rules still hold.
        for bad in [
            "INSERT INTO instances (guid, definition_id, status, state, started_at) VALUES ('g3', 1, 'SLEEPING', '{}', 't')",
            "INSERT INTO instances (guid, definition_id, status, state, started_at) VALUES ('g3', 99, 'WAITING', '{}', 't')",
            "INSERT INTO timers (kind, due_at) VALUES ('other', 't')",
            "INSERT INTO callback_registry (parent_instance_id, callback_task_id, status, created_at) VALUES ('g1', 'x', 'Done', 't')",
            "INSERT INTO message_buffer (kind, payload, status, created_at, expires_at) VALUES ('message', '{}', 'Lost', 't', 't')",
            "INSERT INTO deliveries (id, event_name, payload, url, status, created_at) VALUES ('d', 'e', '{}', 'u', 'Gone', 't')",
        ] {
            assert!(conn.execute(bad, []).is_err(), "accepted: {bad}");
        }
        conn.execute(
            "UPDATE instances SET status = 'COMPLETED' WHERE guid = 'g1'",
            [],
        )
        .unwrap();
        // New history rows come after the old ones.
        conn.execute(
            "INSERT INTO history (instance_guid, at, kind) VALUES ('g1', 't', 'c')",
            [],
        )
        .unwrap();
        let kinds: Vec<String> = conn
            .prepare("SELECT kind FROM history WHERE instance_guid = 'g1' ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(kinds, ["a", "b", "c"]);
        // The correlation id is still found through its index.
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT guid FROM instances WHERE correlation_id = ?1 ORDER BY rowid DESC LIMIT 1",
                ["C-1"],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("instances_correlation"), "{plan}");
    }
}
