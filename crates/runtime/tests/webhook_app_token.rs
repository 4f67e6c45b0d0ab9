//! `RegenerateIncomingWebhookApplicationTokenCommand` on a server on 127.0.0.1 over a real
//! SQLite file: the application keeps its id, name and settings, its new URL works, its old one
//! answers 404 at once, and only administrators may regenerate. Unknown or missing ids are
//! refused naming the field.

use baton_testkit::{Door, Model, Served, ADMIN};
use serde_json::{json, Value};

fn review() -> String {
    Model::process("Review")
        .start("s")
        .user_task("Check")
        .end("e")
        .chain(&["s", "Check", "e"])
        .xml()
}

struct Seed {
    // The runtime the server drives; kept alive for the server's life.
    _door: Door,
    served: Served,
    bob: String,
}

fn seed() -> Seed {
    let door = Door::new();
    let bob = door.user("bob", &["TELLERS"]).token;
    door.t.run(
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": review(), "name": "Review"}),
    );
    let served = Served::start(door.st.clone());
    Seed {
        _door: door,
        served,
        bob,
    }
}

impl Seed {
    fn ok(&self, cmd: &str, data: Value) -> Value {
        let (code, r) = self.served.exec(ADMIN, cmd, data);
        assert_eq!(code, 200, "{r}");
        assert_eq!(r["isSuccessful"], true, "{r}");
        r["data"].clone()
    }

    /// Starts a request through an application's URL; answers the status and body.
    fn create_request(&self, url: &str) -> (u16, Value) {
        self.served.post(
            url,
            None,
            &json!({"operation": "createRequest", "args": {"input": {"processName": "Review"}}}),
        )
    }
}

#[test]
fn a_regenerated_token_replaces_the_old_url_in_place() {
    let s = seed();
    let created = s.ok(
        "CreateIncomingWebhookApplicationCommand",
        json!({"name": "ERP", "description": "orders", "impersonateUserName": "bob"}),
    );
    let id = created["id"].as_i64().expect("an id");
    let old_url = created["url"].as_str().unwrap().to_string();
    let (code, r) = s.create_request(&old_url);
    assert_eq!(code, 200, "{r}");
    assert!(r.get("errors").is_none(), "{r}");

    let again = s.ok(
        "RegenerateIncomingWebhookApplicationTokenCommand",
        json!({"id": id}),
    );
    assert_eq!(again["id"], id);
    let token = again["token"].as_str().expect("a token");
    let new_url = again["url"].as_str().expect("a url").to_string();
    assert_eq!(new_url, format!("/hooks/{token}"));
    assert_ne!(new_url, old_url);

    // The old URL is gone at once; the new one starts requests as before.
    let (code, r) = s.create_request(&old_url);
    assert_eq!(code, 404, "{r}");
    assert!(r["errors"][0]["message"].is_string(), "{r}");
    let (code, r) = s.create_request(&new_url);
    assert_eq!(code, 200, "{r}");
    assert!(r.get("errors").is_none(), "{r}");

    // Same application: same id, name, description and impersonated user; still one of it.
    let list = s.ok("GetIncomingWebhookApplicationListQuery", json!({}));
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["id"], id);
    assert_eq!(items[0]["name"], "ERP");
    assert_eq!(items[0]["description"], "orders");
    assert_eq!(items[0]["impersonateUserName"], "bob");
    assert!(
        !list.to_string().contains(token),
        "the list never shows a token"
    );

    // Regenerating twice: only the newest URL works.
    let third = s.ok(
        "RegenerateIncomingWebhookApplicationTokenCommand",
        json!({"id": id}),
    );
    assert_eq!(s.create_request(&new_url).0, 404);
    assert_eq!(s.create_request(third["url"].as_str().unwrap()).0, 200);
}

#[test]
fn only_administrators_regenerate_and_bad_ids_are_named() {
    let s = seed();
    let created = s.ok(
        "CreateIncomingWebhookApplicationCommand",
        json!({"name": "ERP"}),
    );
    let id = created["id"].as_i64().unwrap();
    let url = created["url"].as_str().unwrap().to_string();

    let (code, r) = s.served.exec(
        &s.bob,
        "RegenerateIncomingWebhookApplicationTokenCommand",
        json!({"id": id}),
    );
    assert_eq!(code, 403, "{r}");
    assert_eq!(r["code"], "FORBIDDEN", "{r}");
    // Refused: the URL still works.
    assert_eq!(s.create_request(&url).0, 200);

    let (code, r) = s.served.exec(
        ADMIN,
        "RegenerateIncomingWebhookApplicationTokenCommand",
        json!({"id": 99}),
    );
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["isSuccessful"], false, "{r}");
    assert_eq!(r["code"], "NOT_FOUND", "{r}");
    assert!(
        r.to_string().contains("no incoming webhook application 99"),
        "{r}"
    );

    let (_, r) = s.served.exec(
        ADMIN,
        "RegenerateIncomingWebhookApplicationTokenCommand",
        json!({"id": "one"}),
    );
    assert_eq!(r["isSuccessful"], false, "{r}");
    assert_eq!(r["errors"][0]["field"], "id", "{r}");
    assert_eq!(s.create_request(&url).0, 200);
}
