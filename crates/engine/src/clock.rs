//! Time enters the engine only through a `Clock`.
//!
//! The engine never reads the wall clock: `serve` and the desktop app pass a system clock,
//! `simulate` and scenario tests pass a `VirtualClock` that only moves when a step says so.
//! That is what makes a simulated run and a real run the same code.

use jiff::Timestamp;
use std::sync::atomic::{AtomicI64, Ordering};

/// The source of "now" for the engine.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// A clock that stands still until advanced. Used by `simulate`, `bench` and scenario tests.
#[derive(Debug)]
pub struct VirtualClock {
    nanos: AtomicI64,
}

impl VirtualClock {
    /// The default start of a simulation: 2026-01-01T00:00:00Z.
    pub fn default_start() -> Timestamp {
        Timestamp::from_second(1_767_225_600).expect("constant timestamp is valid")
    }
    pub fn new(start: Timestamp) -> Self {
        VirtualClock {
            nanos: AtomicI64::new(start.as_nanosecond() as i64),
        }
    }
    /// Moves the clock to `t` (never backwards).
    pub fn set(&self, t: Timestamp) {
        self.nanos
            .fetch_max(t.as_nanosecond() as i64, Ordering::SeqCst);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_nanosecond(self.nanos.load(Ordering::SeqCst) as i128)
            .expect("virtual clock holds a valid timestamp")
    }
}
