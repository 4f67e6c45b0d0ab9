//! Simulation on the runtime (`baton simulate`, `baton test`, `baton bench`): an in-memory
//! store, a virtual clock, and every scenario step run as the command `serve` runs for it.

use baton_engine::sim::Scenario;
use baton_runtime::simulate::Simulation;
use baton_runtime::{Caller, Runtime};
use baton_testkit::{virtual_clock, Model};
use serde_json::{json, Value};

/// start -> a receive task waiting on callback key `'PAY-1'` (15 minutes at most, then the
/// timer boundary to `gaveUp`) -> a user task for team MANAGERS -> end.
fn payment() -> String {
    Model::process("Pay")
        .start("s")
        .receive_task("Wait")
        .props(&[("correlationKey", "'PAY-1'"), ("TimeoutMinutes", "15")])
        .boundary_timer("late", "Wait", "timeDuration", "PT15M")
        .user_task("Review")
        .props(&[("ResponsibleTeam", "MANAGERS")])
        .end("e")
        .end("gaveUp")
        .chain(&["s", "Wait", "Review", "e"])
        .flow("late", "gaveUp")
        .xml()
}

/// start -> wait for signal `go` -> a 1-hour timer -> end.
fn signal_then_timer() -> String {
    Model::process("Later")
        .signal("Sig", "go")
        .start("s")
        .catch_signal("Go", "Sig")
        .catch_timer("Hour", "timeDuration", "PT1H")
        .end("e")
        .chain(&["s", "Go", "Hour", "e"])
        .xml()
}

fn scenario(v: Value) -> Scenario {
    Scenario::from_value(&v).expect("a valid scenario")
}

/// A simulation of one model and its first instance.
fn run(xml: &str, sc: &Scenario) -> (Simulation, String) {
    let sim = Simulation::new(&[("model.bpmn", xml)], sc, None).expect("deployed");
    let guid = sim.start(sc.variables.clone()).expect("started");
    (sim, guid)
}

#[test]
fn each_in_memory_runtime_has_its_own_database_seen_by_both_of_its_connections() {
    let a = Runtime::open_in_memory(virtual_clock()).unwrap();
    let b = Runtime::open_in_memory(virtual_clock()).unwrap();
    let owner = Caller::owner();
    let deployed = a.execute_as(
        "DeployProcessDefinitionCommand",
        &json!({"bpmnXml": payment()}),
        &owner,
    );
    assert!(deployed.is_successful, "{}", deployed.message);
    // Written through the write connection, read through the read connection.
    let listed = |rt: &Runtime| {
        rt.execute_as("GetProcessDefinitionListQuery", &json!({}), &owner)
            .data["totalCount"]
            .clone()
    };
    assert_eq!(listed(&a), 1);
    assert_eq!(listed(&b), 0);
}

#[test]
fn steps_run_as_commands_and_the_report_reads_the_runtime() {
    let sc = scenario(json!({
        "users": {"mary": ["MANAGERS"], "bob": ["CLERKS"]},
        "steps": [
            {"callback": "PAY-1", "data": {"paid": true}},
            {"complete": "Review", "user": "bob", "expectError": "MANAGERS"},
            {"complete": "Review", "expectError": "signed-in user"},
            {"complete": "Review", "user": "mary", "data": {"ok": 1}}
        ],
        "expect": {"state": "COMPLETED", "visits": ["Wait", "Review"], "never": ["x"]}
    }));
    let (sim, guid) = run(&payment(), &sc);
    sim.run_steps(&guid, &sc.steps).unwrap();
    assert_eq!(
        sim.check(&guid, sc.expect.as_ref().unwrap()),
        Vec::<String>::new()
    );
    let report = sim.report(&guid, None);
    assert_eq!(report["state"], "COMPLETED");
    assert_eq!(report["path"], json!(["s", "Wait", "Review", "e"]));
    assert_eq!(report["variables"]["lastUserTaskResult"], json!({"ok": 1}));
    // The users exist in the store, as CreateUserCommand made them.
    let users = sim
        .runtime()
        .execute_as("GetUserListQuery", &json!({}), &Caller::owner());
    let names: Vec<&str> = users.data["items"].as_array().map_or(Vec::new(), |a| {
        a.iter().filter_map(|u| u["userName"].as_str()).collect()
    });
    assert!(
        names.contains(&"mary") && names.contains(&"bob"),
        "{names:?}"
    );
    // The history is the runtime's: the callback is in it.
    let history = sim.runtime().execute_as(
        "GetInstanceHistoryQuery",
        &json!({"instanceGuid": guid}),
        &Caller::owner(),
    );
    assert!(
        history.data.to_string().contains("callbackCompleted"),
        "{}",
        history.data
    );
}

#[test]
fn a_repeated_callback_is_the_runtimes_duplicate_and_fails_the_step() {
    let sc = scenario(json!({"steps": [
        {"callback": "PAY-1"},
        {"callback": "PAY-1", "expectError": "Duplicate callback"}
    ]}));
    let (sim, guid) = run(&payment(), &sc);
    sim.run_steps(&guid, &sc.steps).unwrap();
    assert_eq!(sim.status(&guid).unwrap(), "WAITING");
}

#[test]
fn advancing_the_clock_fires_the_callback_timeout_at_its_own_time() {
    let sc = scenario(json!({
        "clock": "2026-03-01T10:00:00Z",
        "steps": [{"advance": "PT14M"}]
    }));
    let (sim, guid) = run(&payment(), &sc);
    sim.run_steps(&guid, &sc.steps).unwrap();
    assert_eq!(sim.report(&guid, None)["waiting"][0]["taskId"], "Wait");
    sim.advance(jiff::Span::new().hours(2)).unwrap();
    assert_eq!(sim.now().to_string(), "2026-03-01T12:14:00Z");
    let report = sim.report(&guid, None);
    assert_eq!(report["state"], "COMPLETED", "{report}");
    assert_eq!(report["path"], json!(["s", "Wait", "late", "gaveUp"]));
    // The callback expired through the runtime's own timeout handling.
    let rows =
        sim.runtime()
            .execute_as("GetCallbackRegistryListQuery", &json!({}), &Caller::owner());
    assert!(rows.data.to_string().contains("Expired"), "{}", rows.data);
    let late = scenario(json!({"steps": [{"callback": "PAY-1"}]}));
    let e = sim.run_steps(&guid, &late.steps).unwrap_err();
    assert!(e.starts_with("step 1:") && e.contains("PAY-1"), "{e}");
}

#[test]
fn signals_and_messages_that_reach_nobody_say_so() {
    let sc = scenario(json!({"steps": [
        {"message": "nobody", "correlationKey": "k", "expectError": "no instance waits for message 'nobody' with correlation key 'k'"},
        {"signal": "other", "expectError": "no instance waits for signal 'other'"},
        {"signal": "go"},
        {"advance": "PT59M"}
    ]}));
    let (sim, guid) = run(&signal_then_timer(), &sc);
    sim.run_steps(&guid, &sc.steps).unwrap();
    assert_eq!(sim.status(&guid).unwrap(), "WAITING");
    sim.advance(jiff::Span::new().minutes(1)).unwrap();
    let report = sim.report(&guid, None);
    assert_eq!(report["state"], "COMPLETED");
    assert_eq!(report["path"], json!(["s", "Go", "Hour", "e"]));
}

#[test]
fn a_step_on_an_ended_instance_says_where_it_stands() {
    let sc = scenario(json!({"steps": [
        {"cancel": true},
        {"complete": "Review"}
    ]}));
    let (sim, guid) = run(&payment(), &sc);
    let e = sim.run_steps(&guid, &sc.steps).unwrap_err();
    assert_eq!(
        e, "step 2: task 'Review' is not waiting: the instance is CANCELLED",
        "{e}"
    );
    let fails = sim.check(
        &guid,
        &scenario(json!({"expect": {"state": "COMPLETED", "waiting": ["Wait"]}}))
            .expect
            .unwrap(),
    );
    assert_eq!(
        fails,
        vec![
            "expected state COMPLETED, got CANCELLED".to_string(),
            "expected waiting [Wait], got []".to_string()
        ]
    );
}

#[test]
fn scenario_users_may_have_a_role_that_scripts_read_through_the_bus() {
    // Seed 000's check, on the user who submits the form (a ServerScript's `currentUser`).
    let check = "var userRole = doQuery('GetUserRoleQuery', { userId: currentUser });
if (userRole !== 'MANAGER') {
throw new Error('Unauthorized: Manager approval required');
}";
    let xml = Model::process("Approve")
        .start("s")
        .user_task("Review")
        .props(&[("ServerScript", check)])
        .end("e")
        .chain(&["s", "Review", "e"])
        .xml();
    let sc = scenario(json!({
        "users": {"mary": {"teams": ["MANAGERS"], "role": "MANAGER"}, "bob": ["CLERKS"]},
        "steps": [
            {"complete": "Review", "user": "bob", "expectError": "Manager approval required"},
            {"complete": "Review", "user": "mary", "data": {}}
        ],
        "expect": {"state": "COMPLETED"}
    }));
    assert_eq!(sc.roles.get("mary").map(String::as_str), Some("MANAGER"));
    let (sim, guid) = run(&xml, &sc);
    sim.run_steps(&guid, &sc.steps).unwrap();
    assert_eq!(
        sim.check(&guid, sc.expect.as_ref().unwrap()),
        Vec::<String>::new()
    );
    let role = sim.runtime().execute_as(
        "GetUserRoleQuery",
        &json!({"userId": "mary"}),
        &Caller::owner(),
    );
    assert_eq!(role.data, json!("MANAGER"));

    // A user entry of another shape is refused naming it.
    for (users, says) in [
        (json!({"ann": {"role": 7}}), "'users.ann.role' must be text"),
        (
            json!({"ann": {"team": ["X"]}}),
            "users.ann: unknown field 'team'",
        ),
    ] {
        let err = Scenario::from_value(&json!({"users": users, "steps": []})).unwrap_err();
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn a_scenario_starts_as_its_started_by_user_whom_scripts_see_as_the_initiator() {
    // Seed 000's "Process Authorization" as printed, on the user who started the instance.
    let xml = baton_testkit::models::authorized(&[]);
    let users = json!({"mary": {"teams": ["MANAGERS"], "role": "MANAGER"}, "bob": ["CLERKS"]});
    let started = |by: Option<&str>| {
        let mut sc = json!({"users": users, "steps": []});
        if let Some(by) = by {
            sc["startedBy"] = json!(by);
        }
        let sc = scenario(sc);
        let sim = Simulation::new(&[("model.bpmn", &xml)], &sc, None).expect("deployed");
        let start = sim.start(sc.variables.clone());
        (sim, start)
    };
    // Mary is a manager: the script lets her instance on to the review.
    let (sim, guid) = started(Some("mary"));
    let guid = guid.expect("started");
    let view = sim.runtime().execute_as(
        "GetProcessInstanceByIdQuery",
        &json!({"instanceGuid": guid}),
        &Caller::owner(),
    );
    assert_eq!(view.data["status"], "WAITING", "{:?}", view);
    assert_eq!(view.data["variables"]["InitiatedBy"], "mary", "{:?}", view);
    // Bob is not. The owner, whom the CLI starts as when the scenario names nobody, is no user:
    // the instance has no InitiatedBy and the query says what it misses.
    for (by, says) in [
        (Some("bob"), "Manager approval required"),
        (None, "userId is required"),
    ] {
        let (sim, start) = started(by);
        let failed = match start {
            Err(e) => e,
            Ok(guid) => {
                let view = sim.runtime().execute_as(
                    "GetProcessInstanceByIdQuery",
                    &json!({"instanceGuid": guid}),
                    &Caller::owner(),
                );
                view.data.to_string()
            }
        };
        assert!(failed.contains(says), "{by:?}: {failed}");
    }
}
