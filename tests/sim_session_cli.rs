//! A scenario recorded by a simulation session (the designer's step-by-step simulation), saved
//! beside its template, passes `baton test`; after a change to what the session recorded it
//! fails there as RunScenarioQuery says it does.

use baton_engine::VirtualClock;
use baton_runtime::{Caller, Runtime};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn templates() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bpmn-templates/payment-approval")
}

fn run(rt: &Runtime, cmd: &str, data: Value) -> Value {
    let r = rt.execute_as(cmd, &data, &Caller::owner());
    assert!(r.is_successful, "{cmd}: {r:?}");
    r.data
}

fn baton_test(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("test")
        .arg(dir)
        .output()
        .expect("baton runs")
}

#[test]
fn a_recorded_session_saved_beside_its_template_passes_baton_test() {
    let xml = std::fs::read_to_string(templates().join("PaymentApprovalProcess.bpmn")).unwrap();
    let rt = Runtime::open_in_memory(std::sync::Arc::new(VirtualClock::new(
        VirtualClock::default_start(),
    )))
    .unwrap();
    let v = run(
        &rt,
        "StartSimulationCommand",
        json!({"bpmnXml": xml, "variables": {"paymentId": "PAY-9", "amount": 75}}),
    );
    let id = v["sessionId"].clone();
    for step in [
        json!({"callback": "PAY-9", "data": {"status": "success"}}),
        json!({"complete": "Task_ReviewPayment", "user": "mary", "data": {"decision": "approve"}}),
    ] {
        run(
            &rt,
            "SimulationStepCommand",
            json!({"sessionId": id, "step": step}),
        );
    }
    // Back one step, and the other branch.
    run(
        &rt,
        "SimulationBackCommand",
        json!({"sessionId": id, "toStep": 1}),
    );
    let v = run(
        &rt,
        "SimulationStepCommand",
        json!({"sessionId": id, "step":
            {"complete": "Task_ReviewPayment", "data": {"decision": "reject"}}}),
    );
    let mut scenario = v["scenario"].clone();
    scenario["expect"] = json!({"state": "COMPLETED", "visits": ["End_Rejected"],
        "never": ["Task_ProcessPayment"]});

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("PaymentApprovalProcess.bpmn"), &xml).unwrap();
    let file = dir
        .path()
        .join("PaymentApprovalProcess.session.scenario.json");
    std::fs::write(&file, serde_json::to_string_pretty(&scenario).unwrap()).unwrap();
    let out = baton_test(dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("1 passed, 0 failed"), "{text}");
    let r = run(
        &rt,
        "RunScenarioQuery",
        json!({"bpmnXml": xml, "scenario": scenario}),
    );
    assert_eq!(r["passed"], true, "{r}");

    // The same file with an expectation the run does not meet: red in both.
    scenario["expect"]["visits"] = json!(["End"]);
    std::fs::write(&file, serde_json::to_string_pretty(&scenario).unwrap()).unwrap();
    let out = baton_test(dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let r = run(
        &rt,
        "RunScenarioQuery",
        json!({"bpmnXml": xml, "scenario": scenario}),
    );
    assert_eq!(r["passed"], false);
    let failure = r["failures"][0].as_str().unwrap();
    assert!(text.contains(failure), "{text} / {failure}");
}
