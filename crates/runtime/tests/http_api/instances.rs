//! Starting instances, signalling form tasks, cancel, retry, incidents, the instance queries
//! and history.

use crate::*;

const START: &str = "StartProcessInstanceCommand";
const SIGNAL: &str = "SignalProcessInstanceCommand";
const CANCEL: &str = "CancelProcessInstanceCommand";
const RETRY: &str = "RetryIncidentCommand";

#[tokio::test]
async fn start_by_id_or_key_and_its_validation_errors() {
    let s = server();
    let v1 = s.deploy(&loan()).await;
    let v2 = s.deploy(&loan()).await;

    let d = s
        .case(case(
            ADMIN,
            START,
            json!({"processDefinitionId": v1, "variables": {"applicant": "Ada", "requestedAmount": 500}, "businessKey": "LOAN-1", "correlationId": "C-1"}),
            ok_with(&[
                ("/status", json!("WAITING")),
                ("/waiting/0/taskId", json!("Task_ManagerReview")),
                ("/waiting/0/taskType", json!("userTask")),
                ("/waiting/0/responsibleTeam", json!("MANAGERS")),
            ]),
        ))
        .await;
    assert_eq!(d["waiting"].as_array().unwrap().len(), 1);
    let g1 = d["instanceGuid"].as_str().unwrap().to_string();
    let i = s
        .case(case(
            ADMIN,
            "GetProcessInstanceByIdQuery",
            json!({"instanceGuid": g1}),
            ok_with(&[
                ("/processDefinitionId", v1.clone()),
                ("/processKey", json!("LoanApprovalProcess")),
                ("/businessKey", json!("LOAN-1")),
                ("/correlationId", json!("C-1")),
                ("/variables/applicant", json!("Ada")),
                ("/variables/requestedAmount", json!(500)),
                ("/status", json!("WAITING")),
                ("/endedAt", Value::Null),
            ]),
        ))
        .await;
    assert!(
        i["startedAt"]
            .as_str()
            .unwrap()
            .starts_with("2026-01-01T00:00:00"),
        "{i}"
    );

    // By key: the newest version. Non-administrators may start.
    let (g2, _) = s
        .start(
            &s.bob,
            json!({"processKey": "LoanApprovalProcess", "context": {"applicant": "Bo"}}),
        )
        .await;
    let i = s.instance(&g2).await;
    assert_eq!(i["processDefinitionId"], v2);
    assert_eq!(
        i["variables"]["applicant"], "Bo",
        "`context` is accepted as the variables"
    );
    assert_eq!(i["businessKey"], Value::Null);

    // Refusals name their field and start nothing.
    let mut cases = vec![
        case(
            ADMIN,
            START,
            json!({"processDefinitionId": 4242}),
            field_msg("processDefinitionId", is("no process definition 4242")),
        ),
        case(
            ADMIN,
            START,
            json!({"processKey": "NoSuchProcess"}),
            field_msg("processKey", has(&["NoSuchProcess"])),
        ),
        case(ADMIN, START, json!({"processKey": 1}), field("processKey")),
        case(
            ADMIN,
            START,
            json!({"processDefinitionId": "v1"}),
            field("processDefinitionId"),
        ),
        case(
            ADMIN,
            START,
            json!({}),
            field_msg(
                "processDefinitionId",
                is("processDefinitionId or processKey is required"),
            ),
        ),
        case(
            ADMIN,
            START,
            json!({"processDefinitionId": v1, "correlationId": 3}),
            field("correlationId"),
        ),
    ];
    for vars in [json!([1, 2]), json!("applicant=Ada"), json!(5)] {
        cases.push(case(
            ADMIN,
            START,
            json!({"processDefinitionId": v1, "variables": vars}),
            field_msg("variables", is("variables must be a JSON object")),
        ));
    }
    for bk in [json!(17), json!({"k": 1}), json!(["LOAN-2"])] {
        cases.push(case(
            ADMIN,
            START,
            json!({"processDefinitionId": v1, "businessKey": bk}),
            field_msg("businessKey", is("businessKey must be a string")),
        ));
    }
    s.table(cases).await;
    assert_eq!(
        s.count("GetProcessInstanceListQuery", json!({})).await,
        2,
        "no refused start created an instance"
    );
}

#[tokio::test]
async fn signal_completes_a_form_task_with_callback_data_or_the_legacy_signal_payload() {
    let s = server();
    let def = s.deploy(&loan()).await;
    let (a, _) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": def, "variables": {"applicant": "Ada"}}),
        )
        .await;
    let (b, _) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": def, "variables": {"applicant": "Bo"}}),
        )
        .await;
    let (c, _) = s.start(ADMIN, json!({"processDefinitionId": def})).await;

    s.table(vec![
        // callbackData, by a member of the responsible team.
        case(
            &s.mary,
            SIGNAL,
            json!({"instanceGuid": a, "taskId": "Task_ManagerReview", "callbackData": {"decision": "approve", "approvedAmount": 1000}}),
            ok_with(&[
                ("/instanceGuid", json!(a)),
                ("/status", json!("COMPLETED")),
                ("/taskType", json!("userTask")),
                (
                    "/result",
                    json!({"approved": true, "approvedAmount": 1000, "approvedBy": "mary"}),
                ),
                ("/waiting", json!([])),
            ]),
        ),
        // The legacy field name does the same.
        case(
            &s.mary,
            SIGNAL,
            json!({"instanceGuid": b, "signalPayload": {"decision": "decline"}}),
            ok_with(&[
                ("/status", json!("COMPLETED")),
                ("/result/approved", json!(false)),
                ("/result/approvedBy", json!("mary")),
            ]),
        ),
        // When both are sent, callbackData wins.
        case(
            &s.mary,
            SIGNAL,
            json!({"instanceGuid": c, "callbackData": {"decision": "decline"}, "signalPayload": {"decision": "approve", "approvedAmount": 1}}),
            ok_with(&[("/result/approved", json!(false))]),
        ),
    ])
    .await;
    let i = s.instance(&a).await;
    assert_eq!(i["variables"]["lastUserTaskResult"]["approved"], true);
    assert!(i["endedAt"].is_string());
    assert_eq!(
        s.instance(&b).await["variables"]["lastUserTaskResult"]["approved"],
        false
    );

    // Refusals leave the waiting instance exactly as it was.
    let (w, _) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": def, "variables": {"applicant": "Wu"}}),
        )
        .await;
    let before = s.snapshot(&w).await;
    assert_eq!(before.0["waiting"][0]["taskId"], "Task_ManagerReview");
    s.table(vec![
        // bob is not in MANAGERS and did not start it: to him the instance does not exist.
        case(
            &s.bob,
            SIGNAL,
            json!({"instanceGuid": w, "callbackData": {"decision": "approve", "approvedAmount": 5}}),
            field_msg("instanceGuid", is(format!("no process instance '{w}'"))),
        ),
        // A task that is not waiting: a business failure, not a field error.
        case(
            &s.mary,
            SIGNAL,
            json!({"instanceGuid": w, "taskId": "Task_Nope", "callbackData": {}}),
            refused(is(
                "task 'Task_Nope' is not waiting (waiting: Task_ManagerReview)",
            )),
        ),
        // The ServerScript rejects the submission.
        case(
            &s.mary,
            SIGNAL,
            json!({"instanceGuid": w, "callbackData": {"decision": "approve"}}),
            refused(has(&["Approved amount is required"])),
        ),
        // Field errors.
        case(
            ADMIN,
            SIGNAL,
            json!({"instanceGuid": "no-such-guid", "callbackData": {}}),
            field_msg("instanceGuid", is("no process instance 'no-such-guid'")),
        ),
        case(ADMIN, SIGNAL, json!({"callbackData": {}}), field("instanceGuid")),
        case(ADMIN, SIGNAL, json!({"instanceGuid": 12}), field("instanceGuid")),
        case(
            &s.mary,
            SIGNAL,
            json!({"instanceGuid": w, "callbackData": "approve"}),
            field_msg("callbackData", starts("callbackData must be a JSON object")),
        ),
        case(
            &s.mary,
            SIGNAL,
            json!({"instanceGuid": w, "signalPayload": [1]}),
            field_msg("signalPayload", starts("signalPayload must be a JSON object")),
        ),
        case(
            &s.mary,
            SIGNAL,
            json!({"instanceGuid": w, "taskId": 3, "callbackData": {}}),
            field("taskId"),
        ),
        // An ended instance takes no more submissions.
        case(
            ADMIN,
            SIGNAL,
            json!({"instanceGuid": a, "callbackData": {"decision": "approve", "approvedAmount": 1}}),
            refused(is("instance is COMPLETED, not waiting")),
        ),
    ])
    .await;
    assert_eq!(
        s.snapshot(&w).await,
        before,
        "no refused signal changed the instance"
    );
}

#[tokio::test]
async fn cancel_retry_and_incidents() {
    let s = server();
    let calc = s.deploy(&failing_script()).await;
    let loan_def = s.deploy(&loan()).await;

    // A failing script task: FAILED with an open incident.
    let (f, d) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": calc, "variables": {"amount": 500}}),
        )
        .await;
    assert_eq!(d["status"], "FAILED");
    assert_eq!(s.instance(&f).await["incidents"][0]["elementId"], "Calc");
    let got = s
        .table(vec![
            case(
                ADMIN,
                "GetIncidentListQuery",
                json!({}),
                ok_with(&[
                    ("/totalCount", json!(1)),
                    ("/items/0/instanceGuid", json!(f)),
                    ("/items/0/elementId", json!("Calc")),
                    ("/items/0/resolvedAt", Value::Null),
                ]),
            ),
            case(
                ADMIN,
                "GetIncidentListQuery",
                json!({"openOnly": "yes"}),
                field("openOnly"),
            ),
            // bob sees the incidents of the instances he may read: not the administrator's.
            case(
                &s.bob,
                "GetIncidentListQuery",
                json!({"openOnly": true}),
                ok_with(&[("/totalCount", json!(0))]),
            ),
        ])
        .await;
    assert!(
        got[0]["items"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too large"),
        "{}",
        got[0]
    );

    // Field errors on retry change nothing.
    let before = s.snapshot(&f).await;
    s.table(vec![
        case(
            ADMIN,
            RETRY,
            json!({"instanceGuid": f, "variables": "amount=5"}),
            field_msg("variables", is("variables must be a JSON object")),
        ),
        case(
            ADMIN,
            RETRY,
            json!({"instanceGuid": "nope"}),
            field("instanceGuid"),
        ),
        case(ADMIN, RETRY, json!({}), field("instanceGuid")),
    ])
    .await;
    assert_eq!(s.snapshot(&f).await, before);
    // Retried without a fix: it fails again, one incident still open.
    let d = s
        .case(case(
            ADMIN,
            RETRY,
            json!({"instanceGuid": f}),
            ok_with(&[
                ("/status", json!("FAILED")),
                ("/incidents/0/elementId", json!("Calc")),
            ]),
        ))
        .await;
    assert_eq!(d["incidents"].as_array().unwrap().len(), 1);
    let open = s.ok(ADMIN, "GetIncidentListQuery", json!({})).await;
    assert!(
        open["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["instanceGuid"] == f.as_str() && i["elementId"] == "Calc"),
        "{open}"
    );
    assert_eq!(
        open["totalCount"], 1,
        "a failed retry keeps the one open incident: {open}"
    );
    // Retried with a fix: completes, the incident is resolved.
    s.case(case(
        ADMIN,
        RETRY,
        json!({"instanceGuid": f, "variables": {"amount": 7}}),
        ok_with(&[("/status", json!("COMPLETED")), ("/incidents", json!([]))]),
    ))
    .await;
    assert_eq!(s.instance(&f).await["variables"]["total"], 14);
    assert_eq!(s.count("GetIncidentListQuery", json!({})).await, 0);
    let all = s
        .ok(ADMIN, "GetIncidentListQuery", json!({"openOnly": false}))
        .await;
    assert_eq!(all["totalCount"], 1, "{all}");
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["resolvedAt"].is_string()),
        "{all}"
    );
    // Nothing to retry any more.
    let (w, _) = s
        .start(ADMIN, json!({"processDefinitionId": loan_def}))
        .await;
    s.table(vec![
        case(
            ADMIN,
            RETRY,
            json!({"instanceGuid": f}),
            refused(has(&["COMPLETED"])),
        ),
        case(
            ADMIN,
            RETRY,
            json!({"instanceGuid": w}),
            refused(is("the instance has no open incident to retry")),
        ),
    ])
    .await;

    // Cancel a waiting instance: CANCELLED, ended, out of the inbox.
    assert_eq!(s.count("GetTaskListQuery", json!({})).await, 1);
    let before = s.snapshot(&w).await;
    s.table(vec![
        case(
            ADMIN,
            CANCEL,
            json!({"instanceGuid": w, "reason": 5}),
            field("reason"),
        ),
        case(ADMIN, CANCEL, json!({}), field("instanceGuid")),
        case(
            ADMIN,
            CANCEL,
            json!({"instanceGuid": "gone"}),
            field_msg("instanceGuid", is("no process instance 'gone'")),
        ),
    ])
    .await;
    assert_eq!(s.snapshot(&w).await, before);
    let d = s
        .ok(
            ADMIN,
            CANCEL,
            json!({"instanceGuid": w, "reason": "duplicate application"}),
        )
        .await;
    assert_eq!(d, json!({"instanceGuid": w, "status": "CANCELLED"}));
    let i = s.instance(&w).await;
    assert_eq!(
        (i["status"].clone(), i["waiting"].clone()),
        (json!("CANCELLED"), json!([]))
    );
    assert!(i["endedAt"].is_string());
    assert_eq!(
        s.count("GetTaskListQuery", json!({})).await,
        0,
        "the cancelled task left the inbox"
    );
    assert_eq!(
        s.history(&w).await.last().map(String::as_str),
        Some("ended")
    );
    // Twice: refused, still cancelled once.
    s.table(vec![
        case(
            ADMIN,
            CANCEL,
            json!({"instanceGuid": w}),
            refused(is("instance is CANCELLED, not waiting")),
        ),
        case(
            ADMIN,
            SIGNAL,
            json!({"instanceGuid": w, "callbackData": {"decision": "decline"}}),
            refused(is("instance is CANCELLED, not waiting")),
        ),
    ])
    .await;
    assert_eq!(count_of(&s.history(&w).await, "ended"), 1);
    assert_eq!(
        s.count(
            "GetProcessInstanceListQuery",
            json!({"status": "CANCELLED"})
        )
        .await,
        1
    );
}

#[tokio::test]
async fn instance_queries_list_and_history() {
    let s = server();
    let loan_def = s.deploy(&loan()).await;
    let calc = s.deploy(&failing_script()).await;
    let (w1, _) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": loan_def, "businessKey": "B-1"}),
        )
        .await;
    let (w2, _) = s
        .start(ADMIN, json!({"processDefinitionId": loan_def}))
        .await;
    let (done, _) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": calc, "variables": {"amount": 1}}),
        )
        .await;
    let (failed, _) = s
        .start(
            ADMIN,
            json!({"processDefinitionId": calc, "variables": {"amount": 101}}),
        )
        .await;

    let list = "GetProcessInstanceListQuery";
    let got = s
        .table(vec![
            // GetProcessInstanceByIdQuery.
            case(
                ADMIN,
                "GetProcessInstanceByIdQuery",
                json!({"instanceGuid": done}),
                ok_with(&[
                    ("/status", json!("COMPLETED")),
                    ("/processKey", json!("Calc")),
                    ("/processDefinitionId", calc.clone()),
                    ("/variables", json!({"amount": 1, "total": 2, "InitiatedBy": "admin"})),
                    ("/waiting", json!([])),
                    ("/incidents", json!([])),
                ]),
            ),
            case(
                ADMIN,
                "GetProcessInstanceByIdQuery",
                json!({"instanceGuid": "0000"}),
                field_msg("instanceGuid", is("no process instance '0000'")),
            ),
            case(
                ADMIN,
                "GetProcessInstanceByIdQuery",
                json!({}),
                field_msg("instanceGuid", is("instanceGuid is required")),
            ),
            // GetProcessInstanceListQuery: by status, by key, paged.
            case(ADMIN, list, json!({}), ok_with(&[("/totalCount", json!(4))])),
            case(ADMIN, list, json!({"status": "WAITING"}), ok()),
            case(ADMIN, list, json!({"status": "FAILED"}), ok()),
            case(ADMIN, list, json!({"processKey": "Calc"}), ok()),
            case(
                ADMIN,
                list,
                json!({"pageSize": 1, "pageNumber": 2}),
                ok_with(&[("/totalCount", json!(4))]),
            ),
            case(
                ADMIN,
                list,
                json!({"status": "DONE"}),
                field_msg(
                    "status",
                    is("status must be RUNNING, WAITING, COMPLETED, FAILED or CANCELLED, not 'DONE'"),
                ),
            ),
            case(ADMIN, list, json!({"status": "waiting"}), field("status")),
            case(ADMIN, list, json!({"status": 1}), field("status")),
            case(ADMIN, list, json!({"pageSize": -3}), field("pageSize")),
            case(ADMIN, list, json!({"processKey": 9}), field("processKey")),
        ])
        .await;
    let all = &got[3];
    assert_eq!(guids(&all["items"]), set(&[&w1, &w2, &done, &failed]));
    assert_eq!(guids(&got[4]["items"]), set(&[&w1, &w2]));
    assert_eq!(guids(&got[5]["items"]), set(&[&failed]));
    assert_eq!(guids(&got[6]["items"]), set(&[&done, &failed]));
    assert_eq!(got[7]["items"].as_array().unwrap().len(), 1);
    let b1 = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instanceGuid"] == w1.as_str())
        .unwrap();
    assert_eq!(b1["businessKey"], "B-1");
    assert!(b1.get("state").is_none(), "the engine state is not listed");

    // GetInstanceHistoryQuery: append-only, in order, with the element of each event.
    let h = s
        .ok(
            ADMIN,
            "GetInstanceHistoryQuery",
            json!({"instanceGuid": failed}),
        )
        .await;
    let items = h.as_array().unwrap();
    let events: Vec<(&str, &str)> = items
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["elementId"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("variablesChanged", "-"),
            ("elementEntered", "s"),
            ("elementCompleted", "s"),
            ("elementEntered", "Calc"),
            ("incidentRaised", "Calc")
        ],
        "{h}"
    );
    let vars: Value = serde_json::from_str(items[0]["data"].as_str().unwrap()).unwrap();
    assert_eq!(vars["changed"]["amount"], 101, "{vars}");
    let h = s.history(&w1).await;
    assert_eq!(
        h.iter()
            .filter(|k| !k.starts_with("element") && *k != "variablesChanged")
            .collect::<Vec<_>>(),
        ["taskWaiting"]
    );
    s.ok(
        &s.mary,
        SIGNAL,
        json!({"instanceGuid": w1, "callbackData": {"decision": "decline"}}),
    )
    .await;
    let h = s
        .ok(
            ADMIN,
            "GetInstanceHistoryQuery",
            json!({"instanceGuid": w1}),
        )
        .await;
    let kinds = baton_testkit::kinds_of(&h);
    assert!(
        kinds.iter().any(|k| k == "taskWaiting") && kinds.iter().any(|k| k == "elementCompleted"),
        "{kinds:?}"
    );
    assert_eq!(kinds.last().map(String::as_str), Some("ended"));
    let seqs: Vec<i64> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    s.table(vec![
        case(
            ADMIN,
            "GetInstanceHistoryQuery",
            json!({"instanceGuid": "missing"}),
            field_msg("instanceGuid", is("no process instance 'missing'")),
        ),
        case(
            ADMIN,
            "GetInstanceHistoryQuery",
            json!({}),
            field("instanceGuid"),
        ),
    ])
    .await;
}
