//! Execution code (recurring jobs' and webhooks' execution type 2) in JavaScript, as seed 000
//! describes it ("Execute Code - Run JavaScript expression"), beside rhai: the text is read by
//! the rule of docs/scripting.md, on a real SQLite file.

mod common;

use baton_testkit::virtual_clock;
use common::*;
use serde_json::{json, Value};

fn code_job(t: &T, name: &str, code: &str) -> i64 {
    t.run(
        "CreateRecurringJobCommand",
        json!({"name": name, "cronExpression": "0 0 1 * *", "executionType": 2, "executionCode": code}),
    )["id"]
        .as_i64()
        .unwrap()
}

fn run_now(t: &T, id: i64) -> Value {
    t.run("ExecuteRecurringJobCommand", json!({"id": id}))
}

#[test]
fn job_code_in_javascript_runs_with_its_job_bound() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    // Only JavaScript has `var`, `===` and a top-level `return`.
    let id = code_job(
        &t,
        "eod",
        "var total = [10, 20, 12].reduce(function (a, b) { return a + b; }, 0);\nif (job.name === 'eod') { return { total: total, job: job.name }; }\nreturn null;",
    );
    let run = run_now(&t, id);
    assert_eq!(run["status"], "Succeeded", "{run}");
    assert_eq!(run["result"]["value"], json!({"total": 42, "job": "eod"}));

    // rhai code keeps working beside it.
    let rhai = code_job(&t, "rhai", "let n = 40 + 2; n");
    assert_eq!(run_now(&t, rhai)["result"]["value"], 42);
}

#[test]
fn a_javascript_error_fails_the_run_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    let id = code_job(
        &t,
        "closed",
        "if (job.name === 'closed') { throw new Error('ledger closed'); }\nreturn 1;",
    );
    // Run now answers the failure, naming the line and column in the code.
    let reply = t.refused("ExecuteRecurringJobCommand", json!({"id": id}));
    assert!(
        reply.message.contains("ledger closed") && reply.message.contains("line 1, column"),
        "{reply:?}"
    );
    let runs = t.run("GetRecurringJobRunListQuery", json!({"id": id}));
    assert_eq!(runs["items"][0]["status"], "Failed", "{runs}");
    assert!(
        runs["items"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("ledger closed"),
        "{runs}"
    );
}

#[test]
fn code_that_is_neither_language_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    let message = t.field(
        "CreateRecurringJobCommand",
        json!({"name": "bad", "cronExpression": "0 0 1 * *", "executionType": 2, "executionCode": "var = ;"}),
        "executionCode",
    );
    assert!(!message.is_empty());
    assert!(
        t.run("GetRecurringJobListQuery", json!({}))["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing was stored"
    );
}
