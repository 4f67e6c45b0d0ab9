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
    assert!(matches!(rt.acting_as(&mary, "admin"), Err(ActAsError::NotAllowed)));
    assert!(rt.acting_as(&mary, "mary").is_ok());
}

#[test]
fn an_unknown_user_is_named_in_the_refusal() {
    let (_d, rt) = runtime();
    let err = rt.acting_as(&Caller::owner(), "nobody").unwrap_err();
    assert_eq!(err, ActAsError::NoSuchUser("nobody".into()));
    assert!(err.to_string().contains("actAs") && err.to_string().contains("nobody"));
}
