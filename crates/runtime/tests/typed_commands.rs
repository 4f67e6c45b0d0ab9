//! The typed commands: ValidateProcessDefinitionQuery (the report `baton lint --json` prints),
//! the problems a failed deploy answers beside its field error, and field errors that name the
//! field whatever the typed input could not read. Through `Runtime::execute` and through the
//! HTTP router (`oneshot`, no socket).

use axum::http::StatusCode;
use baton_engine::VirtualClock;
use baton_runtime::commands;
use baton_runtime::Runtime;
use baton_store::Durability;
use baton_testkit::{open_in, template, Door, ADMIN};
use serde_json::{json, Value};
use std::sync::Arc;

/// Three problems: a script that does not compile (element `Calc`, line 5) and two flows out of a
/// splitting gateway without conditions (`f3` line 10, `f4` line 11).
const BAD_MODEL: &str = r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="Bad" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:scriptTask id="Calc" scriptFormat="rhai"><bpmn:script>let x = ;</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Calc"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Calc" targetRef="gw"/>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="e"/>
    <bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"#;

const NOT_XML: &str = "hello <not xml";

const TEMPLATES: &[(&str, &str)] = &[
    (
        "loan-approval/LoanApprovalProcess.bpmn",
        "LoanApprovalProcess",
    ),
    (
        "payment-approval/PaymentApprovalProcess.bpmn",
        "PaymentApprovalProcess",
    ),
    (
        "invoice-reminders/InvoiceReminderProcess.bpmn",
        "InvoiceReminderProcess",
    ),
    (
        "webhook-payment/WebhookPaymentFlow.bpmn",
        "WebhookPaymentFlow",
    ),
];

fn runtime() -> (Runtime, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _clock) = open_in(dir.path());
    (rt, dir)
}

/// The problems of an answer's `data`, as (elementId, line, column).
fn places(data: &Value) -> Vec<(Value, u64, u64)> {
    data["problems"]
        .as_array()
        .expect("data.problems is a list")
        .iter()
        .map(|p| {
            (
                p["elementId"].clone(),
                p["line"].as_u64().unwrap(),
                p["column"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn validate_answers_what_lint_prints_for_every_template() {
    let (rt, _dir) = runtime();
    for (path, id) in TEMPLATES {
        let xml = template(path);
        let r = rt.execute(
            "ValidateProcessDefinitionQuery",
            &json!({ "bpmnXml": xml }),
            None,
        );
        assert!(r.is_successful, "{path}: {r:?}");
        assert_eq!(r.data["processes"][0]["id"], *id);
        assert!(r.data["processes"][0]["flowNodes"].as_u64().unwrap() > 2);
        assert!(r.data["processes"][0]["sequenceFlows"].as_u64().unwrap() > 1);
        let errors: Vec<&Value> = r.data["problems"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["severity"] == "error")
            .collect();
        assert!(errors.is_empty(), "{path}: {errors:?}");
        // The very report `baton lint --json` prints (one function makes both).
        let lint = commands::lint("bpmnXml", &xml).unwrap();
        assert_eq!(r.data, serde_json::to_value(&lint).unwrap(), "{path}");
        // Validating deployed nothing.
        let defs = rt.execute("GetProcessDefinitionListQuery", &json!({}), None);
        assert_eq!(defs.data["totalCount"], 0);
    }
}

#[test]
fn validate_reports_every_problem_with_its_element_line_and_column() {
    let (rt, _dir) = runtime();
    let r = rt.execute(
        "ValidateProcessDefinitionQuery",
        &json!({ "bpmnXml": BAD_MODEL }),
        None,
    );
    assert!(
        r.is_successful,
        "a model with problems is still validated: {r:?}"
    );
    assert_eq!(r.message, "3 error(s), 0 warning(s)");
    assert_eq!(
        places(&r.data),
        vec![
            (json!("Calc"), 5, 73),
            (json!("f3"), 10, 5),
            (json!("f4"), 11, 5)
        ]
    );
    assert!(r.data["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("does not compile"));
    assert_eq!(r.data["processes"][0]["id"], "Bad");
    assert_eq!(r.data["processes"][0]["flowNodes"], 4);
}

#[test]
fn validate_answers_the_parse_error_of_a_text_that_is_not_xml() {
    let (rt, _dir) = runtime();
    let r = rt.execute(
        "ValidateProcessDefinitionQuery",
        &json!({ "bpmnXml": NOT_XML }),
        None,
    );
    assert!(!r.is_successful);
    assert_eq!(r.message, "Validation failed");
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].field, "bpmnXml");
    assert!(
        r.errors[0].message.starts_with("line 1, column 7: "),
        "{}",
        r.errors[0].message
    );
    assert_eq!(places(&r.data), vec![(Value::Null, 1, 7)]);
    assert_eq!(r.data["problems"][0]["severity"], "error");

    let r = rt.execute("ValidateProcessDefinitionQuery", &json!({}), None);
    assert_eq!(r.errors[0].field, "bpmnXml");
    assert_eq!(r.errors[0].message, "bpmnXml is required");
    let r = rt.execute(
        "ValidateProcessDefinitionQuery",
        &json!({"bpmnXml": 42}),
        None,
    );
    assert_eq!(r.errors[0].message, "bpmnXml must be a string");
}

#[test]
fn a_failed_deploy_answers_every_problem_beside_its_error() {
    let (rt, _dir) = runtime();
    let r = rt.execute(
        "DeployProcessDefinitionCommand",
        &json!({ "bpmnXml": BAD_MODEL }),
        None,
    );
    assert!(!r.is_successful);
    assert_eq!(r.message, "Validation failed");
    // The field error is today's: the first error, with its place and element.
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].field, "bpmnXml");
    assert_eq!(
        r.errors[0].message,
        "line 5, column 73: the script of 'Calc' does not compile: Unexpected ';' (element Calc)"
    );
    // And every problem, for an editor to mark each element.
    assert_eq!(
        places(&r.data),
        vec![
            (json!("Calc"), 5, 73),
            (json!("f3"), 10, 5),
            (json!("f4"), 11, 5)
        ]
    );
    let r = rt.execute(
        "DeployProcessDefinitionCommand",
        &json!({ "bpmnXml": NOT_XML }),
        None,
    );
    assert!(r.errors[0].message.starts_with("line 1, column 7: "));
    assert_eq!(places(&r.data), vec![(Value::Null, 1, 7)]);
    // Nothing was deployed.
    let defs = rt.execute("GetProcessDefinitionListQuery", &json!({}), None);
    assert_eq!(defs.data["totalCount"], 0);
}

/// A receive task whose `TimeoutMinutes` is `value`: the property sits on line 6, column 7.
fn timeout_model(value: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:custom="http://baton.dev/schema/custom" id="d">
  <bpmn:process id="Pay" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:receiveTask id="Wait"><bpmn:extensionElements><custom:properties>
      <custom:property name="TimeoutMinutes" value="{value}"/>
    </custom:properties></bpmn:extensionElements></bpmn:receiveTask>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Wait" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"#
    )
}

#[test]
fn a_deploy_refuses_a_timeout_minutes_that_cannot_give_a_due_time() {
    let (rt, _dir) = runtime();
    for value in [
        "inf",
        "NaN",
        "1e10",
        "9223372036854775807",
        "-5",
        "0",
        "abc",
    ] {
        let r = rt.execute(
            "DeployProcessDefinitionCommand",
            &json!({ "bpmnXml": timeout_model(value) }),
            None,
        );
        assert!(!r.is_successful, "{value}: {r:?}");
        assert_eq!(r.errors.len(), 1, "{value}");
        assert_eq!(r.errors[0].field, "bpmnXml");
        let m = &r.errors[0].message;
        assert!(
            m.starts_with("line 6, column 7: ")
                && m.contains(&format!("TimeoutMinutes '{value}'"))
                && m.ends_with("(element Wait)"),
            "{value}: {m}"
        );
        assert_eq!(places(&r.data), vec![(json!("Wait"), 6, 7)], "{value}");
    }
    let defs = rt.execute("GetProcessDefinitionListQuery", &json!({}), None);
    assert_eq!(defs.data["totalCount"], 0);
    // Ten years is the longest accepted, and deploys.
    let r = rt.execute(
        "DeployProcessDefinitionCommand",
        &json!({ "bpmnXml": timeout_model("5256000") }),
        None,
    );
    assert!(r.is_successful, "{r:?}");
}

#[test]
fn a_definition_stored_before_the_check_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("typed.db");
    let clock = Arc::new(VirtualClock::new(VirtualClock::default_start()));
    drop(Runtime::open(&db, Durability::Normal, clock.clone()).unwrap());
    // What an older version let through: a definition whose TimeoutMinutes is now refused.
    let mut ids = Vec::new();
    {
        let mut s = baton_store::Store::open(&db, Durability::Normal).unwrap();
        let tx = s.transaction().unwrap();
        for value in ["0", "abc", "inf", "1e10"] {
            let at = "2026-01-01T00:00:00Z";
            ids.push(
                tx.deploy("Pay", None, &timeout_model(value), &json!({}), at)
                    .unwrap()
                    .0,
            );
        }
        tx.commit().unwrap();
    }
    let rt = Runtime::open(&db, Durability::Normal, clock).unwrap();
    for id in ids {
        let r = rt.execute(
            "StartProcessInstanceCommand",
            &json!({ "processDefinitionId": id }),
            None,
        );
        assert!(r.is_successful, "definition {id}: {r:?}");
        let guid = r.data["instanceGuid"].clone();
        let r = rt.execute(
            "GetProcessInstanceByIdQuery",
            &json!({ "instanceGuid": guid }),
            None,
        );
        assert_eq!(r.data["status"], "WAITING", "definition {id}: {r:?}");
        assert_eq!(r.data["waiting"][0]["taskId"], "Wait", "definition {id}");
    }
}

#[test]
fn a_field_of_the_wrong_type_is_named() {
    let (rt, _dir) = runtime();
    let cases = [
        (
            "GetProcessInstanceListQuery",
            json!({"pageSize": "x"}),
            "pageSize",
            "pageSize must be a whole number, 1 or more",
        ),
        (
            "GetProcessDefinitionListQuery",
            json!({"pageNumber": 0}),
            "pageNumber",
            "pageNumber must be a whole number, 1 or more",
        ),
        (
            "StartProcessInstanceCommand",
            json!({"processKey": "P", "variables": "x"}),
            "variables",
            "variables must be a JSON object",
        ),
        (
            "StartProcessInstanceCommand",
            json!({"processDefinitionId": "seven"}),
            "processDefinitionId",
            "processDefinitionId must be an integer",
        ),
        (
            "StartProcessInstanceCommand",
            json!({}),
            "processDefinitionId",
            "processDefinitionId or processKey is required",
        ),
        (
            "SignalProcessInstanceCommand",
            json!({"instanceGuid": 5}),
            "instanceGuid",
            "instanceGuid must be a string",
        ),
        (
            "SignalProcessInstanceCommand",
            json!({"instanceGuid": "  "}),
            "instanceGuid",
            "instanceGuid is required",
        ),
        (
            "ReturnCallbackCommand",
            json!({"correlationKey": "K", "ttlSeconds": -1}),
            "ttlSeconds",
            "ttlSeconds must be a whole number of seconds, 0 or more",
        ),
        (
            "CorrelateMessageCommand",
            json!({"messageName": "M", "correlationKey": 7}),
            "correlationKey",
            "correlationKey must be a string",
        ),
        (
            "GetCronPreviewQuery",
            json!({"cronExpression": "0 * * * *", "count": 0}),
            "count",
            "count must be a whole number from 1 to 100",
        ),
        (
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": "<x/>", "forms": []}),
            "forms",
            "forms must map form keys to form JSON",
        ),
        (
            "GetTaskListQuery",
            json!({"team": ["A"]}),
            "team",
            "team must be a string",
        ),
    ];
    for (cmd, data, field, message) in cases {
        let r = rt.execute(cmd, &data, None);
        assert!(!r.is_successful, "{cmd} {data}");
        assert_eq!(r.message, "Validation failed", "{cmd} {data}");
        assert_eq!(r.errors.len(), 1, "{cmd} {data}: {:?}", r.errors);
        assert_eq!(r.errors[0].field, field, "{cmd} {data}");
        assert_eq!(r.errors[0].message, message, "{cmd} {data}");
    }
}

// ----- through the router ---------------------------------------------------------------------

fn router() -> Door {
    Door::new()
}

async fn post(door: &Door, path: &str, body: Value) -> (StatusCode, Value) {
    door.post(path, Some(&format!("Bearer {ADMIN}")), body.to_string())
        .await
}

#[tokio::test]
async fn through_http_validate_deploy_problems_and_field_errors() {
    let router = router();
    let exec = |cmd: &str, data: Value| json!({"cmd": cmd, "data": data});

    let xml = template(TEMPLATES[0].0);
    let (status, body) = post(
        &router,
        "/api/v1/execute",
        exec("ValidateProcessDefinitionQuery", json!({ "bpmnXml": xml })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["isSuccessful"], true);
    assert_eq!(body["data"]["processes"][0]["id"], "LoanApprovalProcess");
    assert!(body.get("errors").is_none());

    let (status, body) = post(
        &router,
        "/api/v1/execute",
        exec(
            "ValidateProcessDefinitionQuery",
            json!({ "bpmnXml": BAD_MODEL }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["problems"].as_array().unwrap().len(), 3);
    assert_eq!(body["data"]["problems"][1]["elementId"], "f3");
    assert_eq!(body["data"]["problems"][1]["line"], 10);
    assert_eq!(body["data"]["problems"][1]["column"], 5);

    let (status, body) = post(
        &router,
        "/api/v1/execute",
        exec(
            "ValidateProcessDefinitionQuery",
            json!({ "bpmnXml": NOT_XML }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["isSuccessful"], false);
    assert_eq!(body["errors"][0]["field"], "bpmnXml");
    assert_eq!(body["data"]["problems"][0]["line"], 1);
    assert_eq!(body["data"]["problems"][0]["column"], 7);

    let (status, body) = post(
        &router,
        "/api/v1/execute",
        exec(
            "DeployProcessDefinitionCommand",
            json!({ "bpmnXml": BAD_MODEL }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["isSuccessful"], false);
    assert_eq!(body["message"], "Validation failed");
    assert_eq!(body["errors"].as_array().unwrap().len(), 1);
    let ids: Vec<&Value> = body["data"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["elementId"])
        .collect();
    assert_eq!(ids, [&json!("Calc"), &json!("f3"), &json!("f4")]);

    let (status, body) = post(
        &router,
        "/api/v1/execute",
        exec("GetProcessInstanceListQuery", json!({"pageSize": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["errors"],
        json!([{"field": "pageSize", "message": "pageSize must be a whole number, 1 or more"}])
    );

    // The `$type` door says the same in its "field: message" strings.
    let (status, body) = post(
        &router,
        "/api/bpm/cmd",
        json!({"$type": "GetProcessInstanceListQuery", "pageSize": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["success"], false);
    assert_eq!(
        body["errors"],
        json!(["pageSize: pageSize must be a whole number, 1 or more"])
    );
}
