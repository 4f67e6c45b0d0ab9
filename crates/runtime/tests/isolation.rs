//! Isolation: a panic in one step, timer, job run or outbox row fails that one piece of work with
//! a plain message (an internal error with a reference: never the panic's text; a step's
//! instance gets an internal incident, see tests/internal_incidents.rs) and everything
//! else goes on: the command doors answer, the scheduler fires the other timers, jobs run again,
//! the outbox delivers the rows after it, and a host starts over a database whose pending work
//! panics. Panics come from the runtime's test hook (`panic_next`) or, through the real host,
//! from a stored instance state the engine cannot follow (a corrupt row).
//!
//! Also here: commands queued with `doCmd` nest at most `command_depth` levels.

use baton_runtime::host::{Host, HostConfig};
use baton_runtime::{InstanceChange, PanicSite};
use baton_testkit::{agent, Model, TestRuntime};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

const TOKEN: &str = "isolation-test-token-0123456789";

fn start_host(db: &Path) -> Host {
    Host::start(HostConfig {
        listen: Some("127.0.0.1:0".into()),
        token: Some(TOKEN.into()),
        ..HostConfig::new(db)
    })
    .unwrap_or_else(|e| panic!("the host did not start: {e}"))
}

/// `POST /api/v1/execute` on the host's port: the status and the answer.
fn exec(host: &Host, cmd: &str, data: Value) -> (u16, Value) {
    let url = format!("http://{}/api/v1/execute", host.address().unwrap());
    let sent = agent()
        .post(&url)
        .set("authorization", &format!("Bearer {TOKEN}"))
        .send_string(&json!({"cmd": cmd, "data": data}).to_string());
    let resp = match sent {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{cmd}: {e}"),
    };
    let status = resp.status();
    let body: Value = serde_json::from_str(&resp.into_string().unwrap()).unwrap();
    assert_no_panic_text(&body);
    (status, body)
}

fn ok_over_http(host: &Host, cmd: &str, data: Value) -> Value {
    let (status, body) = exec(host, cmd, data);
    assert_eq!(
        (status, &body["isSuccessful"]),
        (200, &json!(true)),
        "{body}"
    );
    body["data"].clone()
}

/// No answer shows a panic's text (the test hook's says "on purpose", the engine's name its
/// internals).
fn assert_no_panic_text(answer: &Value) {
    let text = answer.to_string().to_lowercase();
    for word in ["panic", "on purpose", "index out of bounds", "scope id"] {
        assert!(!text.contains(word), "an answer shows '{word}': {answer}");
    }
}

/// An internal failure as callers see it: 500 and a reference.
fn assert_internal(status: u16, answer: &Value) {
    assert_eq!(status, 500, "{answer}");
    assert_eq!(answer["isSuccessful"], false, "{answer}");
    assert_eq!(answer["code"], "INTERNAL", "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.starts_with("internal error; reference "),
        "{answer}"
    );
}

/// Waits (at most 30 s) for `guid` to reach `status` on the change feed.
fn wait_for(mut feed: tokio::sync::broadcast::Receiver<InstanceChange>, guid: &str, status: &str) {
    let (tx, rx) = mpsc::channel();
    let (guid, status) = (guid.to_string(), status.to_string());
    let (g, s) = (guid.clone(), status.clone());
    std::thread::spawn(move || loop {
        match feed.blocking_recv() {
            Ok(c) if c.instance_guid == g && c.status == s => {
                let _ = tx.send(());
                return;
            }
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(_) => return,
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{guid} did not reach {status} within 30 s"));
}

fn quick() -> String {
    Model::process("Quick")
        .start("s")
        .end("e")
        .chain(&["s", "e"])
        .xml()
}

fn with_task() -> String {
    Model::process("Task")
        .start("s")
        .user_task("t")
        .end("e")
        .chain(&["s", "t", "e"])
        .xml()
}

fn timer(key: &str, duration: &str) -> String {
    Model::process(key)
        .start("s")
        .catch_timer("wait", "timeDuration", duration)
        .end("e")
        .chain(&["s", "wait", "e"])
        .xml()
}

#[test]
fn a_step_that_panics_fails_its_command_alone_and_the_answer_shows_a_reference_only() {
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(&dir.path().join("steps.db"));
    let rt = host.runtime().clone();
    for xml in [quick(), with_task()] {
        ok_over_http(
            &host,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": xml}),
        );
    }

    // A start whose step panics: nothing is written, the caller sees a reference.
    rt.panic_next(PanicSite::Step, 1);
    let (status, answer) = exec(
        &host,
        "StartProcessInstanceCommand",
        json!({"processKey": "Quick"}),
    );
    assert_internal(status, &answer);
    assert_eq!(rt.panic_next(PanicSite::Step, 0), 0, "the panic was raised");
    let list = ok_over_http(
        &host,
        "GetProcessInstanceListQuery",
        json!({"processKey": "Quick"}),
    );
    assert_eq!(list["totalCount"], 0, "{list}");

    // The same start again, and a step on an existing instance that panics, then succeeds.
    let started = ok_over_http(
        &host,
        "StartProcessInstanceCommand",
        json!({"processKey": "Quick"}),
    );
    assert_eq!(started["status"], "COMPLETED", "{started}");
    let waiting = ok_over_http(
        &host,
        "StartProcessInstanceCommand",
        json!({"processKey": "Task"}),
    );
    let guid = waiting["instanceGuid"].as_str().unwrap();
    let signal = json!({"instanceGuid": guid, "taskId": "t", "callbackData": {}});
    rt.panic_next(PanicSite::Step, 1);
    let (status, answer) = exec(&host, "SignalProcessInstanceCommand", signal.clone());
    assert_internal(status, &answer);
    let seen = ok_over_http(
        &host,
        "GetProcessInstanceByIdQuery",
        json!({"instanceGuid": guid}),
    );
    // Nothing of the step was applied; the instance shows an internal incident at the task
    // (tests/internal_incidents.rs has the rest of that story).
    assert_eq!(seen["status"], "FAILED", "{seen}");
    assert_eq!(seen["waiting"][0]["taskId"], "t", "{seen}");
    assert_eq!(seen["incidents"][0]["elementId"], "t", "{seen}");
    let done = ok_over_http(&host, "SignalProcessInstanceCommand", signal);
    assert_eq!(done["status"], "COMPLETED", "{done}");
    host.shutdown();
}

#[test]
fn a_timer_whose_step_panics_fails_alone_and_the_others_fire() {
    let t = TestRuntime::new();
    t.deploy(&timer("Wait", "PT10S"));
    let guids: Vec<String> = (0..3).map(|_| t.start("Wait", json!({}))).collect();
    t.rt.panic_next(PanicSite::Step, 1);
    t.advance(11);
    let report = t.rt.fire_due();
    assert_eq!((report.fired, report.failed), (2, 1), "{report:?}");
    let status = |g: &String| t.instance(g)["status"].as_str().unwrap().to_string();
    let failed: Vec<&String> = guids.iter().filter(|g| status(g) == "FAILED").collect();
    assert_eq!(failed.len(), 1, "one timer failed, two fired");
    // It is not tried again on its own (an internal incident waits for a retry).
    t.advance(61);
    assert_eq!(t.rt.fire_due().fired, 0);
    t.run("RetryIncidentCommand", json!({"instanceGuid": failed[0]}));
    assert!(guids.iter().all(|g| status(g) == "COMPLETED"));
}

#[test]
fn a_job_run_that_panics_ends_failed_and_the_job_runs_again() {
    let t = TestRuntime::new();
    let job = t.run(
        "CreateRecurringJobCommand",
        json!({"name": "tick", "cronExpression": "*/15 * * * *", "executionType": 2, "executionCode": "40 + 2"}),
    );
    let id = job["id"].as_i64().unwrap();
    let runs = || {
        t.run("GetRecurringJobRunListQuery", json!({"id": id}))["items"]
            .as_array()
            .unwrap()
            .clone()
    };

    // By hand: the run fails with a plain message; the answer names a reference only.
    t.rt.panic_next(PanicSite::JobRun, 1);
    let failed = t.refused("ExecuteRecurringJobCommand", json!({"id": id}));
    let answer = serde_json::to_value(&failed).unwrap();
    assert_no_panic_text(&answer);
    assert!(
        failed
            .message
            .contains("failed unexpectedly (internal error; reference "),
        "{failed:?}"
    );
    let r = runs();
    assert_eq!(r[0]["status"], "Failed", "{r:?}");
    assert_no_panic_text(&r[0]);
    // Not left Running: the next run by hand is not refused as "already running".
    let again = t.run("ExecuteRecurringJobCommand", json!({"id": id}));
    assert_eq!(again["status"], "Succeeded", "{again}");

    // On schedule: a run that panics ends Failed and the next one is not Skipped.
    t.rt.panic_next(PanicSite::JobRun, 1);
    t.advance(15 * 60);
    t.rt.fire_due();
    t.advance(15 * 60);
    t.rt.fire_due();
    let statuses: Vec<Value> = runs().iter().map(|r| r["status"].clone()).collect();
    assert_eq!(
        statuses[..2],
        [json!("Succeeded"), json!("Failed")],
        "newest first: {statuses:?}"
    );
}

/// Parent: start -> script task `run` (`code`) -> end. Child: start -> end.
fn deploy_pair(t: &TestRuntime, code: &str) {
    t.deploy(
        &Model::process("Child")
            .start("s")
            .end("e")
            .chain(&["s", "e"])
            .xml(),
    );
    t.deploy(
        &Model::process("Parent")
            .start("s")
            .script_task("run", code)
            .end("e")
            .chain(&["s", "run", "e"])
            .xml(),
    );
}

fn count(t: &TestRuntime, key: &str) -> i64 {
    t.run("GetProcessInstanceListQuery", json!({"processKey": key}))["totalCount"]
        .as_i64()
        .unwrap()
}

fn history(t: &TestRuntime, guid: &str, kind: &str) -> Vec<Value> {
    t.run("GetInstanceHistoryQuery", json!({"instanceGuid": guid}))
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["kind"] == kind)
        .cloned()
        .collect()
}

#[test]
fn an_outbox_row_whose_delivery_panics_is_marked_failed_and_the_next_rows_are_delivered() {
    let t = TestRuntime::new();
    deploy_pair(
        &t,
        r#"doCmd("StartProcessInstanceCommand", #{processKey: "Child"}); doCmd("StartProcessInstanceCommand", #{processKey: "Child"});"#,
    );
    t.rt.panic_next(PanicSite::QueuedCommand, 1);
    let guid = t.start("Parent", json!({}));
    assert_eq!(t.instance(&guid)["status"], "COMPLETED");
    // The first command's row panicked, the second ran.
    assert_eq!(count(&t, "Child"), 1);
    let failed = history(&t, &guid, "commandFailed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_no_panic_text(&failed[0]);
    assert!(
        failed[0].to_string().contains("failed unexpectedly"),
        "{failed:?}"
    );
    let conn = rusqlite::Connection::open(t.db()).unwrap();
    let pending: i64 = conn
        .query_row(
            "SELECT count(*) FROM outbox WHERE delivered_at IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        pending, 0,
        "the row that panicked is not delivered again and again"
    );
    // The outbox goes on serving later steps.
    t.start("Parent", json!({}));
    assert_eq!(count(&t, "Child"), 3);
}

#[test]
fn do_cmd_nesting_stops_at_the_limit_with_command_failed() {
    let t = TestRuntime::new();
    let again = r#"doCmd("StartProcessInstanceCommand", #{processKey: "Again"});"#;
    t.deploy(
        &Model::process("Again")
            .start("s")
            .script_task("run", again)
            .end("e")
            .chain(&["s", "run", "e"])
            .xml(),
    );
    assert_eq!(t.rt.command_depth(), baton_runtime::DEFAULT_COMMAND_DEPTH);
    assert_eq!(baton_runtime::DEFAULT_COMMAND_DEPTH, 16);
    // The first start returns once its whole chain ran: 16 nested starts, the 17th refused.
    t.start("Again", json!({}));
    assert_eq!(count(&t, "Again"), 17);
    let list = t.run(
        "GetProcessInstanceListQuery",
        json!({"processKey": "Again", "pageSize": 100}),
    );
    let refused: Vec<Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| history(&t, i["instanceGuid"].as_str().unwrap(), "commandFailed"))
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    let said = refused[0].to_string();
    assert!(
        said.contains("17 levels deep") && said.contains("limit of 16"),
        "{said}"
    );

    // A lower limit, set on the runtime.
    t.rt.set_command_depth(3);
    t.start("Again", json!({}));
    assert_eq!(count(&t, "Again"), 17 + 4);
}

// ----- through the host: a poisoned database ---------------------------------------------------

/// Makes a stored instance's state one the engine cannot follow (no scopes left: every token
/// points at a scope that is not there), as a corrupt or hand-edited row would be.
fn poison(db: &Path, guid: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let changed = conn
        .execute(
            "UPDATE instances SET state = json_set(state, '$.scopes', json('[]')) WHERE guid = ?1",
            [guid],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

#[test]
fn the_scheduler_goes_on_after_a_poisoned_instance_panics_its_timer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("timers.db");
    let host = start_host(&db);
    for xml in [timer("Slow", "PT1H"), timer("Tick", "PT1S")] {
        ok_over_http(
            &host,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": xml}),
        );
    }
    let poisoned = ok_over_http(
        &host,
        "StartProcessInstanceCommand",
        json!({"processKey": "Slow"}),
    );
    let poisoned = poisoned["instanceGuid"].as_str().unwrap().to_string();
    host.shutdown();
    poison(&db, &poisoned);
    // Its timer is due (in the table and in the state), so firing it reaches the missing scope.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE timers SET due_at = '2000-01-01T00:00:00.000000Z' WHERE instance_guid = ?1",
        [&poisoned],
    )
    .unwrap();
    let due = conn
        .execute(
            "UPDATE instances SET state = json_set(state, '$.subs[0].kind.Timer.due', '2000-01-01T00:00:00Z') WHERE guid = ?1",
            [&poisoned],
        )
        .unwrap();
    assert_eq!(due, 1);
    drop(conn);

    // The poisoned timer is due at once; the scheduler's first pass fires it, it panics, and
    // the scheduler goes on: a timer due a second after it fires.
    let host = start_host(&db);
    let changes = host.subscribe();
    let tick = ok_over_http(
        &host,
        "StartProcessInstanceCommand",
        json!({"processKey": "Tick"}),
    );
    wait_for(changes, tick["instanceGuid"].as_str().unwrap(), "COMPLETED");
    // Queries are answered; the poisoned instance's answers carry no panic text either.
    ok_over_http(&host, "GetProcessInstanceListQuery", json!({}));
    exec(
        &host,
        "GetProcessInstanceByIdQuery",
        json!({"instanceGuid": poisoned}),
    );
    // It has an internal incident; its timer waits for the retry, not fired again and again.
    let incidents = ok_over_http(&host, "GetIncidentListQuery", json!({}));
    assert_eq!(incidents["totalCount"], 1, "{incidents}");
    assert_eq!(incidents["items"][0]["instanceGuid"], poisoned.as_str());
    let failed = ok_over_http(
        &host,
        "GetProcessInstanceListQuery",
        json!({"status": "FAILED"}),
    );
    assert_eq!(
        failed["items"][0]["instanceGuid"],
        poisoned.as_str(),
        "{failed}"
    );
    let timers = ok_over_http(
        &host,
        "GetTimerListQuery",
        json!({"instanceGuid": poisoned}),
    );
    assert_eq!(timers["totalCount"], 0, "{timers}");
    host.shutdown();
}

#[test]
fn a_host_starts_and_serves_over_an_outbox_row_whose_delivery_panics() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outbox.db");
    let host = start_host(&db);
    let catch = Model::process("Catch")
        .message("m", "go")
        .start("s")
        .catch_message("c", "m")
        .end("e")
        .chain(&["s", "c", "e"])
        .xml();
    ok_over_http(
        &host,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": catch}),
    );
    ok_over_http(
        &host,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": quick()}),
    );
    let waiting = ok_over_http(
        &host,
        "StartProcessInstanceCommand",
        json!({"processKey": "Catch"}),
    );
    let guid = waiting["instanceGuid"].as_str().unwrap().to_string();
    host.shutdown();
    // A pending message for the poisoned instance: delivering it applies a step that panics.
    poison(&db, &guid);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "INSERT INTO outbox (instance_guid, event, payload, created_at) VALUES (NULL, 'messageThrown', '{\"name\":\"go\",\"variables\":{}}', '2026-01-01T00:00:00.000000Z')",
        [],
    )
    .unwrap();
    drop(conn);

    let host = start_host(&db);
    let started = ok_over_http(
        &host,
        "StartProcessInstanceCommand",
        json!({"processKey": "Quick"}),
    );
    assert_eq!(started["status"], "COMPLETED", "{started}");
    host.shutdown();
    // The scheduler's thread delivered the row (it stopped only after): marked, not pending.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (pending, error): (i64, Option<String>) = conn
        .query_row(
            "SELECT count(*) FILTER (WHERE delivered_at IS NULL), max(last_error) FROM outbox WHERE event = 'messageThrown'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(pending, 0);
    let error = error.unwrap_or_default();
    assert!(!error.to_lowercase().contains("panic"), "{error}");
}

// ----- queries do not queue behind commands ----------------------------------------------------

/// 600 starts at once whose steps all wait (as slow scripts would): more than the blocking
/// threads tokio has (512). The command lane holds `COMMAND_LANES` of them at a time; a query
/// skips it and is answered while they wait; then every start completes.
#[test]
fn a_query_is_answered_while_hundreds_of_slow_commands_wait() {
    use std::io::{Read, Write};
    const STARTS: usize = 600;
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(&dir.path().join("lanes.db"));
    let rt = host.runtime().clone();
    ok_over_http(
        &host,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": quick()}),
    );

    rt.hold_steps(true);
    let addr = host.address().unwrap();
    let body =
        json!({"cmd": "StartProcessInstanceCommand", "data": {"processKey": "Quick"}}).to_string();
    // Raw connections: every request is sent at once, without a client thread each.
    let streams: Vec<std::net::TcpStream> = (0..STARTS)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            write!(
                s,
                "POST /api/v1/execute HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            s
        })
        .collect();
    let lanes = baton_runtime::COMMAND_LANES;
    assert_eq!(rt.steps_held(lanes, Duration::from_secs(60)), lanes);

    let asked = std::time::Instant::now();
    let list = ok_over_http(
        &host,
        "GetProcessInstanceListQuery",
        json!({"processKey": "Quick"}),
    );
    let took = asked.elapsed();
    assert_eq!(
        list["totalCount"], 0,
        "nothing committed while the steps wait: {list}"
    );
    // The bound is 100 ms; the margin is for a loaded machine running a debug build.
    assert!(took < Duration::from_secs(1), "the query took {took:?}");
    // The lane lets no more in while its places are taken.
    assert_eq!(rt.steps_held(lanes + 1, Duration::from_millis(200)), lanes);

    rt.hold_steps(false);
    for mut s in streams {
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    let list = ok_over_http(
        &host,
        "GetProcessInstanceListQuery",
        json!({"processKey": "Quick"}),
    );
    assert_eq!(list["totalCount"], STARTS, "{list}");
    host.shutdown();
}
