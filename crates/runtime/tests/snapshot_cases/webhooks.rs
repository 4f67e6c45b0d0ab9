//! Webhook configurations, the request log and replay, incoming webhook applications.

use crate::Story;
use serde_json::json;

#[tokio::test]
async fn webhook_configs() {
    let mut s = Story::new();
    let bob = s.bob.token.clone();
    s.admin(
        "create a config that runs a command",
        "CreateWebHookConfigCommand",
        json!({"name": "users", "url": "/webhook/users", "executionType": 0,
               "commandName": "GetUserListQuery", "verification": {"scheme": "none"}}),
    )
    .await;
    s.admin(
        "create a keyed config (no url: one is made with a key)",
        "CreateWebHookConfigCommand",
        json!({"name": "k", "executionType": 0, "commandName": "GetTeamListQuery", "verification": {"scheme": "none"}}),
    )
    .await;
    s.admin(
        "create a Paystack-verified config with allowed IPs",
        "CreateWebHookConfigCommand",
        json!({"name": "pay", "url": "/webhook/paystack/payment", "executionType": 2,
               "executionCode": "request.body.n", "verification": {"scheme": "paystack", "secret": "sk_test"},
               "allowedIPs": ["52.31.139.75"]}),
    )
    .await;
    s.admin(
        "create one on a url already taken",
        "CreateWebHookConfigCommand",
        json!({"name": "again", "url": "/webhook/users", "executionType": 0,
               "commandName": "GetUserListQuery", "verification": {"scheme": "none"}}),
    )
    .await;
    s.admin(
        "create one without a name",
        "CreateWebHookConfigCommand",
        json!({"url": "/webhook/x", "executionType": 0, "commandName": "GetUserListQuery",
               "verification": {"scheme": "none"}}),
    )
    .await;
    s.call(
        "a non-administrator may not create configs",
        &bob,
        "CreateWebHookConfigCommand",
        json!({"name": "x"}),
    )
    .await;
    s.admin(
        "update the Paystack config",
        "UpdateWebHookConfigCommand",
        json!({"id": 3, "name": "paystack", "verification": {"scheme": "paystack"}, "allowedIPs": []}),
    )
    .await;
    s.admin(
        "update an unknown config",
        "UpdateWebHookConfigCommand",
        json!({"id": 999}),
    )
    .await;
    s.admin(
        "get a config",
        "GetWebHookConfigByIdQuery",
        json!({"id": 3}),
    )
    .await;
    s.admin(
        "get an unknown config",
        "GetWebHookConfigByIdQuery",
        json!({"id": 999}),
    )
    .await;
    s.admin("list configs", "GetWebHookConfigListQuery", json!({}))
        .await;
    s.admin(
        "look up a key nobody has",
        "LookupWebHookByKeyCommand",
        json!({"key": "nokeyhere"}),
    )
    .await;
    s.admin(
        "look up without a key",
        "LookupWebHookByKeyCommand",
        json!({}),
    )
    .await;
    s.admin(
        "deactivate the users config",
        "DeactivateWebHookConfigCommand",
        json!({"id": 1}),
    )
    .await;
    s.post(
        "a request to the inactive config",
        "/webhook/users",
        json!({"n": 1}),
    )
    .await;
    s.admin(
        "activate it",
        "ActivateWebHookConfigCommand",
        json!({"id": 1}),
    )
    .await;
    s.admin(
        "activate an unknown config",
        "ActivateWebHookConfigCommand",
        json!({"id": 999}),
    )
    .await;
    s.post(
        "a request to the active config",
        "/webhook/users",
        json!({"n": 2}),
    )
    .await;
    s.admin("the request log", "GetWebhookRequestListQuery", json!({}))
        .await;
    s.call(
        "a non-administrator may not read the request log",
        &bob,
        "GetWebhookRequestListQuery",
        json!({}),
    )
    .await;
    s.admin(
        "replay the accepted request",
        "ReplayWebhookRequestCommand",
        json!({"id": 2}),
    )
    .await;
    s.admin(
        "replay an unknown request",
        "ReplayWebhookRequestCommand",
        json!({"id": 999}),
    )
    .await;
    s.admin(
        "delete the keyed config",
        "DeleteWebHookConfigCommand",
        json!({"id": 2}),
    )
    .await;
    s.admin(
        "delete it again",
        "DeleteWebHookConfigCommand",
        json!({"id": 2}),
    )
    .await;
    s.check("webhook_configs");
}

#[tokio::test]
async fn webhook_lookup_by_key() {
    let mut s = Story::new();
    let made = s
        .admin(
            "create a keyed config",
            "CreateWebHookConfigCommand",
            json!({"name": "k", "executionType": 0, "commandName": "GetUserListQuery", "verification": {"scheme": "none"}}),
        )
        .await;
    let key = made["data"]["key"].as_str().unwrap_or_default().to_string();
    s.admin(
        "look it up by its key",
        "LookupWebHookByKeyCommand",
        json!({"key": key}),
    )
    .await;
    s.check("webhook_lookup_by_key");
}

#[tokio::test]
async fn incoming_webhook_applications() {
    let mut s = Story::new();
    let bob = s.bob.token.clone();
    s.admin(
        "create an application acting as bob",
        "CreateIncomingWebhookApplicationCommand",
        json!({"name": "ERP", "description": "orders", "impersonateUserName": "bob"}),
    )
    .await;
    s.admin(
        "create one acting as an unknown user",
        "CreateIncomingWebhookApplicationCommand",
        json!({"name": "x", "impersonateUserName": "nobody"}),
    )
    .await;
    s.admin(
        "create one without a name",
        "CreateIncomingWebhookApplicationCommand",
        json!({"description": "no name"}),
    )
    .await;
    s.call(
        "a non-administrator may not create applications",
        &bob,
        "CreateIncomingWebhookApplicationCommand",
        json!({"name": "x"}),
    )
    .await;
    s.admin(
        "list applications",
        "GetIncomingWebhookApplicationListQuery",
        json!({}),
    )
    .await;
    s.admin(
        "delete the application",
        "DeleteIncomingWebhookApplicationCommand",
        json!({"id": 1}),
    )
    .await;
    s.admin(
        "delete an unknown application",
        "DeleteIncomingWebhookApplicationCommand",
        json!({"id": 99}),
    )
    .await;
    s.check("incoming_webhook_applications");
}

#[tokio::test]
async fn incoming_webhook_application_token() {
    let mut s = Story::new();
    let bob = s.bob.token.clone();
    s.admin(
        "create an application",
        "CreateIncomingWebhookApplicationCommand",
        json!({"name": "ERP"}),
    )
    .await;
    s.admin(
        "regenerate its token (same id, a new URL)",
        "RegenerateIncomingWebhookApplicationTokenCommand",
        json!({"id": 1}),
    )
    .await;
    s.admin(
        "regenerate an unknown application",
        "RegenerateIncomingWebhookApplicationTokenCommand",
        json!({"id": 99}),
    )
    .await;
    s.admin(
        "regenerate without an id",
        "RegenerateIncomingWebhookApplicationTokenCommand",
        json!({}),
    )
    .await;
    s.call(
        "a non-administrator may not regenerate",
        &bob,
        "RegenerateIncomingWebhookApplicationTokenCommand",
        json!({"id": 1}),
    )
    .await;
    s.check("incoming_webhook_application_token");
}

#[tokio::test]
async fn security_settings() {
    let mut s = Story::new();
    let bob = s.bob.token.clone();
    s.admin(
        "the settings (defaults)",
        "GetSecuritySettingsQuery",
        json!({}),
    )
    .await;
    s.admin(
        "change two of them",
        "SetSecuritySettingsCommand",
        json!({"webhookLogMaxAgeDays": 30, "rateLimitPerMinute": 120}),
    )
    .await;
    s.admin(
        "a value out of range",
        "SetSecuritySettingsCommand",
        json!({"rateLimitBurst": -1}),
    )
    .await;
    s.admin(
        "an unknown setting",
        "SetSecuritySettingsCommand",
        json!({"maxEverything": 1}),
    )
    .await;
    s.admin("nothing to set", "SetSecuritySettingsCommand", json!({}))
        .await;
    s.call(
        "a non-administrator may not read them",
        &bob,
        "GetSecuritySettingsQuery",
        json!({}),
    )
    .await;
    s.call(
        "nor change them",
        &bob,
        "SetSecuritySettingsCommand",
        json!({"allowPrivateOutboundUrls": true}),
    )
    .await;
    s.check("security_settings");
}
