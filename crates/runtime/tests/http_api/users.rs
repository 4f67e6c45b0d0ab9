//! Users and teams: who may create them, what they see, and what team membership opens.

use crate::*;

const CREATE: &str = "CreateUserCommand";
const ADD: &str = "AddUserToTeamCommand";
const REMOVE: &str = "RemoveUserFromTeamCommand";
const SIGNAL: &str = "SignalProcessInstanceCommand";

fn users(v: &Value) -> BTreeSet<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect()
}

/// The sorted members of `team` in a `GetTeamListQuery` answer.
fn members(v: &Value, team: &str) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["team"] == team)
        .map(|t| {
            let mut m: Vec<String> = t["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u.as_str().unwrap().to_string())
                .collect();
            m.sort();
            m
        })
        .unwrap_or_default()
}

async fn managers(s: &Server) -> Vec<String> {
    members(
        &s.ok(ADMIN, "GetTeamListQuery", json!({})).await,
        "MANAGERS",
    )
}

#[tokio::test]
async fn users_and_teams() {
    let s = server();
    let got = s
        .table(vec![
            case(
                ADMIN,
                CREATE,
                json!({"userName": "carol", "teams": ["AUDIT", "MANAGERS"]}),
                ok_with(&[
                    ("/userName", json!("carol")),
                    ("/isAdmin", json!(false)),
                    ("/teams", json!(["AUDIT", "MANAGERS"])),
                ]),
            ),
            case(
                ADMIN,
                CREATE,
                json!({"userName": "root2", "isAdmin": true}),
                ok_with(&[("/isAdmin", json!(true)), ("/teams", json!([]))]),
            ),
            case(
                &s.bob,
                "GetUserListQuery",
                json!({}),
                ok_with(&[("/totalCount", json!(5))]),
            ),
        ])
        .await;
    // Each user has a stable number (seed 003's `User:N` ids); the new one follows the others.
    let carol_id = got[0]["id"]
        .as_i64()
        .expect("CreateUserCommand answers the user's id");
    assert_eq!(got[1]["id"].as_i64(), Some(carol_id + 1));
    let list = &got[2];
    assert_eq!(
        users(list),
        set(&["admin", "bob", "carol", "mary", "root2"])
    );
    let find = |name: &str| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["userName"] == name)
            .unwrap()
            .clone()
    };
    let carol = find("carol");
    let carol_teams: BTreeSet<String> = carol["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert_eq!(carol_teams, set(&["AUDIT", "MANAGERS"]));
    assert_eq!(carol["isAdmin"], false);
    assert_eq!(find("admin")["isAdmin"], true);

    // CreateUserCommand refusals create nobody.
    s.table(vec![
        case(
            ADMIN,
            CREATE,
            json!({"userName": "carol"}),
            field_msg("userName", is("user 'carol' already exists")),
        ),
        case(ADMIN, CREATE, json!({}), field("userName")),
        case(ADMIN, CREATE, json!({"userName": "a,b"}), field("userName")),
        case(
            ADMIN,
            CREATE,
            json!({"userName": "x".repeat(101)}),
            field("userName"),
        ),
        case(
            ADMIN,
            CREATE,
            json!({"userName": "dave", "isAdmin": "yes"}),
            field("isAdmin"),
        ),
        case(
            ADMIN,
            CREATE,
            json!({"userName": "dave", "teams": "AUDIT"}),
            field("teams"),
        ),
        case(
            ADMIN,
            CREATE,
            json!({"userName": "dave", "teams": ["AUDIT", 3]}),
            field("teams"),
        ),
        case(
            ADMIN,
            CREATE,
            json!({"userName": "dave", "teams": ["A,B"]}),
            field("teams"),
        ),
        case(
            &s.bob,
            CREATE,
            json!({"userName": "dave"}),
            forbidden(has(&["CreateUserCommand needs an administrator", "bob"])),
        ),
    ])
    .await;
    assert_eq!(
        users(&s.ok(ADMIN, "GetUserListQuery", json!({})).await).len(),
        5,
        "nobody was created"
    );
    // A user created as administrator is one: their token deploys.
    let root2 = s
        .ok(ADMIN, "CreateApiTokenCommand", json!({"userName": "root2"}))
        .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    s.ok(
        &root2,
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": loan()}),
    )
    .await;

    // Teams.
    let teams = s
        .case(case(
            &s.mary,
            "GetTeamListQuery",
            json!({}),
            ok_with(&[("/totalCount", json!(3))]),
        ))
        .await;
    assert_eq!(members(&teams, "MANAGERS"), ["carol", "mary"]);
    assert_eq!(members(&teams, "TELLERS"), ["bob"]);
    assert_eq!(members(&teams, "AUDIT"), ["carol"]);

    // bob may not complete a MANAGERS task until he is added to the team; then he may at once.
    let def = s.deploy(&loan()).await;
    let (l, _) = s.start(ADMIN, json!({"processDefinitionId": def})).await;
    let submit = json!({"instanceGuid": l, "callbackData": {"decision": "decline"}});
    let bob_managers = json!({"userName": "bob", "team": "MANAGERS"});
    s.table(vec![
        // Not his to see yet: answered as no instance at all (docs/runtime.md "Who sees what").
        case(&s.bob, SIGNAL, submit.clone(), field("instanceGuid")),
        case(&s.bob, ADD, bob_managers.clone(), forbidden(ANY)),
    ])
    .await;
    assert_eq!(
        managers(&s).await,
        ["carol", "mary"],
        "a forbidden add changes nothing"
    );
    s.case(case(
        ADMIN,
        ADD,
        bob_managers.clone(),
        ok_with(&[(
            "",
            json!({"userName": "bob", "team": "MANAGERS", "changed": true}),
        )]),
    ))
    .await;
    let (_, v) = s.exec(ADMIN, ADD, bob_managers.clone()).await;
    assert_eq!(
        (v["isSuccessful"].clone(), v["data"]["changed"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(v["message"], "User was already in the team");
    assert_eq!(managers(&s).await, ["bob", "carol", "mary"]);
    assert_eq!(
        s.ok(&s.bob, "GetTaskListQuery", json!({})).await["totalCount"],
        1,
        "the task is in bob's inbox now"
    );
    s.table(vec![
        case(
            &s.bob,
            SIGNAL,
            submit,
            ok_with(&[
                ("/status", json!("COMPLETED")),
                ("/result/approvedBy", json!("bob")),
            ]),
        ),
        case(
            ADMIN,
            ADD,
            json!({"userName": "zed", "team": "MANAGERS"}),
            field_msg("userName", has(&["zed"])),
        ),
        case(ADMIN, ADD, json!({"userName": "bob"}), field("team")),
        case(ADMIN, ADD, json!({"team": "MANAGERS"}), field("userName")),
        case(
            ADMIN,
            ADD,
            json!({"userName": "bob", "team": "A,B"}),
            field("team"),
        ),
        // Remove.
        case(&s.mary, REMOVE, bob_managers.clone(), forbidden(ANY)),
    ])
    .await;
    assert_eq!(managers(&s).await, ["bob", "carol", "mary"]);
    s.case(case(
        ADMIN,
        REMOVE,
        bob_managers.clone(),
        ok_with(&[(
            "",
            json!({"userName": "bob", "team": "MANAGERS", "changed": true}),
        )]),
    ))
    .await;
    let (_, v) = s.exec(ADMIN, REMOVE, bob_managers).await;
    assert_eq!(
        (v["message"].clone(), v["data"]["changed"].clone()),
        (json!("User was not in the team"), json!(false))
    );
    s.table(vec![
        case(
            ADMIN,
            REMOVE,
            json!({"userName": "zed", "team": "MANAGERS"}),
            field_msg("userName", has(&["zed"])),
        ),
        case(ADMIN, REMOVE, json!({"userName": "bob"}), field("team")),
    ])
    .await;
    assert_eq!(managers(&s).await, ["carol", "mary"]);
    // Out of the team, out of its tasks again (and out of sight of its instances).
    let (l2, _) = s.start(ADMIN, json!({"processDefinitionId": def})).await;
    s.case(case(
        &s.bob,
        SIGNAL,
        json!({"instanceGuid": l2, "callbackData": {"decision": "decline"}}),
        field("instanceGuid"),
    ))
    .await;
    assert_eq!(s.instance(&l2).await["status"], "WAITING");
}
