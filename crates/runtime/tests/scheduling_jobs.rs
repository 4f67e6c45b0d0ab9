//! Recurring jobs on a real SQLite file and a virtual clock: the job commands with their four
//! execution types and two policies, cron in a time zone, misfires after a restart, and jobs and
//! timers firing together as the clock advances.

mod common;

use baton_engine::{Clock, VirtualClock};
use baton_store::Durability;
use baton_testkit::{virtual_clock, Model};
use common::*;
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use std::sync::Arc;

// ----- recurring jobs --------------------------------------------------------------------------

fn job(t: &T, data: Value) -> (i64, String) {
    let d = t.run("CreateRecurringJobCommand", data);
    (
        d["id"].as_i64().unwrap(),
        d["nextRunAt"].as_str().unwrap_or_default().to_string(),
    )
}

fn runs(t: &T, id: i64) -> Vec<Value> {
    t.run("GetRecurringJobRunListQuery", json!({"id": id}))["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn jobs_run_on_their_cron_schedule_and_record_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    let (id, next) = job(
        &t,
        json!({"name": "tick", "cronExpression": "*/15 * * * *", "executionType": 2, "executionCode": "let n = 40 + 2; n"}),
    );
    assert_eq!(next, stamp(t.t0() + SignedDuration::from_mins(15)));
    assert_eq!(t.at(15 * 60 - 1).fired, 0);
    assert!(runs(&t, id).is_empty());
    t.at(15 * 60);
    let r = runs(&t, id);
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0]["status"].as_str(), r[0]["trigger"].as_str()),
        (Some("Succeeded"), Some("schedule"))
    );
    assert_eq!(r[0]["result"]["value"], 42);
    assert_eq!(
        r[0]["scheduledFor"],
        stamp(t.t0() + SignedDuration::from_mins(15))
    );
    let j = t.run("GetRecurringJobByIdQuery", json!({"id": id}));
    assert_eq!(
        j["nextRunAt"],
        stamp(t.t0() + SignedDuration::from_mins(30))
    );
    assert_eq!(j["executionCode"], "let n = 40 + 2; n");
    let list = t.run("GetRecurringJobListQuery", json!({}));
    assert_eq!(list["items"][0]["nextRunAt"], j["nextRunAt"]);
    assert!(
        list["items"][0].get("executionCode").is_none(),
        "the list never shows code: {list}"
    );

    // Code that fails: the run is Failed with the error, and the schedule goes on.
    let (bad, _) = job(
        &t,
        json!({"name": "bad", "cronExpression": "*/15 * * * *", "executionType": 2, "executionCode": "throw \"ledger closed\";"}),
    );
    t.at(30 * 60);
    let r = runs(&t, bad);
    assert_eq!(r[0]["status"], "Failed");
    assert!(
        r[0]["error"].as_str().unwrap().contains("ledger closed"),
        "{r:?}"
    );
    assert_eq!(
        t.run("GetRecurringJobByIdQuery", json!({"id": bad}))["nextRunAt"],
        stamp(t.t0() + SignedDuration::from_mins(45))
    );
    t.at(45 * 60);
    assert_eq!(runs(&t, bad).len(), 2);
    assert_eq!(runs(&t, id).len(), 3);
}

#[test]
fn the_four_execution_types_and_run_now() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    let def = t.deploy(
        &Model::process("Posting")
            .start("s")
            .user_task("check")
            .end("e")
            .chain(&["s", "check", "e"])
            .xml(),
    );
    let every = "0 0 1 * *";
    // 0: one command.
    let (c, _) = job(
        &t,
        json!({"name": "count", "cronExpression": every, "executionType": 0, "commandName": "GetProcessDefinitionListQuery", "commandData": {}}),
    );
    let d = t.run("ExecuteRecurringJobCommand", json!({"id": c}));
    assert_eq!(
        (d["status"].as_str(), d["result"]["totalCount"].as_i64()),
        (Some("Succeeded"), Some(1))
    );
    // 3: start a process, by key or id, with variables.
    let (p, _) = job(
        &t,
        json!({"name": "post", "cronExpression": every, "executionType": 3, "processKey": "Posting", "variables": {"month": "2026-01"}}),
    );
    let d = t.run("ExecuteRecurringJobCommand", json!({"id": p}));
    let guid = d["result"]["instanceGuid"].as_str().unwrap().to_string();
    assert_eq!(t.instance(&guid)["variables"]["month"], "2026-01");
    let (p2, _) = job(
        &t,
        json!({"name": "post2", "cronExpression": every, "executionType": 3, "processDefinitionId": def}),
    );
    assert_eq!(
        t.run("ExecuteRecurringJobCommand", json!({"id": p2}))["status"],
        "Succeeded"
    );
    // 1: a chain; the second step completes the task of the instance the first one started.
    let (ch, _) = job(
        &t,
        json!({"name": "chain", "cronExpression": every, "executionType": 1, "commandChain": [
            {"commandName": "StartProcessInstanceCommand", "commandData": {"processKey": "Posting"}},
            {"commandName": "SignalProcessInstanceCommand", "commandData": {"instanceGuid": "$previous.instanceGuid", "taskId": "$previous.waiting.0.taskId", "callbackData": {"ok": true}}}
        ]}),
    );
    let d = t.run("ExecuteRecurringJobCommand", json!({"id": ch}));
    assert_eq!(d["result"]["result"]["status"], "COMPLETED", "{d}");
    assert_eq!(d["result"]["steps"].as_array().unwrap().len(), 2);
    // A chain stops at the failing step and says which.
    let (broken, _) = job(
        &t,
        json!({"name": "broken", "cronExpression": every, "executionType": 1, "commandChain": [
            {"commandName": "GetProcessDefinitionListQuery"},
            {"commandName": "GetProcessInstanceByIdQuery", "commandData": {"instanceGuid": "$previous.nothing"}}
        ]}),
    );
    let r = t.refused("ExecuteRecurringJobCommand", json!({"id": broken}));
    assert!(
        r.message.contains("step 2 (GetProcessInstanceByIdQuery)"),
        "{}",
        r.message
    );
    let rr = runs(&t, broken);
    assert_eq!(
        (rr[0]["status"].as_str(), rr[0]["trigger"].as_str()),
        (Some("Failed"), Some("manual"))
    );
    // 2: code sees the job.
    let (code, _) = job(
        &t,
        json!({"name": "me", "cronExpression": every, "executionType": 2, "executionCode": "job.name + \" at \" + now()"}),
    );
    let d = t.run("ExecuteRecurringJobCommand", json!({"id": code}));
    assert!(
        d["result"]["value"]
            .as_str()
            .unwrap()
            .starts_with("me at 2026-01-01"),
        "{d}"
    );
}

#[test]
fn job_commands_validate_every_field_and_store_nothing_bad() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    let base = json!({"name": "j", "cronExpression": "0 9 * * *", "executionType": 2, "executionCode": "1"});
    let with = |k: &str, v: Value| {
        let mut d = base.clone();
        d[k] = v;
        d
    };
    let m = t.field(
        "CreateRecurringJobCommand",
        with("cronExpression", json!("0 9 * * FUNDAY")),
        "cronExpression",
    );
    assert!(m.contains("day-of-week field 'FUNDAY'"), "{m}");
    let m = t.field(
        "CreateRecurringJobCommand",
        with("cronExpression", json!("0 9")),
        "cronExpression",
    );
    assert!(m.contains("has 2 fields"), "{m}");
    let m = t.field(
        "CreateRecurringJobCommand",
        with("timeZone", json!("Mars/Olympus")),
        "timeZone",
    );
    assert!(m.contains("Mars/Olympus") && m.contains("IANA"), "{m}");
    t.field(
        "CreateRecurringJobCommand",
        with("executionType", json!(7)),
        "executionType",
    );
    t.field("CreateRecurringJobCommand", with("name", json!("")), "name");
    t.field(
        "CreateRecurringJobCommand",
        with("misfirePolicy", json!("later")),
        "misfirePolicy",
    );
    t.field(
        "CreateRecurringJobCommand",
        with("overlapPolicy", json!("parallel")),
        "overlapPolicy",
    );
    t.field(
        "CreateRecurringJobCommand",
        with("isActive", json!("yes")),
        "isActive",
    );
    let m = t.field(
        "CreateRecurringJobCommand",
        with("executionCode", json!("let x = ;")),
        "executionCode",
    );
    assert!(m.starts_with("line 1, column"), "{m}");
    let m = t.field("CreateRecurringJobCommand", json!({"name": "j", "cronExpression": "0 9 * * *", "executionType": 0, "commandName": "FlyCommand"}), "commandName");
    assert!(m.contains("unknown command 'FlyCommand'"), "{m}");
    let m = t.field("CreateRecurringJobCommand", json!({"name": "j", "cronExpression": "0 9 * * *", "executionType": 1, "commandChain": [{"commandName": "GetUserListQuery"}, {"commandName": "Nope"}]}), "commandChain");
    assert!(m.starts_with("step 2:"), "{m}");
    t.field("CreateRecurringJobCommand", json!({"name": "j", "cronExpression": "0 9 * * *", "executionType": 3, "processKey": "Missing"}), "processKey");
    t.field(
        "CreateRecurringJobCommand",
        json!({"name": "j", "cronExpression": "0 9 * * *", "executionType": 3}),
        "processDefinitionId",
    );
    assert_eq!(
        t.run("GetRecurringJobListQuery", json!({}))["totalCount"],
        0
    );
    assert!(t.timers("job").is_empty());
    t.field("GetRecurringJobByIdQuery", json!({"id": 99}), "id");
    t.field("ExecuteRecurringJobCommand", json!({"id": "one"}), "id");
    t.field("DeleteRecurringJobCommand", json!({}), "id");

    // Update: a bad change is refused and the job stays as it was.
    let (id, next) = job(&t, base.clone());
    t.field(
        "UpdateRecurringJobCommand",
        json!({"id": id, "cronExpression": "61 * * * *"}),
        "cronExpression",
    );
    assert_eq!(
        t.run("GetRecurringJobByIdQuery", json!({"id": id}))["cronExpression"],
        "0 9 * * *"
    );
    // A good change moves the schedule; deactivating removes it; deleting removes everything.
    let d = t.run(
        "UpdateRecurringJobCommand",
        json!({"id": id, "cronExpression": "0 18 * * *", "timeZone": "Africa/Lagos"}),
    );
    assert_ne!(d["nextRunAt"].as_str().unwrap(), next);
    assert_eq!(
        d["nextRunAt"],
        stamp("2026-01-01T17:00:00Z".parse().unwrap()),
        "18:00 in Lagos is 17:00 UTC"
    );
    let d = t.run(
        "UpdateRecurringJobCommand",
        json!({"id": id, "isActive": false}),
    );
    assert!(d["nextRunAt"].is_null());
    assert!(t.timers("job").is_empty());
    t.run("DeleteRecurringJobCommand", json!({"id": id}));
    t.field("GetRecurringJobByIdQuery", json!({"id": id}), "id");
}

#[test]
fn misfire_policies_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let clock = virtual_clock();
    let (once, skip) = {
        let t = open(&db, &clock);
        let a = job(&t, json!({"name": "once", "cronExpression": "0 * * * *", "executionType": 2, "executionCode": "1"})).0;
        let b = job(&t, json!({"name": "skip", "cronExpression": "0 * * * *", "executionType": 2, "executionCode": "1", "misfirePolicy": "skip"})).0;
        (a, b)
    };
    // Closed from 00:00 to 05:30: five hourly runs were missed.
    clock.set(VirtualClock::default_start() + SignedDuration::from_mins(330));
    let t = open(&db, &clock);
    t.rt.fire_due();
    let r = runs(&t, once);
    assert_eq!(r.len(), 1, "fireOnce runs once, not five times: {r:?}");
    assert_eq!(
        (r[0]["status"].as_str(), r[0]["trigger"].as_str()),
        (Some("Succeeded"), Some("misfire"))
    );
    let r = runs(&t, skip);
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0]["status"].as_str(), r[0]["trigger"].as_str()),
        (Some("Skipped"), Some("misfire"))
    );
    for id in [once, skip] {
        assert_eq!(
            t.run("GetRecurringJobByIdQuery", json!({"id": id}))["nextRunAt"],
            stamp(t.t0() + SignedDuration::from_hours(6))
        );
    }
    // On time again: both run normally.
    t.at(6 * 3600);
    assert_eq!(runs(&t, skip)[0]["status"], "Succeeded");
}

#[test]
fn overlap_policies_skip_or_queue_a_run_due_while_one_is_under_way() {
    let dir = tempfile::tempdir().unwrap();
    let t = Arc::new(open(&dir.path().join("t.db"), &virtual_clock()));
    // A run that takes a while: a loop near the script operation limit.
    let slow = "let x = 0; for i in 0..150000 { x += i; } x";
    let mut year = 2026;
    for (policy, expect) in [("skip", "Skipped schedule"), ("queue", "Succeeded queued")] {
        // The schedule must fall due while the manual run is under way. On a loaded machine the
        // run may finish first; such an attempt proves nothing and is tried again.
        let mut proved = false;
        for _attempt in 0..5 {
            year += 1;
            let (id, _) = job(
                &t,
                json!({"name": policy, "cronExpression": format!("0 0 0 1 1 * {year}"), "executionType": 2, "executionCode": slow, "overlapPolicy": policy}),
            );
            let worker = {
                let t = t.clone();
                std::thread::spawn(move || {
                    t.rt.execute("ExecuteRecurringJobCommand", &json!({"id": id}), None)
                })
            };
            let running = || {
                runs(&t, id)
                    .first()
                    .is_some_and(|r| r["status"] == "Running")
            };
            while !running() && !worker.is_finished() {
                std::thread::yield_now();
            }
            if !running() {
                assert!(worker.join().unwrap().is_successful);
                continue;
            }
            let busy =
                t.rt.execute("ExecuteRecurringJobCommand", &json!({"id": id}), None);
            let overlapped = !busy.is_successful && busy.message.contains("already running");
            t.clock
                .set(format!("{year}-01-01T00:00:00Z").parse().unwrap());
            t.rt.fire_due();
            assert!(worker.join().unwrap().is_successful);
            let after: Vec<String> = runs(&t, id)
                .iter()
                .rev()
                .map(|r| {
                    format!(
                        "{} {}",
                        r["status"].as_str().unwrap(),
                        r["trigger"].as_str().unwrap()
                    )
                })
                .collect();
            if !overlapped
                || after
                    .get(1)
                    .is_some_and(|r| r.ends_with(" schedule") && r.starts_with("Succeeded"))
            {
                continue; // the manual run had finished before the schedule fell due
            }
            // skip: the scheduled run is recorded as Skipped; queue: it runs right after the manual one.
            assert_eq!(after, ["Succeeded manual", expect], "{policy}");
            proved = true;
            break;
        }
        assert!(
            proved,
            "{policy}: the schedule never fell due during a run in 5 attempts"
        );
    }
}

#[test]
fn cron_preview_in_a_time_zone_across_dst() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    // 02:30 does not exist in New York on 8 March 2026: that day's run moves to 03:00 EDT.
    let d = t.run("GetCronPreviewQuery", json!({"cronExpression": "30 2 * * *", "timeZone": "America/New_York", "count": 3, "from": "2026-03-06T12:00:00Z"}));
    assert_eq!(
        d["nextRunTimes"],
        json!([
            "2026-03-07T07:30:00Z",
            "2026-03-08T07:00:00Z",
            "2026-03-09T06:30:00Z"
        ])
    );
    assert_eq!(
        d["localTimes"],
        json!([
            "2026-03-07T02:30:00-05:00",
            "2026-03-08T03:00:00-04:00",
            "2026-03-09T02:30:00-04:00"
        ])
    );
    // Month end, in UTC by default, from the clock's now.
    let d = t.run(
        "GetCronPreviewQuery",
        json!({"cronExpression": "0 23 L * *"}),
    );
    assert_eq!(
        d["nextRunTimes"],
        json!([
            "2026-01-31T23:00:00Z",
            "2026-02-28T23:00:00Z",
            "2026-03-31T23:00:00Z",
            "2026-04-30T23:00:00Z",
            "2026-05-31T23:00:00Z"
        ])
    );
    t.field(
        "GetCronPreviewQuery",
        json!({"cronExpression": "0 23 L * *", "count": 0}),
        "count",
    );
    t.field(
        "GetCronPreviewQuery",
        json!({"cronExpression": "0 23 L * *", "from": "yesterday"}),
        "from",
    );
    t.field("GetCronPreviewQuery", json!({}), "cronExpression");
}

#[test]
fn a_job_in_a_zone_runs_once_across_both_dst_changes() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    let at = |s: &str| -> Timestamp { s.parse().unwrap() };
    let (spring, _) = job(
        &t,
        json!({"name": "spring", "cronExpression": "30 2 * * *", "timeZone": "America/New_York", "executionType": 2, "executionCode": "1"}),
    );
    let (fall, _) = job(
        &t,
        json!({"name": "fall", "cronExpression": "30 1 * * *", "timeZone": "America/New_York", "executionType": 2, "executionCode": "1"}),
    );
    let next = |id: i64| {
        t.run("GetRecurringJobByIdQuery", json!({"id": id}))["nextRunAt"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let fire_at = |s: &str| {
        t.clock.set(at(s));
        t.rt.fire_due();
    };
    // Catch up to 7 March (one misfire run each), then walk through the spring-forward night.
    fire_at("2026-03-07T08:00:00Z");
    assert_eq!(
        next(spring),
        stamp(at("2026-03-08T07:00:00Z")),
        "02:30 does not exist on 8 March: 03:00 EDT"
    );
    let before = runs(&t, spring).len();
    fire_at("2026-03-08T07:00:00Z");
    assert_eq!(runs(&t, spring).len(), before + 1);
    assert_eq!(next(spring), stamp(at("2026-03-09T06:30:00Z")));
    // The fall-back night: 01:30 happens twice on 1 November; the job runs once.
    fire_at("2026-11-01T04:00:00Z");
    assert_eq!(next(fall), stamp(at("2026-11-01T05:30:00Z")));
    let before = runs(&t, fall).len();
    fire_at("2026-11-01T05:30:00Z");
    fire_at("2026-11-01T06:30:00Z");
    assert_eq!(
        runs(&t, fall).len(),
        before + 1,
        "01:30 EST is not a second run"
    );
    assert_eq!(next(fall), stamp(at("2026-11-02T06:30:00Z")));
}

#[test]
fn advancing_a_virtual_clock_fires_timers_and_jobs_in_order_at_their_own_times() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    t.deploy(&wait_30m());
    let g = t.start("Wait30");
    let (id, _) = job(
        &t,
        json!({"name": "q", "cronExpression": "*/15 * * * *", "executionType": 3, "processKey": "Wait30"}),
    );
    let r =
        t.rt.advance(&t.clock, t.t0() + SignedDuration::from_hours(1));
    // Jobs at 00:15, 00:30, 00:45, 01:00; the first instance's timer at 00:30; the instances the
    // jobs started at 00:15 and 00:30 end at 00:45 and 01:00.
    let mut starts: Vec<String> = runs(&t, id)
        .iter()
        .map(|r| r["startedAt"].as_str().unwrap().to_string())
        .collect();
    starts.reverse();
    let q = |m: i64| stamp(t.t0() + SignedDuration::from_mins(m));
    assert_eq!(starts, [q(15), q(30), q(45), q(60)]);
    assert!(
        runs(&t, id).iter().all(|r| r["trigger"] == "schedule"),
        "nothing is a misfire"
    );
    assert_eq!(t.instance(&g)["endedAt"], q(30));
    let done = t.run(
        "GetProcessInstanceListQuery",
        json!({"processKey": "Wait30", "status": "COMPLETED"}),
    );
    assert_eq!(done["totalCount"], 3, "{done}");
    assert_eq!(r.failed, 0);
    assert_eq!(t.clock.now(), t.t0() + SignedDuration::from_hours(1));
}

#[test]
fn a_run_left_running_by_a_stopped_process_is_marked_interrupted_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let clock = virtual_clock();
    let id = {
        let t = open(&db, &clock);
        job(&t, json!({"name": "n", "cronExpression": "0 9 * * *", "executionType": 2, "executionCode": "1"})).0
    };
    {
        // What a crash in the middle of a run leaves behind: a run row still `Running`.
        let mut s = baton_store::Store::open(&db, Durability::Normal).unwrap();
        let tx = s.transaction().unwrap();
        tx.open_run(
            id,
            "schedule",
            None,
            "Running",
            None,
            "2026-01-01T09:00:00.000000Z",
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let t = open(&db, &clock);
    let r = runs(&t, id);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["status"], "Interrupted", "{r:?}");
    assert!(r[0]["error"].as_str().unwrap().contains("stopped"), "{r:?}");
    assert!(r[0]["finishedAt"].is_string());
    // The job is not stuck: it runs now.
    assert_eq!(
        t.run("ExecuteRecurringJobCommand", json!({"id": id}))["status"],
        "Succeeded"
    );
}
