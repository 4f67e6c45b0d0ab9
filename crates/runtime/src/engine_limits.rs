//! The engine's limits as an administrator sets them (docs/limits.md), and the limit on the
//! instances one definition may start per second.
//!
//! `SetEngineLimitsCommand` stores the fields it is given in the `settings` table, under one
//! name (`engineLimits`, a JSON object holding only the fields set, so a field never set keeps
//! following Baton's default); `GetEngineLimitsQuery` answers every field. Every engine the
//! runtime builds from then on (deploy, reload of a stored definition, validation) runs under
//! them: a change empties the runtime's cache of engines, so the next step of every instance
//! uses the new values. The CLI passes the same JSON with `--limits <file.json>`.
//!
//! `maxInstancesPerSecond` is a token bucket per process key (every top-level start: a
//! command, a message or signal start event, a timer start event, a webhook, a job, `doCmd`;
//! not the processes a call activity starts inside an instance): full at that many starts,
//! refilled at that many a second on the runtime's clock. A start over it is refused with
//! code RATE_LIMITED; a timer start that is refused is tried again later, like any timer whose
//! firing failed. 0, the default, is no limit.

use crate::{Answer, Error, FieldError, Runtime};
use baton_engine::{Engine, Limits};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

/// The name of the row in the `settings` table.
const ROW: &str = "engineLimits";

/// Every field on the wire: (name, smallest, largest). Whole numbers only.
const FIELDS: &[(&str, i64, i64)] = &[
    ("maxSteps", 100, 1_000_000_000),
    ("maxCardinality", 1, 10_000_000),
    ("maxLiveInnerInstances", 1, 10_000_000),
    ("maxCallDepth", 1, 1_000),
    ("minTimerCycleSeconds", 1, 86_400),
    ("maxTimerWaitDays", 1, 36_500),
    ("scriptOperations", 1_000, 1_000_000_000),
    ("scriptTimeMillis", 10, 60_000),
    ("scriptMemoryMiB", 4, 4_096),
    ("maxInstancesPerSecond", 0, 1_000_000),
];

/// The limits every engine of a runtime runs under, and how many instances one process key
/// may start per second (0: no limit).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EngineSettings {
    pub limits: Limits,
    pub max_instances_per_second: u32,
}

impl EngineSettings {
    /// Every field by its wire name (the defaults for those never set).
    pub fn to_json(&self) -> Value {
        let l = &self.limits;
        serde_json::json!({
            "maxSteps": l.max_steps,
            "maxCardinality": l.max_cardinality,
            "maxLiveInnerInstances": l.max_live_inner_instances,
            "maxCallDepth": l.max_call_depth,
            "minTimerCycleSeconds": l.min_timer_cycle.as_secs(),
            "maxTimerWaitDays": l.max_timer_wait.as_secs() / 86_400,
            "scriptOperations": l.script_operations,
            "scriptTimeMillis": l.script_time.as_millis() as u64,
            "scriptMemoryMiB": l.script_memory >> 20,
            "maxInstancesPerSecond": self.max_instances_per_second,
        })
    }

    /// The defaults with `given`'s fields over them. `given` must be a JSON object; each field
    /// must be known and a whole number in its range (null: the default). The error names the
    /// first field that is not.
    pub fn from_json(given: &Value) -> Result<EngineSettings, FieldError> {
        let Value::Object(map) = given else {
            return Err(FieldError {
                field: "limits".into(),
                message: "the limits must be a JSON object such as {\"maxSteps\": 100000}".into(),
            });
        };
        let mut s = EngineSettings::default();
        for (name, v) in map {
            if let Some(n) = check(name, v)? {
                s.put(name, n);
            }
        }
        Ok(s)
    }

    /// Sets one field by its wire name from a value already checked.
    fn put(&mut self, name: &str, n: i64) {
        let l = &mut self.limits;
        let u = n.max(0) as u64;
        match name {
            "maxSteps" => l.max_steps = u,
            "maxCardinality" => l.max_cardinality = u,
            "maxLiveInnerInstances" => l.max_live_inner_instances = u,
            "maxCallDepth" => l.max_call_depth = u as u32,
            "minTimerCycleSeconds" => l.min_timer_cycle = SignedDuration::from_secs(n),
            "maxTimerWaitDays" => l.max_timer_wait = SignedDuration::from_secs(n * 86_400),
            "scriptOperations" => l.script_operations = u,
            "scriptTimeMillis" => l.script_time = std::time::Duration::from_millis(u),
            "scriptMemoryMiB" => l.script_memory = (u as usize) << 20,
            "maxInstancesPerSecond" => self.max_instances_per_second = u as u32,
            _ => {}
        }
    }

    /// The stored fields over the defaults; a field that cannot be read keeps its default (a
    /// row written by a newer Baton, say), with a warning in the log.
    fn from_stored(text: &str) -> EngineSettings {
        let mut s = EngineSettings::default();
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
            tracing::warn!("the stored engine limits cannot be read; using the defaults");
            return s;
        };
        for (name, v) in &map {
            match check(name, v) {
                Ok(Some(n)) => s.put(name, n),
                Ok(None) => {}
                Err(e) => tracing::warn!("stored engine limit ignored: {}", e.message),
            }
        }
        s
    }
}

/// Checks one field: its whole number, None for null (the default), or the error naming it.
fn check(name: &str, v: &Value) -> Result<Option<i64>, FieldError> {
    let err = |message: String| FieldError {
        field: name.to_string(),
        message,
    };
    let Some((_, min, max)) = FIELDS.iter().find(|(n, _, _)| *n == name) else {
        let known: Vec<&str> = FIELDS.iter().map(|(n, _, _)| *n).collect();
        return Err(err(format!(
            "unknown limit '{name}' (one of {})",
            known.join(", ")
        )));
    };
    if v.is_null() {
        return Ok(None);
    }
    match v.as_i64() {
        Some(n) if (*min..=*max).contains(&n) => Ok(Some(n)),
        _ => Err(err(format!(
            "{name} must be a whole number from {min} to {max}, not {v}"
        ))),
    }
}

/// A start's slot in its key's bucket.
struct Bucket {
    tokens: f64,
    at: Timestamp,
}

/// What a runtime holds: the settings (None until read from the store) and the buckets.
#[derive(Default)]
pub(crate) struct Held {
    settings: RwLock<Option<EngineSettings>>,
    buckets: Mutex<Buckets>,
}

#[derive(Default)]
struct Buckets {
    /// process key -> its bucket.
    by_key: HashMap<String, Bucket>,
    /// definition id -> its process key (read once from the store).
    keys: HashMap<i64, String>,
}

impl Buckets {
    /// Takes one start from `key`'s bucket of `rate` a second; Err is how long until one is
    /// free, in seconds.
    fn take(&mut self, key: &str, now: Timestamp, rate: u32) -> Result<(), f64> {
        let rate = f64::from(rate);
        let b = self.by_key.entry(key.to_string()).or_insert(Bucket {
            tokens: rate,
            at: now,
        });
        // A clock that went back refills nothing.
        let elapsed = now.duration_since(b.at).as_secs_f64().max(0.0);
        b.tokens = (b.tokens + elapsed * rate).min(rate);
        if now > b.at {
            b.at = now;
        }
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - b.tokens) / rate)
        }
    }
}

impl Runtime {
    /// The stored row of the engine limits, if an administrator set any.
    fn stored_limits(&self) -> Result<Option<String>, baton_store::StoreError> {
        let rows = self.store().settings()?;
        Ok(rows.into_iter().find(|(n, _)| n == ROW).map(|(_, v)| v))
    }

    /// The limits this runtime's engines run under, and the per-definition start rate: what an
    /// administrator stored (read once), else what the host set, else the defaults.
    pub fn engine_settings(&self) -> EngineSettings {
        let held = &self.engine_limits.settings;
        if let Some(s) = held.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return s.clone();
        }
        let loaded = match self.stored_limits() {
            Ok(Some(text)) => EngineSettings::from_stored(&text),
            Ok(None) => EngineSettings::default(),
            Err(e) => {
                // Not kept: the next engine built reads again.
                tracing::warn!("cannot read the engine limits, using the defaults: {e}");
                return EngineSettings::default();
            }
        };
        if loaded != EngineSettings::default() {
            tracing::info!(limits = %loaded.to_json(), "engine limits set by an administrator");
        }
        *held.write().unwrap_or_else(|p| p.into_inner()) = Some(loaded.clone());
        loaded
    }

    /// The engine limits for this runtime's life, not stored (`baton simulate`, `test` and
    /// `bench` with `--limits`). Engines built before keep theirs until rebuilt: set them
    /// before deploying.
    pub fn use_engine_settings(&self, settings: EngineSettings) {
        *self
            .engine_limits
            .settings
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(settings);
        self.forget_engines();
    }

    /// The limits engines are built with.
    pub(crate) fn limits(&self) -> Limits {
        self.engine_settings().limits
    }

    /// Builds the engine of a definition being deployed, under this runtime's limits.
    pub(crate) fn build_engine(
        &self,
        dep: baton_engine::model::Deployment,
    ) -> Result<(Engine, Vec<baton_engine::Problem>), Vec<baton_engine::Problem>> {
        Engine::with_limits(dep, self.limits())
    }

    /// Empties the cache of engines (each is rebuilt under the current limits when next used)
    /// and the start buckets.
    fn forget_engines(&self) {
        self.engines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let mut b = self
            .engine_limits
            .buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        b.by_key.clear();
    }

    /// Takes one start of definition `def` from its process key's bucket; RATE_LIMITED when
    /// the key started `maxInstancesPerSecond` instances in the last second. No limit (0):
    /// nothing is counted.
    pub(crate) fn admit_start(&self, def: i64) -> Result<(), Error> {
        let rate = self.engine_settings().max_instances_per_second;
        if rate == 0 {
            return Ok(());
        }
        let known = self
            .engine_limits
            .buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys
            .get(&def)
            .cloned();
        let key = match known {
            Some(k) => k,
            None => {
                let k = self.store().definition(def, false)?.process_key;
                self.engine_limits
                    .buckets
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .keys
                    .insert(def, k.clone());
                k
            }
        };
        let now = self.clock.now();
        let taken = self
            .engine_limits
            .buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(&key, now, rate);
        taken.map_err(|wait| {
            Error::rate_limited(format!(
                "process '{key}' may start at most {rate} instance(s) a second (maxInstancesPerSecond); try again in {:.1} s",
                wait.max(0.1)
            ))
        })
    }

    /// GetEngineLimitsQuery: every limit, with the defaults for those never set.
    pub(crate) fn get_engine_limits(&self) -> Answer {
        Ok(("OK".into(), self.engine_settings().to_json()))
    }

    /// SetEngineLimitsCommand: the fields given replace the stored ones (null: back to the
    /// default); answers them all. Nothing is stored when one field is wrong.
    pub(crate) fn set_engine_limits(&self, data: &Value) -> Answer {
        let given: Map<String, Value> = data.as_object().cloned().unwrap_or_default();
        if given.is_empty() {
            let names: Vec<&str> = FIELDS.iter().map(|(n, _, _)| *n).collect();
            return Err(Error::invalid(format!(
                "give at least one limit: {}",
                names.join(", ")
            )));
        }
        for (name, v) in &given {
            check(name, v).map_err(|e| Error::field(&e.field, e.message))?;
        }
        // The fields stored before, with the given ones over them (nulls removed).
        let mut stored = match self.stored_limits()? {
            Some(text) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            },
            None => Map::new(),
        };
        for (name, v) in given {
            if v.is_null() {
                stored.remove(&name);
            } else {
                stored.insert(name, v);
            }
        }
        let next = EngineSettings::from_stored(&Value::Object(stored.clone()).to_string());
        let text = Value::Object(stored).to_string();
        self.write(move |tx| Ok(tx.set_setting(ROW, &text)?))?;
        self.use_engine_settings(next.clone());
        Ok(("Engine limits saved".into(), next.to_json()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn given_fields_override_the_defaults() {
        let s = EngineSettings::from_json(&json!({"maxSteps": 500, "minTimerCycleSeconds": 60}))
            .unwrap();
        assert_eq!(s.limits.max_steps, 500);
        assert_eq!(s.limits.min_timer_cycle, SignedDuration::from_secs(60));
        assert_eq!(s.limits.max_cardinality, Limits::default().max_cardinality);
        assert_eq!(s.max_instances_per_second, 0);
        let back = EngineSettings::from_json(&s.to_json()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn defaults_read_back_as_themselves() {
        let d = EngineSettings::default();
        assert_eq!(EngineSettings::from_json(&d.to_json()).unwrap(), d);
    }

    #[test]
    fn a_bad_field_is_named() {
        for (given, field) in [
            (json!({"maxSteps": 0}), "maxSteps"),
            (json!({"maxCallDepth": 1e9}), "maxCallDepth"),
            (json!({"scriptTimeMillis": "2s"}), "scriptTimeMillis"),
            (json!({"maxCardinality": 2.5}), "maxCardinality"),
            (json!({"nope": 1}), "nope"),
        ] {
            let e = EngineSettings::from_json(&given).unwrap_err();
            assert_eq!(e.field, field, "{given}");
            assert!(e.message.contains(field), "{}", e.message);
        }
        assert_eq!(
            EngineSettings::from_json(&json!([1])).unwrap_err().field,
            "limits"
        );
    }

    #[test]
    fn a_bucket_refills_with_time() {
        let mut b = Buckets::default();
        let t0 = Timestamp::from_second(1_767_225_600).unwrap();
        for _ in 0..3 {
            assert!(b.take("p", t0, 3).is_ok());
        }
        let wait = b.take("p", t0, 3).unwrap_err();
        assert!((wait - 1.0 / 3.0).abs() < 1e-9, "{wait}");
        // Another key has its own bucket.
        assert!(b.take("q", t0, 3).is_ok());
        let later = t0 + SignedDuration::from_millis(340);
        assert!(b.take("p", later, 3).is_ok());
        assert!(b.take("p", later, 3).is_err());
        // A clock that goes back refills nothing and takes nothing it has not.
        assert!(b.take("p", t0, 3).is_err());
    }
}
