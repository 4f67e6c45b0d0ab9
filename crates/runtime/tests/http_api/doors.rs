//! The doors themselves: 401 without a live bearer token, 400 for what is not a command, and
//! the `$type` envelope of `/api/bpm/cmd`.

use crate::*;

#[tokio::test]
async fn every_door_answers_401_without_a_live_bearer_token() {
    let s = server();
    let execute = json!({"cmd": "GetUserListQuery", "data": {}}).to_string();
    let typed = json!({"$type": "GetUserListQuery"}).to_string();
    let basic = format!("Basic {ADMIN}");
    // (door, body, the envelope's success flag)
    let doors = [
        ("/api/v1/execute", &execute, "isSuccessful"),
        ("/api/core/cmd", &execute, "isSuccessful"),
        ("/api/bpm/cmd", &typed, "success"),
    ];
    let refused_auth = [
        None,
        Some("Bearer wrong-token"),
        Some("Bearer "),
        Some(basic.as_str()),
        Some(ADMIN),
    ];
    for (path, body, flag) in doors {
        for auth in refused_auth {
            let (code, v) = s.post(path, auth, body.clone()).await;
            assert_eq!(code, StatusCode::UNAUTHORIZED, "{path} with {auth:?}: {v}");
            // Each door answers in its own envelope.
            assert_eq!(v[flag], false, "{v}");
            assert_eq!(v["message"], "missing or invalid bearer token");
        }
        // The scheme is case-insensitive; the live token passes on every door.
        let (code, _) = s
            .post(path, Some(&format!("bearer {ADMIN}")), body.clone())
            .await;
        assert_eq!(code, StatusCode::OK, "{path}");
    }
    // A 401 runs nothing: a CreateUser with a wrong token creates no user.
    let create = json!({"cmd": "CreateUserCommand", "data": {"userName": "eve"}}).to_string();
    assert_eq!(
        s.post("/api/v1/execute", Some("Bearer nope"), create)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.count("GetUserListQuery", json!({})).await,
        3,
        "admin, bob, mary"
    );
}

#[tokio::test]
async fn bad_requests_unknown_commands_and_data_that_is_not_an_object() {
    let s = server();
    let admin = format!("Bearer {ADMIN}");
    // Unknown command: 400 on both envelopes, naming the field `cmd`.
    for path in ["/api/v1/execute", "/api/core/cmd"] {
        let (code, v) = s
            .post(
                path,
                Some(&admin),
                json!({"cmd": "LaunchRocketCommand", "data": {}}).to_string(),
            )
            .await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(v["isSuccessful"], false);
        assert_eq!(v["errors"][0]["field"], "cmd");
        assert_eq!(
            v["errors"][0]["message"],
            "unknown command 'LaunchRocketCommand'"
        );
    }
    let (code, v) = s.bpm(ADMIN, json!({"$type": "LaunchRocketCommand"})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(v["success"], false);
    assert_eq!(
        v["errors"],
        json!(["cmd: unknown command 'LaunchRocketCommand'"])
    );

    // Requests that are not a command: (door, token, body, status, what the message holds).
    let rows: Vec<(&str, &str, String, StatusCode, Option<&str>)> = vec![
        // The name is checked before `data`: an unknown command with a bad `data` is a 400.
        (
            "/api/v1/execute",
            &admin,
            json!({"cmd": "Nope", "data": [1]}).to_string(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        // The token is checked before the body: a wrong token with a malformed body is a 401.
        (
            "/api/v1/execute",
            "Bearer wrong",
            "{}".into(),
            StatusCode::UNAUTHORIZED,
            None,
        ),
        (
            "/api/bpm/cmd",
            "Bearer wrong",
            "not json".into(),
            StatusCode::UNAUTHORIZED,
            None,
        ),
        // Missing cmd / $type, a $type that is not a string, a body not an object, bad JSON.
        (
            "/api/v1/execute",
            &admin,
            json!({"data": {}}).to_string(),
            StatusCode::BAD_REQUEST,
            Some("\"cmd\""),
        ),
        (
            "/api/v1/execute",
            &admin,
            json!({"cmd": 7, "data": {}}).to_string(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "/api/bpm/cmd",
            &admin,
            json!({"userName": "x"}).to_string(),
            StatusCode::BAD_REQUEST,
            Some("$type"),
        ),
        (
            "/api/bpm/cmd",
            &admin,
            json!({"$type": 5}).to_string(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "/api/v1/execute",
            &admin,
            "[1, 2]".into(),
            StatusCode::BAD_REQUEST,
            Some("the body must be a JSON object"),
        ),
        (
            "/api/bpm/cmd",
            &admin,
            "{\"$type\": ".into(),
            StatusCode::BAD_REQUEST,
            Some("malformed JSON at line 1"),
        ),
    ];
    for (path, auth, body, status, message) in rows {
        let (code, v) = s.post(path, Some(auth), body.clone()).await;
        assert_eq!(code, status, "{path} {body}: {v}");
        if path == "/api/bpm/cmd" {
            assert_eq!(v["success"], false, "{path} {body}: {v}");
        }
        if body.contains("\"Nope\"") {
            assert_eq!(v["errors"][0]["field"], "cmd", "{v}");
        }
        if let Some(m) = message {
            assert!(
                v["message"].as_str().unwrap().contains(m),
                "{path} {body}: {v}"
            );
        }
    }
    let (_, v) = s
        .post("/api/v1/execute", Some(&admin), "[1, 2]".into())
        .await;
    assert_eq!(v["message"], "the body must be a JSON object");
    let (_, v) = s
        .post("/api/bpm/cmd", Some(&admin), "{\"$type\": ".into())
        .await;
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("malformed JSON at line 1"),
        "{v}"
    );

    // `data` that is not an object: a field error on "data", HTTP 200, nothing runs.
    let cases = [json!([1, 2]), json!("userName"), json!(null), json!(3)]
        .into_iter()
        .map(|data| {
            case(
                ADMIN,
                "CreateUserCommand",
                data,
                field_msg("data", is("data must be a JSON object")),
            )
        })
        .collect();
    s.table(cases).await;
    assert_eq!(s.count("GetUserListQuery", json!({})).await, 3);
    // A missing `data` is an empty object.
    let (code, v) = s
        .post(
            "/api/v1/execute",
            Some(&admin),
            json!({"cmd": "GetTeamListQuery"}).to_string(),
        )
        .await;
    assert_eq!(
        (code, v["isSuccessful"].clone()),
        (StatusCode::OK, json!(true)),
        "{v}"
    );
}

#[tokio::test]
async fn the_type_form_answers_success_data_message_and_string_errors() {
    let s = server();
    let keys = |v: &Value| {
        v.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    let envelope = set(&["success", "data", "message", "errors"]);

    // Success: every key present, errors an empty list; the fields of the body are the data.
    let (code, v) = s
        .bpm(
            ADMIN,
            json!({"$type": "DeployProcessDefinitionCommand", "bpmnXml": loan(), "name": "Loans"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(keys(&v), envelope, "{v}");
    assert_eq!(
        (v["success"].clone(), v["errors"].clone()),
        (json!(true), json!([]))
    );
    assert_eq!(v["message"], "Process definition deployed");
    assert_eq!(v["data"]["processKey"], "LoanApprovalProcess");
    let def = v["data"]["processDefinitionId"].clone();
    let (_, v) = s
        .bpm(
            ADMIN,
            json!({"$type": "GetProcessDefinitionByIdQuery", "processDefinitionId": def}),
        )
        .await;
    assert_eq!(v["data"]["name"], "Loans");

    // Validation errors: "field: message" strings, data null, HTTP 200.
    let (code, v) = s
        .bpm(
            ADMIN,
            json!({"$type": "CreateUserCommand", "userName": "bob"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(keys(&v), envelope, "{v}");
    assert_eq!(v["success"], false);
    assert_eq!(v["data"], Value::Null);
    assert_eq!(v["message"], "Validation failed");
    assert_eq!(v["errors"], json!(["userName: user 'bob' already exists"]));
    for (body, errors) in [
        (
            json!({"$type": "StartProcessInstanceCommand", "processDefinitionId": def, "variables": [1]}),
            json!(["variables: variables must be a JSON object"]),
        ),
        (
            json!({"$type": "GetProcessInstanceListQuery", "pageSize": 0}),
            json!(["pageSize: pageSize must be a whole number, 1 or more"]),
        ),
    ] {
        let (_, v) = s.bpm(ADMIN, body.clone()).await;
        assert_eq!(v["errors"], errors, "{body}");
    }

    // A business failure: success false, no errors, the reason in the message.
    let (code, v) = s
        .bpm(
            ADMIN,
            json!({"$type": "ReturnCallbackCommand", "correlationKey": "NOPE-1"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        (v["success"].clone(), v["errors"].clone(), v["data"].clone()),
        (json!(false), json!([]), Value::Null)
    );
    assert!(v["message"].as_str().unwrap().contains("NOPE-1"), "{v}");

    // 403 in the $type form keeps its envelope.
    let (code, v) = s
        .bpm(
            &s.bob,
            json!({"$type": "DeployProcessDefinitionCommand", "bpmnXml": loan()}),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert_eq!(keys(&v), envelope, "{v}");
    assert_eq!(v["success"], false);
    assert_eq!(
        s.count("GetProcessDefinitionListQuery", json!({})).await,
        1,
        "bob deployed nothing"
    );

    // A start and a form submission with the legacy `signalPayload`, all in the $type form.
    let (_, v) = s.bpm(&s.mary, json!({"$type": "StartProcessInstanceCommand", "processKey": "LoanApprovalProcess", "variables": {"applicant": "Ada"}})).await;
    assert_eq!(
        (v["success"].clone(), v["data"]["status"].clone()),
        (json!(true), json!("WAITING")),
        "{v}"
    );
    let guid = v["data"]["instanceGuid"].clone();
    let (code, v) = s
        .bpm(&s.mary, json!({"$type": "SignalProcessInstanceCommand", "instanceGuid": guid, "signalPayload": {"decision": "approve", "approvedAmount": 900}}))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["data"]["status"], "COMPLETED");
    assert_eq!(
        v["data"]["result"],
        json!({"approved": true, "approvedAmount": 900, "approvedBy": "mary"})
    );
}

#[test]
fn the_doors_answer_the_same_over_a_real_socket() {
    let s = server();
    let served = baton_testkit::Served::start(s.state());
    // No token: 401 in the execute envelope.
    let (code, v) = served.post(
        "/api/v1/execute",
        None,
        &json!({"cmd": "GetUserListQuery", "data": {}}),
    );
    assert_eq!(code, 401, "{v}");
    assert_eq!(v["message"], "missing or invalid bearer token");
    // The administrator deploys, bob starts, and the runtime behind the socket has both.
    let (code, v) = served.exec(
        ADMIN,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": callback_wait()}),
    );
    assert_eq!((code, v["isSuccessful"].clone()), (200, json!(true)), "{v}");
    let (code, v) = served.exec(
        &s.bob,
        "StartProcessInstanceCommand",
        json!({"processKey": "CallbackFlow", "context": {"ref": "SOCK-1"}}),
    );
    assert_eq!(
        (code, v["data"]["status"].clone()),
        (200, json!("WAITING")),
        "{v}"
    );
    // A 403 keeps its status over the wire.
    let (code, v) = served.exec(&s.bob, "CreateUserCommand", json!({"userName": "x"}));
    assert_eq!(
        (code, v["isSuccessful"].clone()),
        (403, json!(false)),
        "{v}"
    );
    let listed = s.door.t.run("GetProcessInstanceListQuery", json!({}));
    assert_eq!(listed["totalCount"], 1, "{listed}");
}
