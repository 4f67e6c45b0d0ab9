//! Timers and recurring jobs on a real SQLite file and a virtual clock: every timer kind, cycles,
//! misfires after a restart, timer start events, TimeoutMinutes, and the recurring job commands
//! with their four execution types and two policies.

use baton_engine::{Clock, VirtualClock};
use baton_runtime::{Reply, Runtime};
use baton_store::Durability;
use baton_testkit::{flow, ok, timer, virtual_clock, Model};
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

struct T {
    rt: Runtime,
    clock: Arc<VirtualClock>,
}

fn open(db: &Path, clock: &Arc<VirtualClock>) -> T {
    T {
        rt: Runtime::open(db, Durability::Normal, clock.clone()).unwrap(),
        clock: clock.clone(),
    }
}

impl T {
    fn run(&self, cmd: &str, data: Value) -> Value {
        ok(self.rt.execute(cmd, &data, None))
    }
    fn refused(&self, cmd: &str, data: Value) -> Reply {
        let r = self.rt.execute(cmd, &data, None);
        assert!(!r.is_successful, "{cmd} should be refused: {r:?}");
        r
    }
    fn field(&self, cmd: &str, data: Value, field: &str) -> String {
        let r = self.refused(cmd, data);
        assert_eq!(
            r.errors.first().map(|e| e.field.as_str()),
            Some(field),
            "{r:?}"
        );
        r.errors[0].message.clone()
    }
    fn deploy(&self, xml: &str) -> i64 {
        self.run("DeployProcessDefinitionCommand", json!({"bpmnXml": xml}))["processDefinitionId"]
            .as_i64()
            .unwrap()
    }
    fn start(&self, key: &str) -> String {
        self.run("StartProcessInstanceCommand", json!({"processKey": key}))["instanceGuid"]
            .as_str()
            .unwrap()
            .to_string()
    }
    fn instance(&self, guid: &str) -> Value {
        self.run("GetProcessInstanceByIdQuery", json!({"instanceGuid": guid}))
    }
    fn status(&self, guid: &str) -> String {
        self.instance(guid)["status"].as_str().unwrap().to_string()
    }
    fn path(&self, guid: &str) -> Vec<String> {
        let p = self.instance(guid)["path"].clone();
        p.as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect()
    }
    fn timers(&self, kind: &str) -> Vec<Value> {
        self.run("GetTimerListQuery", json!({"kind": kind}))["items"]
            .as_array()
            .unwrap()
            .clone()
    }
    fn t0(&self) -> Timestamp {
        VirtualClock::default_start()
    }
    /// Moves the clock to t0 + `secs` and fires what is due.
    fn at(&self, secs: i64) -> baton_runtime::FireReport {
        self.clock.set(self.t0() + SignedDuration::from_secs(secs));
        self.rt.fire_due()
    }
    fn instances_of(&self, key: &str) -> i64 {
        self.run("GetProcessInstanceListQuery", json!({"processKey": key}))["totalCount"]
            .as_i64()
            .unwrap()
    }
}

fn stamp(t: Timestamp) -> String {
    format!("{t:.6}")
}

/// Start -> intermediate timer (PT30M) -> end.
fn wait_30m() -> String {
    Model::process("Wait30")
        .start("s")
        .catch_timer("wait", "timeDuration", "PT30M")
        .end("e")
        .chain(&["s", "wait", "e"])
        .xml()
}

#[test]
fn an_intermediate_timer_fires_at_its_time_and_never_early() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    t.deploy(&wait_30m());
    let g = t.start("Wait30");
    let rows = t.timers("instance");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["instanceGuid"], g.as_str());
    assert_eq!(
        rows[0]["dueAt"],
        stamp(t.t0() + SignedDuration::from_mins(30))
    );
    // One second early: nothing fires.
    assert_eq!(t.at(30 * 60 - 1).fired, 0);
    assert_eq!(t.status(&g), "WAITING");
    let r = t.at(30 * 60);
    assert_eq!((r.fired, r.failed), (1, 0));
    assert_eq!(t.status(&g), "COMPLETED");
    assert!(
        t.timers("instance").is_empty(),
        "the row goes with the timer"
    );
    assert_eq!(t.at(3600).fired, 0, "nothing fires twice");
}

#[test]
fn a_timer_that_fell_due_while_closed_fires_once_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let clock = virtual_clock();
    let g = {
        let t = open(&db, &clock);
        t.deploy(&wait_30m());
        t.start("Wait30")
    };
    // Closed for three hours.
    clock.set(VirtualClock::default_start() + SignedDuration::from_hours(3));
    let t = open(&db, &clock);
    assert_eq!(
        t.status(&g),
        "WAITING",
        "nothing fires before the scheduler runs"
    );
    assert_eq!(t.rt.fire_due().fired, 1);
    assert_eq!(t.status(&g), "COMPLETED");
    assert_eq!(
        t.path(&g).iter().filter(|p| *p == "wait").count(),
        1,
        "fired once"
    );
}

#[test]
fn boundary_timers_interrupting_and_cycling_and_an_event_subprocess_timer() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    // A review with a 1-day deadline (interrupting), a reminder every 2 hours (R3, not
    // interrupting), and an event sub-process that logs after 90 minutes.
    let watch = format!(
        r#"<bpmn:subProcess id="watch" triggeredByEvent="true"><bpmn:startEvent id="ws" isInterrupting="false">{}</bpmn:startEvent><bpmn:endEvent id="we"/>{}</bpmn:subProcess>"#,
        timer("timeDuration", "PT90M"),
        flow("w1", "ws", "we"),
    );
    let review = Model::process("Review")
        .start("s")
        .user_task("review")
        .boundary_timer("deadline", "review", "timeDuration", "P1D")
        .boundary_timer("remind", "review", "timeCycle", "R3/PT2H")
        .attr("cancelActivity", "false")
        .end("done")
        .end("late")
        .end("reminded")
        .raw("watch", &watch)
        .chain(&["s", "review", "done"])
        .flow("deadline", "late")
        .flow("remind", "reminded")
        .xml();
    t.deploy(&review);
    let g = t.start("Review");
    // The instance's row is its earliest timer: the event sub-process at 90 minutes.
    assert_eq!(
        t.timers("instance")[0]["dueAt"],
        stamp(t.t0() + SignedDuration::from_mins(90))
    );
    t.at(90 * 60);
    assert!(t.path(&g).contains(&"we".to_string()));
    assert_eq!(
        t.timers("instance")[0]["dueAt"],
        stamp(t.t0() + SignedDuration::from_hours(2))
    );
    t.at(2 * 3600);
    assert_eq!(t.path(&g).iter().filter(|p| *p == "remind").count(), 1);
    // Closed from 2h to 7h: the reminders due at 4h and 6h fire once; the third (R3) is at 8h.
    t.at(7 * 3600);
    assert_eq!(t.path(&g).iter().filter(|p| *p == "remind").count(), 2);
    assert_eq!(
        t.timers("instance")[0]["dueAt"],
        stamp(t.t0() + SignedDuration::from_hours(8))
    );
    t.at(8 * 3600);
    assert_eq!(t.path(&g).iter().filter(|p| *p == "remind").count(), 3);
    assert_eq!(t.status(&g), "WAITING");
    // The deadline interrupts the review.
    t.at(24 * 3600);
    assert_eq!(t.status(&g), "COMPLETED");
    assert!(t.path(&g).contains(&"late".to_string()) && !t.path(&g).contains(&"done".to_string()));
    assert!(t.timers("instance").is_empty());
    // The history tells the story: the review was cancelled by its deadline, three reminders.
    let h = t.run("GetInstanceHistoryQuery", json!({"instanceGuid": g}));
    let events: Vec<(String, String)> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["elementId"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    let has = |k: &str, el: &str| events.iter().filter(|(a, b)| a == k && b == el).count();
    assert_eq!(has("elementCancelled", "review"), 1, "{events:?}");
    assert_eq!(has("elementCompleted", "review"), 0);
    assert_eq!(has("elementCompleted", "remind"), 3);
    assert_eq!(has("elementCompleted", "late"), 1);
    assert_eq!(events.last().map(|e| e.0.as_str()), Some("ended"));
}

#[test]
fn timeout_minutes_expires_the_callback_and_takes_the_timer_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    let pay = Model::process("Pay")
        .start("s")
        .receive_task("pay")
        .props(&[("correlationKey", "'PAY-1'"), ("TimeoutMinutes", "15")])
        .boundary_timer("expired", "pay", "timeDuration", "PT15M")
        .end("paid")
        .end("gaveUp")
        .chain(&["s", "pay", "paid"])
        .flow("expired", "gaveUp")
        .xml();
    t.deploy(&pay);
    let g = t.start("Pay");
    t.at(15 * 60);
    assert_eq!(t.status(&g), "COMPLETED");
    assert!(t.path(&g).contains(&"gaveUp".to_string()));
    let rows = t.run("GetCallbackRegistryListQuery", json!({"instanceGuid": g}));
    assert_eq!(rows[0]["Status"], "Expired", "{rows}");
    let late = t.refused(
        "ReturnCallbackCommand",
        json!({"correlationKey": "PAY-1", "result": {}}),
    );
    assert!(late.message.contains("Expired"), "{}", late.message);
}

#[test]
fn timer_start_events_start_instances_and_a_new_version_replaces_them() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    let cycle = |id: &str, value: &str| {
        Model::process(id)
            .start_timer("tick", "timeCycle", value)
            .end("e")
            .flow_id("f", "tick", "e")
            .xml()
    };
    let v1 = t.deploy(&cycle("Hourly", "R3/PT1H"));
    let rows = t.timers("start");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0]["processDefinitionId"].as_i64(),
            rows[0]["elementId"].as_str()
        ),
        (Some(v1), Some("tick"))
    );
    assert_eq!(
        rows[0]["dueAt"],
        stamp(t.t0() + SignedDuration::from_hours(1))
    );
    t.at(3600);
    assert_eq!(t.instances_of("Hourly"), 1);
    // Closed from 1h to 2h30: the 2h start fires once; the third is at 3h.
    t.at(9000);
    assert_eq!(t.instances_of("Hourly"), 2);
    assert_eq!(
        t.timers("start")[0]["dueAt"],
        stamp(t.t0() + SignedDuration::from_hours(3))
    );
    t.at(3 * 3600);
    assert_eq!(t.instances_of("Hourly"), 3);
    assert!(t.timers("start").is_empty(), "R3 is used up");
    t.at(10 * 3600);
    assert_eq!(t.instances_of("Hourly"), 3);

    // A cron cycle; a new version replaces the old version's start timer.
    let d1 = t.deploy(&cycle("Daily", "0 0 9 * * ?"));
    assert_eq!(
        t.timers("start")[0]["processDefinitionId"].as_i64(),
        Some(d1)
    );
    // It is 10:00 now: the next 09:00 is tomorrow's.
    assert_eq!(
        t.timers("start")[0]["dueAt"],
        stamp("2026-01-02T09:00:00Z".parse().unwrap())
    );
    let d2 = t.deploy(&cycle("Daily", "0 0 18 * * ?"));
    let rows = t.timers("start");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["processDefinitionId"].as_i64(), Some(d2));
    assert_eq!(
        rows[0]["dueAt"],
        stamp("2026-01-01T18:00:00Z".parse().unwrap())
    );
    t.at(18 * 3600);
    let list = t.run(
        "GetProcessInstanceListQuery",
        json!({"processKey": "Daily"}),
    );
    assert_eq!(list["totalCount"], 1);
    assert_eq!(list["items"][0]["processDefinitionId"].as_i64(), Some(d2));
    assert_eq!(
        t.timers("start")[0]["dueAt"],
        stamp("2026-01-02T18:00:00Z".parse().unwrap())
    );

    // A timeDate in the past fires at once; an expression cannot be scheduled: a warning.
    t.deploy(
        &Model::process("Once")
            .start_timer("at", "timeDate", "2025-06-01T00:00:00Z")
            .end("e")
            .flow_id("f", "at", "e")
            .xml(),
    );
    t.rt.fire_due();
    assert_eq!(t.instances_of("Once"), 1);
    let dep = t.run(
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": Model::process("Expr")
            .start_timer("x", "timeDuration", "${delay}")
            .end("e")
            .flow_id("f", "x", "e")
            .xml()}),
    );
    let w = dep["warnings"].to_string();
    assert!(w.contains("'x'") && w.contains("expression"), "{w}");
}

#[test]
fn bad_timer_values_are_refused_at_deploy_naming_the_element() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    for (kind, value, says) in [
        ("timeCycle", "0 0 25 * * ?", "hour field '25'"),
        ("timeDuration", "PT5Q", "not an ISO 8601 duration"),
        ("timeCycle", "0 */5 * * *X", "day-of-week"),
    ] {
        let xml = Model::process("Bad")
            .start("s")
            .catch_timer("wait", kind, value)
            .end("e")
            .chain(&["s", "wait", "e"])
            .xml();
        let m = t.field(
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": xml}),
            "bpmnXml",
        );
        assert!(
            m.contains("wait") && m.contains(says) && m.contains("line"),
            "{value}: {m}"
        );
    }
    assert_eq!(
        t.run("GetProcessDefinitionListQuery", json!({}))["totalCount"],
        0,
        "nothing stored"
    );
}

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

/// Random clock jumps over instances with a reminder cycle and a deadline: after every pass
/// nothing due is left behind, no timer fires early, each pass fires a missed cycle once, and
/// the deadline ends exactly the instances whose time has come. A model of the rules computes
/// what must have happened; the store and the engine must agree with it.
#[test]
fn random_clock_jumps_keep_the_timer_table_and_the_instances_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    let jumpy = baton_testkit::Model::process("Jumpy")
        .start("s")
        .user_task("work")
        .boundary_timer("remind", "work", "timeCycle", "R/PT7M")
        .attr("cancelActivity", "false")
        .boundary_timer("deadline", "work", "timeDuration", "${limit}")
        .script_task("count", "reminders = reminders + 1;")
        .end("done")
        .end("counted")
        .end("late")
        .chain(&["s", "work", "done"])
        .chain(&["remind", "count", "counted"])
        .flow("deadline", "late")
        .xml();
    t.deploy(&jumpy);
    // A small deterministic generator (no dependency, same sequence every run).
    let mut seed: u64 = 0x5eed_ba70;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    struct Model {
        guid: String,
        start: i64,
        deadline: i64,
        next_mark: i64,
        reminders: i64,
        done: bool,
    }
    let mut now = 0i64; // seconds after t0
    let mut instances: Vec<Model> = Vec::new();
    for step in 0..40 {
        // Sometimes start an instance now, with a deadline that is not a multiple of 7 minutes.
        if step % 3 == 0 {
            let minutes = 10 + next(230) as i64;
            let minutes = if minutes % 7 == 0 {
                minutes + 1
            } else {
                minutes
            };
            let d = t.run("StartProcessInstanceCommand", json!({"processKey": "Jumpy", "variables": {"limit": format!("PT{minutes}M"), "reminders": 0}}));
            instances.push(Model {
                guid: d["instanceGuid"].as_str().unwrap().into(),
                start: now,
                deadline: now + minutes * 60,
                next_mark: now + 420,
                reminders: 0,
                done: false,
            });
        }
        // Small steps (under one reminder period) and long jumps (a closed laptop), mixed.
        now += if next(2) == 0 {
            10 + next(360) as i64
        } else {
            420 + next(3600) as i64
        };
        let report = t.at(now);
        assert_eq!(report.failed, 0);
        // What the rules say happened in (prev, now].
        for m in instances.iter_mut().filter(|m| !m.done) {
            if m.next_mark <= now && m.next_mark < m.deadline {
                m.reminders += 1;
                while m.next_mark <= now {
                    m.next_mark += 420;
                }
            }
            if m.deadline <= now {
                m.done = true;
            }
        }
        // Nothing due is left behind.
        let left = t.run("GetTimerListQuery", json!({}));
        for row in left["items"].as_array().unwrap() {
            assert!(
                row["dueAt"].as_str().unwrap()
                    > stamp(t.t0() + SignedDuration::from_secs(now)).as_str(),
                "step {step}: {row}"
            );
        }
        for m in &instances {
            let i = t.instance(&m.guid);
            assert_eq!(
                i["status"],
                if m.done { "COMPLETED" } else { "WAITING" },
                "step {step}, instance started at {}s, deadline {}s, now {now}s",
                m.start,
                m.deadline
            );
            assert_eq!(
                i["variables"]["reminders"], m.reminders,
                "step {step}: reminders of the instance started at {}s (now {now}s)",
                m.start
            );
            let rows = t.run("GetTimerListQuery", json!({"instanceGuid": m.guid}))["items"]
                .as_array()
                .unwrap()
                .len();
            assert_eq!(
                rows,
                if m.done { 0 } else { 1 },
                "step {step}: one timer row per waiting instance"
            );
        }
    }
    // The list is paged; its total counts every pending row.
    let waiting = instances.iter().filter(|m| !m.done).count();
    let page = t.run("GetTimerListQuery", json!({"pageSize": 1}));
    assert_eq!(
        (
            page["items"].as_array().unwrap().len(),
            page["totalCount"].as_u64()
        ),
        (waiting.min(1), Some(waiting as u64))
    );
    assert!(
        instances.iter().any(|m| m.done) && instances.iter().any(|m| m.reminders > 1),
        "the walk exercised both paths"
    );
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
