//! What a request needs of its configuration, prepared once per configuration and kept until
//! a configuration command changes one: the stored row, its parsed configuration, verification
//! settings and allowed addresses, and the `commandData` mapping as a tree of expressions. Any
//! create, update, delete, activation or deactivation empties the cache (`invalidate`), and a
//! generation number stops a request that read the old row before that from putting it back.
//!
//! It also holds what the abuse limits keep between requests: the administrator's settings,
//! the rate-limit buckets and the retention's bookkeeping.
//!
//! The request log's ids are numbered here too (see [`Cache::next_request_id`]), so that a
//! request's row can be written in the transaction of the step it causes.

use super::mapping::Mapping;
use crate::{Error, Runtime};
use baton_store::WebhookConfigRow;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How a request names its configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Lookup {
    Key(String),
    Url(String),
}

/// A configuration as a request uses it.
pub(super) struct Prepared {
    pub(super) row: WebhookConfigRow,
    /// The stored configuration, parsed (Err: why it cannot be read).
    pub(super) config: Result<Value, String>,
    pub(super) verification: Value,
    pub(super) allowed: Vec<String>,
    /// Execution type 0: the `commandData` mapping.
    pub(super) mapping: Option<Mapping>,
}

impl Prepared {
    pub(super) fn of(row: WebhookConfigRow) -> Prepared {
        let config: Result<Value, String> = serde_json::from_str(&row.config)
            .map_err(|e| format!("stored webhook configuration is unreadable: {e}"));
        let mapping = match (&config, row.execution_type) {
            (Ok(c), 0) => Some(Mapping::of(&c["commandData"])),
            _ => None,
        };
        Prepared {
            verification: serde_json::from_str(&row.verification).unwrap_or(Value::Null),
            allowed: serde_json::from_str(&row.allowed_ips).unwrap_or_default(),
            config,
            mapping,
            row,
        }
    }
}

#[derive(Default)]
struct Entries {
    generation: u64,
    by: HashMap<Lookup, Arc<Prepared>>,
}

/// The prepared configurations of one runtime, and its request numbering.
#[derive(Default)]
pub(crate) struct Cache {
    entries: Mutex<Entries>,
    /// The last request id given; None until first needed (then read from the store).
    last_request: Mutex<Option<i64>>,
    /// The administrator's settings against abuse (`settings`).
    pub(super) settings: super::settings::Held,
    /// Rate-limit buckets per address (`limits`).
    pub(super) limiter: super::limits::Limiter,
    /// When the request log was last pruned (`retention`).
    pub(super) retention: super::retention::Retention,
    /// The sender ids of requests running now (`dedupe`).
    pub(super) in_flight: super::dedupe::InFlight,
    /// The sender's client for URLs non-administrators gave (`outbound`).
    pub(super) checked_agent: std::sync::OnceLock<ureq::Agent>,
}

impl Cache {
    /// Forgets every prepared configuration: called after each configuration change commits.
    pub(crate) fn invalidate(&self) {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.generation += 1;
        e.by.clear();
    }
}

impl Runtime {
    /// The configuration a request names, prepared; None when nothing is configured there.
    pub(super) fn prepared(&self, lookup: &Lookup) -> Result<Option<Arc<Prepared>>, Error> {
        let cache = &self.webhook_cache;
        let generation = {
            let e = cache.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(p) = e.by.get(lookup) {
                return Ok(Some(p.clone()));
            }
            e.generation
        };
        let found = match lookup {
            Lookup::Key(k) => self.store().webhook_config_by_key(k)?,
            Lookup::Url(u) => self.store().webhook_config_by_url(u)?,
        };
        let Some(row) = found else { return Ok(None) };
        let prepared = Arc::new(Prepared::of(row));
        let mut e = cache.entries.lock().unwrap_or_else(|p| p.into_inner());
        // A configuration changed while the row was read: answer it, keep nothing.
        if e.generation == generation {
            e.by.insert(lookup.clone(), prepared.clone());
        }
        Ok(Some(prepared))
    }

    /// The id the next request-log row gets: one above any used before.
    /// Hands back `id`, the last number taken, so that the log's numbers stay without a gap
    /// (a request run again on a blocking thread takes its number again: `inline`). A number
    /// another request took since stays taken.
    pub(super) fn give_back_request_id(&self, id: i64) {
        let mut last = self
            .webhook_cache
            .last_request
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if *last == Some(id) {
            *last = Some(id - 1);
        }
    }

    pub(super) fn next_request_id(&self) -> Result<i64, Error> {
        let mut last = self
            .webhook_cache
            .last_request
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let next = match *last {
            Some(n) => n + 1,
            None => self.store().webhook_request_high()? + 1,
        };
        *last = Some(next);
        Ok(next)
    }
}
