//! `doCmd` is an effect of the step: the command runs after the step committed, exactly once per
//! committed step (key `{instanceGuid}:{elementId}:{revision}:{n}`), and never for a step that
//! failed, threw or was re-applied after losing a race.

use baton_engine::User;
use baton_runtime::Runtime;
use baton_testkit::{deploy, history_kinds, ok, open_in, Model};
use serde_json::{json, Value};
use std::path::Path;

const START_CHILD: &str = r#"doCmd("StartProcessInstanceCommand", #{processKey: "Child", variables: #{from: "parent"}});"#;

/// Child: start -> end. Parent: start -> user task `approve` -> script task `run` (`code`) -> end.
fn deploy_pair(rt: &Runtime, code: &str) {
    let child = Model::process("Child")
        .start("s")
        .end("e")
        .chain(&["s", "e"])
        .xml();
    deploy(rt, &child);
    let parent = Model::process("Parent")
        .start("s")
        .user_task("approve")
        .script_task("run", code)
        .end("e")
        .chain(&["s", "approve", "run", "e"])
        .xml();
    deploy(rt, &parent);
}

fn start_parent(rt: &Runtime) -> String {
    let s = ok(rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processKey": "Parent", "variables": {}}),
        None,
    ));
    assert_eq!(s["status"], "WAITING", "{s}");
    s["instanceGuid"].as_str().unwrap().to_string()
}

fn approve(rt: &Runtime, guid: &str) -> baton_runtime::Reply {
    rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "taskId": "approve", "callbackData": {}}),
        None,
    )
}

fn children(rt: &Runtime) -> i64 {
    ok(rt.execute(
        "GetProcessInstanceListQuery",
        &json!({"processKey": "Child"}),
        None,
    ))["totalCount"]
        .as_i64()
        .unwrap()
}

fn status(rt: &Runtime, guid: &str) -> Value {
    ok(rt.execute(
        "GetProcessInstanceByIdQuery",
        &json!({"instanceGuid": guid}),
        None,
    ))["status"]
        .clone()
}

fn count_kind(rt: &Runtime, guid: &str, kind: &str) -> usize {
    history_kinds(rt, guid)
        .iter()
        .filter(|k| *k == kind)
        .count()
}

/// The outbox rows of queued commands: (payload, delivered, last error).
fn command_rows(db: &Path) -> Vec<(Value, bool, Option<String>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT payload, delivered_at IS NOT NULL, last_error FROM outbox WHERE event = 'commandQueued' ORDER BY id")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            let payload: String = r.get(0)?;
            Ok((
                serde_json::from_str(&payload).unwrap(),
                r.get(1)?,
                r.get(2)?,
            ))
        })
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[test]
fn a_command_runs_once_although_its_step_was_applied_three_times() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _) = open_in(dir.path());
    deploy_pair(&rt, START_CHILD);
    let guid = start_parent(&rt);

    // The next two commits of the step fail after writing (rolled back): the runtime re-reads
    // and re-applies it, running the script three times in all.
    assert_eq!(rt.fail_next_step_commits(2), 0);
    let done = ok(approve(&rt, &guid));
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(rt.fail_next_step_commits(0), 0, "both commits failed");
    assert_eq!(children(&rt), 1, "the command ran once");
    assert_eq!(count_kind(&rt, &guid, "commandQueued"), 1);

    // One row, delivered, keyed by the instance, the element and the revision committed.
    let rows = command_rows(&dir.path().join("baton.db"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (payload, delivered, error) = &rows[0];
    assert!(*delivered && error.is_none(), "{rows:?}");
    assert_eq!(payload["key"], format!("{guid}:run:1:0"), "{payload}");
    assert_eq!(payload["name"], "StartProcessInstanceCommand");
    assert_eq!(payload["admin"], true, "the owner ran the step");
}

#[test]
fn a_script_that_throws_after_do_cmd_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _) = open_in(dir.path());
    deploy_pair(&rt, &format!("{START_CHILD} throw \"changed my mind\";"));
    let guid = start_parent(&rt);
    let after = ok(approve(&rt, &guid));
    assert_eq!(after["status"], "FAILED", "an incident: {after}");
    let inc = ok(rt.execute("GetIncidentListQuery", &json!({}), None));
    assert!(inc.to_string().contains("changed my mind"), "{inc}");
    assert_eq!(children(&rt), 0);
    assert_eq!(count_kind(&rt, &guid, "commandQueued"), 0);
    assert!(command_rows(&dir.path().join("baton.db")).is_empty());
}

#[test]
fn a_step_whose_commit_fails_runs_nothing_and_its_retry_runs_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _) = open_in(dir.path());
    deploy_pair(&rt, START_CHILD);
    let guid = start_parent(&rt);

    rt.simulate_store_faults(true, false).unwrap();
    let refused = approve(&rt, &guid);
    assert!(!refused.is_successful, "{refused:?}");
    rt.simulate_store_faults(false, false).unwrap();
    assert_eq!(children(&rt), 0, "the step did not commit: nothing ran");
    assert_eq!(status(&rt, &guid), "WAITING");

    ok(approve(&rt, &guid));
    assert_eq!(children(&rt), 1);
    assert_eq!(status(&rt, &guid), "COMPLETED");
}

#[test]
fn a_redelivered_row_whose_key_was_recorded_does_not_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    {
        let (rt, _) = open_in(dir.path());
        deploy_pair(&rt, START_CHILD);
        let guid = start_parent(&rt);
        ok(approve(&rt, &guid));
        assert_eq!(children(&rt), 1);
    }
    // As if the mark were lost: the row is pending again, its key still recorded.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let reset = conn
        .execute(
            "UPDATE outbox SET delivered_at = NULL WHERE event = 'commandQueued'",
            [],
        )
        .unwrap();
    assert_eq!(reset, 1);
    drop(conn);

    // Opening delivers the outbox again.
    let (rt, _) = open_in(dir.path());
    assert_eq!(
        children(&rt),
        1,
        "the recorded key made the redelivery a no-op"
    );
    let rows = command_rows(&db);
    assert!(rows.iter().all(|(_, delivered, _)| *delivered), "{rows:?}");
}

#[test]
fn a_command_that_fails_after_the_commit_shows_in_the_history_once() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _) = open_in(dir.path());
    deploy_pair(
        &rt,
        r#"doCmd("StartProcessInstanceCommand", #{processKey: "NoSuchProcess"}); doCmd("StartProcessInstanceCommand", #{processKey: "Child"});"#,
    );
    let guid = start_parent(&rt);
    let done = ok(approve(&rt, &guid));
    assert_eq!(done["status"], "COMPLETED", "the step committed: {done}");
    // The second command does not depend on the first.
    assert_eq!(children(&rt), 1);

    let h = ok(rt.execute(
        "GetInstanceHistoryQuery",
        &json!({"instanceGuid": guid}),
        None,
    ));
    let failed: Vec<&Value> = h
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "commandFailed")
        .collect();
    assert_eq!(failed.len(), 1, "{h}");
    assert_eq!(failed[0]["elementId"], "run");
    let data: Value = serde_json::from_str(failed[0]["data"].as_str().unwrap()).unwrap();
    assert_eq!(data["command"], "StartProcessInstanceCommand");
    assert_eq!(data["key"], format!("{guid}:run:1:0"));
    assert!(
        data["message"].as_str().unwrap().contains("NoSuchProcess"),
        "{data}"
    );
    // Recorded on its row, taken off the queue: not retried in a loop.
    let rows = command_rows(&dir.path().join("baton.db"));
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0].1
            && rows[0]
                .2
                .as_deref()
                .is_some_and(|e| e.contains("NoSuchProcess"))
    );
    assert!(rows[1].1 && rows[1].2.is_none(), "{rows:?}");
}

#[test]
fn a_queued_command_runs_as_the_user_of_the_step_reloaded_with_their_teams() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _) = open_in(dir.path());
    // Child waits on a task only MANAGERS may complete; the parent's script completes it.
    let child = Model::process("Child")
        .start("s")
        .user_task("review")
        .props(&[("ResponsibleTeam", "MANAGERS")])
        .end("e")
        .chain(&["s", "review", "e"])
        .xml();
    deploy(&rt, &child);
    let parent = Model::process("Parent")
        .start("s")
        .user_task("approve")
        .script_task(
            "run",
            r#"doCmd("SignalProcessInstanceCommand", #{instanceGuid: childGuid, taskId: "review", callbackData: #{}});"#,
        )
        .end("e")
        .chain(&["s", "approve", "run", "e"])
        .xml();
    deploy(&rt, &parent);
    let child = ok(rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processKey": "Child", "variables": {}}),
        None,
    ))["instanceGuid"]
        .clone();
    let guid = ok(rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processKey": "Parent", "variables": {"childGuid": child}}),
        None,
    ))["instanceGuid"]
        .as_str()
        .unwrap()
        .to_string();
    ok(rt.execute("CreateUserCommand", &json!({"userName": "mary"}), None));
    ok(rt.execute(
        "AddUserToTeamCommand",
        &json!({"userName": "mary", "team": "MANAGERS"}),
        None,
    ));
    // mary's step carries no teams; the command runs as mary as stored, a MANAGER.
    let mary = User {
        name: "mary".into(),
        teams: vec![],
    };
    let done = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "taskId": "approve", "callbackData": {}}),
        Some(&mary),
    );
    assert!(done.is_successful, "{done:?}");
    let rows = command_rows(&dir.path().join("baton.db"));
    assert_eq!(
        (&rows[0].0["user"], &rows[0].0["admin"]),
        (&json!("mary"), &json!(false))
    );
    assert!(rows[0].2.is_none(), "{rows:?}");
    assert_eq!(status(&rt, child.as_str().unwrap()), "COMPLETED");

    // bob is not stored and not a MANAGER: his command is refused, after the commit.
    let other = ok(rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processKey": "Child", "variables": {}}),
        None,
    ))["instanceGuid"]
        .clone();
    let guid = ok(rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processKey": "Parent", "variables": {"childGuid": other}}),
        None,
    ))["instanceGuid"]
        .as_str()
        .unwrap()
        .to_string();
    let bob = User {
        name: "bob".into(),
        teams: vec![],
    };
    let done = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "taskId": "approve", "callbackData": {}}),
        Some(&bob),
    );
    assert!(done.is_successful, "{done:?}");
    assert_eq!(status(&rt, other.as_str().unwrap()), "WAITING");
    assert_eq!(count_kind(&rt, &guid, "commandFailed"), 1);
}

#[test]
fn a_server_script_queues_commands_that_run_only_when_it_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _) = open_in(dir.path());
    let child = Model::process("Child")
        .start("s")
        .end("e")
        .chain(&["s", "e"])
        .xml();
    deploy(&rt, &child);
    let check = format!(r#"{START_CHILD} if formData.ok != true {{ throw "not approved"; }}"#);
    let parent = Model::process("Parent")
        .start("s")
        .user_task("approve")
        .props(&[("ServerScript", check.as_str())])
        .end("e")
        .chain(&["s", "approve", "e"])
        .xml();
    deploy(&rt, &parent);
    let guid = start_parent(&rt);
    let no = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {"ok": false}}),
        None,
    );
    assert!(
        !no.is_successful && no.message.contains("not approved"),
        "{no:?}"
    );
    assert_eq!(children(&rt), 0, "a rejected submission runs nothing");
    let yes = ok(rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": guid, "callbackData": {"ok": true}}),
        None,
    ));
    assert_eq!(yes["status"], "COMPLETED");
    assert_eq!(children(&rt), 1);
    assert_eq!(
        command_rows(&dir.path().join("baton.db"))[0].0["key"],
        format!("{guid}:approve:1:0")
    );
}
