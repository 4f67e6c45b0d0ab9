//! BPMN timers on a real SQLite file and a virtual clock: every timer kind, cycles, misfires
//! after a restart, timer start events, TimeoutMinutes, bad timer values, and random clock jumps.

mod common;

use baton_engine::VirtualClock;
use baton_testkit::{flow, timer, virtual_clock, Model};
use common::*;
use jiff::SignedDuration;
use serde_json::json;

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
