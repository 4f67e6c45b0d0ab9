//! Cron expressions, for timeCycle timers and recurring jobs.
//!
//! Parsing and matching are croner's: Unix 5-field (`m h dom mon dow`), 6-field with seconds
//! first, 7-field with a year last; names (`MON`, `JAN`), `L` (last day, last weekday), `W`
//! (nearest weekday), `#` (nth weekday), `?` as a wildcard in the day fields, and `@daily`-style
//! nicknames. Weekdays count as in Unix cron: 0 and 7 are Sunday.
//!
//! Time zones are jiff's: croner walks wall-clock time through chrono's `TimeZone` trait, and
//! [`Zone`] answers that trait from a `jiff::tz::TimeZone`, so Baton has one time-zone database.
//! Across DST: in a repeated (fall-back) hour every wall-clock time runs once, at its first
//! occurrence, so nothing runs twice; a fixed-time job whose time falls in a skipped
//! (spring-forward) hour runs at the first instant after the gap, so it is not missed; an
//! interval job (`*/15 * * * *`) runs at the wall-clock times that exist.
//!
//! Pure: looking up a zone by name (which may read the system's database) is the caller's job.

use crate::timer::TimerError;
use chrono::{FixedOffset, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use croner::parser::{CronParser, Seconds, Year};
use jiff::Timestamp;

/// A parsed cron expression.
#[derive(Debug, Clone)]
pub struct Cron {
    cron: croner::Cron,
    text: String,
}

const FIELDS_5: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];
const FIELDS_6: [&str; 6] = [
    "second",
    "minute",
    "hour",
    "day-of-month",
    "month",
    "day-of-week",
];
const FIELDS_7: [&str; 7] = [
    "second",
    "minute",
    "hour",
    "day-of-month",
    "month",
    "day-of-week",
    "year",
];

fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Optional)
        .build()
}

/// Whether `text` looks like a cron expression rather than an ISO 8601 interval.
pub fn looks_like_cron(text: &str) -> bool {
    let t = text.trim();
    t.starts_with('@') || (5..=7).contains(&t.split_whitespace().count())
}

impl Cron {
    /// Parses an expression; the error names the field that is wrong and says why.
    pub fn parse(text: &str) -> Result<Cron, TimerError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(TimerError(
                "the cron expression is empty; write one such as '0 9 * * MON-FRI' (minute hour day-of-month month day-of-week)".into(),
            ));
        }
        match parser().parse(t) {
            Ok(cron) => Ok(Cron {
                cron,
                text: t.to_string(),
            }),
            Err(e) => Err(TimerError(explain(t, &e))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first run strictly after `after`, reading the expression's wall-clock fields in `zone`.
    /// `None` when it never matches again (a year in the past, 30 February).
    pub fn next_after(&self, after: Timestamp, zone: &jiff::tz::TimeZone) -> Option<Timestamp> {
        let z = Zone(zone.clone());
        // croner works in whole seconds: start from the second `after` is in.
        let mut from = after.as_second();
        // croner walks wall-clock time and answers the first instant of a repeated wall-clock
        // time; from inside the second pass of a repeated hour that instant is in the past, so
        // step on until the answer is later than `after` (at most the length of the fold).
        for _ in 0..4 {
            let start = z.timestamp_opt(from, 0).single()?;
            let next = self.cron.find_next_occurrence(&start, false).ok()?;
            let next = Timestamp::new(next.timestamp(), next.nanosecond() as i32).ok()?;
            if next > after {
                return Some(next);
            }
            from = next.as_second();
        }
        None
    }

    /// The next `count` runs strictly after `after` (fewer when the expression runs out).
    pub fn upcoming(
        &self,
        after: Timestamp,
        zone: &jiff::tz::TimeZone,
        count: usize,
    ) -> Vec<Timestamp> {
        let mut out = Vec::with_capacity(count);
        let mut at = after;
        while out.len() < count {
            match self.next_after(at, zone) {
                Some(next) if next > at => {
                    out.push(next);
                    at = next;
                }
                _ => break,
            }
        }
        out
    }
}

/// Finds the field croner refused by parsing each field alone among wildcards.
fn explain(text: &str, e: &croner::errors::CronError) -> String {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let names: &[&str] = match parts.len() {
        5 => &FIELDS_5,
        6 => &FIELDS_6,
        7 => &FIELDS_7,
        _ if text.starts_with('@') => {
            return format!("'{text}' is not a known nickname; use @yearly, @monthly, @weekly, @daily or @hourly")
        }
        n => {
            return format!(
                "'{text}' has {n} field{}; a cron expression has 5 (minute hour day-of-month month day-of-week), 6 (seconds first) or 7 (a year last)",
                if n == 1 { "" } else { "s" }
            )
        }
    };
    for (i, name) in names.iter().enumerate() {
        let probe: Vec<&str> = (0..parts.len())
            .map(|j| if j == i { parts[j] } else { "*" })
            .collect();
        if parser().parse(&probe.join(" ")).is_err() {
            return format!(
                "'{text}': the {name} field '{}' is not valid ({e})",
                parts[i]
            );
        }
    }
    format!("'{text}' is not a valid cron expression ({e})")
}

/// A jiff time zone seen through chrono's `TimeZone` trait, for croner.
#[derive(Clone, Debug)]
pub struct Zone(pub jiff::tz::TimeZone);

/// An offset that remembers its zone (chrono rebuilds the zone from the offset).
#[derive(Clone, Debug)]
pub struct ZoneOffset {
    zone: jiff::tz::TimeZone,
    fixed: FixedOffset,
}

impl chrono::Offset for ZoneOffset {
    fn fix(&self) -> FixedOffset {
        self.fixed
    }
}

impl std::fmt::Display for ZoneOffset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.fixed)
    }
}

impl Zone {
    fn offset(&self, o: jiff::tz::Offset) -> ZoneOffset {
        let fixed = FixedOffset::east_opt(o.seconds())
            .unwrap_or(FixedOffset::east_opt(0).expect("zero offset"));
        ZoneOffset {
            zone: self.0.clone(),
            fixed,
        }
    }
}

fn civil(local: &NaiveDateTime) -> Option<jiff::civil::DateTime> {
    use chrono::Datelike;
    jiff::civil::DateTime::new(
        i16::try_from(local.year()).ok()?,
        local.month() as i8,
        local.day() as i8,
        local.hour() as i8,
        local.minute() as i8,
        local.second() as i8,
        local.nanosecond().min(999_999_999) as i32,
    )
    .ok()
}

impl TimeZone for Zone {
    type Offset = ZoneOffset;

    fn from_offset(offset: &ZoneOffset) -> Self {
        Zone(offset.zone.clone())
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> LocalResult<ZoneOffset> {
        self.offset_from_local_datetime(&local.and_hms_opt(0, 0, 0).expect("midnight"))
    }

    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> LocalResult<ZoneOffset> {
        use jiff::tz::AmbiguousOffset;
        let Some(dt) = civil(local) else {
            return LocalResult::None;
        };
        match self.0.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => LocalResult::Single(self.offset(offset)),
            AmbiguousOffset::Gap { .. } => LocalResult::None,
            // The earlier instant carries the offset from before the transition.
            AmbiguousOffset::Fold { before, after } => {
                LocalResult::Ambiguous(self.offset(before), self.offset(after))
            }
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> ZoneOffset {
        self.offset_from_utc_datetime(&utc.and_hms_opt(0, 0, 0).expect("midnight"))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> ZoneOffset {
        let secs = utc.and_utc().timestamp();
        let ts = Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH);
        self.offset(self.0.to_offset(ts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn utc() -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::UTC
    }

    #[test]
    fn five_six_and_seven_fields() {
        let c = Cron::parse("30 9 * * *").unwrap();
        assert_eq!(
            c.next_after(ts("2026-03-01T09:30:00Z"), &utc()),
            Some(ts("2026-03-02T09:30:00Z"))
        );
        let c = Cron::parse("15 30 9 * * *").unwrap();
        assert_eq!(
            c.next_after(ts("2026-03-01T00:00:00Z"), &utc()),
            Some(ts("2026-03-01T09:30:15Z"))
        );
        let c = Cron::parse("0 0 0 1 1 * 2027").unwrap();
        assert_eq!(
            c.next_after(ts("2026-03-01T00:00:00Z"), &utc()),
            Some(ts("2027-01-01T00:00:00Z"))
        );
        assert_eq!(
            c.next_after(ts("2027-01-01T00:00:00Z"), &utc()),
            None,
            "the year is over"
        );
    }

    #[test]
    fn month_end_nth_weekday_and_nearest_weekday() {
        let c = Cron::parse("0 18 L * *").unwrap();
        let runs = c.upcoming(ts("2026-01-15T00:00:00Z"), &utc(), 3);
        assert_eq!(
            runs,
            [
                ts("2026-01-31T18:00:00Z"),
                ts("2026-02-28T18:00:00Z"),
                ts("2026-03-31T18:00:00Z")
            ]
        );
        // The second Monday.
        let c = Cron::parse("0 9 * * MON#2").unwrap();
        assert_eq!(
            c.next_after(ts("2026-03-01T00:00:00Z"), &utc()),
            Some(ts("2026-03-09T09:00:00Z"))
        );
        // 15 August 2026 is a Saturday: the nearest weekday is Friday the 14th.
        let c = Cron::parse("0 9 15W * *").unwrap();
        assert_eq!(
            c.next_after(ts("2026-08-01T00:00:00Z"), &utc()),
            Some(ts("2026-08-14T09:00:00Z"))
        );
    }

    #[test]
    fn wall_clock_in_a_zone_across_dst() {
        let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
        // 09:00 New York is 14:00 UTC in winter and 13:00 UTC in summer (DST began 8 March 2026).
        let c = Cron::parse("0 9 * * *").unwrap();
        let runs = c.upcoming(ts("2026-03-06T00:00:00Z"), &ny, 3);
        assert_eq!(
            runs,
            [
                ts("2026-03-06T14:00:00Z"),
                ts("2026-03-07T14:00:00Z"),
                ts("2026-03-08T13:00:00Z")
            ]
        );
        // 02:30 does not exist on 8 March: it runs once, at the first instant after the gap.
        let c = Cron::parse("30 2 * * *").unwrap();
        let runs = c.upcoming(ts("2026-03-07T12:00:00Z"), &ny, 2);
        assert_eq!(
            runs,
            [ts("2026-03-08T07:00:00Z"), ts("2026-03-09T06:30:00Z")]
        );
        // 01:30 happens twice on 1 November (fall back): a fixed-time job runs once.
        let c = Cron::parse("30 1 * * *").unwrap();
        let runs = c.upcoming(ts("2026-10-31T12:00:00Z"), &ny, 2);
        assert_eq!(
            runs,
            [ts("2026-11-01T05:30:00Z"), ts("2026-11-02T06:30:00Z")]
        );
        // An interval job runs each wall-clock time of the repeated hour once: 01:00 and 01:30
        // EDT, then 02:00 EST (01:00 and 01:30 EST are not run again).
        let c = Cron::parse("*/30 * * * *").unwrap();
        let runs = c.upcoming(ts("2026-11-01T04:45:00Z"), &ny, 3);
        assert_eq!(
            runs,
            [
                ts("2026-11-01T05:00:00Z"),
                ts("2026-11-01T05:30:00Z"),
                ts("2026-11-01T07:00:00Z")
            ]
        );
        // From inside the second pass of the hour, the next run is never in the past.
        assert_eq!(
            c.next_after(ts("2026-11-01T06:10:00Z"), &ny),
            Some(ts("2026-11-01T07:00:00Z"))
        );
    }

    #[test]
    fn errors_name_the_field() {
        let e = Cron::parse("0 61 * * *").unwrap_err().0;
        assert!(e.contains("the hour field '61'"), "{e}");
        let e = Cron::parse("0 9 * * FUNDAY").unwrap_err().0;
        assert!(e.contains("day-of-week"), "{e}");
        let e = Cron::parse("0 9 *").unwrap_err().0;
        assert!(e.contains("has 3 fields"), "{e}");
        let e = Cron::parse("").unwrap_err().0;
        assert!(e.contains("empty"), "{e}");
        let e = Cron::parse("@fortnightly").unwrap_err().0;
        assert!(e.contains("nickname"), "{e}");
        assert!(Cron::parse("@daily").is_ok());
        assert!(
            Cron::parse("0 0 12 ? * MON-FRI").is_ok(),
            "Quartz-style ? in a day field"
        );
    }
}
