//! What an administrator sets against abuse from outside (docs/security.md): how long and how
//! much of the webhook request log is kept, the rate limit per address on the doors without a
//! token, whether URLs given by non-administrators may reach private networks, and which
//! reverse proxies may say who the client is (`proxy`).
//!
//! Stored in the `settings` table (one JSON value per name) and read once into the runtime;
//! `SetSecuritySettingsCommand` changes the fields it is given and keeps the others.

use super::proxy::{ForwardHeader, Net};
use crate::{Answer, Error, Runtime};
use serde_json::{json, Map, Value};
use std::sync::{Arc, RwLock};

/// Trusted proxies an administrator may list, at most.
const MAX_PROXIES: usize = 256;

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
    /// Addresses and ranges of reverse proxies whose client-address header is believed, as
    /// written, and parsed (empty: none, the socket's address is the client's).
    pub(crate) trusted_proxies_text: Arc<[String]>,
    pub(crate) trusted_proxies: Arc<[Net]>,
    /// The header trusted proxies write the client's address in.
    pub(crate) client_address_header: ForwardHeader,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            webhook_log_max_age_days: 7,
            webhook_log_max_megabytes: 100,
            rate_limit_per_minute: 600,
            rate_limit_burst: 100,
            allow_private_outbound_urls: false,
            trusted_proxies_text: Arc::from(Vec::new()),
            trusted_proxies: Arc::from(Vec::new()),
            client_address_header: ForwardHeader::XForwardedFor,
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
const OTHERS: &[&str] = &["trustedProxies", "clientAddressHeader"];

impl Settings {
    fn to_json(&self) -> Value {
        json!({
            "webhookLogMaxAgeDays": self.webhook_log_max_age_days,
            "webhookLogMaxMegabytes": self.webhook_log_max_megabytes,
            "rateLimitPerMinute": self.rate_limit_per_minute,
            "rateLimitBurst": self.rate_limit_burst,
            "allowPrivateOutboundUrls": self.allow_private_outbound_urls,
            "trustedProxies": &*self.trusted_proxies_text,
            "clientAddressHeader": self.client_address_header.name(),
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
            "trustedProxies" => {
                let (text, nets) = proxies(v).unwrap_or_default();
                self.trusted_proxies_text = Arc::from(text);
                self.trusted_proxies = Arc::from(nets);
            }
            "clientAddressHeader" => {
                self.client_address_header = v
                    .as_str()
                    .and_then(ForwardHeader::parse)
                    .unwrap_or_default()
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

/// `trustedProxies`: a list of addresses and ranges, as written (trimmed) and parsed; Err
/// names the entry that is not one.
fn proxies(v: &Value) -> Result<(Vec<String>, Vec<Net>), String> {
    let Value::Array(items) = v else {
        return Err(
            "trustedProxies must be a list of IP addresses or CIDR ranges (such as [\"10.0.0.0/8\"]); [] trusts none"
                .into(),
        );
    };
    if items.len() > MAX_PROXIES {
        return Err(format!(
            "trustedProxies lists {} entries; at most {MAX_PROXIES}",
            items.len()
        ));
    }
    let mut text = Vec::with_capacity(items.len());
    let mut nets = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let parsed = item.as_str().map(|t| (t.trim(), Net::parse(t)));
        match parsed {
            Some((t, Some(net))) => {
                text.push(t.to_string());
                nets.push(net);
            }
            _ => {
                return Err(format!(
                    "trustedProxies[{i}]: {item} is not an IP address or a CIDR range (such as 192.0.2.10, 10.0.0.0/8 or fd00::/8)"
                ))
            }
        }
    }
    Ok((text, nets))
}

/// Checks one given field; Err is the message naming it.
fn check(name: &str, v: &Value) -> Result<(), String> {
    match name {
        "trustedProxies" => return proxies(v).map(|_| ()),
        "clientAddressHeader" => {
            return match v.as_str().and_then(ForwardHeader::parse) {
                Some(_) => Ok(()),
                None => Err(format!(
                    "clientAddressHeader must be one of {}",
                    ForwardHeader::NAMES.join(", ")
                )),
            }
        }
        _ => {}
    }
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
        .chain(OTHERS.iter().copied())
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
                "give at least one setting: webhookLogMaxAgeDays, webhookLogMaxMegabytes, rateLimitPerMinute, rateLimitBurst, allowPrivateOutboundUrls, trustedProxies, clientAddressHeader",
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
            ("trustedProxies".into(), r#"[" 10.0.0.0/8 ", "::1"]"#.into()),
            ("clientAddressHeader".into(), r#""forwarded""#.into()),
            ("webhookLogMaxAgeDays".into(), "1".into()),
            ("rateLimitBurst".into(), "\"many\"".into()),
            ("allowPrivateOutboundUrls".into(), "true".into()),
            ("other".into(), "3".into()),
        ]);
        assert_eq!(s.webhook_log_max_age_days, 1);
        assert_eq!(s.rate_limit_burst, 100);
        assert!(s.allow_private_outbound_urls);
        assert_eq!(&*s.trusted_proxies_text, ["10.0.0.0/8", "::1"]);
        assert_eq!(s.trusted_proxies.len(), 2);
        assert_eq!(s.to_json()["clientAddressHeader"], "Forwarded");
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
        let e = check("trustedProxies", &json!(["10.0.0.0/8", "proxy.local"])).unwrap_err();
        assert!(e.starts_with("trustedProxies[1]: \"proxy.local\""), "{e}");
        assert!(check("trustedProxies", &json!("10.0.0.1"))
            .unwrap_err()
            .contains("must be a list"));
        assert!(check("trustedProxies", &json!([])).is_ok());
        assert!(check("clientAddressHeader", &json!("forwarded")).is_ok());
        assert!(check("clientAddressHeader", &json!("X-Real-IP"))
            .unwrap_err()
            .contains("X-Forwarded-For, Forwarded"));
    }
}
