//! The statements of the hot paths (a webhook or callback resuming an instance, the step's
//! writes) find their rows through an index, never by walking a whole table: SQLite's own
//! `EXPLAIN QUERY PLAN` on a migrated database file says how each one is run.

use baton_store::{Durability, InstanceRow, Store};
use rusqlite::Connection;

/// Every plan line of `sql`, its parameters bound to NULL (the plan is made before any value).
fn plan(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
    let rows = stmt
        .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// The statements a webhook request and a callback resume run, as the store writes them.
const HOT: &[(&str, &str)] = &[
    (
        "close_callback",
        "UPDATE callback_registry SET status = ?3, result_data = ?4, completed_at = ?5
         WHERE parent_instance_id = ?1 AND callback_task_id = ?2 AND status = 'Pending'",
    ),
    (
        "pending_callback",
        "SELECT id FROM callback_registry WHERE correlation_key = ?1 AND status = 'Pending'",
    ),
    (
        "latest_callback",
        "SELECT id FROM callback_registry WHERE correlation_key = ?1 AND form_key IS NULL
         ORDER BY id DESC LIMIT 1",
    ),
    ("instance", "SELECT state, rev FROM instances WHERE guid = ?1"),
    (
        "update_instance",
        "UPDATE instances SET status = ?3, state = ?4, ended_at = COALESCE(?5, ended_at), rev = rev + 1
         WHERE guid = ?1 AND rev = ?2",
    ),
    (
        "webhook_config_by_url",
        "SELECT id FROM webhook_configs WHERE url = ?1",
    ),
    (
        "webhook_config_by_key",
        "SELECT id FROM webhook_configs WHERE key = ?1",
    ),
    (
        "finish_webhook_request",
        "UPDATE webhook_requests SET verdict = ?2, status_code = ?3, outcome = ?4, error = ?5 WHERE id = ?1",
    ),
    (
        "next_buffered",
        "SELECT id FROM message_buffer
         WHERE status = 'Buffered' AND kind = ?1 AND name IS ?2 AND expires_at > ?4
           AND (CASE WHEN ?1 = 'callback' THEN correlation_key = ?3
                ELSE (?3 IS NULL OR correlation_key IS NULL OR correlation_key = ?3) END)
         ORDER BY id LIMIT 1",
    ),
    (
        "instance timer",
        "DELETE FROM timers WHERE kind = 'instance' AND instance_guid = ?1",
    ),
    (
        "replace_subscriptions",
        "DELETE FROM subscriptions WHERE instance_guid = ?1",
    ),
    (
        "replace_user_tasks",
        "SELECT task_id FROM user_tasks WHERE instance_guid = ?1",
    ),
    (
        "resolve_incidents",
        "SELECT id, element_id FROM incidents WHERE instance_guid = ?1 AND resolved_at IS NULL",
    ),
    (
        "receipt",
        "SELECT outcome FROM message_receipts WHERE message_id = ?1",
    ),
    (
        "history",
        "SELECT seq FROM history WHERE instance_guid = ?1 ORDER BY seq",
    ),
    // The delivery log's pages filtered by instance (the runner's Deliveries tab), as
    // `Store::deliveries` writes them with only the given filters in the statement.
    (
        "deliveries of an instance, count",
        "SELECT COUNT(*) FROM deliveries WHERE instance_guid = ?1",
    ),
    (
        "deliveries of an instance, page",
        "SELECT id FROM deliveries WHERE instance_guid = ?1 ORDER BY rowid DESC LIMIT ?2 OFFSET ?3",
    ),
];

#[test]
fn hot_statements_use_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    drop(Store::open(&path, Durability::Full).unwrap());
    let conn = Connection::open(&path).unwrap();
    let mut scans = Vec::new();
    for (name, sql) in HOT {
        for line in plan(&conn, sql) {
            // "SCAN t" walks the table; "SEARCH t USING ... INDEX" or "USING INTEGER PRIMARY KEY"
            // goes straight to the rows. A temporary b-tree for ORDER BY over the found rows is fine.
            if line.starts_with("SCAN ") {
                scans.push(format!("{name}: {line}"));
            }
        }
    }
    assert!(scans.is_empty(), "full table scans: {scans:#?}");
}

#[test]
fn a_resume_closes_its_callback_through_the_task_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    drop(Store::open(&path, Durability::Full).unwrap());
    let conn = Connection::open(&path).unwrap();
    let lines = plan(&conn, HOT[0].1);
    assert!(
        lines.iter().any(|l| l.contains("INDEX callback_task")),
        "{lines:?}"
    );
}

/// `pending_callback` picks among a key's Pending rows itself (no ORDER BY, see its doc): a
/// webhook-mode row before a form-mode one, then the oldest.
#[test]
fn the_pending_callback_of_a_key_is_webhook_mode_first_then_the_oldest() {
    const AT: &str = "2026-01-01T00:00:00Z";
    let mut s = Store::open_in_memory().unwrap();
    let tx = s.transaction().unwrap();
    let (def, _) = tx
        .deploy("Pay", None, "<x/>", &serde_json::json!({}), AT)
        .unwrap();
    for guid in ["g1", "g2", "g3"] {
        tx.insert_instance(&InstanceRow {
            instance_guid: guid.into(),
            process_definition_id: def,
            status: "WAITING".into(),
            state: "{}".into(),
            business_key: None,
            correlation_id: None,
            started_at: AT.into(),
            ended_at: None,
            rev: 0,
            started_by: None,
        })
        .unwrap();
    }
    let wait = |guid: &str, form: Option<&str>| {
        tx.register_callback(guid, "Wait", Some("K"), None, form, None, None, None, AT)
            .unwrap()
    };
    wait("g1", Some("form"));
    let webhook = wait("g2", None);
    wait("g3", None);
    tx.commit().unwrap();
    let picked = s.pending_callback("K").unwrap().expect("a pending row");
    assert_eq!(
        (picked.id, picked.parent_instance_id.as_str()),
        (webhook, "g2")
    );
    assert!(s.pending_callback("other").unwrap().is_none());
}
