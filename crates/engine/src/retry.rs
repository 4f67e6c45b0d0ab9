//! `failedJobRetryTimeCycle`: how many times Baton tries a timer start event whose start fails,
//! or a task whose run fails, and how long it waits before each try again.
//!
//! Written as Camunda writes it (`<camunda:failedJobRetryTimeCycle>` inside `extensionElements`,
//! any prefix), or as an extension property of that name. Three forms:
//!
//! - `R5/PT5M`: at most 5 attempts in all (the first and 4 more), 5 minutes apart. The number is
//!   what Camunda sets a failed job's retries to: the attempts left, the first one included.
//! - `R4/PT1M,PT10M,PT1H`: at most 4 attempts; the first retry waits 1 minute, the second 10,
//!   every later one the last wait of the list (1 hour).
//! - `PT1M,PT10M`: one retry per wait, in order, so 3 attempts in all.
//!
//! Without the property a timer start event gets [`RetryCycle::default`]: 3 attempts, 1 minute
//! then 5 minutes apart; a task gets one attempt (its failure opens an incident at once, as
//! before retry cycles existed). A wait is an ISO 8601 duration of fixed length (days count as 24
//! hours; months and years, whose length varies, are refused).

use jiff::{SignedDuration, SpanRelativeTo};

/// The most attempts a cycle may ask for. A start that failed a hundred times in a row will not
/// succeed on its own: it needs a person, which the incident after the last attempt calls.
pub const MAX_ATTEMPTS: u32 = 100;

/// How a failing timer start event or task is tried again (see the module's comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryCycle {
    attempts: u32,
    /// The wait before the second attempt, the third, ...; the last one repeats. Never empty.
    waits: Vec<SignedDuration>,
}

impl Default for RetryCycle {
    fn default() -> RetryCycle {
        RetryCycle {
            attempts: 3,
            waits: vec![SignedDuration::from_mins(1), SignedDuration::from_mins(5)],
        }
    }
}

impl RetryCycle {
    /// Reads a cycle as written in a model. The error says what is wrong in words a modeller
    /// can act on, quoting the part it could not read.
    pub fn parse(text: &str) -> Result<RetryCycle, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err(format!(
                "is empty; write {EXAMPLES}, or leave the property out for {DEFAULT_WORDS}"
            ));
        }
        if t.contains("${") || t.contains("#{") {
            return Err(format!(
                "'{t}' is an expression: a timer start event has no instance to read one from, so write the cycle out, such as {EXAMPLES}"
            ));
        }
        let (attempts, list) = match t.strip_prefix('R') {
            Some(rest) => {
                let (n, list) = rest.split_once('/').ok_or_else(|| {
                    format!("'{t}' has no '/' after the number of attempts; write {EXAMPLES}")
                })?;
                let n: u32 = n.trim().parse().map_err(|_| {
                    format!("'{t}': 'R{n}' is not R followed by a whole number of attempts; write {EXAMPLES}")
                })?;
                if n == 0 || n > MAX_ATTEMPTS {
                    return Err(format!(
                        "'{t}' asks for {n} attempts: give from 1 to {MAX_ATTEMPTS}"
                    ));
                }
                (Some(n), list)
            }
            None => (None, t),
        };
        let waits = list
            .split(',')
            .map(|w| wait(w.trim(), t))
            .collect::<Result<Vec<_>, _>>()?;
        let attempts = match attempts {
            Some(n) => n,
            // One retry per wait, after the first attempt.
            None => u32::try_from(waits.len() + 1)
                .ok()
                .filter(|n| *n <= MAX_ATTEMPTS)
                .ok_or_else(|| {
                    format!(
                        "'{t}' lists {} waits: at most {} (one per retry)",
                        waits.len(),
                        MAX_ATTEMPTS - 1
                    )
                })?,
        };
        Ok(RetryCycle { attempts, waits })
    }

    /// The most attempts, the first one included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The attempts left after `failures` failed ones (0 once they are used up).
    pub fn retries_left(&self, failures: i64) -> i64 {
        (i64::from(self.attempts) - failures).max(0)
    }

    /// How long to wait after the `failures`-th failed attempt (1 for the first) before the
    /// next one.
    pub fn wait_after(&self, failures: i64) -> SignedDuration {
        let i = usize::try_from(failures - 1).unwrap_or(0);
        self.waits[i.min(self.waits.len() - 1)]
    }

    /// Every wait the cycle names (for checks against the host's limits).
    pub fn waits(&self) -> &[SignedDuration] {
        &self.waits
    }

    /// Why the cycle does not fit a host whose timers wait at most `limit`, in words; `None`
    /// when every wait fits. Deploy checks a cycle written out with it, a failing task the
    /// cycle its expression yields.
    pub fn too_long_for(&self, limit: SignedDuration) -> Option<String> {
        let w = self.waits.iter().find(|w| **w > limit)?;
        Some(format!(
            "waits {}, longer than a timer may wait here ({})",
            crate::limits::words(*w),
            crate::limits::words(limit)
        ))
    }
}

const EXAMPLES: &str = "R5/PT5M (5 attempts, 5 minutes apart), R4/PT1M,PT10M,PT1H or PT1M,PT10M";
const DEFAULT_WORDS: &str = "3 attempts, 1 and 5 minutes apart";

/// One wait of the list in `whole` (quoted in errors): an ISO 8601 duration above zero.
fn wait(w: &str, whole: &str) -> Result<SignedDuration, String> {
    if w.is_empty() {
        return Err(format!(
            "'{whole}' has an empty wait in its list; write {EXAMPLES}"
        ));
    }
    static PARSER: jiff::fmt::temporal::SpanParser = jiff::fmt::temporal::SpanParser::new();
    let span = PARSER.parse_span(w).map_err(|_| {
        let within = if w == whole.trim() {
            String::new()
        } else {
            format!(" in '{whole}'")
        };
        format!("'{w}'{within} is not an ISO 8601 duration such as PT5M or P1D")
    })?;
    let d = span
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|_| {
            format!("'{w}' in '{whole}' has months or years, whose length varies: give days, hours or minutes")
        })?;
    if d <= SignedDuration::ZERO {
        return Err(format!(
            "'{w}' in '{whole}' is not above zero: a retry needs a wait"
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mins(m: i64) -> SignedDuration {
        SignedDuration::from_mins(m)
    }

    #[test]
    fn each_form_gives_its_attempts_and_waits() {
        let c = RetryCycle::parse("R5/PT5M").unwrap();
        assert_eq!(c.attempts(), 5);
        assert_eq!(
            (1..=5).map(|f| c.wait_after(f)).collect::<Vec<_>>(),
            vec![mins(5); 5]
        );
        assert_eq!(c.retries_left(1), 4);
        assert_eq!(c.retries_left(5), 0);
        assert_eq!(c.retries_left(9), 0);

        let c = RetryCycle::parse(" R4/PT1M, PT10M ,P1D ").unwrap();
        assert_eq!(c.attempts(), 4);
        assert_eq!(
            (1..=4).map(|f| c.wait_after(f)).collect::<Vec<_>>(),
            [mins(1), mins(10), mins(1440), mins(1440)]
        );

        let c = RetryCycle::parse("PT30S,PT2M").unwrap();
        assert_eq!(c.attempts(), 3);
        assert_eq!(c.wait_after(1), SignedDuration::from_secs(30));
        assert_eq!(c.wait_after(2), mins(2));

        assert_eq!(
            RetryCycle::parse("R3/PT1M,PT5M").unwrap(),
            RetryCycle::default()
        );
        assert_eq!(RetryCycle::parse("R1/PT1M").unwrap().retries_left(1), 0);
    }

    #[test]
    fn bad_cycles_are_refused_naming_what_is_wrong() {
        for (text, says) in [
            ("", "is empty"),
            ("R5", "no '/'"),
            ("Rx/PT5M", "'Rx' is not R followed by a whole number"),
            ("R0/PT5M", "asks for 0 attempts"),
            ("R101/PT5M", "asks for 101 attempts"),
            ("R3/", "empty wait"),
            ("R3/PT1M,,PT2M", "empty wait"),
            (
                "R3/5 minutes",
                "'5 minutes' in 'R3/5 minutes' is not an ISO 8601 duration",
            ),
            ("R3/P1M", "months or years"),
            ("R3/PT0S", "not above zero"),
            ("R3/-PT1M", "not above zero"),
            ("${retryCycle}", "is an expression"),
        ] {
            let e = RetryCycle::parse(text).unwrap_err();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
