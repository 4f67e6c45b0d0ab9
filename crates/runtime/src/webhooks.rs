//! Incoming webhooks (API.md "Webhooks in", seeds 000 and 001): a payment gateway or any other
//! service POSTs to a configured path, Baton checks where it came from and its signature, then
//! runs what the configuration says, as the owner (administrator), like recurring jobs.
//!
//! A configuration is reached at its `url` (a path under `/webhook/`) or, when it has none, at
//! `/webhook/k/{key}` for a generated key. Execution types as for jobs: 0 one bus command whose
//! data is a JMESPath mapping `{field: expression}` evaluated against the request
//! (`{"body", "headers", "query", ...}`); 1 a command chain (`"$previous"` and `"$request"`
//! paths substituted); 2 rhai `executionCode` with `request` in scope; 3 start a process with
//! the JSON body's fields as variables plus `webhook` (headers, query, remoteAddr, receivedAt,
//! configId).
//!
//! Every request is recorded in the request log with its verdict, whatever happens; secrets
//! (the verification secret, `verif-hash`, `authorization`, cookies) are never stored in the log
//! nor answered by a query.

use crate::jobs::substitute_var;
use crate::{opt_text, paging, text, Answer, Caller, Fail, Runtime};
use base64::Engine as _;
use baton_store::{NewWebhookConfig, NewWebhookRequest, WebhookConfigRow, WebhookRequestRow};
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use std::net::IpAddr;

type HmacSha256 = Hmac<sha2::Sha256>;
type HmacSha512 = Hmac<sha2::Sha512>;

/// Verification schemes a configuration may use.
const SCHEMES: &[&str] = &[
    "standardWebhooks",
    "paystack",
    "stripe",
    "flutterwave",
    "hmacSha256",
    "none",
];

/// How far a signed timestamp (Standard Webhooks, Stripe) may be from the runtime's clock.
const TOLERANCE_SECONDS: i64 = 300;

/// Where every configuration lives.
pub const URL_PREFIX: &str = "/webhook/";
/// The paths of generated keys: `/webhook/k/{key}`.
pub const KEY_PREFIX: &str = "/webhook/k/";

/// Headers whose values are secrets: stored and shown as `[redacted]`.
const REDACTED: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "verif-hash",
    "x-api-key",
];

/// A request as the HTTP door received it.
#[derive(Debug, Clone)]
pub struct IncomingWebhook {
    /// `Some(key)` for `/webhook/k/{key}`, else the path is matched against configured urls.
    pub key: Option<String>,
    pub method: String,
    pub path: String,
    /// Header names in lower case; a repeated header's values joined with ", ".
    pub headers: Vec<(String, String)>,
    pub query: Map<String, Value>,
    /// Where it came from (None when unknown: never taken from X-Forwarded-For).
    pub remote: Option<IpAddr>,
    /// The body, or None when it was over the limit.
    pub body: Option<Vec<u8>>,
}

/// What the door answers.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookAnswer {
    pub status: u16,
    pub body: Value,
}

impl WebhookAnswer {
    fn refuse(status: u16, message: impl Into<String>) -> WebhookAnswer {
        WebhookAnswer {
            status,
            body: json!({"isSuccessful": false, "message": message.into()}),
        }
    }
}

/// A configuration's fields once validated.
struct Valid {
    name: String,
    key: Option<String>,
    url: Option<String>,
    execution_type: i64,
    config: Map<String, Value>,
    allowed_ips: Vec<String>,
    verification: Value,
    is_active: bool,
}

fn hook_id(data: &Value, field: &'static str) -> Result<i64, Fail> {
    match data.get(field) {
        None | Some(Value::Null) => Err(Fail::Field(field, format!("{field} is required"))),
        Some(v) => v
            .as_i64()
            .filter(|n| *n > 0)
            .ok_or_else(|| Fail::Field(field, format!("{field} must be a whole number"))),
    }
}

fn valid_url(url: &str) -> Result<(), String> {
    if !url.starts_with(URL_PREFIX) || url.len() == URL_PREFIX.len() {
        return Err(format!(
            "url must be a path that starts with {URL_PREFIX}, such as /webhook/paystack/payment"
        ));
    }
    if url.starts_with(KEY_PREFIX) {
        return Err(format!(
            "paths under {KEY_PREFIX} are kept for generated keys; choose another path"
        ));
    }
    if url.len() > 200 {
        return Err("url must be at most 200 characters".into());
    }
    if let Some(c) = url
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_./~".contains(*c)))
    {
        return Err(format!(
            "url may hold letters, digits and - _ . / ~ only, not '{c}'"
        ));
    }
    if url.ends_with('/') || url.contains("//") || url.split('/').any(|s| s == "." || s == "..") {
        return Err("url must not end with /, hold an empty segment, . or ..".into());
    }
    Ok(())
}

fn valid_key(key: &str) -> Result<(), String> {
    if !(8..=128).contains(&key.len())
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("key must be 8 to 128 letters, digits, - or _".into());
    }
    Ok(())
}

/// The key bytes of a Standard Webhooks secret `whsec_<base64>`.
pub(crate) fn standard_key(secret: &str) -> Result<Vec<u8>, String> {
    let b64 = secret.strip_prefix("whsec_").ok_or_else(|| {
        "a standardWebhooks secret starts with whsec_ followed by base64".to_string()
    })?;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .ok()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| "the part of the secret after whsec_ is not base64".to_string())
}

fn validate_verification(v: Option<&Value>) -> Result<Value, Fail> {
    let field = "verification";
    let Some(Value::Object(m)) = v.filter(|v| !v.is_null()) else {
        return Err(Fail::Field(
            field,
            "verification is required: {\"scheme\": ..., \"secret\": ...}, or {\"scheme\": \"none\"} to accept unsigned requests".into(),
        ));
    };
    let scheme = match m.get("scheme") {
        Some(Value::String(s)) if SCHEMES.contains(&s.as_str()) => s.clone(),
        Some(Value::String(s)) => {
            return Err(Fail::Field(
                field,
                format!(
                    "verification.scheme must be one of {}, not '{s}'",
                    SCHEMES.join(", ")
                ),
            ))
        }
        _ => {
            return Err(Fail::Field(
                field,
                format!("verification.scheme is required: {}", SCHEMES.join(", ")),
            ))
        }
    };
    let mut out = Map::new();
    out.insert("scheme".into(), json!(scheme));
    if scheme != "none" {
        let secret = match m.get("secret") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(Value::String(_)) | None | Some(Value::Null) => {
                return Err(Fail::Field(
                    field,
                    format!("verification.secret is required for the {scheme} scheme"),
                ))
            }
            Some(_) => {
                return Err(Fail::Field(
                    field,
                    "verification.secret must be a string".into(),
                ))
            }
        };
        if scheme == "standardWebhooks" {
            standard_key(&secret)
                .map_err(|m| Fail::Field(field, format!("verification.secret: {m}")))?;
        }
        out.insert("secret".into(), json!(secret));
    }
    match m.get("header") {
        None | Some(Value::Null) => {}
        Some(Value::String(h)) if scheme == "hmacSha256" => {
            let h = h.trim().to_ascii_lowercase();
            if axum::http::HeaderName::from_bytes(h.as_bytes()).is_err() {
                return Err(Fail::Field(
                    field,
                    format!("verification.header '{h}' is not a valid header name"),
                ));
            }
            out.insert("header".into(), json!(h));
        }
        Some(Value::String(_)) => {
            return Err(Fail::Field(
                field,
                "verification.header applies to the hmacSha256 scheme only".into(),
            ))
        }
        Some(_) => {
            return Err(Fail::Field(
                field,
                "verification.header must be a string".into(),
            ))
        }
    }
    Ok(Value::Object(out))
}

fn validate_ips(v: Option<&Value>) -> Result<Vec<String>, Fail> {
    let field = "allowedIPs";
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .and_then(|s| s.trim().parse::<IpAddr>().ok())
                    .map(|ip| ip.to_canonical().to_string())
                    .ok_or_else(|| {
                        Fail::Field(
                            field,
                            format!("allowedIPs: {i} is not an IP address such as 52.31.139.75 or 2001:db8::1"),
                        )
                    })
            })
            .collect(),
        Some(_) => Err(Fail::Field(
            field,
            "allowedIPs must be a list of IP addresses".into(),
        )),
    }
}

/// Checks every JMESPath expression of a `commandData` mapping (strings are expressions;
/// objects nest; other values are literals).
fn check_mapping(data: &Value, at: &str) -> Result<(), Fail> {
    match data {
        Value::String(expr) => jmespath::compile(expr).map(|_| ()).map_err(|e| {
            Fail::Field(
                "commandData",
                format!("commandData.{at}: '{expr}' is not a JMESPath expression: {e}"),
            )
        }),
        Value::Object(m) => m.iter().try_for_each(|(k, v)| {
            let path = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            check_mapping(v, &path)
        }),
        _ => Ok(()),
    }
}

/// Evaluates a `commandData` mapping against the request.
fn apply_mapping(data: &Value, input: &Value) -> Result<Value, String> {
    match data {
        Value::String(expr) => {
            let compiled = jmespath::compile(expr).map_err(|e| format!("'{expr}': {e}"))?;
            let found = compiled
                .search(input)
                .map_err(|e| format!("'{expr}': {e}"))?;
            serde_json::to_value(&*found).map_err(|e| format!("'{expr}': {e}"))
        }
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| Ok((k.clone(), apply_mapping(v, input)?)))
            .collect::<Result<Map<String, Value>, String>>()
            .map(Value::Object),
        other => Ok(other.clone()),
    }
}

/// Equal bytes, in time that does not depend on where they differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.trim())
}

fn sha256_matches(key: &[u8], parts: &[&[u8]], sig: &[u8]) -> bool {
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return false;
    };
    for p in parts {
        mac.update(p);
    }
    mac.verify_slice(sig).is_ok()
}

fn timestamp_fresh(ts: &str, now: i64) -> Result<(), String> {
    let t: i64 = ts
        .trim()
        .parse()
        .map_err(|_| format!("the timestamp '{ts}' is not a whole number of seconds"))?;
    if (now - t).abs() > TOLERANCE_SECONDS {
        return Err(format!(
            "the timestamp {t} is more than {TOLERANCE_SECONDS} seconds from the server's clock ({now})"
        ));
    }
    Ok(())
}

/// Checks a request's signature against the configuration's scheme; Err says why not.
fn verify(
    verification: &Value,
    headers: &[(String, String)],
    body: &[u8],
    now: i64,
) -> Result<(), String> {
    let scheme = verification["scheme"].as_str().unwrap_or("none");
    let secret = verification["secret"].as_str().unwrap_or_default();
    let need = |name: &str| header(headers, name).ok_or_else(|| format!("no {name} header"));
    match scheme {
        "none" => Ok(()),
        "standardWebhooks" => {
            let key = standard_key(secret)?;
            let id = need("webhook-id")?;
            let ts = need("webhook-timestamp")?;
            let sigs = need("webhook-signature")?;
            timestamp_fresh(ts, now)?;
            let ok = sigs.split_whitespace().any(|s| {
                s.strip_prefix("v1,")
                    .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                    .is_some_and(|sig| {
                        sha256_matches(
                            &key,
                            &[id.as_bytes(), b".", ts.as_bytes(), b".", body],
                            &sig,
                        )
                    })
            });
            ok.then_some(())
                .ok_or_else(|| "no v1 signature in webhook-signature matches".into())
        }
        "paystack" => {
            let sig = hex::decode(need("x-paystack-signature")?)
                .map_err(|_| "x-paystack-signature is not hex".to_string())?;
            let mut mac =
                HmacSha512::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
            mac.update(body);
            mac.verify_slice(&sig)
                .map_err(|_| "x-paystack-signature does not match".into())
        }
        "stripe" => {
            let h = need("stripe-signature")?;
            let mut t = None;
            let mut v1 = Vec::new();
            for part in h.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", v)) => t = Some(v),
                    Some(("v1", v)) => v1.push(v),
                    _ => {}
                }
            }
            let t = t.ok_or("Stripe-Signature has no t=")?;
            timestamp_fresh(t, now)?;
            let ok = v1.iter().any(|s| {
                hex::decode(s).is_ok_and(|sig| {
                    sha256_matches(secret.as_bytes(), &[t.as_bytes(), b".", body], &sig)
                })
            });
            ok.then_some(())
                .ok_or_else(|| "no v1 signature in Stripe-Signature matches".into())
        }
        "flutterwave" => same_bytes(need("verif-hash")?.as_bytes(), secret.as_bytes())
            .then_some(())
            .ok_or_else(|| "verif-hash does not match".into()),
        "hmacSha256" => {
            let name = verification["header"].as_str().unwrap_or("x-signature");
            let given = need(name)?;
            let given = given.strip_prefix("sha256=").unwrap_or(given);
            let sig = hex::decode(given).map_err(|_| format!("{name} is not hex"))?;
            sha256_matches(secret.as_bytes(), &[body], &sig)
                .then_some(())
                .ok_or_else(|| format!("{name} does not match"))
        }
        other => Err(format!("unknown verification scheme '{other}'")),
    }
}

/// Header values as stored and as executions see them: secrets redacted.
fn header_map(headers: &[(String, String)]) -> Map<String, Value> {
    headers
        .iter()
        .map(|(n, v)| {
            let v = if REDACTED.contains(&n.as_str()) {
                "[redacted]".to_string()
            } else {
                v.clone()
            };
            (n.clone(), json!(v))
        })
        .collect()
}

/// The path a configuration is called at.
fn call_path(row: &WebhookConfigRow) -> String {
    match (&row.url, &row.key) {
        (Some(u), _) => u.clone(),
        (None, Some(k)) => format!("{KEY_PREFIX}{k}"),
        (None, None) => String::new(),
    }
}

/// A configuration as queries show it: never the secret; `executionCode` only when asked.
fn view(row: &WebhookConfigRow, with_code: bool) -> Value {
    let verification: Value = serde_json::from_str(&row.verification).unwrap_or(json!({}));
    let mut shown = json!({
        "scheme": verification["scheme"],
        "secretSet": verification.get("secret").is_some_and(|s| !s.is_null()),
    });
    if let Some(h) = verification.get("header") {
        shown["header"] = h.clone();
    }
    let mut v = json!({
        "id": row.id,
        "name": row.name,
        "key": row.key,
        "url": call_path(row),
        "customUrl": row.url.is_some(),
        "executionType": row.execution_type,
        "allowedIPs": serde_json::from_str::<Value>(&row.allowed_ips).unwrap_or(json!([])),
        "verification": shown,
        "isActive": row.is_active,
        "createdBy": row.created_by,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
    });
    crate::jobs::show_execution_fields(&mut v, &row.config, with_code);
    v
}

/// A configuration's fields as given to Create, to merge an update into.
fn stored_fields(row: &WebhookConfigRow) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!(row.name));
    m.insert("key".into(), json!(row.key));
    m.insert("url".into(), json!(row.url));
    m.insert("executionType".into(), json!(row.execution_type));
    m.insert(
        "allowedIPs".into(),
        serde_json::from_str(&row.allowed_ips).unwrap_or(json!([])),
    );
    m.insert(
        "verification".into(),
        serde_json::from_str(&row.verification).unwrap_or(Value::Null),
    );
    m.insert("isActive".into(), json!(row.is_active));
    if let Ok(Value::Object(config)) = serde_json::from_str::<Value>(&row.config) {
        m.extend(config);
    }
    m
}

fn request_view(r: &WebhookRequestRow) -> Value {
    let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap_or(Value::Null);
    json!({
        "id": r.id,
        "configId": r.config_id,
        "receivedAt": r.received_at,
        "method": r.method,
        "path": r.path,
        "headers": parse(&r.headers),
        "query": parse(&r.query),
        "body": r.body,
        "remoteAddr": r.remote_addr,
        "trigger": r.trigger,
        "replayOf": r.replay_of,
        "verdict": r.verdict,
        "statusCode": r.status_code,
        "outcome": r.outcome.as_deref().map(parse),
        "error": r.error,
    })
}

/// What a received request is, once accepted, for the execution.
struct Accepted<'a> {
    config: &'a WebhookConfigRow,
    method: &'a str,
    path: &'a str,
    headers: Map<String, Value>,
    query: Map<String, Value>,
    body: &'a [u8],
    remote: String,
    received_at: String,
    trigger: &'static str,
    replay_of: Option<i64>,
}

impl Runtime {
    fn validate_hook(&self, data: &Value) -> Result<Valid, Fail> {
        let name = text(data, "name")?.trim().to_string();
        let url = opt_text(data, "url")?
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_string);
        if let Some(u) = &url {
            valid_url(u).map_err(|m| Fail::Field("url", m))?;
        }
        let mut key = opt_text(data, "key")?
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string);
        if let Some(k) = &key {
            valid_key(k).map_err(|m| Fail::Field("key", m))?;
        }
        if url.is_none() && key.is_none() {
            key = Some(uuid::Uuid::new_v4().simple().to_string());
        }
        let (execution_type, config) = self.validate_execution(data)?;
        if execution_type == 0 {
            check_mapping(&config["commandData"], "")?;
        }
        let allowed_ips = validate_ips(data.get("allowedIPs"))?;
        let verification = validate_verification(data.get("verification"))?;
        let is_active = match data.get("isActive") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(Fail::Field(
                    "isActive",
                    "isActive must be true or false".into(),
                ))
            }
        };
        Ok(Valid {
            name,
            key,
            url,
            execution_type,
            config,
            allowed_ips,
            verification,
            is_active,
        })
    }

    fn save_hook(&self, id: Option<i64>, v: Valid, caller: &Caller) -> Result<i64, Fail> {
        let now = self.now();
        let created_by = caller.user.as_ref().map(|u| u.name.clone());
        let config = Value::Object(v.config).to_string();
        let ips = json!(v.allowed_ips).to_string();
        let verification = v.verification.to_string();
        let (name, key, url, et, active) = (v.name, v.key, v.url, v.execution_type, v.is_active);
        self.write(move |tx| {
            if let Some(field) = tx.webhook_route_taken(url.as_deref(), key.as_deref(), id)? {
                let (f, value) = if field == "url" {
                    ("url", url.as_deref())
                } else {
                    ("key", key.as_deref())
                };
                return Err(Fail::Field(
                    f,
                    format!(
                        "another webhook configuration already uses {f} '{}'",
                        value.unwrap_or_default()
                    ),
                ));
            }
            let c = NewWebhookConfig {
                name: &name,
                key: key.as_deref(),
                url: url.as_deref(),
                execution_type: et,
                config: &config,
                allowed_ips: &ips,
                verification: &verification,
                is_active: active,
            };
            match id {
                Some(id) => {
                    if !tx.update_webhook_config(id, &c, &now)? {
                        return Err(Fail::Field("id", format!("no webhook configuration {id}")));
                    }
                    Ok(id)
                }
                None => Ok(tx.insert_webhook_config(&c, created_by.as_deref(), &now)?),
            }
        })
    }

    fn hook_row(&self, data: &Value) -> Result<WebhookConfigRow, Fail> {
        let id = hook_id(data, "id")?;
        let found = self.store().webhook_config(id)?;
        found.ok_or_else(|| Fail::Field("id", format!("no webhook configuration {id}")))
    }

    /// CreateWebHookConfigCommand: answers `id`, `key` and `url` (the path to call).
    pub(crate) fn create_hook(&self, data: &Value, caller: &Caller) -> Answer {
        let v = self.validate_hook(data)?;
        let id = self.save_hook(None, v, caller)?;
        let row = self.hook_row(&json!({"id": id}))?;
        Ok((
            "Webhook configuration created".into(),
            json!({"id": id, "key": row.key, "url": call_path(&row), "config": view(&row, true)}),
        ))
    }

    /// UpdateWebHookConfigCommand: the fields given replace the configuration's. A
    /// `verification` without `secret` for the same scheme keeps the stored secret.
    pub(crate) fn update_hook(&self, data: &Value, caller: &Caller) -> Answer {
        let row = self.hook_row(data)?;
        let mut merged = stored_fields(&row);
        crate::jobs::drop_replaced_execution_fields(&mut merged, data);
        let old_verification = merged.get("verification").cloned().unwrap_or(Value::Null);
        if let Value::Object(given) = data {
            for (k, v) in given {
                if k != "id" {
                    merged.insert(k.clone(), v.clone());
                }
            }
        }
        if let Some(Value::Object(new)) = merged.get_mut("verification") {
            let keeps = new.get("secret").is_none_or(Value::is_null)
                && new.get("scheme") == old_verification.get("scheme");
            if keeps {
                if let Some(s) = old_verification.get("secret") {
                    new.insert("secret".into(), s.clone());
                }
            }
        }
        let v = self.validate_hook(&Value::Object(merged))?;
        self.save_hook(Some(row.id), v, caller)?;
        let row = self.hook_row(data)?;
        Ok((
            "Webhook configuration updated".into(),
            json!({"id": row.id, "key": row.key, "url": call_path(&row), "config": view(&row, true)}),
        ))
    }

    /// DeleteWebHookConfigCommand: the configuration; its requests stay in the log.
    pub(crate) fn delete_hook(&self, data: &Value) -> Answer {
        let id = hook_id(data, "id")?;
        if !self.write(move |tx| Ok(tx.delete_webhook_config(id)?))? {
            return Err(Fail::Field("id", format!("no webhook configuration {id}")));
        }
        Ok(("Webhook configuration deleted".into(), json!({"id": id})))
    }

    /// ActivateWebHookConfigCommand / DeactivateWebHookConfigCommand.
    pub(crate) fn activate_hook(&self, data: &Value, active: bool) -> Answer {
        let id = hook_id(data, "id")?;
        let now = self.now();
        if !self.write(move |tx| Ok(tx.set_webhook_active(id, active, &now)?))? {
            return Err(Fail::Field("id", format!("no webhook configuration {id}")));
        }
        let word = if active { "activated" } else { "deactivated" };
        Ok((
            format!("Webhook configuration {word}"),
            json!({"id": id, "isActive": active}),
        ))
    }

    /// GetWebHookConfigListQuery: without `executionCode` and secrets.
    pub(crate) fn list_hooks(&self, data: &Value) -> Answer {
        let (page, size) = paging(data)?;
        let (rows, total) = self.store().webhook_configs(page, size)?;
        let items: Vec<Value> = rows.iter().map(|r| view(r, false)).collect();
        Ok((
            "OK".into(),
            json!({"items": items, "totalCount": total, "pageNumber": page, "pageSize": size}),
        ))
    }

    /// GetWebHookConfigByIdQuery: with `executionCode`, never the secret.
    pub(crate) fn get_hook(&self, data: &Value) -> Answer {
        let row = self.hook_row(data)?;
        Ok(("OK".into(), view(&row, true)))
    }

    /// LookupWebHookByKeyCommand.
    pub(crate) fn lookup_hook(&self, data: &Value) -> Answer {
        let key = text(data, "key")?.trim();
        let found = self.store().webhook_config_by_key(key)?;
        let row = found.ok_or_else(|| {
            Fail::Field("key", format!("no webhook configuration with key '{key}'"))
        })?;
        Ok(("OK".into(), view(&row, false)))
    }

    /// GetWebhookRequestListQuery: received requests, newest first.
    pub(crate) fn hook_requests(&self, data: &Value) -> Answer {
        let (page, size) = paging(data)?;
        let config = match data.get("configId") {
            None | Some(Value::Null) => None,
            Some(_) => Some(hook_id(data, "configId")?),
        };
        let (rows, total) = self.store().webhook_requests(config, page, size)?;
        let items: Vec<Value> = rows.iter().map(request_view).collect();
        Ok((
            "OK".into(),
            json!({"items": items, "totalCount": total, "pageNumber": page, "pageSize": size}),
        ))
    }

    /// ReplayWebhookRequestCommand: runs a recorded request again through its configuration,
    /// without checking its signature; records a new request (trigger `replay`).
    pub(crate) fn replay_hook(&self, data: &Value) -> Answer {
        let id = hook_id(data, "id")?;
        let found = self.store().webhook_request(id)?;
        let req = found.ok_or_else(|| Fail::Field("id", format!("no webhook request {id}")))?;
        let config_id = req.config_id.ok_or_else(|| {
            Fail::Field(
                "id",
                format!("webhook request {id} has no configuration to run it through (unknown path, or the configuration was deleted)"),
            )
        })?;
        let found = self.store().webhook_config(config_id)?;
        let config = found.ok_or_else(|| {
            Fail::Field(
                "id",
                format!("webhook configuration {config_id} no longer exists"),
            )
        })?;
        if !config.is_active {
            return Err(Fail::Field(
                "id",
                format!("webhook configuration {config_id} is inactive; activate it to replay its requests"),
            ));
        }
        let as_map = |t: &str| match serde_json::from_str(t) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let acc = Accepted {
            config: &config,
            method: &req.method,
            path: &req.path,
            headers: as_map(&req.headers),
            query: as_map(&req.query),
            body: req.body.as_bytes(),
            remote: req.remote_addr.clone(),
            received_at: self.now(),
            trigger: "replay",
            replay_of: Some(id),
        };
        let (request_id, answer) = self.run_accepted(acc);
        if answer.status == 200 {
            Ok((
                format!("Webhook request {id} replayed"),
                json!({"requestId": request_id, "statusCode": answer.status, "outcome": answer.body["data"]}),
            ))
        } else {
            Err(Fail::Business(format!(
                "replay of webhook request {id} failed ({}; recorded as request {}): {}",
                answer.status,
                request_id
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "not recorded".into()),
                answer.body["message"].as_str().unwrap_or_default()
            )))
        }
    }

    /// Records a request; a failure to record is logged (the answer is still given).
    fn record_request(&self, r: NewWebhookRequest) -> Option<i64> {
        let owned = (
            r.config_id,
            r.received_at.to_string(),
            r.method.to_string(),
            r.path.to_string(),
            r.headers.to_string(),
            r.query.to_string(),
            r.body.to_string(),
            r.remote_addr.to_string(),
            r.trigger.to_string(),
            r.replay_of,
            r.verdict.to_string(),
            r.status_code,
            r.error.map(str::to_string),
        );
        let written = self.write(move |tx| {
            let o = &owned;
            Ok(tx.insert_webhook_request(&NewWebhookRequest {
                config_id: o.0,
                received_at: &o.1,
                method: &o.2,
                path: &o.3,
                headers: &o.4,
                query: &o.5,
                body: &o.6,
                remote_addr: &o.7,
                trigger: &o.8,
                replay_of: o.9,
                verdict: &o.10,
                status_code: o.11,
                error: o.12.as_deref(),
            })?)
        });
        match written {
            Ok(id) => Some(id),
            Err(e) => {
                let m = match e {
                    Fail::Business(m) | Fail::Forbidden(m) | Fail::Field(_, m) => m,
                    Fail::Invalid(errors, _) => crate::commands::describe(&errors),
                    Fail::Conflict => "conflict".into(),
                };
                tracing::warn!("could not record a webhook request: {m}");
                None
            }
        }
    }

    /// Handles a request that reached a webhook door: finds its configuration, checks where it
    /// came from and its signature, records it and runs it. Never panics on any input.
    pub fn receive_webhook(&self, inc: IncomingWebhook) -> WebhookAnswer {
        let received_at = self.now();
        let headers = Value::Object(header_map(&inc.headers)).to_string();
        let query = Value::Object(inc.query.clone()).to_string();
        let body_text = inc
            .body
            .as_deref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let remote = inc
            .remote
            .map(|ip| ip.to_canonical().to_string())
            .unwrap_or_else(|| "unknown".into());
        let refuse = |config_id: Option<i64>, verdict: &str, status: u16, message: String| {
            self.record_request(NewWebhookRequest {
                config_id,
                received_at: &received_at,
                method: &inc.method,
                path: &inc.path,
                headers: &headers,
                query: &query,
                body: &body_text,
                remote_addr: &remote,
                trigger: "live",
                replay_of: None,
                verdict,
                status_code: Some(status as i64),
                error: Some(&message),
            });
            WebhookAnswer::refuse(status, message)
        };
        let found = match &inc.key {
            Some(k) => self.store().webhook_config_by_key(k),
            None => self.store().webhook_config_by_url(&inc.path),
        };
        let config = match found {
            Ok(Some(c)) => c,
            Ok(None) => {
                return refuse(
                    None,
                    "notFound",
                    404,
                    format!("no webhook is configured at {}", inc.path),
                )
            }
            Err(e) => return WebhookAnswer::refuse(503, format!("try again later: {e}")),
        };
        if !config.is_active {
            // The caller learns only that nothing listens here; the log says why.
            refuse(
                Some(config.id),
                "inactive",
                404,
                format!("webhook configuration {} is inactive", config.id),
            );
            return WebhookAnswer::refuse(404, format!("no webhook is configured at {}", inc.path));
        }
        let allowed: Vec<String> = serde_json::from_str(&config.allowed_ips).unwrap_or_default();
        if !allowed.is_empty() && !allowed.contains(&remote) {
            return refuse(
                Some(config.id),
                "ipNotAllowed",
                403,
                format!("requests from {remote} are not allowed for this webhook"),
            );
        }
        let Some(body) = inc.body.as_deref() else {
            return refuse(
                Some(config.id),
                "tooLarge",
                413,
                format!("the body is over {} bytes", crate::http::MAX_BODY_BYTES),
            );
        };
        let verification: Value = serde_json::from_str(&config.verification).unwrap_or(Value::Null);
        if let Err(why) = verify(
            &verification,
            &inc.headers,
            body,
            self.clock.now().as_second(),
        ) {
            return refuse(
                Some(config.id),
                "badSignature",
                401,
                format!("signature check failed: {why}"),
            );
        }
        let acc = Accepted {
            config: &config,
            method: &inc.method,
            path: &inc.path,
            headers: header_map(&inc.headers),
            query: inc.query.clone(),
            body,
            remote,
            received_at,
            trigger: "live",
            replay_of: None,
        };
        self.run_accepted(acc).1
    }

    /// Records an accepted request, runs it, records how it ended.
    fn run_accepted(&self, a: Accepted) -> (Option<i64>, WebhookAnswer) {
        let headers = Value::Object(a.headers.clone()).to_string();
        let query = Value::Object(a.query.clone()).to_string();
        let body_text = String::from_utf8_lossy(a.body).into_owned();
        let parsed: Option<Value> = serde_json::from_slice(a.body).ok();
        let new = |verdict, status: Option<i64>, error: Option<&str>| -> Option<i64> {
            self.record_request(NewWebhookRequest {
                config_id: Some(a.config.id),
                received_at: &a.received_at,
                method: a.method,
                path: a.path,
                headers: &headers,
                query: &query,
                body: &body_text,
                remote_addr: &a.remote,
                trigger: a.trigger,
                replay_of: a.replay_of,
                verdict,
                status_code: status,
                error,
            })
        };
        if a.config.execution_type == 3 && !matches!(parsed, Some(Value::Object(_))) {
            let m = "the body must be a JSON object: its fields become the process variables";
            let id = new("badBody", Some(400), Some(m));
            return (id, WebhookAnswer::refuse(400, m));
        }
        let Some(request_id) = new("accepted", None, None) else {
            return (
                None,
                WebhookAnswer::refuse(503, "the request could not be recorded; try again"),
            );
        };
        let request = json!({
            "body": parsed.clone().unwrap_or_else(|| json!(body_text)),
            "headers": a.headers,
            "query": a.query,
            "method": a.method,
            "path": a.path,
            "remoteAddr": a.remote,
            "receivedAt": a.received_at,
            "configId": a.config.id,
            "requestId": request_id,
        });
        let outcome = self.perform_hook(a.config, &request);
        let (status, answer, out, err) = match outcome {
            Ok(v) => (
                200u16,
                json!({"isSuccessful": true, "data": v}),
                Some(v.to_string()),
                None,
            ),
            Err(m) => (
                422,
                json!({"isSuccessful": false, "message": m}),
                None,
                Some(m),
            ),
        };
        let verdict_status = status as i64;
        let written = self.write(move |tx| {
            Ok(tx.finish_webhook_request(
                request_id,
                "accepted",
                verdict_status,
                out.as_deref(),
                err.as_deref(),
            )?)
        });
        if written.is_err() {
            tracing::warn!(
                request = request_id,
                "could not record how a webhook request ended"
            );
        }
        (
            Some(request_id),
            WebhookAnswer {
                status,
                body: answer,
            },
        )
    }

    /// What a configuration does with an accepted request; `Ok` holds its outcome.
    fn perform_hook(&self, row: &WebhookConfigRow, request: &Value) -> Result<Value, String> {
        let config: Value = serde_json::from_str(&row.config)
            .map_err(|e| format!("stored webhook configuration is unreadable: {e}"))?;
        let run =
            |cmd: &str, data: &Value| self.execute_as(cmd, data, &Caller::owner()).into_result();
        match row.execution_type {
            0 => {
                let data = apply_mapping(&config["commandData"], request)
                    .map_err(|e| format!("commandData mapping failed: {e}"))?;
                let data = if data.is_object() { data } else { json!({}) };
                run(config["commandName"].as_str().unwrap_or_default(), &data)
            }
            1 => self.run_chain(&config["commandChain"], |data| {
                substitute_var(data, "$request", request)
            }),
            2 => self.run_code(
                config["executionCode"].as_str().unwrap_or_default(),
                "request",
                request.clone(),
            ),
            _ => {
                let mut vars = match &config["variables"] {
                    Value::Object(m) => m.clone(),
                    _ => Map::new(),
                };
                if let Value::Object(body) = &request["body"] {
                    vars.extend(body.clone());
                }
                vars.insert(
                    "webhook".into(),
                    json!({
                        "headers": request["headers"],
                        "query": request["query"],
                        "remoteAddr": request["remoteAddr"],
                        "receivedAt": request["receivedAt"],
                        "configId": request["configId"],
                    }),
                );
                let mut data = json!({"variables": vars});
                if let Some(id) = config.get("processDefinitionId") {
                    data["processDefinitionId"] = id.clone();
                } else {
                    data["processKey"] = config["processKey"].clone();
                }
                run("StartProcessInstanceCommand", &data)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_keys_are_checked() {
        assert!(valid_url("/webhook/paystack/payment").is_ok());
        for bad in [
            "/hooks/x",
            "/webhook/",
            "/webhook/k/abc",
            "/webhook/a//b",
            "/webhook/a/../b",
            "/webhook/a b",
            "/webhook/a/",
        ] {
            assert!(valid_url(bad).is_err(), "{bad}");
        }
        assert!(valid_key("abcdef12").is_ok());
        assert!(valid_key("short").is_err());
    }

    #[test]
    fn mappings_evaluate_jmespath() {
        let input = json!({"body": {"data": {"reference": "R1", "amount": 5}}, "headers": {}});
        let mapping = json!({"correlationKey": "body.data.reference", "result": {"amount": "body.data.amount"}, "n": 3});
        assert_eq!(
            apply_mapping(&mapping, &input).unwrap(),
            json!({"correlationKey": "R1", "result": {"amount": 5}, "n": 3})
        );
        assert!(check_mapping(&json!({"x": "body.[["}), "").is_err());
    }

    #[test]
    fn constant_time_compare() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"ab"));
    }
}
