//! An administrator acting for a user (the task inbox): the user's rights, not the admin's.

use baton_runtime::{ActAsError, Caller, Runtime};
use serde_json::json;

fn runtime() -> (tempfile::TempDir, Runtime) {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _clock) = baton_testkit::open_in(dir.path());
    (dir, rt)
}

#[test]
fn an_administrator_acts_for_a_user_with_that_users_teams() {
    let (_d, rt) = runtime();
    let created = rt.execute_as(
        "CreateUserCommand",
        &json!({"userName": "mary", "teams": ["MANAGERS"]}),
        &Caller::owner(),
    );
    assert!(created.is_successful, "{created:?}");
    let mary = rt.acting_as(&Caller::owner(), "mary").unwrap();
    assert!(!mary.admin);
    let user = mary.user.clone().unwrap();
    assert_eq!(user.name, "mary");
    assert_eq!(user.teams, vec!["MANAGERS".to_string()]);
    // Mary may not act for anyone else, but may name herself.
    assert!(matches!(
        rt.acting_as(&mary, "admin"),
        Err(ActAsError::NotAllowed)
    ));
    assert!(rt.acting_as(&mary, "mary").is_ok());
}

#[test]
fn an_unknown_user_is_named_in_the_refusal() {
    let (_d, rt) = runtime();
    let err = rt.acting_as(&Caller::owner(), "nobody").unwrap_err();
    assert_eq!(err, ActAsError::NoSuchUser("nobody".into()));
    assert!(err.to_string().contains("actAs") && err.to_string().contains("nobody"));
}

mod doors {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use baton_runtime::host::{Host, HostConfig};
    use baton_testkit::{template, Door, ADMIN};
    use serde_json::{json, Value};

    fn model() -> String {
        template("loan-approval/LoanApprovalProcess.bpmn")
    }

    /// The administrator's token `ADMIN`, and bob (TELLERS) with his own token.
    fn state() -> (Door, String) {
        let door = Door::new();
        let bob = door.user("bob", &["TELLERS"]).token;
        (door, bob)
    }

    async fn deploy(door: &Door, token: &str, act_as: Option<&str>) -> (StatusCode, Value) {
        let mut req = Request::post("/api/v1/execute")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"));
        if let Some(who) = act_as {
            req = req.header("X-Baton-Act-As", who);
        }
        let body = json!({"cmd": "DeployProcessDefinitionCommand", "data": {"bpmnXml": model()}});
        door.send(req.body(Body::from(body.to_string())).unwrap())
            .await
    }

    #[tokio::test]
    async fn the_header_gives_an_administrator_the_users_rights_and_no_more() {
        let (state, bob) = state();
        let (status, body) = deploy(&state, ADMIN, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["isSuccessful"], true, "{body}");
        // Acting as bob, the administrator may not deploy: bob may not.
        let (status, body) = deploy(&state, ADMIN, Some("bob")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        // Bob may not borrow the administrator's rights.
        let (status, body) = deploy(&state, &bob, Some("admin")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("actAs"),
            "{body}"
        );
        // An unknown user is named.
        let (status, body) = deploy(&state, ADMIN, Some("nobody")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("nobody"),
            "{body}"
        );
    }

    #[test]
    fn the_desktop_request_takes_act_as_too() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::start(HostConfig::new(dir.path().join("d.db"))).unwrap();
        let r = host.execute(
            &json!({"cmd": "CreateUserCommand", "data": {"userName": "bob", "teams": ["TELLERS"]}}),
        );
        assert_eq!(r["isSuccessful"], true, "{r}");
        let deploy = |act_as: Value| {
            host.execute(&json!({"cmd": "DeployProcessDefinitionCommand", "data": {"bpmnXml": model()}, "actAs": act_as}))
        };
        assert_eq!(deploy(Value::Null)["isSuccessful"], true);
        let as_bob = deploy(json!("bob"));
        assert_eq!(as_bob["isSuccessful"], false, "{as_bob}");
        let nobody = deploy(json!("nobody"));
        assert_eq!(nobody["errors"][0]["field"], "actAs", "{nobody}");
        let wrong = deploy(json!(7));
        assert_eq!(wrong["errors"][0]["field"], "actAs", "{wrong}");
        host.shutdown();
    }
}
