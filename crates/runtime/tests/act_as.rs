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

    /// Seed 004's run door (`POST /api/v1/external/workflows/run`) honours the header like the
    /// command doors: the instance is started by the user acted for (who then sees it, where
    /// another user does not), and the same refusals.
    #[tokio::test]
    async fn the_run_door_starts_the_instance_as_the_user_acted_for() {
        let (door, bob) = state();
        let carol = door.user("carol", &["AUDIT"]).token;
        door.t.deploy(&baton_testkit::models::order_flow());
        let run = |token: &str, act_as: Option<&str>| {
            let mut req = Request::post("/api/v1/external/workflows/run")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"));
            if let Some(who) = act_as {
                req = req.header("X-Baton-Act-As", who);
            }
            let body = json!({"workflowId": "OrderFlow", "context": {"orderId": "O-1"}});
            req.body(Body::from(body.to_string())).unwrap()
        };
        let (status, body) = door.send(run(ADMIN, Some("bob"))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let guid = body["instanceGuid"].as_str().unwrap().to_string();
        let sees = |token: &str| {
            let req = Request::post("/api/v1/execute")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::from(
                    json!({"cmd": "GetProcessInstanceByIdQuery", "data": {"instanceGuid": guid}})
                        .to_string(),
                ))
                .unwrap();
            door.send(req)
        };
        // Bob started it: he sees it; carol, who neither started it nor works on it, does not.
        let (_, body) = sees(&bob).await;
        assert_eq!(body["isSuccessful"], true, "{body}");
        assert_eq!(body["data"]["instanceGuid"], guid.as_str(), "{body}");
        let (_, body) = sees(&carol).await;
        assert_eq!(body["code"], "NOT_FOUND", "{body}");
        // Bob may not borrow the administrator's rights; an unknown user is named.
        let (status, body) = door.send(run(&bob, Some("admin"))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("actAs"),
            "{body}"
        );
        let (status, body) = door.send(run(ADMIN, Some("nobody"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("nobody"),
            "{body}"
        );
        // No token at all: 401 as before.
        let req = Request::post("/api/v1/external/workflows/run")
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let (status, body) = door.send(req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
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
