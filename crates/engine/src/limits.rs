//! The bounds the engine keeps, in one place, with their defaults.
//!
//! Every limit exists so that no model, variable or script can make one command run without end,
//! grow an instance without end or wait on the machine's time: a command that reaches one stops
//! with an incident naming the element (the instance can be fixed and retried), and a model
//! whose constant values break one is refused at deploy and by `baton lint`, naming the element,
//! line and column. docs/limits.md is the user's page for them.
//!
//! A host passes its own [`Limits`] to [`crate::Engine::with_limits`] (and
//! [`crate::validate::validate_with`] for lint); [`Limits::default`] is what `Engine::new` uses.
//! The runtime builds every engine with the limits an administrator stored
//! (`SetEngineLimitsCommand`, which names each field in camelCase: `maxSteps`,
//! `minTimerCycleSeconds`, ...), and the CLI with those of `--limits FILE.json`.

use jiff::SignedDuration;

/// The bounds one engine (one deployed definition) runs under. See the field docs for what each
/// counts and what happens when it is reached.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Work one command may do: every flow-node execution counts one, every multi-instance
    /// inner instance started and every called process started count one more, across called
    /// processes and multi-instance bodies alike. Reached: the element about to run and every
    /// other runnable token get an incident ("stopped after ... steps"), the instance is
    /// FAILED until retried. Default 1,000,000.
    pub max_steps: u64,
    /// Inner instances one multi-instance activity may run (its `loopCardinality` or the
    /// length of its collection). Larger: an incident on the activity. Default 100,000.
    pub max_cardinality: u64,
    /// Multi-instance inner instances alive at once in one process instance, nested
    /// multi-instance activities and called processes included. A parallel multi-instance
    /// activity that would go past it gets an incident. Default 100,000.
    pub max_live_inner_instances: u64,
    /// How deeply call activities may nest (a process calling a process calling ...). The call
    /// activity one level too deep gets an incident. Default 64.
    pub max_call_depth: u32,
    /// The shortest period a timer cycle may repeat at (`R/PT1S` is the default's fastest).
    /// Shorter: refused at deploy and by lint when written as a constant, an incident when an
    /// expression yields it. Default 1 second.
    pub min_timer_cycle: SignedDuration,
    /// The longest a timer may wait: a timeDuration, a timeCycle's period and a timeDate's
    /// distance from now (checked at run time: a model has no "now" at deploy). Longer:
    /// refused at deploy and by lint when the duration is a constant, an incident at run time.
    /// Default ten years of 365 days (as `TimeoutMinutes`).
    pub max_timer_wait: SignedDuration,
    /// Operations one script or expression run may perform: rhai's own count, or for
    /// JavaScript QuickJS's count of calls and loop turns, spent
    /// [`crate::script::JS_OPERATIONS_PER_CHECK`] at a time. Default 1,000,000.
    pub script_operations: u64,
    /// Wall time one script or expression run may take (a safety net behind the operation
    /// count). Default 2 seconds.
    pub script_time: std::time::Duration,
    /// Memory one JavaScript run may hold (QuickJS's heap, in bytes). Past it the run stops
    /// with "script stopped: it used more than N MiB of memory", an incident like the other
    /// script limits. rhai has no heap of its own to limit; its operation count bounds it.
    /// Default 64 MiB.
    pub script_memory: usize,
}

/// Ten years of 365 days, in seconds: the longest wait a timer or `TimeoutMinutes` may ask for.
pub const TEN_YEARS_SECS: i64 = 10 * 365 * 24 * 3600;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_steps: 1_000_000,
            max_cardinality: 100_000,
            max_live_inner_instances: 100_000,
            max_call_depth: 64,
            min_timer_cycle: SignedDuration::from_secs(1),
            max_timer_wait: SignedDuration::from_secs(TEN_YEARS_SECS),
            script_operations: crate::script::MAX_OPERATIONS,
            script_time: crate::script::MAX_RUN_TIME,
            script_memory: crate::script::MAX_JS_MEMORY,
        }
    }
}

/// A duration in the words limit messages use: `3650 days`, `1 s`, `0.5 s`, `250 ms`, `1 µs`.
pub(crate) fn words(d: SignedDuration) -> String {
    let secs = d.as_secs();
    if secs == 86_400 && d.subsec_nanos() == 0 {
        "1 day".to_string()
    } else if secs >= 86_400 && secs % 86_400 == 0 && d.subsec_nanos() == 0 {
        format!("{} days", secs / 86_400)
    } else if secs >= 1 {
        let s = format!("{:.3}", d.as_secs_f64());
        format!("{} s", s.trim_end_matches('0').trim_end_matches('.'))
    } else if d.as_micros() >= 1000 {
        format!("{} ms", d.as_millis())
    } else if d.as_nanos() >= 1000 {
        format!("{} µs", d.as_micros())
    } else {
        format!("{} ns", d.as_nanos())
    }
}
