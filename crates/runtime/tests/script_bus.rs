//! Scripts reach the command bus: `doQuery(name, data)` and `doCmd(name, data)` run as the user
//! whose command runs the script, and fail the script (an incident, or a rejected submission)
//! with the command's own message when the command fails.

use baton_engine::User;
use baton_runtime::Runtime;
use baton_testkit::{deploy, ok, open_in, Model};
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

#[test]
fn scripts_query_and_command_the_bus_once_it_is_lent() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path());
    deploy(&rt, &scripted("Child", "let from = \"child\";"));
    deploy(
        &rt,
        &scripted(
            "Parent",
            r#"let defs = doQuery("GetProcessDefinitionListQuery", #{}); deployed = defs.totalCount; let child = doCmd("StartProcessInstanceCommand", #{processKey: "Child"}); childStatus = child.status;"#,
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
    assert_eq!(
        (
            i["variables"]["deployed"].clone(),
            i["variables"]["childStatus"].clone()
        ),
        (json!(2), json!("COMPLETED"))
    );
    let children = ok(rt.execute(
        "GetProcessInstanceListQuery",
        &json!({"processKey": "Child"}),
        None,
    ));
    assert_eq!(children["totalCount"], 1, "the child was started once");
}

#[test]
fn the_bus_runs_as_the_user_and_refuses_what_they_may_not_do() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path());
    rt.lend_bus_to_scripts();
    // A non-administrator's script may not deploy; the command's own refusal fails the script.
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
    assert_eq!(s["status"], "FAILED");
    let inc = ok(rt.execute("GetIncidentListQuery", &json!({}), None));
    let m = inc["items"][0]["message"].as_str().unwrap();
    assert!(
        m.contains("doCmd('DeployProcessDefinitionCommand') failed") && m.contains("administrator"),
        "{m}"
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
