//! API tokens: who makes them for whom, what the list shows (never a secret), and revoking.

use crate::*;

const CREATE: &str = "CreateApiTokenCommand";
const LIST: &str = "GetApiTokenListQuery";
const REVOKE: &str = "RevokeApiTokenCommand";

fn owners(list: &Value) -> BTreeSet<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["userName"].as_str().unwrap().to_string())
        .collect()
}

fn token_row(list: &Value, id: i64) -> Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn api_tokens_create_list_and_revoke() {
    let s = server();
    // A user makes a token for themself; it works right away.
    let mine = s
        .case(case(
            &s.bob,
            CREATE,
            json!({"label": "laptop"}),
            ok_with(&[("/userName", json!("bob")), ("/label", json!("laptop"))]),
        ))
        .await;
    let bob2 = mine["token"].as_str().unwrap().to_string();
    assert!(bob2.starts_with("bt_") && bob2.len() > 20, "{bob2}");
    assert_ne!(bob2, s.bob);
    let bob2_id = mine["id"].as_i64().unwrap();
    s.table(vec![
        // The new token authenticates as bob, a non-administrator.
        case(&bob2, "GetTaskListQuery", json!({}), ok()),
        case(
            &bob2,
            "CreateUserCommand",
            json!({"userName": "x"}),
            forbidden(ANY),
        ),
        case(
            &s.bob,
            CREATE,
            json!({"userName": "bob"}),
            ok_with(&[("/userName", json!("bob"))]),
        ),
    ])
    .await;
    // ... not for someone else.
    let before = s.ok(ADMIN, LIST, json!({})).await["totalCount"].clone();
    s.case(case(
        &s.bob,
        CREATE,
        json!({"userName": "mary"}),
        forbidden(has(&["only an administrator", "mary"])),
    ))
    .await;
    assert_eq!(
        s.ok(ADMIN, LIST, json!({})).await["totalCount"],
        before,
        "no token was made"
    );
    // The administrator makes tokens for anyone (themself by default), not for unknown users.
    let got = s
        .table(vec![
            case(
                ADMIN,
                CREATE,
                json!({"userName": "mary", "label": "ci"}),
                ok(),
            ),
            case(
                ADMIN,
                CREATE,
                json!({}),
                ok_with(&[("/userName", json!("admin"))]),
            ),
            case(
                ADMIN,
                CREATE,
                json!({"userName": "ghost"}),
                field_msg("userName", has(&["ghost"])),
            ),
            case(ADMIN, CREATE, json!({"userName": 1}), field("userName")),
            case(&s.bob, CREATE, json!({"label": 2}), field("label")),
        ])
        .await;
    let mary2 = got[0]["token"].as_str().unwrap().to_string();
    let admin2 = got[1]["token"].as_str().unwrap().to_string();
    assert_eq!(
        s.ok(&mary2, "GetTaskListQuery", json!({})).await["totalCount"],
        0
    );
    assert_eq!(
        s.ok(ADMIN, LIST, json!({})).await["totalCount"].as_i64(),
        Some(before.as_i64().unwrap() + 2)
    );

    // GetApiTokenListQuery: a user sees their own, the administrator all; never a secret.
    let secrets = [
        ADMIN.to_string(),
        s.bob.clone(),
        s.mary.clone(),
        bob2.clone(),
        mary2.clone(),
        admin2,
    ];
    let (code, raw) = s.exec(&s.bob, LIST, json!({})).await;
    assert_eq!(code, StatusCode::OK);
    let bobs = &raw["data"];
    assert_eq!(owners(bobs), set(&["bob"]));
    assert_eq!(bobs["totalCount"], 3);
    let (_, all_raw) = s.exec(ADMIN, LIST, json!({})).await;
    let all = &all_raw["data"];
    assert_eq!(owners(all), set(&["admin", "bob", "mary"]));
    let allowed = set(&["id", "userName", "label", "createdAt", "revokedAt"]);
    for item in all["items"].as_array().unwrap() {
        let keys: BTreeSet<String> = item.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, allowed, "{item}");
    }
    for body in [raw.to_string(), all_raw.to_string()] {
        for secret in &secrets {
            assert!(
                !body.contains(secret.as_str()),
                "a token secret is in the list: {body}"
            );
        }
    }
    let laptop = token_row(all, bob2_id);
    assert_eq!(
        (laptop["label"].clone(), laptop["revokedAt"].clone()),
        (json!("laptop"), Value::Null)
    );

    // RevokeApiTokenCommand: the owner or an administrator; a revoked token gets 401 at once.
    s.case(case(
        &s.mary,
        REVOKE,
        json!({"id": bob2_id}),
        forbidden(has(&["belongs to bob"])),
    ))
    .await;
    assert_eq!(
        s.exec(&bob2, "GetUserListQuery", json!({})).await.0,
        StatusCode::OK,
        "a forbidden revoke revokes nothing"
    );
    s.table(vec![
        case(&s.bob, REVOKE, json!({}), field("id")),
        case(&s.bob, REVOKE, json!({"id": "1"}), field("id")),
        case(
            ADMIN,
            REVOKE,
            json!({"id": 9999}),
            field_msg("id", is("no API token 9999")),
        ),
    ])
    .await;
    let (_, v) = s.exec(&s.bob, REVOKE, json!({"id": bob2_id})).await;
    assert_eq!(
        (v["isSuccessful"].clone(), v["message"].clone()),
        (json!(true), json!("API token revoked"))
    );
    assert_eq!(v["data"], json!({"id": bob2_id, "revoked": true}));
    for (path, body) in [
        (
            "/api/v1/execute",
            json!({"cmd": "GetUserListQuery", "data": {}}),
        ),
        (
            "/api/core/cmd",
            json!({"cmd": "GetUserListQuery", "data": {}}),
        ),
        ("/api/bpm/cmd", json!({"$type": "GetUserListQuery"})),
    ] {
        let (code, v) = s
            .post(path, Some(&format!("Bearer {bob2}")), body.to_string())
            .await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{path}: {v}");
    }
    assert_eq!(
        s.exec(&s.bob, "GetUserListQuery", json!({})).await.0,
        StatusCode::OK,
        "bob's other token still works"
    );
    let laptop = token_row(&s.ok(&s.bob, LIST, json!({})).await, bob2_id);
    assert!(
        laptop["revokedAt"].as_str().unwrap().starts_with("2026-"),
        "{laptop}"
    );
    let (_, v) = s.exec(ADMIN, REVOKE, json!({"id": bob2_id})).await;
    assert_eq!(
        (v["isSuccessful"].clone(), v["message"].clone()),
        (json!(true), json!("API token was already revoked"))
    );

    // The administrator revokes bob's first token: bob is locked out of every command.
    s.ok(ADMIN, REVOKE, json!({"id": s.bob_token_id})).await;
    let (code, _) = s.exec(&s.bob, "GetTaskListQuery", json!({})).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, _) = s.exec(&s.bob, CREATE, json!({})).await;
    assert_eq!(
        code,
        StatusCode::UNAUTHORIZED,
        "a revoked token cannot mint a new one"
    );
    assert_eq!(
        s.exec(&s.mary, "GetTaskListQuery", json!({})).await.0,
        StatusCode::OK
    );
}
