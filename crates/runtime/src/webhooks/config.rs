//! The configuration commands (create, update, delete, activate, list, get, lookup by key) and
//! the checks of a configuration's fields.

use super::mapping::check_mapping;
use super::verify::{standard_key, SCHEMES};
use super::{hook_id, KEY_PREFIX, URL_PREFIX};
use crate::{opt_text, paging, text, Answer, Caller, Code, Error, Runtime};
use baton_store::{NewWebhookConfig, WebhookConfigRow};
use serde_json::{json, Map, Value};
use std::net::IpAddr;

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

fn validate_verification(v: Option<&Value>) -> Result<Value, Error> {
    let field = "verification";
    let m = match v {
        // Seed 000's own example has none: accepted, and shown as unverified (`view`).
        None | Some(Value::Null) => return Ok(json!({"scheme": "none"})),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(Error::field(
                field,
                "verification must be an object: {\"scheme\": ..., \"secret\": ...}, or left out to accept unsigned requests".into(),
            ))
        }
    };
    let scheme = match m.get("scheme") {
        Some(Value::String(s)) if SCHEMES.contains(&s.as_str()) => s.clone(),
        Some(Value::String(s)) => {
            return Err(Error::field(
                field,
                format!(
                    "verification.scheme must be one of {}, not '{s}'",
                    SCHEMES.join(", ")
                ),
            ))
        }
        _ => {
            return Err(Error::field(
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
                return Err(Error::field(
                    field,
                    format!("verification.secret is required for the {scheme} scheme"),
                ))
            }
            Some(_) => {
                return Err(Error::field(
                    field,
                    "verification.secret must be a string".into(),
                ))
            }
        };
        if scheme == "standardWebhooks" {
            standard_key(&secret)
                .map_err(|m| Error::field(field, format!("verification.secret: {m}")))?;
        }
        out.insert("secret".into(), json!(secret));
    }
    match m.get("header") {
        None | Some(Value::Null) => {}
        Some(Value::String(h)) if scheme == "hmacSha256" => {
            let h = h.trim().to_ascii_lowercase();
            if axum::http::HeaderName::from_bytes(h.as_bytes()).is_err() {
                return Err(Error::field(
                    field,
                    format!("verification.header '{h}' is not a valid header name"),
                ));
            }
            out.insert("header".into(), json!(h));
        }
        Some(Value::String(_)) => {
            return Err(Error::field(
                field,
                "verification.header applies to the hmacSha256 scheme only".into(),
            ))
        }
        Some(_) => {
            return Err(Error::field(
                field,
                "verification.header must be a string".into(),
            ))
        }
    }
    Ok(Value::Object(out))
}

fn validate_ips(v: Option<&Value>) -> Result<Vec<String>, Error> {
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
                        Error::field(
                            field,
                            format!("allowedIPs: {i} is not an IP address such as 52.31.139.75 or 2001:db8::1"),
                        )
                    })
            })
            .collect(),
        Some(_) => Err(Error::field(
            field,
            "allowedIPs must be a list of IP addresses".into(),
        )),
    }
}

/// The path a configuration is called at.
fn call_path(row: &WebhookConfigRow) -> String {
    match (&row.url, &row.key) {
        (Some(u), _) => u.clone(),
        (None, Some(k)) => format!("{KEY_PREFIX}{k}"),
        (None, None) => String::new(),
    }
}

/// What an unverified configuration's answers say (seed 000's example has no verification).
pub(super) const UNVERIFIED_WARNING: &str = "unverified: this webhook checks no signature, so anyone who knows its URL can call it; set verification (standardWebhooks, paystack, stripe, flutterwave or hmacSha256)";

/// The warning of a configuration without a signature check: None when it has one. With
/// `allowedIPs`, only those addresses can call it, which the warning says.
fn unverified_warning(verification: &Value, allowed_ips: &Value) -> Option<String> {
    if verification["scheme"].as_str().is_some_and(|s| s != "none") {
        return None;
    }
    let limited = allowed_ips.as_array().is_some_and(|a| !a.is_empty());
    Some(if limited {
        format!("{UNVERIFIED_WARNING}; only requests from allowedIPs reach it")
    } else {
        format!("{UNVERIFIED_WARNING} or allowedIPs")
    })
}

/// A configuration as queries show it: never the secret; `executionCode` only when asked.
/// `verified` is false and `warning` says why for a configuration without a signature check.
fn view(row: &WebhookConfigRow, with_code: bool) -> Value {
    let verification: Value = serde_json::from_str(&row.verification).unwrap_or(json!({}));
    let allowed_ips = serde_json::from_str::<Value>(&row.allowed_ips).unwrap_or(json!([]));
    let warning = unverified_warning(&verification, &allowed_ips);
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
        "allowedIPs": allowed_ips,
        "verification": shown,
        "verified": warning.is_none(),
        "warning": warning,
        "isActive": row.is_active,
        "createdBy": row.created_by,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
    });
    crate::jobs::show_execution_fields(&mut v, &row.config, with_code);
    v
}

/// The answer of Create and Update: `id`, `key`, `url` (the path to call), `verified`,
/// `warnings` (the unverified warning, when it applies) and the configuration as shown.
fn saved_answer(what: &str, row: &WebhookConfigRow) -> (String, Value) {
    let config = view(row, true);
    let warnings: Vec<Value> = config["warning"]
        .as_str()
        .map(|w| json!(w))
        .into_iter()
        .collect();
    let message = if warnings.is_empty() {
        what.to_string()
    } else {
        format!("{what}, unverified: anyone who knows its URL can call it")
    };
    (
        message,
        json!({"id": row.id, "key": row.key, "url": call_path(row), "verified": config["verified"],
            "warnings": warnings, "config": config}),
    )
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

impl Runtime {
    fn validate_hook(&self, data: &Value) -> Result<Valid, Error> {
        let name = text(data, "name")?.trim().to_string();
        let url = opt_text(data, "url")?
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_string);
        if let Some(u) = &url {
            valid_url(u).map_err(|m| Error::field("url", m))?;
        }
        let mut key = opt_text(data, "key")?
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string);
        if let Some(k) = &key {
            valid_key(k).map_err(|m| Error::field("key", m))?;
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
                return Err(Error::field(
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

    fn save_hook(&self, id: Option<i64>, v: Valid, caller: &Caller) -> Result<i64, Error> {
        let now = self.now();
        let created_by = caller.user.as_ref().map(|u| u.name.clone());
        let config = Value::Object(v.config).to_string();
        let ips = json!(v.allowed_ips).to_string();
        let verification = v.verification.to_string();
        let (name, key, url, et, active) = (v.name, v.key, v.url, v.execution_type, v.is_active);
        let saved = self.write(move |tx| {
            if let Some(field) = tx.webhook_route_taken(url.as_deref(), key.as_deref(), id)? {
                let (f, value) = if field == "url" {
                    ("url", url.as_deref())
                } else {
                    ("key", key.as_deref())
                };
                return Err(Error::field(
                    f,
                    format!(
                        "another webhook configuration already uses {f} '{}'",
                        value.unwrap_or_default()
                    ),
                )
                .with_code(Code::Conflict));
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
                        return Err(Error::no_such(
                            "id",
                            format!("no webhook configuration {id}"),
                        ));
                    }
                    Ok(id)
                }
                None => Ok(tx.insert_webhook_config(&c, created_by.as_deref(), &now)?),
            }
        });
        // Requests from now on see the new configuration (a url or key may have moved too).
        self.webhook_cache.invalidate();
        saved
    }

    fn hook_row(&self, data: &Value) -> Result<WebhookConfigRow, Error> {
        let id = hook_id(data, "id")?;
        let found = self.store().webhook_config(id)?;
        found.ok_or_else(|| Error::no_such("id", format!("no webhook configuration {id}")))
    }

    /// CreateWebHookConfigCommand: answers `id`, `key` and `url` (the path to call).
    pub(crate) fn create_hook(&self, data: &Value, caller: &Caller) -> Answer {
        let v = self.validate_hook(data)?;
        let id = self.save_hook(None, v, caller)?;
        let row = self.hook_row(&json!({"id": id}))?;
        Ok(saved_answer("Webhook configuration created", &row))
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
        Ok(saved_answer("Webhook configuration updated", &row))
    }

    /// DeleteWebHookConfigCommand: the configuration; its requests stay in the log.
    pub(crate) fn delete_hook(&self, data: &Value) -> Answer {
        let id = hook_id(data, "id")?;
        let deleted = self.write(move |tx| Ok(tx.delete_webhook_config(id)?));
        self.webhook_cache.invalidate();
        if !deleted? {
            return Err(Error::no_such(
                "id",
                format!("no webhook configuration {id}"),
            ));
        }
        Ok(("Webhook configuration deleted".into(), json!({"id": id})))
    }

    /// ActivateWebHookConfigCommand / DeactivateWebHookConfigCommand.
    pub(crate) fn activate_hook(&self, data: &Value, active: bool) -> Answer {
        let id = hook_id(data, "id")?;
        let now = self.now();
        let changed = self.write(move |tx| Ok(tx.set_webhook_active(id, active, &now)?));
        self.webhook_cache.invalidate();
        if !changed? {
            return Err(Error::no_such(
                "id",
                format!("no webhook configuration {id}"),
            ));
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
            Error::no_such("key", format!("no webhook configuration with key '{key}'"))
        })?;
        Ok(("OK".into(), view(&row, false)))
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
}
