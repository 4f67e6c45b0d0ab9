//! ISO 8601 timer schedules (timeDate, timeDuration, timeCycle).
//!
//! - timeDate: an RFC 3339 / ISO 8601 date-time with `Z` or an offset. One without an offset
//!   (`2026-03-01T09:00:00`) or a bare date (`2026-03-01`, midnight) is read as UTC: the engine
//!   has no "local" time zone, and guessing the server's would make a model behave differently on
//!   another machine.
//! - timeDuration: `PT30M`, `P1D`, `P1M`, `P2W`, `P1Y2M3DT4H5M6S`, `PT0.5S`.
//! - timeCycle: `R5/PT10S`, `R/PT1H` (forever), `R3/<date-time>/P1D`, `R/<date-time>/P1D`.
//!   A plain duration is rejected (Camunda does the same). A cron expression (`0 0 9 * * MON-FRI`,
//!   `0 18 L * *`; see [`crate::cron`]) is accepted too, as Camunda and Zeebe do, and is read in
//!   UTC: it repeats forever.
//!
//! Arithmetic is calendar-aware in UTC: `P1M` from 31 January is 28 (or 29) February, the day
//! being clamped to the month's end. A cycle adds its period to the previous due time, so a
//! monthly cycle that started on the 31st stays on the 28th after February (no drift back).
//! Sums that leave jiff's supported range (year 9999) saturate at the largest timestamp.
use crate::limits::{words, Limits};
use jiff::fmt::temporal::SpanParser;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};

/// A parsed timer, ready to compute due times.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Fires once at this instant.
    At(Timestamp),
    /// Fires once after this calendar-aware span from the moment the timer is armed.
    After(jiff::Span),
    /// Repeats: `repetitions` None = forever; `start` None = from the moment armed.
    Cycle {
        repetitions: Option<u32>,
        start: Option<Timestamp>,
        every: jiff::Span,
    },
    /// Repeats at the times a cron expression matches, in UTC.
    Cron(Box<crate::cron::Cron>),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TimerError(pub String);

const DATE_EXAMPLE: &str = "2026-03-01T09:00:00Z";
const DURATION_EXAMPLES: &str = "PT30M, P1D or P1Y2M3DT4H5M6S";
const CYCLE_EXAMPLES: &str = "R5/PT10S, R/PT1H or R3/2026-01-01T00:00:00Z/P1D";

/// Parses a timeDate value.
pub fn parse_date(text: &str) -> Result<Schedule, TimerError> {
    date(text.trim()).map(Schedule::At)
}

/// Parses a timeDuration value.
pub fn parse_duration(text: &str) -> Result<Schedule, TimerError> {
    let span = duration(text.trim())?;
    if span.is_negative() {
        return Err(TimerError(format!(
            "'{}' is negative: a timer cannot wait a negative time",
            text.trim()
        )));
    }
    Ok(Schedule::After(span))
}

/// Parses a timeCycle value.
pub fn parse_cycle(text: &str) -> Result<Schedule, TimerError> {
    let t = text.trim();
    if crate::cron::looks_like_cron(t) {
        return crate::cron::Cron::parse(t).map(|c| Schedule::Cron(Box::new(c)));
    }
    if t.is_empty() {
        return Err(TimerError(format!(
            "the timeCycle is empty; write an ISO 8601 repeating interval such as {CYCLE_EXAMPLES}"
        )));
    }
    let not_a_cycle = || {
        TimerError(format!(
            "'{t}' is not an ISO 8601 repeating interval such as {CYCLE_EXAMPLES}"
        ))
    };
    let Some(rest) = t.strip_prefix('R').or_else(|| t.strip_prefix('r')) else {
        if duration(t).is_ok() {
            return Err(TimerError(format!(
                "'{t}' is a duration, not a cycle: write R/{t} to repeat it forever or R5/{t} to repeat it five times"
            )));
        }
        return Err(not_a_cycle());
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let repetitions = match parts[0] {
        "" => None,
        n => match n.parse::<u32>() {
            Ok(0) => {
                return Err(TimerError(format!(
                    "'{t}' repeats zero times; use R1 or more, or R for forever"
                )))
            }
            Ok(n) => Some(n),
            Err(_) => {
                return Err(TimerError(format!(
                    "'{t}': the repetition count '{n}' is not a whole number"
                )))
            }
        },
    };
    let (start, period) = match parts.as_slice() {
        [_, period] => (None, *period),
        [_, start, period] => (Some(date(start)?), *period),
        _ => return Err(not_a_cycle()),
    };
    if period.starts_with(['P', 'p', '-', '+']) {
        let every = duration(period)?;
        if every.is_negative() || every.is_zero() {
            return Err(TimerError(format!(
                "'{t}': the period '{period}' must be longer than zero"
            )));
        }
        Ok(Schedule::Cycle {
            repetitions,
            start,
            every,
        })
    } else {
        // ISO 8601 also allows start/end and duration/end intervals; Camunda does not run them.
        Err(TimerError(format!(
            "'{t}': only R<n>/<duration> and R<n>/<start>/<duration> cycles are supported, such as {CYCLE_EXAMPLES}"
        )))
    }
}

fn date(t: &str) -> Result<Timestamp, TimerError> {
    let bad = || {
        TimerError(format!(
            "'{t}' is not an ISO 8601 date-time such as {DATE_EXAMPLE}"
        ))
    };
    if t.is_empty() {
        return Err(TimerError(format!(
            "the date-time is empty; write one such as {DATE_EXAMPLE}"
        )));
    }
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    // No offset: UTC (see the module comment). jiff's civil parser also takes a bare date.
    let civil: jiff::civil::DateTime = t.parse().map_err(|_| bad())?;
    civil
        .to_zoned(TimeZone::UTC)
        .map(|z| z.timestamp())
        .map_err(|_| bad())
}

fn duration(t: &str) -> Result<Span, TimerError> {
    if t.is_empty() {
        return Err(TimerError(format!(
            "the duration is empty; write an ISO 8601 duration such as {DURATION_EXAMPLES}"
        )));
    }
    // The temporal parser takes ISO 8601 only (not jiff's "1 day" friendly format).
    static PARSER: SpanParser = SpanParser::new();
    PARSER.parse_span(t).map_err(|_| {
        TimerError(format!(
            "'{t}' is not an ISO 8601 duration such as {DURATION_EXAMPLES}"
        ))
    })
}

/// `at + span` on the UTC calendar (months clamp to the month's last day), saturating.
fn add(at: Timestamp, span: Span) -> Timestamp {
    at.to_zoned(TimeZone::UTC)
        .checked_add(span)
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MAX)
}

impl Schedule {
    /// The first due time when armed at `armed` (UTC calendar arithmetic).
    /// A date in the past is still answered as is: the executor fires it at once.
    pub fn first_due(&self, armed: Timestamp) -> Timestamp {
        match self {
            Schedule::At(t) => *t,
            Schedule::After(span) => add(armed, *span),
            Schedule::Cycle { start: Some(s), .. } if *s >= armed => *s,
            Schedule::Cycle { every, .. } => add(armed, *every),
            // An expression that never matches again waits forever.
            Schedule::Cron(c) => c
                .next_after(armed, &TimeZone::UTC)
                .unwrap_or(Timestamp::MAX),
        }
    }

    /// For cycles: the due time after `previous`, given how many times it has fired so far.
    /// `None` when the cycle is exhausted (or for one-shot schedules).
    pub fn next_after(&self, previous: Timestamp, fired: u32) -> Option<Timestamp> {
        match self {
            Schedule::Cycle {
                repetitions, every, ..
            } => {
                if repetitions.is_some_and(|r| fired >= r) {
                    return None;
                }
                let next = add(previous, *every);
                // Saturated at the end of time: nothing more to fire.
                (next > previous).then_some(next)
            }
            Schedule::Cron(c) => c.next_after(previous, &TimeZone::UTC),
            _ => None,
        }
    }

    /// The first due time of a repeating schedule after `now`, once it fired at `previous`
    /// (`fired` times so far): repetitions that fell due while nothing ran are skipped, keeping
    /// the cycle's phase. Jumps straight there for periods of fixed length (no months or
    /// years), so a short cycle that was idle for years costs no more than one that was not.
    /// `None` when the cycle is exhausted (or for one-shot schedules).
    pub fn next_due_after(
        &self,
        previous: Timestamp,
        fired: u32,
        now: Timestamp,
    ) -> Option<Timestamp> {
        let mut next = match self {
            Schedule::Cycle { every, .. } if fixed_length(every) && previous < now => {
                let first = self.next_after(previous, fired)?;
                let step = previous.duration_until(first).as_nanos();
                let behind = previous.duration_until(now).as_nanos();
                if step <= 0 {
                    return None;
                }
                // The last repetition at or before now, then the loop below takes one step.
                let skip = behind / step;
                let at = previous
                    .as_nanosecond()
                    .saturating_add(skip.saturating_mul(step));
                let at = Timestamp::from_nanosecond(at).unwrap_or(Timestamp::MAX);
                if at <= previous {
                    Some(first)
                } else if at == Timestamp::MAX {
                    return None;
                } else {
                    Some(at)
                }
            }
            Schedule::Cron(c) => c.next_after(previous.max(now), &TimeZone::UTC),
            _ => self.next_after(previous, fired),
        };
        while let Some(n) = next.filter(|n| *n <= now) {
            next = self.next_after(n, fired);
        }
        next
    }

    /// Whether this schedule keeps `limits`: a cycle repeats no faster than
    /// `min_timer_cycle`, and no wait (a duration, a cycle's period) is longer than
    /// `max_timer_wait`, measured from `from` (calendar units are measured on the calendar
    /// there). A timeDate is checked against `from` too, so pass the moment the timer is armed
    /// (deploy-time checks skip dates: a model has no "now"). The error says what to write.
    pub fn check(&self, limits: &Limits, from: Timestamp, dates: bool) -> Result<(), TimerError> {
        let max = limits.max_timer_wait;
        let too_long = |what: &str, d: SignedDuration| {
            TimerError(format!(
                "{what} waits {}, longer than the limit of {} (a timer may wait at most {})",
                long_words(d),
                words(max),
                words(max)
            ))
        };
        match self {
            Schedule::At(t) if dates => {
                let d = from.duration_until(*t);
                if d > max {
                    return Err(too_long(&format!("'{t}'"), d));
                }
            }
            Schedule::At(_) => {}
            Schedule::After(span) => {
                let d = span_length(*span, from);
                if d > max {
                    return Err(too_long("the duration", d));
                }
            }
            Schedule::Cycle { every, start, .. } => {
                let d = span_length(*every, from);
                if d < limits.min_timer_cycle {
                    return Err(TimerError(format!(
                        "the cycle repeats every {}, more often than the limit of once every {}: repeat less often (for example R/PT{}S)",
                        words(d),
                        words(limits.min_timer_cycle),
                        limits.min_timer_cycle.as_secs().max(1)
                    )));
                }
                if d > max {
                    return Err(too_long("the cycle's period", d));
                }
                if let Some(s) = start.filter(|_| dates) {
                    let d = from.duration_until(s);
                    if d > max {
                        return Err(too_long(&format!("the cycle's start '{s}'"), d));
                    }
                }
            }
            Schedule::Cron(c) => {
                // A cron expression fires at whole seconds; sample its first gaps for a
                // minimum above one second.
                if limits.min_timer_cycle > SignedDuration::from_secs(1) {
                    let mut at = c.next_after(from, &TimeZone::UTC);
                    for _ in 0..60 {
                        let (Some(a), Some(b)) =
                            (at, at.and_then(|a| c.next_after(a, &TimeZone::UTC)))
                        else {
                            break;
                        };
                        let gap = a.duration_until(b);
                        if gap < limits.min_timer_cycle {
                            return Err(TimerError(format!(
                                "the cron expression '{}' fires {} apart, more often than the limit of once every {}",
                                c.as_str(),
                                words(gap),
                                words(limits.min_timer_cycle)
                            )));
                        }
                        at = Some(b);
                    }
                }
            }
        }
        Ok(())
    }
}

/// How long `span` lasts from `from` on the UTC calendar (saturating at the end of time).
fn span_length(span: Span, from: Timestamp) -> SignedDuration {
    from.duration_until(add(from, span))
}

/// A span whose length does not depend on the calendar in UTC: no months or years (days and
/// weeks are 24 hours and 7 days in UTC).
fn fixed_length(span: &Span) -> bool {
    span.get_years() == 0 && span.get_months() == 0
}

/// A long duration in whole days (ten or more), else as [`words`].
fn long_words(d: SignedDuration) -> String {
    if d.as_secs() >= 864_000 {
        format!("{} days", d.as_secs() / 86_400)
    } else {
        words(d)
    }
}
