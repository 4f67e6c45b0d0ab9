//! Recurring jobs and timers over HTTP: administrators manage, everyone reads.

use crate::*;

#[tokio::test]
async fn recurring_jobs_over_http_admins_manage_and_everyone_reads() {
    let s = server();
    let job = json!({"name": "eod", "cronExpression": "0 18 * * MON-FRI", "timeZone": "Africa/Lagos", "executionType": 2, "executionCode": "\"done\""});
    // Jobs run with administrator rights: only administrators create, change, run or delete them.
    let cases = [
        "CreateRecurringJobCommand",
        "UpdateRecurringJobCommand",
        "ExecuteRecurringJobCommand",
        "DeleteRecurringJobCommand",
    ]
    .into_iter()
    .map(|cmd| case(&s.bob, cmd, job.clone(), forbidden(has(&["administrator"]))))
    .collect();
    s.table(cases).await;
    let created = s.ok(ADMIN, "CreateRecurringJobCommand", job.clone()).await;
    let id = created["id"].clone();
    assert!(
        created["nextRunAt"]
            .as_str()
            .unwrap()
            .ends_with("17:00:00.000000Z"),
        "{created}"
    );
    // Reading is open to every user; the list hides the code, the single view shows it.
    let list = s
        .case(case(
            &s.bob,
            "GetRecurringJobListQuery",
            json!({}),
            ok_with(&[("/totalCount", json!(1))]),
        ))
        .await;
    assert!(list["items"][0].get("executionCode").is_none());
    s.case(case(
        &s.bob,
        "GetRecurringJobByIdQuery",
        json!({"id": id}),
        ok_with(&[("/executionCode", json!("\"done\""))]),
    ))
    .await;
    // The $type door: a field error names the field.
    let (code, v) = s.bpm(ADMIN, json!({"$type": "CreateRecurringJobCommand", "name": "x", "cronExpression": "0 0 31 2 *", "executionType": 9})).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["success"], false);
    assert!(
        v["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("executionType:"),
        "{v}"
    );
    let got = s
        .table(vec![
            case(
                ADMIN,
                "ExecuteRecurringJobCommand",
                json!({"id": id}),
                ok_with(&[
                    ("/status", json!("Succeeded")),
                    ("/result/value", json!("done")),
                ]),
            ),
            case(
                &s.bob,
                "GetRecurringJobRunListQuery",
                json!({"id": id}),
                ok_with(&[("/items/0/trigger", json!("manual"))]),
            ),
            case(
                &s.bob,
                "GetCronPreviewQuery",
                json!({"cronExpression": "0 18 * * MON-FRI", "timeZone": "Africa/Lagos", "count": 2}),
                ok(),
            ),
            case(
                &s.bob,
                "GetTimerListQuery",
                json!({"kind": "job"}),
                ok_with(&[("/items/0/jobId", id.clone())]),
            ),
            case(
                &s.bob,
                "GetTimerListQuery",
                json!({"kind": "cron"}),
                field("kind"),
            ),
            case(ADMIN, "DeleteRecurringJobCommand", json!({"id": id}), ok()),
        ])
        .await;
    assert_eq!(got[2]["nextRunTimes"].as_array().unwrap().len(), 2);
    assert_eq!(s.count("GetRecurringJobListQuery", json!({})).await, 0);
}
