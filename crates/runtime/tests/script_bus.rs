//! Scripts reach the command bus: `doQuery(name, data)` runs a query at once as the user whose
//! command runs the script, and fails the script (an incident, or a rejected submission) with the
//! query's own message when it fails. `doCmd(name, data)` queues the command: the script gets a
//! receipt, and the command runs as that user after the step committed; a command that fails then
//! shows in the instance history (`commandFailed`). queued_commands.rs covers retries and faults.

use baton_engine::User;
use baton_runtime::Runtime;
use baton_testkit::{deploy, history_kinds, ok, open_in, Model};
use serde_json::{json, Value};
use std::sync::Arc;

/// start -> script task running `code` -> end.
fn scripted(id: &str, code: &str) -> String {
    Model::process(id)
        .start("s")
        .script_task("run", code)
        .end("e")
        .chain(&["s", "run", "e"])
        .xml()
}

fn open(dir: &std::path::Path) -> Arc<Runtime> {
    Arc::new(open_in(dir).0)
}

fn start(rt: &Runtime, key: &str, user: Option<&User>) -> Value {
    ok(rt.execute(
        "StartProcessInstanceCommand",
        &json!({"processKey": key, "variables": {}}),
        user,
    ))
}

fn count(rt: &Runtime, key: &str) -> Value {
    ok(rt.execute(
        "GetProcessInstanceListQuery",
        &json!({"processKey": key}),
        None,
    ))["totalCount"]
        .clone()
}

#[test]
fn scripts_query_the_bus_once_it_is_lent_and_queue_commands_for_after_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path());
    deploy(&rt, &scripted("Child", "let from = \"child\";"));
    deploy(
        &rt,
        &scripted(
            "Parent",
            r#"let defs = doQuery("GetProcessDefinitionListQuery", #{}); deployed = defs.totalCount; receipt = doCmd("StartProcessInstanceCommand", #{processKey: "Child"});"#,
        ),
    );
    // Not lent yet: the script fails with a clear message, as an incident.
    let s = start(&rt, "Parent", None);
    assert_eq!(s["status"], "FAILED");
    let inc = ok(rt.execute("GetIncidentListQuery", &json!({}), None));
    assert!(
        inc["items"][0]["message"]
            .as_str()
            .unwrap()
            .contains("doQuery is not available here"),
        "{inc}"
    );

    rt.lend_bus_to_scripts();
    let s = start(&rt, "Parent", None);
    assert_eq!(s["status"], "COMPLETED", "{s}");
    let i = ok(rt.execute(
        "GetProcessInstanceByIdQuery",
        &json!({"instanceGuid": s["instanceGuid"]}),
        None,
    ));
    // doCmd answers a receipt, not the command's answer: the command runs after the commit.
    assert_eq!(
        (
            i["variables"]["deployed"].clone(),
            i["variables"]["receipt"].clone()
        ),
        (
            json!(2),
            json!({"queued": true, "command": "StartProcessInstanceCommand"})
        )
    );
    assert_eq!(count(&rt, "Child"), 1, "the child was started once");
    let guid = s["instanceGuid"].as_str().unwrap();
    let kinds = history_kinds(&rt, guid);
    assert_eq!(
        kinds.iter().filter(|k| *k == "commandQueued").count(),
        1,
        "{kinds:?}"
    );
    assert!(!kinds.iter().any(|k| k == "commandFailed"), "{kinds:?}");
}

#[test]
fn do_cmd_needs_no_lent_bus_and_is_refused_in_conditions() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path());
    deploy(&rt, &scripted("Child", "let from = \"child\";"));
    deploy(
        &rt,
        &scripted(
            "Starter",
            r#"doCmd("StartProcessInstanceCommand", #{processKey: "Child"});"#,
        ),
    );
    let s = start(&rt, "Starter", None);
    assert_eq!(s["status"], "COMPLETED", "{s}");
    assert_eq!(count(&rt, "Child"), 1);

    // A condition must not change anything: doCmd there fails the gateway (an incident).
    let gated = Model::process("Gated")
        .start("s")
        .exclusive("g")
        .end("e")
        .flow("s", "g")
        .flow_if(
            "g",
            "e",
            r#"doCmd("StartProcessInstanceCommand", #{processKey: "Child"}) != ()"#,
        )
        .xml();
    deploy(&rt, &gated);
    let s = start(&rt, "Gated", None);
    assert_eq!(s["status"], "FAILED", "{s}");
    let inc = ok(rt.execute("GetIncidentListQuery", &json!({}), None));
    assert!(
        inc.to_string().contains("doCmd is not available here"),
        "{inc}"
    );
    // doCmd queues commands only; a query goes through doQuery.
    deploy(
        &rt,
        &scripted("Reader", r#"doCmd("GetProcessDefinitionListQuery", #{});"#),
    );
    let s = start(&rt, "Reader", None);
    assert_eq!(s["status"], "FAILED", "{s}");
    let inc = ok(rt.execute("GetIncidentListQuery", &json!({}), None));
    assert!(inc.to_string().contains("use doQuery"), "{inc}");
    assert_eq!(count(&rt, "Child"), 1, "nothing more was started");
}

#[test]
fn the_bus_runs_as_the_user_and_refuses_what_they_may_not_do() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path());
    rt.lend_bus_to_scripts();
    // A non-administrator's script may not deploy: the step commits (the script only queued the
    // command), and the command's own refusal shows in the instance history.
    deploy(
        &rt,
        &scripted(
            "Deployer",
            r#"doCmd("DeployProcessDefinitionCommand", #{bpmnXml: "<x/>"});"#,
        ),
    );
    let bob = User {
        name: "bob".into(),
        teams: vec![],
    };
    let s = start(&rt, "Deployer", Some(&bob));
    assert_eq!(s["status"], "COMPLETED");
    let h = ok(rt.execute(
        "GetInstanceHistoryQuery",
        &json!({"instanceGuid": s["instanceGuid"]}),
        None,
    ));
    let failed: Vec<&Value> = h
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["kind"] == "commandFailed")
        .collect();
    assert_eq!(failed.len(), 1, "{h}");
    let shown = failed[0].to_string();
    assert!(
        shown.contains("DeployProcessDefinitionCommand") && shown.contains("administrator"),
        "{shown}"
    );
    // doQuery runs queries only.
    deploy(
        &rt,
        &scripted(
            "Sneaky",
            r#"doQuery("StartProcessInstanceCommand", #{processKey: "Sneaky"});"#,
        ),
    );
    let s = start(&rt, "Sneaky", None);
    assert_eq!(s["status"], "FAILED");
    let inc = ok(rt.execute("GetIncidentListQuery", &json!({}), None));
    assert!(
        inc.to_string().contains("doQuery runs queries only"),
        "{inc}"
    );
    assert_eq!(
        ok(rt.execute(
            "GetProcessInstanceListQuery",
            &json!({"processKey": "Sneaky"}),
            None
        ))["totalCount"],
        1,
        "nothing started by the refused query"
    );
    // A failing query names the field the command refused.
    deploy(
        &rt,
        &scripted(
            "Lookup",
            r#"doQuery("GetProcessInstanceByIdQuery", #{instanceGuid: "nope"});"#,
        ),
    );
    start(&rt, "Lookup", None);
    let inc = ok(rt.execute("GetIncidentListQuery", &json!({}), None));
    assert!(
        inc.to_string()
            .contains("instanceGuid: no process instance 'nope'"),
        "{inc}"
    );
}

#[test]
fn a_server_script_checks_a_role_through_the_bus_as_seed_000_shows() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path());
    rt.lend_bus_to_scripts();
    ok(rt.execute("CreateUserCommand", &json!({"userName": "mary"}), None));
    ok(rt.execute(
        "AddUserToTeamCommand",
        &json!({"userName": "mary", "team": "MANAGERS"}),
        None,
    ));
    let check = r#"let teams = doQuery("GetTeamListQuery", #{}); let ok = false; for t in teams.items { if t.team == "MANAGERS" { for m in t.members { if m == currentUser { ok = true; } } } } if !ok { throw "Unauthorized: Manager approval required"; }"#;
    let approval = Model::process("Approval")
        .start("s")
        .user_task("approve")
        .props(&[("ServerScript", check)])
        .end("e")
        .chain(&["s", "approve", "e"])
        .xml();
    deploy(&rt, &approval);
    let g = start(&rt, "Approval", None)["instanceGuid"].clone();
    let bob = User {
        name: "bob".into(),
        teams: vec![],
    };
    let no = rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": g, "callbackData": {}}),
        Some(&bob),
    );
    assert!(
        !no.is_successful && no.message.contains("Manager approval required"),
        "{no:?}"
    );
    let mary = User {
        name: "mary".into(),
        teams: vec!["MANAGERS".into()],
    };
    let yes = ok(rt.execute(
        "SignalProcessInstanceCommand",
        &json!({"instanceGuid": g, "callbackData": {}}),
        Some(&mary),
    ));
    assert_eq!(yes["status"], "COMPLETED");
}

/// Seed 000, "3. Process Authorization", as printed: JavaScript that asks the bus for the
/// starter's role with `GetUserRoleQuery`.
const SEED_000_AUTHORIZATION: &str = "var initiator = execution.getVariable('InitiatedBy');
var userRole = doQuery('GetUserRoleQuery', { userId: initiator });
if (userRole !== 'MANAGER') {
throw new Error('Unauthorized: Manager approval required');
}";

#[test]
fn seed_000s_authorization_script_reads_the_starters_role() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path());
    rt.lend_bus_to_scripts();
    ok(rt.execute(
        "CreateUserCommand",
        &json!({"userName": "mary", "role": "MANAGER"}),
        None,
    ));
    ok(rt.execute("CreateUserCommand", &json!({"userName": "bob"}), None));
    let xml = Model::process("Authorized")
        .start("s")
        .js_script_task("check", SEED_000_AUTHORIZATION)
        .end("e")
        .chain(&["s", "check", "e"])
        .xml();
    deploy(&rt, &xml);
    let as_user = |name: &str| User {
        name: name.into(),
        teams: vec![],
    };

    let mary = start(&rt, "Authorized", Some(&as_user("mary")));
    assert_eq!(mary["status"], "COMPLETED", "{mary}");

    // bob has no role: the script throws, and the instance holds the seed's message.
    let bob = start(&rt, "Authorized", Some(&as_user("bob")));
    assert_eq!(bob["status"], "FAILED", "{bob}");
    let incidents = ok(rt.execute(
        "GetProcessInstanceByIdQuery",
        &json!({"instanceGuid": bob["instanceGuid"]}),
        None,
    ))["incidents"]
        .clone();
    assert!(
        incidents[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Unauthorized: Manager approval required")),
        "{incidents}"
    );

    // Made a manager, bob gets through; the role is read when the script runs.
    ok(rt.execute(
        "SetUserRoleCommand",
        &json!({"userName": "bob", "role": "MANAGER"}),
        None,
    ));
    let again = start(&rt, "Authorized", Some(&as_user("bob")));
    assert_eq!(again["status"], "COMPLETED", "{again}");
}
