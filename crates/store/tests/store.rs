//! The store on `:memory:` with all migrations, and on a real file across reopen.

use baton_store::{Durability, InstanceRow, Store, StoreError};
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
    }
}

#[test]
fn deploying_the_same_key_twice_makes_versions() {
    let mut s = Store::open_in_memory().unwrap();
    let tx = s.transaction().unwrap();
    let (id1, v1) = tx.deploy("Loan", Some("Loan approval"), "<definitions/>", &json!({}), AT).unwrap();
    let (id2, v2) = tx.deploy("Loan", None, "<definitions v2/>", &json!({"f": {"components": []}}), AT).unwrap();
    tx.commit().unwrap();
    assert_eq!((v1, v2), (1, 2));
    assert_ne!(id1, id2);
    let latest = s.latest_definition("Loan").unwrap();
    assert_eq!(latest.process_definition_id, id2);
    assert_eq!(latest.bpmn_xml.as_deref(), Some("<definitions v2/>"), "XML kept verbatim");
    assert_eq!(latest.forms["f"]["components"], json!([]));
    let (items, total) = s.definitions(None, 1, 10).unwrap();
    assert_eq!(total, 2);
    assert!(items.iter().all(|d| d.bpmn_xml.is_none()), "lists carry no XML");
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
    assert!(tx.insert_instance(&bad).is_err(), "foreign key to a missing definition");
    bad.process_definition_id = def;
    bad.status = "SLEEPING".into();
    assert!(tx.insert_instance(&bad).is_err(), "status outside the documented set");
    drop(tx);
    assert_eq!(s.instance("g1").unwrap().status, "WAITING");
    assert!(s.instance("g2").is_err());
}

#[test]
fn callback_registry_completes_once() {
    let mut s = Store::open_in_memory().unwrap();
    let tx = s.transaction().unwrap();
    let (def, _) = tx.deploy("Pay", None, "<x/>", &json!({}), AT).unwrap();
    tx.insert_instance(&instance("g1", def)).unwrap();
    tx.register_callback("g1", "Task_WaitForPayment", Some("PAY-1"), Some("PaymentProcessed"), None, Some(30.0), None, AT)
        .unwrap();
    tx.commit().unwrap();

    let row = s.pending_callback("PAY-1").unwrap().expect("pending row");
    assert_eq!(row.callback_task_id, "Task_WaitForPayment");
    assert_eq!(row.callback_type, "External");
    assert_eq!(row.timeout_minutes, Some(30.0));
    assert!(s.pending_callback("PAY-2").unwrap().is_none());

    let tx = s.transaction().unwrap();
    assert!(tx.close_callback("g1", "Task_WaitForPayment", "Completed", Some(r#"{"ok":true}"#), AT).unwrap());
    assert!(!tx.close_callback("g1", "Task_WaitForPayment", "Completed", None, AT).unwrap(), "second delivery finds no Pending row");
    tx.commit().unwrap();
    let rows = s.callbacks(Some("Completed"), Some("g1")).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].result_data.as_deref(), Some(r#"{"ok":true}"#));
    assert!(s.pending_callback("PAY-1").unwrap().is_none());
    // The seed's field names on the wire.
    let wire = serde_json::to_value(&rows[0]).unwrap();
    for field in ["ParentInstanceId", "CallbackTaskId", "CorrelationKey", "CallbackType", "Status", "ParentProcessState", "ResultData", "CompletedAt", "WebhookUrl", "MessageRef", "TimeoutMinutes"] {
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
        tx.history("g1", AT, "elementEntered", Some("Start"), None).unwrap();
        tx.history("g1", AT, "elementEntered", Some("Review"), None).unwrap();
        tx.update_instance("g1", "COMPLETED", r#"{"status":"COMPLETED"}"#, Some("2026-01-01T01:00:00Z")).unwrap();
        tx.commit().unwrap();
    }
    let s = Store::open(&path, Durability::Normal).unwrap();
    assert_eq!(s.schema_version().unwrap(), 1);
    let i = s.instance("g1").unwrap();
    assert_eq!(i.status, "COMPLETED");
    assert_eq!(i.ended_at.as_deref(), Some("2026-01-01T01:00:00Z"));
    let h = s.history("g1").unwrap();
    assert_eq!(h.iter().map(|e| e.element_id.clone().unwrap()).collect::<Vec<_>>(), ["Start", "Review"]);
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
        Err(StoreError::TooNew { found: 99, supported: 1 }) => {}
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}
