//! PLACEHOLDER: ISO 8601 timer schedules (timeDate, timeDuration, timeCycle). Interface fixed here.
use jiff::Timestamp;

/// A parsed timer, ready to compute due times.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Fires once at this instant.
    At(Timestamp),
    /// Fires once after this calendar-aware span from the moment the timer is armed.
    After(jiff::Span),
    /// Repeats: `repetitions` None = forever; `start` None = from the moment armed.
    Cycle { repetitions: Option<u32>, start: Option<Timestamp>, every: jiff::Span },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TimerError(pub String);

/// Parses a timeDate value.
pub fn parse_date(text: &str) -> Result<Schedule, TimerError> { let _ = text; todo!() }
/// Parses a timeDuration value.
pub fn parse_duration(text: &str) -> Result<Schedule, TimerError> { let _ = text; todo!() }
/// Parses a timeCycle value.
pub fn parse_cycle(text: &str) -> Result<Schedule, TimerError> { let _ = text; todo!() }

impl Schedule {
    /// The first due time when armed at `armed` (UTC calendar arithmetic).
    pub fn first_due(&self, armed: Timestamp) -> Timestamp { let _ = armed; todo!() }
    /// For cycles: the due time after `previous`, given how many times it has fired so far.
    /// `None` when the cycle is exhausted (or for one-shot schedules).
    pub fn next_after(&self, previous: Timestamp, fired: u32) -> Option<Timestamp> { let _ = (previous, fired); todo!() }
}
