//! The store on `:memory:` with all migrations, and on a real file across reopen.

use baton_store::{Durability, InstanceRow, StepEvent, Store, StoreError, HISTORY_STEP};
use serde_json::json;

const AT: &str = "2026-01-01T00:00:00Z";

fn instance(guid: &str, def: i64) -> InstanceRow {
    InstanceRow {
        instance_guid: guid.into(),
        process_definition_id: def,
        status: "WAITING".into(),
        state: r#"{"status":"WAITING"}"#.into(),
        business_key: Some("BK-1".into()),
        correlation_id: None,
        started_at: AT.into(),
        ended_at: None,
        rev: 0,
        started_by: None,
    }
}

#[test]
fn deploying_the_same_key_twice_makes_versions() {
    let mut s = Store::open_in_memory().unwrap();
    let tx = s.transaction().unwrap();
    let (id1, v1) = tx
        .deploy(
            "Loan",
            Some("Loan approval"),
            "<definitions/>",
            &json!({}),
            AT,
        )
        .unwrap();
    let (id2, v2) = tx
        .deploy(
            "Loan",
            None,
            "<definitions v2/>",
            &json!({"f": {"components": []}}),
            AT,
        )
        .unwrap();
    tx.commit().unwrap();
    assert_eq!((v1, v2), (1, 2));
    assert_ne!(id1, id2);
    let latest = s.latest_definition("Loan").unwrap();
    assert_eq!(latest.process_definition_id, id2);
    assert_eq!(
        latest.bpmn_xml.as_deref(),
        Some("<definitions v2/>"),
        "XML kept verbatim"
    );
    assert_eq!(latest.forms["f"]["components"], json!([]));
    let (items, total) = s.definitions(None, 1, 10).unwrap();
    assert_eq!(total, 2);
    assert!(
        items.iter().all(|d| d.bpmn_xml.is_none()),
        "lists carry no XML"
    );
    assert!(matches!(s.definition(99, false), Err(StoreError::NotFound(m)) if m.contains("99")));
}

#[test]
fn an_uncommitted_transaction_leaves_nothing_behind() {
    let mut s = Store::open_in_memory().unwrap();
    {
        let tx = s.transaction().unwrap();
        tx.deploy("P", None, "<x/>", &json!({}), AT).unwrap();
        // dropped without commit
    }
    assert_eq!(s.definitions(None, 1, 10).unwrap().1, 0);
}

#[test]
fn constraints_reject_bad_rows_without_touching_good_ones() {
    let mut s = Store::open_in_memory().unwrap();
    let tx = s.transaction().unwrap();
    let (def, _) = tx.deploy("P", None, "<x/>", &json!({}), AT).unwrap();
    tx.insert_instance(&instance("g1", def)).unwrap();
    tx.commit().unwrap();

    let tx = s.transaction().unwrap();
    let mut bad = instance("g2", 12345);
    assert!(
        tx.insert_instance(&bad).is_err(),
        "foreign key to a missing definition"
    );
    bad.process_definition_id = def;
    bad.status = "SLEEPING".into();
    assert!(
        tx.insert_instance(&bad).is_err(),
        "status outside the documented set"
    );
    drop(tx);
    assert_eq!(s.instance("g1").unwrap().status, "WAITING");
    assert!(s.instance("g2").is_err());
}

/// A callback on its way reads who waits for it, not the snapshot of the instance's variables
/// taken when it was registered; the registry's list still shows the snapshot.
#[test]
fn the_pending_callback_of_a_key_leaves_the_registration_snapshot_behind() {
    let mut s = Store::open_in_memory().unwrap();
    let tx = s.transaction().unwrap();
    let (def, _) = tx.deploy("Pay", None, "<x/>", &json!({}), AT).unwrap();
    tx.insert_instance(&instance("g1", def)).unwrap();
    let snapshot = format!(r#"{{"variables":{{"blob":"{}"}}}}"#, "x".repeat(100_000));
    tx.register_callback(
        "g1",
        "Task_WaitForPayment",
        Some("PAY-1"),
        None,
        None,
        None,
        None,
        Some(&snapshot),
        AT,
    )
    .unwrap();
    tx.commit().unwrap();

    let pending = s.pending_callback("PAY-1").unwrap().expect("pending row");
    assert_eq!(pending.parent_instance_id, "g1");
    assert_eq!(pending.callback_task_id, "Task_WaitForPayment");
    assert_eq!(pending.parent_process_state, None);
    let listed = s.callbacks(Some("Pending"), Some("g1"), None).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].parent_process_state.as_deref(),
        Some(snapshot.as_str())
    );
}

#[test]
fn callback_registry_completes_once() {
    let mut s = Store::open_in_memory().unwrap();
    let tx = s.transaction().unwrap();
    let (def, _) = tx.deploy("Pay", None, "<x/>", &json!({}), AT).unwrap();
    tx.insert_instance(&instance("g1", def)).unwrap();
    tx.register_callback(
        "g1",
        "Task_WaitForPayment",
        Some("PAY-1"),
        Some("PaymentProcessed"),
        None,
        None,
        Some(30.0),
        None,
        AT,
    )
    .unwrap();
    tx.commit().unwrap();

    let row = s.pending_callback("PAY-1").unwrap().expect("pending row");
    assert_eq!(row.callback_task_id, "Task_WaitForPayment");
    assert_eq!(row.callback_type, "External");
    assert_eq!(row.timeout_minutes, Some(30.0));
    assert!(s.pending_callback("PAY-2").unwrap().is_none());

    let tx = s.transaction().unwrap();
    assert!(tx
        .close_callback(
            "g1",
            "Task_WaitForPayment",
            "Completed",
            Some(r#"{"ok":true}"#),
            AT
        )
        .unwrap());
    assert!(
        !tx.close_callback("g1", "Task_WaitForPayment", "Completed", None, AT)
            .unwrap(),
        "second delivery finds no Pending row"
    );
    tx.commit().unwrap();
    let rows = s.callbacks(Some("Completed"), Some("g1"), None).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].result_data.as_deref(), Some(r#"{"ok":true}"#));
    assert!(s.pending_callback("PAY-1").unwrap().is_none());
    // The seed's field names on the wire.
    let wire = serde_json::to_value(&rows[0]).unwrap();
    for field in [
        "ParentInstanceId",
        "CallbackTaskId",
        "CorrelationKey",
        "CallbackType",
        "Status",
        "ParentProcessState",
        "ResultData",
        "CompletedAt",
        "WebhookUrl",
        "MessageRef",
        "TimeoutMinutes",
    ] {
        assert!(wire.get(field).is_some(), "missing {field}");
    }
}

#[test]
fn a_real_file_keeps_everything_across_reopen_and_history_is_ordered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baton.db");
    {
        let mut s = Store::open(&path, Durability::Full).unwrap();
        let tx = s.transaction().unwrap();
        let (def, _) = tx.deploy("P", None, "<x/>", &json!({}), AT).unwrap();
        tx.insert_instance(&instance("g1", def)).unwrap();
        tx.history("g1", AT, "elementEntered", Some("Start"), None)
            .unwrap();
        tx.history("g1", AT, "elementEntered", Some("Review"), None)
            .unwrap();
        tx.update_instance(
            "g1",
            0,
            "COMPLETED",
            r#"{"status":"COMPLETED"}"#,
            Some("2026-01-01T01:00:00Z"),
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let s = Store::open(&path, Durability::Normal).unwrap();
    assert_eq!(s.schema_version().unwrap(), baton_store::SCHEMA_VERSION);
    let i = s.instance("g1").unwrap();
    assert_eq!(i.status, "COMPLETED");
    assert_eq!(i.ended_at.as_deref(), Some("2026-01-01T01:00:00Z"));
    let h = s.history("g1").unwrap();
    assert_eq!(
        h.iter()
            .map(|e| e.element_id.clone().unwrap())
            .collect::<Vec<_>>(),
        ["Start", "Review"]
    );
}

#[test]
fn a_step_is_one_history_row_and_reads_back_as_its_events_in_order() {
    let mut s = Store::open_in_memory().unwrap();
    let tx = s.transaction().unwrap();
    let (def, _) = tx.deploy("P", None, "<x/>", &json!({}), AT).unwrap();
    tx.insert_instance(&instance("g1", def)).unwrap();
    let event = |kind, element_id, data: Option<&str>| StepEvent {
        kind,
        element_id,
        data: data.map(str::to_string),
    };
    // A row an earlier version wrote for a run of element events.
    tx.history(
        "g1",
        AT,
        "elements",
        None,
        Some(r#"[["elementEntered","s"],["elementCompleted","s"]]"#),
    )
    .unwrap();
    tx.history_step(
        "g1",
        "2026-01-01T00:00:01Z",
        &[
            event(
                "variablesChanged",
                None,
                Some(r#"{"changed":{"a":"x\"y"}}"#),
            ),
            event("elementEntered", Some("t"), None),
            event("taskWaiting", Some("t"), Some(r#"{"type":"taskWaiting"}"#)),
        ],
    )
    .unwrap();
    tx.history_step("g1", AT, &[]).unwrap();
    tx.history_step("g1", AT, &[event("ended", None, Some("{}"))])
        .unwrap();
    // A list that cannot be read comes back as the row it is.
    tx.history("g1", AT, HISTORY_STEP, None, Some("not json"))
        .unwrap();
    tx.commit().unwrap();
    let h = s.history("g1").unwrap();
    let got: Vec<(&str, Option<&str>, Option<&str>)> = h
        .iter()
        .map(|e| (e.kind.as_str(), e.element_id.as_deref(), e.data.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("elementEntered", Some("s"), None),
            ("elementCompleted", Some("s"), None),
            (
                "variablesChanged",
                None,
                Some(r#"{"changed":{"a":"x\"y"}}"#)
            ),
            ("elementEntered", Some("t"), None),
            ("taskWaiting", Some("t"), Some(r#"{"type":"taskWaiting"}"#)),
            ("ended", None, Some("{}")),
            (HISTORY_STEP, None, Some("not json")),
        ]
    );
    // Events of one row share its time and seq; four rows were written.
    assert_eq!(h[2].at, "2026-01-01T00:00:01Z");
    assert_eq!(h[4].at, "2026-01-01T00:00:01Z");
    let seqs: std::collections::BTreeSet<i64> = h.iter().map(|e| e.seq).collect();
    assert_eq!(seqs.len(), 4);
}

#[test]
fn a_database_from_a_newer_baton_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    match Store::open(&path, Durability::Full) {
        Err(StoreError::TooNew {
            found: 99,
            supported: baton_store::SCHEMA_VERSION,
        }) => {}
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}

#[test]
fn an_update_from_a_stale_revision_is_a_conflict_and_writes_nothing() {
    let mut s = Store::open_in_memory().unwrap();
    let tx = s.transaction().unwrap();
    let (def, _) = tx.deploy("P", None, "<x/>", &json!({}), AT).unwrap();
    tx.insert_instance(&instance("g1", def)).unwrap();
    tx.update_instance("g1", 0, "WAITING", r#"{"n":1}"#, None)
        .unwrap();
    tx.commit().unwrap();
    assert_eq!(s.instance("g1").unwrap().rev, 1);
    let tx = s.transaction().unwrap();
    match tx.update_instance("g1", 0, "COMPLETED", r#"{"n":2}"#, Some(AT)) {
        Err(StoreError::Conflict(m)) => assert!(m.contains("g1"), "{m}"),
        other => panic!("a stale revision must conflict, got {other:?}"),
    }
    match tx.update_instance("nope", 0, "COMPLETED", "{}", None) {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("a missing instance is NotFound, got {other:?}"),
    }
    drop(tx);
    let i = s.instance("g1").unwrap();
    assert_eq!(
        (i.status.as_str(), i.state.as_str(), i.rev),
        ("WAITING", r#"{"n":1}"#, 1)
    );
}

#[test]
fn the_buffer_matches_by_name_and_key_honours_ttl_and_hands_out_each_entry_once() {
    let mut s = Store::open_in_memory().unwrap();
    let tx = s.transaction().unwrap();
    let (def, _) = tx.deploy("P", None, "<x/>", &json!({}), AT).unwrap();
    tx.insert_instance(&instance("g1", def)).unwrap();
    let late = "2026-01-01T00:01:00.000000Z";
    let soon = "2026-01-01T00:00:30.000000Z";
    tx.buffer(
        "message",
        Some("Paid"),
        Some("K1"),
        r#"{"a":1}"#,
        Some("m-1"),
        AT,
        late,
    )
    .unwrap();
    tx.buffer(
        "message",
        Some("Paid"),
        Some("K2"),
        r#"{"a":2}"#,
        None,
        AT,
        soon,
    )
    .unwrap();
    tx.buffer("callback", None, Some("K2"), r#"{"b":1}"#, None, AT, late)
        .unwrap();
    // A messageId is remembered once.
    assert!(tx.record_receipt("m-1", "{}", AT).unwrap());
    assert!(!tx.record_receipt("m-1", "{}", AT).unwrap());
    tx.commit().unwrap();
    // Wrong key, wrong name: nothing.
    let next = |kind, name, key, now| s.next_buffered(kind, name, key, now).unwrap();
    assert!(next("message", Some("Paid"), Some("K9"), AT).is_none());
    assert!(next("message", Some("Other"), None, AT).is_none());
    // A callback matches by exact key only; a message subscription without key takes the oldest.
    assert!(next("callback", None, Some("K1"), AT).is_none());
    let first = next("message", Some("Paid"), None, AT).unwrap();
    assert_eq!(first.payload, r#"{"a":1}"#);
    // Past its TTL an entry is never handed out, and expire_buffer marks it.
    let after = "2026-01-01T00:00:45.000000Z";
    assert!(next("message", Some("Paid"), Some("K2"), after).is_none());
    let cb = next("callback", None, Some("K2"), after).unwrap();
    assert_eq!(cb.payload, r#"{"b":1}"#);
    let tx = s.transaction().unwrap();
    assert!(tx.claim_buffered(first.id, "g1", AT).unwrap());
    assert_eq!(tx.expire_buffer(after).unwrap(), 1);
    assert!(tx.claim_buffered(cb.id, "g1", after).unwrap());
    assert!(
        !tx.claim_buffered(cb.id, "g1", after).unwrap(),
        "claimed once"
    );
    tx.commit().unwrap();
    assert!(s
        .next_buffered("callback", None, Some("K2"), after)
        .unwrap()
        .is_none());
    let statuses: Vec<String> = s
        .buffered(None, None)
        .unwrap()
        .into_iter()
        .map(|b| b.status)
        .collect();
    assert_eq!(statuses, ["Correlated", "Expired", "Correlated"]);
    assert!(s.receipt("m-1").unwrap().is_some());
}

#[test]
fn tokens_are_found_by_hash_only_while_live() {
    let mut s = Store::open_in_memory().unwrap();
    let tx = s.transaction().unwrap();
    tx.create_user("mary", false, AT).unwrap();
    assert!(matches!(
        tx.create_user("mary", true, AT),
        Err(StoreError::Conflict(_))
    ));
    assert!(tx.add_team_member("MANAGERS", "mary").unwrap());
    assert!(
        !tx.add_team_member("MANAGERS", "mary").unwrap(),
        "already a member"
    );
    assert!(matches!(
        tx.add_team_member("MANAGERS", "ghost"),
        Err(StoreError::NotFound(_))
    ));
    let id = tx
        .insert_token("hash-1", "mary", Some("laptop"), AT)
        .unwrap();
    tx.commit().unwrap();
    let u = s.user_by_token_hash("hash-1").unwrap().unwrap();
    assert_eq!(
        (u.user_name.as_str(), u.is_admin, u.teams.clone()),
        ("mary", false, vec!["MANAGERS".to_string()])
    );
    assert!(s.user_by_token_hash("hash-2").unwrap().is_none());
    let tx = s.transaction().unwrap();
    assert!(tx.revoke_token(id, AT).unwrap());
    assert!(!tx.revoke_token(id, AT).unwrap());
    tx.commit().unwrap();
    assert!(
        s.user_by_token_hash("hash-1").unwrap().is_none(),
        "a revoked token no longer works"
    );
    assert_eq!(
        s.tokens(Some("mary")).unwrap()[0].revoked_at.as_deref(),
        Some(AT)
    );
}

#[test]
fn a_version_2_database_is_migrated_without_losing_its_callbacks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    {
        let mut s = Store::open(&path, Durability::Full).unwrap();
        let tx = s.transaction().unwrap();
        let (def, _) = tx.deploy("Pay", None, "<x/>", &json!({}), AT).unwrap();
        tx.insert_instance(&instance("g1", def)).unwrap();
        tx.register_callback(
            "g1",
            "Wait",
            Some("PAY-1"),
            None,
            None,
            None,
            None,
            None,
            AT,
        )
        .unwrap();
        tx.commit().unwrap();
    }
    {
        // Make the file look like a version 2 database: no form_key column (v3), no timers (v4),
        // no webhooks (v5), no events out (v6), no webhook applications (v7), no starter of an
        // instance (v10), no settings (v11), no event numbers (v12), no user numbers
        // (v13), no sender ids of incoming webhooks (v14), no task assignees (v15), no delivery
        // answer bodies (v16: `deliveries.last_response` leaves with its table), no incidents
        // of timer start events (v17; the timer table's new columns leave with it), no user
        // roles (v19).
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TABLE action_numbers; DROP TABLE request_numbers; DROP TABLE webhook_apps;
             DROP TABLE deliveries; DROP TABLE custom_webhooks; DROP TABLE secrets; DROP TABLE event_subscriptions;
             DROP TABLE webhook_requests; DROP TABLE webhook_configs; DROP TABLE timers; DROP TABLE recurring_job_runs; DROP TABLE recurring_jobs;
             ALTER TABLE callback_registry DROP COLUMN form_key;
             DROP INDEX instances_started_by; ALTER TABLE instances DROP COLUMN started_by;
             DROP TABLE settings; DROP TABLE outbound_checked; DROP TABLE IF EXISTS event_sequences;
             DROP TABLE IF EXISTS user_ids; DROP TABLE IF EXISTS webhook_seen;
             ALTER TABLE user_tasks DROP COLUMN assignee;
             DROP TABLE IF EXISTS start_incidents;
             ALTER TABLE users DROP COLUMN role;
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let s = Store::open(&path, Durability::Full).unwrap();
    assert_eq!(s.schema_version().unwrap(), baton_store::SCHEMA_VERSION);
    let rows = s.callbacks(None, None, None).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].correlation_key.as_deref(),
            rows[0].status.as_str(),
            rows[0].form_key.as_deref()
        ),
        (Some("PAY-1"), "Pending", None)
    );
    assert_eq!(
        s.pending_callback("PAY-1")
            .unwrap()
            .map(|r| r.callback_task_id),
        Some("Wait".to_string())
    );
}

#[test]
fn the_newest_version_of_every_key_is_found_however_many_versions_exist() {
    let mut s = Store::open_in_memory().unwrap();
    let tx = s.transaction().unwrap();
    // An early key, then more versions of another than any page holds.
    let (early, _) = tx.deploy("Early", None, "<x/>", &json!({}), AT).unwrap();
    let mut last = 0;
    for _ in 0..600 {
        last = tx.deploy("Busy", None, "<x/>", &json!({}), AT).unwrap().0;
    }
    tx.commit().unwrap();
    let latest = s.latest_definitions().unwrap();
    let ids: Vec<(String, i64, i64)> = latest
        .iter()
        .map(|d| (d.process_key.clone(), d.process_definition_id, d.version))
        .collect();
    assert_eq!(
        ids,
        [
            ("Busy".to_string(), last, 600),
            ("Early".to_string(), early, 1)
        ]
    );
    assert!(s.definition_version("Busy", 7).unwrap().is_some());
    assert_eq!(s.definition_version("Busy", 601).unwrap(), None);
}
