//! Users, teams and API tokens.

use crate::Story;
use serde_json::json;

#[tokio::test]
async fn users_and_teams() {
    let mut s = Story::new();
    let bob = s.bob.token.clone();
    s.admin(
        "create a user in two teams",
        "CreateUserCommand",
        json!({"userName": "ann", "teams": ["TELLERS", "AUDIT"]}),
    )
    .await;
    s.admin(
        "create her again",
        "CreateUserCommand",
        json!({"userName": "ann"}),
    )
    .await;
    s.admin(
        "create a user without a name",
        "CreateUserCommand",
        json!({"teams": []}),
    )
    .await;
    s.admin(
        "create a user with a blank name",
        "CreateUserCommand",
        json!({"userName": "  "}),
    )
    .await;
    s.call(
        "a non-administrator may not create users",
        &bob,
        "CreateUserCommand",
        json!({"userName": "eve"}),
    )
    .await;
    s.admin(
        "add ann to MANAGERS",
        "AddUserToTeamCommand",
        json!({"userName": "ann", "team": "MANAGERS"}),
    )
    .await;
    s.admin(
        "add an unknown user to a team",
        "AddUserToTeamCommand",
        json!({"userName": "nobody", "team": "MANAGERS"}),
    )
    .await;
    s.admin(
        "add to a team without naming it",
        "AddUserToTeamCommand",
        json!({"userName": "ann"}),
    )
    .await;
    s.admin(
        "remove ann from AUDIT",
        "RemoveUserFromTeamCommand",
        json!({"userName": "ann", "team": "AUDIT"}),
    )
    .await;
    s.admin(
        "remove her from a team she is not in",
        "RemoveUserFromTeamCommand",
        json!({"userName": "ann", "team": "AUDIT"}),
    )
    .await;
    s.call(
        "a non-administrator may not change teams",
        &bob,
        "RemoveUserFromTeamCommand",
        json!({"userName": "ann", "team": "TELLERS"}),
    )
    .await;
    s.call("the users, as bob", &bob, "GetUserListQuery", json!({}))
        .await;
    s.call("the teams, as bob", &bob, "GetTeamListQuery", json!({}))
        .await;
    s.check("users_and_teams");
}

#[tokio::test]
async fn user_roles() {
    let mut s = Story::new();
    let bob = s.bob.token.clone();
    s.admin(
        "create a manager",
        "CreateUserCommand",
        json!({"userName": "ann", "role": " MANAGER "}),
    )
    .await;
    s.admin(
        "a role that is not text",
        "CreateUserCommand",
        json!({"userName": "cid", "role": 7}),
    )
    .await;
    s.call(
        "anyone may read a role (seed 000's scripts do), by name",
        &bob,
        "GetUserRoleQuery",
        json!({"userId": "ann"}),
    )
    .await;
    s.call(
        "a user without a role",
        &bob,
        "GetUserRoleQuery",
        json!({"userName": "bob"}),
    )
    .await;
    s.call(
        "an unknown user",
        &bob,
        "GetUserRoleQuery",
        json!({"userId": "nobody"}),
    )
    .await;
    s.call("no user named", &bob, "GetUserRoleQuery", json!({}))
        .await;
    s.admin(
        "give bob a role",
        "SetUserRoleCommand",
        json!({"userName": "bob", "role": "TELLER"}),
    )
    .await;
    s.admin(
        "clear ann's role",
        "SetUserRoleCommand",
        json!({"userName": "ann", "role": null}),
    )
    .await;
    s.admin(
        "a role for an unknown user",
        "SetUserRoleCommand",
        json!({"userName": "nobody", "role": "MANAGER"}),
    )
    .await;
    s.admin(
        "no role given",
        "SetUserRoleCommand",
        json!({"userName": "bob"}),
    )
    .await;
    s.call(
        "a non-administrator may not set roles",
        &bob,
        "SetUserRoleCommand",
        json!({"userName": "bob", "role": "MANAGER"}),
    )
    .await;
    s.call(
        "the users with their roles",
        &bob,
        "GetUserListQuery",
        json!({}),
    )
    .await;
    s.check("user_roles");
}

#[tokio::test]
async fn api_tokens() {
    let mut s = Story::new();
    let bob = s.bob.token.clone();
    let mary = s.mary.token.clone();
    let bob_id = s.bob.token_id;
    s.call(
        "bob makes himself a second token",
        &bob,
        "CreateApiTokenCommand",
        json!({"name": "laptop"}),
    )
    .await;
    s.call(
        "bob may not make one for mary",
        &bob,
        "CreateApiTokenCommand",
        json!({"userName": "mary"}),
    )
    .await;
    s.admin(
        "a token for an unknown user",
        "CreateApiTokenCommand",
        json!({"userName": "nobody"}),
    )
    .await;
    s.call("bob's tokens", &bob, "GetApiTokenListQuery", json!({}))
        .await;
    s.admin("every token", "GetApiTokenListQuery", json!({}))
        .await;
    s.call(
        "mary may not revoke bob's token",
        &mary,
        "RevokeApiTokenCommand",
        json!({"id": bob_id}),
    )
    .await;
    s.call(
        "revoke without an id",
        &bob,
        "RevokeApiTokenCommand",
        json!({}),
    )
    .await;
    s.call(
        "revoke with an id that is a string",
        &bob,
        "RevokeApiTokenCommand",
        json!({"id": "1"}),
    )
    .await;
    s.admin(
        "revoke an unknown token",
        "RevokeApiTokenCommand",
        json!({"id": 9999}),
    )
    .await;
    s.call(
        "bob revokes his first token",
        &bob,
        "RevokeApiTokenCommand",
        json!({"id": bob_id}),
    )
    .await;
    s.call(
        "the revoked token no longer opens the door",
        &bob,
        "GetUserListQuery",
        json!({}),
    )
    .await;
    s.check("api_tokens");
}
