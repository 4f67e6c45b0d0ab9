//! Recurring jobs, their runs, the cron preview and the timer list.

use crate::Story;
use baton_testkit::Model;
use serde_json::json;

fn posting() -> String {
    Model::process("Posting")
        .start("s")
        .user_task("check")
        .end("e")
        .chain(&["s", "check", "e"])
        .xml()
}

fn waiting() -> String {
    Model::process("Waiting")
        .start("s")
        .catch_timer("wait", "timeDuration", "PT30M")
        .end("e")
        .chain(&["s", "wait", "e"])
        .xml()
}

#[tokio::test]
async fn jobs() {
    let mut s = Story::new();
    let bob = s.bob.token.clone();
    for (step, xml) in [("deploy Posting", posting()), ("deploy Waiting", waiting())] {
        s.admin(
            step,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": xml}),
        )
        .await;
    }
    s.admin(
        "create a job that runs a command",
        "CreateRecurringJobCommand",
        json!({"name": "count", "cronExpression": "0 0 1 * *", "executionType": 0,
               "commandName": "GetProcessDefinitionListQuery", "commandData": {}}),
    )
    .await;
    s.admin(
        "create a job that starts a process in a time zone",
        "CreateRecurringJobCommand",
        json!({"name": "post", "cronExpression": "30 8 * * 1-5", "timeZone": "Europe/Paris",
               "executionType": 3, "processKey": "Posting", "variables": {"month": "2026-01"}}),
    )
    .await;
    s.admin(
        "create a job with a bad cron expression",
        "CreateRecurringJobCommand",
        json!({"name": "bad", "cronExpression": "61 * * * *", "executionType": 0, "commandName": "GetUserListQuery"}),
    )
    .await;
    s.admin(
        "create a job without a name",
        "CreateRecurringJobCommand",
        json!({"cronExpression": "0 0 1 * *", "executionType": 0, "commandName": "GetUserListQuery"}),
    )
    .await;
    s.call(
        "a non-administrator may not create jobs",
        &bob,
        "CreateRecurringJobCommand",
        json!({"name": "x", "cronExpression": "0 0 1 * *", "executionType": 0, "commandName": "GetUserListQuery"}),
    )
    .await;
    s.admin(
        "update the first job's schedule",
        "UpdateRecurringJobCommand",
        json!({"id": 1, "cronExpression": "0 6 * * *"}),
    )
    .await;
    s.admin(
        "update with a bad cron expression",
        "UpdateRecurringJobCommand",
        json!({"id": 1, "cronExpression": "61 * * * *"}),
    )
    .await;
    s.admin(
        "update an unknown job",
        "UpdateRecurringJobCommand",
        json!({"id": 99, "name": "x"}),
    )
    .await;
    s.call(
        "get a job, as bob",
        &bob,
        "GetRecurringJobByIdQuery",
        json!({"id": 1}),
    )
    .await;
    s.admin(
        "get an unknown job",
        "GetRecurringJobByIdQuery",
        json!({"id": 99}),
    )
    .await;
    s.call(
        "list jobs, as bob",
        &bob,
        "GetRecurringJobListQuery",
        json!({}),
    )
    .await;
    s.admin(
        "run the command job now",
        "ExecuteRecurringJobCommand",
        json!({"id": 1}),
    )
    .await;
    s.admin(
        "run the process job now",
        "ExecuteRecurringJobCommand",
        json!({"id": 2}),
    )
    .await;
    s.admin(
        "run an unknown job",
        "ExecuteRecurringJobCommand",
        json!({"id": 99}),
    )
    .await;
    s.call(
        "the command job's runs, as bob",
        &bob,
        "GetRecurringJobRunListQuery",
        json!({"id": 1}),
    )
    .await;
    s.admin(
        "the runs of an unknown job",
        "GetRecurringJobRunListQuery",
        json!({"id": 99}),
    )
    .await;
    s.admin(
        "start an instance that waits 30 minutes",
        "StartProcessInstanceCommand",
        json!({"processKey": "Waiting"}),
    )
    .await;
    s.call("the timers, as bob", &bob, "GetTimerListQuery", json!({}))
        .await;
    s.admin(
        "the job timers",
        "GetTimerListQuery",
        json!({"kind": "job"}),
    )
    .await;
    s.admin(
        "timers of an unknown kind",
        "GetTimerListQuery",
        json!({"kind": "cron"}),
    )
    .await;
    s.admin(
        "delete the process job",
        "DeleteRecurringJobCommand",
        json!({"id": 2}),
    )
    .await;
    s.admin(
        "delete it again",
        "DeleteRecurringJobCommand",
        json!({"id": 2}),
    )
    .await;
    s.call(
        "a non-administrator may not delete jobs",
        &bob,
        "DeleteRecurringJobCommand",
        json!({"id": 1}),
    )
    .await;
    s.check("jobs");
}

#[tokio::test]
async fn cron_preview() {
    let mut s = Story::new();
    s.admin(
        "the next three runs in UTC",
        "GetCronPreviewQuery",
        json!({"cronExpression": "0 9 * * *", "count": 3}),
    )
    .await;
    s.admin(
        "across a DST change in New York, from a given time",
        "GetCronPreviewQuery",
        json!({"cronExpression": "30 2 * * *", "timeZone": "America/New_York", "count": 3,
               "from": "2026-03-07T00:00:00Z"}),
    )
    .await;
    s.admin(
        "a bad expression",
        "GetCronPreviewQuery",
        json!({"cronExpression": "* * *"}),
    )
    .await;
    s.admin(
        "an unknown time zone",
        "GetCronPreviewQuery",
        json!({"cronExpression": "0 9 * * *", "timeZone": "Mars/Olympus"}),
    )
    .await;
    s.admin(
        "a count of 0",
        "GetCronPreviewQuery",
        json!({"cronExpression": "0 9 * * *", "count": 0}),
    )
    .await;
    s.check("cron_preview");
}
