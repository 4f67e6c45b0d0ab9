//! Simulation sessions on the command bus (StartSimulationCommand, SimulationStepCommand,
//! SimulationBackCommand, GetSimulationQuery, EndSimulationCommand, RunScenarioQuery), on a
//! real runtime over a SQLite file: the templates stepped to the end, back, and down the other
//! branch; the recorded scenario replayed; refused steps; bad input named by field.

use baton_engine::User;
use baton_engine::{Clock, VirtualClock};
use baton_runtime::{Caller, Reply, Runtime};
use baton_store::Durability;
use baton_testkit::Model;
use jiff::SignedDuration;

fn later(clock: &VirtualClock, d: SignedDuration) {
    clock.set(clock.now() + d);
}
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

fn template(path: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../bpmn-templates/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

const PAYMENT: &str = "payment-approval/PaymentApprovalProcess.bpmn";
const LOAN: &str = "loan-approval/LoanApprovalProcess.bpmn";

struct T {
    rt: Runtime,
    clock: Arc<VirtualClock>,
    _dir: tempfile::TempDir,
}

fn open() -> T {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock::new(VirtualClock::default_start()));
    let rt = Runtime::open(
        &dir.path().join("sim.db"),
        Durability::Normal,
        clock.clone(),
    )
    .unwrap();
    T {
        rt,
        clock,
        _dir: dir,
    }
}

impl T {
    fn reply(&self, cmd: &str, data: Value) -> Reply {
        self.rt.execute_as(cmd, &data, &Caller::owner())
    }
    fn run(&self, cmd: &str, data: Value) -> Value {
        let r = self.reply(cmd, data);
        assert!(r.is_successful, "{cmd}: {r:?}");
        r.data
    }
    /// The refusal of `cmd`: its code and the field it names.
    fn refused(&self, cmd: &str, data: Value) -> (String, String, String) {
        let r = self.reply(cmd, data);
        assert!(!r.is_successful, "{cmd} should be refused: {r:?}");
        let v = serde_json::to_value(&r).unwrap();
        let e = r.errors.first().expect("a field error");
        (
            v["code"].as_str().unwrap_or_default().to_string(),
            e.field.clone(),
            e.message.clone(),
        )
    }
    fn start(&self, xml: &str, variables: Value) -> Value {
        self.run(
            "StartSimulationCommand",
            json!({"bpmnXml": xml, "variables": variables}),
        )
    }
    fn step(&self, view: &Value, step: Value) -> Value {
        self.run(
            "SimulationStepCommand",
            json!({"sessionId": view["sessionId"], "step": step}),
        )
    }
}

/// `visited` as "element:Id" / "flow:Id" strings.
fn visited(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| {
            format!(
                "{}:{}",
                x["kind"].as_str().unwrap(),
                x["id"].as_str().unwrap()
            )
        })
        .collect()
}

fn ids(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_template_is_stepped_to_the_end_stepped_back_and_run_down_the_other_branch() {
    let t = open();
    let xml = template(PAYMENT);
    let v = t.start(&xml, json!({"paymentId": "PAY-7", "amount": 500}));
    assert_eq!(v["status"], "WAITING");
    assert_eq!(
        visited(&v["start"]["visited"]),
        [
            "element:Start",
            "flow:Flow_1",
            "element:Task_WaitForPayment"
        ]
    );
    assert_eq!(v["waiting"][0]["elementId"], "Task_WaitForPayment");
    assert_eq!(v["waiting"][0]["taskType"], "receiveTask");
    assert_eq!(v["waiting"][0]["correlationKey"], "PAY-7");
    assert_eq!(v["clock"], "2026-01-01T00:00:00Z");
    assert_eq!(v["steps"], json!([]));

    let v = t.step(
        &v,
        json!({"callback": "PAY-7", "data": {"status": "success"}}),
    );
    assert_eq!(
        visited(&v["steps"][0]["visited"]),
        ["flow:Flow_2", "element:Task_ReviewPayment"]
    );
    assert_eq!(v["steps"][0]["index"], 1);
    assert!(v["steps"][0]["changed"]
        .as_object()
        .unwrap()
        .contains_key("lastReceiveTaskResult"));

    let approve = json!({"complete": "Task_ReviewPayment", "user": "mary",
        "data": {"decision": "approve", "comments": "ok"}});
    let v = t.step(&v, approve.clone());
    assert_eq!(v["status"], "COMPLETED");
    assert_eq!(
        visited(&v["steps"][1]["visited"]),
        [
            "flow:Flow_3",
            "element:Gateway_Approved",
            "flow:Flow_Approved",
            "element:Task_ProcessPayment",
            "flow:Flow_4",
            "element:End"
        ]
    );
    assert_eq!(v["steps"][1]["changed"]["paymentStatus"], "POSTED");
    assert_eq!(v["waiting"], json!([]));
    let approved = v["scenario"].clone();
    assert_eq!(approved["process"], "PaymentApprovalProcess");
    assert_eq!(approved["steps"][1], approve);
    let first_taken = v["taken"].clone();
    assert!(ids(&first_taken["flows"]).contains("Flow_Approved"));
    assert!(!ids(&first_taken["flows"]).contains("Flow_Rejected"));

    // Back to step 1: waiting at the review again, the same instance story so far.
    let back = t.run(
        "SimulationBackCommand",
        json!({"sessionId": v["sessionId"], "toStep": 1}),
    );
    assert_eq!(back["status"], "WAITING");
    assert_eq!(back["steps"].as_array().unwrap().len(), 1);
    assert_eq!(back["waiting"][0]["elementId"], "Task_ReviewPayment");
    assert_eq!(back["sessionId"], v["sessionId"]);
    assert!(back["variables"].get("paymentStatus").is_none());

    // The other branch, with other data.
    let v = t.step(
        &back,
        json!({"complete": "Task_ReviewPayment", "data": {"decision": "reject"}}),
    );
    assert_eq!(v["status"], "COMPLETED");
    assert_eq!(
        visited(&v["steps"][1]["visited"]),
        [
            "flow:Flow_3",
            "element:Gateway_Approved",
            "flow:Flow_Rejected",
            "element:End_Rejected"
        ]
    );
    let rejected = v["scenario"].clone();

    // Each recorded scenario passes as `baton test` runs it; their coverage together is the
    // whole model.
    let mut elements = BTreeSet::new();
    let mut flows = BTreeSet::new();
    for (mut sc, end) in [(approved, "End"), (rejected, "End_Rejected")] {
        sc["expect"] = json!({"state": "COMPLETED", "visits": [end]});
        let r = t.run("RunScenarioQuery", json!({"bpmnXml": xml, "scenario": sc}));
        assert_eq!(r["passed"], true, "{r}");
        assert_eq!(r["failures"], json!([]));
        assert_eq!(r["report"]["state"], "COMPLETED");
        elements.extend(ids(&r["coverage"]["elements"]));
        flows.extend(ids(&r["coverage"]["flows"]));
    }
    assert_eq!(
        elements,
        set(&[
            "Start",
            "Task_WaitForPayment",
            "Task_ReviewPayment",
            "Gateway_Approved",
            "Task_ProcessPayment",
            "End",
            "End_Rejected"
        ])
    );
    assert_eq!(
        flows,
        set(&[
            "Flow_1",
            "Flow_2",
            "Flow_3",
            "Flow_Approved",
            "Flow_Rejected",
            "Flow_4"
        ])
    );

    let ended = t.run("EndSimulationCommand", json!({"sessionId": v["sessionId"]}));
    assert_eq!(ended["sessionId"], v["sessionId"]);
    let (code, field, _) = t.refused("GetSimulationQuery", json!({"sessionId": v["sessionId"]}));
    assert_eq!((code.as_str(), field.as_str()), ("NOT_FOUND", "sessionId"));
}

#[test]
fn a_user_task_refused_by_its_script_leaves_the_session_as_it_was() {
    let t = open();
    let xml = template(LOAN);
    let v = t.start(&xml, json!({"applicant": "Ada", "requestedAmount": 10}));
    assert_eq!(v["waiting"][0]["taskType"], "userTask");
    assert_eq!(v["waiting"][0]["formKey"], "loan-review-form");
    let before = t.run("GetSimulationQuery", json!({"sessionId": v["sessionId"]}));

    // The ServerScript throws: REJECTED on field `step`, nothing recorded.
    let (code, field, msg) = t.refused(
        "SimulationStepCommand",
        json!({"sessionId": v["sessionId"], "step":
            {"complete": "Task_ManagerReview", "data": {"decision": "approve"}}}),
    );
    assert_eq!((code.as_str(), field.as_str()), ("REJECTED", "step"));
    assert!(msg.contains("Approved amount is required"), "{msg}");
    // A task that does not wait.
    let (code, field, _) = t.refused(
        "SimulationStepCommand",
        json!({"sessionId": v["sessionId"], "step": {"complete": "Nope"}}),
    );
    assert_eq!((code.as_str(), field.as_str()), ("REJECTED", "step"));
    // A step that is not a step.
    let (code, field, msg) = t.refused(
        "SimulationStepCommand",
        json!({"sessionId": v["sessionId"], "step": {"compelte": "Task_ManagerReview"}}),
    );
    assert_eq!((code.as_str(), field.as_str()), ("INVALID", "step"));
    assert!(msg.contains("unknown field 'compelte'"), "{msg}");
    let (_, field, _) = t.refused(
        "SimulationStepCommand",
        json!({"sessionId": v["sessionId"], "step": {"advance": "soon"}}),
    );
    assert_eq!(field, "step");
    let (_, field, _) = t.refused(
        "SimulationStepCommand",
        json!({"sessionId": v["sessionId"]}),
    );
    assert_eq!(field, "step");
    // No timer to advance to.
    let (code, field, msg) = t.refused(
        "SimulationStepCommand",
        json!({"sessionId": v["sessionId"], "step": {"advance": "nextTimer"}}),
    );
    assert_eq!((code.as_str(), field.as_str()), ("REJECTED", "step"));
    assert!(msg.contains("no timer"), "{msg}");
    let after = t.run("GetSimulationQuery", json!({"sessionId": v["sessionId"]}));
    assert_eq!(after, before);

    // Declined down the default flow.
    let v = t.step(
        &v,
        json!({"complete": "Task_ManagerReview", "data": {"decision": "decline"}}),
    );
    assert_eq!(
        visited(&v["steps"][0]["visited"]),
        [
            "flow:Flow_2",
            "element:Gateway_Decision",
            "flow:Flow_Declined",
            "element:End_Declined"
        ]
    );
    assert_eq!(
        v["steps"][0]["changed"]["lastUserTaskResult"]["approved"],
        false
    );
    // Back to the start, approved.
    let v = t.run(
        "SimulationBackCommand",
        json!({"sessionId": v["sessionId"], "toStep": 0}),
    );
    assert_eq!(v["status"], "WAITING");
    let v = t.step(
        &v,
        json!({"complete": "Task_ManagerReview", "data": {"decision": "approve", "approvedAmount": 5}}),
    );
    assert!(visited(&v["steps"][0]["visited"]).contains(&"element:End_Approved".to_string()));
    let (code, field, _) = t.refused(
        "SimulationBackCommand",
        json!({"sessionId": v["sessionId"], "toStep": 2}),
    );
    assert_eq!((code.as_str(), field.as_str()), ("INVALID", "toStep"));
}

#[test]
fn next_timer_advances_to_the_due_timer_and_is_recorded_as_a_duration() {
    let t = open();
    let xml = template("invoice-reminders/InvoiceReminderProcess.bpmn");
    let v = t.start(&xml, json!({"invoiceId": "INV-1", "reminders": 0}));
    assert_eq!(v["nextTimer"], "2026-01-02T00:00:00Z");
    let v = t.step(&v, json!({"advance": "nextTimer"}));
    assert_eq!(v["clock"], "2026-01-02T00:00:00Z");
    assert_eq!(v["steps"][0]["step"], json!({"advance": "PT24H"}));
    assert_eq!(v["scenario"]["steps"][0], json!({"advance": "PT24H"}));
    let seen = visited(&v["steps"][0]["visited"]);
    assert!(
        seen.contains(&"element:Timer_Reminder".to_string()),
        "{seen:?}"
    );
    assert!(seen.contains(&"flow:Flow_Remind".to_string()), "{seen:?}");
    assert_eq!(v["steps"][0]["changed"]["reminders"], 1);
    // Replaying it gives the same answer.
    let mut again = t.run(
        "SimulationBackCommand",
        json!({"sessionId": v["sessionId"], "toStep": 1}),
    );
    // The rebuilt instance has a new guid; everything else is the same.
    let mut v = v;
    v["instanceGuid"] = Value::Null;
    again["instanceGuid"] = Value::Null;
    assert_eq!(again, v);
}

#[test]
fn bad_input_names_its_field() {
    let t = open();
    let (code, field, msg) = t.refused(
        "StartSimulationCommand",
        json!({"bpmnXml": "<bpmn:definitions\n  <oops"}),
    );
    assert_eq!((code.as_str(), field.as_str()), ("INVALID", "bpmnXml"));
    assert!(msg.contains("line"), "{msg}");
    let (_, field, _) = t.refused("StartSimulationCommand", json!({}));
    assert_eq!(field, "bpmnXml");
    let xml = template(LOAN);
    let (_, field, _) = t.refused(
        "StartSimulationCommand",
        json!({"bpmnXml": xml, "clock": "tomorrow"}),
    );
    assert_eq!(field, "clock");
    let (_, field, _) = t.refused(
        "StartSimulationCommand",
        json!({"bpmnXml": xml, "variables": [1]}),
    );
    assert_eq!(field, "variables");
    let (_, field, _) = t.refused(
        "StartSimulationCommand",
        json!({"bpmnXml": xml, "processKey": "Nope"}),
    );
    assert_eq!(field, "processKey");
    for cmd in [
        "SimulationStepCommand",
        "SimulationBackCommand",
        "GetSimulationQuery",
        "EndSimulationCommand",
    ] {
        let (code, field, _) = t.refused(cmd, json!({"sessionId": "sim-nope", "toStep": 0}));
        assert_eq!(
            (code.as_str(), field.as_str()),
            ("NOT_FOUND", "sessionId"),
            "{cmd}"
        );
        let (_, field, _) = t.refused(cmd, json!({}));
        assert_eq!(field, "sessionId", "{cmd}");
    }
    let (_, field, _) = t.refused("RunScenarioQuery", json!({"bpmnXml": xml}));
    assert_eq!(field, "scenario");
    let (_, field, msg) = t.refused(
        "RunScenarioQuery",
        json!({"bpmnXml": xml, "scenario": {"steps": [{"complete": 5}]}}),
    );
    assert_eq!(field, "scenario");
    assert!(msg.contains("step 1"), "{msg}");
    // A scenario that fails is an answer, not an error.
    let r = t.run(
        "RunScenarioQuery",
        json!({"bpmnXml": xml, "scenario": {"expect": {"state": "COMPLETED"}}}),
    );
    assert_eq!(r["passed"], false);
    assert!(r["failures"][0]
        .as_str()
        .unwrap()
        .contains("expected state COMPLETED, got WAITING"));
    assert_eq!(r["report"]["state"], "WAITING");
}

#[test]
fn sessions_are_for_administrators_and_end_when_idle() {
    let t = open();
    let xml = Model::process("P")
        .start("s")
        .user_task("u")
        .end("e")
        .chain(&["s", "u", "e"])
        .xml();
    let v = t.start(&xml, json!({}));
    let bob = User {
        name: "bob".into(),
        teams: Vec::new(),
    };
    let r = t.rt.execute_as(
        "GetSimulationQuery",
        &json!({"sessionId": v["sessionId"]}),
        &Caller::user(bob),
    );
    assert!(!r.is_successful);
    assert_eq!(serde_json::to_value(&r).unwrap()["code"], "FORBIDDEN");
    // 29 minutes: still there; used now, so the 30 minutes start again.
    later(&t.clock, SignedDuration::from_mins(29));
    t.run("GetSimulationQuery", json!({"sessionId": v["sessionId"]}));
    later(&t.clock, SignedDuration::from_mins(29));
    t.run("GetSimulationQuery", json!({"sessionId": v["sessionId"]}));
    later(&t.clock, SignedDuration::from_mins(30));
    let (code, field, _) = t.refused("GetSimulationQuery", json!({"sessionId": v["sessionId"]}));
    assert_eq!((code.as_str(), field.as_str()), ("NOT_FOUND", "sessionId"));
}

#[test]
fn at_most_32_sessions_live_and_the_least_recently_used_goes_first() {
    let t = open();
    let xml = Model::process("P")
        .start("s")
        .user_task("u")
        .end("e")
        .chain(&["s", "u", "e"])
        .xml();
    let first = t.start(&xml, json!({}));
    let mut ids = Vec::new();
    for _ in 0..31 {
        later(&t.clock, SignedDuration::from_secs(1));
        ids.push(t.start(&xml, json!({}))["sessionId"].clone());
    }
    // The first is used again, so the second is now the least recently used.
    later(&t.clock, SignedDuration::from_secs(1));
    t.run(
        "GetSimulationQuery",
        json!({"sessionId": first["sessionId"]}),
    );
    t.start(&xml, json!({}));
    t.run(
        "GetSimulationQuery",
        json!({"sessionId": first["sessionId"]}),
    );
    let (code, _, _) = t.refused("GetSimulationQuery", json!({"sessionId": ids[0]}));
    assert_eq!(code, "NOT_FOUND");
    t.run("GetSimulationQuery", json!({"sessionId": ids[1]}));
}

#[test]
fn a_session_starts_as_its_started_by_user_and_holds_each_step_to_the_listed_users() {
    // Seed 000's "Process Authorization" as printed, on the user who started the instance.
    let xml = baton_testkit::models::authorized(&[("ResponsibleUser", "bob")]);
    let t = open();
    let users = json!({"mary": {"teams": ["MANAGERS"], "role": "MANAGER"}, "bob": ["CLERKS"]});
    let start = |by: &str| {
        t.reply(
            "StartSimulationCommand",
            json!({"bpmnXml": xml, "startedBy": by, "users": users}),
        )
    };

    // Mary is a manager: the script lets her instance on to the review.
    let r = start("mary");
    assert!(r.is_successful, "{r:?}");
    let view = r.data;
    assert_eq!(view["status"], "WAITING", "{view}");
    assert_eq!(view["variables"]["InitiatedBy"], "mary", "{view}");
    assert_eq!(view["scenario"]["startedBy"], "mary", "{view}");
    assert_eq!(view["scenario"]["users"], users, "{view}");

    // The review is bob's: mary's try is refused and changes nothing; bob's completes it.
    let sid = view["sessionId"].clone();
    let (code, field, msg) = t.refused(
        "SimulationStepCommand",
        json!({"sessionId": sid, "step": {"complete": "Review", "user": "mary"}}),
    );
    assert_eq!(
        (code.as_str(), field.as_str()),
        ("REJECTED", "step"),
        "{msg}"
    );
    // A user the session does not list acts with no team, as in `baton test`: zoe is not bob.
    let (code, field, msg) = t.refused(
        "SimulationStepCommand",
        json!({"sessionId": sid, "step": {"complete": "Review", "user": "zoe"}}),
    );
    assert_eq!((code.as_str(), field.as_str()), ("REJECTED", "step"));
    assert!(msg.contains("zoe"), "{msg}");
    let still = t.run("GetSimulationQuery", json!({"sessionId": sid}));
    assert_eq!(still["status"], "WAITING");
    assert_eq!(still["steps"], json!([]));
    let done = t.step(&view, json!({"complete": "Review", "user": "bob"}));
    assert_eq!(done["status"], "COMPLETED", "{done}");

    // Back to the start: rebuilt as mary's instance again.
    let back = t.run(
        "SimulationBackCommand",
        json!({"sessionId": sid, "toStep": 0}),
    );
    assert_eq!(back["status"], "WAITING", "{back}");
    assert_eq!(back["variables"]["InitiatedBy"], "mary", "{back}");

    // What the session saves runs the same way as a scenario file.
    let mut saved = done["scenario"].clone();
    saved["expect"] = json!({"state": "COMPLETED"});
    let ran = t.run(
        "RunScenarioQuery",
        json!({"bpmnXml": xml, "scenario": saved}),
    );
    assert_eq!(ran["passed"], true, "{ran}");

    // Bob is not a manager: his instance fails at the check, and the session shows why.
    let r = start("bob");
    assert!(r.is_successful, "{r:?}");
    assert_eq!(r.data["status"], "FAILED", "{:?}", r.data);
    assert_eq!(r.data["incidents"][0]["elementId"], "check");
    assert!(
        r.data["incidents"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Manager approval required")),
        "{:?}",
        r.data
    );

    // Bad people name their field, as a scenario file's do.
    for (data, field, says) in [
        (
            json!({"startedBy": 3}),
            "startedBy",
            "'startedBy' must be a user name",
        ),
        (
            json!({"startedBy": " "}),
            "startedBy",
            "'startedBy' must be a user name",
        ),
        (
            json!({"users": [1]}),
            "users",
            "'users' must map user names",
        ),
        (
            json!({"users": {"ann": {"team": ["X"]}}}),
            "users",
            "unknown field 'team'",
        ),
    ] {
        let mut data = data;
        data["bpmnXml"] = json!(xml);
        let (code, f, msg) = t.refused("StartSimulationCommand", data);
        assert_eq!((code.as_str(), f.as_str()), ("INVALID", field), "{msg}");
        assert!(msg.contains(says), "{msg}");
    }
}

#[test]
fn a_step_user_the_session_does_not_list_acts_with_no_team_as_in_baton_test() {
    // The review is open to team CLERKS: zoe, listed nowhere, has no team and is refused, in
    // words that name her; with the review open to anyone she completes it, and the saved
    // scenario (which does not list her either) passes as `baton test` runs it.
    let t = open();
    let users = json!({"mary": {"teams": ["MANAGERS"], "role": "MANAGER"}, "bob": ["CLERKS"]});
    let clerks = baton_testkit::models::authorized(&[("ResponsibleTeam", "CLERKS")]);
    let view = t.run(
        "StartSimulationCommand",
        json!({"bpmnXml": clerks, "startedBy": "mary", "users": users}),
    );
    assert_eq!(view["status"], "WAITING", "{view}");
    let (code, _, msg) = t.refused(
        "SimulationStepCommand",
        json!({"sessionId": view["sessionId"], "step": {"complete": "Review", "user": "zoe"}}),
    );
    assert_eq!(code, "REJECTED", "{msg}");
    assert!(msg.contains("zoe"), "{msg}");
    assert_eq!(
        t.run(
            "GetSimulationQuery",
            json!({"sessionId": view["sessionId"]})
        )["steps"],
        json!([])
    );

    let open_to_all = baton_testkit::models::authorized(&[]);
    let view = t.run(
        "StartSimulationCommand",
        json!({"bpmnXml": open_to_all, "startedBy": "mary", "users": users}),
    );
    let done = t.step(&view, json!({"complete": "Review", "user": "zoe"}));
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let mut saved = done["scenario"].clone();
    assert_eq!(saved["steps"][0]["user"], "zoe", "{saved}");
    assert!(saved["users"].get("zoe").is_none(), "{saved}");
    saved["expect"] = json!({"state": "COMPLETED"});
    let ran = t.run(
        "RunScenarioQuery",
        json!({"bpmnXml": open_to_all, "scenario": saved}),
    );
    assert_eq!(ran["passed"], true, "{ran}");
    // Going back rebuilds the session with zoe's step, as a scenario file would run it.
    let back = t.run(
        "SimulationBackCommand",
        json!({"sessionId": view["sessionId"], "toStep": 1}),
    );
    assert_eq!(back["status"], "COMPLETED", "{back}");
}
