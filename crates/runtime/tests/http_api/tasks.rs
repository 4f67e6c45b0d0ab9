//! The task form and the inbox, per user and team.

use crate::*;

const SIGNAL: &str = "SignalProcessInstanceCommand";

fn task_ids(v: &Value) -> BTreeSet<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["taskId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn task_form_and_the_inbox_per_user() {
    let s = server();
    let loan_def = s
        .ok(
            ADMIN,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": loan(), "forms": {"loan-review-form": loan_form()}}),
        )
        .await["processDefinitionId"]
        .clone();
    let chores = s.deploy(&chores()).await;
    let (l, _) = s.start(ADMIN, json!({"processDefinitionId": loan_def, "variables": {"applicant": "Ada"}, "correlationId": "APP-1"})).await;
    let (c, d) = s.start(ADMIN, json!({"processDefinitionId": chores})).await;
    assert_eq!(d["waiting"].as_array().unwrap().len(), 3, "{d}");

    let form = "GetTaskFormQuery";
    let got = s
        .table(vec![
            // GetTaskFormQuery by guid or by correlation id.
            case(
                &s.mary,
                form,
                json!({"instanceGuid": l}),
                ok_with(&[
                    ("/status", json!("SUCCESS")),
                    ("/taskType", json!("userTask")),
                    ("/taskId", json!("Task_ManagerReview")),
                    ("/formKey", json!("loan-review-form")),
                    ("/formJson", loan_form()),
                    ("/context/applicant", json!("Ada")),
                    ("/metadata/instanceGuid", json!(l)),
                    ("/metadata/taskName", json!("Manager Review")),
                    ("/metadata/responsibleTeam", json!("MANAGERS")),
                ]),
            ),
            case(ADMIN, form, json!({"correlationId": "APP-1"}), ok()),
            // Three tasks wait in Chores: taskId picks one; a form without a deployed form
            // JSON is null.
            case(
                ADMIN,
                form,
                json!({"instanceGuid": c, "taskId": "ForTellers"}),
                ok_with(&[
                    ("/taskId", json!("ForTellers")),
                    ("/formJson", Value::Null),
                    ("/metadata/responsibleTeam", json!("TELLERS")),
                ]),
            ),
            case(
                ADMIN,
                form,
                json!({"instanceGuid": l, "taskId": "Nope"}),
                refused(is(format!("instance {l} has no waiting form task 'Nope'"))),
            ),
            case(
                ADMIN,
                form,
                json!({}),
                field_msg(
                    "instanceGuid",
                    is("instanceGuid or correlationId is required"),
                ),
            ),
            case(
                ADMIN,
                form,
                json!({"instanceGuid": "xyz"}),
                field("instanceGuid"),
            ),
            case(
                ADMIN,
                form,
                json!({"correlationId": "APP-404"}),
                field("correlationId"),
            ),
            case(
                ADMIN,
                form,
                json!({"instanceGuid": l, "taskId": 1}),
                field("taskId"),
            ),
        ])
        .await;
    assert_eq!(got[1], got[0], "by correlation id: the same form");

    // GetTaskListQuery: the administrator sees everything, a user only their own and their
    // teams'; a user cannot look into someone else's inbox, the administrator can.
    let list = "GetTaskListQuery";
    let got = s
        .table(vec![
            case(
                ADMIN,
                list,
                json!({}),
                ok_with(&[("/totalCount", json!(4))]),
            ),
            case(
                &s.bob,
                list,
                json!({}),
                ok_with(&[("/totalCount", json!(3))]),
            ),
            case(
                &s.mary,
                list,
                json!({}),
                ok_with(&[("/totalCount", json!(2))]),
            ),
            case(
                &s.bob,
                list,
                json!({"userName": "mary", "team": "MANAGERS"}),
                ok(),
            ),
            case(ADMIN, list, json!({"userName": "mary"}), ok()),
            case(ADMIN, list, json!({"team": "TELLERS"}), ok()),
            case(
                &s.bob,
                list,
                json!({"pageSize": 2}),
                ok_with(&[("/totalCount", json!(3))]),
            ),
            case(&s.bob, list, json!({"pageSize": 0}), field("pageSize")),
            case(ADMIN, list, json!({"team": 7}), field("team")),
        ])
        .await;
    let expected: [&[&str]; 6] = [
        &["Task_ManagerReview", "Open", "ForBob", "ForTellers"],
        &["Open", "ForBob", "ForTellers"],
        &["Task_ManagerReview", "Open"],
        &["Open", "ForBob", "ForTellers"],
        &["Task_ManagerReview", "Open"],
        &["Open", "ForTellers"],
    ];
    for (n, ids) in expected.iter().enumerate() {
        assert_eq!(task_ids(&got[n]), set(ids), "row {n}: {}", got[n]);
    }
    assert_eq!(got[6]["items"].as_array().unwrap().len(), 2);
    let row = got[2]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["taskId"] == "Task_ManagerReview")
        .unwrap();
    assert_eq!(
        (row["instanceGuid"].as_str(), row["formKey"].as_str()),
        (Some(l.as_str()), Some("loan-review-form"))
    );

    // ResponsibleUser: mary may not complete bob's task, bob may; it leaves the inbox.
    let before = s.snapshot(&c).await;
    s.case(case(
        &s.mary,
        SIGNAL,
        json!({"instanceGuid": c, "taskId": "ForBob", "callbackData": {}}),
        forbidden(has(&["mary", "ForBob"])),
    ))
    .await;
    assert_eq!(s.snapshot(&c).await, before);
    let d = s
        .case(case(
            &s.bob,
            SIGNAL,
            json!({"instanceGuid": c, "taskId": "ForBob", "callbackData": {"done": true}}),
            ok_with(&[("/status", json!("WAITING"))]),
        ))
        .await;
    assert_eq!(d["waiting"].as_array().unwrap().len(), 2);
    assert_eq!(
        task_ids(&s.ok(&s.bob, list, json!({})).await),
        set(&["Open", "ForTellers"])
    );
    // Several tasks wait and no taskId: a business failure, nothing changes.
    let before = s.snapshot(&c).await;
    s.case(case(
        ADMIN,
        SIGNAL,
        json!({"instanceGuid": c, "callbackData": {}}),
        refused(has(&["say which one with taskId"])),
    ))
    .await;
    assert_eq!(s.snapshot(&c).await, before);
}
