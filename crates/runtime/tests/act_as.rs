//! An administrator acting for a user (the task inbox): the user's rights, not the admin's.

use baton_runtime::{ActAsError, Caller, Runtime};
use baton_store::Durability;
use serde_json::json;
use std::sync::Arc;

fn runtime() -> (tempfile::TempDir, Runtime) {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::open(
        &dir.path().join("b.db"),
        Durability::Normal,
        Arc::new(baton_runtime::SystemClock),
    )
    .unwrap();
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
    use baton_runtime::http::{app, AppState};
    use baton_runtime::Runtime;
    use baton_store::Durability;
    use http_body_util::BodyExt;
    use serde_json::{json, Value};
    use std::sync::Arc;
    use tower::ServiceExt;

    fn model() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../bpmn-templates/loan-approval/LoanApprovalProcess.bpmn"
        ))
        .unwrap()
    }

    /// Admin token `admin-token`, and bob (TELLERS) with his own token.
    fn state(dir: &std::path::Path) -> (Arc<AppState>, String) {
        let runtime = Runtime::open(
            &dir.join("a.db"),
            Durability::Normal,
            Arc::new(baton_runtime::SystemClock),
        )
        .unwrap();
        runtime.bootstrap(Some("admin-token")).unwrap();
        let r = runtime.execute(
            "CreateUserCommand",
            &json!({"userName": "bob", "teams": ["TELLERS"]}),
            None,
        );
        assert!(r.is_successful, "{r:?}");
        let r = runtime.execute("CreateApiTokenCommand", &json!({"userName": "bob"}), None);
        let bob = r.data["token"].as_str().unwrap().to_string();
        let runtime = Arc::new(runtime);
        (Arc::new(AppState { runtime }), bob)
    }

    async fn deploy(
        state: &Arc<AppState>,
        token: &str,
        act_as: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = Request::post("/api/v1/execute")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"));
        if let Some(who) = act_as {
            req = req.header("X-Baton-Act-As", who);
        }
        let body = json!({"cmd": "DeployProcessDefinitionCommand", "data": {"bpmnXml": model()}});
        let resp = app(state.clone())
            .oneshot(req.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    #[tokio::test]
    async fn the_header_gives_an_administrator_the_users_rights_and_no_more() {
        let dir = tempfile::tempdir().unwrap();
        let (state, bob) = state(dir.path());
        let (status, body) = deploy(&state, "admin-token", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["isSuccessful"], true, "{body}");
        // Acting as bob, the administrator may not deploy: bob may not.
        let (status, body) = deploy(&state, "admin-token", Some("bob")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        // Bob may not borrow the administrator's rights.
        let (status, body) = deploy(&state, &bob, Some("admin")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("actAs"),
            "{body}"
        );
        // An unknown user is named.
        let (status, body) = deploy(&state, "admin-token", Some("nobody")).await;
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
