//! Seed 003's action operations as its clients send them, on a server on 127.0.0.1 over a real
//! SQLite file: `assignAction` (by `assigneeUserName` or `assigneeId`, `User:N` in base64),
//! `cancelActionAssignment`, `cancelAction` (the task leaves along its cancel exception),
//! `processId` beside `processName`, users by their stable number (also after a restart), and
//! who acted recorded in the request's history. Bad input names its field.

use base64::Engine as _;
use baton_runtime::http::AppState;
use baton_testkit::{Door, Served, ADMIN};
use serde_json::{json, Value};
use std::sync::Arc;

/// `Review`: `Check` (for bob; cancelled, it goes to `Recheck`), then `Approve` (team
/// MANAGERS). `Recheck` (anyone's) has no cancel exception.
const REVIEW: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:custom="http://baton.dev/schema/custom" id="review" targetNamespace="http://baton.dev/test">
  <error id="CancelError" errorCode="CANCEL"/>
  <process id="Review" name="Order review" isExecutable="true">
    <startEvent id="s"/>
    <userTask id="Check" name="Check the order">
      <extensionElements><custom:properties><custom:property name="ResponsibleUser" value="bob"/></custom:properties></extensionElements>
    </userTask>
    <boundaryEvent id="CheckCancelled" attachedToRef="Check"><errorEventDefinition errorRef="CancelError"/></boundaryEvent>
    <userTask id="Recheck" name="Check again"/>
    <userTask id="Approve" name="Approve the order">
      <extensionElements><custom:properties><custom:property name="ResponsibleTeam" value="MANAGERS"/></custom:properties></extensionElements>
    </userTask>
    <endEvent id="e"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="Check"/>
    <sequenceFlow id="f2" sourceRef="Check" targetRef="Approve"/>
    <sequenceFlow id="f3" sourceRef="Approve" targetRef="e"/>
    <sequenceFlow id="f4" sourceRef="CheckCancelled" targetRef="Recheck"/>
    <sequenceFlow id="f5" sourceRef="Recheck" targetRef="e"/>
  </process>
</definitions>"#;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The door over a fresh database with bob (TELLERS) and carol (MANAGERS), `Review` deployed,
/// served on 127.0.0.1.
struct Seed {
    door: Door,
    served: Served,
    definition: i64,
}

fn seed() -> Seed {
    let door = Door::new();
    door.user("bob", &["TELLERS"]);
    door.user("carol", &["MANAGERS"]);
    let d = door.t.run(
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": REVIEW, "name": "Order review"}),
    );
    let definition = d["processDefinitionId"].as_i64().expect("a definition id");
    let served = Served::start(door.st.clone());
    Seed {
        door,
        served,
        definition,
    }
}

impl Seed {
    /// Runs a command as the administrator over HTTP and answers its `data`.
    fn ok(&self, cmd: &str, data: Value) -> Value {
        let (code, r) = self.served.exec(ADMIN, cmd, data);
        assert_eq!(code, 200, "{r}");
        assert_eq!(r["isSuccessful"], true, "{r}");
        r["data"].clone()
    }

    /// Creates an application and answers its URL path.
    fn app(&self, name: &str, impersonate: Option<&str>) -> String {
        let d = self.ok(
            "CreateIncomingWebhookApplicationCommand",
            json!({"name": name, "impersonateUserName": impersonate}),
        );
        d["url"].as_str().unwrap().to_string()
    }

    /// Posts an operation the way seed 003 shows it; the door answers 200 either way.
    fn hook(&self, url: &str, operation: &str, input: Value) -> Value {
        let (code, body) = self.served.post(
            url,
            None,
            &json!({"operation": operation, "args": {"input": input}}),
        );
        assert_eq!(code, 200, "{body}");
        body
    }

    fn user_id(&self, name: &str) -> i64 {
        let users = self.ok("GetUserListQuery", json!({}));
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["userName"] == name)
            .and_then(|u| u["id"].as_i64())
            .unwrap_or_else(|| panic!("no id for {name} in {users}"))
    }

    fn instance(&self, guid: &str) -> Value {
        self.ok("GetProcessInstanceByIdQuery", json!({"instanceGuid": guid}))
    }

    fn history(&self, guid: &str) -> Vec<Value> {
        let h = self.ok("GetInstanceHistoryQuery", json!({"instanceGuid": guid}));
        h.as_array().cloned().unwrap_or_default()
    }

    /// A new request of `Review` through `url`: (guid, number).
    fn request(&self, url: &str) -> (String, i64) {
        let r = self.hook(url, "createRequest", json!({"processName": "Review"}));
        let guid = r["instanceGuid"].as_str().unwrap_or_else(|| panic!("{r}"));
        (guid.to_string(), r["number"].as_i64().unwrap())
    }
}

fn error(body: &Value) -> (&str, &str, &str) {
    let e = &body["errors"][0];
    (
        e["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no error in {body}")),
        e["field"].as_str().unwrap_or(""),
        e["code"].as_str().unwrap_or(""),
    )
}

fn assignee(instance: &Value, task: &str) -> Value {
    instance["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["taskId"] == task)
        .map(|w| w.get("assignee").cloned().unwrap_or(Value::Null))
        .unwrap_or_else(|| panic!("{task} is not waiting in {instance}"))
}

/// The task list's assignee of `task` in instance `guid`, and whether the list filtered by
/// `assignee: who` holds that task.
fn listed_assignee(s: &Seed, guid: &str, task: &str, who: &str) -> (Value, bool) {
    let is_it = |t: &&Value| t["instanceGuid"] == guid && t["taskId"] == task;
    let all = s.ok("GetTaskListQuery", json!({"pageSize": 500}));
    let row = all["items"].as_array().unwrap().iter().find(is_it).cloned();
    let row = row.unwrap_or_else(|| panic!("task {task} of {guid} is not listed: {all}"));
    let mine = s.ok(
        "GetTaskListQuery",
        json!({"assignee": who, "pageSize": 500}),
    );
    let held = mine["items"].as_array().unwrap().iter().any(|t| is_it(&t));
    (row["assignee"].clone(), held)
}

fn waiting(instance: &Value) -> Vec<String> {
    instance["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["taskId"].as_str().unwrap().to_string())
        .collect()
}

/// The `data` of each history event of `kind`, parsed.
fn events(history: &[Value], kind: &str) -> Vec<Value> {
    history
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| serde_json::from_str(e["data"].as_str().unwrap_or("null")).unwrap())
        .collect()
}

#[test]
fn assign_action_by_name_and_by_id_then_cancel_the_assignment() {
    let s = seed();
    let url = s.app("ERP", None);
    let (guid, n) = s.request(&url);
    let bob = s.user_id("bob");

    // "provide the request number and the action number ... you must also provide the
    // assigneeUserName or the assigneeId"
    let r = s.hook(
        &url,
        "assignAction",
        json!({"requestNumber": n, "actionNumber": 1, "assigneeUserName": "bob", "clientMutationId": "m-1"}),
    );
    assert_eq!(r["assigneeId"], b64(&format!("User:{bob}")), "{r}");
    assert_eq!(r["assigneeUserName"], "bob");
    assert_eq!(r["id"], b64(&format!("Action:{n}---1")));
    assert_eq!(
        (r["requestNumber"].as_i64(), r["number"].as_i64()),
        (Some(n), Some(1))
    );
    assert_eq!(r["clientMutationId"], "m-1");
    assert_eq!(r["onBehalfOf"], Value::Null);
    assert_eq!(assignee(&s.instance(&guid), "Check"), "bob");
    // The task list shows who holds the task and filters by it.
    assert_eq!(
        listed_assignee(&s, &guid, "Check", "bob"),
        (json!("bob"), true)
    );
    assert_eq!(
        listed_assignee(&s, &guid, "Check", "mary"),
        (json!("bob"), false)
    );
    let h = s.history(&guid);
    let assigned = events(&h, "taskAssigned");
    assert_eq!(assigned.len(), 1, "{h:?}");
    assert_eq!(assigned[0]["assignee"], "bob");
    assert_eq!(assigned[0]["previous"], Value::Null);

    // "To cancel an action assignment, you should provide ... or the action ID."
    let r = s.hook(
        &url,
        "cancelActionAssignment",
        json!({"id": b64(&format!("Action:{n}---1")), "clientMutationId": "m-2"}),
    );
    assert_eq!(r["id"], b64(&format!("Action:{n}---1")), "{r}");
    assert_eq!(r["number"], 1);
    assert_eq!(r["requestNumber"], n);
    assert_eq!(r["clientMutationId"], "m-2");
    assert_eq!(assignee(&s.instance(&guid), "Check"), Value::Null);
    assert_eq!(
        listed_assignee(&s, &guid, "Check", "bob"),
        (Value::Null, false)
    );
    let r = s.hook(
        &url,
        "cancelActionAssignment",
        json!({"requestNumber": n, "actionNumber": 1}),
    );
    assert_eq!(
        error(&r),
        (
            format!("actionNumber: action 1 of request {n} is not assigned").as_str(),
            "actionNumber",
            "REJECTED"
        )
    );

    // By id: `User:N` in base64, N the number GetUserListQuery shows.
    let r = s.hook(
        &url,
        "assignAction",
        json!({"id": b64(&format!("Action:{n}---1")), "assigneeId": b64(&format!("User:{bob}"))}),
    );
    assert_eq!(r["assigneeUserName"], "bob", "{r}");
    assert_eq!(assignee(&s.instance(&guid), "Check"), "bob");
    let h = s.history(&guid);
    let kinds: Vec<Value> = events(&h, "taskAssigned")
        .into_iter()
        .map(|d| d["assignee"].clone())
        .collect();
    assert_eq!(kinds, [json!("bob"), Value::Null, json!("bob")]);
}

#[test]
fn the_seeds_user_42_is_the_user_numbered_42() {
    let s = seed();
    let url = s.app("ERP", None);
    let (_, n) = s.request(&url);
    // `VXNlcjo0Mg==` is `User:42`: nobody has that number yet.
    let r = s.hook(
        &url,
        "assignAction",
        json!({"requestNumber": n, "actionNumber": 1, "assigneeId": "VXNlcjo0Mg=="}),
    );
    let (message, field, code) = error(&r);
    assert_eq!(field, "assigneeId", "{r}");
    assert_eq!(code, "NOT_FOUND");
    assert!(message.contains("no user with id User:42"), "{message}");
    // Numbers are given in creation order (admin 1, bob 2, carol 3): make 4 to 42, 42 is "bob42".
    assert_eq!(s.user_id("carol"), 3);
    for i in 4..=42 {
        let name = if i == 42 {
            "bob42".to_string()
        } else {
            format!("u{i}")
        };
        let teams: &[&str] = if i == 42 { &["TELLERS"] } else { &[] };
        let created = s.ok(
            "CreateUserCommand",
            json!({"userName": name, "teams": teams}),
        );
        assert_eq!(created["id"], i, "{created}");
    }
    assert_eq!(s.user_id("bob42"), 42);
    // bob42 may not work on `Check` (ResponsibleUser bob): the field says who.
    let r = s.hook(
        &url,
        "assignAction",
        json!({"requestNumber": n, "actionNumber": 1, "assigneeId": "VXNlcjo0Mg=="}),
    );
    let (message, field, code) = error(&r);
    assert_eq!((field, code), ("assigneeId", "FORBIDDEN"), "{r}");
    assert!(
        message.contains("user 'bob42' may not work on action 1"),
        "{message}"
    );
    // onBehalfOf takes the same ids: bob42 completes nothing of bob's, but is named.
    let r = s.hook(
        &url,
        "createRequest",
        json!({"processName": "Review", "onBehalfOf": "VXNlcjo0Mg=="}),
    );
    assert_eq!(r["onBehalfOf"], "VXNlcjo0Mg==", "{r}");
    assert_eq!(r["onBehalfOfUserName"], "bob42");
}

#[test]
fn cancel_action_leaves_along_the_cancel_exception() {
    let s = seed();
    let url = s.app("ERP", None);
    let (guid, n) = s.request(&url);
    // "To cancel an action, provide the request number and the action number, or the action ID."
    let r = s.hook(
        &url,
        "cancelAction",
        json!({"requestNumber": n, "actionNumber": 1, "clientMutationId": "c-1"}),
    );
    assert_eq!(r["type"], "CANCEL", "{r}");
    assert_eq!(r["exception"]["source"], "Check the order");
    assert!(r["exception"]["message"].is_string());
    assert_eq!(r["id"], b64(&format!("Action:{n}---1")));
    assert_eq!(r["clientMutationId"], "c-1");
    assert_eq!(r["requestStatus"], "WAITING");
    assert_eq!(r["onBehalfOf"], Value::Null);
    let inst = s.instance(&guid);
    assert_eq!(waiting(&inst), ["Recheck"]);
    assert_eq!(inst["variables"]["errorCode"], "CANCEL");
    let h = s.history(&guid);
    let cancelled: Vec<&Value> = h
        .iter()
        .filter(|e| e["kind"] == "elementCancelled")
        .map(|e| &e["elementId"])
        .collect();
    assert_eq!(cancelled, [&json!("Check")]);
    assert!(h
        .iter()
        .any(|e| e["kind"] == "elementEntered" && e["elementId"] == "CheckCancelled"));

    // The same action again: no longer open.
    let r = s.hook(
        &url,
        "cancelAction",
        json!({"id": b64(&format!("Action:{n}---1"))}),
    );
    let (message, field, code) = error(&r);
    assert_eq!((field, code), ("id", "REJECTED"), "{r}");
    assert!(message.contains("is not open"), "{message}");
    // `Recheck` (action 2) has no cancel exception: refused, saying what to model.
    let r = s.hook(
        &url,
        "cancelAction",
        json!({"requestNumber": n, "actionNumber": 2}),
    );
    let (message, field, _) = error(&r);
    assert_eq!(field, "actionNumber", "{r}");
    assert!(
        message.contains("task 'Recheck' has no cancel exception"),
        "{message}"
    );
    assert_eq!(waiting(&s.instance(&guid)), ["Recheck"]);
    // Refused operations wrote nothing: who acted is there for the two that were done.
    let acted: Vec<Value> = events(&s.history(&guid), "actedBy")
        .into_iter()
        .map(|a| a["operation"].clone())
        .collect();
    assert_eq!(acted, [json!("createRequest"), json!("cancelAction")]);
    // Unknown numbers name their field.
    let r = s.hook(
        &url,
        "cancelAction",
        json!({"requestNumber": n, "actionNumber": 9}),
    );
    assert_eq!(error(&r).1, "actionNumber", "{r}");
    assert!(error(&r).0.contains("has no action number 9"), "{r}");
    let r = s.hook(
        &url,
        "cancelAction",
        json!({"requestNumber": 999, "actionNumber": 1}),
    );
    assert_eq!(
        error(&r),
        (
            "requestNumber: no request number 999",
            "requestNumber",
            "NOT_FOUND"
        )
    );
}

#[test]
fn who_may_assign_and_cancel() {
    let s = seed();
    let admin_url = s.app("ERP", None);
    let bob_url = s.app("Teller desk", Some("bob"));
    let carol_url = s.app("Managers", Some("carol"));
    let (guid, n) = s.request(&bob_url);
    let action = json!({"requestNumber": n, "actionNumber": 1});
    let with = |extra: Value| {
        let mut v = action.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    // Carol may not see bob's request: it is missing to her.
    let r = s.hook(
        &carol_url,
        "assignAction",
        with(json!({"assigneeUserName": "bob"})),
    );
    assert_eq!(
        error(&r),
        (
            format!("requestNumber: no request number {n}").as_str(),
            "requestNumber",
            "NOT_FOUND"
        )
    );
    // Bob is not an administrator: he may not give his action to anyone else.
    let r = s.hook(
        &bob_url,
        "assignAction",
        with(json!({"assigneeUserName": "carol"})),
    );
    assert_eq!(error(&r).2, "FORBIDDEN", "{r}");
    assert!(
        error(&r).0.contains("only an administrator assigns others"),
        "{r}"
    );
    // An unknown user names the field.
    let r = s.hook(
        &admin_url,
        "assignAction",
        with(json!({"assigneeUserName": "nobody"})),
    );
    assert_eq!(
        error(&r),
        (
            "assigneeUserName: no user named 'nobody'",
            "assigneeUserName",
            "NOT_FOUND"
        )
    );
    // Bob takes his own action; carol may not cancel it, bob (its assignee) may not be
    // overruled by carol, and bob may cancel it.
    let r = s.hook(
        &bob_url,
        "assignAction",
        with(json!({"assigneeUserName": "bob"})),
    );
    assert_eq!(r["assigneeUserName"], "bob", "{r}");
    let r = s.hook(&carol_url, "cancelAction", action.clone());
    assert_eq!(error(&r).2, "NOT_FOUND", "carol may not even see it: {r}");
    let r = s.hook(&carol_url, "cancelActionAssignment", action.clone());
    assert_eq!(error(&r).2, "NOT_FOUND", "{r}");
    // Delegation is not supported for cancelActionAssignment (the seed).
    let r = s.hook(
        &admin_url,
        "cancelActionAssignment",
        with(json!({"onBehalfOfUserName": "bob"})),
    );
    assert!(error(&r).0.contains("delegation mode"), "{r}");
    let r = s.hook(&bob_url, "cancelAction", action.clone());
    assert_eq!(r["type"], "CANCEL", "{r}");
    assert_eq!(waiting(&s.instance(&guid)), ["Recheck"]);
    // Not the assignee and not an administrator: refused.
    let (_, n2) = s.request(&bob_url);
    let r = s.hook(
        &bob_url,
        "cancelAction",
        json!({"requestNumber": n2, "actionNumber": 1}),
    );
    let (message, _, code) = error(&r);
    assert_eq!(code, "FORBIDDEN", "{r}");
    assert!(
        message.contains("only an administrator or the action's assignee"),
        "{message}"
    );
    // An assigned task is completed by its assignee only.
    let r = s.hook(
        &admin_url,
        "assignAction",
        json!({"requestNumber": n2, "actionNumber": 1, "assigneeUserName": "bob"}),
    );
    assert_eq!(r["assigneeUserName"], "bob", "{r}");
    let r = s.hook(
        &bob_url,
        "completeAction",
        json!({"requestNumber": n2, "actionNumber": 1}),
    );
    assert_eq!(r["activityName"], "Check the order", "{r}");
}

#[test]
fn process_id_beside_process_name() {
    let s = seed();
    let url = s.app("ERP", None);
    let id = b64(&format!("Process:{}", s.definition));
    // "processId: Process identifier with the pattern [Process:1]"
    let r = s.hook(
        &url,
        "createRequest",
        json!({"processId": id, "clientMutationId": "p-1"}),
    );
    assert_eq!(r["status"], "WAITING", "{r}");
    assert_eq!(r["processId"], id);
    assert_eq!(r["clientMutationId"], "p-1");
    let r = s.hook(
        &url,
        "createRequest",
        json!({"processId": id, "processName": "Review", "processVersion": 1}),
    );
    assert_eq!(r["status"], "WAITING", "{r}");
    let r = s.hook(
        &url,
        "createRequest",
        json!({"processId": id, "processName": "Other"}),
    );
    assert_eq!(error(&r).1, "processName", "{r}");
    let r = s.hook(
        &url,
        "createRequest",
        json!({"processId": id, "processVersion": 2}),
    );
    assert_eq!(error(&r).1, "processVersion", "{r}");
    let r = s.hook(
        &url,
        "createRequest",
        json!({"processId": b64("Process:999")}),
    );
    assert_eq!(
        error(&r),
        (
            "processId: no process with id Process:999",
            "processId",
            "NOT_FOUND"
        )
    );
    let r = s.hook(&url, "createRequest", json!({"processId": "Request:1"}));
    assert_eq!(error(&r).1, "processId", "{r}");
    let r = s.hook(&url, "createRequest", json!({}));
    assert_eq!(
        error(&r),
        (
            "processName is required (or processId)",
            "processName",
            "INVALID"
        )
    );
}

#[test]
fn an_application_without_impersonation_is_named_in_history_as_who_acted() {
    let s = seed();
    let erp = s.app("ERP", None);
    let desk = s.app("Teller desk", Some("bob"));
    let (guid, n) = s.request(&erp);
    s.hook(
        &erp,
        "assignAction",
        json!({"requestNumber": n, "actionNumber": 1, "assigneeUserName": "bob"}),
    );
    s.hook(
        &desk,
        "completeAction",
        json!({"requestNumber": n, "actionNumber": 1}),
    );
    s.hook(
        &erp,
        "completeAction",
        json!({"requestNumber": n, "actionNumber": 2, "onBehalfOfUserName": "carol"}),
    );
    let acted = events(&s.history(&guid), "actedBy");
    let who: Vec<(&str, &str, &str)> = acted
        .iter()
        .map(|a| {
            (
                a["operation"].as_str().unwrap(),
                a["actor"].as_str().unwrap(),
                a["actorType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("createRequest", "ERP", "application"),
            ("assignAction", "ERP", "application"),
            ("completeAction", "bob", "user"),
            ("completeAction", "carol", "user"),
        ]
    );
    assert_eq!(acted[0]["application"]["name"], "ERP");
    assert_eq!(acted[2]["application"]["name"], "Teller desk");
    assert_eq!(acted[3]["onBehalfOfUserName"], "carol");
}

#[test]
fn user_numbers_hold_across_a_restart() {
    let s = seed();
    let url = s.app("ERP", None);
    let bob = s.user_id("bob");
    let carol = s.user_id("carol");
    let (_, n) = s.request(&url);
    let Seed {
        door,
        served,
        definition,
    } = s;
    drop(served);
    let Door { t, st } = door;
    drop(st);
    let t = t.reopen();
    let st = Arc::new(AppState {
        runtime: t.rt.clone(),
    });
    let s = Seed {
        served: Served::start(st.clone()),
        door: Door { t, st },
        definition,
    };
    assert_eq!((s.user_id("bob"), s.user_id("carol")), (bob, carol));
    let r = s.hook(
        &url,
        "assignAction",
        json!({"requestNumber": n, "actionNumber": 1, "assigneeId": b64(&format!("User:{bob}"))}),
    );
    assert_eq!(r["assigneeUserName"], "bob", "{r}");
    let r = s.hook(
        &url,
        "createRequest",
        json!({"processName": "Review", "onBehalfOf": b64(&format!("User:{carol}"))}),
    );
    assert_eq!(r["onBehalfOfUserName"], "carol", "{r}");
}
