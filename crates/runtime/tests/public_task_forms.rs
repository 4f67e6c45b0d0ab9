//! GetTaskFormQuery as seed 002 says, through the real HTTP doors (a real SQLite file, served
//! on 127.0.0.1): "Auth: Optional" (a form whose task has no ResponsibleUser / ResponsibleTeam
//! loads without a token, and only that query does), an administrator's `publicForms` switch,
//! ResponsibleUser / ResponsibleTeam enforced when loading as when submitting, and a failure
//! that still answers `data.status`, which the seed's frontend reads before anything else.
//!
//! The models are the seed's own elements as printed (the form-mode receive task of "Form Mode
//! (Human Interaction After External Event)" and Example 2's user task), wrapped in
//! `<definitions>` with the start, end and flows the seed leaves out. Each request body is the
//! seed's `JSON.stringify({cmd: 'GetTaskFormQuery', data: { instanceGuid }})`, to the seed's
//! door `/api/core/cmd`, with `Content-Type: application/json` and, where the caller has one,
//! `Authorization: Bearer ${token}`.

use baton_testkit::{definitions, flow, Door, Served, TestUser, ADMIN};
use serde_json::{json, Value};

/// Seed 002's form-mode receive task, word for word: a form, no ResponsibleUser / Team.
const REVIEW_PAYMENT: &str = r#"<bpmn:receiveTask id="Task_ReviewPayment" name="Review Payment Details">
<bpmn:extensionElements>
<custom:properties>
<!-- ✅ Form mode: HAS form property -->
<custom:property name="form" value="payment-review-form"/>
<custom:property name="correlationKey" value="context.paymentId"/>
<custom:property name="message" value="PaymentReceived"/>
</custom:properties>
</bpmn:extensionElements>
</bpmn:receiveTask>"#;

/// Seed 002's Example 2 user task, word for word: for team MANAGERS.
const MANAGER_REVIEW: &str = r#"<bpmn:userTask id="Task_ManagerReview" name="Manager Review">
<bpmn:extensionElements>
<custom:properties>
<custom:property name="FormKey" value="loan-review-form"/>
<custom:property name="ResponsibleTeam" value="MANAGERS"/>
<custom:property name="ServerScript" value="
// Validate approval
if (formData.decision === 'approve' &amp;&amp; !formData.approvedAmount) {
throw new Error('Approved amount is required');
}
return {
approved: formData.decision === 'approve',
approvedAmount: formData.approvedAmount,
approvedBy: currentUser
};
"/>
</custom:properties>
</bpmn:extensionElements>
</bpmn:userTask>"#;

/// A process around one seed element: start, the element, end.
fn around(process: &str, task_id: &str, element: &str) -> String {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>{element}<bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", task_id),
        flow("f2", task_id, "e")
    );
    definitions(process, "", &body)
}

struct Setup {
    door: Door,
    served: Served,
    /// In MANAGERS: works on the loan review.
    mia: TestUser,
    /// In SALES: starts the loan application, but is not a manager.
    sam: TestUser,
    /// In nothing the instances touch.
    carol: TestUser,
    /// The payment instance: its review form is public.
    payment: String,
    /// The loan instance sam started: its review is for MANAGERS.
    loan: String,
}

fn setup() -> Setup {
    let door = Door::new();
    let mia = door.user("mia", &["MANAGERS"]);
    let sam = door.user("sam", &["SALES"]);
    let carol = door.user("carol", &["GREEN"]);
    door.t.run(
        "DeployProcessDefinitionCommand",
        json!({
            "bpmnXml": around("PaymentReviewProcess", "Task_ReviewPayment", REVIEW_PAYMENT),
            "forms": {"payment-review-form": {"fields": [{"key": "decision"}]}}
        }),
    );
    door.t.run(
        "DeployProcessDefinitionCommand",
        json!({
            "bpmnXml": around("LoanApprovalProcess", "Task_ManagerReview", MANAGER_REVIEW),
            "forms": {"loan-review-form": {"fields": [{"key": "approvedAmount"}]}}
        }),
    );
    let served = Served::start(door.st.clone());
    let start = |token: &str, key: &str, vars: Value, correlation: &str| {
        let (status, body) = served.post(
            "/api/core/cmd",
            Some(token),
            &json!({"cmd": "StartProcessInstanceCommand", "data": {
                "processKey": key, "variables": vars, "correlationId": correlation}}),
        );
        assert_eq!(status, 200, "{body}");
        body["data"]["instanceGuid"].as_str().unwrap().to_string()
    };
    let payment = start(
        ADMIN,
        "PaymentReviewProcess",
        json!({"paymentId": "PAYMENT-12345", "amount": 250}),
        "PAYMENT-12345",
    );
    let loan = start(
        &sam.token,
        "LoanApprovalProcess",
        json!({"applicant": "Ada", "requested": 5000}),
        "LOAN-7",
    );
    Setup {
        door,
        served,
        mia,
        sam,
        carol,
        payment,
        loan,
    }
}

impl Setup {
    /// The seed's request, verbatim, to the seed's door; `token` None sends no Authorization.
    fn form(&self, token: Option<&str>, instance_guid: &str) -> (u16, Value) {
        self.form_at("/api/core/cmd", token, instance_guid)
    }

    fn form_at(&self, door: &str, token: Option<&str>, instance_guid: &str) -> (u16, Value) {
        let body: Value = serde_json::from_str(&format!(
            r#"{{"cmd":"GetTaskFormQuery","data":{{"instanceGuid":"{instance_guid}"}}}}"#
        ))
        .unwrap();
        self.served.post(door, token, &body)
    }

    fn admin(&self, cmd: &str, data: Value) -> (u16, Value) {
        self.served.post(
            "/api/core/cmd",
            Some(ADMIN),
            &json!({"cmd": cmd, "data": data}),
        )
    }
}

/// What the seed's frontend does with the answer: `result.data.status === 'SUCCESS'` first,
/// then `formJson` and `taskType`. It must not throw, so `data` is an object with a status.
fn seed_frontend(result: &Value) -> Option<(Value, String)> {
    let data = result
        .get("data")
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("result.data would throw: {result}"));
    let status = data
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("result.data.status is not a string: {result}"));
    (status == "SUCCESS").then(|| {
        (
            data["formJson"].clone(),
            data["taskType"].as_str().unwrap().to_string(),
        )
    })
}

/// A refused load: the usual failure envelope, its code, and `data` saying it too.
fn assert_refused(status: u16, body: &Value, http: u16, code: &str) {
    assert_eq!(status, http, "{body}");
    assert_eq!(body["isSuccessful"], false, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(seed_frontend(body).is_none(), "{body}");
    assert_eq!(body["data"]["status"], code, "{body}");
    assert!(
        body["data"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[test]
fn a_form_without_responsible_user_or_team_loads_without_a_token() {
    let s = setup();
    let (status, body) = s.form(None, &s.payment);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["isSuccessful"], true, "{body}");
    let (form, task_type) = seed_frontend(&body).expect("SUCCESS");
    assert_eq!(task_type, "receiveTask");
    assert_eq!(form, json!({"fields": [{"key": "decision"}]}));
    assert_eq!(body["data"]["taskId"], "Task_ReviewPayment");
    assert_eq!(body["data"]["context"]["amount"], 250);
    // The same answer as with a token ("uses token if provided").
    let (status, with_token) = s.form(Some(&s.carol.token), &s.payment);
    assert_eq!(status, 200);
    assert_eq!(with_token["data"], body["data"]);
    // Both other command doors let the same load through.
    let (status, v1) = s.form_at("/api/v1/execute", None, &s.payment);
    assert_eq!(
        (status, v1["data"]["status"].clone()),
        (200, json!("SUCCESS"))
    );
    let (status, bpm) = s.served.post(
        "/api/bpm/cmd",
        None,
        &json!({"$type": "GetTaskFormQuery", "instanceGuid": s.payment}),
    );
    assert_eq!(status, 200, "{bpm}");
    assert_eq!(bpm["success"], true, "{bpm}");
    assert_eq!(bpm["data"]["taskType"], "receiveTask");
}

#[test]
fn only_the_form_query_goes_without_a_token() {
    let s = setup();
    let id = json!({"instanceGuid": s.payment});
    for (cmd, data) in [
        ("GetProcessInstanceByIdQuery", id.clone()),
        ("GetInstanceHistoryQuery", id.clone()),
        (
            "SignalProcessInstanceCommand",
            json!({"instanceGuid": s.payment, "callbackData": {"decision": "approve"}}),
        ),
        (
            "StartProcessInstanceCommand",
            json!({"processKey": "PaymentReviewProcess"}),
        ),
        ("GetTaskListQuery", json!({})),
        ("GetFormSettingsQuery", json!({})),
        ("NoSuchCommand", json!({})),
    ] {
        for door in ["/api/core/cmd", "/api/v1/execute"] {
            let (status, body) = s
                .served
                .post(door, None, &json!({"cmd": cmd, "data": data}));
            assert_eq!(status, 401, "{door} {cmd}: {body}");
            assert_eq!(body["code"], "UNAUTHORIZED", "{door} {cmd}: {body}");
        }
        let mut bpm = data.as_object().unwrap().clone();
        bpm.insert("$type".into(), json!(cmd));
        let (status, body) = s.served.post("/api/bpm/cmd", None, &Value::Object(bpm));
        assert_eq!(status, 401, "bpm {cmd}: {body}");
    }
    // The payment still waits: nothing ran.
    let (_, body) = s.admin("GetProcessInstanceByIdQuery", id);
    assert_eq!(body["data"]["status"], "WAITING", "{body}");
    // Not JSON, no command, or a body far larger than a form's load: 401, nothing more told.
    for raw in ["{not json", r#"{"data": {}}"#] {
        let resp = baton_testkit::agent()
            .post(&s.served.url("/api/core/cmd"))
            .set("content-type", "application/json")
            .send_string(raw);
        let status = match resp {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(code, _)) => code,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(status, 401, "{raw}");
    }
    let big = json!({"cmd": "GetTaskFormQuery", "data": {"instanceGuid": s.payment,
        "padding": "x".repeat(baton_runtime::http::MAX_BODY_BYTES_WITHOUT_TOKEN)}});
    let (status, body) = s.served.post("/api/core/cmd", None, &big);
    assert_eq!(status, 401, "{body}");
    // A wrong token is refused as always, even for a public form: it does not fall back to
    // loading without one.
    let (status, body) = s.form(Some("bt_not-a-live-token"), &s.payment);
    assert_eq!(status, 401, "{body}");
}

#[test]
fn a_form_for_a_user_or_team_is_refused_to_others_when_loading() {
    let s = setup();
    // Mia is in MANAGERS; the administrator is not held to the rule.
    for token in [s.mia.token.as_str(), ADMIN] {
        let (status, body) = s.form(Some(token), &s.loan);
        assert_eq!(status, 200, "{body}");
        let (form, task_type) = seed_frontend(&body).expect("SUCCESS");
        assert_eq!(task_type, "userTask");
        assert_eq!(form, json!({"fields": [{"key": "approvedAmount"}]}));
        assert_eq!(body["data"]["metadata"]["responsibleTeam"], "MANAGERS");
    }
    // Sam started it and reads the instance, but the form is for MANAGERS: FORBIDDEN (403),
    // exactly as submitting it would be.
    let (status, body) = s.form(Some(&s.sam.token), &s.loan);
    assert_refused(status, &body, 403, "FORBIDDEN");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("'sam'")
            && message.contains("Task_ManagerReview")
            && message.contains("MANAGERS"),
        "{message}"
    );
    assert!(!body.to_string().contains("Ada"), "no context: {body}");
    let (status, body) = s.served.post(
        "/api/core/cmd",
        Some(&s.sam.token),
        &json!({"cmd": "SignalProcessInstanceCommand",
            "data": {"instanceGuid": s.loan, "callbackData": {"decision": "reject"}}}),
    );
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("FORBIDDEN")),
        "{body}"
    );
    // By correlation id too, and with the task named.
    let (status, body) = s.served.post(
        "/api/core/cmd",
        Some(&s.sam.token),
        &json!({"cmd": "GetTaskFormQuery", "data": {"correlationId": "LOAN-7", "taskId": "Task_ManagerReview"}}),
    );
    assert_refused(status, &body, 403, "FORBIDDEN");
    // Carol may not even read it: as for an instance that does not exist.
    let (status, body) = s.form(Some(&s.carol.token), &s.loan);
    assert_refused(status, &body, 200, "NOT_FOUND");
    assert!(!body.to_string().contains("Ada"), "{body}");
    // Without a token: refused, in the same words as a guid nobody started.
    let missing = "00000000-0000-7000-8000-000000000000";
    let (status, hidden) = s.form(None, &s.loan);
    assert_refused(status, &hidden, 200, "NOT_FOUND");
    let (_, unknown) = s.form(None, missing);
    assert_eq!(
        hidden["data"]["message"]
            .as_str()
            .unwrap()
            .replace(&s.loan, missing),
        unknown["data"]["message"].as_str().unwrap(),
    );
    assert!(
        hidden["data"]["message"]
            .as_str()
            .unwrap()
            .contains("bearer token"),
        "{hidden}"
    );
    assert!(!hidden.to_string().contains("Ada"), "{hidden}");
    // Mia submits it: the loan goes on.
    let (status, body) = s.served.post(
        "/api/core/cmd",
        Some(&s.mia.token),
        &json!({"cmd": "SignalProcessInstanceCommand",
            "data": {"instanceGuid": s.loan, "callbackData": {"decision": "approve", "approvedAmount": 4000}}}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["isSuccessful"], true, "{body}");
    // Nothing waits now: a failure that still answers data.status (mia saw the instance
    // through its task only, so to her it is gone).
    let (status, body) = s.form(Some(ADMIN), &s.loan);
    assert_refused(status, &body, 200, "REJECTED");
    let (status, body) = s.form(Some(&s.mia.token), &s.loan);
    assert_refused(status, &body, 200, "NOT_FOUND");
}

#[test]
fn every_failure_still_answers_data_status() {
    let s = setup();
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({}), 200, "INVALID"),
        (json!({"instanceGuid": 7}), 200, "INVALID"),
        (json!({"correlationId": "NOPE-1"}), 200, "NOT_FOUND"),
        (
            json!({"instanceGuid": s.payment, "taskId": "Task_Other"}),
            200,
            "REJECTED",
        ),
    ];
    for (data, http, code) in cases {
        let (status, body) = s.served.post(
            "/api/core/cmd",
            Some(&s.mia.token),
            &json!({"cmd": "GetTaskFormQuery", "data": data}),
        );
        assert_refused(status, &body, http, code);
    }
    // A field error keeps its errors list beside data.
    let (_, body) = s.served.post(
        "/api/core/cmd",
        Some(&s.mia.token),
        &json!({"cmd": "GetTaskFormQuery", "data": {}}),
    );
    assert_eq!(body["errors"][0]["field"], "instanceGuid", "{body}");
    // Seed 001's door carries the same data.
    let (status, body) = s.served.post(
        "/api/bpm/cmd",
        Some(&s.sam.token),
        &json!({"$type": "GetTaskFormQuery", "instanceGuid": s.loan}),
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["success"], false);
    assert_eq!(body["data"]["status"], "FORBIDDEN", "{body}");
}

#[test]
fn without_a_token_a_form_is_found_by_its_guid_only() {
    let s = setup();
    let (status, body) = s.served.post(
        "/api/core/cmd",
        None,
        &json!({"cmd": "GetTaskFormQuery", "data": {"correlationId": "PAYMENT-12345"}}),
    );
    assert_refused(status, &body, 401, "UNAUTHORIZED");
    assert!(
        body["message"].as_str().unwrap().contains("instanceGuid"),
        "{body}"
    );
    assert!(!body.to_string().contains("250"), "{body}");
    // With a token, by correlation id as the seed allows.
    let (status, body) = s.served.post(
        "/api/core/cmd",
        Some(&s.carol.token),
        &json!({"cmd": "GetTaskFormQuery", "data": {"correlationId": "PAYMENT-12345"}}),
    );
    assert_eq!(
        (status, body["data"]["status"].clone()),
        (200, json!("SUCCESS")),
        "{body}"
    );
}

#[test]
fn an_administrator_turns_public_forms_off_and_on() {
    let s = setup();
    let (status, body) = s.admin("GetFormSettingsQuery", json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!({"publicForms": true}), "on by default");
    // Only an administrator may change it, and only to true or false.
    let (status, body) = s.served.post(
        "/api/core/cmd",
        Some(&s.mia.token),
        &json!({"cmd": "SetFormSettingsCommand", "data": {"publicForms": false}}),
    );
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("FORBIDDEN")),
        "{body}"
    );
    let (status, body) = s.admin("SetFormSettingsCommand", json!({"publicForms": "no"}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["isSuccessful"], false);
    assert_eq!(body["errors"][0]["field"], "publicForms", "{body}");

    let (status, body) = s.admin("SetFormSettingsCommand", json!({"publicForms": false}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!({"publicForms": false}), "{body}");
    // Off: without a token even a public form is refused (401, with data.status)...
    let (status, body) = s.form(None, &s.payment);
    assert_refused(status, &body, 401, "UNAUTHORIZED");
    assert!(
        body["message"].as_str().unwrap().contains("publicForms"),
        "{body}"
    );
    assert!(!body.to_string().contains("250"), "{body}");
    // ... and with one it loads as before.
    let (status, body) = s.form(Some(&s.carol.token), &s.payment);
    assert_eq!(
        (status, body["data"]["status"].clone()),
        (200, json!("SUCCESS"))
    );
    // The setting is in the database: a restarted server keeps it.
    let payment_guid = s.payment.clone();
    let Setup { door, served, .. } = s;
    drop(served);
    let Door { t, st } = door;
    drop(st);
    let t = t.reopen();
    let served = Served::start(std::sync::Arc::new(baton_runtime::http::AppState {
        runtime: t.rt.clone(),
    }));
    let seed_body = json!({"cmd": "GetTaskFormQuery", "data": {"instanceGuid": payment_guid}});
    let (status, body) = served.post("/api/core/cmd", None, &seed_body);
    assert_eq!(
        (status, body["data"]["status"].clone()),
        (401, json!("UNAUTHORIZED")),
        "{body}"
    );
    // On again.
    let (status, body) = served.post(
        "/api/core/cmd",
        Some(ADMIN),
        &json!({"cmd": "SetFormSettingsCommand", "data": {"publicForms": true}}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = served.post("/api/core/cmd", None, &seed_body);
    assert_eq!(
        (status, body["data"]["status"].clone()),
        (200, json!("SUCCESS")),
        "{body}"
    );
}

#[test]
fn loads_without_a_token_are_rate_limited_per_address() {
    let s = setup();
    let (status, body) = s.admin(
        "SetSecuritySettingsCommand",
        json!({"rateLimitPerMinute": 1, "rateLimitBurst": 2}),
    );
    assert_eq!(status, 200, "{body}");
    for _ in 0..2 {
        let (status, body) = s.form(None, &s.payment);
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = s.form(None, &s.payment);
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["data"]["status"], "RATE_LIMITED", "{body}");
    assert_eq!(body["isSuccessful"], false, "{body}");
    // With a token the command doors are not limited.
    let (status, _) = s.form(Some(&s.carol.token), &s.payment);
    assert_eq!(status, 200);
}
