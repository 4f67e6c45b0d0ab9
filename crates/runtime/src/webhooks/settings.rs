//! What an administrator sets against abuse from outside (docs/security.md): how long and how
//! much of the webhook request log is kept, the rate limit per address on the doors without a
//! token, and whether URLs given by non-administrators may reach private networks.
//!
//! Stored in the `settings` table (one JSON value per name) and read once into the runtime;
//! `SetSecuritySettingsCommand` changes the fields it is given and keeps the others.

use crate::{Answer, Error, Runtime};
use serde_json::{json, Map, Value};
use std::sync::RwLock;

/// The administrator's settings, with their defaults.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// Request-log rows older than this are removed (0: kept whatever their age).
    pub(crate) webhook_log_max_age_days: i64,
    /// The request log is kept under this size, oldest rows first (0: no size limit).
    pub(crate) webhook_log_max_megabytes: i64,
    /// Requests per minute one address may make to `/webhook/...` and `/hooks/...` on average
    /// (0: no limit).
    pub(crate) rate_limit_per_minute: i64,
    /// How many requests an address may make at once before the average applies.
    pub(crate) rate_limit_burst: i64,
    /// Whether URLs given by non-administrators may reach loopback, link-local and private
    /// addresses.
    pub(crate) allow_private_outbound_urls: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            webhook_log_max_age_days: 7,
            webhook_log_max_megabytes: 100,
            rate_limit_per_minute: 600,
            rate_limit_burst: 100,
            allow_private_outbound_urls: false,
        }
    }
}

/// The settings by their names on the wire: (name, the largest value allowed).
const NUMBERS: &[(&str, i64)] = &[
    ("webhookLogMaxAgeDays", 36_500),
    ("webhookLogMaxMegabytes", 1_000_000),
    ("rateLimitPerMinute", 6_000_000),
    ("rateLimitBurst", 1_000_000),
];
const FLAGS: &[&str] = &["allowPrivateOutboundUrls"];

impl Settings {
    fn to_json(&self) -> Value {
        json!({
            "webhookLogMaxAgeDays": self.webhook_log_max_age_days,
            "webhookLogMaxMegabytes": self.webhook_log_max_megabytes,
            "rateLimitPerMinute": self.rate_limit_per_minute,
            "rateLimitBurst": self.rate_limit_burst,
            "allowPrivateOutboundUrls": self.allow_private_outbound_urls,
        })
    }

    /// Sets one field by its wire name from a value already checked.
    fn put(&mut self, name: &str, v: &Value) {
        let n = v.as_i64().unwrap_or_default();
        match name {
            "webhookLogMaxAgeDays" => self.webhook_log_max_age_days = n,
            "webhookLogMaxMegabytes" => self.webhook_log_max_megabytes = n,
            "rateLimitPerMinute" => self.rate_limit_per_minute = n,
            "rateLimitBurst" => self.rate_limit_burst = n,
            "allowPrivateOutboundUrls" => {
                self.allow_private_outbound_urls = v.as_bool().unwrap_or_default()
            }
            _ => {}
        }
    }

    /// The stored rows over the defaults; a row that cannot be read keeps the default.
    fn from_rows(rows: &[(String, String)]) -> Settings {
        let mut s = Settings::default();
        for (name, value) in rows {
            if let Ok(v) = serde_json::from_str::<Value>(value) {
                if check(name, &v).is_ok() {
                    s.put(name, &v);
                }
            }
        }
        s
    }
}

/// Checks one given field; Err is the message naming it.
fn check(name: &str, v: &Value) -> Result<(), String> {
    if let Some((_, max)) = NUMBERS.iter().find(|(n, _)| *n == name) {
        return match v.as_i64() {
            Some(n) if (0..=*max).contains(&n) => Ok(()),
            _ => Err(format!("{name} must be a whole number from 0 to {max}")),
        };
    }
    if FLAGS.contains(&name) {
        return if v.is_boolean() {
            Ok(())
        } else {
            Err(format!("{name} must be true or false"))
        };
    }
    let known: Vec<&str> = NUMBERS
        .iter()
        .map(|(n, _)| *n)
        .chain(FLAGS.iter().copied())
        .collect();
    Err(format!(
        "unknown setting '{name}' (one of {})",
        known.join(", ")
    ))
}

/// The settings as this runtime uses them: None until first read from the store.
#[derive(Default)]
pub(crate) struct Held(RwLock<Option<Settings>>);

impl Runtime {
    /// The administrator's settings (read from the store once; defaults when it cannot be).
    pub(crate) fn security(&self) -> Settings {
        let held = &self.webhook_cache.settings.0;
        if let Some(s) = held.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return s.clone();
        }
        let loaded = match self.store().settings() {
            Ok(rows) => Settings::from_rows(&rows),
            Err(e) => {
                // Not kept: the next request reads again.
                tracing::warn!("cannot read the security settings, using the defaults: {e}");
                return Settings::default();
            }
        };
        *held.write().unwrap_or_else(|p| p.into_inner()) = Some(loaded.clone());
        loaded
    }

    /// GetSecuritySettingsQuery: every setting, with the defaults for those never set.
    pub(crate) fn get_security_settings(&self) -> Answer {
        Ok(("OK".into(), self.security().to_json()))
    }

    /// SetSecuritySettingsCommand: the fields given replace the stored ones; answers them all.
    /// A smaller retention applies at once (the log is pruned before the answer).
    pub(crate) fn set_security_settings(&self, data: &Value) -> Answer {
        let given: Map<String, Value> = match data {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        if given.is_empty() {
            return Err(Error::invalid(
                "give at least one setting: webhookLogMaxAgeDays, webhookLogMaxMegabytes, rateLimitPerMinute, rateLimitBurst, allowPrivateOutboundUrls",
            ));
        }
        let mut next = self.security();
        for (name, v) in &given {
            check(name, v).map_err(|m| Error::field(name, m))?;
            next.put(name, v);
        }
        let rows: Vec<(String, String)> = given
            .iter()
            .map(|(n, v)| (n.clone(), v.to_string()))
            .collect();
        self.write(move |tx| {
            for (name, value) in &rows {
                tx.set_setting(name, value)?;
            }
            Ok(())
        })?;
        *self
            .webhook_cache
            .settings
            .0
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(next.clone());
        self.webhook_cache.limiter.forget_all();
        self.prune_webhook_log_now();
        Ok(("Security settings saved".into(), next.to_json()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_rows_override_defaults_and_bad_rows_keep_them() {
        let s = Settings::from_rows(&[
            ("webhookLogMaxAgeDays".into(), "1".into()),
            ("rateLimitBurst".into(), "\"many\"".into()),
            ("allowPrivateOutboundUrls".into(), "true".into()),
            ("other".into(), "3".into()),
        ]);
        assert_eq!(s.webhook_log_max_age_days, 1);
        assert_eq!(s.rate_limit_burst, 100);
        assert!(s.allow_private_outbound_urls);
    }

    #[test]
    fn checks_name_the_setting() {
        assert!(check("rateLimitPerMinute", &json!(-1))
            .unwrap_err()
            .contains("rateLimitPerMinute"));
        assert!(check("allowPrivateOutboundUrls", &json!(1))
            .unwrap_err()
            .contains("true or false"));
        assert!(check("nope", &json!(1))
            .unwrap_err()
            .contains("unknown setting 'nope'"));
        assert!(check("webhookLogMaxMegabytes", &json!(0)).is_ok());
    }
}
