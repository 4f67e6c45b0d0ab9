//! Kill -9 in the middle of a stream of starts, restart, and check that nothing acknowledged was
//! lost or doubled: every acknowledged instance still waits on its callback, completes exactly
//! once when the callback comes, and answers a second delivery as a duplicate.

use serde_json::{json, Value};
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use support::Served;

const MODEL: &str = r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:custom="http://baton.dev/schema/custom" id="d">
  <bpmn:process id="Wait" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:receiveTask id="Callback">
      <bpmn:extensionElements><custom:properties><custom:property name="correlationKey" value="context.ref"/></custom:properties></bpmn:extensionElements>
    </bpmn:receiveTask>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Callback"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Callback" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

/// One command over a fresh connection; `None` when the server is gone.
fn execute(addr: &str, cmd: &str, data: Value) -> Option<Value> {
    let out = support::post(
        addr,
        Some("test-token-0123456789"),
        &json!({"cmd": cmd, "data": data}).to_string(),
    )?;
    let (_, body) = out.split_once("\r\n\r\n")?;
    serde_json::from_str(body).ok()
}

#[test]
fn kill_9_mid_stream_loses_and_doubles_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let server = Served::start(&db, &["--token", "test-token-0123456789"]);
    let addr = server.addr.clone();
    let dep = execute(
        &addr,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": MODEL}),
    )
    .unwrap();
    assert_eq!(dep["isSuccessful"], true, "{dep}");

    // A writer starts instances as fast as it can; the test kills the server under it.
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, stop, addr) = (acked.clone(), stop.clone(), addr.clone());
        std::thread::spawn(move || {
            for i in 0..2000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let r = format!("R-{i}");
                match execute(
                    &addr,
                    "StartProcessInstanceCommand",
                    json!({"processKey": "Wait", "variables": {"ref": r}}),
                ) {
                    Some(v) if v["isSuccessful"] == true => acked
                        .lock()
                        .unwrap()
                        .push((r, v["data"]["instanceGuid"].as_str().unwrap().to_string())),
                    _ => break,
                }
            }
        })
    };
    while acked.lock().unwrap().len() < 200 {
        assert!(
            !writer.is_finished(),
            "the writer stopped before 200 starts were acknowledged"
        );
        std::thread::yield_now();
    }
    server.kill(); // SIGKILL on Unix: no shutdown path runs
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 200);

    let server = Served::start(&db, &["--token", "test-token-0123456789"]);
    let addr = server.addr.clone();
    let pending = execute(
        &addr,
        "GetCallbackRegistryListQuery",
        json!({"status": "Pending"}),
    )
    .unwrap();
    let pending_keys: Vec<String> = pending["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["CorrelationKey"].as_str().unwrap().to_string())
        .collect();
    for (r, _) in &acked {
        assert_eq!(
            pending_keys.iter().filter(|k| *k == r).count(),
            1,
            "acknowledged {r} must wait exactly once"
        );
    }
    for (r, guid) in &acked {
        let cb = execute(
            &addr,
            "ReturnCallbackCommand",
            json!({"correlationKey": r, "result": {"paid": true}}),
        )
        .unwrap();
        assert_eq!(cb["isSuccessful"], true, "{cb}");
        assert_eq!(cb["data"]["instanceGuid"], guid.as_str());
        let again = execute(
            &addr,
            "ReturnCallbackCommand",
            json!({"correlationKey": r, "result": {}}),
        )
        .unwrap();
        // A second delivery is answered as a duplicate and does not resume the instance again.
        assert_eq!(
            again["data"]["duplicate"], true,
            "a second delivery of {r} must be a duplicate: {again}"
        );
        let inst = execute(
            &addr,
            "GetProcessInstanceByIdQuery",
            json!({"instanceGuid": guid}),
        )
        .unwrap();
        assert_eq!(inst["data"]["status"], "COMPLETED");
        let rows = execute(
            &addr,
            "GetCallbackRegistryListQuery",
            json!({"instanceGuid": guid}),
        )
        .unwrap();
        let rows = rows["data"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["Status"], "Completed");
    }
}
